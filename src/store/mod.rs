//! The database: connection, migrations, readiness, and the queries of each table.
//!
//! Owns: every SQL statement. SQLite (embedded default, WAL) and PostgreSQL (replicas) through
//! sqlx's `Any` driver with a portable schema (BIGINT integers, TEXT strings and JSON, BIGINT
//! unix-millisecond times); where the dialects must differ (claiming jobs) the statement is chosen
//! by [`DbKind`] here, nowhere else. Never decides anything.

mod audit;
mod commands;
mod deliveries;
mod environments;
mod installations;
mod policies;
mod previews;
mod pulls;
mod timers;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Executor, SqlSafeStr};

pub use crate::config::DbKind;
pub use commands::CommandRun;
pub use deliveries::{DeliveryRecord, IngestOutcome, NewDelivery};
pub use environments::NewEnvDeployment;
pub use policies::CachedPolicy;
pub use previews::NewPreview;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Invalid(String),
}

impl StoreError {
    /// Connection trouble, pool exhaustion, lock timeouts: worth retrying.
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
            }
            _ => false,
        }
    }
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
);
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = migrations!("postgres":
    1 "init" "0001_init.sql",
    2 "previews" "0002_previews.sql",
    3 "commands" "0003_commands.sql",
    4 "timers" "0004_timers.sql",
    5 "environments" "0005_environments.sql",
    6 "merges" "0006_merges.sql",
    7 "jobs_index" "0007_jobs_index.sql",
);

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    kind: DbKind,
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
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if kind == DbKind::Sqlite {
                        // WAL: readers never block the writer; FULL: a 202 survives power loss
                        // too, not only a process crash. busy_timeout: writers queue, not fail.
                        conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok(Store { pool, kind })
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

    /// Ready = the database answers and every migration this binary knows is applied.
    pub async fn ready(&self) -> Result<(), StoreError> {
        let latest = self.migrator().iter().map(|m| m.version).max().unwrap_or(0);
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(&self.pool)
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
        self.pool.close().await;
    }
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
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_get_create_mode() {
        assert_eq!(
            sqlite_url_creating("sqlite://gangway.db"),
            "sqlite://gangway.db?mode=rwc"
        );
        assert_eq!(
            sqlite_url_creating("sqlite://x.db?cache=shared"),
            "sqlite://x.db?cache=shared&mode=rwc"
        );
        assert_eq!(
            sqlite_url_creating("sqlite://x.db?mode=ro"),
            "sqlite://x.db?mode=ro"
        );
    }
}
