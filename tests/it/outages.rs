//! Bad days: GitHub's secondary rate limit on one job pauses every call of its installation,
//! and a database that stops taking writes (a full disk, an I/O error, a revoked privilege) is
//! answered 503, never 202, and recovered from by itself once the cause is gone.

use crate::support;

use std::time::Duration;

use chrono::Utc;
use fake_github::{Fault, PrSpec};
use support::world::{REPO, World};

/// A secondary rate limit answered to one job's call (403 with `Retry-After`) while other jobs
/// of the same installation are due: no call of that installation reaches GitHub until the
/// `Retry-After` has passed; then every PR is deployed, once.
#[tokio::test]
async fn a_secondary_rate_limit_pauses_every_call_of_the_installation() {
    let w = World::start().await;
    let mut prs = Vec::new();
    for n in 0..4 {
        let pr = w
            .fake
            .open_pr(PrSpec::new(REPO, &format!("feature-{n}"), "alice"))
            .await
            .unwrap();
        prs.push(pr);
    }
    w.settle().await;
    const RETRY_AFTER: u64 = 2;
    w.fake
        .inject(Fault::secondary_rate_limit(RETRY_AFTER).on("POST", "/repos/octo/app/deployments"));
    // The first PR's deployment create is refused with a secondary limit ...
    w.green(REPO, &prs[0].head_sha).await;
    let refused = support::wait_for("the refused call", Duration::from_secs(30), || async {
        w.fake.calls().into_iter().find(|c| c.faulted)
    })
    .await;
    // ... and the other PRs' evaluations become due within its Retry-After: their webhooks
    // are still acknowledged (`green` asserts it), their calls wait.
    let from = Utc::now();
    for pr in &prs[1..] {
        w.green(REPO, &pr.head_sha).await;
    }
    w.until("every PR live", |f| {
        let live = f
            .deployments(REPO)
            .iter()
            .filter(|d| d.statuses.last().is_some_and(|s| s.state == "success"))
            .count();
        live == prs.len()
    })
    .await;
    w.settle().await;
    // Gangway reads the refusal a moment after it left the fake.
    let until = refused.answered + chrono::Duration::seconds(RETRY_AFTER as i64)
        - chrono::Duration::milliseconds(50);
    assert!(from < until, "the other PRs were greened within the window");
    let within: Vec<String> = w
        .fake
        .calls()
        .iter()
        .filter(|c| c.installation == Some(1) || c.path.starts_with("/app/installations/1/"))
        .filter(|c| c.at > from && c.at < until)
        .map(|c| {
            format!(
                "{} {} at +{} ms",
                c.method,
                c.path,
                (c.at - refused.answered).num_milliseconds()
            )
        })
        .collect();
    assert!(
        within.is_empty(),
        "calls of the paused installation reached GitHub within Retry-After: {within:?}"
    );
    assert!(Utc::now() > until, "the test waited past the window");
    // One deployment per PR: the refused create was not repeated twice.
    assert_eq!(w.fake.deployments(REPO).len(), prs.len());
    let metrics = w
        .app
        .http
        .get(w.app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("gangway_github_secondary_limit_pauses_total 1"),
        "{metrics}"
    );
}
