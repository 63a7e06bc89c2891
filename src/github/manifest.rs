//! The last step of registering a GitHub App from a manifest: trading the one-time `code`
//! GitHub gave the redirect for the App's id, private key and secrets
//! (`POST /app-manifests/{code}/conversions`, no authentication; the code is valid once, for
//! an hour).

use secrecy::SecretString;
use serde::Deserialize;

/// What registering the App produced. Secrets stay in [`SecretString`]s (`Debug` redacts them).
#[derive(Debug)]
pub struct AppCredentials {
    pub id: u64,
    pub slug: String,
    pub name: String,
    pub html_url: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub webhook_secret: SecretString,
    pub pem: SecretString,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error(
        "GitHub did not accept the code: it is unknown, already used, or more than an hour old"
    )]
    CodeRefused,
    #[error("the code is not one GitHub hands out")]
    BadCode,
    #[error("GitHub answered {0} to the conversion")]
    Status(u16),
    #[error("could not reach GitHub: {0}")]
    Transport(String),
    #[error("GitHub's answer is not an App's credentials: {0}")]
    Body(String),
}

#[derive(Deserialize)]
struct Conversion {
    id: u64,
    slug: String,
    name: String,
    html_url: String,
    client_id: String,
    client_secret: String,
    webhook_secret: Option<String>,
    pem: String,
}

/// A manifest code as GitHub hands it out: a short run of letters, digits, `-` and `_` (it goes
/// into the request's path).
pub fn is_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 100
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `POST {api_url}/app-manifests/{code}/conversions`.
pub async fn convert(
    http: &reqwest::Client,
    api_url: &str,
    code: &str,
) -> Result<AppCredentials, ManifestError> {
    if !is_code(code) {
        return Err(ManifestError::BadCode);
    }
    let url = format!(
        "{}/app-manifests/{code}/conversions",
        api_url.trim_end_matches('/')
    );
    let resp = http
        .post(url)
        .header("accept", "application/vnd.github+json")
        .header("x-github-api-version", "2022-11-28")
        .header("user-agent", "gangway")
        .send()
        .await
        .map_err(|e| ManifestError::Transport(e.without_url().to_string()))?;
    match resp.status().as_u16() {
        200 | 201 => {}
        404 | 422 => return Err(ManifestError::CodeRefused),
        other => return Err(ManifestError::Status(other)),
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| ManifestError::Transport(e.without_url().to_string()))?;
    // Where, not what: serde's message could quote a value.
    let c: Conversion = serde_json::from_slice(&body).map_err(|e| {
        ManifestError::Body(format!(
            "unexpected JSON at line {} column {}",
            e.line(),
            e.column()
        ))
    })?;
    if c.webhook_secret.as_deref().is_none_or(str::is_empty) || c.pem.trim().is_empty() {
        return Err(ManifestError::Body(
            "no webhook secret or no private key".into(),
        ));
    }
    Ok(AppCredentials {
        id: c.id,
        slug: c.slug,
        name: c.name,
        html_url: c.html_url,
        client_id: c.client_id,
        client_secret: SecretString::from(c.client_secret),
        webhook_secret: SecretString::from(c.webhook_secret.unwrap_or_default()),
        pem: SecretString::from(c.pem),
    })
}
