//! Signing in with GitHub (the GitHub App's user-authorization web flow) and out.
//!
//! - `GET /login[?next=/path]`: a random `state` goes into the short-lived signed cookie
//!   `gangway_oauth` (10 minutes, with the `next` page: relative paths only), and the browser
//!   to `{github_url}/login/oauth/authorize`.
//! - `GET /auth/callback?code&state`: the state must equal the cookie's (compared in constant
//!   time) and be unexpired; the code is exchanged for the user's token, `GET /user` says who
//!   they are, and a session is stored (`web_sessions`, 8 hours or the token's life if shorter)
//!   with the signed `gangway_session` cookie. Anything wrong: a page that says so, and no
//!   session.
//! - `POST /logout` (CSRF-checked): deletes the session row and the cookie.
//!
//! The user's token stays in the session row; it is never sent to the browser or logged.

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::WebState;
use super::page::{Chrome, html};
use super::session::{
    MaybeViewer, SESSION_COOKIE, id_hash, random_token, read_signed, removal, signed_cookie,
};
use crate::github::user::UserError;
use crate::store::NewWebSession;

/// The sign-in state cookie's name.
pub const OAUTH_COOKIE: &str = "gangway_oauth";
/// How long a sign-in may take between `/login` and the callback.
const OAUTH_TTL_SECS: i64 = 600;
/// Longest a session lives (GitHub's user tokens live 8 hours too).
pub const SESSION_TTL_SECS: i64 = 8 * 3600;
/// Longest `next` kept.
const MAX_NEXT: usize = 512;
/// Longest `code`/`state`/`error` read from the callback's query.
const MAX_PARAM: usize = 512;

#[derive(Template)]
#[template(path = "auth.html")]
struct AuthPage {
    chrome: Chrome,
    heading: String,
    message: String,
    settings: Vec<&'static str>,
}

fn page(state: &WebState, status: StatusCode, heading: &str, message: &str) -> Response {
    let p = AuthPage {
        chrome: Chrome::new(&MaybeViewer(None), heading),
        heading: heading.to_owned(),
        message: message.to_owned(),
        settings: Vec::new(),
    };
    html(state, status, &p)
}

fn not_configured(state: &WebState) -> Response {
    let p = AuthPage {
        chrome: Chrome::new(&MaybeViewer(None), "Sign-in is not configured"),
        heading: "Sign-in is not configured".to_owned(),
        message: "Signing in with GitHub needs the GitHub App's client id and client secret \
                  (from the App's settings page on GitHub). Set these and restart Gangway:"
            .to_owned(),
        settings: vec![
            "GANGWAY_GITHUB_CLIENT_ID",
            "GANGWAY_GITHUB_CLIENT_SECRET (or GANGWAY_GITHUB_CLIENT_SECRET_FILE)",
        ],
    };
    html(state, StatusCode::SERVICE_UNAVAILABLE, &p)
}

/// What the `gangway_oauth` cookie carries.
#[derive(Serialize, Deserialize)]
struct Pending {
    state: String,
    /// Unix milliseconds after which the sign-in is refused.
    expires: i64,
    next: String,
}

/// `next` if it is a path on this site, else `/`: no scheme, no host (`//evil`), no
/// backslashes (browsers read `/\evil` as `//evil`), no control characters.
pub fn safe_next(next: Option<&str>) -> String {
    let Some(n) = next else {
        return "/".to_owned();
    };
    let ok = n.starts_with('/')
        && !n.starts_with("//")
        && n.len() <= MAX_NEXT
        && !n.contains('\\')
        && !n.chars().any(|c| c.is_control() || c.is_whitespace());
    if ok { n.to_owned() } else { "/".to_owned() }
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn callback_url(state: &WebState) -> String {
    format!(
        "{}/auth/callback",
        state.settings.public_url.trim_end_matches('/')
    )
}

fn redirect(status: StatusCode, to: &str, cookies: &[String]) -> Response {
    let mut r = status.into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(to) {
        h.insert(header::LOCATION, v);
    }
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn with_cookies(mut r: Response, cookies: &[String]) -> Response {
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// `GET /login`: off to GitHub.
pub async fn login(
    State(state): State<WebState>,
    query: Result<Query<LoginQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some(client_id) = state.settings.client_id.as_deref() else {
        return not_configured(&state);
    };
    if state.settings.client_secret.is_none() {
        return not_configured(&state);
    }
    let next = query.ok().and_then(|Query(q)| q.next);
    let pending = Pending {
        state: random_token(),
        expires: state.clock.now_ms() + OAUTH_TTL_SECS * 1000,
        next: safe_next(next.as_deref()),
    };
    let Ok(json) = serde_json::to_vec(&pending) else {
        return page(
            &state,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Sign-in failed",
            "The sign-in could not be started.",
        );
    };
    let Some(cookie) = signed_cookie(
        &state,
        OAUTH_COOKIE,
        URL_SAFE_NO_PAD.encode(json),
        OAUTH_TTL_SECS,
    ) else {
        return page(
            &state,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Sign-in failed",
            "The sign-in could not be started.",
        );
    };
    let to = format!(
        "{}/login/oauth/authorize?client_id={}&redirect_uri={}&state={}",
        state.settings.github_url.trim_end_matches('/'),
        enc(client_id),
        enc(&callback_url(&state)),
        enc(&pending.state)
    );
    redirect(StatusCode::FOUND, &to, &[cookie])
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Constant-time equality (both sides are our own fixed-length tokens when genuine).
fn equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn pending_of(headers: &HeaderMap, state: &WebState) -> Option<Pending> {
    let raw = read_signed(headers, state, OAUTH_COOKIE)?;
    let json = URL_SAFE_NO_PAD.decode(raw).ok()?;
    serde_json::from_slice(&json).ok()
}

/// `GET /auth/callback`: GitHub sends the browser back here.
pub async fn callback(
    State(state): State<WebState>,
    headers: HeaderMap,
    query: Result<Query<CallbackQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    // The state cookie is spent whatever happens next.
    let clear = vec![removal(&state, OAUTH_COOKIE)];
    let answer = sign_in(&state, &headers, query.ok().map(|Query(q)| q)).await;
    with_cookies(answer, &clear)
}

async fn sign_in(state: &WebState, headers: &HeaderMap, q: Option<CallbackQuery>) -> Response {
    let refused = |message: &str| page(state, StatusCode::BAD_REQUEST, "Sign-in failed", message);
    let Some(q) = q else {
        return refused("GitHub's answer could not be read. Sign in again.");
    };
    let too_long = [&q.code, &q.state, &q.error, &q.error_description]
        .iter()
        .any(|v| v.as_ref().is_some_and(|v| v.len() > MAX_PARAM));
    if too_long {
        return refused("GitHub's answer was too long. Sign in again.");
    }
    if let Some(error) = q.error.as_deref() {
        if error == "access_denied" {
            return page(
                state,
                StatusCode::OK,
                "Sign-in cancelled",
                "Sign-in was cancelled on GitHub: you are not signed in.",
            );
        }
        return refused(&format!(
            "GitHub did not sign you in: {error} ({}).",
            q.error_description.as_deref().unwrap_or("no description")
        ));
    }
    let (Some(client_id), Some(secret)) = (
        state.settings.client_id.as_deref(),
        state.settings.client_secret.as_ref(),
    ) else {
        return not_configured(state);
    };
    let now = state.clock.now_ms();
    let given = q.state.as_deref().unwrap_or_default();
    let pending = pending_of(headers, state);
    let good = pending.as_ref().is_some_and(|p| {
        !given.is_empty() && equal(given.as_bytes(), p.state.as_bytes()) && now < p.expires
    });
    let Some(pending) = pending.filter(|_| good) else {
        return refused(
            "This sign-in could not be verified: it was started elsewhere, is older than ten \
             minutes, or was already used. Sign in again.",
        );
    };
    let Some(code) = q.code.as_deref().filter(|c| !c.is_empty()) else {
        return refused("GitHub's answer carried no code. Sign in again.");
    };
    let users = state.access.users();
    let token = match users
        .exchange_code(client_id, secret, code, &callback_url(state))
        .await
    {
        Ok(t) => t,
        Err(e) => return github_failed(state, &e),
    };
    let who = match users.current_user(&token.token).await {
        Ok(u) => u,
        Err(e) => return github_failed(state, &e),
    };
    let ttl = token
        .expires_in
        .and_then(|s| i64::try_from(s).ok())
        .map_or(SESSION_TTL_SECS, |s| s.min(SESSION_TTL_SECS))
        .max(60);
    let id = random_token();
    let csrf = random_token();
    let hash = id_hash(&id);
    let new = NewWebSession {
        id_hash: &hash,
        login: &who.login,
        user_id: who.id,
        token: &token.token,
        csrf: &csrf,
        expires_at: now + ttl * 1000,
    };
    if let Err(e) = state.store.create_web_session(&new, now).await {
        tracing::error!(error = %e, "could not store a dashboard session");
        return page(
            state,
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign-in failed",
            "Your session could not be stored. Try again in a moment.",
        );
    }
    tracing::info!(login = %who.login, "signed in to the dashboard");
    let Some(cookie) = signed_cookie(state, SESSION_COOKIE, id, ttl) else {
        return refused("The session cookie could not be made.");
    };
    redirect(StatusCode::SEE_OTHER, &pending.next, &[cookie])
}

fn github_failed(state: &WebState, e: &UserError) -> Response {
    tracing::warn!(error = %e, "dashboard sign-in failed at GitHub");
    let status = match e {
        UserError::Refused { .. } => StatusCode::BAD_REQUEST,
        _ => StatusCode::BAD_GATEWAY,
    };
    page(
        state,
        status,
        "Sign-in failed",
        &format!("{e}. Sign in again."),
    )
}

#[derive(Deserialize, Default)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /logout`.
pub async fn logout(
    State(state): State<WebState>,
    viewer: MaybeViewer,
    headers: HeaderMap,
    form: Result<Form<LogoutForm>, FormRejection>,
) -> Response {
    let clear = removal(&state, SESSION_COOKIE);
    let Some(viewer) = viewer.0 else {
        return redirect(StatusCode::SEE_OTHER, "/", &[clear]);
    };
    let token = form.map(|Form(f)| f.csrf).unwrap_or_default();
    if let Err(refusal) = super::csrf::check(&viewer, &token, &headers, &state.settings.public_url)
    {
        let p = AuthPage {
            chrome: Chrome::new(&MaybeViewer(Some(viewer)), "Not signed out"),
            heading: "Not signed out".to_owned(),
            message: refusal.to_string(),
            settings: Vec::new(),
        };
        return html(&state, StatusCode::FORBIDDEN, &p);
    }
    if let Some(id) = read_signed(&headers, &state, SESSION_COOKIE)
        && let Err(e) = state.store.delete_web_session(&id_hash(&id)).await
    {
        tracing::error!(error = %e, "could not delete a dashboard session");
        return page(
            &state,
            StatusCode::SERVICE_UNAVAILABLE,
            "Not signed out",
            "Your session could not be deleted. Try again in a moment.",
        );
    }
    state.access.forget_session(&viewer.csrf);
    redirect(StatusCode::SEE_OTHER, "/", &[clear])
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
