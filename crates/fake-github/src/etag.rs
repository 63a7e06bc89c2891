//! Conditional requests, as GitHub answers them: every `200` to a GET carries an `ETag`; a GET
//! whose `If-None-Match` names the current one gets `304 Not Modified` with no body, and does not
//! count against the rate limit.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use sha2::{Digest, Sha256};

use super::Shared;
use super::model::RateBucket;

/// Adds the ETag; answers 304 instead when `if_none_match` names it. `(not_modified, response)`.
pub(super) async fn apply(resp: Response, if_none_match: Option<&str>) -> (bool, Response) {
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return (false, Response::from_parts(parts, Body::empty()));
    };
    let tag = format!("W/\"{}\"", hex::encode(&Sha256::digest(&bytes)[..16]));
    if let Ok(v) = HeaderValue::from_str(&tag) {
        parts.headers.insert("etag", v);
    }
    let matches =
        if_none_match.is_some_and(|h| h.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    if matches {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove("content-length");
        parts.headers.remove("content-type");
        return (true, Response::from_parts(parts, Body::empty()));
    }
    (false, Response::from_parts(parts, Body::from(bytes)))
}

/// Gives back the request counted for a 304.
pub(super) fn refund(sh: &Shared, credential: Option<&str>, mut bucket: RateBucket) -> RateBucket {
    let mut st = sh.lock();
    let (key, _) = super::http::rate_key(&st, credential);
    if let Some(b) = st.rate.get_mut(&key) {
        b.remaining = (b.remaining + 1).min(b.limit);
        b.used = b.used.saturating_sub(1);
        bucket = b.clone();
    }
    bucket
}
