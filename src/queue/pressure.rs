//! Ingest pressure: during a burst of webhooks, workers hold off taking new jobs, so the
//! deliveries are acknowledged first and processed right after.
//!
//! GitHub waits at most 10 s for a 202 and counts a slow answer as a failed delivery, while a job
//! may start a few hundred milliseconds later without anyone noticing. On a small machine the
//! workers and ingress share the CPU and (on SQLite) one database connection, so during a burst
//! the workers' queries delay every acknowledgement. Ingress reports each commit that carried
//! more than one delivery (requests arrived while the previous commit ran: a burst); for a short
//! while after that, workers wait before claiming. A worker waits at most a second in a row
//! before it takes a job anyway (`worker::MAX_YIELD`), so a sustained stream slows processing
//! but never stops it; jobs already running are never paused.
//!
//! Owns: the signal. Never drops or reorders work.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long after a batched commit the extra workers stay out of the way.
pub const HOLD: Duration = Duration::from_millis(100);

/// Shared by one process's ingress and its workers (one per [`super::Queue`] and its clones).
#[derive(Debug)]
pub struct IngestPressure {
    epoch: Instant,
    /// Microseconds after `epoch` until which the burst is considered on; 0: never.
    busy_until_us: AtomicU64,
}

impl Default for IngestPressure {
    fn default() -> Self {
        IngestPressure {
            epoch: Instant::now(),
            busy_until_us: AtomicU64::new(0),
        }
    }
}

impl IngestPressure {
    fn now_us(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Ingress committed `deliveries` deliveries in one transaction.
    pub fn committed(&self, deliveries: usize) {
        if deliveries >= 2 {
            let until = self
                .now_us()
                .saturating_add(u64::try_from(HOLD.as_micros()).unwrap_or(u64::MAX));
            self.busy_until_us.fetch_max(until, Ordering::Relaxed);
        }
    }

    /// How much longer the burst is considered on; `None` when it is not.
    pub fn remaining(&self) -> Option<Duration> {
        let until = self.busy_until_us.load(Ordering::Relaxed);
        let now = self.now_us();
        (until > now).then(|| Duration::from_micros(until - now))
    }

    /// Waits until no burst is on (at once if none is).
    pub async fn calm(&self) {
        while let Some(left) = self.remaining() {
            tokio::time::sleep(left).await;
        }
    }
}

#[cfg(test)]
#[path = "pressure_tests.rs"]
mod tests;
