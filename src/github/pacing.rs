//! Pacing: Gangway stays under GitHub's secondary rate limits instead of being refused by them.
//!
//! GitHub documents, per installation: no more than 100 concurrent requests, and no more than 80
//! content-creating requests (POST, PATCH, PUT, DELETE) a minute and 500 an hour; past them it
//! answers 403 with `retry-after` and may block the integration for longer if it keeps trying.
//! Here each installation has a concurrency cap and, for writes, token buckets (GCRA, from the
//! `governor` crate) sized so that no rolling window ever holds more than the limit: a burst up
//! to the bucket passes at once, the rest waits its turn, and nothing is refused.
//!
//! When GitHub answers a secondary rate limit anyway (403 or 429 with `Retry-After`, or the
//! secondary-limit message), the whole installation is paused until `Retry-After` has passed:
//! GitHub asks integrations not to send anything meanwhile, and one that keeps calling may have
//! its access suspended. A call of a paused installation is not sent; it fails at once as
//! transient, with the time left as its `retry_after`, so its job is queued again for when the
//! pause ends and no worker sleeps on it.
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
    /// No call is sent before this instant (a secondary limit's `Retry-After`).
    paused_until: Mutex<Option<Instant>>,
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
                    paused_until: Mutex::new(None),
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

    /// GitHub refused a call of `installation` with a secondary limit: nothing more of it is
    /// sent for `retry_after` (a later end wins over an earlier one). Returns whether this
    /// started a pause (rather than lengthening one).
    pub fn pause(&self, installation: InstallationId, retry_after: Duration) -> bool {
        let inst = self.installation(installation);
        let mut until = inst
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let end = now + retry_after;
        let started = until.is_none_or(|u| u <= now);
        if until.is_none_or(|u| u < end) {
            *until = Some(end);
        }
        started
    }

    /// How long `installation` stays paused, if it is.
    pub fn paused(&self, installation: InstallationId) -> Option<Duration> {
        let inst = self.installation(installation);
        let until = *inst
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        until
            .and_then(|u| u.checked_duration_since(Instant::now()))
            .filter(|d| !d.is_zero())
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
#[path = "pacing_tests.rs"]
mod tests;
