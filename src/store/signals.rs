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
#[path = "signals_tests.rs"]
mod tests;
