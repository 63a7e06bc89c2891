//! `X-Hub-Signature-256`: HMAC-SHA256 over the raw body, checked against every accepted secret.
//!
//! Owns: the signature format and the constant-time comparison. Runs before anything else looks at
//! the body; never parses it.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a signature was refused. Each maps to 401; the text tells the sender what to fix without
/// saying anything about the secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing X-Hub-Signature-256 header: configure a webhook secret for this App")]
    Missing,
    #[error("malformed X-Hub-Signature-256 header: expected sha256= and 64 hex digits")]
    Malformed,
    #[error("X-Hub-Signature-256 does not match the body for any configured webhook secret")]
    Mismatch,
}

/// `sha256=<hex>` for a body, as GitHub computes it.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length: this cannot fail.
    #[allow(clippy::expect_used)]
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Verifies `header` (the raw header value, if any) over `body` against each secret in turn.
/// Every secret is tried even after a match would be found, so timing does not reveal which one
/// (rotation) matched; each comparison is constant-time.
pub fn verify(
    secrets: &[SecretString],
    header: Option<&[u8]>,
    body: &[u8],
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex_part = header
        .strip_prefix(b"sha256=")
        .ok_or(SignatureError::Malformed)?;
    if hex_part.len() != 64 {
        return Err(SignatureError::Malformed);
    }
    let mut expected = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut expected).map_err(|_| SignatureError::Malformed)?;
    let mut ok = false;
    for secret in secrets {
        let Ok(mut mac) = HmacSha256::new_from_slice(secret.expose_secret().as_bytes()) else {
            continue;
        };
        mac.update(body);
        ok |= mac.verify_slice(&expected).is_ok();
    }
    if ok {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
#[path = "signature_tests.rs"]
mod tests;
