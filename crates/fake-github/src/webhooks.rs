//! Outgoing webhook deliveries, signed like GitHub's (`X-Hub-Signature-256`), with a log.
//!
//! Events caused by the App's own API calls go through a queue drained by one background task,
//! in order, so the App's request is never held up by its own webhook. Scenario methods call
//! [`send`] directly and wait for the App's answer.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::mpsc;

use super::Shared;
use super::auth;

/// Where deliveries go: the App's webhook URL and its secret(s). The first secret signs;
/// with none, no signature header is sent (like a GitHub App without a webhook secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookTarget {
    /// Full URL, e.g. `http://127.0.0.1:8080/webhook`.
    pub url: String,
    /// Secrets; `secrets[0]` signs.
    pub secrets: Vec<String>,
}

impl WebhookTarget {
    /// A target signed with one secret.
    pub fn new(url: impl Into<String>, secret: impl Into<String>) -> Self {
        WebhookTarget {
            url: url.into(),
            secrets: vec![secret.into()],
        }
    }
}

/// One delivery attempt, as logged (also served by `GET /app/hook/deliveries`).
#[derive(Clone, Debug)]
pub struct Delivery {
    /// Numeric id of this attempt (increasing).
    pub id: u64,
    /// `X-GitHub-Delivery` (the same for a redelivery).
    pub guid: String,
    /// `X-GitHub-Event`.
    pub event: String,
    /// `action` of the payload, if any.
    pub action: Option<String>,
    /// `installation.id` of the payload, if any.
    pub installation: Option<u64>,
    /// `repository.id` of the payload, if any.
    pub repository: Option<u64>,
    /// Whether this re-sent an earlier delivery.
    pub redelivery: bool,
    /// Whether an App API call caused it (sent from the background queue).
    pub api_caused: bool,
    /// Exact body bytes sent.
    pub body: Bytes,
    /// `X-Hub-Signature-256` sent, if any.
    pub signature: Option<String>,
    /// Status the App answered (`None`: not delivered, see `error`).
    pub status: Option<u16>,
    /// Body the App answered.
    pub response_body: String,
    /// Why it was not delivered (no target configured, connection refused, ...).
    pub error: Option<String>,
    /// When it was sent.
    pub delivered_at: DateTime<Utc>,
    /// How long the App took.
    pub duration: Duration,
}

impl Delivery {
    /// Whether the App answered 2xx.
    pub fn ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// The body parsed as JSON (`Null` if it is not JSON).
    pub fn payload(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// `sha256=<hex HMAC-SHA256(secret, body)>`, the `X-Hub-Signature-256` value.
pub fn sign(secret: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length; this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A delivery to make.
#[derive(Clone, Debug)]
pub(super) struct Outgoing {
    pub event: String,
    pub body: Bytes,
    pub guid: String,
    pub redelivery: bool,
    pub api_caused: bool,
    /// Replaces the computed signature (`Some("")` sends none).
    pub signature: Option<String>,
}

impl Outgoing {
    pub(super) fn new(event: &str, payload: &Value) -> Self {
        Outgoing {
            event: event.to_string(),
            body: Bytes::from(serde_json::to_vec(payload).unwrap_or_default()),
            guid: auth::uuid_like(),
            redelivery: false,
            api_caused: false,
            signature: None,
        }
    }
}

/// Headers of a delivery (also reported by `GET /app/hook/deliveries/{id}`).
pub(super) fn headers(
    event: &str,
    guid: &str,
    signature: Option<&str>,
    app_id: u64,
) -> Vec<(&'static str, String)> {
    let mut h = vec![
        ("Accept", "*/*".to_string()),
        ("Content-Type", "application/json".to_string()),
        ("User-Agent", "GitHub-Hookshot/fake".to_string()),
        ("X-GitHub-Event", event.to_string()),
        ("X-GitHub-Delivery", guid.to_string()),
        ("X-GitHub-Hook-ID", "1".to_string()),
        ("X-GitHub-Hook-Installation-Target-ID", app_id.to_string()),
        (
            "X-GitHub-Hook-Installation-Target-Type",
            "integration".to_string(),
        ),
    ];
    if let Some(sig) = signature {
        h.push(("X-Hub-Signature-256", sig.to_string()));
    }
    h
}

/// Sends one delivery now, logs it, and returns the log entry.
pub(super) async fn send(sh: &Shared, out: Outgoing) -> Delivery {
    let (target, id) = {
        let mut st = sh.lock();
        (st.webhook.clone(), st.next_id())
    };
    let payload: Value = serde_json::from_slice(&out.body).unwrap_or(Value::Null);
    let signature = match out.signature {
        Some(s) if s.is_empty() => None,
        Some(s) => Some(s),
        None => target
            .as_ref()
            .and_then(|t| t.secrets.first())
            .map(|s| sign(s, &out.body)),
    };
    let mut delivery = Delivery {
        id,
        guid: out.guid.clone(),
        event: out.event.clone(),
        action: payload
            .get("action")
            .and_then(Value::as_str)
            .map(str::to_string),
        installation: payload.pointer("/installation/id").and_then(Value::as_u64),
        repository: payload.pointer("/repository/id").and_then(Value::as_u64),
        redelivery: out.redelivery,
        api_caused: out.api_caused,
        body: out.body.clone(),
        signature: signature.clone(),
        status: None,
        response_body: String::new(),
        error: None,
        delivered_at: Utc::now(),
        duration: Duration::ZERO,
    };
    match target {
        None => delivery.error = Some("no webhook target configured".into()),
        Some(t) => {
            let mut req = sh.http.post(&t.url).body(out.body.clone());
            for (k, v) in headers(&out.event, &out.guid, signature.as_deref(), sh.app_id) {
                req = req.header(k, v);
            }
            let started = Instant::now();
            match req.send().await {
                Ok(resp) => {
                    delivery.status = Some(resp.status().as_u16());
                    delivery.response_body = resp.text().await.unwrap_or_default();
                }
                Err(e) => delivery.error = Some(e.to_string()),
            }
            delivery.duration = started.elapsed();
        }
    }
    sh.lock().deliveries.push(delivery.clone());
    delivery
}

/// Queues an App-caused event for the background sender.
pub(super) fn enqueue(sh: &Shared, event: &str, payload: &Value) {
    let mut out = Outgoing::new(event, payload);
    out.api_caused = true;
    enqueue_raw(sh, out);
}

/// Queues a prepared delivery (e.g. a redelivery requested through the API).
pub(super) fn enqueue_raw(sh: &Shared, out: Outgoing) {
    sh.pending.fetch_add(1, Ordering::SeqCst);
    if sh.outgoing.send(out).is_err() {
        sh.pending.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Drains the queue in order until the channel closes.
pub(super) async fn worker(sh: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Outgoing>) {
    while let Some(out) = rx.recv().await {
        send(&sh, out).await;
        sh.pending.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The delivery to re-send for `guid` (its latest attempt).
pub(super) fn redelivery_of(sh: &Shared, guid: &str) -> Option<Outgoing> {
    let st = sh.lock();
    let d = st.deliveries.iter().rev().find(|d| d.guid == guid)?;
    Some(Outgoing {
        event: d.event.clone(),
        body: d.body.clone(),
        guid: d.guid.clone(),
        redelivery: true,
        api_caused: d.api_caused,
        signature: None,
    })
}
