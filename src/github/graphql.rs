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
mod tests {
    use super::*;

    #[test]
    fn graphql_endpoint_of_each_kind_of_server() {
        assert_eq!(
            graphql_url("https://api.github.com"),
            "https://api.github.com/graphql"
        );
        assert_eq!(
            graphql_url("https://api.github.com/"),
            "https://api.github.com/graphql"
        );
        assert_eq!(
            graphql_url("https://github.example.org/api/v3"),
            "https://github.example.org/api/graphql"
        );
        assert_eq!(
            graphql_url("https://github.example.org/api/v3/"),
            "https://github.example.org/api/graphql"
        );
        assert_eq!(
            graphql_url("https://api.octo.ghe.com"),
            "https://api.octo.ghe.com/graphql"
        );
        assert_eq!(
            graphql_url("http://127.0.0.1:4000"),
            "http://127.0.0.1:4000/graphql"
        );
        // Only a trailing `/api/v3` marks Enterprise Server.
        assert_eq!(
            graphql_url("https://proxy.example/api/v3/extra"),
            "https://proxy.example/api/v3/extra/graphql"
        );
    }

    /// Through the real client against the fake: authenticated, logged, and paced as a read.
    #[tokio::test]
    async fn a_query_goes_through_the_client_as_a_read() {
        use fake_github::{FakeConfig, FakeGitHub};
        let fake = FakeGitHub::start(FakeConfig::new(
            4242,
            include_str!("../../fixtures/test-app-key.pub.pem"),
        ))
        .await
        .unwrap();
        fake.add_installation(1, "octo");
        fake.add_repo(1, "octo/app", "main").unwrap();
        let key = secrecy::SecretString::from(include_str!("../../fixtures/test-app-key.pem"));
        let github = GitHub::new(fake.url(), 4242, &key, crate::metrics::Metrics::new())
            .unwrap()
            .with_pacing(super::super::pacing::PacingSettings::default());
        let body = super::super::checks::request("octo/app", &"a".repeat(40), None);
        let answer = github
            .graphql(InstallationId(1), "GangwayChecks", &body)
            .await
            .unwrap();
        let page = super::super::checks::decode(&answer.body).unwrap();
        assert_eq!(page, super::super::checks::Page::default());
        assert_eq!(fake.count_calls("POST", "/graphql"), 1);
        let stats = github.pacing_stats();
        assert_eq!((stats.calls, stats.writes), (1, 0));
    }
}
