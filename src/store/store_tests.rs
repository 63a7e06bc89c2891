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

fn pad_payload(bytes: usize, seed: u32) -> crate::store::compress::Compressed {
    let mut pad = String::with_capacity(bytes);
    let mut n: u32 = seed;
    while pad.len() < bytes {
        n = n.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        pad.push_str(&format!("{n:08x}"));
    }
    crate::store::compress::Compressed::new(format!("{{\"pad\":\"{pad}\"}}").as_bytes())
}

async fn ingest_one(
    store: &Store,
    id: &str,
    payload: &crate::store::compress::Compressed,
) -> Result<IngestOutcome, StoreError> {
    let id = crate::types::DeliveryId::parse(id).expect("id");
    let job = crate::jobs::NewJob::of(&crate::jobs::DeliveryPayload {
        delivery_id: id.as_str().to_owned(),
        key: crate::jobs::JobKey::delivery(&id),
    })
    .expect("job");
    let d = NewDelivery {
        id: &id,
        event: "pull_request",
        action: Some("opened"),
        installation_id: Some(1),
        repo_id: Some(2),
        payload,
        outcome: crate::jobs::DeliveryOutcome::Queued,
        detail: None,
    };
    store.ingest(&d, Some(&job), 8, 1).await
}

/// A full disk (SQLite's `max_page_count`): deliveries fail with an error, never "stored"; once
/// space is back, the next delivery is committed for real (a fresh connection sees it) and every
/// delivery reported stored is in the file.
#[tokio::test]
async fn after_a_full_disk_the_first_successful_write_is_really_committed() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("g.db").display());
    let store = Store::open(&url).await.expect("open");
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(store.pool())
        .await
        .expect("pages");
    store
        .limit_pages(Some(pages as u64 + 8))
        .await
        .expect("limit");
    let mut stored = Vec::new();
    let mut failed = 0;
    for n in 0..40 {
        let id = format!("full-{n}");
        match ingest_one(&store, &id, &pad_payload(20_000, n)).await {
            Ok(IngestOutcome::Stored) => stored.push(id),
            Ok(IngestOutcome::Duplicate) => panic!("{id}: duplicate"),
            Err(e) => {
                assert!(e.is_transient(), "a full disk is worth retrying: {e}");
                failed += 1;
            }
        }
    }
    assert!(failed > 0, "the database filled up");
    // Space is freed.
    store.limit_pages(None).await.expect("unlimit");
    for n in 0..5 {
        let id = format!("after-{n}");
        assert_eq!(
            ingest_one(&store, &id, &pad_payload(2_000, n))
                .await
                .expect("stored after recovery"),
            IngestOutcome::Stored
        );
        stored.push(id);
    }
    // A second, independent connection (as a restart would) sees every stored delivery.
    let other = Store::connect(&url).await.expect("second store");
    for id in &stored {
        assert!(
            other.has_delivery(id).await.expect("read"),
            "{id} was reported stored but is not committed"
        );
    }
    other.close().await;
}

/// A small tmpfs mounted for the test (root only; skipped with a message elsewhere).
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!(
                "SKIPPED: cannot mount a tmpfs here (needs root): the size-limited filesystem test did not run"
            );
            return None;
        }
        Some(Tmpfs { dir })
    }

    fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Fills the filesystem up with a file of its own (all but `leave` bytes).
    fn fill(&self, leave: u64) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.path().join("filler")).expect("filler");
        let chunk = vec![0xa5u8; 4096];
        let mut free = free_bytes(self.path());
        while free > leave {
            let n = chunk.len().min((free - leave) as usize);
            if f.write_all(&chunk[..n]).is_err() {
                break;
            }
            free = free_bytes(self.path());
        }
        let _ = f.sync_all();
    }

    fn free(&self) {
        std::fs::remove_file(self.path().join("filler")).expect("remove filler");
    }
}

fn free_bytes(p: &std::path::Path) -> u64 {
    let out = std::process::Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(p)
        .output()
        .expect("df");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0)
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[tokio::test]
async fn after_a_full_filesystem_the_first_successful_write_is_really_committed() {
    let Some(fs) = Tmpfs::mount("4m") else {
        return;
    };
    let url = format!("sqlite://{}", fs.path().join("g.db").display());
    let store = Store::open(&url).await.expect("open");
    let mut stored = Vec::new();
    for n in 0..3 {
        let id = format!("before-{n}");
        ingest_one(&store, &id, &pad_payload(2_000, n))
            .await
            .expect("before");
        stored.push(id);
    }
    fs.fill(8 * 1024);
    let mut failed = 0;
    for n in 0..40 {
        let id = format!("full-{n}");
        match ingest_one(&store, &id, &pad_payload(20_000, n)).await {
            Ok(IngestOutcome::Stored) => stored.push(id),
            Ok(IngestOutcome::Duplicate) => panic!("{id}: duplicate"),
            Err(e) => {
                eprintln!("{id}: {e}");
                assert!(e.is_transient(), "a full disk is worth retrying: {e}");
                failed += 1;
            }
        }
    }
    assert!(failed > 0, "the filesystem filled up");
    fs.free();
    for n in 0..5 {
        let id = format!("after-{n}");
        assert_eq!(
            ingest_one(&store, &id, &pad_payload(2_000, n))
                .await
                .expect("stored after recovery"),
            IngestOutcome::Stored
        );
        stored.push(id);
    }
    let other = Store::connect(&url).await.expect("second store");
    for id in &stored {
        assert!(
            other.has_delivery(id).await.expect("read"),
            "{id} was reported stored but is not committed"
        );
    }
    other.close().await;
    store.close().await;
}
