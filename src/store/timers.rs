//! Timer leases (one sweep per interval across replicas), their run history, cached GitHub
//! answers for conditional requests, and retention.

use super::{Store, StoreError};

impl Store {
    /// Takes the timer for this interval if it is due: exactly one caller across all replicas
    /// wins (a single conditional UPDATE), and the interval restarts from `now_ms`.
    pub async fn acquire_timer(
        &self,
        name: &str,
        owner: &str,
        interval_ms: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        sqlx::query("INSERT INTO timers (name, owner, last_run_at) VALUES ($1, NULL, 0) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .execute(self.pool())
            .await?;
        let won = sqlx::query(
            "UPDATE timers SET owner = $1, last_run_at = $2 WHERE name = $3 AND last_run_at <= $4",
        )
        .bind(owner)
        .bind(now_ms)
        .bind(name)
        .bind(now_ms.saturating_sub(interval_ms))
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(won == 1)
    }

    /// When the timer last ran (0: never).
    pub async fn timer_last_run(&self, name: &str) -> Result<i64, StoreError> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT last_run_at FROM timers WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map_or(0, |(t,)| t))
    }

    pub async fn record_timer_run(
        &self,
        name: &str,
        owner: &str,
        at: i64,
        note: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO timer_runs (name, owner, at, note) VALUES ($1, $2, $3, $4)")
            .bind(name)
            .bind(owner)
            .bind(at)
            .bind(note)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Runs of a timer, oldest first: (owner, at, note).
    pub async fn timer_runs(&self, name: &str) -> Result<Vec<(String, i64, String)>, StoreError> {
        let rows = sqlx::query_as(
            "SELECT owner, at, note FROM timer_runs WHERE name = $1 ORDER BY at, id",
        )
        .bind(name)
        .fetch_all(self.pool())
        .await?;
        Ok(rows)
    }

    /// A cached answer for a conditional GET: (etag, body).
    pub async fn etag(&self, route: &str) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query_as("SELECT etag, body FROM etags WHERE route = $1")
            .bind(route)
            .fetch_optional(self.pool())
            .await?;
        Ok(row)
    }

    pub async fn store_etag(
        &self,
        route: &str,
        etag: &str,
        body: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO etags (route, etag, body, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (route) DO UPDATE SET etag = excluded.etag, body = excluded.body, updated_at = excluded.updated_at",
        )
        .bind(route)
        .bind(etag)
        .bind(body)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Deletes what is kept about repositories Gangway lost access to before `cutoff_ms`, and
    /// finished jobs, deliveries and check signals older than it. Returns the number of repositories purged.
    pub async fn purge_before(&self, cutoff_ms: i64) -> Result<u64, StoreError> {
        let mut tx = self.pool().begin().await?;
        let gone = "SELECT id FROM repositories WHERE removed_at IS NOT NULL AND removed_at < $1";
        for table in [
            "previews",
            "approvals",
            "pull_requests",
            "repo_policies",
            "audit",
            "check_signals",
            "pull_heads",
            "host_claims",
        ] {
            let sql = format!("DELETE FROM {table} WHERE repo_id IN ({gone})");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(cutoff_ms)
                .execute(&mut *tx)
                .await?;
        }
        let repos = sqlx::query(
            "DELETE FROM repositories WHERE removed_at IS NOT NULL AND removed_at < $1",
        )
        .bind(cutoff_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("DELETE FROM jobs WHERE state = 'done' AND finished_at < $1")
            .bind(cutoff_ms)
            .execute(&mut *tx)
            .await?;
        // A commit's checks not heard of for the retention period: its PR (if any) is long
        // evaluated; were it evaluated again, the reconciler and check events still read.
        sqlx::query("DELETE FROM check_signals WHERE seen_at < $1")
            .bind(cutoff_ms)
            .execute(&mut *tx)
            .await?;
        // When a closed PR's heads were pushed matters to no /stage any more.
        sqlx::query(
            "DELETE FROM pull_heads WHERE recorded_at < $1 AND NOT EXISTS (SELECT 1 FROM pull_requests p
             WHERE p.repo_id = pull_heads.repo_id AND p.number = pull_heads.pr_number AND p.state = 'open')",
        )
        .bind(cutoff_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM deliveries WHERE received_at < $1 AND outcome <> 'queued'")
            .bind(cutoff_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(repos)
    }
}
