//! SQLite: makes committed deliveries durable by syncing the WAL file *after* the commit, off
//! the connection, instead of inside the commit with `synchronous = FULL`.
//!
//! Why: SQLite has one connection here (one write lock), and a `FULL` commit holds it for the
//! whole fsync. Every job step that wants to record something waits behind that fsync — on a
//! loaded virtual disk several milliseconds each, and GitHub sends a webhook for almost every
//! status Gangway posts. Here a delivery's transaction commits at `NORMAL` (its frames are
//! written to the WAL, no sync), the connection goes back to the pool at once, and the
//! request then waits for an `fdatasync` of the WAL file on a blocking thread before it is
//! answered 202. Concurrent waiters share one sync (each sync covers every commit that had
//! returned before it started).
//!
//! Why this is as durable as `FULL`: the sync is issued after the commit's `write`s returned,
//! so it covers the commit's frames, wherever they are:
//! - still in the WAL: the sync puts them on disk (recovery replays every frame up to the last
//!   valid commit, checksummed);
//! - already copied into the database by a checkpoint, or the WAL restarted over them: in WAL
//!   mode with `synchronous = NORMAL`, SQLite syncs the WAL before each checkpoint and the
//!   database file after it, before the WAL may be reused (<https://sqlite.org/pragma.html#pragma_synchronous>);
//! - the WAL file gone (every connection closed, which checkpoints first): the database file is
//!   synced instead.
//!
//! Only used when the database is a file in WAL mode; otherwise deliveries keep committing at
//! `FULL` (`Store::set_full_sync`). Owns: when the WAL is synced for a delivery. Never changes
//! what is committed.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Mutex;

pub(super) struct WalSync {
    wal: PathBuf,
    db: PathBuf,
    /// Commits that returned so far (numbered from 1).
    committed: AtomicU64,
    /// The highest commit number known to be on disk; held while a sync runs, so concurrent
    /// waiters queue for one sync instead of issuing their own.
    synced: Mutex<u64>,
    /// Syncs issued (for tests and the benchmark's curiosity).
    syncs: AtomicU64,
}

impl WalSync {
    /// For the database file at `db` (as SQLite reports it in `pragma_database_list`).
    pub(super) fn new(db: PathBuf) -> WalSync {
        let mut wal = db.clone().into_os_string();
        wal.push("-wal");
        WalSync {
            wal: PathBuf::from(wal),
            db,
            committed: AtomicU64::new(0),
            synced: Mutex::new(0),
            syncs: AtomicU64::new(0),
        }
    }

    /// Call right after a commit returned: its number, for [`WalSync::wait`].
    pub(super) fn ticket(&self) -> u64 {
        self.committed.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Resolves once the commit numbered `mine` is on disk.
    pub(super) async fn wait(&self, mine: u64) -> io::Result<()> {
        let mut synced = self.synced.lock().await;
        if *synced >= mine {
            // A sync that started after this commit returned has finished meanwhile.
            return Ok(());
        }
        // Every commit counted so far has returned, so this one sync covers them all.
        let upto = self.committed.load(Ordering::SeqCst);
        let (wal, db) = (self.wal.clone(), self.db.clone());
        tokio::task::spawn_blocking(move || sync_wal_or_db(&wal, &db))
            .await
            .map_err(|e| io::Error::other(format!("the WAL sync task failed: {e}")))??;
        self.syncs.fetch_add(1, Ordering::Relaxed);
        *synced = upto;
        Ok(())
    }

    pub(super) fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }
}

fn sync_wal_or_db(wal: &std::path::Path, db: &std::path::Path) -> io::Result<()> {
    match std::fs::File::open(wal) {
        Ok(f) => f.sync_data(),
        // No WAL: the last connection closed and checkpointed it into the database file.
        Err(e) if e.kind() == io::ErrorKind::NotFound => std::fs::File::open(db)?.sync_data(),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
#[path = "walsync_tests.rs"]
mod tests;
