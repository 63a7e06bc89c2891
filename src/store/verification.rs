//! Verifications after environment deployments (`verify:`): one row per deployment verified,
//! keyed on `env_deployments.id`, so a restart finds the deploy done and the verification where
//! it stopped, and its end is recorded once.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, db_u64, invalid_in as invalid, opt_u64};
use crate::model::{Verification, VerifyState};
use crate::types::{CommitSha, RepoId};

const COLUMNS: &str = "env_deployment_id, repo_id, environment, deployment_id, sha, command, checks, command_state, state, detail, started_at, deadline, finished_at";

fn from_row(r: &AnyRow) -> Result<Verification, StoreError> {
    let sha: String = r.try_get("sha")?;
    let state: String = r.try_get("state")?;
    let checks: String = r.try_get("checks")?;
    let command_state: Option<String> = r.try_get("command_state")?;
    let bad = |what, v: &str| invalid("verifications", what, v);
    Ok(Verification {
        env_deployment_id: r.try_get("env_deployment_id")?,
        repo_id: RepoId::from_db(r.try_get("repo_id")?),
        environment: r.try_get("environment")?,
        deployment_id: opt_u64(r.try_get("deployment_id")?),
        sha: CommitSha::parse(&sha).map_err(|_| bad("sha", &sha))?,
        command: r.try_get::<i64, _>("command")? != 0,
        checks: serde_json::from_str(&checks).map_err(|_| bad("checks", &checks))?,
        command_passed: match command_state.as_deref() {
            None => None,
            Some("passed") => Some(true),
            Some("failed") => Some(false),
            Some(other) => return Err(bad("command_state", other)),
        },
        state: VerifyState::parse(&state).ok_or_else(|| bad("state", &state))?,
        detail: r.try_get("detail")?,
        started_at: r.try_get("started_at")?,
        deadline: r.try_get("deadline")?,
        finished_at: r.try_get("finished_at")?,
    })
}

fn command_state(v: &Verification) -> Option<&'static str> {
    v.command_passed
        .map(|passed| if passed { "passed" } else { "failed" })
}

impl Store {
    /// Records a verification starting, unless the deployment has one already: the stored one
    /// is returned either way (a rerun resumes the first).
    pub async fn begin_verification(&self, v: &Verification) -> Result<Verification, StoreError> {
        let checks = serde_json::to_string(&v.checks)
            .map_err(|e| StoreError::Invalid(format!("verifications: checks: {e}")))?;
        sqlx::query(
            "INSERT INTO verifications (env_deployment_id, repo_id, environment, deployment_id, sha, command, checks,
                                        command_state, state, detail, started_at, deadline, finished_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT (env_deployment_id) DO NOTHING",
        )
        .bind(v.env_deployment_id)
        .bind(v.repo_id.as_db())
        .bind(v.environment.as_str())
        .bind(db_u64(v.deployment_id))
        .bind(v.sha.as_str())
        .bind(i64::from(v.command))
        .bind(checks)
        .bind(command_state(v))
        .bind(v.state.as_str())
        .bind(v.detail.as_deref())
        .bind(v.started_at)
        .bind(v.deadline)
        .bind(v.finished_at)
        .execute(self.pool())
        .await?;
        self.verification(v.env_deployment_id)
            .await?
            .ok_or_else(|| {
                StoreError::Invalid("verifications: the row just written is gone".into())
            })
    }

    /// The verification of one environment deployment (`env_deployments.id`).
    pub async fn verification(
        &self,
        env_deployment: i64,
    ) -> Result<Option<Verification>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM verifications WHERE env_deployment_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(env_deployment)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Saves a running verification's progress (the command's outcome); `false` when it is over
    /// already (another run recorded its end), so nothing is written.
    pub async fn save_verification(&self, v: &Verification) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE verifications SET command_state = $2, state = $3, detail = $4, finished_at = $5
             WHERE env_deployment_id = $1 AND state = 'running'",
        )
        .bind(v.env_deployment_id)
        .bind(command_state(v))
        .bind(v.state.as_str())
        .bind(v.detail.as_deref())
        .bind(v.finished_at)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The newest verifications of a repository's environment, newest first (at most `limit`).
    pub async fn verifications_in(
        &self,
        repo: RepoId,
        environment: &str,
        limit: i64,
    ) -> Result<Vec<Verification>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM verifications WHERE repo_id = $1 AND environment = $2
             ORDER BY started_at DESC, env_deployment_id DESC LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(repo.as_db())
            .bind(environment)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }
}
