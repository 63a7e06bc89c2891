//! First run: with no GitHub App configured, `gangway serve` serves only this — a page that
//! registers the App on GitHub through the manifest flow, the callback that trades GitHub's code
//! for the App's credentials and writes them to a new file readable only by Gangway's user, and
//! the health endpoints (`/readyz` says "not configured").
//!
//! Owns: the manifest Gangway sends (`app-manifest.yml` with `GANGWAY_PUBLIC_URL` filled in),
//! where the form posts (github.com or an Enterprise Server, personal account or organization),
//! the `state` check (issued here, kept in memory and in an `HttpOnly` cookie, used once, one
//! hour), and the credentials file (never overwritten). Secrets are never shown or logged.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rand::RngExt;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::page::html_for;
use crate::config::SetupSettings;
use crate::engine::text::is_login;
use crate::github::manifest::{self, AppCredentials, ManifestError};

/// The App manifest of the repository, compiled in.
const MANIFEST_YAML: &str = include_str!("../../app-manifest.yml");
/// The cookie holding this browser's `state`.
const STATE_COOKIE: &str = "gangway_setup_state";
/// How long a registration may take (GitHub's code lives an hour too).
const STATE_LIFETIME: Duration = Duration::from_secs(3600);
/// What a callback whose `state` is not this browser's is told.
const STATE_REFUSED: &str = "This registration was not started from this Gangway in this \
    browser, was already finished, or is more than an hour old. Nothing was saved. Start again \
    from the first page.";
/// States kept at most (the oldest goes first): reloading `/` cannot fill the memory.
const MAX_STATES: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("app-manifest.yml is not a YAML mapping: {0}")]
    Manifest(String),
}

/// What the setup pages share.
#[derive(Clone)]
pub struct SetupState {
    settings: Arc<SetupSettings>,
    states: Arc<Mutex<Vec<(String, Instant)>>>,
    http: reqwest::Client,
}

impl SetupState {
    pub fn new(settings: SetupSettings) -> SetupState {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        SetupState {
            settings: Arc::new(settings),
            states: Arc::new(Mutex::new(Vec::new())),
            http,
        }
    }

    fn issue_state(&self) -> String {
        let mut b = [0u8; 24];
        rand::rng().fill(&mut b[..]);
        let state = hex::encode(b);
        let mut states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
        states.retain(|(_, at)| at.elapsed() < STATE_LIFETIME);
        while states.len() >= MAX_STATES {
            states.remove(0);
        }
        states.push((state.clone(), Instant::now()));
        state
    }

    /// Whether `state` was issued here less than an hour ago and is this browser's; used once.
    fn take_state(&self, state: &str, cookie: Option<&str>) -> bool {
        if cookie != Some(state) {
            return false;
        }
        let mut states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
        let issued = states
            .iter()
            .position(|(s, _)| s == state)
            .map(|i| states.remove(i));
        states.retain(|(_, at)| at.elapsed() < STATE_LIFETIME);
        issued.is_some_and(|(_, at)| at.elapsed() < STATE_LIFETIME)
    }
}

/// The routes of setup mode.
pub fn router(state: SetupState) -> Router {
    Router::new()
        .route("/", get(register_page))
        .route("/setup/callback", get(callback))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/assets/{file}", get(super::asset))
        .fallback(not_found)
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "not configured: no GitHub App yet; register it from the dashboard's first page\n",
    )
        .into_response()
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        "not found: Gangway is in setup mode (no GitHub App configured); open / to register it\n",
    )
        .into_response()
}

/// The manifest sent to GitHub: `app-manifest.yml` with Gangway's public URL in the webhook,
/// redirect, callback and setup URLs.
pub fn manifest_json(public_url: &str) -> Result<Value, SetupError> {
    let mut m: Value =
        serde_saphyr::from_str(MANIFEST_YAML).map_err(|e| SetupError::Manifest(e.to_string()))?;
    let public = public_url.trim_end_matches('/');
    let Some(obj) = m.as_object_mut() else {
        return Err(SetupError::Manifest("not a mapping".into()));
    };
    obj.insert("url".into(), json!(public));
    obj.insert(
        "hook_attributes".into(),
        json!({"url": format!("{public}/webhooks"), "active": true}),
    );
    obj.insert(
        "redirect_url".into(),
        json!(format!("{public}/setup/callback")),
    );
    obj.insert(
        "callback_urls".into(),
        json!([format!("{public}/auth/callback")]),
    );
    obj.insert("setup_url".into(), json!(format!("{public}/")));
    obj.insert("request_oauth_on_install".into(), json!(false));
    Ok(m)
}

/// Where the registration form posts: the personal account's or an organization's "new App"
/// page on `github_url` (github.com or an Enterprise Server's host), with `state`.
pub fn registration_url(github_url: &str, org: Option<&str>, state: &str) -> String {
    let base = github_url.trim_end_matches('/');
    match org {
        Some(org) => format!("{base}/organizations/{org}/settings/apps/new?state={state}"),
        None => format!("{base}/settings/apps/new?state={state}"),
    }
}

/// An organization's login as GitHub allows it (no `[bot]`).
pub fn is_org_login(s: &str) -> bool {
    is_login(s) && !s.ends_with("[bot]")
}

#[derive(Template)]
#[template(path = "setup_register.html")]
struct RegisterPage {
    title: String,
    action: String,
    manifest: String,
    org: Option<String>,
    public_url: String,
    github_url: String,
    credentials_file: String,
}

#[derive(Template)]
#[template(path = "setup_error.html")]
struct ErrorPage {
    title: String,
    message: String,
}

#[derive(Template)]
#[template(path = "setup_registered.html")]
struct RegisteredPage {
    title: String,
    app_id: u64,
    app_name: String,
    app_url: String,
    file: String,
}

fn error(state: &SetupState, status: StatusCode, message: impl Into<String>) -> Response {
    let page = ErrorPage {
        title: "Registering the GitHub App".into(),
        message: message.into(),
    };
    html_for(&state.settings.github_url, status, &page)
}

/// `/` (and `/?org=LOGIN`): the registration form.
async fn register_page(
    State(state): State<SetupState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let org = match q.get("org").map(|o| o.trim()).filter(|o| !o.is_empty()) {
        None => None,
        Some(o) if is_org_login(o) => Some(o.to_owned()),
        Some(_) => {
            return error(
                &state,
                StatusCode::BAD_REQUEST,
                "That is not a GitHub organization's login (letters, digits and single inner \
                 hyphens, at most 39 characters). Go back and type the organization's login.",
            );
        }
    };
    let manifest = match manifest_json(&state.settings.public_url) {
        Ok(m) => m.to_string(),
        Err(e) => {
            tracing::error!(error = %e, "the compiled-in App manifest does not parse");
            return error(
                &state,
                StatusCode::INTERNAL_SERVER_ERROR,
                "The App manifest built into Gangway does not parse.",
            );
        }
    };
    let s = state.issue_state();
    let page = RegisterPage {
        title: "Register the GitHub App".into(),
        action: registration_url(&state.settings.github_url, org.as_deref(), &s),
        manifest,
        org,
        public_url: state.settings.public_url.clone(),
        github_url: state.settings.github_url.clone(),
        credentials_file: state.settings.credentials_file.display().to_string(),
    };
    let mut resp = html_for(&state.settings.github_url, StatusCode::OK, &page);
    let secure = if state.settings.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{STATE_COOKIE}={s}; Path=/setup; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
        STATE_LIFETIME.as_secs()
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// `GET /setup/callback?code=…&state=…`: GitHub's redirect after the App was created.
async fn callback(
    State(state): State<SetupState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let given = q.get("state").map(String::as_str).unwrap_or_default();
    if given.is_empty() || !state.take_state(given, cookie_value(&headers, STATE_COOKIE)) {
        tracing::warn!("setup callback with a state this browser was not given: refused");
        return error(&state, StatusCode::BAD_REQUEST, STATE_REFUSED);
    }
    let code = q.get("code").map(String::as_str).unwrap_or_default();
    if !manifest::is_code(code) {
        return error(
            &state,
            StatusCode::BAD_REQUEST,
            "GitHub's redirect carried no usable code. Nothing was saved. Start again from the \
             first page.",
        );
    }
    let file = state.settings.credentials_file.clone();
    if file.exists() {
        return refuse_existing(&state, &file);
    }
    let app = match manifest::convert(&state.http, &state.settings.github_api_url, code).await {
        Ok(app) => app,
        Err(e) => {
            tracing::warn!(error = %e, "converting the App manifest code failed");
            let status = match e {
                ManifestError::CodeRefused | ManifestError::BadCode => StatusCode::BAD_REQUEST,
                _ => StatusCode::BAD_GATEWAY,
            };
            return error(
                &state,
                status,
                format!("{e}. Nothing was saved. Start again from the first page."),
            );
        }
    };
    match write_credentials(&file, &app) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return refuse_existing(&state, &file);
        }
        Err(e) => {
            tracing::error!(error = %e, file = %file.display(), app_id = app.id, "cannot write the App's credentials");
            return error(
                &state,
                StatusCode::INTERNAL_SERVER_ERROR,
                format!(
                    "GitHub registered the App {} (id {}), but its credentials could not be \
                     written to {}: {e}. Delete the App on GitHub ({}/advanced) and register \
                     again once the file can be created.",
                    app.name,
                    app.id,
                    file.display(),
                    app.html_url
                ),
            );
        }
    }
    tracing::info!(app_id = app.id, slug = %app.slug, file = %file.display(), "GitHub App registered; credentials written");
    let page = RegisteredPage {
        title: "GitHub App registered".into(),
        app_id: app.id,
        app_name: app.name.clone(),
        app_url: app.html_url.clone(),
        file: absolute(&file).display().to_string(),
    };
    html_for(&state.settings.github_url, StatusCode::OK, &page)
}

fn refuse_existing(state: &SetupState, file: &Path) -> Response {
    error(
        state,
        StatusCode::CONFLICT,
        format!(
            "{} already exists: Gangway never overwrites it. Nothing was saved. Start Gangway \
             with GANGWAY_CONFIG={} if it holds an App's credentials, or move it away (or set \
             GANGWAY_CREDENTIALS_FILE) and register again.",
            file.display(),
            file.display()
        ),
    )
}

fn absolute(file: &Path) -> PathBuf {
    std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf())
}

/// The TOML `GANGWAY_CONFIG` reads (lower-case names, without `GANGWAY_`).
pub fn credentials_toml(app: &AppCredentials) -> String {
    let mut t = toml::Table::new();
    t.insert(
        "app_id".into(),
        toml::Value::Integer(i64::try_from(app.id).unwrap_or(i64::MAX)),
    );
    t.insert(
        "private_key".into(),
        toml::Value::String(app.pem.expose_secret().to_owned()),
    );
    t.insert(
        "webhook_secret".into(),
        toml::Value::String(app.webhook_secret.expose_secret().to_owned()),
    );
    t.insert(
        "github_client_id".into(),
        toml::Value::String(app.client_id.clone()),
    );
    t.insert(
        "github_client_secret".into(),
        toml::Value::String(app.client_secret.expose_secret().to_owned()),
    );
    format!(
        "# The GitHub App {} ({}), registered by Gangway's first-run page.\n\
         # Secrets: keep this file readable only by Gangway. Use it with GANGWAY_CONFIG=<this file>.\n{}",
        app.name.replace(['\n', '\r'], " "),
        app.html_url.replace(['\n', '\r'], " "),
        toml::to_string(&t).unwrap_or_default()
    )
}

/// Creates `file` (never replacing one) with mode 0600 and writes the credentials.
fn write_credentials(file: &Path, app: &AppCredentials) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(file)?;
    let written = f
        .write_all(credentials_toml(app).as_bytes())
        .and_then(|()| f.sync_all());
    if let Err(e) = written {
        drop(f);
        let _ = std::fs::remove_file(file);
        return Err(e);
    }
    Ok(())
}

#[cfg(test)]
#[path = "setup_tests.rs"]
mod tests;
