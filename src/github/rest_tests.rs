use serde_json::json;

use super::*;

fn pull_json(head_repo: &str, draft: &str) -> String {
    let sha = "a".repeat(40);
    format!(
        r#"{{"number": 7, "state": "open", "draft": {draft}, "merged": null,
            "head": {{"ref": "feature", "sha": "{sha}", "repo": {head_repo}}},
            "base": {{"ref": "main", "sha": "{sha}", "repo": {{"id": 5}}}},
            "user": {{"login": "ann", "type": "User"}},
            "updated_at": "2026-12-03T10:00:00Z"}}"#
    )
}

#[test]
fn a_pull_request_answer_decodes_with_nulls_read_as_absent() {
    let pull: Pull = serde_json::from_str(&pull_json(r#"{"id": 5}"#, "true")).unwrap();
    assert_eq!(
        (pull.number, pull.state.as_str(), pull.draft, pull.merged),
        (PrNumber(7), "open", Some(true), None)
    );
    assert_eq!(
        (pull.head.ref_name.as_str(), pull.head.repo, pull.base.repo),
        (
            "feature",
            Some(PullRepo { id: RepoId(5) }),
            Some(PullRepo { id: RepoId(5) })
        )
    );
    assert_eq!(
        (pull.user.login.as_str(), pull.updated_at.as_deref()),
        ("ann", Some("2026-12-03T10:00:00Z"))
    );
    // A deleted fork's head has `repo: null`.
    let gone: Pull = serde_json::from_str(&pull_json("null", "null")).unwrap();
    assert_eq!((gone.head.repo, gone.draft), (None, None));
    // A head sha that is not one is an answer we cannot use.
    let bad = pull_json("null", "null").replace(&"a".repeat(40), "nope");
    assert!(serde_json::from_str::<Pull>(&bad).is_err());
}

#[test]
fn a_file_is_decoded_from_githubs_wrapped_base64() {
    let answer: ContentsAnswer = serde_json::from_value(json!({
        "sha": "blob1", "encoding": "base64", "content": "cHJl\ndmlldzog\ndHJ1ZQo=\n"
    }))
    .unwrap();
    assert_eq!(
        answer.file("GET x").unwrap(),
        File {
            sha: "blob1".into(),
            content: FileContent::Inline(b"preview: true\n".to_vec()),
        }
    );
}

#[test]
fn a_file_over_a_megabyte_is_said_to_be_too_large_and_bad_base64_is_a_decode_error() {
    let large: ContentsAnswer = serde_json::from_value(json!({
        "sha": "blob2", "encoding": "none", "content": ""
    }))
    .unwrap();
    assert_eq!(large.file("GET x").unwrap().content, FileContent::TooLarge);
    let broken: ContentsAnswer =
        serde_json::from_value(json!({ "sha": "blob3", "encoding": "base64", "content": "%%%" }))
            .unwrap();
    assert!(matches!(
        broken.file("GET x"),
        Err(GitHubError::Decode { what, .. }) if what == "GET x"
    ));
}

#[test]
fn a_new_deployment_is_sent_as_the_same_text_as_a_json_map_of_its_fields() {
    let payload = json!({ "gangway": { "preview_id": 3, "sha": "abc" } });
    let typed = NewDeployment {
        auto_merge: false,
        description: "Preview of #7 at abc".into(),
        environment: "pr-7".into(),
        payload: payload.clone(),
        production_environment: false,
        ref_: "abc".into(),
        required_contexts: Vec::new(),
        task: "deploy".into(),
        transient_environment: true,
    };
    let map = json!({
        "ref": "abc",
        "task": "deploy",
        "auto_merge": false,
        "required_contexts": [],
        "environment": "pr-7",
        "transient_environment": true,
        "production_environment": false,
        "description": "Preview of #7 at abc",
        "payload": payload,
    });
    assert_eq!(
        serde_json::to_string(&typed).unwrap(),
        serde_json::to_string(&map).unwrap()
    );
}

#[test]
fn a_deployment_status_sends_only_the_urls_it_has() {
    let mut status = NewDeploymentStatus {
        auto_inactive: false,
        description: "Deployed".into(),
        environment_url: Some("https://pr-7.example".into()),
        log_url: Some("https://gangway.example/logs/t".into()),
        state: "success".into(),
    };
    assert_eq!(
        serde_json::to_string(&status).unwrap(),
        serde_json::to_string(&json!({
            "state": "success",
            "log_url": "https://gangway.example/logs/t",
            "description": "Deployed",
            "auto_inactive": false,
            "environment_url": "https://pr-7.example",
        }))
        .unwrap()
    );
    status.environment_url = None;
    status.log_url = None;
    assert_eq!(
        serde_json::to_value(&status).unwrap(),
        json!({ "state": "success", "description": "Deployed", "auto_inactive": false })
    );
}

#[test]
fn a_comment_names_the_app_that_posted_it_if_any() {
    let by_app: IssueComment = serde_json::from_value(json!({
        "id": 1, "body": "hi", "user": { "login": "gangway[bot]", "type": "Bot" },
        "performed_via_github_app": { "id": 42, "slug": "gangway" }
    }))
    .unwrap();
    assert_eq!(by_app.performed_via_github_app, Some(AppRef { id: 42 }));
    let by_person: IssueComment = serde_json::from_value(json!({
        "id": 2, "body": "hi", "user": { "login": "ann", "type": "User" },
        "performed_via_github_app": null
    }))
    .unwrap();
    assert_eq!(by_person.performed_via_github_app, None);
}
