//! Check signals: the commits whose checks Gangway has heard about from a webhook.

use super::{Store, StoreError};
use crate::types::{CommitSha, RepoId};

impl Store {
    /// Records that a check event arrived for `sha` (the latest time kept).
    pub async fn record_check_signal(
        &self,
        repo: RepoId,
        sha: &CommitSha,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO check_signals (repo_id, sha, seen_at) VALUES ($1, $2, $3)
             ON CONFLICT (repo_id, sha) DO UPDATE SET seen_at = excluded.seen_at",
        )
        .bind(repo.as_db())
        .bind(sha.as_str())
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Whether any check event was seen for `sha`.
    pub async fn has_check_signal(
        &self,
        repo: RepoId,
        sha: &CommitSha,
    ) -> Result<bool, StoreError> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT seen_at FROM check_signals WHERE repo_id = $1 AND sha = $2")
                .bind(repo.as_db())
                .bind(sha.as_str())
                .fetch_optional(self.pool())
                .await?;
        Ok(row.is_some())
    }
}

#[cfg(test)]
mod tests {
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
}
