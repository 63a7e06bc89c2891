use super::*;
use crate::model::{DriverKind, PreviewState};
use crate::types::RepoId;

fn sha() -> CommitSha {
    CommitSha::parse("c0ffee0000000000000000000000000000000001").unwrap()
}

#[test]
fn default_template_tells_commits_prs_and_repositories_apart() {
    let t = HostTemplate::parse(DEFAULT_TEMPLATE).unwrap();
    assert_eq!(t, HostTemplate::default());
    assert_eq!(
        t.render(&sha(), PrNumber(7), "octo/app").unwrap(),
        "app-pr7-c0ffee0.staging.example.org"
    );
    let other_pr = t.render(&sha(), PrNumber(8), "octo/app").unwrap();
    let other_repo = t.render(&sha(), PrNumber(7), "octo/web").unwrap();
    assert_ne!(other_pr, other_repo);
    assert_ne!(other_pr, "app-pr7-c0ffee0.staging.example.org");
}

#[test]
fn all_placeholders() {
    let t = HostTemplate::parse("{repo}-{number}.{short_sha}-{owner}.Preview.Example.com").unwrap();
    assert_eq!(
        t.render(&sha(), PrNumber(12), "Octo_Org/My_Repo.rs")
            .unwrap(),
        "my-repo-rs-12.c0ffee0-octo-org.preview.example.com"
    );
    let t = HostTemplate::parse("{sha}.{number}.{repo}.x.org").unwrap();
    assert_eq!(
        t.render(&sha(), PrNumber(1), "o/r").unwrap(),
        "c0ffee0000000000000000000000000000000001.1.r.x.org"
    );
}

#[test]
fn refuses_bad_templates_with_reasons() {
    let cases = [
        ("{sha", "unbalanced"),
        ("sha}.x.org", "unbalanced"),
        ("{commit}.x.org", "unknown placeholder {commit}"),
        (
            "{environment}-{sha}-{number}-{repo}.x.org",
            "unknown placeholder {environment}",
        ),
        ("{number}-{repo}.x.org", "must contain {sha} or {short_sha}"),
        ("{sha}-{number}-{repo}", "at least two labels"),
        ("{short_sha}-{number}-{repo}.under_score.org", "only a-z"),
        ("{short_sha}-{number}-{repo}-.x.org", "start or end"),
        ("{sha}{sha}-{number}-{repo}.x.org", "1-63"),
        ("", "must contain {sha}"),
    ];
    for (tpl, want) in cases {
        let err = HostTemplate::parse(tpl).unwrap_err().to_string();
        assert!(err.contains(want), "{tpl:?}: {err}");
    }
}

/// A template that two pull requests on one commit, or two repositories' pull requests, could
/// render alike is refused, saying which placeholder is missing and why.
#[test]
fn refuses_templates_that_cannot_be_unique() {
    for (tpl, want) in [
        (
            "{sha}.staging.example.org",
            "must contain {number} so that two pull requests on the same commit",
        ),
        ("{short_sha}.x.org", "must contain {number}"),
        ("{short_sha}-{repo}.x.org", "must contain {number}"),
        (
            "pr-{number}-{short_sha}.x.org",
            "must contain {repo} so that two repositories'",
        ),
        ("{sha}.{number}.{owner}.x.org", "must contain {repo}"),
    ] {
        let err = HostTemplate::parse(tpl).unwrap_err();
        assert!(
            matches!(err, HostError::NotUnique { .. }),
            "{tpl:?}: {err:?}"
        );
        assert!(err.to_string().contains(want), "{tpl:?}: {err}");
    }
}

#[test]
fn hostile_repo_names_still_render_valid_hosts() {
    let t = HostTemplate::parse("{repo}.{number}.{short_sha}.example.org").unwrap();
    for name in [
        "o/---",
        "o/Ünïcode",
        "o/a.b.c",
        &format!("o/{}", "x".repeat(300)),
        "",
        "/",
        "x",
    ] {
        let host = t.render(&sha(), PrNumber(1), name).unwrap();
        validate_dns_name(&host).unwrap();
    }
}

#[test]
fn an_environment_host_uses_its_name_as_a_dns_label_and_the_repo_as_a_preview_does() {
    let tpl = "{environment}.{repo}.example.org";
    assert_eq!(
        environment_host(tpl, "production", "octo/Shop"),
        "production.shop.example.org"
    );
    assert_eq!(
        environment_host(tpl, "QA_eu.1", "octo/shop"),
        "qa-eu-1.shop.example.org"
    );
    assert_eq!(
        environment_host(tpl, "__", "octo/my_shop"),
        "env.my-shop.example.org",
        "nothing left of the name; the repository folded like a preview's"
    );
    assert_eq!(
        environment_host(
            "{environment}-{repo}.{owner}.example.org",
            "staging",
            "Octo/shop"
        ),
        "staging-shop.octo.example.org"
    );
}

#[test]
fn the_default_environment_host_differs_by_repository() {
    check_environment_template(DEFAULT_ENVIRONMENT_TEMPLATE).unwrap();
    let app = environment_host(DEFAULT_ENVIRONMENT_TEMPLATE, "production", "octo/app");
    let web = environment_host(DEFAULT_ENVIRONMENT_TEMPLATE, "production", "octo/web");
    assert_eq!(app, "production.app.example.org");
    assert_ne!(app, web);
    assert_ne!(
        app,
        environment_host(DEFAULT_ENVIRONMENT_TEMPLATE, "staging", "octo/app")
    );
}

#[test]
fn environment_templates_need_the_environment_and_the_repository() {
    for (tpl, want) in [
        (
            "{environment}.example.org",
            "must contain {repo} so that two repositories'",
        ),
        (
            "app.example.org",
            "must contain {environment} so that each environment",
        ),
        ("{repo}.example.org", "must contain {environment}"),
        (
            "{sha}.{environment}.{repo}.example.org",
            "unknown placeholder {sha}",
        ),
        ("{environment.{repo}.example.org", "unbalanced"),
        ("{environment}.{repo}.under_score.org", "only a-z"),
    ] {
        let err = check_environment_template(tpl).unwrap_err().to_string();
        assert!(err.contains(want), "{tpl:?}: {err}");
    }
    check_environment_template("{environment}-{repo}.{owner}.example.org").unwrap();
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

fn preview(id: i64, number: u64, host: &str, state: PreviewState) -> Preview {
    Preview {
        id,
        repo_id: RepoId(1),
        pr_number: PrNumber(number),
        sha: sha(),
        environment: format!("pr-{number}"),
        host: host.into(),
        driver: DriverKind::Command,
        deployment_id: Some(5),
        create_attempted: true,
        adopted: false,
        state,
        last_status: Some("success".into()),
        environment_url: None,
        detail: None,
        log_token: format!("t{id}"),
        requested_by: "ann".into(),
        created_at: 0,
        deployed_at: Some(1),
        torn_down_at: None,
        teardown_kind: None,
    }
}

#[test]
fn a_host_belongs_to_its_first_holder_and_the_refusal_says_whose() {
    let pr7 = HostHolder::Preview {
        repo: RepoId(1),
        number: PrNumber(7),
    };
    let pr8 = HostHolder::Preview {
        repo: RepoId(1),
        number: PrNumber(8),
    };
    let elsewhere = HostHolder::Preview {
        repo: RepoId(2),
        number: PrNumber(7),
    };
    let staging = HostHolder::Environment {
        repo: RepoId(1),
        environment: "staging".into(),
    };
    let their_prod = HostHolder::Environment {
        repo: RepoId(2),
        environment: "production".into(),
    };
    assert_eq!(refusal("h.x.org", &pr7, &pr7), None, "its own");
    let why = refusal("h.x.org", &pr8, &pr7).unwrap();
    assert!(
        why.contains("host h.x.org is already used by the preview of pull request #7")
            && why.contains("/stage"),
        "{why}"
    );
    let why = refusal("h.x.org", &pr7, &elsewhere).unwrap();
    assert!(why.contains("a preview of another repository"), "{why}");
    let why = refusal("h.x.org", &pr7, &staging).unwrap();
    assert!(
        why.contains("the staging environment of this repository"),
        "{why}"
    );
    let why = refusal("h.x.org", &staging, &their_prod).unwrap();
    assert!(
        why.contains("an environment of another repository")
            && why.contains("GANGWAY_ENVIRONMENT_HOST"),
        "{why}"
    );
}

#[test]
fn a_teardown_touches_only_a_host_its_pull_request_alone_serves_from() {
    let p = preview(1, 7, "h.x.org", PreviewState::Live);
    let ours = HostHolder::of_preview(&p);
    let theirs = HostHolder::Preview {
        repo: RepoId(1),
        number: PrNumber(8),
    };
    assert!(teardown_touches_host(
        &p,
        Some(&ours),
        std::slice::from_ref(&p)
    ));
    assert!(
        teardown_touches_host(&p, None, &[]),
        "unclaimed (a preview from before claims)"
    );
    assert!(
        !teardown_touches_host(&p, Some(&theirs), &[]),
        "another pull request holds it"
    );
    // Two commits of one PR at one host (a short sha collision): the newer one still serves.
    let newer = preview(2, 7, "h.x.org", PreviewState::Deploying);
    assert!(!teardown_touches_host(
        &p,
        Some(&ours),
        &[p.clone(), newer.clone()]
    ));
    assert!(shares_host(&p, &[p.clone(), newer]));
    let gone = preview(3, 7, "h.x.org", PreviewState::TornDown);
    let elsewhere = preview(4, 7, "k.x.org", PreviewState::Live);
    assert!(!shares_host(&p, &[p.clone(), gone, elsewhere]));
}

#[test]
fn each_target_has_a_host_of_its_own_with_or_without_a_target_placeholder() {
    // Without `{target}`: the target's GitHub environment stands in `{environment}`.
    let plain = DEFAULT_ENVIRONMENT_TEMPLATE;
    assert_eq!(
        target_host(plain, "production", Some("au"), "octo/app"),
        "production-au.app.example.org"
    );
    assert_eq!(
        target_host(plain, "production", None, "octo/app"),
        environment_host(plain, "production", "octo/app")
    );
    // With `{target}`: the environment and the target apart; no target puts the name in both.
    let tpl = "{target}.{environment}.{repo}.example.org";
    check_environment_template(tpl).unwrap();
    assert_eq!(
        target_host(tpl, "production", Some("UK"), "octo/app"),
        "uk.production.app.example.org"
    );
    assert_ne!(
        target_host(tpl, "production", Some("au"), "octo/app"),
        target_host(tpl, "production", Some("ca"), "octo/app")
    );
    assert_eq!(
        environment_host(tpl, "staging", "octo/app"),
        "staging.staging.app.example.org"
    );
    // `{target}` is an environment placeholder only: a preview template refuses it.
    assert!(HostTemplate::parse("{target}-pr{number}-{short_sha}.{repo}.example.org").is_err());
}
