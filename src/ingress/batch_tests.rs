use super::*;

fn delivery<'a>(id: &'a DeliveryId, payload: &'a Compressed) -> NewDelivery<'a> {
    NewDelivery {
        id,
        event: "pull_request",
        action: Some("opened"),
        installation_id: Some(1),
        repo_id: Some(2),
        payload,
        outcome: crate::jobs::DeliveryOutcome::Queued,
        detail: None,
    }
}

/// A distinct body per delivery, so a row that got another's payload shows.
fn body(n: usize) -> String {
    format!("{{\"number\":{n},\"pad\":\"{}\"}}", "x".repeat(n * 37))
}

fn job(n: usize) -> NewJob {
    NewJob::of(&crate::jobs::DeliveryPayload {
        delivery_id: format!("d-{n}"),
        key: crate::jobs::JobKey::pull(crate::types::RepoId(2), crate::types::PrNumber(n as u64)),
    })
    .unwrap()
}

/// Deliveries and jobs stored, counted by the store's own queries.
async fn rows(store: &Store) -> (i64, i64) {
    let deliveries = store.delivery_counts().await.unwrap();
    let jobs = store.job_counts().await.unwrap();
    (
        deliveries.iter().map(|(_, _, n)| n).sum(),
        jobs.iter().map(|(_, n)| n).sum(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deliveries_share_commits_and_duplicates_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("g.db").display());
    let store = Store::open(&url).await.unwrap();
    // 300 requests for 200 distinct ids: 100 repeat an id, some within one batch.
    let mut tasks = tokio::task::JoinSet::new();
    let group = GroupCommit::new(store.clone());
    for n in 0..300usize {
        let group = group.clone();
        tasks.spawn(async move {
            let id = DeliveryId::parse(&format!("d-{}", n % 200)).unwrap();
            let job = job(n % 200);
            let payload = Compressed::new(body(n % 200).as_bytes());
            let r = group
                .ingest(&delivery(&id, &payload), Some(&job), 8, 1)
                .await;
            (n % 200, r.unwrap())
        });
    }
    let mut stored = std::collections::HashMap::new();
    let mut duplicates = 0;
    while let Some(r) = tasks.join_next().await {
        let (id, outcome) = r.unwrap();
        match outcome {
            IngestOutcome::Stored => *stored.entry(id).or_insert(0) += 1,
            IngestOutcome::Duplicate => duplicates += 1,
        }
    }
    assert_eq!(stored.len(), 200, "every id stored");
    assert!(stored.values().all(|n| *n == 1), "each id stored once");
    assert_eq!(duplicates, 100);
    assert_eq!(rows(&store).await, (200, 200));
    // Each row got its own payload back, whichever place it had in its multi-row INSERT.
    for n in 0..200 {
        let stored = store.delivery(&format!("d-{n}")).await.unwrap().unwrap();
        assert_eq!(stored.payload, body(n));
    }
    // The same database through another pool and writer (a restarted process).
    let again = Store::open(&url).await.unwrap();
    let id = DeliveryId::parse("d-7").unwrap();
    let payload = Compressed::new(b"{}");
    assert_eq!(
        GroupCommit::new(again.clone())
            .ingest(&delivery(&id, &payload), Some(&job(7)), 8, 2)
            .await
            .unwrap(),
        IngestOutcome::Duplicate
    );
    store.close().await;
    again.close().await;
}

#[tokio::test]
async fn a_closed_database_is_an_error_for_every_waiting_request() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("g.db").display());
    let store = Store::open(&url).await.unwrap();
    store.close().await;
    let id = DeliveryId::parse("x").unwrap();
    let payload = Compressed::new(b"{}");
    let r = GroupCommit::new(store)
        .ingest(&delivery(&id, &payload), Some(&job(0)), 8, 1)
        .await;
    assert!(r.is_err(), "{r:?}");
}
