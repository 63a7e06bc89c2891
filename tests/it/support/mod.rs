//! Shared test harness: a fresh database per test (SQLite file, or a new PostgreSQL database when
//! `GANGWAY_TEST_POSTGRES` names a server), a real Gangway server on 127.0.0.1, signed deliveries,
//! and waiting on conditions instead of sleeping.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gangway::clock::{SharedClock, SystemClock};
use gangway::config::{Settings, Source};
use gangway::ingress::signature::sign;
use gangway::server::Running;
use gangway::store::Store;
use sqlx::Connection;

pub mod browser;
pub mod signin;
pub mod world;

pub const SECRET: &str = "test-webhook-secret";
pub const APP_ID: u64 = 4242;
pub const KEY_PEM: &str = include_str!("../../../fixtures/test-app-key.pem");
pub const PUBLIC_KEY_PEM: &str = include_str!("../../../fixtures/test-app-key.pub.pem");

/// A database that exists for one test.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    drop_pg: Option<(String, String)>,
}

impl TestDb {
    pub async fn new() -> TestDb {
        match std::env::var("GANGWAY_TEST_POSTGRES") {
            Ok(admin) if !admin.is_empty() => {
                let name = format!("gw_test_{:016x}", rand::random::<u64>());
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .expect("connect to GANGWAY_TEST_POSTGRES");
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
                TestDb {
                    url: format!("{base}/{name}"),
                    _dir: None,
                    drop_pg: Some((admin, name)),
                }
            }
            _ => {
                let dir = tempfile::tempdir().expect("tempdir");
                let url = format!("sqlite://{}", dir.path().join("gangway.db").display());
                TestDb {
                    url,
                    _dir: Some(dir),
                    drop_pg: None,
                }
            }
        }
    }

    /// An SQLite file at `path` (its directory is the caller's).
    pub fn sqlite_at(path: &std::path::Path) -> TestDb {
        TestDb {
            url: format!("sqlite://{}", path.display()),
            _dir: None,
            drop_pg: None,
        }
    }

    /// The same database (dropped with it), reached through another URL (e.g. another role).
    pub fn with_url(mut self, url: &str) -> TestDb {
        self.url = url.to_owned();
        self
    }

    pub async fn store(&self) -> Store {
        Store::open(&self.url).await.expect("open store")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.drop_pg.take() {
            // Best effort, off the test's runtime: a leftover test database is harmless.
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            )))
                            .execute(&mut c)
                            .await;
                        }
                    });
                }
            })
            .join()
            .ok();
        }
    }
}

/// Settings for a test instance; `extra` overrides or adds.
pub fn settings(db_url: &str, api_url: &str, extra: &[(&str, &str)]) -> Settings {
    let mut pairs: Vec<(String, String)> = vec![
        ("APP_ID".into(), APP_ID.to_string()),
        ("PRIVATE_KEY".into(), KEY_PEM.into()),
        ("WEBHOOK_SECRET".into(), SECRET.into()),
        ("GITHUB_API_URL".into(), api_url.into()),
        ("DATABASE_URL".into(), db_url.into()),
        ("GANGWAY_HOST".into(), "127.0.0.1".into()),
        ("PORT".into(), "3000".into()),
        ("GANGWAY_JOB_POLL_MS".into(), "50".into()),
        ("GANGWAY_JOB_BACKOFF_BASE_MS".into(), "20".into()),
        ("GANGWAY_SHUTDOWN_GRACE_SECS".into(), "5".into()),
        // Users may sign in to the dashboard through the fake GitHub.
        (
            "GANGWAY_GITHUB_CLIENT_ID".into(),
            fake_github::FakeConfig::DEFAULT_CLIENT_ID.into(),
        ),
        (
            "GANGWAY_GITHUB_CLIENT_SECRET".into(),
            fake_github::FakeConfig::DEFAULT_CLIENT_SECRET.into(),
        ),
    ];
    for (k, v) in extra {
        pairs.retain(|(name, _)| name != k);
        pairs.push(((*k).into(), (*v).into()));
    }
    Settings::load(&Source::from_env(pairs)).expect("test settings are valid")
}

/// A Gangway server on 127.0.0.1 with a fresh database.
pub struct TestApp {
    pub db: TestDb,
    pub running: Option<Running>,
    pub addr: SocketAddr,
    pub http: reqwest::Client,
}

impl TestApp {
    pub async fn start() -> TestApp {
        Self::start_with("http://127.0.0.1:9", &[]).await
    }

    pub async fn start_with(api_url: &str, extra: &[(&str, &str)]) -> TestApp {
        let db = TestDb::new().await;
        Self::start_on(db, api_url, extra, Arc::new(SystemClock)).await
    }

    pub async fn start_on(
        db: TestDb,
        api_url: &str,
        extra: &[(&str, &str)],
        clock: SharedClock,
    ) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        Self::start_listening(db, api_url, extra, clock, listener).await
    }

    /// As `start_on`, on a listener the test bound (e.g. to know the address before the settings).
    pub async fn start_listening(
        db: TestDb,
        api_url: &str,
        extra: &[(&str, &str)],
        clock: SharedClock,
        listener: tokio::net::TcpListener,
    ) -> TestApp {
        let s = settings(&db.url, api_url, extra);
        let running = Running::start(&s, listener, clock)
            .await
            .expect("start gangway");
        let addr = running.addr();
        TestApp {
            db,
            running: Some(running),
            addr,
            http: test_http_client(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn store(&self) -> &Store {
        self.running.as_ref().expect("running").store()
    }

    /// Posts a delivery signed with the test secret.
    pub async fn deliver(&self, event: &str, delivery: &str, body: &[u8]) -> reqwest::Response {
        self.http
            .post(self.url("/webhooks"))
            .header("content-type", "application/json")
            .header("x-github-event", event)
            .header("x-github-delivery", delivery)
            .header("x-hub-signature-256", sign(SECRET.as_bytes(), body))
            .body(body.to_vec())
            .send()
            .await
            .expect("POST /webhooks")
    }

    /// Stops the server (gracefully) and hands back its database, for a restart.
    pub async fn stop_keep_db(mut self) -> TestDb {
        if let Some(r) = self.running.take() {
            r.shutdown().await.expect("clean shutdown");
        }
        self.db
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await.expect("clean shutdown");
        }
    }
}

/// Waits until `check` returns `Some`, polling; panics with `what` after `timeout`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/fixtures/github-webhooks/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

/// Every webhook fixture: (file name, event name).
pub fn all_fixtures() -> Vec<(String, String)> {
    let dir = format!("{}/fixtures/github-webhooks", env!("CARGO_MANIFEST_DIR"));
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("fixtures dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json") && n != "MANIFEST.json")
        .map(|n| {
            let event = n.split('.').next().unwrap_or_default().to_owned();
            (n, event)
        })
        .collect();
    out.sort();
    out
}

/// An HTTP client whose requests fail after a minute instead of hanging a test forever.
pub fn test_http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("http client")
}

/// A port nothing listens on right now (for child processes that need a fixed one).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}
