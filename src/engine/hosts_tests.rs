use super::*;

fn sha() -> CommitSha {
    CommitSha::parse("c0ffee0000000000000000000000000000000001").unwrap()
}

#[test]
fn default_template_renders_full_sha_host() {
    let t = HostTemplate::parse("{sha}.staging.example.org").unwrap();
    assert_eq!(t, HostTemplate::default());
    assert_eq!(
        t.render(&sha(), PrNumber(7), "x").unwrap(),
        "c0ffee0000000000000000000000000000000001.staging.example.org"
    );
}

#[test]
fn all_placeholders() {
    let t = HostTemplate::parse("{repo}-{number}-{short_sha}.Preview.Example.com").unwrap();
    assert_eq!(
        t.render(&sha(), PrNumber(12), "My_Repo.rs").unwrap(),
        "my-repo-rs-12-c0ffee0.preview.example.com"
    );
}

#[test]
fn refuses_bad_templates_with_reasons() {
    let cases = [
        ("{sha", "unbalanced"),
        ("sha}.x.org", "unbalanced"),
        ("{commit}.x.org", "unknown placeholder {commit}"),
        ("{number}.x.org", "must contain {sha}"),
        ("{sha}", "at least two labels"),
        ("{sha}.under_score.org", "only a-z"),
        ("{sha}-.x.org", "start or end"),
        ("{sha}{sha}.x.org", "1-63"),
        ("", "must contain {sha}"),
    ];
    for (tpl, want) in cases {
        let err = HostTemplate::parse(tpl).unwrap_err().to_string();
        assert!(err.contains(want), "{tpl:?}: {err}");
    }
}

#[test]
fn hostile_repo_names_still_render_valid_hosts() {
    let t = HostTemplate::parse("{repo}.{short_sha}.example.org").unwrap();
    for name in ["---", "Ünïcode", "a.b.c", &"x".repeat(300), ""] {
        let host = t.render(&sha(), PrNumber(1), name).unwrap();
        validate_dns_name(&host).unwrap();
    }
}

#[test]
fn an_environment_host_uses_its_name_as_a_dns_label_and_the_repo_in_lower_case() {
    let tpl = "{environment}.{repo}.example.org";
    assert_eq!(
        environment_host(tpl, "production", "Shop"),
        "production.shop.example.org"
    );
    assert_eq!(
        environment_host(tpl, "QA_eu.1", "shop"),
        "qa-eu-1.shop.example.org"
    );
    assert_eq!(
        environment_host("{environment}.example.org", "__", "shop"),
        "env.example.org",
        "nothing left of the name"
    );
    assert_eq!(
        environment_host("app.example.org", "staging", "shop"),
        "app.example.org",
        "a template without placeholders is one host for all"
    );
}

#[test]
fn an_environment_label_has_no_hyphen_at_either_end() {
    for (name, want) in [
        ("-staging-", "staging"),
        ("Prod", "prod"),
        ("über", "ber"),
        ("a b", "a-b"),
        ("", "env"),
    ] {
        assert_eq!(environment_label(name), want, "{name:?}");
    }
}
