//! Cross-site request forgery: every dashboard POST carries its session's token, and comes from
//! Gangway's own pages.
//!
//! Two checks, both required: the form's `csrf` field equals the session's token (compared in
//! constant time), and the browser's own word on where the request came from (`Sec-Fetch-Site`,
//! else `Origin`) says this site. The token is bound to the server-side session, so a token
//! leaked from one session is useless in another; the origin check refuses a cross-site post even
//! when a token leaked. Written here rather than taken from a crate because it is two
//! comparisons against the session we already keep, and the crates for axum either keep the
//! token in a second cookie (double submit) or bring their own session store.

use axum::http::HeaderMap;

use super::session::Viewer;

/// Why a POST was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CsrfRefusal {
    #[error("the form carried no CSRF token: reload the page and try again")]
    MissingToken,
    #[error("the form's CSRF token is not this session's: reload the page and try again")]
    WrongToken,
    #[error("the request came from another site")]
    CrossSite,
}

/// Whether a POST by `viewer` with form token `token` may go ahead.
pub fn check(
    viewer: &Viewer,
    token: &str,
    headers: &HeaderMap,
    public_url: &str,
) -> Result<(), CsrfRefusal> {
    same_site(headers, public_url)?;
    if token.is_empty() {
        return Err(CsrfRefusal::MissingToken);
    }
    if viewer.csrf.is_empty() || !equal(token.as_bytes(), viewer.csrf.as_bytes()) {
        return Err(CsrfRefusal::WrongToken);
    }
    Ok(())
}

/// The browser says the request came from Gangway's own pages. A request with neither header
/// (not a browser) is left to the token.
pub fn same_site(headers: &HeaderMap, public_url: &str) -> Result<(), CsrfRefusal> {
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.to_str() {
            Ok("same-origin") => Ok(()),
            _ => Err(CsrfRefusal::CrossSite),
        };
    }
    match headers.get(axum::http::header::ORIGIN) {
        None => Ok(()),
        Some(origin) => match origin.to_str() {
            Ok(o) if o == origin_of(public_url) => Ok(()),
            _ => Err(CsrfRefusal::CrossSite),
        },
    }
}

/// `scheme://host[:port]` of a URL (what browsers send as `Origin`).
pub fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

/// Constant-time equality (length is not secret: every token has the same length).
fn equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
#[path = "csrf_tests.rs"]
mod tests;
