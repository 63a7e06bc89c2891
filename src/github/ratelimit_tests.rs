use super::*;

#[test]
fn low_means_under_the_reserve() {
    let b = Budget {
        limit: 5000,
        remaining: 499,
        reset: 0,
    };
    assert!(b.is_low(10));
    assert!(
        !Budget {
            remaining: 500,
            ..b
        }
        .is_low(10)
    );
}

#[test]
fn headers_parse_or_nothing() {
    let mut h = HeaderMap::new();
    h.insert("x-ratelimit-limit", "5000".parse().unwrap());
    h.insert("x-ratelimit-remaining", "42".parse().unwrap());
    assert_eq!(Budget::from_headers(&h), None);
    h.insert("x-ratelimit-reset", "1700000000".parse().unwrap());
    assert_eq!(
        Budget::from_headers(&h),
        Some(Budget {
            limit: 5000,
            remaining: 42,
            reset: 1_700_000_000
        })
    );
    h.insert("x-ratelimit-remaining", "lots".parse().unwrap());
    assert_eq!(Budget::from_headers(&h), None);
}
