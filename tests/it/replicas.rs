//! Several `gangway serve` processes sharing one database (PostgreSQL in the second CI pass; an
//! SQLite file in the first): each job runs once, a killed process's job is finished by another,
//! and each timer sweeps once per interval in total.

use crate::support;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use fake_github::{FakeConfig, FakeGitHub, PrSpec, WebhookTarget};
use gangway::ingress::signature::sign;
use support::*;

struct Replica {
    child: Child,
    base: String,
    _log: tempfile::NamedTempFile,
}

fn spawn(db: &str, api: &str, extra: &[(&str, &str)]) -> Replica {
    let port = free_port();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gangway"));
    cmd.arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("APP_ID", APP_ID.to_string())
        .env("PRIVATE_KEY", KEY_PEM)
        .env("WEBHOOK_SECRET", SECRET)
        .env("DATABASE_URL", db)
        .env("GITHUB_API_URL", api)
        .env("GANGWAY_HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("GANGWAY_JOB_POLL_MS", "50")
        .env("GANGWAY_JOB_BACKOFF_BASE_MS", "50")
        .env("RUST_LOG", "info,sqlx=warn")
        .stdout(Stdio::null())
        .stderr(log.reopen().unwrap());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    Replica {
        child: cmd.spawn().unwrap(),
        base: format!("http://127.0.0.1:{port}"),
        _log: log,
    }
}

async fn ready(r: &Replica) {
    let http = test_http_client();
    let url = format!("{}/readyz", r.base);
    wait_for("replica ready", Duration::from_secs(30), || {
        let (http, url) = (http.clone(), url.clone());
        async move {
            http.get(url)
                .send()
                .await
                .ok()
                .filter(|r| r.status() == 200)
                .map(|_| ())
        }
    })
    .await;
}

fn stop(mut r: Replica) {
    let _ = Command::new("kill")
        .args(["-TERM", &r.child.id().to_string()])
        .status();
    let _ = r.child.wait();
}

async fn done_deliveries(r: &Replica) -> u64 {
    let text = test_http_client()
        .get(format!("{}/metrics", r.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find(|l| l.starts_with("gangway_jobs_finished_total{kind=\"delivery\",outcome=\"done\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn two_processes_process_a_thousand_deliveries_exactly_once() {
    let db = TestDb::new().await;
    db.store().await; // migrate once, before both start
    let a = spawn(&db.url, "http://127.0.0.1:9", &[]);
    let b = spawn(&db.url, "http://127.0.0.1:9", &[]);
    ready(&a).await;
    ready(&b).await;
    let body = Arc::new(fixture("installation.created.json"));
    let http = test_http_client();
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..1000 {
        let (http, body) = (http.clone(), body.clone());
        let url = format!("{}/webhooks", if i % 2 == 0 { &a.base } else { &b.base });
        sends.spawn(async move {
            http.post(url)
                .header("content-type", "application/json")
                .header("x-github-event", "installation")
                .header("x-github-delivery", format!("replica-{i}"))
                .header("x-hub-signature-256", sign(SECRET.as_bytes(), &body))
                .body(body.to_vec())
                .send()
                .await
                .map(|r| r.status().as_u16())
        });
    }
    while let Some(r) = sends.join_next().await {
        assert_eq!(r.unwrap().unwrap(), 202);
    }
    let store = db.store().await;
    wait_for("all processed", Duration::from_secs(120), || {
        let store = store.clone();
        async move {
            let counts = store.delivery_counts().await.ok()?;
            counts
                .iter()
                .any(|(e, o, n)| {
                    e == "installation"
                        && *o == gangway::jobs::DeliveryOutcome::Processed
                        && *n == 1000
                })
                .then_some(())
        }
    })
    .await;
    let (da, dbb) = (done_deliveries(&a).await, done_deliveries(&b).await);
    assert_eq!(
        da + dbb,
        1000,
        "each delivery job finished exactly once ({da} + {dbb})"
    );
    assert!(da > 0 && dbb > 0, "both processes worked ({da}, {dbb})");
    stop(a);
    stop(b);
}

#[tokio::test]
async fn a_job_of_a_killed_process_is_finished_by_the_other() {
    let fake = Arc::new(
        FakeGitHub::start(FakeConfig::new(APP_ID, PUBLIC_KEY_PEM))
            .await
            .unwrap(),
    );
    fake.add_installation(1, "octo");
    fake.add_repo(1, "octo/app", "main").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("runs.txt");
    let script = dir.path().join("driver.sh");
    // Deploys take a while: long enough to kill the process in the middle.
    world::write_script(
        &script,
        &format!(
            "#!/bin/sh\necho \"$GANGWAY_ACTION start\" >> {r}\nsleep 3\necho \"$GANGWAY_ACTION end\" >> {r}\n",
            r = record.display()
        ),
    );
    let s = script.display().to_string();
    let extra = [
        ("GANGWAY_DRIVER", "command"),
        ("GANGWAY_DEPLOY_COMMAND", s.as_str()),
        ("GANGWAY_TEARDOWN_COMMAND", s.as_str()),
        ("GANGWAY_JOB_LEASE_SECS", "2"),
    ];
    let db = TestDb::new().await;
    db.store().await;
    let mut a = spawn(&db.url, fake.url(), &extra);
    ready(&a).await;
    fake.set_webhook(Some(WebhookTarget::new(
        format!("{}/webhooks", a.base),
        SECRET,
    )));
    let pr = fake
        .open_pr(PrSpec::new("octo/app", "feature", "alice"))
        .await
        .unwrap();
    fake.add_check_run(
        "octo/app",
        &pr.head_sha,
        "build",
        "completed",
        Some("success"),
    )
    .unwrap();
    fake.complete_check_suite("octo/app", &pr.head_sha, "github-actions")
        .await
        .unwrap();
    let started = || {
        std::fs::read_to_string(&record)
            .unwrap_or_default()
            .lines()
            .filter(|l| *l == "deploy start" || *l == "create start")
            .count()
    };
    wait_for("deploy started on A", Duration::from_secs(30), || async {
        (started() >= 1).then_some(())
    })
    .await;

    let b = spawn(&db.url, fake.url(), &extra);
    ready(&b).await;
    a.child.kill().unwrap(); // SIGKILL: no goodbye, the lease stays until it runs out
    a.child.wait().unwrap();
    fake.set_webhook(Some(WebhookTarget::new(
        format!("{}/webhooks", b.base),
        SECRET,
    )));

    let sha = pr.head_sha.clone();
    assert!(
        fake.wait_for(Duration::from_secs(60), |f| f
            .deployments("octo/app")
            .iter()
            .any(
                |d| d.sha == sha && d.statuses.last().is_some_and(|s| s.state == "success")
            ))
        .await,
        "B never finished the job: {:?}",
        std::fs::read_to_string(&record)
    );
    assert_eq!(
        fake.deployments("octo/app").len(),
        1,
        "the deployment was not created twice"
    );
    assert_eq!(started(), 2, "the deploy ran again on B after A died");
    stop(b);
}

#[tokio::test]
async fn the_reaper_runs_once_per_interval_across_processes() {
    let db = TestDb::new().await;
    db.store().await;
    let extra = [
        ("GANGWAY_REAP_INTERVAL_SECS", "1"),
        ("GANGWAY_TIMER_TICK_MS", "100"),
    ];
    let a = spawn(&db.url, "http://127.0.0.1:9", &extra);
    let b = spawn(&db.url, "http://127.0.0.1:9", &extra);
    ready(&a).await;
    ready(&b).await;
    let store = db.store().await;
    let runs = wait_for("five reaper sweeps", Duration::from_secs(30), || {
        let store = store.clone();
        async move {
            store
                .timer_runs("reaper")
                .await
                .ok()
                .filter(|r| r.len() >= 5)
        }
    })
    .await;
    stop(a);
    stop(b);
    for pair in runs.windows(2) {
        assert!(
            pair[1].1 - pair[0].1 >= 1000,
            "two sweeps within one interval: {pair:?}"
        );
    }
}
