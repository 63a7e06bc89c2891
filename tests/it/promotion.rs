//! Promotion to long-lived environments, end to end: `/promote` and each of its refusals,
//! `/hold` and `/unhold`, `/rollback`, two promotions racing (the second queued), and the
//! timed train.

use crate::support;

use std::sync::Arc;

use fake_github::{Deployment, FakeGitHub, Fault, PrSpec, Role};
use gangway::clock::{Clock, ManualClock};
use support::world::{REPO, World, last_state};

const MIN: i64 = 60_000;
const POLICY: &str = ".github/gangway.yml";

fn states(d: &Deployment) -> Vec<String> {
    d.statuses.iter().map(|s| s.state.clone()).collect()
}

fn live_in(f: &FakeGitHub, env: &str, sha: &str) -> bool {
    f.deployments_in(REPO, env)
        .iter()
        .any(|d| d.sha == sha && last_state(d) == "success")
}

async fn promote_live(w: &World, number: u64, sha: &str) {
    w.say(number, "boss", "/promote").await;
    let s = sha.to_owned();
    w.until("live in production", |f| live_in(f, "production", &s))
        .await;
}

async fn world() -> World {
    let w = World::start().await;
    w.fake.set_permission(REPO, "boss", Role::Maintain).unwrap();
    w.fake.set_permission(REPO, "writer", Role::Write).unwrap();
    w
}

#[tokio::test]
async fn promote_deploys_the_staged_commit_and_retires_the_previous_one() {
    let w = world().await;
    let (one, sha1) = w.staged("feature-1").await;
    promote_live(&w, one, &sha1).await;
    let prod = w.fake.deployments_in(REPO, "production");
    assert_eq!(prod.len(), 1);
    let d = &prod[0];
    assert_eq!(d.sha, sha1, "the exact commit whose preview succeeded");
    assert!(d.production_environment && !d.transient_environment);
    assert_eq!(states(d), ["queued", "in_progress", "success"]);
    assert!(
        d.statuses[0]
            .description
            .contains("Promoted by @boss from #"),
        "{:?}",
        d.statuses[0].description
    );
    assert!(
        d.statuses[2]
            .environment_url
            .as_deref()
            .is_some_and(|u| u == "https://production.app.example.org"),
        "{:?}",
        d.statuses[2].environment_url
    );
    w.reply_containing(one, "is live in production").await;
    assert!(
        w.driver_runs()
            .iter()
            .any(|r| r.contains(&sha1) && r.contains("production"))
    );
    // The deployment's log link shows the run, behind its own token.
    let log_url = d.statuses[2].log_url.clone().unwrap_or_default();
    let path = log_url.trim_start_matches("http://gangway.test");
    let page = w.app.http.get(w.app.url(path)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let text = page.text().await.unwrap();
    assert!(
        text.starts_with(&format!("Gangway promote of commit {sha1} to production")),
        "{text}"
    );
    assert!(
        text.contains("deploy of https://production.app.example.org"),
        "{text}"
    );

    // The change lands; a later PR contains it and replaces it in production.
    w.fake.close_pr(REPO, one, true).await.unwrap();
    let (two, sha2) = w.staged("feature-2").await;
    promote_live(&w, two, &sha2).await;
    let s1 = sha1.clone();
    w.until("the first production deployment inactive", |f| {
        f.deployments_in(REPO, "production")
            .iter()
            .any(|d| d.sha == s1 && last_state(d) == "inactive")
    })
    .await;
}

#[tokio::test]
async fn each_refusal_names_its_rule_and_deploys_nothing() {
    let w = world().await;
    // A commit that was never staged (no check ever reported).
    let fresh = w
        .fake
        .open_pr(PrSpec::new(REPO, "fresh", "dev"))
        .await
        .unwrap();
    w.say(fresh.number, "boss", "/promote").await;
    let text = w.reply_containing(fresh.number, "never staged").await;
    assert!(text.contains(&fresh.head_sha[..7]), "{text}");

    // By someone with write access only.
    let (one, sha1) = w.staged("feature-1").await;
    w.say(one, "writer", "/promote").await;
    w.reply_containing(one, "needs maintain permission").await;

    // A red check on the staged commit (staged before the check failed).
    w.fake
        .add_check_run(REPO, &sha1, "lint", "completed", Some("failure"))
        .unwrap();
    w.say(one, "boss", "/promote").await;
    let text = w.reply_containing(one, "not green").await;
    assert!(text.contains("`lint` (failure)"), "{text}");

    // Held.
    let (two, sha2) = w.staged("feature-2").await;
    w.say(two, "boss", "/hold database migration running").await;
    w.reply_containing(two, "production is held").await;
    w.say(two, "boss", "/promote").await;
    let text = w.reply_containing(two, "nothing is promoted into it").await;
    assert!(
        text.contains("@boss") && text.contains("database migration running"),
        "{text}"
    );
    w.until("the hold on every open PR's sticky comment", |f| {
        f.comments(REPO, one).iter().any(|c| {
            c.body.contains("gangway:sticky")
                && c.body.contains("is held")
                && c.body.contains("database migration running")
        })
    })
    .await;
    w.say(two, "boss", "/unhold").await;
    w.reply_containing(two, "no longer held").await;
    w.settle().await;
    assert!(w.fake.deployments_in(REPO, "production").is_empty());

    // Now one goes out; another branch that does not contain it is not a descendant.
    promote_live(&w, two, &sha2).await;
    // A hold shows in GitHub's deployment history, on what production runs.
    w.say(two, "boss", "/hold release freeze").await;
    w.reply_containing(two, "release freeze").await;
    w.say(two, "boss", "/unhold").await;
    w.until("the hold and its end in the deployment's statuses", |f| {
        f.deployments_in(REPO, "production")
            .first()
            .is_some_and(|d| {
                let texts: Vec<&str> = d.statuses.iter().map(|s| s.description.as_str()).collect();
                texts.contains(&"Held by @boss: release freeze")
                    && texts.contains(&"Hold lifted by @boss")
                    && last_state(d) == "success"
            })
    })
    .await;
    let (three, _) = w.staged("feature-3").await;
    w.say(three, "boss", "/promote").await;
    let text = w
        .reply_containing(three, "which this branch does not contain")
        .await;
    assert!(
        text.contains(&format!("production runs `{}`", &sha2[..7])),
        "{text}"
    );
    w.settle().await;
    assert_eq!(w.fake.deployments_in(REPO, "production").len(), 1);
}

#[tokio::test]
async fn a_failed_preview_cannot_be_promoted() {
    // Deploys fail while the flag file exists.
    let flag = tempfile::NamedTempFile::new().unwrap();
    let failing = format!("if [ -e {p} ]; then exit 3; fi", p = flag.path().display());
    let w = World::start_with(&failing, "", &[]).await;
    w.fake.set_permission(REPO, "boss", Role::Maintain).unwrap();
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "broken", "dev"))
        .await
        .unwrap();
    w.green(REPO, &pr.head_sha).await;
    let sha = pr.head_sha.clone();
    w.until("preview failed", |f| {
        f.deployments(REPO)
            .iter()
            .any(|d| d.sha == sha && last_state(d) == "failure")
    })
    .await;
    w.say(pr.number, "boss", "/promote").await;
    let text = w.reply_containing(pr.number, "failed").await;
    assert!(text.contains("the preview of commit"), "{text}");
    w.settle().await;
    assert!(w.fake.deployments_in(REPO, "production").is_empty());
    // Positive control: once previews deploy, a live one is promoted in the same world.
    std::fs::remove_file(flag.path()).unwrap();
    let (two, sha2) = w.staged("fixed").await;
    promote_live(&w, two, &sha2).await;
}

/// A deploy script that waits for `gate` (a file) before finishing production deployments.
fn gated(gate: &std::path::Path) -> String {
    format!(
        "while [ \"$GANGWAY_ENVIRONMENT\" = production ] && [ ! -f {} ]; do sleep 0.05; done",
        gate.display()
    )
}

#[tokio::test]
async fn two_promotions_at_once_one_runs_and_the_other_waits_its_turn() {
    let gate_dir = tempfile::tempdir().unwrap();
    let gate = gate_dir.path().join("open");
    let w = World::start_with(&gated(&gate), "", &[]).await;
    w.fake.set_permission(REPO, "boss", Role::Maintain).unwrap();
    let (one, sha1) = w.staged("feature-1").await;
    let (two, sha2) = w.staged("feature-2").await;
    let (a, b) = tokio::join!(
        w.say(one, "boss", "/promote"),
        w.say(two, "boss", "/promote")
    );
    let ((), ()) = (a, b);
    w.until("one promotion queued behind the other", |f| {
        [one, two].iter().any(|n| {
            f.comments(REPO, *n)
                .iter()
                .any(|c| c.via_app && c.body.contains("production is queued at position 2"))
        })
    })
    .await;
    // The winner's deployment is created by its own job, a moment after its claim.
    w.until("the winner's production deployment", |f| {
        !f.deployments_in(REPO, "production").is_empty()
    })
    .await;
    let prod = w.fake.deployments_in(REPO, "production");
    assert_eq!(prod.len(), 1, "only one deployment runs");
    let (winner, loser) = if prod[0].sha == sha1 {
        (sha1.clone(), two)
    } else {
        (sha2.clone(), one)
    };
    std::fs::write(&gate, "").unwrap();
    w.until("the winner live", |f| live_in(f, "production", &winner))
        .await;
    // Its turn comes under the rules as they are then: the loser's branch does not contain
    // what production now runs, so it is refused then, and told why.
    let text = w
        .reply_containing(loser, "did not start when its turn came")
        .await;
    assert!(text.contains("does not contain"), "{text}");
    assert!(text.contains(&format!("`{}`", &winner[..7])), "{text}");
    w.settle().await;
    assert_eq!(w.fake.deployments_in(REPO, "production").len(), 1);
}

#[tokio::test]
async fn rollback_redeploys_the_last_good_commit_and_marks_the_bad_one() {
    let w = world().await;
    let (one, sha1) = w.staged("feature-1").await;
    promote_live(&w, one, &sha1).await;
    w.fake.close_pr(REPO, one, true).await.unwrap();
    let (two, sha2) = w.staged("feature-2").await;
    promote_live(&w, two, &sha2).await;

    w.say(two, "writer", "/rollback").await;
    w.reply_containing(two, "needs maintain permission").await;
    w.say(two, "boss", "/rollback").await;
    let text = w.reply_containing(two, "rolling production back").await;
    assert!(
        text.contains(&sha1[..7]) && text.contains(&sha2[..7]),
        "{text}"
    );
    let s1 = sha1.clone();
    w.until("the last good commit live again", |f| {
        f.deployments_in(REPO, "production")
            .iter()
            .filter(|d| d.sha == s1 && last_state(d) == "success")
            .count()
            == 1
            && f.deployments_in(REPO, "production").len() == 3
    })
    .await;
    let prod = w.fake.deployments_in(REPO, "production");
    let rollback = prod.last().unwrap();
    assert!(
        rollback.statuses[0]
            .description
            .starts_with("Rollback by @boss"),
        "{:?}",
        rollback.statuses[0].description
    );
    let s2 = sha2.clone();
    w.until("the bad deployment inactive", |f| {
        f.deployments_in(REPO, "production")
            .iter()
            .any(|d| d.sha == s2 && last_state(d) == "inactive")
    })
    .await;

    w.say(two, "boss", "/promote").await;
    let text = w.reply_containing(two, "is marked bad").await;
    assert!(text.contains("--force"), "{text}");
    w.say(two, "boss", "/promote production --force").await;
    w.reply_containing(two, "forced past its bad mark").await;
    w.until("the forced commit live", |f| {
        f.deployments_in(REPO, "production").len() == 4
            && f.deployments_in(REPO, "production")
                .last()
                .is_some_and(|d| d.sha == sha2 && last_state(d) == "success")
    })
    .await;
}

#[tokio::test]
async fn a_failed_production_deployment_rolls_back_when_the_policy_says_so() {
    let fail_flag = tempfile::tempdir().unwrap();
    let flag = fail_flag.path().join("fail");
    // Production deployments of the commit named in `flag` fail.
    let tail = format!(
        "if [ \"$GANGWAY_ENVIRONMENT\" = production ] && [ \"$GANGWAY_SHA\" = \"$(cat {} 2>/dev/null)\" ]; then echo broken; exit 4; fi",
        flag.display()
    );
    let w = World::start_with(&tail, "", &[]).await;
    w.fake.set_permission(REPO, "boss", Role::Maintain).unwrap();
    w.fake
        .put_file(REPO, "main", POLICY, "promotion:\n  auto_rollback: true\n")
        .unwrap();
    let (one, sha1) = w.staged("feature-1").await;
    promote_live(&w, one, &sha1).await;
    w.fake.close_pr(REPO, one, true).await.unwrap();
    let (two, sha2) = w.staged("feature-2").await;
    std::fs::write(&flag, &sha2).unwrap();
    w.say(two, "boss", "/promote").await;
    w.reply_containing(two, "failed").await;
    let s1 = sha1.clone();
    w.until("rolled back to the first commit", |f| {
        let prod = f.deployments_in(REPO, "production");
        prod.len() == 3 && prod[2].sha == s1 && last_state(&prod[2]) == "success"
    })
    .await;
    w.say(two, "boss", "/promote").await;
    let text = w.reply_containing(two, "is marked bad").await;
    assert!(text.contains(&sha2[..7]), "{text}");
}

#[tokio::test]
async fn merge_true_merges_the_pull_request_after_production() {
    let w = world().await;
    w.fake
        .put_file(
            REPO,
            "main",
            POLICY,
            "promotion:\n  merge: true\n  merge_method: squash\n",
        )
        .unwrap();
    let (one, sha1) = w.staged("feature-1").await;
    promote_live(&w, one, &sha1).await;
    w.until("merged", |f| f.pull(REPO, one).is_some_and(|p| p.merged))
        .await;
    w.reply_containing(one, "merged (squash)").await;
}

// ---- The train ----

const TRAIN_POLICY: &str =
    "environments: [staging, production]\ntrain:\n  delay: 30m\n  bake: 60m\n";

async fn train_world() -> (World, ManualClock) {
    let clock = ManualClock::new(chrono::Utc::now().timestamp_millis());
    let w = World::start_clocked(
        "",
        "",
        &[("GANGWAY_TIMER_TICK_MS", "3600000")],
        Arc::new(clock.clone()),
    )
    .await;
    w.fake.set_permission(REPO, "boss", Role::Maintain).unwrap();
    w.fake.put_file(REPO, "main", POLICY, TRAIN_POLICY).unwrap();
    (w, clock)
}

/// A commit pushed to main and its checks green.
async fn green_main(w: &World, message: &str) -> String {
    let pushed = w.fake.push_branch(REPO, "main", message).await.unwrap();
    w.green(REPO, &pushed.after).await;
    pushed.after
}

#[tokio::test]
async fn the_train_waits_out_pushes_bakes_and_respects_holds() {
    let (w, clock) = train_world().await;
    // A merged PR rides the train and is told when.
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature-1", "dev"))
        .await
        .unwrap();
    w.fake.close_pr(REPO, pr.number, true).await.unwrap();
    let merged = w.fake.branch_head(REPO, "main").unwrap();
    w.green(REPO, &merged).await;
    w.settle_due().await;
    assert!(w.fake.deployments_in(REPO, "staging").is_empty());
    let notice = w.reply_containing(pr.number, "on Gangway's train").await;
    assert!(
        notice.contains("staging at about") && notice.contains("**/hold**"),
        "{notice}"
    );

    // A push during the delay restarts it.
    clock.advance_ms(20 * MIN);
    let head = green_main(&w, "second change").await;
    w.settle_due().await;
    clock.advance_ms(20 * MIN);
    w.settle_due().await;
    assert!(
        w.fake.deployments_in(REPO, "staging").is_empty(),
        "deployed before the restarted quiet period ended"
    );
    clock.advance_ms(11 * MIN);
    let h = head.clone();
    w.until("the newest head live in staging", |f| {
        live_in(f, "staging", &h)
    })
    .await;
    w.settle_due().await;
    let staging = w.fake.deployments_in(REPO, "staging");
    assert_eq!(staging.len(), 1, "only the newest green head goes");
    assert!(!staging[0].production_environment && !staging[0].transient_environment);

    // A hold during the bake stops production until /unhold.
    w.say(pr.number, "boss", "/hold waiting for the release notes")
        .await;
    w.reply_containing(pr.number, "production is held").await;
    clock.advance_ms(61 * MIN);
    w.settle_due().await;
    assert!(w.fake.deployments_in(REPO, "production").is_empty());
    w.say(pr.number, "boss", "/unhold").await;
    let h = head.clone();
    w.until("the head live in production", |f| {
        live_in(f, "production", &h)
    })
    .await;
    w.settle_due().await;
    assert_eq!(w.fake.deployments_in(REPO, "production").len(), 1);
}

#[tokio::test]
async fn a_restart_during_the_bake_resumes_at_the_right_time_without_repeating() {
    let (w, clock) = train_world().await;
    let head = green_main(&w, "a change").await;
    w.settle_due().await;
    clock.advance_ms(30 * MIN);
    let h = head.clone();
    w.until("live in staging", |f| live_in(f, "staging", &h))
        .await;
    w.settle_due().await;
    let went_live = clock.now_ms();

    let (w, db) = w.stop_gangway().await;
    clock.advance_ms(30 * MIN);
    let w = w.restart_gangway(db).await;
    w.settle_due().await;
    assert!(
        w.fake.deployments_in(REPO, "production").is_empty(),
        "promoted before the bake ended"
    );
    clock.advance_ms(went_live + 60 * MIN - clock.now_ms());
    let h = head.clone();
    w.until("live in production", |f| live_in(f, "production", &h))
        .await;
    w.settle_due().await;
    assert_eq!(
        w.fake.deployments_in(REPO, "staging").len(),
        1,
        "staging not repeated"
    );
    assert_eq!(w.fake.deployments_in(REPO, "production").len(), 1);
}

#[tokio::test]
async fn a_deployment_given_up_frees_the_environment() {
    let w = world().await;
    let (one, sha1) = w.staged("feature-1").await;
    // GitHub refuses the production deployment for good (a 4xx is not retried).
    w.fake.inject(
        Fault::status(403)
            .on("POST", "/repos/octo/app/deployments")
            .times(1),
    );
    w.allow_dead(gangway::jobs::JobKind::EnvDeploy);
    w.say(one, "boss", "/promote").await;
    w.reply_containing(one, "promoting commit").await;
    w.reply_containing(one, "gave up deploying").await;
    w.settle().await;
    let dead = w.dead_jobs().await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].kind(), Ok(gangway::jobs::JobKind::EnvDeploy));
    assert!(
        dead[0].last_error.as_deref().unwrap_or("").contains("403"),
        "{dead:?}"
    );
    assert!(w.fake.deployments_in(REPO, "production").is_empty());
    // Not stuck busy: the next /promote goes ahead.
    promote_live(&w, one, &sha1).await;
    assert_eq!(w.fake.deployments_in(REPO, "production").len(), 1);
}
