//! Targets and the promotion queue, end to end with the command driver: an environment that
//! fans out to national servers (one failing, retried alone), `on_target_failure: halt`, two
//! promotions of one environment run in order, a newer queued promotion superseding an older
//! one, a hold pausing the queue, `/cancel` (never another pull request's), `/rollback` to a
//! named commit (and its refusal), one target rolled back alone, a restart in the middle of a
//! fan-out, and the example policies of docs/workflows.md.

use crate::support;

use fake_github::{FakeGitHub, Fault, Role};
use support::world::{REPO, World, last_state};

const POLICY: &str = ".github/gangway.yml";
const WORKFLOWS: &str = include_str!("../../docs/workflows.md");

/// docs/workflows.md, "Several national production servers" (a test below checks the page
/// holds exactly this).
const NATIONAL: &str = "\
environments: [production]
targets:
  production: [au, uk, ca]   # GitHub environments production-au, production-uk, production-ca
promotion:
  merge: true                 # merged once every target runs the commit
  on_target_failure: continue # one country failing does not stop the others
  max_parallel_targets: 3     # all three at once
";

/// docs/workflows.md, "A per-target manual release".
const MANUAL_RELEASE: &str = "\
environments: [staging, production]
targets:
  production: [eu, us]
promotion:
  on_target_failure: halt     # `/promote production` stops at the first failing target
  max_parallel_targets: 1     # one target at a time
permissions:
  promote: maintain
  cancel: maintain
";

fn live_in(f: &FakeGitHub, env: &str, sha: &str) -> bool {
    f.deployments_in(REPO, env)
        .iter()
        .any(|d| d.sha == sha && last_state(d) == "success")
}

fn failed_in(f: &FakeGitHub, env: &str, sha: &str) -> bool {
    f.deployments_in(REPO, env)
        .iter()
        .any(|d| d.sha == sha && last_state(d) == "failure")
}

/// A world whose deploy script runs `tail` after recording; `boss` maintains, `writer` writes.
async fn world(tail: &str, policy: &str) -> World {
    world_with(tail, policy, &[]).await
}

async fn world_with(tail: &str, policy: &str, extra: &[(&str, &str)]) -> World {
    let w = World::start_with(tail, "", extra).await;
    w.fake.set_permission(REPO, "boss", Role::Maintain).unwrap();
    // A second maintainer: Gangway answers one commenter at most five times an hour per PR.
    w.fake
        .set_permission(REPO, "chief", Role::Maintain)
        .unwrap();
    w.fake.set_permission(REPO, "writer", Role::Write).unwrap();
    w.fake.put_file(REPO, "main", POLICY, policy).unwrap();
    w
}

/// Fails the deploys of target `target` while `flag` (a file) exists.
fn failing_while(target: &str, flag: &std::path::Path) -> String {
    format!(
        "if [ \"$GANGWAY_TARGET\" = {target} ] && [ -f {} ]; then echo \"$GANGWAY_TARGET is down\"; exit 3; fi",
        flag.display()
    )
}

/// Blocks the deploys into `environment` (and its targets) until `gate` (a file) exists.
fn gated(environment: &str, gate: &std::path::Path) -> String {
    format!(
        "case \"$GANGWAY_ENVIRONMENT\" in {environment}*) while [ ! -f {} ]; do sleep 0.05; done;; esac",
        gate.display()
    )
}

#[test]
fn the_example_policies_are_the_ones_in_the_docs() {
    for (name, policy) in [("national", NATIONAL), ("manual release", MANUAL_RELEASE)] {
        assert!(
            WORKFLOWS.contains(policy),
            "docs/workflows.md does not hold the {name} policy as tested:\n{policy}"
        );
        gangway::policy::parse(policy.as_bytes()).unwrap();
    }
}

#[tokio::test]
async fn national_targets_one_fails_the_others_succeed_and_it_is_retried_alone() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("uk-down");
    std::fs::write(&flag, "").unwrap();
    let w = world(&failing_while("uk", &flag), NATIONAL).await;
    let (pr, sha) = w.staged("feature").await;

    w.say(pr, "boss", "/promote").await;
    let text = w.reply_containing(pr, "promoting commit").await;
    assert!(
        text.contains("production-au, production-uk, production-ca"),
        "{text}"
    );
    let s = sha.clone();
    w.until("au and ca live, uk failed", |f| {
        live_in(f, "production-au", &s)
            && live_in(f, "production-ca", &s)
            && failed_in(f, "production-uk", &s)
    })
    .await;
    w.settle().await;
    // Each target is its own GitHub environment, deployment, host and driver run.
    for target in ["au", "uk", "ca"] {
        let env = format!("production-{target}");
        let ds = w.fake.deployments_in(REPO, &env);
        assert_eq!(ds.len(), 1, "{env}: {ds:?}");
        assert!(ds[0].production_environment, "{env}");
        let host = format!("production-{target}.app.example.org");
        assert!(
            w.driver_runs()
                .iter()
                .any(|r| r.contains(&sha) && r.contains(&host) && r.contains(&env)),
            "{env}: {:?}",
            w.driver_runs()
        );
    }
    assert!(w.fake.deployments_in(REPO, "production").is_empty());
    let failed = w.reply_containing(pr, "failed").await;
    assert!(failed.contains("production-uk"), "{failed}");
    // Not merged: production does not run the commit until every target does.
    assert!(!w.fake.pull(REPO, pr).unwrap().merged);
    let sticky = w.sticky_body(REPO, pr);
    assert!(sticky.contains("- production-au: runs"), "{sticky}");
    assert!(
        sticky.contains("failed (retry: **/promote production-uk**)"),
        "{sticky}"
    );
    // The recorded history: one row per target, each in one outcome.
    let store = w.app.store();
    let rid = gangway::types::RepoId(w.repo_id);
    for (env, state) in [
        ("production-au", "live"),
        ("production-uk", "failed"),
        ("production-ca", "live"),
    ] {
        let rows = store.env_deployments_of(rid, env, 10).await.unwrap();
        assert_eq!(rows.len(), 1, "{env}");
        assert_eq!(rows[0].state.as_str(), state, "{env}");
    }

    // The cause fixed, uk alone is retried; au and ca are not deployed again.
    std::fs::remove_file(&flag).unwrap();
    w.say(pr, "boss", "/promote production-uk").await;
    let s = sha.clone();
    w.until("uk live", |f| live_in(f, "production-uk", &s))
        .await;
    w.settle().await;
    assert_eq!(w.fake.deployments_in(REPO, "production-au").len(), 1);
    assert_eq!(w.fake.deployments_in(REPO, "production-ca").len(), 1);
    assert_eq!(w.fake.deployments_in(REPO, "production-uk").len(), 2);
    // Now every target runs it: merged, as the policy says.
    w.until("merged once every target runs the commit", |f| {
        f.pull(REPO, pr).is_some_and(|p| p.merged)
    })
    .await;
}

#[tokio::test]
async fn halt_stops_at_the_first_failing_target_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("eu-down");
    std::fs::write(&flag, "").unwrap();
    let w = world(&failing_while("eu", &flag), MANUAL_RELEASE).await;
    let (pr, sha) = w.staged("feature").await;
    w.say(pr, "boss", "/promote production").await;
    let text = w.reply_containing(pr, "promoting commit").await;
    assert!(
        text.contains("production-us is queued at position 1"),
        "{text}"
    );
    let said = w.reply_containing(pr, "on_target_failure: halt").await;
    assert!(
        said.contains("production-us") && said.contains("not started"),
        "{said}"
    );
    w.settle().await;
    let s = sha.clone();
    assert!(failed_in(&w.fake, "production-eu", &s));
    assert!(w.fake.deployments_in(REPO, "production-us").is_empty());
    assert!(!w.driver_runs().iter().any(|r| r.contains("production-us")));
}

#[tokio::test]
async fn a_per_target_manual_release_deploys_only_the_target_named() {
    let w = world("", MANUAL_RELEASE).await;
    let (pr, sha) = w.staged("feature").await;
    w.say(pr, "boss", "/promote staging").await;
    let s = sha.clone();
    w.until("live in staging", |f| live_in(f, "staging", &s))
        .await;
    w.say(pr, "boss", "/promote production-eu").await;
    w.until("live in eu", |f| live_in(f, "production-eu", &s))
        .await;
    w.settle().await;
    assert!(w.fake.deployments_in(REPO, "production-us").is_empty());
    // A writer may not release a target.
    w.say(pr, "writer", "/promote production-us").await;
    w.reply_containing(pr, "needs maintain permission").await;
    // A hold on one target stops only that target.
    w.say(pr, "boss", "/hold production-us waiting for the US launch")
        .await;
    w.reply_containing(pr, "production-us is held").await;
    w.say(pr, "boss", "/promote production-us").await;
    w.reply_containing(pr, "nothing is promoted into it").await;
    w.say(pr, "boss", "/unhold production-us").await;
    w.reply_containing(pr, "no longer held").await;
    w.say(pr, "boss", "/promote production-us").await;
    w.until("live in us", |f| live_in(f, "production-us", &s))
        .await;
}

/// Pushes a new commit to `pr`, turns it green and waits for its preview.
async fn pushed_and_staged(w: &World, pr: u64) -> String {
    let pushed = w.fake.push_pr(REPO, pr).await.unwrap();
    let sha = pushed.after.clone();
    w.green(REPO, &sha).await;
    let s = sha.clone();
    w.until("the new head's preview live", |f| {
        f.deployments(REPO)
            .iter()
            .any(|d| d.sha == s && d.environment.starts_with("pr-") && last_state(d) == "success")
    })
    .await;
    sha
}

#[tokio::test]
async fn two_promotions_of_one_environment_both_run_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let gate = dir.path().join("open");
    let w = world(&gated("production", &gate), "environments: [production]\n").await;
    let (pr, sha1) = w.staged("feature").await;
    w.say(pr, "boss", "/promote").await;
    w.reply_containing(pr, "promoting commit").await;
    let s1 = sha1.clone();
    w.until("the first deployment running", |f| {
        f.deployments_in(REPO, "production")
            .iter()
            .any(|d| d.sha == s1 && last_state(d) == "in_progress")
    })
    .await;
    let sha2 = pushed_and_staged(&w, pr).await;
    w.say(pr, "boss", "/promote").await;
    let text = w.reply_containing(pr, "queued at position 2").await;
    assert!(text.contains("**/cancel**"), "{text}");
    assert_eq!(w.fake.deployments_in(REPO, "production").len(), 1);

    std::fs::write(&gate, "").unwrap();
    let s2 = sha2.clone();
    w.until("the second live after the first", |f| {
        live_in(f, "production", &s2)
    })
    .await;
    w.settle().await;
    let prod = w.fake.deployments_in(REPO, "production");
    assert_eq!(prod.len(), 2);
    assert_eq!(
        (prod[0].sha.as_str(), prod[1].sha.as_str()),
        (sha1.as_str(), sha2.as_str())
    );
    assert_eq!(last_state(&prod[0]), "inactive", "replaced by the second");
}

#[tokio::test]
async fn a_newer_queued_promotion_supersedes_an_older_one_and_cancel_withdraws() {
    let dir = tempfile::tempdir().unwrap();
    let gate = dir.path().join("open");
    let w = world(&gated("production", &gate), "environments: [production]\n").await;
    let (pr, sha1) = w.staged("feature").await;
    w.say(pr, "boss", "/promote").await;
    let s1 = sha1.clone();
    w.until("the first deployment running", |f| {
        f.deployments_in(REPO, "production")
            .iter()
            .any(|d| d.sha == s1 && last_state(d) == "in_progress")
    })
    .await;
    let sha2 = pushed_and_staged(&w, pr).await;
    w.say(pr, "boss", "/promote").await;
    w.reply_containing(pr, "queued at position 2").await;
    let sha3 = pushed_and_staged(&w, pr).await;
    w.say(pr, "boss", "/promote").await;
    let said = w
        .reply_containing(pr, "was superseded by a newer one")
        .await;
    assert!(
        said.contains(&sha2[..7]) && said.contains(&sha3[..7]),
        "{said}"
    );
    // Who may not promote may not cancel either.
    w.say(pr, "writer", "/cancel").await;
    w.reply_containing(pr, "needs maintain permission").await;

    std::fs::write(&gate, "").unwrap();
    let s3 = sha3.clone();
    w.until("the newest live", |f| live_in(f, "production", &s3))
        .await;
    w.settle().await;
    assert!(
        !w.fake
            .deployments_in(REPO, "production")
            .iter()
            .any(|d| d.sha == sha2),
        "the superseded commit never deploys"
    );

    // /cancel withdraws a waiting promotion: nothing more deploys.
    std::fs::remove_file(&gate).unwrap();
    let sha4 = pushed_and_staged(&w, pr).await;
    w.say(pr, "chief", "/promote").await;
    let s4 = sha4.clone();
    w.until("the fourth running", |f| {
        f.deployments_in(REPO, "production")
            .iter()
            .any(|d| d.sha == s4 && last_state(d) == "in_progress")
    })
    .await;
    let sha5 = pushed_and_staged(&w, pr).await;
    w.say(pr, "chief", "/promote").await;
    let s5 = sha5[..7].to_owned();
    w.until("the fifth queued", |f| {
        f.comments(REPO, pr)
            .iter()
            .any(|c| c.via_app && c.body.contains(&s5) && c.body.contains("queued at position 2"))
    })
    .await;
    w.say(pr, "chief", "/cancel").await;
    let text = w.reply_containing(pr, "withdrawn from the queue").await;
    assert!(text.contains(&sha5[..7]), "{text}");
    std::fs::write(&gate, "").unwrap();
    w.until("the fourth live", |f| live_in(f, "production", &s4))
        .await;
    w.settle().await;
    assert!(
        !w.fake
            .deployments_in(REPO, "production")
            .iter()
            .any(|d| d.sha == sha5),
        "a cancelled promotion never deploys"
    );
}

#[tokio::test]
async fn rollback_to_a_named_commit_and_refusal_for_one_that_never_ran_there() {
    let w = world("", "environments: [production]\n").await;
    let (pr, sha1) = w.staged("feature").await;
    w.say(pr, "boss", "/promote").await;
    let s1 = sha1.clone();
    w.until("first live", |f| live_in(f, "production", &s1))
        .await;
    let sha2 = pushed_and_staged(&w, pr).await;
    w.say(pr, "boss", "/promote").await;
    let s2 = sha2.clone();
    w.until("second live", |f| live_in(f, "production", &s2))
        .await;
    let sha3 = pushed_and_staged(&w, pr).await;
    w.say(pr, "boss", "/promote").await;
    let s3 = sha3.clone();
    w.until("third live", |f| live_in(f, "production", &s3))
        .await;
    w.settle().await;

    // A commit that never ran in production is refused with the reason.
    w.say(pr, "chief", "/rollback production c0ffee1").await;
    let text = w.reply_containing(pr, "never ran in production").await;
    assert!(text.contains("c0ffee1"), "{text}");
    w.settle().await;
    assert_eq!(w.fake.deployments_in(REPO, "production").len(), 3);

    // The first commit, named, two steps back (not the last good one, which is the second).
    w.say(pr, "chief", &format!("/rollback production {}", &sha1[..9]))
        .await;
    let text = w.reply_containing(pr, "the commit named").await;
    assert!(
        text.contains(&sha1[..7]) && text.contains(&sha3[..7]),
        "{text}"
    );
    w.until("the first commit runs again", |f| {
        let prod = f.deployments_in(REPO, "production");
        prod.len() == 4 && prod[3].sha == s1 && last_state(&prod[3]) == "success"
    })
    .await;
}

#[tokio::test]
async fn a_restart_in_the_middle_of_a_fan_out_ends_each_target_once() {
    let dir = tempfile::tempdir().unwrap();
    let gate = dir.path().join("open");
    let policy = "environments: [production]\ntargets:\n  production: [au, uk, ca]\npromotion:\n  max_parallel_targets: 2\n";
    // A short lease: the killed process's jobs are taken up again soon after the restart.
    let w = world_with(
        &gated("production", &gate),
        policy,
        &[("GANGWAY_JOB_LEASE_SECS", "2")],
    )
    .await;
    let (pr, sha) = w.staged("feature").await;
    w.say(pr, "boss", "/promote").await;
    let text = w.reply_containing(pr, "promoting commit").await;
    assert!(
        text.contains("production-ca is queued at position 1"),
        "{text}"
    );
    let s = sha.clone();
    w.until("two targets deploying", |f| {
        ["production-au", "production-uk"].iter().all(|e| {
            f.deployments_in(REPO, e)
                .iter()
                .any(|d| d.sha == s && last_state(d) == "in_progress")
        })
    })
    .await;

    let (w, db) = w.kill_gangway().await;
    std::fs::write(&gate, "").unwrap();
    let w = w.restart_gangway(db).await;
    every_target_live_once(&w, &sha).await;
}

/// Waits until au, uk and ca all run `sha`; then each has exactly one GitHub deployment (ended
/// `success`) and one recorded deployment (live): none was deployed twice.
async fn every_target_live_once(w: &World, sha: &str) {
    let s = sha.to_owned();
    w.until("every target live", |f| {
        ["production-au", "production-uk", "production-ca"]
            .iter()
            .all(|e| live_in(f, e, &s))
    })
    .await;
    w.settle().await;
    let store = w.app.store();
    let rid = gangway::types::RepoId(w.repo_id);
    for env in ["production-au", "production-uk", "production-ca"] {
        let ds = w.fake.deployments_in(REPO, env);
        assert_eq!(ds.len(), 1, "{env}: one GitHub deployment, {ds:?}");
        assert_eq!(last_state(&ds[0]), "success", "{env}");
        let rows = store.env_deployments_of(rid, env, 10).await.unwrap();
        assert_eq!(rows.len(), 1, "{env}: one recorded deployment");
        assert_eq!(rows[0].state.as_str(), "live", "{env}");
    }
}

/// The crash this guards against, made deterministic: `/promote` starts its targets, then cannot
/// post its reply (GitHub answers 502), so its job runs again from the top while the targets are
/// still deploying. The second run finds each target already deploying this commit for this PR
/// and starts nothing: every target is deployed once, and the queued one stays queued once.
#[tokio::test]
async fn a_promote_whose_job_runs_again_mid_fan_out_deploys_no_target_twice() {
    let dir = tempfile::tempdir().unwrap();
    let gate = dir.path().join("open");
    let policy = "environments: [production]\ntargets:\n  production: [au, uk, ca]\npromotion:\n  max_parallel_targets: 2\n";
    let w = world(&gated("production", &gate), policy).await;
    let (pr, sha) = w.staged("feature").await;
    let comments = format!("/repos/{REPO}/issues/{pr}/comments");
    let posted_before = w.fake.count_calls("POST", &comments);
    w.fake
        .inject(Fault::status(502).on("POST", &comments).times(1));
    w.say(pr, "boss", "/promote").await;
    let s = sha.clone();
    w.until("two targets deploying", |f| {
        ["production-au", "production-uk"].iter().all(|e| {
            f.deployments_in(REPO, e)
                .iter()
                .any(|d| d.sha == s && last_state(d) == "in_progress")
        })
    })
    .await;
    // The reply failed once, and the job's second run posted it.
    let text = w.reply_containing(pr, "promoting commit").await;
    assert!(
        w.fake.count_calls("POST", &comments) >= posted_before + 2,
        "the first reply was refused and posted again"
    );
    assert!(
        text.contains("production-ca is queued at position 1"),
        "{text}"
    );
    std::fs::write(&gate, "").unwrap();
    every_target_live_once(&w, &sha).await;
    let runs = w
        .driver_runs()
        .iter()
        .filter(|r| r.contains(&sha) && r.contains("production-"))
        .count();
    assert_eq!(runs, 3, "one driver run per target: {:?}", w.driver_runs());
    let replies = w.replies(pr);
    assert!(
        !replies.iter().any(|r| r.contains("superseded")),
        "a promotion never supersedes itself: {replies:?}"
    );
}

#[tokio::test]
async fn cancel_on_one_pull_request_never_withdraws_another_ones_promotion() {
    let dir = tempfile::tempdir().unwrap();
    let gate = dir.path().join("open");
    let w = world(&gated("production", &gate), "environments: [production]\n").await;
    let (one, sha1) = w.staged("feature-1").await;
    let (two, sha2) = w.staged("feature-2").await;
    w.say(one, "boss", "/promote").await;
    let s1 = sha1.clone();
    w.until("the first deployment running", |f| {
        f.deployments_in(REPO, "production")
            .iter()
            .any(|d| d.sha == s1 && last_state(d) == "in_progress")
    })
    .await;
    w.say(two, "boss", "/promote").await;
    w.reply_containing(two, "queued at position 2").await;
    // The first PR's maintainer cancels on the first PR: the second PR's entry stays.
    w.say(one, "chief", "/cancel").await;
    w.reply_containing(one, "nothing of this pull request waits")
        .await;
    let rows = gangway::operator::envs(w.app.store(), 0, false)
        .await
        .unwrap();
    assert!(
        rows.iter()
            .any(|r| r.sha == sha2[..7] && r.state == "queued #1" && r.pr == two),
        "{rows:?}"
    );
    std::fs::write(&gate, "").unwrap();
    w.until("the first live", |f| live_in(f, "production", &s1))
        .await;
    w.settle().await;
}

#[tokio::test]
async fn a_hold_pauses_the_queue_without_dropping_it() {
    let dir = tempfile::tempdir().unwrap();
    let gate = dir.path().join("open");
    let w = world(&gated("production", &gate), "environments: [production]\n").await;
    let (pr, sha1) = w.staged("feature").await;
    w.say(pr, "boss", "/promote").await;
    let s1 = sha1.clone();
    w.until("the first deployment running", |f| {
        f.deployments_in(REPO, "production")
            .iter()
            .any(|d| d.sha == s1 && last_state(d) == "in_progress")
    })
    .await;
    let sha2 = pushed_and_staged(&w, pr).await;
    w.say(pr, "boss", "/promote").await;
    w.reply_containing(pr, "queued at position 2").await;
    w.say(pr, "chief", "/hold production release freeze").await;
    w.reply_containing(pr, "production is held").await;
    std::fs::write(&gate, "").unwrap();
    w.until("the first live", |f| live_in(f, "production", &s1))
        .await;
    w.settle().await;
    // Held: the queued promotion waits, neither started nor dropped.
    assert_eq!(w.fake.deployments_in(REPO, "production").len(), 1);
    let rows = gangway::operator::envs(w.app.store(), 0, false)
        .await
        .unwrap();
    assert!(
        rows.iter()
            .any(|r| r.sha == sha2[..7] && r.state == "queued #1"),
        "{rows:?}"
    );
    w.say(pr, "chief", "/unhold").await;
    let s2 = sha2.clone();
    w.until("the queued promotion runs once the hold is lifted", |f| {
        live_in(f, "production", &s2)
    })
    .await;
}

#[tokio::test]
async fn one_target_is_rolled_back_to_a_named_commit_alone() {
    let w = world(
        "",
        "environments: [production]\ntargets:\n  production: [au, uk]\n",
    )
    .await;
    let (pr, sha1) = w.staged("feature").await;
    w.say(pr, "boss", "/promote").await;
    let s1 = sha1.clone();
    w.until("first live in both", |f| {
        live_in(f, "production-au", &s1) && live_in(f, "production-uk", &s1)
    })
    .await;
    let sha2 = pushed_and_staged(&w, pr).await;
    w.say(pr, "boss", "/promote").await;
    let s2 = sha2.clone();
    w.until("second live in both", |f| {
        live_in(f, "production-au", &s2) && live_in(f, "production-uk", &s2)
    })
    .await;
    w.settle().await;
    w.say(pr, "chief", "/rollback production-uk c0ffee1").await;
    w.reply_containing(pr, "never ran in production-uk").await;
    w.say(
        pr,
        "chief",
        &format!("/rollback production-uk {}", &sha1[..7]),
    )
    .await;
    w.reply_containing(pr, "rolling production-uk back").await;
    w.until("uk runs the first commit again", |f| {
        let uk = f.deployments_in(REPO, "production-uk");
        uk.len() == 3 && uk[2].sha == s1 && last_state(&uk[2]) == "success"
    })
    .await;
    w.settle().await;
    assert_eq!(w.fake.deployments_in(REPO, "production-au").len(), 2);
}

// ---- The train through targets ----

const MIN: i64 = 60_000;

const TRAIN_TARGETS: &str = "\
environments: [staging, production]
targets:
  production: [au, uk, ca]
train:
  delay: 30m
  bake: 60m
promotion:
  on_target_failure: continue
  max_parallel_targets: 2
";

async fn train_world(tail: &str, policy: &str) -> (World, gangway::clock::ManualClock) {
    use gangway::clock::Clock;
    let clock = gangway::clock::ManualClock::new(chrono::Utc::now().timestamp_millis());
    let w = World::start_clocked(
        tail,
        "",
        &[("GANGWAY_TIMER_TICK_MS", "3600000")],
        std::sync::Arc::new(clock.clone()),
    )
    .await;
    let _ = clock.now_ms();
    w.fake.set_permission(REPO, "boss", Role::Maintain).unwrap();
    w.fake.put_file(REPO, "main", POLICY, policy).unwrap();
    (w, clock)
}

async fn train_state(w: &World) -> gangway::engine::train::Train {
    let text = w
        .app
        .store()
        .train_state(gangway::types::RepoId(w.repo_id))
        .await
        .unwrap()
        .unwrap_or_default();
    serde_json::from_str(&text).unwrap_or_default()
}

#[tokio::test]
async fn the_train_carries_a_commit_to_staging_then_to_every_target_of_production() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("uk-down");
    std::fs::write(&flag, "").unwrap();
    let (w, clock) = train_world(&failing_while("uk", &flag), TRAIN_TARGETS).await;
    // A staged pull request's commit, pushed to main as it is (a fast-forward): the train
    // carries it, and a maintainer can retry a target from the pull request.
    let (pr, head) = w.staged("feature-1").await;
    w.fake.push_commit(REPO, "main", &head).await.unwrap();
    w.settle_due().await;
    clock.advance_ms(31 * MIN);
    let h = head.clone();
    w.until("live in staging", |f| live_in(f, "staging", &h))
        .await;
    w.settle_due().await;
    assert!(w.fake.deployments_in(REPO, "production-au").is_empty());

    // After the bake: every target, two at a time; uk fails, the train keeps waiting.
    clock.advance_ms(61 * MIN);
    let h = head.clone();
    w.until("au and ca live, uk failed", |f| {
        live_in(f, "production-au", &h)
            && live_in(f, "production-ca", &h)
            && failed_in(f, "production-uk", &h)
    })
    .await;
    w.settle_due().await;
    assert!(w.fake.deployments_in(REPO, "production").is_empty());
    let t = train_state(&w).await;
    assert!(t.fanned && t.stopped.is_none() && t.next == 1, "{t:?}");

    // A maintainer's retry of uk completes production; the train counts it done.
    std::fs::remove_file(&flag).unwrap();
    w.say(pr, "boss", "/promote production-uk").await;
    let h = head.clone();
    w.until("uk live", |f| live_in(f, "production-uk", &h))
        .await;
    w.settle_due().await;
    let t = train_state(&w).await;
    assert!(!t.fanned && t.stopped.is_none() && t.next == 2, "{t:?}");
    for target in ["au", "ca"] {
        let env = format!("production-{target}");
        assert_eq!(w.fake.deployments_in(REPO, &env).len(), 1, "{env}");
    }
    assert_eq!(w.fake.deployments_in(REPO, "production-uk").len(), 2);
    assert_eq!(w.fake.deployments_in(REPO, "staging").len(), 1);
}

#[tokio::test]
async fn the_train_under_halt_stops_at_a_failing_target_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("au-down");
    std::fs::write(&flag, "").unwrap();
    let policy = TRAIN_TARGETS
        .replace("continue", "halt")
        .replace("max_parallel_targets: 2", "max_parallel_targets: 1");
    let (w, clock) = train_world(&failing_while("au", &flag), &policy).await;
    let head = w
        .fake
        .push_branch(REPO, "main", "a change")
        .await
        .unwrap()
        .after;
    w.green(REPO, &head).await;
    w.settle_due().await;
    clock.advance_ms(31 * MIN);
    let h = head.clone();
    w.until("live in staging", |f| live_in(f, "staging", &h))
        .await;
    w.settle_due().await;
    clock.advance_ms(61 * MIN);
    let h = head.clone();
    w.until("au failed", |f| failed_in(f, "production-au", &h))
        .await;
    w.settle_due().await;
    let t = train_state(&w).await;
    let why = t.stopped.clone().unwrap_or_default();
    assert!(
        why.contains("production-au") && why.contains("on_target_failure: halt"),
        "{t:?}"
    );
    // The others of the fan-out were not started.
    assert!(w.fake.deployments_in(REPO, "production-uk").is_empty());
    assert!(w.fake.deployments_in(REPO, "production-ca").is_empty());
}
