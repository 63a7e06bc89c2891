//! GitHub as a signed-in user sees it: the dashboard's sign-in (the GitHub App's user
//! authorization web flow) and what a user's token may read.
//!
//! Owns: exchanging an authorization code for a user access token (at GitHub's web address,
//! `{github_url}/login/oauth/access_token`), `GET /user`, and whether a user may read a
//! repository (`GET /repos/{owner}/{name}` with the user's token: 404 when they may not). Plain
//! reqwest, not the App's octocrab client: these calls carry the user's token, not the App's,
//! and spend the user's rate limit. Tokens are `SecretString`s, sent only in the
//! `Authorization` header and never logged or put in an error.

use std::time::Duration;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Why a call as the user failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    /// GitHub refused the code exchange (`bad_verification_code`, `incorrect_client_credentials`,
    /// `redirect_uri_mismatch`, ...).
    #[error("GitHub refused the sign-in: {error} ({description})")]
    Refused { error: String, description: String },
    /// The user's token is no longer good (expired or revoked): sign in again.
    #[error("GitHub no longer accepts your sign-in: sign in again")]
    Unauthorized,
    /// Any other non-success answer.
    #[error("GitHub answered HTTP {status} to {what}")]
    Status { what: &'static str, status: u16 },
    /// GitHub could not be reached (or did not answer in time).
    #[error("could not reach GitHub for {what}: {message}")]
    Transport { what: &'static str, message: String },
    /// The answer was not what GitHub documents.
    #[error("GitHub's answer to {what} was not as documented: {message}")]
    Decode { what: &'static str, message: String },
    /// Not an `owner/name`.
    #[error("{0:?} is not a repository name (owner/name)")]
    BadName(String),
    /// The client could not be built (TLS setup).
    #[error("GitHub user client setup: {0}")]
    Setup(String),
}

/// A user access token, as the code exchange hands it out.
pub struct UserToken {
    pub token: SecretString,
    /// Seconds it lives (`expires_in`; GitHub: 8 hours), when GitHub says (tokens of Apps that
    /// opted out of expiring tokens do not expire).
    pub expires_in: Option<u64>,
}

impl std::fmt::Debug for UserToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserToken")
            .field("token", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// The signed-in user (`GET /user`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GitHubUser {
    pub login: String,
    pub id: u64,
}

/// Whether a user may read a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoAccess {
    /// They may; `permission` is their highest: `admin`, `maintain`, `write`, `triage` or
    /// `read` (a public repository they have no role on reads as `read`).
    Readable { permission: String },
    /// GitHub says 404: no such repository, or a private one they may not see (GitHub does not
    /// tell the two apart, and neither do we).
    NotFound,
}

/// Calls as a user.
#[derive(Debug, Clone)]
pub struct UserClient {
    http: reqwest::Client,
    /// REST API base (`GITHUB_API_URL`), no trailing slash.
    api: String,
    /// GitHub's web address (`GITHUB_URL`), where the code is exchanged.
    web: String,
}

#[derive(Deserialize)]
struct ExchangeAnswer {
    access_token: Option<String>,
    expires_in: Option<u64>,
    error: Option<String>,
    error_description: Option<String>,
}

#[derive(Deserialize, Default)]
struct Permissions {
    #[serde(default)]
    admin: bool,
    #[serde(default)]
    maintain: bool,
    #[serde(default)]
    push: bool,
    #[serde(default)]
    triage: bool,
}

#[derive(Deserialize)]
struct RepoAnswer {
    #[serde(default)]
    permissions: Option<Permissions>,
}

fn enc(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

/// `owner/name` with GitHub's characters only.
pub fn valid_full_name(full_name: &str) -> bool {
    let ok_part = |p: &str| {
        !p.is_empty()
            && p.len() <= 100
            && p != "."
            && p != ".."
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    matches!(full_name.split_once('/'), Some((o, n)) if ok_part(o) && ok_part(n))
}

impl UserClient {
    pub fn new(api_url: &str, web_url: &str) -> Result<UserClient, UserError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("gangway/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| UserError::Setup(e.to_string()))?;
        Ok(UserClient {
            http,
            api: api_url.trim_end_matches('/').to_owned(),
            web: web_url.trim_end_matches('/').to_owned(),
        })
    }

    /// Exchanges the code GitHub sent back to the callback for the user's token.
    pub async fn exchange_code(
        &self,
        client_id: &str,
        client_secret: &SecretString,
        code: &str,
        redirect_uri: &str,
    ) -> Result<UserToken, UserError> {
        const WHAT: &str = "the sign-in code exchange";
        let body = format!(
            "client_id={}&client_secret={}&code={}&redirect_uri={}",
            enc(client_id),
            enc(client_secret.expose_secret()),
            enc(code),
            enc(redirect_uri)
        );
        let answer = self
            .http
            .post(format!("{}/login/oauth/access_token", self.web))
            .header(reqwest::header::ACCEPT, "application/json")
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .map_err(|e| transport(WHAT, &e))?;
        let status = answer.status().as_u16();
        if !answer.status().is_success() {
            return Err(UserError::Status { what: WHAT, status });
        }
        let bytes = answer.bytes().await.map_err(|e| transport(WHAT, &e))?;
        let parsed: ExchangeAnswer =
            serde_json::from_slice(&bytes).map_err(|e| UserError::Decode {
                what: WHAT,
                message: e.to_string(),
            })?;
        match (parsed.access_token, parsed.error) {
            (_, Some(error)) => Err(UserError::Refused {
                error: crate::types::truncate_for_error(&error),
                description: crate::types::truncate_for_error(
                    parsed
                        .error_description
                        .as_deref()
                        .unwrap_or("no reason given")
                        .trim_end_matches('.'),
                ),
            }),
            (Some(token), None) if !token.is_empty() => Ok(UserToken {
                token: SecretString::from(token),
                expires_in: parsed.expires_in,
            }),
            _ => Err(UserError::Decode {
                what: WHAT,
                message: "neither access_token nor error".into(),
            }),
        }
    }

    /// Who the token belongs to.
    pub async fn current_user(&self, token: &SecretString) -> Result<GitHubUser, UserError> {
        const WHAT: &str = "GET /user";
        let answer = self.get(&format!("{}/user", self.api), token, WHAT).await?;
        match answer.status().as_u16() {
            200 => {}
            401 => return Err(UserError::Unauthorized),
            status => return Err(UserError::Status { what: WHAT, status }),
        }
        let bytes = answer.bytes().await.map_err(|e| transport(WHAT, &e))?;
        serde_json::from_slice(&bytes).map_err(|e| UserError::Decode {
            what: WHAT,
            message: e.to_string(),
        })
    }

    /// Whether the token's user may read `full_name`, and with which permission.
    pub async fn repo_access(
        &self,
        token: &SecretString,
        full_name: &str,
    ) -> Result<RepoAccess, UserError> {
        const WHAT: &str = "GET /repos/{owner}/{repo}";
        if !valid_full_name(full_name) {
            return Err(UserError::BadName(crate::types::truncate_for_error(
                full_name,
            )));
        }
        let answer = self
            .get(&format!("{}/repos/{full_name}", self.api), token, WHAT)
            .await?;
        match answer.status().as_u16() {
            200 => {}
            // GitHub answers 404 for a private repository the user may not see, and 403 when
            // an organization's policy keeps the App's user tokens out of it.
            404 | 403 => return Ok(RepoAccess::NotFound),
            401 => return Err(UserError::Unauthorized),
            status => return Err(UserError::Status { what: WHAT, status }),
        }
        let bytes = answer.bytes().await.map_err(|e| transport(WHAT, &e))?;
        let repo: RepoAnswer = serde_json::from_slice(&bytes).map_err(|e| UserError::Decode {
            what: WHAT,
            message: e.to_string(),
        })?;
        let p = repo.permissions.unwrap_or_default();
        let permission = if p.admin {
            "admin"
        } else if p.maintain {
            "maintain"
        } else if p.push {
            "write"
        } else if p.triage {
            "triage"
        } else {
            "read"
        };
        Ok(RepoAccess::Readable {
            permission: permission.to_owned(),
        })
    }

    async fn get(
        &self,
        url: &str,
        token: &SecretString,
        what: &'static str,
    ) -> Result<reqwest::Response, UserError> {
        self.http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28")
            .bearer_auth(token.expose_secret())
            .send()
            .await
            .map_err(|e| transport(what, &e))
    }
}

/// A transport error without its URL (which holds nothing secret, but is noise).
fn transport(what: &'static str, e: &reqwest::Error) -> UserError {
    let message = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        e.to_string()
    };
    UserError::Transport { what, message }
}

#[cfg(test)]
#[path = "user_tests.rs"]
mod tests;
