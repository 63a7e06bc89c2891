//! The train's sign-off rounds before production (`train.signoff: authors`): one row per pull
//! request a commit carries, asked once, answered `/good` or `/bad`.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, db_u64, invalid_in as invalid, opt_u64};
use crate::model::{Signoff, SignoffAnswer};
use crate::types::{CommitSha, PrNumber, RepoId};

const COLUMNS: &str = "sha, pr_number, author, asked_at, comment_id, answer, answered_by, reason, answered_at, stop_told";

fn from_row(r: &AnyRow) -> Result<Signoff, StoreError> {
    let sha: String = r.try_get("sha")?;
    let answer: Option<String> = r.try_get("answer")?;
    let bad = |what, v: &str| invalid("signoffs", what, v);
    Ok(Signoff {
        sha: CommitSha::parse(&sha).map_err(|_| bad("sha", &sha))?,
        pr_number: PrNumber::from_db(r.try_get("pr_number")?),
        author: r.try_get("author")?,
        asked_at: r.try_get("asked_at")?,
        comment_id: opt_u64(r.try_get("comment_id")?),
        answer: match answer {
            None => None,
            Some(a) => Some(SignoffAnswer::parse(&a).ok_or_else(|| bad("answer", &a))?),
        },
        answered_by: r.try_get("answered_by")?,
        reason: r.try_get("reason")?,
        answered_at: r.try_get("answered_at")?,
        stop_told: r.try_get::<i64, _>("stop_told")? != 0,
    })
}

impl Store {
    /// Records that `author` of pull request `number` is being asked about `sha`, once: a row
    /// already there is kept (with its answer).
    pub async fn ask_signoff(
        &self,
        repo: RepoId,
        sha: &CommitSha,
        number: PrNumber,
        author: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO signoffs (repo_id, sha, pr_number, author, asked_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (repo_id, sha, pr_number) DO NOTHING",
        )
        .bind(repo.as_db())
        .bind(sha.as_str())
        .bind(number.as_db())
        .bind(author)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The question's comment, once posted.
    pub async fn signoff_asked(
        &self,
        repo: RepoId,
        sha: &CommitSha,
        number: PrNumber,
        comment_id: u64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE signoffs SET comment_id = $4 WHERE repo_id = $1 AND sha = $2 AND pr_number = $3",
        )
        .bind(repo.as_db())
        .bind(sha.as_str())
        .bind(number.as_db())
        .bind(db_u64(Some(comment_id)))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Claims telling pull request `number` that the round about `sha` timed out: `true` for
    /// the one caller that claims it (two runs of the train at once tell it once).
    pub async fn signoff_stop_told(
        &self,
        repo: RepoId,
        sha: &CommitSha,
        number: PrNumber,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE signoffs SET stop_told = 1
             WHERE repo_id = $1 AND sha = $2 AND pr_number = $3 AND stop_told = 0",
        )
        .bind(repo.as_db())
        .bind(sha.as_str())
        .bind(number.as_db())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Gives a claim of [`Store::signoff_stop_told`] back (the notice could not be posted).
    pub async fn signoff_stop_untold(
        &self,
        repo: RepoId,
        sha: &CommitSha,
        number: PrNumber,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE signoffs SET stop_told = 0 WHERE repo_id = $1 AND sha = $2 AND pr_number = $3",
        )
        .bind(repo.as_db())
        .bind(sha.as_str())
        .bind(number.as_db())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Every row of the round about `sha`, in pull-request order.
    pub async fn signoffs_for(
        &self,
        repo: RepoId,
        sha: &CommitSha,
    ) -> Result<Vec<Signoff>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM signoffs WHERE repo_id = $1 AND sha = $2 ORDER BY pr_number"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(repo.as_db())
            .bind(sha.as_str())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Every round that asked pull request `number`, newest first.
    pub async fn signoffs_of_pull(
        &self,
        repo: RepoId,
        number: PrNumber,
    ) -> Result<Vec<Signoff>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM signoffs WHERE repo_id = $1 AND pr_number = $2 ORDER BY asked_at DESC"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(repo.as_db())
            .bind(number.as_db())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Records `row`'s answer (a later one replaces an earlier `/good`; a `/bad` stays).
    pub async fn answer_signoff(&self, repo: RepoId, row: &Signoff) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE signoffs SET answer = $4, answered_by = $5, reason = $6, answered_at = $7
             WHERE repo_id = $1 AND sha = $2 AND pr_number = $3 AND (answer IS NULL OR answer <> 'bad')",
        )
        .bind(repo.as_db())
        .bind(row.sha.as_str())
        .bind(row.pr_number.as_db())
        .bind(row.answer.map(SignoffAnswer::as_str))
        .bind(row.answered_by.as_deref())
        .bind(row.reason.as_deref())
        .bind(row.answered_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The newest rounds' rows of a repository, newest first (at most `limit`), for operators.
    pub async fn recent_signoffs(
        &self,
        repo: RepoId,
        limit: i64,
    ) -> Result<Vec<Signoff>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM signoffs WHERE repo_id = $1 ORDER BY asked_at DESC, pr_number LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(repo.as_db())
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }
}
