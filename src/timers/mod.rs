//! Timers: the reaper, the reconciler and the redeliverer, each a sweep that runs once per
//! interval across all replicas (a lease row in the database) and only enqueues jobs, at
//! background priority: timer work and webhook work never race, and webhooks go first.
//!
//! - **Reaper** (`reap_interval`): every PR with a standing preview is evaluated again (the engine
//!   tears down previews of closed PRs, superseded ones past their grace period, idle ones past
//!   the TTL); previews of repositories Gangway can no longer reach are torn down by the driver
//!   alone; previews over a repository's capacity (as `engine::capacity` decides) are evicted
//!   through their PR's evaluation (what it reads is `engine::routing::reaper_evaluation`'s); a
//!   purge job deletes data past the retention period.
//! - **Reconciler** (at start, then `reconcile_interval`): installations, repositories and open
//!   PRs are compared with GitHub and what webhooks missed is healed.
//! - **Redeliverer** (optional, with the reconciler's interval): asks GitHub to resend failed
//!   deliveries.
//!
//! Never calls GitHub or a driver itself, never decides a rule (the engine does) and never
//! changes a row beyond its own lease and run record: it only enqueues jobs. Reads the clock it
//! is given, so tests move time.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::clock::SharedClock;
use crate::engine::{capacity, routing};
use crate::jobs::{
    JobKind, JobPayload, NewJob, OfflineTeardownPayload, PurgePayload, ReconcilePayload,
    RedeliverPayload,
};
use crate::queue::Queue;
use crate::store::{Store, StoreError};
use crate::types::{PrNumber, RepoId};

#[derive(Debug, Clone)]
pub struct TimerSettings {
    pub reap_interval: Duration,
    pub reconcile_interval: Duration,
    pub redeliver_failed: bool,
    pub retention: Duration,
    /// How often each process checks whether a sweep is due.
    pub tick: Duration,
}

impl Default for TimerSettings {
    fn default() -> Self {
        TimerSettings {
            reap_interval: Duration::from_secs(300),
            reconcile_interval: Duration::from_secs(600),
            redeliver_failed: false,
            retention: Duration::from_secs(30 * 86_400),
            tick: Duration::from_secs(5),
        }
    }
}

pub struct Timers {
    store: Store,
    queue: Queue,
    clock: SharedClock,
    owner: String,
    settings: TimerSettings,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

impl Timers {
    pub fn new(
        store: Store,
        queue: Queue,
        clock: SharedClock,
        owner: String,
        settings: TimerSettings,
    ) -> Arc<Timers> {
        Arc::new(Timers {
            store,
            queue,
            clock,
            owner,
            settings,
        })
    }

    /// Runs every sweep that is due and that this process wins; returns their names.
    pub async fn tick(&self) -> Result<Vec<&'static str>, StoreError> {
        let now = self.clock.now_ms();
        let mut ran = Vec::new();
        let mut timers: Vec<(&'static str, Duration)> = vec![
            ("reconciler", self.settings.reconcile_interval),
            ("reaper", self.settings.reap_interval),
        ];
        if self.settings.redeliver_failed {
            timers.push(("redeliverer", self.settings.reconcile_interval));
        }
        for (name, interval) in timers {
            let previous = self.store.timer_last_run(name).await?;
            if !self
                .store
                .acquire_timer(name, &self.owner, ms(interval), now)
                .await?
            {
                continue;
            }
            let note = match name {
                "reaper" => self.reap(now).await?,
                "reconciler" => self.enqueue_once(&ReconcilePayload).await?,
                _ => {
                    self.enqueue_once(&RedeliverPayload { since_ms: previous })
                        .await?
                }
            };
            info!(timer = name, %note, "sweep");
            self.store
                .record_timer_run(name, &self.owner, now, &note)
                .await?;
            ran.push(name);
        }
        Ok(ran)
    }

    async fn enqueue_once<P: JobPayload>(&self, payload: &P) -> Result<String, StoreError> {
        let job = NewJob::of(payload)?;
        if self.store.job_waiting(job.kind, &job.key).await? {
            return Ok(format!("{} already queued", job.kind));
        }
        self.queue.enqueue(&job).await?;
        Ok(format!("{} queued", job.kind))
    }

    async fn reap(&self, now: i64) -> Result<String, StoreError> {
        let standing = self.store.standing_previews().await?;
        let removed = self.store.unreachable_repositories().await?;
        let gone = self.store.deleted_installations().await?;
        let lost = capacity::Lost {
            repositories: &removed,
            installations: &gone,
        };
        let (mut offline, mut evaluated, mut evicted) = (0, 0, 0);
        let mut reachable: Vec<(&crate::model::Preview, bool)> = Vec::new();
        for (p, pr_open, installation, full_name) in &standing {
            if lost.cuts_off(p.repo_id.as_db(), *installation) {
                let job = NewJob::of(&OfflineTeardownPayload {
                    preview_id: p.id,
                    repo_id: p.repo_id,
                    pr_number: p.pr_number,
                    full_name: full_name.clone(),
                })?;
                if !self.store.job_waiting(job.kind, &job.key).await? {
                    self.queue.enqueue(&job).await?;
                    offline += 1;
                }
                continue;
            }
            reachable.push((p, *pr_open));
        }
        let prs: BTreeSet<(RepoId, PrNumber)> = reachable
            .iter()
            .map(|(p, _)| (p.repo_id, p.pr_number))
            .collect();
        // A preview pinned with `/keep` is neither counted against the capacity nor evicted.
        let pinned: BTreeSet<(RepoId, PrNumber)> =
            self.store.kept_pulls(now).await?.into_iter().collect();
        let mut capacities = Vec::new();
        for (repo, previews) in capacity::places(
            reachable
                .iter()
                .copied()
                .filter(|(p, _)| !pinned.contains(&(p.repo_id, p.pr_number))),
        ) {
            capacities.push((repo, previews, self.max_previews(repo).await?));
        }
        let mut evictions = capacity::evictions_by_pr(
            capacities
                .iter()
                .map(|(repo, previews, max)| (*repo, previews.as_slice(), *max)),
        );
        for (repo_id, number) in &prs {
            let Some((pr, _)) = self.store.pull(*repo_id, *number).await? else {
                continue;
            };
            let evict = evictions.remove(&(*repo_id, *number));
            let evaluation = routing::reaper_evaluation(&pr.repo, *number, evict);
            let job = NewJob::of(&evaluation)?;
            if !routing::reaper_defers_to_waiting(&evaluation) {
                evicted += 1;
            } else if self.store.job_waiting(JobKind::Evaluate, &job.key).await? {
                continue;
            }
            self.queue.enqueue(&job).await?;
            evaluated += 1;
        }
        // Rows are deleted by the job, never by the sweep.
        let cutoff = now - ms(self.settings.retention);
        let purge = self
            .enqueue_once(&PurgePayload { cutoff_ms: cutoff })
            .await?;
        Ok(format!(
            "{evaluated} evaluations, {evicted} evictions, {offline} offline teardowns, {purge}"
        ))
    }

    /// The repository's capacity from its cached policy (the reaper never calls GitHub).
    async fn max_previews(&self, repo: RepoId) -> Result<u32, StoreError> {
        let cached = self.store.cached_policy(repo).await?;
        Ok(capacity::max_previews(
            cached.and_then(|c| c.body).as_deref(),
        ))
    }

    /// What a process does once before it serves: whatever happened while no process was
    /// running is healed first, whatever the interval says (several replicas starting at once
    /// queue it once), then the sweeps that are due run. Awaited before the listener answers,
    /// so a process that says it started has queued its start-up work (a test that waits for
    /// the queue to drain right after start-up sees it, not an empty queue it raced).
    pub async fn start_up(&self) {
        if let Err(e) = self.enqueue_once(&ReconcilePayload).await {
            warn!(error = %e, "could not queue the start-up reconciliation");
        }
        if let Err(e) = self.tick().await {
            warn!(error = %e, "timer sweep failed; will try again");
        }
    }

    /// Checks for due sweeps every `tick` until `stop` turns true ([`Timers::start_up`] ran
    /// the first).
    pub fn spawn(self: Arc<Self>, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(self.settings.tick) => {}
                    _ = stop.changed() => return,
                }
                if *stop.borrow() {
                    return;
                }
                if let Err(e) = self.tick().await {
                    warn!(error = %e, "timer sweep failed; will try again");
                }
            }
        })
    }
}
