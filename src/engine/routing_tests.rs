use super::*;
use crate::engine::test_fixtures::{self, sha};
use crate::model::RepoRef;
use crate::types::{InstallationId, RepoId};

fn pr(updated: &str) -> PullRequest {
    PullRequest {
        head_ref: "f".into(),
        author: "ann".into(),
        gh_updated_at: updated.into(),
        ..test_fixtures::pr(sha(1))
    }
}

fn pr_event<'a>(incoming: &'a PullRequest, on_record: Option<&'a PullRequest>) -> Seen<'a> {
    Seen::PullRequest {
        incoming,
        on_record,
        merged_as: None,
        into_default_branch: true,
        sender: "ann",
    }
}

fn evaluation(number: u64, by: &str) -> Evaluation {
    Evaluation {
        number: PrNumber(number),
        requested_by: by.into(),
        refresh: false,
        read_checks: false,
        adopt: None,
        external_status: None,
    }
}

#[test]
fn an_event_that_repeats_the_record_changes_nothing() {
    let record = pr("2026-12-03T10:00:00Z");
    assert!(repeats_record(&pr("2026-12-03T10:00:00Z"), &record));
    // Same second, something differs: which came first is unknown.
    let differs = [
        PullRequest {
            head_sha: sha(2),
            ..pr("2026-12-03T10:00:00Z")
        },
        PullRequest {
            open: false,
            ..pr("2026-12-03T10:00:00Z")
        },
        PullRequest {
            merged: true,
            ..pr("2026-12-03T10:00:00Z")
        },
        PullRequest {
            draft: true,
            ..pr("2026-12-03T10:00:00Z")
        },
    ];
    for d in &differs {
        assert!(!repeats_record(d, &record), "{d:?}");
    }
    // Older, even if identical otherwise: not a repeat (a late delivery is refreshed).
    assert!(!repeats_record(&pr("2026-12-03T09:59:59Z"), &record));
}

#[test]
fn a_newer_pr_event_is_stored_and_evaluated_without_a_read() {
    let record = pr("2026-12-03T10:00:00Z");
    let newer = pr("2026-12-03T10:00:01Z");
    assert_eq!(
        route(&pr_event(&newer, Some(&record))),
        vec![Effect::SavePull, Effect::Evaluate(evaluation(7, "ann"))]
    );
    // Nothing on record yet: stored.
    assert_eq!(route(&pr_event(&newer, None))[0], Effect::SavePull);
}

#[test]
fn a_late_pr_event_never_rolls_the_record_back_and_asks_github_instead() {
    let record = pr("2026-12-03T10:00:00Z");
    let older = PullRequest {
        head_sha: sha(0),
        ..pr("2026-12-03T09:59:00Z")
    };
    assert_eq!(
        route(&pr_event(&older, Some(&record))),
        vec![Effect::Evaluate(Evaluation {
            refresh: true,
            ..evaluation(7, "ann")
        })]
    );
    // As old and saying the same: a redelivery; nothing stored, nothing read.
    let same = pr("2026-12-03T10:00:00Z");
    assert_eq!(
        route(&pr_event(&same, Some(&record))),
        vec![Effect::Evaluate(evaluation(7, "ann"))]
    );
}

#[test]
fn a_merge_is_recorded_and_wakes_the_train_only_into_the_default_branch() {
    let merged = PullRequest {
        open: false,
        merged: true,
        ..pr("2026-12-03T10:00:01Z")
    };
    let merge = sha(9);
    let into = |into_default_branch| Seen::PullRequest {
        incoming: &merged,
        on_record: None,
        merged_as: Some(&merge),
        into_default_branch,
        sender: "ann",
    };
    let effects = route(&into(true));
    assert_eq!(
        effects,
        vec![
            Effect::SavePull,
            Effect::RecordMerge(sha(9)),
            Effect::WakeTrain,
            Effect::Evaluate(evaluation(7, "ann")),
        ]
    );
    assert!(!route(&into(false)).contains(&Effect::WakeTrain));
}

#[test]
fn a_completed_check_suite_evaluates_every_pr_with_that_head_once() {
    let head = sha(1);
    let suite = |completed, runs| Seen::CheckSuite {
        completed,
        runs,
        head_sha: &head,
        open_with_head: &[PrNumber(7), PrNumber(8)],
        listed: &[PrNumber(8), PrNumber(9)],
        on_default_branch: false,
    };
    let checks = |n| {
        Effect::Evaluate(Evaluation {
            read_checks: true,
            ..evaluation(n, "checks")
        })
    };
    assert_eq!(
        route(&suite(true, Some(3))),
        vec![
            Effect::RecordCheckSignal(head.clone()),
            checks(7),
            checks(8),
            checks(9)
        ]
    );
    // Requested, or the empty suite every App gets on a push: nothing, not even a signal.
    assert_eq!(route(&suite(false, Some(3))), vec![]);
    assert_eq!(route(&suite(true, Some(0))), vec![]);
    assert_eq!(route(&suite(true, None)).len(), 4);
}

#[test]
fn checks_on_the_default_branch_wake_the_train() {
    let head = sha(1);
    let status = Seen::Status {
        sha: &head,
        open_with_head: &[],
        on_default_branch: true,
    };
    assert_eq!(
        route(&status),
        vec![Effect::RecordCheckSignal(head.clone()), Effect::WakeTrain]
    );
    let suite = Seen::CheckSuite {
        completed: true,
        runs: None,
        head_sha: &head,
        open_with_head: &[],
        listed: &[],
        on_default_branch: true,
    };
    assert_eq!(route(&suite).last(), Some(&Effect::WakeTrain));
}

fn adoption() -> Adoption {
    Adoption {
        deployment_id: 3,
        sha: sha(1),
        environment: "pr-7".into(),
        creator: "ops".into(),
        automation: false,
    }
}

#[test]
fn someone_elses_deployment_asks_each_pr_with_its_commit_to_adopt_it() {
    let d = adoption();
    let seen = |origin| Seen::Deployment {
        origin,
        open_with_head: &[PrNumber(7)],
        named: Some(PrNumber(7)),
        deployment: &d,
        sender: "ops",
    };
    let adopt = vec![Effect::Evaluate(Evaluation {
        adopt: Some(d.clone()),
        ..evaluation(7, "ops")
    })];
    assert_eq!(route(&seen(Origin::Person)), adopt);
    assert_eq!(route(&seen(Origin::Automation)), adopt);
    assert_eq!(route(&seen(Origin::Marked)), vec![]);
    assert_eq!(route(&seen(Origin::Echo)), vec![]);
}

#[test]
fn a_deployment_in_a_prs_environment_asks_that_pr_even_when_it_is_not_its_head() {
    let d = adoption();
    let seen = Seen::Deployment {
        origin: Origin::Person,
        open_with_head: &[PrNumber(3)],
        named: Some(PrNumber(7)),
        deployment: &d,
        sender: "ops",
    };
    let numbers: Vec<PrNumber> = route(&seen)
        .into_iter()
        .filter_map(|e| match e {
            Effect::Evaluate(ev) if ev.adopt.as_ref() == Some(&d) => Some(ev.number),
            _ => None,
        })
        .collect();
    assert_eq!(numbers, [PrNumber(3), PrNumber(7)]);
    let nobody = Seen::Deployment {
        origin: Origin::Person,
        open_with_head: &[],
        named: None,
        deployment: &d,
        sender: "ops",
    };
    assert_eq!(route(&nobody), vec![]);
}

fn reported(state: &str) -> ExternalStatus {
    ExternalStatus {
        deployment_id: 3,
        state: state.into(),
        environment_url: None,
        description: None,
    }
}

#[test]
fn a_deployers_status_reaches_the_external_preview_it_is_about() {
    let s = reported("success");
    let on = |driver, preview| Seen::DeploymentStatus {
        driver,
        env_deployment: None,
        preview,
        status: &s,
    };
    assert_eq!(
        route(&on(
            DriverKind::External,
            Some((PrNumber(7), DriverKind::External))
        )),
        vec![Effect::Evaluate(Evaluation {
            external_status: Some(s.clone()),
            ..evaluation(7, "deployer")
        })]
    );
    // Statuses on a command-driver preview are Gangway's own; unknown deployments are no one's.
    assert_eq!(
        route(&on(
            DriverKind::Command,
            Some((PrNumber(7), DriverKind::Command))
        )),
        vec![]
    );
    assert_eq!(route(&on(DriverKind::External, None)), vec![]);
}

#[test]
fn an_external_deployer_ends_an_environment_deployment_only_with_a_final_state() {
    for (state, ends) in [
        ("success", true),
        ("failure", true),
        ("error", true),
        ("in_progress", false),
        ("queued", false),
    ] {
        let s = reported(state);
        let seen = |driver| Seen::DeploymentStatus {
            driver,
            env_deployment: Some(11),
            preview: None,
            status: &s,
        };
        let expected = if ends {
            vec![Effect::EndEnvDeployment {
                id: 11,
                state: state.into(),
            }]
        } else {
            vec![]
        };
        assert_eq!(route(&seen(DriverKind::External)), expected, "{state}");
        assert_eq!(route(&seen(DriverKind::Command)), vec![], "{state}");
    }
}

#[test]
fn a_push_to_the_default_branch_wakes_the_train_and_may_forget_the_policy() {
    let push = |to_default_branch, may_touch_policy| {
        route(&Seen::Push {
            to_default_branch,
            may_touch_policy,
        })
    };
    assert_eq!(
        push(true, true),
        vec![Effect::ForgetPolicy, Effect::WakeTrain]
    );
    assert_eq!(push(true, false), vec![Effect::WakeTrain]);
    assert_eq!(push(false, true), vec![]);
}

fn comment(created: bool, on_pull_request: bool, origin: Origin, body: &str) -> Option<Found> {
    command_in(&CommentSeen {
        created,
        on_pull_request,
        origin,
        body,
    })
}

#[test]
fn a_persons_new_comment_on_a_pr_runs_the_command_it_holds() {
    assert_eq!(
        comment(true, true, Origin::Person, "/promote staging --force"),
        Some(Ok(("promote".into(), "staging --force".into())))
    );
    assert_eq!(
        comment(true, true, Origin::Person, "/stage"),
        Some(Ok(("stage".into(), String::new())))
    );
    // Something that looks like a command gets an answer saying what is wrong.
    assert!(matches!(
        comment(true, true, Origin::Person, "/stage now please"),
        Some(Err(_))
    ));
    assert_eq!(comment(true, true, Origin::Person, "looks good"), None);
}

#[test]
fn edits_issues_and_automation_run_nothing() {
    assert_eq!(comment(false, true, Origin::Person, "/stage"), None);
    assert_eq!(comment(true, false, Origin::Person, "/stage"), None);
    assert_eq!(comment(true, true, Origin::Automation, "/stage"), None);
    assert_eq!(comment(true, true, Origin::Echo, "/stage"), None);
}

fn repo() -> RepoRef {
    RepoRef {
        id: RepoId(1),
        installation: InstallationId(2),
        full_name: "o/r".into(),
        default_branch: "main".into(),
    }
}

#[test]
fn the_reaper_reads_the_checks_but_not_the_pull_request_and_carries_its_eviction() {
    let evict = Eviction {
        preview_id: 9,
        max_previews: 3,
        slot_taken: None,
    };
    let e = reaper_evaluation(&repo(), PrNumber(7), Some(evict.clone()));
    assert_eq!(
        (e.requested_by.as_str(), e.refresh, e.read_checks),
        ("reaper", false, true)
    );
    assert_eq!(e.evict, Some(evict));
    assert_eq!(e.priority, BACKGROUND);
    assert_eq!(
        (
            e.repo_id,
            e.installation,
            e.number,
            e.default_branch.as_deref()
        ),
        (RepoId(1), InstallationId(2), PrNumber(7), Some("main"))
    );
    assert_eq!((e.adopt, e.external_status), (None, None));
    assert_eq!(reaper_evaluation(&repo(), PrNumber(7), None).evict, None);
}

#[test]
fn the_reaper_defers_to_a_waiting_evaluation_unless_it_evicts() {
    let plain = reaper_evaluation(&repo(), PrNumber(7), None);
    assert!(reaper_defers_to_waiting(&plain));
    let evict = Eviction {
        preview_id: 9,
        max_previews: 3,
        slot_taken: None,
    };
    let evicting = reaper_evaluation(&repo(), PrNumber(7), Some(evict));
    assert!(!reaper_defers_to_waiting(&evicting));
}

#[test]
fn the_reconciler_reads_the_checks_and_reads_a_closed_pull_request_again() {
    let changed = reconciler_evaluation(&repo(), PrNumber(7), Unobserved::Changed { new: true });
    assert_eq!(
        (
            changed.requested_by.as_str(),
            changed.refresh,
            changed.read_checks
        ),
        ("reconciler", false, true)
    );
    assert_eq!((changed.priority, changed.evict), (BACKGROUND, None));
    let closed = reconciler_evaluation(&repo(), PrNumber(7), Unobserved::Closed);
    assert_eq!((closed.refresh, closed.read_checks), (true, true));
}

#[test]
fn the_reconciler_finds_new_pushed_and_closed_prs_and_leaves_the_rest() {
    let (a, b) = (sha(1), sha(2));
    let open = [
        (PrNumber(1), &a), // as on record
        (PrNumber(2), &b), // pushed while unobserved
        (PrNumber(5), &a), // opened while unobserved
    ];
    let on_record = [
        (PrNumber(1), a.clone()),
        (PrNumber(2), a.clone()),
        (PrNumber(3), a.clone()), // closed while unobserved
    ];
    assert_eq!(
        unobserved(&open, &on_record),
        vec![
            (PrNumber(2), Unobserved::Changed { new: false }),
            (PrNumber(5), Unobserved::Changed { new: true }),
            (PrNumber(3), Unobserved::Closed),
        ]
    );
    assert_eq!(unobserved(&[], &[]), vec![]);
}

#[test]
fn only_failed_first_deliveries_since_a_minute_before_the_last_run_are_asked_again() {
    let since = 10 * 60_000;
    assert_eq!(redelivery_window(since), 9 * 60_000);
    assert!(redeliver(500, false, since, since));
    assert!(redeliver(404, false, since - 60_000, since), "the overlap");
    assert!(
        !redeliver(500, false, since - 60_001, since),
        "before the window"
    );
    assert!(!redeliver(200, false, since, since), "it succeeded");
    assert!(!redeliver(299, false, since, since), "it succeeded");
    assert!(redeliver(300, false, since, since));
    assert!(!redeliver(502, true, since, since), "a redelivery itself");
}
