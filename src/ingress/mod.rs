//! Ingress: `POST /webhooks`. Verify, check, store with its job in one transaction, answer.
//!
//! Owns: the order of checks (signature on the raw bytes first, then headers, content type, JSON
//! syntax) and what each refusal answers. Nothing slow happens here: no GitHub calls, no decoding
//! beyond one pass that proves the body is JSON and reads the ids the job key needs.

pub mod batch;
pub mod events;
pub mod signature;

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde_json::json;
use tokio::sync::Notify;
use tracing::{Instrument, info, info_span, warn};

use crate::clock::SharedClock;
use crate::jobs::{DeliveryOutcome, DeliveryPayload, JobKey, NewJob};
use crate::metrics::Metrics;
use crate::store::compress::Compressed;
use crate::store::{IngestOutcome, NewDelivery, Store};
use crate::types::{DeliveryId, PrNumber, RepoId};
use events::{Envelope, HANDLED_EVENTS};

/// GitHub caps payloads at 25 MB; anything larger is refused with 413 before it is read whole.
pub use crate::model::MAX_DELIVERY_BYTES as MAX_BODY_BYTES;

/// What the webhook endpoint needs.
#[derive(Clone)]
pub struct Ingress {
    pub store: Store,
    pub secrets: Arc<Vec<SecretString>>,
    pub metrics: Metrics,
    pub clock: SharedClock,
    /// Wakes this process's workers when a job is stored.
    pub wake: Arc<Notify>,
    pub max_attempts: i64,
    /// Writes deliveries to `store`, many per commit under load.
    pub group: batch::GroupCommit,
    /// This App's id: deliveries that only echo its own API calls get no job.
    pub app_id: u64,
}

fn reply(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    reply(status, json!({ "error": message.into() }))
}

/// How long a sender is asked to wait after a 503 (nothing was stored): long enough for an
/// operator's fix or a lock to clear, short enough that a redelivery soon finds it.
pub const RETRY_AFTER_SECS: u64 = 30;

/// 503 with `Retry-After`: nothing was stored, and saying "accepted" would be a lie.
fn unavailable(message: impl Into<String>) -> Response {
    let mut r = refuse(StatusCode::SERVICE_UNAVAILABLE, message);
    r.headers_mut().insert(
        header::RETRY_AFTER,
        header::HeaderValue::from(RETRY_AFTER_SECS),
    );
    r
}

/// A label value with bounded cardinality: hostile event names must not grow the metrics.
fn event_label(event: &str) -> &str {
    if event == "ping" || HANDLED_EVENTS.contains(&event) {
        event
    } else {
        "other"
    }
}

fn valid_event_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// The serialization key of a delivery's job: events about one PR never run concurrently.
pub fn job_key(event: &str, env: &Envelope, delivery: &DeliveryId) -> JobKey {
    let repo = env.repository.as_ref().map(|r| r.id);
    let pr = match event {
        "pull_request" => env.number,
        "issue_comment" => env.issue.as_ref().map(|i| i.number),
        _ => None,
    };
    match (repo, pr, &env.installation) {
        (Some(repo), Some(pr), _) => JobKey::pull(RepoId(repo), PrNumber(pr)),
        (Some(repo), None, _) => JobKey::repository(RepoId(repo)),
        (None, _, Some(inst)) => JobKey::installation(inst.id),
        _ => JobKey::delivery(delivery),
    }
}

/// A request body that did not arrive within the body read timeout (`GANGWAY_BODY_TIMEOUT_SECS`).
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within the body read timeout")]
pub struct BodyTimeout;

/// Whether `e` or one of its causes is a `T`.
fn caused_by<T: std::error::Error + 'static>(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if c.is::<T>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// Reads the whole body, at most [`MAX_BODY_BYTES`]: crossing it stops the read at once (413);
/// a body still arriving at the body read timeout is 408; either way the connection is closed.
async fn read_body(body: axum::body::Body) -> Result<Bytes, Response> {
    match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => Ok(b),
        Err(e) => {
            let (status, message) = if caused_by::<http_body_util::LengthLimitError>(&e) {
                (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "body larger than {MAX_BODY_BYTES} bytes (GitHub's cap on webhook payloads)"
                    ),
                )
            } else if caused_by::<BodyTimeout>(&e) {
                (StatusCode::REQUEST_TIMEOUT, BodyTimeout.to_string())
            } else {
                (
                    StatusCode::BAD_REQUEST,
                    format!("could not read the body: {e}"),
                )
            };
            let mut r = refuse(status, message);
            r.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
            Err(r)
        }
    }
}

pub async fn receive(
    State(ingress): State<Ingress>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let body = match read_body(body).await {
        Ok(b) => b,
        Err(refused) => {
            warn!(status = refused.status().as_u16(), "refused delivery: body");
            ingress.metrics.delivery("unknown", "bad_request");
            return refused;
        }
    };
    let delivery_header = headers
        .get("x-github-delivery")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let span = info_span!(
        "webhook",
        delivery = %crate::types::truncate_for_error(delivery_header),
        event = tracing::field::Empty
    );
    async move {
        // 1. Signature first, over the exact bytes: unauthenticated senders learn nothing more.
        let sig = headers.get("x-hub-signature-256").map(|v| v.as_bytes());
        if let Err(e) = signature::verify(&ingress.secrets, sig, &body) {
            warn!(reason = %e, "refused delivery: signature");
            ingress.metrics.delivery("unknown", "bad_signature");
            return refuse(StatusCode::UNAUTHORIZED, e.to_string());
        }

        // 2. Headers GitHub always sends.
        let event = match headers.get("x-github-event").map(|v| v.to_str()) {
            Some(Ok(e)) if valid_event_name(e) => e.to_owned(),
            Some(_) => return bad_request(&ingress, "X-GitHub-Event is not an event name (lower-case letters and _)"),
            None => return bad_request(&ingress, "missing X-GitHub-Event header"),
        };
        tracing::Span::current().record("event", event.as_str());
        let delivery = match headers.get("x-github-delivery") {
            None => return bad_request(&ingress, "missing X-GitHub-Delivery header"),
            Some(v) => match v.to_str().ok().map(DeliveryId::parse) {
                Some(Ok(d)) => d,
                Some(Err(e)) => return bad_request(&ingress, e.to_string()),
                None => return bad_request(&ingress, "X-GitHub-Delivery is not printable ASCII"),
            },
        };

        // 3. JSON only: the App is registered with content type application/json.
        let ctype = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let mime = ctype.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/json") {
            ingress.metrics.delivery(event_label(&event), "bad_request");
            return refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("content type must be application/json, got {:?}: set the App's webhook content type to JSON", crate::types::truncate_for_error(ctype)),
            );
        }

        if event == "ping" {
            ingress.metrics.delivery("ping", "pong");
            info!("ping");
            return reply(StatusCode::OK, json!({ "status": "pong" }));
        }

        // 4. One pass over the body: proves it is JSON and reads the ids the job key needs.
        if body.is_empty() {
            return bad_request(&ingress, "empty body: expected a JSON object");
        }
        let envelope: Envelope = match serde_json::from_slice(&body) {
            Ok(e) => e,
            Err(e) => return bad_request(&ingress, format!("malformed JSON: {e}")),
        };
        if std::str::from_utf8(&body).is_err() {
            return bad_request(&ingress, "body is not UTF-8");
        }

        let echo = envelope.echoes_app(&event, ingress.app_id);
        let handled = HANDLED_EVENTS.contains(&event.as_str()) && !echo;
        let job = handled.then(|| NewJob::of(&DeliveryPayload {
            delivery_id: delivery.as_str().to_owned(),
            key: job_key(&event, &envelope, &delivery),
        }));
        let job = match job.transpose() {
            Ok(job) => job,
            Err(e) => {
                warn!(error = %e, "the delivery's job could not be encoded; nothing was stored");
                ingress.metrics.delivery(event_label(&event), "store_error");
                return unavailable("the delivery could not be stored; nothing was processed: redeliver it from the App's advanced settings",
                );
            }
        };
        // Compressed here, in the request's task, so the single writer only writes bytes.
        // Ignored events keep their headers and ids, not their (possibly large) bodies.
        let payload = if handled {
            match compress_body(body.clone()).await {
                Some(p) => p,
                None => {
                    warn!("the payload could not be compressed; nothing was stored");
                    ingress.metrics.delivery(event_label(&event), "store_error");
                    return unavailable("the delivery could not be stored; nothing was processed: redeliver it from the App's advanced settings",
                    );
                }
            }
        } else {
            Compressed::new(b"")
        };
        let record = NewDelivery {
            id: &delivery,
            event: &event,
            action: envelope.action.as_deref(),
            installation_id: envelope.installation.as_ref().and_then(|i| i64::try_from(i.id).ok()),
            repo_id: envelope.repository.as_ref().and_then(|r| i64::try_from(r.id).ok()),
            payload: &payload,
            outcome: if handled { DeliveryOutcome::Queued } else { DeliveryOutcome::Ignored },
            detail: match (handled, echo) {
                (true, _) => None,
                (false, true) => Some("Gangway's own action, reported back by GitHub: nothing to do"),
                (false, false) => Some("event not handled by Gangway"),
            },
        };
        // Group commit: answered once the transaction holding this delivery has committed and
        // is on disk. The workers may start on its job as soon as it is committed: jobs are
        // idempotent, and a delivery lost to a power cut before its sync was never acknowledged.
        let stored = match ingress.group.commit(&record, job.as_ref(), ingress.max_attempts, ingress.clock.now_ms()).await {
            Ok(committed) => {
                if handled && committed.outcome == IngestOutcome::Stored {
                    ingress.wake.notify_one();
                }
                committed.durable().await
            }
            Err(e) => Err(e),
        };
        match stored {
            Ok(IngestOutcome::Duplicate) => {
                info!("duplicate delivery; already stored");
                ingress.metrics.delivery(event_label(&event), "duplicate");
                reply(StatusCode::OK, json!({ "status": "duplicate", "delivery": delivery.as_str() }))
            }
            Ok(IngestOutcome::Stored) if handled => {
                info!(action = envelope.action.as_deref().unwrap_or(""), "delivery queued");
                ingress.metrics.delivery(event_label(&event), "queued");
                reply(StatusCode::ACCEPTED, json!({ "status": "queued", "delivery": delivery.as_str() }))
            }
            Ok(IngestOutcome::Stored) => {
                info!("delivery recorded as ignored");
                ingress.metrics.delivery(event_label(&event), "ignored");
                reply(StatusCode::OK, json!({ "status": "ignored", "delivery": delivery.as_str() }))
            }
            Err(e) => {
                warn!(error = %e, "could not store delivery");
                ingress.metrics.delivery(event_label(&event), "store_error");
                unavailable("the delivery could not be stored; nothing was processed: redeliver it from the App's advanced settings",
                )
            }
        }
    }
    .instrument(span)
    .await
}

/// Bodies up to this size are compressed on the async worker (tens of microseconds); larger
/// ones, up to 25 MiB and tens of milliseconds, on the blocking pool, so that one large
/// delivery does not stall the requests sharing its worker thread.
const COMPRESS_INLINE_MAX: usize = 256 * 1024;

/// `None` only if the blocking task did not finish (the runtime is shutting down).
async fn compress_body(body: Bytes) -> Option<Compressed> {
    if body.len() <= COMPRESS_INLINE_MAX {
        Some(Compressed::new(&body))
    } else {
        tokio::task::spawn_blocking(move || Compressed::new(&body))
            .await
            .ok()
    }
}

fn bad_request(ingress: &Ingress, message: impl Into<String>) -> Response {
    let message = message.into();
    warn!(reason = %message, "refused delivery");
    ingress.metrics.delivery("unknown", "bad_request");
    refuse(StatusCode::BAD_REQUEST, message)
}
