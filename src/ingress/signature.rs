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
mod tests {
    use super::*;

    fn secrets(list: &[&str]) -> Vec<SecretString> {
        list.iter()
            .map(|s| SecretString::from(s.to_string()))
            .collect()
    }

    /// GitHub's documented example ("Validating webhook deliveries").
    #[test]
    fn github_documented_vector() {
        let sig = sign(b"It's a Secret to Everybody", b"Hello, World!");
        assert_eq!(
            sig,
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
        let s = secrets(&["It's a Secret to Everybody"]);
        assert_eq!(verify(&s, Some(sig.as_bytes()), b"Hello, World!"), Ok(()));
    }

    #[test]
    fn any_of_several_secrets_verifies() {
        let s = secrets(&["new", "old"]);
        assert_eq!(
            verify(&s, Some(sign(b"old", b"x").as_bytes()), b"x"),
            Ok(())
        );
        assert_eq!(
            verify(&s, Some(sign(b"new", b"x").as_bytes()), b"x"),
            Ok(())
        );
        assert_eq!(
            verify(&s, Some(sign(b"other", b"x").as_bytes()), b"x"),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn malformed_headers() {
        let s = secrets(&["k"]);
        let good = sign(b"k", b"body");
        assert_eq!(verify(&s, None, b"body"), Err(SignatureError::Missing));
        for bad in [
            "".to_string(),
            "sha1=0123".into(),
            good.replace("sha256=", "SHA256="),
            format!("{good}00"),
            good[..good.len() - 1].to_string(),
            good.replace('a', "z"),
            format!(" {good}"),
        ] {
            let r = verify(&s, Some(bad.as_bytes()), b"body");
            assert!(
                matches!(r, Err(SignatureError::Malformed | SignatureError::Mismatch)),
                "{bad:?} gave {r:?}"
            );
        }
        // Uppercase hex is still the same digest; GitHub sends lowercase but hex decoding accepts both.
        assert_eq!(
            verify(
                &s,
                Some(good.to_uppercase().replace("SHA256=", "sha256=").as_bytes()),
                b"body"
            ),
            Ok(())
        );
    }

    #[test]
    fn signature_over_other_bytes_is_refused() {
        let s = secrets(&["k"]);
        let sig = sign(b"k", b"{\"a\":1}");
        assert_eq!(
            verify(&s, Some(sig.as_bytes()), b"{\"a\": 1}"),
            Err(SignatureError::Mismatch)
        );
    }
}
