//! Approvals pinned to a commit, the /unstage pause, and one record per command comment.

use super::{Store, StoreError};
use crate::model::{Approval, HeadSeen};
use crate::types::{CommitSha, PrNumber, RepoId};

/// A command comment being (or having been) handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRun {
    pub decision: Option<String>,
    pub replied: bool,
    /// When Gangway first took up the comment (its clock).
    pub started_ms: i64,
    /// The commit a `/stage` comment approved, once decided.
    pub stage_sha: Option<CommitSha>,
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
                    sha: parse_sha(&sha)?,
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
        let (decision, replied, started_ms, stage_sha): (Option<String>, i64, i64, Option<String>) =
            sqlx::query_as(
                "SELECT decision, replied, created_at, stage_sha FROM commands WHERE comment_id = $1",
            )
            .bind(id)
            .fetch_one(self.pool())
            .await?;
        Ok(CommandRun {
            decision,
            replied: replied != 0,
            started_ms,
            stage_sha: stage_sha.as_deref().map(parse_sha).transpose()?,
        })
    }

    /// Records the commit a `/stage` comment approves, unless one was recorded before; returns
    /// the one recorded (the first decision stands, whatever a retry would decide).
    pub async fn decide_stage(
        &self,
        comment_id: u64,
        sha: &CommitSha,
    ) -> Result<CommitSha, StoreError> {
        let id = i64::try_from(comment_id).unwrap_or(i64::MAX);
        sqlx::query(
            "UPDATE commands SET stage_sha = COALESCE(stage_sha, $1) WHERE comment_id = $2",
        )
        .bind(sha.as_str())
        .bind(id)
        .execute(self.pool())
        .await?;
        let (stored,): (Option<String>,) =
            sqlx::query_as("SELECT stage_sha FROM commands WHERE comment_id = $1")
                .bind(id)
                .fetch_one(self.pool())
                .await?;
        match stored {
            Some(s) => parse_sha(&s),
            None => Err(StoreError::Invalid(format!(
                "command {comment_id} has no run to record its approval on"
            ))),
        }
    }

    /// Records that GitHub's clock says `seen.sha` was the PR's head (see [`HeadSeen`]).
    pub async fn record_head_seen(
        &self,
        repo: RepoId,
        pr: PrNumber,
        seen: &HeadSeen,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO pull_heads (repo_id, pr_number, sha, at, exact, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(repo.as_db())
        .bind(pr.as_db())
        .bind(seen.sha.as_str())
        .bind(seen.at)
        .bind(i64::from(seen.exact))
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Every time GitHub's clock said a commit was the PR's head, oldest first.
    pub async fn heads_seen(
        &self,
        repo: RepoId,
        pr: PrNumber,
    ) -> Result<Vec<HeadSeen>, StoreError> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT sha, at, exact FROM pull_heads WHERE repo_id = $1 AND pr_number = $2
             ORDER BY at, exact",
        )
        .bind(repo.as_db())
        .bind(pr.as_db())
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|(sha, at, exact)| {
                Ok(HeadSeen {
                    sha: parse_sha(&sha)?,
                    at,
                    exact: exact != 0,
                })
            })
            .collect()
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

    /// How many command comments of `author` on a PR were answered with a reply since
    /// `since_ms`.
    pub async fn replies_to(
        &self,
        repo: RepoId,
        pr: PrNumber,
        author: &str,
        since_ms: i64,
    ) -> Result<usize, StoreError> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM commands WHERE repo_id = $1 AND pr_number = $2 AND author = $3
             AND replied = 1 AND created_at >= $4",
        )
        .bind(repo.as_db())
        .bind(pr.as_db())
        .bind(author)
        .bind(since_ms)
        .fetch_one(self.pool())
        .await?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    pub async fn command_replied(&self, comment_id: u64) -> Result<(), StoreError> {
        sqlx::query("UPDATE commands SET replied = 1 WHERE comment_id = $1")
            .bind(i64::try_from(comment_id).unwrap_or(i64::MAX))
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

fn parse_sha(s: &str) -> Result<CommitSha, StoreError> {
    CommitSha::parse(s).map_err(|e| StoreError::Invalid(e.to_string()))
}
