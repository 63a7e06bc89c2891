//! Timers keep GitHub and reality in step: the reaper, the reconciler, capacity, lost access and
//! rate-limit budgets, on a clock the tests move (nothing sleeps for a real TTL).

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use fake_github::{PrSpec, Role};
use gangway::clock::{Clock, ManualClock};
use support::world::{REPO, World};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

/// Timer loops tick once at start, then only when the test says so.
const QUIET: &[(&str, &str)] = &[("GANGWAY_TIMER_TICK_MS", "3600000")];

async fn clocked(
    deploy_tail: &str,
    teardown_tail: &str,
    extra: &[(&str, &str)],
) -> (World, ManualClock) {
    let clock = ManualClock::new(chrono::Utc::now().timestamp_millis());
    let mut settings = QUIET.to_vec();
    settings.extend_from_slice(extra);
    let w = World::start_clocked(
        deploy_tail,
        teardown_tail,
        &settings,
        Arc::new(clock.clone()),
    )
    .await;
    (w, clock)
}

fn last_state(w: &World, sha: &str) -> Option<String> {
    w.fake
        .deployments(REPO)
        .iter()
        .find(|d| d.sha == sha)
        .and_then(|d| d.statuses.last().map(|s| s.state.clone()))
}

fn live_in(f: &fake_github::FakeGitHub, sha: &str) -> bool {
    f.deployments(REPO)
        .iter()
        .any(|d| d.sha == sha && d.statuses.last().is_some_and(|s| s.state == "success"))
}

fn inactive_in(f: &fake_github::FakeGitHub, sha: &str) -> bool {
    f.deployments(REPO)
        .iter()
        .any(|d| d.sha == sha && d.statuses.last().is_some_and(|s| s.state == "inactive"))
}

async fn live_pr(w: &World, branch: &str) -> (u64, String) {
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, branch, "alice"))
        .await
        .unwrap();
    w.green(REPO, &pr.head_sha).await;
    let sha = pr.head_sha.clone();
    w.until("live", |f| live_in(f, &sha)).await;
    (pr.number, pr.head_sha)
}

#[tokio::test]
async fn the_reaper_finishes_a_closed_prs_teardown_that_failed_before() {
    // Teardowns fail while the flag file exists (with one attempt allowed, their jobs die).
    let flag = tempfile::NamedTempFile::new().unwrap();
    let fail_once = format!("if [ -e {p} ]; then exit 1; fi", p = flag.path().display());
    let (w, clock) = clocked("", &fail_once, &[("GANGWAY_JOB_MAX_ATTEMPTS", "1")]).await;
    let (n, sha) = live_pr(&w, "feature").await;
    // Everything the deploy set off (its status webhooks, the sticky's edit) is done first, so
    // that the close is the one evaluation that tries the teardown.
    w.settle().await;
    w.allow_dead(gangway::jobs::JobKind::Evaluate);
    w.fake.close_pr(REPO, n, false).await.unwrap();
    w.settle().await;
    // The close's evaluation died on the teardown (on PostgreSQL a second evaluation of the
    // same PR, queued while the first ran, may die the same way: both are that teardown).
    let dead = w.dead_jobs().await;
    assert!(!dead.is_empty(), "the teardown should have failed");
    for job in &dead {
        assert_eq!(job.kind(), Ok(gangway::jobs::JobKind::Evaluate), "{dead:?}");
        assert!(
            job.last_error
                .as_deref()
                .unwrap_or("")
                .contains("teardown of"),
            "{dead:?}"
        );
    }
    assert_eq!(
        last_state(&w, &sha).as_deref(),
        Some("success"),
        "teardown should have failed"
    );
    std::fs::remove_file(flag.path()).unwrap();
    clock.advance_ms(5 * MIN + 1);
    assert!(w.ticked("reaper").await);
    w.until("reaped", |f| inactive_in(f, &sha)).await;
    assert!(
        w.driver_runs()
            .iter()
            .filter(|r| r.starts_with("teardown"))
            .count()
            >= 2
    );
}

#[tokio::test]
async fn a_superseded_preview_goes_after_its_grace_period() {
    let (w, clock) = clocked("", "", &[]).await;
    let (n, old) = live_pr(&w, "feature").await;
    let pushed = w.fake.push_pr(REPO, n).await.unwrap();
    // The new head's checks never finish.
    w.fake
        .add_check_run(REPO, &pushed.after, "stuck", "in_progress", None)
        .unwrap();
    w.settle().await;
    clock.advance_ms(30 * MIN);
    w.tick().await;
    w.settle().await;
    assert_eq!(
        last_state(&w, &old).as_deref(),
        Some("success"),
        "old preview went before the grace period"
    );
    clock.advance_ms(31 * MIN);
    w.tick().await;
    w.until("old preview torn down", |f| inactive_in(f, &old))
        .await;
}

#[tokio::test]
async fn an_idle_preview_expires_after_the_ttl_says_so_beforehand_and_returns_on_stage() {
    let (w, clock) = clocked("", "", &[]).await;
    w.fake.set_permission(REPO, "maria", Role::Write).unwrap();
    let (n, sha) = live_pr(&w, "feature").await;
    w.settle().await;
    let body = w.sticky_body(REPO, n);
    assert!(body.contains("goes away at"), "{body}");

    clock.advance_ms(71 * HOUR);
    w.tick().await;
    w.settle().await;
    assert!(live_in(&w.fake, &sha), "expired early");

    clock.advance_ms(2 * HOUR);
    w.tick().await;
    w.until("expired", |f| inactive_in(f, &sha)).await;
    w.settle().await;
    let body = w.sticky_body(REPO, n);
    assert!(
        body.contains("idle for more than 72 h") && body.contains("**/stage** brings it back"),
        "{body}"
    );
    // Checks going green again do not bring it back; a maintainer's /stage does.
    w.green(REPO, &sha).await;
    w.settle().await;
    assert!(inactive_in(&w.fake, &sha));
    w.fake.comment(REPO, n, "maria", "/stage").await.unwrap();
    w.until("back", |f| live_in(f, &sha)).await;
}

#[tokio::test]
async fn an_eleventh_preview_evicts_the_least_recently_deployed_with_an_explanation() {
    let (w, clock) = clocked("", "", &[]).await;
    let mut prs = Vec::new();
    for i in 0..11 {
        prs.push(live_pr(&w, &format!("topic-{i}")).await);
        clock.advance_ms(MIN);
    }
    w.settle().await;
    clock.advance_ms(5 * MIN);
    w.tick().await;
    let (first, first_sha) = prs[0].clone();
    w.until("first evicted", |f| inactive_in(f, &first_sha))
        .await;
    w.settle().await;
    let explained = w
        .fake
        .comments(REPO, first)
        .iter()
        .any(|c| c.body.contains("more than 10 previews") && c.body.contains("**/stage**"));
    assert!(explained, "the evicted PR was not told why");
    for (n, sha) in &prs[1..] {
        assert!(live_in(&w.fake, sha), "#{n} should still be live");
    }
}

#[tokio::test]
async fn removing_the_repository_tears_its_previews_down_with_the_driver_only() {
    let (w, _clock) = clocked("", "", &[]).await;
    let (_, sha) = live_pr(&w, "feature").await;
    w.settle().await;
    let calls_before = w.fake.count_calls("POST", "/repos/octo/app/deployments");
    let event = serde_json::json!({
        "action": "removed",
        "installation": {"id": 1, "account": {"login": "octo", "id": 1, "type": "Organization"}},
        "repository_selection": "selected",
        "repositories_added": [],
        "repositories_removed": [{"id": w.repo_id, "full_name": REPO, "name": "app"}],
        "sender": {"login": "octo-admin", "id": 9, "type": "User"}
    });
    assert!(
        w.fake
            .send_event("installation_repositories", event)
            .await
            .ok()
    );
    w.settle().await;
    let runs = w.driver_runs();
    assert!(
        runs.iter()
            .any(|r| r.starts_with("teardown") && r.contains(&sha)),
        "{runs:?}"
    );
    assert_eq!(
        w.fake.count_calls("POST", "/repos/octo/app/deployments"),
        calls_before,
        "GitHub was called for a repository Gangway left"
    );
    assert_eq!(last_state(&w, &sha).as_deref(), Some("success"));
}

#[tokio::test]
async fn after_downtime_the_reconciler_tears_down_the_closed_and_restages_the_pushed() {
    let (w, _clock) = clocked("", "", &[]).await;
    let (a, a_sha) = live_pr(&w, "a").await;
    let (b, b_sha) = live_pr(&w, "b").await;
    let (c, c_sha) = live_pr(&w, "c").await;
    w.settle().await;
    let (w, db) = w.stop_gangway().await;
    // While Gangway is down: A is closed, B gets a green push; C is untouched.
    w.fake.close_pr(REPO, a, false).await.unwrap();
    let pushed = w.fake.push_pr(REPO, b).await.unwrap();
    w.fake
        .add_check_run(REPO, &pushed.after, "build", "completed", Some("success"))
        .unwrap();
    let deployments_before = w.fake.deployments(REPO).len();
    let w = w.restart_gangway(db).await;
    w.until("A torn down, B restaged", |f| {
        inactive_in(f, &a_sha) && live_in(f, &pushed.after) && inactive_in(f, &b_sha)
    })
    .await;
    w.settle().await;
    assert!(live_in(&w.fake, &c_sha), "C changed");
    assert_eq!(
        w.fake.deployments(REPO).len(),
        deployments_before + 1,
        "only B's new head was deployed"
    );
    let c_states: Vec<String> = w
        .fake
        .deployments(REPO)
        .iter()
        .filter(|d| d.sha == c_sha)
        .flat_map(|d| d.statuses.iter().map(|s| s.state.clone()))
        .collect();
    assert_eq!(c_states, vec!["queued", "in_progress", "success"]);
    let _ = c;
}

/// The first queued job that waits for a rate-limit budget (`deferred: …`).
async fn deferred_job(w: &World, what: &str) -> gangway::jobs::JobRecord {
    let queue = w.app.running.as_ref().unwrap().queue().clone();
    support::wait_for(what, Duration::from_secs(20), || {
        let queue = queue.clone();
        async move {
            let jobs = queue
                .jobs(Some(gangway::jobs::JobState::Queued))
                .await
                .ok()?;
            jobs.into_iter().find(|j| {
                j.last_error
                    .as_deref()
                    .is_some_and(|e| e.starts_with("deferred:"))
            })
        }
    })
    .await
}

#[tokio::test]
async fn a_low_rate_limit_budget_defers_timer_work_but_not_commands() {
    // A short policy TTL, so that the reaper's evaluation five minutes on makes a call (the
    // policy read) that meets the spent budget.
    let (w, clock) = clocked("", "", &[("GANGWAY_POLICY_TTL_SECS", "60")]).await;
    w.fake.set_permission(REPO, "maria", Role::Write).unwrap();
    let (n, _) = live_pr(&w, "feature").await;
    w.settle().await;
    // GitHub reports the installation's budget nearly spent (400 of 5,000 left until the reset an
    // hour on), on every answer from now on: a healthy answer to another job's call does not
    // refill it, as on GitHub.
    w.fake.spend_rate_limit(1, 400);
    // Counted before the sweep: its evaluation may make its call before `tick` returns.
    let start = w.fake.calls().len();
    clock.advance_ms(5 * MIN + 1);
    w.tick().await;
    // The reaper's evaluation reads the low budget off an answer (and records it).
    w.until("a call answered with the low budget", |f| {
        f.calls().len() > start
    })
    .await;
    clock.advance_ms(5 * MIN + 1);
    w.tick().await;
    let deferred = deferred_job(&w, "a deferred timer job").await;
    assert!(
        deferred
            .last_error
            .unwrap()
            .contains("background work waits")
    );
    // A maintainer's command still goes through at once.
    let pr2 = w
        .fake
        .open_pr(PrSpec::new(REPO, "other", "bob"))
        .await
        .unwrap();
    w.fake
        .comment(REPO, pr2.number, "maria", "/stage")
        .await
        .unwrap();
    let sha = pr2.head_sha.clone();
    w.until("command deployed", |f| live_in(f, &sha)).await;
    let _ = (n, clock.now_ms());
}

#[tokio::test]
async fn a_low_graphql_budget_defers_background_evaluations_by_its_own_numbers() {
    let (w, clock) = clocked("", "", &[("GANGWAY_POLICY_TTL_SECS", "60")]).await;
    w.fake.set_permission(REPO, "maria", Role::Write).unwrap();
    // GitHub keeps GraphQL's budget apart from REST's: GraphQL's is nearly spent, while REST
    // has plenty.
    w.fake.spend_graphql_rate_limit(1, 200);
    let graphql_calls =
        |f: &fake_github::FakeGitHub| f.calls().iter().filter(|c| c.path == "/graphql").count();
    // The PR's checks are read (GraphQL) when they go green: Gangway learns the budget.
    // Not `settle`: background work that meets the low budget waits for its reset, an hour on,
    // so Gangway is not idle before then.
    let (n, _) = live_pr(&w, "feature").await;
    assert!(graphql_calls(&w.fake) > 0);
    // The reaper's evaluation of the PR, five minutes on, meets the low GraphQL budget. (Its
    // first one may be folded into the PR's own evaluation still queued after the deploy; a
    // later sweep's is not.)
    let queue = w.app.running.as_ref().unwrap().queue().clone();
    let mut deferred = None;
    for _ in 0..5 {
        clock.advance_ms(5 * MIN + 1);
        w.tick().await;
        let until = std::time::Instant::now() + Duration::from_secs(4);
        while deferred.is_none() && std::time::Instant::now() < until {
            let jobs = queue
                .jobs(Some(gangway::jobs::JobState::Queued))
                .await
                .unwrap();
            deferred = jobs.into_iter().find(|j| {
                j.last_error
                    .as_deref()
                    .is_some_and(|e| e.starts_with("deferred:"))
            });
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if deferred.is_some() {
            break;
        }
    }
    let deferred = deferred.expect("a background evaluation deferred by the GraphQL budget");
    let reason = deferred.last_error.unwrap_or_default();
    assert!(
        reason.contains("of 5000 GitHub GraphQL requests left until the reset"),
        "{reason}"
    );
    // No background checks query was sent while the budget was low…
    let during = graphql_calls(&w.fake);
    // …and a maintainer's command still goes through at once (it may spend the reserve).
    let pr2 = w
        .fake
        .open_pr(PrSpec::new(REPO, "other", "bob"))
        .await
        .unwrap();
    w.say(pr2.number, "maria", "/stage").await;
    let sha = pr2.head_sha.clone();
    w.until("command deployed", |f| live_in(f, &sha)).await;
    assert!(graphql_calls(&w.fake) >= during);
    let _ = n;
}

#[tokio::test]
async fn deployments_gangway_made_but_does_not_know_are_marked_inactive() {
    let (w, clock) = clocked("", "", &[]).await;
    let gh = gangway::github::GitHub::new(
        w.fake.url(),
        support::APP_ID,
        &secrecy::SecretString::from(support::KEY_PEM.to_owned()),
        gangway::metrics::Metrics::new(),
    )
    .unwrap();
    // A deployment carrying Gangway's marker for a preview this database never had (say, it was
    // restored from an old backup).
    let main = w.fake.branch_head(REPO, "main").unwrap();
    let body = serde_json::json!({"ref": main, "environment": "pr-99", "auto_merge": false, "required_contexts": [],
                                  "payload": {"gangway": {"preview_id": 424242}}});
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
    let status =
        serde_json::json!({"state": "success", "environment_url": "https://old.example.org"});
    gh.request(
        gangway::types::InstallationId(1),
        http::Method::POST,
        &format!("/repos/octo/app/deployments/{id}/statuses"),
        Some(&status),
    )
    .await
    .unwrap();
    w.settle().await;
    assert_eq!(
        last_state(&w, &main).as_deref(),
        Some("success"),
        "a fresh one is left alone"
    );
    clock.advance_ms(11 * MIN);
    assert!(w.ticked("reconciler").await);
    w.until("orphan retired", |f| inactive_in(f, &main)).await;
}

#[tokio::test]
async fn failed_deliveries_are_redelivered_when_enabled() {
    let (w, clock) = clocked("", "", &[("GANGWAY_REDELIVER_FAILED", "true")]).await;
    let store = w.app.store().clone();
    support::wait_for("first redeliverer run", Duration::from_secs(20), || {
        let store = store.clone();
        async move { (store.timer_last_run("redeliverer").await.ok()? > 0).then_some(()) }
    })
    .await;
    w.settle().await;
    // GitHub cannot reach Gangway for a moment: the PR's delivery fails.
    let target = format!("http://{}/webhooks", w.app.addr);
    w.fake.set_webhook(Some(fake_github::WebhookTarget::new(
        "http://127.0.0.1:9/webhooks",
        support::SECRET,
    )));
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    assert!(!pr.delivery.ok());
    w.fake.set_webhook(Some(fake_github::WebhookTarget::new(
        &target,
        support::SECRET,
    )));
    clock.advance_ms(10 * MIN + 1);
    assert!(w.ticked("redeliverer").await);
    w.until("redelivered and accepted", |f| {
        f.deliveries_of("pull_request")
            .iter()
            .any(|d| d.redelivery && d.guid == pr.delivery.guid && d.ok())
    })
    .await;
}

#[tokio::test]
async fn operators_list_previews_and_tear_one_down() {
    let (w, clock) = clocked("", "", &[]).await;
    let (n, sha) = live_pr(&w, "feature").await;
    w.settle().await;
    let store = w.app.store().clone();
    let rows = gangway::operator::envs(&store, clock.now_ms() + HOUR, false)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (
            rows[0].pr,
            rows[0].state.as_str(),
            rows[0].age.as_str(),
            rows[0].ttl_left.as_str()
        ),
        (n, "live", "1h00m", "2d23h")
    );
    let host = rows[0].host.clone();
    let queue = w.app.running.as_ref().unwrap().queue().clone();
    let nope = gangway::operator::teardown(&store, &queue, "nope.example.org", clock.now_ms())
        .await
        .unwrap();
    assert!(nope.unwrap_err().contains("no standing preview"));
    gangway::operator::teardown(&store, &queue, &host, clock.now_ms())
        .await
        .unwrap()
        .unwrap();
    w.until("torn down by the operator", |f| inactive_in(f, &sha))
        .await;
    w.settle().await;
    assert!(w.sticky_body(REPO, n).contains("torn down by an operator"));
    assert!(
        gangway::operator::envs(&store, clock.now_ms(), false)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_unchanged_repository_costs_the_reconciler_no_rate_limit() {
    let (w, clock) = clocked("", "", &[]).await;
    live_pr(&w, "feature").await;
    w.settle().await;
    // Two reconciliations with nothing changed in between: the second listing is conditional.
    for _ in 0..2 {
        clock.advance_ms(10 * MIN + 1);
        w.tick().await;
        w.settle().await;
    }
    let calls = w.fake.calls();
    let lists: Vec<u16> = calls
        .iter()
        .filter(|c| c.method == "GET" && c.path == "/repos/octo/app/pulls")
        .map(|c| c.status)
        .collect();
    assert!(lists.len() >= 2, "{lists:?}");
    assert_eq!(
        lists.last(),
        Some(&304),
        "the second listing was not conditional: {lists:?}"
    );
}

#[tokio::test]
async fn deliveries_past_the_retention_period_are_purged_by_the_job_the_reaper_queues() {
    let (w, clock) = clocked("", "", &[]).await;
    live_pr(&w, "feature").await;
    w.settle().await;
    let store = w.app.store().clone();
    let pr_deliveries = || async {
        store
            .delivery_counts()
            .await
            .expect("counts")
            .iter()
            .filter(|(event, _, _)| event == "pull_request")
            .map(|(_, _, n)| *n)
            .sum::<i64>()
    };
    assert!(
        pr_deliveries().await > 0,
        "the opened PR's delivery is kept"
    );

    clock.advance_ms(31 * 24 * HOUR);
    assert!(w.ticked("reaper").await);
    w.settle_due().await;
    assert_eq!(
        pr_deliveries().await,
        0,
        "a delivery older than the 30-day retention is gone"
    );
}

/// A process that says it started has already queued its start-up reconciliation: a caller
/// that waits for the queue to drain right after start-up (as every test's `World` does, and
/// as an operator's readiness check would) must not see an empty queue that the start-up work
/// joins a moment later. CI once saw exactly that: the late reconciliation read a PR's checks
/// after the test had begun and posted a comment the test did not expect.
#[tokio::test]
async fn a_started_process_has_already_queued_its_start_up_reconciliation() {
    let app = support::TestApp::start().await;
    let queue = app.running.as_ref().expect("running").queue().clone();
    let jobs = queue.jobs(None).await.expect("jobs");
    assert!(
        jobs.iter()
            .any(|j| j.kind == gangway::jobs::JobKind::Reconcile.as_str()),
        "no start-up reconciliation queued when start returned: {jobs:?}"
    );
}
