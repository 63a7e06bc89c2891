//! A browser-less signed-in user: the real sign-in (Gangway's `/login` → the fake GitHub's
//! authorize form → Gangway's callback) over HTTP, then pages and form posts with the session's
//! cookie and CSRF token.

use fake_github::FakeGitHub;
use reqwest::header::{HeaderMap, HeaderValue};

use super::TestApp;

/// A GitHub user signed in to the dashboard of one test Gangway.
pub struct Session {
    pub login: String,
    /// The session's CSRF token, as its pages carry it.
    pub csrf: String,
    cookies: Vec<(String, String)>,
    http: reqwest::Client,
    base: String,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// `name=value` of each `Set-Cookie`, removals dropped.
fn take_cookies(r: &reqwest::Response, jar: &mut Vec<(String, String)>) {
    for sc in r.headers().get_all("set-cookie") {
        let sc = sc.to_str().expect("ascii");
        let (pair, attrs) = sc.split_once(';').unwrap_or((sc, ""));
        let (name, value) = pair.split_once('=').expect("name=value");
        jar.retain(|(n, _)| n != name.trim());
        if !attrs.contains("Max-Age=0") {
            jar.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
}

fn cookie_header(jar: &[(String, String)]) -> String {
    jar.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `application/x-www-form-urlencoded`.
pub fn encode<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                k.as_ref(),
                percent_encoding::utf8_percent_encode(
                    v.as_ref(),
                    percent_encoding::NON_ALPHANUMERIC
                )
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The path and query of an absolute URL.
fn path_of(url: &str) -> &str {
    let after = url.find("://").map_or(0, |i| i + 3);
    url[after..].find('/').map_or("/", |i| &url[after + i..])
}

impl Session {
    /// Signs `login` in through the fake GitHub's authorize form, as a browser would.
    pub async fn sign_in(app: &TestApp, fake: &FakeGitHub, login: &str) -> Session {
        // A GitHub account by that name (the fake creates accounts on first use elsewhere).
        fake.add_user(login, fake_github::UserKind::User);
        Session::sign_in_at(&app.url(""), fake.url(), login).await
    }

    /// The same, given only where Gangway (`base`, no trailing slash) and the fake GitHub are.
    pub async fn sign_in_at(base: &str, fake_url: &str, login: &str) -> Session {
        let http = client();
        let mut jar = Vec::new();
        let start = http
            .get(format!("{base}/login"))
            .send()
            .await
            .expect("/login");
        assert_eq!(start.status(), 302, "/login");
        take_cookies(&start, &mut jar);
        let authorize = start
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .expect("to GitHub")
            .to_owned();
        let query = authorize.split_once('?').map_or("", |(_, q)| q);
        let param = |name: &str| {
            query
                .split('&')
                .find_map(|p| p.strip_prefix(&format!("{name}=")))
                .map(|v| {
                    percent_encoding::percent_decode_str(v)
                        .decode_utf8_lossy()
                        .into_owned()
                })
                .unwrap_or_default()
        };
        let form = [
            ("client_id", param("client_id")),
            ("redirect_uri", param("redirect_uri")),
            ("state", param("state")),
            ("login", login.to_owned()),
            ("action", "authorize".to_owned()),
        ];
        let back = http
            .post(format!("{fake_url}/login/oauth/authorize"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(&form))
            .send()
            .await
            .expect("authorize");
        assert_eq!(back.status(), 302, "the fake GitHub's authorize form");
        let callback = back
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .expect("back to Gangway")
            .to_owned();
        let done = http
            .get(format!("{base}{}", path_of(&callback)))
            .header("cookie", cookie_header(&jar))
            .send()
            .await
            .expect("callback");
        assert_eq!(done.status(), 303, "the callback signs in");
        take_cookies(&done, &mut jar);
        let mut s = Session {
            login: login.to_owned(),
            csrf: String::new(),
            cookies: jar,
            http,
            base: base.to_owned(),
        };
        let home = s.get("/").await.text().await.expect("home");
        let at = home
            .find(r#"name="csrf" value=""#)
            .unwrap_or_else(|| panic!("not signed in: {home}"))
            + r#"name="csrf" value=""#.len();
        s.csrf = home[at..].split('"').next().unwrap_or_default().to_owned();
        s
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .header("cookie", cookie_header(&self.cookies))
            .send()
            .await
            .expect("get")
    }

    /// Posts a form body as a page of Gangway's would (`Sec-Fetch-Site: same-origin`), with
    /// `headers` added or replacing it.
    pub async fn post(&self, path: &str, headers: HeaderMap, body: String) -> reqwest::Response {
        let mut h = HeaderMap::new();
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        h.insert(
            "content-type",
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        h.extend(headers);
        self.http
            .post(format!("{}{path}", self.base))
            .headers(h)
            .header("cookie", cookie_header(&self.cookies))
            .body(body)
            .send()
            .await
            .expect("post")
    }
}
