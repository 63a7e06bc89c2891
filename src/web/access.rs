//! What a viewer may see: a repository's pages, the operator views.

use super::WebState;
use super::session::Viewer;

/// Why access could not be decided (GitHub unreachable, say): the page says so, and shows
/// nothing of the repository.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("could not ask GitHub whether you may read {0}: {1}")]
    GitHub(String, String),
}

/// Whether `viewer` (or an anonymous visitor) may read `full_name`'s pages.
///
/// Placeholder until sign-in lands: signed-in users, and anyone when `GANGWAY_DASHBOARD_PUBLIC`
/// is set (the real check reads the repository's visibility and the user's permission).
pub async fn can_read(
    state: &WebState,
    viewer: Option<&Viewer>,
    _full_name: &str,
) -> Result<bool, AccessError> {
    Ok(viewer.is_some() || state.settings.public_read)
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
