//! Opt-in enforcement of GitHub's secondary rate limits, per installation: at most 100 requests
//! in flight, and at most 80 content-creating requests (POST, PATCH, PUT, DELETE) in any rolling
//! minute and 500 in any rolling hour. A request past a limit is answered as GitHub does: 403,
//! `retry-after`, and the secondary-rate-limit message. Off by default; the report says what
//! the enforcement saw (the busiest installation's peaks, and every refusal).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::response::Response;
use chrono::{DateTime, Utc};

use super::faults::{self, FaultKind};
use super::model::ApiCall;
use super::state::State;
use super::{FakeGitHub, Shared};

/// The limits enforced (GitHub's documented ones by default; the windows can be shortened to
/// test pacing quickly).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecondaryLimits {
    /// Requests in flight at once, per installation.
    pub max_concurrent: usize,
    /// Content-creating requests per `minute`, per installation.
    pub writes_per_minute: usize,
    /// Content-creating requests per `hour`, per installation.
    pub writes_per_hour: usize,
    /// The short window (default 60 s).
    pub minute: Duration,
    /// The long window (default 1 h).
    pub hour: Duration,
}

impl Default for SecondaryLimits {
    fn default() -> Self {
        SecondaryLimits {
            max_concurrent: 100,
            writes_per_minute: 80,
            writes_per_hour: 500,
            minute: Duration::from_secs(60),
            hour: Duration::from_secs(3600),
        }
    }
}

/// What the enforcement saw since it was turned on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecondaryReport {
    /// Requests refused for too many in flight.
    pub refused_concurrency: u64,
    /// Requests refused for too many writes in a window.
    pub refused_writes: u64,
    /// The most requests one installation had in flight.
    pub max_in_flight: usize,
    /// The most writes one installation made in any rolling `minute`.
    pub max_writes_per_minute: usize,
    /// The most writes one installation made in any rolling `hour`.
    pub max_writes_per_hour: usize,
}

impl SecondaryReport {
    /// Every refusal.
    pub fn refused(&self) -> u64 {
        self.refused_concurrency + self.refused_writes
    }
}

#[derive(Debug, Default)]
struct Usage {
    in_flight: usize,
    /// Admitted writes within the last `hour`, oldest first.
    writes: VecDeque<Instant>,
}

/// The enforcement state (in the fake's `State` when on).
#[derive(Debug)]
pub(super) struct Enforcer {
    limits: SecondaryLimits,
    usage: HashMap<u64, Usage>,
    report: SecondaryReport,
}

/// One admitted request's place in its installation's in-flight count, given back when dropped.
pub(super) struct InFlight {
    shared: Arc<Shared>,
    installation: u64,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        if let Some(e) = st.secondary.as_mut()
            && let Some(u) = e.usage.get_mut(&self.installation)
        {
            u.in_flight = u.in_flight.saturating_sub(1);
        }
    }
}

fn secs_until(t: Instant, now: Instant) -> u64 {
    let d = t.saturating_duration_since(now);
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

impl Enforcer {
    fn admit(&mut self, installation: u64, write: bool, now: Instant) -> Result<(), u64> {
        let l = &self.limits;
        let u = self.usage.entry(installation).or_default();
        while u
            .writes
            .front()
            .is_some_and(|t| now.duration_since(*t) >= l.hour)
        {
            u.writes.pop_front();
        }
        if u.in_flight >= l.max_concurrent {
            self.report.refused_concurrency += 1;
            return Err(1);
        }
        if write {
            let mut in_minute = u
                .writes
                .iter()
                .filter(|t| now.duration_since(**t) < l.minute);
            let first_in_minute = in_minute.next().copied();
            let in_minute = usize::from(first_in_minute.is_some()) + in_minute.count();
            if in_minute >= l.writes_per_minute {
                self.report.refused_writes += 1;
                return Err(secs_until(first_in_minute.unwrap_or(now) + l.minute, now));
            }
            if u.writes.len() >= l.writes_per_hour {
                self.report.refused_writes += 1;
                let oldest = u.writes.front().copied().unwrap_or(now);
                return Err(secs_until(oldest + l.hour, now));
            }
            u.writes.push_back(now);
            let r = &mut self.report;
            r.max_writes_per_minute = r.max_writes_per_minute.max(in_minute + 1);
            r.max_writes_per_hour = r.max_writes_per_hour.max(u.writes.len());
        }
        u.in_flight += 1;
        self.report.max_in_flight = self.report.max_in_flight.max(u.in_flight);
        Ok(())
    }
}

/// Checks one installation request against the limits (a no-op when enforcement is off or the
/// request is not an installation's). `Err(retry_after_secs)`: refuse it.
pub(super) fn admit(
    sh: &Arc<Shared>,
    st: &mut State,
    installation: Option<u64>,
    method: &str,
    path: &str,
) -> Result<Option<InFlight>, u64> {
    let (Some(enforcer), Some(installation)) = (st.secondary.as_mut(), installation) else {
        return Ok(None);
    };
    // GitHub's content-creating limits count GraphQL mutations, not queries; the fake's
    // `/graphql` answers queries only.
    let write = matches!(method, "POST" | "PATCH" | "PUT" | "DELETE") && path != "/graphql";
    enforcer.admit(installation, write, Instant::now())?;
    Ok(Some(InFlight {
        shared: sh.clone(),
        installation,
    }))
}

/// GitHub's answer to a request past a secondary limit, recorded in the call log.
pub(super) fn refuse(
    sh: &Arc<Shared>,
    method: String,
    path: String,
    query: Option<String>,
    installation: Option<u64>,
    retry_after: u64,
    at: DateTime<Utc>,
) -> Response {
    let resp = faults::response(&FaultKind::SecondaryRateLimit { retry_after });
    sh.lock().calls.push(ApiCall {
        method,
        path,
        query,
        status: resp.status().as_u16(),
        installation,
        faulted: false,
        at,
        answered: Utc::now(),
    });
    resp
}

impl FakeGitHub {
    /// Enforces GitHub's secondary rate limits (`Some`) from now on, with fresh counts, or stops
    /// enforcing them (`None`, the default).
    pub fn set_secondary_limits(&self, limits: Option<SecondaryLimits>) {
        self.shared.lock().secondary = limits.map(|limits| Enforcer {
            limits,
            usage: HashMap::new(),
            report: SecondaryReport::default(),
        });
    }

    /// What the enforcement saw (all zero when it is off).
    pub fn secondary_report(&self) -> SecondaryReport {
        self.shared
            .lock()
            .secondary
            .as_ref()
            .map(|e| e.report.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
#[path = "secondary_tests.rs"]
mod tests;
