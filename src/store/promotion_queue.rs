//! The promotion queue (`promotion_queue`): promotions waiting for their environment or target,
//! each started in one transaction with its deployment's claim, so a crash never leaves an
//! entry both waiting and deployed; and the deployments a `/rollback` may return to.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::environments::{COLUMNS as ENV_COLUMNS, from_row as env_from_row, insert_claim};
use super::{NewEnvDeployment, Store, StoreError, invalid_in as invalid};
use crate::model::{EnvDeployment, QueueState, QueuedPromotion};
use crate::types::{CommitSha, PrNumber, RepoId};

const COLUMNS: &str = "id, repo_id, family, environment, sha, pr_number, requested_by, force, batch, state, reason, env_deployment_id, created_at, updated_at";

/// A promotion to queue.
#[derive(Debug, Clone)]
pub struct NewQueued<'a> {
    pub repo_id: RepoId,
    pub family: &'a str,
    pub environment: &'a str,
    pub sha: &'a CommitSha,
    pub pr_number: Option<PrNumber>,
    pub requested_by: &'a str,
    pub force: bool,
    pub batch: &'a str,
}

/// Starting a promotion as it is queued, if it may (see [`Store::queue_promotion`]).
#[derive(Debug, Clone)]
pub struct StartNow<'a> {
    /// The deployment to claim.
    pub claim: &'a NewEnvDeployment<'a>,
    /// Every environment or target of the promotion's environment (`production-au`, …).
    pub units: &'a [String],
    /// At most this many of them deploying at once.
    pub limit: usize,
}

/// What queuing a promotion did.
#[derive(Debug, Clone)]
pub struct Queued {
    pub entry: QueuedPromotion,
    /// The older promotions of the same environment or target it replaced.
    pub superseded: Vec<QueuedPromotion>,
    /// Its deployment, when it started at once.
    pub started: Option<EnvDeployment>,
    /// How many promotions of the same environment or target wait ahead of it.
    pub ahead: usize,
}

/// How starting a queued promotion went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOutcome {
    /// Its deployment is claimed and the entry is `started`.
    Started(Box<EnvDeployment>),
    /// The environment runs another deployment: the entry still waits.
    Busy,
    /// The entry no longer waits (cancelled, superseded, started by another run).
    Gone,
}

fn from_row(r: &AnyRow) -> Result<QueuedPromotion, StoreError> {
    let sha: String = r.try_get("sha")?;
    let state: String = r.try_get("state")?;
    let bad = |what, v: &str| invalid("promotion_queue", what, v);
    Ok(QueuedPromotion {
        id: r.try_get("id")?,
        repo_id: RepoId::from_db(r.try_get("repo_id")?),
        family: r.try_get("family")?,
        environment: r.try_get("environment")?,
        sha: CommitSha::parse(&sha).map_err(|_| bad("sha", &sha))?,
        pr_number: r
            .try_get::<Option<i64>, _>("pr_number")?
            .map(PrNumber::from_db),
        requested_by: r.try_get("requested_by")?,
        force: r.try_get::<i64, _>("force")? != 0,
        batch: r.try_get("batch")?,
        state: QueueState::parse(&state).ok_or_else(|| bad("state", &state))?,
        reason: r.try_get("reason")?,
        env_deployment_id: r.try_get("env_deployment_id")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

impl Store {
    /// Queues a promotion; any older one still waiting for the same environment (or target)
    /// is superseded by it, in the same transaction. With `start`, it is also started in that
    /// transaction when it may start now: nothing older waits in its environment's queue, its
    /// environment or target runs nothing (the partial unique index decides), and fewer than
    /// `start.limit` of `start.units` run. So a second promotion queued at the same moment sees
    /// this one started, never waiting: it cannot supersede a promotion about to start.
    pub async fn queue_promotion(
        &self,
        new: &NewQueued<'_>,
        start: Option<&StartNow<'_>>,
        now_ms: i64,
    ) -> Result<Queued, StoreError> {
        let mut tx = self.pool().begin().await?;
        let sql = format!(
            "UPDATE promotion_queue SET state = 'superseded', reason = $1, updated_at = $2
             WHERE repo_id = $3 AND environment = $4 AND state = 'waiting'
             RETURNING {COLUMNS}"
        );
        let why = format!("superseded by the promotion of {}", new.sha.short());
        let superseded = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(why)
            .bind(now_ms)
            .bind(new.repo_id.as_db())
            .bind(new.environment)
            .fetch_all(&mut *tx)
            .await?;
        let sql = format!(
            "INSERT INTO promotion_queue (repo_id, family, environment, sha, pr_number, requested_by,
                                          force, batch, state, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'waiting', $9, $9)
             RETURNING {COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(new.repo_id.as_db())
            .bind(new.family)
            .bind(new.environment)
            .bind(new.sha.as_str())
            .bind(new.pr_number.map(PrNumber::as_db))
            .bind(new.requested_by)
            .bind(i64::from(new.force))
            .bind(new.batch)
            .bind(now_ms)
            .fetch_one(&mut *tx)
            .await?;
        let mut entry = from_row(&row)?;
        let older: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM promotion_queue
             WHERE repo_id = $1 AND family = $2 AND state = 'waiting' AND id < $3",
        )
        .bind(new.repo_id.as_db())
        .bind(new.family)
        .bind(entry.id)
        .fetch_one(&mut *tx)
        .await?;
        let ahead: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM promotion_queue
             WHERE repo_id = $1 AND environment = $2 AND state = 'waiting' AND id < $3",
        )
        .bind(new.repo_id.as_db())
        .bind(new.environment)
        .bind(entry.id)
        .fetch_one(&mut *tx)
        .await?;
        let mut started = None;
        if let Some(start) = start
            && older == 0
        {
            let mut running = 0usize;
            for unit in start.units {
                let busy: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM env_deployments
                     WHERE repo_id = $1 AND environment = $2 AND state IN ('pending', 'deploying')
                     LIMIT 1",
                )
                .bind(new.repo_id.as_db())
                .bind(unit.as_str())
                .fetch_optional(&mut *tx)
                .await?;
                running += usize::from(busy.is_some());
            }
            if running < start.limit
                && let Some(d) = insert_claim(&mut *tx, start.claim, now_ms).await?
            {
                sqlx::query(
                    "UPDATE promotion_queue SET state = 'started', env_deployment_id = $1,
                            updated_at = $2 WHERE id = $3",
                )
                .bind(d.id)
                .bind(now_ms)
                .bind(entry.id)
                .execute(&mut *tx)
                .await?;
                entry.state = QueueState::Started;
                entry.env_deployment_id = Some(d.id);
                started = Some(d);
            }
        }
        tx.commit().await?;
        Ok(Queued {
            entry,
            superseded: superseded.iter().map(from_row).collect::<Result<_, _>>()?,
            started,
            ahead: usize::try_from(ahead).unwrap_or(0),
        })
    }

    /// The promotions waiting in an environment's queue (its targets' too), oldest first.
    pub async fn waiting_promotions(
        &self,
        repo: RepoId,
        family: &str,
    ) -> Result<Vec<QueuedPromotion>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM promotion_queue
             WHERE repo_id = $1 AND family = $2 AND state = 'waiting' ORDER BY id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(repo.as_db())
            .bind(family)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Every promotion still waiting, with its repository's name (operators' `gangway envs`).
    pub async fn queue_overview(&self) -> Result<Vec<(String, QueuedPromotion)>, StoreError> {
        let cols: Vec<String> = COLUMNS.split(", ").map(|c| format!("q.{c}")).collect();
        let sql = format!(
            "SELECT {}, COALESCE(
                    (SELECT r.full_name FROM repositories r WHERE r.id = q.repo_id),
                    CAST(q.repo_id AS TEXT)) AS repo_name
             FROM promotion_queue q WHERE q.state = 'waiting'
             ORDER BY repo_name, q.environment, q.id",
            cols.join(", ")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("repo_name")?, from_row(r)?)))
            .collect()
    }

    /// A pull request's promotions, newest first, at most `limit` (its sticky comment).
    pub async fn promotions_of_pull(
        &self,
        repo: RepoId,
        number: PrNumber,
        limit: i64,
    ) -> Result<Vec<QueuedPromotion>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM promotion_queue WHERE repo_id = $1 AND pr_number = $2
             ORDER BY id DESC LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(repo.as_db())
            .bind(number.as_db())
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// The queue entry a deployment was started from, if it was.
    pub async fn promotion_of_deployment(
        &self,
        env_deployment_id: i64,
    ) -> Result<Option<QueuedPromotion>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM promotion_queue WHERE env_deployment_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(env_deployment_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Starts a waiting entry: claims its environment (the partial unique index decides, as
    /// in `claim_environment`) and marks the entry started, in one transaction.
    pub async fn start_queued(
        &self,
        entry: i64,
        new: &NewEnvDeployment<'_>,
        now_ms: i64,
    ) -> Result<StartOutcome, StoreError> {
        let mut tx = self.pool().begin().await?;
        let sql = format!(
            "INSERT INTO env_deployments (repo_id, environment, sha, kind, requested_by, pr_number, reason, state,
                                          log_token, created_at, updated_at)
             SELECT $1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $9
             WHERE EXISTS (SELECT 1 FROM promotion_queue WHERE id = $10 AND state = 'waiting')
             ON CONFLICT (repo_id, environment) WHERE state IN ('pending', 'deploying') DO NOTHING
             RETURNING {ENV_COLUMNS}"
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
            .bind(entry)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            let waiting: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM promotion_queue WHERE id = $1 AND state = 'waiting'",
            )
            .bind(entry)
            .fetch_optional(&mut *tx)
            .await?;
            tx.rollback().await?;
            return Ok(if waiting.is_some() {
                StartOutcome::Busy
            } else {
                StartOutcome::Gone
            });
        };
        let d = env_from_row(&row)?;
        sqlx::query(
            "UPDATE promotion_queue SET state = 'started', env_deployment_id = $1, updated_at = $2
             WHERE id = $3",
        )
        .bind(d.id)
        .bind(now_ms)
        .bind(entry)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(StartOutcome::Started(Box::new(d)))
    }

    /// Ends a waiting entry without starting it (`state`: superseded, cancelled, halted or
    /// refused); false when it no longer waited.
    pub async fn end_queued(
        &self,
        entry: i64,
        state: QueueState,
        reason: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE promotion_queue SET state = $1, reason = $2, updated_at = $3
             WHERE id = $4 AND state = 'waiting'",
        )
        .bind(state.as_str())
        .bind(reason)
        .bind(now_ms)
        .bind(entry)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Deployments started from the queue of `family` that no job has begun yet (`pending`):
    /// a run that stopped between the claim and queuing the job left them.
    pub async fn started_unrun(
        &self,
        repo: RepoId,
        family: &str,
    ) -> Result<Vec<EnvDeployment>, StoreError> {
        let cols: Vec<String> = ENV_COLUMNS.split(", ").map(|c| format!("d.{c}")).collect();
        let sql = format!(
            "SELECT {} FROM env_deployments d JOIN promotion_queue q ON q.env_deployment_id = d.id
             WHERE q.repo_id = $1 AND q.family = $2 AND q.state = 'started' AND d.state = 'pending'
             ORDER BY d.id",
            cols.join(", ")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(repo.as_db())
            .bind(family)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(env_from_row).collect()
    }

    /// The newest deployment of a commit (`sha_prefix`: its sha or a prefix of it) that went
    /// live in `env`: what `/rollback <sha>` may return to.
    pub async fn succeeded_in(
        &self,
        repo: RepoId,
        env: &str,
        sha_prefix: &str,
    ) -> Result<Option<EnvDeployment>, StoreError> {
        let sql = format!(
            "SELECT {ENV_COLUMNS} FROM env_deployments
             WHERE repo_id = $1 AND environment = $2 AND live_at IS NOT NULL
               AND sha LIKE $3
             ORDER BY live_at DESC, id DESC LIMIT 1"
        );
        // A prefix is 7 to 40 hexadecimal digits (the parser's rule, checked again here), so
        // no LIKE wildcard and no prefix short enough to match at random reaches the query.
        if !(7..=40).contains(&sha_prefix.len())
            || !sha_prefix.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Ok(None);
        }
        let pattern = format!("{}%", sha_prefix.to_ascii_lowercase());
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(repo.as_db())
            .bind(env)
            .bind(pattern)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(env_from_row).transpose()
    }
}

#[cfg(test)]
#[path = "promotion_queue_tests.rs"]
mod tests;
