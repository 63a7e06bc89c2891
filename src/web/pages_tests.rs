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
            live: "/events".into(),
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

/// A repository page with fixed data, as a visitor's browser receives it.
#[test]
fn a_repository_page_reads_as_pinned() {
    let sha = |c: char| c.to_string().repeat(40);
    let page = RepoPage {
        chrome: Chrome {
            viewer: None,
            csrf: String::new(),
            title: "octo/app".into(),
            live: "/events?since=1.2.3".into(),
        },
        section: RepoSection {
            full_name: "octo/app".into(),
            href: "/repos/octo/app".into(),
            account: "octo".into(),
            pulls: vec![PullRow {
                number: 12,
                title: "Fix <b>login</b> & \"quotes\"".into(),
                author: "dev".into(),
                fork: true,
                draft: false,
                approval: "approved by @boss".into(),
                head_sha: sha('a'),
                head_short: sha('a')[..7].into(),
                head_ref: "fix-login".into(),
                checks: "passed",
                preview: Some(PreviewRow {
                    sha: sha('a'),
                    sha_short: sha('a')[..7].into(),
                    environment: "pr-12".into(),
                    host: "app-pr12.example.org".into(),
                    state: "live".into(),
                    url: Some("https://app-pr12.example.org".into()),
                    detail: String::new(),
                    log: "/logs/t1".into(),
                    by: "gangway".into(),
                    age: "5m".into(),
                }),
                href: "/repos/octo/app/pulls/12".into(),
            }],
            envs: vec![EnvRow {
                environment: "production-uk".into(),
                family: "production".into(),
                sha: sha('b'),
                sha_short: sha('b')[..7].into(),
                state: "live".into(),
                kind: "promote".into(),
                by: "boss".into(),
                pr: Some(11),
                reason: String::new(),
                verification: "passed".into(),
                age: "2h05m".into(),
                log: "/logs/t2".into(),
            }],
            holds: vec![HoldRow {
                environment: "production".into(),
                by: "boss".into(),
                reason: "release <freeze>".into(),
                age: "1h00m".into(),
            }],
            queue: vec![QueueRow {
                place: 1,
                environment: "production-uk".into(),
                sha: sha('c'),
                sha_short: sha('c')[..7].into(),
                pr: Some(12),
                by: "boss".into(),
                state: "waiting".into(),
                reason: String::new(),
                age: "3m".into(),
            }],
            train: Some(TrainRow {
                sha_short: sha('d')[..7].into(),
                next: "deploy to production".into(),
                eta: "in 42m".into(),
                stopped: String::new(),
            }),
        },
    };
    insta::assert_snapshot!(page.render().unwrap());
}
