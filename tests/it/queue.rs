//! The durable job queue against a real database (SQLite, or PostgreSQL in the second CI pass).

use crate::support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gangway::clock::{Clock, ManualClock, SharedClock, SystemClock};
use gangway::config::QueueSettings;
use gangway::jobs::{Job, JobKey, JobKind, JobState, NewJob};
use gangway::metrics::Metrics;
use gangway::queue::{FailOutcome, Handler, HandlerFuture, JobError, Queue, WorkerPool};
use support::*;
use tokio::sync::Notify;

/// The queue never reads a payload: any kind does.
fn job(key: &str) -> NewJob {
    NewJob {
        kind: JobKind::Evaluate,
        key: JobKey::from_stored(key),
        payload: "{}".into(),
        run_at_ms: None,
        priority: 0,
    }
}

fn settings(lease_ms: u64, max_attempts: u32) -> QueueSettings {
    QueueSettings {
        workers: 4,
        max_attempts,
        lease: Duration::from_millis(lease_ms),
        backoff_base: Duration::from_secs(2),
        backoff_max: Duration::from_secs(600),
        poll_interval: Duration::from_millis(20),
    }
}

fn queue(
    store: &gangway::store::Store,
    clock: SharedClock,
    owner: &str,
    s: QueueSettings,
) -> Queue {
    Queue::new(store.clone(), clock, owner, s)
}

const T0: i64 = 1_800_000_000_000;

#[tokio::test]
async fn one_running_job_per_key() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = ManualClock::new(T0);
    let q = queue(&store, Arc::new(clock.clone()), "w1", settings(60_000, 5));
    q.enqueue(&job("repo#1")).await.unwrap();
    q.enqueue(&job("repo#1")).await.unwrap();
    q.enqueue(&job("repo#2")).await.unwrap();

    let a = q.claim().await.unwrap().unwrap();
    assert_eq!(a.key.as_str(), "repo#1");
    let b = q.claim().await.unwrap().unwrap();
    assert_eq!(
        b.key.as_str(),
        "repo#2",
        "the second repo#1 job must wait for the first"
    );
    assert_eq!(q.claim().await.unwrap(), None);

    q.complete(&a).await.unwrap();
    let c = q.claim().await.unwrap().unwrap();
    assert_eq!((c.key.as_str(), c.id > a.id), ("repo#1", true));
}

/// A stored kind this version does not know (written by a newer version, or damaged) is dead at
/// once with the reason, listed as stored, and the queue goes on with the next job.
#[tokio::test]
async fn a_job_of_an_unknown_kind_is_dead_with_the_reason() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let q = queue(
        &store,
        Arc::new(ManualClock::new(T0)),
        "w1",
        settings(60_000, 5),
    );
    q.enqueue(&job("repo#1")).await.unwrap();
    sqlx::any::install_default_drivers();
    let raw = sqlx::AnyPool::connect(&db.url).await.unwrap();
    sqlx::query("UPDATE jobs SET kind = 'deploy_to_mars'")
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;
    q.enqueue(&job("repo#2")).await.unwrap();

    let next = q.claim().await.unwrap().unwrap();
    assert_eq!(
        (next.kind, next.key.as_str()),
        (JobKind::Evaluate, "repo#2")
    );
    let dead = q.jobs(Some(JobState::Dead)).await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].kind, "deploy_to_mars");
    assert!(dead[0].kind().is_err());
    assert_eq!(
        dead[0].last_error.as_deref(),
        Some("attempt 1/5: unknown job kind \"deploy_to_mars\"")
    );
}

#[tokio::test]
async fn a_job_whose_worker_died_is_completed_by_another_after_the_lease() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = ManualClock::new(T0);
    let dead = queue(
        &store,
        Arc::new(clock.clone()),
        "dead-worker",
        settings(30_000, 5),
    );
    let alive = queue(
        &store,
        Arc::new(clock.clone()),
        "alive-worker",
        settings(30_000, 5),
    );
    dead.enqueue(&job("repo#1")).await.unwrap();
    let taken = dead.claim().await.unwrap().unwrap();
    // The first worker dies here: no heartbeat, no completion.

    clock.advance_ms(29_000);
    assert_eq!(
        alive.recover_expired().await.unwrap(),
        0,
        "lease still valid"
    );
    assert_eq!(alive.claim().await.unwrap(), None);

    clock.advance_ms(2_000);
    assert_eq!(alive.recover_expired().await.unwrap(), 1);
    let again = alive.claim().await.unwrap().unwrap();
    assert_eq!((again.id, again.attempts), (taken.id, 2));
    alive.complete(&again).await.unwrap();
    // The dead worker's late completion changes nothing: the job is not its any more.
    dead.complete(&taken).await.unwrap();
    let rec = &alive.jobs(None).await.unwrap()[0];
    assert_eq!(rec.state, JobState::Done);
    assert!(rec.last_error.is_none());
}

#[tokio::test]
async fn worker_pool_finishes_a_job_left_by_a_crashed_worker() {
    let db = TestDb::new().await;
    let store = db.store().await;
    // A "crashed" process: claimed with a short lease and vanished.
    let crashed = queue(&store, Arc::new(SystemClock), "crashed", settings(300, 5));
    crashed.enqueue(&job("repo#9")).await.unwrap();
    crashed.claim().await.unwrap().unwrap();

    let done = Arc::new(AtomicUsize::new(0));
    let survivor = queue(
        &store,
        Arc::new(SystemClock),
        "survivor",
        settings(5_000, 5),
    );
    let pool = WorkerPool::start(
        survivor.clone(),
        Arc::new(Counting(done.clone())),
        Arc::new(Notify::new()),
        Metrics::new(),
    );
    wait_for(
        "job completed by the survivor",
        Duration::from_secs(10),
        || {
            let survivor = survivor.clone();
            async move {
                survivor
                    .jobs(Some(JobState::Done))
                    .await
                    .unwrap()
                    .first()
                    .cloned()
            }
        },
    )
    .await;
    assert_eq!(done.load(Ordering::SeqCst), 1);
    pool.shutdown(Duration::from_secs(1)).await;
}

struct Counting(Arc<AtomicUsize>);
impl Handler for Counting {
    fn handle<'a>(&'a self, _job: &'a Job) -> HandlerFuture<'a> {
        Box::pin(async move {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
    }
}

#[tokio::test]
async fn transient_failures_back_off_exponentially_then_die_with_the_last_error() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = ManualClock::new(T0);
    let q = queue(&store, Arc::new(clock.clone()), "w", settings(60_000, 4));
    q.enqueue(&job("r")).await.unwrap();

    let mut delays = Vec::new();
    for attempt in 1..=4 {
        let j = q
            .claim()
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("attempt {attempt} claimable"));
        assert_eq!(j.attempts, attempt);
        let now = clock.now_ms();
        match q
            .fail(&j, &JobError::transient(format!("boom {attempt}")))
            .await
            .unwrap()
        {
            FailOutcome::RetryAt(at) => {
                delays.push(at - now);
                assert_eq!(q.claim().await.unwrap(), None, "not before its time");
                clock.advance_ms(at - now);
            }
            FailOutcome::Dead => assert_eq!(attempt, 4, "dead only after the last attempt"),
        }
    }
    // Base 2 s doubling, each with up to +100 % jitter.
    for (i, d) in delays.iter().enumerate() {
        let floor = 2_000 * (1 << i);
        assert!(
            (floor..2 * floor).contains(d),
            "delay {i} = {d} ms, want [{floor}, {})",
            2 * floor
        );
    }
    let dead = q.jobs(Some(JobState::Dead)).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].last_error.as_deref(), Some("attempt 4/4: boom 4"));
    assert_eq!(q.claim().await.unwrap(), None);

    // An operator retries it: a fresh set of attempts.
    assert!(q.retry_dead(dead[0].id).await.unwrap());
    assert_eq!(q.claim().await.unwrap().unwrap().attempts, 1);
}

#[tokio::test]
async fn retry_after_is_honoured_and_permanent_errors_stop_at_once() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = ManualClock::new(T0);
    let q = queue(&store, Arc::new(clock.clone()), "w", settings(60_000, 8));
    q.enqueue(&job("a")).await.unwrap();
    let j = q.claim().await.unwrap().unwrap();
    let err = JobError::Transient {
        message: "HTTP 429".into(),
        retry_after: Some(Duration::from_secs(42)),
    };
    assert_eq!(
        q.fail(&j, &err).await.unwrap(),
        FailOutcome::RetryAt(T0 + 42_000)
    );

    q.enqueue(&job("b")).await.unwrap();
    let j = q.claim().await.unwrap().unwrap();
    assert_eq!(j.key.as_str(), "b");
    assert_eq!(
        q.fail(&j, &JobError::Permanent("HTTP 422: No ref found".into()))
            .await
            .unwrap(),
        FailOutcome::Dead
    );
    let dead = q.jobs(Some(JobState::Dead)).await.unwrap();
    assert_eq!(
        dead[0].last_error.as_deref(),
        Some("attempt 1/8: HTTP 422: No ref found")
    );
}

/// Records, per key, how many handlers run at once.
struct Overlap {
    running: Mutex<HashMap<JobKey, usize>>,
    max_seen: AtomicUsize,
    runs: Mutex<HashMap<i64, usize>>,
}

impl Handler for Overlap {
    fn handle<'a>(&'a self, job: &'a Job) -> HandlerFuture<'a> {
        Box::pin(async move {
            let now = {
                let mut r = self.running.lock().unwrap();
                let n = r.entry(job.key.clone()).or_default();
                *n += 1;
                *n
            };
            self.max_seen.fetch_max(now, Ordering::SeqCst);
            *self.runs.lock().unwrap().entry(job.id).or_default() += 1;
            tokio::time::sleep(Duration::from_millis(2)).await;
            *self.running.lock().unwrap().get_mut(&job.key).unwrap() -= 1;
            Ok(())
        })
    }
}

#[tokio::test]
async fn two_processes_share_the_queue_each_job_once_never_two_per_key() {
    let db = TestDb::new().await;
    let store_a = db.store().await;
    let store_b = db.store().await; // a second pool, as a second replica would have
    let handler = Arc::new(Overlap {
        running: Mutex::default(),
        max_seen: AtomicUsize::new(0),
        runs: Mutex::default(),
    });
    let qa = queue(
        &store_a,
        Arc::new(SystemClock),
        "replica-a",
        settings(10_000, 5),
    );
    let qb = queue(
        &store_b,
        Arc::new(SystemClock),
        "replica-b",
        settings(10_000, 5),
    );
    for i in 0..300 {
        qa.enqueue(&job(&format!("repo#{}", i % 10))).await.unwrap();
    }
    let pa = WorkerPool::start(
        qa.clone(),
        handler.clone(),
        Arc::new(Notify::new()),
        Metrics::new(),
    );
    let pb = WorkerPool::start(
        qb.clone(),
        handler.clone(),
        Arc::new(Notify::new()),
        Metrics::new(),
    );
    wait_for("all 300 done", Duration::from_secs(60), || {
        let qa = qa.clone();
        async move { (qa.jobs(Some(JobState::Done)).await.unwrap().len() == 300).then_some(()) }
    })
    .await;
    pa.shutdown(Duration::from_secs(1)).await;
    pb.shutdown(Duration::from_secs(1)).await;
    assert_eq!(
        handler.max_seen.load(Ordering::SeqCst),
        1,
        "two jobs of one key ran at once"
    );
    let runs = handler.runs.lock().unwrap();
    assert_eq!(runs.len(), 300);
    assert!(runs.values().all(|n| *n == 1), "a job ran twice");
}

/// Never finishes until told.
struct Stuck(Arc<Notify>);
impl Handler for Stuck {
    fn handle<'a>(&'a self, _job: &'a Job) -> HandlerFuture<'a> {
        Box::pin(async move {
            self.0.notified().await;
            Ok(())
        })
    }
}

#[tokio::test]
async fn shutdown_waits_for_the_grace_period_then_releases_the_lease() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let q = queue(&store, Arc::new(SystemClock), "w", settings(60_000, 5));
    q.enqueue(&job("slow")).await.unwrap();
    let pool = WorkerPool::start(
        q.clone(),
        Arc::new(Stuck(Arc::new(Notify::new()))),
        Arc::new(Notify::new()),
        Metrics::new(),
    );
    wait_for("job running", Duration::from_secs(10), || {
        let q = q.clone();
        async move {
            q.jobs(Some(JobState::Running))
                .await
                .unwrap()
                .first()
                .cloned()
        }
    })
    .await;
    let started = std::time::Instant::now();
    pool.shutdown(Duration::from_millis(300)).await;
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "did not wait for the grace period"
    );
    let rec = &q.jobs(None).await.unwrap()[0];
    assert_eq!(
        (rec.state, rec.attempts),
        (JobState::Queued, 0),
        "released, attempt not counted"
    );
    // Another process can take it at once, without waiting for the lease.
    let other = queue(&store, Arc::new(SystemClock), "other", settings(60_000, 5));
    assert!(other.claim().await.unwrap().is_some());
}

#[tokio::test]
async fn a_job_that_finishes_within_the_grace_period_completes() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let q = queue(&store, Arc::new(SystemClock), "w", settings(60_000, 5));
    q.enqueue(&job("slow")).await.unwrap();
    let release = Arc::new(Notify::new());
    let pool = WorkerPool::start(
        q.clone(),
        Arc::new(Stuck(release.clone())),
        Arc::new(Notify::new()),
        Metrics::new(),
    );
    wait_for("job running", Duration::from_secs(10), || {
        let q = q.clone();
        async move {
            q.jobs(Some(JobState::Running))
                .await
                .unwrap()
                .first()
                .cloned()
        }
    })
    .await;
    let finisher = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        release.notify_one();
    });
    pool.shutdown(Duration::from_secs(10)).await;
    finisher.await.unwrap();
    assert_eq!(q.jobs(None).await.unwrap()[0].state, JobState::Done);
}

/// Takes longer than the lease: the heartbeat must keep it.
struct Slow;
impl Handler for Slow {
    fn handle<'a>(&'a self, _job: &'a Job) -> HandlerFuture<'a> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(900)).await;
            Ok(())
        })
    }
}

#[tokio::test]
async fn heartbeats_keep_a_long_job_from_being_taken_over() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let q = queue(&store, Arc::new(SystemClock), "w", settings(300, 5));
    q.enqueue(&job("long")).await.unwrap();
    let pool = WorkerPool::start(
        q.clone(),
        Arc::new(Slow),
        Arc::new(Notify::new()),
        Metrics::new(),
    );
    wait_for("job running", Duration::from_secs(10), || {
        let q = q.clone();
        async move {
            q.jobs(Some(JobState::Running))
                .await
                .unwrap()
                .first()
                .cloned()
        }
    })
    .await;
    let thief = queue(&store, Arc::new(SystemClock), "thief", settings(300, 5));
    let mut stolen = 0;
    for _ in 0..40 {
        thief.recover_expired().await.unwrap();
        if let Some(j) = thief.claim().await.unwrap() {
            stolen += 1;
            thief.complete(&j).await.unwrap();
        }
        if !q.jobs(Some(JobState::Done)).await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    pool.shutdown(Duration::from_secs(2)).await;
    assert_eq!(stolen, 0, "the lease lapsed while the job was running");
    assert_eq!(q.jobs(Some(JobState::Done)).await.unwrap().len(), 1);
}

struct Panics;
impl Handler for Panics {
    fn handle<'a>(&'a self, _job: &'a Job) -> HandlerFuture<'a> {
        Box::pin(async move { panic!("handler bug") })
    }
}

#[tokio::test]
async fn a_panicking_handler_is_retried_not_fatal() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let mut s = settings(60_000, 2);
    s.backoff_base = Duration::from_millis(10);
    let q = queue(&store, Arc::new(SystemClock), "w", s);
    q.enqueue(&job("p")).await.unwrap();
    let pool = WorkerPool::start(
        q.clone(),
        Arc::new(Panics),
        Arc::new(Notify::new()),
        Metrics::new(),
    );
    let dead = wait_for("dead after 2 attempts", Duration::from_secs(10), || {
        let q = q.clone();
        async move { q.jobs(Some(JobState::Dead)).await.unwrap().first().cloned() }
    })
    .await;
    pool.shutdown(Duration::from_secs(1)).await;
    assert_eq!(dead.attempts, 2);
    assert!(dead.last_error.unwrap().contains("panicked"));
}

/// During a burst of webhooks the workers make way for ingress, but a burst that never ends
/// slows them down without stopping them: every job still runs.
#[tokio::test]
async fn workers_make_way_for_a_burst_but_never_stall() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let q = queue(&store, Arc::new(SystemClock), "w", settings(5_000, 5));
    let done = Arc::new(AtomicUsize::new(0));
    // Ingress reporting batched commits every 10 ms, for as long as the test runs.
    q.pressure().committed(8);
    let pressure = q.pressure().clone();
    let burst = tokio::spawn(async move {
        loop {
            pressure.committed(8);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    assert!(q.pressure().remaining().is_some(), "the burst is on");
    for n in 0..3 {
        q.enqueue(&job(&format!("repo#{n}"))).await.unwrap();
    }
    let started = std::time::Instant::now();
    let pool = WorkerPool::start(
        q.clone(),
        Arc::new(Counting(done.clone())),
        Arc::new(Notify::new()),
        Metrics::new(),
    );
    wait_for(
        "every job done despite the burst",
        Duration::from_secs(15),
        || {
            let q = q.clone();
            async move { (q.jobs(Some(JobState::Done)).await.unwrap().len() == 3).then_some(()) }
        },
    )
    .await;
    // They ran only once a worker's patience ran out (a second), not at once.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "ran after {:?}, during the burst",
        started.elapsed()
    );
    assert_eq!(done.load(Ordering::SeqCst), 3);
    burst.abort();
    pool.shutdown(Duration::from_secs(1)).await;
}
