//! Durable jobs: enqueue, claim with a lease, retry with backoff, dead after N attempts.
//!
//! Owns: the job lifecycle `queued → running → done | queued (retry) | dead`. The database enforces
//! one running job per serialization key (a partial unique index), so the guarantee holds across
//! replicas. A claim is a lease: the worker renews it while it runs; a job whose worker died is
//! queued again once the lease runs out. Never interprets a job's payload: that is the handler's.
//!
//! Why not apalis: its SQL backends own their schema and cannot insert a job in the same
//! transaction as our delivery row, and have no per-key serialization; both are the point here.

mod pressure;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use backon::BackoffBuilder;
use sqlx::{AnyConnection, Row};

use crate::clock::SharedClock;
use crate::config::QueueSettings;
use crate::store::{DbKind, Store, StoreError};

pub use pressure::IngestPressure;
pub use worker::{Handler, HandlerFuture, WorkerPool};

/// A job to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub kind: String,
    /// Jobs with the same key never run at the same time (e.g. `123#pr7`).
    pub key: String,
    pub payload: String,
    /// When to run it first; `None` = now.
    pub run_at_ms: Option<i64>,
    /// 0 for webhooks and commands; higher for background (timer) work, which yields to them.
    pub priority: i64,
}

/// Priority of background work started by timers.
pub const BACKGROUND: i64 = 1;

/// A claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub key: String,
    pub payload: String,
    /// Including this one.
    pub attempts: i64,
    pub max_attempts: i64,
    pub delivery_id: Option<String>,
}

/// How a job attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Worth another attempt later (GitHub 5xx, rate limits, timeouts, database busy).
    #[error("{message}")]
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Will fail the same way every time (bad payload, 4xx): stop now and keep the reason.
    #[error("{0}")]
    Permanent(String),
    /// Not a failure: wait until then (e.g. the rate-limit budget refills) and run again,
    /// without spending an attempt.
    #[error("deferred until {until_ms} ms: {reason}")]
    Defer { until_ms: i64, reason: String },
}

impl JobError {
    pub fn transient(message: impl Into<String>) -> Self {
        JobError::Transient {
            message: message.into(),
            retry_after: None,
        }
    }
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        if e.is_transient() {
            JobError::transient(e.to_string())
        } else {
            JobError::Permanent(e.to_string())
        }
    }
}

/// What happened to a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    RetryAt(i64),
    Dead,
}

/// A job row for operators (`jobs --dead`) and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    pub id: i64,
    pub kind: String,
    pub key: String,
    pub state: String,
    pub attempts: i64,
    pub run_at: i64,
    pub last_error: Option<String>,
    pub delivery_id: Option<String>,
}

pub(crate) async fn insert_job(
    conn: &mut AnyConnection,
    job: &NewJob,
    delivery_id: Option<&str>,
    now_ms: i64,
    max_attempts: i64,
) -> Result<i64, StoreError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO jobs (kind, key, payload, state, run_at, attempts, max_attempts, delivery_id, created_at, priority)
         VALUES ($1, $2, $3, 'queued', $4, 0, $5, $6, $7, $8) RETURNING id",
    )
    .bind(&job.kind)
    .bind(&job.key)
    .bind(&job.payload)
    .bind(job.run_at_ms.unwrap_or(now_ms))
    .bind(max_attempts)
    .bind(delivery_id)
    .bind(now_ms)
    .bind(job.priority)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

const CLAIM_SQLITE: &str = "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1, started_at = $3
     WHERE id = (SELECT j.id FROM jobs j WHERE j.state = 'queued' AND j.run_at <= $3
                 AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.key = j.key AND r.state = 'running')
                 ORDER BY j.priority, j.run_at, j.id LIMIT 1)
     RETURNING id, kind, key, payload, attempts, max_attempts, delivery_id";

// SKIP LOCKED: concurrent claimers in other replicas pass over each other's candidates instead
// of queueing behind them. Two claimers picking different jobs of one key is stopped by the
// unique index; the loser sees a unique violation and simply finds nothing this round.
const CLAIM_POSTGRES: &str = "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1, started_at = $3
     WHERE id = (SELECT j.id FROM jobs j WHERE j.state = 'queued' AND j.run_at <= $3
                 AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.key = j.key AND r.state = 'running')
                 ORDER BY j.priority, j.run_at, j.id LIMIT 1 FOR UPDATE SKIP LOCKED)
     RETURNING id, kind, key, payload, attempts, max_attempts, delivery_id";

/// The queue as seen by one process (`owner` names it in leases).
#[derive(Clone)]
pub struct Queue {
    store: Store,
    clock: SharedClock,
    owner: String,
    settings: QueueSettings,
    pressure: Arc<IngestPressure>,
}

impl Queue {
    pub fn new(
        store: Store,
        clock: SharedClock,
        owner: impl Into<String>,
        settings: QueueSettings,
    ) -> Self {
        Queue {
            store,
            clock,
            owner: owner.into(),
            settings,
            pressure: Arc::default(),
        }
    }

    /// The burst signal this process's ingress raises and its workers heed.
    pub fn pressure(&self) -> &Arc<IngestPressure> {
        &self.pressure
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn settings(&self) -> &QueueSettings {
        &self.settings
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn max_attempts(&self) -> i64 {
        i64::from(self.settings.max_attempts)
    }

    fn lease_ms(&self) -> i64 {
        i64::try_from(self.settings.lease.as_millis()).unwrap_or(i64::MAX / 2)
    }

    pub async fn enqueue(&self, job: &NewJob) -> Result<i64, StoreError> {
        let mut conn = self.store.pool().acquire().await?;
        insert_job(&mut conn, job, None, self.now_ms(), self.max_attempts()).await
    }

    /// Takes the next due job whose key is not busy, leased to this owner; `None` if there is none.
    pub async fn claim(&self) -> Result<Option<Job>, StoreError> {
        let now = self.now_ms();
        let sql = match self.store.kind() {
            DbKind::Sqlite => CLAIM_SQLITE,
            DbKind::Postgres => CLAIM_POSTGRES,
        };
        let row = sqlx::query(sql)
            .bind(&self.owner)
            .bind(now + self.lease_ms())
            .bind(now)
            .fetch_optional(self.store.pool())
            .await;
        let row = match row {
            Ok(r) => r,
            // Lost a race for a key to another claimer: nothing for us right now.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        row.map(|r| {
            Ok(Job {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                key: r.try_get("key")?,
                payload: r.try_get("payload")?,
                attempts: r.try_get("attempts")?,
                max_attempts: r.try_get("max_attempts")?,
                delivery_id: r.try_get("delivery_id")?,
            })
        })
        .transpose()
    }

    /// Extends the lease; `false` if the job is no longer ours (it expired and was retaken).
    pub async fn heartbeat(&self, job: &Job) -> Result<bool, StoreError> {
        let n = sqlx::query("UPDATE jobs SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'running'")
            .bind(self.now_ms() + self.lease_ms())
            .bind(job.id)
            .bind(&self.owner)
            .execute(self.store.pool())
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    pub async fn complete(&self, job: &Job) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE jobs SET state = 'done', finished_at = $1, lease_owner = NULL, lease_until = NULL, last_error = NULL
             WHERE id = $2 AND lease_owner = $3",
        )
        .bind(self.now_ms())
        .bind(job.id)
        .bind(&self.owner)
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// Delay before attempt `attempts + 1`: exponential from the base, capped, with jitter.
    pub fn backoff(&self, attempts: i64) -> Duration {
        let mut schedule = backon::ExponentialBuilder::default()
            .with_min_delay(self.settings.backoff_base)
            .with_max_delay(self.settings.backoff_max)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build();
        let n = usize::try_from(attempts.max(1) - 1).unwrap_or(0);
        schedule.nth(n).unwrap_or(self.settings.backoff_max)
    }

    /// Records a failed attempt: queued again after backoff (or `Retry-After`), or dead.
    pub async fn fail(&self, job: &Job, err: &JobError) -> Result<FailOutcome, StoreError> {
        let now = self.now_ms();
        if let JobError::Defer { until_ms, reason } = err {
            let run_at = (*until_ms).max(now);
            sqlx::query(
                "UPDATE jobs SET state = 'queued', run_at = $1, attempts = attempts - 1, last_error = $2,
                        lease_owner = NULL, lease_until = NULL
                 WHERE id = $3 AND lease_owner = $4",
            )
            .bind(run_at)
            .bind(format!("deferred: {reason}"))
            .bind(job.id)
            .bind(&self.owner)
            .execute(self.store.pool())
            .await?;
            return Ok(FailOutcome::RetryAt(run_at));
        }
        let (dead, delay) = match err {
            JobError::Defer { .. } => (false, Duration::ZERO),
            JobError::Permanent(_) => (true, Duration::ZERO),
            JobError::Transient { retry_after, .. } => {
                let backoff = self.backoff(job.attempts);
                (
                    job.attempts >= job.max_attempts,
                    retry_after.unwrap_or(backoff),
                )
            }
        };
        let message = format!(
            "attempt {}/{}: {}",
            job.attempts,
            job.max_attempts,
            crate::types::truncate_long(&err.to_string(), 4000)
        );
        let run_at = now + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
        sqlx::query(
            "UPDATE jobs SET state = $1, run_at = $2, last_error = $3, lease_owner = NULL, lease_until = NULL,
                    finished_at = $4
             WHERE id = $5 AND lease_owner = $6",
        )
        .bind(if dead { "dead" } else { "queued" })
        .bind(run_at)
        .bind(message)
        .bind(dead.then_some(now))
        .bind(job.id)
        .bind(&self.owner)
        .execute(self.store.pool())
        .await?;
        Ok(if dead {
            FailOutcome::Dead
        } else {
            FailOutcome::RetryAt(run_at)
        })
    }

    /// Gives a job back untouched (shutdown): queued at once, the attempt not counted.
    pub async fn release(&self, job_id: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = attempts - 1, lease_owner = NULL, lease_until = NULL
             WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
        )
        .bind(job_id)
        .bind(&self.owner)
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// Queues again (or kills, when out of attempts) every job whose lease ran out: its worker died.
    pub async fn recover_expired(&self) -> Result<u64, StoreError> {
        let now = self.now_ms();
        let n = sqlx::query(
            "UPDATE jobs SET
                state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END,
                finished_at = CASE WHEN attempts >= max_attempts THEN $1 ELSE NULL END,
                last_error = 'the worker holding this job stopped answering (lease expired by ' || lease_owner || ')',
                lease_owner = NULL, lease_until = NULL
             WHERE state = 'running' AND lease_until < $1",
        )
        .bind(now)
        .execute(self.store.pool())
        .await?
        .rows_affected();
        Ok(n)
    }

    /// Number of jobs in each state.
    pub async fn counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM jobs GROUP BY state ORDER BY state")
                .fetch_all(self.store.pool())
                .await?;
        Ok(rows)
    }

    pub async fn jobs(&self, state: Option<&str>) -> Result<Vec<JobRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, key, state, attempts, run_at, last_error, delivery_id FROM jobs
             WHERE $1 IS NULL OR state = $1 ORDER BY id",
        )
        .bind(state)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(JobRecord {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    key: r.try_get("key")?,
                    state: r.try_get("state")?,
                    attempts: r.try_get("attempts")?,
                    run_at: r.try_get("run_at")?,
                    last_error: r.try_get("last_error")?,
                    delivery_id: r.try_get("delivery_id")?,
                })
            })
            .collect()
    }

    /// An operator's retry of a dead job: queued now with a fresh set of attempts.
    pub async fn retry_dead(&self, id: i64) -> Result<bool, StoreError> {
        let n = sqlx::query("UPDATE jobs SET state = 'queued', attempts = 0, run_at = $1, finished_at = NULL WHERE id = $2 AND state = 'dead'")
            .bind(self.now_ms())
            .bind(id)
            .execute(self.store.pool())
            .await?
            .rows_affected();
        Ok(n == 1)
    }
}
