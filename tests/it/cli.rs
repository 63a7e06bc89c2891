//! The `gangway` binary as an operator runs it: check-config, migrate, serve and SIGTERM.

use crate::support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::*;

fn gangway() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gangway"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    c
}

#[test]
fn check_config_reports_every_problem_and_fails() {
    let out = gangway()
        .arg("check-config")
        .env("PRIVATE_KEY_PATH", "/nonexistent/app.pem")
        .env("GANGWAY_HOST_TEMPLATE", "{sha}.bad_domain.org")
        .env("DATABASE_URL", "mysql://nope")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for want in [
        "APP_ID: missing",
        "PRIVATE_KEY_PATH: cannot read /nonexistent/app.pem",
        "WEBHOOK_SECRET: missing",
        "GANGWAY_HOST_TEMPLATE:",
        "DATABASE_URL: must start with sqlite: or postgres://",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
}

/// Host templates two pull requests (or two repositories) could share are refused, each with
/// the placeholder it lacks.
#[test]
fn check_config_rejects_host_templates_that_cannot_be_unique() {
    let out = gangway()
        .arg("check-config")
        .env("APP_ID", "1")
        .env("PRIVATE_KEY", KEY_PEM)
        .env("WEBHOOK_SECRET", "x")
        .env("GANGWAY_HOST_TEMPLATE", "{short_sha}.preview.example.org")
        .env("GANGWAY_ENVIRONMENT_HOST", "{environment}.example.org")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for want in [
        "GANGWAY_HOST_TEMPLATE: must contain {number}",
        "GANGWAY_ENVIRONMENT_HOST: must contain {repo}",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
}

#[test]
fn check_config_accepts_a_good_configuration() {
    let out = gangway()
        .arg("check-config")
        .env("APP_ID", "1")
        .env("PRIVATE_KEY", KEY_PEM)
        .env("WEBHOOK_SECRET", "x")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("configuration OK"));
    assert!(!text.contains("PRIVATE KEY"));
    // A one-character webhook secret is accepted, redacted, and warned about.
    assert!(
        text.contains("warning: WEBHOOK_SECRET: a secret of 1 characters is easy to guess"),
        "{text}"
    );
}

#[test]
fn serve_refuses_an_invalid_configuration_with_the_same_messages() {
    let out = gangway()
        .arg("serve")
        .env("APP_ID", "abc")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("APP_ID: must be a positive whole number"),
        "{err}"
    );
    assert!(err.contains("WEBHOOK_SECRET: missing"), "{err}");
}

#[tokio::test]
async fn serve_runs_processes_and_stops_cleanly_on_sigterm_without_logging_secrets() {
    let db = TestDb::new().await;
    let port = free_port();
    // Logs go to a file: a pipe nobody reads would fill up and block the server at trace level.
    let log_dir = tempfile::tempdir().unwrap();
    let log_path = log_dir.path().join("serve.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    let mut child = gangway()
        .arg("serve")
        .env("APP_ID", "1")
        .env("PRIVATE_KEY", KEY_PEM)
        .env("WEBHOOK_SECRET", SECRET)
        .env("DATABASE_URL", &db.url)
        .env("GANGWAY_HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("GITHUB_API_URL", "http://127.0.0.1:9")
        .env("RUST_LOG", "trace")
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .unwrap();
    let http = test_http_client();
    let base = format!("http://127.0.0.1:{port}");
    wait_for("readyz 200", Duration::from_secs(30), || {
        let (http, url) = (http.clone(), format!("{base}/readyz"));
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

    let body = fixture("installation.created.json");
    let resp = http
        .post(format!("{base}/webhooks"))
        .header("content-type", "application/json")
        .header("x-github-event", "installation")
        .header("x-github-delivery", "cli-1")
        .header(
            "x-hub-signature-256",
            gangway::ingress::signature::sign(SECRET.as_bytes(), &body),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let store = db.store().await;
    wait_for("installation recorded", Duration::from_secs(10), || {
        let store = store.clone();
        async move {
            store
                .delivery("cli-1")
                .await
                .unwrap()
                .filter(|d| d.outcome == gangway::jobs::DeliveryOutcome::Processed)
        }
    })
    .await;

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit {status:?}");
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("shutdown requested"), "{log}");
    assert!(log.contains("gangway stopped"), "{log}");
    assert!(log.contains("cli-1"), "logs carry the delivery id");
    // Neither the key, nor the webhook secret, in any log line, even at trace level.
    let key_line = KEY_PEM.lines().nth(1).unwrap();
    assert!(!log.contains(key_line), "private key material in logs");
    assert!(!log.contains(SECRET), "webhook secret in logs");
    assert!(
        http.get(format!("{base}/healthz")).send().await.is_err(),
        "still serving after SIGTERM"
    );
}

#[tokio::test]
async fn migrate_creates_the_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fresh.db");
    let out = gangway()
        .arg("migrate")
        .env("APP_ID", "1")
        .env("PRIVATE_KEY", KEY_PEM)
        .env("WEBHOOK_SECRET", "x")
        .env("DATABASE_URL", format!("sqlite://{}", path.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(path.exists());
    let store = gangway::store::Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    store.ready().await.unwrap();
}

#[test]
fn jobs_lists_dead_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("j.db").display());
    let out = gangway()
        .args(["jobs", "--state", "dead"])
        .env("APP_ID", "1")
        .env("PRIVATE_KEY", KEY_PEM)
        .env("WEBHOOK_SECRET", "x")
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 job(s)"));
    let retry = gangway()
        .args(["jobs", "retry", "99"])
        .env("APP_ID", "1")
        .env("PRIVATE_KEY", KEY_PEM)
        .env("WEBHOOK_SECRET", "x")
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(!retry.status.success());
    assert!(String::from_utf8_lossy(&retry.stderr).contains("job 99 is not dead"));
}
