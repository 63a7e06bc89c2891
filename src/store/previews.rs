//! Preview environments: one row per PR commit, with the progress of its deployment.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, db_u64, opt_u64};
use crate::model::{DriverKind, Preview, PreviewState, TeardownKind};
use crate::types::{CommitSha, PrNumber, RepoId};

const COLUMNS: &str = "id, repo_id, pr_number, sha, environment, host, driver, deployment_id, create_attempted, adopted, state, last_status, environment_url, detail, log_token, requested_by, created_at, deployed_at, torn_down_at, teardown_kind";

/// What is known when a preview is first recorded.
#[derive(Debug, Clone)]
pub struct NewPreview<'a> {
    pub repo_id: RepoId,
    pub pr_number: PrNumber,
    pub sha: &'a CommitSha,
    pub environment: &'a str,
    pub host: &'a str,
    pub driver: DriverKind,
    /// Set when adopting a deployment someone else created.
    pub deployment_id: Option<u64>,
    pub log_token: &'a str,
    pub requested_by: &'a str,
}

fn invalid(what: &str, v: &str) -> StoreError {
    super::invalid_in("previews", what, v)
}

fn from_row(r: &AnyRow) -> Result<Preview, StoreError> {
    let sha: String = r.try_get("sha")?;
    let driver: String = r.try_get("driver")?;
    let state: String = r.try_get("state")?;
    Ok(Preview {
        id: r.try_get("id")?,
        repo_id: RepoId::from_db(r.try_get("repo_id")?),
        pr_number: PrNumber::from_db(r.try_get("pr_number")?),
        sha: CommitSha::parse(&sha).map_err(|_| invalid("sha", &sha))?,
        environment: r.try_get("environment")?,
        host: r.try_get("host")?,
        driver: DriverKind::parse(&driver).ok_or_else(|| invalid("driver", &driver))?,
        deployment_id: opt_u64(r.try_get("deployment_id")?),
        create_attempted: r.try_get::<i64, _>("create_attempted")? != 0,
        adopted: r.try_get::<i64, _>("adopted")? != 0,
        state: PreviewState::parse(&state).ok_or_else(|| invalid("state", &state))?,
        last_status: r.try_get("last_status")?,
        environment_url: r.try_get("environment_url")?,
        detail: r.try_get("detail")?,
        log_token: r.try_get("log_token")?,
        requested_by: r.try_get("requested_by")?,
        created_at: r.try_get("created_at")?,
        deployed_at: r.try_get("deployed_at")?,
        torn_down_at: r.try_get("torn_down_at")?,
        teardown_kind: r
            .try_get::<Option<String>, _>("teardown_kind")?
            .as_deref()
            .and_then(TeardownKind::parse),
    })
}

impl Store {
    /// Records a preview for a PR commit, or returns the one already recorded: at most one per
    /// PR and sha, whatever retries or races happen.
    pub async fn insert_preview(
        &self,
        p: &NewPreview<'_>,
        now_ms: i64,
    ) -> Result<Preview, StoreError> {
        sqlx::query(
            "INSERT INTO previews (repo_id, pr_number, sha, environment, host, driver, deployment_id, adopted, state,
                                   log_token, requested_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $10, $11, $11)
             ON CONFLICT (repo_id, pr_number, sha) DO NOTHING",
        )
        .bind(p.repo_id.as_db())
        .bind(p.pr_number.as_db())
        .bind(p.sha.as_str())
        .bind(p.environment)
        .bind(p.host)
        .bind(p.driver.as_str())
        .bind(db_u64(p.deployment_id))
        .bind(i64::from(p.deployment_id.is_some()))
        .bind(p.log_token)
        .bind(p.requested_by)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        self.preview_for(p.repo_id, p.pr_number, p.sha)
            .await?
            .ok_or_else(|| StoreError::Invalid("preview vanished after insert".into()))
    }

    pub async fn preview_for(
        &self,
        repo: RepoId,
        pr: PrNumber,
        sha: &CommitSha,
    ) -> Result<Option<Preview>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM previews WHERE repo_id = $1 AND pr_number = $2 AND sha = $3"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(repo.as_db())
            .bind(pr.as_db())
            .bind(sha.as_str())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Every preview of a PR, oldest first.
    pub async fn previews_of(
        &self,
        repo: RepoId,
        pr: PrNumber,
    ) -> Result<Vec<Preview>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM previews WHERE repo_id = $1 AND pr_number = $2 ORDER BY id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(repo.as_db())
            .bind(pr.as_db())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn preview_by_deployment(
        &self,
        repo: RepoId,
        deployment_id: u64,
    ) -> Result<Option<Preview>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM previews WHERE repo_id = $1 AND deployment_id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(repo.as_db())
            .bind(db_u64(Some(deployment_id)))
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn preview_exists(&self, repo: RepoId, id: i64) -> Result<bool, StoreError> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM previews WHERE repo_id = $1 AND id = $2")
                .bind(repo.as_db())
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.is_some())
    }

    /// The preview and its log, for the log page.
    pub async fn preview_log(
        &self,
        token: &str,
    ) -> Result<Option<(Preview, Option<String>)>, StoreError> {
        let sql = format!("SELECT {COLUMNS}, log FROM previews WHERE log_token = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token)
            .fetch_optional(self.reader())
            .await?;
        row.map(|r| Ok((from_row(&r)?, r.try_get("log")?)))
            .transpose()
    }

    /// Saves the mutable fields of a preview.
    pub async fn save_preview(&self, p: &Preview, now_ms: i64) -> Result<(), StoreError> {
        self.save_preview_logging(p, None, now_ms).await
    }

    /// Saves the preview and appends `log` to its deploy log in one statement (a driver run's
    /// outcome and its output are recorded together).
    pub async fn save_preview_logging(
        &self,
        p: &Preview,
        log: Option<&str>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        const SET: &str = "UPDATE previews SET deployment_id = $1, create_attempted = $2, state = $3, last_status = $4,
                    environment_url = $5, detail = $6, deployed_at = $7, torn_down_at = $8, updated_at = $9,
                    teardown_kind = $11";
        // Without a log the column is left alone: it can be megabytes, not to be rewritten.
        let sql = match log {
            Some(_) => format!("{SET}, log = COALESCE(log, '') || $12 WHERE id = $10"),
            None => format!("{SET} WHERE id = $10"),
        };
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(db_u64(p.deployment_id))
            .bind(i64::from(p.create_attempted))
            .bind(p.state.as_str())
            .bind(p.last_status.as_deref())
            .bind(p.environment_url.as_deref())
            .bind(p.detail.as_deref())
            .bind(p.deployed_at)
            .bind(p.torn_down_at)
            .bind(now_ms)
            .bind(p.id)
            .bind(p.teardown_kind.map(TeardownKind::as_str));
        if let Some(text) = log {
            q = q.bind(text);
        }
        q.execute(self.pool()).await?;
        Ok(())
    }

    /// Previews still standing (or being taken down), with their PR's state, across every
    /// repository: what the reaper looks at. Returns (preview, PR open, installation, repo name).
    pub async fn standing_previews(&self) -> Result<Vec<(Preview, bool, i64, String)>, StoreError> {
        let cols: Vec<String> = COLUMNS.split(", ").map(|c| format!("v.{c}")).collect();
        let sql = format!(
            "SELECT {}, p.state AS pr_state, p.installation_id AS pr_installation, p.repo_full_name AS pr_repo
             FROM previews v JOIN pull_requests p ON p.repo_id = v.repo_id AND p.number = v.pr_number
             WHERE v.state IN ('pending', 'deploying', 'live', 'failed', 'tearing_down') ORDER BY v.id",
            cols.join(", ")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    from_row(r)?,
                    r.try_get::<String, _>("pr_state")? == "open",
                    r.try_get("pr_installation")?,
                    r.try_get("pr_repo")?,
                ))
            })
            .collect()
    }

    /// Every preview ever recorded with its repository name (operators' `gangway envs`).
    pub async fn all_previews(&self) -> Result<Vec<(Preview, String)>, StoreError> {
        let cols: Vec<String> = COLUMNS.split(", ").map(|c| format!("v.{c}")).collect();
        let sql = format!(
            "SELECT {}, p.repo_full_name AS pr_repo FROM previews v
             JOIN pull_requests p ON p.repo_id = v.repo_id AND p.number = v.pr_number ORDER BY v.id",
            cols.join(", ")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| Ok((from_row(r)?, r.try_get("pr_repo")?)))
            .collect()
    }

    /// Appends to the preview's log (deploy, then teardown).
    pub async fn append_preview_log(&self, id: i64, text: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE previews SET log = COALESCE(log, '') || $1 WHERE id = $2")
            .bind(text)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
