use super::*;
use crate::model::{CheckItem, CheckSource, EnvKind, EnvState, Outcome};
use crate::policy::parse;
use crate::types::{CommitSha, PrNumber, RepoId};

const MIN: i64 = 60_000;

fn deployment(environment: &str) -> EnvDeployment {
    EnvDeployment {
        id: 7,
        repo_id: RepoId::from_db(1),
        environment: environment.into(),
        sha: CommitSha::parse(&"b".repeat(40)).expect("sha"),
        kind: EnvKind::Promote,
        requested_by: "bob".into(),
        pr_number: Some(PrNumber::from_db(12)),
        reason: None,
        state: EnvState::Deploying,
        deployment_id: Some(99),
        create_attempted: true,
        detail: None,
        log_token: "t".into(),
        created_at: 0,
        updated_at: 0,
        live_at: None,
        finished_at: None,
    }
}

fn policy(yaml: &str) -> Policy {
    parse(yaml.as_bytes()).expect("valid policy")
}

fn status(name: &str, outcome: Outcome) -> CheckItem {
    CheckItem {
        name: name.into(),
        source: CheckSource::Status,
        outcome,
    }
}

fn started(yaml: &str) -> Verification {
    let p = policy(yaml);
    let d = deployment("production");
    begin(&d, plan(&p, &d).expect("verified"), 1_000)
}

fn summary_of(v: &Verification, items: &[CheckItem]) -> CheckSummary {
    CheckSummary::of(items, &required_for(v, items).expect("checks read"))
}

#[test]
fn only_an_environment_with_a_verify_entry_is_verified_ignoring_case() {
    let p = policy("environments: [staging, production]\nverify:\n  Production: {command: true}\n");
    assert!(plan(&p, &deployment("staging")).is_none());
    let v = plan(&p, &deployment("production")).expect("production is verified");
    assert!(v.command && v.checks.is_empty());
    assert_eq!(v.timeout, std::time::Duration::from_secs(15 * 60));
    assert!(plan(&Policy::default(), &deployment("production")).is_none());
}

#[test]
fn each_target_is_verified_as_its_environment_says() {
    let p = policy(
        "environments: [staging, production]\ntargets:\n  production: [au, uk]\nverify:\n  production:\n    command: true\n",
    );
    assert!(plan(&p, &deployment("production-au")).is_some());
    assert!(plan(&p, &deployment("Production-UK")).is_some());
    assert!(plan(&p, &deployment("production")).is_some());
    assert!(plan(&p, &deployment("staging")).is_none());
}

#[test]
fn the_command_runs_first_and_its_failure_fails_the_verification() {
    let v = started("verify:\n  production: {command: true, checks: [smoke]}\n");
    assert_eq!(v.deadline, 1_000 + 15 * MIN);
    assert_eq!(judge(&v, None, 1_000), Verdict::RunCommand);
    let failed = command_ran(&v, false, "exit 4");
    assert_eq!(
        judge(&failed, None, 2_000),
        Verdict::Failed("the verify command failed (exit 4)".into())
    );
    let passed = command_ran(&v, true, "exit 0");
    assert_eq!(judge(&passed, None, 2_000), Verdict::ReadChecks);
}

#[test]
fn checks_pass_fail_at_once_or_time_out_at_the_deadline() {
    let v = started("verify:\n  production: {checks: [smoke/production], timeout: 10m}\n");
    // Nothing reported: look again in a while, never past the deadline.
    let none = summary_of(&v, &[]);
    assert_eq!(
        judge(&v, Some(&none), 1_000),
        Verdict::WaitUntil(1_000 + POLL_MS)
    );
    assert_eq!(
        judge(&v, Some(&none), v.deadline - 1),
        Verdict::WaitUntil(v.deadline)
    );
    assert_eq!(
        judge(&v, Some(&none), v.deadline),
        Verdict::TimedOut("`smoke/production` did not pass within 10m".into())
    );
    // An outside tester's commit status of exactly that name counts.
    let ok = [status("smoke/production", Outcome::Passed)];
    assert_eq!(
        judge(&v, Some(&summary_of(&v, &ok)), 2_000),
        Verdict::Passed
    );
    let bad = [status(
        "smoke/production",
        Outcome::Failed("failure".into()),
    )];
    assert_eq!(
        judge(&v, Some(&summary_of(&v, &bad)), 2_000),
        Verdict::Failed("check `*/smoke/production` (failure)".into())
    );
    // An App's check run `production` of App `smoke` counts too, as in required_checks.
    let by_app = [CheckItem {
        name: "production".into(),
        source: CheckSource::App("smoke".into()),
        outcome: Outcome::Passed,
    }];
    assert_eq!(
        judge(&v, Some(&summary_of(&v, &by_app)), 2_000),
        Verdict::Passed
    );
}

#[test]
fn an_ended_verification_keeps_its_verdict_and_says_it() {
    let v = started("verify:\n  production: {checks: [smoke]}\n");
    let timed_out = ended(
        &v,
        &Verdict::TimedOut("`smoke` did not pass within 15m".into()),
        5,
    );
    assert_eq!(timed_out.state, VerifyState::TimedOut);
    assert_eq!(timed_out.finished_at, Some(5));
    // A late check changes nothing.
    let ok = [status("smoke", Outcome::Passed)];
    assert!(matches!(
        judge(&timed_out, Some(&summary_of(&timed_out, &ok)), 6),
        Verdict::TimedOut(_)
    ));
    assert_eq!(
        summary(&timed_out),
        "verification timed out: `smoke` did not pass within 15m"
    );
    assert_eq!(ended(&v, &Verdict::WaitUntil(9), 5), v);
    assert_eq!(summary(&ended(&v, &Verdict::Passed, 5)), "verified");
}

#[test]
fn the_words_read_as_pinned() {
    let v = started(
        "verify:\n  production: {command: true, checks: [smoke/production, e2e], timeout: 1h}\n",
    );
    let d = deployment("production");
    insta::assert_snapshot!(
        [
            verifying_status(&v),
            failure_status("check `e2e` (failure)"),
            bad_reason(&d, "check `e2e` (failure)"),
            failure_notice(
                &d,
                "check `e2e` (failure)",
                true,
                "https://g.example/logs/t"
            ),
            failure_notice(
                &d,
                "the verify command failed (exit 4)",
                false,
                "https://g.example/logs/t"
            ),
        ]
        .join("\n\n")
    );
}
