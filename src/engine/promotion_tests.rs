use super::*;
use crate::model::{EnvKind, EnvState};
use crate::types::{PrNumber, RepoId};

fn sha(c: char) -> CommitSha {
    CommitSha::parse(&c.to_string().repeat(40)).expect("sha")
}

fn green() -> CheckSummary {
    CheckSummary {
        passed: vec!["build".into()],
        pending: vec![],
        failed: vec![],
    }
}

fn envs() -> Vec<String> {
    vec!["staging".into(), "production".into()]
}

fn running() -> EnvDeployment {
    EnvDeployment {
        id: 7,
        repo_id: RepoId::from_db(1),
        environment: "production".into(),
        sha: sha('b'),
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

struct Facts {
    known: Vec<String>,
    sha: CommitSha,
    preview: PreviewOutcome,
    checks: CheckSummary,
    hold: Option<Hold>,
    running: Option<EnvDeployment>,
    bad: Option<BadSha>,
    force: bool,
}

impl Facts {
    fn ok() -> Facts {
        Facts {
            known: envs(),
            sha: sha('a'),
            preview: PreviewOutcome::Succeeded,
            checks: green(),
            hold: None,
            running: None,
            bad: None,
            force: false,
        }
    }

    fn check(&self, env: &str) -> Result<(), Refusal> {
        check(&Request {
            environment: env,
            known: &self.known,
            sha: &self.sha,
            force: self.force,
            preview: &self.preview,
            checks: Some(&self.checks),
            checks_required: true,
            hold: self.hold.as_ref(),
            running: self.running.as_ref(),
            bad: self.bad.as_ref(),
        })
    }
}

fn refused(f: &Facts, env: &str) -> (String, String) {
    let r = f.check(env).expect_err("refused");
    (r.rule().to_owned(), r.to_string())
}

#[test]
fn a_staged_green_commit_may_go_anywhere_known() {
    let f = Facts::ok();
    assert_eq!(f.check("production"), Ok(()));
    assert_eq!(f.check("staging"), Ok(()));
}

#[test]
fn an_unknown_environment_names_the_known_ones() {
    let (rule, text) = refused(&Facts::ok(), "prod");
    assert_eq!(rule, "unknown environment");
    assert!(text.contains("`staging`, `production`"), "{text}");
}

#[test]
fn held_names_who_why_and_the_way_out() {
    let mut f = Facts::ok();
    f.hold = Some(Hold {
        environment: "production".into(),
        held_by: "ann".into(),
        reason: Some("incident 42".into()),
        held_at: 0,
    });
    let (rule, text) = refused(&f, "production");
    assert_eq!(rule, "held");
    assert!(text.contains("@ann"), "{text}");
    assert!(text.contains("incident 42"), "{text}");
    assert!(text.contains("**/unhold**"), "{text}");
    f.known = vec!["staging".into(), "production".into()];
    let (_, text) = refused(&f, "staging");
    assert!(text.contains("**/unhold staging**"), "{text}");
}

#[test]
fn busy_names_the_running_deployment() {
    let mut f = Facts::ok();
    f.running = Some(running());
    let (rule, text) = refused(&f, "production");
    assert_eq!(rule, "busy");
    assert!(text.contains("`bbbbbbb`"), "{text}");
    assert!(text.contains("#12"), "{text}");
    assert!(text.contains("@bob"), "{text}");
}

#[test]
fn a_bad_commit_needs_force() {
    let mut f = Facts::ok();
    f.bad = Some(BadSha {
        sha: sha('a'),
        environment: "production".into(),
        marked_by: "ann".into(),
        reason: Some("rollback".into()),
        marked_at: 0,
    });
    let (rule, text) = refused(&f, "production");
    assert_eq!(rule, "bad commit");
    assert!(text.contains("--force"), "{text}");
    f.force = true;
    assert_eq!(f.check("production"), Ok(()));
}

#[test]
fn previews_must_have_succeeded() {
    let mut f = Facts::ok();
    f.preview = PreviewOutcome::NeverStaged;
    assert_eq!(refused(&f, "production").0, "never staged");
    f.preview = PreviewOutcome::InProgress("deploying");
    let (rule, text) = refused(&f, "production");
    assert_eq!(rule, "preview not live");
    assert!(text.contains("deploying"), "{text}");
    f.preview = PreviewOutcome::Failed(Some("deploy script exited with 3".into()));
    let (rule, text) = refused(&f, "production");
    assert_eq!(rule, "preview failed");
    assert!(text.contains("exited with 3"), "{text}");
    f.preview = PreviewOutcome::NotRequired;
    assert_eq!(f.check("production"), Ok(()));
}

#[test]
fn checks_must_be_green() {
    let mut f = Facts::ok();
    f.checks.failed = vec![("test".into(), "failure".into())];
    let (rule, text) = refused(&f, "production");
    assert_eq!(rule, "checks failed");
    assert!(text.contains("`test` (failure)"), "{text}");
    f.checks.failed.clear();
    f.checks.pending = vec!["lint".into()];
    assert_eq!(refused(&f, "production").0, "checks pending");
    f.checks = CheckSummary::default();
    assert_eq!(refused(&f, "production").0, "no checks");
}

#[test]
fn rules_are_checked_in_order_held_before_busy_before_bad() {
    let mut f = Facts::ok();
    f.running = Some(running());
    f.hold = Some(Hold {
        environment: "production".into(),
        held_by: "ann".into(),
        reason: None,
        held_at: 0,
    });
    f.preview = PreviewOutcome::NeverStaged;
    assert_eq!(refused(&f, "production").0, "held");
    f.hold = None;
    assert_eq!(refused(&f, "production").0, "busy");
}

#[test]
fn only_identical_or_ahead_descends() {
    let current = sha('c');
    for (status, ok) in [
        ("identical", true),
        ("ahead", true),
        ("behind", false),
        ("diverged", false),
    ] {
        let a = Ancestry::parse(status).expect("known status");
        let verdict = check_ancestry("production", &current, a);
        assert_eq!(verdict.is_ok(), ok, "{status}");
        if let Err(r) = verdict {
            let text = r.to_string();
            assert!(
                text.contains("production runs `ccccccc`, which this branch does not contain"),
                "{text}"
            );
            assert!(text.contains("update the branch"), "{text}");
        }
    }
    assert_eq!(Ancestry::parse("weird"), None);
}

#[test]
fn no_refusal_starts_a_line_with_a_command() {
    let mut f = Facts::ok();
    f.hold = Some(Hold {
        environment: "production".into(),
        held_by: "ann".into(),
        reason: Some("x".into()),
        held_at: 0,
    });
    let text = f.check("production").expect_err("held").to_string();
    assert!(text.lines().all(|l| !l.trim_start().starts_with('/')));
}

#[test]
fn checks_not_read_yet_skip_only_the_check_rules() {
    let mut f = Facts::ok();
    f.checks.failed = vec![("test".into(), "failure".into())];
    let unread = |f: &Facts| {
        check(&Request {
            environment: "production",
            known: &f.known,
            sha: &f.sha,
            force: false,
            preview: &f.preview,
            checks: None,
            checks_required: true,
            hold: f.hold.as_ref(),
            running: f.running.as_ref(),
            bad: f.bad.as_ref(),
        })
    };
    assert_eq!(unread(&f), Ok(()));
    f.preview = PreviewOutcome::NeverStaged;
    assert_eq!(unread(&f).map_err(|r| r.rule()), Err("never staged"));
}

/// Every refusal as the maintainer reads it, pinned word for word
/// (`src/engine/snapshots/`): the rule, then the way out.
#[test]
fn every_refusal_reads_as_pinned() {
    let noon = 1_767_268_800_000;
    let hold = Hold {
        environment: "production".into(),
        held_by: "ann".into(),
        reason: Some("incident 7".into()),
        held_at: noon,
    };
    let bad = BadSha {
        sha: sha('a'),
        environment: "production".into(),
        marked_by: "bob".into(),
        reason: Some("rolled back".into()),
        marked_at: noon,
    };
    let refusals = [
        Refusal::UnknownEnvironment {
            name: "prod".into(),
            known: envs(),
        },
        Refusal::Held {
            environment: "production".into(),
            hold: Box::new(hold.clone()),
            production: true,
        },
        Refusal::Held {
            environment: "staging".into(),
            hold: Box::new(Hold {
                environment: "staging".into(),
                reason: None,
                ..hold
            }),
            production: false,
        },
        Refusal::Busy {
            environment: "production".into(),
            running: Box::new(EnvDeployment {
                created_at: noon,
                ..running()
            }),
        },
        Refusal::Bad {
            environment: "production".into(),
            bad: Box::new(bad),
        },
        Refusal::NeverStaged { sha: sha('a') },
        Refusal::PreviewInProgress {
            sha: sha('a'),
            state: "deploying",
        },
        Refusal::PreviewFailed {
            sha: sha('a'),
            detail: Some("exit 3".into()),
        },
        Refusal::PreviewFailed {
            sha: sha('a'),
            detail: None,
        },
        Refusal::ChecksFailed {
            sha: sha('a'),
            failed: vec![("test".into(), "failure".into())],
        },
        Refusal::ChecksPending {
            sha: sha('a'),
            pending: vec!["e2e".into(), "lint".into()],
        },
        Refusal::NoChecks { sha: sha('a') },
        Refusal::NotDescendant {
            environment: "production".into(),
            current: sha('b'),
            ancestry: Ancestry::Behind,
        },
        Refusal::NotDescendant {
            environment: "production".into(),
            current: sha('b'),
            ancestry: Ancestry::Diverged,
        },
        Refusal::NothingRunning {
            environment: "production".into(),
        },
        Refusal::NothingToRollBackTo {
            environment: "production".into(),
            current: sha('b'),
        },
    ];
    let text: Vec<String> = refusals
        .iter()
        .map(|r| format!("[{}]\n{r}\n", r.rule()))
        .collect();
    insta::assert_snapshot!(text.join("\n"));
}

impl Facts {
    fn gates(
        &self,
        checks: Option<&CheckSummary>,
        current: Option<&CommitSha>,
        compared: Compared,
    ) -> Next {
        next(&Gates {
            request: Request {
                environment: "production",
                known: &self.known,
                sha: &self.sha,
                force: self.force,
                preview: &self.preview,
                checks,
                checks_required: true,
                hold: self.hold.as_ref(),
                running: self.running.as_ref(),
                bad: self.bad.as_ref(),
            },
            current,
            compared,
        })
    }
}

#[test]
fn the_gates_ask_for_checks_then_ancestry_only_once_the_cheaper_rules_hold() {
    let f = Facts::ok();
    let current = sha('c');
    assert_eq!(
        f.gates(None, Some(&current), Compared::NotAsked),
        Next::ReadChecks
    );
    assert_eq!(
        f.gates(Some(&green()), Some(&current), Compared::NotAsked),
        Next::Compare {
            base: current.clone()
        }
    );
    assert_eq!(
        f.gates(
            Some(&green()),
            Some(&current),
            Compared::Said(Ancestry::Ahead)
        ),
        Next::Go
    );
    // Nothing runs there yet, or it runs this very commit: no compare needed.
    assert_eq!(f.gates(Some(&green()), None, Compared::NotAsked), Next::Go);
    assert_eq!(
        f.gates(Some(&green()), Some(&sha('a')), Compared::NotAsked),
        Next::Go
    );
}

#[test]
fn a_cheap_refusal_costs_no_check_read() {
    let mut f = Facts::ok();
    f.running = Some(running());
    match f.gates(None, None, Compared::NotAsked) {
        Next::Refuse(r) => assert_eq!(r.rule(), "busy"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn red_checks_refuse_before_any_compare() {
    let f = Facts::ok();
    let red = CheckSummary {
        failed: vec![("build".into(), "failure".into())],
        ..green()
    };
    match f.gates(Some(&red), Some(&sha('c')), Compared::NotAsked) {
        Next::Refuse(r) => assert_eq!(r.rule(), "checks failed"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_commit_behind_or_beside_the_environment_or_one_github_cannot_compare_is_refused() {
    let f = Facts::ok();
    let current = sha('c');
    for compared in [
        Compared::Said(Ancestry::Behind),
        Compared::Said(Ancestry::Diverged),
        Compared::Unknown,
    ] {
        match f.gates(Some(&green()), Some(&current), compared) {
            Next::Refuse(r) => assert_eq!(r.rule(), "not a descendant", "{compared:?}"),
            other => panic!("{compared:?}: expected a refusal, got {other:?}"),
        }
    }
}

fn preview_in(state: PreviewState, deployed_at: Option<i64>) -> Preview {
    Preview {
        id: 1,
        repo_id: RepoId::from_db(1),
        pr_number: PrNumber::from_db(12),
        sha: sha('a'),
        environment: "pr-12".into(),
        host: "h".into(),
        driver: crate::model::DriverKind::Command,
        deployment_id: None,
        create_attempted: true,
        adopted: false,
        state,
        last_status: None,
        environment_url: None,
        detail: Some("boom".into()),
        log_token: "t".into(),
        requested_by: "ann".into(),
        created_at: 0,
        deployed_at,
        torn_down_at: None,
        teardown_kind: None,
    }
}

#[test]
fn a_preview_counts_if_it_ever_went_live() {
    assert_eq!(PreviewOutcome::of(None), PreviewOutcome::NeverStaged);
    let of = |state, at| PreviewOutcome::of(Some(&preview_in(state, at)));
    assert_eq!(of(PreviewState::Live, Some(1)), PreviewOutcome::Succeeded);
    assert_eq!(
        of(PreviewState::Failed, None),
        PreviewOutcome::Failed(Some("boom".into()))
    );
    assert_eq!(
        of(PreviewState::Deploying, None),
        PreviewOutcome::InProgress("deploying")
    );
    assert_eq!(
        of(PreviewState::TornDown, Some(1)),
        PreviewOutcome::Succeeded
    );
    assert_eq!(
        of(PreviewState::TornDown, None),
        PreviewOutcome::NeverStaged
    );
}

#[test]
fn the_train_resumes_only_its_own_claim_of_the_same_commit() {
    let mut r = running();
    assert!(!train_resumes(None, &sha('b')));
    assert!(
        !train_resumes(Some(&r), &sha('b')),
        "a /promote is not ours"
    );
    r.kind = EnvKind::Train;
    assert!(train_resumes(Some(&r), &sha('b')));
    assert!(!train_resumes(Some(&r), &sha('a')));
}

fn deployed(c: char) -> EnvDeployment {
    EnvDeployment {
        sha: sha(c),
        state: EnvState::Live,
        ..running()
    }
}

fn rolled_back(
    environment: &str,
    running: Option<&EnvDeployment>,
    current: Option<&EnvDeployment>,
    last_good: Option<&EnvDeployment>,
) -> Result<Rollback, Refusal> {
    rollback(&RollbackFacts {
        environment,
        known: &envs(),
        running,
        current,
        last_good,
        named: None,
    })
}

#[test]
fn a_rollback_to_a_named_commit_needs_it_to_have_run_there_and_not_to_run_now() {
    let (now, before) = (deployed('b'), deployed('a'));
    let named = |chosen: Option<&EnvDeployment>, name: &str| {
        rollback(&RollbackFacts {
            environment: "production",
            known: &envs(),
            running: None,
            current: Some(&now),
            last_good: chosen,
            named: Some(name),
        })
    };
    assert_eq!(
        named(Some(&before), "aaaaaaa"),
        Ok(Rollback {
            from: sha('b'),
            to: sha('a'),
        })
    );
    let never = named(None, "c0ffee1").unwrap_err();
    assert_eq!(never.rule(), "never ran there");
    assert!(
        never
            .to_string()
            .contains("`c0ffee1` never ran in production"),
        "{never}"
    );
    let same = named(Some(&now), "bbbbbbb").unwrap_err();
    assert_eq!(same.rule(), "already runs it");
}

#[test]
fn a_rollback_goes_from_what_runs_to_the_last_commit_that_succeeded() {
    let (now, before) = (deployed('b'), deployed('a'));
    assert_eq!(
        rolled_back("production", None, Some(&now), Some(&before)),
        Ok(Rollback {
            from: sha('b'),
            to: sha('a'),
        })
    );
}

#[test]
fn a_rollback_is_refused_in_order_unknown_busy_nothing_running_nothing_earlier() {
    let (now, before, busy) = (deployed('b'), deployed('a'), running());
    let rule = |r: Result<Rollback, Refusal>| r.expect_err("refused").rule();
    assert_eq!(
        rule(rolled_back("prod", Some(&busy), None, None)),
        "unknown environment"
    );
    assert_eq!(
        rule(rolled_back(
            "production",
            Some(&busy),
            Some(&now),
            Some(&before)
        )),
        "busy"
    );
    assert_eq!(
        rule(rolled_back("production", None, None, None)),
        "nothing running"
    );
    assert_eq!(
        rolled_back("staging", None, Some(&now), None),
        Err(Refusal::NothingToRollBackTo {
            environment: "staging".into(),
            current: sha('b'),
        })
    );
}

#[test]
fn a_rollback_quotes_the_promotion_texts_for_an_unknown_or_busy_environment() {
    let busy = running();
    let as_promotion = |env: &str| {
        Facts {
            running: Some(busy.clone()),
            ..Facts::ok()
        }
        .check(env)
        .expect_err("refused")
    };
    assert_eq!(
        rolled_back("prod", None, None, None).unwrap_err(),
        as_promotion("prod")
    );
    assert_eq!(
        rolled_back("production", Some(&busy), None, None).unwrap_err(),
        as_promotion("production")
    );
}

fn two_environments() -> Policy {
    crate::policy::parse(b"environments: [staging, production]\n").expect("policy")
}

#[test]
fn a_command_names_an_environment_as_the_policy_spells_it_and_production_by_default() {
    let policy = two_environments();
    assert_eq!(environment_of(&policy, None), "production");
    assert_eq!(environment_of(&policy, Some("Staging")), "staging");
    assert_eq!(
        environment_of(&policy, Some("qa")),
        "qa",
        "kept for the refusal to quote"
    );
}

#[test]
fn a_hold_names_its_environment_first_or_holds_production() {
    let policy = two_environments();
    let split = |text: &str| split_environment(&policy, text);
    assert_eq!(
        split("  STAGING  deploys are broken "),
        ("staging".into(), "deploys are broken".into())
    );
    assert_eq!(split("staging"), ("staging".into(), String::new()));
    assert_eq!(
        split("database migration"),
        ("production".into(), "database migration".into())
    );
    assert_eq!(split(""), ("production".into(), String::new()));
}

#[test]
fn nothing_is_promoted_under_an_invalid_policy() {
    let invalid = PolicyStatus::Invalid("environments: empty".into());
    assert_eq!(
        valid_policy(&invalid).unwrap_err(),
        "nothing can be promoted while `.github/gangway.yml` is invalid: environments: empty"
    );
    let policy = two_environments();
    assert_eq!(
        valid_policy(&PolicyStatus::Valid(policy.clone())),
        Ok(&policy)
    );
}

#[test]
fn every_answer_reads_as_pinned() {
    let noon = 1_767_268_800_000;
    let hold = Hold {
        environment: "staging".into(),
        held_by: "ann".into(),
        reason: Some("incident 7".into()),
        held_at: noon,
    };
    let back = Rollback {
        from: sha('b'),
        to: sha('a'),
    };
    let text = [
        promote_answer(&sha('a'), "production", false),
        promote_answer(&sha('a'), "production", true),
        hold_answer("production", &hold, true),
        hold_answer("staging", &hold, false),
        unhold_answer("staging", &hold),
        rollback_answer("production", &back, None, true),
        rollback_answer("staging", &back, Some(&hold), false),
    ];
    insta::assert_snapshot!(text.join("\n\n"));
}

#[test]
fn only_force_on_a_bad_commit_forces() {
    let bad = BadSha {
        sha: sha('a'),
        environment: "production".into(),
        marked_by: "bob".into(),
        reason: None,
        marked_at: 0,
    };
    assert!(forced(true, Some(&bad)));
    assert!(!forced(true, None), "nothing to force past");
    assert!(!forced(false, Some(&bad)));
}

#[test]
fn promote_needs_a_reported_check_unless_previews_stage_on_open() {
    assert!(promote_needs_checks(&Policy::default()));
    let on_open = crate::policy::parse(b"preview:\n  trigger: on_open\n").expect("policy");
    assert!(!promote_needs_checks(&on_open));
}

#[test]
fn holds_work_under_an_invalid_policy_with_the_default_environments() {
    let invalid = PolicyStatus::Invalid("train: not a map".into());
    assert_eq!(*hold_policy(&invalid), Policy::default());
    let policy = two_environments();
    assert_eq!(
        hold_policy(&PolicyStatus::Valid(policy.clone()))
            .environments
            .names(),
        ["staging", "production"]
    );
}

/// Names and reasons others wrote (an environment named in a command, a hold's reason, check
/// names, a deploy's failure) are escaped in every refusal and answer: as GitHub shows them
/// (the fake's model) nothing is hidden or linked and no one is mentioned but the holder.
#[test]
fn hostile_names_and_reasons_are_escaped_in_every_answer() {
    const NASTY: &str = "x` @octo/team [go](javascript:y) &#64;org/admins <!-- hide";
    let hold = Hold {
        environment: "production".into(),
        held_by: "ann".into(),
        reason: Some(NASTY.into()),
        held_at: 0,
    };
    let bad = BadSha {
        sha: sha('a'),
        environment: "production".into(),
        marked_by: "ann".into(),
        reason: Some(NASTY.into()),
        marked_at: 0,
    };
    let texts = [
        Refusal::Held {
            environment: NASTY.into(),
            hold: Box::new(hold.clone()),
            production: false,
        }
        .to_string(),
        Refusal::UnknownEnvironment {
            name: NASTY.into(),
            known: envs(),
        }
        .to_string(),
        Refusal::Bad {
            environment: NASTY.into(),
            bad: Box::new(bad),
        }
        .to_string(),
        Refusal::ChecksFailed {
            sha: sha('a'),
            failed: vec![(NASTY.into(), NASTY.into())],
        }
        .to_string(),
        Refusal::ChecksPending {
            sha: sha('a'),
            pending: vec![NASTY.into(); 30],
        }
        .to_string(),
        Refusal::PreviewFailed {
            sha: sha('a'),
            detail: Some(NASTY.into()),
        }
        .to_string(),
        hold_answer(NASTY, &hold, false),
        unhold_answer(NASTY, &hold),
        promote_answer(&sha('a'), NASTY, false),
        valid_policy(&PolicyStatus::Invalid(NASTY.into())).unwrap_err(),
    ];
    for t in &texts {
        let shown = fake_github::markdown::shown(t);
        assert!(shown.hidden.is_empty(), "{t}");
        assert!(shown.links.is_empty(), "{t}");
        assert!(shown.mentions.iter().all(|m| m == "ann"), "{t}");
        assert!(t.len() < 2000, "{} bytes: {t}", t.len());
    }
    assert!(texts[4].contains(" and 20 more"), "{}", texts[4]);
}
