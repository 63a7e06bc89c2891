//! The two migration dialects describe the same schema, and migrations apply cleanly twice.

mod support;

use support::TestDb;

/// The only allowed differences between the dialects, mapped to one spelling.
fn normalise(sql: &str) -> Vec<String> {
    sql.lines()
        .map(|l| l.split("--").next().unwrap_or("").trim().to_owned())
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "SERIAL_ID")
                .replace("BIGSERIAL PRIMARY KEY", "SERIAL_ID")
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
