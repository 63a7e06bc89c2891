//! The dashboard's repository page with 200 open pull requests: server time over HTTP on
//! loopback (median and p99 of N renders; the target is under 50 ms).
//!
//! `cargo bench --bench dashboard [-- --renders N]`. The store is an SQLite file seeded with
//! one repository, 200 open pull requests (each with a live preview, half approved, a 2 KB
//! status comment), deployments to three environments, a hold and five queued promotions.
//! Gangway's web router is served in this process; the time is the client's, from request to
//! the last byte of the page, so it bounds the server's time from above. The page is read
//! anonymously with `GANGWAY_DASHBOARD_PUBLIC`: the fake GitHub answers once that the repository
//! is public, and that answer is cached as it is in production (60 s).

use std::sync::Arc;
use std::time::{Duration, Instant};

use gangway::clock::SystemClock;
use gangway::config::{QueueSettings, WebSettings};
use gangway::queue::Queue;
use gangway::store::Store;
use gangway::web::{self, WebState};

const PULLS: i64 = 200;
const APP_ID: u64 = 1;

async fn seed(url: &str) {
    let pool = sqlx::AnyPool::connect(url).await.expect("connect");
    let now = 1_800_000_000_000_i64;
    let exec = |sql: String| {
        let pool = pool.clone();
        async move {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .expect("seed");
        }
    };
    exec(format!("INSERT INTO installations (id, account, created_at, updated_at) VALUES (1, 'octo', {now}, {now})")).await;
    exec(format!("INSERT INTO repositories (id, installation_id, full_name, added_at) VALUES (1, 1, 'octo/app', {now})")).await;
    let sticky = "x".repeat(2000);
    for n in 1..=PULLS {
        let sha = format!("{n:040x}");
        exec(format!(
            "INSERT INTO pull_requests (repo_id, number, installation_id, repo_full_name, default_branch, head_sha, head_ref,
                is_fork, draft, state, merged, author, gh_updated_at, updated_at, title, sticky_body)
             VALUES (1, {n}, 1, 'octo/app', 'main', '{sha}', 'feature-{n}', {fork}, 0, 'open', 0, 'dev{n}',
                '2026-01-01T00:00:00Z', {now}, 'Change number {n}: <b>escaped</b>', '{sticky}')",
            fork = n % 3 == 0
        ))
        .await;
        exec(format!(
            "INSERT INTO previews (repo_id, pr_number, sha, environment, host, driver, state, environment_url,
                log_token, requested_by, created_at, updated_at)
             VALUES (1, {n}, '{sha}', 'pr-{n}', 'app-pr{n}.example.org', 'command', 'live',
                'https://app-pr{n}.example.org', 'tok{n}', 'gangway', {now}, {now})"
        ))
        .await;
        if n % 2 == 0 {
            exec(format!(
                "INSERT INTO approvals (repo_id, pr_number, sha, approver, permission, comment_url, approved_at)
                 VALUES (1, {n}, '{sha}', 'boss', 'maintain', 'https://example.org', {now})"
            ))
            .await;
        }
    }
    for (i, env) in ["staging", "production-uk", "production-au"]
        .iter()
        .enumerate()
    {
        exec(format!(
            "INSERT INTO env_deployments (repo_id, environment, sha, kind, requested_by, pr_number, state,
                log_token, created_at, updated_at, live_at)
             VALUES (1, '{env}', '{:040x}', 'promote', 'boss', {}, 'live', 'env{i}', {now}, {now}, {now})",
            i + 1,
            i + 1
        ))
        .await;
    }
    exec(format!("INSERT INTO env_holds (repo_id, environment, held_by, reason, held_at) VALUES (1, 'production-au', 'boss', 'release freeze', {now})")).await;
    for q in 1..=5 {
        exec(format!(
            "INSERT INTO promotion_queue (repo_id, family, environment, sha, pr_number, requested_by, batch, state,
                created_at, updated_at)
             VALUES (1, 'production', 'production-uk', '{q:040x}', {q}, 'boss', 'b{q}', 'waiting', {now}, {now})"
        ))
        .await;
    }
    pool.close().await;
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let renders: usize = args
        .iter()
        .position(|a| a == "--renders")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("gangway.db").display());
    let store = Store::open(&url).await.expect("open");
    store.migrate().await.expect("migrate");
    seed(&url).await;
    let clock: gangway::clock::SharedClock = Arc::new(SystemClock);
    let queue = Queue::new(
        store.clone(),
        clock.clone(),
        "bench",
        QueueSettings::default(),
    );
    let fake = fake_github::FakeGitHub::start(fake_github::FakeConfig::new(
        APP_ID,
        include_str!("../fixtures/test-app-key.pub.pem"),
    ))
    .await
    .expect("fake github");
    fake.add_installation(1, "octo");
    fake.add_repo(1, "octo/app", "main").expect("repo");
    let key = secrecy::SecretString::from(include_str!("../fixtures/test-app-key.pem"));
    let access = Arc::new(web::access::Access::new(
        gangway::github::user::UserClient::new(fake.url(), fake.url()).expect("user client"),
        gangway::github::GitHub::new(fake.url(), APP_ID, &key, gangway::metrics::Metrics::new())
            .expect("github client"),
    ));
    let state = WebState {
        store,
        queue,
        clock,
        settings: Arc::new(WebSettings {
            github_url: fake.url().into(),
            public_url: "http://127.0.0.1".into(),
            client_id: None,
            client_secret: None,
            public_read: true,
            operators: Vec::new(),
            session_key: gangway::config::SessionKey::derive(&key),
        }),
        access,
        budgets: Arc::default(),
        streams: Arc::new(tokio::sync::Semaphore::new(web::MAX_STREAMS)),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, web::router(state)).await });
    let client = reqwest::Client::new();
    let page = format!("http://{addr}/repos/octo/app");
    let mut times = Vec::with_capacity(renders);
    for i in 0..renders + 20 {
        let t = Instant::now();
        let r = client.get(&page).send().await.expect("get");
        assert_eq!(r.status(), 200);
        let body = r.text().await.expect("body");
        let took = t.elapsed();
        if i == 0 {
            let rows = body.matches("data-pr=\"").count();
            assert_eq!(rows as i64, PULLS, "every pull request on the page");
        }
        if i >= 20 {
            times.push(took);
        }
    }
    times.sort();
    let (median, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
    println!(
        "dashboard repository page, {PULLS} open PRs, {renders} renders: median {:.1} ms, p99 {:.1} ms (target < 50 ms): {}",
        median.as_secs_f64() * 1000.0,
        p99.as_secs_f64() * 1000.0,
        if median < Duration::from_millis(50) {
            "ok"
        } else {
            "OVER"
        }
    );
}
