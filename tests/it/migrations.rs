//! The two migration dialects describe the same schema, and migrations apply cleanly twice.

use crate::support;

use support::TestDb;

/// The only allowed differences between the dialects, mapped to one spelling.
fn normalise(sql: &str) -> Vec<String> {
    sql.lines()
        .map(|l| l.split("--").next().unwrap_or("").trim().to_owned())
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "SERIAL_ID")
                .replace("BIGSERIAL PRIMARY KEY", "SERIAL_ID")
                // Binary columns: BLOB in SQLite, BYTEA in PostgreSQL (both bind Vec<u8>).
                .replace(" BYTEA", " BLOB")
        })
        .collect()
}

#[test]
fn sqlite_and_postgres_migrations_match() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
    let mut names: Vec<String> = std::fs::read_dir(format!("{dir}/sqlite"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(!names.is_empty());
    for name in names {
        let sqlite = std::fs::read_to_string(format!("{dir}/sqlite/{name}")).unwrap();
        let pg = std::fs::read_to_string(format!("{dir}/postgres/{name}"))
            .unwrap_or_else(|_| panic!("migrations/postgres/{name} missing"));
        assert_eq!(
            normalise(&sqlite),
            normalise(&pg),
            "{name} differs between dialects"
        );
        for line in normalise(&sqlite) {
            // A NOT NULL column added later must have a default, or the migration fails on data.
            if line.starts_with("ALTER TABLE") && line.contains("NOT NULL") {
                assert!(line.contains("DEFAULT"), "{name}: {line}");
            }
        }
    }
}

#[tokio::test]
async fn migrations_are_idempotent_and_leave_the_store_ready() {
    let db = TestDb::new().await;
    let store = db.store().await;
    store.migrate().await.unwrap();
    store.ready().await.unwrap();
    let again = db.store().await;
    again.ready().await.unwrap();
}

/// The migrations before 0010 (payload compression), applied as a database created by an
/// earlier Gangway would have them: same files, so the same checksums `Store::open` checks.
async fn migrate_before_compression(url: &str) -> sqlx::AnyPool {
    migrate_before(url, 10).await
}

/// The migrations before `next`, as [`migrate_before_compression`].
async fn migrate_before(url: &str, next: i64) -> sqlx::AnyPool {
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    sqlx::any::install_default_drivers();
    let (dialect, url) = if url.starts_with("sqlite:") {
        ("sqlite", format!("{url}?mode=rwc"))
    } else {
        ("postgres", url.to_owned())
    };
    let dir = format!("{}/migrations/{dialect}", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let migrations = files
        .iter()
        .filter_map(|name| {
            let version: i64 = name.split('_').next()?.parse().ok()?;
            (version < next).then(|| {
                let sql = std::fs::read_to_string(format!("{dir}/{name}")).unwrap();
                Migration::new(
                    version,
                    name.clone().into(),
                    MigrationType::Simple,
                    sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(sql)),
                    false,
                )
            })
        })
        .collect();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    Migrator::with_migrations(migrations)
        .run(&pool)
        .await
        .unwrap();
    pool
}

/// A delivery stored uncompressed before migration 0010 still reads back byte for byte after
/// it; new deliveries are stored compressed and read back the same; a damaged row is a typed
/// error, not a panic.
#[tokio::test]
async fn deliveries_stored_before_compression_still_read_back() {
    use gangway::store::compress::{Compressed, PayloadError};
    use gangway::store::{NewDelivery, StoreError};
    use gangway::types::DeliveryId;
    use sqlx::Row;

    let db = TestDb::new().await;
    let old = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/github-webhooks/pull_request.opened.json"
    ))
    .unwrap();
    let pool = migrate_before_compression(&db.url).await;
    sqlx::query(
        "INSERT INTO deliveries (id, event, action, installation_id, repo_id, received_at, payload, outcome, detail)
         VALUES ('before-0010', 'pull_request', 'opened', 1, 2, 1, $1, 'queued', NULL)",
    )
    .bind(old.as_str())
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let store = db.store().await;
    store.ready().await.unwrap();
    let before = store.delivery("before-0010").await.unwrap().unwrap();
    assert_eq!(
        before.payload, old,
        "the uncompressed row reads back verbatim"
    );
    assert_eq!(
        (before.event.as_str(), before.outcome),
        ("pull_request", gangway::jobs::DeliveryOutcome::Queued)
    );

    // A new delivery: stored compressed, read back identical.
    let new = old.replacen("\"number\": 2,", "\"number\": 3,", 2);
    let id = DeliveryId::parse("after-0010").unwrap();
    let compressed = Compressed::new(new.as_bytes());
    let d = NewDelivery {
        id: &id,
        event: "pull_request",
        action: Some("opened"),
        installation_id: Some(1),
        repo_id: Some(2),
        payload: &compressed,
        outcome: gangway::jobs::DeliveryOutcome::Queued,
        detail: None,
    };
    store.ingest(&d, None, 8, 2).await.unwrap();
    assert_eq!(
        store.delivery("after-0010").await.unwrap().unwrap().payload,
        new
    );

    // What the rows hold: the old one as it was, the new one compressed.
    let raw = sqlx::AnyPool::connect(&db.url).await.unwrap();
    let rows = sqlx::query(
        "SELECT id, payload, payload_encoding, payload_compressed FROM deliveries ORDER BY id",
    )
    .fetch_all(&raw)
    .await
    .unwrap();
    let (a, b) = (&rows[0], &rows[1]);
    assert_eq!(a.get::<String, _>("id"), "after-0010");
    assert_eq!(a.get::<String, _>("payload_encoding"), "lz4");
    assert_eq!(a.get::<String, _>("payload"), "");
    let blob: Vec<u8> = a.get("payload_compressed");
    assert!(
        blob.len() * 4 < new.len(),
        "{} bytes stored for {}",
        blob.len(),
        new.len()
    );
    assert_eq!(b.get::<String, _>("payload_encoding"), "identity");
    assert_eq!(b.get::<Option<Vec<u8>>, _>("payload_compressed"), None);

    // Damaged rows: clear errors naming the delivery, never a panic.
    sqlx::query("UPDATE deliveries SET payload_compressed = $1 WHERE id = 'after-0010'")
        .bind(blob[..blob.len() / 2].to_vec())
        .execute(&raw)
        .await
        .unwrap();
    match store.delivery("after-0010").await {
        Err(e @ StoreError::Payload { .. }) => {
            assert!(e.to_string().contains("after-0010"), "{e}");
            assert!(e.to_string().contains("redeliver"), "{e}");
        }
        other => panic!("expected a payload error, got {other:?}"),
    }
    sqlx::query("UPDATE deliveries SET payload_encoding = 'zstd' WHERE id = 'before-0010'")
        .execute(&raw)
        .await
        .unwrap();
    match store.delivery("before-0010").await {
        Err(StoreError::Payload {
            source: PayloadError::UnknownEncoding(tag),
            ..
        }) => assert_eq!(tag, "zstd"),
        other => panic!("expected an unknown encoding, got {other:?}"),
    }
    raw.close().await;
    store.close().await;
}

/// Previews standing when migration 0013 runs keep their hosts: the oldest of two that share
/// one holds it (the other's teardown then leaves it alone), a torn-down one holds nothing.
#[tokio::test]
async fn previews_standing_before_host_claims_keep_their_hosts() {
    use gangway::model::HostHolder;
    use gangway::types::{PrNumber, RepoId};

    let db = TestDb::new().await;
    let pool = migrate_before(&db.url, 13).await;
    for (pr, host, state) in [
        (1i64, "shared.example.org", "live"),
        (2, "shared.example.org", "live"),
        (3, "gone.example.org", "torn_down"),
    ] {
        sqlx::query(
            "INSERT INTO previews (repo_id, pr_number, sha, environment, host, driver, state,
                                   log_token, requested_by, created_at, updated_at)
             VALUES (7, $1, $2, 'pr', $3, 'command', $4, $5, 'ann', $1, $1)",
        )
        .bind(pr)
        .bind(format!("{pr}").repeat(40))
        .bind(host)
        .bind(state)
        .bind(format!("token-{pr}"))
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;

    let store = db.store().await;
    store.ready().await.unwrap();
    assert_eq!(
        store.host_holder("shared.example.org").await.unwrap(),
        Some(HostHolder::Preview {
            repo: RepoId(7),
            number: PrNumber(1),
        })
    );
    assert_eq!(store.host_holder("gone.example.org").await.unwrap(), None);
}
