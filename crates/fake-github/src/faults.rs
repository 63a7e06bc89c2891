//! Fault injection: rules matched by method and path prefix that answer an error, a rate
//! limit, or add latency before the normal answer.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Message GitHub sends with a secondary rate limit.
pub const SECONDARY_RATE_LIMIT_MESSAGE: &str = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.";

/// What a matched rule does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer this status (e.g. 500, 502, 503) with a GitHub-style JSON error.
    Status(u16),
    /// Answer 429 with `Retry-After: N` and the secondary-rate-limit message.
    TooManyRequests {
        /// Seconds in `Retry-After`.
        retry_after: u64,
    },
    /// Answer 403 with `Retry-After: N` and the secondary-rate-limit message.
    SecondaryRateLimit {
        /// Seconds in `Retry-After`.
        retry_after: u64,
    },
    /// Answer 403 "API rate limit exceeded" with `X-RateLimit-Remaining: 0` and a reset
    /// `reset_in` seconds from now.
    PrimaryRateLimit {
        /// Seconds until `X-RateLimit-Reset`.
        reset_in: u64,
    },
    /// Wait this long, then answer normally.
    Latency(Duration),
    /// Carry the call out, then answer this status instead of its answer: the answer was lost
    /// on the way (a timeout, a proxy's 502), though the change was made.
    AnswerLost(u16),
}

/// A fault rule. Build with [`Fault::status`] & co., narrow with [`Fault::on`] /
/// [`Fault::method`] / [`Fault::path_prefix`], and set how often with [`Fault::times`] /
/// [`Fault::always`] (default: once).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// HTTP method to match (`None`: any).
    pub method: Option<String>,
    /// Path prefix to match, without query (`None`: any path).
    pub path_prefix: Option<String>,
    /// How many more times it fires (`None`: always).
    pub remaining: Option<u32>,
    /// What it does.
    pub kind: FaultKind,
}

impl Fault {
    /// A rule of this kind, matching every call, firing once.
    pub fn new(kind: FaultKind) -> Self {
        Fault {
            method: None,
            path_prefix: None,
            remaining: Some(1),
            kind,
        }
    }

    /// Answer `code` (e.g. 503).
    pub fn status(code: u16) -> Self {
        Self::new(FaultKind::Status(code))
    }

    /// Answer 429 with `Retry-After`.
    pub fn too_many_requests(retry_after: u64) -> Self {
        Self::new(FaultKind::TooManyRequests { retry_after })
    }

    /// Answer 403 secondary rate limit with `Retry-After`.
    pub fn secondary_rate_limit(retry_after: u64) -> Self {
        Self::new(FaultKind::SecondaryRateLimit { retry_after })
    }

    /// Answer 403 primary rate limit exhausted.
    pub fn primary_rate_limit(reset_in: u64) -> Self {
        Self::new(FaultKind::PrimaryRateLimit { reset_in })
    }

    /// Carry the call out but answer `code` (e.g. 502), as if its answer were lost.
    pub fn answer_lost(code: u16) -> Self {
        Self::new(FaultKind::AnswerLost(code))
    }

    /// Add latency before answering normally.
    pub fn latency(delay: Duration) -> Self {
        Self::new(FaultKind::Latency(delay))
    }

    /// Match this method and path prefix.
    pub fn on(self, method: &str, path_prefix: &str) -> Self {
        self.method(method).path_prefix(path_prefix)
    }

    /// Match this method only.
    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_ascii_uppercase());
        self
    }

    /// Match paths starting with this prefix only.
    pub fn path_prefix(mut self, prefix: &str) -> Self {
        self.path_prefix = Some(prefix.to_string());
        self
    }

    /// Fire `n` times.
    pub fn times(mut self, n: u32) -> Self {
        self.remaining = Some(n);
        self
    }

    /// Fire on every matching call.
    pub fn always(mut self) -> Self {
        self.remaining = None;
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.remaining != Some(0)
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|p| path.starts_with(p))
    }
}

/// Consumes matching rules for one call: total latency to add, and the answering fault if any.
pub(super) fn take(rules: &mut [Fault], method: &str, path: &str) -> (Duration, Option<FaultKind>) {
    let mut delay = Duration::ZERO;
    for rule in rules.iter_mut() {
        if !rule.matches(method, path) {
            continue;
        }
        if let Some(n) = rule.remaining.as_mut() {
            *n -= 1;
        }
        match &rule.kind {
            FaultKind::Latency(d) => delay += *d,
            other => return (delay, Some(other.clone())),
        }
    }
    (delay, None)
}

/// The response a fault answers with.
pub(super) fn response(kind: &FaultKind) -> Response {
    let doc = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api";
    match kind {
        FaultKind::Status(code) | FaultKind::AnswerLost(code) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let message = status.canonical_reason().unwrap_or("Server Error");
            let body = json!({
                "message": message,
                "documentation_url": "https://docs.github.com/rest",
                "status": status.as_u16().to_string(),
            });
            (status, Json(body)).into_response()
        }
        FaultKind::TooManyRequests { retry_after }
        | FaultKind::SecondaryRateLimit { retry_after } => {
            let status = if matches!(kind, FaultKind::TooManyRequests { .. }) {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::FORBIDDEN
            };
            let body = json!({
                "message": SECONDARY_RATE_LIMIT_MESSAGE,
                "documentation_url": doc,
                "status": status.as_u16().to_string(),
            });
            let mut resp = (status, Json(body)).into_response();
            resp.headers_mut()
                .insert("retry-after", HeaderValue::from(*retry_after));
            resp
        }
        FaultKind::PrimaryRateLimit { reset_in } => {
            let reset = chrono::Utc::now().timestamp() + i64::try_from(*reset_in).unwrap_or(0);
            let body = json!({
                "message": "API rate limit exceeded for installation. If you reach out to GitHub Support for help, please include the request ID.",
                "documentation_url": doc,
                "status": "403",
            });
            let mut resp = (StatusCode::FORBIDDEN, Json(body)).into_response();
            let h = resp.headers_mut();
            h.insert("x-ratelimit-remaining", HeaderValue::from(0));
            h.insert("x-ratelimit-reset", HeaderValue::from(reset));
            resp
        }
        FaultKind::Latency(_) => StatusCode::OK.into_response(),
    }
}
