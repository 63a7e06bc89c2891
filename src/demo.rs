//! `gangway demo`: the whole product on one machine, in one command.
//!
//! Starts the fake GitHub and Gangway (embedded SQLite in a fresh temporary directory) in this
//! process, plays a pull request's life through real signed webhooks, prints the timeline a user
//! would see on GitHub, and keeps running with a live preview to open and the dashboard to sign
//! in to: the fake GitHub's OAuth endpoints sign the demo's maintainer in, and the story leaves
//! a fork's pull request waiting for approval (to Stage) and a promotion to production. The built-in driver is
//! this same binary (`gangway demo-driver`), run as a real subprocess by the command driver; it
//! writes a page that the demo serves on 127.0.0.1. `--driver-command` swaps in the operator's
//! own script (called with `GANGWAY_ACTION=create|deploy|teardown`).
//!
//! The demo uses the public test key from `fixtures/`: it protects nothing and must never be used
//! for a real App.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::clock::SystemClock;
use crate::config::{Settings, Source};
use crate::server::Running;
use fake_github::{FakeConfig, FakeGitHub, PrSpec, WebhookTarget};

const DEMO_KEY: &str = include_str!("../fixtures/test-app-key.pem");
const DEMO_PUBLIC_KEY: &str = include_str!("../fixtures/test-app-key.pub.pem");
const APP_ID: u64 = 1;
const REPO: &str = "octo/demo";
/// The demo's maintainer: promotes from a comment, and is who the dashboard signs in.
const MAINTAINER: &str = "mona";
/// The demo repository's policy: previews for every PR, staging and production to promote to.
const POLICY: &str = "environments: [staging, production]\n";

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{0}")]
    Setup(String),
    #[error("the demo stalled: {0}")]
    Stalled(String),
}

pub struct DemoOptions {
    /// Gangway's port (the previews are served on the next one).
    pub port: u16,
    /// The operator's own driver, instead of the built-in one.
    pub driver_command: Option<PathBuf>,
    /// Stop after playing the timeline (for tests and scripted runs) instead of serving on.
    pub exit_after_timeline: bool,
}

struct Timeline {
    started: Instant,
}

impl Timeline {
    fn say(&self, what: impl AsRef<str>) {
        println!(
            "[{:>5.1}s] {}",
            self.started.elapsed().as_secs_f64(),
            what.as_ref()
        );
    }
}

fn setup<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> DemoError + '_ {
    move |e| DemoError::Setup(format!("{what}: {e}"))
}

/// Runs the demo; returns when interrupted (Ctrl-C), or at once after the timeline when asked.
pub async fn run(opts: DemoOptions) -> Result<(), DemoError> {
    let dir = std::env::temp_dir().join(format!("gangway-demo-{}", std::process::id()));
    let pages = dir.join("pages");
    std::fs::create_dir_all(&pages).map_err(setup("creating the demo directory"))?;
    let driver = match &opts.driver_command {
        Some(p) => p.display().to_string(),
        None => {
            let exe = std::env::current_exe().map_err(setup("finding the gangway binary"))?;
            format!("{} demo-driver {}", exe.display(), pages.display())
        }
    };

    let fake = Arc::new(
        FakeGitHub::start(FakeConfig::new(APP_ID, DEMO_PUBLIC_KEY))
            .await
            .map_err(setup("starting the fake GitHub"))?,
    );
    fake.add_installation(1, "octo");
    fake.add_repo(1, REPO, "main")
        .map_err(setup("seeding the fake GitHub"))?;
    fake.set_permission(REPO, MAINTAINER, fake_github::Role::Maintain)
        .map_err(setup("seeding the fake GitHub"))?;
    fake.put_file(REPO, "main", ".github/gangway.yml", POLICY)
        .map_err(setup("seeding the fake GitHub"))?;
    // The fake GitHub's sign-in page is filled in for the demo's maintainer.
    fake.set_browser_user(Some(MAINTAINER));

    let secret = hex::encode(rand::random::<[u8; 16]>());
    let addr = SocketAddr::from(([127, 0, 0, 1], opts.port));
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        DemoError::Setup(format!(
            "cannot listen on {addr} ({e}); try `gangway demo --port 3100`"
        ))
    })?;
    let addr = listener
        .local_addr()
        .map_err(setup("reading the address"))?;
    let preview_listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .map_err(setup("listening for previews"))?;
    let preview_addr = preview_listener
        .local_addr()
        .map_err(setup("reading the address"))?;

    let db = format!("sqlite://{}", dir.join("gangway.db").display());
    let vars: Vec<(String, String)> = [
        ("APP_ID", APP_ID.to_string()),
        ("PRIVATE_KEY", DEMO_KEY.to_owned()),
        ("WEBHOOK_SECRET", secret.clone()),
        ("GITHUB_API_URL", fake.url().to_owned()),
        ("DATABASE_URL", db),
        ("GANGWAY_HOST", "127.0.0.1".to_owned()),
        ("PORT", addr.port().to_string()),
        ("GANGWAY_PUBLIC_URL", format!("http://{addr}")),
        ("GANGWAY_DRIVER", "command".to_owned()),
        ("GANGWAY_DEPLOY_COMMAND", driver.clone()),
        ("GANGWAY_TEARDOWN_COMMAND", driver),
        ("GANGWAY_JOB_POLL_MS", "100".to_owned()),
        ("GANGWAY_SHUTDOWN_GRACE_SECS", "5".to_owned()),
        // The dashboard: sign in through the fake GitHub's OAuth endpoints (as the maintainer).
        (
            "GANGWAY_GITHUB_CLIENT_ID",
            FakeConfig::DEFAULT_CLIENT_ID.to_owned(),
        ),
        (
            "GANGWAY_GITHUB_CLIENT_SECRET",
            FakeConfig::DEFAULT_CLIENT_SECRET.to_owned(),
        ),
        ("GANGWAY_OPERATORS", MAINTAINER.to_owned()),
        // Each PR's stable link, beside the per-commit one.
        (
            "GANGWAY_ALIAS_HOST_TEMPLATE",
            "pr-{number}.demo.example.org".to_owned(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let settings =
        Settings::load(&Source::from_env(vars)).map_err(|e| DemoError::Setup(e.to_string()))?;
    let running = Running::start(&settings, listener, Arc::new(SystemClock))
        .await
        .map_err(setup("starting Gangway"))?;
    fake.set_webhook(Some(WebhookTarget::new(
        format!("http://{addr}/webhooks"),
        &secret,
    )));
    let pages_for_server = pages.clone();
    tokio::spawn(async move {
        let app = Router::new()
            .route("/{sha}/", get(serve_page))
            .with_state(Arc::new(pages_for_server));
        let _ = axum::serve(preview_listener, app).await;
    });

    println!("Gangway demo: a fake GitHub, Gangway and a deploy driver, all on this machine.");
    println!("  Gangway      http://{addr}   (the dashboard; /healthz, /metrics, deploy logs)");
    println!("  fake GitHub  {}", fake.url());
    if opts.driver_command.is_none() {
        println!(
            "  previews     http://{preview_addr}/<sha>/   (served by the built-in driver's pages)"
        );
    }
    println!();

    let t = Timeline {
        started: Instant::now(),
    };
    let result = play(
        &fake,
        &t,
        &format!("http://{addr}"),
        preview_addr,
        opts.driver_command.is_none(),
    )
    .await;
    if result.is_ok() && !opts.exit_after_timeline {
        println!(
            "\nGangway keeps running. Press Ctrl-C to stop (the demo's files are in {}).",
            dir.display()
        );
        let _ = tokio::signal::ctrl_c().await;
    }
    let _ = running.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn until(
    fake: &FakeGitHub,
    what: &str,
    cond: impl Fn(&FakeGitHub) -> bool,
) -> Result<(), DemoError> {
    if fake.wait_for(Duration::from_secs(60), cond).await {
        Ok(())
    } else {
        Err(DemoError::Stalled(what.to_owned()))
    }
}

fn deployment_line(fake: &FakeGitHub, sha: &str) -> String {
    fake.deployments(REPO)
        .iter()
        .filter(|d| d.sha == sha)
        .map(|d| {
            let states: Vec<&str> = d.statuses.iter().map(|s| s.state.as_str()).collect();
            let url = d
                .statuses
                .iter()
                .rev()
                .find_map(|s| s.environment_url.clone())
                .unwrap_or_default();
            let log = d
                .statuses
                .iter()
                .rev()
                .find_map(|s| s.log_url.clone())
                .unwrap_or_default();
            format!(
                "deployment #{} to {} of {}: {}  {url}\n          log: {log}",
                d.id,
                d.environment,
                &d.sha[..7],
                states.join(" → ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n          ")
}

/// The line of Gangway's comment on `number` that contains `marker`.
/// An environment's deployment of `sha`, as GitHub's deployment history shows it.
fn environment_line(fake: &FakeGitHub, environment: &str, sha: &str) -> String {
    match fake
        .deployments_in(REPO, environment)
        .iter()
        .find(|d| d.sha == sha)
    {
        Some(d) => {
            let states: Vec<&str> = d.statuses.iter().map(|s| s.state.as_str()).collect();
            format!(
                "deployment of {} to {environment}: {}",
                &sha[..7],
                states.join(" → ")
            )
        }
        None => format!("no deployment of {} to {environment}", &sha[..7]),
    }
}

fn comment_line(fake: &FakeGitHub, number: u64, marker: &str) -> Option<String> {
    fake.comments(REPO, number)
        .iter()
        .filter(|c| c.via_app)
        .find_map(|c| {
            c.body
                .lines()
                .find(|l| l.contains(marker))
                .map(str::to_owned)
        })
}

fn sticky_line(fake: &FakeGitHub, number: u64) -> String {
    fake.comments(REPO, number)
        .iter()
        .filter(|c| c.via_app)
        .map(|c| {
            c.body
                .lines()
                .find(|l| l.contains("**"))
                .unwrap_or("")
                .to_owned()
        })
        .next()
        .unwrap_or_default()
}

fn last_state(fake: &FakeGitHub, sha: &str) -> Option<String> {
    fake.deployments(REPO)
        .iter()
        .find(|d| d.sha == sha)
        .and_then(|d| d.statuses.last().map(|s| s.state.clone()))
}

async fn green(fake: &FakeGitHub, t: &Timeline, sha: &str) -> Result<(), DemoError> {
    fake.add_check_run(REPO, sha, "build", "completed", Some("success"))
        .map_err(setup("check run"))?;
    fake.add_check_run(REPO, sha, "test", "completed", Some("success"))
        .map_err(setup("check run"))?;
    fake.complete_check_suite(REPO, sha, "github-actions")
        .await
        .map_err(setup("check suite"))?;
    t.say(format!(
        "CI: checks `build` and `test` passed on {}",
        &sha[..7]
    ));
    Ok(())
}

async fn play(
    fake: &FakeGitHub,
    t: &Timeline,
    gangway: &str,
    previews: SocketAddr,
    builtin: bool,
) -> Result<(), DemoError> {
    let pr = fake
        .open_pr(
            PrSpec::new(REPO, "add-search", "alice")
                .title("Add search")
                .file("search.txt", "v1"),
        )
        .await
        .map_err(setup("opening a pull request"))?;
    let n = pr.number;
    t.say(format!(
        "alice opened pull request #{n} \"Add search\" on {REPO} (commit {})",
        &pr.head_sha[..7]
    ));
    // Gangway comments only once it has something to say that GitHub's own checks box does not.
    t.say("CI is running: Gangway stays quiet until there is a preview to link");

    green(fake, t, &pr.head_sha).await?;
    until(fake, "the first preview", |f| {
        matches!(
            last_state(f, &pr.head_sha).as_deref(),
            Some("success" | "failure")
        )
    })
    .await?;
    t.say(deployment_line(fake, &pr.head_sha));
    until(fake, "the comment", |f| {
        sticky_line(f, n).contains("Live") || sticky_line(f, n).contains("failed")
    })
    .await?;
    t.say(format!("Gangway commented: {}", sticky_line(fake, n)));
    if let Some(alias) = comment_line(fake, n, "**Stable link**") {
        t.say(format!("Gangway's stable link for #{n}: {alias}"));
    }

    let pushed = fake
        .push_pr_files(REPO, n, &[("search.txt", "v2")])
        .await
        .map_err(setup("pushing"))?;
    t.say(format!("alice pushed commit {}", &pushed.after[..7]));
    green(fake, t, &pushed.after).await?;
    until(fake, "the second preview", |f| {
        matches!(
            last_state(f, &pushed.after).as_deref(),
            Some("success" | "failure")
        ) && last_state(f, &pr.head_sha).as_deref() == Some("inactive")
    })
    .await?;
    t.say(deployment_line(fake, &pushed.after));
    t.say(format!(
        "the preview of {} was torn down: {}",
        &pr.head_sha[..7],
        deployment_line(fake, &pr.head_sha)
    ));

    fake.close_pr(REPO, n, true)
        .await
        .map_err(setup("merging"))?;
    t.say(format!("bob merged pull request #{n}"));
    until(fake, "the teardown", |f| {
        last_state(f, &pushed.after).as_deref() == Some("inactive")
    })
    .await?;
    until(fake, "the final comment", |f| {
        sticky_line(f, n).contains("Torn down")
    })
    .await?;
    t.say(format!(
        "Gangway updated its comment: {}",
        sticky_line(fake, n)
    ));

    // A second PR stays open, so there is a live preview to look at.
    let second = fake
        .open_pr(
            PrSpec::new(REPO, "dark-mode", "carol")
                .title("Dark mode")
                .file("theme.txt", "dark"),
        )
        .await
        .map_err(setup("opening a pull request"))?;
    t.say(format!(
        "carol opened pull request #{} \"Dark mode\" (commit {})",
        second.number,
        &second.head_sha[..7]
    ));
    green(fake, t, &second.head_sha).await?;
    until(fake, "the live preview", |f| {
        matches!(
            last_state(f, &second.head_sha).as_deref(),
            Some("success" | "failure")
        )
    })
    .await?;
    t.say(deployment_line(fake, &second.head_sha));

    // A maintainer promotes it to production from a comment, as on GitHub.
    fake.comment(REPO, second.number, MAINTAINER, "/promote production")
        .await
        .map_err(setup("commenting"))?;
    t.say(format!(
        "{MAINTAINER} (a maintainer) commented `/promote production` on #{}",
        second.number
    ));
    until(fake, "the production deployment", |f| {
        f.deployments_in(REPO, "production").iter().any(|d| {
            d.sha == second.head_sha
                && d.statuses
                    .last()
                    .is_some_and(|s| s.state != "queued" && s.state != "in_progress")
        })
    })
    .await?;
    t.say(format!(
        "production: {}",
        environment_line(fake, "production", &second.head_sha)
    ));

    // A contributor's fork: nothing of it runs until a maintainer approves its exact commit.
    let fork = fake
        .open_pr(
            PrSpec::new(REPO, "fix-typo", "dave")
                .from_fork("dave")
                .title("Fix a typo")
                .file("readme.txt", "fixed"),
        )
        .await
        .map_err(setup("opening a pull request"))?;
    t.say(format!(
        "dave opened pull request #{} \"Fix a typo\" from his fork (commit {})",
        fork.number,
        &fork.head_sha[..7]
    ));
    green(fake, t, &fork.head_sha).await?;
    until(fake, "the approval request", |f| {
        sticky_line(f, fork.number).contains("/stage")
    })
    .await?;
    t.say(format!(
        "Gangway commented on #{}: {}",
        fork.number,
        sticky_line(fake, fork.number)
    ));
    if builtin {
        println!(
            "\nOpen the live preview of #{}: http://{previews}/{}/",
            second.number, second.head_sha
        );
    }
    println!(
        "\nOpen the dashboard: {gangway}/\n  \
         \"Sign in with GitHub\" goes to the fake GitHub, which signs you in as @{MAINTAINER} (a maintainer).\n  \
         Stage the fork's commit: {gangway}/repos/{REPO}/pulls/{fork}\n  \
         Promote #{second} again, or hold production: {gangway}/repos/{REPO}/pulls/{second}",
        fork = fork.number,
        second = second.number,
    );
    Ok(())
}

async fn serve_page(State(pages): State<Arc<PathBuf>>, UrlPath(sha): UrlPath<String>) -> Response {
    if sha.len() != 40 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return (StatusCode::NOT_FOUND, "no such preview\n").into_response();
    }
    match tokio::fs::read_to_string(pages.join(&sha).join("index.html")).await {
        Ok(html) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(_) => (
            StatusCode::NOT_FOUND,
            "this preview is not deployed (or was torn down)\n",
        )
            .into_response(),
    }
}

/// `gangway demo-driver DIR`: the built-in driver. Deploy writes a page for the commit under
/// DIR; teardown removes it. Everything it knows comes from the `GANGWAY_*` variables.
pub fn driver_main(pages: &Path) -> Result<(), String> {
    let var = |n: &str| {
        std::env::var(n)
            .map_err(|_| format!("{n} is not set: run me from Gangway's command driver"))
    };
    let action = var("GANGWAY_ACTION")?;
    let sha = var("GANGWAY_SHA")?;
    if sha.len() != 40 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("GANGWAY_SHA {sha:?} is not a commit sha"));
    }
    let dir = pages.join(&sha);
    match action.as_str() {
        "create" | "deploy" => {
            let html = format!(
                "<!doctype html><title>Preview {short}</title><h1>Preview of {repo} #{pr}</h1>\
                 <p>Commit <code>{sha}</code>, environment <code>{env}</code>, deployment {id}.</p>\
                 <p>Served by Gangway's demo driver; on a real install this is {url}.</p>",
                short = &sha[..7],
                repo = var("GANGWAY_REPOSITORY")?,
                pr = var("GANGWAY_PR_NUMBER")?,
                env = var("GANGWAY_ENVIRONMENT")?,
                id = var("GANGWAY_DEPLOYMENT_ID")?,
                url = var("GANGWAY_URL")?,
            );
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("creating {}: {e}", dir.display()))?;
            std::fs::write(dir.join("index.html"), html)
                .map_err(|e| format!("writing the page: {e}"))?;
            println!("deployed {} to {}", &sha[..7], dir.display());
        }
        "teardown" => {
            if dir.exists() {
                std::fs::remove_dir_all(&dir)
                    .map_err(|e| format!("removing {}: {e}", dir.display()))?;
            }
            println!("tore down {}", &sha[..7]);
        }
        other => return Err(format!("unknown GANGWAY_ACTION {other:?}")),
    }
    Ok(())
}
