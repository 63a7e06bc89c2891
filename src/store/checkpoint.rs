//! SQLite: WAL checkpoints on a connection of their own, beside the writer instead of inside
//! its commits.
//!
//! By default SQLite's committing connection copies the WAL back into the database file whenever
//! the WAL passes 1,000 pages (4 MB: about 140 webhook deliveries): that commit then reads and
//! writes megabytes and syncs the database file before it returns, and every acknowledgement
//! waiting on it waits too. Here a task with its own connection runs a `PASSIVE` checkpoint (it
//! never blocks the writer or readers) after commits that grew the WAL, at most every
//! [`EVERY`], so the copy runs in parallel on another thread. The writer's automatic checkpoint
//! stays as a backstop, at [`BACKSTOP_PAGES`], in case this task falls behind or stops.
//!
//! Owns: when checkpoints run. Never changes what is committed or how durably.

use std::sync::Arc;
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::any::AnyConnectOptions;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

/// The writer's own automatic checkpoint threshold (pages of 4 KB: 40 MB).
pub(super) const BACKSTOP_PAGES: u32 = 10_000;

/// The least time between two checkpoints.
pub(super) const EVERY: Duration = Duration::from_millis(20);

/// Runs while any clone of its store lives; stops when the last one is dropped or the store is
/// closed.
pub(super) struct Checkpointer {
    wake: Arc<Notify>,
    task: JoinHandle<()>,
}

impl Checkpointer {
    pub(super) fn start(options: AnyConnectOptions) -> Checkpointer {
        let wake = Arc::new(Notify::new());
        let task = tokio::spawn(run(options, wake.clone()));
        Checkpointer { wake, task }
    }

    /// Something was committed: a checkpoint is due.
    pub(super) fn committed(&self) {
        self.wake.notify_one();
    }

    pub(super) fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(options: AnyConnectOptions, wake: Arc<Notify>) {
    let mut conn = match options.connect().await {
        Ok(c) => c,
        Err(e) => {
            warn!(error = %e, "SQLite checkpointer could not connect; the writer checkpoints alone");
            return;
        }
    };
    loop {
        wake.notified().await;
        match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&mut conn)
            .await
        {
            Ok((busy, log, copied)) => debug!(busy, log, copied, "WAL checkpoint"),
            Err(e) => warn!(error = %e, "WAL checkpoint failed; will try after the next commit"),
        }
        tokio::time::sleep(EVERY).await;
    }
}
