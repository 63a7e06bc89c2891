//! Per-request limits, applied before a route sees the request: a declared body over the limit
//! (413, nothing read), requests in flight over their cap (after waiting up to [`QUEUE_WAIT`]
//! for a slot: 503 with `Retry-After`), and the
//! body read deadline (the body errors with [`BodyTimeout`] once it passes; ingress answers 408).
//!
//! Owns: which requests count against which cap. Webhook deliveries have their own cap
//! (`GANGWAY_MAX_REQUESTS`), every other path shares another (`GANGWAY_MAX_READ_REQUESTS`), so a
//! flood of GETs never takes a delivery's place; `/healthz` (no I/O) is never refused.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::sync::Semaphore;

use crate::config::HttpSettings;
use crate::ingress::{BodyTimeout, MAX_BODY_BYTES};
use crate::metrics::Metrics;

/// How long a request over its cap waits for a slot before it is refused: a burst is smoothed,
/// a sustained overload answered 503.
pub const QUEUE_WAIT: Duration = Duration::from_secs(1);

/// What a client refused for overload is asked to wait, in seconds.
pub const OVERLOAD_RETRY_AFTER_SECS: u64 = 1;

/// The caps shared by every connection of one listener.
pub struct Limits {
    pub(super) settings: HttpSettings,
    webhooks: Arc<Semaphore>,
    reads: Arc<Semaphore>,
    pub(super) metrics: Metrics,
}

impl Limits {
    pub fn new(settings: HttpSettings, metrics: Metrics) -> Arc<Limits> {
        Arc::new(Limits {
            webhooks: Arc::new(Semaphore::new(settings.max_requests)),
            reads: Arc::new(Semaphore::new(settings.max_read_requests)),
            settings,
            metrics,
        })
    }

    pub fn settings(&self) -> &HttpSettings {
        &self.settings
    }

    /// Answers one request through `app`, or refuses it. `held` (the connection's busy mark) is
    /// kept until the response's body has been sent.
    pub(super) async fn handle<H: Send + Unpin + 'static>(
        self: Arc<Self>,
        req: Request<hyper::body::Incoming>,
        mut app: Router,
        held: H,
    ) -> Result<Response<Body>, Infallible> {
        let path = req.uri().path();
        if declared_length(&req).is_some_and(|n| n > MAX_BODY_BYTES as u64) {
            self.metrics.http_refused("too_large");
            return Ok(keep(too_large(), held));
        }
        // `/events` streams for as long as a page is open: it never holds a read slot, and the
        // dashboard caps streams on its own (`web::MAX_STREAMS`, then 503).
        let permit = if path == "/healthz" || path == "/events" {
            None
        } else {
            let cap = if path == "/webhooks" {
                &self.webhooks
            } else {
                &self.reads
            };
            match tokio::time::timeout(QUEUE_WAIT, cap.clone().acquire_owned()).await {
                Ok(Ok(p)) => Some(p),
                Ok(Err(_)) | Err(_) => {
                    self.metrics.http_refused("requests");
                    return Ok(keep(overloaded("too many requests in flight"), held));
                }
            }
        };
        let timeout = self.settings.body_timeout;
        let req = req.map(|b| {
            if http_body::Body::is_end_stream(&b) {
                Body::new(b)
            } else {
                Body::new(Deadline::new(b, timeout))
            }
        });
        let resp = match tower_service::Service::call(&mut app, req).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        Ok(keep(resp, (held, permit)))
    }
}

/// The request's `Content-Length`, if it declares one (hyper has already refused malformed ones).
fn declared_length<B>(req: &Request<B>) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

fn json_error(status: StatusCode, message: &str) -> Response<Body> {
    let mut r = Response::new(Body::from(
        serde_json::json!({ "error": message }).to_string(),
    ));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// 413 for a declared length over the limit; the connection is closed after it (its body is
/// never read).
pub fn too_large() -> Response<Body> {
    let mut r = json_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("body larger than {MAX_BODY_BYTES} bytes (GitHub's cap on webhook payloads)"),
    );
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// 503 with `Retry-After`: over a cap, nothing was done.
pub fn overloaded(why: &str) -> Response<Body> {
    let mut r = json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        &format!("{why}: retry shortly"),
    );
    r.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(OVERLOAD_RETRY_AFTER_SECS),
    );
    r
}

/// `resp` with `held` kept alive until its body has been sent (or dropped).
fn keep<H: Send + Unpin + 'static>(resp: Response<Body>, held: H) -> Response<Body> {
    resp.map(|inner| Body::new(Holding { inner, _held: held }))
}

struct Holding<H> {
    inner: Body,
    _held: H,
}

impl<H: Send + 'static + Unpin> http_body::Body for Holding<H> {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A request body that fails with [`BodyTimeout`] once its deadline passes.
struct Deadline<B> {
    inner: B,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl<B> Deadline<B> {
    fn new(inner: B, within: Duration) -> Self {
        Deadline {
            inner,
            sleep: Box::pin(tokio::time::sleep(within)),
        }
    }
}

impl<B> http_body::Body for Deadline<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if this.sleep.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyTimeout))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
