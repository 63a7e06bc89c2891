//! Registering a GitHub App from a manifest, as GitHub's web flow does it:
//! `POST /settings/apps/new?state=…` (or `/organizations/{org}/settings/apps/new?state=…`) with the
//! form field `manifest` (JSON) shows a confirmation page; its `button#create-app` registers the
//! App and redirects to the manifest's `redirect_url` with `code` and `state`; and
//! `POST /app-manifests/{code}/conversions` (no authentication) trades the code, once and within
//! an hour, for the App's id, key and secrets.
//!
//! A registered App signs its JWTs with the private key given in
//! [`FakeConfig::app_private_key_pem`](super::FakeConfig) (the fake verifies every App with one
//! public key), so its JWTs verify; its webhook target becomes the manifest's hook URL when the
//! fake has none yet. Installations stay the fake's own: an installation of the registered App
//! is the test's to add (`add_installation`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, Utc};
use rand::RngExt;
use serde_json::{Map, Value, json};

use super::Shared;
use super::http::{ApiError, ApiResult, created};
use super::webhooks::WebhookTarget;

type Sh = AxState<Arc<Shared>>;

/// How long a manifest code may be converted (GitHub: one hour).
pub(super) const CODE_LIFETIME: chrono::Duration = chrono::Duration::hours(1);
/// GitHub's limit on an App's name.
const MAX_NAME: usize = 34;
/// Manifests waiting for their confirmation, at most (the oldest is dropped beyond it).
const MAX_PENDING: usize = 256;

/// An App registered through the manifest flow.
#[derive(Clone, Debug)]
pub struct RegisteredApp {
    pub id: u64,
    pub slug: String,
    pub name: String,
    pub owner: String,
    /// `User` or `Organization`.
    pub owner_kind: String,
    pub client_id: String,
    pub client_secret: String,
    pub webhook_secret: String,
    pub hook_url: String,
    pub redirect_url: String,
    pub manifest: Map<String, Value>,
}

#[derive(Clone, Debug)]
struct Pending {
    manifest: Map<String, Value>,
    state: Option<String>,
    org: Option<String>,
}

#[derive(Clone, Debug)]
struct Code {
    app: u64,
    issued: DateTime<Utc>,
    used: bool,
}

/// The manifest flow's state.
#[derive(Debug, Default)]
pub(super) struct Registry {
    /// Handed out as `pem` by conversions (the fixture key of the fake's App).
    pub(super) private_key_pem: Option<String>,
    pending: HashMap<String, Pending>,
    pending_order: Vec<String>,
    codes: HashMap<String, Code>,
    pub(super) apps: Vec<RegisteredApp>,
}

impl Registry {
    /// Whether `id` is an App registered here (its JWTs verify like the fake's own App's).
    pub(super) fn knows(&self, id: u64) -> bool {
        self.apps.iter().any(|a| a.id == id)
    }

    /// Makes every code `by` older (tests of the one-hour expiry).
    pub(super) fn age_codes(&mut self, by: chrono::Duration) {
        for c in self.codes.values_mut() {
            c.issued = c
                .issued
                .checked_sub_signed(by)
                .unwrap_or(DateTime::<Utc>::MIN_UTC);
        }
    }
}

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/settings/apps/new", post(new_app))
        .route("/organizations/{org}/settings/apps/new", post(new_org_app))
        .route("/settings/apps/new/confirm", post(confirm))
        .route("/app-manifests/{code}/conversions", post(conversions))
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rng().fill(&mut b[..]);
    hex::encode(b)
}

/// HTML-escapes text for the fake's pages (an element or a quoted attribute).
pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} · GitHub (fake)</title></head>\
         <body><main>{body}</main></body></html>",
        esc(title)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

fn error_page(status: StatusCode, message: &str) -> Response {
    page(
        status,
        "Cannot register the App",
        &format!(
            "<h1>Cannot register the App</h1><p id=\"error\">{}</p>",
            esc(message)
        ),
    )
}

/// A GitHub login: 1–39 ASCII letters, digits and single inner hyphens.
pub(super) fn is_login(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 39
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// The form fields of a urlencoded body.
fn form(body: &[u8]) -> HashMap<String, String> {
    url_decode_pairs(body)
}

fn url_decode_pairs(body: &[u8]) -> HashMap<String, String> {
    let text = String::from_utf8_lossy(body);
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Checks a manifest as GitHub does (for the fields Gangway sends): a JSON object, `url` and
/// `hook_attributes.url` present, a `redirect_url` (required here: the flow ends there), a name
/// of at most 34 characters. Unknown keys are ignored.
pub(super) fn validate(raw: &str) -> Result<Map<String, Value>, String> {
    let manifest = match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Err("The manifest must be a JSON object.".into()),
        Err(_) => return Err("The manifest is not valid JSON.".into()),
    };
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::trim).map(str::to_owned);
    let is_url = |u: &str| {
        (u.starts_with("http://") || u.starts_with("https://"))
            && u.len() > "https://".len()
            && !u.chars().any(|c| c.is_whitespace() || c.is_control())
    };
    match text(manifest.get("url")) {
        Some(u) if is_url(&u) => {}
        _ => return Err("Url must be a valid URL (the manifest's `url`).".into()),
    }
    match text(manifest.get("hook_attributes").and_then(|h| h.get("url"))) {
        Some(u) if is_url(&u) => {}
        _ => return Err("Hook url must be a valid URL (`hook_attributes.url`).".into()),
    }
    match text(manifest.get("redirect_url")) {
        Some(u) if is_url(&u) => {}
        _ => return Err("Redirect url must be a valid URL (`redirect_url`).".into()),
    }
    if let Some(name) = manifest.get("name") {
        match name.as_str() {
            Some(n) if !n.trim().is_empty() && n.chars().count() <= MAX_NAME => {}
            Some(n) if n.trim().is_empty() => return Err("Name can't be blank.".into()),
            _ => {
                return Err(format!(
                    "Name is too long (maximum is {MAX_NAME} characters)."
                ));
            }
        }
    }
    Ok(manifest)
}

async fn new_app(
    AxState(sh): Sh,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    start(&sh, None, q.get("state").cloned(), &body)
}

async fn new_org_app(
    AxState(sh): Sh,
    Path(org): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    if !is_login(&org) {
        return error_page(StatusCode::NOT_FOUND, "No such organization.");
    }
    start(&sh, Some(org), q.get("state").cloned(), &body)
}

/// Validates the manifest and shows the confirmation page.
fn start(sh: &Shared, org: Option<String>, state: Option<String>, body: &[u8]) -> Response {
    let fields = form(body);
    let Some(raw) = fields.get("manifest") else {
        return error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The form has no `manifest` field.",
        );
    };
    let manifest = match validate(raw) {
        Ok(m) => m,
        Err(message) => return error_page(StatusCode::UNPROCESSABLE_ENTITY, &message),
    };
    let token = random_hex(16);
    let name = manifest
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("(unnamed)")
        .to_owned();
    let hook = manifest
        .get("hook_attributes")
        .and_then(|h| h.get("url"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let owner_field = match &org {
        Some(o) => format!(
            "<p>Owner: organization <strong id=\"owner-org\">{}</strong></p>",
            esc(o)
        ),
        None => "<p><label for=\"owner\">Owner (your account)</label> \
                 <input type=\"text\" id=\"owner\" name=\"owner\" value=\"octocat\"></p>"
            .to_owned(),
    };
    {
        let mut st = sh.lock();
        let reg = &mut st.manifest;
        reg.pending.insert(
            token.clone(),
            Pending {
                manifest,
                state,
                org,
            },
        );
        reg.pending_order.push(token.clone());
        while reg.pending_order.len() > MAX_PENDING {
            let old = reg.pending_order.remove(0);
            reg.pending.remove(&old);
        }
    }
    page(
        StatusCode::OK,
        "Create GitHub App",
        &format!(
            "<h1>Create GitHub App <span id=\"app-name\">{}</span></h1>\
             <p>Webhook URL: <code id=\"hook-url\">{}</code></p>\
             <form method=\"post\" action=\"/settings/apps/new/confirm\" id=\"confirm\">\
             <input type=\"hidden\" name=\"token\" value=\"{token}\">{owner_field}\
             <button type=\"submit\" id=\"create-app\">Create GitHub App for this account</button>\
             </form>",
            esc(&name),
            esc(&hook)
        ),
    )
}

/// Slug of an App name, as GitHub makes it: lower case, runs of other characters as one `-`.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let s = out.trim_matches('-').to_owned();
    if s.is_empty() { "app".into() } else { s }
}

/// `button#create-app`: registers the App and redirects to the manifest's `redirect_url`.
async fn confirm(AxState(sh): Sh, body: Bytes) -> Response {
    let fields = form(&body);
    let token = fields.get("token").cloned().unwrap_or_default();
    let mut st = sh.lock();
    let Some(pending) = st.manifest.pending.remove(&token) else {
        return error_page(
            StatusCode::NOT_FOUND,
            "This registration has already been submitted or has expired.",
        );
    };
    st.manifest.pending_order.retain(|t| *t != token);
    if st.manifest.private_key_pem.is_none() {
        return error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The fake GitHub has no private key to hand out (FakeConfig::app_private_key_pem).",
        );
    }
    let (owner, owner_kind) = match &pending.org {
        Some(o) => (o.clone(), "Organization"),
        None => {
            let login = fields
                .get("owner")
                .map(|s| s.trim().to_owned())
                .unwrap_or_else(|| "octocat".into());
            if !is_login(&login) {
                return error_page(StatusCode::UNPROCESSABLE_ENTITY, "Owner is not a login.");
            }
            (login, "User")
        }
    };
    let m = pending.manifest;
    let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
    let name = {
        let n = s(m.get("name"));
        if n.trim().is_empty() {
            "app".to_owned()
        } else {
            n
        }
    };
    let mut base_slug = slug(&name);
    if st.manifest.apps.iter().any(|a| a.slug == base_slug) {
        base_slug = format!("{base_slug}-{}", st.manifest.apps.len() + 1);
    }
    let id = st.settings.app_id + 1000 + st.manifest.apps.len() as u64;
    let hook_url = s(m.get("hook_attributes").and_then(|h| h.get("url")));
    let redirect_url = s(m.get("redirect_url"));
    let app = RegisteredApp {
        id,
        slug: base_slug,
        name,
        owner,
        owner_kind: owner_kind.into(),
        client_id: format!("Iv1.{}", random_hex(8)),
        client_secret: random_hex(20),
        webhook_secret: random_hex(20),
        hook_url: hook_url.clone(),
        redirect_url: redirect_url.clone(),
        manifest: m,
    };
    if st.webhook.is_none() {
        st.webhook = Some(WebhookTarget::new(hook_url, app.webhook_secret.clone()));
    }
    st.manifest.apps.push(app);
    let code = random_hex(20);
    st.manifest.codes.insert(
        code.clone(),
        Code {
            app: id,
            issued: Utc::now(),
            used: false,
        },
    );
    drop(st);
    let sep = if redirect_url.contains('?') { '&' } else { '?' };
    let mut location = format!("{redirect_url}{sep}code={code}");
    if let Some(state) = &pending.state {
        location.push_str(&format!("&state={}", encode(state)));
    }
    match HeaderValue::from_str(&location) {
        Ok(v) => (StatusCode::FOUND, [(header::LOCATION, v)]).into_response(),
        Err(_) => error_page(StatusCode::UNPROCESSABLE_ENTITY, "Redirect url is invalid."),
    }
}

/// `POST /app-manifests/{code}/conversions`: the App's credentials, once per code, within an hour.
async fn conversions(AxState(sh): Sh, Path(code): Path<String>) -> ApiResult {
    let mut st = sh.lock();
    let now = Utc::now();
    let app_id = match st.manifest.codes.get_mut(&code) {
        Some(c) if !c.used && now - c.issued < CODE_LIFETIME => {
            c.used = true;
            c.app
        }
        _ => return Err(ApiError::not_found()),
    };
    let pem = st.manifest.private_key_pem.clone().unwrap_or_default();
    let Some(app) = st.manifest.apps.iter().find(|a| a.id == app_id).cloned() else {
        return Err(ApiError::not_found());
    };
    let api = sh.api.clone();
    drop(st);
    let permissions = app
        .manifest
        .get("default_permissions")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let events = app
        .manifest
        .get("default_events")
        .cloned()
        .unwrap_or_else(|| json!([]));
    let stamp = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    created(json!({
        "id": app.id,
        "slug": app.slug,
        "node_id": format!("A_kwDO{:08x}", app.id),
        "owner": {
            "login": app.owner,
            "id": 10_000 + app.id,
            "type": app.owner_kind,
            "html_url": format!("{api}/{}", app.owner),
        },
        "name": app.name,
        "description": app.manifest.get("description").cloned().unwrap_or(Value::Null),
        "external_url": app.manifest.get("url").cloned().unwrap_or(Value::Null),
        "html_url": format!("{api}/apps/{}", app.slug),
        "created_at": stamp,
        "updated_at": stamp,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "webhook_secret": app.webhook_secret,
        "pem": pem,
        "permissions": permissions,
        "events": events,
        "installations_count": 0,
    }))
}

#[cfg(test)]
#[path = "routes_manifest_tests.rs"]
mod tests;
