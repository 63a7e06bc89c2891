//! Who is looking: the signed-in GitHub user of this request, if any.
//!
//! A session is a row of `web_sessions` (created by the sign-in callback, `auth`); the browser
//! holds only its random 32-byte id in the `gangway_session` cookie, signed (HMAC-SHA256, the
//! `cookie` crate's signed jar) with the key derived from the App's private key
//! (`WebSettings::session_key`). The store keeps the id's SHA-256, never the id. A cookie that
//! is missing, tampered with, unknown or expired is an anonymous visitor.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::{Cookie, CookieJar, Key, SameSite};
use sha2::{Digest, Sha256};

use super::WebState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "gangway_session";

/// A signed-in GitHub user.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub login: String,
    pub id: u64,
    /// This session's CSRF token, put in every form and checked on every POST.
    pub csrf: String,
}

/// The signed-in user of this request, or `None`.
pub struct MaybeViewer(pub Option<Viewer>);

impl FromRequestParts<WebState> for MaybeViewer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        let Some(id) = read_signed(&parts.headers, state, SESSION_COOKIE) else {
            return Ok(MaybeViewer(None));
        };
        let now = state.clock.now_ms();
        match state.store.web_session(&id_hash(&id), now).await {
            Ok(Some(s)) => Ok(MaybeViewer(Some(Viewer {
                login: s.login,
                id: s.user_id,
                csrf: s.csrf,
            }))),
            Ok(None) => Ok(MaybeViewer(None)),
            Err(e) => {
                tracing::warn!(error = %e, "could not read a dashboard session: treated as signed out");
                Ok(MaybeViewer(None))
            }
        }
    }
}

/// A handler that needs a signed-in user takes a `Viewer`; without one the browser is sent to
/// sign in.
impl FromRequestParts<WebState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Response> {
        let Ok(MaybeViewer(viewer)) = MaybeViewer::from_request_parts(parts, state).await;
        viewer.ok_or_else(|| Redirect::to("/login").into_response())
    }
}

/// A fresh random token: 32 bytes, URL-safe base64 (43 characters).
pub(super) fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// What the store keeps of a session id: its SHA-256, hex.
pub(super) fn id_hash(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

fn key(state: &WebState) -> Option<Key> {
    Key::try_from(&state.settings.session_key.bytes()[..]).ok()
}

/// The verified value of the signed cookie `name`, if the request carries a good one.
pub(super) fn read_signed(headers: &HeaderMap, state: &WebState, name: &str) -> Option<String> {
    let key = key(state)?;
    let mut jar = CookieJar::new();
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for c in Cookie::split_parse(text.to_owned()).flatten() {
            if c.name() == name {
                jar.add_original(c.into_owned());
            }
        }
    }
    jar.signed(&key).get(name).map(|c| c.value().to_owned())
}

/// Whether cookies get `Secure`: when Gangway is served over https. On plain http (a local
/// trial, tests) a `Secure` cookie would never come back, so nobody could sign in.
pub(super) fn secure(state: &WebState) -> bool {
    state
        .settings
        .public_url
        .to_ascii_lowercase()
        .starts_with("https://")
}

/// A `Set-Cookie` value: `name=value` signed, `HttpOnly`, `SameSite=Lax`, `Path=/`, `Secure`
/// on https, living `max_age_secs`.
pub(super) fn signed_cookie(
    state: &WebState,
    name: &'static str,
    value: String,
    max_age_secs: i64,
) -> Option<String> {
    let key = key(state)?;
    let mut jar = CookieJar::new();
    let c = Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(secure(state))
        .max_age(cookie::time::Duration::seconds(max_age_secs.max(0)));
    jar.signed_mut(&key).add(c);
    jar.delta().next().map(|c| c.to_string())
}

/// A `Set-Cookie` value that removes cookie `name`.
pub(super) fn removal(state: &WebState, name: &'static str) -> String {
    Cookie::build((name, ""))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(secure(state))
        .max_age(cookie::time::Duration::ZERO)
        .build()
        .to_string()
}
