use super::*;
use crate::policy::{Policy, PolicyError, parse};

fn message(yaml: &str) -> String {
    match parse(yaml.as_bytes()) {
        Err(PolicyError::Invalid { message }) => message,
        other => panic!("expected Invalid for {yaml:?}, got {other:?}"),
    }
}

fn policy(yaml: &str) -> Policy {
    parse(yaml.as_bytes()).expect("valid")
}

#[test]
fn entries_are_read_in_promotion_order_with_their_defaults() {
    let p = policy(
        "environments: [qa, staging, production]\nverify:\n  production:\n    command: true\n    checks: [smoke/production, '*/e2e/all']\n    timeout: 1h\n  QA:\n    checks: [smoke]\n",
    );
    let names: Vec<&str> = p.verify.entries().iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["qa", "production"],
        "as `environments:` spells them, in its order"
    );
    let prod = p.verify.of("Production").expect("production");
    assert!(prod.command);
    assert_eq!(
        prod.checks
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["smoke/production", "*/e2e/all"]
    );
    assert_eq!(prod.timeout, Duration::from_secs(3600));
    let qa = p.verify.of("qa").expect("qa");
    assert!(!qa.command);
    assert_eq!(qa.timeout, DEFAULT_VERIFY_TIMEOUT);
    assert!(p.verify.of("staging").is_none());
    assert!(policy("verify: {}\n").verify.entries().is_empty());
    assert!(policy("verify:\n").verify.entries().is_empty());
}

#[test]
fn mistakes_say_which_entry_and_what_is_allowed() {
    assert_eq!(
        message("verify:\n  prod:\n    command: true\n"),
        "verify.prod at line 3 column 5: `prod` is not one of the environments (production); \
         verify only an environment listed in `environments:`"
    );
    assert!(
        message("verify:\n  production:\n    command: false\n")
            .contains("nothing to verify: set `command: true`")
    );
    assert!(
        message("verify:\n  production:\n    checks: [smoke]\n    timeout: 2d\n")
            .starts_with("verify.production.timeout at line 4 column 14: is longer than 24h")
    );
    assert!(
        message("verify:\n  production:\n    checks: [a, a]\n")
            .starts_with("verify.production.checks[1] at line 3 column 17: `a` is listed twice")
    );
    assert_eq!(
        message("verify:\n  production:\n    command: true\n    retries: 3\n"),
        "verify.production.retries at line 4 column 5: unknown key `retries`; allowed keys: \
         `command`, `checks` or `timeout`"
    );
    assert!(
        message("verify:\n  production:\n    command: yes\n")
            .ends_with("wrong type: expected `true` or `false`")
    );
    assert!(
        message("verify: [production]\n")
            .contains("wrong type: expected a mapping from environment names")
    );
}
