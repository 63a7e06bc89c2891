//! `/events`: live refresh. A server-sent event stream that says `changed` when what the
//! dashboard shows changed (the store's fingerprint, read every [`POLL`]), with keep-alive
//! comments between. Streams never hold one of the read requests' slots (see `http::limits`);
//! they are capped on their own ([`super::MAX_STREAMS`], then 503).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, Stream};

use super::WebState;

/// How often a stream reads the store's fingerprint.
pub const POLL: Duration = Duration::from_secs(2);

#[derive(serde::Deserialize)]
pub struct Since {
    since: Option<String>,
}

/// The fingerprint a page was drawn at (`?since=`), when it looks like one: digits and dots,
/// short. Anything else is ignored, and the stream counts changes from when it opens.
fn drawn_at(q: Result<Query<Since>, QueryRejection>) -> Option<String> {
    let v = q.ok()?.0.since?;
    (v.len() <= 200 && !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
        .then_some(v)
}

/// The event stream, or 503 when [`super::MAX_STREAMS`] are open. A page that says when it was
/// drawn (`?since=`) hears `changed` at once if something changed since.
pub async fn stream(
    State(state): State<WebState>,
    q: Result<Query<Since>, QueryRejection>,
) -> Response {
    let Ok(permit) = state.streams.clone().try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "30")],
            "too many live-refresh streams open: the pages still work, reload them by hand\n",
        )
            .into_response();
    };
    let first = match drawn_at(q) {
        Some(v) => Some(v),
        None => state.store.dash_version().await.ok(),
    };
    Sse::new(changes(state, first, permit))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// `changed` each time the fingerprint moves (a failed read is skipped, not reported: the next
/// poll tries again).
fn changes(
    state: WebState,
    last: Option<String>,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(
        (state, last, permit),
        |(state, mut last, permit)| async move {
            loop {
                tokio::time::sleep(POLL).await;
                let Ok(now) = state.store.dash_version().await else {
                    continue;
                };
                if last.as_deref() != Some(now.as_str()) {
                    last = Some(now);
                    let event = Event::default().event("changed").data("changed");
                    return Some((Ok(event), (state, last, permit)));
                }
            }
        },
    )
}
