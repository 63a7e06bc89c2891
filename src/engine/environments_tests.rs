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

const ALL: [EnvState; 6] = [
    EnvState::Pending,
    EnvState::Deploying,
    EnvState::Live,
    EnvState::Failed,
    EnvState::Inactive,
    EnvState::Stopped,
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

fn hold(environment: &str) -> Hold {
    Hold {
        environment: environment.into(),
        held_by: "ann".into(),
        reason: Some("incident 42".into()),
        held_at: 1_767_268_800_000,
    }
}

fn bad(marked_at: i64) -> BadSha {
    BadSha {
        sha: CommitSha::parse(&"b".repeat(40)).expect("sha"),
        environment: "production".into(),
        marked_by: "carl".into(),
        reason: Some("rolled back".into()),
        marked_at,
    }
}

#[test]
fn a_hold_on_its_environment_stops_a_promotion_or_the_train_but_never_a_rollback() {
    let held = hold("production");
    for kind in [EnvKind::Promote, EnvKind::Train] {
        let d = deployment("production", kind, EnvState::Pending);
        assert_eq!(
            stopped(&d, Some(&held), None),
            Some(Stop::Held(held.clone())),
            "{kind:?}"
        );
        assert_eq!(stopped(&d, None, None), None);
        assert_eq!(
            stopped(&d, Some(&hold("staging")), None),
            None,
            "another environment's hold"
        );
    }
    let rollback = deployment("production", EnvKind::Rollback, EnvState::Pending);
    assert_eq!(stopped(&rollback, Some(&held), Some(&bad(5))), None);
}

#[test]
fn a_bad_mark_stops_a_deployment_only_if_placed_after_it_was_accepted() {
    let d = EnvDeployment {
        created_at: 100,
        ..deployment("production", EnvKind::Promote, EnvState::Deploying)
    };
    assert_eq!(
        stopped(&d, None, Some(&bad(100))),
        Some(Stop::Bad(bad(100)))
    );
    assert_eq!(
        stopped(&d, None, Some(&bad(250))),
        Some(Stop::Bad(bad(250)))
    );
    // Older: judged when it was accepted (refused, or overridden with --force).
    assert_eq!(stopped(&d, None, Some(&bad(99))), None);
    // Another commit's mark is not this one's.
    let other = BadSha {
        sha: CommitSha::parse(&"c".repeat(40)).expect("sha"),
        ..bad(250)
    };
    assert_eq!(stopped(&d, None, Some(&other)), None);
    // The hold is named first when both stand.
    assert!(matches!(
        stopped(&d, Some(&hold("production")), Some(&bad(250))),
        Some(Stop::Held(_))
    ));
}

#[test]
fn a_stopped_deployment_is_over_with_its_reason_and_says_so() {
    let d = deployment("production", EnvKind::Promote, EnvState::Pending);
    let stop = Stop::Held(hold("production"));
    let record = stopped_record(&d, &stop, 77);
    assert_eq!(record.state, EnvState::Stopped);
    assert!(!in_flight(record.state), "the environment is free again");
    assert_eq!(record.finished_at, Some(77));
    assert_eq!(
        record.detail.as_deref(),
        Some("stopped: production is held by @ann since 2026-01-01 12:00 UTC: \"incident 42\"")
    );
    assert!(stop.status().chars().count() <= 140, "{}", stop.status());
    let train = deployment("staging", EnvKind::Train, EnvState::Pending);
    let texts = [
        stop.status(),
        stop.notice(&d),
        Stop::Bad(bad(1_767_272_400_000)).notice(&d),
        Stop::Held(hold("staging")).notice(&train),
    ];
    insta::assert_snapshot!(texts.join("\n\n"));
}
