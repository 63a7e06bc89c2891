//! Verification after an environment deployment (`verify:`), end to end through the fake GitHub
//! and a real command driver: a verify command that fails after a successful deploy (the
//! commit marked bad, an automatic rollback, the PR told with the log), a check-based
//! verification that passes (the train's bake counting from it), one whose check never arrives
//! (timed out, the train stopped), and a restart in the middle of a verification (one outcome,
//! nothing deployed twice).

use crate::support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use fake_github::{Deployment, FakeGitHub, PrSpec, Role};
use gangway::clock::ManualClock;
use support::world::{REPO, World, last_state, write_script};

const MIN: i64 = 60_000;
const POLICY: &str = ".github/gangway.yml";

/// The verify script: records each run, fails for a commit with a `fail-<sha>` file beside it,
/// and waits while a `block` file exists.
fn verify_script(dir: &Path) -> PathBuf {
    let path = dir.join("verify.sh");
    let d = dir.display();
    write_script(
        &path,
        &format!(
            "#!/bin/sh\necho \"$GANGWAY_ACTION $GANGWAY_SHA $GANGWAY_ENVIRONMENT $GANGWAY_URL\" >> {d}/verify-runs.txt\n\
             echo \"smoke testing $GANGWAY_URL\"\n\
             n=0\nwhile [ -f {d}/block ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n+1)); done\n\
             if [ -f {d}/fail-$GANGWAY_SHA ]; then echo \"the login page answers 500\"; exit 4; fi\n"
        ),
    );
    path
}

fn verify_runs(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("verify-runs.txt"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn states(d: &Deployment) -> Vec<String> {
    d.statuses.iter().map(|s| s.state.clone()).collect()
}

fn live_in(f: &FakeGitHub, env: &str, sha: &str) -> bool {
    f.deployments_in(REPO, env)
        .iter()
        .any(|d| d.sha == sha && last_state(d) == "success")
}

async fn world_with(policy: &str, extra: &[(&str, &str)]) -> (World, tempfile::TempDir) {
    let scripts = tempfile::tempdir().unwrap();
    let verify = verify_script(scripts.path()).display().to_string();
    let mut settings = vec![("GANGWAY_VERIFY_COMMAND", verify.as_str())];
    settings.extend_from_slice(extra);
    let w = World::start_with("", "", &settings).await;
    w.fake.set_permission(REPO, "boss", Role::Maintain).unwrap();
    w.fake.put_file(REPO, "main", POLICY, policy).unwrap();
    (w, scripts)
}

const COMMAND_POLICY: &str =
    "promotion:\n  auto_rollback: true\nverify:\n  production:\n    command: true\n";

#[tokio::test]
async fn a_failed_verify_command_marks_the_commit_bad_rolls_back_and_tells_the_pr() {
    let (w, scripts) = world_with(COMMAND_POLICY, &[]).await;
    let (one, sha1) = w.staged("feature-1").await;
    w.say(one, "boss", "/promote").await;
    let s = sha1.clone();
    w.until("the first commit verified and live", |f| {
        live_in(f, "production", &s)
    })
    .await;
    let first = &w.fake.deployments_in(REPO, "production")[0];
    assert_eq!(
        states(first),
        ["queued", "in_progress", "in_progress", "success"]
    );
    assert!(
        first.statuses[2]
            .description
            .starts_with("Verifying: the verify command"),
        "{:?}",
        first.statuses[2].description
    );
    assert!(
        verify_runs(scripts.path())
            .iter()
            .any(|r| r == &format!("verify {sha1} production https://production.app.example.org")),
        "{:?}",
        verify_runs(scripts.path())
    );
    w.settle().await;

    // The second commit deploys fine, then fails its verification.
    // A branch on top of the first, so that it descends from what production runs.
    let pr = w
        .fake
        .open_pr(PrSpec {
            base_ref: Some("feature-1".into()),
            ..PrSpec::new(REPO, "feature-2", "dev")
        })
        .await
        .unwrap();
    let (two, sha2) = (pr.number, pr.head_sha.clone());
    w.green(REPO, &sha2).await;
    let s = sha2.clone();
    w.until("the second preview live", |f| {
        f.deployments(REPO)
            .iter()
            .any(|d| d.sha == s && d.environment.starts_with("pr-") && last_state(d) == "success")
    })
    .await;
    std::fs::write(scripts.path().join(format!("fail-{sha2}")), "").unwrap();
    w.say(two, "boss", "/promote").await;
    let said = w.reply_containing(two, "failed").await;
    assert!(
        said.contains("Verification failed") || said.contains("verification failed"),
        "{said}"
    );
    assert!(said.contains("/logs/"), "{said}");
    // Rolled back to the first commit, itself verified again.
    w.until("rolled back to the first commit", |f| {
        f.deployments_in(REPO, "production")
            .iter()
            .filter(|d| d.sha == sha1 && last_state(d) == "success")
            .count()
            == 1
            && f.deployments_in(REPO, "production").len() == 3
    })
    .await;
    w.settle().await;
    let prod = w.fake.deployments_in(REPO, "production");
    let failed = prod.iter().find(|d| d.sha == sha2).unwrap();
    assert_eq!(
        states(failed),
        ["queued", "in_progress", "in_progress", "failure"],
        "deployed, verifying, failed"
    );
    let last = failed.statuses.last().unwrap();
    assert!(
        last.description
            .starts_with("Verification failed: the verify command failed"),
        "{:?}",
        last.description
    );
    let log_url = last.log_url.clone().unwrap_or_default();
    let page = w
        .app
        .http
        .get(w.app.url(log_url.trim_start_matches("http://gangway.test")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("the login page answers 500"), "{page}");
    // Deployed once: the driver never ran the failed commit again.
    let deploys = w
        .driver_runs()
        .iter()
        .filter(|r| r.starts_with("deploy") && r.contains(&sha2) && r.contains("production"))
        .count();
    assert_eq!(deploys, 1);
    // Marked bad: a new /promote of it is refused.
    let sha2_parsed = gangway::types::CommitSha::parse(&sha2).unwrap();
    let bad = w
        .app
        .store()
        .bad_sha(gangway::types::RepoId(w.repo_id), &sha2_parsed)
        .await
        .unwrap()
        .expect("marked bad");
    assert_eq!(bad.environment, "production");
    assert!(
        bad.reason
            .unwrap_or_default()
            .contains("verification failed")
    );
    w.say(two, "boss", "/promote").await;
    w.reply_containing(two, "marked bad").await;
    // The operator sees what runs and that it was verified.
    let envs = gangway::operator::envs(w.app.store(), chrono::Utc::now().timestamp_millis(), false)
        .await
        .unwrap();
    let prod: Vec<&str> = envs
        .iter()
        .filter(|e| e.environment == "production")
        .map(|e| e.state.as_str())
        .collect();
    assert_eq!(prod, ["live (verified)"], "{envs:?}");
}

// ---- Check-based verification on the train ----

const TRAIN_CHECKS_POLICY: &str = "environments: [staging, production]\ntrain:\n  delay: 30m\n  bake: 60m\nverify:\n  staging:\n    checks: [smoke/staging]\n    timeout: 15m\n";

async fn train_world(policy: &str) -> (World, ManualClock, tempfile::TempDir) {
    let clock = ManualClock::new(chrono::Utc::now().timestamp_millis());
    let scripts = tempfile::tempdir().unwrap();
    let verify = verify_script(scripts.path()).display().to_string();
    let w = World::start_clocked(
        "",
        "",
        &[
            ("GANGWAY_TIMER_TICK_MS", "3600000"),
            ("GANGWAY_VERIFY_COMMAND", verify.as_str()),
        ],
        Arc::new(clock.clone()),
    )
    .await;
    w.fake.set_permission(REPO, "boss", Role::Maintain).unwrap();
    w.fake.put_file(REPO, "main", POLICY, policy).unwrap();
    (w, clock, scripts)
}

/// A merged pull request on main whose merge commit is green: its number and the commit.
async fn merged_green(w: &World, branch: &str, author: &str) -> (u64, String) {
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, branch, author))
        .await
        .unwrap();
    w.fake.close_pr(REPO, pr.number, true).await.unwrap();
    let merged = w.fake.branch_head(REPO, "main").unwrap();
    w.green(REPO, &merged).await;
    (pr.number, merged)
}

fn verifying(f: &FakeGitHub, env: &str, sha: &str) -> bool {
    f.deployments_in(REPO, env).iter().any(|d| {
        d.sha == sha
            && d.statuses
                .last()
                .is_some_and(|s| s.state == "in_progress" && s.description.starts_with("Verifying"))
    })
}

#[tokio::test]
async fn a_check_based_verification_passes_and_the_bake_counts_from_it() {
    let (w, clock, _scripts) = train_world(TRAIN_CHECKS_POLICY).await;
    let (_, head) = merged_green(&w, "feature-1", "dev").await;
    w.settle_due().await;
    clock.advance_ms(30 * MIN);
    let h = head.clone();
    w.until("staging deployed and verifying", |f| {
        verifying(f, "staging", &h)
    })
    .await;
    w.settle_due().await;
    let status = w.fake.deployments_in(REPO, "staging")[0]
        .statuses
        .last()
        .unwrap()
        .description
        .clone();
    assert_eq!(status, "Verifying: smoke/staging (up to 15m)");
    // Ten minutes later the outside tester reports; the next look sees it.
    clock.advance_ms(10 * MIN);
    w.fake
        .set_status(REPO, &head, "smoke/staging", "success")
        .await
        .unwrap();
    w.settle_due().await;
    clock.advance_ms(MIN);
    let h = head.clone();
    w.until("staging verified and live", |f| live_in(f, "staging", &h))
        .await;
    w.settle_due().await;
    // The bake counts from the verification: not yet 60 minutes after the deploy's end + 11.
    clock.advance_ms(55 * MIN);
    w.settle_due().await;
    assert!(
        w.fake.deployments_in(REPO, "production").is_empty(),
        "production before the bake after verification ended"
    );
    clock.advance_ms(6 * MIN);
    let h = head.clone();
    w.until("production live", |f| live_in(f, "production", &h))
        .await;
    w.settle_due().await;
    let staging = w.fake.deployments_in(REPO, "staging");
    assert_eq!(staging.len(), 1);
    assert_eq!(
        states(&staging[0]),
        ["queued", "in_progress", "in_progress", "success"]
    );
}

#[tokio::test]
async fn a_check_that_never_arrives_times_out_and_stops_the_train() {
    let (w, clock, _scripts) = train_world(TRAIN_CHECKS_POLICY).await;
    let (pr, head) = merged_green(&w, "feature-1", "dev").await;
    w.settle_due().await;
    clock.advance_ms(30 * MIN);
    let h = head.clone();
    w.until("staging deployed and verifying", |f| {
        verifying(f, "staging", &h)
    })
    .await;
    w.settle_due().await;
    // Nothing is reported; the polls come and go until the deadline.
    for _ in 0..16 {
        clock.advance_ms(MIN);
        w.settle_due().await;
    }
    let h = head.clone();
    w.until("staging failed its verification", |f| {
        f.deployments_in(REPO, "staging")
            .iter()
            .any(|d| d.sha == h && last_state(d) == "failure")
    })
    .await;
    let staging = &w.fake.deployments_in(REPO, "staging")[0];
    let last = staging.statuses.last().unwrap();
    assert_eq!(
        last.description,
        "Verification failed: `smoke/staging` did not pass within 15m"
    );
    assert!(last.log_url.is_some());
    // The merged pull request is told, and the train carries the commit no further.
    let told = w.reply_containing(pr, "failed its verification").await;
    assert!(told.contains("marked bad"), "{told}");
    clock.advance_ms(3 * 60 * MIN);
    w.settle_due().await;
    assert!(w.fake.deployments_in(REPO, "production").is_empty());
    // A late check changes nothing: the outcome is recorded once.
    w.fake
        .set_status(REPO, &head, "smoke/staging", "success")
        .await
        .unwrap();
    clock.advance_ms(MIN);
    w.settle_due().await;
    assert_eq!(
        last_state(&w.fake.deployments_in(REPO, "staging")[0]),
        "failure"
    );
}

#[tokio::test]
async fn a_restart_in_the_middle_of_a_verification_ends_in_one_outcome_and_deploys_once() {
    let (w, scripts) = world_with(
        "verify:\n  production:\n    command: true\n",
        &[("GANGWAY_JOB_LEASE_SECS", "2")],
    )
    .await;
    let (one, sha1) = w.staged("feature-1").await;
    std::fs::write(scripts.path().join("block"), "").unwrap();
    w.say(one, "boss", "/promote").await;
    let dir = scripts.path().to_owned();
    support::wait_for(
        "the verify command running",
        std::time::Duration::from_secs(30),
        || {
            let runs = verify_runs(&dir);
            async move { (!runs.is_empty()).then_some(()) }
        },
    )
    .await;
    let (w, db) = w.kill_gangway().await;
    std::fs::remove_file(scripts.path().join("block")).unwrap();
    let w = w.restart_gangway(db).await;
    let s = sha1.clone();
    w.until("verified and live after the restart", |f| {
        live_in(f, "production", &s)
    })
    .await;
    w.settle().await;
    let prod = w.fake.deployments_in(REPO, "production");
    assert_eq!(prod.len(), 1, "one deployment");
    let ends: Vec<String> = states(&prod[0])
        .into_iter()
        .filter(|s| s == "success" || s == "failure")
        .collect();
    assert_eq!(ends, ["success"], "one recorded outcome");
    let deploys = w
        .driver_runs()
        .iter()
        .filter(|r| r.starts_with("deploy") && r.contains(&sha1) && r.contains("production"))
        .count();
    assert_eq!(
        deploys, 1,
        "deployed once, verified again after the restart"
    );
    assert!(verify_runs(scripts.path()).len() >= 2);
    w.reply_containing(one, "is live in production").await;
}
