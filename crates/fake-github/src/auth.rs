//! App authentication: RS256 JWT verification (as GitHub checks it) and installation tokens.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use octocrab::jsonwebtoken::{self, Algorithm, DecodingKey, Validation};
use rand::RngExt;
use rand::distr::Alphanumeric;
use serde_json::Value;

/// Largest `exp - now` GitHub accepts (10 minutes), plus leeway for clock drift.
const MAX_EXP_AHEAD_SECS: i64 = 10 * 60 + 30;
/// How far in the future `iat` may be.
const IAT_LEEWAY_SECS: i64 = 60;

/// Message GitHub answers for a JWT it cannot decode/verify.
pub(super) const JWT_UNDECODABLE: &str = "A JSON web token could not be decoded";

/// Parses the App's public key.
pub(super) fn decoding_key(public_pem: &str) -> std::io::Result<DecodingKey> {
    DecodingKey::from_rsa_pem(public_pem.as_bytes()).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("app public key: {e}"),
        )
    })
}

/// Verifies an App JWT like GitHub: RS256 signed by the App's key, `iss` an App id `app_id`
/// accepts (number or string), not expired, `exp` at most 10 minutes ahead, `iat` not in the future.
/// Returns GitHub's 401 message on failure.
pub(super) fn verify_app_jwt(
    key: &DecodingKey,
    app_id: &dyn Fn(u64) -> bool,
    jwt: &str,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims = HashSet::new();
    let data = jsonwebtoken::decode::<Value>(jwt, key, &validation)
        .map_err(|_| JWT_UNDECODABLE.to_string())?;
    let claims = data.claims;
    let now = now.timestamp();

    let iss = match claims.get("iss") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse::<u64>().ok(),
        _ => None,
    };
    match iss {
        None => return Err("'Issuer' claim ('iss') must be an Integer".into()),
        Some(id) if !app_id(id) => return Err("Integration not found".into()),
        Some(_) => {}
    }

    let exp = claims.get("exp").and_then(Value::as_i64).ok_or_else(|| {
        "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires.".to_string()
    })?;
    if exp <= now {
        return Err("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires.".into());
    }
    if exp > now + MAX_EXP_AHEAD_SECS {
        return Err("'Expiration time' claim ('exp') is too far in the future".into());
    }

    let iat = claims.get("iat").and_then(Value::as_i64).ok_or_else(|| {
        "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued.".to_string()
    })?;
    if iat > now + IAT_LEEWAY_SECS {
        return Err("'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued.".into());
    }
    Ok(())
}

/// A fresh installation token: `ghs_` + 36 alphanumerics.
pub(super) fn new_installation_token() -> String {
    let tail: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(36)
        .map(char::from)
        .collect();
    format!("ghs_{tail}")
}

/// The credential in an `Authorization` header value (`token X` or `Bearer X`).
pub(super) fn credential(header: &str) -> Option<&str> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer") {
        let rest = rest.trim();
        (!rest.is_empty()).then_some(rest)
    } else {
        None
    }
}

/// Whether a credential looks like a JWT (three dot-separated parts).
pub(super) fn looks_like_jwt(cred: &str) -> bool {
    cred.split('.').count() == 3
}

/// Random UUID-v4-shaped string (for `X-GitHub-Delivery`).
pub(super) fn uuid_like() -> String {
    let mut b: [u8; 16] = rand::rng().random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
