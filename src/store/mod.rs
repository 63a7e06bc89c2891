//! The database: connection, migrations, readiness, and the queries of each table.
//!
//! Owns: every SQL statement. SQLite (embedded default, WAL) and PostgreSQL (replicas) through
//! sqlx's `Any` driver with a portable schema (BIGINT integers, TEXT strings and JSON, BIGINT
//! unix-millisecond times); where the dialects must differ (claiming jobs) the statement is chosen
//! by [`DbKind`] here, nowhere else. Never decides anything.

mod audit;
mod checkpoint;
mod commands;
pub mod compress;
mod dashboard;
mod dashboard_actions;
mod deliveries;
mod environments;
mod health;
mod hosts;
mod installations;
mod jobs;
mod nodelay;
mod policies;
mod previews;
mod promotion_queue;
mod pulls;
mod signals;
mod signoffs;
mod slots;
mod timers;
mod verification;
mod walsync;
mod web_sessions;

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Connection, Executor, SqlSafeStr};

pub use crate::config::DbKind;
pub use commands::CommandRun;
pub use dashboard::{
    AuditFilter, DashApproval, DashAudit, DashBad, DashEnvDeployment, DashHold, DashJob,
    DashPreview, DashPull, DashQueued, DashRepo, DashSignoff,
};
pub use dashboard_actions::{ActionTarget, DashboardAction, NewDashboardAction};
pub use deliveries::{DeliveryRecord, IngestOutcome, NewDelivery};
pub use environments::NewEnvDeployment;
pub use health::WriteFailure;
pub use jobs::Claimed;
pub use policies::CachedPolicy;
pub use previews::NewPreview;
pub use promotion_queue::{NewQueued, Queued, StartNow, StartOutcome};
pub use web_sessions::{NewWebSession, WebSession};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Invalid(String),
    /// A job whose payload could not be encoded is not stored.
    #[error(transparent)]
    JobPayload(#[from] crate::jobs::JobPayloadError),
    /// The commit went through but syncing it to disk failed: it may not survive power loss.
    #[error("could not sync the database's write-ahead log to disk: {0}")]
    Durability(std::io::Error),
    /// A stored delivery's payload does not decode (damaged row, or an encoding from a newer
    /// version). Permanent: retrying reads the same bytes.
    #[error("delivery {delivery}: {source}")]
    Payload {
        delivery: String,
        #[source]
        source: crate::store::compress::PayloadError,
    },
}

impl StoreError {
    /// Connection trouble, pool exhaustion, lock timeouts, storage that refuses writes: worth
    /// retrying.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Db(e) => {
                matches!(
                    e,
                    sqlx::Error::Io(_)
                        | sqlx::Error::PoolTimedOut
                        | sqlx::Error::PoolClosed
                        | sqlx::Error::Protocol(_)
                ) || matches!(e, sqlx::Error::Database(d) if is_busy(d.as_ref()))
                    || self.is_storage_failure()
            }
            // Committed but perhaps not on disk: answered as unavailable (GitHub may redeliver,
            // and the stored copy makes that a duplicate), never as stored.
            StoreError::Durability(_) => true,
            _ => false,
        }
    }
}

impl StoreError {
    /// The database cannot take writes now, for a reason outside Gangway that an operator fixes
    /// (disk full, I/O error, out of memory, a read-only or revoked database, a statement
    /// cancelled by its timeout): nothing was written, and the same write succeeds once the cause
    /// is gone. Deliveries are answered 503, job steps wait without spending an attempt, and
    /// `/readyz` says so until a write succeeds again.
    pub fn is_storage_failure(&self) -> bool {
        match self {
            StoreError::Db(sqlx::Error::Database(d)) => is_storage_code(d.code().as_deref()),
            StoreError::Db(sqlx::Error::Io(_)) | StoreError::Durability(_) => true,
            _ => false,
        }
    }
}

/// SQLite (primary result code, the low byte of an extended one): NOMEM 7, READONLY 8,
/// IOERR 10, CORRUPT 11, FULL 13, CANTOPEN 14. PostgreSQL: class 53 (insufficient resources:
/// disk full, out of memory), class 58 (system error: I/O), 57014 (statement timeout),
/// 57P01–57P03 (shut down, cannot connect now), 25006 (read-only transaction), 42501 (a
/// privilege revoked from Gangway's role).
fn is_storage_code(code: Option<&str>) -> bool {
    let Some(code) = code else {
        return false;
    };
    if let Ok(n) = code.parse::<u32>() {
        return matches!(n & 0xff, 7 | 8 | 10 | 11 | 13 | 14);
    }
    code.starts_with("53")
        || code.starts_with("58")
        || matches!(
            code,
            "57014" | "57P01" | "57P02" | "57P03" | "25006" | "42501"
        )
}

fn is_busy(e: &dyn sqlx::error::DatabaseError) -> bool {
    // SQLite BUSY/LOCKED; PostgreSQL serialization failure, deadlock, unique violation on the
    // one-running-job-per-key index (a concurrent claimer won).
    matches!(
        e.code().as_deref(),
        Some("5" | "6" | "517" | "40001" | "40P01")
    )
}

/// Both dialects' migrations, compiled in so the binary needs no files beside it.
macro_rules! migrations {
    ($dialect:literal: $($version:literal $name:literal $file:literal),* $(,)?) => {
        &[$(($version, $name, include_str!(concat!("../../migrations/", $dialect, "/", $file)))),*]
    };
}
const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = migrations!("sqlite":
    1 "init" "0001_init.sql",
    2 "previews" "0002_previews.sql",
    3 "commands" "0003_commands.sql",
    4 "timers" "0004_timers.sql",
    5 "environments" "0005_environments.sql",
    6 "merges" "0006_merges.sql",
    7 "jobs_index" "0007_jobs_index.sql",
    8 "policy_version" "0008_policy_version.sql",
    9 "check_signals" "0009_check_signals.sql",
    10 "delivery_payload_compressed" "0010_delivery_payload_compressed.sql",
    11 "stage_decisions" "0011_stage_decisions.sql",
    12 "pr_author_bot" "0012_pr_author_bot.sql",
    13 "host_claims" "0013_host_claims.sql",
    14 "promotion_queue" "0014_promotion_queue.sql",
    16 "verifications" "0016_verifications.sql",
    17 "signoffs" "0017_signoffs.sql",
    20 "preview_slots" "0020_preview_slots.sql",
    21 "pr_files" "0021_pr_files.sql",
    22 "web_sessions" "0022_web_sessions.sql",
    23 "dashboard_actions" "0023_dashboard_actions.sql",
    24 "pr_title" "0024_pr_title.sql",
);
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = migrations!("postgres":
    1 "init" "0001_init.sql",
    2 "previews" "0002_previews.sql",
    3 "commands" "0003_commands.sql",
    4 "timers" "0004_timers.sql",
    5 "environments" "0005_environments.sql",
    6 "merges" "0006_merges.sql",
    7 "jobs_index" "0007_jobs_index.sql",
    8 "policy_version" "0008_policy_version.sql",
    9 "check_signals" "0009_check_signals.sql",
    10 "delivery_payload_compressed" "0010_delivery_payload_compressed.sql",
    11 "stage_decisions" "0011_stage_decisions.sql",
    12 "pr_author_bot" "0012_pr_author_bot.sql",
    13 "host_claims" "0013_host_claims.sql",
    14 "promotion_queue" "0014_promotion_queue.sql",
    16 "verifications" "0016_verifications.sql",
    17 "signoffs" "0017_signoffs.sql",
    20 "preview_slots" "0020_preview_slots.sql",
    21 "pr_files" "0021_pr_files.sql",
    22 "web_sessions" "0022_web_sessions.sql",
    23 "dashboard_actions" "0023_dashboard_actions.sql",
    24 "pr_title" "0024_pr_title.sql",
);

/// A commit of deliveries, waiting to be on disk (see `walsync`): the request that wrote it
/// is answered only after [`SyncTicket::durable`]; workers may start on its jobs before.
#[derive(Clone)]
pub struct SyncTicket {
    wal: Option<(Arc<walsync::WalSync>, u64)>,
    health: Option<Arc<health::WriteHealth>>,
}

impl SyncTicket {
    /// Already durable: nothing to wait for.
    pub fn ready() -> SyncTicket {
        SyncTicket {
            wal: None,
            health: None,
        }
    }

    pub async fn durable(&self) -> Result<(), StoreError> {
        let r = match &self.wal {
            Some((w, n)) => w.wait(*n).await.map_err(StoreError::Durability),
            None => Ok(()),
        };
        if let Some(h) = &self.health {
            match &r {
                Ok(()) => h.succeeded(),
                Err(e) => h.failed(&e.to_string()),
            }
        }
        r
    }
}

impl std::fmt::Debug for SyncTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncTicket")
            .field("commit", &self.wal.as_ref().map(|(_, n)| *n))
            .finish()
    }
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    /// Connections for the read-only HTTP endpoints (`/logs/…`, `/readyz`'s schema check) and
    /// the metrics refresh, apart from `pool`: no GET waits behind, or holds up, the writer that
    /// acknowledges deliveries. SQLite: read-only (`query_only`) connections to the same file,
    /// which WAL lets read beside the writer; in memory, the same pool (one database per
    /// connection otherwise). PostgreSQL: a small pool of its own.
    reader: AnyPool,
    /// `/readyz`'s write probe, at most once a second (see `health::ReadyProbe`).
    ready_probe: Arc<health::ReadyProbe>,
    kind: DbKind,
    /// SQLite on a file: checkpoints the WAL beside the writer (see `checkpoint`).
    checkpointer: Option<Arc<checkpoint::Checkpointer>>,
    /// SQLite on a file in WAL mode: deliveries are made durable after their commit, off the
    /// connection (see `walsync`); `None`: they commit with `synchronous = FULL`.
    walsync: Option<Arc<walsync::WalSync>>,
    /// Whether writes fail for want of storage (see `health`).
    health: Arc<health::WriteHealth>,
    /// SQLite: `max_page_count` for every connection, 0 for SQLite's own (see
    /// [`Store::limit_pages`]).
    page_limit: Arc<AtomicU64>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Connects (creating the SQLite file if missing) without migrating.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let kind = crate::config::check_database_url(url).map_err(StoreError::Invalid)?;
        let (url, max) = match kind {
            // One connection: SQLite has one write lock, and writers that contend for it sleep in
            // the busy handler (hundreds of milliseconds under load); queuing in the pool instead
            // is fair and prompt. Reads are microseconds and queue behind writes harmlessly.
            DbKind::Sqlite => (sqlite_url_creating(url), 1),
            DbKind::Postgres => (url.to_owned(), 16),
        };
        let nodelay_port = match kind {
            DbKind::Postgres => nodelay::tcp_port(&url),
            DbKind::Sqlite => None,
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let checkpointer = (kind == DbKind::Sqlite && !url.contains(":memory:"))
            .then(|| Arc::new(checkpoint::Checkpointer::start(options.clone())));
        let page_limit = Arc::new(AtomicU64::new(0));
        let limit = page_limit.clone();
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            // A connection given back inside a transaction is one whose rollback failed: SQLite
            // rolls a transaction back by itself on a full disk or an I/O error, and the driver,
            // still counting it open, would nest every later transaction in a savepoint of one
            // that is never committed. It is closed, never reused; the next one starts clean.
            .after_release(|conn, _meta| {
                Box::pin(async move {
                    let clean = !conn.is_in_transaction();
                    if !clean {
                        tracing::warn!("closing a database connection left inside a failed transaction; the next write uses a fresh one");
                    }
                    Ok(clean)
                })
            })
            .after_connect(move |conn, _meta| {
                let limit = limit.clone();
                Box::pin(async move {
                    if kind == DbKind::Sqlite {
                        // WAL: readers never block the writer. NORMAL: a commit survives a crash
                        // of the process at once and a crash of the machine once the WAL is next
                        // synced; a delivery's request waits for that sync (see `walsync`), so
                        // a 202 survives power loss too. Everything
                        // else is derived (jobs are idempotent, GitHub is re-read) and does not
                        // pay an fsync per commit. busy_timeout: writers queue, not fail.
                        conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;")
                            .await?;
                        conn.execute(sqlx::AssertSqlSafe(format!(
                            "PRAGMA wal_autocheckpoint = {}",
                            checkpoint::BACKSTOP_PAGES
                        )))
                        .await?;
                        let pages = limit.load(Ordering::SeqCst);
                        if pages > 0 {
                            conn.execute(sqlx::AssertSqlSafe(format!(
                                "PRAGMA max_page_count = {pages}"
                            )))
                            .await?;
                        }
                    }
                    if let Some(port) = nodelay_port {
                        nodelay::apply(port);
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let reader = match kind {
            DbKind::Sqlite if url.contains(":memory:") => pool.clone(),
            DbKind::Sqlite | DbKind::Postgres => AnyPoolOptions::new()
                .max_connections(READ_CONNECTIONS)
                .acquire_timeout(Duration::from_secs(10))
                .after_connect(move |conn, _meta| {
                    Box::pin(async move {
                        if kind == DbKind::Sqlite {
                            conn.execute("PRAGMA busy_timeout = 10000; PRAGMA query_only = ON;")
                                .await?;
                        }
                        Ok(())
                    })
                })
                .connect_lazy_with(AnyConnectOptions::from_str(&url)?),
        };
        let walsync = match kind {
            DbKind::Sqlite => wal_file_of(&pool)
                .await?
                .map(|db| Arc::new(walsync::WalSync::new(db))),
            DbKind::Postgres => None,
        };
        Ok(Store {
            pool,
            reader,
            ready_probe: Arc::default(),
            kind,
            checkpointer,
            walsync,
            health: Arc::default(),
            page_limit,
        })
    }

    /// SQLite: caps the database at `pages` pages (`PRAGMA max_page_count`) on every connection,
    /// now and after a reconnect, so that writes beyond it fail as on a full disk; `None` lifts
    /// the cap. For tests and failure drills; no-op on PostgreSQL.
    pub async fn limit_pages(&self, pages: Option<u64>) -> Result<(), StoreError> {
        if self.kind != DbKind::Sqlite {
            return Ok(());
        }
        self.page_limit.store(pages.unwrap_or(0), Ordering::SeqCst);
        // SQLite's default maximum.
        let n = pages.unwrap_or(4_294_967_294);
        self.pool
            .execute(sqlx::AssertSqlSafe(format!("PRAGMA max_page_count = {n}")))
            .await?;
        Ok(())
    }

    /// SQLite: the database's size in pages (0 on PostgreSQL).
    pub async fn page_count(&self) -> Result<i64, StoreError> {
        if self.kind != DbKind::Sqlite {
            return Ok(0);
        }
        Ok(sqlx::query_scalar("PRAGMA page_count")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Notes how a write on the acknowledgement path or in a job's bookkeeping went: a storage
    /// failure makes `/readyz` answer 503 until a write succeeds again.
    pub(crate) fn note_write<T>(&self, r: &Result<T, StoreError>) {
        match r {
            Ok(_) => self.health.succeeded(),
            Err(e) if e.is_storage_failure() => self.health.failed(&e.to_string()),
            Err(_) => {}
        }
    }

    /// A write failed for want of storage (a job step's, reported by the queue).
    pub(crate) fn write_failed(&self, error: &str) {
        self.health.failed(error);
    }

    /// Since when and why writes fail, if they do.
    pub fn write_failure(&self) -> Option<WriteFailure> {
        self.health.failing()
    }

    /// Storage failures seen by this process since it started.
    pub fn write_failures(&self) -> u64 {
        self.health.failures()
    }

    /// Call right after deliveries committed (at the connection's `NORMAL` sync): what to wait
    /// on for them to be on disk. Without a WAL to sync (`walsync` is `None`) they were
    /// committed at `FULL` (SQLite) or flushed by the server (PostgreSQL), and it is ready.
    pub(crate) fn sync_ticket(&self) -> SyncTicket {
        SyncTicket {
            wal: self.walsync.as_ref().map(|w| (w.clone(), w.ticket())),
            health: Some(self.health.clone()),
        }
    }

    /// Whether deliveries need `synchronous = FULL` at their commit (no WAL file to sync after).
    pub(crate) fn full_sync_at_commit(&self) -> bool {
        self.kind == DbKind::Sqlite && self.walsync.is_none()
    }

    /// WAL syncs issued for deliveries so far (0 without `walsync`).
    pub fn wal_syncs(&self) -> u64 {
        self.walsync.as_ref().map_or(0, |w| w.syncs())
    }

    /// SQLite: switches the connection's sync level for the next commits. `FULL` for a
    /// transaction that must survive power loss when it returns (a delivery acknowledged with 202),
    /// `NORMAL` again after it. A connection left at `FULL` by an error is merely slower. No-op on
    /// PostgreSQL, whose every commit is flushed (`synchronous_commit = on`).
    pub(crate) async fn set_full_sync(
        &self,
        conn: &mut sqlx::AnyConnection,
        full: bool,
    ) -> Result<(), StoreError> {
        if self.kind == DbKind::Sqlite {
            let pragma = if full {
                "PRAGMA synchronous = FULL"
            } else {
                "PRAGMA synchronous = NORMAL"
            };
            conn.execute(pragma).await?;
        }
        Ok(())
    }

    /// A transaction that grew the WAL committed (SQLite): a background checkpoint is due.
    pub(crate) fn committed(&self) {
        if let Some(c) = &self.checkpointer {
            c.committed();
        }
    }

    /// Connects and applies every pending migration.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let store = Store::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    pub fn kind(&self) -> DbKind {
        self.kind
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The read-only connections (see [`Store::reader`]'s field): for queries that serve a GET
    /// or the metrics, never for anything a write depends on.
    pub(crate) fn reader(&self) -> &AnyPool {
        &self.reader
    }

    fn migrator(&self) -> Migrator {
        let list = match self.kind {
            DbKind::Sqlite => SQLITE_MIGRATIONS,
            DbKind::Postgres => POSTGRES_MIGRATIONS,
        };
        Migrator::with_migrations(
            list.iter()
                .map(|(v, d, sql)| {
                    Migration::new(
                        *v,
                        (*d).into(),
                        MigrationType::Simple,
                        sql.into_sql_str(),
                        false,
                    )
                })
                .collect(),
        )
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.migrator().run(&self.pool).await?;
        Ok(())
    }

    /// Ready = the database answers, every migration this binary knows is applied, and a
    /// delivery could be stored now: a probe delivery of 64 KB is written and deleted in one
    /// committed (and synced) transaction (see [`Store::probe_write`]), so a disk that filled up
    /// or a privilege revoked shows here even between deliveries. The schema is read on the read
    /// connections; the probe is written at most once a second (concurrent and later callers
    /// within the second share its result), so a flood of `/readyz` costs the writer nothing
    /// more; a write failure seen since the last successful probe is never answered "ready".
    pub async fn ready(&self) -> Result<(), StoreError> {
        self.schema_ready().await?;
        let probed = self
            .ready_probe
            .run(|| self.probe_write(), || self.health.failing().is_some())
            .await;
        if let Err(e) = probed {
            let since = self.health.failing().map_or(0, |f| {
                (crate::clock::Clock::now_ms(&crate::clock::SystemClock) - f.since_ms).max(0) / 1000
            });
            return Err(StoreError::Invalid(format!(
                "database writes are failing (for {since} s): {e}; deliveries are answered 503 until they succeed again"
            )));
        }
        Ok(())
    }

    async fn schema_ready(&self) -> Result<(), StoreError> {
        let latest = self.migrator().iter().map(|m| m.version).max().unwrap_or(0);
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(&self.reader)
                .await
                .map_err(|e| StoreError::Invalid(format!("migrations not applied: {e}")))?;
        match applied {
            Some(v) if v >= latest => Ok(()),
            other => Err(StoreError::Invalid(format!(
                "database schema at version {}, this binary needs {latest}: run `gangway migrate`",
                other.unwrap_or(0)
            ))),
        }
    }

    pub async fn close(&self) {
        if let Some(c) = &self.checkpointer {
            c.stop();
        }
        self.pool.close().await;
        self.reader.close().await;
    }
}

/// Read-only connections beside the writer's pool (see `Store::reader`).
const READ_CONNECTIONS: u32 = 2;

/// The SQLite database's file when it is one in WAL mode (not in memory, not another journal).
async fn wal_file_of(pool: &AnyPool) -> Result<Option<std::path::PathBuf>, StoreError> {
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(pool)
        .await?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Ok(None);
    }
    let file: Option<String> =
        sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .fetch_optional(pool)
            .await?;
    Ok(file.filter(|f| !f.is_empty()).map(std::path::PathBuf::from))
}

/// sqlx opens SQLite read-write but refuses to create a missing file unless `mode=rwc`.
/// A stored id GitHub gave (BIGINT) as GitHub's type; a negative one reads as none.
pub(crate) fn opt_u64(v: Option<i64>) -> Option<u64> {
    v.and_then(|v| u64::try_from(v).ok())
}

/// A GitHub id for a BIGINT column (ids beyond i64 are clamped; GitHub's are far below).
pub(crate) fn db_u64(v: Option<u64>) -> Option<i64> {
    v.map(|v| i64::try_from(v).unwrap_or(i64::MAX))
}

/// A row that does not read back: which table, which column, what was there.
pub(crate) fn invalid_in(table: &str, what: &str, v: &str) -> StoreError {
    StoreError::Invalid(format!("{table}: bad {what} {v:?}"))
}

fn sqlite_url_creating(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
