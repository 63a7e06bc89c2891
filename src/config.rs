//! Server settings: environment variables, optionally a TOML file, validated all at once.
//!
//! Owns: the names and defaults of every setting, and turning them into typed values. Every problem
//! is collected (not just the first) and names the setting, so `gangway check-config` can print the
//! whole list. Never puts a secret's value (private key, webhook secret, database password) into an
//! error message or a `Debug` string.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::driver::PassEnv;
use crate::driver::command::{CommandDriverConfig, DriverUser};
use crate::engine::hosts::HostTemplate;
use crate::engine::links::{NameTemplate, TemplateKind};
use crate::model::DriverKind;

/// One thing wrong with the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The setting's name as an operator writes it (`WEBHOOK_SECRET`).
    pub setting: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.setting, self.message)
    }
}

/// Every problem found, in a stable order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "invalid configuration ({} problem(s)):",
            self.problems.len()
        )?;
        for p in &self.problems {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// How Gangway paces its calls to GitHub (`GANGWAY_GITHUB_PACING`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacingMode {
    /// GitHub.com's documented secondary limits for `api.github.com` and `api.*.ghe.com`; only
    /// the concurrency cap for any other API URL (GitHub Enterprise Server, a proxy).
    Auto,
    /// GitHub.com's limits whatever the API URL (an Enterprise Server configured like it).
    Github,
    /// Only the concurrency cap (a server without write limits).
    Concurrency,
}

/// Which database, decided by the URL's scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

/// Tuning of the durable job queue.
#[derive(Debug, Clone)]
pub struct QueueSettings {
    pub workers: usize,
    pub max_attempts: u32,
    /// How long a claim is valid without a heartbeat; a dead worker's job is retaken after this.
    pub lease: Duration,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// How often idle workers look for due jobs (new jobs also wake them at once).
    pub poll_interval: Duration,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            workers: 4,
            max_attempts: 8,
            lease: Duration::from_secs(60),
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(600),
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// Limits of the HTTP server against slow, idle and flooding clients (see docs/security.md).
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// A request's head (request line and headers) must arrive within this, counted from the
    /// first byte awaited; a keep-alive connection waiting for its next request is closed after it.
    pub header_timeout: Duration,
    /// A request's body must arrive within this, counted from the end of its head.
    pub body_timeout: Duration,
    /// Open connections at most; beyond it the longest-idle one is closed, or, when every one has
    /// a request in flight, the new one is answered 503.
    pub max_connections: usize,
    /// Webhook deliveries being handled at once; beyond it a request waits up to a second for a
    /// slot, then is answered 503 with `Retry-After`.
    pub max_requests: usize,
    /// Other requests (`/healthz`, `/readyz`, `/metrics`, `/logs/…`) being handled at once.
    pub max_read_requests: usize,
    /// `/metrics` on its own listener instead of the main one.
    pub metrics_addr: Option<SocketAddr>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_connections: 1024,
            max_requests: 512,
            max_read_requests: 32,
            metrics_addr: None,
        }
    }
}

/// Validated server settings.
#[derive(Clone)]
pub struct Settings {
    pub app_id: u64,
    /// RSA private key of the App, PEM.
    pub private_key: SecretString,
    /// Accepted webhook secrets, newest first; any one verifies a delivery.
    pub webhook_secrets: Vec<SecretString>,
    pub github_api_url: String,
    /// May contain a password: never logged.
    pub database_url: SecretString,
    pub db_kind: DbKind,
    pub host: IpAddr,
    pub port: u16,
    /// Where Gangway is reachable from outside (for log links).
    pub public_url: String,
    pub host_template: HostTemplate,
    /// A pull request's stable alias host (`GANGWAY_ALIAS_HOST_TEMPLATE`); `None`: no alias.
    pub alias_template: Option<NameTemplate>,
    /// A slot's host (`GANGWAY_SLOT_HOST_TEMPLATE`).
    pub slot_template: NameTemplate,
    /// The driver's pass-through variables by trust (`GANGWAY_DRIVER_PASS_ENV`, `…_FORK`,
    /// `…_ENVIRONMENTS`); `command_driver.pass_env` is the same-repository list.
    pub driver_pass_env: PassEnv,
    /// Host of a long-lived environment (staging, production): `{environment}`, `{repo}`.
    pub environment_host: String,
    pub queue: QueueSettings,
    pub shutdown_grace: Duration,
    pub log_format: LogFormat,
    pub driver: DriverKind,
    /// Used when `driver` is `Command`; its `redact` list holds every secret Gangway knows.
    pub command_driver: CommandDriverConfig,
    /// How long a repository policy read from the default branch is trusted before it is read
    /// again. A push to the default branch that touches the file drops it sooner; the TTL
    /// covers missed push webhooks.
    pub policy_ttl: Duration,
    pub github_pacing: PacingMode,
    pub timers: crate::timers::TimerSettings,
    /// Not wrong, but worth saying (`check-config` prints them, `serve` logs them): secrets
    /// shorter than [`MIN_SECRET_LEN`].
    pub warnings: Vec<Problem>,
    pub http: HttpSettings,
    /// The dashboard's settings (sign-in, who may see what).
    pub web: WebSettings,
}

/// The dashboard's settings (see docs/dashboard.md).
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// GitHub's web address, where users sign in and Apps are registered: `https://github.com`,
    /// or a GitHub Enterprise Server's own host (derived from `GITHUB_API_URL` unless set).
    pub github_url: String,
    /// Gangway's external base URL (`GANGWAY_PUBLIC_URL`): the OAuth callback is under it.
    pub public_url: String,
    /// The App's OAuth client id (`GANGWAY_GITHUB_CLIENT_ID`); without it and the secret, nobody
    /// can sign in and the dashboard shows only what it shows without signing in.
    pub client_id: Option<String>,
    /// The App's OAuth client secret (`GANGWAY_GITHUB_CLIENT_SECRET` or `…_FILE`).
    pub client_secret: Option<SecretString>,
    /// Public repositories' pages readable without signing in (`GANGWAY_DASHBOARD_PUBLIC`).
    pub public_read: bool,
    /// GitHub logins who see the operator views (`GANGWAY_OPERATORS`): dead jobs, budgets, audit.
    pub operators: Vec<String>,
    /// Signs the dashboard's cookies: derived from the App's private key at load time (see
    /// [`SessionKey::derive`]).
    pub session_key: SessionKey,
}

/// The key that signs the dashboard's cookies: HMAC-SHA512 of a fixed label under the App's
/// private key. Stable across restarts and replicas (they share the private key), and no new
/// secret to manage; rotating the private key signs everybody out. Never printed.
#[derive(Clone)]
pub struct SessionKey(std::sync::Arc<[u8; 64]>);

impl SessionKey {
    /// The label the key is derived with; a new label (or private key) invalidates every cookie.
    const LABEL: &'static [u8] = b"gangway dashboard cookie signing key v1";

    pub fn derive(private_key: &SecretString) -> SessionKey {
        use hmac::{Hmac, Mac};
        let mut out = [0u8; 64];
        // HMAC takes keys of any length, so this never fails.
        if let Ok(mut mac) =
            Hmac::<sha2::Sha512>::new_from_slice(private_key.expose_secret().as_bytes())
        {
            mac.update(Self::LABEL);
            out.copy_from_slice(&mac.finalize().into_bytes());
        }
        SessionKey(std::sync::Arc::new(out))
    }

    pub fn bytes(&self) -> &[u8; 64] {
        &self.0
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey([redacted])")
    }
}

/// GitHub's web address for an API base: `https://github.com` for `https://api.github.com`, the
/// host of a GitHub Enterprise Server for its `https://HOST/api/v3`, and the base itself for
/// anything else (the fake GitHub serves both on one address).
pub fn github_web_url(api_url: &str) -> String {
    let api = api_url.trim_end_matches('/');
    if api == "https://api.github.com" {
        return "https://github.com".to_owned();
    }
    api.strip_suffix("/api/v3").unwrap_or(api).to_owned()
}

/// Secrets shorter than this are warned about (they are redacted all the same).
pub const MIN_SECRET_LEN: usize = 8;

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("app_id", &self.app_id)
            .field("private_key", &"[redacted]")
            .field(
                "webhook_secrets",
                &format!("[{} redacted]", self.webhook_secrets.len()),
            )
            .field("github_api_url", &self.github_api_url)
            .field("db_kind", &self.db_kind)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("public_url", &self.public_url)
            .field("host_template", &self.host_template)
            .field("queue", &self.queue)
            .field("http", &self.http)
            .field("driver", &self.driver)
            .field("deploy_command", &self.command_driver.deploy)
            .field("teardown_command", &self.command_driver.teardown)
            .field("verify_command", &self.command_driver.verify)
            .finish_non_exhaustive()
    }
}

/// Every setting: its environment name, default, and one line for `check-config --help` and
/// docs/configuration.md (a test checks that page names each one). The TOML file uses the same names in lower case, without the `GANGWAY_` prefix.
pub const SETTINGS: &[(&str, Option<&str>, &str)] = &[
    ("APP_ID", None, "the GitHub App's numeric id"),
    (
        "PRIVATE_KEY",
        None,
        "the App's RSA private key (PEM text; `\\n` escapes accepted)",
    ),
    (
        "PRIVATE_KEY_PATH",
        None,
        "file holding the App's private key (instead of PRIVATE_KEY)",
    ),
    (
        "WEBHOOK_SECRET",
        None,
        "webhook secret; several comma-separated for rotation",
    ),
    (
        "WEBHOOK_SECRET_FILE",
        None,
        "file holding the webhook secret(s) (instead of WEBHOOK_SECRET)",
    ),
    (
        "GITHUB_API_URL",
        Some("https://api.github.com"),
        "REST API base (GitHub Enterprise: https://HOST/api/v3)",
    ),
    (
        "DATABASE_URL",
        Some("sqlite://gangway.db"),
        "sqlite://FILE or postgres://USER@HOST/DB",
    ),
    (
        "DATABASE_URL_FILE",
        None,
        "file holding the database URL (instead of DATABASE_URL; for a URL with a password)",
    ),
    ("PORT", Some("3000"), "HTTP port"),
    ("GANGWAY_HOST", Some("0.0.0.0"), "address to listen on"),
    (
        "GANGWAY_PUBLIC_URL",
        Some("http://localhost:PORT"),
        "Gangway's external base URL, used in log links",
    ),
    (
        "GANGWAY_HOST_TEMPLATE",
        Some(crate::engine::hosts::DEFAULT_TEMPLATE),
        "preview host; {sha}|{short_sha}, {number}, {repo} required; {owner} optional",
    ),
    (
        "GANGWAY_ALIAS_HOST_TEMPLATE",
        None,
        "a pull request's stable alias host, e.g. pr-{number}.staging.example.org; {number} required; {repo}, {owner} optional; unset: no alias",
    ),
    (
        "GANGWAY_SLOT_HOST_TEMPLATE",
        Some("{repo}-{slot}.slots.staging.example.org"),
        "a slot's host, for repositories whose policy sets preview.slots; {slot}, {repo} required; {owner} optional",
    ),
    (
        "GANGWAY_ENVIRONMENT_HOST",
        Some(crate::engine::hosts::DEFAULT_ENVIRONMENT_TEMPLATE),
        "staging/production host; {environment}, {repo} required; {owner} optional",
    ),
    ("GANGWAY_WORKERS", Some("4"), "concurrent jobs"),
    (
        "GANGWAY_JOB_MAX_ATTEMPTS",
        Some("8"),
        "attempts before a job is dead",
    ),
    (
        "GANGWAY_JOB_LEASE_SECS",
        Some("60"),
        "seconds a claimed job stays claimed without a heartbeat",
    ),
    (
        "GANGWAY_JOB_BACKOFF_BASE_MS",
        Some("2000"),
        "first retry delay (doubles, with jitter)",
    ),
    (
        "GANGWAY_JOB_BACKOFF_MAX_SECS",
        Some("600"),
        "longest retry delay",
    ),
    (
        "GANGWAY_JOB_POLL_MS",
        Some("1000"),
        "how often idle workers look for due jobs",
    ),
    (
        "GANGWAY_SHUTDOWN_GRACE_SECS",
        Some("25"),
        "on SIGTERM, how long running jobs may take to finish",
    ),
    ("GANGWAY_LOG_FORMAT", Some("text"), "text or json"),
    (
        "GANGWAY_DRIVER",
        Some("external"),
        "command (run GANGWAY_DEPLOY_COMMAND) or external (an outside deployer reports statuses)",
    ),
    (
        "GANGWAY_DEPLOY_COMMAND",
        None,
        "deploy executable and fixed arguments, split on spaces (no shell)",
    ),
    (
        "GANGWAY_TEARDOWN_COMMAND",
        None,
        "teardown executable and fixed arguments, split on spaces (no shell)",
    ),
    (
        "GANGWAY_VERIFY_COMMAND",
        None,
        "verify executable and fixed arguments, split on spaces (no shell): run after a long-lived \
         environment's deploy when the policy's `verify:` asks for it (GANGWAY_ACTION=verify)",
    ),
    (
        "GANGWAY_DRIVER_TIMEOUT_SECS",
        Some("600"),
        "a deploy or teardown run is killed after this long",
    ),
    (
        "GANGWAY_DRIVER_USER",
        None,
        "run the command driver as this user (name or uid); needs Gangway to run as root",
    ),
    (
        "GANGWAY_DRIVER_PASS_ENV",
        None,
        "comma-separated names of variables passed to the driver for same-repository previews, and for environments unless GANGWAY_DRIVER_PASS_ENV_ENVIRONMENTS is set (values redacted from logs)",
    ),
    (
        "GANGWAY_DRIVER_PASS_ENV_FORK",
        None,
        "comma-separated names passed to the driver for approved fork previews, which get no other (values redacted)",
    ),
    (
        "GANGWAY_DRIVER_PASS_ENV_ENVIRONMENTS",
        None,
        "comma-separated names passed to the driver for long-lived environments; unset: GANGWAY_DRIVER_PASS_ENV's (values redacted)",
    ),
    (
        "GANGWAY_GITHUB_PACING",
        Some("auto"),
        "auto (GitHub.com's secondary limits for api.github.com and api.*.ghe.com, only the concurrency cap elsewhere), github (those limits everywhere) or concurrency (only the cap)",
    ),
    (
        "GANGWAY_POLICY_TTL_SECS",
        Some("600"),
        "seconds a repository's .github/gangway.yml is trusted before re-checking the default branch (a push to the default branch that touches it re-reads it at once)",
    ),
    (
        "GANGWAY_REAP_INTERVAL_SECS",
        Some("300"),
        "how often the reaper looks for stale, idle and over-capacity previews",
    ),
    (
        "GANGWAY_RECONCILE_INTERVAL_SECS",
        Some("600"),
        "how often the reconciler compares GitHub with the database (also at start)",
    ),
    (
        "GANGWAY_REDELIVER_FAILED",
        Some("false"),
        "ask GitHub to redeliver failed webhook deliveries (true/false)",
    ),
    (
        "GANGWAY_RETENTION_DAYS",
        Some("30"),
        "days kept: finished jobs, deliveries, data of repositories Gangway lost access to",
    ),
    (
        "GANGWAY_TIMER_TICK_MS",
        Some("5000"),
        "how often each process checks whether a timer is due",
    ),
    (
        "GANGWAY_HEADER_TIMEOUT_SECS",
        Some("10"),
        "a request's headers must arrive within this; idle keep-alive connections are closed after it",
    ),
    (
        "GANGWAY_BODY_TIMEOUT_SECS",
        Some("10"),
        "a request's body must arrive within this after its headers (else 408 and the connection closed)",
    ),
    (
        "GANGWAY_MAX_CONNECTIONS",
        Some("1024"),
        "open connections at most: beyond it the longest-idle one is closed, or 503 when all are busy",
    ),
    (
        "GANGWAY_MAX_REQUESTS",
        Some("512"),
        "webhook deliveries handled at once; beyond it a delivery waits up to 1 s for a slot, then 503 with Retry-After",
    ),
    (
        "GANGWAY_MAX_READ_REQUESTS",
        Some("32"),
        "other requests (/readyz, /metrics, /logs) handled at once; beyond it up to 1 s of waiting, then 503 with Retry-After",
    ),
    (
        "GANGWAY_METRICS_ADDR",
        None,
        "serve /metrics on this address (IP:PORT) instead of the main listener",
    ),
    (
        "GITHUB_URL",
        None,
        "GitHub's web address for sign-in and App registration (default: derived from GITHUB_API_URL; https://github.com for api.github.com, https://HOST for https://HOST/api/v3)",
    ),
    (
        "GANGWAY_GITHUB_CLIENT_ID",
        None,
        "the App's OAuth client id, for signing in to the dashboard with GitHub",
    ),
    (
        "GANGWAY_GITHUB_CLIENT_SECRET",
        None,
        "the App's OAuth client secret (for signing in to the dashboard)",
    ),
    (
        "GANGWAY_GITHUB_CLIENT_SECRET_FILE",
        None,
        "file holding the App's OAuth client secret (instead of GANGWAY_GITHUB_CLIENT_SECRET)",
    ),
    (
        "GANGWAY_DASHBOARD_PUBLIC",
        Some("false"),
        "true: public repositories' dashboard pages are readable without signing in",
    ),
    (
        "GANGWAY_OPERATORS",
        None,
        "comma-separated GitHub logins who see the dashboard's operator views (dead jobs, budgets, audit trail)",
    ),
    (
        "GANGWAY_CREDENTIALS_FILE",
        Some("gangway-app.toml"),
        "first run (no App settings): where registering the App from the dashboard writes its credentials (a new file, mode 0600, for GANGWAY_CONFIG)",
    ),
    (
        "GANGWAY_CONFIG",
        None,
        "optional TOML file with any of these settings (environment wins)",
    ),
];

/// The settings of the GitHub App itself. With none of them set, `gangway serve` starts in setup
/// mode (the dashboard offers to register the App); with some but not all, it is the usual
/// configuration error naming what is missing.
pub const APP_SETTINGS: &[&str] = &[
    "APP_ID",
    "PRIVATE_KEY",
    "PRIVATE_KEY_PATH",
    "WEBHOOK_SECRET",
    "WEBHOOK_SECRET_FILE",
];

/// Whether none of [`APP_SETTINGS`] is set (in the environment or the `GANGWAY_CONFIG` file).
pub fn app_unconfigured(src: &Source) -> bool {
    APP_SETTINGS.iter().all(|name| src.get(name).is_none())
}

/// What setup mode needs: where to listen, Gangway's and GitHub's addresses, and where the
/// registered App's credentials go.
#[derive(Debug, Clone)]
pub struct SetupSettings {
    pub host: IpAddr,
    pub port: u16,
    /// Gangway's external base URL: the manifest's webhook and redirect URLs are under it.
    pub public_url: String,
    pub github_api_url: String,
    /// Where the registration form posts (`GITHUB_URL`, derived from `GITHUB_API_URL`).
    pub github_url: String,
    /// `GANGWAY_CREDENTIALS_FILE`.
    pub credentials_file: PathBuf,
    pub log_format: LogFormat,
    pub http: HttpSettings,
}

impl SetupSettings {
    /// Reads the few settings setup mode uses; every problem found, as [`Settings::load`].
    pub fn load(src: &Source) -> Result<SetupSettings, ConfigError> {
        let mut r = Reader {
            src,
            problems: src.problems.clone(),
        };
        let github_api_url = read_api_url(&mut r);
        let (port, host, public_url) = read_listen(&mut r);
        let github_url = read_github_url(&mut r, github_api_url.as_deref());
        let credentials_file = r
            .string("GANGWAY_CREDENTIALS_FILE")
            .map(|f| PathBuf::from(f.trim()));
        let log_format = read_log_format(&mut r);
        if !r.problems.is_empty() {
            return Err(ConfigError {
                problems: r.problems,
            });
        }
        let built = (|| {
            Some(SetupSettings {
                host: host?,
                port: port?,
                public_url: public_url?,
                github_api_url: github_api_url?,
                github_url: github_url?,
                credentials_file: credentials_file?,
                log_format: log_format?,
                http: HttpSettings::default(),
            })
        })();
        built.ok_or_else(|| ConfigError {
            problems: vec![Problem {
                setting: "(config)".into(),
                message: "a value is out of range".into(),
            }],
        })
    }
}

/// The settings whose values are secrets. Gangway removes them from its own environment once the
/// configuration is read, and never passes them to the driver.
pub const SECRET_SETTINGS: &[&str] = &[
    "PRIVATE_KEY",
    "WEBHOOK_SECRET",
    "DATABASE_URL",
    "GANGWAY_GITHUB_CLIENT_SECRET",
];

/// A source of raw setting values: environment first, then the TOML file.
pub struct Source {
    env: BTreeMap<String, String>,
    file: BTreeMap<String, String>,
    problems: Vec<Problem>,
}

impl Source {
    /// From the process environment (and `GANGWAY_CONFIG` if set).
    pub fn from_process_env() -> Self {
        Self::from_env(std::env::vars().filter(|(k, _)| is_known(k)))
    }

    /// From explicit pairs (tests, the demo).
    pub fn from_env<I: IntoIterator<Item = (String, String)>>(vars: I) -> Self {
        let env: BTreeMap<String, String> = vars.into_iter().collect();
        let mut src = Source {
            env,
            file: BTreeMap::new(),
            problems: Vec::new(),
        };
        if let Some(path) = src.env.get("GANGWAY_CONFIG").cloned() {
            src.load_file(Path::new(&path));
        }
        src
    }

    fn load_file(&mut self, path: &Path) {
        let problem = |message: String| Problem {
            setting: "GANGWAY_CONFIG".into(),
            message,
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                self.problems
                    .push(problem(format!("cannot read {}: {e}", path.display())));
                return;
            }
        };
        let table: toml::Table = match text.parse() {
            Ok(t) => t,
            Err(e) => {
                self.problems.push(problem(format!(
                    "{} is not valid TOML: {}",
                    path.display(),
                    e.message()
                )));
                return;
            }
        };
        for (key, value) in table {
            let name = env_name_for_file_key(&key);
            if !is_known(&name) || name == "GANGWAY_CONFIG" {
                self.problems.push(problem(format!(
                    "unknown setting `{key}` in {} (known: {})",
                    path.display(),
                    known_file_keys().join(", ")
                )));
                continue;
            }
            let text = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Array(items) => {
                    let mut parts = Vec::new();
                    for item in items {
                        match item {
                            toml::Value::String(s) => parts.push(s),
                            other => {
                                self.problems.push(problem(format!(
                                    "`{key}` must be a list of strings, found a {}",
                                    other.type_str()
                                )));
                            }
                        }
                    }
                    parts.join(",")
                }
                other => {
                    self.problems.push(problem(format!(
                        "`{key}` must be a string or a number, found a {}",
                        other.type_str()
                    )));
                    continue;
                }
            };
            self.file.insert(name, text);
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .or_else(|| self.file.get(name))
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }
}

fn is_known(name: &str) -> bool {
    SETTINGS.iter().any(|(n, _, _)| *n == name)
}

fn env_name_for_file_key(key: &str) -> String {
    let upper = key.to_ascii_uppercase();
    if is_known(&upper) {
        upper
    } else {
        format!("GANGWAY_{upper}")
    }
}

fn known_file_keys() -> Vec<String> {
    SETTINGS
        .iter()
        .filter(|(n, _, _)| *n != "GANGWAY_CONFIG")
        .map(|(n, _, _)| n.strip_prefix("GANGWAY_").unwrap_or(n).to_ascii_lowercase())
        .collect()
}

/// Collects problems while reading settings.
struct Reader<'a> {
    src: &'a Source,
    problems: Vec<Problem>,
}

impl Reader<'_> {
    fn problem(&mut self, setting: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            setting: setting.into(),
            message: message.into(),
        });
    }

    fn default_of(name: &str) -> Option<&'static str> {
        SETTINGS
            .iter()
            .find(|(n, _, _)| *n == name)
            .and_then(|(_, d, _)| *d)
    }

    fn string(&self, name: &str) -> Option<String> {
        self.src
            .get(name)
            .map(str::to_owned)
            .or_else(|| Self::default_of(name).map(str::to_owned))
    }

    fn parse<T: FromStr>(&mut self, name: &str, expected: &str) -> Option<T> {
        let raw = self.string(name)?;
        match raw.trim().parse() {
            Ok(v) => Some(v),
            Err(_) => {
                self.problem(
                    name,
                    format!(
                        "must be {expected}, got {:?}",
                        crate::types::truncate_for_error(&raw)
                    ),
                );
                None
            }
        }
    }

    /// `true` or `false` (default `false`).
    fn flag(&mut self, name: &str) -> Option<bool> {
        match self.string(name).as_deref().map(str::trim) {
            Some("true") => Some(true),
            Some("false") | None => Some(false),
            Some(other) => {
                self.problem(
                    name,
                    format!(
                        "must be `true` or `false`, got {:?}",
                        crate::types::truncate_for_error(other)
                    ),
                );
                None
            }
        }
    }

    fn positive(&mut self, name: &str) -> Option<u64> {
        let v: u64 = self.parse(name, "a positive whole number")?;
        if v == 0 {
            self.problem(name, "must be greater than 0");
            return None;
        }
        Some(v)
    }
}

impl Settings {
    /// Reads and validates everything; on failure, every problem found.
    pub fn load(src: &Source) -> Result<Settings, ConfigError> {
        let mut r = Reader {
            src,
            problems: src.problems.clone(),
        };

        let app_id = match r.string("APP_ID") {
            None => {
                r.problem(
                    "APP_ID",
                    "missing: set it to the App's numeric id (shown on the App's settings page)",
                );
                None
            }
            Some(_) => r.positive("APP_ID"),
        };
        let private_key = load_private_key(&mut r);
        let webhook_secrets = load_secrets(&mut r);

        let github_api_url = read_api_url(&mut r);

        let database_url = match read_secret(&mut r, "DATABASE_URL", "DATABASE_URL_FILE") {
            Some((_, url)) => url,
            None => r.string("DATABASE_URL").unwrap_or_default(),
        };
        let db_kind = match check_database_url(&database_url) {
            Ok(k) => Some(k),
            Err(m) => {
                r.problem("DATABASE_URL", m);
                None
            }
        };

        let (port, host, public_url) = read_listen(&mut r);

        let host_template =
            r.string("GANGWAY_HOST_TEMPLATE")
                .and_then(|t| match HostTemplate::parse(&t) {
                    Ok(t) => Some(t),
                    Err(e) => {
                        r.problem("GANGWAY_HOST_TEMPLATE", e.to_string());
                        None
                    }
                });

        let alias_template = match r.string("GANGWAY_ALIAS_HOST_TEMPLATE") {
            None => Some(None),
            Some(t) if t.trim().is_empty() => Some(None),
            Some(t) => match NameTemplate::parse(TemplateKind::Alias, t.trim()) {
                Ok(t) => Some(Some(t)),
                Err(e) => {
                    r.problem("GANGWAY_ALIAS_HOST_TEMPLATE", e.to_string());
                    None
                }
            },
        };
        let slot_template = r.string("GANGWAY_SLOT_HOST_TEMPLATE").and_then(|t| {
            match NameTemplate::parse(TemplateKind::Slot, t.trim()) {
                Ok(t) => Some(t),
                Err(e) => {
                    r.problem("GANGWAY_SLOT_HOST_TEMPLATE", e.to_string());
                    None
                }
            }
        });

        let environment_host = r.string("GANGWAY_ENVIRONMENT_HOST").and_then(|t| {
            match crate::engine::hosts::check_environment_template(&t) {
                Ok(()) => Some(t),
                Err(e) => {
                    r.problem("GANGWAY_ENVIRONMENT_HOST", e.to_string());
                    None
                }
            }
        });

        let workers = r.positive("GANGWAY_WORKERS");
        let max_attempts = r.positive("GANGWAY_JOB_MAX_ATTEMPTS");
        let lease = r.positive("GANGWAY_JOB_LEASE_SECS");
        let backoff_base = r.positive("GANGWAY_JOB_BACKOFF_BASE_MS");
        let backoff_max = r.positive("GANGWAY_JOB_BACKOFF_MAX_SECS");
        let poll = r.positive("GANGWAY_JOB_POLL_MS");
        let grace = r.parse::<u64>("GANGWAY_SHUTDOWN_GRACE_SECS", "a whole number of seconds");
        let log_format = read_log_format(&mut r);

        let driver_timeout = r.positive("GANGWAY_DRIVER_TIMEOUT_SECS");
        let policy_ttl = r.parse::<u64>("GANGWAY_POLICY_TTL_SECS", "a whole number of seconds");
        let github_pacing = match r.string("GANGWAY_GITHUB_PACING").as_deref().map(str::trim) {
            Some("auto") | None => Some(PacingMode::Auto),
            Some("github") => Some(PacingMode::Github),
            Some("concurrency") => Some(PacingMode::Concurrency),
            Some(other) => {
                r.problem(
                    "GANGWAY_GITHUB_PACING",
                    format!(
                        "must be `auto`, `github` or `concurrency`, got {:?}",
                        crate::types::truncate_for_error(other)
                    ),
                );
                None
            }
        };
        let driver = match r.string("GANGWAY_DRIVER").as_deref().map(str::trim) {
            Some("external") | None => Some(DriverKind::External),
            Some("command") => Some(DriverKind::Command),
            Some(other) => {
                r.problem(
                    "GANGWAY_DRIVER",
                    format!(
                        "must be `command` or `external`, got {:?}",
                        crate::types::truncate_for_error(other)
                    ),
                );
                None
            }
        };
        let words = |r: &Reader<'_>, name: &str| {
            r.string(name)
                .map(|s| CommandDriverConfig::argv_from_words(&s))
                .unwrap_or_default()
        };
        let deploy = words(&r, "GANGWAY_DEPLOY_COMMAND");
        let teardown = words(&r, "GANGWAY_TEARDOWN_COMMAND");
        let verify = words(&r, "GANGWAY_VERIFY_COMMAND");
        // Optional, whatever the driver: checked as the others are when it is set.
        if let Some(program) = verify.first() {
            if !Path::new(program).is_absolute() {
                r.problem(
                    "GANGWAY_VERIFY_COMMAND",
                    format!("{program:?} must be an absolute path (no PATH lookup, no shell)"),
                );
            } else {
                match std::fs::metadata(program) {
                    Err(e) => r.problem(
                        "GANGWAY_VERIFY_COMMAND",
                        format!("cannot use {program}: {e}"),
                    ),
                    Ok(m) if !m.is_file() => {
                        r.problem("GANGWAY_VERIFY_COMMAND", format!("{program} is not a file"))
                    }
                    Ok(_) => {}
                }
            }
        }
        if driver == Some(DriverKind::Command) {
            for (name, argv) in [
                ("GANGWAY_DEPLOY_COMMAND", &deploy),
                ("GANGWAY_TEARDOWN_COMMAND", &teardown),
            ] {
                match argv.first() {
                    None => r.problem(
                        name,
                        "missing: the command driver needs a deploy and a teardown executable",
                    ),
                    Some(program) if !Path::new(program).is_absolute() => r.problem(
                        name,
                        format!("{program:?} must be an absolute path (no PATH lookup, no shell)"),
                    ),
                    Some(program) => match std::fs::metadata(program) {
                        Err(e) => r.problem(name, format!("cannot use {program}: {e}")),
                        Ok(m) if !m.is_file() => {
                            r.problem(name, format!("{program} is not a file"))
                        }
                        Ok(_) => {}
                    },
                }
            }
        }
        let names = |s: String| -> Vec<String> {
            s.split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let pass_env: Vec<String> = r
            .string("GANGWAY_DRIVER_PASS_ENV")
            .map(names)
            .unwrap_or_default();
        let driver_pass_env = PassEnv {
            same_repository: pass_env.clone(),
            fork: r
                .string("GANGWAY_DRIVER_PASS_ENV_FORK")
                .map(names)
                .unwrap_or_default(),
            environments: r.string("GANGWAY_DRIVER_PASS_ENV_ENVIRONMENTS").map(names),
        };
        for (setting, list) in [
            ("GANGWAY_DRIVER_PASS_ENV", &driver_pass_env.same_repository),
            ("GANGWAY_DRIVER_PASS_ENV_FORK", &driver_pass_env.fork),
            (
                "GANGWAY_DRIVER_PASS_ENV_ENVIRONMENTS",
                &driver_pass_env.environments.clone().unwrap_or_default(),
            ),
        ] {
            for name in list {
                if SECRET_SETTINGS.contains(&name.as_str()) {
                    r.problem(
                        setting,
                        format!(
                            "{name} is one of Gangway's own secrets: it is never passed to the driver"
                        ),
                    );
                }
            }
        }
        let driver_user = match r.src.get("GANGWAY_DRIVER_USER").map(str::trim) {
            None => None,
            Some(name) => match DriverUser::lookup(name) {
                Ok(user) => Some(user),
                Err(message) => {
                    r.problem("GANGWAY_DRIVER_USER", message);
                    None
                }
            },
        };

        let reap = r.positive("GANGWAY_REAP_INTERVAL_SECS");
        let reconcile = r.positive("GANGWAY_RECONCILE_INTERVAL_SECS");
        let retention = r.positive("GANGWAY_RETENTION_DAYS");
        let tick = r.positive("GANGWAY_TIMER_TICK_MS");
        let redeliver = r.flag("GANGWAY_REDELIVER_FAILED");
        let header_timeout = r.positive("GANGWAY_HEADER_TIMEOUT_SECS");
        let body_timeout = r.positive("GANGWAY_BODY_TIMEOUT_SECS");
        let max_connections = r.positive("GANGWAY_MAX_CONNECTIONS");
        let max_requests = r.positive("GANGWAY_MAX_REQUESTS");
        let max_read_requests = r.positive("GANGWAY_MAX_READ_REQUESTS");
        let metrics_addr: Option<Option<SocketAddr>> = match r.src.get("GANGWAY_METRICS_ADDR") {
            None => Some(None),
            Some(_) => r
                .parse::<SocketAddr>(
                    "GANGWAY_METRICS_ADDR",
                    "an address and port such as 127.0.0.1:9090",
                )
                .map(Some),
        };
        if let (Some(Some(m)), Some(h), Some(p)) = (metrics_addr, host, port)
            && m.port() == p
            && (m.ip() == h || m.ip().is_unspecified() || h.is_unspecified())
        {
            r.problem(
                "GANGWAY_METRICS_ADDR",
                format!(
                    "{m} is the main listener's address (GANGWAY_HOST and PORT): pick another port"
                ),
            );
        }
        let web = load_web(
            &mut r,
            github_api_url.as_deref(),
            public_url.as_deref(),
            private_key.as_ref(),
        );
        let client_secret = web.as_ref().and_then(|w| w.client_secret.as_ref());
        let (redact, warnings) = match (&private_key, &webhook_secrets) {
            (Some(k), Some(w)) => {
                secrets_to_redact(k, w, &database_url, &driver_pass_env.all(), client_secret)
            }
            _ => (Vec::new(), Vec::new()),
        };

        if !r.problems.is_empty() {
            return Err(ConfigError {
                problems: r.problems,
            });
        }
        // Every Option is Some when no problem was recorded; `zip`-style extraction keeps this total.
        let built = (|| {
            Some(Settings {
                app_id: app_id?,
                private_key: private_key?,
                webhook_secrets: webhook_secrets?,
                web: web?,
                github_api_url: github_api_url?,
                database_url: SecretString::from(database_url),
                db_kind: db_kind?,
                host: host?,
                port: port?,
                public_url: public_url?,
                host_template: host_template?,
                alias_template: alias_template?,
                slot_template: slot_template?,
                driver_pass_env,
                environment_host: environment_host?,
                queue: QueueSettings {
                    workers: usize::try_from(workers?).ok()?,
                    max_attempts: u32::try_from(max_attempts?).ok()?,
                    lease: Duration::from_secs(lease?),
                    backoff_base: Duration::from_millis(backoff_base?),
                    backoff_max: Duration::from_secs(backoff_max?),
                    poll_interval: Duration::from_millis(poll?),
                },
                shutdown_grace: Duration::from_secs(grace?),
                log_format: log_format?,
                driver: driver?,
                command_driver: CommandDriverConfig {
                    deploy,
                    teardown,
                    verify,
                    timeout: Duration::from_secs(driver_timeout?),
                    redact,
                    pass_env,
                    user: driver_user,
                    ..CommandDriverConfig::default()
                },
                policy_ttl: Duration::from_secs(policy_ttl?),
                github_pacing: github_pacing?,
                timers: crate::timers::TimerSettings {
                    reap_interval: Duration::from_secs(reap?),
                    reconcile_interval: Duration::from_secs(reconcile?),
                    redeliver_failed: redeliver?,
                    retention: Duration::from_secs(retention?.saturating_mul(86_400)),
                    tick: Duration::from_millis(tick?),
                },
                warnings,
                http: HttpSettings {
                    header_timeout: Duration::from_secs(header_timeout?),
                    body_timeout: Duration::from_secs(body_timeout?),
                    max_connections: usize::try_from(max_connections?).ok()?,
                    max_requests: usize::try_from(max_requests?).ok()?,
                    max_read_requests: usize::try_from(max_read_requests?).ok()?,
                    metrics_addr: metrics_addr?,
                },
            })
        })();
        built.ok_or_else(|| ConfigError {
            problems: vec![Problem {
                setting: "(config)".into(),
                message: "a value is out of range".into(),
            }],
        })
    }

    pub fn database_url(&self) -> &str {
        self.database_url.expose_secret()
    }
}

/// Every secret value Gangway knows, so a driver that prints one cannot leak it into a log page:
/// webhook secrets, the private key (the driver's redactor also takes its lines), the database
/// password as written in the URL and percent-decoded, and the values of variables passed
/// through to the driver. With a warning for each one shorter than [`MIN_SECRET_LEN`].
fn secrets_to_redact(
    key: &SecretString,
    webhook: &[SecretString],
    database_url: &str,
    pass_env: &[String],
    client_secret: Option<&SecretString>,
) -> (Vec<String>, Vec<Problem>) {
    let mut named: Vec<(String, String)> = webhook
        .iter()
        .map(|s| ("WEBHOOK_SECRET".to_owned(), s.expose_secret().to_owned()))
        .collect();
    named.push(("PRIVATE_KEY".to_owned(), key.expose_secret().to_owned()));
    if let Some(password) = database_password(database_url) {
        let decoded = percent_encoding::percent_decode_str(&password)
            .decode_utf8_lossy()
            .into_owned();
        if decoded != password {
            named.push(("DATABASE_URL".to_owned(), decoded));
        }
        named.push(("DATABASE_URL".to_owned(), password));
    }
    if let Some(secret) = client_secret {
        named.push((
            "GANGWAY_GITHUB_CLIENT_SECRET".to_owned(),
            secret.expose_secret().to_owned(),
        ));
    }
    named.extend(pass_env.iter().filter_map(|n| {
        let value = std::env::var(n).ok().filter(|v| !v.is_empty())?;
        Some((format!("GANGWAY_DRIVER_PASS_ENV ({n})"), value))
    }));
    let warnings = named
        .iter()
        .filter(|(_, value)| value.chars().count() < MIN_SECRET_LEN)
        .map(|(setting, value)| Problem {
            setting: setting.clone(),
            message: format!(
                "a secret of {} characters is easy to guess, and redacting it from driver logs \
                 also hides every ordinary occurrence of it; use {MIN_SECRET_LEN} characters or more",
                value.chars().count()
            ),
        })
        .collect();
    (
        named.into_iter().map(|(_, value)| value).collect(),
        warnings,
    )
}

/// The password in a database URL, as written (percent-encoded).
fn database_password(url: &str) -> Option<String> {
    url.split_once("://")
        .and_then(|(_, rest)| rest.split('/').next())
        .and_then(|authority| authority.rsplit_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, pw)| pw.to_owned())
        .filter(|pw| !pw.is_empty())
}

fn load_private_key(r: &mut Reader<'_>) -> Option<SecretString> {
    let inline = r.src.get("PRIVATE_KEY").map(str::to_owned);
    let path = r.src.get("PRIVATE_KEY_PATH").map(PathBuf::from);
    let (setting, pem) = match (inline, path) {
        (Some(_), Some(_)) => {
            r.problem(
                "PRIVATE_KEY",
                "set either PRIVATE_KEY or PRIVATE_KEY_PATH, not both",
            );
            return None;
        }
        (None, None) => {
            r.problem(
                "PRIVATE_KEY",
                "missing: set PRIVATE_KEY (the PEM text) or PRIVATE_KEY_PATH (a file holding it)",
            );
            return None;
        }
        (Some(text), None) => ("PRIVATE_KEY", text.replace("\\n", "\n")),
        (None, Some(path)) => match std::fs::read_to_string(&path) {
            Ok(t) => ("PRIVATE_KEY_PATH", t),
            Err(e) => {
                r.problem(
                    "PRIVATE_KEY_PATH",
                    format!("cannot read {}: {e}", path.display()),
                );
                return None;
            }
        },
    };
    // Parse now so a bad key fails at start, not on the first webhook. The parser's own error is
    // not repeated: it could quote part of the key.
    match octocrab::EncodingKey::from_rsa_pem(pem.as_bytes()) {
        Ok(_) => Some(SecretString::from(pem)),
        Err(_) => {
            r.problem(
                setting,
                "not an RSA private key in PEM format (expected the .pem file GitHub generated, \
                 starting with -----BEGIN RSA PRIVATE KEY-----)",
            );
            None
        }
    }
}

/// A secret given either inline (`name`) or in a file (`file_setting`), never both: the setting
/// it came from and its text (a file's surrounding whitespace, such as its final newline, is
/// not part of the value). `None` when neither is set or on a problem (recorded).
/// `GITHUB_API_URL`, checked.
fn read_api_url(r: &mut Reader<'_>) -> Option<String> {
    let raw = r.string("GITHUB_API_URL").unwrap_or_default();
    match validate_http_url(&raw) {
        Ok(u) => Some(u),
        Err(m) => {
            r.problem("GITHUB_API_URL", m);
            None
        }
    }
}

/// Where Gangway listens and is reached: `PORT`, `GANGWAY_HOST`, `GANGWAY_PUBLIC_URL` (by
/// default `http://localhost:PORT`).
fn read_listen(r: &mut Reader<'_>) -> (Option<u16>, Option<IpAddr>, Option<String>) {
    let port: Option<u16> = r.parse("PORT", "a port number (1-65535)");
    if port == Some(0) {
        r.problem("PORT", "must be a port number (1-65535), got 0");
    }
    let host: Option<IpAddr> =
        r.parse("GANGWAY_HOST", "an IP address such as 0.0.0.0 or 127.0.0.1");
    let public_url = match r.src.get("GANGWAY_PUBLIC_URL") {
        Some(u) => match validate_http_url(u) {
            Ok(u) => Some(u),
            Err(m) => {
                r.problem("GANGWAY_PUBLIC_URL", m);
                None
            }
        },
        None => port.map(|p| format!("http://localhost:{p}")),
    };
    (port, host, public_url)
}

/// `GITHUB_URL`, or GitHub's web address derived from the API's.
fn read_github_url(r: &mut Reader<'_>, api_url: Option<&str>) -> Option<String> {
    match r.src.get("GITHUB_URL") {
        Some(u) => match validate_http_url(u) {
            Ok(u) => Some(u.trim_end_matches('/').to_owned()),
            Err(m) => {
                r.problem("GITHUB_URL", m);
                None
            }
        },
        None => api_url.map(github_web_url),
    }
}

/// `GANGWAY_LOG_FORMAT`.
fn read_log_format(r: &mut Reader<'_>) -> Option<LogFormat> {
    match r.string("GANGWAY_LOG_FORMAT").as_deref().map(str::trim) {
        Some("text") | None => Some(LogFormat::Text),
        Some("json") => Some(LogFormat::Json),
        Some(other) => {
            r.problem(
                "GANGWAY_LOG_FORMAT",
                format!("must be `text` or `json`, got {other:?}"),
            );
            None
        }
    }
}

/// The dashboard's settings; `None` with a problem recorded when one is wrong.
fn load_web(
    r: &mut Reader<'_>,
    api_url: Option<&str>,
    public_url: Option<&str>,
    private_key: Option<&SecretString>,
) -> Option<WebSettings> {
    let github_url = read_github_url(r, api_url);
    let client_id = r
        .src
        .get("GANGWAY_GITHUB_CLIENT_ID")
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let client_secret = read_secret(
        r,
        "GANGWAY_GITHUB_CLIENT_SECRET",
        "GANGWAY_GITHUB_CLIENT_SECRET_FILE",
    )
    .map(|(_, s)| SecretString::from(s.trim().to_owned()))
    .filter(|s| !s.expose_secret().is_empty());
    if client_id.is_some() != client_secret.is_some() {
        r.problem(
            "GANGWAY_GITHUB_CLIENT_ID",
            "set both GANGWAY_GITHUB_CLIENT_ID and GANGWAY_GITHUB_CLIENT_SECRET (or its _FILE), \
             or neither: signing in needs both",
        );
    }
    let public_read = r.flag("GANGWAY_DASHBOARD_PUBLIC");
    let mut operators = Vec::new();
    for login in r
        .src
        .get("GANGWAY_OPERATORS")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        if crate::engine::text::is_login(login) && !login.ends_with("[bot]") {
            operators.push(login.to_ascii_lowercase());
        } else {
            r.problem(
                "GANGWAY_OPERATORS",
                format!(
                    "{:?} is not a GitHub login",
                    crate::types::truncate_for_error(login)
                ),
            );
        }
    }
    Some(WebSettings {
        github_url: github_url?,
        public_url: public_url?.to_owned(),
        client_id,
        client_secret,
        public_read: public_read?,
        operators,
        session_key: SessionKey::derive(private_key?),
    })
}

fn read_secret(r: &mut Reader<'_>, name: &str, file_setting: &str) -> Option<(String, String)> {
    let inline = r.src.get(name).map(str::to_owned);
    let path = r.src.get(file_setting).map(PathBuf::from);
    match (inline, path) {
        (Some(_), Some(_)) => {
            r.problem(
                name,
                format!("set either {name} or {file_setting}, not both"),
            );
            None
        }
        (None, None) => None,
        (Some(text), None) => Some((name.to_owned(), text)),
        (None, Some(path)) => match std::fs::read_to_string(&path) {
            Ok(text) => Some((file_setting.to_owned(), text.trim().to_owned())),
            Err(e) => {
                r.problem(file_setting, format!("cannot read {}: {e}", path.display()));
                None
            }
        },
    }
}

fn load_secrets(r: &mut Reader<'_>) -> Option<Vec<SecretString>> {
    let neither =
        r.src.get("WEBHOOK_SECRET").is_none() && r.src.get("WEBHOOK_SECRET_FILE").is_none();
    let Some((setting, raw)) = read_secret(r, "WEBHOOK_SECRET", "WEBHOOK_SECRET_FILE") else {
        if neither {
            r.problem(
                "WEBHOOK_SECRET",
                "missing: deliveries cannot be verified without it (set WEBHOOK_SECRET or \
                 WEBHOOK_SECRET_FILE to the value in the App's webhook settings)",
            );
        }
        return None;
    };
    let secrets: Vec<SecretString> = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| SecretString::from(s.to_owned()))
        .collect();
    if secrets.is_empty() {
        r.problem(&setting, "contains no secret (only commas and spaces)");
        return None;
    }
    Some(secrets)
}

fn validate_http_url(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim().trim_end_matches('/');
    let uri: http::Uri = trimmed
        .parse()
        .map_err(|_| format!("not a URL: {:?}", crate::types::truncate_for_error(raw)))?;
    match uri.scheme_str() {
        Some("http") | Some("https") if uri.host().is_some() => Ok(trimmed.to_owned()),
        _ => Err(format!(
            "must be an http(s) URL with a host, got {:?}",
            crate::types::truncate_for_error(raw)
        )),
    }
}

/// Checks the URL parses for its backend, without connecting; never echoes it (passwords).
pub fn check_database_url(url: &str) -> Result<DbKind, String> {
    if url.starts_with("sqlite:") {
        sqlx::sqlite::SqliteConnectOptions::from_str(url)
            .map(|_| DbKind::Sqlite)
            .map_err(|e| format!("not a valid SQLite URL ({e}); example: sqlite://gangway.db"))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        sqlx::postgres::PgConnectOptions::from_str(url)
            .map(|_| DbKind::Postgres)
            .map_err(|_| {
                "not a valid PostgreSQL URL; example: postgres://gangway@127.0.0.1:5432/gangway"
                    .to_owned()
            })
    } else {
        Err("must start with sqlite: or postgres://".to_owned())
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
