//! Repository policies as last read from the default branch.

use super::{Store, StoreError};
use crate::types::RepoId;

/// A cached read of `.github/gangway.yml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedPolicy {
    /// What was read: the file's blob sha, or `none` when there is no file.
    pub version: String,
    /// `None`: the file does not exist (defaults apply).
    pub body: Option<String>,
    pub checked_at: i64,
}

impl Store {
    pub async fn cached_policy(&self, repo: RepoId) -> Result<Option<CachedPolicy>, StoreError> {
        let row: Option<(String, Option<String>, i64)> = sqlx::query_as(
            "SELECT version, body, checked_at FROM repo_policies WHERE repo_id = $1",
        )
        .bind(repo.as_db())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(version, body, checked_at)| CachedPolicy {
            version,
            body,
            checked_at,
        }))
    }

    pub async fn store_policy(&self, repo: RepoId, p: &CachedPolicy) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO repo_policies (repo_id, version, body, checked_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (repo_id) DO UPDATE SET version = excluded.version, body = excluded.body,
                                                 checked_at = excluded.checked_at",
        )
        .bind(repo.as_db())
        .bind(&p.version)
        .bind(p.body.as_deref())
        .bind(p.checked_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Drops the cached policy: the next evaluation reads the file again.
    pub async fn forget_policy(&self, repo: RepoId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM repo_policies WHERE repo_id = $1")
            .bind(repo.as_db())
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
