//! Approvals pinned to a commit, the /unstage pause, and one record per command comment.

use super::{Store, StoreError};
use crate::model::Approval;
use crate::types::{CommitSha, PrNumber, RepoId};

/// A command comment being (or having been) handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRun {
    pub decision: Option<String>,
    pub replied: bool,
}

impl Store {
    pub async fn record_approval(
        &self,
        repo: RepoId,
        pr: PrNumber,
        a: &Approval,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO approvals (repo_id, pr_number, sha, approver, permission, comment_url, approved_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (repo_id, pr_number, sha) DO UPDATE SET approver = excluded.approver,
                permission = excluded.permission, comment_url = excluded.comment_url, approved_at = excluded.approved_at",
        )
        .bind(repo.as_db())
        .bind(pr.as_db())
        .bind(a.sha.as_str())
        .bind(&a.approver)
        .bind(&a.permission)
        .bind(&a.comment_url)
        .bind(a.approved_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Every approval of a PR, oldest first.
    pub async fn approvals_of(
        &self,
        repo: RepoId,
        pr: PrNumber,
    ) -> Result<Vec<Approval>, StoreError> {
        let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(
            "SELECT sha, approver, permission, comment_url, approved_at FROM approvals
             WHERE repo_id = $1 AND pr_number = $2 ORDER BY approved_at, id",
        )
        .bind(repo.as_db())
        .bind(pr.as_db())
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|(sha, approver, permission, comment_url, approved_at)| {
                Ok(Approval {
                    sha: CommitSha::parse(&sha).map_err(|e| StoreError::Invalid(e.to_string()))?,
                    approver,
                    permission,
                    comment_url,
                    approved_at,
                })
            })
            .collect()
    }

    /// `/unstage` pauses automatic staging (`Some(who)`); `/stage` resumes it (`None`).
    pub async fn set_unstaged(
        &self,
        repo: RepoId,
        pr: PrNumber,
        by: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE pull_requests SET unstaged_by = $1 WHERE repo_id = $2 AND number = $3")
            .bind(by)
            .bind(repo.as_db())
            .bind(pr.as_db())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn unstaged_by(
        &self,
        repo: RepoId,
        pr: PrNumber,
    ) -> Result<Option<String>, StoreError> {
        let row: Option<(Option<String>,)> = sqlx::query_as(
            "SELECT unstaged_by FROM pull_requests WHERE repo_id = $1 AND number = $2",
        )
        .bind(repo.as_db())
        .bind(pr.as_db())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.and_then(|(b,)| b))
    }

    /// Registers a command comment; returns what an earlier run already did, if any.
    pub async fn begin_command(
        &self,
        comment_id: u64,
        repo: RepoId,
        pr: PrNumber,
        author: &str,
        command: &str,
        now_ms: i64,
    ) -> Result<CommandRun, StoreError> {
        let id = i64::try_from(comment_id).unwrap_or(i64::MAX);
        sqlx::query(
            "INSERT INTO commands (comment_id, repo_id, pr_number, author, command, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (comment_id) DO NOTHING",
        )
        .bind(id)
        .bind(repo.as_db())
        .bind(pr.as_db())
        .bind(author)
        .bind(command)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        let (decision, replied): (Option<String>, i64) =
            sqlx::query_as("SELECT decision, replied FROM commands WHERE comment_id = $1")
                .bind(id)
                .fetch_one(self.pool())
                .await?;
        Ok(CommandRun {
            decision,
            replied: replied != 0,
        })
    }

    pub async fn finish_command(
        &self,
        comment_id: u64,
        decision: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE commands SET decision = $1, reason = $2, finished_at = $3 WHERE comment_id = $4")
            .bind(decision)
            .bind(reason)
            .bind(now_ms)
            .bind(i64::try_from(comment_id).unwrap_or(i64::MAX))
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn command_replied(&self, comment_id: u64) -> Result<(), StoreError> {
        sqlx::query("UPDATE commands SET replied = 1 WHERE comment_id = $1")
            .bind(i64::try_from(comment_id).unwrap_or(i64::MAX))
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
