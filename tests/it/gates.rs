//! Gates that cannot be walked around, written as the attacks: a deployment made by hand in a
//! PR's environment runs only where Gangway would stage that PR itself, and only on the word of
//! someone with the `stage` permission; a hold stops a promotion (or the train) that was
//! accepted before it and waits for a retry; a bot's pull request waits for a maintainer unless
//! the policy says otherwise.

use crate::support;

use std::sync::Arc;

use fake_github::{Deployment, FakeGitHub, Fault, PrSpec, Role};
use gangway::clock::ManualClock;
use support::world::{REPO, World, last_state};

const MIN: i64 = 60_000;
const POLICY: &str = ".github/gangway.yml";

fn deployment(f: &FakeGitHub, id: u64) -> Option<Deployment> {
    f.deployments(REPO).into_iter().find(|d| d.id == id)
}

// ---- Deployments made by hand in a PR's environment ----

/// `login` creates a deployment of `sha` in PR `number`'s environment (`pr-{number}`) with
/// their own token.
async fn by_hand(w: &World, number: u64, sha: &str, login: &str) -> u64 {
    let (id, delivery) = w
        .fake
        .create_deployment_as(REPO, sha, &format!("pr-{number}"), login)
        .await
        .expect("deployment");
    assert!(
        delivery.ok(),
        "Gangway refused the deployment delivery: {:?}",
        delivery.status
    );
    id
}

/// Waits for the hand-made deployment's `failure` status, and checks that nothing ran: no
/// driver run at all, and no other status on it. Returns the status's description.
async fn refused(w: &World, id: u64) -> String {
    w.until("the hand-made deployment failed", |f| {
        deployment(f, id).is_some_and(|d| last_state(&d) == "failure")
    })
    .await;
    w.settle().await;
    let d = deployment(&w.fake, id).expect("deployment");
    let states: Vec<&str> = d.statuses.iter().map(|s| s.state.as_str()).collect();
    assert_eq!(states, ["failure"], "{:?}", d.statuses);
    // Nothing ran for it. (Gangway's own preview of a green PR may deploy meanwhile: the
    // deployment's event makes Gangway look at the PR, and that is its own, gated, decision.)
    let runs: Vec<String> = w
        .driver_runs()
        .into_iter()
        .filter(|r| r.split_whitespace().last() == Some(id.to_string().as_str()))
        .collect();
    assert!(runs.is_empty(), "the driver ran it: {runs:?}");
    d.statuses[0].description.clone()
}

/// A world where `writer` may stage (write) and `reader` may only read.
async fn adoption_world() -> World {
    let w = World::start().await;
    w.fake.set_permission(REPO, "writer", Role::Write).unwrap();
    w.fake.set_permission(REPO, "reader", Role::Read).unwrap();
    w.fake.set_permission(REPO, "boss", Role::Maintain).unwrap();
    w
}

/// A green check on `sha` that Gangway has not heard of (no check event): the PR would be
/// staged if Gangway looked, and has not been yet.
fn quietly_green(w: &World, sha: &str) {
    w.fake
        .add_check_run(REPO, sha, "build", "completed", Some("success"))
        .unwrap();
}

#[tokio::test]
async fn a_hand_made_deployment_on_a_draft_pr_runs_nothing() {
    let w = adoption_world().await;
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "wip", "alice").draft())
        .await
        .unwrap();
    w.green(REPO, &pr.head_sha).await;
    w.settle().await;
    let id = by_hand(&w, pr.number, &pr.head_sha, "writer").await;
    let why = refused(&w, id).await;
    assert!(why.contains("draft"), "{why}");
}

#[tokio::test]
async fn a_hand_made_deployment_on_a_pr_with_a_failing_required_check_runs_nothing() {
    let w = adoption_world().await;
    w.fake
        .put_file(
            REPO,
            "main",
            POLICY,
            "preview:\n  required_checks: [build, lint]\n",
        )
        .unwrap();
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "red", "alice"))
        .await
        .unwrap();
    w.fake
        .add_check_run(REPO, &pr.head_sha, "lint", "completed", Some("failure"))
        .unwrap();
    w.green(REPO, &pr.head_sha).await;
    w.settle().await;
    let id = by_hand(&w, pr.number, &pr.head_sha, "writer").await;
    let why = refused(&w, id).await;
    assert!(why.contains("lint"), "{why}");
}

#[tokio::test]
async fn a_hand_made_deployment_by_a_reader_runs_nothing() {
    let w = adoption_world().await;
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    quietly_green(&w, &pr.head_sha);
    w.settle().await;
    let id = by_hand(&w, pr.number, &pr.head_sha, "reader").await;
    let why = refused(&w, id).await;
    assert!(why.contains("@reader") && why.contains("read"), "{why}");
}

#[tokio::test]
async fn a_hand_made_deployment_by_an_app_runs_nothing_by_default() {
    let w = adoption_world().await;
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    quietly_green(&w, &pr.head_sha);
    w.settle().await;
    // An Actions token (or any App's) has no collaborator permission to ask about.
    let id = by_hand(&w, pr.number, &pr.head_sha, "github-actions[bot]").await;
    let why = refused(&w, id).await;
    assert!(why.contains("github-actions[bot]"), "{why}");
}

#[tokio::test]
async fn the_policy_turns_adoption_off_or_lets_apps_in() {
    let w = adoption_world().await;
    w.fake
        .put_file(REPO, "main", POLICY, "preview:\n  adopt: off\n")
        .unwrap();
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    quietly_green(&w, &pr.head_sha);
    w.settle().await;
    let id = by_hand(&w, pr.number, &pr.head_sha, "writer").await;
    let why = refused(&w, id).await;
    assert!(why.contains("adopt"), "{why}");

    let w = adoption_world().await;
    w.fake
        .put_file(REPO, "main", POLICY, "preview:\n  adopt: people_and_apps\n")
        .unwrap();
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    quietly_green(&w, &pr.head_sha);
    w.settle().await;
    let id = by_hand(&w, pr.number, &pr.head_sha, "github-actions[bot]").await;
    w.until("the App's deployment live", |f| {
        deployment(f, id).is_some_and(|d| last_state(&d) == "success")
    })
    .await;
    let runs = w.driver_runs();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert!(runs[0].ends_with(&format!(" {id}")), "{runs:?}");
}

#[tokio::test]
async fn a_hand_made_deployment_on_an_unstaged_pr_runs_nothing() {
    let w = adoption_world().await;
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    w.green(REPO, &pr.head_sha).await;
    w.until_live("preview live").await;
    w.say(pr.number, "writer", "/unstage").await;
    let sha = pr.head_sha.clone();
    w.until("the preview torn down", |f| {
        f.deployments(REPO)
            .iter()
            .any(|d| d.sha == sha && last_state(d) == "inactive")
    })
    .await;
    w.settle().await;
    let before = w.driver_runs().len();
    let (id, delivery) = w
        .fake
        .create_deployment_as(REPO, &pr.head_sha, &format!("pr-{}", pr.number), "writer")
        .await
        .unwrap();
    assert!(delivery.ok());
    w.until("the hand-made deployment failed", |f| {
        deployment(f, id).is_some_and(|d| last_state(&d) == "failure")
    })
    .await;
    w.settle().await;
    let d = deployment(&w.fake, id).unwrap();
    assert_eq!(d.statuses.len(), 1, "{:?}", d.statuses);
    assert!(
        d.statuses[0].description.contains("/unstage"),
        "{:?}",
        d.statuses[0].description
    );
    assert_eq!(w.driver_runs().len(), before, "{:?}", w.driver_runs());
}

#[tokio::test]
async fn a_hand_made_deployment_of_a_commit_other_than_the_head_runs_nothing() {
    let w = adoption_world().await;
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    let old = pr.head_sha.clone();
    let pushed = w.fake.push_pr(REPO, pr.number).await.unwrap();
    quietly_green(&w, &old);
    quietly_green(&w, &pushed.after);
    w.settle().await;
    let id = by_hand(&w, pr.number, &old, "writer").await;
    let why = refused(&w, id).await;
    assert!(why.contains(&pushed.after[..7]), "{why}");
}

#[tokio::test]
async fn a_hand_made_deployment_by_a_writer_on_a_green_head_runs() {
    let w = adoption_world().await;
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    quietly_green(&w, &pr.head_sha);
    w.settle().await;
    assert!(w.fake.deployments(REPO).is_empty());
    let id = by_hand(&w, pr.number, &pr.head_sha, "writer").await;
    w.until("the hand-made deployment live", |f| {
        deployment(f, id).is_some_and(|d| last_state(&d) == "success")
    })
    .await;
    // The checks' event comes later: the commit has its preview, nothing runs twice.
    w.green(REPO, &pr.head_sha).await;
    w.settle().await;
    assert_eq!(w.fake.deployments(REPO).len(), 1);
    let runs = w.driver_runs();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert!(runs[0].ends_with(&format!(" {id}")), "{runs:?}");
}

// ---- Holds against promotions already accepted ----

async fn clocked_world() -> (World, ManualClock) {
    let clock = ManualClock::new(chrono::Utc::now().timestamp_millis());
    let w = World::start_clocked(
        "",
        "",
        &[("GANGWAY_TIMER_TICK_MS", "3600000")],
        Arc::new(clock.clone()),
    )
    .await;
    w.fake.set_permission(REPO, "boss", Role::Maintain).unwrap();
    w.fake.set_permission(REPO, "writer", Role::Write).unwrap();
    (w, clock)
}

/// As [`World::staged`], on the test's clock: then everything due has run.
async fn staged(w: &World, branch: &str) -> (u64, String) {
    let staged = w.staged(branch).await;
    w.settle_due().await;
    staged
}

fn production_runs(w: &World) -> Vec<String> {
    w.driver_runs()
        .into_iter()
        .filter(|r| r.contains(" production "))
        .collect()
}

#[tokio::test]
async fn a_hold_placed_while_an_accepted_promotion_waits_to_retry_stops_it() {
    let (w, clock) = clocked_world().await;
    let (number, sha) = staged(&w, "feature").await;
    // GitHub fails the production deployment's creation once: the job waits for its retry.
    w.fake.inject(
        Fault::status(502)
            .on("POST", "/repos/octo/app/deployments")
            .times(1),
    );
    w.say(number, "boss", "/promote").await;
    w.reply_containing(number, "promoting commit").await;
    w.settle_due().await;
    assert!(w.fake.deployments_in(REPO, "production").is_empty());

    // The panic button, while the accepted promotion waits.
    w.say(number, "writer", "/hold incident 42").await;
    w.reply_containing(number, "production is held").await;
    clock.advance_ms(10 * MIN);
    w.settle_due().await;

    let text = w.reply_containing(number, "was stopped").await;
    assert!(
        text.contains(&sha[..7]) && text.contains("@writer") && text.contains("incident 42"),
        "{text}"
    );
    assert!(
        w.fake.deployments_in(REPO, "production").is_empty(),
        "a deployment was created under the hold"
    );
    assert!(production_runs(&w).is_empty(), "{:?}", w.driver_runs());

    // Not stuck busy: once the hold is lifted, the commit can be promoted again.
    w.say(number, "boss", "/unhold").await;
    w.reply_containing(number, "no longer held").await;
    w.say(number, "boss", "/promote").await;
    let s = sha.clone();
    w.until("live in production", |f| {
        f.deployments_in(REPO, "production")
            .iter()
            .any(|d| d.sha == s && last_state(d) == "success")
    })
    .await;
}

#[tokio::test]
async fn a_hold_placed_before_the_driver_runs_fails_the_created_deployment() {
    let (w, clock) = clocked_world().await;
    let (number, sha) = staged(&w, "feature").await;
    // The production deployment is created, then its first status fails once: the job waits
    // for its retry with the deployment standing on GitHub.
    w.fake.inject(
        Fault::status(502)
            .on("POST", "/repos/octo/app/deployments/")
            .times(1),
    );
    w.say(number, "boss", "/promote").await;
    w.reply_containing(number, "promoting commit").await;
    w.settle_due().await;
    assert_eq!(w.fake.deployments_in(REPO, "production").len(), 1);

    w.say(number, "writer", "/hold incident 43").await;
    w.reply_containing(number, "production is held").await;
    clock.advance_ms(10 * MIN);
    w.settle_due().await;

    let text = w.reply_containing(number, "was stopped").await;
    assert!(
        text.contains("@writer") && text.contains("incident 43"),
        "{text}"
    );
    let prod = w.fake.deployments_in(REPO, "production");
    assert_eq!(prod.len(), 1);
    assert_eq!(prod[0].sha, sha);
    assert_eq!(last_state(&prod[0]), "failure", "{:?}", prod[0].statuses);
    let why = &prod[0].statuses.last().unwrap().description;
    assert!(why.contains("held by @writer"), "{why}");
    assert!(production_runs(&w).is_empty(), "{:?}", w.driver_runs());
}

#[tokio::test]
async fn rollback_goes_ahead_during_a_hold_and_says_so() {
    let w = World::start().await;
    w.fake.set_permission(REPO, "boss", Role::Maintain).unwrap();
    let (one, sha1) = staged(&w, "feature-1").await;
    w.say(one, "boss", "/promote").await;
    let s1 = sha1.clone();
    w.until("one live", |f| {
        f.deployments_in(REPO, "production")
            .iter()
            .any(|d| d.sha == s1 && last_state(d) == "success")
    })
    .await;
    w.fake.close_pr(REPO, one, true).await.unwrap();
    let (two, sha2) = staged(&w, "feature-2").await;
    w.say(two, "boss", "/promote").await;
    let s2 = sha2.clone();
    w.until("two live", |f| {
        f.deployments_in(REPO, "production")
            .iter()
            .any(|d| d.sha == s2 && last_state(d) == "success")
    })
    .await;

    w.say(two, "boss", "/hold it is on fire").await;
    w.reply_containing(two, "production is held").await;
    w.say(two, "boss", "/rollback").await;
    let text = w.reply_containing(two, "rolling production back").await;
    assert!(
        text.contains("held") && text.contains("way out"),
        "the reply says the hold does not stop a rollback: {text}"
    );
    let s1 = sha1.clone();
    w.until("the last good commit live again under the hold", |f| {
        f.deployments_in(REPO, "production")
            .last()
            .is_some_and(|d| d.sha == s1 && last_state(d) == "success")
    })
    .await;
}

#[tokio::test]
async fn the_train_respects_a_hold_placed_while_its_deployment_waits() {
    let (w, clock) = clocked_world().await;
    w.fake
        .put_file(
            REPO,
            "main",
            POLICY,
            "environments: [staging, production]\ntrain:\n  delay: 30m\n  bake: 60m\n",
        )
        .unwrap();
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature-1", "dev"))
        .await
        .unwrap();
    let pushed = w.fake.push_branch(REPO, "main", "a change").await.unwrap();
    let head = pushed.after.clone();
    w.green(REPO, &head).await;
    w.settle_due().await;
    // The train's staging deployment is claimed, and GitHub fails its creation once.
    w.fake.inject(
        Fault::status(502)
            .on("POST", "/repos/octo/app/deployments")
            .times(1),
    );
    clock.advance_ms(31 * MIN);
    w.settle_due().await;
    assert!(w.fake.deployments_in(REPO, "staging").is_empty());

    w.say(pr.number, "boss", "/hold staging deploys are broken")
        .await;
    w.reply_containing(pr.number, "staging is held").await;
    clock.advance_ms(10 * MIN);
    w.settle_due().await;
    assert!(
        w.fake.deployments_in(REPO, "staging").is_empty(),
        "the train deployed under the hold"
    );
    assert!(w.driver_runs().iter().all(|r| !r.contains(" staging ")));

    // Lifting the hold lets the train carry the same commit on.
    w.say(pr.number, "boss", "/unhold staging").await;
    let h = head.clone();
    w.until("the head live in staging", |f| {
        f.deployments_in(REPO, "staging")
            .iter()
            .any(|d| d.sha == h && last_state(d) == "success")
    })
    .await;
    w.settle_due().await;
}

// ---- Pull requests by bots ----

#[tokio::test]
async fn a_bot_pr_waits_for_a_maintainer_by_default() {
    let w = World::start().await;
    w.fake.set_permission(REPO, "maria", Role::Write).unwrap();
    let pr = w
        .fake
        .open_pr(PrSpec::new(
            REPO,
            "dependabot/cargo/serde-1.0.999",
            "dependabot[bot]",
        ))
        .await
        .unwrap();
    w.green(REPO, &pr.head_sha).await;
    w.settle().await;
    assert!(
        w.fake.deployments(REPO).is_empty(),
        "a bot's PR was deployed without approval"
    );
    assert!(w.driver_runs().is_empty());
    let body = w.sticky_body(REPO, pr.number);
    assert!(
        body.contains("Waiting for approval") && body.contains("bot"),
        "{body}"
    );
    // Positive control: a maintainer's /stage of that commit deploys it.
    w.say(pr.number, "maria", "/stage").await;
    w.until_live("live after a maintainer's /stage").await;
}

#[tokio::test]
async fn a_bot_pr_is_staged_like_any_other_when_the_policy_says_auto() {
    let w = World::start().await;
    w.fake
        .put_file(REPO, "main", POLICY, "preview:\n  bots: auto\n")
        .unwrap();
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "renovate/serde", "renovate[bot]"))
        .await
        .unwrap();
    w.green(REPO, &pr.head_sha).await;
    w.until_live("the bot's PR live").await;
    w.settle().await;
    assert_eq!(w.driver_runs().len(), 1);
}
