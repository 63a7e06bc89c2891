use super::*;
use crate::engine::test_fixtures;
use crate::model::DriverKind;
use crate::types::{CommitSha, PrNumber, RepoId};

fn pr(is_fork: bool) -> PullRequest {
    PullRequest {
        is_fork,
        ..test_fixtures::pr(CommitSha::parse(&"a".repeat(40)).unwrap())
    }
}

fn preview(state: PreviewState) -> Preview {
    Preview {
        id: 1,
        repo_id: RepoId(1),
        pr_number: PrNumber(7),
        sha: CommitSha::parse(&"a".repeat(40)).unwrap(),
        environment: "pr-7".into(),
        host: "h.example.org".into(),
        driver: DriverKind::Command,
        deployment_id: Some(3),
        create_attempted: true,
        adopted: false,
        state,
        last_status: Some("failure".into()),
        environment_url: None,
        detail: Some("exit status 1".into()),
        log_token: "t".into(),
        requested_by: "alice".into(),
        created_at: 0,
        deployed_at: None,
        torn_down_at: None,
        teardown_kind: None,
    }
}

#[test]
fn stage_retries_a_failed_preview_from_the_start() {
    let again = retry_failed(Some(&preview(PreviewState::Failed))).expect("retried");
    assert_eq!(again.state, PreviewState::Pending);
    assert_eq!((again.last_status, again.detail), (None, None));
    assert_eq!(
        again.deployment_id,
        Some(3),
        "the same record, deployed again"
    );
}

#[test]
fn stage_leaves_any_other_preview_alone() {
    assert_eq!(retry_failed(None), None);
    for state in [
        PreviewState::Pending,
        PreviewState::Deploying,
        PreviewState::Live,
        PreviewState::TearingDown,
        PreviewState::TornDown,
    ] {
        assert_eq!(retry_failed(Some(&preview(state))), None, "{state:?}");
    }
}

#[test]
fn a_deploy_ahead_of_red_or_pending_checks_says_which() {
    let live = preview(PreviewState::Live);
    assert!(answer_needs_checks(&pr(false), Some(&live)));
    assert!(
        !answer_needs_checks(&pr(true), Some(&live)),
        "a fork's checks are not waited for"
    );
    assert!(!answer_needs_checks(
        &pr(false),
        Some(&preview(PreviewState::Failed))
    ));
    let checks = CheckSummary {
        passed: vec![],
        pending: vec!["e2e".into()],
        failed: vec![("lint".into(), "failure".into())],
    };
    let a = answer(&pr(false), Some(&live), Some(&checks));
    assert_eq!(a.decision, "accepted");
    assert!(a.rocket);
    assert_eq!(a.reason, "approved and staged aaaaaaa (live)");
    assert_eq!(
        a.reply.as_deref(),
        Some(
            "deployed commit `aaaaaaa` without waiting for checks, as asked; not yet green: `e2e` (pending), `lint` (failure)."
        )
    );
    let green = CheckSummary {
        passed: vec!["build".into()],
        ..CheckSummary::default()
    };
    assert_eq!(answer(&pr(false), Some(&live), Some(&green)).reply, None);
}

#[test]
fn a_deploy_that_failed_or_never_happened_is_explained_without_a_rocket() {
    let a = answer(&pr(false), Some(&preview(PreviewState::Failed)), None);
    assert!(!a.rocket);
    assert_eq!(
        a.reply.as_deref(),
        Some("commit `aaaaaaa` could not be deployed: exit status 1.")
    );
    let a = answer(&pr(false), None, None);
    assert!(!a.rocket);
    assert!(
        a.reply
            .as_deref()
            .is_some_and(|r| r.contains("Gangway did not deploy it")),
        "{a:?}"
    );
}

#[test]
fn a_command_needs_at_least_the_permission_the_policy_names() {
    assert_eq!(
        permission_refusal(Command::Stage, Permission::Write, Permission::Read, "o/r").as_deref(),
        Some("`/stage` needs write permission on o/r or more; you have read.")
    );
    assert_eq!(
        permission_refusal(Command::Stage, Permission::Write, Permission::Write, "o/r"),
        None
    );
    assert_eq!(
        permission_refusal(
            Command::Promote,
            Permission::Write,
            Permission::Admin,
            "o/r"
        ),
        None
    );
}

#[test]
fn stage_deploys_nothing_under_an_invalid_policy() {
    let invalid = PolicyStatus::Invalid("preview.ttl: not a duration".into());
    assert_eq!(
        stage_policy(&invalid).unwrap_err(),
        "nothing can be deployed while `.github/gangway.yml` is invalid: preview.ttl: not a duration"
    );
    let valid = PolicyStatus::Valid(Policy::default());
    assert_eq!(stage_policy(&valid), Ok(&Policy::default()));
}

#[test]
fn stage_goes_only_on_an_open_pull_request_github_still_knows() {
    assert_eq!(
        stageable(None).unwrap_err(),
        "GitHub no longer knows this pull request."
    );
    let mut closed = pr(false);
    closed.open = false;
    assert_eq!(
        stageable(Some(&closed)).unwrap_err(),
        "this pull request is closed; reopen it to stage it."
    );
    let open = pr(false);
    assert_eq!(stageable(Some(&open)), Ok(&open));
    assert_eq!(stageable(Some(&pr(true))), Ok(&pr(true)), "a fork's too");
}

/// The `/stage` answer lists checks by name and says why a deploy failed: as GitHub shows it
/// (the fake's model) a hostile name or reason hides nothing, links nothing, mentions no one.
#[test]
fn hostile_check_names_and_details_are_escaped_in_the_answer() {
    const NASTY: &str = "x` @octo/team [go](javascript:y) &#64;org/admins\n<!-- hide";
    let checks = CheckSummary {
        passed: vec![],
        pending: vec![NASTY.into()],
        failed: vec![(NASTY.into(), NASTY.into())],
    };
    let deployed = preview(PreviewState::Live);
    let failed = Preview {
        detail: Some(NASTY.into()),
        ..preview(PreviewState::Failed)
    };
    let replies = [
        answer(&pr(false), Some(&deployed), Some(&checks)).reply,
        answer(&pr(false), Some(&failed), None).reply,
        stage_policy(&PolicyStatus::Invalid(NASTY.into())).err(),
        permission_refusal(
            Command::Stage,
            Permission::Write,
            Permission::Read,
            "octo/@team",
        ),
    ];
    for reply in replies {
        let reply = reply.expect("a reply");
        let shown = fake_github::markdown::shown(&reply);
        assert!(shown.hidden.is_empty(), "{reply}");
        assert!(shown.links.is_empty(), "{reply}");
        assert!(shown.mentions.is_empty(), "{reply}");
        assert!(!reply.contains('\n'), "{reply}");
    }
}
