//! Signing in to the dashboard with GitHub (the fake's OAuth web flow) over real HTTP: the
//! state check, the session cookie, logout and its CSRF check, open redirects, and who may read
//! which repository.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use fake_github::{FakeConfig, FakeGitHub, Role};
use gangway::clock::{ManualClock, SharedClock, SystemClock};
use gangway::config::{QueueSettings, Settings};
use gangway::github::GitHub;
use gangway::github::user::UserClient;
use gangway::metrics::Metrics;
use gangway::queue::Queue;
use gangway::web::WebState;
use gangway::web::access::{Access, can_read};
use gangway::web::session::Viewer;
use secrecy::ExposeSecret;

use super::support::{APP_ID, PUBLIC_KEY_PEM, TestApp, TestDb, settings};

const PUBLIC_URL: &str = "http://gangway.test";

fn sign_in_settings() -> Vec<(&'static str, &'static str)> {
    vec![
        ("GANGWAY_PUBLIC_URL", PUBLIC_URL),
        ("GANGWAY_GITHUB_CLIENT_ID", FakeConfig::DEFAULT_CLIENT_ID),
        (
            "GANGWAY_GITHUB_CLIENT_SECRET",
            FakeConfig::DEFAULT_CLIENT_SECRET,
        ),
    ]
}

struct Setup {
    fake: FakeGitHub,
    app: TestApp,
}

async fn setup_with(extra: &[(&str, &str)], clock: SharedClock) -> Setup {
    let fake = FakeGitHub::start(FakeConfig::new(APP_ID, PUBLIC_KEY_PEM))
        .await
        .expect("fake github");
    fake.add_installation(1, "octo");
    fake.add_repo(1, "octo/app", "main").expect("repo");
    fake.set_browser_user(Some("alice"));
    let mut s = sign_in_settings();
    s.extend_from_slice(extra);
    let app = TestApp::start_on(TestDb::new().await, fake.url(), &s, clock).await;
    Setup { fake, app }
}

async fn setup() -> Setup {
    setup_with(&[], Arc::new(SystemClock)).await
}

/// A browser: no redirects followed, cookies kept by hand (so the test sees every flag).
struct Browser {
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
    /// Every `Set-Cookie` header seen, as sent.
    set_cookies: Vec<String>,
    /// Every body seen.
    bodies: Vec<String>,
}

struct Answer {
    status: u16,
    location: String,
    body: String,
}

impl Browser {
    fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: BTreeMap::new(),
            set_cookies: Vec::new(),
            bodies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Answer {
        let req = if self.cookies.is_empty() {
            req
        } else {
            req.header("cookie", self.cookie_header())
        };
        let r = req.send().await.expect("request");
        for sc in r.headers().get_all("set-cookie") {
            let sc = sc.to_str().expect("ascii").to_string();
            let (pair, attrs) = sc.split_once(';').unwrap_or((&sc, ""));
            let (name, value) = pair.split_once('=').expect("name=value");
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(name.trim());
            } else {
                self.cookies
                    .insert(name.trim().to_string(), value.trim().to_string());
            }
            self.set_cookies.push(sc);
        }
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().expect("ascii").to_string())
            .unwrap_or_default();
        let body = r.text().await.expect("body");
        self.bodies.push(body.clone());
        Answer {
            status,
            location,
            body,
        }
    }

    async fn get(&mut self, url: &str) -> Answer {
        let req = self.http.get(url);
        self.send(req).await
    }
}

/// Where GitHub's redirect to the public URL lands on the test's Gangway.
fn to_app(app: &TestApp, location: &str) -> String {
    let path = location
        .strip_prefix(PUBLIC_URL)
        .unwrap_or_else(|| panic!("{location} is not under {PUBLIC_URL}"));
    app.url(path)
}

/// `/login` → GitHub's authorize page → its form posted as `login`: the callback URL (on the
/// test's Gangway).
async fn authorize(b: &mut Browser, s: &Setup, login_path: &str, login: &str) -> String {
    let start = b.get(&s.app.url(login_path)).await;
    assert_eq!(start.status, 302, "{}", start.body);
    let authorize = start.location.clone();
    assert!(
        authorize.starts_with(&format!("{}/login/oauth/authorize?", s.fake.url())),
        "{authorize}"
    );
    assert!(authorize.contains("client_id=Iv1%2Efakeclientid"));
    assert!(authorize.contains("redirect_uri=http%3A%2F%2Fgangway%2Etest%2Fauth%2Fcallback"));
    let page = b.get(&authorize).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(r#"id="authorize""#));
    let query = authorize
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default();
    let state = query
        .split('&')
        .find_map(|p| p.strip_prefix("state="))
        .expect("state")
        .to_string();
    let form = format!(
        "client_id=Iv1.fakeclientid&redirect_uri=http%3A%2F%2Fgangway.test%2Fauth%2Fcallback&state={state}&login={login}&action=authorize"
    );
    let req = b
        .http
        .post(format!("{}/login/oauth/authorize", s.fake.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form);
    let back = b.send(req).await;
    assert_eq!(back.status, 302, "{}", back.body);
    to_app(&s.app, &back.location)
}

/// A whole sign-in as `login`; the browser holds the session cookie after.
async fn sign_in(b: &mut Browser, s: &Setup, login: &str) {
    let callback = authorize(b, s, "/login", login).await;
    let done = b.get(&callback).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location, "/");
}

fn csrf_of(html: &str) -> String {
    let at = html.find(r#"name="csrf" value=""#).expect("csrf field") + 19;
    html[at..].split('"').next().expect("value").to_string()
}

async fn home(b: &mut Browser, s: &Setup) -> String {
    let h = b.get(&s.app.url("/")).await;
    assert_eq!(h.status, 200);
    h.body
}

fn signed_in_as(html: &str, login: &str) -> bool {
    html.contains(&format!("Signed in as <strong>{login}</strong>"))
}

/// Log lines written while the test runs (the test's runtime is single-threaded, so Gangway's
/// tasks log through the test thread's subscriber).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("logs").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

/// Everything logged in this test binary from the first call on (a process-wide subscriber:
/// a thread-local one misses events whose callsites other tests' threads cached first).
fn global_logs() -> Logs {
    static LOGS: std::sync::OnceLock<Logs> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "debug,sqlx=warn,hyper=info,hyper_util=info,h2=info,rustls=info",
            ))
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other test sets a global subscriber");
        logs
    })
    .clone()
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("logs")).into_owned()
    }
}

#[tokio::test]
async fn a_user_signs_in_and_out_and_the_token_never_leaves_the_server() {
    let logs = global_logs();
    let s = setup().await;
    let mut b = Browser::new();
    assert!(home(&mut b, &s).await.contains(r#"id="sign-in""#));

    sign_in(&mut b, &s, "alice").await;
    let oauth = b
        .set_cookies
        .iter()
        .find(|c| c.starts_with("gangway_oauth=") && !c.contains("Max-Age=0"))
        .expect("state cookie")
        .clone();
    let session = b
        .set_cookies
        .iter()
        .find(|c| c.starts_with("gangway_session="))
        .expect("session cookie")
        .clone();
    for c in [&oauth, &session] {
        assert!(c.contains("HttpOnly"), "{c}");
        assert!(c.contains("SameSite=Lax"), "{c}");
        assert!(c.contains("Path=/"), "{c}");
        assert!(!c.contains("Secure"), "plain http: no Secure flag: {c}");
    }
    assert!(oauth.contains("Max-Age=600"), "{oauth}");
    assert!(session.contains("Max-Age=28800"), "{session}");
    assert!(
        !b.cookies.contains_key("gangway_oauth"),
        "the callback spends the state cookie"
    );

    let page = home(&mut b, &s).await;
    assert!(signed_in_as(&page, "alice"), "{page}");
    let csrf = csrf_of(&page);
    let row = s
        .app
        .store()
        .web_session_by_csrf(&csrf, chrono::Utc::now().timestamp_millis())
        .await
        .expect("store")
        .expect("session row");
    assert_eq!(row.login, "alice");
    let token = row.token.expose_secret().to_string();
    assert!(token.starts_with("ghu_"));
    let old_cookie = b.cookies["gangway_session"].clone();
    assert!(!old_cookie.contains(&token));

    // Logout needs this session's token, from this site.
    let logout = s.app.url("/logout");
    let form = |t: &str| format!("csrf={t}");
    for (token_sent, site) in [
        ("", "same-origin"),
        ("not-the-token", "same-origin"),
        (csrf.as_str(), "cross-site"),
    ] {
        let req = b
            .http
            .post(&logout)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("sec-fetch-site", site)
            .body(form(token_sent));
        let refused = b.send(req).await;
        assert_eq!(refused.status, 403, "{token_sent:?} {site}");
        assert!(signed_in_as(&home(&mut b, &s).await, "alice"));
    }
    let req = b
        .http
        .post(&logout)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "https://evil.example")
        .body(form(&csrf));
    assert_eq!(b.send(req).await.status, 403);
    let req = b
        .http
        .post(&logout)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .body(form(&csrf));
    let out = b.send(req).await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location, "/");
    assert!(!b.cookies.contains_key("gangway_session"));
    assert!(home(&mut b, &s).await.contains(r#"id="sign-in""#));

    // The old cookie, replayed, is nobody now.
    let mut replay = Browser::new();
    replay
        .cookies
        .insert("gangway_session".into(), old_cookie.clone());
    assert!(!signed_in_as(&home(&mut replay, &s).await, "alice"));

    for body in b.bodies.iter().chain(&replay.bodies) {
        assert!(!body.contains(&token), "a page shows the user's token");
    }
    for c in &b.set_cookies {
        assert!(!c.contains(&token));
    }
    let logged = logs.text();
    assert!(
        logged.contains("signed in to the dashboard"),
        "logs captured: {} bytes: {}",
        logged.len(),
        &logged[..logged.len().min(2000)]
    );
    assert!(!logged.contains(&token), "the user's token is in the logs");
    assert!(!logged.contains(FakeConfig::DEFAULT_CLIENT_SECRET));
    assert!(!logged.contains(&old_cookie));
}

#[tokio::test]
async fn a_forged_missing_or_used_state_signs_nobody_in() {
    let s = setup().await;

    // Forged: the callback's state is not the cookie's.
    let mut b = Browser::new();
    let callback = authorize(&mut b, &s, "/login", "alice").await;
    let (base, _) = callback.split_once("&state=").expect("state");
    let forged = b.get(&format!("{base}&state=forged")).await;
    assert_eq!(forged.status, 400);
    assert!(
        forged.body.contains("could not be verified"),
        "{}",
        forged.body
    );
    assert!(!b.cookies.contains_key("gangway_session"));

    // Missing: GitHub's answer arrives in a browser that never started a sign-in (login CSRF).
    let mut victim = Browser::new();
    let mut attacker = Browser::new();
    let callback = authorize(&mut attacker, &s, "/login", "alice").await;
    let missing = victim.get(&callback).await;
    assert_eq!(missing.status, 400);
    assert!(!victim.cookies.contains_key("gangway_session"));
    assert!(!signed_in_as(&home(&mut victim, &s).await, "alice"));

    // Used: the cookie is spent by the first callback; a replay with it is refused.
    let mut b = Browser::new();
    let callback = authorize(&mut b, &s, "/login", "alice").await;
    let state_cookie = b.cookies["gangway_oauth"].clone();
    assert_eq!(b.get(&callback).await.status, 303);
    let mut replay = Browser::new();
    replay
        .cookies
        .insert("gangway_oauth".into(), state_cookie.clone());
    let again = replay.get(&callback).await;
    assert_eq!(again.status, 400, "the code is single-use at GitHub");
    assert!(!replay.cookies.contains_key("gangway_session"));

    // A tampered state cookie is no cookie.
    let mut b = Browser::new();
    let callback = authorize(&mut b, &s, "/login", "alice").await;
    let c = b.cookies.get_mut("gangway_oauth").expect("cookie");
    let flipped = if c.ends_with('A') { 'B' } else { 'A' };
    c.pop();
    c.push(flipped);
    assert_eq!(b.get(&callback).await.status, 400);
    assert!(!b.cookies.contains_key("gangway_session"));

    // Junk in the callback's query.
    let mut b = Browser::new();
    for q in [
        "",
        "?code=x",
        "?state=x",
        "?code=%ff%fe&state=%00",
        &format!("?code={}&state=x", "a".repeat(5000)),
    ] {
        let r = b.get(&s.app.url(&format!("/auth/callback{q}"))).await;
        assert_eq!(r.status, 400, "{q}");
    }
    assert!(!b.cookies.contains_key("gangway_session"));
}

#[tokio::test]
async fn a_state_older_than_ten_minutes_is_refused() {
    let clock = ManualClock::new(chrono::Utc::now().timestamp_millis());
    let s = setup_with(&[], Arc::new(clock.clone())).await;
    let mut b = Browser::new();
    let callback = authorize(&mut b, &s, "/login", "alice").await;
    clock.advance_ms(10 * 60 * 1000 + 1);
    let late = b.get(&callback).await;
    assert_eq!(late.status, 400);
    assert!(!b.cookies.contains_key("gangway_session"));
}

#[tokio::test]
async fn cancelling_on_github_says_so() {
    let s = setup().await;
    let mut b = Browser::new();
    let start = b.get(&s.app.url("/login")).await;
    let state = start
        .location
        .split("state=")
        .nth(1)
        .expect("state")
        .to_string();
    let cancelled = b
        .get(&s.app.url(&format!(
            "/auth/callback?error=access_denied&error_description=denied&state={state}"
        )))
        .await;
    assert_eq!(cancelled.status, 200);
    assert!(cancelled.body.contains("Sign-in was cancelled"));
    assert!(!b.cookies.contains_key("gangway_session"));
    let hostile = b
        .get(&s.app.url(
            "/auth/callback?error=%3Cscript%3Ealert(1)%3C/script%3E&error_description=%3Cb%3E",
        ))
        .await;
    assert_eq!(hostile.status, 400);
    assert!(!hostile.body.contains("<script>alert"));
    assert!(
        hostile.body.contains("&#60;script&#62;"),
        "{}",
        hostile.body
    );
}

#[tokio::test]
async fn a_tampered_or_unknown_session_cookie_is_anonymous() {
    let s = setup().await;
    let mut b = Browser::new();
    sign_in(&mut b, &s, "alice").await;
    let good = b.cookies["gangway_session"].clone();
    assert!(signed_in_as(&home(&mut b, &s).await, "alice"));
    let mut bad = good.clone();
    let last = bad.pop().expect("non-empty");
    bad.push(if last == 'A' { 'B' } else { 'A' });
    for value in [
        bad.as_str(),
        "",
        "garbage",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let mut other = Browser::new();
        other.cookies.insert("gangway_session".into(), value.into());
        let page = home(&mut other, &s).await;
        assert!(page.contains(r#"id="sign-in""#), "{value:?}");
    }
    // A signed value moved to another cookie name does not count either.
    let mut other = Browser::new();
    other.cookies.insert("gangway_oauth".into(), good);
    assert!(home(&mut other, &s).await.contains(r#"id="sign-in""#));
}

#[tokio::test]
async fn next_goes_only_to_pages_of_this_site() {
    let s = setup().await;
    for (next, lands) in [
        ("%2Frepos%2Focto%2Fapp", "/repos/octo/app"),
        ("%2F%2Fevil.example", "/"),
        ("https%3A%2F%2Fevil.example%2F", "/"),
        ("%2F%5Cevil.example", "/"),
        ("%5C%5Cevil.example", "/"),
        ("evil.example", "/"),
    ] {
        let mut b = Browser::new();
        let callback = authorize(&mut b, &s, &format!("/login?next={next}"), "alice").await;
        let done = b.get(&callback).await;
        assert_eq!(done.status, 303);
        assert_eq!(done.location, lands, "next={next}");
    }
}

#[tokio::test]
async fn login_without_a_client_says_what_to_set() {
    let app = TestApp::start_with(
        "http://127.0.0.1:9",
        &[
            ("GANGWAY_PUBLIC_URL", PUBLIC_URL),
            ("GANGWAY_GITHUB_CLIENT_ID", ""),
            ("GANGWAY_GITHUB_CLIENT_SECRET", ""),
        ],
    )
    .await;
    let mut b = Browser::new();
    let r = b.get(&app.url("/login")).await;
    assert_eq!(r.status, 503);
    assert!(r.body.contains("Sign-in is not configured"));
    assert!(r.body.contains("GANGWAY_GITHUB_CLIENT_ID"));
    assert!(r.body.contains("GANGWAY_GITHUB_CLIENT_SECRET"));
    assert!(b.cookies.is_empty());
}

#[tokio::test]
async fn https_public_urls_get_secure_cookies() {
    let s = setup_with(
        &[("GANGWAY_PUBLIC_URL", "https://gangway.example")],
        Arc::new(SystemClock),
    )
    .await;
    let mut b = Browser::new();
    let r = b.get(&s.app.url("/login")).await;
    assert_eq!(r.status, 302);
    assert!(
        r.location
            .contains("redirect_uri=https%3A%2F%2Fgangway%2Eexample%2Fauth%2Fcallback")
    );
    assert!(
        b.set_cookies.iter().all(|c| c.contains("; Secure")),
        "{:?}",
        b.set_cookies
    );
}

/// The dashboard's state as the pages see it, beside the running server (same database).
fn web_state(s: &Setup, extra: &[(&str, &str)]) -> WebState {
    let mut pairs = sign_in_settings();
    pairs.extend_from_slice(extra);
    let settings: Settings = settings(&s.app.db.url, s.fake.url(), &pairs);
    let clock: SharedClock = Arc::new(SystemClock);
    let store = s.app.store().clone();
    let github = GitHub::new(
        &settings.github_api_url,
        settings.app_id,
        &settings.private_key,
        Metrics::new(),
    )
    .expect("github client");
    let users = UserClient::new(&settings.github_api_url, &settings.web.github_url).expect("users");
    WebState {
        store: store.clone(),
        queue: Queue::new(store, clock.clone(), "test", QueueSettings::default()),
        clock,
        settings: Arc::new(settings.web.clone()),
        access: Arc::new(Access::new(users, github)),
        budgets: Arc::default(),
        streams: Arc::new(tokio::sync::Semaphore::new(gangway::web::MAX_STREAMS)),
    }
}

async fn viewer_after_sign_in(s: &Setup, login: &str) -> Viewer {
    let mut b = Browser::new();
    s.fake.set_browser_user(Some(login));
    sign_in(&mut b, s, login).await;
    let page = home(&mut b, s).await;
    assert!(signed_in_as(&page, login));
    let row = s
        .app
        .store()
        .web_session_by_csrf(&csrf_of(&page), chrono::Utc::now().timestamp_millis())
        .await
        .expect("store")
        .expect("row");
    Viewer {
        login: row.login,
        id: row.user_id,
        csrf: row.csrf,
    }
}

#[tokio::test]
async fn private_repositories_are_readable_only_by_their_collaborators() {
    let s = setup().await;
    s.fake.add_repo(1, "octo/secret", "main").expect("repo");
    s.fake.set_private("octo/secret", true).expect("private");
    s.fake
        .set_permission("octo/secret", "bob", Role::Read)
        .expect("role");
    let state = web_state(&s, &[]);
    let alice = viewer_after_sign_in(&s, "alice").await;
    let bob = viewer_after_sign_in(&s, "bob").await;
    assert!(
        !can_read(&state, Some(&alice), "octo/secret")
            .await
            .expect("asked")
    );
    assert!(
        can_read(&state, Some(&bob), "octo/secret")
            .await
            .expect("asked")
    );
    assert!(
        can_read(&state, Some(&alice), "octo/app")
            .await
            .expect("asked")
    );
    assert!(
        !can_read(&state, Some(&alice), "octo/none")
            .await
            .expect("asked")
    );
    assert!(!can_read(&state, Some(&alice), "../x").await.expect("asked"));
    // Anonymous without GANGWAY_DASHBOARD_PUBLIC: nothing.
    assert!(!can_read(&state, None, "octo/app").await.expect("asked"));

    // Answers are kept a minute: asking again costs no call to GitHub.
    let before = s.fake.calls().len();
    assert!(
        can_read(&state, Some(&bob), "octo/secret")
            .await
            .expect("cached")
    );
    assert_eq!(s.fake.calls().len(), before, "cached: no call to GitHub");
    // A viewer whose session is gone (signed out, expired) reads nothing.
    let gone = Viewer {
        login: "bob".into(),
        id: bob.id,
        csrf: "no-such-session".into(),
    };
    assert!(
        !can_read(&state, Some(&gone), "octo/secret")
            .await
            .expect("asked")
    );

    // GitHub failing is an error, never "allowed".
    s.fake
        .inject(fake_github::Fault::status(502).on("GET", "/repos/octo/app"));
    let fresh = web_state(&s, &[]);
    assert!(can_read(&fresh, Some(&alice), "octo/app").await.is_err());
}

#[tokio::test]
async fn anonymous_visitors_read_public_repositories_gangway_serves_when_allowed() {
    let s = setup().await;
    let ids: Vec<(String, u64)> = ["octo/open", "octo/secret"]
        .iter()
        .map(|n| {
            (
                n.to_string(),
                s.fake.add_repo(1, n, "main").expect("repo").id,
            )
        })
        .collect();
    s.fake.set_private("octo/secret", true).expect("private");
    let now = chrono::Utc::now().timestamp_millis();
    let store = s.app.store();
    store
        .upsert_installation(1, "octo", now)
        .await
        .expect("inst");
    for (name, id) in &ids {
        store
            .add_repository(1, i64::try_from(*id).expect("id"), name, now)
            .await
            .expect("repo");
    }
    let public = web_state(&s, &[("GANGWAY_DASHBOARD_PUBLIC", "true")]);
    assert!(can_read(&public, None, "octo/open").await.expect("asked"));
    assert!(can_read(&public, None, "OCTO/Open").await.expect("asked"));
    assert!(!can_read(&public, None, "octo/secret").await.expect("asked"));
    assert!(
        !can_read(&public, None, "someone/else")
            .await
            .expect("asked"),
        "a repository Gangway does not serve"
    );
    let closed = web_state(&s, &[]);
    assert!(!can_read(&closed, None, "octo/open").await.expect("asked"));
}

/// The `#auth-message` paragraph of a sign-in page.
fn auth_message(html: &str) -> String {
    let at = html.find(r#"<p id="auth-message">"#).expect("message") + 21;
    html[at..].split("</p>").next().expect("end").to_string()
}

#[tokio::test]
async fn what_the_sign_in_pages_say() {
    let s = setup().await;
    let mut b = Browser::new();
    let mut said = Vec::new();
    let cancelled = b
        .get(&s.app.url("/auth/callback?error=access_denied&state=x"))
        .await;
    said.push(format!("cancelled: {}", auth_message(&cancelled.body)));
    let forged = b.get(&s.app.url("/auth/callback?code=c&state=x")).await;
    said.push(format!("forged state: {}", auth_message(&forged.body)));
    let callback = authorize(&mut b, &s, "/login", "alice").await;
    let (base, state) = callback.split_once("?code=").expect("code");
    let (_, state) = state.split_once("&state=").expect("state");
    let bad_code = b
        .get(&format!("{base}?code=not-a-code&state={state}"))
        .await;
    assert_eq!(bad_code.status, 400);
    said.push(format!("bad code: {}", auth_message(&bad_code.body)));
    sign_in(&mut b, &s, "alice").await;
    let req = b
        .http
        .post(s.app.url("/logout"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "cross-site")
        .body("csrf=x");
    let refused = b.send(req).await;
    said.push(format!(
        "cross-site logout: {}",
        auth_message(&refused.body)
    ));
    let app = TestApp::start_with(
        "http://127.0.0.1:9",
        &[
            ("GANGWAY_PUBLIC_URL", PUBLIC_URL),
            ("GANGWAY_GITHUB_CLIENT_ID", ""),
            ("GANGWAY_GITHUB_CLIENT_SECRET", ""),
        ],
    )
    .await;
    let off = b.get(&app.url("/login")).await;
    said.push(format!("not configured: {}", auth_message(&off.body)));
    insta::assert_snapshot!("sign_in_pages", said.join("\n"));
}
