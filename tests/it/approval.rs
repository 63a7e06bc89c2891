//! `/stage` approves the commit a maintainer saw, never a later push: written as the attacks a
//! fork author would try (a push right after the comment, a push between a failed attempt and
//! its retry, a push whose event GitHub has not delivered yet), each with a positive control.

use std::sync::Arc;
use std::time::Duration;

use crate::support;

use fake_github::{Fault, FaultKind, PrSpec, Role, WebhookTarget};
use gangway::clock::ManualClock;
use gangway::types::{PrNumber, RepoId};
use support::world::{REPO, World};

fn fork_pr() -> PrSpec {
    PrSpec::new(REPO, "patch-1", "outsider").from_fork("outsider")
}

fn deployed_shas(w: &World) -> Vec<String> {
    w.fake
        .deployments(REPO)
        .into_iter()
        .map(|d| d.sha)
        .collect()
}

async fn approvals(w: &World, number: u64) -> Vec<String> {
    w.app
        .store()
        .approvals_of(RepoId(w.repo_id), PrNumber(number))
        .await
        .expect("approvals")
        .into_iter()
        .map(|a| a.sha.as_str().to_owned())
        .collect()
}

fn short(sha: &str) -> &str {
    &sha[..7]
}

fn reconnect(w: &World) {
    w.fake.set_webhook(Some(WebhookTarget::new(
        format!("http://{}/webhooks", w.app.addr),
        support::SECRET,
    )));
}

#[tokio::test]
async fn a_fork_push_landing_while_stage_is_handled_deploys_nothing_unreviewed() {
    let w = World::start().await;
    w.fake.set_permission(REPO, "maria", Role::Write).unwrap();
    let pr = w.fake.open_pr(fork_pr()).await.unwrap();
    w.settle().await;
    // The command job is slow to read the PR: the fork author pushes meanwhile, right after
    // the maintainer's comment.
    w.fake.inject(
        Fault::new(FaultKind::Latency(Duration::from_millis(1500)))
            .on("GET", &format!("/repos/{REPO}/pulls/{}", pr.number)),
    );
    w.fake
        .comment(REPO, pr.number, "maria", "/stage")
        .await
        .unwrap();
    let pushed = w.fake.push_pr(REPO, pr.number).await.unwrap();
    w.settle().await;

    assert!(deployed_shas(&w).is_empty(), "{:?}", deployed_shas(&w));
    assert!(approvals(&w, pr.number).await.is_empty());
    let reply = w.replies(pr.number).join("\n");
    assert!(
        reply.contains("the head moved after your comment"),
        "{reply}"
    );
    assert!(reply.contains(short(&pr.head_sha)), "{reply}");
    assert!(reply.contains(short(&pushed.after)), "{reply}");
    assert!(
        w.sticky_body(REPO, pr.number)
            .contains("Waiting for approval"),
        "{}",
        w.sticky_body(REPO, pr.number)
    );

    // Positive control: a new /stage, written after the push, approves and deploys it.
    w.fake
        .comment(REPO, pr.number, "maria", "/stage")
        .await
        .unwrap();
    w.settle().await;
    assert_eq!(deployed_shas(&w), vec![pushed.after.clone()]);
    assert_eq!(approvals(&w, pr.number).await, vec![pushed.after.clone()]);
    let d = w.fake.deployments(REPO).remove(0);
    assert_eq!(
        d.payload["gangway"]["approved_by"]["sha"],
        pushed.after.as_str()
    );
    assert_eq!(d.payload["gangway"]["approved_by"]["login"], "maria");
}

#[tokio::test]
async fn a_stage_retried_after_a_push_never_approves_the_newer_commit() {
    let w = World::start().await;
    w.fake.set_permission(REPO, "maria", Role::Write).unwrap();
    let pr = w.fake.open_pr(fork_pr()).await.unwrap();
    w.settle().await;
    // The first attempt decides, deploys, and then cannot post its reply (GitHub answers 502):
    // the command job is retried, and the fork pushes before the retry.
    let comments = format!("/repos/{REPO}/issues/{}/comments", pr.number);
    let posted_before = w.fake.count_calls("POST", &comments);
    w.fake
        .inject(Fault::status(502).on("POST", &comments).always());
    w.fake
        .comment(REPO, pr.number, "maria", "/stage")
        .await
        .unwrap();
    support::wait_for("a failed reply", Duration::from_secs(30), || {
        let n = w.fake.count_calls("POST", &comments);
        async move { (n > posted_before).then_some(()) }
    })
    .await;
    let pushed = w.fake.push_pr(REPO, pr.number).await.unwrap();
    w.fake.clear_faults();
    w.settle().await;

    assert!(
        !deployed_shas(&w).contains(&pushed.after),
        "{:?}",
        deployed_shas(&w)
    );
    assert_eq!(approvals(&w, pr.number).await, vec![pr.head_sha.clone()]);
    let reply = w.replies(pr.number).join("\n");
    assert!(reply.contains("needs its own review"), "{reply}");
    assert!(reply.contains(short(&pr.head_sha)), "{reply}");
    assert!(reply.contains(short(&pushed.after)), "{reply}");

    // Positive control: `/stage <sha>` of the new head approves exactly it.
    w.fake
        .comment(
            REPO,
            pr.number,
            "maria",
            &format!("/stage {}", short(&pushed.after)),
        )
        .await
        .unwrap();
    w.settle().await;
    assert!(deployed_shas(&w).contains(&pushed.after));
}

/// Timer loops tick once at start, then only when the test says so.
const QUIET: &[(&str, &str)] = &[("GANGWAY_TIMER_TICK_MS", "3600000")];

/// A fork PR whose maintainer comments `/stage` on head A, after which the fork pushes B while
/// GitHub's webhooks do not reach Gangway; the comment is then redelivered alone. Returns the
/// world, its clock, the PR number, A, and B's synchronize delivery guid.
async fn comment_then_unseen_push() -> (World, ManualClock, u64, String, String, String) {
    let clock = ManualClock::new(chrono::Utc::now().timestamp_millis());
    let w = World::start_clocked("", "", QUIET, Arc::new(clock.clone())).await;
    w.fake.set_permission(REPO, "maria", Role::Write).unwrap();
    let pr = w.fake.open_pr(fork_pr()).await.unwrap();
    w.settle_due().await;
    w.fake.set_webhook(None);
    let comment = w
        .fake
        .comment(REPO, pr.number, "maria", "/stage")
        .await
        .unwrap();
    let pushed = w.fake.push_pr(REPO, pr.number).await.unwrap();
    reconnect(&w);
    assert!(w.fake.redeliver(&comment.delivery.guid).await.unwrap().ok());
    w.settle_due().await;
    (
        w,
        clock,
        pr.number,
        pr.head_sha,
        pushed.after,
        pushed.delivery.guid,
    )
}

#[tokio::test]
async fn stage_waits_for_a_push_event_it_cannot_place_and_refuses_when_it_never_comes() {
    let (w, clock, number, _a, b, _) = comment_then_unseen_push().await;
    // Waiting: nothing approved, nothing said yet.
    assert!(deployed_shas(&w).is_empty());
    assert!(w.replies(number).is_empty(), "{:?}", w.replies(number));
    // A little later the event still has not come: still waiting.
    clock.advance_ms(30_000);
    w.settle_due().await;
    assert!(w.replies(number).is_empty(), "{:?}", w.replies(number));
    // The bounded wait ends: refused, with the reason and the way out.
    clock.advance_ms(100_000);
    w.settle_due().await;
    let reply = w.replies(number).join("\n");
    assert!(reply.contains("has not arrived"), "{reply}");
    assert!(reply.contains(&format!("/stage {}", short(&b))), "{reply}");
    assert!(deployed_shas(&w).is_empty());
    assert!(approvals(&w, number).await.is_empty());

    // Positive control: the way out the reply names works.
    w.fake
        .comment(REPO, number, "maria", &format!("/stage {}", short(&b)))
        .await
        .unwrap();
    w.settle_due().await;
    assert_eq!(deployed_shas(&w), vec![b.clone()]);
}

#[tokio::test]
async fn stage_waiting_for_a_push_event_refuses_once_it_shows_the_push_came_after() {
    let (w, clock, number, a, b, sync) = comment_then_unseen_push().await;
    assert!(w.replies(number).is_empty(), "{:?}", w.replies(number));
    // The push's event arrives during the wait: the push came after the comment.
    assert!(w.fake.redeliver(&sync).await.unwrap().ok());
    clock.advance_ms(10_000);
    w.settle_due().await;
    let reply = w.replies(number).join("\n");
    assert!(
        reply.contains("the head moved after your comment"),
        "{reply}"
    );
    assert!(reply.contains(short(&a)), "{reply}");
    assert!(reply.contains(short(&b)), "{reply}");
    assert!(deployed_shas(&w).is_empty());
    assert!(approvals(&w, number).await.is_empty());
}

#[tokio::test]
async fn stage_with_a_sha_that_is_not_the_head_approves_nothing() {
    let w = World::start().await;
    w.fake.set_permission(REPO, "maria", Role::Write).unwrap();
    let pr = w.fake.open_pr(fork_pr()).await.unwrap();
    let pushed = w.fake.push_pr(REPO, pr.number).await.unwrap();
    w.settle().await;
    // The maintainer names the commit they reviewed, which is no longer the head.
    w.fake
        .comment(
            REPO,
            pr.number,
            "maria",
            &format!("/stage {}", short(&pr.head_sha)),
        )
        .await
        .unwrap();
    w.settle().await;
    let reply = w.replies(pr.number).join("\n");
    assert!(reply.contains("not this pull request's head"), "{reply}");
    assert!(reply.contains(short(&pushed.after)), "{reply}");
    assert!(deployed_shas(&w).is_empty());
    assert!(approvals(&w, pr.number).await.is_empty());

    // Positive control: a plain /stage now (the push long before it) approves the head, and
    // says which commit it approved.
    w.fake
        .comment(REPO, pr.number, "maria", "/stage")
        .await
        .unwrap();
    w.settle().await;
    assert_eq!(deployed_shas(&w), vec![pushed.after.clone()]);
    let reply = w.replies(pr.number).join("\n");
    assert!(
        reply.contains(&format!("approved commit `{}`", short(&pushed.after))),
        "{reply}"
    );
}
