//! End to end: pull requests lived through the fake GitHub (50 ms added to every API call,
//! GitHub's secondary rate limits enforced) and Gangway (`server::Running`, as `serve` and the
//! tests start it; SQLite; the command driver running `/bin/true`), with real signed webhooks
//! both ways. Measures the time from the `check_suite` webhook to the `success` deployment
//! status, Gangway's own share of it, and the API calls each lifecycle costs, by endpoint.
//! GraphQL queries (`POST /graphql`, the checks) are attributed by installation, since their
//! path names no repository; they are reads.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use fake_github::{
    ApiCall, Delivery, FakeConfig, FakeGitHub, PrSpec, SecondaryLimits, SecondaryReport,
    WebhookTarget,
};
use gangway::clock::SystemClock;
use gangway::config::{Settings, Source};
use gangway::github::pacing::{self, PacingStats};
use gangway::jobs::{DeliveryOutcome, JobKey, JobKind, JobState};
use gangway::server::Running;

use crate::child::{APP_ID, KEY_PEM, PUBLIC_KEY_PEM, SECRET};

pub const LATENCY: Duration = Duration::from_millis(50);

pub struct World {
    pub fake: Arc<FakeGitHub>,
    pub running: Running,
    _dir: tempfile::TempDir,
}

impl World {
    pub async fn start(workers: usize) -> Result<World, String> {
        let fake = Arc::new(
            FakeGitHub::start(FakeConfig::new(APP_ID, PUBLIC_KEY_PEM))
                .await
                .map_err(|e| format!("fake GitHub: {e}"))?,
        );
        fake.set_latency(LATENCY);
        fake.set_secondary_limits(Some(SecondaryLimits::default()));
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let db = format!("sqlite://{}", dir.path().join("gangway.db").display());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let vars: Vec<(String, String)> = [
            ("APP_ID", APP_ID.to_string()),
            ("PRIVATE_KEY", KEY_PEM.to_owned()),
            ("WEBHOOK_SECRET", SECRET.to_owned()),
            ("GITHUB_API_URL", fake.url().to_owned()),
            ("DATABASE_URL", db),
            ("GANGWAY_HOST", "127.0.0.1".to_owned()),
            ("PORT", addr.port().to_string()),
            ("GANGWAY_PUBLIC_URL", format!("http://{addr}")),
            ("GANGWAY_DRIVER", "command".to_owned()),
            ("GANGWAY_DEPLOY_COMMAND", true_path()),
            ("GANGWAY_TEARDOWN_COMMAND", true_path()),
            ("GANGWAY_WORKERS", workers.to_string()),
            ("GANGWAY_SHUTDOWN_GRACE_SECS", "5".to_owned()),
            // What `serve` uses against GitHub.com; the fake on loopback would get only the
            // concurrency cap by default (see github/pacing.rs).
            ("GANGWAY_GITHUB_PACING", "github".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let settings = Settings::load(&Source::from_env(vars)).map_err(|e| e.to_string())?;
        let running = Running::start(&settings, listener, Arc::new(SystemClock))
            .await
            .map_err(|e| format!("starting gangway: {e}"))?;
        fake.set_webhook(Some(WebhookTarget::new(
            format!("http://{addr}/webhooks"),
            SECRET,
        )));
        Ok(World {
            fake,
            running,
            _dir: dir,
        })
    }

    pub async fn stop(self) {
        let _ = self.running.shutdown().await;
    }

    /// Waits until the fake has no webhook to send and Gangway no job queued or running.
    pub async fn settle(&self) -> Result<(), String> {
        for _ in 0..2 {
            if !self.fake.wait_webhooks_idle(Duration::from_secs(600)).await {
                return Err("the fake's webhooks never drained".into());
            }
            let deadline = Instant::now() + Duration::from_secs(600);
            loop {
                let counts = self
                    .running
                    .queue()
                    .counts()
                    .await
                    .map_err(|e| e.to_string())?;
                if counts
                    .iter()
                    .all(|(s, n)| *n == 0 || matches!(s, JobState::Done | JobState::Dead))
                {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(format!("gangway never went idle: {counts:?}"));
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        Ok(())
    }
}

fn true_path() -> String {
    ["/bin/true", "/usr/bin/true"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .unwrap_or("/bin/true")
        .to_owned()
}

async fn until(
    fake: &FakeGitHub,
    what: &str,
    cond: impl Fn(&FakeGitHub) -> bool,
) -> Result<(), String> {
    if fake.wait_for(Duration::from_secs(600), cond).await {
        Ok(())
    } else {
        Err(format!("timed out waiting for {what}"))
    }
}

/// Waits until Gangway has processed `d` (a PR's delivery) and the evaluation of PR `n` it
/// caused: nothing of it is visible on GitHub any more (no comment while checks run).
async fn handled(running: &Running, d: &Delivery, n: u64) -> Result<(), String> {
    let repo = d.repository.ok_or("the delivery names no repository")?;
    let key = JobKey::pull(gangway::types::RepoId(repo), gangway::types::PrNumber(n));
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let store = running.store();
        let processed = store
            .delivery(&d.guid)
            .await
            .map_err(|e| e.to_string())?
            .is_some_and(|r| r.outcome != DeliveryOutcome::Queued);
        let waiting = store
            .job_waiting(JobKind::Evaluate, &key)
            .await
            .map_err(|e| e.to_string())?;
        let running_jobs = running
            .queue()
            .jobs(Some(JobState::Running))
            .await
            .map_err(|e| e.to_string())?;
        if processed && !waiting && !running_jobs.iter().any(|j| j.key == key.as_str()) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("gangway never handled delivery {}", d.guid));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn sticky(fake: &FakeGitHub, repo: &str, n: u64) -> Option<String> {
    fake.comments(repo, n)
        .into_iter()
        .find(|c| c.via_app && c.body.contains("gangway:sticky"))
        .map(|c| c.body)
}

fn last_state(fake: &FakeGitHub, repo: &str, sha: &str) -> Option<String> {
    fake.deployments(repo)
        .into_iter()
        .filter(|d| d.sha == sha)
        .filter_map(|d| d.statuses.last().map(|s| s.state.clone()))
        .next_back()
}

fn success_at(fake: &FakeGitHub, repo: &str, sha: &str) -> Option<DateTime<Utc>> {
    fake.deployments(repo)
        .into_iter()
        .filter(|d| d.sha == sha)
        .flat_map(|d| d.statuses)
        .find(|s| s.state == "success")
        .map(|s| s.created_at)
}

/// One `check_suite` → `success` interval.
#[derive(Debug, Clone)]
pub struct Green {
    pub installation: u64,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Green {
    pub fn total(&self) -> Duration {
        (self.to - self.from).to_std().unwrap_or_default()
    }

    /// The part of the interval when none of the installation's API calls was held by the
    /// fake GitHub (from its arrival to its answer leaving): the time Gangway itself took
    /// (webhook in, queue, store, decisions, driver, its HTTP client both ways).
    pub fn own_time(&self, calls: &[ApiCall]) -> Duration {
        self.uncovered(calls, |c| c.answered)
    }

    /// As `own_time`, but with each call covering exactly the injected latency from its
    /// arrival, as the first three passes measured it: the fake's timer overshoot and its own
    /// handling (state, webhooks it sends) then count as Gangway's.
    pub fn own_time_fixed_latency(&self, calls: &[ApiCall]) -> Duration {
        let latency = chrono::Duration::from_std(LATENCY).unwrap_or_default();
        self.uncovered(calls, |c| c.at + latency)
    }

    fn uncovered(&self, calls: &[ApiCall], end: impl Fn(&ApiCall) -> DateTime<Utc>) -> Duration {
        let mut spans: Vec<(DateTime<Utc>, DateTime<Utc>)> = calls
            .iter()
            .filter(|c| c.installation == Some(self.installation))
            .map(|c| (c.at.max(self.from), end(c).min(self.to)))
            .filter(|(a, b)| a < b)
            .collect();
        spans.sort();
        let mut covered = chrono::Duration::zero();
        let mut current: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
        for (a, b) in spans {
            current = match current {
                Some((ca, cb)) if a <= cb => Some((ca, cb.max(b))),
                Some((ca, cb)) => {
                    covered += cb - ca;
                    Some((a, b))
                }
                None => Some((a, b)),
            };
        }
        if let Some((ca, cb)) = current {
            covered += cb - ca;
        }
        (self.to - self.from - covered).to_std().unwrap_or_default()
    }
}

impl Green {
    /// Where Gangway's own time went: each stretch with no call in flight, named by the calls
    /// around it (`webhook` before the first, `success` after the last).
    pub fn gaps(&self, calls: &[ApiCall]) -> Vec<(String, Duration)> {
        let mut mine: Vec<&ApiCall> = calls
            .iter()
            .filter(|c| c.installation == Some(self.installation))
            .filter(|c| c.at >= self.from && c.at <= self.to)
            .collect();
        mine.sort_by_key(|c| c.at);
        let mut out = Vec::new();
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let (mut label, mut free_from) = ("webhook".to_owned(), self.from);
        for c in mine {
            let mut name = endpoint(c).replace("/repos/{repo}", "");
            let n = seen.entry(name.clone()).or_default();
            *n += 1;
            if *n > 1 {
                name = format!("{name} #{n}");
            }
            let gap = (c.at - free_from).to_std().unwrap_or_default();
            out.push((format!("{label} → {name}"), gap));
            label = name;
            free_from = free_from.max(c.answered);
        }
        out.push((
            format!("{label} → success recorded"),
            (self.to - free_from).to_std().unwrap_or_default(),
        ));
        out
    }
}

/// Checks green on `sha` (a check run, then the suite completed: GitHub's `check_suite`
/// webhook), then waits for its preview to be live.
async fn green(
    fake: &FakeGitHub,
    installation: u64,
    repo: &str,
    sha: &str,
) -> Result<Green, String> {
    fake.add_check_run(repo, sha, "build", "completed", Some("success"))
        .map_err(|e| e.to_string())?;
    let from = Utc::now();
    let d = fake
        .complete_check_suite(repo, sha, "github-actions")
        .await
        .map_err(|e| e.to_string())?;
    if !d.ok() {
        return Err(format!("check_suite refused: {:?}", d.status));
    }
    until(fake, "the preview to be live", |f| {
        success_at(f, repo, sha).is_some()
    })
    .await?;
    let to = success_at(fake, repo, sha).unwrap_or(from);
    Ok(Green {
        installation,
        from,
        to,
    })
}

/// What a lifecycle does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Shape {
    /// opened → checks green → deployed → new push → green → deployed → closed (merged).
    Full,
    /// opened → checks green → deployed (staged) → closed.
    Staged,
}

/// One PR's life in `repo`, from `branch`; its greens.
pub async fn lifecycle(
    fake: &FakeGitHub,
    running: &Running,
    installation: u64,
    repo: &str,
    branch: &str,
    shape: Shape,
) -> Result<Vec<Green>, String> {
    let pr = fake
        .open_pr(PrSpec::new(repo, branch, "alice").file("app.txt", "v1"))
        .await
        .map_err(|e| e.to_string())?;
    let n = pr.number;
    // CI takes minutes: Gangway has long handled the opening when checks finish. (While they
    // run, a same-repository PR gets no comment: nothing shows on GitHub to wait for.)
    handled(running, &pr.delivery, n).await?;
    let mut greens = vec![green(fake, installation, repo, &pr.head_sha).await?];
    let mut head = pr.head_sha.clone();
    if shape == Shape::Full {
        until(fake, "the sticky to say live", |f| {
            sticky(f, repo, n).is_some_and(|b| b.contains("**Live**"))
        })
        .await?;
        let pushed = fake
            .push_pr_files(repo, n, &[("app.txt", "v2")])
            .await
            .map_err(|e| e.to_string())?;
        let short = pushed.after[..7].to_owned();
        until(fake, "the sticky to name the new head", |f| {
            sticky(f, repo, n).is_some_and(|b| b.contains(&short))
        })
        .await?;
        greens.push(green(fake, installation, repo, &pushed.after).await?);
        let old = head.clone();
        until(fake, "the old preview to go", |f| {
            last_state(f, repo, &old).as_deref() == Some("inactive")
        })
        .await?;
        head = pushed.after;
    }
    until(fake, "the sticky to say live", |f| {
        sticky(f, repo, n).is_some_and(|b| b.contains("**Live**"))
    })
    .await?;
    // GitHub's `updated_at` counts whole seconds. A real PR is not closed within the second of
    // its last update (CI alone takes minutes); one that is costs Gangway a `GET /pulls/{n}`,
    // since two different events with the same time cannot be ordered. Close in a later second,
    // as a real PR would be.
    let into_second = u64::from(Utc::now().timestamp_subsec_millis());
    tokio::time::sleep(Duration::from_millis(1_005 - into_second.min(1_000))).await;
    fake.close_pr(repo, n, shape == Shape::Full)
        .await
        .map_err(|e| e.to_string())?;
    until(fake, "the teardown", |f| {
        last_state(f, repo, &head).as_deref() == Some("inactive")
            && sticky(f, repo, n).is_some_and(|b| b.contains("**Torn down**"))
    })
    .await?;
    Ok(greens)
}

/// `METHOD /path` with ids, shas, refs and names replaced by placeholders.
pub fn endpoint(call: &ApiCall) -> String {
    if is_graphql(call) {
        // The only GraphQL query Gangway sends.
        return "POST /graphql (checks)".to_owned();
    }
    let parts: Vec<&str> = call.path.split('/').collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        let seg = parts[i];
        let prev = if i > 0 { parts[i - 1] } else { "" };
        if prev == "repos" && i + 1 < parts.len() {
            out.push("{repo}".into());
            i += 2;
            continue;
        }
        let placeholder = match prev {
            "commits" => Some("{ref}"),
            "environments" => Some("{env}"),
            "collaborators" => Some("{user}"),
            _ => None,
        };
        let s = if let Some(p) = placeholder {
            p.to_owned()
        } else if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            "{id}".to_owned()
        } else {
            seg.to_owned()
        };
        out.push(s);
        i += 1;
    }
    format!("{} {}", call.method, out.join("/"))
}

pub fn is_graphql(c: &ApiCall) -> bool {
    c.method == "POST" && c.path == "/graphql"
}

/// A call that creates content (GitHub's secondary write limits): not a read, and not a
/// GraphQL query.
pub fn is_write(c: &ApiCall) -> bool {
    c.method != "GET" && !is_graphql(c)
}

pub fn is_token_request(c: &ApiCall) -> bool {
    c.path.starts_with("/app/installations/") && c.path.ends_with("/access_tokens")
}

/// API calls per lifecycle by endpoint (token requests apart), averaged over `lifecycles`.
#[derive(Debug, Default, Clone)]
pub struct CallTally {
    pub by_endpoint: BTreeMap<String, f64>,
    pub per_lifecycle: f64,
    pub writes_per_lifecycle: f64,
    pub token_requests: usize,
    pub refused: usize,
    /// Answers other than 2xx (and 304), by `status endpoint`: what GitHub turned down.
    pub failed: BTreeMap<String, usize>,
}

/// Calls on `repos`, and GraphQL queries of `installations` (their path names no repository).
pub fn tally(
    calls: &[ApiCall],
    repos: &[String],
    installations: &[u64],
    lifecycles: usize,
) -> CallTally {
    let mut t = CallTally::default();
    let n = lifecycles.max(1) as f64;
    for c in calls {
        if is_token_request(c) {
            t.token_requests += 1;
            continue;
        }
        let ours = if is_graphql(c) {
            c.installation.is_some_and(|i| installations.contains(&i))
        } else {
            repos
                .iter()
                .any(|r| c.path.starts_with(&format!("/repos/{r}/")))
        };
        if !ours {
            continue;
        }
        if c.status == 403 || c.status == 429 {
            t.refused += 1;
        }
        if !(200..300).contains(&c.status) && c.status != 304 {
            *t.failed
                .entry(format!("{} {}", c.status, endpoint(c)))
                .or_default() += 1;
        }
        *t.by_endpoint.entry(endpoint(c)).or_default() += 1.0 / n;
        t.per_lifecycle += 1.0 / n;
        if is_write(c) {
            t.writes_per_lifecycle += 1.0 / n;
        }
    }
    t
}

/// Whether a call reads the repository policy (`.github/gangway.yml`).
pub fn is_policy_read(c: &ApiCall) -> bool {
    c.method == "GET" && c.path.ends_with("/contents/.github/gangway.yml")
}

pub struct SequentialFigures {
    /// Each interval: total, Gangway's own time, and its own time as the first passes counted it.
    pub greens: Vec<(Duration, Duration, Duration)>,
    /// Gangway's own stretches by where they fall, over every interval.
    pub gaps: BTreeMap<String, Vec<Duration>>,
    pub full: CallTally,
    /// Staged lifecycles in one repository whose policy is cached (the policy read apart).
    pub staged: CallTally,
    /// Policy reads of that repository over the warm-up and the staged lifecycles: a cost per
    /// repository (and per policy change), not per lifecycle.
    pub staged_policy_reads: usize,
}

/// `n` full lifecycles one after another, each in its own installation and repository (so
/// nothing is paced, and every call is attributed); then, in one more installation and
/// repository, a warm-up staged lifecycle (not counted: it reads the policy) and `m` staged
/// ones one after another.
pub async fn sequential(
    w: &World,
    n: usize,
    m: usize,
    base: u64,
) -> Result<SequentialFigures, String> {
    let mut greens = Vec::new();
    let mut gaps: BTreeMap<String, Vec<Duration>> = BTreeMap::new();
    let mut full_repos = Vec::new();
    let mut full_installations = Vec::new();
    let mut record = |got: &[Green], calls: &[ApiCall]| {
        greens.extend(got.iter().map(|g| {
            (
                g.total(),
                g.own_time(calls),
                g.own_time_fixed_latency(calls),
            )
        }));
        for g in got {
            for (at, d) in g.gaps(calls) {
                gaps.entry(at).or_default().push(d);
            }
        }
    };
    let new_repo = |installation: u64| -> Result<String, String> {
        let account = format!("seq{installation}");
        let repo = format!("{account}/app");
        w.fake.add_installation(installation, &account);
        w.fake
            .add_repo(installation, &repo, "main")
            .map_err(|e| e.to_string())?;
        Ok(repo)
    };
    for i in 0..n {
        let installation = base + i as u64;
        let repo = new_repo(installation)?;
        let got = lifecycle(
            &w.fake,
            &w.running,
            installation,
            &repo,
            "feature",
            Shape::Full,
        )
        .await?;
        w.settle().await?;
        record(&got, &w.fake.calls());
        full_repos.push(repo);
        full_installations.push(installation);
    }
    let installation = base + n as u64;
    let repo = new_repo(installation)?;
    let staged_from = {
        lifecycle(
            &w.fake,
            &w.running,
            installation,
            &repo,
            "warm-up",
            Shape::Staged,
        )
        .await?;
        w.settle().await?;
        w.fake.calls().len()
    };
    for k in 0..m {
        let got = lifecycle(
            &w.fake,
            &w.running,
            installation,
            &repo,
            &format!("feature-{k}"),
            Shape::Staged,
        )
        .await?;
        w.settle().await?;
        record(&got, &w.fake.calls());
    }
    let calls = w.fake.calls();
    let staged_repos = [repo.clone()];
    let staged_policy_reads = calls
        .iter()
        .filter(|c| is_policy_read(c) && c.path.starts_with(&format!("/repos/{repo}/")))
        .count();
    let staged_calls: Vec<ApiCall> = calls
        .get(staged_from..)
        .unwrap_or_default()
        .iter()
        .filter(|c| !is_policy_read(c))
        .cloned()
        .collect();
    Ok(SequentialFigures {
        greens,
        gaps,
        full: tally(&calls, &full_repos, &full_installations, n),
        staged: tally(&staged_calls, &staged_repos, &[installation], m),
        staged_policy_reads,
    })
}

pub struct ParallelFigures {
    pub lifecycles: usize,
    pub installations: usize,
    pub wall: Duration,
    pub greens: Vec<Duration>,
    pub calls: CallTally,
    pub secondary: SecondaryReport,
    pub pacing: PacingStats,
    /// The busiest installation's writes per 10 s of the run.
    pub timeline: Vec<usize>,
    /// The most writes any installation made in a rolling minute, seen in the call log.
    pub max_writes_minute: usize,
    pub max_in_flight_calls: usize,
}

/// `lifecycles` full lifecycles at once, spread over `installations` installations.
pub async fn parallel(
    w: &World,
    lifecycles: usize,
    installations: usize,
    base: u64,
) -> Result<ParallelFigures, String> {
    let before = pacing::process_stats();
    let mut plans = Vec::new();
    for i in 0..lifecycles {
        let installation = base + (i % installations) as u64;
        let account = format!("par{installation}");
        if i < installations {
            w.fake.add_installation(installation, &account);
        }
        let repo = format!("{account}/app{i}");
        w.fake
            .add_repo(installation, &repo, "main")
            .map_err(|e| e.to_string())?;
        plans.push((installation, repo));
    }
    let from = Utc::now();
    let started = Instant::now();
    let runs = plans.iter().map(|(inst, repo)| {
        let fake = w.fake.clone();
        let running = &w.running;
        async move { lifecycle(&fake, running, *inst, repo, "feature", Shape::Full).await }
    });
    let results = futures::future::join_all(runs).await;
    w.settle().await?;
    let wall = started.elapsed();
    let mut greens = Vec::new();
    for r in results {
        greens.extend(r?.iter().map(Green::total));
    }
    let calls: Vec<ApiCall> = w
        .fake
        .calls()
        .into_iter()
        .filter(|c| c.at >= from)
        .collect();
    let repos: Vec<String> = plans.iter().map(|(_, r)| r.clone()).collect();
    let plan_installations: Vec<u64> = plans.iter().map(|(i, _)| *i).collect();
    let after = pacing::process_stats();
    let pacing = PacingStats {
        calls: after.calls - before.calls,
        writes: after.writes - before.writes,
        delayed: after.delayed - before.delayed,
        waited: after.waited - before.waited,
        longest_wait: after.longest_wait,
        max_in_flight: after.max_in_flight,
    };
    // Writes per installation over time, from the fake's log.
    let mut writes: BTreeMap<u64, Vec<DateTime<Utc>>> = BTreeMap::new();
    for c in calls.iter().filter(|c| is_write(c) && !is_token_request(c)) {
        if let Some(i) = c.installation {
            writes.entry(i).or_default().push(c.at);
        }
    }
    let mut max_writes_minute = 0;
    let mut busiest: (usize, u64) = (0, 0);
    for (inst, times) in &writes {
        let mut start = 0;
        for (end, t) in times.iter().enumerate() {
            while *t - times[start] >= chrono::Duration::seconds(60) {
                start += 1;
            }
            max_writes_minute = max_writes_minute.max(end - start + 1);
        }
        busiest = busiest.max((times.len(), *inst));
    }
    let mut timeline = Vec::new();
    if let Some(times) = writes.get(&busiest.1) {
        for t in times {
            let bucket = ((*t - from).num_milliseconds().max(0) / 10_000) as usize;
            if timeline.len() <= bucket {
                timeline.resize(bucket + 1, 0);
            }
            timeline[bucket] += 1;
        }
    }
    // Calls in flight at once (any installation), from arrival times and the fixed latency.
    let mut edges: Vec<(DateTime<Utc>, i32)> = calls
        .iter()
        .flat_map(|c| {
            [
                (c.at, 1),
                (
                    c.at + chrono::Duration::from_std(LATENCY).unwrap_or_default(),
                    -1,
                ),
            ]
        })
        .collect();
    edges.sort();
    let (mut now, mut max_in_flight_calls) = (0i32, 0i32);
    for (_, d) in edges {
        now += d;
        max_in_flight_calls = max_in_flight_calls.max(now);
    }
    Ok(ParallelFigures {
        lifecycles,
        installations,
        wall,
        greens,
        calls: tally(&calls, &repos, &plan_installations, lifecycles),
        secondary: w.fake.secondary_report(),
        pacing,
        timeline,
        max_writes_minute,
        max_in_flight_calls: usize::try_from(max_in_flight_calls).unwrap_or(0),
    })
}
