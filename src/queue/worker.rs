//! The worker pool: claims jobs, runs the handler, keeps leases alive, shuts down gracefully.

use std::collections::HashSet;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tracing::{Instrument, debug, error, info, info_span, warn};

use super::{FailOutcome, JobError, Queue};
use crate::jobs::Job;
use crate::metrics::Metrics;

/// The longest a worker makes way for a burst of webhooks before it takes a job anyway (see
/// `pressure`).
const MAX_YIELD: Duration = Duration::from_secs(1);

pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send + 'a>>;

/// Runs one job. Must be idempotent: a job may run again after a crash or a lost lease.
pub trait Handler: Send + Sync + 'static {
    fn handle<'a>(&'a self, job: &'a Job) -> HandlerFuture<'a>;
}

/// Running workers; dropping it does not stop them, [`WorkerPool::shutdown`] does.
pub struct WorkerPool {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
    in_flight: Arc<Mutex<HashSet<i64>>>,
    queue: Queue,
}

struct Worker {
    queue: Queue,
    handler: Arc<dyn Handler>,
    wake: Arc<Notify>,
    metrics: Metrics,
    in_flight: Arc<Mutex<HashSet<i64>>>,
}

impl WorkerPool {
    /// Starts `queue.settings().workers` workers. `wake` is notified when a job is enqueued here.
    pub fn start(
        queue: Queue,
        handler: Arc<dyn Handler>,
        wake: Arc<Notify>,
        metrics: Metrics,
    ) -> WorkerPool {
        let (stop, stop_rx) = watch::channel(false);
        let in_flight = Arc::new(Mutex::new(HashSet::new()));
        let mut tasks = JoinSet::new();
        for n in 0..queue.settings().workers {
            let worker = Arc::new(Worker {
                queue: queue.clone(),
                handler: handler.clone(),
                wake: wake.clone(),
                metrics: metrics.clone(),
                in_flight: in_flight.clone(),
            });
            tasks.spawn(
                worker
                    .run(stop_rx.clone())
                    .instrument(info_span!("worker", n)),
            );
        }
        WorkerPool {
            stop,
            tasks,
            in_flight,
            queue,
        }
    }

    /// Stops every worker at once, mid-job (a crash): their leases stay until they lapse.
    pub fn abort(mut self) {
        self.tasks.abort_all();
    }

    /// Stops claiming, lets running jobs finish for up to `grace`, then abandons the rest and gives
    /// their leases back so another process (or the next start) runs them at once.
    pub async fn shutdown(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        let finished = tokio::time::timeout(grace, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if finished.is_err() {
            self.tasks.abort_all();
            while self.tasks.join_next().await.is_some() {}
            let ids: Vec<i64> = self
                .in_flight
                .lock()
                .map(|s| s.iter().copied().collect())
                .unwrap_or_default();
            for id in ids {
                match self.queue.release(id).await {
                    Ok(()) => warn!(
                        job_id = id,
                        "job did not finish within the shutdown grace period; lease released"
                    ),
                    Err(e) => {
                        error!(job_id = id, error = %e, "could not release lease; it will expire on its own")
                    }
                }
            }
        }
        info!("workers stopped");
    }
}

impl Worker {
    async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let poll = self.queue.settings().poll_interval;
        // When this worker began making way for a burst; it takes a job anyway after
        // `MAX_YIELD`, so a sustained stream of webhooks slows processing but never stalls it.
        let mut yielding_since: Option<Instant> = None;
        loop {
            if *stop.borrow() {
                return;
            }
            if self.queue.pressure().remaining().is_some() {
                let since = *yielding_since.get_or_insert_with(Instant::now);
                if let Some(left) = MAX_YIELD.checked_sub(since.elapsed()) {
                    tokio::select! {
                        _ = self.queue.pressure().calm() => {}
                        _ = tokio::time::sleep(left) => {}
                        _ = stop.changed() => {}
                    }
                    continue;
                }
            }
            yielding_since = None;
            match self.queue.claim().await {
                Ok(Some(job)) => {
                    self.execute(job).await;
                    continue;
                }
                Ok(None) => {}
                Err(e) => warn!(error = %e, "claiming a job failed; will try again"),
            }
            if let Err(e) = self.queue.recover_expired().await {
                warn!(error = %e, "recovering expired leases failed");
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(poll) => {}
                _ = stop.changed() => {}
            }
        }
    }

    async fn execute(&self, job: Job) {
        let span = info_span!(
            "job",
            job_id = job.id,
            kind = %job.kind,
            key = %job.key,
            attempt = job.attempts,
            delivery = job.delivery_id.as_deref().unwrap_or(""),
        );
        async {
            if let Ok(mut s) = self.in_flight.lock() {
                s.insert(job.id);
            }
            let started = Instant::now();
            let result = {
                let heartbeat = self.heartbeat(&job);
                let work = AssertUnwindSafe(self.handler.handle(&job)).catch_unwind();
                tokio::pin!(work);
                tokio::pin!(heartbeat);
                tokio::select! {
                    r = &mut work => r.unwrap_or_else(|_| Err(JobError::transient("the job's handler panicked"))),
                    lost = &mut heartbeat => lost,
                }
            };
            let elapsed = started.elapsed();
            let outcome = match &result {
                Ok(()) => match self.queue.complete(&job).await {
                    Ok(()) => "done",
                    Err(e) => {
                        error!(error = %e, "job succeeded but could not be marked done; it will run again");
                        "error"
                    }
                },
                Err(err) => match self.queue.fail(&job, err).await {
                    Ok(FailOutcome::RetryAt(at)) => {
                        warn!(error = %err, retry_at_ms = at, "job failed; will retry");
                        "retry"
                    }
                    Ok(FailOutcome::Dead) => {
                        error!(error = %err, "job failed for good (dead)");
                        "dead"
                    }
                    Err(e) => {
                        error!(error = %e, "could not record job failure; the lease will expire");
                        "error"
                    }
                },
            };
            debug!(outcome, ms = elapsed.as_millis() as u64, "job finished");
            self.metrics.job_finished(job.kind.as_str(), outcome, elapsed);
            if let Ok(mut s) = self.in_flight.lock() {
                s.remove(&job.id);
            }
        }
        .instrument(span)
        .await
    }

    /// Renews the lease every third of its length; resolves only if the lease was lost, so the
    /// job is abandoned rather than run by two workers.
    async fn heartbeat(&self, job: &Job) -> Result<(), JobError> {
        let every = self.queue.settings().lease / 3;
        loop {
            tokio::time::sleep(every).await;
            match self.queue.heartbeat(job).await {
                Ok(true) => {}
                Ok(false) => {
                    return Err(JobError::transient(
                        "lost the job's lease (another worker took it over)",
                    ));
                }
                Err(e) => warn!(error = %e, "lease renewal failed; will try again"),
            }
        }
    }
}
