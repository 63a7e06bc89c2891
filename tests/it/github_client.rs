//! Gangway's GitHub client against the fake GitHub: App auth, token caching, error classes.

use crate::support;

use std::time::Duration;

use fake_github::{FakeConfig, FakeGitHub, Fault};
use gangway::github::{GitHub, GitHubError};
use gangway::metrics::Metrics;
use gangway::types::InstallationId;
use http::Method;
use secrecy::SecretString;
use support::*;

const INST: InstallationId = InstallationId(1);

async fn fake() -> FakeGitHub {
    let fake = FakeGitHub::start(FakeConfig::new(APP_ID, PUBLIC_KEY_PEM))
        .await
        .unwrap();
    fake.add_installation(1, "octo");
    fake.add_repo(1, "octo/app", "main").unwrap();
    fake
}

fn client(fake: &FakeGitHub, metrics: &Metrics) -> GitHub {
    GitHub::new(
        fake.url(),
        APP_ID,
        &SecretString::from(KEY_PEM.to_owned()),
        metrics.clone(),
    )
    .unwrap()
}

#[tokio::test]
async fn many_calls_for_one_installation_make_one_token_request() {
    let fake = fake().await;
    let gh = client(&fake, &Metrics::new());
    // Concurrent calls from a cold cache, then sequential ones.
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let gh = gh.clone();
        calls.spawn(async move {
            gh.request::<()>(INST, Method::GET, "/repos/octo/app", None)
                .await
        });
    }
    while let Some(r) = calls.join_next().await {
        r.unwrap().unwrap();
    }
    for _ in 0..30 {
        gh.request::<()>(INST, Method::GET, "/repos/octo/app/pulls?state=open", None)
            .await
            .unwrap();
    }
    assert_eq!(fake.count_calls("GET", "/repos/octo/app"), 50);
    assert_eq!(fake.token_requests(), 1, "one token for 50 calls");
}

#[tokio::test]
async fn revoked_and_expiring_tokens_are_replaced() {
    let fake = fake().await;
    let gh = client(&fake, &Metrics::new());
    let unauthorized = || fake.calls().iter().filter(|c| c.status == 401).count();
    gh.request::<()>(INST, Method::GET, "/repos/octo/app", None)
        .await
        .unwrap();
    assert_eq!(fake.token_requests(), 1);

    // Revoked server-side: the call meets 401 once, a new token is minted, the call succeeds.
    fake.expire_tokens();
    gh.request::<()>(INST, Method::GET, "/repos/octo/app", None)
        .await
        .unwrap();
    assert_eq!((fake.token_requests(), unauthorized()), (2, 1));

    // A token with less than the safety margin (30 s) left is replaced before it is used, so no
    // call ever goes out with a token that could expire in flight.
    fake.set_token_lifetime(Duration::from_secs(20));
    fake.expire_tokens();
    gh.request::<()>(INST, Method::GET, "/repos/octo/app", None)
        .await
        .unwrap();
    let before = (fake.token_requests(), unauthorized());
    gh.request::<()>(INST, Method::GET, "/repos/octo/app", None)
        .await
        .unwrap();
    let after = (fake.token_requests(), unauthorized());
    assert!(
        after.0 > before.0,
        "expiring token was reused: {before:?} -> {after:?}"
    );
    assert_eq!(after.1, before.1, "a call went out with an expired token");
}

#[tokio::test]
async fn errors_are_classified_for_the_queue() {
    let fake = fake().await;
    let metrics = Metrics::new();
    let gh = client(&fake, &metrics);

    fake.inject(Fault::status(502).on("GET", "/repos/octo/app"));
    let e = gh
        .request::<()>(INST, Method::GET, "/repos/octo/app", None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            GitHubError::Transient {
                retry_after: None,
                ..
            }
        ),
        "{e:?}"
    );

    fake.inject(Fault::too_many_requests(7).on("GET", "/repos/octo/app"));
    let e = gh
        .request::<()>(INST, Method::GET, "/repos/octo/app", None)
        .await
        .unwrap_err();
    assert!(
        matches!(e, GitHubError::Transient { retry_after: Some(d), .. } if d == Duration::from_secs(7)),
        "{e:?}"
    );
    // A secondary limit pauses the installation: its next call is not sent, and says how long
    // is left.
    let sent = fake.calls().len();
    let e = gh
        .request::<()>(INST, Method::GET, "/repos/octo/app/pulls", None)
        .await
        .unwrap_err();
    assert!(
        matches!(e, GitHubError::Transient { retry_after: Some(d), .. } if d <= Duration::from_secs(7) && d > Duration::from_secs(5)),
        "{e:?}"
    );
    assert_eq!(
        fake.calls().len(),
        sent,
        "a call of a paused installation was sent"
    );

    // Each client has its own pauses: a fresh one for each limit.
    let gh = client(&fake, &metrics);
    fake.inject(Fault::secondary_rate_limit(30).on("POST", "/repos/octo/app/issues"));
    let body = serde_json::json!({"body": "hi"});
    let e = gh
        .request(
            INST,
            Method::POST,
            "/repos/octo/app/issues/1/comments",
            Some(&body),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, GitHubError::Transient { retry_after: Some(d), .. } if d == Duration::from_secs(30)),
        "{e:?}"
    );

    let gh = client(&fake, &metrics);
    let e = gh
        .request::<()>(INST, Method::GET, "/repos/octo/missing", None)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404), "{e:?}");

    gh.request::<()>(INST, Method::GET, "/repos/octo/app", None)
        .await
        .unwrap();
    let text = metrics.render();
    for want in [
        "gangway_github_api_calls_total{status=\"502\"} 1",
        "gangway_github_api_calls_total{status=\"429\"} 1",
        "gangway_github_api_calls_total{status=\"403\"} 1",
        "gangway_github_api_calls_total{status=\"404\"} 1",
        "gangway_github_api_calls_total{status=\"200\"} 1",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
}

#[tokio::test]
async fn a_wrong_key_is_refused_by_github_and_never_echoed() {
    let fake = fake().await;
    let other = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/other-key.pem"
    ))
    .unwrap();
    let gh = GitHub::new(
        fake.url(),
        APP_ID,
        &SecretString::from(other.clone()),
        Metrics::new(),
    )
    .unwrap();
    let e = gh
        .request::<()>(INST, Method::GET, "/repos/octo/app", None)
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("installation token request"), "{msg}");
    assert_eq!(e.status(), Some(401), "{e:?}");
    assert!(!msg.contains(other.lines().nth(1).unwrap()));

    let bad = GitHub::new(
        fake.url(),
        APP_ID,
        &SecretString::from("-----BEGIN RSA PRIVATE KEY-----\nSECRETSTUFF\n".to_owned()),
        Metrics::new(),
    );
    let msg = bad.unwrap_err().to_string();
    assert!(
        msg.contains("not a valid RSA PEM key") && !msg.contains("SECRETSTUFF"),
        "{msg}"
    );
}

#[tokio::test]
async fn network_failures_are_transient() {
    // Nothing listens on this port.
    let gh = GitHub::new(
        "http://127.0.0.1:9",
        APP_ID,
        &SecretString::from(KEY_PEM.to_owned()),
        Metrics::new(),
    )
    .unwrap();
    let e = gh
        .request::<()>(INST, Method::GET, "/repos/octo/app", None)
        .await
        .unwrap_err();
    assert!(matches!(e, GitHubError::Transient { .. }), "{e:?}");
}

#[tokio::test]
async fn an_environment_name_is_one_path_segment_whatever_it_holds() {
    let fake = fake().await;
    let gh = client(&fake, &Metrics::new());
    // Names come from the policy file: `/`, `?`, `#`, spaces and `..` must not leave the segment.
    let names = ["staging/eu", "prod?x=1", "a b#c", "..", "préprod"];
    for name in names {
        let segment =
            percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
        gh.request::<()>(
            INST,
            Method::PUT,
            &format!("/repos/octo/app/environments/{segment}"),
            None,
        )
        .await
        .unwrap();
    }
    let mut made: Vec<String> = fake
        .environments("octo/app")
        .into_iter()
        .map(|e| e.name)
        .collect();
    made.sort();
    let mut want: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    want.sort();
    assert_eq!(made, want, "the fake holds each name as given");
    for name in names {
        gh.delete_environment(INST, "octo/app", name).await.unwrap();
    }
    assert!(
        fake.environments("octo/app").is_empty(),
        "left: {:?}",
        fake.environments("octo/app")
    );
}
