//! Who is looking: the signed-in GitHub user of this request, if any.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};

use super::WebState;

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
        _parts: &mut Parts,
        _state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        Ok(MaybeViewer(None))
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
