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
    assert_eq!(decode("release", b"{}"), Ok(None));
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

fn push_fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/fixtures/github-webhooks-push/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn push_event(body: &[u8]) -> PushEvent {
    match decode("push", body) {
        Ok(Some(Event::Push(e))) => e,
        other => panic!("not a push event: {other:?}"),
    }
}

#[test]
fn a_branch_push_decodes_with_a_created_ref() {
    let e = push_event(&push_fixture("push.json"));
    assert_eq!(e.r#ref, "refs/heads/master");
    assert_eq!(e.branch(), Some("master"));
    assert_eq!(e.before, None, "40 zeros: the branch was created");
    assert_eq!(
        e.after.as_ref().map(CommitSha::as_str),
        Some("6113728f27ae82c7b1a177c8d03f9e96e0adf246")
    );
    assert!(e.created && !e.deleted && !e.forced);
    assert_eq!(e.head_commit.as_ref().map(|c| c.id.clone()), e.after);
    assert_eq!(
        e.head_commit.as_ref().map(|c| c.message.as_str()),
        Some("Initial commit")
    );
    assert_eq!(e.repository.default_branch.as_deref(), Some("master"));
    assert!(e.is_default_branch());
    assert_eq!(
        e.installation,
        Some(InstallationRef {
            id: InstallationId(1)
        })
    );
    assert_eq!(e.sender.login, "Codertocat");
    assert_eq!(
        Event::Push(e).summary(),
        "push Codertocat/Hello-World refs/heads/master 0000000..6113728 (created)"
    );
}

#[test]
fn a_deleted_ref_has_no_after() {
    let e = push_event(&push_fixture("push.tag_deleted.json"));
    assert_eq!(e.r#ref, "refs/tags/simple-tag");
    assert_eq!(e.branch(), None);
    assert!(e.deleted && !e.created);
    assert_eq!(e.after, None);
    assert_eq!(
        e.before.as_ref().map(CommitSha::as_str),
        Some("6113728f27ae82c7b1a177c8d03f9e96e0adf246")
    );
    assert_eq!(e.head_commit, None);
    assert!(!e.is_default_branch());

    // A deleted default branch is not a push to it.
    let body = edit_push("push.json", |v| {
        v["after"] = "0".repeat(40).into();
        v["deleted"] = true.into();
        v["created"] = false.into();
        v["head_commit"] = serde_json::Value::Null;
    });
    let e = push_event(&body);
    assert!(e.deleted && e.after.is_none() && e.before.is_none());
    assert!(!e.is_default_branch());
}

fn edit_push(name: &str, f: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(&push_fixture(name)).unwrap();
    f(&mut v);
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn push_is_lenient_about_extras_and_strict_about_shas() {
    let body = edit_push("push.json", |v| {
        v["brand_new_field"] = serde_json::json!({"nested": true});
        v["forced"] = serde_json::Value::Null;
        v.as_object_mut().unwrap().remove("created");
        v.as_object_mut().unwrap().remove("installation");
        v["repository"]["custom_properties"] = serde_json::json!({});
    });
    let e = push_event(&body);
    assert!(!e.forced && !e.created);
    assert_eq!(e.installation, None);

    let body = edit_push("push.json", |v| v["after"] = "HEAD".into());
    let err = decode("push", &body).unwrap_err();
    assert!(err.reason.contains("after"), "{err}");
    assert!(err.reason.contains("40 lowercase hex"), "{err}");

    let body = edit_push("push.json", |v| v["before"] = "0".repeat(12).into());
    assert_eq!(
        push_event(&body).before,
        None,
        "any run of zeros means none"
    );
}

/// What the fake GitHub sends for a push and a merge decodes too (the tests drive the train
/// with them).
#[tokio::test]
async fn the_fakes_pushes_decode() {
    use fake_github::{FakeConfig, FakeGitHub, PrSpec};
    let key = include_str!("../../fixtures/test-app-key.pub.pem");
    let f = FakeGitHub::start(FakeConfig::new(4242, key)).await.unwrap();
    f.add_installation(1, "octo");
    f.add_repo(1, "octo/app", "main").unwrap();
    let pushed = f.push_branch("octo/app", "main", "Ship").await.unwrap();
    let e = push_event(&pushed.delivery.body);
    assert_eq!(e.branch(), Some("main"));
    assert!(e.is_default_branch() && !e.created && !e.forced);
    assert_eq!(
        e.before.as_ref().map(CommitSha::as_str),
        Some(pushed.before.as_str())
    );
    assert_eq!(
        e.after.as_ref().map(CommitSha::as_str),
        Some(pushed.after.as_str())
    );
    assert_eq!(e.installation.map(|i| i.id), Some(InstallationId(1)));

    let created = f.push_branch("octo/app", "topic", "New").await.unwrap();
    let e = push_event(&created.delivery.body);
    assert!(e.created && e.before.is_none() && !e.is_default_branch());

    let pr = f
        .open_pr(PrSpec::new("octo/app", "fix", "alice"))
        .await
        .unwrap();
    f.close_pr("octo/app", pr.number, true).await.unwrap();
    let merged = f.deliveries_of("push").pop().unwrap();
    let e = push_event(&merged.body);
    assert!(e.is_default_branch());
    assert_eq!(
        e.head_commit.map(|c| c.id.as_str().to_string()),
        f.branch_head("octo/app", "main")
    );
    f.shutdown().await;
}

fn push_with(f: impl FnOnce(&mut serde_json::Value)) -> PushEvent {
    push_event(&edit_push("push.json", |v| {
        v["created"] = false.into();
        v["forced"] = false.into();
        v["before"] = "1".repeat(40).into();
        v["commits"] = serde_json::json!([
            {"id": "6113728f27ae82c7b1a177c8d03f9e96e0adf246", "added": ["src/new.rs"],
             "modified": ["README.md"], "removed": []}
        ]);
        f(v);
    }))
}

#[test]
fn a_push_tells_which_files_it_may_have_changed() {
    const P: &str = ".github/gangway.yml";
    assert!(!push_with(|_| {}).may_touch(P), "README and src only");
    for list in ["added", "modified", "removed"] {
        let e = push_with(|v| v["commits"][0][list] = serde_json::json!([P]));
        assert!(e.may_touch(P), "{list}");
    }
    // A second commit touching it counts too.
    let e = push_with(|v| {
        v["commits"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"added": [], "modified": [P], "removed": []}))
    });
    assert!(e.may_touch(P));
    // A similar path is not the file.
    let e = push_with(|v| {
        v["commits"][0]["modified"] =
            serde_json::json!([".github/gangway.yml.bak", "x/.github/gangway.yml"])
    });
    assert!(!e.may_touch(P));
}

#[test]
fn a_push_whose_list_cannot_tell_may_have_changed_anything() {
    const P: &str = ".github/gangway.yml";
    type Edit = Box<dyn FnOnce(&mut serde_json::Value)>;
    let cases: Vec<(&str, Edit)> = vec![
        ("forced", Box::new(|v| v["forced"] = true.into())),
        ("created", Box::new(|v| v["created"] = true.into())),
        (
            "no commits field",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("commits");
            }),
        ),
        (
            "null commits",
            Box::new(|v| v["commits"] = serde_json::Value::Null),
        ),
        (
            "commits not a list",
            Box::new(|v| v["commits"] = "rm -rf /".into()),
        ),
        (
            "a commit not an object",
            Box::new(|v| v["commits"] = serde_json::json!([7])),
        ),
        (
            "missing file lists",
            Box::new(|v| v["commits"] = serde_json::json!([{"id": "x"}])),
        ),
        (
            "null file list",
            Box::new(|v| v["commits"][0]["removed"] = serde_json::Value::Null),
        ),
        (
            "file list of numbers",
            Box::new(|v| v["commits"][0]["added"] = serde_json::json!([1, 2])),
        ),
        (
            "file list not a list",
            Box::new(|v| v["commits"][0]["modified"] = serde_json::json!({"a": 1})),
        ),
        (
            "cut at 20 commits",
            Box::new(|v| {
                v["commits"] = serde_json::Value::Array(
                    (0..20)
                        .map(|_| serde_json::json!({"added": [], "modified": ["a"], "removed": []}))
                        .collect(),
                )
            }),
        ),
        (
            "tip moved with no commit listed",
            Box::new(|v| v["commits"] = serde_json::json!([])),
        ),
    ];
    for (what, edit) in cases {
        let e = push_with(edit);
        assert!(e.may_touch(P), "{what}");
        assert!(
            e.is_default_branch(),
            "{what}: still decodes as a push to the default branch"
        );
    }
}

fn envelope(v: serde_json::Value) -> Envelope {
    serde_json::from_value(v).expect("an envelope")
}

#[test]
fn the_apps_own_deployments_statuses_and_comments_are_recognised_as_echoes() {
    let app = serde_json::json!({ "id": 77, "slug": "gangway" });
    let other = serde_json::json!({ "id": 78, "slug": "someone-else" });
    let status = |via: serde_json::Value| {
        envelope(serde_json::json!({
            "action": "created",
            "deployment_status": { "state": "success", "performed_via_github_app": via },
            "deployment": { "id": 1, "performed_via_github_app": null },
        }))
    };
    assert!(status(app.clone()).echoes_app("deployment_status", 77));
    assert!(!status(other.clone()).echoes_app("deployment_status", 77));
    assert!(!status(serde_json::Value::Null).echoes_app("deployment_status", 77));
    // The status is what counts for a status event, not who created its deployment.
    let by_person_on_ours = envelope(serde_json::json!({
        "deployment_status": { "performed_via_github_app": null },
        "deployment": { "performed_via_github_app": app.clone() },
    }));
    assert!(!by_person_on_ours.echoes_app("deployment_status", 77));
    assert!(
        !by_person_on_ours.echoes_app("deployment", 77),
        "a deployment without Gangway's marker is someone's, whatever credentials made it"
    );
    let our_deployment = envelope(serde_json::json!({
        "deployment": { "payload": { "gangway": { "preview_id": 1 } }, "performed_via_github_app": app.clone() },
    }));
    assert!(our_deployment.echoes_app("deployment", 77));
    assert!(!our_deployment.echoes_app("deployment", 78));
    let comment = envelope(serde_json::json!({
        "action": "created",
        "issue": { "number": 3 },
        "comment": { "body": "/stage", "performed_via_github_app": app },
    }));
    assert!(comment.echoes_app("issue_comment", 77));
    assert!(!comment.echoes_app("issue_comment", 78));
    assert!(
        !comment.echoes_app("pull_request", 77),
        "only those three events"
    );
}

#[test]
fn odd_shapes_where_echoes_are_looked_for_never_refuse_a_delivery() {
    for odd in [
        serde_json::json!("a string"),
        serde_json::json!(42),
        serde_json::json!([1, 2]),
        serde_json::json!({ "performed_via_github_app": "gangway" }),
        serde_json::json!({ "performed_via_github_app": { "id": "77" } }),
        serde_json::json!({ "performed_via_github_app": { "id": -1 } }),
    ] {
        let e = envelope(serde_json::json!({
            "repository": { "id": 5 },
            "comment": odd.clone(),
            "deployment": odd.clone(),
            "deployment_status": odd,
        }));
        assert_eq!(e.repository.as_ref().map(|r| r.id), Some(5));
        for event in ["issue_comment", "deployment", "deployment_status"] {
            assert!(!e.echoes_app(event, 77));
        }
    }
}
