use super::*;

#[test]
fn sqlite_urls_get_create_mode() {
    assert_eq!(
        sqlite_url_creating("sqlite://gangway.db"),
        "sqlite://gangway.db?mode=rwc"
    );
    assert_eq!(
        sqlite_url_creating("sqlite://x.db?cache=shared"),
        "sqlite://x.db?cache=shared&mode=rwc"
    );
    assert_eq!(
        sqlite_url_creating("sqlite://x.db?mode=ro"),
        "sqlite://x.db?mode=ro"
    );
}

async fn synchronous(store: &Store) -> i64 {
    sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(store.pool())
        .await
        .expect("pragma")
}

/// Deliveries are synced to disk after their commit, off the connection (a 202 survives
/// power loss; `set_full_sync` remains for databases without a WAL); the connection stays
/// at NORMAL, and the WAL is copied into the database file by the background
/// checkpointer, long before the writer's own 40 MB backstop would.
#[tokio::test]
async fn deliveries_are_synced_after_commit_and_the_wal_is_checkpointed_beside_the_writer() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("g.db");
    let store = Store::open(&format!("sqlite://{}", path.display()))
        .await
        .expect("open");
    assert_eq!(synchronous(&store).await, 1, "NORMAL between deliveries");
    {
        let mut conn = store.pool().acquire().await.expect("conn");
        store.set_full_sync(&mut conn, true).await.expect("full");
        let level: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut *conn)
            .await
            .expect("pragma");
        assert_eq!(level, 2, "FULL while a delivery commits");
        store.set_full_sync(&mut conn, false).await.expect("normal");
    }
    let before = std::fs::metadata(&path).expect("db file").len();
    // Compressed as ingress does; pseudo-random text so it still weighs megabytes in the WAL.
    let mut pad = String::with_capacity(30_000);
    let mut n: u32 = 1;
    while pad.len() < 30_000 {
        n = n.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        pad.push_str(&format!("{n:08x}"));
    }
    let payload =
        crate::store::compress::Compressed::new(format!("{{\"pad\":\"{pad}\"}}").as_bytes());
    let ids: Vec<crate::types::DeliveryId> = (0..200)
        .map(|n| crate::types::DeliveryId::parse(&format!("d-{n}")).expect("id"))
        .collect();
    for chunk in ids.chunks(50) {
        let items: Vec<_> = chunk
            .iter()
            .map(|id| {
                let d = NewDelivery {
                    id,
                    event: "pull_request",
                    action: Some("opened"),
                    installation_id: Some(1),
                    repo_id: Some(2),
                    payload: &payload,
                    outcome: crate::jobs::DeliveryOutcome::Ignored,
                    detail: None,
                };
                (d, None, 8, 1)
            })
            .collect();
        store.ingest_many(&items).await.expect("ingest");
    }
    assert_eq!(synchronous(&store).await, 1, "still NORMAL after ingest");
    assert!(
        !store.full_sync_at_commit(),
        "a file in WAL mode is synced after commit"
    );
    assert!(
        (1..=4).contains(&store.wal_syncs()),
        "one WAL sync per batch of deliveries, got {}",
        store.wal_syncs()
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let now = std::fs::metadata(&path).expect("db file").len();
        if now >= before + 5_000_000 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the database file grew from {before} to only {now} bytes: no checkpoint ran"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    store.close().await;
}
