use super::*;
use std::sync::Arc;

/// What a committing caller does right after its commit returned: take a ticket, wait for it.
async fn commit_is_durable(w: &WalSync) -> std::io::Result<()> {
    let mine = w.ticket();
    w.wait(mine).await
}

#[tokio::test]
async fn concurrent_commits_share_syncs_and_each_waits_for_one() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("g.db");
    std::fs::write(&db, b"db").expect("db");
    std::fs::write(dir.path().join("g.db-wal"), b"wal").expect("wal");
    let w = Arc::new(WalSync::new(db));
    let waiters: Vec<_> = (0..64)
        .map(|_| {
            let w = w.clone();
            tokio::spawn(async move { commit_is_durable(&w).await })
        })
        .collect();
    for t in waiters {
        t.await.expect("task").expect("synced");
    }
    assert!(w.syncs() >= 1, "at least one sync ran");
    assert!(w.syncs() <= 64, "never more syncs than commits");
    // A commit after all of them needs a sync of its own.
    let before = w.syncs();
    commit_is_durable(&w).await.expect("synced");
    assert_eq!(w.syncs(), before + 1);
}

#[tokio::test]
async fn without_a_wal_the_database_file_is_synced_and_without_either_it_fails() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("g.db");
    let w = WalSync::new(db.clone());
    let err = commit_is_durable(&w).await.expect_err("nothing to sync");
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    std::fs::write(&db, b"db").expect("db");
    commit_is_durable(&w)
        .await
        .expect("the database file is synced");
}
