use super::*;
use crate::model::EnvKind;
use crate::types::{PrNumber, RepoId};

const MIN: i64 = 60_000;

fn sha(c: char) -> CommitSha {
    CommitSha::parse(&c.to_string().repeat(40)).expect("sha")
}

fn policy() -> TrainPolicy {
    TrainPolicy {
        delay: std::time::Duration::from_secs(30 * 60),
        bake: std::time::Duration::from_secs(60 * 60),
        ..TrainPolicy::default()
    }
}

fn envs() -> Vec<String> {
    vec!["staging".into(), "production".into()]
}

fn deployment(
    id: i64,
    env: &str,
    sha: CommitSha,
    state: EnvState,
    live_at: Option<i64>,
) -> EnvDeployment {
    EnvDeployment {
        id,
        repo_id: RepoId::from_db(1),
        environment: env.into(),
        sha,
        kind: EnvKind::Train,
        requested_by: "gangway".into(),
        pr_number: None::<PrNumber>,
        reason: None,
        state,
        deployment_id: Some(id as u64),
        create_attempted: true,
        detail: None,
        log_token: "t".into(),
        created_at: 0,
        updated_at: 0,
        live_at,
        finished_at: None,
    }
}

/// The world the train looks at, moved by the test.
struct Line {
    policy: TrainPolicy,
    envs: Vec<String>,
    head: CommitSha,
    checks: HeadChecks,
    now: i64,
    holds: Vec<Hold>,
    current: Vec<Option<CommitSha>>,
    awaited: Option<EnvDeployment>,
    bad: bool,
    failed_target: Option<String>,
    halt: bool,
}

impl Line {
    fn new() -> Line {
        Line {
            policy: policy(),
            envs: envs(),
            head: sha('a'),
            checks: HeadChecks::Green,
            now: 1_000 * MIN,
            holds: vec![],
            current: vec![None, Some(sha('0'))],
            awaited: None,
            bad: false,
            failed_target: None,
            halt: false,
        }
    }

    fn step(&self, t: &Train) -> (Train, Vec<Step>) {
        step(
            t,
            &View {
                policy: &self.policy,
                environments: &self.envs,
                head: &self.head,
                checks: &self.checks,
                now_ms: self.now,
                holds: &self.holds,
                current: &self.current,
                awaited: self.awaited.as_ref(),
                bad: self.bad,
                failed_target: self.failed_target.as_deref(),
                halt: self.halt,
            },
        )
    }
}

/// The steps that act (deploy or wake up), without the repeated timetable.
fn acts(steps: &[Step]) -> Vec<&Step> {
    steps
        .iter()
        .filter(|s| !matches!(s, Step::Notify { .. }))
        .collect()
}

fn deploys(steps: &[Step]) -> Vec<&str> {
    steps
        .iter()
        .filter_map(|s| match s {
            Step::Deploy { environment } => Some(environment.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn green_head_waits_the_delay_then_goes_to_staging_then_bakes_into_production() {
    let mut line = Line::new();
    let start = line.now;
    let (t, steps) = line.step(&Train::default());
    assert_eq!(t.sha, Some(sha('a')));
    assert_eq!(t.due, Some(start + 30 * MIN));
    assert!(
        matches!(&steps[0], Step::Notify { schedule } if schedule == &vec![
            ("staging".to_owned(), start + 30 * MIN),
            ("production".to_owned(), start + 90 * MIN),
        ])
    );
    assert_eq!(steps[1], Step::WakeAt(start + 30 * MIN));
    // Stepping again at the same time: the same state and the same timetable (telling it is
    // idempotent), the same wake-up.
    let (t2, steps2) = line.step(&t);
    assert_eq!(t2, t);
    assert_eq!(steps2, steps);

    line.now = start + 30 * MIN;
    let (mut t, steps) = line.step(&t);
    assert_eq!(deploys(&steps), ["staging"]);
    t.awaiting = Some(5);
    line.awaited = Some(deployment(
        5,
        "staging",
        sha('a'),
        EnvState::Deploying,
        None,
    ));
    let (t, steps) = line.step(&t);
    assert!(steps.is_empty(), "{steps:?}");

    let live = start + 31 * MIN;
    line.now = live;
    line.awaited = Some(deployment(
        5,
        "staging",
        sha('a'),
        EnvState::Live,
        Some(live),
    ));
    line.current[0] = Some(sha('a'));
    let (t, steps) = line.step(&t);
    assert_eq!(t.next, 1);
    assert_eq!(
        steps,
        vec![
            Step::Notify {
                schedule: vec![("production".to_owned(), live + 60 * MIN)]
            },
            Step::WakeAt(live + 60 * MIN)
        ],
        "the timetable left, then the wake-up at the end of the bake"
    );

    line.now = live + 60 * MIN;
    let (mut t, steps) = line.step(&t);
    assert_eq!(deploys(&steps), ["production"]);
    t.awaiting = Some(6);
    line.awaited = Some(deployment(
        6,
        "production",
        sha('a'),
        EnvState::Live,
        Some(line.now),
    ));
    line.current[1] = Some(sha('a'));
    let (t, steps) = line.step(&t);
    assert_eq!(t.next, 2);
    assert!(steps.is_empty(), "{steps:?}");
}

#[test]
fn a_new_head_during_the_delay_restarts_it() {
    let mut line = Line::new();
    let (t, _) = line.step(&Train::default());
    line.now += 20 * MIN;
    line.head = sha('b');
    line.checks = HeadChecks::Pending;
    let (t, steps) = line.step(&t);
    assert_eq!(t.sha, Some(sha('b')));
    assert_eq!(t.due, None);
    assert!(steps.is_empty(), "{steps:?}");
    line.now += 5 * MIN;
    line.checks = HeadChecks::Green;
    let (t, steps) = line.step(&t);
    assert_eq!(t.due, Some(line.now + 30 * MIN));
    assert!(steps.contains(&Step::WakeAt(line.now + 30 * MIN)));
    assert!(deploys(&steps).is_empty());
}

#[test]
fn a_hold_stops_the_next_deployment_until_lifted() {
    let mut line = Line::new();
    let (t, _) = line.step(&Train::default());
    line.now += 30 * MIN;
    line.holds = vec![Hold {
        environment: "staging".into(),
        held_by: "ann".into(),
        reason: None,
        held_at: 0,
    }];
    let (t, steps) = line.step(&t);
    assert!(
        acts(&steps).is_empty(),
        "held: no deploy and no wake-up: {steps:?}"
    );
    line.holds.clear();
    let (_, steps) = line.step(&t);
    assert_eq!(deploys(&steps), ["staging"]);
}

#[test]
fn a_deployment_stopped_by_a_hold_while_it_waited_is_made_again_once_the_hold_is_lifted() {
    let mut line = Line::new();
    let (t, _) = line.step(&Train::default());
    line.now += 30 * MIN;
    let (mut t, steps) = line.step(&t);
    assert_eq!(deploys(&steps), ["staging"]);
    t.awaiting = Some(5);
    // Held while its job waited for a retry: the job stopped it before it deployed.
    line.holds = vec![Hold {
        environment: "staging".into(),
        held_by: "ann".into(),
        reason: None,
        held_at: 0,
    }];
    line.awaited = Some(deployment(5, "staging", sha('a'), EnvState::Stopped, None));
    let (t, steps) = line.step(&t);
    assert_eq!(
        t.stopped, None,
        "a stop is not a failure: the train goes on"
    );
    assert_eq!(t.awaiting, None);
    assert!(acts(&steps).is_empty(), "held: {steps:?}");
    line.holds.clear();
    let (_, steps) = line.step(&t);
    assert_eq!(deploys(&steps), ["staging"], "the same commit, once unheld");
    // Stopped by a bad mark instead: the train stops carrying the commit.
    line.bad = true;
    let (t, _) = line.step(&t);
    assert!(
        t.stopped
            .as_deref()
            .is_some_and(|s| s.contains("marked bad"))
    );
}

#[test]
fn a_failed_deployment_stops_the_train_until_a_newer_head() {
    let mut line = Line::new();
    let (mut t, _) = line.step(&Train::default());
    line.now += 30 * MIN;
    t.awaiting = Some(5);
    line.awaited = Some(deployment(5, "staging", sha('a'), EnvState::Failed, None));
    let (t, steps) = line.step(&t);
    assert!(t.stopped.as_deref().is_some_and(|s| s.contains("failed")));
    assert!(steps.is_empty());
    line.now += 100 * MIN;
    assert!(line.step(&t).1.is_empty());
    line.head = sha('b');
    let (t, steps) = line.step(&t);
    assert_eq!(t.stopped, None);
    assert!(steps.contains(&Step::WakeAt(line.now + 30 * MIN)));
}

#[test]
fn a_rollback_of_staging_during_the_bake_stops_production() {
    let mut line = Line::new();
    let (mut t, _) = line.step(&Train::default());
    line.now += 30 * MIN;
    t.awaiting = Some(5);
    line.awaited = Some(deployment(
        5,
        "staging",
        sha('a'),
        EnvState::Live,
        Some(line.now),
    ));
    line.current[0] = Some(sha('a'));
    let (t, _) = line.step(&t);
    line.now += 60 * MIN;
    line.current[0] = Some(sha('9'));
    let (t, steps) = line.step(&t);
    assert!(deploys(&steps).is_empty());
    assert!(
        t.stopped
            .as_deref()
            .is_some_and(|s| s.contains("staging no longer runs"))
    );
}

#[test]
fn red_or_bad_heads_do_not_travel() {
    let mut line = Line::new();
    line.checks = HeadChecks::Red("test failed".into());
    let (t, steps) = line.step(&Train::default());
    assert_eq!(t.green_at, None);
    assert!(steps.is_empty());
    line.checks = HeadChecks::Green;
    line.bad = true;
    let (t, _) = line.step(&t);
    line.now += 30 * MIN;
    let (t, steps) = line.step(&t);
    assert!(deploys(&steps).is_empty());
    assert!(t.stopped.is_some());
}

#[test]
fn a_head_production_already_runs_needs_nothing() {
    let mut line = Line::new();
    line.current = vec![Some(sha('a')), Some(sha('a'))];
    let (t, steps) = line.step(&Train::default());
    assert_eq!(t.next, 2);
    assert!(steps.is_empty(), "{steps:?}");
}

#[test]
fn state_survives_a_round_trip_through_json() {
    let line = Line::new();
    let (t, _) = line.step(&Train::default());
    let text = serde_json::to_string(&t).expect("json");
    let back: Train = serde_json::from_str(&text).expect("back");
    assert_eq!(back, t);
    // Older or partial records read as defaults.
    let empty: Train = serde_json::from_str("{}").expect("empty");
    assert_eq!(empty, Train::default());
}

fn check(name: &str, outcome: crate::model::Outcome) -> CheckItem {
    CheckItem {
        name: name.into(),
        source: crate::model::CheckSource::App("github-actions".into()),
        outcome,
    }
}

#[test]
fn the_head_is_green_only_when_every_check_passed_and_one_reported() {
    use crate::model::Outcome::{Failed, Passed, Pending};
    let read = |items: &[CheckItem]| head_checks(items, &[]).0;
    assert_eq!(read(&[check("build", Passed)]), HeadChecks::Green);
    assert_eq!(read(&[]), HeadChecks::Pending, "nothing reported yet");
    assert_eq!(
        read(&[check("build", Passed), check("e2e", Pending)]),
        HeadChecks::Pending
    );
    assert_eq!(
        read(&[
            check("e2e", Pending),
            check("lint", Failed("failure".into()))
        ]),
        HeadChecks::Red("`lint` is failure".into()),
        "a failure outweighs what is pending"
    );
    let (checks, summary) = head_checks(
        &[check("build", Passed), check("docs", Pending)],
        &[crate::policy::RequiredCheck::parse("build").unwrap()],
    );
    assert_eq!(checks, HeadChecks::Green, "only the required checks count");
    assert_eq!(summary.passed, vec!["build".to_owned()]);
}

#[test]
fn a_busy_environment_is_looked_at_again_in_a_minute_any_other_refusal_stops_the_train() {
    let busy = Refusal::Busy {
        environment: "staging".into(),
        running: Box::new(deployment(
            3,
            "staging",
            sha('b'),
            EnvState::Deploying,
            None,
        )),
    };
    assert_eq!(refused(&busy, 1_000), Refused::LookAgainAt(61_000));
    let bad = Refusal::NoChecks { sha: sha('a') };
    assert_eq!(refused(&bad, 1_000), Refused::Stop(bad.to_string()));
}

#[test]
fn a_train_deployment_says_which_wait_ended() {
    let mut t = Train::default();
    assert_eq!(claim_reason(&policy(), &t), "green and quiet for 30m");
    t.next = 1;
    assert_eq!(claim_reason(&policy(), &t), "green and quiet for 1h");
    let odd = TrainPolicy {
        delay: std::time::Duration::from_secs(90),
        bake: std::time::Duration::ZERO,
        ..TrainPolicy::default()
    };
    assert_eq!(
        claim_reason(&odd, &Train::default()),
        "green and quiet for 90s"
    );
    assert_eq!(claim_reason(&odd, &t), "green and quiet for 0s");
}

#[test]
fn merged_pull_requests_are_told_when_the_change_reaches_each_environment() {
    let noon = 1_767_268_800_000;
    let text = notice(
        &sha('a'),
        &[
            ("staging".into(), noon),
            ("production".into(), noon + 60 * MIN),
        ],
    );
    assert_eq!(
        text,
        "🚂 This change is on Gangway's train (commit `aaaaaaa`): it should reach staging at about \
         2026-01-01 12:00 UTC, then production at about 2026-01-01 13:00 UTC, if its checks stay \
         green and nothing fails on the way. To stop it, comment **/hold** (or **/hold** and an \
         environment's name, e.g. `/hold production`) on any pull request of this repository."
    );
}

/// Production fans out to targets: the train waits until every target runs the commit (the
/// executor's `current` for production), then goes on; nothing is deployed twice meanwhile.
fn fanned_out(line: &mut Line) -> Train {
    line.current = vec![Some(sha('a')), None];
    let t = Train {
        sha: Some(sha('a')),
        green_at: Some(0),
        next: 1,
        due: Some(line.now - MIN),
        ..Train::default()
    };
    let (mut t, steps) = line.step(&t);
    assert_eq!(deploys(&steps), ["production"]);
    t.fanned = true;
    t
}

#[test]
fn the_train_waits_for_every_target_then_counts_the_environment_as_done() {
    let mut line = Line::new();
    let t = fanned_out(&mut line);
    // Some targets live, others not yet: waiting, no step.
    let (t2, steps) = line.step(&t);
    assert!(steps.is_empty(), "{steps:?}");
    assert_eq!(t2, t);
    // A failed target under `continue`: still waiting for a retry.
    line.failed_target = Some("production-uk".into());
    let (t2, steps) = line.step(&t);
    assert!(steps.is_empty() && t2.stopped.is_none(), "{t2:?} {steps:?}");
    // The retry made it live: production runs the commit everywhere; the train is done.
    line.failed_target = None;
    line.current[1] = Some(sha('a'));
    let (t2, steps) = line.step(&t);
    assert!(!t2.fanned && t2.stopped.is_none(), "{t2:?}");
    assert_eq!(t2.next, 2);
    assert!(deploys(&steps).is_empty());
}

#[test]
fn a_failed_target_under_halt_stops_the_train_naming_it() {
    let mut line = Line::new();
    let t = fanned_out(&mut line);
    line.halt = true;
    line.failed_target = Some("production-uk".into());
    let (t2, steps) = line.step(&t);
    assert!(steps.is_empty(), "{steps:?}");
    let why = t2.stopped.unwrap_or_default();
    assert!(
        why.contains("production-uk") && why.contains("on_target_failure: halt"),
        "{why}"
    );
}

#[test]
fn a_stored_state_without_the_fan_out_field_is_read() {
    let t: Train = serde_json::from_str(r#"{"sha":null,"next":1,"awaiting":3}"#).unwrap();
    assert!(!t.fanned);
    assert_eq!(t.next, 1);
}

#[test]
fn a_bad_mark_while_the_targets_deploy_stops_the_train() {
    let mut line = Line::new();
    let t = fanned_out(&mut line);
    line.bad = true;
    let (t2, _) = line.step(&t);
    assert!(
        t2.stopped
            .as_deref()
            .is_some_and(|w| w.contains("marked bad")),
        "{t2:?}"
    );
}
