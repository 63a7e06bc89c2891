use super::*;
use crate::engine::test_fixtures::{self, sha};
use crate::engine::{CheckSummary, PolicyStatus, gate};
use crate::model::{Approval, PullRequest};
use crate::policy::Policy;
use crate::types::RepoId;

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
        automation: false,
    }
}

fn green() -> CheckSummary {
    CheckSummary {
        passed: vec!["build".into()],
        ..CheckSummary::default()
    }
}

/// The facts of PR `pr` with default policy, no preview, approval or `/unstage`.
struct Facts {
    pr: PullRequest,
    policy: PolicyStatus,
    checks: Option<CheckSummary>,
    previews: Vec<Preview>,
    approvals: Vec<Approval>,
    unstaged_by: Option<String>,
}

impl Facts {
    fn of(pr: PullRequest) -> Facts {
        Facts {
            pr,
            policy: PolicyStatus::Valid(Policy::default()),
            checks: Some(green()),
            previews: Vec::new(),
            approvals: Vec::new(),
            unstaged_by: None,
        }
    }

    fn situation(&self) -> Situation<'_> {
        Situation {
            pr: &self.pr,
            policy: &self.policy,
            checks: self.checks.as_ref(),
            previews: &self.previews,
            approvals: &self.approvals,
            unstaged_by: self.unstaged_by.as_deref(),
            now_ms: 1,
            kept_until: None,
        }
    }

    fn judge(&self, a: &Adoption, permission: Option<Permission>) -> Adopt {
        adoption(Some(&self.situation()), a, permission)
    }

    /// The refusal a person with write access gets (each gate is judged before permission).
    fn refusal(&self) -> NotRun {
        match self.judge(&by_hand("pr-7"), Some(Permission::Write)) {
            Adopt::Refuse(why) => why,
            other => panic!("not refused: {other:?}"),
        }
    }
}

#[test]
fn a_writers_deployment_of_a_green_head_is_run_once_checks_and_permission_are_read() {
    let mut f = Facts::of(pr());
    f.checks = None;
    let a = by_hand("pr-7");
    assert_eq!(f.judge(&a, None), Adopt::ReadChecks);
    f.checks = Some(green());
    assert_eq!(f.judge(&a, None), Adopt::AskPermission);
    assert_eq!(f.judge(&a, Some(Permission::Write)), Adopt::Stage);
    assert_eq!(f.judge(&a, Some(Permission::Admin)), Adopt::Stage);
    assert_eq!(
        f.judge(&a, Some(Permission::Read)),
        Adopt::Refuse(NotRun::Permission {
            creator: "ops".into(),
            has: Permission::Read,
            needs: Permission::Write,
        })
    );
    // The policy's `stage` permission is the bar.
    let mut policy = Policy::default();
    policy.permissions.stage = Permission::Maintain;
    f.policy = PolicyStatus::Valid(policy);
    assert!(matches!(
        f.judge(&a, Some(Permission::Write)),
        Adopt::Refuse(NotRun::Permission { .. })
    ));
}

#[test]
fn every_gate_of_the_pr_refuses_a_hand_made_deployment_as_the_pr_evaluation_would() {
    let draft = Facts::of(PullRequest {
        draft: true,
        ..pr()
    });
    let mut red = Facts::of(pr());
    red.checks = Some(CheckSummary {
        failed: vec![("lint".into(), "failure".into())],
        ..green()
    });
    let mut running = Facts::of(pr());
    running.checks = Some(CheckSummary {
        pending: vec!["test".into()],
        ..green()
    });
    let mut unstaged = Facts::of(pr());
    unstaged.unstaged_by = Some("maria".into());
    let fork = Facts::of(PullRequest {
        is_fork: true,
        ..pr()
    });
    let bot = Facts::of(PullRequest {
        author: "dependabot[bot]".into(),
        ..pr()
    });
    let closed = Facts::of(PullRequest {
        open: false,
        ..pr()
    });
    for f in [&draft, &red, &running, &unstaged, &fork, &bot, &closed] {
        let gate = gate(&f.situation());
        assert_ne!(gate, Gate::Ready);
        assert_eq!(
            f.refusal(),
            NotRun::Gate {
                number: PrNumber(7),
                sha: sha(1),
                gate,
            },
            "the PR's own gate, nothing copied"
        );
    }
    assert!(draft.refusal().describe().contains("draft"));
    assert!(red.refusal().describe().contains("lint (failure)"));
    assert!(running.refusal().describe().contains("test"));
    assert!(unstaged.refusal().describe().contains("/unstage by @maria"));
    assert!(fork.refusal().describe().contains("fork"));
    assert!(bot.refusal().describe().contains("bot"));
    assert!(closed.refusal().describe().contains("closed"));

    // A fork's (or a bot's) commit a maintainer approved with /stage is the PR's to stage.
    let mut approved = Facts::of(PullRequest {
        is_fork: true,
        ..pr()
    });
    approved.approvals = vec![Approval {
        sha: sha(1),
        approver: "maria".into(),
        permission: "write".into(),
        comment_url: String::new(),
        approved_at: 1,
    }];
    assert_eq!(
        approved.judge(&by_hand("pr-7"), Some(Permission::Write)),
        Adopt::Stage
    );
}

#[test]
fn only_the_head_commit_is_run() {
    let f = Facts::of(PullRequest {
        head_sha: sha(2),
        ..pr()
    });
    assert_eq!(
        f.refusal(),
        NotRun::NotHead {
            number: PrNumber(7),
            head: sha(2),
        }
    );
    assert!(f.refusal().describe().contains(sha(2).short()));
}

#[test]
fn apps_and_bots_are_adopted_only_where_the_policy_says_so_and_off_adopts_nobody() {
    let mut f = Facts::of(pr());
    let app = Adoption {
        creator: "github-actions[bot]".into(),
        automation: true,
        ..by_hand("pr-7")
    };
    assert_eq!(
        f.judge(&app, None),
        Adopt::Refuse(NotRun::Automation {
            creator: "github-actions[bot]".into()
        })
    );
    let mut policy = Policy::default();
    policy.preview.adopt = AdoptPolicy::PeopleAndApps;
    f.policy = PolicyStatus::Valid(policy.clone());
    // No permission to ask about: the policy's word is the App's permission.
    assert_eq!(f.judge(&app, None), Adopt::Stage);
    // People still need theirs.
    assert_eq!(f.judge(&by_hand("pr-7"), None), Adopt::AskPermission);
    // Apps still pass the PR's gates.
    let draft = Facts {
        policy: PolicyStatus::Valid(policy.clone()),
        ..Facts::of(PullRequest {
            draft: true,
            ..pr()
        })
    };
    assert!(matches!(
        draft.judge(&app, None),
        Adopt::Refuse(NotRun::Gate {
            gate: Gate::Draft,
            ..
        })
    ));
    policy.preview.adopt = AdoptPolicy::Off;
    f.policy = PolicyStatus::Valid(policy);
    assert_eq!(
        f.judge(&by_hand("pr-7"), Some(Permission::Admin)),
        Adopt::Refuse(NotRun::Off)
    );
    assert_eq!(f.judge(&app, None), Adopt::Refuse(NotRun::Off));
}

#[test]
fn an_adopted_deployment_is_done_and_a_second_one_for_the_head_is_not_run() {
    let mut f = Facts::of(pr());
    f.previews = vec![Preview {
        deployment_id: Some(900),
        ..preview(PreviewState::Live, DriverKind::Command)
    }];
    assert_eq!(f.judge(&by_hand("pr-7"), None), Adopt::Adopted);
    f.previews = vec![preview(PreviewState::Live, DriverKind::Command)];
    assert_eq!(f.refusal(), NotRun::AlreadyStaged { ours: Some(500) });
}

#[test]
fn other_environments_unknown_prs_and_invalid_policies_are_left_alone() {
    let f = Facts::of(pr());
    assert_eq!(f.judge(&by_hand("staging"), None), Adopt::Ignore);
    assert_eq!(f.judge(&by_hand("pr-70"), None), Adopt::Ignore);
    assert_eq!(adoption(None, &by_hand("pr-7"), None), Adopt::Ignore);
    let invalid = Facts {
        policy: PolicyStatus::Invalid("broken".into()),
        ..Facts::of(pr())
    };
    assert_eq!(invalid.judge(&by_hand("pr-7"), None), Adopt::Ignore);
}

#[test]
fn what_a_refused_deployment_says_fits_a_status_and_is_audited() {
    let refusals = [
        NotRun::Off,
        NotRun::Automation {
            creator: "a-very-long-app-name-for-deployments[bot]".into(),
        },
        NotRun::NotHead {
            number: PrNumber(123_456),
            head: sha(2),
        },
        NotRun::Gate {
            number: PrNumber(123_456),
            sha: sha(1),
            gate: Gate::Bot {
                previously_approved: None,
            },
        },
        NotRun::AlreadyStaged {
            ours: Some(u64::MAX),
        },
        NotRun::Permission {
            creator: "a-thirty-nine-character-github-login-xx".into(),
            has: Permission::Triage,
            needs: Permission::Maintain,
        },
    ];
    for why in refusals {
        let text = format!("Not run by Gangway: {}", why.describe());
        assert!(text.chars().count() <= 140, "{} chars: {text}", text.len());
        let record = adoption_audit(&by_hand("pr-7"), &Adopt::Refuse(why.clone()));
        assert_eq!(
            record,
            Some(AuditRecord {
                subject: "deployment 900".into(),
                decision: "not adopted",
                reason: why.describe(),
            })
        );
    }
    let staged = adoption_audit(&by_hand("pr-7"), &Adopt::Stage).unwrap();
    assert_eq!(staged.decision, "adopt");
    assert!(staged.reason.contains("ops"), "{}", staged.reason);
    assert_eq!(adoption_audit(&by_hand("pr-7"), &Adopt::ReadChecks), None);
}

#[test]
fn an_environment_name_names_the_pr_whose_template_renders_it_exactly() {
    assert_eq!(environment_pr(None, "pr-7"), Some(PrNumber(7)));
    assert_eq!(environment_pr(None, "pr-007"), None);
    assert_eq!(environment_pr(None, "pr-7x"), None);
    assert_eq!(environment_pr(None, "pr-"), None);
    assert_eq!(environment_pr(None, "production"), None);
    let custom = "preview:\n  environment: \"app-{number}-preview\"\n";
    assert_eq!(
        environment_pr(Some(custom), "app-12-preview"),
        Some(PrNumber(12))
    );
    assert_eq!(environment_pr(Some(custom), "pr-12"), None);
    // A cached file that does not parse: the default names it.
    assert_eq!(
        environment_pr(Some("preview: ["), "pr-12"),
        Some(PrNumber(12))
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
