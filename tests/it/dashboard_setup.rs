//! First run: with no GitHub App configured, `gangway serve` serves a page that registers the
//! App on GitHub (the fake's manifest flow), and the callback writes its credentials to a new
//! file only Gangway's user can read; Gangway then serves with that file as its configuration.

use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use fake_github::{FakeConfig, FakeGitHub};
use gangway::config::{SetupSettings, Source};
use gangway::ingress::signature::sign;
use gangway::server::{Running, SetupRunning};
use serde_json::Value;
use support::*;

struct Setup {
    fake: FakeGitHub,
    running: Option<SetupRunning>,
    public: String,
    file: PathBuf,
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

/// What `/` showed: where the form posts, the manifest, and the state cookie.
struct FirstPage {
    status: u16,
    body: String,
    cookie: Option<String>,
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}

fn attr_after(body: &str, marker: &str, attr: &str) -> String {
    let at = body
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {body}"));
    // The tag holding the marker.
    let tag = body[..at].rfind('<').expect("a tag");
    let rest = &body[tag..];
    let start = rest.find(&format!("{attr}=\"")).expect("attribute") + attr.len() + 2;
    unescape(rest[start..].split('"').next().expect("value"))
}

impl FirstPage {
    fn action(&self) -> String {
        attr_after(&self.body, "id=\"register\"", "action")
            .trim()
            .to_owned()
    }

    fn manifest(&self) -> Value {
        let raw = attr_after(&self.body, "name=\"manifest\"", "value");
        serde_json::from_str(&raw).expect("manifest is JSON")
    }

    fn state(&self) -> String {
        let action = self.action();
        action.split("state=").nth(1).expect("state").to_owned()
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

fn form_body(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                k,
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

impl Setup {
    async fn start() -> Setup {
        let fake =
            FakeGitHub::start(FakeConfig::new(APP_ID, PUBLIC_KEY_PEM).with_private_key(KEY_PEM))
                .await
                .expect("fake github");
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("gangway-app.toml");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let public = format!("http://{addr}");
        let src = Source::from_env(
            [
                ("GITHUB_API_URL", fake.url()),
                ("GANGWAY_PUBLIC_URL", public.as_str()),
                ("GANGWAY_HOST", "127.0.0.1"),
                ("PORT", &addr.port().to_string()),
                ("GANGWAY_CREDENTIALS_FILE", &file.display().to_string()),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        assert!(gangway::config::app_unconfigured(&src));
        let settings = SetupSettings::load(&src).expect("setup settings");
        let running = SetupRunning::start(&settings, listener)
            .await
            .expect("setup mode");
        Setup {
            fake,
            running: Some(running),
            public,
            file,
            dir,
            http: client(),
        }
    }

    async fn first_page(&self, query: &str) -> FirstPage {
        let resp = self
            .http
            .get(format!("{}/{query}", self.public))
            .send()
            .await
            .expect("GET /");
        let status = resp.status().as_u16();
        let cookie = resp
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        FirstPage {
            status,
            body: resp.text().await.expect("body"),
            cookie,
        }
    }

    /// Posts the form to the fake GitHub and confirms: the fake's redirect to Gangway.
    async fn register_on_github(&self, page: &FirstPage) -> String {
        let resp = self
            .http
            .post(page.action())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&[("manifest", &page.manifest().to_string())]))
            .send()
            .await
            .expect("post manifest");
        assert_eq!(resp.status(), 200);
        let confirm = resp.text().await.expect("confirmation");
        assert!(confirm.contains("id=\"create-app\""), "{confirm}");
        let token = attr_after(&confirm, "name=\"token\"", "value");
        let resp = self
            .http
            .post(format!("{}/settings/apps/new/confirm", self.fake.url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&[("token", &token), ("owner", "maintainer")]))
            .send()
            .await
            .expect("confirm");
        assert_eq!(resp.status(), 302);
        resp.headers()["location"]
            .to_str()
            .expect("location")
            .to_owned()
    }

    /// Follows GitHub's redirect to Gangway's callback, with `cookie` (the `name=value` part).
    async fn callback(&self, url: &str, cookie: Option<&str>) -> (u16, String) {
        let mut req = self.http.get(url);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let resp = req.send().await.expect("callback");
        (resp.status().as_u16(), resp.text().await.expect("body"))
    }

    fn callback_url(&self, code: &str, state: &str) -> String {
        format!("{}/setup/callback?code={code}&state={state}", self.public)
    }

    async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await.expect("setup mode stops");
        }
    }
}

fn cookie_pair(set_cookie: &Option<String>) -> String {
    set_cookie
        .as_deref()
        .expect("a state cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned()
}

fn code_of(location: &str) -> String {
    location
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .expect("code")
        .to_owned()
}

#[tokio::test]
async fn the_first_page_registers_the_app_and_gangway_then_serves_with_its_credentials() {
    let s = Setup::start().await;
    let health = s
        .http
        .get(format!("{}/healthz", s.public))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let ready = s
        .http
        .get(format!("{}/readyz", s.public))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 503);
    assert!(ready.text().await.expect("body").contains("not configured"));

    let page = s.first_page("").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"register\""), "{}", page.body);
    assert!(page.body.contains("id=\"register-app\""), "{}", page.body);
    let action = page.action();
    assert!(
        action.starts_with(&format!("{}/settings/apps/new?state=", s.fake.url())),
        "{action}"
    );
    let cookie = page.cookie.clone().expect("state cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains(&page.state()), "{cookie}");
    let manifest = page.manifest();
    assert_eq!(
        manifest["hook_attributes"]["url"],
        format!("{}/webhooks", s.public)
    );
    assert_eq!(
        manifest["redirect_url"],
        format!("{}/setup/callback", s.public)
    );
    assert_eq!(
        manifest["callback_urls"][0],
        format!("{}/auth/callback", s.public)
    );

    let location = s.register_on_github(&page).await;
    assert!(
        location.starts_with(&format!("{}/setup/callback?code=", s.public)),
        "{location}"
    );
    let (status, body) = s
        .callback(&location, Some(&cookie_pair(&page.cookie)))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("id=\"registered\""), "{body}");
    let app = s.fake.registered_apps().pop().expect("an App registered");
    assert!(
        body.contains(&format!("<strong id=\"app-id\">{}</strong>", app.id)),
        "{body}"
    );
    assert!(body.contains("GANGWAY_CONFIG="), "{body}");
    assert!(body.contains(&s.file.display().to_string()), "{body}");
    for secret in [&app.webhook_secret, &app.client_secret] {
        assert!(!body.contains(secret.as_str()), "a secret on the page");
    }
    assert!(!body.contains("PRIVATE KEY-----"), "the key on the page");

    let mode = std::fs::metadata(&s.file)
        .expect("file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let written: toml::Table = std::fs::read_to_string(&s.file)
        .expect("read")
        .parse()
        .expect("TOML");
    assert_eq!(written["app_id"].as_integer(), i64::try_from(app.id).ok());
    assert_eq!(
        written["webhook_secret"].as_str(),
        Some(app.webhook_secret.as_str())
    );
    assert_eq!(
        written["github_client_id"].as_str(),
        Some(app.client_id.as_str())
    );
    assert_eq!(
        written["github_client_secret"].as_str(),
        Some(app.client_secret.as_str())
    );
    assert_eq!(written["private_key"].as_str(), Some(KEY_PEM));

    // Gangway, started with the file, serves: ready, and deliveries signed with the new
    // secret are accepted (the old one's are not).
    let db = TestDb::new().await;
    let file = s.file.display().to_string();
    let settings = gangway::config::Settings::load(&Source::from_env(
        [
            ("GANGWAY_CONFIG", file.as_str()),
            ("GITHUB_API_URL", s.fake.url()),
            ("DATABASE_URL", db.url.as_str()),
            ("GANGWAY_HOST", "127.0.0.1"),
            ("PORT", "3000"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    ))
    .expect("the written file is a valid configuration");
    assert_eq!(settings.app_id, app.id);
    assert_eq!(
        settings.web.client_id.as_deref(),
        Some(app.client_id.as_str())
    );
    s.stop().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let running = Running::start(
        &settings,
        listener,
        std::sync::Arc::new(gangway::clock::SystemClock),
    )
    .await
    .expect("gangway serves with the registered App");
    let base = format!("http://{}", running.addr());
    let http = test_http_client();
    let ready = http
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    let body = fixture("ping.json");
    let deliver = |secret: String| {
        let http = http.clone();
        let body = body.clone();
        let url = format!("{base}/webhooks");
        async move {
            http.post(url)
                .header("content-type", "application/json")
                .header("x-github-event", "ping")
                .header("x-github-delivery", "setup-ping-1")
                .header("x-hub-signature-256", sign(secret.as_bytes(), &body))
                .body(body)
                .send()
                .await
                .expect("deliver")
                .status()
                .as_u16()
        }
    };
    assert_eq!(deliver(app.webhook_secret.clone()).await, 200);
    assert_eq!(deliver(SECRET.to_owned()).await, 401);
    running.shutdown().await.expect("stops");
}

#[tokio::test]
async fn a_forged_or_missing_state_saves_nothing() {
    let s = Setup::start().await;
    let page = s.first_page("").await;
    let location = s.register_on_github(&page).await;
    let code = code_of(&location);
    let mine = cookie_pair(&page.cookie);
    let other_page = s.first_page("").await;
    let others = cookie_pair(&other_page.cookie);
    let forged = "f".repeat(48);
    for (url, cookie) in [
        // No state at all.
        (
            format!("{}/setup/callback?code={code}", s.public),
            Some(mine.clone()),
        ),
        // A state never issued, with a cookie to match.
        (
            s.callback_url(&code, &forged),
            Some(format!("gangway_setup_state={forged}")),
        ),
        // The right state without this browser's cookie.
        (location.clone(), None),
        // The right state with another browser's cookie.
        (location.clone(), Some(others.clone())),
    ] {
        let (status, body) = s.callback(&url, cookie.as_deref()).await;
        assert_eq!(status, 400, "{url}: {body}");
        assert!(body.contains("id=\"error\""), "{body}");
        assert!(!s.file.exists(), "a file after {url}");
    }
    // The code was not spent by the refused attempts: the real browser finishes.
    let (status, body) = s.callback(&location, Some(&mine)).await;
    assert_eq!(status, 200, "{body}");
    assert!(s.file.exists());
    // Its state is used up.
    std::fs::remove_file(&s.file).expect("remove");
    let (status, _) = s.callback(&location, Some(&mine)).await;
    assert_eq!(status, 400);
    assert!(!s.file.exists());
    s.stop().await;
}

#[tokio::test]
async fn a_replayed_code_is_refused_and_saves_nothing() {
    let s = Setup::start().await;
    let page = s.first_page("").await;
    let location = s.register_on_github(&page).await;
    let (status, _) = s
        .callback(&location, Some(&cookie_pair(&page.cookie)))
        .await;
    assert_eq!(status, 200);
    std::fs::remove_file(&s.file).expect("remove");
    // The same code again, with a fresh state of this browser.
    let again = s.first_page("").await;
    let url = s.callback_url(&code_of(&location), &again.state());
    let (status, body) = s.callback(&url, Some(&cookie_pair(&again.cookie))).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("did not accept the code"), "{body}");
    assert!(!s.file.exists());
    s.stop().await;
}

#[tokio::test]
async fn an_existing_credentials_file_is_never_overwritten() {
    let s = Setup::start().await;
    std::fs::write(&s.file, "app_id = 1\n").expect("write");
    let page = s.first_page("").await;
    let location = s.register_on_github(&page).await;
    let (status, body) = s
        .callback(&location, Some(&cookie_pair(&page.cookie)))
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("already exists"), "{body}");
    assert_eq!(
        std::fs::read_to_string(&s.file).expect("read"),
        "app_id = 1\n"
    );
    assert!(s.dir.path().read_dir().expect("dir").count() == 1);
    s.stop().await;
}

#[tokio::test]
async fn an_organization_owns_the_app_and_a_hostile_organization_name_is_refused() {
    let s = Setup::start().await;
    let page = s.first_page("?org=acme").await;
    assert_eq!(page.status, 200);
    assert!(
        page.action().starts_with(&format!(
            "{}/organizations/acme/settings/apps/new?state=",
            s.fake.url()
        )),
        "{}",
        page.action()
    );
    let location = s.register_on_github(&page).await;
    let (status, _) = s
        .callback(&location, Some(&cookie_pair(&page.cookie)))
        .await;
    assert_eq!(status, 200);
    assert_eq!(s.fake.registered_apps()[0].owner, "acme");

    for hostile in [
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "acme%2F..%2Fevil",
        "a%22b",
        "acme%5Bbot%5D",
    ] {
        let page = s.first_page(&format!("?org={hostile}")).await;
        assert_eq!(page.status, 400, "{hostile}");
        assert!(!page.body.contains("id=\"register\""), "{}", page.body);
        assert!(!page.body.contains("<script>"), "{}", page.body);
        assert!(page.cookie.is_none());
    }
    s.stop().await;
}

fn gangway() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gangway"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    c
}

#[test]
fn a_partial_app_configuration_is_still_an_error_naming_what_is_missing() {
    let out = gangway()
        .arg("serve")
        .env("APP_ID", "12")
        .env("PORT", free_port().to_string())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for want in ["PRIVATE_KEY: missing", "WEBHOOK_SECRET: missing"] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
    assert!(!err.contains("register"), "{err}");
}

/// The binary: `gangway serve` with no App setting serves the registration page, registers the
/// App end to end, and logs none of its secrets (at debug level).
#[tokio::test]
async fn serve_without_any_app_setting_starts_in_setup_mode_and_logs_no_secret() {
    let fake = FakeGitHub::start(FakeConfig::new(APP_ID, PUBLIC_KEY_PEM).with_private_key(KEY_PEM))
        .await
        .expect("fake github");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("app.toml");
    let log_path = dir.path().join("serve.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let mut child = gangway()
        .arg("serve")
        .env("GANGWAY_HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("GANGWAY_PUBLIC_URL", &public)
        .env("GITHUB_API_URL", fake.url())
        .env("GANGWAY_CREDENTIALS_FILE", &file)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn");
    let s = Setup {
        fake,
        running: None,
        public: public.clone(),
        file: file.clone(),
        dir,
        http: client(),
    };
    let status = wait_for(
        "setup mode answers /readyz",
        Duration::from_secs(30),
        || {
            let http = s.http.clone();
            let url = format!("{public}/readyz");
            async move { http.get(url).send().await.ok().map(|r| r.status().as_u16()) }
        },
    )
    .await;
    assert_eq!(status, 503);
    let page = s.first_page("").await;
    assert_eq!(page.status, 200);
    let location = s.register_on_github(&page).await;
    let (status, body) = s
        .callback(&location, Some(&cookie_pair(&page.cookie)))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(file.exists());
    let _ = child.kill();
    let _ = child.wait();
    let logged = std::fs::read_to_string(&log_path).expect("log");
    let app = s.fake.registered_apps().pop().expect("registered");
    assert!(logged.contains("GitHub App registered"), "{logged}");
    for secret in [&app.webhook_secret, &app.client_secret] {
        assert!(
            !logged.contains(secret.as_str()),
            "a secret in the log:\n{logged}"
        );
    }
    assert!(!logged.contains("PRIVATE KEY"), "the key in the log");
    assert!(!logged.contains(&code_of(&location)), "the code in the log");
}
