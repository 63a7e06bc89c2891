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

fn answer(resource: Option<&str>, remaining: u64) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("x-ratelimit-limit", "5000".parse().unwrap());
    h.insert(
        "x-ratelimit-remaining",
        remaining.to_string().parse().unwrap(),
    );
    h.insert("x-ratelimit-reset", "1700000000".parse().unwrap());
    if let Some(r) = resource {
        h.insert("x-ratelimit-resource", r.parse().unwrap());
    }
    h
}

#[test]
fn a_graphql_answer_never_overwrites_the_rest_budget() {
    let budgets = Budgets::default();
    let i = InstallationId(1);
    budgets.record(i, &answer(Some("core"), 4000));
    // A checks query that spent the GraphQL budget.
    budgets.record(i, &answer(Some("graphql"), 0));
    assert_eq!(budgets.get(i).map(|b| b.remaining), Some(4000));
    assert_eq!(
        budgets.get_resource(i, "graphql").map(|b| b.remaining),
        Some(0)
    );
    // No header: REST's.
    budgets.record(i, &answer(None, 3999));
    assert_eq!(budgets.get(i).map(|b| b.remaining), Some(3999));
    // Another installation's budget is its own.
    assert_eq!(budgets.get(InstallationId(2)), None);
}
