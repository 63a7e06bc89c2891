//! Durable jobs: enqueue, claim with a lease, retry with backoff, dead after N attempts.
//!
//! Owns: the job lifecycle `queued → running → done | queued (retry) | dead`. The database enforces
//! one running job per serialization key (a partial unique index), so the guarantee holds across
//! replicas. A claim is a lease: the worker renews it while it runs; a job whose worker died is
//! queued again once the lease runs out. Decides when (backoff, lease length, dead after N
//! attempts); the statements are the store's (`store::jobs`), and what a job is (kind, key,
//! payload) is the catalogue's (`crate::jobs`). Never runs SQL itself and never interprets a
//! job's payload: that is the handler's.
//!
//! Why not apalis: its SQL backends own their schema and cannot insert a job in the same
//! transaction as our delivery row, and have no per-key serialization; both are the point here.

mod pressure;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use backon::BackoffBuilder;
use tracing::error;

use crate::clock::SharedClock;
use crate::config::QueueSettings;
use crate::jobs::{Job, JobPayloadError, JobRecord, JobState, NewJob};
use crate::store::{Claimed, Store, StoreError};

pub use pressure::IngestPressure;
pub use worker::{Handler, HandlerFuture, WorkerPool};

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
    /// The database refused a write for want of storage (disk full, I/O error, …): the step
    /// stopped before acting on it, and runs again after backoff without spending an attempt,
    /// however long the outage lasts.
    #[error("{0}")]
    Storage(String),
}

impl JobError {
    pub fn transient(message: impl Into<String>) -> Self {
        JobError::Transient {
            message: message.into(),
            retry_after: None,
        }
    }
}

/// A payload that does not encode or decode fails the same way every time.
impl From<JobPayloadError> for JobError {
    fn from(e: JobPayloadError) -> Self {
        JobError::Permanent(e.to_string())
    }
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        if e.is_storage_failure() {
            JobError::Storage(e.to_string())
        } else if e.is_transient() {
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
        self.store
            .insert_job(job, self.max_attempts(), self.now_ms())
            .await
    }

    /// Takes the next due job whose key is not busy, leased to this owner; `None` if there is none.
    /// A job of a kind this version does not know is dead at once, with the reason, and the
    /// next one is taken.
    pub async fn claim(&self) -> Result<Option<Job>, StoreError> {
        loop {
            let now = self.now_ms();
            match self
                .store
                .claim_job(&self.owner, now + self.lease_ms(), now)
                .await?
            {
                None => return Ok(None),
                Some(Claimed::Job(job)) => return Ok(Some(job)),
                Some(Claimed::Unknown {
                    id,
                    attempts,
                    max_attempts,
                    error,
                }) => {
                    error!(job_id = id, %error, "job failed for good (dead)");
                    let message = attempt_error(attempts, max_attempts, &error.to_string());
                    self.store
                        .fail_job(id, &self.owner, true, now, &message, now)
                        .await?;
                }
            }
        }
    }

    /// Extends the lease; `false` if the job is no longer ours (it expired and was retaken).
    pub async fn heartbeat(&self, job: &Job) -> Result<bool, StoreError> {
        self.store
            .renew_job_lease(job.id, &self.owner, self.now_ms() + self.lease_ms())
            .await
    }

    pub async fn complete(&self, job: &Job) -> Result<(), StoreError> {
        self.store
            .complete_job(job.id, &self.owner, self.now_ms())
            .await
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
            self.store
                .defer_job(job.id, &self.owner, run_at, &format!("deferred: {reason}"))
                .await?;
            return Ok(FailOutcome::RetryAt(run_at));
        }
        if let JobError::Storage(reason) = err {
            self.store.write_failed(reason);
            let delay = self.backoff(job.attempts);
            let run_at = now + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
            self.store
                .defer_job(
                    job.id,
                    &self.owner,
                    run_at,
                    &format!("waiting for the database to take writes again: {reason}"),
                )
                .await?;
            return Ok(FailOutcome::RetryAt(run_at));
        }
        let (dead, delay) = match err {
            JobError::Defer { .. } | JobError::Storage(_) => (false, Duration::ZERO),
            JobError::Permanent(_) => (true, Duration::ZERO),
            JobError::Transient { retry_after, .. } => {
                let backoff = self.backoff(job.attempts);
                (
                    job.attempts >= job.max_attempts,
                    retry_after.unwrap_or(backoff),
                )
            }
        };
        let message = attempt_error(job.attempts, job.max_attempts, &err.to_string());
        let run_at = now + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
        self.store
            .fail_job(job.id, &self.owner, dead, run_at, &message, now)
            .await?;
        Ok(if dead {
            FailOutcome::Dead
        } else {
            FailOutcome::RetryAt(run_at)
        })
    }

    /// Gives a job back untouched (shutdown): queued at once, the attempt not counted.
    pub async fn release(&self, job_id: i64) -> Result<(), StoreError> {
        self.store.release_job(job_id, &self.owner).await
    }

    /// Queues again (or kills, when out of attempts) every job whose lease ran out: its worker died.
    pub async fn recover_expired(&self) -> Result<u64, StoreError> {
        self.store.recover_expired_jobs(self.now_ms()).await
    }

    /// Number of jobs in each state that has any.
    pub async fn counts(&self) -> Result<Vec<(JobState, i64)>, StoreError> {
        self.store.job_counts().await
    }

    /// Jobs in `state` (all with `None`), oldest first.
    pub async fn jobs(&self, state: Option<JobState>) -> Result<Vec<JobRecord>, StoreError> {
        self.store.jobs(state).await
    }

    /// An operator's retry of a dead job: queued now with a fresh set of attempts.
    pub async fn retry_dead(&self, id: i64) -> Result<bool, StoreError> {
        self.store.retry_dead_job(id, self.now_ms()).await
    }
}

/// The reason kept on a failed job: which attempt, and what went wrong (long errors cut).
fn attempt_error(attempts: i64, max_attempts: i64, error: &str) -> String {
    format!(
        "attempt {attempts}/{max_attempts}: {}",
        crate::types::truncate_long(error, 4000)
    )
}
