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
