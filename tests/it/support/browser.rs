//! Browser tests: a headless Chromium driven over WebDriver (fantoccini → a `chromedriver` this
//! harness starts on 127.0.0.1), one browser session per test.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`/usr/bin/chromium`, `/usr/bin/chromedriver`;
//! `.ci/run` installs them). Without them a test is skipped with a message, except under
//! `CI=true`, where it fails saying what to install.
//!
//! ```ignore
//! let Some(b) = Browser::start(BrowserOpts { javascript: true, mobile: false }).await else {
//!     return; // skipped (message printed)
//! };
//! b.goto(&app.url("/")).await;
//! b.wait_for("a#sign-in").await;
//! b.screenshot("home-desktop").await;
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

pub use fantoccini::cookies::Cookie;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long [`Browser::wait_for`] and friends poll before failing.
pub const WAIT: Duration = Duration::from_secs(15);

/// A phone's window (CSS pixels) and a desktop's.
pub const PHONE: (u32, u32) = (390, 844);
pub const DESKTOP: (u32, u32) = (1280, 900);

/// What kind of browser a test wants.
#[derive(Debug, Clone, Copy)]
pub struct BrowserOpts {
    /// `false`: JavaScript off for every page (Chrome's content setting), as a user who disabled it.
    pub javascript: bool,
    /// `true`: a phone-sized window ([`PHONE`]); else [`DESKTOP`].
    pub mobile: bool,
}

impl Default for BrowserOpts {
    fn default() -> Self {
        BrowserOpts {
            javascript: true,
            mobile: false,
        }
    }
}

/// A chromedriver process, in a process group of its own: dropping it kills the group, so the
/// Chromium it started goes too, even when a test panics before closing its session.
struct Driver {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill has no memory preconditions; a negative pid names our child's group.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One headless Chromium session for one test.
pub struct Browser {
    client: Client,
    pub opts: BrowserOpts,
    // Field order is drop order: the session's client, then the driver (and its browser), then
    // the profile directory.
    _driver: Driver,
    _profile: tempfile::TempDir,
}

/// Whether the browser tests can run here; `Err` says what is missing.
pub fn available() -> Result<(), String> {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} missing: install Debian's chromium and chromium-driver \
             (apt-get install -y chromium chromium-driver)",
            missing.join(" and ")
        ))
    }
}

fn is_root() -> bool {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() == 0 }
}

fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Where screenshots go: `target/screenshots/` (a test artifact, not committed).
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("screenshots")
}

impl Driver {
    /// Starts chromedriver on a free loopback port and waits until its `/status` says ready.
    async fn start(dir: &Path) -> Driver {
        let mut last = String::new();
        // A port found free can be taken before chromedriver binds it: try a few.
        for attempt in 0..3 {
            let port = super::free_port();
            let log = dir.join(format!("chromedriver-{attempt}.log"));
            let mut cmd = Command::new(CHROMEDRIVER);
            // No --allowed-ips/--allowed-origins: with either, chromedriver listens on every
            // interface; without, only on loopback (127.0.0.1 and ::1).
            cmd.arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
            let child = cmd.spawn().expect("start chromedriver");
            let mut driver = Driver {
                child,
                url: format!("http://127.0.0.1:{port}"),
                log,
            };
            match driver.ready().await {
                Ok(()) => return driver,
                Err(e) => last = e,
            }
        }
        panic!("chromedriver did not start: {last}");
    }

    async fn ready(&mut self) -> Result<(), String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| e.to_string())?;
        let status = format!("{}/status", self.url);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(code)) = self.child.try_wait() {
                return Err(format!("exited with {code}; log:\n{}", self.log_text()));
            }
            if let Ok(resp) = http.get(&status).send().await
                && let Ok(v) = resp.json::<Value>().await
                && v["value"]["ready"] == json!(true)
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{status} not ready after 20s; log:\n{}",
                    self.log_text()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log_text(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(30).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }
}

impl Browser {
    /// A new headless Chromium session. `None` (after printing why) when Chromium or chromedriver
    /// is missing and this is not CI; under `CI=true` a missing browser fails the test.
    pub async fn start(opts: BrowserOpts) -> Option<Browser> {
        if let Err(missing) = available() {
            if on_ci() {
                panic!("browser tests need Chromium under CI: {missing}");
            }
            eprintln!("skipped: {missing}");
            return None;
        }
        let profile = tempfile::tempdir().expect("browser profile dir");
        let driver = Driver::start(profile.path()).await;
        let (w, h) = if opts.mobile { PHONE } else { DESKTOP };
        let mut args = vec![
            "--headless=new".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            // This machine's network is closed: no background fetches, updates or sync.
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-quic".to_owned(),
            "--disable-extensions".to_owned(),
            "--disable-default-apps".to_owned(),
            "--no-first-run".to_owned(),
            "--no-default-browser-check".to_owned(),
            "--password-store=basic".to_owned(),
            format!("--window-size={w},{h}"),
            format!(
                "--user-data-dir={}",
                profile.path().join("chromium").display()
            ),
        ];
        if is_root() {
            args.push("--no-sandbox".to_owned());
        }
        let mut chrome = json!({ "binary": CHROMIUM, "args": args });
        if !opts.javascript {
            chrome["prefs"] = json!({ "profile.managed_default_content_settings.javascript": 2 });
        }
        let caps = json!({ "browserName": "chrome", "goog:chromeOptions": chrome });
        let caps = match caps {
            Value::Object(m) => m,
            _ => unreachable!("capabilities are an object"),
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "no browser session: {e}; chromedriver log:\n{}",
                    driver.log_text()
                )
            });
        client
            .update_timeouts(TimeoutConfiguration::new(
                Some(Duration::from_secs(10)),
                Some(Duration::from_secs(30)),
                Some(Duration::ZERO),
            ))
            .await
            .expect("browser timeouts");
        // The window's inner size, whatever the browser's own chrome takes.
        client
            .set_window_size(w, h)
            .await
            .expect("browser window size");
        Some(Browser {
            client,
            opts,
            _driver: driver,
            _profile: profile,
        })
    }

    /// The fantoccini client, for what this harness does not wrap.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Navigates to `url` (absolute) and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    /// Reloads the page.
    pub async fn refresh(&self) {
        self.client.refresh().await.expect("refresh");
    }

    pub async fn current_url(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("current url")
            .to_string()
    }

    /// Clicks the first element matching `css` (waiting for it to exist first).
    pub async fn click(&self, css: &str) {
        self.wait_for(css).await;
        let el = self.client.find(Locator::Css(css)).await.expect("find");
        if let Err(e) = el.click().await {
            panic!("click {css}: {e}\npage text:\n{}", self.page_text().await);
        }
    }

    /// Replaces the value of the input matching `css` with `text`.
    pub async fn fill(&self, css: &str, text: &str) {
        self.wait_for(css).await;
        let el = self.client.find(Locator::Css(css)).await.expect("find");
        el.clear()
            .await
            .unwrap_or_else(|e| panic!("clear {css}: {e}"));
        el.send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// The visible text of the first element matching `css` (waiting for it).
    pub async fn text(&self, css: &str) -> String {
        self.wait_for(css).await;
        self.client
            .find(Locator::Css(css))
            .await
            .expect("find")
            .text()
            .await
            .unwrap_or_else(|e| panic!("text of {css}: {e}"))
    }

    /// An attribute of the first element matching `css` (waiting for it).
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.wait_for(css).await;
        self.client
            .find(Locator::Css(css))
            .await
            .expect("find")
            .attr(name)
            .await
            .unwrap_or_else(|e| panic!("attribute {name} of {css}: {e}"))
    }

    /// How many elements match `css` now (no waiting).
    pub async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .map(|v| v.len())
            .unwrap_or(0)
    }

    /// Whether an element matches `css` now (no waiting).
    pub async fn exists(&self, css: &str) -> bool {
        self.count(css).await > 0
    }

    /// Waits until an element matches `css`, polling the DOM; fails after [`WAIT`] with the
    /// page's address and text.
    pub async fn wait_for(&self, css: &str) {
        self.wait_until(css, false).await;
    }

    /// As [`Browser::wait_for`], reloading the page between polls: for a page that does not
    /// refresh itself (JavaScript off).
    pub async fn wait_for_reloading(&self, css: &str) {
        self.wait_until(css, true).await;
    }

    async fn wait_until(&self, css: &str, reload: bool) {
        let deadline = Instant::now() + WAIT;
        loop {
            if self.exists(css).await {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out after {WAIT:?} waiting for {css:?} at {}\npage text:\n{}",
                    self.current_url().await,
                    self.page_text().await
                );
            }
            if reload {
                tokio::time::sleep(Duration::from_millis(200)).await;
                self.refresh().await;
            } else {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// The text of the whole page (`body`), for failure messages.
    pub async fn page_text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => self.client.source().await.unwrap_or_default(),
        }
    }

    /// The page's HTML as the browser has it now.
    pub async fn source(&self) -> String {
        self.client.source().await.expect("page source")
    }

    /// Runs `script` in the page (it needs `return` for a value). WebDriver scripts run even with
    /// the page's JavaScript turned off.
    pub async fn execute(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// The browser's cookies for the current page's site.
    pub async fn cookies(&self) -> Vec<Cookie<'static>> {
        self.client.get_all_cookies().await.expect("cookies")
    }

    /// Writes a PNG of the window to `target/screenshots/<name>.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// Ends the session (closes Chromium); dropping the browser does it too, less politely.
    pub async fn close(self) {
        let Browser {
            client,
            _driver,
            _profile,
            ..
        } = self;
        let _ = client.close().await;
    }
}

/// A tiny web server on 127.0.0.1 serving one HTML page at `/` (no CSP, inline script allowed):
/// another origin for cross-site tests, and pages to check the harness itself. Stops on drop.
pub struct OtherSite {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl OtherSite {
    pub async fn serve(html: String) -> OtherSite {
        let app = axum::Router::new().route(
            "/",
            axum::routing::get(move || {
                let html = html.clone();
                async move { axum::response::Html(html) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind other site");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        OtherSite { addr, task }
    }

    /// `http://127.0.0.1:PORT/`: another origin than Gangway's, on the same site (loopback).
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// `http://localhost:PORT/`: another site than `http://127.0.0.1:…` to the browser.
    pub fn cross_site_url(&self) -> String {
        format!("http://localhost:{}/", self.addr.port())
    }
}

impl Drop for OtherSite {
    fn drop(&mut self) {
        self.task.abort();
    }
}
