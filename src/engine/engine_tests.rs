use super::*;
use crate::engine::test_fixtures::{self, sha};
use crate::model::{Approval, DriverKind, TeardownKind};
use crate::types::{PrNumber, RepoId};

fn pr(head: u8) -> PullRequest {
    test_fixtures::pr(sha(head))
}

fn preview(id: i64, of: u8, state: PreviewState) -> Preview {
    Preview {
        id,
        repo_id: RepoId(1),
        pr_number: PrNumber(7),
        sha: sha(of),
        environment: "pr-7".into(),
        host: format!("{}.staging.example.org", sha(of)),
        driver: DriverKind::Command,
        deployment_id: Some(100 + id as u64),
        create_attempted: true,
        adopted: false,
        state,
        last_status: None,
        environment_url: None,
        detail: None,
        log_token: format!("tok{id}"),
        requested_by: "gangway".into(),
        created_at: 0,
        deployed_at: None,
        torn_down_at: None,
        teardown_kind: None,
    }
}

fn green() -> CheckSummary {
    CheckSummary {
        passed: vec!["build".into()],
        ..Default::default()
    }
}

fn valid() -> PolicyStatus {
    PolicyStatus::Valid(Policy::default())
}

fn run(
    pr: &PullRequest,
    policy: &PolicyStatus,
    checks: Option<&CheckSummary>,
    previews: &[Preview],
) -> (Gate, Vec<Action>) {
    let s = Situation {
        pr,
        policy,
        checks,
        previews,
        approvals: &[],
        unstaged_by: None,
        now_ms: 0,
        kept_until: None,
    };
    (gate(&s), decide(&s))
}

fn needs(pr: &PullRequest, policy: &PolicyStatus, previews: &[Preview]) -> bool {
    needs_checks(&Situation {
        pr,
        policy,
        checks: None,
        previews,
        approvals: &[],
        unstaged_by: None,
        now_ms: 0,
        kept_until: None,
    })
}

#[test]
fn green_head_is_staged_once() {
    let (g, a) = run(&pr(1), &valid(), Some(&green()), &[]);
    assert_eq!(g, Gate::Ready);
    assert_eq!(a, vec![Action::Stage { sha: sha(1) }]);
    // Live or failed: nothing more (a failed deploy is not retried on its own).
    for state in [PreviewState::Live, PreviewState::Failed] {
        let (_, a) = run(&pr(1), &valid(), Some(&green()), &[preview(1, 1, state)]);
        assert!(a.is_empty(), "{state:?}: {a:?}");
    }
}

#[test]
fn an_interrupted_stage_is_resumed_but_an_external_deploy_is_awaited() {
    for state in [PreviewState::Pending, PreviewState::Deploying] {
        let (_, a) = run(&pr(1), &valid(), None, &[preview(1, 1, state)]);
        assert_eq!(a, vec![Action::Stage { sha: sha(1) }], "{state:?}");
    }
    let mut external = preview(1, 1, PreviewState::Deploying);
    external.driver = DriverKind::External;
    assert!(run(&pr(1), &valid(), None, &[external]).1.is_empty());
}

#[test]
fn pending_failed_or_missing_checks_do_not_stage() {
    let pending = CheckSummary {
        pending: vec!["test".into()],
        passed: vec!["build".into()],
        ..Default::default()
    };
    assert_eq!(
        run(&pr(1), &valid(), Some(&pending), &[]),
        (Gate::WaitingForChecks(vec!["test".into()]), vec![])
    );
    let failed = CheckSummary {
        failed: vec![("test".into(), "failure".into())],
        ..Default::default()
    };
    assert_eq!(
        run(&pr(1), &valid(), Some(&failed), &[]).0,
        Gate::ChecksFailed(vec![("test".into(), "failure".into())])
    );
    assert!(run(&pr(1), &valid(), Some(&failed), &[]).1.is_empty());
    assert_eq!(
        run(&pr(1), &valid(), Some(&CheckSummary::default()), &[]),
        (Gate::NoChecks, vec![])
    );
}

#[test]
fn drafts_forks_and_invalid_policy_are_not_staged() {
    let mut draft = pr(1);
    draft.draft = true;
    assert_eq!(
        run(&draft, &valid(), Some(&green()), &[]),
        (Gate::Draft, vec![])
    );
    let mut with_drafts = Policy::default();
    with_drafts.preview.drafts = true;
    assert_eq!(
        run(
            &draft,
            &PolicyStatus::Valid(with_drafts),
            Some(&green()),
            &[]
        )
        .0,
        Gate::Ready
    );

    let mut fork = pr(1);
    fork.is_fork = true;
    assert_eq!(
        run(&fork, &valid(), Some(&green()), &[]),
        (
            Gate::Fork {
                previously_approved: None
            },
            vec![]
        )
    );

    let bad = PolicyStatus::Invalid("preview.trigger: unknown".into());
    assert_eq!(run(&pr(1), &bad, Some(&green()), &[]).1, vec![]);
}

#[test]
fn on_open_stages_without_checks() {
    let mut p = Policy::default();
    p.preview.trigger = Trigger::OnOpen;
    let policy = PolicyStatus::Valid(p);
    assert!(!needs(&pr(1), &policy, &[]));
    assert_eq!(
        run(&pr(1), &policy, None, &[]).1,
        vec![Action::Stage { sha: sha(1) }]
    );
}

#[test]
fn checks_are_fetched_only_when_they_can_change_the_decision() {
    assert!(needs(&pr(1), &valid(), &[]));
    assert!(!needs(
        &pr(1),
        &valid(),
        &[preview(1, 1, PreviewState::Live)]
    ));
    let mut closed = pr(1);
    closed.open = false;
    assert!(!needs(&closed, &valid(), &[]));
}

#[test]
fn old_preview_stays_until_the_new_one_is_live() {
    let old = preview(1, 1, PreviewState::Live);
    // New head waiting for checks: old keeps serving.
    let (_, a) = run(&pr(2), &valid(), None, std::slice::from_ref(&old));
    assert!(a.is_empty(), "{a:?}");
    // New head deploying: still.
    let (_, a) = run(
        &pr(2),
        &valid(),
        Some(&green()),
        &[old.clone(), preview(2, 2, PreviewState::Deploying)],
    );
    assert!(
        !a.iter().any(|a| matches!(a, Action::Teardown { .. })),
        "{a:?}"
    );
    // New head live: old goes.
    let (_, a) = run(
        &pr(2),
        &valid(),
        Some(&green()),
        &[old.clone(), preview(2, 2, PreviewState::Live)],
    );
    assert_eq!(
        a,
        vec![Action::Teardown {
            preview_id: 1,
            reason: TeardownReason::Superseded { by: sha(2) }
        }]
    );
}

#[test]
fn old_preview_goes_at_once_when_the_new_head_cannot_deploy() {
    let old = preview(1, 1, PreviewState::Live);
    let failed = CheckSummary {
        failed: vec![("test".into(), "failure".into())],
        ..Default::default()
    };
    let (_, a) = run(&pr(2), &valid(), Some(&failed), std::slice::from_ref(&old));
    assert_eq!(
        a,
        vec![Action::Teardown {
            preview_id: 1,
            reason: TeardownReason::Superseded { by: sha(2) }
        }]
    );
    let (_, a) = run(
        &pr(2),
        &valid(),
        Some(&green()),
        &[old, preview(2, 2, PreviewState::Failed)],
    );
    assert_eq!(a.len(), 1);
}

#[test]
fn closing_tears_everything_down_and_optionally_deletes_the_environment() {
    let mut closed = pr(2);
    closed.open = false;
    closed.merged = true;
    let previews = [
        preview(1, 1, PreviewState::TornDown),
        preview(2, 2, PreviewState::Live),
        preview(3, 3, PreviewState::Failed),
    ];
    let (g, a) = run(&closed, &valid(), None, &previews);
    assert_eq!(g, Gate::Closed);
    let reason = TeardownReason::Closed { merged: true };
    assert_eq!(
        a,
        vec![
            Action::Teardown {
                preview_id: 2,
                reason: reason.clone()
            },
            Action::Teardown {
                preview_id: 3,
                reason: reason.clone()
            }
        ]
    );
    let mut p = Policy::default();
    p.preview.delete_environment = true;
    let (_, a) = run(&closed, &PolicyStatus::Valid(p.clone()), None, &previews);
    assert_eq!(
        a.last(),
        Some(&Action::DeleteEnvironment {
            environment: "pr-7".into()
        })
    );
    // Once everything is down, deciding again does nothing.
    let down = [
        preview(1, 1, PreviewState::TornDown),
        preview(2, 2, PreviewState::TornDown),
    ];
    assert!(
        run(&closed, &PolicyStatus::Valid(p), None, &down)
            .1
            .is_empty()
    );
}

#[test]
fn reopened_pr_restages_its_torn_down_head_on_the_same_record() {
    let (_, a) = run(
        &pr(1),
        &valid(),
        Some(&green()),
        &[preview(1, 1, PreviewState::TornDown)],
    );
    assert_eq!(a, vec![Action::Stage { sha: sha(1) }]);
}

#[test]
fn an_interrupted_teardown_is_resumed() {
    let (_, a) = run(
        &pr(2),
        &valid(),
        None,
        &[preview(1, 1, PreviewState::TearingDown)],
    );
    assert_eq!(
        a,
        vec![Action::Teardown {
            preview_id: 1,
            reason: TeardownReason::Resume
        }]
    );
}

fn at(pr: &PullRequest, previews: &[Preview], approvals: &[Approval], now_ms: i64) -> Vec<Action> {
    let policy = valid();
    decide(&Situation {
        pr,
        policy: &policy,
        checks: Some(&green()),
        previews,
        approvals,
        unstaged_by: None,
        now_ms,
        kept_until: None,
    })
}

const HOUR: i64 = 3_600_000;

#[test]
fn an_idle_preview_expires_after_the_ttl_and_does_not_come_back_by_itself() {
    let mut live = preview(1, 1, PreviewState::Live);
    live.deployed_at = Some(0);
    assert!(at(&pr(1), std::slice::from_ref(&live), &[], 71 * HOUR).is_empty());
    assert_eq!(
        at(&pr(1), std::slice::from_ref(&live), &[], 72 * HOUR),
        vec![Action::Teardown {
            preview_id: 1,
            reason: TeardownReason::Expired { ttl_hours: 72 }
        }]
    );
    // Once expired, green checks alone do not restage it...
    let mut expired = live.clone();
    expired.state = PreviewState::TornDown;
    expired.teardown_kind = Some(TeardownKind::Expired);
    expired.torn_down_at = Some(72 * HOUR);
    assert!(at(&pr(1), std::slice::from_ref(&expired), &[], 73 * HOUR).is_empty());
    // ...a /stage given afterwards does.
    let approval = Approval {
        sha: sha(1),
        approver: "m".into(),
        permission: "write".into(),
        comment_url: String::new(),
        approved_at: 73 * HOUR,
    };
    assert_eq!(
        at(&pr(1), &[expired], &[approval], 73 * HOUR + 1),
        vec![Action::Stage { sha: sha(1) }]
    );
}

#[test]
fn a_stage_renews_the_ttl() {
    let mut live = preview(1, 1, PreviewState::Live);
    live.deployed_at = Some(0);
    let approval = Approval {
        sha: sha(1),
        approver: "m".into(),
        permission: "write".into(),
        comment_url: String::new(),
        approved_at: 60 * HOUR,
    };
    assert!(at(&pr(1), &[live], &[approval], 100 * HOUR).is_empty());
}

#[test]
fn a_superseded_preview_goes_after_the_grace_period_even_if_the_new_head_never_deploys() {
    let mut p = pr(2);
    p.head_since_ms = 10 * HOUR;
    let old = preview(1, 1, PreviewState::Live);
    let policy = valid();
    let pending = CheckSummary {
        pending: vec!["slow".into()],
        ..Default::default()
    };
    let situation = |now_ms| Situation {
        pr: &p,
        policy: &policy,
        checks: Some(&pending),
        previews: std::slice::from_ref(&old),
        approvals: &[],
        unstaged_by: None,
        now_ms,
        kept_until: None,
    };
    assert!(decide(&situation(10 * HOUR + HOUR - 1)).is_empty());
    assert_eq!(
        decide(&situation(11 * HOUR)),
        vec![Action::Teardown {
            preview_id: 1,
            reason: TeardownReason::Superseded { by: sha(2) }
        }]
    );
}

fn approval(of: u8, at: i64) -> Approval {
    Approval {
        sha: sha(of),
        approver: "maintainer".into(),
        permission: "write".into(),
        comment_url: String::new(),
        approved_at: at,
    }
}

fn fork_situation<'a>(
    pr: &'a PullRequest,
    policy: &'a PolicyStatus,
    previews: &'a [Preview],
    approvals: &'a [Approval],
) -> Situation<'a> {
    Situation {
        pr,
        policy,
        // A fork's checks are never read: whatever they say, only an approval stages it.
        checks: None,
        previews,
        approvals,
        unstaged_by: None,
        now_ms: 10,
        kept_until: None,
    }
}

#[test]
fn a_fork_whose_current_head_is_approved_is_ready_and_staged() {
    let mut fork = pr(2);
    fork.is_fork = true;
    let policy = valid();
    let approvals = [approval(2, 5)];
    let s = fork_situation(&fork, &policy, &[], &approvals);
    assert_eq!(gate(&s), Gate::Ready);
    assert_eq!(decide(&s), vec![Action::Stage { sha: sha(2) }]);
    assert!(
        !needs_checks(&s),
        "an approved head does not wait for checks"
    );
}

#[test]
fn an_approval_of_an_older_fork_commit_does_not_carry_over_to_a_new_push() {
    let mut fork = pr(2);
    fork.is_fork = true;
    let policy = valid();
    let approvals = [approval(1, 5)];
    let live_old = [preview(1, 1, PreviewState::Live)];
    let s = fork_situation(&fork, &policy, &live_old, &approvals);
    assert_eq!(
        gate(&s),
        Gate::Fork {
            previously_approved: Some(sha(1))
        }
    );
    // Nothing deploys; by default the approved commit keeps serving.
    assert_eq!(decide(&s), vec![]);

    let mut teardown = Policy::default();
    teardown.forks.on_push = ForkPush::Teardown;
    let teardown = PolicyStatus::Valid(teardown);
    let s = fork_situation(&fork, &teardown, &live_old, &approvals);
    assert_eq!(
        decide(&s),
        vec![Action::Teardown {
            preview_id: 1,
            reason: TeardownReason::Superseded { by: sha(2) },
        }],
        "with forks.on_push: teardown the old approved preview goes, and nothing replaces it"
    );

    // Approving the new head later stages it.
    let both = [approval(1, 5), approval(2, 8)];
    let s = fork_situation(&fork, &policy, &live_old, &both);
    assert_eq!(gate(&s), Gate::Ready);
    assert_eq!(decide(&s), vec![Action::Stage { sha: sha(2) }]);
}

fn reading(pr: &PullRequest, previews: &[Preview], asked: bool) -> ChecksRead {
    checks_read(
        &Situation {
            pr,
            policy: &valid(),
            checks: None,
            previews,
            approvals: &[],
            unstaged_by: None,
            now_ms: 0,
            kept_until: None,
        },
        asked,
    )
}

#[test]
fn checks_are_read_when_asked_or_once_a_check_reported_and_only_if_needed() {
    assert_eq!(reading(&pr(1), &[], true), ChecksRead::Read);
    assert_eq!(
        reading(&pr(1), &[], false),
        ChecksRead::IfSignalled,
        "unasked: only once a check has reported on the commit"
    );
    let staged = [preview(1, 1, PreviewState::Live)];
    for asked in [true, false] {
        assert_eq!(
            reading(&pr(1), &staged, asked),
            ChecksRead::Skip,
            "the head is staged: checks cannot change the decision"
        );
    }
    let mut closed = pr(1);
    closed.open = false;
    assert_eq!(reading(&closed, &[], true), ChecksRead::Skip);
}

#[test]
fn each_action_is_audited_with_its_subject_decision_and_reason() {
    let record = |a: Action| {
        let r = audit_record(&a, "ann");
        (r.subject, r.decision, r.reason)
    };
    assert_eq!(
        record(Action::Stage { sha: sha(1) }),
        (
            "commit 0000000".to_owned(),
            "stage",
            "ready; requested by ann".to_owned()
        )
    );
    assert_eq!(
        record(Action::Teardown {
            preview_id: 4,
            reason: TeardownReason::Closed { merged: true },
        }),
        (
            "preview 4".to_owned(),
            "teardown",
            "pull request merged".to_owned()
        )
    );
    assert_eq!(
        record(Action::Teardown {
            preview_id: 5,
            reason: TeardownReason::Unstaged { by: "bob".into() },
        }),
        (
            "preview 5".to_owned(),
            "teardown",
            "unstaged by @bob".to_owned()
        )
    );
    assert_eq!(
        record(Action::DeleteEnvironment {
            environment: "pr-7".into()
        }),
        (
            "environment pr-7".to_owned(),
            "delete",
            "pull request closed; policy deletes environments".to_owned()
        )
    );
}

fn with_bots(bots: BotPolicy) -> PolicyStatus {
    let mut p = Policy::default();
    p.preview.bots = bots;
    PolicyStatus::Valid(p)
}

#[test]
fn a_bots_pull_request_waits_for_approval_unless_the_policy_says_auto() {
    let bot = PullRequest {
        author: "dependabot[bot]".into(),
        ..pr(1)
    };
    // By default (approve): whatever its checks say, like a fork's, and checks are not read.
    assert_eq!(
        run(&bot, &valid(), Some(&green()), &[]),
        (
            Gate::Bot {
                previously_approved: None
            },
            vec![]
        )
    );
    assert!(!needs(&bot, &valid(), &[]));
    assert!(needs_approval(&bot, valid().valid().unwrap()));
    // A maintainer's /stage of the head stages it, as for a fork.
    let policy = valid();
    let approvals = [approval(1, 5)];
    let s = fork_situation(&bot, &policy, &[], &approvals);
    assert_eq!(gate(&s), Gate::Ready);
    assert_eq!(decide(&s), vec![Action::Stage { sha: sha(1) }]);
    // With `auto`: staged like anyone's same-repository PR, by its checks.
    let auto = with_bots(BotPolicy::Auto);
    assert!(needs(&bot, &auto, &[]));
    assert_eq!(
        run(&bot, &auto, Some(&green()), &[]),
        (Gate::Ready, vec![Action::Stage { sha: sha(1) }])
    );
    assert_eq!(
        run(&bot, &auto, None, &[]).0,
        Gate::WaitingForChecks(vec![])
    );
}

#[test]
fn a_bot_is_known_by_its_account_type_or_its_login() {
    let typed = PullRequest {
        author: "release-helper".into(),
        author_bot: true,
        ..pr(1)
    };
    assert!(by_bot(&typed));
    let named = PullRequest {
        author: "renovate[bot]".into(),
        ..pr(1)
    };
    assert!(by_bot(&named), "a record written before the type was kept");
    assert!(!by_bot(&pr(1)));
    assert!(!needs_approval(&pr(1), valid().valid().unwrap()));
    // A fork stays a fork, whoever opened it and whatever `bots` says.
    let fork_bot = PullRequest {
        is_fork: true,
        ..named
    };
    assert_eq!(
        run(&fork_bot, &with_bots(BotPolicy::Auto), Some(&green()), &[]).0,
        Gate::Fork {
            previously_approved: None
        }
    );
}

#[test]
fn a_bots_new_push_follows_forks_on_push_as_a_forks_does() {
    let bot = PullRequest {
        author: "dependabot[bot]".into(),
        ..pr(2)
    };
    let approvals = [approval(1, 5)];
    let live_old = [preview(1, 1, PreviewState::Live)];
    let policy = valid();
    let s = fork_situation(&bot, &policy, &live_old, &approvals);
    assert_eq!(
        gate(&s),
        Gate::Bot {
            previously_approved: Some(sha(1))
        }
    );
    assert_eq!(decide(&s), vec![]);
    let mut teardown = Policy::default();
    teardown.forks.on_push = ForkPush::Teardown;
    let teardown = PolicyStatus::Valid(teardown);
    let s = fork_situation(&bot, &teardown, &live_old, &approvals);
    assert_eq!(
        decide(&s),
        vec![Action::Teardown {
            preview_id: 1,
            reason: TeardownReason::Superseded { by: sha(2) },
        }]
    );
}
