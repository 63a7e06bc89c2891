use serde_json::{Value, json};

use super::super::{FakeConfig, FakeGitHub, Role};

const PUBLIC_PEM: &str = include_str!("../../../fixtures/test-app-key.pub.pem");
const CALLBACK: &str = "http://gangway.test/auth/callback";

async fn fake() -> FakeGitHub {
    let f = FakeGitHub::start(FakeConfig::new(4242, PUBLIC_PEM))
        .await
        .expect("start");
    f.add_installation(1, "octo");
    f.add_repo(1, "octo/app", "main").expect("repo");
    f
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn authorize_url(f: &FakeGitHub, client_id: &str, state: &str) -> String {
    format!(
        "{}/login/oauth/authorize?client_id={}&redirect_uri={}&state={}",
        f.url(),
        super::enc(client_id),
        super::enc(CALLBACK),
        super::enc(state)
    )
}

/// Posts the authorize form as the browser would; the response.
async fn submit(f: &FakeGitHub, fields: &[(&str, &str)]) -> reqwest::Response {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", super::enc(v)))
        .collect();
    client()
        .post(format!("{}/login/oauth/authorize", f.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.join("&"))
        .send()
        .await
        .expect("post")
}

fn query_of(location: &str) -> std::collections::HashMap<String, String> {
    let q = location.split_once('?').map(|(_, q)| q).unwrap_or_default();
    super::form_pairs(q.as_bytes()).expect("query")
}

/// The browser half of the flow for `login`: the code GitHub sends back.
async fn code_for(f: &FakeGitHub, login: &str, state: &str) -> String {
    let id = f.client_id();
    let r = submit(
        f,
        &[
            ("client_id", &id),
            ("redirect_uri", CALLBACK),
            ("state", state),
            ("login", login),
            ("action", "authorize"),
        ],
    )
    .await;
    assert_eq!(r.status(), 302);
    let location = r.headers()["location"].to_str().expect("ascii").to_string();
    assert!(location.starts_with(CALLBACK), "{location}");
    let q = query_of(&location);
    assert_eq!(q["state"], state);
    q["code"].clone()
}

async fn exchange(f: &FakeGitHub, code: &str, secret: &str) -> Value {
    let body = format!(
        "client_id={}&client_secret={}&code={}",
        super::enc(&f.client_id()),
        super::enc(secret),
        super::enc(code)
    );
    let r = client()
        .post(format!("{}/login/oauth/access_token", f.url()))
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200, "GitHub answers OAuth errors with 200");
    r.json().await.expect("json")
}

async fn get(
    f: &FakeGitHub,
    path: &str,
    auth: Option<&str>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut req = client().get(format!("{}{path}", f.url()));
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let r = req.send().await.expect("get");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, r.json().await.unwrap_or(Value::Null), headers)
}

#[tokio::test]
async fn the_web_flow_signs_a_user_in_once_per_code() {
    let f = fake().await;
    f.set_browser_user(Some("alice"));
    let page = client()
        .get(authorize_url(&f, &f.client_id(), "s1"))
        .send()
        .await
        .expect("get");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("text");
    assert!(
        html.contains(r#"id="login" name="login" value="alice""#),
        "{html}"
    );
    assert!(html.contains(r#"id="authorize""#));

    let code = code_for(&f, "alice", "s1").await;
    let secret = f.client_secret();
    let answer = exchange(&f, &code, &secret).await;
    let token = answer["access_token"].as_str().expect("token").to_string();
    assert!(token.starts_with("ghu_"), "{answer}");
    assert_eq!(answer["token_type"], "bearer");
    assert_eq!(answer["expires_in"], 28_800);
    assert!(
        answer["refresh_token"]
            .as_str()
            .expect("refresh")
            .starts_with("ghr_")
    );

    let (status, user, _) = get(&f, "/user", Some(&format!("Bearer {token}"))).await;
    assert_eq!(status, 200);
    assert_eq!(user["login"], "alice");
    assert_eq!(user["type"], "User");
    assert!(user["id"].as_u64().is_some_and(|id| id > 0));
    let (status, _, _) = get(&f, "/user", Some(&format!("token {token}"))).await;
    assert_eq!(status, 200);

    // The code is single-use.
    let again = exchange(&f, &code, &secret).await;
    assert_eq!(again["error"], "bad_verification_code", "{again}");
}

#[tokio::test]
async fn bad_codes_and_credentials_are_refused_as_github_does() {
    let f = fake().await;
    f.set_browser_user(Some("alice"));
    let secret = f.client_secret();
    let unknown = exchange(&f, "nope", &secret).await;
    assert_eq!(unknown["error"], "bad_verification_code");
    assert!(unknown.get("access_token").is_none());

    let code = code_for(&f, "alice", "s").await;
    let wrong = exchange(&f, &code, "not-the-secret").await;
    assert_eq!(wrong["error"], "incorrect_client_credentials");

    let code = code_for(&f, "alice", "s").await;
    if let Some(c) = f.shared.lock().oauth_codes.get_mut(&code) {
        c.issued_at -= chrono::Duration::minutes(11);
    }
    let expired = exchange(&f, &code, &secret).await;
    assert_eq!(expired["error"], "bad_verification_code");

    // JSON bodies too; a malformed one is 400.
    let code = code_for(&f, "alice", "s").await;
    let r = client()
        .post(format!("{}/login/oauth/access_token", f.url()))
        .header("accept", "application/json")
        .json(&json!({"client_id": f.client_id(), "client_secret": secret, "code": code}))
        .send()
        .await
        .expect("post");
    let v: Value = r.json().await.expect("json");
    assert!(
        v["access_token"]
            .as_str()
            .is_some_and(|t| t.starts_with("ghu_")),
        "{v}"
    );
    let r = client()
        .post(format!("{}/login/oauth/access_token", f.url()))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 400);
    let r = client()
        .post(format!("{}/login/oauth/access_token", f.url()))
        .body(vec![b'a'; 20_000])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 413);
}

#[tokio::test]
async fn the_authorize_page_refuses_bad_requests_and_escapes_what_it_echoes() {
    let f = fake().await;
    let r = client()
        .get(authorize_url(&f, "Iv1.someoneelse", "s"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 404);
    let r = client()
        .get(format!(
            "{}/login/oauth/authorize?client_id={}&state=s",
            f.url(),
            f.client_id()
        ))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 400, "redirect_uri is required");

    let hostile = r#""><script>alert(1)</script>"#;
    let html = client()
        .get(authorize_url(&f, &f.client_id(), hostile))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("&quot;&gt;&lt;script&gt;"));

    let id = f.client_id();
    let unknown = submit(
        &f,
        &[
            ("client_id", &id),
            ("redirect_uri", CALLBACK),
            ("state", "s"),
            ("login", "nobody-here"),
        ],
    )
    .await;
    assert_eq!(unknown.status(), 422);
    let wrong_client = submit(
        &f,
        &[
            ("client_id", "Iv1.other"),
            ("redirect_uri", CALLBACK),
            ("login", "octo"),
        ],
    )
    .await;
    assert_eq!(wrong_client.status(), 404);
    let garbage = client()
        .post(format!("{}/login/oauth/authorize", f.url()))
        .body(vec![0xff, 0xfe, b'%', b'z'])
        .send()
        .await
        .expect("post");
    assert_eq!(garbage.status(), 400);

    f.set_browser_user(Some("alice"));
    let cancelled = submit(
        &f,
        &[
            ("client_id", &id),
            ("redirect_uri", CALLBACK),
            ("state", "s9"),
            ("login", "alice"),
            ("action", "cancel"),
        ],
    )
    .await;
    assert_eq!(cancelled.status(), 302);
    let q = query_of(cancelled.headers()["location"].to_str().expect("ascii"));
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "s9");
    assert!(!q.contains_key("code"));
}

#[tokio::test]
async fn user_tokens_are_checked() {
    let f = fake().await;
    let (status, _, _) = get(&f, "/user", None).await;
    assert_eq!(status, 401);
    let (status, _, _) = get(&f, "/user", Some("Bearer ghu_madeup")).await;
    assert_eq!(status, 401);
    let token = f.user_token("alice");
    f.expire_user_tokens();
    let (status, _, _) = get(&f, "/user", Some(&format!("Bearer {token}"))).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_user_token_reads_what_the_user_may_read() {
    let f = fake().await;
    f.add_installation(2, "corp");
    f.add_repo(2, "corp/secret", "main").expect("repo");
    f.set_private("corp/secret", true).expect("private");
    f.set_permission("corp/secret", "bob", Role::Write)
        .expect("role");
    let alice = format!("Bearer {}", f.user_token("alice"));
    let bob = format!("Bearer {}", f.user_token("bob"));

    let (status, _, _) = get(&f, "/repos/corp/secret", Some(&alice)).await;
    assert_eq!(
        status, 404,
        "a private repository is hidden from non-collaborators"
    );
    let (status, repo, _) = get(&f, "/repos/corp/secret", Some(&bob)).await;
    assert_eq!(status, 200);
    assert_eq!(repo["private"], true);
    assert_eq!(repo["visibility"], "private");
    assert_eq!(
        repo["permissions"],
        json!({"admin": false, "maintain": false, "push": true, "triage": true, "pull": true})
    );
    let (status, repo, _) = get(&f, "/repos/octo/app", Some(&alice)).await;
    assert_eq!(status, 200, "public repositories are readable by everyone");
    assert_eq!(repo["private"], false);
    assert_eq!(repo["permissions"]["pull"], true);
    assert_eq!(repo["permissions"]["push"], false);
    let (status, _, _) = get(&f, "/repos/corp/nothing", Some(&bob)).await;
    assert_eq!(status, 404);

    // Installations and their repositories the user has a role on.
    let (status, list, _) = get(&f, "/user/installations", Some(&bob)).await;
    assert_eq!(status, 200);
    assert_eq!(list["total_count"], 1);
    assert_eq!(list["installations"][0]["id"], 2);
    let (status, list, _) = get(&f, "/user/installations", Some(&alice)).await;
    assert_eq!(status, 200);
    assert_eq!(list["total_count"], 0);
    let (status, repos, _) = get(&f, "/user/installations/2/repositories", Some(&bob)).await;
    assert_eq!(status, 200);
    assert_eq!(repos["repositories"][0]["full_name"], "corp/secret");
    assert_eq!(repos["repositories"][0]["permissions"]["push"], true);
    let (status, _, _) = get(&f, "/user/installations/2/repositories", Some(&alice)).await;
    assert_eq!(status, 404);
    let (status, _, _) = get(&f, "/user/installations/abc/repositories", Some(&bob)).await;
    assert_eq!(status, 404);
    let (status, _, _) = get(&f, "/user/installations", None).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn user_installation_lists_are_paginated() {
    let f = fake().await;
    for n in 0..3 {
        let name = format!("octo/r{n}");
        f.add_repo(1, &name, "main").expect("repo");
        f.set_permission(&name, "carol", Role::Read).expect("role");
    }
    let carol = format!("Bearer {}", f.user_token("carol"));
    let (status, page, headers) = get(
        &f,
        "/user/installations/1/repositories?per_page=2",
        Some(&carol),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(page["total_count"], 3);
    assert_eq!(page["repositories"].as_array().map(Vec::len), Some(2));
    let link = headers["link"].to_str().expect("ascii");
    assert!(
        link.contains("page=2") && link.contains("rel=\"next\""),
        "{link}"
    );
}

#[tokio::test]
async fn installation_tokens_see_private_repositories_as_private() {
    let f = fake().await;
    f.set_private("octo/app", true).expect("private");
    let render = {
        let st = f.shared.lock();
        let id = st.repo_by_full_name("octo/app").expect("id");
        f.shared.render(&st).repo(id)
    };
    assert_eq!(render["private"], true);
    assert_eq!(render["visibility"], "private");
    assert!(f.set_private("octo/none", true).is_err());
}
