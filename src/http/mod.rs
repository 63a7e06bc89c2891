//! The HTTP surface: routes, limits, and the small endpoints operators and load balancers use.
//!
//! Owns: which path does what. `/webhooks` (ingress), `/healthz` (the process answers),
//! `/readyz` (the database answers, the schema is current, and writes succeed), `/metrics`
//! (Prometheus, from memory), `/logs/{token}`. The listener and its limits are in `listen` and
//! `limits`. No GET touches the writer's connection: `/logs/…` and `/readyz`'s schema check use
//! the store's read connections, `/readyz`'s write probe runs at most once a second, and
//! `/metrics` renders the registry, whose job counts a background task refreshes.

pub mod limits;
pub mod listen;

use std::time::Duration;

use axum::Router;
use axum::extract::{FromRef, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::sync::watch;

use listen::stopped;

use crate::ingress::{self, Ingress};
use crate::metrics::Metrics;
use crate::queue::Queue;
use crate::store::Store;
use crate::web::{self, WebState};

#[derive(Clone)]
pub struct HttpState {
    pub ingress: Ingress,
    pub store: Store,
    pub metrics: Metrics,
    pub queue: Queue,
    pub web: WebState,
}

/// How often the job counts shown by `/metrics` are read from the database.
pub const METRICS_REFRESH: Duration = Duration::from_secs(5);

/// Keeps the metrics read from the database (job counts by state) current, every
/// [`METRICS_REFRESH`], on the store's read connections, until `stop` turns true.
pub async fn refresh_metrics(queue: Queue, metrics: Metrics, mut stop: watch::Receiver<bool>) {
    loop {
        match queue.counts().await {
            Ok(counts) => metrics.set_job_counts(&counts),
            Err(e) => tracing::warn!(error = %e, "could not count jobs for the metrics"),
        }
        tokio::select! {
            _ = tokio::time::sleep(METRICS_REFRESH) => {}
            _ = stopped(&mut stop) => return,
        }
    }
}

impl FromRef<HttpState> for Ingress {
    fn from_ref(s: &HttpState) -> Ingress {
        s.ingress.clone()
    }
}

/// The main listener's routes; `/metrics` among them unless it has a listener of its own.
pub fn router(state: HttpState, with_metrics: bool) -> Router {
    let r = Router::new()
        .route("/webhooks", post(ingress::receive))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/logs/{token}", get(deploy_log));
    let r = if with_metrics {
        r.route("/metrics", get(metrics))
    } else {
        r
    };
    let web = web::router(state.web.clone());
    r.fallback(not_found).with_state(state).merge(web)
}

/// The routes of the metrics listener (`GANGWAY_METRICS_ADDR`).
pub fn metrics_router(state: HttpState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .fallback(not_found)
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(s): State<HttpState>) -> Response {
    match s.store.ready().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {e}\n")).into_response()
        }
    }
}

/// From memory only: the registry, and the store's write health (kept in memory).
async fn metrics(State(s): State<HttpState>) -> Response {
    s.metrics
        .set_write_health(s.store.write_failure().is_some(), s.store.write_failures());
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.render(),
    )
        .into_response()
}

/// A deployment's log, behind its unguessable token (the deployment's `log_url`). Plain text,
/// never rendered as HTML, not cached.
async fn deploy_log(State(s): State<HttpState>, Path(token): Path<String>) -> Response {
    let headers = [
        (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return (StatusCode::NOT_FOUND, headers, "no such log\n").into_response();
    }
    match s.store.preview_log(&token).await {
        Ok(Some((p, log))) => {
            let head = format!(
                "Gangway preview of {} (PR #{}, commit {}), environment {}: {}\n\n",
                p.host,
                p.pr_number,
                p.sha,
                p.environment,
                p.state.as_str()
            );
            (
                StatusCode::OK,
                headers,
                head + log.as_deref().unwrap_or("(no output yet)\n"),
            )
                .into_response()
        }
        Ok(None) => match s.store.env_log(&token).await {
            Ok(Some((d, log))) => {
                let from = d
                    .pr_number
                    .map(|n| format!(", PR #{n}"))
                    .unwrap_or_default();
                let head = format!(
                    "Gangway {} of commit {} to {}, requested by {}{from}: {}\n\n",
                    d.kind.as_str(),
                    d.sha,
                    d.environment,
                    d.requested_by,
                    d.state.as_str()
                );
                let log = if log.is_empty() {
                    "(no output yet)\n".to_owned()
                } else {
                    log
                };
                (StatusCode::OK, headers, head + &log).into_response()
            }
            Ok(None) => (StatusCode::NOT_FOUND, headers, "no such log\n").into_response(),
            Err(e) => {
                tracing::warn!(error = %e, "reading a deploy log failed");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    headers,
                    "log temporarily unavailable\n",
                )
                    .into_response()
            }
        },
        Err(e) => {
            tracing::warn!(error = %e, "reading a deploy log failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                headers,
                "log temporarily unavailable\n",
            )
                .into_response()
        }
    }
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({ "error": "not found" })),
    )
        .into_response()
}
