//! Group commit for ingress: the deliveries that arrive while a commit is in progress are
//! written together, in one transaction, by one writer (a few on PostgreSQL), and each request
//! is answered only after that transaction has committed.
//!
//! Owns: batching concurrent `Store::ingest` calls of one database. Never answers before the
//! commit (a 202 is durable), never decides what a delivery is (ingress did), never holds a
//! request back to wait for company: a lone request is written at once, and only requests that
//! arrive while a commit is running wait for the next one. Under load, one commit (one WAL sync
//! on SQLite, one WAL flush on PostgreSQL) and one write lock serve a whole batch instead of one
//! request each, and SQLite's writers stop queueing on `busy_timeout`.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

use crate::jobs::{DeliveryOutcome, NewJob};
use crate::queue::IngestPressure;
use crate::store::compress::Compressed;
use crate::store::{DbKind, IngestOutcome, NewDelivery, Store, StoreError, SyncTicket};
use crate::types::DeliveryId;

/// The most deliveries one transaction takes (≈ 7 MB of 28 KB `pull_request` payloads); the
/// rest wait for the next commit, which starts right after.
pub const MAX_BATCH: usize = 256;

/// Transactions in flight at once. SQLite has one write lock: one writer, and the batches grow
/// instead. PostgreSQL commits concurrent transactions in parallel (and flushes their WAL
/// together): a few writers keep it busy while each still takes what waits.
pub const WRITERS_SQLITE: usize = 1;
pub const WRITERS_POSTGRES: usize = 4;

/// One database's group-commit writer. Cheap to clone; clones share the queue. A process makes
/// one per database it serves webhooks for (the ingress owns it).
#[derive(Clone)]
pub struct GroupCommit {
    shared: Arc<Mutex<Waiting>>,
    store: Store,
    pressure: Option<Arc<IngestPressure>>,
}

#[derive(Default)]
struct Waiting {
    queue: Vec<Pending>,
    /// Flusher tasks running; each takes from the queue until it is empty.
    flushing: usize,
}

struct Pending {
    item: OwnedItem,
    reply: oneshot::Sender<Result<Committed, StoreError>>,
}

/// A delivery's commit: its outcome now, and when it is on disk ([`Committed::durable`]).
#[derive(Debug)]
pub struct Committed {
    pub outcome: IngestOutcome,
    ticket: SyncTicket,
}

impl Committed {
    /// Waits until the commit is on disk; only then may the delivery be acknowledged.
    pub async fn durable(self) -> Result<IngestOutcome, StoreError> {
        self.ticket.durable().await?;
        Ok(self.outcome)
    }
}

/// A delivery and its job, owned so that the writer may outlive the request's borrow.
struct OwnedItem {
    id: DeliveryId,
    event: String,
    action: Option<String>,
    installation_id: Option<i64>,
    repo_id: Option<i64>,
    payload: Compressed,
    outcome: DeliveryOutcome,
    detail: Option<String>,
    job: Option<NewJob>,
    max_attempts: i64,
    now_ms: i64,
}

impl OwnedItem {
    /// `(delivery, job, max_attempts, now_ms)`, as [`Store::ingest_many`] takes them.
    fn view(&self) -> (NewDelivery<'_>, Option<&NewJob>, i64, i64) {
        let delivery = NewDelivery {
            id: &self.id,
            event: &self.event,
            action: self.action.as_deref(),
            installation_id: self.installation_id,
            repo_id: self.repo_id,
            payload: &self.payload,
            outcome: self.outcome,
            detail: self.detail.as_deref(),
        };
        (delivery, self.job.as_ref(), self.max_attempts, self.now_ms)
    }
}

impl GroupCommit {
    pub fn new(store: Store) -> Self {
        GroupCommit {
            shared: Arc::default(),
            store,
            pressure: None,
        }
    }

    /// Reports each commit's size to `pressure`, so the workers make way during bursts.
    pub fn with_pressure(mut self, pressure: Arc<IngestPressure>) -> Self {
        self.pressure = Some(pressure);
        self
    }

    fn lock(&self) -> MutexGuard<'_, Waiting> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Same contract as [`Store::ingest`]: `Ok` only once the delivery (and its job) is
    /// committed and on disk, `Duplicate` for an id stored before or earlier in the same batch.
    pub async fn ingest(
        &self,
        d: &NewDelivery<'_>,
        job: Option<&NewJob>,
        max_attempts: i64,
        now_ms: i64,
    ) -> Result<IngestOutcome, StoreError> {
        self.commit(d, job, max_attempts, now_ms)
            .await?
            .durable()
            .await
    }

    /// Returns once the delivery is committed (its job can be claimed); the caller waits on
    /// [`Committed::durable`] before acknowledging it. The writer takes the next batch
    /// meanwhile, so one batch's sync overlaps the next one's writes.
    pub async fn commit(
        &self,
        d: &NewDelivery<'_>,
        job: Option<&NewJob>,
        max_attempts: i64,
        now_ms: i64,
    ) -> Result<Committed, StoreError> {
        let item = OwnedItem {
            id: d.id.clone(),
            event: d.event.to_owned(),
            action: d.action.map(str::to_owned),
            installation_id: d.installation_id,
            repo_id: d.repo_id,
            // Already compressed by the caller: a few KB to copy, and no CPU for the writer.
            payload: d.payload.clone(),
            outcome: d.outcome,
            detail: d.detail.map(str::to_owned),
            job: job.cloned(),
            max_attempts,
            now_ms,
        };
        let writers = match self.store.kind() {
            DbKind::Sqlite => WRITERS_SQLITE,
            DbKind::Postgres => WRITERS_POSTGRES,
        };
        let (reply, answer) = oneshot::channel();
        let start_flusher = {
            let mut w = self.lock();
            w.queue.push(Pending { item, reply });
            // Another writer only when every running one is busy with a batch.
            let start = w.flushing < writers.max(1);
            w.flushing += usize::from(start);
            start
        };
        if start_flusher {
            // A task of its own: a client that hangs up mid-commit cancels its request's
            // future, never the transaction that other requests are waiting on.
            tokio::spawn(flush(self.clone()));
        }
        answer.await.unwrap_or_else(|_| {
            Err(StoreError::Invalid(
                "the delivery writer stopped before committing".into(),
            ))
        })
    }
}

/// If the flusher ends abnormally (panic, runtime shutting down), counts it out and, if it was
/// the last, drops whatever still waits, so those requests answer 503 instead of hanging.
struct FlushGuard {
    group: GroupCommit,
    armed: bool,
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        if self.armed {
            let mut w = self.group.lock();
            w.flushing = w.flushing.saturating_sub(1);
            if w.flushing == 0 {
                w.queue.clear();
            }
        }
    }
}

async fn flush(group: GroupCommit) {
    let store = group.store.clone();
    let mut guard = FlushGuard {
        group: group.clone(),
        armed: true,
    };
    loop {
        let batch: Vec<Pending> = {
            let mut w = group.lock();
            if w.queue.is_empty() {
                // Under the lock: a request that comes after this starts the next flusher.
                w.flushing -= 1;
                guard.armed = false;
                return;
            }
            let n = w.queue.len().min(MAX_BATCH);
            w.queue.drain(..n).collect()
        };
        if let Some(pressure) = &group.pressure {
            pressure.committed(batch.len());
        }
        write(&store, batch).await;
    }
}

async fn write(store: &Store, batch: Vec<Pending>) {
    let items: Vec<_> = batch.iter().map(|p| p.item.view()).collect();
    match store.ingest_many_committed(&items).await {
        Ok((outcomes, ticket)) => {
            drop(items);
            for (p, outcome) in batch.into_iter().zip(outcomes) {
                let ticket = ticket.clone();
                let _ = p.reply.send(Ok(Committed { outcome, ticket }));
            }
        }
        // The database is unavailable: every request says so (503, GitHub may redeliver).
        Err(e) if e.is_transient() || batch.len() == 1 => {
            drop(items);
            let message = e.to_string();
            let mut batch = batch.into_iter();
            if let Some(first) = batch.next() {
                let _ = first.reply.send(Err(e));
            }
            for p in batch {
                let _ = p.reply.send(Err(StoreError::Invalid(message.clone())));
            }
        }
        // Something in one delivery was refused: one bad delivery must not sink the others,
        // so each is written on its own and gets its own answer.
        Err(_) => {
            drop(items);
            for p in batch {
                let (d, job, max_attempts, now_ms) = p.item.view();
                let r = store.ingest(&d, job, max_attempts, now_ms).await;
                let _ = p.reply.send(r.map(|outcome| Committed {
                    outcome,
                    ticket: SyncTicket::ready(),
                }));
            }
        }
    }
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
