//! GitHub's GraphQL API as the App uses it: where it is, and one query sent as an installation.
//!
//! Owns: the endpoint's address (derived once from `GITHUB_API_URL`) and sending a query through
//! the same path as every REST call (token, pacing, metrics, error classification). Never sends a
//! mutation: pacing counts these calls as reads, as GitHub's secondary limits do for queries.

use http::{Method, StatusCode};
use serde::Serialize;

use super::{GitHub, GitHubError, Response};
use crate::types::InstallationId;

/// The GraphQL endpoint of the API at `api_url`: `{api}/graphql` (api.github.com, a local fake,
/// GHE.com), except GitHub Enterprise Server, whose REST API lives under `/api/v3` and whose
/// GraphQL API is `/api/graphql` on the same host.
pub fn graphql_url(api_url: &str) -> String {
    let base = api_url.trim_end_matches('/');
    match base.strip_suffix("/api/v3") {
        Some(host) => format!("{host}/api/graphql"),
        None => format!("{base}/graphql"),
    }
}

impl GitHub {
    /// One GraphQL query as the installation; `operation` names it in errors and logs. The answer
    /// is GraphQL's envelope (`data`/`errors`), which the caller decodes: GitHub reports query
    /// errors with HTTP 200.
    pub async fn graphql<B: Serialize + ?Sized>(
        &self,
        installation: InstallationId,
        operation: &str,
        body: &B,
    ) -> Result<Response, GitHubError> {
        let what = format!("POST /graphql ({operation})");
        let (shared, token, _paced) = self.ready(installation, false, &what).await?;
        let client = &shared.client;
        // The endpoint may be outside the REST base (GitHub Enterprise Server), where octocrab
        // would not send credentials: the token goes in the request itself. The URL comes from
        // the operator's configuration only, never from a payload.
        let request = http::Request::builder()
            .method(Method::POST)
            .uri(self.graphql_url.as_str());
        let request = {
            use secrecy::ExposeSecret;
            request.header(
                http::header::AUTHORIZATION,
                format!("Bearer {}", token.expose_secret()),
            )
        };
        let sent = match client.build_request(request, Some(body)) {
            Ok(r) => client.execute(r).await,
            Err(e) => Err(e),
        };
        match self.answer(&what, Some(installation), sent, false).await {
            // A token revoked or expired under us: the next attempt mints a new one.
            Err(GitHubError::Rejected {
                status: 401,
                message,
                ..
            }) => Err(GitHubError::Transient {
                what,
                message: format!("HTTP {}: {message}", StatusCode::UNAUTHORIZED),
                retry_after: None,
            }),
            other => other,
        }
    }
}

#[cfg(test)]
#[path = "graphql_tests.rs"]
mod tests;
