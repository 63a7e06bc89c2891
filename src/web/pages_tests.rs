use super::*;

#[test]
fn durations_read_as_people_say_them() {
    assert_eq!(human(42_000), "42s");
    assert_eq!(human(300_000), "5m");
    assert_eq!(human(3_600_000 * 3 + 420_000), "3h07m");
    assert_eq!(human(-5), "0s");
}

#[test]
fn a_commit_in_a_path_is_hex_only() {
    assert_eq!(commit_prefix("ABCdef12").as_deref(), Some("abcdef12"));
    for bad in [
        "abc",
        "xyz1234",
        "abcd%",
        "abcd_ef",
        &"a".repeat(41),
        "<script>",
    ] {
        assert_eq!(commit_prefix(bad), None, "{bad}");
    }
}

#[test]
fn every_environment_and_target_gets_its_buttons() {
    let a = actions(&[
        ("staging".into(), vec![]),
        (
            "production".into(),
            vec!["production-uk".into(), "production-au".into()],
        ),
    ]);
    let has = |c: &str, e: &str| a.iter().any(|x| x.command == c && x.environment == e);
    assert!(has("stage", "") && has("unstage", ""));
    for e in ["staging", "production", "production-uk", "production-au"] {
        assert!(has("promote", e), "promote {e}");
        assert!(has("rollback", e), "rollback {e}");
    }
    for e in ["staging", "production"] {
        assert!(has("hold", e) && has("unhold", e), "hold {e}");
    }
    assert!(a.iter().filter(|x| x.reason).all(|x| x.command == "hold"));
}

#[test]
fn the_buttons_carry_the_token_and_the_sha_shown() {
    let head = "0123456789abcdef0123456789abcdef01234567";
    let page = PullPage {
        chrome: Chrome {
            viewer: Some("ann".into()),
            csrf: "tok\"en".into(),
            title: "t".into(),
        },
        repo: "o/r".into(),
        pull: PullRow {
            number: 7,
            title: "<script>alert(1)</script>".into(),
            author: "bob".into(),
            fork: true,
            draft: false,
            approval: String::new(),
            head_sha: head.into(),
            head_short: head[..7].into(),
            head_ref: "f".into(),
            checks: "passed",
            preview: None,
            href: "/repos/o/r/pulls/7".into(),
        },
        open: true,
        approvals: vec![],
        previews: vec![],
        deployments: vec![],
        promotions: vec![],
        signoffs: vec![],
        audit: vec![],
        actions: actions(&[("production".into(), vec!["production-uk".into()])]),
        action_url: "/repos/o/r/pulls/7/actions".into(),
    };
    let html = page.render().unwrap();
    let forms = html
        .matches("<form method=\"post\" action=\"/repos/o/r/pulls/7/actions\" class=\"action\"")
        .count();
    assert_eq!(forms, page.actions.len());
    assert_eq!(
        html.matches("name=\"csrf\" value=\"tok&#34;en\"").count(),
        forms + 1,
        "every button's form and the sign-out form carry the token: {html}"
    );
    assert_eq!(html.matches("name=\"csrf\"").count(), forms + 1, "{html}");
    assert_eq!(
        html.matches(&format!("name=\"sha\" value=\"{head}\""))
            .count(),
        forms
    );
    assert!(html.contains("data-command=\"promote\" data-environment=\"production-uk\""));
    assert!(
        html.contains("<button type=\"submit\" name=\"command\" value=\"stage\">Stage</button>")
    );
    assert!(
        html.contains("<label for=\"reason-"),
        "hold has a labelled reason"
    );
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(html.contains(&format!("<code id=\"head-sha\">{head}</code>")));
}
