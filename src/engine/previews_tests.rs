use super::*;
use crate::model::{DriverKind, TeardownKind};
use crate::types::{CommitSha, PrNumber, RepoId};

fn preview(state: PreviewState, last_status: Option<&str>) -> Preview {
    Preview {
        id: 3,
        repo_id: RepoId(1),
        pr_number: PrNumber(7),
        sha: CommitSha::parse(&"a".repeat(40)).unwrap(),
        environment: "pr-7".into(),
        host: "a.example.org".into(),
        driver: DriverKind::Command,
        deployment_id: Some(50),
        create_attempted: true,
        adopted: false,
        state,
        last_status: last_status.map(str::to_owned),
        environment_url: Some("https://a.example.org".into()),
        detail: None,
        log_token: "t".into(),
        requested_by: "ann".into(),
        created_at: 0,
        deployed_at: Some(10),
        torn_down_at: None,
        teardown_kind: None,
    }
}

#[test]
fn a_torn_down_preview_restaged_on_reopen_is_pending_on_the_same_deployment() {
    let mut gone = preview(PreviewState::TornDown, Some("inactive"));
    gone.detail = Some("pull request closed".into());
    gone.torn_down_at = Some(90);
    gone.teardown_kind = Some(TeardownKind::Closed);
    let again = restaged(&gone).unwrap();
    assert_eq!(again.state, PreviewState::Pending);
    assert_eq!(
        (
            again.last_status,
            again.detail,
            again.torn_down_at,
            again.teardown_kind
        ),
        (None, None, None, None)
    );
    assert_eq!((again.id, again.deployment_id), (3, Some(50)));
}

#[test]
fn a_preview_that_is_not_torn_down_is_restaged_as_it_stands() {
    for state in [
        PreviewState::Pending,
        PreviewState::Deploying,
        PreviewState::Live,
        PreviewState::Failed,
        PreviewState::TearingDown,
    ] {
        assert_eq!(
            restaged(&preview(state, Some("success"))),
            None,
            "{state:?}"
        );
    }
}

#[test]
fn a_teardown_records_its_reason_and_kind_before_anything_goes() {
    let live = preview(PreviewState::Live, Some("success"));
    let begun = teardown_begun(&live, &TeardownReason::Closed { merged: false }).unwrap();
    assert_eq!(begun.state, PreviewState::TearingDown);
    assert_eq!(begun.detail.as_deref(), Some("pull request closed"));
    assert_eq!(begun.teardown_kind, Some(TeardownKind::Closed));
    assert_eq!(
        begun.last_status.as_deref(),
        Some("success"),
        "the driver ran: its teardown runs"
    );
}

#[test]
fn a_preview_whose_driver_never_ran_is_marked_queued_so_no_driver_runs() {
    for status in [None, Some("queued")] {
        let pending = preview(PreviewState::Pending, status);
        let begun = teardown_begun(&pending, &TeardownReason::Expired { ttl_hours: 2 }).unwrap();
        assert_eq!(begun.last_status.as_deref(), Some("queued"), "{status:?}");
        assert!(!crate::engine::capacity::teardown_runs_driver(&begun, true));
    }
}

#[test]
fn a_resumed_teardown_keeps_the_reason_on_record() {
    let mut failed = preview(PreviewState::Failed, Some("failure"));
    failed.detail = Some("superseded by bbbbbbb".into());
    failed.teardown_kind = Some(TeardownKind::Superseded);
    let begun = teardown_begun(&failed, &TeardownReason::Resume).unwrap();
    assert_eq!(begun.detail.as_deref(), Some("superseded by bbbbbbb"));
    assert_eq!(begun.teardown_kind, Some(TeardownKind::Superseded));

    failed.detail = None;
    let begun = teardown_begun(&failed, &TeardownReason::Resume).unwrap();
    assert_eq!(
        begun.detail.as_deref(),
        Some("teardown resumed"),
        "nothing on record: say it resumed"
    );
}

#[test]
fn a_teardown_already_started_or_done_is_not_started_again() {
    for state in [PreviewState::TearingDown, PreviewState::TornDown] {
        let mut p = preview(state, Some("success"));
        p.detail = Some("pull request merged".into());
        assert_eq!(
            teardown_begun(&p, &TeardownReason::Unstaged { by: "bob".into() }),
            None,
            "{state:?}"
        );
    }
}

#[test]
fn a_deployment_github_refuses_fails_the_preview_and_says_what_to_do() {
    let p = preview(PreviewState::Pending, None);
    let failed = deployment_refused(&p, "No ref found for: aaaa");
    assert_eq!(failed.state, PreviewState::Failed);
    let detail = failed.detail.unwrap();
    assert!(
        detail.starts_with(
            "GitHub cannot create a deployment of commit aaaaaaa (No ref found for: aaaa); \
             if the pull request's fork was deleted"
        ),
        "{detail}"
    );
    assert!(detail.ends_with("push the branch again to a live fork or to this repository"));
}
