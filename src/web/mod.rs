//! The dashboard: server-rendered pages of what Gangway runs where, sign-in with GitHub, and
//! buttons that run the very same rules as the PR commands.
//!
//! Owns: the page routes, rendering (askama templates in `templates/`, checked at compile time
//! and escaped by default), the security headers every page carries, and the two static assets
//! (`assets/`, compiled in: no CDN, no front-end build). Who the viewer is and what they may see
//! is `session` and `access`; what a button does is the command job it enqueues (the executor
//! runs it under the command rules). Pages read the store's read connections only.

pub mod access;
pub mod actions;
pub mod auth;
pub mod csrf;
pub mod events;
pub mod page;
pub mod pages;
pub mod session;
pub mod setup;

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::clock::SharedClock;
use crate::config::WebSettings;
use crate::github::ratelimit::Budgets;
use crate::queue::Queue;
use crate::store::Store;

/// What every dashboard handler may use.
#[derive(Clone)]
pub struct WebState {
    pub store: Store,
    pub queue: Queue,
    pub clock: SharedClock,
    pub settings: Arc<WebSettings>,
    /// Who may read what: the user-token client, the App's client, and their answers' cache.
    pub access: Arc<access::Access>,
    /// Each installation's rate-limit budgets as GitHub last reported them (kept in memory by
    /// the GitHub client): the operators' budgets view.
    pub budgets: Arc<Budgets>,
    /// Live-refresh streams open now (`/events`), at most [`MAX_STREAMS`].
    pub streams: Arc<tokio::sync::Semaphore>,
}

/// Live-refresh streams open at once; one more is answered 503 (the page still works, it just
/// does not refresh).
pub const MAX_STREAMS: usize = 64;

/// The dashboard's routes, merged into the main listener's router.
pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/login", get(auth::login))
        .route("/auth/callback", get(auth::callback))
        .route("/logout", axum::routing::post(auth::logout))
        .route("/", get(pages::home))
        .route("/repos/{owner}/{repo}", get(pages::repository))
        .route("/repos/{owner}/{repo}/pulls/{number}", get(pages::pull))
        .route("/repos/{owner}/{repo}/commits/{sha}", get(pages::commit))
        .route("/operator/jobs", get(pages::operator_jobs))
        .route("/operator/budgets", get(pages::operator_budgets))
        .route("/operator/audit", get(pages::operator_audit))
        .route("/events", get(events::stream))
        .route("/assets/{file}", get(asset))
        .merge(actions::routes())
        .with_state(state)
}

const STYLE: &str = include_str!("../../assets/style.css");
const SCRIPT: &str = include_str!("../../assets/live.js");

/// The stylesheet and the live-refresh script, from the binary.
pub(crate) async fn asset(Path(file): Path<String>) -> Response {
    let (kind, body) = match file.as_str() {
        "style.css" => ("text/css; charset=utf-8", STYLE),
        "live.js" => ("text/javascript; charset=utf-8", SCRIPT),
        _ => return (StatusCode::NOT_FOUND, "no such asset\n").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}
