//! Deployments to long-lived environments: `production_environment`/`transient_environment` as
//! sent (GitHub's defaults otherwise), list filters, `inactive` statuses, and the inspection
//! helpers tests of promotions read.

use serde_json::{Value, json};

use super::{REPO, call, fake, inst_client};

#[tokio::test]
async fn environment_flags_are_recorded_and_returned_as_sent() {
    let f = fake().await;
    let c = inst_client(&f);
    let deployments = format!("/repos/{REPO}/deployments");
    let create = |body: Value| {
        let c = c.clone();
        let path = deployments.clone();
        async move {
            let mut body = body;
            body["ref"] = json!("main");
            body["required_contexts"] = json!([]);
            let r = call(&c, "POST", &path, Some(body)).await;
            assert_eq!(r.status, 201, "{}", r.json);
            r.json
        }
    };
    let flags = |d: &Value| {
        (
            d["environment"].as_str().map(str::to_string),
            d["production_environment"].as_bool(),
            d["transient_environment"].as_bool(),
        )
    };
    let cases = [
        (json!({}), ("production", true, false)),
        (json!({"environment": "staging"}), ("staging", false, false)),
        (
            json!({"environment": "prod-eu", "production_environment": true}),
            ("prod-eu", true, false),
        ),
        (
            json!({"environment": "production", "production_environment": false}),
            ("production", false, false),
        ),
        (
            json!({"environment": "pr-9", "transient_environment": true}),
            ("pr-9", false, true),
        ),
    ];
    for (body, (env, production, transient)) in cases {
        let want = (Some(env.to_string()), Some(production), Some(transient));
        let d = create(body.clone()).await;
        assert_eq!(flags(&d), want, "{body}");
        let id = d["id"].as_u64().expect("id");
        let again = call(&c, "GET", &format!("{deployments}/{id}"), None).await;
        assert_eq!(flags(&again.json), want, "GET {body}");
        let rec = f
            .deployments(REPO)
            .into_iter()
            .find(|d| d.id == id)
            .expect("recorded");
        assert_eq!(
            (
                rec.environment.as_str(),
                rec.production_environment,
                rec.transient_environment
            ),
            (env, production, transient)
        );
    }
    let r = call(
        &c,
        "POST",
        &deployments,
        Some(json!({"ref": "main", "production_environment": "yes"})),
    )
    .await;
    assert_eq!(r.status, 422, "not a boolean");
}

#[tokio::test]
async fn deployments_filter_by_environment_and_sha_and_keep_inactive_statuses() {
    let f = fake().await;
    let c = inst_client(&f);
    let deployments = format!("/repos/{REPO}/deployments");
    let first = f.branch_head(REPO, "main").expect("main");
    let second = f.add_commit(REPO, "main", "second").expect("commit");
    let mut ids = Vec::new();
    for (sha, env) in [
        (&first, "staging"),
        (&second, "staging"),
        (&second, "production"),
    ] {
        let body =
            json!({"ref": sha, "environment": env, "required_contexts": [], "auto_merge": false});
        let r = call(&c, "POST", &deployments, Some(body)).await;
        assert_eq!(r.status, 201, "{}", r.json);
        ids.push(r.json["id"].as_u64().expect("id"));
    }
    let listed = |query: String| {
        let c = c.clone();
        let path = format!("{deployments}?{query}");
        async move {
            let r = call(&c, "GET", &path, None).await;
            assert_eq!(r.status, 200, "{}", r.json);
            r.json
                .as_array()
                .expect("list")
                .iter()
                .filter_map(|d| d["id"].as_u64())
                .collect::<Vec<u64>>()
        }
    };
    assert_eq!(
        listed("environment=staging".into()).await,
        vec![ids[1], ids[0]],
        "newest first"
    );
    assert_eq!(
        listed(format!("environment=staging&sha={second}")).await,
        vec![ids[1]]
    );
    assert_eq!(
        listed(format!("environment=production&sha={first}")).await,
        Vec::<u64>::new()
    );
    assert_eq!(listed(format!("sha={second}")).await, vec![ids[2], ids[1]]);

    let staging: Vec<u64> = f
        .deployments_in(REPO, "staging")
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(staging, vec![ids[0], ids[1]], "newest last");
    assert!(f.deployments_in(REPO, "nowhere").is_empty());
    assert!(f.deployments_in("octo/none", "staging").is_empty());

    // Statuses, in order, `inactive` included: posted, and added by `auto_inactive`.
    let status = |id: u64, body: Value| {
        let c = c.clone();
        let path = format!("{deployments}/{id}/statuses");
        async move {
            let r = call(&c, "POST", &path, Some(body)).await;
            assert_eq!(r.status, 201, "{}", r.json);
            r.json
        }
    };
    status(ids[0], json!({"state": "success"})).await;
    status(ids[1], json!({"state": "in_progress"})).await;
    status(ids[1], json!({"state": "success"})).await;
    let states = |id: u64| -> Vec<String> {
        f.deployment_statuses(REPO, id)
            .into_iter()
            .map(|s| s.state)
            .collect()
    };
    assert_eq!(
        states(ids[0]),
        vec!["success", "inactive"],
        "auto_inactive retires the older staging deployment"
    );
    assert_eq!(states(ids[1]), vec!["in_progress", "success"]);
    let posted = status(
        ids[1],
        json!({"state": "inactive", "description": "superseded"}),
    )
    .await;
    assert_eq!(posted["state"], "inactive");
    assert_eq!(states(ids[1]), vec!["in_progress", "success", "inactive"]);
    let last = f
        .deployment_statuses(REPO, ids[1])
        .pop()
        .expect("last status");
    assert_eq!(
        (last.description.as_str(), last.environment.as_str()),
        ("superseded", "staging")
    );
    assert!(f.deployment_statuses(REPO, 999_999).is_empty());
    assert!(f.deployment_statuses("octo/none", ids[1]).is_empty());
    let r = call(
        &c,
        "GET",
        &format!("{deployments}/{}/statuses", ids[1]),
        None,
    )
    .await;
    let listed: Vec<&str> = r
        .json
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|s| s["state"].as_str())
        .collect();
    assert_eq!(listed, vec!["inactive", "success", "in_progress"]);
}
