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
