//! Jobs: the statements of the durable queue. `queue` decides when a job is retried, dead or
//! recovered; this file only writes what it decided, guarded by the lease owner so a worker that
//! lost its lease changes nothing.

use sqlx::{AnyConnection, Row};

use super::deliveries::{multi_row, power_of_two_chunks};
use super::{DbKind, Store, StoreError};
use crate::jobs::{Job, JobKey, JobKind, JobRecord, JobState, NewJob, UnknownJobKind};

/// One job to insert, with what the row needs beside the job itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JobRow<'a> {
    pub job: &'a NewJob,
    pub delivery_id: Option<&'a str>,
    pub max_attempts: i64,
    pub now_ms: i64,
}

/// What a claim took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    Job(Job),
    /// A job of a kind this version does not know; it is running under the claimer's lease
    /// until the claimer ends it.
    Unknown {
        id: i64,
        attempts: i64,
        max_attempts: i64,
        error: UnknownJobKind,
    },
}

/// Inserts `rows` as queued jobs (multi-row statements of 1, 2, 4, … 128 rows); their ids, in
/// order. The one job `INSERT`: enqueued jobs and deliveries' jobs alike.
pub(crate) async fn insert_jobs(
    conn: &mut AnyConnection,
    rows: &[JobRow<'_>],
) -> Result<Vec<i64>, StoreError> {
    let mut ids = Vec::with_capacity(rows.len());
    for chunk in power_of_two_chunks(rows) {
        let sql = multi_row(
            "INSERT INTO jobs (state, attempts, kind, key, payload, run_at, max_attempts, delivery_id, created_at, priority) VALUES ",
            8,
            chunk.len(),
            " RETURNING id",
        )
        // A new job is queued and has had no attempt; then 8 bound values.
        .replace("($", &format!("('{}', 0, $", JobState::Queued.as_str()));
        let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql));
        for r in chunk {
            q = q
                .bind(r.job.kind.as_str())
                .bind(r.job.key.as_str())
                .bind(&r.job.payload)
                .bind(r.job.run_at_ms.unwrap_or(r.now_ms))
                .bind(r.max_attempts)
                .bind(r.delivery_id)
                .bind(r.now_ms)
                .bind(r.job.priority);
        }
        ids.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(ids)
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

fn state_of(stored: &str) -> Result<JobState, StoreError> {
    JobState::parse(stored)
        .ok_or_else(|| StoreError::Invalid(format!("unknown job state {stored:?}")))
}

impl Store {
    /// Stores one queued job; its id.
    pub async fn insert_job(
        &self,
        job: &NewJob,
        max_attempts: i64,
        now_ms: i64,
    ) -> Result<i64, StoreError> {
        let mut conn = self.pool().acquire().await?;
        let ids = insert_jobs(
            &mut conn,
            &[JobRow {
                job,
                delivery_id: None,
                max_attempts,
                now_ms,
            }],
        )
        .await?;
        ids.first()
            .copied()
            .ok_or_else(|| StoreError::Invalid("the job insert returned no id".into()))
    }

    /// Takes the next due job whose key is not busy (lowest priority value, then oldest), leased
    /// to `owner` until `lease_until`, counting the attempt.
    pub async fn claim_job(
        &self,
        owner: &str,
        lease_until: i64,
        now_ms: i64,
    ) -> Result<Option<Claimed>, StoreError> {
        let sql = match self.kind() {
            DbKind::Sqlite => CLAIM_SQLITE,
            DbKind::Postgres => CLAIM_POSTGRES,
        };
        let row = sqlx::query(sql)
            .bind(owner)
            .bind(lease_until)
            .bind(now_ms)
            .fetch_optional(self.pool())
            .await;
        let row = match row {
            Ok(r) => r,
            // Lost a race for a key to another claimer: nothing for us right now.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let Some(r) = row else { return Ok(None) };
        let id: i64 = r.try_get("id")?;
        let attempts: i64 = r.try_get("attempts")?;
        let max_attempts: i64 = r.try_get("max_attempts")?;
        let kind: String = r.try_get("kind")?;
        Ok(Some(match JobKind::from_stored(&kind) {
            Ok(kind) => Claimed::Job(Job {
                id,
                kind,
                key: JobKey::from_stored(r.try_get::<String, _>("key")?),
                payload: r.try_get("payload")?,
                attempts,
                max_attempts,
                delivery_id: r.try_get("delivery_id")?,
            }),
            Err(error) => Claimed::Unknown {
                id,
                attempts,
                max_attempts,
                error,
            },
        }))
    }

    /// Extends a running job's lease; `false` if the job is no longer `owner`'s.
    pub async fn renew_job_lease(
        &self,
        id: i64,
        owner: &str,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query("UPDATE jobs SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'running'")
            .bind(lease_until)
            .bind(id)
            .bind(owner)
            .execute(self.pool())
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    pub async fn complete_job(&self, id: i64, owner: &str, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE jobs SET state = 'done', finished_at = $1, lease_owner = NULL, lease_until = NULL, last_error = NULL
             WHERE id = $2 AND lease_owner = $3",
        )
        .bind(now_ms)
        .bind(id)
        .bind(owner)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Queued again at `run_at` without spending the attempt.
    pub async fn defer_job(
        &self,
        id: i64,
        owner: &str,
        run_at: i64,
        note: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE jobs SET state = 'queued', run_at = $1, attempts = attempts - 1, last_error = $2,
                    lease_owner = NULL, lease_until = NULL
             WHERE id = $3 AND lease_owner = $4",
        )
        .bind(run_at)
        .bind(note)
        .bind(id)
        .bind(owner)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A failed attempt: queued again at `run_at`, or dead (finished at `now_ms`).
    pub async fn fail_job(
        &self,
        id: i64,
        owner: &str,
        dead: bool,
        run_at: i64,
        error: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let state = if dead {
            JobState::Dead
        } else {
            JobState::Queued
        };
        sqlx::query(
            "UPDATE jobs SET state = $1, run_at = $2, last_error = $3, lease_owner = NULL, lease_until = NULL,
                    finished_at = $4
             WHERE id = $5 AND lease_owner = $6",
        )
        .bind(state.as_str())
        .bind(run_at)
        .bind(error)
        .bind(dead.then_some(now_ms))
        .bind(id)
        .bind(owner)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Gives a running job back untouched: queued at once, the attempt not counted.
    pub async fn release_job(&self, id: i64, owner: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = attempts - 1, lease_owner = NULL, lease_until = NULL
             WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
        )
        .bind(id)
        .bind(owner)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Every running job whose lease ran out before `now_ms`: queued again, or dead when out of
    /// attempts. The number of jobs.
    pub async fn recover_expired_jobs(&self, now_ms: i64) -> Result<u64, StoreError> {
        let n = sqlx::query(
            "UPDATE jobs SET
                state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END,
                finished_at = CASE WHEN attempts >= max_attempts THEN $1 ELSE NULL END,
                last_error = 'the worker holding this job stopped answering (lease expired by ' || lease_owner || ')',
                lease_owner = NULL, lease_until = NULL
             WHERE state = 'running' AND lease_until < $1",
        )
        .bind(now_ms)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(n)
    }

    /// Number of jobs in each state that has any.
    pub async fn job_counts(&self) -> Result<Vec<(JobState, i64)>, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM jobs GROUP BY state ORDER BY state")
                .fetch_all(self.reader())
                .await?;
        rows.into_iter()
            .map(|(s, n)| Ok((state_of(&s)?, n)))
            .collect()
    }

    /// Jobs in `state` (all with `None`), oldest first.
    pub async fn jobs(&self, state: Option<JobState>) -> Result<Vec<JobRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, key, state, attempts, run_at, last_error, delivery_id FROM jobs
             WHERE $1 IS NULL OR state = $1 ORDER BY id",
        )
        .bind(state.map(JobState::as_str))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(JobRecord {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    key: r.try_get("key")?,
                    state: state_of(&r.try_get::<String, _>("state")?)?,
                    attempts: r.try_get("attempts")?,
                    run_at: r.try_get("run_at")?,
                    last_error: r.try_get("last_error")?,
                    delivery_id: r.try_get("delivery_id")?,
                })
            })
            .collect()
    }

    /// A dead job queued again at `now_ms` with a fresh set of attempts; `false` if it is not
    /// dead.
    pub async fn retry_dead_job(&self, id: i64, now_ms: i64) -> Result<bool, StoreError> {
        let n = sqlx::query("UPDATE jobs SET state = 'queued', attempts = 0, run_at = $1, finished_at = NULL WHERE id = $2 AND state = 'dead'")
            .bind(now_ms)
            .bind(id)
            .execute(self.pool())
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// Whether a job of this kind and key is waiting (so a sweep does not pile up duplicates).
    pub async fn job_waiting(&self, kind: JobKind, key: &JobKey) -> Result<bool, StoreError> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM jobs WHERE kind = $1 AND key = $2 AND state = 'queued' LIMIT 1",
        )
        .bind(kind.as_str())
        .bind(key.as_str())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.is_some())
    }

    /// Whether a job of `kind` on `key` is queued to run at or before `run_at_ms`.
    pub async fn job_waiting_until(
        &self,
        kind: JobKind,
        key: &JobKey,
        run_at_ms: i64,
    ) -> Result<bool, StoreError> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM jobs WHERE kind = $1 AND key = $2 AND state = 'queued' AND run_at <= $3 LIMIT 1",
        )
        .bind(kind.as_str())
        .bind(key.as_str())
        .bind(run_at_ms)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.is_some())
    }
}
