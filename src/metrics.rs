//! Prometheus metrics: what `/metrics` shows. One registry per running instance (tests run many).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::jobs::JobState;

type Labels = Vec<(&'static str, String)>;

#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Mutex<Registry>,
    deliveries: Family<Labels, Counter>,
    jobs_finished: Family<Labels, Counter>,
    job_seconds: Family<Labels, Histogram>,
    jobs: Family<Labels, Gauge>,
    github_calls: Family<Labels, Counter>,
    writes_failing: Gauge,
    write_failures: Counter,
    github_paused: Family<Labels, Gauge>,
    github_pauses: Counter,
    http_refused: Family<Labels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("gangway");
        let deliveries = Family::<Labels, Counter>::default();
        registry.register(
            "webhook_deliveries",
            "Webhook deliveries received, by event and outcome",
            deliveries.clone(),
        );
        let jobs_finished = Family::<Labels, Counter>::default();
        registry.register(
            "jobs_finished",
            "Job attempts finished, by kind and outcome (done, retry, dead)",
            jobs_finished.clone(),
        );
        let job_seconds = Family::<Labels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 16))
        });
        registry.register(
            "job_duration_seconds",
            "Time one job attempt took, by kind",
            job_seconds.clone(),
        );
        let jobs = Family::<Labels, Gauge>::default();
        registry.register(
            "jobs",
            "Jobs in the queue by state (queued is the queue depth)",
            jobs.clone(),
        );
        let github_calls = Family::<Labels, Counter>::default();
        registry.register(
            "github_api_calls",
            "GitHub API calls by HTTP status (error = no answer)",
            github_calls.clone(),
        );
        let writes_failing = Gauge::default();
        registry.register(
            "database_writes_failing",
            "1 while database writes fail for want of storage (disk full, I/O error, revoked privilege): deliveries are answered 503 and job steps wait",
            writes_failing.clone(),
        );
        let write_failures = Counter::default();
        registry.register(
            "database_write_failures",
            "Database writes that failed for want of storage, since start",
            write_failures.clone(),
        );
        let github_paused = Family::<Labels, Gauge>::default();
        registry.register(
            "github_installation_paused_until_seconds",
            "Unix time until which every GitHub call of an installation waits, after a secondary rate limit (paused while it is ahead of time())",
            github_paused.clone(),
        );
        let github_pauses = Counter::default();
        registry.register(
            "github_secondary_limit_pauses",
            "Pauses of an installation's GitHub calls ordered by a secondary rate limit (403/429 with Retry-After)",
            github_pauses.clone(),
        );
        let http_refused = Family::<Labels, Counter>::default();
        registry.register(
            "http_refused",
            "Requests and connections refused by the HTTP limits, by reason (connections: every connection busy, 503; requests: too many in flight, 503; too_large: declared body over the limit, 413)",
            http_refused.clone(),
        );
        Metrics {
            inner: Arc::new(Inner {
                http_refused,
                registry: Mutex::new(registry),
                deliveries,
                jobs_finished,
                job_seconds,
                jobs,
                github_calls,
                writes_failing,
                write_failures,
                github_paused,
                github_pauses,
            }),
        }
    }

    pub fn delivery(&self, event: &str, outcome: &str) {
        self.inner
            .deliveries
            .get_or_create(&vec![
                ("event", event.to_owned()),
                ("outcome", outcome.to_owned()),
            ])
            .inc();
    }

    pub fn job_finished(&self, kind: &str, outcome: &str, took: Duration) {
        self.inner
            .jobs_finished
            .get_or_create(&vec![
                ("kind", kind.to_owned()),
                ("outcome", outcome.to_owned()),
            ])
            .inc();
        self.inner
            .job_seconds
            .get_or_create(&vec![("kind", kind.to_owned())])
            .observe(took.as_secs_f64());
    }

    /// A request or connection refused by the HTTP limits (`reason`: a fixed word).
    pub fn http_refused(&self, reason: &'static str) {
        self.inner
            .http_refused
            .get_or_create(&vec![("reason", reason.to_owned())])
            .inc();
    }

    pub fn github_call(&self, status: Option<u16>) {
        let status = status.map_or_else(|| "error".to_owned(), |s| s.to_string());
        self.inner
            .github_calls
            .get_or_create(&vec![("status", status)])
            .inc();
    }

    /// Sets the per-state job gauges (read from the database at scrape time).
    pub fn set_job_counts(&self, counts: &[(JobState, i64)]) {
        for &state in JobState::ALL {
            let n = counts
                .iter()
                .find(|(s, _)| *s == state)
                .map_or(0, |(_, n)| *n);
            self.inner
                .jobs
                .get_or_create(&vec![("state", state.as_str().to_owned())])
                .set(n);
        }
    }

    /// Whether database writes fail now, and how many have failed since start (read from the
    /// store at scrape time).
    pub fn set_write_health(&self, failing: bool, failures: u64) {
        self.inner.writes_failing.set(i64::from(failing));
        let seen = self.inner.write_failures.get();
        if failures > seen {
            self.inner.write_failures.inc_by(failures - seen);
        }
    }

    /// A secondary rate limit paused an installation's GitHub calls until `until_unix_secs`.
    pub fn github_paused(&self, installation: u64, until_unix_secs: i64) {
        self.inner.github_pauses.inc();
        self.inner
            .github_paused
            .get_or_create(&vec![("installation", installation.to_string())])
            .set(until_unix_secs);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Ok(registry) = self.inner.registry.lock() {
            // Writing into a String cannot fail.
            let _ = encode(&mut out, &registry);
        }
        out
    }
}
