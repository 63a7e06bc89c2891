//! What a viewer may see: a repository's pages, the operator views.
//!
//! A signed-in viewer may read a repository when GitHub, asked with their own token, lets them
//! (`GET /repos/{owner}/{name}`: private repositories they are not a collaborator of are 404).
//! An anonymous visitor may read only with `GANGWAY_DASHBOARD_PUBLIC=true`, and only a public
//! repository Gangway serves: the App's own installation token asks GitHub whether it is
//! private (the store keeps no visibility, and an unauthenticated read would spend the tiny
//! anonymous rate limit of Gangway's address). Answers are kept 60 seconds per (session,
//! repository) and per repository for anonymous visitors. When GitHub cannot be asked, the
//! answer is an [`AccessError`] (the page says so), never "allowed".

use std::collections::HashMap;
use std::sync::Mutex;

use http::Method;
use serde::Deserialize;

use super::WebState;
use super::session::Viewer;
use crate::github::user::{RepoAccess, UserClient, UserError, valid_full_name};
use crate::github::{GitHub, GitHubError};
use crate::types::InstallationId;

/// How long an answer is kept.
pub const CACHE_MS: i64 = 60_000;
/// Most answers kept; past it the expired ones go, and if that is not enough, all.
const CACHE_MAX: usize = 10_000;

/// Why access could not be decided (GitHub unreachable, say): the page says so, and shows
/// nothing of the repository.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("could not ask GitHub whether you may read {0}: {1}")]
    GitHub(String, String),
    #[error("could not read your session: {0}")]
    Store(String),
}

/// The clients that ask GitHub, and their recent answers.
pub struct Access {
    users: UserClient,
    github: GitHub,
    /// (who, repository in lower case) → (when asked, may read).
    cache: Mutex<HashMap<(String, String), (i64, bool)>>,
}

impl Access {
    pub fn new(users: UserClient, github: GitHub) -> Access {
        Access {
            users,
            github,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The user-token client (sign-in uses it too).
    pub fn users(&self) -> &UserClient {
        &self.users
    }

    fn cached(&self, key: &(String, String), now_ms: i64) -> Option<bool> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(key)
            .filter(|(at, _)| now_ms - at < CACHE_MS && now_ms >= *at)
            .map(|(_, ok)| *ok)
    }

    fn remember(&self, key: (String, String), now_ms: i64, ok: bool) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_MAX {
            cache.retain(|_, (at, _)| now_ms - *at < CACHE_MS);
            if cache.len() >= CACHE_MAX {
                cache.clear();
            }
        }
        cache.insert(key, (now_ms, ok));
    }

    /// Forgets every answer about one session (it signed out).
    pub fn forget_session(&self, csrf: &str) {
        let who = session_key(csrf);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|(w, _), _| *w != who);
    }
}

fn session_key(csrf: &str) -> String {
    format!("session:{csrf}")
}

#[derive(Deserialize)]
struct Visibility {
    private: bool,
}

/// Whether `viewer` (or an anonymous visitor) may read `full_name`'s pages.
pub async fn can_read(
    state: &WebState,
    viewer: Option<&Viewer>,
    full_name: &str,
) -> Result<bool, AccessError> {
    if !valid_full_name(full_name) {
        return Ok(false);
    }
    let now = state.clock.now_ms();
    let repo = full_name.to_ascii_lowercase();
    let who = match viewer {
        Some(v) => session_key(&v.csrf),
        None if state.settings.public_read => "anonymous".to_owned(),
        None => return Ok(false),
    };
    let key = (who, repo);
    if let Some(ok) = state.access.cached(&key, now) {
        return Ok(ok);
    }
    let ok = match viewer {
        Some(v) => as_user(state, v, full_name, now).await?,
        None => publicly_readable(state, full_name).await?,
    };
    state.access.remember(key, now, ok);
    Ok(ok)
}

/// Asks GitHub with the viewer's own token.
async fn as_user(
    state: &WebState,
    viewer: &Viewer,
    full_name: &str,
    now: i64,
) -> Result<bool, AccessError> {
    let session = state
        .store
        .web_session_by_csrf(&viewer.csrf, now)
        .await
        .map_err(|e| AccessError::Store(e.to_string()))?;
    // Signed out (or expired) since the request began: nothing to read with.
    let Some(session) = session else {
        return Ok(false);
    };
    match state
        .access
        .users
        .repo_access(&session.token, full_name)
        .await
    {
        Ok(RepoAccess::Readable { .. }) => Ok(true),
        Ok(RepoAccess::NotFound) | Err(UserError::BadName(_)) => Ok(false),
        Err(e) => Err(AccessError::GitHub(full_name.to_owned(), e.to_string())),
    }
}

/// A repository Gangway serves, and GitHub says it is public (asked as the App).
async fn publicly_readable(state: &WebState, full_name: &str) -> Result<bool, AccessError> {
    let served = state
        .store
        .active_repositories()
        .await
        .map_err(|e| AccessError::Store(e.to_string()))?;
    let Some((_, name, installation)) = served
        .into_iter()
        .find(|(_, name, _)| name.eq_ignore_ascii_case(full_name))
    else {
        return Ok(false);
    };
    let Ok(installation) = u64::try_from(installation) else {
        return Ok(false);
    };
    let route = format!("/repos/{name}");
    match state
        .access
        .github
        .json::<Visibility, ()>(InstallationId(installation), Method::GET, &route, None)
        .await
    {
        Ok(v) => Ok(!v.private),
        Err(GitHubError::Rejected { status: 404, .. }) => Ok(false),
        Err(e) => Err(AccessError::GitHub(full_name.to_owned(), e.to_string())),
    }
}

/// Whether `viewer` sees the operator views (`GANGWAY_OPERATORS`).
pub fn is_operator(state: &WebState, viewer: Option<&Viewer>) -> bool {
    viewer.is_some_and(|v| {
        state
            .settings
            .operators
            .iter()
            .any(|o| o.eq_ignore_ascii_case(&v.login))
    })
}
