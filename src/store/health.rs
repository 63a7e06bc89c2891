//! Whether the database takes writes right now: the last storage failure seen on the
//! acknowledgement path or in a job's bookkeeping, until a write succeeds again.
//!
//! Owns: what `/readyz` and the metrics say about writes. Never retries anything itself: the
//! next delivery, job step or readiness probe tries again, and success clears the failure.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::clock::Clock;

/// A write that failed for want of storage (disk full, I/O error, a revoked privilege, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteFailure {
    /// Unix milliseconds of the first failure in this run of failures.
    pub since_ms: i64,
    /// The latest failure's error.
    pub error: String,
}

#[derive(Default)]
pub(super) struct WriteHealth {
    failing: Mutex<Option<WriteFailure>>,
    /// Storage failures seen since start (for the metrics).
    failures: AtomicU64,
}

impl WriteHealth {
    pub(super) fn failed(&self, error: &str) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        let now = crate::clock::SystemClock.now_ms();
        let mut f = self.failing.lock().unwrap_or_else(|p| p.into_inner());
        let since_ms = f.as_ref().map_or(now, |f| f.since_ms);
        if f.is_none() {
            tracing::error!(
                error,
                "database writes are failing: deliveries are answered 503 and job steps wait until they succeed again"
            );
        }
        *f = Some(WriteFailure {
            since_ms,
            error: error.to_owned(),
        });
    }

    pub(super) fn succeeded(&self) {
        let mut f = self.failing.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(was) = f.take() {
            tracing::warn!(since_ms = was.since_ms, last_error = %was.error, "database writes succeed again");
        }
    }

    pub(super) fn failing(&self) -> Option<WriteFailure> {
        self.failing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(super) fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }
}

/// How often `/readyz` may write its probe; callers within this share the last result.
pub(super) const PROBE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// `/readyz`'s write probe, run at most once per [`PROBE_EVERY`]: a caller that finds a fresh
/// result takes it; concurrent callers wait for the one probe in progress and share its result.
/// A result is not reused once the health says otherwise: a success once a write has failed
/// since, a failure once a write has succeeded since (recovery shows at once).
#[derive(Default)]
pub(super) struct ReadyProbe {
    last: tokio::sync::Mutex<Option<(std::time::Instant, Result<(), String>)>>,
}

impl ReadyProbe {
    pub(super) async fn run<F, Fut>(
        &self,
        probe: F,
        failing: impl Fn() -> bool,
    ) -> Result<(), String>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(), super::StoreError>>,
    {
        let mut last = self.last.lock().await;
        if let Some((at, r)) = last.as_ref()
            && at.elapsed() < PROBE_EVERY
            && r.is_ok() != failing()
        {
            return r.clone();
        }
        let r = probe().await.map_err(|e| e.to_string());
        *last = Some((std::time::Instant::now(), r.clone()));
        r
    }
}

#[cfg(test)]
#[path = "health_tests.rs"]
mod tests;
