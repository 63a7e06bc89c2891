//! Authors sign off before production (`train.signoff: authors`), end to end: the train asks
//! each author of a carried pull request once; one answers `/good`, the other says nothing
//! until the timeout; a stranger's `/good` counts for nothing; `/bad` marks the commit bad and
//! stops the train, told on every pull request of the round. The policy is the one
//! docs/workflows.md shows as "an hourly train with sign-off and a panic button".

use crate::support;

use std::sync::Arc;

use fake_github::{FakeGitHub, PrSpec, Role};
use gangway::clock::ManualClock;
use support::world::{REPO, World, last_state};

const MIN: i64 = 60_000;
const POLICY_PATH: &str = ".github/gangway.yml";

/// docs/workflows.md, "An hourly train with sign-off and a panic button" (a test there checks
/// the page shows exactly this).
pub const HOURLY_TRAIN: &str = "\
environments: [staging, production]
train:
  delay: 10m
  bake: 1h
  signoff: authors
  signoff_timeout: 2h
  signoff_on_timeout: proceed
permissions:
  hold: write
  bad: write
";

fn live_in(f: &FakeGitHub, env: &str, sha: &str) -> bool {
    f.deployments_in(REPO, env)
        .iter()
        .any(|d| d.sha == sha && last_state(d) == "success")
}

async fn train_world(policy: &str) -> (World, ManualClock) {
    let clock = ManualClock::new(chrono::Utc::now().timestamp_millis());
    let w = World::start_clocked(
        "",
        "",
        &[("GANGWAY_TIMER_TICK_MS", "3600000")],
        Arc::new(clock.clone()),
    )
    .await;
    for (who, role) in [
        ("boss", Role::Maintain),
        ("writer", Role::Write),
        ("ann", Role::Write),
        ("bob", Role::Read),
    ] {
        w.fake.set_permission(REPO, who, role).unwrap();
    }
    w.fake.put_file(REPO, "main", POLICY_PATH, policy).unwrap();
    (w, clock)
}

/// A first commit on main all the way to production (no pull request: nobody to ask).
async fn first_release(w: &World, clock: &ManualClock) -> String {
    let pushed = w.fake.push_branch(REPO, "main", "first").await.unwrap();
    w.green(REPO, &pushed.after).await;
    w.settle_due().await;
    clock.advance_ms(10 * MIN);
    let h = pushed.after.clone();
    w.until("first in staging", |f| live_in(f, "staging", &h))
        .await;
    w.settle_due().await;
    clock.advance_ms(61 * MIN);
    let h = pushed.after.clone();
    w.until("first in production", |f| live_in(f, "production", &h))
        .await;
    w.settle_due().await;
    pushed.after
}

/// ann's and bob's pull requests merged and the head green, carried to staging and baked: the
/// train now asks both authors. Returns (ann's PR, bob's PR, head).
async fn two_authors_asked(w: &World, clock: &ManualClock) -> (u64, u64, String) {
    let mut numbers = Vec::new();
    for (branch, author) in [("ann-change", "ann"), ("bob-change", "bob")] {
        let pr = w
            .fake
            .open_pr(PrSpec::new(REPO, branch, author))
            .await
            .unwrap();
        w.fake.close_pr(REPO, pr.number, true).await.unwrap();
        numbers.push(pr.number);
    }
    let head = w.fake.branch_head(REPO, "main").unwrap();
    w.green(REPO, &head).await;
    w.settle_due().await;
    clock.advance_ms(10 * MIN);
    let h = head.clone();
    w.until("the head in staging", |f| live_in(f, "staging", &h))
        .await;
    w.settle_due().await;
    clock.advance_ms(61 * MIN);
    w.settle_due().await;
    let (ann, bob) = (numbers[0], numbers[1]);
    let asked = w.reply_containing(ann, "Comment **/good**").await;
    assert!(asked.starts_with("🚦 @ann, commit"), "{asked}");
    w.reply_containing(bob, "Comment **/good**").await;
    (ann, bob, head)
}

fn asked_count(w: &World, number: u64) -> usize {
    w.fake
        .comments(REPO, number)
        .iter()
        .filter(|c| c.body.contains("Comment **/good**"))
        .count()
}

#[tokio::test]
async fn one_author_signs_off_the_other_is_silent_until_the_timeout_and_a_strangers_good_counts_for_nothing()
 {
    let (w, clock) = train_world(HOURLY_TRAIN).await;
    let first = first_release(&w, &clock).await;
    let (ann, bob, head) = two_authors_asked(&w, &clock).await;

    // Attack: someone else's /good on bob's pull request is refused and recorded nowhere.
    for stranger in ["mallory", "writer", "boss"] {
        w.say(bob, stranger, "/good").await;
    }
    w.settle_due().await;
    let refusals = w
        .fake
        .comments(REPO, bob)
        .iter()
        .filter(|c| {
            c.body
                .contains("only the author of this pull request (@bob)")
        })
        .count();
    assert_eq!(refusals, 3);
    w.say(ann, "ann", "/good").await;
    let thanks = w.reply_containing(ann, "sign-off of commit").await;
    assert!(thanks.contains("waits for 1 more"), "{thanks}");
    clock.advance_ms(60 * MIN);
    w.settle_due().await;
    assert!(
        !live_in(&w.fake, "production", &head),
        "production went before bob answered or the timeout passed"
    );
    assert_eq!(w.fake.deployments_in(REPO, "production").len(), 1);
    assert!(live_in(&w.fake, "production", &first));

    // Two hours after the questions: silence is consent under `proceed`.
    clock.advance_ms(61 * MIN);
    let h = head.clone();
    w.until("the head in production after the timeout", |f| {
        live_in(f, "production", &h)
    })
    .await;
    w.settle_due().await;
    // Each author was asked once, however many times the train looked.
    assert_eq!(asked_count(&w, ann), 1);
    assert_eq!(asked_count(&w, bob), 1);
    let rows = w
        .app
        .store()
        .recent_signoffs(gangway::types::RepoId(w.repo_id), 10)
        .await
        .unwrap();
    let answers: Vec<String> = rows.iter().map(gangway::engine::signoff::summary).collect();
    assert_eq!(
        answers,
        [format!("#{ann} @ann good"), format!("#{bob} @bob waiting")]
    );
    let envs = gangway::operator::envs(w.app.store(), clock_now(&clock), false)
        .await
        .unwrap();
    let signoffs: Vec<(u64, &str, &str)> = envs
        .iter()
        .filter(|e| e.environment == "(sign-off)")
        .map(|e| (e.pr, e.state.as_str(), e.host.as_str()))
        .collect();
    assert_eq!(
        signoffs,
        [
            (ann, "signoff good", "(@ann)"),
            (bob, "signoff waiting", "(@bob)")
        ]
    );
}

fn clock_now(clock: &ManualClock) -> i64 {
    use gangway::clock::Clock;
    clock.now_ms()
}

#[tokio::test]
async fn bad_from_an_author_marks_the_commit_and_stops_the_train_on_every_pr_and_a_strangers_bad_does_nothing()
 {
    let (w, clock) = train_world(HOURLY_TRAIN).await;
    first_release(&w, &clock).await;
    let (ann, bob, head) = two_authors_asked(&w, &clock).await;
    let sha = gangway::types::CommitSha::parse(&head).unwrap();
    let repo = gangway::types::RepoId(w.repo_id);

    // Attack: a stranger's /bad (no access) and a reader's on someone else's pull request.
    w.say(ann, "mallory", "/bad it is all wrong").await;
    w.fake.set_permission(REPO, "reader", Role::Read).unwrap();
    w.say(ann, "reader", "/bad it is all wrong").await;
    w.settle_due().await;
    assert!(w.app.store().bad_sha(repo, &sha).await.unwrap().is_none());
    w.reply_containing(ann, "`/bad` is for the author of this pull request (@ann)")
        .await;

    // bob, who only reads the repository, may say /bad on his own pull request.
    w.say(bob, "bob", "/bad the checkout page is blank").await;
    let said = w.reply_containing(bob, "said **/bad**").await;
    assert!(said.contains("the checkout page is blank"), "{said}");
    let told = w.reply_containing(ann, "said **/bad**").await;
    assert!(told.contains("marked bad in staging"), "{told}");
    let mark = w
        .app
        .store()
        .bad_sha(repo, &sha)
        .await
        .unwrap()
        .expect("marked bad");
    assert_eq!(mark.environment, "staging");
    assert_eq!(mark.marked_by, "bob");

    // The train carries it no further, even after the timeout.
    clock.advance_ms(3 * 60 * MIN);
    w.settle_due().await;
    assert!(!live_in(&w.fake, "production", &head));
    assert_eq!(w.fake.deployments_in(REPO, "production").len(), 1);
}

#[tokio::test]
async fn under_stop_a_silent_round_stops_the_train_and_says_so_on_every_pr() {
    let policy = HOURLY_TRAIN.replace("signoff_on_timeout: proceed", "signoff_on_timeout: stop");
    let (w, clock) = train_world(&policy).await;
    first_release(&w, &clock).await;
    let (ann, bob, head) = two_authors_asked(&w, &clock).await;
    w.say(ann, "ann", "/good").await;
    w.reply_containing(ann, "sign-off of commit").await;
    clock.advance_ms(121 * MIN);
    w.settle_due().await;
    for pr in [ann, bob] {
        let told = w.reply_containing(pr, "The train stops for commit").await;
        assert!(told.contains("no **/good** from @bob"), "{told}");
    }
    clock.advance_ms(3 * 60 * MIN);
    w.settle_due().await;
    assert!(!live_in(&w.fake, "production", &head));
    let told = w
        .fake
        .comments(REPO, ann)
        .iter()
        .filter(|c| c.body.contains("The train stops for commit"))
        .count();
    let queue = w.app.running.as_ref().expect("running").queue().clone();
    let retried: Vec<String> = queue
        .jobs(None)
        .await
        .unwrap()
        .iter()
        .filter(|j| j.attempts > 1 || j.last_error.is_some())
        .map(|j| format!("{j:?}"))
        .collect();
    assert_eq!(
        told,
        1,
        "said once: retried {retried:?}; {:?}",
        w.fake
            .comments(REPO, ann)
            .iter()
            .map(|c| c.body.clone())
            .collect::<Vec<_>>()
    );
}
