//! Bad days: GitHub's secondary rate limit on one job pauses every call of its installation,
//! and a database that stops taking writes (a full disk, an I/O error, a revoked privilege) is
//! answered 503, never 202, and recovered from by itself once the cause is gone.

use crate::support;

use std::time::Duration;

use chrono::Utc;
use fake_github::{Fault, PrSpec};
use support::world::{REPO, World};

/// A secondary rate limit answered to one job's call (403 with `Retry-After`) while other jobs
/// of the same installation are due: no call of that installation reaches GitHub until the
/// `Retry-After` has passed; then every PR is deployed, once.
#[tokio::test]
async fn a_secondary_rate_limit_pauses_every_call_of_the_installation() {
    let w = World::start().await;
    let mut prs = Vec::new();
    for n in 0..4 {
        let pr = w
            .fake
            .open_pr(PrSpec::new(REPO, &format!("feature-{n}"), "alice"))
            .await
            .unwrap();
        prs.push(pr);
    }
    w.settle().await;
    const RETRY_AFTER: u64 = 2;
    w.fake
        .inject(Fault::secondary_rate_limit(RETRY_AFTER).on("POST", "/repos/octo/app/deployments"));
    // The first PR's deployment create is refused with a secondary limit ...
    w.green(REPO, &prs[0].head_sha).await;
    let refused = support::wait_for("the refused call", Duration::from_secs(30), || async {
        w.fake.calls().into_iter().find(|c| c.faulted)
    })
    .await;
    // ... and the other PRs' evaluations become due within its Retry-After: their webhooks
    // are still acknowledged (`green` asserts it), their calls wait.
    let from = Utc::now();
    for pr in &prs[1..] {
        w.green(REPO, &pr.head_sha).await;
    }
    w.until("every PR live", |f| {
        let live = f
            .deployments(REPO)
            .iter()
            .filter(|d| d.statuses.last().is_some_and(|s| s.state == "success"))
            .count();
        live == prs.len()
    })
    .await;
    w.settle().await;
    // Gangway reads the refusal a moment after it left the fake.
    let until = refused.answered + chrono::Duration::seconds(RETRY_AFTER as i64)
        - chrono::Duration::milliseconds(50);
    assert!(from < until, "the other PRs were greened within the window");
    let within: Vec<String> = w
        .fake
        .calls()
        .iter()
        .filter(|c| c.installation == Some(1) || c.path.starts_with("/app/installations/1/"))
        .filter(|c| c.at > from && c.at < until)
        .map(|c| {
            format!(
                "{} {} at +{} ms",
                c.method,
                c.path,
                (c.at - refused.answered).num_milliseconds()
            )
        })
        .collect();
    assert!(
        within.is_empty(),
        "calls of the paused installation reached GitHub within Retry-After: {within:?}"
    );
    assert!(Utc::now() > until, "the test waited past the window");
    // One deployment per PR: the refused create was not repeated twice.
    assert_eq!(w.fake.deployments(REPO).len(), prs.len());
    let metrics = w
        .app
        .http
        .get(w.app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("gangway_github_secondary_limit_pauses_total 1"),
        "{metrics}"
    );
}

/// Posts a check suite completion for each head at once: a burst of signed deliveries. The
/// deliveries the fake made, whatever Gangway answered.
async fn burst_of_green_checks(w: &World, shas: &[String]) -> Vec<fake_github::Delivery> {
    let sends = shas.iter().map(|sha| async move {
        w.fake
            .add_check_run(REPO, sha, "build", "completed", Some("success"))
            .expect("check run");
        w.fake
            .complete_check_suite(REPO, sha, "github-actions")
            .await
            .expect("suite")
    });
    futures::future::join_all(sends).await
}

async fn readyz(w: &World) -> (u16, String) {
    let r = w.app.http.get(w.app.url("/readyz")).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// How a test fills the database's storage up and frees it again.
enum Disk {
    /// SQLite's `max_page_count`: the same condition as a full disk, without mounting one.
    PageLimit,
    /// A small tmpfs holding the database, filled up by a file of the test's.
    Tmpfs(Tmpfs),
}

impl Disk {
    async fn fill(&self, w: &World) {
        match self {
            Disk::PageLimit => {
                let store = w.app.store();
                let pages = store.page_count().await.unwrap();
                store.limit_pages(Some(pages as u64 + 4)).await.unwrap();
            }
            Disk::Tmpfs(fs) => fs.fill(),
        }
    }

    async fn free(&self, w: &World) {
        match self {
            Disk::PageLimit => w.app.store().limit_pages(None).await.unwrap(),
            Disk::Tmpfs(fs) => fs.free(),
        }
    }
}

/// A small tmpfs mounted in a temporary directory (needs root), unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        mounted.then_some(Tmpfs { dir })
    }

    fn filler(&self) -> std::path::PathBuf {
        self.dir.path().join("filler")
    }

    /// Writes a file until the filesystem refuses more.
    fn fill(&self) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.filler()).expect("filler");
        let chunk = vec![0xa5u8; 4096];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
    }

    fn free(&self) {
        std::fs::remove_file(self.filler()).expect("remove the filler");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// The database fills up (SQLite's `max_page_count`, the same condition as a full disk without
/// mounting one) during a burst of signed deliveries: each is answered 202 only if stored, else
/// 503 with `Retry-After`; `/readyz` says why; job steps that cannot record wait; once space is
/// back the store recovers by itself, redelivered and new deliveries are stored and processed;
/// after a SIGKILL and a restart every acknowledged delivery is there, no PR is deployed twice
/// and none is missing.
#[tokio::test]
async fn a_full_disk_mid_burst_acknowledges_only_what_is_stored_and_recovers() {
    if std::env::var("GANGWAY_TEST_POSTGRES").is_ok_and(|v| !v.is_empty()) {
        eprintln!("SKIPPED on PostgreSQL: max_page_count is SQLite's (see the PostgreSQL test)");
        return;
    }
    let w = World::start_with("", "", &[("GANGWAY_JOB_LEASE_SECS", "2")]).await;
    full_disk_mid_burst(w, Disk::PageLimit).await;
}

/// The same on a real filesystem that fills up: a 4 MB tmpfs (skipped where it cannot be
/// mounted, with a message).
#[tokio::test]
async fn a_full_filesystem_mid_burst_acknowledges_only_what_is_stored_and_recovers() {
    if std::env::var("GANGWAY_TEST_POSTGRES").is_ok_and(|v| !v.is_empty()) {
        eprintln!("SKIPPED on PostgreSQL: the tmpfs test is SQLite's (see the PostgreSQL test)");
        return;
    }
    let Some(fs) = Tmpfs::mount("4m") else {
        eprintln!(
            "SKIPPED: cannot mount a tmpfs here (needs root): the full-filesystem test did not run"
        );
        return;
    };
    let db = support::TestDb::sqlite_at(&fs.dir.path().join("gangway.db"));
    let w = World::start_on_db(&[("GANGWAY_JOB_LEASE_SECS", "2")], db).await;
    full_disk_mid_burst(w, Disk::Tmpfs(fs)).await;
}

async fn full_disk_mid_burst(w: World, disk: Disk) {
    let mut prs = Vec::new();
    for n in 0..10 {
        let pr = w
            .fake
            .open_pr(PrSpec::new(REPO, &format!("burst-{n}"), "alice"))
            .await
            .unwrap();
        prs.push(pr);
    }
    // The first PR goes live before the burst; its check suite's webhook, padded with 64 KB
    // that do not compress, is the heavy part of the burst.
    w.green(REPO, &prs[0].head_sha).await;
    w.until_live("the first PR").await;
    w.settle().await;
    let mut heavy = w
        .fake
        .deliveries_of("check_suite")
        .last()
        .expect("check suite")
        .payload();
    let mut pad = String::new();
    let mut n: u32 = 7;
    while pad.len() < 64 * 1024 {
        n = n.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        pad.push_str(&format!("{n:08x}"));
    }
    heavy["gangway_test_padding"] = serde_json::Value::String(pad);
    let heavy = serde_json::to_vec(&heavy).unwrap();
    disk.fill(&w).await;
    let shas: Vec<String> = prs[1..].iter().map(|p| p.head_sha.clone()).collect();
    let heavy_sends = (0..40).map(|i| {
        let (w, heavy) = (&w, &heavy);
        async move {
            let r = w
                .app
                .deliver("check_suite", &format!("heavy-{i}"), heavy)
                .await;
            let status = r.status().as_u16();
            if status == 503 {
                assert!(
                    r.headers().contains_key("retry-after"),
                    "503 without Retry-After"
                );
            }
            (format!("heavy-{i}"), status)
        }
    });
    let (sent, heavy) = tokio::join!(
        burst_of_green_checks(&w, &shas),
        futures::future::join_all(heavy_sends)
    );
    let refused: Vec<&fake_github::Delivery> =
        sent.iter().filter(|d| d.status == Some(503)).collect();
    assert!(
        heavy.iter().any(|(_, s)| *s == 503) || !refused.is_empty(),
        "the disk filled during the burst"
    );
    for (_, status) in &heavy {
        assert!(matches!(status, 202 | 503), "{status}");
    }
    for d in &sent {
        assert!(
            matches!(d.status, Some(202) | Some(503)),
            "{:?}: {}",
            d.status,
            d.response_body
        );
    }
    // A full tmpfs frees a little again as failed commits give their WAL space back, so only
    // the page limit keeps every write failing until it is lifted.
    if matches!(disk, Disk::PageLimit) {
        let (status, why) = readyz(&w).await;
        assert_eq!(status, 503, "{why}");
        assert!(why.contains("database writes are failing"), "{why}");
        assert!(why.contains("full"), "{why}");
    }
    let metrics = w
        .app
        .http
        .get(w.app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !metrics.contains("gangway_database_write_failures_total 0"),
        "{metrics}"
    );

    // Space is freed: the store recovers without a restart.
    disk.free(&w).await;
    let last = std::sync::Mutex::new(String::new());
    let ready = tokio::time::timeout(
        Duration::from_secs(30),
        support::wait_for("ready again", Duration::from_secs(3600), || async {
            let (status, why) = readyz(&w).await;
            *last.lock().unwrap() = format!("{status}: {why}");
            (status == 200).then_some(())
        }),
    )
    .await;
    assert!(
        ready.is_ok(),
        "not ready 30 s after space was freed; last answer: {}",
        last.lock().unwrap()
    );
    for d in &refused {
        let again = w.fake.redeliver(&d.guid).await.unwrap();
        assert_eq!(again.status, Some(202), "{}", again.response_body);
    }
    let late = w
        .fake
        .open_pr(PrSpec::new(REPO, "after-the-storm", "alice"))
        .await
        .unwrap();
    w.green(REPO, &late.head_sha).await;
    prs.push(late);
    w.settle().await;

    // SIGKILL, and what is on disk: every acknowledged delivery.
    let mut acknowledged: Vec<String> = w
        .fake
        .deliveries()
        .into_iter()
        .filter(|d| d.ok())
        .map(|d| d.guid)
        .collect();
    acknowledged.extend(
        heavy
            .iter()
            .filter(|(_, s)| *s == 202)
            .map(|(g, _)| g.clone()),
    );
    let (w, db) = w.kill_gangway().await;
    {
        let on_disk = db.store().await;
        for guid in &acknowledged {
            assert!(
                on_disk.has_delivery(guid).await.unwrap(),
                "delivery {guid} was acknowledged but is not in the database"
            );
        }
        on_disk.close().await;
    }
    let w = w.restart_gangway(db).await;
    w.settle().await;
    for pr in &prs {
        let deployments: Vec<_> = w
            .fake
            .deployments(REPO)
            .into_iter()
            .filter(|d| d.sha == pr.head_sha)
            .collect();
        assert_eq!(deployments.len(), 1, "PR #{}: {deployments:?}", pr.number);
        assert_eq!(
            deployments[0].statuses.last().map(|s| s.state.as_str()),
            Some("success"),
            "PR #{}",
            pr.number
        );
        let runs = w
            .driver_runs()
            .iter()
            .filter(|l| l.starts_with(&format!("deploy {} ", pr.number)))
            .count();
        assert_eq!(runs, 1, "PR #{} deployed {runs} times", pr.number);
    }
    let envs = gangway::operator::envs(w.app.store(), Utc::now().timestamp_millis(), false)
        .await
        .unwrap();
    assert_eq!(envs.len(), prs.len(), "{envs:?}");
    assert!(envs.iter().all(|e| e.state == "live"), "{envs:?}");
}

/// PostgreSQL (only with `GANGWAY_TEST_POSTGRES`): the INSERT privilege on `deliveries` is
/// revoked from Gangway's role mid-burst. Every delivery is answered 202 only if stored, the
/// others 503 with `Retry-After`, `/readyz` says why; once granted again, deliveries are
/// stored.
#[tokio::test]
async fn postgres_writes_refused_mid_burst_answer_503_never_202() {
    let Ok(admin) = std::env::var("GANGWAY_TEST_POSTGRES") else {
        return;
    };
    if admin.is_empty() {
        return;
    }
    use sqlx::Connection;
    let db = support::TestDb::new().await;
    let role = format!("gw_role_{:08x}", rand::random::<u32>());
    let dbname = db.url.rsplit('/').next().unwrap().to_owned();
    let mut su = sqlx::PgConnection::connect(&db.url).await.unwrap();
    for sql in [
        format!("CREATE ROLE {role} LOGIN"),
        format!("ALTER DATABASE {dbname} OWNER TO {role}"),
        format!("GRANT ALL ON SCHEMA public TO {role}"),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut su)
            .await
            .unwrap();
    }
    let base = db.url.split("://").nth(1).unwrap();
    let host_and_db = base.split_once('@').map_or(base, |(_, h)| h);
    let url = format!("postgres://{role}@{host_and_db}");
    let app = support::TestApp::start_on(
        db.with_url(&url),
        "http://127.0.0.1:9",
        &[],
        std::sync::Arc::new(gangway::clock::SystemClock),
    )
    .await;
    let body = support::fixture("installation.created.json");
    let before = app.deliver("installation", "pg-before", &body).await;
    assert_eq!(before.status(), 202);
    let sends = (0..30).map(|i| {
        let (app, body) = (&app, &body);
        async move {
            let r = app.deliver("installation", &format!("pg-{i}"), body).await;
            (
                format!("pg-{i}"),
                r.status().as_u16(),
                r.headers().contains_key("retry-after"),
            )
        }
    });
    let revoke = async {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "REVOKE INSERT ON deliveries FROM {role}"
        )))
        .execute(&mut su)
        .await
        .unwrap();
    };
    let (answers, ()) = tokio::join!(futures::future::join_all(sends), revoke);
    let after = app.deliver("installation", "pg-after", &body).await;
    assert_eq!(after.status(), 503);
    assert!(after.headers().contains_key("retry-after"));
    for (_, status, retry_after) in &answers {
        assert!(matches!(status, 202 | 503), "{status}");
        assert!(*status != 503 || *retry_after, "503 without Retry-After");
    }
    let r = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let why = r.text().await.unwrap();
    assert!(why.contains("database writes are failing"), "{why}");
    for (guid, status, _) in &answers {
        if *status == 202 {
            assert!(app.store().has_delivery(guid).await.unwrap(), "{guid}");
        }
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "GRANT INSERT ON deliveries TO {role}"
    )))
    .execute(&mut su)
    .await
    .unwrap();
    let again = app.deliver("installation", "pg-after", &body).await;
    assert_eq!(again.status(), 202);
    let r = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    su.close().await.unwrap();
    drop(app.stop_keep_db().await);
    let mut admin = sqlx::PgConnection::connect(&admin).await.unwrap();
    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP ROLE IF EXISTS {role}")))
        .execute(&mut admin)
        .await;
}
