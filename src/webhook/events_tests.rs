use super::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/fixtures/github-webhooks/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn edit(name: &str, f: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(&fixture(name)).unwrap();
    f(&mut v);
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn same_repo_and_fork_prs() {
    let Some(Event::PullRequest(e)) =
        decode("pull_request", &fixture("pull_request.opened.json")).unwrap()
    else {
        panic!("not a PR event")
    };
    assert_eq!(e.action, PullRequestAction::Opened);
    assert_eq!(e.number, PrNumber(2));
    assert!(!e.pull_request.is_fork());
    assert_eq!(
        e.installation,
        Some(InstallationRef {
            id: InstallationId(1)
        })
    );

    let Some(Event::PullRequest(f)) = decode(
        "pull_request",
        &fixture("pull_request.opened.fork.derived.json"),
    )
    .unwrap() else {
        panic!("not a PR event")
    };
    assert!(f.pull_request.is_fork());
}

#[test]
fn deleted_fork_counts_as_fork() {
    let body = edit("pull_request.opened.fork.derived.json", |v| {
        v["pull_request"]["head"]["repo"] = serde_json::Value::Null
    });
    let Some(Event::PullRequest(e)) = decode("pull_request", &body).unwrap() else {
        panic!()
    };
    assert!(e.pull_request.head.repo.is_none());
    assert!(e.pull_request.is_fork());
}

#[test]
fn unknown_actions_and_fields_never_fail() {
    let body = edit("pull_request.opened.json", |v| {
        v["action"] = "auto_merge_enabled".into();
        v["brand_new_field"] = serde_json::json!({"nested": [1, 2, 3]});
        v["pull_request"]["draft"] = serde_json::Value::Null;
    });
    let Some(Event::PullRequest(e)) = decode("pull_request", &body).unwrap() else {
        panic!()
    };
    assert_eq!(e.action, PullRequestAction::Other);
    assert!(!e.pull_request.draft);

    let body = edit("installation.created.json", |v| {
        v["action"] = "something_new".into()
    });
    assert!(matches!(
        decode("installation", &body),
        Ok(Some(Event::Installation(_)))
    ));
}

#[test]
fn empty_environment_url_is_none() {
    let Some(Event::DeploymentStatus(e)) = decode(
        "deployment_status",
        &fixture("deployment_status.created.in_progress.json"),
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(e.deployment_status.environment_url, None);
    assert!(e.deployment_status.log_url.is_some());
}

#[test]
fn comments_on_prs_and_issues_are_told_apart() {
    let Some(Event::IssueComment(pr)) = decode(
        "issue_comment",
        &fixture("issue_comment.created.pr.derived.json"),
    )
    .unwrap() else {
        panic!()
    };
    assert!(pr.issue.pull_request);
    let Some(Event::IssueComment(issue)) =
        decode("issue_comment", &fixture("issue_comment.created.json")).unwrap()
    else {
        panic!()
    };
    assert!(!issue.issue.pull_request);
}

#[test]
fn a_bad_sha_is_refused_with_its_path() {
    let body = edit("pull_request.opened.json", |v| {
        v["pull_request"]["head"]["sha"] = "HEAD; rm -rf /".into()
    });
    let err = decode("pull_request", &body).unwrap_err();
    assert!(err.reason.contains("pull_request.head.sha"), "{err}");
    assert!(err.reason.contains("40 lowercase hex"), "{err}");
}

#[test]
fn missing_required_fields_are_named() {
    let err = decode("check_suite", b"{\"action\":\"completed\"}").unwrap_err();
    assert!(err.reason.contains("check_suite"), "{err}");
}

#[test]
fn unhandled_events_decode_to_none() {
    assert_eq!(decode("push", b"{}"), Ok(None));
    assert_eq!(decode("ping", b"{}"), Ok(None));
}

#[test]
fn installation_timestamps_as_integers_are_fine() {
    for f in [
        "installation.created.json",
        "installation_repositories.added.json",
        "installation_repositories.removed.json",
    ] {
        let event = f.split('.').next().unwrap();
        assert!(matches!(decode(event, &fixture(f)), Ok(Some(_))), "{f}");
    }
}
