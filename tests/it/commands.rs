//! Fork safety and the command channel, end to end, including the hostile cases.

use crate::support;

use fake_github::{Fault, PrSpec, Role, UserKind};
use support::world::{REPO, World};

fn fork_pr() -> PrSpec {
    PrSpec::new(REPO, "patch-1", "outsider").from_fork("outsider")
}

fn live(w: &World, sha: &str) -> bool {
    w.fake
        .deployments(REPO)
        .iter()
        .any(|d| d.sha == sha && d.statuses.last().is_some_and(|s| s.state == "success"))
}

fn reactions(w: &World, comment: u64) -> Vec<String> {
    w.fake
        .reactions(comment)
        .into_iter()
        .map(|r| r.content)
        .collect()
}

#[tokio::test]
async fn a_green_fork_pr_waits_for_a_maintainer() {
    let w = World::start().await;
    let pr = w.fake.open_pr(fork_pr()).await.unwrap();
    w.green(REPO, &pr.head_sha).await;
    w.settle().await;
    assert!(
        w.fake.deployments(REPO).is_empty(),
        "a fork was deployed without approval"
    );
    let body = w.sticky_body(REPO, pr.number);
    assert!(
        body.contains("Waiting for approval") && body.contains("**/stage**"),
        "{body}"
    );
    // Positive control: what the sticky asks for deploys it, in the same world.
    w.fake.set_permission(REPO, "maria", Role::Write).unwrap();
    w.fake
        .comment(REPO, pr.number, "maria", "/stage")
        .await
        .unwrap();
    w.until("live after a maintainer's /stage", |f| {
        live_in(f, &pr.head_sha)
    })
    .await;
}

#[tokio::test]
async fn stage_needs_write_and_pins_the_approval_to_the_commit() {
    let w = World::start().await;
    w.fake.set_permission(REPO, "reader", Role::Read).unwrap();
    w.fake.set_permission(REPO, "maria", Role::Write).unwrap();
    let pr = w.fake.open_pr(fork_pr()).await.unwrap();
    w.green(REPO, &pr.head_sha).await;

    let refused = w
        .fake
        .comment(REPO, pr.number, "reader", "/stage")
        .await
        .unwrap();
    w.until("refusal reply", |f| {
        f.comments(REPO, pr.number)
            .iter()
            .any(|c| c.body.contains("needs write permission"))
    })
    .await;
    w.settle().await;
    assert!(w.fake.deployments(REPO).is_empty());
    assert!(
        w.replies(pr.number)[0].contains(
            "@reader `/stage` needs write permission on octo/app or more; you have read."
        )
    );
    assert_eq!(reactions(&w, refused.id), vec!["eyes"]);

    let ok = w
        .fake
        .comment(REPO, pr.number, "maria", "Looks safe to me.\n\n/stage\n")
        .await
        .unwrap();
    w.until("fork preview live", |f| live_in(f, &pr.head_sha))
        .await;
    w.settle().await;
    let d = &w.fake.deployments(REPO)[0];
    assert_eq!(d.sha, pr.head_sha);
    assert_eq!(d.payload["gangway"]["approved_by"]["login"], "maria");
    assert_eq!(d.payload["gangway"]["sha"], pr.head_sha.as_str());
    assert_eq!(d.payload["gangway"]["requested_by"], "maria");
    assert_eq!(reactions(&w, ok.id), vec!["eyes", "rocket"]);
    let body = w.sticky_body(REPO, pr.number);
    assert!(
        body.contains("**Live**") && body.contains("Approved by @maria"),
        "{body}"
    );
    let audit = w
        .app
        .store()
        .audit_of(
            gangway::types::RepoId(w.repo_id),
            gangway::types::PrNumber(pr.number),
        )
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.decision == "refused" && a.reason.contains("you have read")),
        "{audit:?}"
    );
    assert!(
        audit
            .iter()
            .any(|a| a.decision == "accepted" && a.subject.contains("@maria")),
        "{audit:?}"
    );
}

fn live_in(f: &fake_github::FakeGitHub, sha: &str) -> bool {
    f.deployments(REPO)
        .iter()
        .any(|d| d.sha == sha && d.statuses.last().is_some_and(|s| s.state == "success"))
}

#[tokio::test]
async fn a_push_to_an_approved_fork_needs_a_new_approval() {
    let w = World::start().await;
    w.fake.set_permission(REPO, "maria", Role::Write).unwrap();
    let pr = w.fake.open_pr(fork_pr()).await.unwrap();
    w.fake
        .comment(REPO, pr.number, "maria", "/stage")
        .await
        .unwrap();
    w.until("first live", |f| live_in(f, &pr.head_sha)).await;

    let pushed = w.fake.push_pr(REPO, pr.number).await.unwrap();
    w.green(REPO, &pushed.after).await;
    w.settle().await;
    assert!(
        !w.fake
            .deployments(REPO)
            .iter()
            .any(|d| d.sha == pushed.after),
        "new fork commit deployed without approval"
    );
    assert!(
        live(&w, &pr.head_sha),
        "the approved preview stays by default"
    );
    let body = w.sticky_body(REPO, pr.number);
    assert!(body.contains("needs a new **/stage**"), "{body}");

    w.fake
        .comment(REPO, pr.number, "maria", "/stage")
        .await
        .unwrap();
    w.until("second live, first inactive", |f| {
        live_in(f, &pushed.after)
            && f.deployments(REPO).iter().any(|d| {
                d.sha == pr.head_sha && d.statuses.last().is_some_and(|s| s.state == "inactive")
            })
    })
    .await;
}

#[tokio::test]
async fn with_teardown_policy_the_old_fork_preview_goes_on_push() {
    let w = World::start().await;
    w.fake
        .put_file(
            REPO,
            "main",
            ".github/gangway.yml",
            "forks:\n  on_push: teardown\n",
        )
        .unwrap();
    w.fake.set_permission(REPO, "maria", Role::Write).unwrap();
    let pr = w.fake.open_pr(fork_pr()).await.unwrap();
    w.fake
        .comment(REPO, pr.number, "maria", "/stage")
        .await
        .unwrap();
    w.until("live", |f| live_in(f, &pr.head_sha)).await;
    w.fake.push_pr(REPO, pr.number).await.unwrap();
    w.until("old preview torn down", |f| {
        f.deployments(REPO)
            .iter()
            .all(|d| d.statuses.last().is_some_and(|s| s.state == "inactive"))
    })
    .await;
}

#[tokio::test]
async fn stage_in_edits_code_quotes_or_from_bots_runs_nothing() {
    let w = World::start().await;
    w.fake.set_permission(REPO, "maria", Role::Admin).unwrap();
    w.fake.add_user("ci-bot[bot]", UserKind::Bot);
    w.fake
        .set_permission(REPO, "ci-bot[bot]", Role::Admin)
        .unwrap();
    let pr = w.fake.open_pr(fork_pr()).await.unwrap();
    let harmless = w
        .fake
        .comment(REPO, pr.number, "maria", "I will look at it later")
        .await
        .unwrap();
    w.fake
        .edit_comment(REPO, harmless.id, "/stage")
        .await
        .unwrap();
    w.fake
        .comment(
            REPO,
            pr.number,
            "maria",
            "To deploy, write:\n```\n/stage\n```",
        )
        .await
        .unwrap();
    w.fake
        .comment(REPO, pr.number, "maria", "~~~md\n/stage\n~~~")
        .await
        .unwrap();
    w.fake
        .comment(
            REPO,
            pr.number,
            "maria",
            "> /stage\n\nsomeone asked this above",
        )
        .await
        .unwrap();
    w.fake
        .comment(REPO, pr.number, "maria", "please run `/stage` when ready")
        .await
        .unwrap();
    w.fake
        .comment(REPO, pr.number, "ci-bot[bot]", "/stage")
        .await
        .unwrap();
    // Gangway's own account: a comment posted through the App (like its sticky comment).
    let own = serde_json::json!({
        "action": "created",
        "issue": {"number": pr.number, "pull_request": {"url": "x"}},
        "comment": {"id": 777, "body": "/stage", "user": {"login": "gangway[bot]", "id": 1, "type": "Bot"},
                    "performed_via_github_app": {"id": support::APP_ID, "slug": "gangway"}},
        "repository": {"id": w.repo_id, "name": "app", "full_name": REPO, "default_branch": "main"},
        "installation": {"id": 1},
        "sender": {"login": "gangway[bot]", "id": 1, "type": "Bot"}
    });
    assert!(w.fake.send_event("issue_comment", own).await.ok());
    w.settle().await;
    assert!(w.fake.deployments(REPO).is_empty(), "a non-command ran");
    assert!(
        w.replies(pr.number).is_empty(),
        "{:?}",
        w.replies(pr.number)
    );
    let deleted = w
        .fake
        .comment(REPO, pr.number, "maria", "nothing")
        .await
        .unwrap();
    w.fake.delete_comment(REPO, deleted.id).await.unwrap();
    w.settle().await;
    assert!(w.fake.deployments(REPO).is_empty());
    // Positive control: the same maintainer's plain `/stage` does run, in the same world.
    w.fake
        .comment(REPO, pr.number, "maria", "/stage")
        .await
        .unwrap();
    w.until("live after a plain /stage", |f| live_in(f, &pr.head_sha))
        .await;
    assert_eq!(w.fake.deployments(REPO).len(), 1);
}

#[tokio::test]
async fn a_deleted_fork_is_still_a_fork_and_stage_explains_an_unfetchable_commit() {
    let w = World::start().await;
    w.fake.set_permission(REPO, "maria", Role::Write).unwrap();
    let pr = w.fake.open_pr(fork_pr()).await.unwrap();
    w.fake.delete_fork("outsider/app").unwrap();
    w.fake.push_pr(REPO, pr.number).await.ok();
    w.green(REPO, &pr.head_sha).await;
    w.settle().await;
    assert!(w.fake.deployments(REPO).is_empty());
    // GitHub refuses to deploy a commit it can no longer resolve.
    w.fake.inject(
        Fault::status(422)
            .on("POST", "/repos/octo/app/deployments")
            .always(),
    );
    w.fake
        .comment(REPO, pr.number, "maria", "/stage")
        .await
        .unwrap();
    w.until("explanation", |f| {
        f.comments(REPO, pr.number)
            .iter()
            .any(|c| c.body.contains("could not be deployed"))
    })
    .await;
    let reply = w.replies(pr.number).join("\n");
    assert!(reply.contains("fork was deleted"), "{reply}");
}

#[tokio::test]
async fn a_flaky_permission_api_is_retried_and_unknown_users_have_none() {
    let w = World::start().await;
    w.fake.set_permission(REPO, "maria", Role::Write).unwrap();
    let pr = w.fake.open_pr(fork_pr()).await.unwrap();
    w.fake.inject(
        Fault::status(502)
            .on("GET", "/repos/octo/app/collaborators")
            .times(2),
    );
    w.fake
        .comment(REPO, pr.number, "maria", "/stage")
        .await
        .unwrap();
    w.until("deployed despite two 502s", |f| live_in(f, &pr.head_sha))
        .await;
    w.settle().await;
    // One answer, naming the approved commit, however many attempts it took.
    assert_eq!(
        w.replies(pr.number),
        vec![format!(
            "@maria approved commit `{}` and deployed it.",
            &pr.head_sha[..7]
        )]
    );

    let pr2 = w
        .fake
        .open_pr(PrSpec::new(REPO, "other", "outsider2").from_fork("outsider2"))
        .await
        .unwrap();
    // A reader is told what it takes (someone with no access is not answered at all: junk.rs).
    w.fake.set_permission(REPO, "rita", Role::Read).unwrap();
    w.fake
        .comment(REPO, pr2.number, "rita", "/stage")
        .await
        .unwrap();
    w.until("refusal", |f| {
        f.comments(REPO, pr2.number)
            .iter()
            .any(|c| c.body.contains("you have read"))
    })
    .await;
}

#[tokio::test]
async fn same_repo_stage_deploys_now_and_names_pending_checks() {
    let w = World::start().await;
    w.fake
        .set_permission(REPO, "maria", Role::Maintain)
        .unwrap();
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    w.fake
        .add_check_run(REPO, &pr.head_sha, "slow-e2e", "in_progress", None)
        .unwrap();
    w.fake
        .comment(REPO, pr.number, "maria", "/stage")
        .await
        .unwrap();
    w.until("live without checks", |f| live_in(f, &pr.head_sha))
        .await;
    w.until("reply naming the pending check", |f| {
        f.comments(REPO, pr.number)
            .iter()
            .any(|c| c.body.contains("`slow-e2e` (pending)"))
    })
    .await;
}

#[tokio::test]
async fn unstage_tears_down_and_pauses_until_stage() {
    let w = World::start().await;
    w.fake.set_permission(REPO, "maria", Role::Write).unwrap();
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    w.green(REPO, &pr.head_sha).await;
    w.until("live", |f| live_in(f, &pr.head_sha)).await;
    let c = w
        .fake
        .comment(REPO, pr.number, "maria", "/unstage")
        .await
        .unwrap();
    w.until("inactive", |f| {
        f.deployments(REPO)
            .iter()
            .all(|d| d.statuses.last().is_some_and(|s| s.state == "inactive"))
    })
    .await;
    w.settle().await;
    assert_eq!(reactions(&w, c.id), vec!["eyes", "rocket"]);
    // Checks re-run green: still paused.
    w.green(REPO, &pr.head_sha).await;
    w.settle().await;
    assert!(!live(&w, &pr.head_sha));
    let body = w.sticky_body(REPO, pr.number);
    assert!(
        // The teardown's reason is shown as text: its `@` mentions no one a second time.
        body.contains("Paused by @maria") && body.contains("unstaged by @\u{200b}maria"),
        "{body}"
    );
    w.fake
        .comment(REPO, pr.number, "maria", "/stage")
        .await
        .unwrap();
    w.until("live again", |f| live_in(f, &pr.head_sha)).await;
    assert_eq!(
        w.fake.deployments(REPO).len(),
        1,
        "the same deployment is reused for the same commit"
    );
}

#[tokio::test]
async fn help_and_unknown_commands_get_useful_replies() {
    let w = World::start().await;
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    w.fake
        .comment(REPO, pr.number, "anyone", "/help")
        .await
        .unwrap();
    w.until("help", |f| {
        f.comments(REPO, pr.number)
            .iter()
            .any(|c| c.body.contains("Gangway commands"))
    })
    .await;
    // A typo is answered to someone with access (no access: no answer, see junk.rs).
    w.fake.set_permission(REPO, "anyone", Role::Read).unwrap();
    w.fake
        .comment(REPO, pr.number, "anyone", "/stgae")
        .await
        .unwrap();
    w.until("suggestion", |f| {
        f.comments(REPO, pr.number)
            .iter()
            .any(|c| c.body.contains("did you mean `/stage`"))
    })
    .await;
    w.settle().await;
    let all = w.replies(pr.number).join("\n---\n");
    assert!(
        all.contains("`/stage`") && all.contains("write access or more"),
        "{all}"
    );
    for reply in w.replies(pr.number) {
        for line in reply.lines() {
            assert!(
                !line.trim_start().starts_with('/'),
                "a reply line starts with a command: {line:?}"
            );
        }
    }
    assert!(w.fake.deployments(REPO).is_empty());
}
