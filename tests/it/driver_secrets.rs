//! Attack: a deploy script (or the pull request's code it builds) goes looking for Gangway's own
//! secrets — its parent's environment and command line, its ancestors' environments, inherited
//! file descriptors, the private key file, the webhook secret file, the database file — and
//! prints whatever it finds raw, base64 and hex. Nothing secret may reach the public log page.
//!
//! Honest set-up: the real `gangway serve` binary is started as an operator would start it
//! (secrets in `*_FILE` settings and in the environment), so the script's parent is Gangway
//! itself, not the test process. The fake GitHub runs in the test and drives a pull request to a
//! deployment; the log is read through `/logs/{token}` as anyone with the link would read it.

use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use fake_github::{FakeConfig, FakeGitHub, PrSpec, WebhookTarget};
use support::*;

const REPO: &str = "octo/app";
const WEBHOOK_SECRET: &str = "whsec-Attack-Test-q9XkR2mB7vLp4sTz";
const OLD_WEBHOOK_SECRET: &str = "whsec-Rotated-Out-7hGfDs3aQwEr";
const NOBODY: u32 = 65534;

fn is_root() -> bool {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() == 0 }
}

/// A directory with the given mode and owner.
fn dir(parent: &Path, name: &str, mode: u32, owner: Option<u32>) -> PathBuf {
    let path = parent.join(name);
    std::fs::create_dir_all(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    if let Some(uid) = owner {
        std::os::unix::fs::chown(&path, Some(uid), Some(uid)).unwrap();
    }
    path
}

fn file(path: &Path, text: &str, mode: u32, owner: Option<u32>) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    if let Some(uid) = owner {
        std::os::unix::fs::chown(path, Some(uid), Some(uid)).unwrap();
    }
}

/// The hostile deploy script. Each read says `READ <path> OK` or `READ <path> DENIED`, then what
/// it read as text, as base64 and as hex (forms a redactor cannot know all of: only being unable
/// to read it keeps a secret out).
fn hostile_script(files: &[&Path]) -> String {
    let mut s = String::from(
        r#"#!/bin/sh
echo "deploy of $GANGWAY_URL"
try() {
  if data=$(timeout 2 cat "$1" 2>/dev/null | tr '\0' '\n') && [ -n "$data" ]; then
    echo "READ $1 OK"
    printf '%s\n' "$data"
    printf '%s' "$data" | base64 -w0; echo
    printf '%s' "$data" | od -An -tx1 | tr -d ' \n'; echo
  else
    echo "READ $1 DENIED"
  fi
}
look() {
  echo "SEEN $1"
  timeout 2 cat "$1" 2>/dev/null | tr '\0' ' '; echo
}
echo "parent $PPID"
try /proc/$PPID/environ
# Anyone on the machine may read a command line: it must hold no secret.
look /proc/$PPID/cmdline
try /proc/$PPID/maps
try /proc/$PPID/root/proc/self/environ
try /proc/self/../$PPID/environ
for fd in /proc/$PPID/fd/*; do try "$fd"; done
# What a program started by the script inherits beyond stdin, stdout and stderr (the shell's
# own descriptors are close-on-exec; ls adds its listing of /proc/self/fd).
ls -l /proc/self/fd | awk '$9 > 2 { print "FD " $9 " " $11 }'
pid=$PPID
while [ -n "$pid" ] && [ "$pid" -gt 1 ]; do
  pid=$(awk '/^PPid:/ {print $2}' /proc/$pid/status 2>/dev/null)
  [ -n "$pid" ] && [ "$pid" -gt 0 ] && try /proc/$pid/environ
done
"#,
    );
    for f in files {
        s.push_str(&format!("try {}\n", f.display()));
    }
    s.push_str("exit 0\n");
    s
}

/// Every form of `secret` the test looks for in the log: itself, base64 (standard and URL-safe,
/// with and without padding), percent-encoded, hex.
fn forms(secret: &str) -> Vec<String> {
    let b = secret.as_bytes();
    let hex: String = b.iter().map(|c| format!("{c:02x}")).collect();
    vec![
        secret.to_owned(),
        STANDARD.encode(b),
        STANDARD_NO_PAD.encode(b),
        URL_SAFE.encode(b),
        URL_SAFE_NO_PAD.encode(b),
        percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
            .to_string(),
        hex,
    ]
}

/// The secrets the log must not hold: the webhook secrets and the private key's body lines.
fn secrets() -> Vec<String> {
    let mut out = vec![WEBHOOK_SECRET.to_owned(), OLD_WEBHOOK_SECRET.to_owned()];
    out.extend(
        KEY_PEM
            .lines()
            .filter(|l| !l.starts_with("-----") && l.len() >= 16)
            .map(str::to_owned),
    );
    out
}

/// How Gangway is started: its user (None: the test's own) and its settings.
struct Launch {
    uid: Option<u32>,
    env: Vec<(String, String)>,
}

struct Served {
    child: Child,
    base: String,
    fake: Arc<FakeGitHub>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn serve(launch: Launch, log: &Path) -> Served {
    let fake = Arc::new(
        FakeGitHub::start(FakeConfig::new(APP_ID, PUBLIC_KEY_PEM))
            .await
            .expect("fake github"),
    );
    fake.add_installation(1, "octo");
    fake.add_repo(1, REPO, "main").expect("repo");
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gangway"));
    cmd.arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("APP_ID", APP_ID.to_string())
        .env("GITHUB_API_URL", fake.url())
        .env("GANGWAY_HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("GANGWAY_PUBLIC_URL", "http://gangway.test")
        .env("GANGWAY_DRIVER", "command")
        .env("GANGWAY_JOB_POLL_MS", "50")
        .env("GANGWAY_JOB_BACKOFF_BASE_MS", "20")
        .envs(launch.env)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    if let Some(uid) = launch.uid {
        use std::os::unix::process::CommandExt;
        cmd.uid(uid).gid(uid);
    }
    let child = cmd.spawn().expect("start gangway");
    let base = format!("http://127.0.0.1:{port}");
    let http = test_http_client();
    let mut served = Served { child, base, fake };
    let url = format!("{}/readyz", served.base);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = served.child.try_wait().unwrap() {
            panic!(
                "gangway exited ({status}) before it was ready:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        if http.get(&url).send().await.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "gangway never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    served.fake.set_webhook(Some(WebhookTarget::new(
        format!("{}/webhooks", served.base),
        WEBHOOK_SECRET,
    )));
    served
}

/// Opens a green PR, waits for its preview's deployment to end, and returns the log page's text.
async fn deploy_and_read_log(served: &Served, gangway_log: &Path) -> String {
    let fake = &served.fake;
    let pr = fake
        .open_pr(PrSpec::new(REPO, "feature", "dev"))
        .await
        .expect("open");
    fake.add_check_run(REPO, &pr.head_sha, "build", "completed", Some("success"))
        .expect("check run");
    fake.complete_check_suite(REPO, &pr.head_sha, "github-actions")
        .await
        .expect("suite");
    let ended = fake
        .wait_for(Duration::from_secs(60), |f| {
            f.deployments(REPO).iter().any(|d| {
                d.statuses
                    .last()
                    .is_some_and(|s| s.state == "success" || s.state == "failure")
            })
        })
        .await;
    assert!(
        ended,
        "the deployment never ended: {:?}\ngangway's log:\n{}",
        fake.deployments(REPO),
        std::fs::read_to_string(gangway_log).unwrap_or_default()
    );
    let status = fake.deployments(REPO)[0].statuses.last().cloned().unwrap();
    let link = status.log_url.expect("a log link");
    let path = link.trim_start_matches("http://gangway.test");
    let page = test_http_client()
        .get(format!("{}{path}", served.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    page.text().await.unwrap()
}

/// What the log must show: the script ran, every read was refused, and no secret in any form.
fn assert_nothing_leaked(log: &str, hidden_files: &[&Path]) {
    assert!(log.contains("deploy of https://"), "the script ran:\n{log}");
    assert!(
        log.contains("READ /proc/"),
        "the script tried the parent:\n{log}"
    );
    let leaks: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("READ ") && l.ends_with(" OK"))
        .collect();
    assert!(leaks.is_empty(), "the script could read {leaks:?}:\n{log}");
    // Inherited descriptors: none (ls's own listing of /proc/self/fd aside).
    assert!(
        log.contains("FD "),
        "the script listed its descriptors:\n{log}"
    );
    let inherited: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("FD ") && !l.ends_with("/fd"))
        .collect();
    assert!(
        inherited.is_empty(),
        "inherited descriptors {inherited:?}:\n{log}"
    );
    for f in hidden_files {
        let f = f.display().to_string();
        assert!(
            !log.lines().any(|l| l.starts_with("FD ") && l.contains(&f)),
            "the driver inherited an open {f}:\n{log}"
        );
    }
    for secret in secrets() {
        for form in forms(&secret) {
            assert!(
                !log.contains(&form),
                "a secret is on the public log page (as {form:?}):\n{log}"
            );
        }
    }
}

/// Gangway started as root, as an image or a unit without `User=` would start it, with the
/// driver run as an unprivileged user: the secrets are in Gangway's environment and in files
/// only root may read, and the script finds none of them.
#[tokio::test]
async fn a_deploy_script_run_as_the_driver_user_finds_none_of_gangways_secrets() {
    if !is_root() {
        eprintln!("skipped: starting the driver as another user needs root");
        return;
    }
    let top = tempfile::tempdir().unwrap();
    std::fs::set_permissions(top.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let private = dir(top.path(), "private", 0o700, None);
    let scripts = dir(top.path(), "scripts", 0o755, None);
    let key = private.join("app.pem");
    file(&key, KEY_PEM, 0o600, None);
    let secret_file = private.join("webhook-secret");
    file(
        &secret_file,
        &format!("{WEBHOOK_SECRET},{OLD_WEBHOOK_SECRET}\n"),
        0o600,
        None,
    );
    let db_file = private.join("gangway.db");
    let db = match std::env::var("GANGWAY_TEST_POSTGRES") {
        Ok(pg) if !pg.is_empty() => TestDb::new().await,
        _ => TestDb::sqlite_at(&db_file),
    };
    let url_file = private.join("database-url");
    file(&url_file, &db.url, 0o600, None);
    let deploy = scripts.join("deploy.sh");
    let hidden = [
        key.as_path(),
        secret_file.as_path(),
        url_file.as_path(),
        db_file.as_path(),
    ];
    file(&deploy, &hostile_script(&hidden), 0o755, None);
    let teardown = scripts.join("teardown.sh");
    file(&teardown, "#!/bin/sh\nexit 0\n", 0o755, None);
    let gangway_log = top.path().join("gangway.log");
    let env = [
        // The key in the environment as well as in a file: both must stay out of reach.
        ("PRIVATE_KEY_PATH", key.display().to_string()),
        ("WEBHOOK_SECRET_FILE", secret_file.display().to_string()),
        ("DATABASE_URL_FILE", url_file.display().to_string()),
        ("GANGWAY_DEPLOY_COMMAND", deploy.display().to_string()),
        ("GANGWAY_TEARDOWN_COMMAND", teardown.display().to_string()),
        ("GANGWAY_DRIVER_USER", "nobody".to_owned()),
        // A secret an operator left in the environment anyway.
        ("LEFTOVER_SECRET", WEBHOOK_SECRET.to_owned()),
    ];
    let served = serve(
        Launch {
            uid: None,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        },
        &gangway_log,
    )
    .await;
    let log = deploy_and_read_log(&served, &gangway_log).await;
    assert_nothing_leaked(&log, &hidden);
}

/// Gangway started as an unprivileged user (as the image runs it), the driver as the same user:
/// the secrets given in Gangway's environment (the private key, the webhook secrets) are out of
/// the script's reach through `/proc` — Gangway's environment, memory map and descriptors.
#[tokio::test]
async fn a_deploy_script_run_as_gangways_own_user_cannot_read_gangways_environment() {
    if !is_root() {
        eprintln!("skipped: starting Gangway as another user needs root");
        return;
    }
    let top = tempfile::tempdir().unwrap();
    std::fs::set_permissions(top.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = dir(top.path(), "data", 0o700, Some(NOBODY));
    let scripts = dir(top.path(), "scripts", 0o755, None);
    let db = match std::env::var("GANGWAY_TEST_POSTGRES") {
        Ok(pg) if !pg.is_empty() => TestDb::new().await,
        _ => TestDb::sqlite_at(&data.join("gangway.db")),
    };
    let deploy = scripts.join("deploy.sh");
    file(&deploy, &hostile_script(&[]), 0o755, None);
    let teardown = scripts.join("teardown.sh");
    file(&teardown, "#!/bin/sh\nexit 0\n", 0o755, None);
    let gangway_log = top.path().join("gangway.log");
    let env = [
        ("PRIVATE_KEY", KEY_PEM.to_owned()),
        (
            "WEBHOOK_SECRET",
            format!("{WEBHOOK_SECRET},{OLD_WEBHOOK_SECRET}"),
        ),
        ("DATABASE_URL", db.url.clone()),
        ("GANGWAY_DEPLOY_COMMAND", deploy.display().to_string()),
        ("GANGWAY_TEARDOWN_COMMAND", teardown.display().to_string()),
    ];
    let served = serve(
        Launch {
            uid: Some(NOBODY),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        },
        &gangway_log,
    )
    .await;
    let log = deploy_and_read_log(&served, &gangway_log).await;
    assert_nothing_leaked(&log, &[&data.join("gangway.db")]);
}
