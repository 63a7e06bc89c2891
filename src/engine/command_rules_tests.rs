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
    let head = pr(false).head_sha;
    let a = answer(&pr(false), &head, Some(&live), Some(&checks));
    assert_eq!(a.decision, "accepted");
    assert!(a.rocket);
    assert_eq!(a.reason, "approved and staged aaaaaaa (live)");
    assert_eq!(
        a.reply.as_deref(),
        Some(
            "approved commit `aaaaaaa` and deployed it without waiting for checks, as asked; not yet green: `e2e` (pending), `lint` (failure)."
        )
    );
    let green = CheckSummary {
        passed: vec!["build".into()],
        ..CheckSummary::default()
    };
    assert_eq!(
        answer(&pr(false), &head, Some(&live), Some(&green))
            .reply
            .as_deref(),
        Some("approved commit `aaaaaaa` and deployed it.")
    );
}

#[test]
fn a_deploy_that_failed_or_never_happened_is_explained_without_a_rocket() {
    let head = pr(false).head_sha;
    let a = answer(
        &pr(false),
        &head,
        Some(&preview(PreviewState::Failed)),
        None,
    );
    assert!(!a.rocket);
    assert_eq!(
        a.reply.as_deref(),
        Some("approved commit `aaaaaaa`, but it could not be deployed: exit status 1.")
    );
    let a = answer(&pr(false), &head, None, None);
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

/// A commit whose every digit is `n` (1–9), so that short shas differ.
fn c(n: u8) -> CommitSha {
    CommitSha::parse(&n.to_string().repeat(40)).expect("40 hex digits")
}

fn seen(n: u8, at: i64, exact: bool) -> HeadSeen {
    HeadSeen {
        sha: c(n),
        at,
        exact,
    }
}

#[test]
fn the_head_pushed_before_the_comment_is_the_one_approved() {
    let head = c(2);
    let history = [seen(1, 100, true), seen(2, 200, true)];
    assert_eq!(head_at_comment(&head, 201, &history), HeadAtComment::Head);
    assert_eq!(
        stage_target(&head, None, Some(201), &history, false),
        StageTarget::Approve(head.clone())
    );
}

#[test]
fn a_push_after_the_comment_approves_nothing_and_names_both_commits() {
    let head = c(2);
    let history = [seen(1, 100, true), seen(2, 300, true)];
    assert_eq!(
        head_at_comment(&head, 200, &history),
        HeadAtComment::Moved {
            before: Some(c(1)),
            pushed_at: 300
        }
    );
    let StageTarget::Refuse(why) = stage_target(&head, None, Some(200), &history, true) else {
        panic!("a moved head must be refused, even while waiting is allowed");
    };
    assert!(why.contains(c(1).short()), "{why}");
    assert!(why.contains(head.short()), "{why}");
    assert!(why.contains("after your comment"), "{why}");
}

#[test]
fn a_push_in_the_same_second_as_the_comment_cannot_be_ordered_and_approves_nothing() {
    let head = c(2);
    let history = [seen(1, 100, true), seen(2, 200, true)];
    let StageTarget::Refuse(why) = stage_target(&head, None, Some(200), &history, true) else {
        panic!("same second must be refused");
    };
    assert!(why.contains("same second"), "{why}");
}

#[test]
fn an_unseen_push_is_waited_for_then_refused() {
    let head = c(2);
    // Only the old head's push, and a read after the comment that shows the new head.
    let history = [seen(1, 100, true), seen(2, 250, false)];
    assert_eq!(
        head_at_comment(&head, 200, &history),
        HeadAtComment::Unknown
    );
    assert!(matches!(
        stage_target(&head, None, Some(200), &history, true),
        StageTarget::Wait(_)
    ));
    let StageTarget::Refuse(why) = stage_target(&head, None, Some(200), &history, false) else {
        panic!("refused once the wait is over");
    };
    assert!(why.contains("has not arrived"), "{why}");
    assert!(why.contains(&format!("/stage {}", head.short())), "{why}");
    // Never seen at all: the same.
    assert_eq!(head_at_comment(&head, 200, &[]), HeadAtComment::Unknown);
}

#[test]
fn a_read_before_the_comment_is_enough_without_the_push_event() {
    let head = c(2);
    // GitHub said at 150 that the head was 2: it was pushed at 150 or before.
    let history = [seen(1, 100, true), seen(2, 150, false)];
    assert_eq!(head_at_comment(&head, 200, &history), HeadAtComment::Head);
}

#[test]
fn an_old_push_of_a_commit_that_came_back_does_not_count() {
    // 1 at 100, 2 at 150, then 1 again after the comment (its push event lost): the push at
    // 100 says nothing of the head at 200, which was 2.
    let head = c(1);
    let history = [seen(1, 100, true), seen(2, 150, true), seen(1, 260, false)];
    assert_eq!(
        head_at_comment(&head, 200, &history),
        HeadAtComment::Unknown
    );
    let history = [seen(1, 100, true), seen(2, 150, true), seen(1, 210, true)];
    assert_eq!(
        head_at_comment(&head, 200, &history),
        HeadAtComment::Moved {
            before: Some(c(2)),
            pushed_at: 210
        }
    );
}

#[test]
fn commit_dates_play_no_part_only_githubs_times_do() {
    // Nothing but HeadSeen (GitHub's own clock) goes in: there is no commit date to lie with.
    let head = c(2);
    let history = [seen(2, 100, true)];
    assert_eq!(
        stage_target(&head, None, Some(101), &history, false),
        StageTarget::Approve(head.clone())
    );
}

#[test]
fn stage_with_a_sha_approves_exactly_the_head_it_names() {
    let head = c(2);
    let prefix = &head.as_str()[..7];
    // Named: no need for timing, even with nothing seen and no comment time.
    assert_eq!(
        stage_target(&head, Some(prefix), None, &[], false),
        StageTarget::Approve(head.clone())
    );
    assert_eq!(
        stage_target(&head, Some(head.as_str()), None, &[], false),
        StageTarget::Approve(head.clone())
    );
    let other = c(1);
    let StageTarget::Refuse(why) = stage_target(
        &head,
        Some(&other.as_str()[..9]),
        Some(500),
        &[seen(2, 1, true)],
        true,
    ) else {
        panic!("another commit must be refused");
    };
    assert!(why.contains("not this pull request's head"), "{why}");
    assert!(why.contains(head.short()), "{why}");
}

#[test]
fn a_job_without_the_comments_time_approves_nothing_unnamed() {
    let head = c(2);
    assert!(matches!(
        stage_target(&head, None, None, &[seen(2, 1, true)], true),
        StageTarget::Refuse(_)
    ));
}

#[test]
fn an_answer_for_a_commit_no_longer_the_head_says_the_new_one_needs_review() {
    let now = pr(false);
    let older = c(9);
    let a = answer(&now, &older, None, None);
    assert!(!a.rocket);
    let reply = a.reply.unwrap_or_default();
    assert!(reply.contains(older.short()), "{reply}");
    assert!(reply.contains(now.head_sha.short()), "{reply}");
    assert!(reply.contains("needs its own review"), "{reply}");
}

#[test]
fn head_seen_reads_githubs_time_and_refuses_an_unreadable_one() {
    let mut p = pr(false);
    p.gh_updated_at = "2026-12-04T10:00:00Z".into();
    let s = head_seen(&p, true).expect("readable");
    assert_eq!(s.at, 1_796_378_400);
    assert!(s.exact);
    p.gh_updated_at = "yesterday".into();
    assert_eq!(head_seen(&p, false), None);
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
        answer(
            &pr(false),
            &pr(false).head_sha,
            Some(&deployed),
            Some(&checks),
        )
        .reply,
        answer(&pr(false), &pr(false).head_sha, Some(&failed), None).reply,
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

#[test]
fn no_access_means_no_answer_except_help_and_what_anyone_may_run() {
    use Permission::{None as NoAccess, Read, Write};
    // A stranger's /stage, or junk that is no valid command: nothing written.
    assert!(!answers(Some(Command::Stage), Write, NoAccess));
    assert!(!answers(None, Read, NoAccess));
    // /help, and a command the policy opens to anyone, are answered to anyone.
    assert!(answers(Some(Command::Help), NoAccess, NoAccess));
    assert!(answers(Some(Command::Stage), NoAccess, NoAccess));
    // Someone with access is answered, refusals included (they can learn what they need).
    assert!(answers(Some(Command::Stage), Write, Read));
    assert!(answers(None, Read, Read));
}

#[test]
fn replies_to_one_commenter_on_one_pr_are_capped_per_hour() {
    assert!(!quiet(REPLIES_PER_HOUR - 1));
    assert!(quiet(REPLIES_PER_HOUR));
}

#[test]
fn a_stage_button_approves_only_the_commit_its_page_showed() {
    let head = CommitSha::parse(&"b".repeat(40)).unwrap();
    let shown = "a".repeat(40);
    // The page showed A; B was pushed since: nothing is approved, and the refusal names both.
    let StageTarget::Refuse(why) = dashboard_stage_target(&head, Some(&shown)) else {
        panic!("a commit the page never showed was approved");
    };
    insta::assert_snapshot!("dashboard_stage_moved", why);
    // Positive control: the page showed the head.
    assert_eq!(
        dashboard_stage_target(&head, Some(head.as_str())),
        StageTarget::Approve(head.clone())
    );
    assert_eq!(
        dashboard_stage_target(&head, Some(&head.as_str()[..7])),
        StageTarget::Approve(head.clone())
    );
    // No commit sent: refused, never the head by default.
    assert!(matches!(
        dashboard_stage_target(&head, None),
        StageTarget::Refuse(_)
    ));
    assert!(matches!(
        dashboard_stage_target(&head, Some("")),
        StageTarget::Refuse(_)
    ));
}

#[test]
fn dashboard_announcements_name_the_user_the_command_and_the_answer() {
    let stage = crate::engine::commands::invocation("stage", &"c".repeat(40)).unwrap();
    let hold = crate::engine::commands::invocation("hold", "production <b>x</b> @team").unwrap();
    assert_eq!(dashboard_command(&stage), "/stage ccccccc");
    let accepted = dashboard_announcement(
        "maria",
        &dashboard_command(&stage),
        true,
        "approved commit `ccccccc` and deployed it.",
    );
    let refused = dashboard_announcement(
        "reader",
        "/promote production",
        false,
        "`/promote` needs maintain permission on octo/app or more; you have read.",
    );
    let held = dashboard_announcement("boss", &dashboard_command(&hold), true, "held");
    insta::assert_snapshot!(
        "dashboard_announcements",
        format!("{accepted}\n{refused}\n{held}")
    );
    for text in [accepted, refused, held] {
        let shown = fake_github::markdown::shown(&text);
        assert!(shown.hidden.is_empty(), "{text}");
        assert!(shown.mentions.len() <= 1, "{text}");
    }
}
