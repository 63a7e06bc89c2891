//! GitHub REST client for the App: JWT → installation tokens (cached), calls, error classification.
//!
//! Owns: authentication (octocrab signs RS256 JWTs and caches each installation's token until
//! shortly before it expires; we keep one client per installation so the cache is shared), the
//! retry classification of every failure, and counting calls by status. Octocrab's own retries
//! are off: the durable job queue retries. Never logs a token or the private key.
//!
//! The calls themselves are typed operations in `rest` (every list read whole through
//! `paginate`) and `checks` (GraphQL); callers do not build routes or decode answers.

pub mod checks;
pub mod graphql;
pub mod manifest;
pub mod pacing;
pub mod paginate;
pub mod ratelimit;
pub mod rest;
pub mod user;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt;
use octocrab::Octocrab;
use octocrab::models::{AppId, InstallationId as OctoInstallationId};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::metrics::Metrics;
use crate::types::InstallationId;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitHubError {
    /// Worth retrying: 5xx, 429, secondary or primary rate limit, network trouble.
    #[error("GitHub {what}: {message} (transient)")]
    Transient {
        what: String,
        message: String,
        retry_after: Option<Duration>,
    },
    /// Will not get better by retrying (4xx).
    #[error("GitHub {what}: HTTP {status}: {message}")]
    Rejected {
        what: String,
        status: u16,
        message: String,
    },
    /// The answer was not what GitHub documents.
    #[error("GitHub {what}: unexpected answer: {message}")]
    Decode { what: String, message: String },
    /// Our own configuration is wrong (bad key, bad URL).
    #[error("GitHub client setup: {0}")]
    Setup(String),
    /// A list could not be read to its end (see [`paginate`]); never a partial list.
    #[error("GitHub {what}: {error}")]
    Paging {
        what: String,
        error: paginate::PageError,
    },
}

impl GitHubError {
    pub fn status(&self) -> Option<u16> {
        match self {
            GitHubError::Rejected { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A successful answer.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T, GitHubError> {
        serde_json::from_slice(&self.body).map_err(|e| GitHubError::Decode {
            what: what.to_owned(),
            message: e.to_string(),
        })
    }
}

/// The App's view of GitHub: one per process, shared.
#[derive(Clone)]
pub struct GitHub {
    app: Octocrab,
    installations: Arc<Mutex<HashMap<InstallationId, Arc<InstallationClient>>>>,
    budgets: Arc<ratelimit::Budgets>,
    /// Keeps each installation under GitHub's secondary rate limits (see `pacing`).
    pacing: Arc<pacing::Pacing>,
    metrics: Metrics,
    /// This App's id: what GitHub names as `performed_via_github_app` on what it made.
    app_id: u64,
    /// Where GraphQL queries go (see [`graphql::graphql_url`]).
    graphql_url: String,
    /// The REST API's base, which every next-page link must point into.
    api: http::Uri,
}

/// One installation's client. Octocrab keeps the token cache inside the client value and a clone
/// copies it, so the client is shared behind an `Arc`, never cloned; `minting` makes concurrent
/// first calls wait for one token request instead of each making their own.
struct InstallationClient {
    client: Octocrab,
    minting: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for GitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHub").finish_non_exhaustive()
    }
}

impl GitHub {
    pub fn new(
        api_url: &str,
        app_id: u64,
        private_key: &SecretString,
        metrics: Metrics,
    ) -> Result<GitHub, GitHubError> {
        // The key was checked at config load; the parser's error is never repeated (it could quote the key).
        let key = octocrab::EncodingKey::from_rsa_pem(private_key.expose_secret().as_bytes())
            .map_err(|_| {
                GitHubError::Setup("the App private key is not a valid RSA PEM key".into())
            })?;
        let app = Octocrab::builder()
            .base_uri(api_url)
            .map_err(|e| GitHubError::Setup(format!("GITHUB_API_URL {api_url:?}: {e}")))?
            .app(AppId(app_id), key)
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(30)))
            .build()
            .map_err(|e| GitHubError::Setup(e.to_string()))?;
        Ok(GitHub {
            app,
            installations: Arc::default(),
            budgets: Arc::default(),
            pacing: Arc::new(pacing::Pacing::new(pacing::PacingSettings::for_api_url(
                api_url,
            ))),
            metrics,
            app_id,
            graphql_url: graphql::graphql_url(api_url),
            api: api_url
                .parse()
                .map_err(|e| GitHubError::Setup(format!("GITHUB_API_URL {api_url:?}: {e}")))?,
        })
    }

    /// This App's id, to tell what it made from what others did.
    pub fn app_id(&self) -> u64 {
        self.app_id
    }

    /// Every installation's budgets as last reported (the dashboard's operator view).
    pub fn budgets(&self) -> Arc<ratelimit::Budgets> {
        self.budgets.clone()
    }

    /// The installation's budget of one resource (`core`, `graphql`) as GitHub last reported it.
    pub fn budget_of(
        &self,
        installation: InstallationId,
        resource: &str,
    ) -> Option<ratelimit::Budget> {
        self.budgets.get_resource(installation, resource)
    }

    /// The client for one installation, created once so its token cache is shared by every call.
    fn installation(&self, id: InstallationId) -> Result<Arc<InstallationClient>, GitHubError> {
        let mut map = self
            .installations
            .lock()
            .map_err(|_| GitHubError::Setup("client cache poisoned".into()))?;
        if let Some(c) = map.get(&id) {
            return Ok(c.clone());
        }
        let client = self
            .app
            .installation(OctoInstallationId(id.0))
            .map_err(|e| GitHubError::Setup(format!("installation {id}: {e}")))?;
        let shared = Arc::new(InstallationClient {
            client,
            minting: tokio::sync::Mutex::new(()),
        });
        map.insert(id, shared.clone());
        Ok(shared)
    }

    /// The installation's client with a token valid for 30 s more (one caller mints, the others
    /// wait for it), and this call's pacing permit, held until the answer is read. `write`: the
    /// call creates content (GitHub's secondary write limits apply).
    async fn ready(
        &self,
        installation: InstallationId,
        write: bool,
        what: &str,
    ) -> Result<(Arc<InstallationClient>, SecretString, pacing::Permit), GitHubError> {
        self.unless_paused(installation, what)?;
        let shared = self.installation(installation)?;
        let token = {
            let _one_at_a_time = shared.minting.lock().await;
            shared
                .client
                .installation_token()
                .await
                .map_err(|e| classify_client_error(what, e))?
        };
        let permit = self.pacing.admit_as(installation, write).await;
        // A pause may have begun while this call waited for its turn.
        self.unless_paused(installation, what)?;
        Ok((shared, token, permit))
    }

    /// A call of an installation paused by a secondary limit is not sent (see `pacing`).
    fn unless_paused(&self, installation: InstallationId, what: &str) -> Result<(), GitHubError> {
        match self.pacing.paused(installation) {
            Some(left) => Err(GitHubError::Transient {
                what: what.to_owned(),
                message: format!(
                    "not sent: GitHub asked this installation to pause after a secondary rate limit ({} ms left)",
                    left.as_millis()
                ),
                retry_after: Some(left),
            }),
            None => Ok(()),
        }
    }

    /// One REST call as the installation. `route` is relative (`/repos/o/r/...`): octocrab only
    /// sends credentials to relative routes. Non-2xx answers become classified errors.
    pub async fn request<B: Serialize + ?Sized>(
        &self,
        installation: InstallationId,
        method: Method,
        route: &str,
        body: Option<&B>,
    ) -> Result<Response, GitHubError> {
        let what = format!("{method} {}", route.split('?').next().unwrap_or(route));
        let (shared, _, _paced) = self
            .ready(installation, pacing::creates_content(&method), &what)
            .await?;
        let client = &shared.client;
        let sent = match method {
            Method::GET => client._get(route).await,
            Method::POST => client._post(route, body).await,
            Method::PATCH => client._patch(route, body).await,
            Method::PUT => client._put(route, body).await,
            Method::DELETE => client._delete(route, body).await,
            other => return Err(GitHubError::Setup(format!("unsupported method {other}"))),
        };
        self.answer(&what, Some(installation), sent, false).await
    }

    /// Reads an answer: counts it, records the rate-limit budget, and turns non-2xx into a
    /// classified error (`304 Not Modified` is an answer when `not_modified_ok`).
    async fn answer(
        &self,
        what: &str,
        installation: Option<InstallationId>,
        sent: Result<
            http::Response<http_body_util::combinators::BoxBody<Bytes, octocrab::Error>>,
            octocrab::Error,
        >,
        not_modified_ok: bool,
    ) -> Result<Response, GitHubError> {
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                self.metrics.github_call(None);
                return Err(classify_client_error(what, e));
            }
        };
        let status = response.status();
        self.metrics.github_call(Some(status.as_u16()));
        let headers = response.headers().clone();
        if let Some(i) = installation {
            self.budgets.record(i, &headers);
        }
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| GitHubError::Transient {
                what: what.to_owned(),
                message: format!("reading the answer: {e}"),
                retry_after: None,
            })?
            .to_bytes();
        if status.is_success() || (not_modified_ok && status == StatusCode::NOT_MODIFIED) {
            return Ok(Response {
                status,
                headers,
                body,
            });
        }
        if let (Some(i), Some(pause)) = (installation, secondary_limit(status, &headers, &body))
            && self.pacing.pause(i, pause)
        {
            let until = chrono::Utc::now().timestamp()
                + i64::try_from(pause.as_secs()).unwrap_or(i64::MAX / 2);
            self.metrics.github_paused(i.0, until);
            tracing::warn!(
                installation = i.0,
                pause_ms = pause.as_millis() as u64,
                call = what,
                "GitHub answered a secondary rate limit: every call of this installation waits until its Retry-After has passed"
            );
        }
        Err(classify_status(
            what,
            status,
            &headers,
            &body,
            chrono::Utc::now().timestamp(),
        ))
    }

    /// A conditional GET: with the ETag of a cached answer, GitHub answers `304 Not Modified`
    /// (which costs no rate limit) when nothing changed. `Ok(None)` means "unchanged".
    pub async fn get_if_changed(
        &self,
        installation: InstallationId,
        route: &str,
        etag: Option<&str>,
    ) -> Result<Option<Response>, GitHubError> {
        let what = format!("GET {}", route.split('?').next().unwrap_or(route));
        let (shared, _, _paced) = self.ready(installation, false, &what).await?;
        let mut headers = HeaderMap::new();
        if let Some(tag) = etag.and_then(|t| http::HeaderValue::from_str(t).ok()) {
            headers.insert(http::header::IF_NONE_MATCH, tag);
        }
        let sent = shared.client._get_with_headers(route, Some(headers)).await;
        let answer = self.answer(&what, Some(installation), sent, true).await?;
        Ok((answer.status != StatusCode::NOT_MODIFIED).then_some(answer))
    }

    /// A GET as the App itself (JWT), answered as is.
    async fn app_get(&self, route: &str) -> Result<Response, GitHubError> {
        let what = format!("GET {}", route.split('?').next().unwrap_or(route));
        let sent = self.app._get(route).await;
        self.answer(&what, None, sent, false).await
    }

    /// A call as the App itself (JWT), e.g. listing installations or webhook deliveries.
    pub async fn app_json<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        route: &str,
        body: Option<&B>,
    ) -> Result<T, GitHubError> {
        let what = format!("{method} {}", route.split('?').next().unwrap_or(route));
        let sent = match method {
            Method::GET => self.app._get(route).await,
            Method::POST => self.app._post(route, body).await,
            other => return Err(GitHubError::Setup(format!("unsupported method {other}"))),
        };
        let answer = self.answer(&what, None, sent, false).await?;
        if answer.body.iter().all(u8::is_ascii_whitespace) {
            // `202 Accepted` with no body (redelivery requests): read as JSON null.
            return serde_json::from_str("null").map_err(|e| GitHubError::Decode {
                what,
                message: e.to_string(),
            });
        }
        answer.json(&what)
    }

    /// A call whose answer is JSON of type `T`.
    pub async fn json<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        installation: InstallationId,
        method: Method,
        route: &str,
        body: Option<&B>,
    ) -> Result<T, GitHubError> {
        let what = format!("{method} {route}");
        self.request(installation, method, route, body)
            .await?
            .json(&what)
    }
}

/// Errors before any answer: token minting refused, network, timeouts.
fn classify_client_error(what: &str, e: octocrab::Error) -> GitHubError {
    match e {
        // The installation-token request itself was answered with an error.
        octocrab::Error::GitHub { source, .. } => {
            let status = source.status_code.as_u16();
            let message = format!("installation token request: {}", source.message);
            if status >= 500 || status == 429 {
                GitHubError::Transient {
                    what: what.to_owned(),
                    message,
                    retry_after: None,
                }
            } else {
                GitHubError::Rejected {
                    what: what.to_owned(),
                    status,
                    message,
                }
            }
        }
        other => GitHubError::Transient {
            what: what.to_owned(),
            message: other.to_string(),
            retry_after: None,
        },
    }
}

/// A header's value as a whole number, if it is one.
fn header_num(headers: &HeaderMap, name: &str) -> Option<i64> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
}

/// How long GitHub asks the whole installation to wait, when an answer is a secondary rate limit:
/// a 429, or a 403 with `Retry-After` or the secondary-limit message (not a spent primary
/// budget, whose reset the budgets track). `Retry-After` when given, else a minute, as GitHub
/// advises.
pub fn secondary_limit(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Option<Duration> {
    let header_num = |name: &str| header_num(headers, name);
    let retry_after =
        header_num("retry-after").map(|s| Duration::from_secs(s.max(0).unsigned_abs()));
    let primary_exhausted = header_num("x-ratelimit-remaining") == Some(0);
    let secondary = String::from_utf8_lossy(body)
        .to_ascii_lowercase()
        .contains("secondary rate limit");
    let code = status.as_u16();
    let limited =
        code == 429 || (code == 403 && !primary_exhausted && (retry_after.is_some() || secondary));
    limited.then(|| retry_after.unwrap_or(Duration::from_secs(60)))
}

/// Turns a non-2xx answer into an error, deciding whether it is worth retrying and when.
pub fn classify_status(
    what: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    now_secs: i64,
) -> GitHubError {
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_else(|| crate::types::truncate_long(&String::from_utf8_lossy(body), 300));
    let header_num = |name: &str| header_num(headers, name);
    let retry_after =
        header_num("retry-after").map(|s| Duration::from_secs(s.max(0).unsigned_abs()));
    let primary_exhausted = header_num("x-ratelimit-remaining") == Some(0);
    let reset_in = header_num("x-ratelimit-reset")
        .map(|reset| Duration::from_secs((reset - now_secs).max(1).unsigned_abs()));
    let secondary = message
        .to_ascii_lowercase()
        .contains("secondary rate limit");
    let code = status.as_u16();
    let transient = status.is_server_error()
        || code == 429
        || (code == 403 && (retry_after.is_some() || primary_exhausted || secondary));
    if transient {
        // GitHub: honour retry-after; else, when the primary limit is spent, wait for its reset;
        // else (secondary limit without a header) wait at least a minute.
        let retry_after = retry_after
            .or(if primary_exhausted { reset_in } else { None })
            .or(if secondary {
                Some(Duration::from_secs(60))
            } else {
                None
            });
        GitHubError::Transient {
            what: what.to_owned(),
            message: format!("HTTP {code}: {message}"),
            retry_after,
        }
    } else {
        GitHubError::Rejected {
            what: what.to_owned(),
            status: code,
            message,
        }
    }
}

#[cfg(test)]
#[path = "github_tests.rs"]
mod tests;
