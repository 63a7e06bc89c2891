//! `POST /graphql`: the checks query answered from the fake's state, and GitHub's answers to
//! malformed, incomplete and hostile requests.

use std::time::Duration;

use serde_json::{Value, json};

use super::super::{PrSpec, SecondaryLimits};
use super::{REPO, call, fake, inst_client};

const QUERY: &str = "query GangwayChecks($owner: String!, $name: String!, $sha: GitObjectID!, $cursor: String) { repository(owner: $owner, name: $name) { object(oid: $sha) { ... on Commit { statusCheckRollup { state } } } } }";

fn checks(repo: &str, sha: &str, cursor: Option<&str>) -> Value {
    let (owner, name) = repo.split_once('/').unwrap();
    json!({"query": QUERY, "operationName": "GangwayChecks",
           "variables": {"owner": owner, "name": name, "sha": sha, "cursor": cursor}})
}

#[tokio::test]
async fn the_rollup_reflects_runs_and_statuses_in_githubs_shape() {
    let f = fake().await;
    let pr = f
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    let sha = pr.head_sha.as_str();
    let c = inst_client(&f);
    let r = call(&c, "POST", "/graphql", Some(checks(REPO, sha, None))).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        r.json,
        json!({"data": {"repository": {"object": {"statusCheckRollup": null}}}}),
        "no checks: a null rollup"
    );

    f.add_check_run(REPO, sha, "test", "completed", Some("failure"))
        .unwrap();
    let rerun = f
        .add_check_run(REPO, sha, "test", "completed", Some("success"))
        .unwrap();
    f.add_check_run(REPO, sha, "lint", "in_progress", None)
        .unwrap();
    // Another App's run of the same name is a context of its own, not a rerun.
    f.add_app_check_run(REPO, sha, "other-ci", "test", "completed", Some("failure"))
        .unwrap();
    f.set_status(REPO, sha, "ci/ext", "pending").await.unwrap();
    f.set_status(REPO, sha, "ci/ext", "success").await.unwrap();
    let r = call(&c, "POST", "/graphql", Some(checks(REPO, sha, None))).await;
    assert_eq!(r.status, 200, "{}", r.json);
    let rollup = &r.json["data"]["repository"]["object"]["statusCheckRollup"];
    assert_eq!(rollup["state"], "FAILURE");
    assert_eq!(rollup["contexts"]["pageInfo"]["hasNextPage"], false);
    let nodes = rollup["contexts"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 4, "latest of each App and name: {nodes:?}");
    assert_eq!(
        nodes[0],
        json!({"__typename": "CheckRun", "databaseId": rerun, "name": "test",
               "status": "COMPLETED", "conclusion": "SUCCESS",
               "checkSuite": {"app": {"slug": "github-actions"}}})
    );
    assert_eq!(nodes[1]["status"], "IN_PROGRESS");
    assert_eq!(nodes[1]["conclusion"], Value::Null);
    assert_eq!(nodes[2]["checkSuite"]["app"]["slug"], "other-ci");
    assert_eq!(nodes[2]["conclusion"], "FAILURE");
    assert_eq!(
        nodes[3],
        json!({"__typename": "StatusContext", "context": "ci/ext", "state": "SUCCESS"})
    );
    assert_eq!(
        f.count_calls("POST", "/graphql"),
        2,
        "logged like every call"
    );
}

#[tokio::test]
async fn contexts_are_paged_by_a_hundred() {
    let f = fake().await;
    let pr = f
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    let sha = pr.head_sha.as_str();
    for i in 0..150 {
        f.add_check_run(REPO, sha, &format!("job-{i}"), "completed", Some("success"))
            .unwrap();
    }
    let c = inst_client(&f);
    let r = call(&c, "POST", "/graphql", Some(checks(REPO, sha, None))).await;
    let contexts = &r.json["data"]["repository"]["object"]["statusCheckRollup"]["contexts"];
    assert_eq!(contexts["nodes"].as_array().unwrap().len(), 100);
    assert_eq!(contexts["pageInfo"]["hasNextPage"], true);
    let cursor = contexts["pageInfo"]["endCursor"].as_str().unwrap();
    let r = call(
        &c,
        "POST",
        "/graphql",
        Some(checks(REPO, sha, Some(cursor))),
    )
    .await;
    let contexts = &r.json["data"]["repository"]["object"]["statusCheckRollup"]["contexts"];
    assert_eq!(contexts["nodes"].as_array().unwrap().len(), 50);
    assert_eq!(contexts["pageInfo"]["hasNextPage"], false);
    assert_eq!(contexts["nodes"][49]["name"], "job-149");
}

#[tokio::test]
async fn unknown_repositories_and_commits_answer_like_github() {
    let f = fake().await;
    let c = inst_client(&f);
    let r = call(
        &c,
        "POST",
        "/graphql",
        Some(checks("octo/nope", &"a".repeat(40), None)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["data"]["repository"], Value::Null);
    assert_eq!(r.json["errors"][0]["type"], "NOT_FOUND");
    assert_eq!(r.json["errors"][0]["path"], json!(["repository"]));
    let r = call(
        &c,
        "POST",
        "/graphql",
        Some(checks(REPO, &"b".repeat(40), None)),
    )
    .await;
    assert_eq!(
        r.json,
        json!({"data": {"repository": {"object": null}}}),
        "an unknown commit is a null object, not an error"
    );
}

#[tokio::test]
async fn malformed_incomplete_and_hostile_requests() {
    let f = fake().await;
    let pr = f
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    let c = inst_client(&f);
    let sha = pr.head_sha.as_str();
    // GraphQL-level problems: HTTP 200 with `errors`, no `data`.
    let cases = [
        (json!({}), "query attribute"),
        (json!({"query": 5}), "query attribute"),
        (
            json!({"query": "query Other { viewer { login } }"}),
            "only the GangwayChecks",
        ),
        (json!({"query": "{ viewer { login } }"}), "anonymous"),
        (
            json!({"query": QUERY, "operationName": "Evil"}),
            "only the GangwayChecks",
        ),
        (
            json!({"query": QUERY, "operationName": "GangwayChecks"}),
            "$owner",
        ),
        (
            json!({"query": QUERY, "variables": {"owner": "octo"}}),
            "$name",
        ),
        (
            json!({"query": QUERY, "variables": {"owner": "octo", "name": "app", "sha": "../../etc"}}),
            "$sha",
        ),
        (
            json!({"query": QUERY, "variables": {"owner": "octo", "name": "app", "sha": sha, "cursor": "nope"}}),
            "valid cursor",
        ),
        (
            json!({"query": QUERY, "variables": {"owner": "octo", "name": "app", "sha": sha, "cursor": 3}}),
            "$cursor",
        ),
        (json!({"query": QUERY, "variables": [1, 2]}), "Variables"),
    ];
    for (body, says) in cases {
        let r = call(&c, "POST", "/graphql", Some(body.clone())).await;
        assert_eq!(r.status, 200, "{body}: {}", r.json);
        assert!(r.json.get("data").is_none(), "{body}: {}", r.json);
        let message = r.json["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{body}: {message}");
    }
    // Not JSON at all: 400, like every GitHub endpoint.
    let token = f.tokens()[0].token.clone();
    for bad in ["{", "[1,", "\u{0}", "\"just a string\""] {
        let resp = reqwest::Client::new()
            .post(format!("{}/graphql", f.url()))
            .header("authorization", format!("token {token}"))
            .body(bad)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{bad:?}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["message"], "Problems parsing JSON");
    }
    // No credentials: 401.
    let resp = reqwest::Client::new()
        .post(format!("{}/graphql", f.url()))
        .json(&checks(REPO, sha, None))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
}

#[tokio::test]
async fn queries_are_not_counted_as_content_creating_writes() {
    let f = fake().await;
    let pr = f
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    f.set_secondary_limits(Some(SecondaryLimits {
        writes_per_minute: 2,
        minute: Duration::from_secs(60),
        ..SecondaryLimits::default()
    }));
    let c = inst_client(&f);
    for _ in 0..10 {
        let r = call(
            &c,
            "POST",
            "/graphql",
            Some(checks(REPO, pr.head_sha.as_str(), None)),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.json);
    }
    let report = f.secondary_report();
    assert_eq!(report.refused(), 0, "{report:?}");
    assert_eq!(report.max_writes_per_minute, 0, "{report:?}");
}
