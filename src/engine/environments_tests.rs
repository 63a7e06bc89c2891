use super::*;
use crate::model::EnvKind;
use crate::policy::Policy;
use crate::types::{CommitSha, PrNumber, RepoId};

/// A promotion of #12 into `environment`; the default policy's only environment is production.
fn deployment(environment: &str, kind: EnvKind, state: EnvState) -> EnvDeployment {
    EnvDeployment {
        id: 7,
        repo_id: RepoId::from_db(1),
        environment: environment.into(),
        sha: CommitSha::parse(&"b".repeat(40)).expect("sha"),
        kind,
        requested_by: "bob".into(),
        pr_number: Some(PrNumber::from_db(12)),
        reason: None,
        state,
        deployment_id: None,
        create_attempted: true,
        detail: None,
        log_token: "t".into(),
        created_at: 0,
        updated_at: 0,
        live_at: None,
        finished_at: None,
    }
}

fn policy(merge: bool, auto_rollback: bool) -> Policy {
    let mut p = Policy::default();
    p.promotion.merge = merge;
    p.promotion.auto_rollback = auto_rollback;
    p
}

const ALL: [EnvState; 5] = [
    EnvState::Pending,
    EnvState::Deploying,
    EnvState::Live,
    EnvState::Failed,
    EnvState::Inactive,
];

#[test]
fn only_a_pending_or_deploying_deployment_is_worked_on() {
    for state in ALL {
        let want = matches!(state, EnvState::Pending | EnvState::Deploying);
        assert_eq!(in_flight(state), want, "{state:?}");
    }
}

#[test]
fn only_a_pending_deployment_starts_a_retried_one_goes_on_to_the_driver() {
    for state in ALL {
        assert_eq!(starts(state), state == EnvState::Pending, "{state:?}");
    }
}

#[test]
fn an_outside_deployers_status_ends_only_a_deploying_deployment() {
    assert_eq!(
        external_end(EnvState::Deploying, "success"),
        Some(EnvEnd {
            success: true,
            why: None
        })
    );
    for reported in ["failure", "error"] {
        assert_eq!(
            external_end(EnvState::Deploying, reported),
            Some(EnvEnd {
                success: false,
                why: Some(format!("the deployer reported {reported}"))
            })
        );
    }
    for state in ALL.into_iter().filter(|s| *s != EnvState::Deploying) {
        assert_eq!(external_end(state, "success"), None, "{state:?}");
    }
}

#[test]
fn a_deployment_github_refuses_fails_and_frees_the_environment() {
    let d = deployment("production", EnvKind::Promote, EnvState::Pending);
    let failed = deployment_refused(&d, "No ref found", 500);
    assert_eq!(failed.state, EnvState::Failed);
    assert!(!in_flight(failed.state));
    assert_eq!(failed.finished_at, Some(500));
    assert_eq!(
        failed.detail.as_deref(),
        Some("GitHub cannot create a deployment of commit bbbbbbb: No ref found")
    );
    assert_eq!((failed.id, failed.pr_number), (7, d.pr_number));
}

#[test]
fn a_promotion_into_production_merges_only_when_the_policy_says_so() {
    let promoted = deployment("production", EnvKind::Promote, EnvState::Live);
    assert!(merges_after_live(&promoted, &policy(true, false)));
    assert!(!merges_after_live(&promoted, &policy(false, false)));
    assert!(
        merges_after_live(
            &deployment("Production", EnvKind::Promote, EnvState::Live),
            &policy(true, false)
        ),
        "environment names ignore case"
    );
    for kind in [EnvKind::Rollback, EnvKind::Train] {
        assert!(
            !merges_after_live(
                &deployment("production", kind, EnvState::Live),
                &policy(true, false)
            ),
            "{kind:?}"
        );
    }
    assert!(!merges_after_live(
        &deployment("staging", EnvKind::Promote, EnvState::Live),
        &policy(true, false)
    ));
}

#[test]
fn a_failed_production_deployment_rolls_back_with_auto_rollback_unless_it_was_a_rollback() {
    for kind in [EnvKind::Promote, EnvKind::Train] {
        let failed = deployment("production", kind, EnvState::Failed);
        assert!(rolls_back(&failed, &policy(false, true)), "{kind:?}");
        assert!(!rolls_back(&failed, &policy(true, false)), "{kind:?}");
    }
    assert!(
        !rolls_back(
            &deployment("production", EnvKind::Rollback, EnvState::Failed),
            &policy(false, true)
        ),
        "a failing rollback never starts another"
    );
    assert!(!rolls_back(
        &deployment("staging", EnvKind::Promote, EnvState::Failed),
        &policy(false, true)
    ));
}
