//! Tests of the fake GitHub, driven the way the App drives GitHub: octocrab authenticated as
//! the App (JWT) and as an installation (token), plus raw HTTP for malformed credentials.

mod deploy;
mod flows;
mod git;
mod graphql;
mod markdown;
mod webhooks;

use std::time::Duration;

use octocrab::Octocrab;
use octocrab::jsonwebtoken::{self, Algorithm, EncodingKey, Header};
use octocrab::models::{AppId, InstallationId};
use serde_json::{Value, json};

use super::{FakeConfig, FakeGitHub, PrSpec, Role, UserKind};

const APP_ID: u64 = 4242;
const PRIVATE_PEM: &str = include_str!("../../../fixtures/test-app-key.pem");
const PUBLIC_PEM: &str = include_str!("../../../fixtures/test-app-key.pub.pem");
const OTHER_PEM: &str = include_str!("../../../fixtures/other-key.pem");
const REPO: &str = "octo/app";

/// A fake with installation 1 on `octo` and the repository `octo/app` (branch `main`).
async fn fake() -> FakeGitHub {
    let f = FakeGitHub::start(FakeConfig::new(APP_ID, PUBLIC_PEM))
        .await
        .expect("start");
    f.add_installation(1, "octo");
    f.add_repo(1, REPO, "main").expect("repo");
    f
}

fn app_client(f: &FakeGitHub, pem: &str) -> Octocrab {
    let key = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("key");
    Octocrab::builder()
        .base_uri(f.url())
        .expect("base uri")
        .app(AppId(APP_ID), key)
        .build()
        .expect("client")
}

fn inst_client(f: &FakeGitHub) -> Octocrab {
    app_client(f, PRIVATE_PEM)
        .installation(InstallationId(1))
        .expect("installation client")
}

struct Resp {
    status: u16,
    headers: http::HeaderMap,
    json: Value,
}

/// A raw call through octocrab (so auth is octocrab's).
async fn call(c: &Octocrab, method: &str, path: &str, body: Option<Value>) -> Resp {
    let body = body.as_ref();
    let resp = match method {
        "GET" => c._get(path).await,
        "POST" => c._post(path, body).await,
        "PUT" => c._put(path, body).await,
        "PATCH" => c._patch(path, body).await,
        "DELETE" => c._delete(path, body).await,
        other => panic!("method {other}"),
    }
    .expect("transport");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = c.body_to_string(resp).await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Resp {
        status,
        headers,
        json,
    }
}

/// A raw call with an explicit `Authorization` header (or none).
async fn raw(f: &FakeGitHub, method: &str, path: &str, auth: Option<&str>) -> (u16, Value) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = reqwest::Client::new().request(m, format!("{}{path}", f.url()));
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status().as_u16();
    let json = resp.json().await.unwrap_or(Value::Null);
    (status, json)
}

fn jwt(claims: Value, pem: &str) -> String {
    let key = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("key");
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key).expect("encode")
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test]
async fn installation_token_is_issued_once_and_reused() {
    let f = fake().await;
    let pr = f
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .expect("pr");
    let c = inst_client(&f);
    let path = format!("/repos/{REPO}/pulls/{}", pr.number);
    let mut remaining = Vec::new();
    for _ in 0..5 {
        let r = call(&c, "GET", &path, None).await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json["head"]["sha"], pr.head_sha.as_str());
        assert_eq!(r.headers["x-ratelimit-resource"], "core");
        let left: u64 = r.headers["x-ratelimit-remaining"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("number");
        remaining.push(left);
    }
    assert_eq!(f.token_requests(), 1);
    assert_eq!(f.token_requests_for(1), 1);
    assert_eq!(f.count_calls("GET", &path), 5);
    assert_eq!(remaining, vec![4999, 4998, 4997, 4996, 4995]);
    assert!(
        f.calls()
            .iter()
            .all(|c| c.path != path || c.installation == Some(1))
    );
    let token = &f.tokens()[0];
    assert!(token.token.starts_with("ghs_") && token.token.len() == 40);
}

#[tokio::test]
async fn jwt_signed_with_another_key_is_rejected() {
    let f = fake().await;
    let c = app_client(&f, OTHER_PEM)
        .installation(InstallationId(1))
        .expect("client");
    assert!(c._get(format!("/repos/{REPO}")).await.is_err());
    assert_eq!(f.token_requests(), 0);
    let token_calls: Vec<_> = f
        .calls()
        .into_iter()
        .filter(|c| c.path == "/app/installations/1/access_tokens")
        .collect();
    assert!(!token_calls.is_empty());
    assert!(token_calls.iter().all(|c| c.status == 401));

    let bad = jwt(
        json!({"iss": APP_ID, "iat": now() - 60, "exp": now() + 300}),
        OTHER_PEM,
    );
    let (status, body) = raw(&f, "GET", "/app", Some(&format!("Bearer {bad}"))).await;
    assert_eq!(status, 401);
    assert_eq!(body["message"], "A JSON web token could not be decoded");
}

#[tokio::test]
async fn jwt_claims_are_checked_like_github() {
    let f = fake().await;
    let t = now();
    let cases = [
        (
            json!({"iss": APP_ID.to_string(), "iat": t - 60, "exp": t + 540}),
            201,
        ),
        (json!({"iss": APP_ID, "iat": t - 60, "exp": t + 3600}), 401),
        (json!({"iss": APP_ID, "iat": t - 700, "exp": t - 10}), 401),
        (json!({"iss": APP_ID, "iat": t + 300, "exp": t + 500}), 401),
        (json!({"iss": 1, "iat": t - 60, "exp": t + 300}), 401),
        (json!({"iat": t - 60, "exp": t + 300}), 401),
    ];
    for (claims, want) in cases {
        let auth = format!("Bearer {}", jwt(claims.clone(), PRIVATE_PEM));
        let (status, body) = raw(
            &f,
            "POST",
            "/app/installations/1/access_tokens",
            Some(&auth),
        )
        .await;
        assert_eq!(status, want, "{claims} -> {body}");
        if want == 201 {
            assert!(
                body["token"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("ghs_"))
            );
            assert_eq!(body["repository_selection"], "all");
            assert!(
                body["expires_at"]
                    .as_str()
                    .is_some_and(|e| e.ends_with('Z'))
            );
        } else {
            assert!(body["message"].is_string());
        }
    }
    let good = format!(
        "Bearer {}",
        jwt(
            json!({"iss": APP_ID, "iat": t, "exp": t + 300}),
            PRIVATE_PEM
        )
    );
    let (status, body) = raw(
        &f,
        "POST",
        "/app/installations/99/access_tokens",
        Some(&good),
    )
    .await;
    assert_eq!((status, body["message"].as_str()), (404, Some("Not Found")));
    let (status, _) = raw(&f, "POST", "/app/installations/1/access_tokens", None).await;
    assert_eq!(status, 401);
    let (status, app) = raw(&f, "GET", "/app", Some(&good)).await;
    assert_eq!((status, app["slug"].as_str()), (200, Some("gangway")));
    let (status, list) = raw(&f, "GET", "/app/installations", Some(&good)).await;
    assert_eq!((status, list[0]["id"].as_u64()), (200, Some(1)));
    let (status, inst) = raw(
        &f,
        "GET",
        &format!("/repos/{REPO}/installation"),
        Some(&good),
    )
    .await;
    assert_eq!(
        (status, inst["account"]["login"].as_str()),
        (200, Some("octo"))
    );
    let token = f.tokens()[0].token.clone();
    let (status, _) = raw(&f, "GET", "/app", Some(&format!("token {token}"))).await;
    assert_eq!(status, 401);
    assert_eq!(f.token_requests(), 1);
}

#[tokio::test]
async fn tokens_are_scoped_and_expire() {
    let f = fake().await;
    f.add_installation(2, "other");
    f.add_repo(2, "other/lib", "main").expect("repo");
    let c = inst_client(&f);
    assert_eq!(
        call(&c, "GET", &format!("/repos/{REPO}"), None)
            .await
            .status,
        200
    );
    let r = call(&c, "GET", "/repos/other/lib", None).await;
    assert_eq!(
        (r.status, r.json["message"].as_str()),
        (404, Some("Not Found"))
    );
    let (status, body) = raw(&f, "GET", &format!("/repos/{REPO}"), None).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (401, Some("Requires authentication"))
    );
    let (status, body) = raw(&f, "GET", &format!("/repos/{REPO}"), Some("token ghs_nope")).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (401, Some("Bad credentials"))
    );

    // An expired token answers 401; octocrab then fetches a fresh one and retries.
    let old = f.tokens()[0].token.clone();
    f.expire_tokens();
    let (status, _) = raw(
        &f,
        "GET",
        &format!("/repos/{REPO}"),
        Some(&format!("Bearer {old}")),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        call(&c, "GET", &format!("/repos/{REPO}"), None)
            .await
            .status,
        200
    );
    assert_eq!(f.token_requests(), 2);

    // Tokens shorter-lived than octocrab's 30 s margin are re-requested on every call.
    f.set_token_lifetime(Duration::from_secs(20));
    let fresh = inst_client(&f);
    for _ in 0..2 {
        assert_eq!(
            call(&fresh, "GET", &format!("/repos/{REPO}"), None)
                .await
                .status,
            200
        );
    }
    assert_eq!(f.token_requests(), 4);

    let (status, body) = raw(&f, "GET", "/no/such/route", None).await;
    assert_eq!((status, body["message"].as_str()), (404, Some("Not Found")));
    assert_eq!(f.count_calls("GET", "/no/such/route"), 1);
    let url = f.url().to_string();
    f.shutdown().await;
    assert!(reqwest::get(format!("{url}/rate_limit")).await.is_err());
}

#[tokio::test]
async fn compare_reports_ahead_behind_diverged() {
    let f = fake().await;
    let base = f.branch_head(REPO, "main").expect("main");
    let c1 = f.add_commit(REPO, "feature", "one").expect("c1");
    let c2 = f.add_commit(REPO, "feature", "two").expect("c2");
    let c = inst_client(&f);
    let cmp = |b: String, h: String| {
        let c = c.clone();
        async move { call(&c, "GET", &format!("/repos/{REPO}/compare/{b}...{h}"), None).await }
    };
    let r = cmp("main".into(), "feature".into()).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        (
            r.json["status"].as_str(),
            r.json["ahead_by"].as_u64(),
            r.json["behind_by"].as_u64()
        ),
        (Some("ahead"), Some(2), Some(0))
    );
    assert_eq!(r.json["merge_base_commit"]["sha"], base.as_str());
    let shas: Vec<&str> = r.json["commits"]
        .as_array()
        .expect("commits")
        .iter()
        .filter_map(|c| c["sha"].as_str())
        .collect();
    assert_eq!(shas, vec![c1.as_str(), c2.as_str()]);
    let r = cmp(c2.clone(), base.clone()).await;
    assert_eq!(
        (r.json["status"].as_str(), r.json["behind_by"].as_u64()),
        (Some("behind"), Some(2))
    );
    let r = cmp(c2.clone(), c2.clone()).await;
    assert_eq!(r.json["status"], "identical");
    f.add_commit(REPO, "main", "three").expect("c3");
    let r = cmp("main".into(), "feature".into()).await;
    assert_eq!(
        (
            r.json["status"].as_str(),
            r.json["ahead_by"].as_u64(),
            r.json["behind_by"].as_u64()
        ),
        (Some("diverged"), Some(2), Some(1))
    );
    assert_eq!(cmp("main".into(), "f".repeat(40)).await.status, 404);
    assert_eq!(cmp("main".into(), "nope".into()).await.status, 404);

    // octocrab's typed model parses the comparison.
    let typed = c
        .commits("octo", "app")
        .compare("main", c2.clone())
        .send()
        .await
        .expect("typed compare");
    assert_eq!((typed.ahead_by, typed.behind_by), (2, 1));
}

#[tokio::test]
async fn collaborator_permission_maps_roles() {
    let f = fake().await;
    for (user, role) in [
        ("mia", Role::Maintain),
        ("tri", Role::Triage),
        ("wes", Role::Write),
        ("ada", Role::Admin),
        ("rex", Role::Read),
    ] {
        f.set_permission(REPO, user, role).expect("role");
    }
    f.add_user("nobody", UserKind::User);
    let c = inst_client(&f);
    let cases = [
        ("mia", "write", "maintain"),
        ("tri", "read", "triage"),
        ("wes", "write", "write"),
        ("ada", "admin", "admin"),
        ("rex", "read", "read"),
        ("octo", "admin", "admin"),
        ("nobody", "none", "none"),
    ];
    for (user, permission, role_name) in cases {
        let r = call(
            &c,
            "GET",
            &format!("/repos/{REPO}/collaborators/{user}/permission"),
            None,
        )
        .await;
        assert_eq!(r.status, 200);
        assert_eq!(
            (r.json["permission"].as_str(), r.json["role_name"].as_str()),
            (Some(permission), Some(role_name)),
            "{user}"
        );
        assert_eq!(r.json["user"]["login"], user);
    }
    let r = call(
        &c,
        "GET",
        &format!("/repos/{REPO}/collaborators/ghost/permission"),
        None,
    )
    .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn contents_are_base64_by_ref() {
    let f = fake().await;
    let yml = "preview:\n  command: ./deploy.sh\n  ttl: 72h # a line long enough to wrap the base64 output past sixty columns\n";
    f.put_file(REPO, "main", ".github/gangway.yml", yml)
        .expect("file");
    f.put_file(REPO, "feature", ".github/gangway.yml", "preview: {}\n")
        .expect("file");
    let c = inst_client(&f);
    let r = call(
        &c,
        "GET",
        &format!("/repos/{REPO}/contents/.github/gangway.yml?ref=main"),
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        (r.json["encoding"].as_str(), r.json["type"].as_str()),
        (Some("base64"), Some("file"))
    );
    assert!(r.json["content"].as_str().expect("content").contains('\n'));
    let typed = c
        .repos("octo", "app")
        .get_content()
        .path(".github/gangway.yml")
        .r#ref("feature")
        .send()
        .await
        .expect("typed");
    assert_eq!(
        typed.items[0].decoded_content().as_deref(),
        Some("preview: {}\n")
    );
    let typed = c
        .repos("octo", "app")
        .get_content()
        .path(".github/gangway.yml")
        .r#ref("main")
        .send()
        .await
        .expect("typed");
    assert_eq!(typed.items[0].decoded_content().as_deref(), Some(yml));
    let dir = call(&c, "GET", &format!("/repos/{REPO}/contents/.github"), None).await;
    assert_eq!(dir.json[0]["name"], "gangway.yml");
    assert_eq!(
        call(
            &c,
            "GET",
            &format!("/repos/{REPO}/contents/missing.yml"),
            None
        )
        .await
        .status,
        404
    );
    assert_eq!(
        call(
            &c,
            "GET",
            &format!("/repos/{REPO}/contents/.github/gangway.yml?ref=nope"),
            None
        )
        .await
        .status,
        404
    );
    assert_eq!(super::routes_repo::base64_wrapped(b"hello"), "aGVsbG8=\n");
}

#[tokio::test]
async fn pulls_are_paginated_with_link_headers() {
    let f = fake().await;
    for i in 0..5 {
        f.open_pr(PrSpec::new(REPO, &format!("b{i}"), "alice"))
            .await
            .expect("pr");
    }
    f.close_pr(REPO, 1, false).await.expect("close");
    let c = inst_client(&f);
    let r = call(
        &c,
        "GET",
        &format!("/repos/{REPO}/pulls?state=open&per_page=2"),
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json.as_array().map(Vec::len), Some(2));
    assert_eq!(r.json[0]["number"], 5, "newest first");
    let link = r.headers["link"].to_str().expect("link");
    assert!(
        link.contains(&format!(
            "</repos/{REPO}/pulls?state=open&per_page=2&page=2>; rel=\"next\""
        )),
        "{link}"
    );
    assert!(link.contains("page=2>; rel=\"last\""), "{link}");
    let r = call(
        &c,
        "GET",
        &format!("/repos/{REPO}/pulls?state=open&per_page=2&page=2"),
        None,
    )
    .await;
    let link = r.headers["link"].to_str().expect("link");
    assert!(
        link.contains("rel=\"prev\"")
            && link.contains("rel=\"first\"")
            && !link.contains("rel=\"next\""),
        "{link}"
    );
    let r = call(&c, "GET", &format!("/repos/{REPO}/pulls?state=all"), None).await;
    assert_eq!(r.json.as_array().map(Vec::len), Some(5));
    assert!(r.headers.get("link").is_none());

    // octocrab's typed pages follow the Link header.
    let page = c
        .pulls("octo", "app")
        .list()
        .per_page(2)
        .send()
        .await
        .expect("typed list");
    assert_eq!(page.items.len(), 2);
    let all = c.all_pages(page).await.expect("all pages");
    let mut numbers: Vec<u64> = all.iter().map(|p| p.number).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, vec![2, 3, 4, 5]);
    let one = c.pulls("octo", "app").get(2).await.expect("typed get");
    assert_eq!(one.head.ref_field, "b1");
}

#[tokio::test]
async fn handle_and_scenario_futures_are_send() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let f = fake().await;
    send_sync(&f);
    send(&f.open_pr(PrSpec::new(REPO, "x", "alice")));
    send(&f.push_pr(REPO, 1));
    send(&f.push_branch(REPO, "main", "m"));
    send(&f.close_pr(REPO, 1, true));
    send(&f.comment(REPO, 1, "alice", "hi"));
    send(&f.complete_check_suite(REPO, "main", "github-actions"));
    send(&f.redeliver("guid"));
    send(&f.wait_webhooks_idle(Duration::from_secs(1)));
}
