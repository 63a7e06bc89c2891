//! Rendering a page: the template, the headers every page carries, and the pages themselves.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::WebState;
use super::session::MaybeViewer;

/// Content-Security-Policy of every page: our own stylesheet and script only, no inline script,
/// no frames, forms post only to Gangway (and, for the App's registration, to GitHub).
fn policy(github_url: &str) -> String {
    format!(
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
         connect-src 'self'; form-action 'self' {github_url}; frame-ancestors 'none'; \
         base-uri 'none'"
    )
}

/// A rendered page with its security headers; a template that fails to render is a 500 that
/// says so (and is logged), never half a page.
pub fn html<T: Template>(state: &WebState, status: StatusCode, page: &T) -> Response {
    html_for(&state.settings.github_url, status, page)
}

/// As [`html`], for a page served without a [`WebState`] (setup mode): forms may post to
/// Gangway and to `github_url`.
pub fn html_for<T: Template>(github_url: &str, status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(body) => {
            let mut r = (status, body).into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            if let Ok(v) = HeaderValue::from_str(&policy(github_url)) {
                h.insert(header::CONTENT_SECURITY_POLICY, v);
            }
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            h.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "a dashboard page did not render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page did not render\n",
            )
                .into_response()
        }
    }
}

/// What the layout needs on every page: who is signed in, and the CSRF token of their forms.
pub struct Chrome {
    pub viewer: Option<String>,
    pub csrf: String,
    pub title: String,
    /// The live-refresh stream of a page that refreshes itself: `/events?since=<the store's
    /// fingerprint read before the page's data>`, so a change between drawing the page and
    /// opening the stream still refreshes it.
    pub live: String,
}

impl Chrome {
    /// The same page, refreshing itself on changes after `version` (`None`: after the stream
    /// opens).
    pub fn live_since(mut self, version: Option<String>) -> Chrome {
        self.live = match version {
            Some(v) => format!("/events?since={v}"),
            None => "/events".to_owned(),
        };
        self
    }

    pub fn new(viewer: &MaybeViewer, title: impl Into<String>) -> Chrome {
        Chrome {
            viewer: viewer.0.as_ref().map(|v| v.login.clone()),
            csrf: viewer
                .0
                .as_ref()
                .map(|v| v.csrf.clone())
                .unwrap_or_default(),
            title: title.into(),
            live: "/events".to_owned(),
        }
    }
}
