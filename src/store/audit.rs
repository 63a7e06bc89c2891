//! The audit trail: every decision Gangway takes about a PR, with its reason.

use super::{Store, StoreError};
use crate::types::{PrNumber, RepoId};

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: i64,
    pub subject: String,
    pub decision: String,
    pub reason: String,
}

impl Store {
    pub async fn audit(
        &self,
        repo: RepoId,
        pr: PrNumber,
        subject: &str,
        decision: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit (at, repo_id, pr_number, subject, decision, reason)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(now_ms)
        .bind(repo.as_db())
        .bind(pr.as_db())
        .bind(subject)
        .bind(decision)
        .bind(reason)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A PR's audit trail, oldest first.
    pub async fn audit_of(
        &self,
        repo: RepoId,
        pr: PrNumber,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT at, subject, decision, reason FROM audit WHERE repo_id = $1 AND pr_number = $2 ORDER BY id",
        )
        .bind(repo.as_db())
        .bind(pr.as_db())
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(at, subject, decision, reason)| AuditEntry {
                at,
                subject,
                decision,
                reason,
            })
            .collect())
    }
}
