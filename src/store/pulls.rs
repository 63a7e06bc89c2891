//! Pull requests as last seen, and their sticky comment's bookkeeping.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError};
use crate::model::{PullRequest, RepoRef, Sticky};
use crate::types::{CommitSha, InstallationId, PrNumber, RepoId};

const COLUMNS: &str = "repo_id, number, installation_id, repo_full_name, default_branch, head_sha, head_ref, is_fork, draft, state, merged, author, author_bot, gh_updated_at, sticky_comment_id, sticky_body, sticky_attempted, head_since, title";

fn from_row(r: &AnyRow) -> Result<(PullRequest, Sticky), StoreError> {
    let sha: String = r.try_get("head_sha")?;
    let pr = PullRequest {
        repo: RepoRef {
            id: RepoId::from_db(r.try_get("repo_id")?),
            installation: InstallationId::from_db(r.try_get("installation_id")?),
            full_name: r.try_get("repo_full_name")?,
            default_branch: r.try_get("default_branch")?,
        },
        number: PrNumber::from_db(r.try_get("number")?),
        head_sha: CommitSha::parse(&sha).map_err(|e| StoreError::Invalid(e.to_string()))?,
        head_ref: r.try_get("head_ref")?,
        is_fork: r.try_get::<i64, _>("is_fork")? != 0,
        draft: r.try_get::<i64, _>("draft")? != 0,
        open: r.try_get::<String, _>("state")? == "open",
        merged: r.try_get::<i64, _>("merged")? != 0,
        author: r.try_get("author")?,
        author_bot: r.try_get::<i64, _>("author_bot")? != 0,
        gh_updated_at: r.try_get("gh_updated_at")?,
        head_since_ms: r.try_get("head_since")?,
        title: r.try_get("title")?,
    };
    let sticky = Sticky {
        comment_id: r
            .try_get::<Option<i64>, _>("sticky_comment_id")?
            .map(|v| u64::try_from(v).unwrap_or(0)),
        body: r.try_get("sticky_body")?,
        create_attempted: r.try_get::<i64, _>("sticky_attempted")? != 0,
    };
    Ok((pr, sticky))
}

impl Store {
    /// Records what GitHub says a PR is now. The sticky-comment columns are left alone.
    pub async fn upsert_pull(&self, pr: &PullRequest, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO pull_requests (repo_id, number, installation_id, repo_full_name, default_branch, head_sha, head_ref,
                                        is_fork, draft, state, merged, author, gh_updated_at, updated_at, head_since,
                                        author_bot, title)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15, $16)
             ON CONFLICT (repo_id, number) DO UPDATE SET
                installation_id = excluded.installation_id, repo_full_name = excluded.repo_full_name,
                default_branch = excluded.default_branch, head_sha = excluded.head_sha, head_ref = excluded.head_ref,
                is_fork = excluded.is_fork, draft = excluded.draft, state = excluded.state, merged = excluded.merged,
                author = excluded.author, author_bot = excluded.author_bot, gh_updated_at = excluded.gh_updated_at, updated_at = excluded.updated_at, title = excluded.title,
                head_since = CASE WHEN pull_requests.head_sha = excluded.head_sha THEN pull_requests.head_since
                                  ELSE excluded.head_since END",
        )
        .bind(pr.repo.id.as_db())
        .bind(pr.number.as_db())
        .bind(pr.repo.installation.as_db())
        .bind(&pr.repo.full_name)
        .bind(&pr.repo.default_branch)
        .bind(pr.head_sha.as_str())
        .bind(&pr.head_ref)
        .bind(i64::from(pr.is_fork))
        .bind(i64::from(pr.draft))
        .bind(if pr.open { "open" } else { "closed" })
        .bind(i64::from(pr.merged))
        .bind(&pr.author)
        .bind(&pr.gh_updated_at)
        .bind(now_ms)
        .bind(i64::from(pr.author_bot))
        .bind(&pr.title)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn pull(
        &self,
        repo: RepoId,
        number: PrNumber,
    ) -> Result<Option<(PullRequest, Sticky)>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM pull_requests WHERE repo_id = $1 AND number = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(repo.as_db())
            .bind(number.as_db())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Open PRs of a repository (what the reconciler compares with GitHub's list).
    pub async fn open_pulls(&self, repo: RepoId) -> Result<Vec<(PrNumber, CommitSha)>, StoreError> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT number, head_sha FROM pull_requests WHERE repo_id = $1 AND state = 'open' ORDER BY number",
        )
        .bind(repo.as_db())
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|(n, sha)| {
                Ok((
                    PrNumber::from_db(n),
                    CommitSha::parse(&sha).map_err(|e| StoreError::Invalid(e.to_string()))?,
                ))
            })
            .collect()
    }

    /// Open PRs of a repository whose head is `sha`.
    pub async fn open_pulls_with_head(
        &self,
        repo: RepoId,
        sha: &CommitSha,
    ) -> Result<Vec<PrNumber>, StoreError> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT number FROM pull_requests WHERE repo_id = $1 AND head_sha = $2 AND state = 'open' ORDER BY number",
        )
        .bind(repo.as_db())
        .bind(sha.as_str())
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(n,)| PrNumber::from_db(n)).collect())
    }

    /// Records the commit a merged PR became on its base branch (the latest word wins).
    pub async fn record_merge(
        &self,
        repo: RepoId,
        number: PrNumber,
        merge_sha: &CommitSha,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO merged_pulls (repo_id, pr_number, merge_sha, merged_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (repo_id, pr_number) DO UPDATE SET merge_sha = excluded.merge_sha",
        )
        .bind(repo.as_db())
        .bind(number.as_db())
        .bind(merge_sha.as_str())
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The merged PRs that became one of `shas`, in PR order.
    pub async fn merged_pulls_with(
        &self,
        repo: RepoId,
        shas: &[CommitSha],
    ) -> Result<Vec<PrNumber>, StoreError> {
        let mut found = Vec::new();
        // A train carries tens of commits at most; one indexed lookup each.
        for sha in shas {
            let rows: Vec<(i64,)> = sqlx::query_as(
                "SELECT pr_number FROM merged_pulls WHERE repo_id = $1 AND merge_sha = $2",
            )
            .bind(repo.as_db())
            .bind(sha.as_str())
            .fetch_all(self.pool())
            .await?;
            found.extend(rows.into_iter().map(|(n,)| PrNumber::from_db(n)));
        }
        found.sort();
        found.dedup();
        Ok(found)
    }

    /// Marks that a sticky comment is about to be created, so a retry looks for it first.
    pub async fn sticky_attempted(&self, repo: RepoId, number: PrNumber) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE pull_requests SET sticky_attempted = 1 WHERE repo_id = $1 AND number = $2",
        )
        .bind(repo.as_db())
        .bind(number.as_db())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn set_sticky(
        &self,
        repo: RepoId,
        number: PrNumber,
        comment_id: u64,
        body: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE pull_requests SET sticky_comment_id = $1, sticky_body = $2 WHERE repo_id = $3 AND number = $4")
            .bind(i64::try_from(comment_id).unwrap_or(i64::MAX))
            .bind(body)
            .bind(repo.as_db())
            .bind(number.as_db())
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
