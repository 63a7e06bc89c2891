//! The promotion queue against a real database (SQLite, or PostgreSQL when
//! `GANGWAY_TEST_POSTGRES` names a server): superseding, starting with the claim in one
//! transaction, ending, and what `/rollback <commit>` finds.

use super::super::environments::tests::Db;
use super::*;
use crate::model::{EnvKind, EnvState};

const REPO: RepoId = RepoId(88);

fn sha(c: char) -> CommitSha {
    CommitSha::parse(&c.to_string().repeat(40)).unwrap()
}

fn queued<'a>(env: &'a str, sha: &'a CommitSha, pr: u64) -> NewQueued<'a> {
    NewQueued {
        repo_id: REPO,
        family: "production",
        environment: env,
        sha,
        pr_number: Some(PrNumber(pr)),
        requested_by: "ann",
        force: false,
        batch: "b",
    }
}

fn claim<'a>(env: &'a str, sha: &'a CommitSha, token: &'a str) -> NewEnvDeployment<'a> {
    NewEnvDeployment {
        repo_id: REPO,
        environment: env,
        sha,
        kind: EnvKind::Promote,
        requested_by: "ann",
        pr_number: Some(PrNumber(5)),
        reason: None,
        log_token: token,
    }
}

#[tokio::test]
async fn a_newer_promotion_supersedes_the_waiting_one_of_the_same_target_only() {
    let db = Db::new().await;
    let store = db.store().await;
    let (a, b) = (sha('a'), sha('b'));
    let au = store
        .queue_promotion(&queued("production-au", &a, 1), None, 1)
        .await
        .unwrap();
    let uk = store
        .queue_promotion(&queued("production-uk", &a, 1), None, 1)
        .await
        .unwrap();
    let newer = store
        .queue_promotion(&queued("production-au", &b, 2), None, 2)
        .await
        .unwrap();
    assert_eq!(newer.superseded.len(), 1);
    assert_eq!(newer.superseded[0].id, au.entry.id);
    assert_eq!((au.ahead, newer.ahead), (0, 0));
    let waiting = store.waiting_promotions(REPO, "production").await.unwrap();
    let ids: Vec<i64> = waiting.iter().map(|q| q.id).collect();
    assert_eq!(ids, [uk.entry.id, newer.entry.id]);
    assert_eq!(store.queue_overview().await.unwrap().len(), 2);
}

#[tokio::test]
async fn starting_claims_the_environment_and_the_entry_together() {
    let db = Db::new().await;
    let store = db.store().await;
    let (a, b) = (sha('a'), sha('b'));
    let first = store
        .queue_promotion(&queued("production", &a, 1), None, 1)
        .await
        .unwrap();
    let StartOutcome::Started(d) = store
        .start_queued(first.entry.id, &claim("production", &a, "t1"), 2)
        .await
        .unwrap()
    else {
        panic!("not started");
    };
    let entry = store.promotion_of_deployment(d.id).await.unwrap().unwrap();
    assert_eq!(
        (entry.id, entry.state),
        (first.entry.id, QueueState::Started)
    );
    assert_eq!(
        store.started_unrun(REPO, "production").await.unwrap().len(),
        1
    );
    // Started once: a second start (a rerun) finds it gone and claims nothing.
    assert_eq!(
        store
            .start_queued(first.entry.id, &claim("production", &a, "t2"), 3)
            .await
            .unwrap(),
        StartOutcome::Gone
    );
    // While it runs, the next waits (busy), and a cancelled one is gone.
    let second = store
        .queue_promotion(&queued("production", &b, 2), None, 4)
        .await
        .unwrap();
    assert_eq!(
        store
            .start_queued(second.entry.id, &claim("production", &b, "t3"), 5)
            .await
            .unwrap(),
        StartOutcome::Busy
    );
    assert!(
        store
            .end_queued(
                second.entry.id,
                QueueState::Cancelled,
                "cancelled by @ann",
                6
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .end_queued(second.entry.id, QueueState::Cancelled, "again", 7)
            .await
            .unwrap()
    );
    assert!(
        store
            .waiting_promotions(REPO, "production")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_named_rollback_finds_only_a_commit_that_went_live_there() {
    let db = Db::new().await;
    let store = db.store().await;
    let (a, b) = (sha('a'), sha('b'));
    let mut d = store
        .claim_environment(&claim("production", &a, "t1"), 1)
        .await
        .unwrap()
        .unwrap();
    d.state = EnvState::Live;
    d.live_at = Some(2);
    store.save_env_deployment(&d, 2).await.unwrap();
    let mut failed = store
        .claim_environment(&claim("production", &b, "t2"), 3)
        .await
        .unwrap()
        .unwrap();
    failed.state = EnvState::Failed;
    store.save_env_deployment(&failed, 4).await.unwrap();
    let found = store
        .succeeded_in(REPO, "production", "aaaaaaa")
        .await
        .unwrap();
    assert_eq!(found.map(|d| d.sha), Some(a));
    assert!(
        store
            .succeeded_in(REPO, "production", "bbbbbbb")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .succeeded_in(REPO, "staging", "aaaaaaa")
            .await
            .unwrap()
            .is_none()
    );
    // A LIKE wildcard in the prefix matches nothing.
    assert!(
        store
            .succeeded_in(REPO, "production", "%")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_promotion_started_as_it_is_queued_cannot_be_superseded_and_respects_the_limit() {
    let db = Db::new().await;
    let store = db.store().await;
    let (a, b) = (sha('a'), sha('b'));
    let units = ["production-au".to_owned(), "production-uk".to_owned()];
    let claim_au = claim("production-au", &a, "t1");
    let first = store
        .queue_promotion(
            &queued("production-au", &a, 1),
            Some(&StartNow {
                claim: &claim_au,
                units: &units,
                limit: 1,
            }),
            1,
        )
        .await
        .unwrap();
    assert!(first.started.is_some());
    assert_eq!(first.entry.state, QueueState::Started);
    // A second one for the same target, at the same moment: it waits, superseding nothing.
    let claim_au2 = claim("production-au", &b, "t2");
    let second = store
        .queue_promotion(
            &queued("production-au", &b, 2),
            Some(&StartNow {
                claim: &claim_au2,
                units: &units,
                limit: 1,
            }),
            2,
        )
        .await
        .unwrap();
    assert!(second.superseded.is_empty() && second.started.is_none());
    // Another target, but the limit (1) is taken by au: it waits.
    let claim_uk = claim("production-uk", &a, "t3");
    let third = store
        .queue_promotion(
            &queued("production-uk", &a, 1),
            Some(&StartNow {
                claim: &claim_uk,
                units: &units,
                limit: 1,
            }),
            3,
        )
        .await
        .unwrap();
    assert!(third.started.is_none());
    assert_eq!(third.ahead, 0);
}
