use super::*;

#[test]
fn sha_accepts_only_40_lowercase_hex() {
    let good = "0123456789abcdef0123456789abcdef01234567";
    assert_eq!(
        CommitSha::parse(good).map(|s| s.short().to_owned()),
        Ok("0123456".into())
    );
    for bad in [
        "",
        "0123456789abcdef0123456789abcdef0123456",   // 39
        "0123456789abcdef0123456789abcdef012345678", // 41
        "0123456789ABCDEF0123456789abcdef01234567",  // upper case
        "g123456789abcdef0123456789abcdef01234567",
        "0123456789abcdef0123456789abcdef0123456é",
    ] {
        assert!(CommitSha::parse(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn sha_deserialization_validates() {
    let r: Result<CommitSha, _> = serde_json::from_str("\"nothex\"");
    assert!(r.is_err());
}

#[test]
fn delivery_id_refuses_control_characters_and_length() {
    assert!(DeliveryId::parse("72d3162e-cc78-11e3-81ab-4c9367dc0958").is_ok());
    assert!(DeliveryId::parse("").is_err());
    assert!(DeliveryId::parse("a\nb").is_err());
    assert!(DeliveryId::parse("a b").is_err());
    assert!(DeliveryId::parse(&"a".repeat(129)).is_err());
}

#[test]
fn error_messages_do_not_echo_huge_input() {
    let huge = "x".repeat(100_000);
    let msg = CommitSha::parse(&huge).unwrap_err().to_string();
    assert!(msg.len() < 200, "{}", msg.len());
}
