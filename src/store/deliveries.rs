//! Deliveries: one row per `X-GitHub-Delivery`, stored together with its job in one transaction.

use sqlx::Row;

use super::jobs::{JobRow, insert_jobs};
use super::{Store, StoreError, SyncTicket};
use crate::jobs::{DeliveryOutcome, NewJob};
use crate::store::compress::{self, Compressed};
use crate::types::DeliveryId;

/// What ingress knows about a verified delivery.
#[derive(Debug, Clone)]
pub struct NewDelivery<'a> {
    pub id: &'a DeliveryId,
    pub event: &'a str,
    pub action: Option<&'a str>,
    pub installation_id: Option<i64>,
    pub repo_id: Option<i64>,
    /// The raw body (already known to be JSON), compressed by ingress in the request's task so
    /// that the single writer only writes bytes. The empty body for ignored events.
    pub payload: &'a Compressed,
    /// `Queued` when a job goes with it, `Ignored` otherwise.
    pub outcome: DeliveryOutcome,
    pub detail: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestOutcome {
    Stored,
    Duplicate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub id: String,
    pub event: String,
    pub action: Option<String>,
    /// Exactly the body GitHub sent (and signed), whichever form it is stored in.
    pub payload: String,
    pub outcome: DeliveryOutcome,
    pub detail: Option<String>,
}

impl Store {
    /// Stores the delivery and (if any) its job atomically. A delivery id seen before changes
    /// nothing and reports `Duplicate`.
    pub async fn ingest(
        &self,
        d: &NewDelivery<'_>,
        job: Option<&NewJob>,
        max_attempts: i64,
        now_ms: i64,
    ) -> Result<IngestOutcome, StoreError> {
        let outcomes = self
            .ingest_many(&[(d.clone(), job, max_attempts, now_ms)])
            .await?;
        // One outcome per item, always.
        outcomes
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Invalid("the delivery got no outcome".into()))
    }

    /// Group commit: stores several `(delivery, job, max_attempts, now_ms)` in one transaction,
    /// one outcome per item in order. An id stored before, or earlier in `items`, is
    /// `Duplicate`. Any error rolls the whole batch back.
    ///
    /// Rows go in multi-row `INSERT`s of 1, 2, 4, … 128 rows (a handful of statements per
    /// batch, and few distinct statements for the prepared-statement caches).
    pub async fn ingest_many(
        &self,
        items: &[(NewDelivery<'_>, Option<&NewJob>, i64, i64)],
    ) -> Result<Vec<IngestOutcome>, StoreError> {
        let (outcomes, ticket) = self.ingest_many_committed(items).await?;
        ticket.durable().await?;
        Ok(outcomes)
    }

    /// As [`Store::ingest_many`], but returns once the batch is committed, with what to wait
    /// on for it to be on disk: the connection and the group-commit writer go on to other work
    /// (the next batch, job steps) while the WAL is synced.
    pub async fn ingest_many_committed(
        &self,
        items: &[(NewDelivery<'_>, Option<&NewJob>, i64, i64)],
    ) -> Result<(Vec<IngestOutcome>, SyncTicket), StoreError> {
        let r = self.ingest_many_committed_once(items).await;
        if r.is_err() {
            self.note_write(&r);
        }
        r
    }

    async fn ingest_many_committed_once(
        &self,
        items: &[(NewDelivery<'_>, Option<&NewJob>, i64, i64)],
    ) -> Result<(Vec<IngestOutcome>, SyncTicket), StoreError> {
        let mut conn = self.pool().acquire().await?;
        if self.full_sync_at_commit() {
            self.set_full_sync(&mut conn, true).await?;
            let outcomes = match self.ingest_many_on(&mut conn, items).await {
                Ok(o) => o,
                Err(e) => {
                    // Never reused after a failed write: see `after_release` in `Store::connect`.
                    conn.close_on_drop();
                    return Err(e);
                }
            };
            self.after_durable_commit(&mut conn).await;
            self.note_write(&Ok(()));
            return Ok((outcomes, SyncTicket::ready()));
        }
        let outcomes = match self.ingest_many_on(&mut conn, items).await {
            Ok(o) => o,
            Err(e) => {
                // Never reused after a failed write: see `after_release` in `Store::connect`.
                conn.close_on_drop();
                return Err(e);
            }
        };
        drop(conn);
        let ticket = self.sync_ticket();
        self.committed();
        Ok((outcomes, ticket))
    }

    /// Writes a 64 KB delivery row and deletes it again in one committed (and, on SQLite,
    /// synced) transaction: whether a delivery could be stored now. No one else ever sees the
    /// row. Clears the store's write failure when it succeeds.
    pub async fn probe_write(&self) -> Result<(), StoreError> {
        let r = self.probe_write_once().await;
        self.note_write(&r);
        r
    }

    async fn probe_write_once(&self) -> Result<(), StoreError> {
        const PROBE: &str = "gangway-readiness-probe";
        let mut conn = self.pool().acquire().await?;
        let written = async {
            let mut tx = sqlx::Acquire::begin(&mut *conn).await?;
            sqlx::query(
                "INSERT INTO deliveries (payload, id, event, received_at, payload_encoding, payload_compressed, outcome) VALUES ('', $1, 'probe', 0, 'identity', $2, 'ignored')",
            )
            .bind(PROBE)
            .bind(vec![0x5au8; 64 * 1024])
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM deliveries WHERE id = $1")
                .bind(PROBE)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<(), StoreError>(())
        }
        .await;
        if written.is_err() {
            conn.close_on_drop();
        }
        written?;
        drop(conn);
        self.sync_ticket().durable().await
    }

    /// Back to NORMAL sync, and a checkpoint due. The deliveries are committed whatever happens
    /// here, so a failure is only logged: the connection then stays at FULL, which is slower,
    /// not less safe.
    async fn after_durable_commit(&self, conn: &mut sqlx::AnyConnection) {
        if let Err(e) = self.set_full_sync(conn, false).await {
            tracing::warn!(error = %e, "could not return the SQLite connection to NORMAL sync");
        }
        self.committed();
    }

    async fn ingest_many_on(
        &self,
        conn: &mut sqlx::AnyConnection,
        items: &[(NewDelivery<'_>, Option<&NewJob>, i64, i64)],
    ) -> Result<Vec<IngestOutcome>, StoreError> {
        // The first of each id is written; a repeat within the batch is a duplicate of it.
        let mut seen = std::collections::HashSet::new();
        let fresh: Vec<usize> = (0..items.len())
            .filter(|i| seen.insert(items[*i].0.id.as_str()))
            .collect();
        let mut tx = sqlx::Acquire::begin(conn).await?;
        let mut inserted: std::collections::HashSet<String> = std::collections::HashSet::new();
        for chunk in power_of_two_chunks(&fresh) {
            let sql = multi_row(
                "INSERT INTO deliveries (payload, id, event, action, installation_id, repo_id, received_at, payload_encoding, payload_compressed, outcome, detail) VALUES ",
                10,
                chunk.len(),
                " ON CONFLICT (id) DO NOTHING RETURNING id",
            )
            // payload (TEXT) holds only rows stored before 0010: empty; then 10 bound values.
            .replace("($", "('', $");
            let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
            for i in chunk {
                let (d, _, _, now_ms) = &items[*i];
                q = q
                    .bind(d.id.as_str())
                    .bind(d.event)
                    .bind(d.action)
                    .bind(d.installation_id)
                    .bind(d.repo_id)
                    .bind(*now_ms)
                    .bind(d.payload.encoding().tag())
                    .bind(d.payload.as_bytes())
                    .bind(d.outcome.as_str())
                    .bind(d.detail);
            }
            inserted.extend(q.fetch_all(&mut *tx).await?);
        }
        let jobs: Vec<JobRow<'_>> = fresh
            .iter()
            .filter(|i| inserted.contains(items[**i].0.id.as_str()))
            .filter_map(|i| {
                let (d, job, max_attempts, now_ms) = &items[*i];
                Some(JobRow {
                    job: (*job)?,
                    delivery_id: Some(d.id.as_str()),
                    max_attempts: *max_attempts,
                    now_ms: *now_ms,
                })
            })
            .collect();
        insert_jobs(&mut tx, &jobs).await?;
        tx.commit().await?;
        let mut written = std::collections::HashSet::new();
        Ok(items
            .iter()
            .map(|(d, ..)| {
                let id = d.id.as_str();
                if inserted.contains(id) && written.insert(id) {
                    IngestOutcome::Stored
                } else {
                    IngestOutcome::Duplicate
                }
            })
            .collect())
    }

    /// The delivery with its payload decompressed, byte for byte as GitHub sent it. A payload
    /// that does not decode is [`StoreError::Payload`], not a panic and not a transient error.
    pub async fn delivery(&self, id: &str) -> Result<Option<DeliveryRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, event, action, payload, payload_encoding, payload_compressed, outcome, detail FROM deliveries WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            let encoding: String = r.try_get("payload_encoding")?;
            let compressed: Option<Vec<u8>> = r.try_get("payload_compressed")?;
            let payload =
                compress::decode_text(&encoding, r.try_get("payload")?, compressed.as_deref())
                    .map_err(|source| StoreError::Payload {
                        delivery: id.to_owned(),
                        source,
                    })?;
            Ok(DeliveryRecord {
                id: r.try_get("id")?,
                event: r.try_get("event")?,
                action: r.try_get("action")?,
                payload,
                outcome: outcome_of(&r.try_get::<String, _>("outcome")?)?,
                detail: r.try_get("detail")?,
            })
        })
        .transpose()
    }

    /// Whether a delivery with this id is stored, without reading (or decompressing) its
    /// payload: a damaged payload still counts as stored, so it is not asked for again.
    pub async fn has_delivery(&self, id: &str) -> Result<bool, StoreError> {
        let row: Option<String> = sqlx::query_scalar("SELECT id FROM deliveries WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some())
    }

    /// Records how processing ended (`Processed`, `Ignored` or `Failed`) and why.
    pub async fn set_delivery_outcome(
        &self,
        id: &str,
        outcome: DeliveryOutcome,
        detail: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE deliveries SET outcome = $1, detail = $2, processed_at = $3 WHERE id = $4",
        )
        .bind(outcome.as_str())
        .bind(detail)
        .bind(now_ms)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Deliveries by outcome, for tests and operators.
    pub async fn delivery_counts(&self) -> Result<Vec<(String, DeliveryOutcome, i64)>, StoreError> {
        let rows = sqlx::query("SELECT event, outcome, COUNT(*) AS n FROM deliveries GROUP BY event, outcome ORDER BY event, outcome")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                let outcome = outcome_of(&r.try_get::<String, _>("outcome")?)?;
                Ok((r.try_get("event")?, outcome, r.try_get("n")?))
            })
            .collect()
    }
}

fn outcome_of(stored: &str) -> Result<DeliveryOutcome, StoreError> {
    DeliveryOutcome::parse(stored)
        .ok_or_else(|| StoreError::Invalid(format!("unknown delivery outcome {stored:?}")))
}

/// `head (…), (…) tail` with `rows` groups of `per_row` numbered placeholders.
pub(super) fn multi_row(head: &str, per_row: usize, rows: usize, tail: &str) -> String {
    let mut sql = String::with_capacity(head.len() + tail.len() + rows * per_row * 5);
    sql.push_str(head);
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..per_row {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", r * per_row + c + 1));
        }
        sql.push(')');
    }
    sql.push_str(tail);
    sql
}

/// `items` cut into runs of 128, 64, … 1 (largest first).
pub(super) fn power_of_two_chunks<T>(items: &[T]) -> Vec<&[T]> {
    let mut out = Vec::new();
    let mut rest = items;
    let mut size = 128;
    while !rest.is_empty() {
        while size > rest.len() {
            size /= 2;
        }
        let (head, tail) = rest.split_at(size);
        out.push(head);
        rest = tail;
    }
    out
}

#[cfg(test)]
#[path = "deliveries_tests.rs"]
mod tests;
