//! Signing users in: the GitHub App's user-authorization web flow and what a user access token
//! may read, as GitHub documents them ("Generating a user access token for a GitHub App", "web
//! application flow").
//!
//! - `GET /login/oauth/authorize?client_id&redirect_uri&state`: GitHub's consent page, here a
//!   small form (`#login`, the user to act as, prefilled from [`FakeGitHub::set_browser_user`];
//!   `button#authorize`; `button#cancel`). Its POST sends the browser back to `redirect_uri` with
//!   `code` and `state` (or `error=access_denied` when cancelled).
//! - `POST /login/oauth/access_token`: a code (single use, 10 minutes) and the client's
//!   credentials → a `ghu_` token (8 hours) and a `ghr_` refresh token. Errors are HTTP 200 with
//!   `error`/`error_description`, as on GitHub.
//! - `GET /user`, and for user tokens `GET /repos/{o}/{r}` (with `permissions`; a private
//!   repository the user cannot read is 404), `GET /user/installations`,
//!   `GET /user/installations/{id}/repositories`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State as AxState};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, LOCATION};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use rand::RngExt;
use rand::distr::Alphanumeric;
use serde_json::{Value, json};

use super::auth;
use super::http::{ApiError, ApiResult, Inst, Paging, num, ok, ok_paged, paginate, parse_body};
use super::model::Role;
use super::state::State;
use super::{FakeGitHub, Shared};

type Sh = AxState<Arc<Shared>>;

/// How long an authorization code may be exchanged (GitHub: 10 minutes).
const CODE_LIFETIME_SECS: i64 = 600;
/// Lifetime of a user access token (GitHub: 8 hours).
const TOKEN_LIFETIME_SECS: i64 = 28_800;
/// Lifetime of a refresh token (GitHub: 6 months).
const REFRESH_LIFETIME_SECS: i64 = 15_897_600;
/// Largest form or JSON body the OAuth endpoints read.
const MAX_FORM: usize = 16 * 1024;

/// An authorization code handed to the browser.
#[derive(Clone, Debug)]
pub(crate) struct OAuthCode {
    login: String,
    client_id: String,
    redirect_uri: String,
    issued_at: DateTime<Utc>,
}

/// A user access token.
#[derive(Clone, Debug)]
pub(crate) struct UserToken {
    pub(super) login: String,
    expires_at: DateTime<Utc>,
}

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/login/oauth/authorize",
            get(authorize_page).post(authorize),
        )
        .route(
            "/login/oauth/access_token",
            axum::routing::post(access_token),
        )
        .route("/user", get(current_user))
        .route("/user/installations", get(user_installations))
        .route(
            "/user/installations/{id}/repositories",
            get(user_installation_repos),
        )
}

impl FakeGitHub {
    /// The GitHub user signed in in the test's browser: the authorize form is prefilled with it
    /// (created as a `User` if unknown).
    pub fn set_browser_user(&self, login: Option<&str>) {
        let mut st = self.shared.lock();
        if let Some(l) = login {
            st.ensure_user(l, super::UserKind::User);
        }
        st.browser_user = login.map(str::to_string);
    }

    /// Makes a repository private (`true`) or public (`false`, the default).
    pub fn set_private(&self, repo: &str, private: bool) -> Result<(), super::FakeError> {
        let mut st = self.shared.lock();
        let id = st
            .repo_by_full_name(repo)
            .ok_or_else(|| super::FakeError::UnknownRepo(repo.to_string()))?;
        if private {
            st.private.insert(id);
        } else {
            st.private.remove(&id);
        }
        Ok(())
    }

    /// The App's OAuth client id.
    pub fn client_id(&self) -> String {
        self.shared.lock().settings.client_id.clone()
    }

    /// The App's OAuth client secret.
    pub fn client_secret(&self) -> String {
        self.shared.lock().settings.client_secret.clone()
    }

    /// A user access token for `login` without the browser dance (created as a `User` if
    /// unknown): for tests of what a token may read.
    pub fn user_token(&self, login: &str) -> String {
        let mut st = self.shared.lock();
        st.ensure_user(login, super::UserKind::User);
        issue_user_token(&mut st, login).0
    }

    /// Expires every user access token issued so far.
    pub fn expire_user_tokens(&self) {
        let past = Utc::now() - chrono::Duration::seconds(1);
        for t in self.shared.lock().user_tokens.values_mut() {
            t.expires_at = past;
        }
    }
}

fn random(prefix: &str, n: usize) -> String {
    let tail: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect();
    format!("{prefix}{tail}")
}

fn issue_user_token(st: &mut State, login: &str) -> (String, String) {
    let token = random("ghu_", 36);
    st.user_tokens.insert(
        token.clone(),
        UserToken {
            login: login.to_string(),
            expires_at: Utc::now() + chrono::Duration::seconds(TOKEN_LIFETIME_SECS),
        },
    );
    (token, random("ghr_", 76))
}

use super::routes_manifest::esc;

/// Percent-encodes a query value (everything but RFC 3986's unreserved characters).
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `application/x-www-form-urlencoded` pairs (last one wins); `None` when not UTF-8.
pub(super) fn form_pairs(body: &[u8]) -> Option<HashMap<String, String>> {
    fn decode(s: &str) -> Option<String> {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = s.get(i + 1..i + 3)?;
                    out.push(u8::from_str_radix(hex, 16).ok()?);
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).ok()
    }
    let text = std::str::from_utf8(body).ok()?;
    let mut m = HashMap::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        m.insert(decode(k)?, decode(v)?);
    }
    Some(m)
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body><h1>{}</h1>{body}</body></html>\n",
        esc(title),
        esc(title)
    );
    let mut r = (status, html).into_response();
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

fn error_page(status: StatusCode, message: &str) -> Response {
    page(
        status,
        "GitHub",
        &format!("<p id=\"error\">{}</p>", esc(message)),
    )
}

/// The checks both halves of the authorize page make: the error page when one fails.
fn check_client(st: &State, q: &HashMap<String, String>) -> Option<Response> {
    let client_id = q.get("client_id").map(String::as_str).unwrap_or_default();
    if client_id.is_empty() || client_id != st.settings.client_id {
        return Some(error_page(
            StatusCode::NOT_FOUND,
            "404: this application does not exist (unknown client_id)",
        ));
    }
    let redirect = q
        .get("redirect_uri")
        .map(String::as_str)
        .unwrap_or_default();
    if !(redirect.starts_with("http://") || redirect.starts_with("https://")) {
        return Some(error_page(
            StatusCode::BAD_REQUEST,
            "The redirect_uri is missing or is not an http(s) URL.",
        ));
    }
    None
}

async fn authorize_page(AxState(sh): Sh, Query(q): Query<HashMap<String, String>>) -> Response {
    let st = sh.lock();
    if let Some(r) = check_client(&st, &q) {
        return r;
    }
    let get = |k: &str| esc(q.get(k).map(String::as_str).unwrap_or_default());
    let login = esc(st.browser_user.as_deref().unwrap_or_default());
    let body = format!(
        "<p>Authorize <strong>{slug}</strong> to act on your behalf?</p>\
         <form method=\"post\" action=\"/login/oauth/authorize\">\
         <input type=\"hidden\" name=\"client_id\" value=\"{client_id}\">\
         <input type=\"hidden\" name=\"redirect_uri\" value=\"{redirect_uri}\">\
         <input type=\"hidden\" name=\"state\" value=\"{state}\">\
         <label for=\"login\">Signed in as</label> \
         <input type=\"text\" id=\"login\" name=\"login\" value=\"{login}\">\
         <button type=\"submit\" id=\"authorize\" name=\"action\" value=\"authorize\">Authorize</button>\
         <button type=\"submit\" id=\"cancel\" name=\"action\" value=\"cancel\">Cancel</button>\
         </form>",
        slug = esc(&st.settings.app_slug),
        client_id = get("client_id"),
        redirect_uri = get("redirect_uri"),
        state = get("state"),
    );
    page(StatusCode::OK, "Authorize application", &body)
}

fn redirect_to(uri: &str, params: &[(&str, &str)]) -> Response {
    let sep = if uri.contains('?') { '&' } else { '?' };
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    let target = format!("{uri}{sep}{}", query.join("&"));
    match HeaderValue::from_str(&target) {
        Ok(v) => {
            let mut r = StatusCode::FOUND.into_response();
            r.headers_mut().insert(LOCATION, v);
            r
        }
        Err(_) => error_page(StatusCode::BAD_REQUEST, "The redirect_uri is not valid."),
    }
}

async fn authorize(AxState(sh): Sh, body: Bytes) -> Response {
    if body.len() > MAX_FORM {
        return error_page(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.");
    }
    let Some(form) = form_pairs(&body) else {
        return error_page(StatusCode::BAD_REQUEST, "The form could not be read.");
    };
    let mut st = sh.lock();
    if let Some(r) = check_client(&st, &form) {
        return r;
    }
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let redirect_uri = field("redirect_uri").to_string();
    let state = field("state").to_string();
    if field("action") == "cancel" {
        return redirect_to(
            &redirect_uri,
            &[
                ("error", "access_denied"),
                (
                    "error_description",
                    "The user has denied your application access.",
                ),
                ("state", &state),
            ],
        );
    }
    let login = field("login").trim().to_string();
    let known = st
        .users
        .get(&login)
        .is_some_and(|u| u.kind == super::UserKind::User);
    if !known {
        return error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("There is no GitHub user {login:?}."),
        );
    }
    let code = random("", 20).to_ascii_lowercase();
    st.oauth_codes.insert(
        code.clone(),
        OAuthCode {
            login,
            client_id: field("client_id").to_string(),
            redirect_uri: redirect_uri.clone(),
            issued_at: Utc::now(),
        },
    );
    redirect_to(&redirect_uri, &[("code", &code), ("state", &state)])
}

fn oauth_error(error: &str, description: &str) -> ApiResult {
    ok(json!({
        "error": error,
        "error_description": description,
        "error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors",
    }))
}

async fn access_token(AxState(sh): Sh, headers: HeaderMap, body: Bytes) -> ApiResult {
    if body.len() > MAX_FORM {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request body too large",
        ));
    }
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let params: HashMap<String, String> = if is_json {
        parse_body(&body)?
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
            .collect()
    } else {
        form_pairs(&body).ok_or_else(|| {
            ApiError::new(StatusCode::BAD_REQUEST, "Problems parsing the request body")
        })?
    };
    let field = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
    let mut st = sh.lock();
    if field("client_id") != st.settings.client_id
        || field("client_secret") != st.settings.client_secret
    {
        return oauth_error(
            "incorrect_client_credentials",
            "The client_id and/or client_secret passed are incorrect.",
        );
    }
    let bad_code = || {
        oauth_error(
            "bad_verification_code",
            "The code passed is incorrect or expired.",
        )
    };
    // Single use: a code is gone once presented, whether or not it was good.
    let Some(code) = st.oauth_codes.remove(field("code")) else {
        return bad_code();
    };
    let age = Utc::now() - code.issued_at;
    if age.num_seconds() >= CODE_LIFETIME_SECS || code.client_id != field("client_id") {
        return bad_code();
    }
    let redirect = field("redirect_uri");
    if !redirect.is_empty() && redirect != code.redirect_uri {
        return oauth_error(
            "redirect_uri_mismatch",
            "The redirect_uri MUST match the registered callback URL for this application.",
        );
    }
    let (token, refresh) = issue_user_token(&mut st, &code.login);
    ok(json!({
        "access_token": token,
        "token_type": "bearer",
        "scope": "",
        "expires_in": TOKEN_LIFETIME_SECS,
        "refresh_token": refresh,
        "refresh_token_expires_in": REFRESH_LIFETIME_SECS,
    }))
}

/// The user a valid user access token in `Authorization` belongs to.
#[derive(Clone, Debug)]
pub(super) struct UserAuth {
    pub login: String,
}

fn user_of(parts: &Parts, st: &State) -> Option<String> {
    let cred = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(auth::credential)?;
    st.user_tokens
        .get(cred)
        .filter(|t| t.expires_at > Utc::now())
        .map(|t| t.login.clone())
}

impl FromRequestParts<Arc<Shared>> for UserAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, sh: &Arc<Shared>) -> Result<Self, ApiError> {
        if parts.headers.get(AUTHORIZATION).is_none() {
            return Err(ApiError::unauthorized("Requires authentication"));
        }
        let st = sh.lock();
        user_of(parts, &st)
            .map(|login| UserAuth { login })
            .ok_or_else(|| ApiError::unauthorized("Bad credentials"))
    }
}

/// Who reads a repository: an installation token or a user access token.
pub(super) enum Reader {
    Installation(Inst),
    User(String),
}

impl FromRequestParts<Arc<Shared>> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, sh: &Arc<Shared>) -> Result<Self, ApiError> {
        let user = user_of(parts, &sh.lock());
        match user {
            Some(login) => Ok(Reader::User(login)),
            None => Inst::from_request_parts(parts, sh)
                .await
                .map(Reader::Installation),
        }
    }
}

/// Whether `login` may read repository `id`: public, or a role on it.
fn can_read(st: &State, id: u64, login: &str) -> bool {
    !st.private.contains(&id) || st.role_of(id, login).is_some()
}

/// The `permissions` object GitHub adds to a repository read with a user's token.
fn permissions(role: Option<Role>) -> Value {
    let rank = match role {
        Some(Role::Admin) => 5,
        Some(Role::Maintain) => 4,
        Some(Role::Write) => 3,
        Some(Role::Triage) => 2,
        Some(Role::Read) | None => 1,
    };
    json!({
        "admin": rank >= 5, "maintain": rank >= 4, "push": rank >= 3,
        "triage": rank >= 2, "pull": true,
    })
}

/// `GET /repos/{o}/{r}` with a user token: 404 for a private repository the user cannot read.
pub(super) fn repo_for_user(sh: &Shared, login: &str, owner: &str, name: &str) -> ApiResult {
    let st = sh.lock();
    let id = st.repo_id(owner, name).ok_or_else(ApiError::not_found)?;
    if !can_read(&st, id, login) {
        return Err(ApiError::not_found());
    }
    let mut v = sh.render(&st).repo(id);
    v["permissions"] = permissions(st.role_of(id, login));
    ok(v)
}

async fn current_user(AxState(sh): Sh, user: UserAuth) -> ApiResult {
    let st = sh.lock();
    let u = st.users.get(&user.login).ok_or_else(ApiError::not_found)?;
    let mut v = json!({
        "login": u.login, "id": u.id, "name": u.login,
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{}?v=4", u.id),
        "type": u.kind.as_str(),
    });
    v["html_url"] = json!(format!("{}/{}", super::render::WEB, u.login));
    ok(v)
}

/// Repositories of `installation` the user has an explicit role on (what GitHub lists for a
/// user token).
fn reachable(st: &State, installation: u64, login: &str) -> Vec<u64> {
    st.repos
        .values()
        .filter(|r| r.installation == Some(installation))
        .filter(|r| st.role_of(r.id, login).is_some())
        .map(|r| r.id)
        .collect()
}

async fn user_installations(
    AxState(sh): Sh,
    user: UserAuth,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let st = sh.lock();
    let r = sh.render(&st);
    let all: Vec<Value> = st
        .installations
        .values()
        .filter(|i| !reachable(&st, i.id, &user.login).is_empty())
        .map(|i| r.installation(i))
        .collect();
    let total = all.len();
    let (page, link) = paginate(all, Paging::from_query(&q), &uri, &st, &sh.api);
    ok_paged(json!({"total_count": total, "installations": page}), link)
}

async fn user_installation_repos(
    AxState(sh): Sh,
    user: UserAuth,
    Path(id): Path<String>,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let id = num(&id)?;
    let st = sh.lock();
    let ids = reachable(&st, id, &user.login);
    if !st.installations.contains_key(&id) || ids.is_empty() {
        return Err(ApiError::not_found());
    }
    let r = sh.render(&st);
    let repos: Vec<Value> = ids
        .iter()
        .map(|rid| {
            let mut v = r.repo(*rid);
            v["permissions"] = permissions(st.role_of(*rid, &user.login));
            v
        })
        .collect();
    let total = repos.len();
    let (page, link) = paginate(repos, Paging::from_query(&q), &uri, &st, &sh.api);
    ok_paged(
        json!({"total_count": total, "repository_selection": "all", "repositories": page}),
        link,
    )
}

#[cfg(test)]
#[path = "routes_oauth_tests.rs"]
mod tests;
