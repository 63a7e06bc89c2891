//! HTTP plumbing shared by the route modules: GitHub-style errors, authentication extractors,
//! the per-call middleware (faults, latency, rate-limit headers, call log), pagination.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{FromRequestParts, Request, State as AxState};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Map, Value, json};

use super::Shared;
use super::auth;
use super::etag;
use super::faults;
use super::model::{ApiCall, RateBucket};
use super::secondary;
use super::state::State;

const DOCS: &str = "https://docs.github.com/rest";

/// An error answered the way GitHub does (JSON `message` + `documentation_url`).
#[derive(Debug)]
pub(super) struct ApiError {
    status: StatusCode,
    body: Value,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, message: &str) -> Self {
        ApiError {
            status,
            body: json!({
                "message": message,
                "documentation_url": DOCS,
                "status": status.as_u16().to_string(),
            }),
        }
    }

    pub(super) fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not Found")
    }

    pub(super) fn unauthorized(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 422 with GitHub's validation-error shape.
    pub(super) fn validation(message: &str, errors: Vec<Value>) -> Self {
        let mut e = Self::new(StatusCode::UNPROCESSABLE_ENTITY, message);
        if !errors.is_empty() {
            e.body["errors"] = Value::Array(errors);
        }
        e
    }

    /// 422 for a missing/invalid field, like GitHub's `{"resource","field","code"}` errors.
    pub(super) fn invalid_field(resource: &str, field: &str, code: &str) -> Self {
        Self::validation(
            "Validation Failed",
            vec![json!({"resource": resource, "field": field, "code": code})],
        )
    }

    pub(super) fn with_body(status: StatusCode, body: Value) -> Self {
        ApiError { status, body }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

pub(super) type ApiResult = Result<Response, ApiError>;

pub(super) fn ok(v: Value) -> ApiResult {
    Ok((StatusCode::OK, Json(v)).into_response())
}

pub(super) fn created(v: Value) -> ApiResult {
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

pub(super) fn no_content() -> ApiResult {
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// 200 with an optional `Link` header.
pub(super) fn ok_paged(v: Value, link: Option<String>) -> ApiResult {
    let mut resp = (StatusCode::OK, Json(v)).into_response();
    if let Some(link) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
        resp.headers_mut().insert("link", link);
    }
    Ok(resp)
}

/// Parses a JSON object body (empty body = `{}`); 400 "Problems parsing JSON" otherwise.
pub(super) fn parse_body(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "Problems parsing JSON",
        )),
    }
}

/// A numeric path segment; 404 like GitHub when it is not a number.
pub(super) fn num(s: &str) -> Result<u64, ApiError> {
    s.parse().map_err(|_| ApiError::not_found())
}

/// The installation an installation token authenticates as.
#[derive(Clone, Debug)]
pub(super) struct Inst {
    pub installation: u64,
    pub repos: Option<Vec<u64>>,
}

impl Inst {
    /// The repository if this token may see it; 404 otherwise (GitHub hides what you can't see).
    pub(super) fn repo(&self, st: &State, owner: &str, name: &str) -> Result<u64, ApiError> {
        let id = st.repo_id(owner, name).ok_or_else(ApiError::not_found)?;
        let repo = &st.repos[&id];
        let in_scope = self.repos.as_ref().is_none_or(|r| r.contains(&id));
        if repo.installation == Some(self.installation) && in_scope {
            Ok(id)
        } else {
            Err(ApiError::not_found())
        }
    }
}

fn header_credential(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(auth::credential)
        .map(str::to_string)
}

impl FromRequestParts<Arc<Shared>> for Inst {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, sh: &Arc<Shared>) -> Result<Self, ApiError> {
        let cred = header_credential(parts)
            .ok_or_else(|| ApiError::unauthorized("Requires authentication"))?;
        let st = sh.lock();
        match st.tokens.get(&cred) {
            Some(t) if t.expires_at > Utc::now() => Ok(Inst {
                installation: t.installation,
                repos: t.repos.clone(),
            }),
            _ => Err(ApiError::unauthorized("Bad credentials")),
        }
    }
}

/// Proof that the request carried a valid App JWT.
#[derive(Clone, Copy, Debug)]
pub(super) struct AppJwt;

impl FromRequestParts<Arc<Shared>> for AppJwt {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, sh: &Arc<Shared>) -> Result<Self, ApiError> {
        let cred = header_credential(parts).ok_or_else(|| {
            ApiError::unauthorized(
                "You must authenticate with a JSON web token to access this endpoint.",
            )
        })?;
        // The fake's own App, or one registered through the manifest flow (same key pair).
        let known = |id: u64| id == sh.app_id || sh.lock().manifest.knows(id);
        auth::verify_app_jwt(&sh.key, &known, &cred, Utc::now())
            .map(|()| AppJwt)
            .map_err(|m| ApiError::unauthorized(&m))
    }
}

/// `page`/`per_page` query parameters (GitHub defaults: 1 and 30, at most 100 per page).
#[derive(Clone, Copy, Debug)]
pub(super) struct Paging {
    pub page: usize,
    pub per_page: usize,
}

impl Paging {
    pub(super) fn from_query(q: &HashMap<String, String>) -> Self {
        let get = |k: &str| q.get(k).and_then(|v| v.parse::<usize>().ok());
        Paging {
            page: get("page").unwrap_or(1).max(1),
            per_page: get("per_page").unwrap_or(30).clamp(1, 100),
        }
    }
}

/// Slices `items` to the requested page and builds the `Link` header (next/last/first/prev).
pub(super) fn paginate<T>(
    items: Vec<T>,
    paging: Paging,
    uri: &Uri,
    st: &State,
    api: &str,
) -> (Vec<T>, Option<String>) {
    let total = items.len();
    let last = total.div_ceil(paging.per_page).max(1);
    let start = (paging.page - 1).saturating_mul(paging.per_page);
    let page: Vec<T> = items
        .into_iter()
        .skip(start)
        .take(paging.per_page)
        .collect();
    let prefix = if st.settings.absolute_links { api } else { "" };
    let mut params: Vec<String> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("page="))
        .map(str::to_string)
        .collect();
    if !params.iter().any(|p| p.starts_with("per_page=")) {
        params.push(format!("per_page={}", paging.per_page));
    }
    let url = |n: usize| {
        let mut q = params.clone();
        q.push(format!("page={n}"));
        format!("<{prefix}{}?{}>", uri.path(), q.join("&"))
    };
    let mut links = Vec::new();
    if paging.page < last {
        links.push(format!("{}; rel=\"next\"", url(paging.page + 1)));
        links.push(format!("{}; rel=\"last\"", url(last)));
    }
    if paging.page > 1 {
        links.push(format!("{}; rel=\"first\"", url(1)));
        links.push(format!("{}; rel=\"prev\"", url(paging.page - 1)));
    }
    (page, (!links.is_empty()).then(|| links.join(", ")))
}

/// The resource GitHub names in `X-RateLimit-Resource` for GraphQL calls.
pub(super) const GRAPHQL: &str = "graphql";

/// The rate-limit bucket a credential spends from, and its installation. As on GitHub, an
/// installation's tokens share one budget: a new token does not refill it.
pub(super) fn rate_key(st: &State, credential: Option<&str>) -> (String, Option<u64>) {
    match credential {
        Some(c) if auth::looks_like_jwt(c) => ("app".to_string(), None),
        Some(c) => match (st.tokens.get(c), st.user_tokens.get(c)) {
            (Some(t), _) => (
                format!("installation:{}", t.installation),
                Some(t.installation),
            ),
            // A user's token spends the user's own budget, as on GitHub.
            (None, Some(u)) => (format!("user:{}", u.login), None),
            (None, None) => ("anonymous".to_string(), None),
        },
        None => ("anonymous".to_string(), None),
    }
}

/// Per-call middleware: fault rules and latency, rate-limit budget and headers, call log.
pub(super) async fn middleware(
    AxState(sh): AxState<Arc<Shared>>,
    req: Request,
    next: Next,
) -> Response {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let cred = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(auth::credential)
        .map(str::to_string);
    let if_none_match = req
        .headers()
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let now = Utc::now();
    let resource = if path == "/graphql" || path == "/api/graphql" {
        GRAPHQL
    } else {
        "core"
    };
    let (delay, fault, installation, mut bucket, exhausted, admitted) = {
        let mut st = sh.lock();
        let (mut delay, fault) = faults::take(&mut st.faults, &method, &path);
        delay += st.latency;
        let (mut key, installation) = rate_key(&st, cred.as_deref());
        // GraphQL has a budget of its own, as on GitHub.
        if resource == GRAPHQL {
            key = format!("{key}:{GRAPHQL}");
        }
        let admitted = secondary::admit(&sh, &mut st, installation, &method, &path);
        let limit = st.settings.rate_limit;
        let fresh = || RateBucket {
            limit,
            remaining: limit,
            used: 0,
            reset: now.timestamp() + 3600,
        };
        let b = st.rate.entry(key).or_insert_with(fresh);
        if b.reset <= now.timestamp() {
            *b = fresh();
        }
        let counts = path != "/rate_limit";
        let exhausted = counts && b.remaining == 0;
        if counts && !exhausted {
            b.remaining -= 1;
            b.used += 1;
        }
        (delay, fault, installation, b.clone(), exhausted, admitted)
    };
    // Held until the call is logged: its place in the installation's in-flight count.
    let _in_flight = match admitted {
        Ok(slot) => slot,
        Err(retry_after) => {
            return secondary::refuse(&sh, method, path, query, installation, retry_after, now);
        }
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let faulted = fault.is_some();
    let mut resp = match fault {
        Some(kind @ faults::FaultKind::AnswerLost(_)) => {
            let _carried_out = next.run(req).await;
            faults::response(&kind)
        }
        Some(kind) => faults::response(&kind),
        None if exhausted => faults::response(&faults::FaultKind::PrimaryRateLimit {
            reset_in: u64::try_from(bucket.reset - now.timestamp()).unwrap_or(0),
        }),
        None => next.run(req).await,
    };
    if method == "GET" && resp.status() == StatusCode::OK {
        let (not_modified, with_etag) = etag::apply(resp, if_none_match.as_deref()).await;
        resp = with_etag;
        if not_modified {
            // As on GitHub, a 304 answer to a conditional request costs no rate limit.
            bucket = etag::refund(&sh, cred.as_deref(), bucket);
        }
    }
    let headers = resp.headers_mut();
    let rate = [
        ("x-ratelimit-limit", bucket.limit.to_string()),
        ("x-ratelimit-remaining", bucket.remaining.to_string()),
        ("x-ratelimit-reset", bucket.reset.to_string()),
        ("x-ratelimit-used", bucket.used.to_string()),
        ("x-ratelimit-resource", resource.to_string()),
    ];
    for (name, value) in rate {
        if !headers.contains_key(name)
            && let Ok(v) = HeaderValue::from_str(&value)
        {
            headers.insert(name, v);
        }
    }
    headers.insert("x-github-media-type", HeaderValue::from_static("github.v3"));
    let call = ApiCall {
        method,
        path,
        query,
        status: resp.status().as_u16(),
        installation,
        faulted,
        at: now,
        answered: Utc::now(),
    };
    sh.lock().calls.push(call);
    resp
}

async fn not_found_handler() -> ApiError {
    ApiError::not_found()
}

/// The whole API.
pub(super) fn router(sh: Arc<Shared>) -> Router {
    Router::new()
        .merge(super::routes_app::routes())
        .merge(super::routes_repo::routes())
        .merge(super::routes_checks::routes())
        .merge(super::routes_deploy::routes())
        .merge(super::routes_graphql::routes())
        .merge(super::routes_issues::routes())
        .merge(super::routes_oauth::routes())
        .merge(super::routes_manifest::routes())
        .fallback(not_found_handler)
        .method_not_allowed_fallback(not_found_handler)
        .layer(axum::middleware::from_fn_with_state(sh.clone(), middleware))
        .with_state(sh)
}
