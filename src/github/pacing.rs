//! Pacing: Gangway stays under GitHub's secondary rate limits instead of being refused by them.
//!
//! GitHub documents, per installation: no more than 100 concurrent requests, and no more than 80
//! content-creating requests (POST, PATCH, PUT, DELETE) a minute and 500 an hour; past them it
//! answers 403 with `retry-after` and may block the integration for longer if it keeps trying.
//! Here each installation has a concurrency cap and, for writes, token buckets (GCRA, from the
//! `governor` crate) sized so that no rolling window ever holds more than the limit: a burst up
//! to the bucket passes at once, the rest waits its turn, and nothing is refused.
//!
//! Owns: when a call may be sent. Never changes, drops or retries a call.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use http::Method;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::GitHub;
use crate::types::InstallationId;

/// GitHub's cap on concurrent requests (REST and GraphQL together), per installation.
pub const GITHUB_MAX_CONCURRENT: usize = 100;
/// GitHub's documented content-creating requests per minute.
pub const GITHUB_WRITES_PER_MINUTE: u32 = 80;
/// GitHub's documented content-creating requests per hour.
pub const GITHUB_WRITES_PER_HOUR: u32 = 500;

/// The minute limit Gangway keeps to: 2 under GitHub's, for network jitter (a request the pacer
/// releases at t arrives a little later, and not always in order). 18 at once, then one a
/// second: 18 + 60 = 78 in any 60 s.
pub const MINUTE: WriteLimit = WriteLimit {
    limit: GITHUB_WRITES_PER_MINUTE - 2,
    window: Duration::from_secs(60),
    burst: 18,
};

/// The hour limit Gangway keeps to: 10 under GitHub's. 100 at once, then one every 9.2 s.
pub const HOUR: WriteLimit = WriteLimit {
    limit: GITHUB_WRITES_PER_HOUR - 10,
    window: Duration::from_secs(3600),
    burst: 100,
};

/// At most `limit` requests in any rolling `window`: up to `burst` at once, the other
/// `limit - burst` spread evenly over the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteLimit {
    pub limit: u32,
    pub window: Duration,
    pub burst: u32,
}

impl WriteLimit {
    fn quota(&self) -> Option<Quota> {
        let burst = NonZeroU32::new(self.burst.clamp(1, self.limit.max(1)))?;
        let steady = self.limit.saturating_sub(burst.get()).max(1);
        Some(Quota::with_period(self.window / steady)?.allow_burst(burst))
    }
}

/// How one installation's calls are paced (the same for every installation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacingSettings {
    /// Calls in flight at once, per installation.
    pub max_concurrent: usize,
    /// Limits on content-creating calls (POST, PATCH, PUT, DELETE), each kept, per installation.
    /// Empty: writes are only subject to `max_concurrent`.
    pub writes: Vec<WriteLimit>,
}

impl Default for PacingSettings {
    /// GitHub.com's documented secondary limits, with the margins of [`MINUTE`] and [`HOUR`].
    fn default() -> Self {
        PacingSettings {
            max_concurrent: GITHUB_MAX_CONCURRENT,
            writes: vec![MINUTE, HOUR],
        }
    }
}

impl PacingSettings {
    /// Only the concurrency cap: for servers without GitHub.com's limits.
    pub fn concurrency_only() -> Self {
        PacingSettings {
            max_concurrent: GITHUB_MAX_CONCURRENT,
            writes: Vec::new(),
        }
    }

    /// What Gangway uses unless told otherwise: GitHub.com's limits for GitHub.com and GitHub
    /// Enterprise Cloud (`api.github.com`, `api.*.ghe.com`), whose limits are documented; only
    /// the concurrency cap elsewhere (GitHub Enterprise Server, where the administrator sets
    /// the limits and may have none; a local fake or proxy), so that no made-up limit slows a
    /// server that has none. GitHub's own `retry-after` is honoured everywhere (the job queue).
    pub fn for_api_url(api_url: &str) -> Self {
        let host = api_url
            .split("://")
            .nth(1)
            .unwrap_or(api_url)
            .split(['/', ':'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if host == "api.github.com" || (host.starts_with("api.") && host.ends_with(".ghe.com")) {
            PacingSettings::default()
        } else {
            PacingSettings::concurrency_only()
        }
    }
}

/// Every client's stats added up, for harnesses that cannot reach the client.
static PROCESS_STATS: Mutex<PacingStats> = Mutex::new(PacingStats::ZERO);

/// What the pacing of every GitHub client in this process has done so far.
pub fn process_stats() -> PacingStats {
    *PROCESS_STATS.lock().unwrap_or_else(PoisonError::into_inner)
}

impl PacingSettings {
    /// The pacing `GANGWAY_GITHUB_PACING` asks for, for the API at `api_url`.
    pub fn for_mode(mode: crate::config::PacingMode, api_url: &str) -> Self {
        match mode {
            crate::config::PacingMode::Auto => PacingSettings::for_api_url(api_url),
            crate::config::PacingMode::Github => PacingSettings::default(),
            crate::config::PacingMode::Concurrency => PacingSettings::concurrency_only(),
        }
    }
}

/// What pacing has done since the client was made, over every installation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacingStats {
    /// Calls admitted.
    pub calls: u64,
    /// Of which content-creating.
    pub writes: u64,
    /// Calls that waited at least a millisecond for the write budget or a concurrency slot.
    pub delayed: u64,
    /// Their total wait.
    pub waited: Duration,
    /// The longest single wait.
    pub longest_wait: Duration,
    /// The most calls one installation had in flight at once.
    pub max_in_flight: usize,
}

impl PacingStats {
    const ZERO: PacingStats = PacingStats {
        calls: 0,
        writes: 0,
        delayed: 0,
        waited: Duration::ZERO,
        longest_wait: Duration::ZERO,
        max_in_flight: 0,
    };

    fn add(&mut self, write: bool, waited: Duration, in_flight: usize) {
        self.calls += 1;
        self.writes += u64::from(write);
        if waited >= Duration::from_millis(1) {
            self.delayed += 1;
            self.waited += waited;
            self.longest_wait = self.longest_wait.max(waited);
        }
        self.max_in_flight = self.max_in_flight.max(in_flight);
    }
}

/// A sent call's place in its installation's concurrency cap, given back when dropped.
pub struct Permit {
    _slot: Option<OwnedSemaphorePermit>,
}

struct Installation {
    slots: Arc<Semaphore>,
    /// Writers take turns at the buckets, so that a waiting write holds no token of one
    /// bucket while others take the next.
    turn: tokio::sync::Mutex<()>,
    buckets: Vec<DefaultDirectRateLimiter>,
}

/// Every installation's pacing state. One per [`GitHub`] client.
pub struct Pacing {
    settings: PacingSettings,
    installations: Mutex<HashMap<InstallationId, Arc<Installation>>>,
    stats: Mutex<PacingStats>,
    clock: DefaultClock,
}

impl std::fmt::Debug for Pacing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacing")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Whether a REST call of `method` counts against GitHub's content-creating limits. (A GraphQL
/// query is a POST but creates nothing: it is admitted with [`Pacing::admit_as`] as a read.)
pub fn creates_content(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PATCH | Method::PUT | Method::DELETE
    )
}

impl Pacing {
    pub fn new(settings: PacingSettings) -> Pacing {
        Pacing {
            settings,
            installations: Mutex::default(),
            stats: Mutex::default(),
            clock: DefaultClock::default(),
        }
    }

    pub fn settings(&self) -> &PacingSettings {
        &self.settings
    }

    fn installation(&self, id: InstallationId) -> Arc<Installation> {
        let mut map = self
            .installations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.entry(id)
            .or_insert_with(|| {
                Arc::new(Installation {
                    slots: Arc::new(Semaphore::new(self.settings.max_concurrent.max(1))),
                    turn: tokio::sync::Mutex::new(()),
                    buckets: self
                        .settings
                        .writes
                        .iter()
                        .filter_map(WriteLimit::quota)
                        .map(RateLimiter::direct)
                        .collect(),
                })
            })
            .clone()
    }

    /// Waits until a call of `method` may be sent as `installation`: a write until every bucket
    /// has a token for it, any call until a concurrency slot is free. Hold the permit until the
    /// answer has been read.
    pub async fn admit(&self, installation: InstallationId, method: &Method) -> Permit {
        self.admit_as(installation, creates_content(method)).await
    }

    /// [`Pacing::admit`] for a call whose kind is known: `write` when it creates content.
    pub async fn admit_as(&self, installation: InstallationId, write: bool) -> Permit {
        let inst = self.installation(installation);
        let started = Instant::now();
        if write && !inst.buckets.is_empty() {
            let _turn = inst.turn.lock().await;
            for bucket in &inst.buckets {
                while let Err(not_until) = bucket.check() {
                    tokio::time::sleep(not_until.wait_time_from(self.clock.now())).await;
                }
            }
        }
        let slot = inst.slots.clone().acquire_owned().await.ok();
        let in_flight = self.settings.max_concurrent.max(1) - inst.slots.available_permits();
        let waited = started.elapsed();
        for stats in [&self.stats, &PROCESS_STATS] {
            let mut s = stats.lock().unwrap_or_else(PoisonError::into_inner);
            s.add(write, waited, in_flight);
        }
        Permit { _slot: slot }
    }

    pub fn stats(&self) -> PacingStats {
        *self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl GitHub {
    /// The same client, paced by `settings` from now on (for every installation).
    pub fn with_pacing(mut self, settings: PacingSettings) -> GitHub {
        self.pacing = Arc::new(Pacing::new(settings));
        self
    }

    /// What pacing has done so far.
    pub fn pacing_stats(&self) -> PacingStats {
        self.pacing.stats()
    }

    pub fn pacing_settings(&self) -> &PacingSettings {
        self.pacing.settings()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The most requests in any window of `window` among sorted instants.
    fn max_in_window(times: &[Instant], window: Duration) -> usize {
        let mut best = 0;
        let mut start = 0;
        for (end, t) in times.iter().enumerate() {
            while *t - times[start] >= window {
                start += 1;
            }
            best = best.max(end - start + 1);
        }
        best
    }

    #[test]
    fn github_com_is_paced_and_other_servers_only_capped() {
        assert_eq!(
            PacingSettings::for_api_url("https://api.github.com"),
            PacingSettings::default()
        );
        assert_eq!(
            PacingSettings::for_api_url("https://api.octo.ghe.com/"),
            PacingSettings::default()
        );
        for other in [
            "http://127.0.0.1:4000",
            "https://github.example.org/api/v3",
            "https://api.github.com.evil.example",
        ] {
            assert_eq!(
                PacingSettings::for_api_url(other),
                PacingSettings::concurrency_only(),
                "{other}"
            );
        }
    }

    #[test]
    fn the_setting_overrides_the_guess_from_the_url() {
        use crate::config::PacingMode;
        let local = "http://127.0.0.1:4000";
        assert_eq!(
            PacingSettings::for_mode(PacingMode::Auto, local),
            PacingSettings::concurrency_only()
        );
        assert_eq!(
            PacingSettings::for_mode(PacingMode::Github, local),
            PacingSettings::default()
        );
        assert_eq!(
            PacingSettings::for_mode(PacingMode::Concurrency, "https://api.github.com"),
            PacingSettings::concurrency_only()
        );
    }

    #[test]
    fn default_limits_keep_under_githubs() {
        for l in [MINUTE, HOUR] {
            let q = l.quota().unwrap();
            let steady = l.window.as_secs_f64() / q.replenish_interval().as_secs_f64();
            let most = f64::from(q.burst_size().get()) + steady.floor();
            assert!(most <= f64::from(l.limit), "{l:?}: {most}");
        }
        const { assert!(MINUTE.limit < GITHUB_WRITES_PER_MINUTE && HOUR.limit < GITHUB_WRITES_PER_HOUR) };
    }

    #[tokio::test]
    async fn a_burst_within_the_bucket_passes_at_once_and_the_rest_is_spread() {
        let limit = WriteLimit {
            limit: 12,
            window: Duration::from_millis(600),
            burst: 6,
        };
        let pacing = Arc::new(Pacing::new(PacingSettings {
            max_concurrent: 100,
            writes: vec![limit],
        }));
        let t0 = Instant::now();
        for _ in 0..6 {
            drop(pacing.admit(InstallationId(1), &Method::POST).await);
        }
        assert!(t0.elapsed() < Duration::from_millis(50), "the burst waited");
        // Reads and other installations are not held back by one installation's writes.
        for _ in 0..20 {
            drop(pacing.admit(InstallationId(1), &Method::GET).await);
        }
        for _ in 0..6 {
            drop(pacing.admit(InstallationId(2), &Method::DELETE).await);
        }
        assert!(t0.elapsed() < Duration::from_millis(50), "reads waited");

        let mut sent = Vec::new();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..12 {
            let pacing = pacing.clone();
            tasks.spawn(async move {
                drop(pacing.admit(InstallationId(3), &Method::PATCH).await);
                Instant::now()
            });
        }
        while let Some(t) = tasks.join_next().await {
            sent.push(t.unwrap());
        }
        sent.sort();
        // 6 at once, then one per 100 ms: the 12th after about 600 ms, never more than 12 per 600 ms.
        let span = sent[11] - sent[0];
        assert!(span >= Duration::from_millis(550), "{span:?}");
        assert!(max_in_window(&sent, limit.window) <= 12);
        let stats = pacing.stats();
        assert!(stats.delayed >= 5, "{stats:?}");
        assert_eq!((stats.calls, stats.writes), (6 + 20 + 6 + 12, 6 + 6 + 12));
    }

    /// Against the fake GitHub enforcing its secondary limits (windows shortened to keep the
    /// test short): a burst of writes is refused unpaced, and paced it all goes through.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn paced_writes_are_never_refused_where_unpaced_ones_are() {
        use fake_github::{FakeConfig, FakeGitHub, SecondaryLimits};
        let fake = FakeGitHub::start(FakeConfig::new(
            4242,
            include_str!("../../fixtures/test-app-key.pub.pem"),
        ))
        .await
        .unwrap();
        fake.add_installation(1, "octo");
        fake.add_repo(1, "octo/app", "main").unwrap();
        let window = Duration::from_millis(400);
        fake.set_secondary_limits(Some(SecondaryLimits {
            writes_per_minute: 8,
            minute: window,
            ..SecondaryLimits::default()
        }));
        let key = secrecy::SecretString::from(include_str!("../../fixtures/test-app-key.pem"));
        let client = |pacing: PacingSettings| {
            GitHub::new(fake.url(), 4242, &key, crate::metrics::Metrics::new())
                .unwrap()
                .with_pacing(pacing)
        };
        let burst = |github: GitHub| async move {
            let mut tasks = tokio::task::JoinSet::new();
            for i in 0..20 {
                let github = github.clone();
                tasks.spawn(async move {
                    let body = serde_json::json!({
                        "ref": "main", "environment": format!("e{i}"),
                        "required_contexts": [], "auto_merge": false,
                    });
                    let route = "/repos/octo/app/deployments";
                    github
                        .request(InstallationId(1), Method::POST, route, Some(&body))
                        .await
                        .is_ok()
                });
            }
            let mut ok = 0;
            while let Some(r) = tasks.join_next().await {
                ok += usize::from(r.unwrap());
            }
            ok
        };
        let refused = 20 - burst(client(PacingSettings::concurrency_only())).await;
        assert!(refused > 0, "the fake enforces nothing");
        assert!(fake.secondary_report().refused() > 0);

        fake.set_secondary_limits(Some(SecondaryLimits {
            writes_per_minute: 8,
            minute: window,
            ..SecondaryLimits::default()
        }));
        let paced = PacingSettings {
            max_concurrent: 100,
            writes: vec![WriteLimit {
                limit: 6,
                window,
                burst: 2,
            }],
        };
        assert_eq!(burst(client(paced)).await, 20, "a paced write was refused");
        let report = fake.secondary_report();
        assert_eq!(report.refused(), 0, "{report:?}");
        assert!(report.max_writes_per_minute <= 8, "{report:?}");
    }

    /// GitHub's secondary limits count mutations, not queries: a GraphQL query (a POST) must not
    /// spend the write budget, even when that budget is spent.
    #[tokio::test]
    async fn graphql_queries_are_not_paced_as_writes() {
        let pacing = Pacing::new(PacingSettings {
            max_concurrent: 100,
            writes: vec![WriteLimit {
                limit: 2,
                window: Duration::from_secs(3600),
                burst: 1,
            }],
        });
        drop(pacing.admit(InstallationId(1), &Method::POST).await);
        let t0 = Instant::now();
        for _ in 0..50 {
            drop(pacing.admit_as(InstallationId(1), false).await);
        }
        assert!(t0.elapsed() < Duration::from_millis(50), "queries waited");
        let stats = pacing.stats();
        assert_eq!((stats.calls, stats.writes), (51, 1));
        assert!(creates_content(&Method::POST) && !creates_content(&Method::GET));
    }

    #[tokio::test]
    async fn concurrency_is_capped_per_installation() {
        let pacing = Arc::new(Pacing::new(PacingSettings {
            max_concurrent: 2,
            writes: Vec::new(),
        }));
        let a = pacing.admit(InstallationId(1), &Method::GET).await;
        let _b = pacing.admit(InstallationId(1), &Method::GET).await;
        let _other = pacing.admit(InstallationId(2), &Method::GET).await;
        let third = {
            let pacing = pacing.clone();
            tokio::spawn(async move {
                drop(pacing.admit(InstallationId(1), &Method::GET).await);
            })
        };
        tokio::task::yield_now().await;
        assert!(
            !third.is_finished(),
            "a third call went out while two were in flight"
        );
        drop(a);
        third.await.unwrap();
        assert_eq!(pacing.stats().max_in_flight, 2);
    }
}
