//! The manifest flow of the fake: the form GitHub shows, the redirect with `code` and `state`,
//! and the one-time, one-hour conversion.

use std::time::Duration;

use octocrab::Octocrab;
use octocrab::jsonwebtoken::EncodingKey;
use octocrab::models::AppId;
use serde_json::{Value, json};

use super::{encode, is_login, slug, validate};
use crate::{FakeConfig, FakeGitHub};

const PRIVATE_PEM: &str = include_str!("../../../fixtures/test-app-key.pem");
const PUBLIC_PEM: &str = include_str!("../../../fixtures/test-app-key.pub.pem");

async fn fake() -> FakeGitHub {
    FakeGitHub::start(FakeConfig::new(4242, PUBLIC_PEM).with_private_key(PRIVATE_PEM))
        .await
        .expect("start")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

fn manifest() -> Value {
    json!({
        "name": "Gangway <b>test</b>",
        "url": "https://gangway.test",
        "hook_attributes": {"url": "https://gangway.test/webhooks"},
        "redirect_url": "https://gangway.test/setup/callback",
        "callback_urls": ["https://gangway.test/auth/callback"],
        "default_permissions": {"deployments": "write"},
        "default_events": ["pull_request"],
        "something_new": true
    })
}

async fn post_form(url: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    client()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.join("&"))
        .send()
        .await
        .expect("post")
}

/// The confirmation page's hidden token.
fn token_of(page: &str) -> String {
    let at = page.find("name=\"token\" value=\"").expect("token field") + 20;
    page[at..].split('"').next().expect("token").to_owned()
}

/// Registers an App from `manifest` and answers the redirect's location.
async fn register(f: &FakeGitHub, manifest: &Value, state: &str) -> String {
    let resp = post_form(
        &format!("{}/settings/apps/new?state={}", f.url(), encode(state)),
        &[("manifest", &manifest.to_string())],
    )
    .await;
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.expect("page");
    assert!(page.contains("id=\"create-app\""), "{page}");
    let resp = post_form(
        &format!("{}/settings/apps/new/confirm", f.url()),
        &[("token", &token_of(&page)), ("owner", "alice")],
    )
    .await;
    assert_eq!(resp.status(), 302);
    resp.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned()
}

fn code_of(location: &str) -> String {
    let q = location.split_once('?').expect("query").1;
    q.split('&')
        .find_map(|p| p.strip_prefix("code="))
        .expect("code")
        .to_owned()
}

async fn convert(f: &FakeGitHub, code: &str) -> (u16, Value) {
    let resp = client()
        .post(format!("{}/app-manifests/{code}/conversions", f.url()))
        .send()
        .await
        .expect("conversion");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json"))
}

#[tokio::test]
async fn a_manifest_registers_an_app_whose_code_converts_once() {
    let f = fake().await;
    let location = register(&f, &manifest(), "st&te=1").await;
    assert!(
        location.starts_with("https://gangway.test/setup/callback?code="),
        "{location}"
    );
    assert!(location.ends_with("&state=st%26te%3D1"), "{location}");
    let code = code_of(&location);

    let (status, app) = convert(&f, &code).await;
    assert_eq!(status, 201, "{app}");
    for field in [
        "id",
        "slug",
        "node_id",
        "owner",
        "name",
        "html_url",
        "client_id",
        "client_secret",
        "webhook_secret",
        "pem",
        "permissions",
        "events",
    ] {
        assert!(!app[field].is_null(), "{field} missing in {app}");
    }
    assert_eq!(app["name"], "Gangway <b>test</b>");
    assert_eq!(app["slug"], "gangway-b-test-b");
    assert_eq!(app["owner"]["login"], "alice");
    assert_eq!(app["permissions"]["deployments"], "write");
    assert_eq!(app["pem"], PRIVATE_PEM);
    let registered = f.registered_apps();
    assert_eq!(registered.len(), 1);
    assert_eq!(Some(registered[0].id), app["id"].as_u64());
    assert_eq!(registered[0].hook_url, "https://gangway.test/webhooks");

    // Its JWTs verify.
    let id = app["id"].as_u64().expect("id");
    let key = EncodingKey::from_rsa_pem(PRIVATE_PEM.as_bytes()).expect("key");
    let c = Octocrab::builder()
        .base_uri(f.url())
        .expect("base")
        .app(AppId(id), key)
        .build()
        .expect("octocrab");
    let resp = c._get("/app").await.expect("GET /app");
    assert_eq!(resp.status().as_u16(), 200);

    // A code converts once.
    let (status, body) = convert(&f, &code).await;
    assert_eq!(status, 404);
    assert_eq!(body["message"], "Not Found");
    let (status, _) = convert(&f, "no-such-code").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_code_older_than_an_hour_does_not_convert() {
    let f = fake().await;
    let code = code_of(&register(&f, &manifest(), "s").await);
    f.age_manifest_codes(Duration::from_secs(3601));
    let (status, _) = convert(&f, &code).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn an_organization_owns_an_app_registered_on_its_page_and_a_hostile_name_is_refused() {
    let f = fake().await;
    let resp = post_form(
        &format!("{}/organizations/acme/settings/apps/new?state=s", f.url()),
        &[("manifest", &manifest().to_string())],
    )
    .await;
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.expect("page");
    assert!(
        page.contains("<strong id=\"owner-org\">acme</strong>"),
        "{page}"
    );
    // The manifest's name is shown as text.
    assert!(page.contains("Gangway &lt;b&gt;test&lt;/b&gt;"), "{page}");
    let resp = post_form(
        &format!("{}/settings/apps/new/confirm", f.url()),
        &[("token", &token_of(&page))],
    )
    .await;
    assert_eq!(resp.status(), 302);
    assert_eq!(f.registered_apps()[0].owner, "acme");
    assert_eq!(f.registered_apps()[0].owner_kind, "Organization");

    let resp = post_form(
        &format!(
            "{}/organizations/{}/settings/apps/new",
            f.url(),
            encode("<script>")
        ),
        &[("manifest", &manifest().to_string())],
    )
    .await;
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn a_confirmation_is_used_once() {
    let f = fake().await;
    let resp = post_form(
        &format!("{}/settings/apps/new", f.url()),
        &[("manifest", &manifest().to_string())],
    )
    .await;
    let token = token_of(&resp.text().await.expect("page"));
    let confirm = format!("{}/settings/apps/new/confirm", f.url());
    let first = post_form(&confirm, &[("token", &token)]).await;
    assert_eq!(first.status(), 302);
    // Without a state, none is sent back.
    let location = first.headers()["location"].to_str().expect("location");
    assert!(!location.contains("state="), "{location}");
    let again = post_form(&confirm, &[("token", &token)]).await;
    assert_eq!(again.status(), 404);
    let forged = post_form(&confirm, &[("token", "0000")]).await;
    assert_eq!(forged.status(), 404);
    assert_eq!(f.registered_apps().len(), 1);
}

#[tokio::test]
async fn a_bad_manifest_is_refused_with_a_page_that_says_why() {
    let f = fake().await;
    let url = format!("{}/settings/apps/new", f.url());
    let long = "x".repeat(35);
    let mut cases: Vec<(String, &str)> = vec![
        ("not json".into(), "not valid JSON"),
        ("[1,2]".into(), "JSON object"),
    ];
    for (field, message) in [
        ("url", "Url must"),
        ("hook_attributes", "Hook url"),
        ("redirect_url", "Redirect url"),
    ] {
        let mut m = manifest();
        m.as_object_mut().expect("object").remove(field);
        cases.push((m.to_string(), message));
    }
    let mut m = manifest();
    m["name"] = json!(long);
    cases.push((m.to_string(), "too long"));
    let mut m = manifest();
    m["hook_attributes"]["url"] = json!("javascript:alert(1)");
    cases.push((m.to_string(), "Hook url"));
    for (body, message) in cases {
        let resp = post_form(&url, &[("manifest", &body)]).await;
        assert_eq!(resp.status(), 422, "{body}");
        let page = resp.text().await.expect("page");
        assert!(page.contains(message), "{body}: {page}");
        assert!(!page.contains("create-app"), "{page}");
    }
    let resp = post_form(&url, &[("other", "x")]).await;
    assert_eq!(resp.status(), 422);
    assert!(f.registered_apps().is_empty());
}

#[test]
fn validation_and_names() {
    assert!(validate(&manifest().to_string()).is_ok());
    assert!(validate("").is_err());
    assert_eq!(slug("Gangway"), "gangway");
    assert_eq!(slug("My  App!"), "my-app");
    assert_eq!(slug("!!!"), "app");
    assert!(is_login("acme-corp"));
    for bad in ["", "-a", "a-", "a--b", "a b", "<x>", &"a".repeat(40)] {
        assert!(!is_login(bad), "{bad:?}");
    }
}

#[tokio::test]
async fn without_a_private_key_the_fake_says_it_cannot_register() {
    let f = FakeGitHub::start(FakeConfig::new(4242, PUBLIC_PEM))
        .await
        .expect("start");
    let resp = post_form(
        &format!("{}/settings/apps/new", f.url()),
        &[("manifest", &manifest().to_string())],
    )
    .await;
    let token = token_of(&resp.text().await.expect("page"));
    let resp = post_form(
        &format!("{}/settings/apps/new/confirm", f.url()),
        &[("token", &token)],
    )
    .await;
    assert_eq!(resp.status(), 500);
    assert!(f.registered_apps().is_empty());
}
