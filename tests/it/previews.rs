//! Preview environments end to end: the fake GitHub plays users and CI, Gangway reacts, and the
//! tests look at what a user would see on GitHub (deployments, statuses, the sticky comment).

use crate::support;

use fake_github::PrSpec;
use support::world::{REPO, World, preview_host};

fn states(w: &World, sha: &str) -> Vec<String> {
    w.fake
        .deployments(REPO)
        .iter()
        .filter(|d| d.sha == sha)
        .flat_map(|d| d.statuses.iter().map(|s| s.state.clone()))
        .collect()
}

/// Opening a same-repository PR costs no check read and no comment while its CI runs; the one
/// comment comes with the live link.
#[tokio::test]
async fn no_comment_while_checks_run_then_one_with_the_live_link() {
    let w = World::start().await;
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    w.settle().await;
    assert_eq!(
        w.fake.count_calls("POST", "/graphql"),
        0,
        "checks read before any had reported"
    );
    // CI reports: a pending commit status. Gangway reads the checks, still waits, says nothing.
    w.fake
        .set_status(REPO, &pr.head_sha, "ci/lint", "pending")
        .await
        .unwrap();
    w.settle().await;
    assert_eq!(w.fake.count_calls("POST", "/graphql"), 1);
    assert!(w.fake.comments(REPO, pr.number).is_empty());
    assert!(w.fake.deployments(REPO).is_empty());

    w.fake
        .set_status(REPO, &pr.head_sha, "ci/lint", "success")
        .await
        .unwrap();
    w.green(REPO, &pr.head_sha).await;
    w.until_live("live").await;
    w.settle().await;
    let comments = w.fake.comments(REPO, pr.number);
    assert_eq!(comments.len(), 1, "{comments:?}");
    let url = format!("https://{}", preview_host(REPO, pr.number, &pr.head_sha));
    assert!(comments[0].body.contains(&url), "{}", comments[0].body);
    assert!(
        comments[0].body.contains("**Live**"),
        "{}",
        comments[0].body
    );
    assert_eq!(w.fake.deployments(REPO).len(), 1);
}

/// Checks that finished before the PR was opened are read when it opens (their check event
/// came before the PR existed).
#[tokio::test]
async fn checks_green_before_the_pr_opened_deploy_at_opening() {
    let w = World::start().await;
    let pushed = w.fake.push_branch(REPO, "early", "Work").await.unwrap();
    w.green(REPO, &pushed.after).await;
    w.settle().await;
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "early", "alice"))
        .await
        .unwrap();
    assert_eq!(pr.head_sha, pushed.after);
    w.until_live("deployed at opening").await;
}

#[tokio::test]
async fn green_same_repo_pr_gets_one_live_deployment_and_a_sticky_link() {
    let w = World::start().await;
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    assert!(pr.delivery.ok());
    let sha = pr.head_sha.clone();
    // The opening is handled: while checks run, GitHub's own checks box says it all.
    w.settle().await;
    assert!(
        w.fake.deployments(REPO).is_empty(),
        "deployed before any check ran"
    );
    assert!(
        w.fake.comments(REPO, pr.number).is_empty(),
        "a comment that only said \"waiting for checks\""
    );

    w.green(REPO, &sha).await;
    w.until_live("deployment success").await;
    w.settle().await;

    let deployments = w.fake.deployments(REPO);
    assert_eq!(deployments.len(), 1, "exactly one deployment");
    let d = &deployments[0];
    assert_eq!(
        (d.sha.as_str(), d.ref_name.as_str()),
        (sha.as_str(), sha.as_str())
    );
    assert_eq!(d.environment, format!("pr-{}", pr.number));
    assert!(d.transient_environment && !d.production_environment);
    assert_eq!(d.payload["gangway"]["pull_request"], pr.number);
    // Whichever evaluation saw the green checks first deployed: normally the one the
    // check_suite caused, but a retried evaluation of the opening (the PR's author) may win.
    let by = d.payload["gangway"]["requested_by"].as_str().unwrap_or("");
    assert!(by == "checks" || by == "alice", "requested by {by:?}");
    assert_eq!(states(&w, &sha), vec!["queued", "in_progress", "success"]);
    let host = preview_host(REPO, pr.number, &sha);
    let url = format!("https://{host}");
    let success = d.statuses.last().unwrap();
    assert_eq!(success.environment_url.as_deref(), Some(url.as_str()));
    let log_url = success.log_url.clone().unwrap();
    assert!(
        log_url.starts_with("http://gangway.test/logs/"),
        "{log_url}"
    );

    let stickies = w.stickies(REPO, pr.number);
    assert_eq!(stickies.len(), 1, "one sticky comment");
    assert!(stickies[0].body.contains(&url), "{}", stickies[0].body);
    assert!(stickies[0].body.contains("**Live**"));
    assert_eq!(
        w.driver_runs(),
        vec![format!(
            "deploy {} {sha} {host} pr-{} {}",
            pr.number, pr.number, d.id
        )]
    );

    // The log page, at the link GitHub shows.
    let path = log_url.trim_start_matches("http://gangway.test");
    let log = w.app.http.get(w.app.url(path)).send().await.unwrap();
    assert_eq!(log.status(), 200);
    let text = log.text().await.unwrap();
    assert!(text.contains(&format!("deploy of {url}")), "{text}");
}

#[tokio::test]
async fn a_failed_check_blocks_and_names_itself_then_a_rerun_deploys() {
    let w = World::start().await;
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    let sha = pr.head_sha.clone();
    w.fake
        .add_check_run(REPO, &sha, "build", "completed", Some("success"))
        .unwrap();
    w.fake
        .add_check_run(REPO, &sha, "unit-tests", "completed", Some("failure"))
        .unwrap();
    w.fake
        .complete_check_suite(REPO, &sha, "github-actions")
        .await
        .unwrap();
    w.until("sticky names the failing check", |f| {
        f.comments(REPO, pr.number)
            .iter()
            .any(|c| c.body.contains("`unit-tests` (failure)"))
    })
    .await;
    w.settle().await;
    assert!(w.fake.deployments(REPO).is_empty());

    // Re-run: the same check passes.
    w.fake
        .add_check_run(REPO, &sha, "unit-tests", "completed", Some("success"))
        .unwrap();
    w.fake
        .complete_check_suite(REPO, &sha, "github-actions")
        .await
        .unwrap();
    w.until_live("deployed after the re-run").await;
    w.settle().await;
    assert_eq!(w.fake.deployments(REPO).len(), 1);
    assert!(w.sticky_body(REPO, pr.number).contains("**Live**"));
}

#[tokio::test]
async fn a_pending_check_from_another_app_holds_the_deploy() {
    let w = World::start().await;
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    let sha = pr.head_sha.clone();
    w.fake
        .add_app_check_run(REPO, &sha, "circleci", "integration", "in_progress", None)
        .unwrap();
    w.green(REPO, &sha).await;
    w.settle().await;
    assert!(
        w.fake.deployments(REPO).is_empty(),
        "deployed while a check was still running"
    );
    // Still waiting: GitHub's checks box shows `integration` running; no comment to add.
    assert!(w.stickies(REPO, pr.number).is_empty());
    w.fake
        .add_app_check_run(
            REPO,
            &sha,
            "circleci",
            "integration",
            "completed",
            Some("success"),
        )
        .unwrap();
    w.fake
        .complete_check_suite(REPO, &sha, "circleci")
        .await
        .unwrap();
    w.until_live("deployed once integration passed").await;
}

#[tokio::test]
async fn a_new_push_replaces_the_preview_and_tears_the_old_one_down_once() {
    let w = World::start().await;
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    let first = pr.head_sha.clone();
    w.green(REPO, &first).await;
    w.until_live("first live").await;

    let pushed = w.fake.push_pr(REPO, pr.number).await.unwrap();
    let second = pushed.after.clone();
    w.settle().await;
    // Until the new commit is green and live, the old preview keeps serving.
    assert_eq!(states(&w, &first), vec!["queued", "in_progress", "success"]);
    assert!(
        w.sticky_body(REPO, pr.number)
            .contains("Previous preview still live")
    );

    w.green(REPO, &second).await;
    w.until("old inactive", |f| {
        f.deployments(REPO)
            .iter()
            .any(|d| d.sha == first && d.statuses.last().is_some_and(|s| s.state == "inactive"))
    })
    .await;
    w.settle().await;
    assert_eq!(
        states(&w, &first),
        vec!["queued", "in_progress", "success", "inactive"]
    );
    assert_eq!(
        states(&w, &second),
        vec!["queued", "in_progress", "success"]
    );
    let runs = w.driver_runs();
    assert_eq!(
        runs.iter()
            .filter(|r| r.starts_with(&format!("teardown {} {first}", pr.number)))
            .count(),
        1,
        "{runs:?}"
    );
    assert_eq!(
        runs.iter().filter(|r| r.starts_with("deploy")).count(),
        2,
        "{runs:?}"
    );
    let body = w.sticky_body(REPO, pr.number);
    assert!(
        body.contains(&format!(
            "https://{}",
            preview_host(REPO, pr.number, &second)
        )) && !body.contains("Previous preview"),
        "{body}"
    );
    assert_eq!(w.stickies(REPO, pr.number).len(), 1);
}

async fn closing(merged: bool) {
    let w = World::start().await;
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    w.green(REPO, &pr.head_sha).await;
    w.until_live("live").await;
    w.fake.close_pr(REPO, pr.number, merged).await.unwrap();
    w.until("inactive", |f| {
        f.deployments(REPO)
            .iter()
            .all(|d| d.statuses.last().is_some_and(|s| s.state == "inactive"))
    })
    .await;
    w.settle().await;
    let runs = w.driver_runs();
    assert_eq!(
        runs.iter().filter(|r| r.starts_with("teardown")).count(),
        1,
        "{runs:?}"
    );
    let body = w.sticky_body(REPO, pr.number);
    let word = if merged { "merged" } else { "closed" };
    assert!(
        body.contains("**Torn down**") && body.contains(word),
        "{body}"
    );
}

#[tokio::test]
async fn closing_without_merge_tears_everything_down() {
    closing(false).await;
}

#[tokio::test]
async fn merging_tears_everything_down() {
    closing(true).await;
}

#[tokio::test]
async fn a_late_check_suite_for_an_old_commit_changes_nothing() {
    let w = World::start().await;
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    let old = pr.head_sha.clone();
    let pushed = w.fake.push_pr(REPO, pr.number).await.unwrap();
    w.settle().await;
    // CI reports green for the commit that is no longer the head.
    w.green(REPO, &old).await;
    w.settle().await;
    assert!(
        w.fake.deployments(REPO).is_empty(),
        "an old commit was deployed"
    );
    w.green(REPO, &pushed.after).await;
    w.until("new head deployed", |f| {
        f.deployments(REPO).iter().any(|d| d.sha == pushed.after)
    })
    .await;
    w.settle().await;
    assert_eq!(w.fake.deployments(REPO).len(), 1);
}

#[tokio::test]
async fn synchronize_before_opened_and_duplicate_deliveries_end_right() {
    let w = World::start().await;
    // Deliveries are held back, then sent newest first, each twice.
    w.fake.set_webhook(None);
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    let pushed = w.fake.push_pr(REPO, pr.number).await.unwrap();
    w.fake.set_webhook(Some(fake_github::WebhookTarget::new(
        format!("http://{}/webhooks", w.app.addr),
        support::SECRET,
    )));
    for guid in [
        &pushed.delivery.guid,
        &pr.delivery.guid,
        &pushed.delivery.guid,
        &pr.delivery.guid,
    ] {
        let d = w.fake.redeliver(guid).await.unwrap();
        assert!(d.ok(), "{:?}", d.status);
    }
    w.green(REPO, &pushed.after).await;
    w.until_live("head deployed").await;
    w.settle().await;
    let deployments = w.fake.deployments(REPO);
    assert_eq!(deployments.len(), 1);
    assert_eq!(
        deployments[0].sha, pushed.after,
        "the older opened event rolled the head back"
    );
    assert_eq!(
        w.stickies(REPO, pr.number).len(),
        1,
        "duplicate sticky comment"
    );
    let (pr_row, _) = w
        .app
        .store()
        .pull(
            gangway::types::RepoId(w.repo_id),
            gangway::types::PrNumber(pr.number),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pr_row.head_sha.as_str(), pushed.after);
}

async fn failing_driver(
    tail: &str,
    extra: &[(&str, &str)],
    want_in_log: &str,
    want_in_comment: &str,
) {
    let w = World::start_with(tail, "", extra).await;
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    w.green(REPO, &pr.head_sha).await;
    w.until("failure status", |f| {
        f.deployments(REPO)
            .iter()
            .any(|d| d.statuses.last().is_some_and(|s| s.state == "failure"))
    })
    .await;
    w.settle().await;
    assert_eq!(
        states(&w, &pr.head_sha),
        vec!["queued", "in_progress", "failure"]
    );
    let d = &w.fake.deployments(REPO)[0];
    let log_url = d.statuses.last().unwrap().log_url.clone().unwrap();
    let log = w
        .app
        .http
        .get(w.app.url(log_url.trim_start_matches("http://gangway.test")))
        .send()
        .await
        .unwrap();
    assert_eq!(log.status(), 200);
    let text = log.text().await.unwrap();
    assert!(
        text.contains(want_in_log),
        "log lacks {want_in_log:?}: {}",
        &text[..text.len().min(2000)]
    );
    assert!(
        text.len() < 2 * 1024 * 1024,
        "log not capped: {} bytes",
        text.len()
    );
    let body = w.sticky_body(REPO, pr.number);
    assert!(
        body.contains("**Deploy failed**") && body.contains(want_in_comment),
        "{body}"
    );
    assert_eq!(
        w.app
            .http
            .get(w.app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn a_failing_driver_reports_failure_with_its_log() {
    failing_driver("echo boom >&2\nexit 3", &[], "boom", "exit 3").await;
}

#[tokio::test]
async fn a_driver_that_times_out_is_killed_and_reported() {
    failing_driver(
        "sleep 30",
        &[("GANGWAY_DRIVER_TIMEOUT_SECS", "1")],
        "timed out",
        "timed out",
    )
    .await;
}

#[tokio::test]
async fn a_driver_printing_10_mb_is_capped() {
    let tail = "i=0\nwhile [ $i -lt 2560 ]; do printf '%04096d\\n' $i; i=$((i+1)); done\necho last-line\nexit 1";
    failing_driver(tail, &[], "last-line", "exit 1").await;
}

fn repo_json(w: &World) -> serde_json::Value {
    serde_json::json!({"id": w.repo_id, "name": "app", "full_name": REPO, "default_branch": "main", "fork": false})
}

#[tokio::test]
async fn external_driver_follows_the_outside_deployers_statuses() {
    let w = World::start_with("", "", &[("GANGWAY_DRIVER", "external")]).await;
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    w.green(REPO, &pr.head_sha).await;
    w.until("deployment queued", |f| {
        f.deployments(REPO).iter().any(|d| !d.statuses.is_empty())
    })
    .await;
    w.settle().await;
    let d = w.fake.deployments(REPO).remove(0);
    assert_eq!(
        d.statuses
            .iter()
            .map(|s| s.state.as_str())
            .collect::<Vec<_>>(),
        vec!["queued"]
    );
    assert!(
        w.driver_runs().is_empty(),
        "the command driver ran under the external driver"
    );
    assert!(w.sticky_body(REPO, pr.number).contains("**Deploying**"));

    // A GitHub Actions workflow (say) deploys and reports success with its own URL.
    let url = "https://pr-preview.apps.example.net/feature";
    let event = serde_json::json!({
        "action": "created",
        "deployment_status": {"id": 9001, "state": "success", "environment_url": url, "description": "deployed by workflow"},
        "deployment": {"id": d.id, "sha": d.sha, "ref": d.sha, "environment": d.environment, "payload": d.payload},
        "repository": repo_json(&w),
        "installation": {"id": 1},
        "sender": {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}
    });
    assert!(w.fake.send_event("deployment_status", event).await.ok());
    w.until("sticky shows the deployer's URL", |f| {
        f.comments(REPO, pr.number)
            .iter()
            .any(|c| c.body.contains(url))
    })
    .await;
    assert!(w.sticky_body(REPO, pr.number).contains("**Live**"));
}

#[tokio::test]
async fn an_invalid_policy_deploys_nothing_and_says_why_on_the_pr() {
    let w = World::start().await;
    w.fake
        .put_file(
            REPO,
            "main",
            ".github/gangway.yml",
            "preview:\n  trigger: sometimes\n",
        )
        .unwrap();
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    w.green(REPO, &pr.head_sha).await;
    w.settle().await;
    assert!(w.fake.deployments(REPO).is_empty());
    let body = w.sticky_body(REPO, pr.number);
    assert!(
        body.contains("is invalid")
            && body.contains("preview.trigger")
            && body.contains("sometimes"),
        "{body}"
    );
}

#[tokio::test]
async fn policy_comes_from_the_default_branch_never_from_the_pr() {
    // TTL 0: every evaluation re-checks the default branch, so the change below applies at once.
    let w = World::start_with("", "", &[("GANGWAY_POLICY_TTL_SECS", "0")]).await;
    // The PR tries to switch staging to "at once"; the default branch has no policy.
    let spec = PrSpec::new(REPO, "sneaky", "mallory")
        .file(".github/gangway.yml", "preview:\n  trigger: on_open\n");
    let pr = w.fake.open_pr(spec).await.unwrap();
    w.settle().await;
    assert!(
        w.fake.deployments(REPO).is_empty(),
        "the PR's own policy file was obeyed"
    );

    // The same setting on the default branch is obeyed (for the next PR).
    w.fake
        .put_file(
            REPO,
            "main",
            ".github/gangway.yml",
            "preview:\n  trigger: on_open\n",
        )
        .unwrap();
    let other = w
        .fake
        .open_pr(PrSpec::new(REPO, "other", "alice"))
        .await
        .unwrap();
    w.until("on_open deploys without checks", |f| {
        f.deployments(REPO).iter().any(|d| d.sha == other.head_sha)
    })
    .await;
    assert_ne!(pr.head_sha, other.head_sha);
}

#[tokio::test]
async fn drafts_wait_unless_the_policy_says_otherwise() {
    let w = World::start().await;
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "wip", "alice").draft())
        .await
        .unwrap();
    w.green(REPO, &pr.head_sha).await;
    w.settle().await;
    assert!(w.fake.deployments(REPO).is_empty());
    assert!(w.sticky_body(REPO, pr.number).contains("**Draft**"));
    w.fake.ready_for_review(REPO, pr.number).await.unwrap();
    w.until("deployed once ready", |f| {
        f.deployments(REPO).iter().any(|d| d.sha == pr.head_sha)
    })
    .await;
}

/// A deployment scripted with Gangway's own App credentials but without Gangway's marker is
/// not Gangway's: it is an App's, judged as any hand-made one (tests/it/gates.rs), and under the
/// default `preview.adopt: people` it is not run, even on a head Gangway then stages itself.
#[tokio::test]
async fn a_deployment_scripted_with_the_apps_credentials_is_not_run_as_gangways() {
    let w = World::start().await;
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    w.fake
        .add_check_run(REPO, &pr.head_sha, "build", "completed", Some("success"))
        .unwrap();
    w.settle().await;
    let gh = gangway::github::GitHub::new(
        w.fake.url(),
        support::APP_ID,
        &secrecy::SecretString::from(support::KEY_PEM.to_owned()),
        gangway::metrics::Metrics::new(),
    )
    .unwrap();
    let body = serde_json::json!({"ref": pr.head_sha, "environment": format!("pr-{}", pr.number), "auto_merge": false,
                                  "required_contexts": [], "transient_environment": true, "production_environment": false});
    let created: serde_json::Value = gh
        .json(
            gangway::types::InstallationId(1),
            http::Method::POST,
            "/repos/octo/app/deployments",
            Some(&body),
        )
        .await
        .unwrap();
    let id = created["id"].as_u64().unwrap();
    w.until("the scripted deployment failed", |f| {
        f.deployments(REPO)
            .iter()
            .any(|d| d.id == id && d.statuses.last().is_some_and(|s| s.state == "failure"))
    })
    .await;
    w.settle().await;
    assert!(w.driver_runs().is_empty(), "{:?}", w.driver_runs());
    // The checks' event: Gangway stages the head with its own deployment, once.
    w.green(REPO, &pr.head_sha).await;
    w.until_live("Gangway's own preview live").await;
    w.settle().await;
    let runs = w.driver_runs();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert!(!runs[0].ends_with(&format!(" {id}")), "{runs:?}");
    assert_eq!(w.fake.deployments(REPO).len(), 2);
}

#[tokio::test]
async fn deleting_the_environment_without_permission_is_reported_and_harmless() {
    let w = World::start().await;
    w.fake
        .put_file(
            REPO,
            "main",
            ".github/gangway.yml",
            "preview:\n  delete_environment: true\n",
        )
        .unwrap();
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    w.green(REPO, &pr.head_sha).await;
    w.until_live("live").await;
    w.fake.inject(
        fake_github::Fault::status(403)
            .on("DELETE", "/repos/octo/app/environments")
            .always(),
    );
    w.fake.close_pr(REPO, pr.number, false).await.unwrap();
    w.until("every deployment inactive", |f| {
        f.deployments(REPO)
            .iter()
            .all(|d| d.statuses.last().is_some_and(|s| s.state == "inactive"))
    })
    .await;
    w.settle().await;
    assert_eq!(
        w.fake.count_calls("DELETE", "/repos/octo/app/environments"),
        1
    );
    let dead = w.dead_jobs().await;
    assert!(dead.is_empty(), "{dead:?}");
}

#[tokio::test]
async fn environment_is_deleted_on_close_when_the_policy_asks() {
    let w = World::start().await;
    w.fake
        .put_file(
            REPO,
            "main",
            ".github/gangway.yml",
            "preview:\n  delete_environment: true\n",
        )
        .unwrap();
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    w.green(REPO, &pr.head_sha).await;
    w.until_live("live").await;
    assert!(
        w.fake
            .environments(REPO)
            .iter()
            .any(|e| e.name == format!("pr-{}", pr.number))
    );
    w.fake.close_pr(REPO, pr.number, true).await.unwrap();
    w.settle().await;
    assert!(
        !w.fake
            .environments(REPO)
            .iter()
            .any(|e| e.name == format!("pr-{}", pr.number))
    );
}

#[tokio::test]
async fn fifty_prs_across_five_repositories_reach_their_right_final_state() {
    let w = World::start().await;
    let repos: Vec<String> = (0..5).map(|i| format!("octo/svc{i}")).collect();
    for r in &repos {
        w.fake.add_repo(1, r, "main").unwrap();
    }
    // Each PR: opened, green; every third gets a second push that goes green; every fifth closes.
    let lifecycles = (0..50).map(|i| {
        let (fake, repo) = (w.fake.clone(), repos[i % 5].clone());
        async move {
            let pr = fake
                .open_pr(PrSpec::new(&repo, &format!("topic-{i}"), "alice"))
                .await
                .unwrap();
            fake.add_check_run(&repo, &pr.head_sha, "build", "completed", Some("success"))
                .unwrap();
            fake.complete_check_suite(&repo, &pr.head_sha, "github-actions")
                .await
                .unwrap();
            let mut head = pr.head_sha.clone();
            if i % 3 == 0 {
                head = fake.push_pr(&repo, pr.number).await.unwrap().after;
                fake.add_check_run(&repo, &head, "build", "completed", Some("success"))
                    .unwrap();
                fake.complete_check_suite(&repo, &head, "github-actions")
                    .await
                    .unwrap();
            }
            let closed = i % 5 == 0;
            if closed {
                fake.close_pr(&repo, pr.number, i % 10 == 0).await.unwrap();
            }
            (repo, pr.number, head, closed)
        }
    });
    let outcomes = futures::future::join_all(lifecycles).await;
    w.settle().await;
    w.settle().await;

    for (repo, number, head, closed) in outcomes {
        let env = format!("pr-{number}");
        let deployments: Vec<_> = w
            .fake
            .deployments(&repo)
            .into_iter()
            .filter(|d| d.environment == env)
            .collect();
        let last = |d: &fake_github::Deployment| {
            d.statuses
                .last()
                .map(|s| s.state.clone())
                .unwrap_or_default()
        };
        if closed {
            assert!(
                deployments.iter().all(|d| last(d) == "inactive"),
                "{repo}#{number}: {:?}",
                deployments.iter().map(last).collect::<Vec<_>>()
            );
            // Closed before anything was deployed: nothing was ever worth a comment.
            if deployments.is_empty() {
                assert!(w.stickies(&repo, number).is_empty(), "{repo}#{number}");
            } else {
                assert!(
                    w.sticky_body(&repo, number).contains("**Torn down**"),
                    "{repo}#{number}"
                );
            }
        } else {
            let live: Vec<_> = deployments
                .iter()
                .filter(|d| last(d) == "success")
                .collect();
            assert_eq!(live.len(), 1, "{repo}#{number}: one live preview");
            assert_eq!(
                live[0].sha, head,
                "{repo}#{number}: the live preview is the head"
            );
            assert!(
                deployments
                    .iter()
                    .filter(|d| d.sha != head)
                    .all(|d| last(d) == "inactive"),
                "{repo}#{number}"
            );
            assert!(
                w.sticky_body(&repo, number)
                    .contains(&format!("https://{}", preview_host(&repo, number, &head)))
            );
        }
        // Never two deployments of one commit of one PR, never two sticky comments.
        let mut shas: Vec<_> = deployments.iter().map(|d| d.sha.clone()).collect();
        shas.sort();
        shas.dedup();
        assert_eq!(
            shas.len(),
            deployments.len(),
            "{repo}#{number}: duplicate deployment"
        );
        let expected = usize::from(!deployments.is_empty());
        assert_eq!(w.stickies(&repo, number).len(), expected, "{repo}#{number}");
    }
    let dead = w.dead_jobs().await;
    assert!(dead.is_empty(), "{dead:?}");
}

#[tokio::test]
async fn the_log_page_hides_gangways_secrets_and_needs_its_token() {
    // The deploy script prints the webhook secret (an operator's mistake, or a hostile script).
    let tail = format!("echo \"secret is {}\"", support::SECRET);
    let w = World::start_with(&tail, "", &[]).await;
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    w.green(REPO, &pr.head_sha).await;
    w.until_live("live").await;
    let log_url = w.fake.deployments(REPO)[0]
        .statuses
        .last()
        .unwrap()
        .log_url
        .clone()
        .unwrap();
    let path = log_url.trim_start_matches("http://gangway.test");
    let text = w
        .app
        .http
        .get(w.app.url(path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("secret is [REDACTED]"), "{text}");
    assert!(!text.contains(support::SECRET));
    // Guessing does not work: a wrong token, a malformed one, a traversal attempt.
    for bad in [
        format!("/logs/{}", "0".repeat(64)),
        "/logs/short".into(),
        "/logs/..%2F..%2Fetc%2Fpasswd".into(),
    ] {
        assert_eq!(
            w.app
                .http
                .get(w.app.url(&bad))
                .send()
                .await
                .unwrap()
                .status(),
            404,
            "{bad}"
        );
    }
}

/// The policy is cached for long (`GANGWAY_POLICY_TTL_SECS`, 600 s by default): a push to the
/// default branch that changes it is obeyed at the next evaluation, and other pushes cost no read.
#[tokio::test]
async fn a_push_that_changes_the_policy_is_obeyed_at_once_and_other_pushes_cost_no_read() {
    let w = World::start().await;
    let policy_reads = |w: &World| {
        w.fake.count_calls(
            "GET",
            &format!("/repos/{REPO}/contents/.github/gangway.yml"),
        )
    };
    w.fake
        .open_pr(PrSpec::new(REPO, "one", "alice"))
        .await
        .unwrap();
    w.settle().await;
    assert_eq!(policy_reads(&w), 1);

    // A push to the default branch that leaves the policy alone: the cache stands.
    w.fake
        .push_branch_files(REPO, "main", &[("README.md", "docs")], "Docs")
        .await
        .unwrap();
    w.settle().await;
    let two = w
        .fake
        .open_pr(PrSpec::new(REPO, "two", "alice"))
        .await
        .unwrap();
    w.settle().await;
    assert_eq!(
        policy_reads(&w),
        1,
        "a push that did not touch it re-read it"
    );
    assert!(
        w.fake.deployments(REPO).is_empty(),
        "deployed #{} before checks",
        two.number
    );

    // A push that changes it: the next evaluation reads and obeys it.
    w.fake
        .push_branch_files(
            REPO,
            "main",
            &[(".github/gangway.yml", "preview:\n  trigger: on_open\n")],
            "Stage at once",
        )
        .await
        .unwrap();
    w.settle().await;
    let three = w
        .fake
        .open_pr(PrSpec::new(REPO, "three", "alice"))
        .await
        .unwrap();
    w.until("on_open deploys without checks", |f| {
        f.deployments(REPO).iter().any(|d| d.sha == three.head_sha)
    })
    .await;
    assert_eq!(policy_reads(&w), 2);
}

/// A `pull_request` event as old as the record that says what the record says (GitHub's
/// timestamps have one-second resolution) changed nothing: no `GET /pulls/{n}`. One that says
/// something else is checked against GitHub.
#[tokio::test]
async fn a_repeated_pr_event_costs_no_read_and_a_conflicting_one_does() {
    let w = World::start().await;
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    w.settle().await;
    let reads = |w: &World| {
        w.fake
            .count_calls("GET", &format!("/repos/{REPO}/pulls/{}", pr.number))
    };
    assert_eq!(reads(&w), 0);
    let mut payload: serde_json::Value = serde_json::from_slice(&pr.delivery.body).unwrap();
    payload["action"] = "edited".into();
    let d = w.fake.send_event("pull_request", payload.clone()).await;
    assert!(d.ok(), "{:?}", d.status);
    w.settle().await;
    assert_eq!(
        reads(&w),
        0,
        "an event that repeats the record was refreshed"
    );

    // Same second, but it says draft: which came first is unknown, so GitHub is asked.
    payload["action"] = "converted_to_draft".into();
    payload["pull_request"]["draft"] = true.into();
    let d = w.fake.send_event("pull_request", payload).await;
    assert!(d.ok(), "{:?}", d.status);
    w.settle().await;
    assert_eq!(reads(&w), 1);
    let comments = w.fake.comments(REPO, pr.number);
    assert!(
        comments.is_empty(),
        "GitHub says it is not a draft: nothing to tell, but the PR has {comments:?}"
    );
}
