use super::*;

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, v.parse().unwrap());
    }
    h
}

#[test]
fn server_errors_are_transient() {
    let e = classify_status(
        "GET /x",
        StatusCode::BAD_GATEWAY,
        &HeaderMap::new(),
        b"<html>",
        0,
    );
    assert!(
        matches!(
            e,
            GitHubError::Transient {
                retry_after: None,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn retry_after_is_honoured() {
    let e = classify_status(
        "POST /x",
        StatusCode::TOO_MANY_REQUESTS,
        &headers(&[("retry-after", "7")]),
        b"{}",
        0,
    );
    assert!(
        matches!(e, GitHubError::Transient { retry_after: Some(d), .. } if d == Duration::from_secs(7))
    );
}

#[test]
fn secondary_rate_limit_403_is_transient() {
    let body = br#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}"#;
    let e = classify_status("POST /x", StatusCode::FORBIDDEN, &HeaderMap::new(), body, 0);
    assert!(
        matches!(e, GitHubError::Transient { retry_after: Some(d), .. } if d == Duration::from_secs(60)),
        "{e:?}"
    );
}

#[test]
fn primary_rate_limit_waits_for_reset() {
    let h = headers(&[
        ("x-ratelimit-remaining", "0"),
        ("x-ratelimit-reset", "1000"),
    ]);
    let e = classify_status(
        "GET /x",
        StatusCode::FORBIDDEN,
        &h,
        b"{\"message\":\"API rate limit exceeded\"}",
        900,
    );
    assert!(
        matches!(e, GitHubError::Transient { retry_after: Some(d), .. } if d == Duration::from_secs(100)),
        "{e:?}"
    );
}

#[test]
fn other_client_errors_are_permanent_with_githubs_message() {
    let e = classify_status(
        "POST /x",
        StatusCode::UNPROCESSABLE_ENTITY,
        &HeaderMap::new(),
        br#"{"message":"No ref found for: nope"}"#,
        0,
    );
    assert_eq!(e.status(), Some(422));
    assert!(e.to_string().contains("No ref found for: nope"));
    let e = classify_status(
        "GET /x",
        StatusCode::FORBIDDEN,
        &HeaderMap::new(),
        br#"{"message":"Resource not accessible by integration"}"#,
        0,
    );
    assert_eq!(e.status(), Some(403));
}

#[test]
fn a_secondary_limit_pauses_for_retry_after_or_a_minute_and_a_primary_one_does_not() {
    let mut h = HeaderMap::new();
    h.insert("retry-after", "2".parse().unwrap());
    let forbidden = StatusCode::FORBIDDEN;
    assert_eq!(
        secondary_limit(forbidden, &h, b"{}"),
        Some(Duration::from_secs(2))
    );
    assert_eq!(
        secondary_limit(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), b"{}"),
        Some(Duration::from_secs(60))
    );
    assert_eq!(
        secondary_limit(
            forbidden,
            &HeaderMap::new(),
            br#"{"message":"You have exceeded a secondary rate limit."}"#
        ),
        Some(Duration::from_secs(60))
    );
    let mut primary = h.clone();
    primary.insert("x-ratelimit-remaining", "0".parse().unwrap());
    assert_eq!(secondary_limit(forbidden, &primary, b"{}"), None);
    assert_eq!(secondary_limit(forbidden, &HeaderMap::new(), b"{}"), None);
    assert_eq!(secondary_limit(StatusCode::BAD_GATEWAY, &h, b"{}"), None);
}
