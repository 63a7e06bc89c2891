//! Anyone can comment, and every answer is a write against the installation's budget: Gangway
//! reads the commenter's permission before it writes anything, answers no one without access,
//! and caps its replies to one commenter on one pull request. Written as the attack: a flood of
//! junk command comments, under GitHub's secondary limits, must not delay a deployment.

use crate::support;

use fake_github::{PrSpec, Role, SecondaryLimits};
use gangway::types::{PrNumber, RepoId};
use support::world::{REPO, World};

fn fork_pr() -> PrSpec {
    PrSpec::new(REPO, "patch-1", "outsider").from_fork("outsider")
}

fn live(f: &fake_github::FakeGitHub, sha: &str) -> bool {
    f.deployments(REPO)
        .iter()
        .any(|d| d.sha == sha && d.statuses.last().is_some_and(|s| s.state == "success"))
}

/// Content-creating calls Gangway made on GitHub (what secondary limits count).
fn writes(w: &World) -> usize {
    w.fake
        .calls()
        .iter()
        .filter(|c| c.method != "GET" && !c.path.ends_with("/access_tokens"))
        .count()
}

#[tokio::test]
async fn a_commenter_with_no_access_gets_no_reaction_and_no_reply() {
    let w = World::start().await;
    w.fake.set_permission(REPO, "maria", Role::Write).unwrap();
    let pr = w.fake.open_pr(fork_pr()).await.unwrap();
    w.settle().await;
    let before = writes(&w);
    let mut junk = Vec::new();
    for body in [
        "/stage",
        "/deploy now",
        "/promote production",
        "/stage\n/help",
    ] {
        junk.push(
            w.fake
                .comment(REPO, pr.number, "stranger", body)
                .await
                .unwrap()
                .id,
        );
    }
    w.settle().await;
    assert_eq!(writes(&w), before, "{:?}", w.fake.calls());
    for id in &junk {
        assert!(w.fake.reactions(*id).is_empty());
    }
    assert!(
        w.replies(pr.number).is_empty(),
        "{:?}",
        w.replies(pr.number)
    );
    assert!(w.fake.deployments(REPO).is_empty());
    // The audit trail keeps every refusal.
    let audit = w
        .app
        .store()
        .audit_of(RepoId(w.repo_id), PrNumber(pr.number))
        .await
        .unwrap();
    let ignored = audit
        .iter()
        .filter(|a| a.decision == "ignored" && a.reason.contains("no access"))
        .count();
    assert_eq!(ignored, junk.len(), "{audit:?}");

    // Positive controls: /help is answered to anyone, and a writer's /stage is acknowledged
    // and deploys.
    w.fake
        .comment(REPO, pr.number, "stranger", "/help")
        .await
        .unwrap();
    let stage = w
        .fake
        .comment(REPO, pr.number, "maria", "/stage")
        .await
        .unwrap();
    w.settle().await;
    assert!(
        w.replies(pr.number)
            .iter()
            .any(|r| r.contains("Gangway commands"))
    );
    assert!(
        w.fake
            .reactions(stage.id)
            .iter()
            .any(|r| r.content == "eyes")
    );
    assert!(live(&w.fake, &pr.head_sha));
}

#[tokio::test]
async fn replies_to_one_commenter_on_one_pr_are_capped() {
    let w = World::start().await;
    w.fake.set_permission(REPO, "rita", Role::Read).unwrap();
    let pr = w.fake.open_pr(fork_pr()).await.unwrap();
    w.settle().await;
    // A reader is refused with the reason, but not more than five times an hour here.
    for _ in 0..8 {
        w.fake
            .comment(REPO, pr.number, "rita", "/stage")
            .await
            .unwrap();
    }
    w.settle().await;
    let replies = w.replies(pr.number);
    assert_eq!(
        replies.len(),
        gangway::engine::command_rules::REPLIES_PER_HOUR,
        "{replies:?}"
    );
    assert!(replies.iter().all(|r| r.contains("needs write permission")));
}

#[tokio::test]
async fn a_flood_of_junk_comments_cannot_delay_a_deployment() {
    let w = World::start().await;
    w.fake.set_permission(REPO, "maria", Role::Write).unwrap();
    // GitHub's own secondary limits, enforced by the fake.
    w.fake
        .set_secondary_limits(Some(SecondaryLimits::default()));
    let pr = w.fake.open_pr(fork_pr()).await.unwrap();
    w.settle().await;
    let before = writes(&w);
    // Three hundred junk command comments from accounts with no access.
    for n in 0..300 {
        w.fake
            .comment(REPO, pr.number, &format!("junk-{}", n % 30), "/stage")
            .await
            .unwrap();
    }
    w.settle().await;
    assert_eq!(writes(&w), before, "junk cost writes");
    // Then a maintainer stages the PR: nothing of the flood stands in its way (no write was
    // spent, so GitHub has nothing to slow the installation down for).
    w.fake
        .comment(REPO, pr.number, "maria", "/stage")
        .await
        .unwrap();
    w.until("deployed after the flood", |f| live(f, &pr.head_sha))
        .await;
    let report = w.fake.secondary_report();
    assert_eq!(report.refused(), 0, "{report:?}");
}
