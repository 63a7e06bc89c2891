use super::*;
use crate::engine::Gate;
use crate::engine::test_fixtures;
use crate::model::DriverKind;
use crate::types::{CommitSha, PrNumber, RepoId};

const SHA: &str = "c0ffee0000000000000000000000000000000001";

fn pr() -> PullRequest {
    PullRequest {
        head_ref: "f".into(),
        author: "a".into(),
        gh_updated_at: String::new(),
        ..test_fixtures::pr(CommitSha::parse(SHA).unwrap())
    }
}

fn preview(state: PreviewState) -> Preview {
    Preview {
        id: 1,
        repo_id: RepoId(1),
        pr_number: PrNumber(7),
        sha: CommitSha::parse(SHA).unwrap(),
        environment: "pr-7".into(),
        host: format!("{SHA}.staging.example.org"),
        driver: DriverKind::Command,
        deployment_id: Some(5),
        create_attempted: true,
        adopted: false,
        state,
        last_status: None,
        environment_url: None,
        detail: Some("exit 3".into()),
        log_token: "t0k".into(),
        requested_by: "gangway".into(),
        created_at: 0,
        deployed_at: None,
        torn_down_at: None,
        teardown_kind: None,
    }
}

fn body(gate: Gate, previews: &[Preview]) -> String {
    let commands = command_help(None);
    render(&StickyInput {
        pr: &pr(),
        gate: &gate,
        previews,
        approval: None,
        expires_at_ms: None,
        public_url: "https://gw.example.org/",
        commands: &commands,
        holds: &[],
        targets: &[],
        team: None,
    })
}

#[test]
fn live_shows_the_link_commit_and_log() {
    let b = body(Gate::Ready, &[preview(PreviewState::Live)]);
    assert!(b.starts_with(MARKER));
    assert!(
        b.contains(&format!("https://{SHA}.staging.example.org")),
        "{b}"
    );
    assert!(b.contains("`c0ffee0`"));
    assert!(b.contains("(https://gw.example.org/logs/t0k)"));
    assert!(b.contains("**Live**"));
}

#[test]
fn each_state_says_what_is_happening() {
    let cases = [
        (
            body(Gate::WaitingForChecks(vec!["build".into()]), &[]),
            "Waiting for checks",
        ),
        (body(Gate::NoChecks, &[]), "none has reported yet"),
        (
            body(
                Gate::ChecksFailed(vec![("test".into(), "failure".into())]),
                &[],
            ),
            "`test` (failure)",
        ),
        (
            body(Gate::Ready, &[preview(PreviewState::Deploying)]),
            "**Deploying**",
        ),
        (
            body(Gate::Ready, &[preview(PreviewState::Failed)]),
            "**Deploy failed** for commit `c0ffee0`: exit 3",
        ),
        (body(Gate::Draft, &[]), "**Draft**"),
        (
            body(
                Gate::Fork {
                    previously_approved: None,
                },
                &[],
            ),
            "comments **/stage**",
        ),
        (
            body(
                Gate::Fork {
                    previously_approved: Some(CommitSha::parse(&"a".repeat(40)).unwrap()),
                },
                &[],
            ),
            "approved `aaaaaaa`",
        ),
        (
            body(Gate::Unstaged("maria".into()), &[]),
            "@maria took the preview down",
        ),
        (body(Gate::Ready, &[]), "- `/stage [commit]`: "),
        (
            body(Gate::PolicyInvalid("preview.trigger at line 2".into()), &[]),
            "> preview.trigger at line 2",
        ),
        (
            body(Gate::Closed, &[preview(PreviewState::TornDown)]),
            "**Torn down**",
        ),
    ];
    for (b, want) in cases {
        assert!(b.contains(want), "missing {want:?} in:\n{b}");
    }
}

#[test]
fn no_line_ever_starts_with_a_command() {
    let hostile = Gate::PolicyInvalid("line one\n/stage\n  /promote production".into());
    for gate in [
        Gate::Fork {
            previously_approved: None,
        },
        Gate::Ready,
        hostile,
        Gate::ChecksFailed(vec![("/stage".into(), "failure".into())]),
    ] {
        let b = body(gate, &[]);
        for line in b.lines() {
            assert!(
                !line.trim_start().starts_with('/'),
                "line starts with a command: {line:?}\n{b}"
            );
        }
    }
}

#[test]
fn holds_show_who_why_and_how_to_lift_them() {
    let commands = command_help(None);
    let holds = [crate::model::Hold {
        environment: "production".into(),
        held_by: "ann".into(),
        reason: Some("incident 7".into()),
        held_at: 0,
    }];
    let b = render(&StickyInput {
        pr: &pr(),
        gate: &Gate::Ready,
        previews: &[],
        approval: None,
        expires_at_ms: None,
        public_url: "https://gw.example.org/",
        commands: &commands,
        holds: &holds,
        targets: &[],
        team: None,
    });
    assert!(b.contains("**production is held** by @ann"), "{b}");
    assert!(b.contains("incident 7") && b.contains("**/unhold**"), "{b}");
    assert!(b.lines().all(|l| !l.trim_start().starts_with('/')), "{b}");
}

#[test]
fn a_comment_is_created_only_when_it_has_news() {
    let ready = pr();
    let waiting = Gate::WaitingForChecks(vec!["test".into()]);
    assert!(!worth_creating(&ready, &waiting, &[]));
    assert!(!worth_creating(
        &ready,
        &Gate::WaitingForChecks(Vec::new()),
        &[]
    ));
    assert!(!worth_creating(&ready, &Gate::Closed, &[]));
    // Something a user does not already see on GitHub.
    for gate in [
        Gate::ChecksFailed(vec![("test".into(), "failure".into())]),
        Gate::PolicyInvalid("bad".into()),
        Gate::Draft,
        Gate::Fork {
            previously_approved: None,
        },
        Gate::Unstaged("ann".into()),
        Gate::NoChecks,
        Gate::Ready,
    ] {
        assert!(worth_creating(&ready, &gate, &[]), "{gate:?}");
    }
    // A preview, whatever its state, is news.
    assert!(worth_creating(
        &ready,
        &waiting,
        &[preview(PreviewState::Deploying)]
    ));
    assert!(worth_creating(
        &ready,
        &Gate::Closed,
        &[preview(PreviewState::Live)]
    ));
    // Waiting means more on a fork or a draft (approval, drafts-allowed policy).
    let fork = PullRequest {
        is_fork: true,
        ..pr()
    };
    assert!(worth_creating(&fork, &waiting, &[]));
    let draft = PullRequest {
        draft: true,
        ..pr()
    };
    assert!(worth_creating(&draft, &waiting, &[]));
}

/// The whole comment a reviewer reads, in each main state, pinned word for word: a change to
/// the wording shows in review as a changed snapshot (`src/engine/snapshots/`).
#[test]
fn each_main_state_reads_as_pinned() {
    let commands = command_help(None);
    let other = CommitSha::parse(&"b".repeat(40)).unwrap();
    let older_live = Preview {
        sha: other.clone(),
        host: format!("{other}.staging.example.org"),
        ..preview(PreviewState::Live)
    };
    let approval = Approval {
        sha: CommitSha::parse(SHA).unwrap(),
        approver: "maria".into(),
        permission: "write".into(),
        comment_url: "https://github.com/o/r/pull/7#issuecomment-1".into(),
        approved_at: 0,
    };
    let hold = crate::model::Hold {
        environment: "production".into(),
        held_by: "ann".into(),
        reason: Some("incident 7".into()),
        held_at: 1_767_268_800_000,
    };
    let unstaged = Preview {
        teardown_kind: Some(crate::model::TeardownKind::Unstaged),
        detail: Some("unstaged by @maria".into()),
        ..preview(PreviewState::TornDown)
    };
    let closed = PullRequest {
        open: false,
        merged: true,
        ..pr()
    };
    let fork = PullRequest {
        is_fork: true,
        ..pr()
    };
    let bot = PullRequest {
        author: "dependabot[bot]".into(),
        author_bot: true,
        ..pr()
    };
    struct Case<'a> {
        name: &'a str,
        pr: &'a PullRequest,
        gate: Gate,
        previews: Vec<Preview>,
        approval: Option<&'a Approval>,
        expires_at_ms: Option<i64>,
        holds: Vec<crate::model::Hold>,
    }
    let base = pr();
    let case = |name, gate, previews| Case {
        name,
        pr: &base,
        gate,
        previews,
        approval: None,
        expires_at_ms: None,
        holds: Vec::new(),
    };
    let cases = [
        case(
            "waiting_for_checks",
            Gate::WaitingForChecks(vec!["build".into(), "lint".into()]),
            vec![],
        ),
        case("no_checks", Gate::NoChecks, vec![]),
        case(
            "checks_failed",
            Gate::ChecksFailed(vec![("test".into(), "failure".into())]),
            vec![],
        ),
        case("draft", Gate::Draft, vec![]),
        case(
            "policy_invalid",
            Gate::PolicyInvalid("preview.trigger: unknown variant `sometimes`".into()),
            vec![],
        ),
        Case {
            pr: &fork,
            ..case(
                "fork_waiting_for_approval",
                Gate::Fork {
                    previously_approved: None,
                },
                vec![],
            )
        },
        Case {
            pr: &fork,
            ..case(
                "fork_pushed_after_approval",
                Gate::Fork {
                    previously_approved: Some(other.clone()),
                },
                vec![],
            )
        },
        Case {
            pr: &bot,
            ..case(
                "bot_waiting_for_approval",
                Gate::Bot {
                    previously_approved: None,
                },
                vec![],
            )
        },
        Case {
            pr: &bot,
            ..case(
                "bot_pushed_after_approval",
                Gate::Bot {
                    previously_approved: Some(other.clone()),
                },
                vec![],
            )
        },
        case(
            "deploying",
            Gate::Ready,
            vec![preview(PreviewState::Deploying)],
        ),
        case(
            "deploying_while_the_previous_one_serves",
            Gate::Ready,
            vec![preview(PreviewState::Deploying), older_live],
        ),
        Case {
            approval: Some(&approval),
            expires_at_ms: Some(1_767_441_600_000),
            ..case("live", Gate::Ready, vec![preview(PreviewState::Live)])
        },
        Case {
            holds: vec![hold],
            ..case(
                "live_with_production_held",
                Gate::Ready,
                vec![preview(PreviewState::Live)],
            )
        },
        case(
            "deploy_failed",
            Gate::Ready,
            vec![preview(PreviewState::Failed)],
        ),
        case("unstaged", Gate::Unstaged("maria".into()), vec![unstaged]),
        case(
            "paused_before_any_preview",
            Gate::Unstaged("maria".into()),
            vec![],
        ),
        Case {
            pr: &closed,
            ..case(
                "merged_tearing_down",
                Gate::Closed,
                vec![preview(PreviewState::TearingDown)],
            )
        },
        Case {
            pr: &closed,
            ..case(
                "merged_torn_down",
                Gate::Closed,
                vec![preview(PreviewState::TornDown)],
            )
        },
    ];
    for c in cases {
        // The commands section is the same in every state: pinned twice, not in every snapshot.
        let help = matches!(c.name, "live" | "fork_waiting_for_approval");
        let body = render(&StickyInput {
            pr: c.pr,
            gate: &c.gate,
            previews: &c.previews,
            approval: c.approval,
            expires_at_ms: c.expires_at_ms,
            public_url: "https://gw.example.org/",
            commands: if help { &commands } else { &[] },
            holds: &c.holds,
            targets: &[],
            team: None,
        });
        insta::assert_snapshot!(c.name, body);
    }
}

/// Text Gangway did not write, as an attacker would write it, in every place the comment shows
/// such text: check names, a deployer's failure description and URL, a hold's environment and
/// reason, a policy error. Pinned as a snapshot: every piece is a code span, escaped prose or a
/// plain link, and the rest of the comment follows intact.
#[test]
fn hostile_text_reads_as_pinned() {
    const NASTY: &str = "x` **@octo/team** [go](javascript:alert(1)) &#64;org/admins\n<!-- hide";
    let commands = command_help(None);
    let hold = crate::model::Hold {
        environment: "prod <!--".into(),
        held_by: "ann".into(),
        reason: Some(format!("{NASTY} -->")),
        held_at: 1_767_268_800_000,
    };
    let failed = Preview {
        detail: Some(NASTY.into()),
        ..preview(PreviewState::Failed)
    };
    let live = Preview {
        environment_url: Some("javascript:alert(1)//@octo/team".into()),
        sha: CommitSha::parse(&"b".repeat(40)).unwrap(),
        ..preview(PreviewState::Live)
    };
    let render_with = |gate: Gate, previews: &[Preview]| {
        render(&StickyInput {
            pr: &pr(),
            gate: &gate,
            previews,
            approval: None,
            expires_at_ms: None,
            public_url: "https://gw.example.org/",
            commands: &commands,
            holds: std::slice::from_ref(&hold),
            targets: &[],
            team: None,
        })
    };
    let bodies = [
        render_with(
            Gate::ChecksFailed(vec![
                (NASTY.into(), "failure".into()),
                ("y".repeat(500), "timed_out <!--".into()),
            ]),
            &[],
        ),
        render_with(Gate::WaitingForChecks(vec![NASTY.into()]), &[]),
        render_with(Gate::Ready, &[failed, live]),
        render_with(Gate::PolicyInvalid(format!("line\n{NASTY}\n# head")), &[]),
    ];
    for b in &bodies {
        // As GitHub shows it (the fake's model): only the marker hidden, no mention but the
        // holder's, no link but the deploy log, the commands section still there.
        let shown = fake_github::markdown::shown(b);
        assert_eq!(shown.hidden, [" gangway:sticky "], "{b}");
        assert_eq!(shown.mentions, ["ann"], "the holder only, in:\n{b}");
        assert!(
            shown.links.iter().all(|(label, _)| label == "deploy log"),
            "{:?} in:\n{b}",
            shown.links
        );
        assert!(shown.text.contains("Commands"), "the rest is gone:\n{b}");
        assert!(b.len() < 4000, "{} bytes", b.len());
    }
    insta::assert_snapshot!("hostile_text", bodies.join("\n\n======\n\n"));
}
