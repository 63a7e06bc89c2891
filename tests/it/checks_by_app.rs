//! `required_checks` and the App behind a check run, as an attacker tries it: any App (or any
//! workflow with `checks: write`) can post a check run with a required check's name. A name
//! alone counts every source of that name and needs all of them green; `app/name` counts only
//! that App's run.

use crate::support;

use fake_github::PrSpec;
use support::world::{REPO, World};

async fn with_policy(required: &str) -> World {
    let w = World::start().await;
    w.fake
        .put_file(
            REPO,
            "main",
            ".github/gangway.yml",
            &format!("preview:\n  required_checks: [{required}]\n"),
        )
        .unwrap();
    w
}

/// `github-actions`' `build` fails; then another App posts a passing `build` (a later run, so
/// "the latest result wins" would take it). Nothing deploys, and the comment names the failure.
#[tokio::test]
async fn another_apps_passing_check_never_stands_in_for_a_failing_one() {
    let w = with_policy("build").await;
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    let sha = pr.head_sha.clone();
    w.fake
        .add_check_run(REPO, &sha, "build", "completed", Some("failure"))
        .unwrap();
    w.fake
        .complete_check_suite(REPO, &sha, "github-actions")
        .await
        .unwrap();
    w.settle().await;
    w.fake
        .add_app_check_run(REPO, &sha, "evil-ci", "build", "completed", Some("success"))
        .unwrap();
    w.fake
        .complete_check_suite(REPO, &sha, "evil-ci")
        .await
        .unwrap();
    w.settle().await;
    assert!(
        w.fake.deployments(REPO).is_empty(),
        "another App's passing `build` stood in for the failing one"
    );
    assert!(w.driver_runs().is_empty(), "{:?}", w.driver_runs());
    let body = w.sticky_body(REPO, pr.number);
    assert!(
        body.contains("checks failed") && body.contains("build"),
        "{body}"
    );
}

/// `required_checks: [github-actions/build]`: another App's passing `build` counts for nothing,
/// whether the required App's run is missing or failing; only its own passing run deploys.
#[tokio::test]
async fn a_check_named_with_its_app_counts_only_that_apps_run() {
    let w = with_policy("github-actions/build").await;
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    let sha = pr.head_sha.clone();

    // Missing: only the impostor has reported.
    w.fake
        .add_app_check_run(REPO, &sha, "evil-ci", "build", "completed", Some("success"))
        .unwrap();
    w.fake
        .complete_check_suite(REPO, &sha, "evil-ci")
        .await
        .unwrap();
    w.settle().await;
    assert!(
        w.fake.deployments(REPO).is_empty(),
        "deployed on the impostor's run"
    );

    // Failing: the required App says no; the impostor says yes again, later.
    w.fake
        .add_check_run(REPO, &sha, "build", "completed", Some("failure"))
        .unwrap();
    w.fake
        .complete_check_suite(REPO, &sha, "github-actions")
        .await
        .unwrap();
    w.fake
        .add_app_check_run(REPO, &sha, "evil-ci", "build", "completed", Some("success"))
        .unwrap();
    w.fake
        .complete_check_suite(REPO, &sha, "evil-ci")
        .await
        .unwrap();
    w.settle().await;
    assert!(
        w.fake.deployments(REPO).is_empty(),
        "deployed on the impostor's run"
    );
    assert!(w.driver_runs().is_empty(), "{:?}", w.driver_runs());
    let body = w.sticky_body(REPO, pr.number);
    assert!(
        body.contains("checks failed") && body.contains("github-actions/build"),
        "{body}"
    );

    // The required App's re-run passes: now it deploys.
    w.fake
        .add_check_run(REPO, &sha, "build", "completed", Some("success"))
        .unwrap();
    w.fake
        .complete_check_suite(REPO, &sha, "github-actions")
        .await
        .unwrap();
    w.until_live("deployed on the required App's own run").await;
}
