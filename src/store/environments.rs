//! Long-lived environments: one row per deployment to an environment, holds, commits marked bad,
//! and the train's state and PR notices.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, db_u64, invalid_in as invalid, opt_u64};
use crate::model::{BadSha, EnvDeployment, EnvKind, EnvState, Hold};
use crate::types::{CommitSha, PrNumber, RepoId};

pub(super) const COLUMNS: &str = "id, repo_id, environment, sha, kind, requested_by, pr_number, reason, state, deployment_id, create_attempted, detail, log_token, created_at, updated_at, live_at, finished_at";

/// Newest live first; `live_at` is never NULL on a live row, the COALESCE only keeps the order the
/// same on both dialects (they sort NULLs differently).
const NEWEST_LIVE: &str = "COALESCE(live_at, 0) DESC, id DESC";

/// How often a claim retries when it lost to a deployment that ended before it could be read.
const CLAIM_ATTEMPTS: usize = 5;

/// What is known when a deployment to an environment is requested.
#[derive(Debug, Clone)]
pub struct NewEnvDeployment<'a> {
    pub repo_id: RepoId,
    pub environment: &'a str,
    pub sha: &'a CommitSha,
    pub kind: EnvKind,
    pub requested_by: &'a str,
    pub pr_number: Option<PrNumber>,
    pub reason: Option<&'a str>,
    pub log_token: &'a str,
}

pub(super) fn from_row(r: &AnyRow) -> Result<EnvDeployment, StoreError> {
    let sha: String = r.try_get("sha")?;
    let kind: String = r.try_get("kind")?;
    let state: String = r.try_get("state")?;
    let bad = |what, v: &str| invalid("env_deployments", what, v);
    Ok(EnvDeployment {
        id: r.try_get("id")?,
        repo_id: RepoId::from_db(r.try_get("repo_id")?),
        environment: r.try_get("environment")?,
        sha: CommitSha::parse(&sha).map_err(|_| bad("sha", &sha))?,
        kind: EnvKind::parse(&kind).ok_or_else(|| bad("kind", &kind))?,
        requested_by: r.try_get("requested_by")?,
        pr_number: r
            .try_get::<Option<i64>, _>("pr_number")?
            .map(PrNumber::from_db),
        reason: r.try_get("reason")?,
        state: EnvState::parse(&state).ok_or_else(|| bad("state", &state))?,
        deployment_id: opt_u64(r.try_get("deployment_id")?),
        create_attempted: r.try_get::<i64, _>("create_attempted")? != 0,
        detail: r.try_get("detail")?,
        log_token: r.try_get("log_token")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        live_at: r.try_get("live_at")?,
        finished_at: r.try_get("finished_at")?,
    })
}

/// Records `new` as `pending` unless its environment already runs a deployment (`None`).
/// ON CONFLICT names the partial index (columns and predicate): a concurrent claim makes this a
/// no-op on both dialects, never an error that would need a rollback.
pub(super) async fn insert_claim<'e, E>(
    executor: E,
    new: &NewEnvDeployment<'_>,
    now_ms: i64,
) -> Result<Option<EnvDeployment>, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let sql = format!(
        "INSERT INTO env_deployments (repo_id, environment, sha, kind, requested_by, pr_number, reason, state,
                                      log_token, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $9)
         ON CONFLICT (repo_id, environment) WHERE state IN ('pending', 'deploying') DO NOTHING
         RETURNING {COLUMNS}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(new.repo_id.as_db())
        .bind(new.environment)
        .bind(new.sha.as_str())
        .bind(new.kind.as_str())
        .bind(new.requested_by)
        .bind(new.pr_number.map(PrNumber::as_db))
        .bind(new.reason)
        .bind(new.log_token)
        .bind(now_ms)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(from_row).transpose()
}

fn hold_from_row(r: &AnyRow) -> Result<Hold, StoreError> {
    Ok(Hold {
        environment: r.try_get("environment")?,
        held_by: r.try_get("held_by")?,
        reason: r.try_get("reason")?,
        held_at: r.try_get("held_at")?,
    })
}

impl Store {
    /// Records a `pending` deployment unless the environment already runs one: `Ok(new)`, or
    /// `Err(running)`. The partial unique index decides, so this holds across processes.
    pub async fn claim_environment(
        &self,
        new: &NewEnvDeployment<'_>,
        now_ms: i64,
    ) -> Result<Result<EnvDeployment, EnvDeployment>, StoreError> {
        for _ in 0..CLAIM_ATTEMPTS {
            if let Some(d) = insert_claim(self.pool(), new, now_ms).await? {
                return Ok(Ok(d));
            }
            // Lost to a running deployment; if it ended meanwhile, try again.
            if let Some(running) = self
                .running_env_deployment(new.repo_id, new.environment)
                .await?
            {
                return Ok(Err(running));
            }
        }
        Err(StoreError::Invalid(format!(
            "env_deployments: could not claim {:?}: deployments keep starting and ending",
            new.environment
        )))
    }

    pub async fn env_deployment(&self, id: i64) -> Result<Option<EnvDeployment>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM env_deployments WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The deployment GitHub knows by `deployment_id` (for deployment_status events).
    pub async fn env_deployment_by_github(
        &self,
        repo: RepoId,
        deployment_id: u64,
    ) -> Result<Option<EnvDeployment>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM env_deployments WHERE repo_id = $1 AND deployment_id = $2
             ORDER BY id DESC LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(repo.as_db())
            .bind(db_u64(Some(deployment_id)))
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The deployment and its log, for the log page.
    pub async fn env_log(
        &self,
        token: &str,
    ) -> Result<Option<(EnvDeployment, String)>, StoreError> {
        let sql = format!("SELECT {COLUMNS}, log FROM env_deployments WHERE log_token = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token)
            .fetch_optional(self.reader())
            .await?;
        row.map(|r| Ok((from_row(&r)?, r.try_get("log")?)))
            .transpose()
    }

    /// Saves the mutable fields of a deployment (state, GitHub id, detail, times).
    pub async fn save_env_deployment(
        &self,
        d: &EnvDeployment,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE env_deployments SET state = $1, deployment_id = $2, create_attempted = $3, detail = $4,
                    live_at = $5, finished_at = $6, updated_at = $7
             WHERE id = $8",
        )
        .bind(d.state.as_str())
        .bind(db_u64(d.deployment_id))
        .bind(i64::from(d.create_attempted))
        .bind(d.detail.as_deref())
        .bind(d.live_at)
        .bind(d.finished_at)
        .bind(now_ms)
        .bind(d.id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Appends to the deployment's log.
    pub async fn append_env_log(&self, id: i64, text: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE env_deployments SET log = COALESCE(log, '') || $1 WHERE id = $2")
            .bind(text)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The deployment holding the environment (pending or deploying), if any.
    pub async fn running_env_deployment(
        &self,
        repo: RepoId,
        env: &str,
    ) -> Result<Option<EnvDeployment>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM env_deployments
             WHERE repo_id = $1 AND environment = $2 AND state IN ('pending', 'deploying')
             ORDER BY id DESC LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(repo.as_db())
            .bind(env)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// What the environment runs now: the live deployment that went live last.
    pub async fn current_env_deployment(
        &self,
        repo: RepoId,
        env: &str,
    ) -> Result<Option<EnvDeployment>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM env_deployments
             WHERE repo_id = $1 AND environment = $2 AND state = 'live'
             ORDER BY {NEWEST_LIVE} LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(repo.as_db())
            .bind(env)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Every deployment of the environment still marked live, newest first (the older ones are
    /// to be marked inactive).
    pub async fn live_env_deployments(
        &self,
        repo: RepoId,
        env: &str,
    ) -> Result<Vec<EnvDeployment>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM env_deployments
             WHERE repo_id = $1 AND environment = $2 AND state = 'live'
             ORDER BY {NEWEST_LIVE}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(repo.as_db())
            .bind(env)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// What a rollback returns to: the newest deployment that ever went live, of a commit other
    /// than `except_sha` and not marked bad.
    pub async fn last_good_env_deployment(
        &self,
        repo: RepoId,
        env: &str,
        except_sha: &CommitSha,
    ) -> Result<Option<EnvDeployment>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM env_deployments d
             WHERE d.repo_id = $1 AND d.environment = $2 AND d.live_at IS NOT NULL AND d.sha <> $3
               AND NOT EXISTS (SELECT 1 FROM bad_shas b WHERE b.repo_id = d.repo_id AND b.sha = d.sha)
             ORDER BY d.live_at DESC, d.id DESC LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(repo.as_db())
            .bind(env)
            .bind(except_sha.as_str())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The environment's deployments, newest first, at most `limit`.
    pub async fn env_deployments_of(
        &self,
        repo: RepoId,
        env: &str,
        limit: i64,
    ) -> Result<Vec<EnvDeployment>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM env_deployments WHERE repo_id = $1 AND environment = $2
             ORDER BY id DESC LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(repo.as_db())
            .bind(env)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// For every repository and environment, what runs now and what is being deployed, with the
    /// repository's name (operators' `gangway envs`). Ordered by name, environment, id.
    pub async fn env_overview(&self) -> Result<Vec<(String, EnvDeployment)>, StoreError> {
        let cols: Vec<String> = COLUMNS.split(", ").map(|c| format!("d.{c}")).collect();
        // The name from the installation's repository list, else from any PR seen, else the id.
        let sql = format!(
            "SELECT {}, COALESCE(
                    (SELECT r.full_name FROM repositories r WHERE r.id = d.repo_id),
                    (SELECT MAX(p.repo_full_name) FROM pull_requests p WHERE p.repo_id = d.repo_id),
                    CAST(d.repo_id AS TEXT)) AS repo_name
             FROM env_deployments d
             WHERE d.state IN ('pending', 'deploying')
                OR d.id = (SELECT c.id FROM env_deployments c
                           WHERE c.repo_id = d.repo_id AND c.environment = d.environment AND c.state = 'live'
                           ORDER BY COALESCE(c.live_at, 0) DESC, c.id DESC LIMIT 1)
             ORDER BY repo_name, d.environment, d.id",
            cols.join(", ")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("repo_name")?, from_row(r)?)))
            .collect()
    }

    /// Holds the environment (replacing any earlier hold) and returns the hold.
    pub async fn set_hold(
        &self,
        repo: RepoId,
        env: &str,
        by: &str,
        reason: Option<&str>,
        now_ms: i64,
    ) -> Result<Hold, StoreError> {
        sqlx::query(
            "INSERT INTO env_holds (repo_id, environment, held_by, reason, held_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (repo_id, environment) DO UPDATE SET held_by = excluded.held_by,
                reason = excluded.reason, held_at = excluded.held_at",
        )
        .bind(repo.as_db())
        .bind(env)
        .bind(by)
        .bind(reason)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        Ok(Hold {
            environment: env.to_owned(),
            held_by: by.to_owned(),
            reason: reason.map(str::to_owned),
            held_at: now_ms,
        })
    }

    /// Releases the environment; returns the hold that was removed, if there was one.
    pub async fn clear_hold(&self, repo: RepoId, env: &str) -> Result<Option<Hold>, StoreError> {
        let row = sqlx::query(
            "DELETE FROM env_holds WHERE repo_id = $1 AND environment = $2
             RETURNING environment, held_by, reason, held_at",
        )
        .bind(repo.as_db())
        .bind(env)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(hold_from_row).transpose()
    }

    pub async fn hold(&self, repo: RepoId, env: &str) -> Result<Option<Hold>, StoreError> {
        let row = sqlx::query(
            "SELECT environment, held_by, reason, held_at FROM env_holds
             WHERE repo_id = $1 AND environment = $2",
        )
        .bind(repo.as_db())
        .bind(env)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(hold_from_row).transpose()
    }

    /// Every hold of the repository, by environment.
    pub async fn holds(&self, repo: RepoId) -> Result<Vec<Hold>, StoreError> {
        let rows = sqlx::query(
            "SELECT environment, held_by, reason, held_at FROM env_holds
             WHERE repo_id = $1 ORDER BY environment",
        )
        .bind(repo.as_db())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(hold_from_row).collect()
    }

    /// Marks a commit bad (replacing an earlier mark): never deployed again, skipped by rollbacks.
    pub async fn mark_bad(
        &self,
        repo: RepoId,
        sha: &CommitSha,
        env: &str,
        by: &str,
        reason: Option<&str>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO bad_shas (repo_id, sha, environment, marked_by, reason, marked_at) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (repo_id, sha) DO UPDATE SET environment = excluded.environment,
                marked_by = excluded.marked_by, reason = excluded.reason, marked_at = excluded.marked_at",
        )
        .bind(repo.as_db())
        .bind(sha.as_str())
        .bind(env)
        .bind(by)
        .bind(reason)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn bad_sha(
        &self,
        repo: RepoId,
        sha: &CommitSha,
    ) -> Result<Option<BadSha>, StoreError> {
        let row = sqlx::query(
            "SELECT sha, environment, marked_by, reason, marked_at FROM bad_shas
             WHERE repo_id = $1 AND sha = $2",
        )
        .bind(repo.as_db())
        .bind(sha.as_str())
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            let sha: String = r.try_get("sha")?;
            Ok(BadSha {
                sha: CommitSha::parse(&sha).map_err(|_| invalid("bad_shas", "sha", &sha))?,
                environment: r.try_get("environment")?,
                marked_by: r.try_get("marked_by")?,
                reason: r.try_get("reason")?,
                marked_at: r.try_get("marked_at")?,
            })
        })
        .transpose()
    }

    /// Unmarks a commit; false when it was not marked.
    pub async fn clear_bad(&self, repo: RepoId, sha: &CommitSha) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM bad_shas WHERE repo_id = $1 AND sha = $2")
            .bind(repo.as_db())
            .bind(sha.as_str())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The repository's train, as the engine last saved it (opaque JSON).
    pub async fn train_state(&self, repo: RepoId) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT state FROM trains WHERE repo_id = $1")
            .bind(repo.as_db())
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|(s,)| s))
    }

    pub async fn save_train_state(
        &self,
        repo: RepoId,
        state: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO trains (repo_id, state, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (repo_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
        )
        .bind(repo.as_db())
        .bind(state)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The train comment on a PR: (comment id, body last written), if one was recorded.
    pub async fn train_notice(
        &self,
        repo: RepoId,
        pr: PrNumber,
    ) -> Result<Option<(Option<u64>, Option<String>)>, StoreError> {
        let row: Option<(Option<i64>, Option<String>)> = sqlx::query_as(
            "SELECT comment_id, body FROM train_notices WHERE repo_id = $1 AND pr_number = $2",
        )
        .bind(repo.as_db())
        .bind(pr.as_db())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(id, body)| (opt_u64(id), body)))
    }

    pub async fn save_train_notice(
        &self,
        repo: RepoId,
        pr: PrNumber,
        comment_id: Option<u64>,
        body: Option<&str>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO train_notices (repo_id, pr_number, comment_id, body, updated_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (repo_id, pr_number) DO UPDATE SET comment_id = excluded.comment_id,
                body = excluded.body, updated_at = excluded.updated_at",
        )
        .bind(repo.as_db())
        .bind(pr.as_db())
        .bind(db_u64(comment_id))
        .bind(body)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "environments_tests.rs"]
pub(super) mod tests;
