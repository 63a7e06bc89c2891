//! Flows through the API: deployments and environments, comments and reactions, faults and
//! rate limits.

use std::time::{Duration, Instant};

use serde_json::json;

use super::super::{Fault, PrSpec, SECONDARY_RATE_LIMIT_MESSAGE};
use super::{REPO, call, fake, inst_client};

#[tokio::test]
async fn deployments_statuses_and_environments() {
    let f = fake().await;
    let pr = f
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .expect("pr");
    let c = inst_client(&f);
    let deployments = format!("/repos/{REPO}/deployments");
    let body = json!({
        "ref": "feature", "environment": "pr-1", "transient_environment": true,
        "required_contexts": [], "auto_merge": false, "payload": {"pr": 1}, "description": "Preview",
    });
    let r = call(&c, "POST", &deployments, Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.json);
    let d = r.json;
    assert_eq!(d["sha"], pr.head_sha.as_str());
    assert_eq!(
        (d["environment"].as_str(), d["task"].as_str()),
        (Some("pr-1"), Some("deploy"))
    );
    assert_eq!(
        (
            d["transient_environment"].as_bool(),
            d["production_environment"].as_bool()
        ),
        (Some(true), Some(false))
    );
    assert_eq!(d["creator"]["login"], "gangway[bot]");
    assert_eq!(d["creator"]["type"], "Bot");
    assert_eq!(d["payload"]["pr"], 1);
    let id = d["id"].as_u64().expect("id");

    let r = call(&c, "POST", &deployments, Some(json!({"ref": "nope"}))).await;
    assert_eq!(
        (r.status, r.json["message"].as_str()),
        (422, Some("No ref found for: nope"))
    );
    let r = call(&c, "POST", &deployments, Some(json!({"environment": "x"}))).await;
    assert_eq!(r.status, 422);
    let r = call(
        &c,
        "POST",
        &deployments,
        Some(json!({"ref": "main", "required_contexts": []})),
    )
    .await;
    assert_eq!(
        (r.status, r.json["production_environment"].as_bool()),
        (201, Some(true))
    );

    // Required contexts are honoured (409 while `ci` is pending).
    f.set_status(REPO, &pr.head_sha, "ci", "pending")
        .await
        .expect("status");
    let gated = json!({"ref": pr.head_sha, "auto_merge": false, "environment": "pr-1", "required_contexts": ["ci"]});
    let r = call(&c, "POST", &deployments, Some(gated.clone())).await;
    assert_eq!(r.status, 409, "{}", r.json);
    assert_eq!(r.json["errors"][0]["contexts"][0]["state"], "pending");
    f.set_status(REPO, &pr.head_sha, "ci", "success")
        .await
        .expect("status");
    assert_eq!(
        call(&c, "POST", &deployments, Some(gated)).await.status,
        201
    );

    let statuses = format!("{deployments}/{id}/statuses");
    let r = call(
        &c,
        "POST",
        &statuses,
        Some(json!({"state": "in_progress", "log_url": "https://ci/1"})),
    )
    .await;
    assert_eq!(r.status, 201);
    assert!(r.headers.contains_key("location"));
    let r = call(
        &c,
        "POST",
        &statuses,
        Some(json!({"state": "success", "environment_url": "https://pr-1.example.com"})),
    )
    .await;
    assert_eq!(
        (r.status, r.json["environment_url"].as_str()),
        (201, Some("https://pr-1.example.com"))
    );
    assert_eq!(
        call(&c, "POST", &statuses, Some(json!({"state": "bogus"})))
            .await
            .status,
        422
    );
    let r = call(&c, "GET", &statuses, None).await;
    let states: Vec<&str> = r
        .json
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|s| s["state"].as_str())
        .collect();
    assert_eq!(
        states,
        vec!["success", "in_progress"],
        "GitHub lists newest first"
    );

    let recorded = f.deployments(REPO);
    assert_eq!(recorded.len(), 3);
    let first = &recorded[0];
    let states: Vec<&str> = first.statuses.iter().map(|s| s.state.as_str()).collect();
    assert_eq!(states, vec!["in_progress", "success"]);
    assert_eq!(first.statuses[1].auto_inactive, None);
    // The later transient deployment's success leaves the earlier one alone.
    let later = recorded[2].id;
    let r = call(
        &c,
        "POST",
        &format!("{deployments}/{later}/statuses"),
        Some(json!({"state": "success"})),
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(f.deployments(REPO)[0].statuses.len(), 2);

    let r = call(&c, "GET", &format!("{deployments}?environment=pr-1"), None).await;
    assert_eq!(r.json.as_array().map(Vec::len), Some(2));

    // Environments: auto-created by deployments, PUT/GET/DELETE.
    let names: Vec<String> = f.environments(REPO).into_iter().map(|e| e.name).collect();
    assert_eq!(names, vec!["pr-1".to_string(), "production".to_string()]);
    let env = format!("/repos/{REPO}/environments/staging");
    assert_eq!(call(&c, "GET", &env, None).await.status, 404);
    let r = call(&c, "PUT", &env, Some(json!({"wait_timer": 5}))).await;
    assert_eq!((r.status, r.json["name"].as_str()), (200, Some("staging")));
    assert_eq!(r.json["protection_rules"][0]["wait_timer"], 5);
    assert_eq!(call(&c, "GET", &env, None).await.status, 200);
    let r = call(&c, "GET", &format!("/repos/{REPO}/environments"), None).await;
    assert_eq!(r.json["total_count"], 3);
    assert_eq!(call(&c, "DELETE", &env, None).await.status, 204);
    assert_eq!(call(&c, "DELETE", &env, None).await.status, 404);

    // Deleting an active deployment that is not alone in its environment is refused.
    assert_eq!(
        call(&c, "DELETE", &format!("{deployments}/{id}"), None)
            .await
            .status,
        422
    );
    let r = call(&c, "POST", &statuses, Some(json!({"state": "inactive"}))).await;
    assert_eq!(r.status, 201);
    assert_eq!(
        call(&c, "DELETE", &format!("{deployments}/{id}"), None)
            .await
            .status,
        204
    );
    assert_eq!(
        call(&c, "GET", &format!("{deployments}/{id}"), None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn comments_and_reactions() {
    let f = fake().await;
    let pr = f
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .expect("pr");
    let c = inst_client(&f);
    let comments = format!("/repos/{REPO}/issues/{}/comments", pr.number);
    let r = call(&c, "POST", &comments, Some(json!({"body": "Deploying…"}))).await;
    assert_eq!(r.status, 201);
    assert_eq!(
        (
            r.json["user"]["login"].as_str(),
            r.json["user"]["type"].as_str()
        ),
        (Some("gangway[bot]"), Some("Bot"))
    );
    assert!(
        r.json["html_url"]
            .as_str()
            .is_some_and(|u| u.contains("/pull/1#issuecomment-"))
    );
    let id = r.json["id"].as_u64().expect("id");
    let one = format!("/repos/{REPO}/issues/comments/{id}");
    let r = call(&c, "PATCH", &one, Some(json!({"body": "Deployed"}))).await;
    assert_eq!((r.status, r.json["body"].as_str()), (200, Some("Deployed")));
    assert_eq!(
        call(&c, "POST", &comments, Some(json!({}))).await.status,
        422
    );
    assert_eq!(
        call(
            &c,
            "POST",
            &format!("/repos/{REPO}/issues/99/comments"),
            Some(json!({"body": "x"}))
        )
        .await
        .status,
        404
    );

    let reactions = format!("{one}/reactions");
    assert_eq!(
        call(&c, "POST", &reactions, Some(json!({"content": "rocket"})))
            .await
            .status,
        201
    );
    assert_eq!(
        call(&c, "POST", &reactions, Some(json!({"content": "rocket"})))
            .await
            .status,
        200
    );
    assert_eq!(
        call(&c, "POST", &reactions, Some(json!({"content": "tada"})))
            .await
            .status,
        422
    );
    let r = call(&c, "GET", &one, None).await;
    assert_eq!(r.json["reactions"]["rocket"], 1);

    let listed = call(&c, "GET", &comments, None).await;
    assert_eq!(listed.json.as_array().map(Vec::len), Some(1));
    let recorded = f.comments(REPO, pr.number);
    assert_eq!(
        (recorded[0].edits(), recorded[0].history[0].as_str()),
        (1, "Deploying…")
    );
    assert_eq!(f.reactions(id).len(), 1);
    assert_eq!(call(&c, "DELETE", &one, None).await.status, 204);
    assert_eq!(call(&c, "GET", &one, None).await.status, 404);
    assert!(f.comments(REPO, pr.number).is_empty());
}

#[tokio::test]
async fn faults_answer_errors_then_recover() {
    let f = fake().await;
    let c = inst_client(&f);
    let pulls = format!("/repos/{REPO}/pulls");
    f.inject(Fault::status(503).on("GET", &pulls));
    assert_eq!(call(&c, "GET", &pulls, None).await.status, 503);
    assert_eq!(call(&c, "GET", &pulls, None).await.status, 200);

    f.inject(Fault::too_many_requests(7).path_prefix("/repos/").times(2));
    for _ in 0..2 {
        let r = call(&c, "GET", &pulls, None).await;
        assert_eq!(
            (r.status, r.headers["retry-after"].to_str().ok()),
            (429, Some("7"))
        );
        assert_eq!(r.json["message"], SECONDARY_RATE_LIMIT_MESSAGE);
    }
    f.inject(Fault::secondary_rate_limit(3).method("POST"));
    let r = call(
        &c,
        "POST",
        &format!("/repos/{REPO}/deployments"),
        Some(json!({"ref": "main"})),
    )
    .await;
    assert_eq!(
        (r.status, r.headers["retry-after"].to_str().ok()),
        (403, Some("3"))
    );
    assert!(
        r.json["message"]
            .as_str()
            .is_some_and(|m| m.contains("You have exceeded a secondary rate limit"))
    );
    assert_eq!(call(&c, "GET", &pulls, None).await.status, 200);
    let faulted = f.calls().into_iter().filter(|c| c.faulted).count();
    assert_eq!(faulted, 4);

    f.inject(Fault::latency(Duration::from_millis(300)).on("GET", &pulls));
    let started = Instant::now();
    assert_eq!(call(&c, "GET", &pulls, None).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    f.inject(Fault::status(500).always());
    assert_eq!(call(&c, "GET", &pulls, None).await.status, 500);
    assert_eq!(call(&c, "GET", &pulls, None).await.status, 500);
    f.clear_faults();
    assert_eq!(call(&c, "GET", &pulls, None).await.status, 200);

    f.set_rate_limit(3);
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(call(&c, "GET", &pulls, None).await.status);
    }
    assert_eq!(statuses, vec![200, 200, 200, 403]);
}
