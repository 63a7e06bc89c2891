use super::*;

/// Signals are kept per repository and commit, refreshed when heard again, and pruned with
/// the other old rows.
#[tokio::test]
async fn signals_are_recorded_refreshed_and_pruned() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("g.db").display());
    let store = Store::open(&url).await.expect("open");
    let (old, fresh) = (
        CommitSha::parse(&"a".repeat(40)).expect("sha"),
        CommitSha::parse(&"b".repeat(40)).expect("sha"),
    );
    assert!(!store.has_check_signal(RepoId(1), &old).await.expect("read"));
    store
        .record_check_signal(RepoId(1), &old, 100)
        .await
        .expect("write");
    store
        .record_check_signal(RepoId(1), &fresh, 100)
        .await
        .expect("write");
    // Heard again later: kept past a cutoff between the two times.
    store
        .record_check_signal(RepoId(1), &fresh, 5_000)
        .await
        .expect("write");
    assert!(store.has_check_signal(RepoId(1), &old).await.expect("read"));
    assert!(
        !store.has_check_signal(RepoId(2), &old).await.expect("read"),
        "another repository's commit"
    );
    store.purge_before(1_000).await.expect("purge");
    assert!(!store.has_check_signal(RepoId(1), &old).await.expect("read"));
    assert!(
        store
            .has_check_signal(RepoId(1), &fresh)
            .await
            .expect("read")
    );
}
