//! Ingest and footprint: the release `gangway serve` on SQLite or PostgreSQL, loaded with signed
//! 28 KB `pull_request` deliveries over HTTP; then crashed (SIGKILL) and every 202 looked up in
//! the database; then started again on the same database to time a warm start.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Connection;

use crate::child::{self, Gangway};
use crate::load::{self, Outcome, Target};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Db {
    Sqlite,
    Postgres,
}

impl Db {
    pub fn name(self) -> &'static str {
        match self {
            Db::Sqlite => "SQLite",
            Db::Postgres => "PostgreSQL",
        }
    }
}

pub struct Plan {
    pub concurrency: usize,
    pub warmup: Duration,
    pub window: Duration,
    pub steady_rate: u64,
    pub steady_window: Duration,
}

/// One run's figures.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    pub throughput: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub p999: Duration,
    pub steady_p50: Duration,
    pub steady_p99: Duration,
    pub steady_p999: Duration,
    pub steady_achieved: f64,
    /// The same steady rate beside 1,000 idle connections and a `GET /metrics` flood.
    pub hostile_p50: Duration,
    pub hostile_p99: Duration,
    pub hostile_p999: Duration,
    pub hostile_achieved: f64,
    /// Idle connections held open as the window ended, and `/metrics` answers a second.
    pub hostile_idle_open: u64,
    pub hostile_scrapes: f64,
    pub hostile_scrape_errors: u64,
    /// 202s, and how many of them were found in the database after the crash.
    pub accepted: usize,
    pub durable: usize,
    /// Of the durable ones, those whose stored payload decodes to exactly the body sent.
    pub intact: usize,
    pub refused: usize,
    pub ready_fresh: Duration,
    pub ready_warm: Duration,
    pub idle_rss_kib: u64,
    pub peak_rss_kib: u64,
}

/// A database of the bench's own: a SQLite file in `dir`, or a new PostgreSQL database on the
/// server `admin` names (dropped at the end).
pub struct BenchDb {
    pub url: String,
    drop: Option<(String, String)>,
}

impl BenchDb {
    pub async fn create(db: Db, dir: &Path, admin: &str) -> Result<BenchDb, String> {
        match db {
            Db::Sqlite => Ok(BenchDb {
                url: format!("sqlite://{}", dir.join("gangway.db").display()),
                drop: None,
            }),
            Db::Postgres => {
                let name = format!("gangway_bench_{:08x}", rand::random::<u32>());
                let mut c = sqlx::PgConnection::connect(admin)
                    .await
                    .map_err(|e| format!("PostgreSQL at {admin}: {e}"))?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut c)
                    .await
                    .map_err(|e| format!("creating the bench database: {e}"))?;
                // The same server and options (`?sslmode=…`, `?host=…`), another database.
                let (path, query) = admin.split_once('?').map_or((admin, ""), |(p, q)| (p, q));
                let base = path.rsplit_once('/').map_or(path, |(b, _)| b);
                let query = if query.is_empty() {
                    String::new()
                } else {
                    format!("?{query}")
                };
                Ok(BenchDb {
                    url: format!("{base}/{name}{query}"),
                    drop: Some((admin.to_owned(), name)),
                })
            }
        }
    }

    pub async fn dispose(self) {
        if let Some((admin, name)) = self.drop
            && let Ok(mut c) = sqlx::PgConnection::connect(&admin).await
        {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut c)
            .await;
        }
    }

    /// Every stored delivery id, and whether its payload reads back (decompressed as Gangway
    /// reads it) byte-identical to the body `sent` says was sent under that id. Read after the
    /// crash, through a connection of our own, row by row (tens of thousands of payloads).
    async fn stored(
        &self,
        sent: impl Fn(&str) -> Option<String>,
    ) -> Result<HashMap<String, bool>, String> {
        use futures::TryStreamExt;
        use sqlx::Row;
        sqlx::any::install_default_drivers();
        let mut c = sqlx::AnyConnection::connect(&self.url)
            .await
            .map_err(|e| format!("opening the database after the crash: {e}"))?;
        let mut rows =
            sqlx::query("SELECT id, payload, payload_encoding, payload_compressed FROM deliveries")
                .fetch(&mut c);
        let mut stored = HashMap::new();
        while let Some(r) = rows
            .try_next()
            .await
            .map_err(|e| format!("reading deliveries: {e}"))?
        {
            let read = |e: sqlx::Error| format!("reading a delivery: {e}");
            let id: String = r.try_get("id").map_err(read)?;
            let blob: Option<Vec<u8>> = r.try_get("payload_compressed").map_err(read)?;
            let payload = gangway::store::compress::decode_text(
                &r.try_get::<String, _>("payload_encoding").map_err(read)?,
                r.try_get("payload").map_err(read)?,
                blob.as_deref(),
            );
            let intact = matches!((payload, sent(&id)), (Ok(p), Some(s)) if p == s);
            stored.insert(id, intact);
        }
        Ok(stored)
    }
}

/// The real 28 KB `pull_request` `opened` payload, its PR number (top level and in
/// `pull_request`) made a placeholder.
pub fn target(addr: std::net::SocketAddr, prefix: &str) -> Target {
    let body = std::fs::read_to_string(format!(
        "{}/fixtures/github-webhooks/pull_request.opened.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("the pull_request fixture");
    let template = body.replacen("\"number\": 2,", "\"number\": {number},", 2);
    assert_eq!(
        template.matches("{number}").count(),
        2,
        "the fixture changed"
    );
    Target {
        addr,
        event: "pull_request",
        template: Arc::new(template),
        secret: child::SECRET,
        prefix: prefix.to_owned(),
    }
}

fn latencies(o: &mut Outcome) -> (Duration, Duration, Duration) {
    o.latencies.sort_unstable();
    (
        load::percentile(&o.latencies, 0.50),
        load::percentile(&o.latencies, 0.99),
        load::percentile(&o.latencies, 0.999),
    )
}

/// Idle connections and `/metrics` scrapers beside the hostile steady run.
pub const HOSTILE_IDLE: usize = 1000;
pub const HOSTILE_SCRAPERS: usize = 16;

/// One run on a fresh database: start (timed), idle memory, the steady rate, then the
/// saturating closed loop, a crash, the durability check, and a warm start (timed).
pub async fn run(db: Db, plan: &Plan, admin: &str, run: usize) -> Result<Figures, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let bench_db = BenchDb::create(db, dir.path(), admin).await?;
    let result = run_on(&bench_db, dir.path(), plan, run).await;
    if result.is_err() || std::env::var_os("GANGWAY_BENCH_KEEP").is_some() {
        eprintln!("  (gangway's log is kept in {})", dir.keep().display());
    }
    bench_db.dispose().await;
    result
}

/// A GitHub for the workers while ingest is measured: the fake, 50 ms per call, knowing the
/// fixture's installation and repository (not its PRs). As with the real one, the workers spend
/// their time waiting on GitHub, not on the CPU ingest needs.
async fn github() -> Result<fake_github::FakeGitHub, String> {
    use fake_github::{FakeConfig, FakeGitHub};
    let fake = FakeGitHub::start(FakeConfig::new(child::APP_ID, child::PUBLIC_KEY_PEM))
        .await
        .map_err(|e| format!("fake GitHub: {e}"))?;
    fake.set_latency(crate::e2e::LATENCY);
    fake.set_rate_limit(1_000_000);
    fake.add_installation(1, "Codertocat");
    fake.add_repo(1, "Codertocat/Hello-World", "master")
        .map_err(|e| e.to_string())?;
    Ok(fake)
}

async fn run_on(db: &BenchDb, dir: &Path, plan: &Plan, run: usize) -> Result<Figures, String> {
    let mut f = Figures::default();
    let fake = github().await?;
    let mut gw = Gangway::spawn(&db.url, fake.url(), dir, &[]);
    f.ready_fresh = gw.wait_ready(Duration::from_secs(30))?;
    // Idle: ready, nothing received; a moment for start-up allocations to settle.
    tokio::time::sleep(Duration::from_millis(500)).await;
    f.idle_rss_kib = gw.rss_kib().unwrap_or(0);

    let steady_target = target(gw.addr, &format!("steady-{run}"));
    let mut steady =
        load::open_loop(&steady_target, 64, plan.steady_rate, plan.steady_window).await;
    (f.steady_p50, f.steady_p99, f.steady_p999) = latencies(&mut steady);
    f.steady_achieved = steady.latencies.len() as f64 / plan.steady_window.as_secs_f64();

    // The same rate again, beside 1,000 idle connections and 16 connections scraping /metrics.
    let hostile = load::Hostile::start(gw.addr, HOSTILE_IDLE, HOSTILE_SCRAPERS).await;
    let settle = tokio::time::Instant::now() + Duration::from_secs(5);
    while hostile.idle_open.load(std::sync::atomic::Ordering::Relaxed)
        < HOSTILE_IDLE as u64 * 9 / 10
        && tokio::time::Instant::now() < settle
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let hostile_target = target(gw.addr, &format!("hostile-{run}"));
    let mut under_fire =
        load::open_loop(&hostile_target, 64, plan.steady_rate, plan.steady_window).await;
    f.hostile_idle_open = hostile.idle_open.load(std::sync::atomic::Ordering::Relaxed);
    let tally = hostile.stop().await;
    (f.hostile_p50, f.hostile_p99, f.hostile_p999) = latencies(&mut under_fire);
    f.hostile_achieved = under_fire.latencies.len() as f64 / plan.steady_window.as_secs_f64();
    f.hostile_scrapes = tally.scrapes_per_sec;
    f.hostile_scrape_errors = tally.scrape_errors;

    let flat_out = target(gw.addr, &format!("load-{run}"));
    let mut closed = load::closed_loop(&flat_out, plan.concurrency, plan.warmup, plan.window).await;
    f.throughput = closed.throughput();
    (f.p50, f.p99, f.p999) = latencies(&mut closed);
    f.peak_rss_kib = gw.peak_rss_kib().unwrap_or(0);

    // The crash: every 202 must already be on disk, its payload exactly what was sent.
    gw.crash();
    let stored = db
        .stored(|id| {
            [&steady_target, &hostile_target, &flat_out]
                .iter()
                .find_map(|t| t.request_of(id).map(|n| t.body_text(n)))
        })
        .await?;
    let mut accepted: Vec<String> = Vec::new();
    accepted.extend(steady.accepted.iter().map(|n| steady_target.delivery(*n)));
    accepted.extend(
        under_fire
            .accepted
            .iter()
            .map(|n| hostile_target.delivery(*n)),
    );
    accepted.extend(closed.accepted.iter().map(|n| flat_out.delivery(*n)));
    f.accepted = accepted.len();
    f.durable = accepted
        .iter()
        .filter(|id| stored.contains_key(*id))
        .count();
    f.intact = accepted
        .iter()
        .filter(|id| stored.get(*id) == Some(&true))
        .count();
    f.refused = steady.refused.len() + under_fire.refused.len() + closed.refused.len();

    let mut again = Gangway::spawn(&db.url, fake.url(), dir, &[]);
    f.ready_warm = again.wait_ready(Duration::from_secs(30))?;
    again.stop();
    Ok(f)
}

/// Diagnostic: the same load against Gangway's HTTP router and ingress served in this process,
/// with no workers (nothing else writes to the database): what ingress alone can take.
pub async fn ingress_only(db: Db, plan: &Plan, admin: &str) -> Result<Figures, String> {
    use gangway::clock::{SharedClock, SystemClock};
    use gangway::http::{HttpState, router};
    use gangway::ingress::Ingress;
    use gangway::metrics::Metrics;
    use gangway::queue::Queue;
    use gangway::store::Store;

    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let bench_db = BenchDb::create(db, dir.path(), admin).await?;
    let store = Store::open(&bench_db.url)
        .await
        .map_err(|e| e.to_string())?;
    let clock: SharedClock = Arc::new(SystemClock);
    let metrics = Metrics::new();
    let queue = Queue::new(store.clone(), clock.clone(), "bench", Default::default());
    let ingress = Ingress {
        store: store.clone(),
        secrets: Arc::new(vec![secrecy::SecretString::from(child::SECRET)]),
        metrics: metrics.clone(),
        clock: clock.clone(),
        wake: Arc::new(tokio::sync::Notify::new()),
        max_attempts: 8,
        group: gangway::ingress::batch::GroupCommit::new(store.clone()),
        app_id: child::APP_ID,
    };
    let key = secrecy::SecretString::from(child::KEY_PEM);
    let access = Arc::new(gangway::web::access::Access::new(
        gangway::github::user::UserClient::new("http://127.0.0.1:1", "http://127.0.0.1:1")
            .map_err(|e| e.to_string())?,
        gangway::github::GitHub::new("http://127.0.0.1:1", child::APP_ID, &key, metrics.clone())
            .map_err(|e| e.to_string())?,
    ));
    let app = router(
        HttpState {
            ingress,
            store: store.clone(),
            metrics,
            queue: queue.clone(),
            web: gangway::web::WebState {
                store: store.clone(),
                queue,
                clock,
                settings: Arc::new(gangway::config::WebSettings {
                    github_url: "http://127.0.0.1:1".into(),
                    public_url: "http://127.0.0.1:1".into(),
                    client_id: None,
                    client_secret: None,
                    public_read: false,
                    operators: Vec::new(),
                    session_key: gangway::config::SessionKey::derive(&key),
                }),
                access,
                budgets: Arc::default(),
                streams: Arc::new(tokio::sync::Semaphore::new(gangway::web::MAX_STREAMS)),
            },
        },
        true,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let mut f = Figures::default();
    let mut steady = load::open_loop(
        &target(addr, "steady"),
        64,
        plan.steady_rate,
        plan.steady_window,
    )
    .await;
    (f.steady_p50, f.steady_p99, f.steady_p999) = latencies(&mut steady);
    f.steady_achieved = steady.latencies.len() as f64 / plan.steady_window.as_secs_f64();
    let mut closed = load::closed_loop(
        &target(addr, "load"),
        plan.concurrency,
        plan.warmup,
        plan.window,
    )
    .await;
    f.throughput = closed.throughput();
    (f.p50, f.p99, f.p999) = latencies(&mut closed);
    f.accepted = steady.accepted.len() + closed.accepted.len();
    f.refused = steady.refused.len() + closed.refused.len();
    server.abort();
    store.close().await;
    bench_db.dispose().await;
    Ok(f)
}
