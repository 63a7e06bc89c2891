use super::*;
use crate::engine::test_fixtures::{self, sha};
use crate::policy::Policy;
use crate::types::{PrNumber, RepoId};

fn preview(state: PreviewState, driver: DriverKind) -> Preview {
    Preview {
        id: 1,
        repo_id: RepoId(1),
        pr_number: PrNumber(7),
        sha: sha(1),
        environment: "pr-7".into(),
        host: "pr-7.preview.example.org".into(),
        driver,
        deployment_id: Some(500),
        create_attempted: true,
        adopted: false,
        state,
        last_status: None,
        environment_url: None,
        detail: None,
        log_token: "tok".into(),
        requested_by: "gangway".into(),
        created_at: 0,
        deployed_at: None,
        torn_down_at: None,
        teardown_kind: None,
    }
}

fn status(state: &str) -> ExternalStatus {
    ExternalStatus {
        deployment_id: 500,
        state: state.into(),
        environment_url: None,
        description: None,
    }
}

#[test]
fn success_makes_an_external_preview_live_at_its_url_or_its_host() {
    let p = preview(PreviewState::Deploying, DriverKind::External);
    let live = take_status(&p, &status("success"), 42).expect("moves");
    assert_eq!(live.state, PreviewState::Live);
    assert_eq!(
        live.environment_url.as_deref(),
        Some("https://pr-7.preview.example.org")
    );
    assert_eq!(live.deployed_at, Some(42));
    assert_eq!(live.last_status.as_deref(), Some("success"));

    let with_url = ExternalStatus {
        environment_url: Some("https://elsewhere.example.net".into()),
        ..status("success")
    };
    let live = take_status(&p, &with_url, 42).expect("moves");
    assert_eq!(
        live.environment_url.as_deref(),
        Some("https://elsewhere.example.net")
    );
}

#[test]
fn failure_and_error_fail_it_with_the_deployers_words_or_the_state() {
    let p = preview(PreviewState::Deploying, DriverKind::External);
    let failed = take_status(&p, &status("error"), 1).expect("moves");
    assert_eq!(failed.state, PreviewState::Failed);
    assert_eq!(
        failed.detail.as_deref(),
        Some("the deployer reported error")
    );
    let said = ExternalStatus {
        description: Some("image pull failed".into()),
        ..status("failure")
    };
    let failed = take_status(&p, &said, 1).expect("moves");
    assert_eq!(failed.detail.as_deref(), Some("image pull failed"));
}

#[test]
fn progress_moves_a_pending_preview_to_deploying_and_never_back() {
    let pending = preview(PreviewState::Pending, DriverKind::External);
    for s in ["queued", "pending", "in_progress"] {
        let p = take_status(&pending, &status(s), 1).expect("moves");
        assert_eq!(p.state, PreviewState::Deploying, "{s}");
    }
    let live = preview(PreviewState::Live, DriverKind::External);
    assert_eq!(take_status(&live, &status("queued"), 1), None);
    assert_eq!(take_status(&live, &status("inactive"), 1), None);
}

#[test]
fn statuses_on_our_own_or_gone_previews_change_nothing() {
    let ours = preview(PreviewState::Deploying, DriverKind::Command);
    assert_eq!(take_status(&ours, &status("success"), 1), None);
    let gone = preview(PreviewState::TornDown, DriverKind::External);
    assert_eq!(take_status(&gone, &status("success"), 1), None);
}

fn pr() -> PullRequest {
    test_fixtures::pr(sha(1))
}

fn by_hand(environment: &str) -> Adoption {
    Adoption {
        deployment_id: 900,
        sha: sha(1),
        environment: environment.into(),
        creator: "ops".into(),
    }
}

#[test]
fn a_deployment_made_by_hand_in_the_prs_environment_is_adopted_once() {
    let policy = PolicyStatus::Valid(Policy::default());
    assert_eq!(
        adoption(Some(&pr()), &policy, &by_hand("pr-7"), None),
        Adopt::Stage
    );
    let existing = preview(PreviewState::Live, DriverKind::Command);
    assert_eq!(
        adoption(Some(&pr()), &policy, &by_hand("pr-7"), Some(&existing)),
        Adopt::AlreadyStaged { ours: Some(500) }
    );
}

#[test]
fn closed_fork_or_elsewhere_deployments_are_not_adopted() {
    let policy = PolicyStatus::Valid(Policy::default());
    let not = Adopt::NotAdopted {
        managed: "pr-7".into(),
    };
    assert_eq!(
        adoption(Some(&pr()), &policy, &by_hand("staging"), None),
        not
    );
    let closed = PullRequest {
        open: false,
        ..pr()
    };
    assert_eq!(
        adoption(Some(&closed), &policy, &by_hand("pr-7"), None),
        not
    );
    let fork = PullRequest {
        is_fork: true,
        ..pr()
    };
    assert_eq!(adoption(Some(&fork), &policy, &by_hand("pr-7"), None), not);
    assert_eq!(
        adoption(None, &policy, &by_hand("pr-7"), None),
        Adopt::Nothing
    );
    let invalid = PolicyStatus::Invalid("broken".into());
    assert_eq!(
        adoption(Some(&pr()), &invalid, &by_hand("pr-7"), None),
        Adopt::Nothing
    );
}

#[test]
fn an_unrecorded_deployment_is_retired_once_ten_minutes_old_and_not_inactive() {
    let now = 60 * 60_000;
    assert!(unrecorded_long_enough(Some(now - 10 * 60_000), now));
    assert!(
        !unrecorded_long_enough(Some(now - 10 * 60_000 + 1), now),
        "it may be being created right now"
    );
    assert!(
        !unrecorded_long_enough(None, now),
        "no creation time: taken as now"
    );
    assert!(needs_retiring(Some("success")));
    assert!(needs_retiring(None));
    assert!(!needs_retiring(Some("inactive")));
}
