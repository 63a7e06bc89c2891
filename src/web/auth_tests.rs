use super::*;

#[test]
fn next_is_a_path_on_this_site_or_home() {
    for good in ["/", "/repos/octo/app", "/repos/octo/app/pulls/3?x=1#y"] {
        assert_eq!(safe_next(Some(good)), good);
    }
    for bad in [
        "//evil.example",
        "https://evil.example/",
        "http:/evil",
        "/\\evil.example",
        "\\\\evil.example",
        "/ok\\..\\x",
        "javascript:alert(1)",
        "evil.example",
        "/a\nSet-Cookie: x=y",
        "/a b",
        "",
    ] {
        assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
    }
    assert_eq!(safe_next(None), "/");
    assert_eq!(safe_next(Some(&format!("/{}", "a".repeat(600)))), "/");
}

#[test]
fn state_comparison_is_exact() {
    assert!(equal(b"abc", b"abc"));
    assert!(!equal(b"abc", b"abd"));
    assert!(!equal(b"abc", b"ab"));
}
