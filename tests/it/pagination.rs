//! Lists longer than one page of GitHub's answers: everything Gangway lists is read to its last
//! page. A list read only in part must never pass for the whole one: the reconciler would take
//! the rest for removed (and tear their previews down), the sticky lookup would post a second
//! comment, and the train would miss merged pull requests.

use crate::support;

use std::sync::Arc;

use fake_github::{FakeConfig, FakeGitHub, Fault, PrSpec};
use gangway::clock::ManualClock;
use gangway::github::GitHub;
use gangway::metrics::Metrics;
use gangway::model::Ancestry;
use gangway::types::{CommitSha, InstallationId};
use secrecy::SecretString;
use support::world::{REPO, World};

const MIN: i64 = 60_000;

/// Timer loops tick once at start, then only when the test says so.
const QUIET: &[(&str, &str)] = &[("GANGWAY_TIMER_TICK_MS", "3600000")];

async fn clocked() -> (World, ManualClock) {
    let clock = ManualClock::new(chrono::Utc::now().timestamp_millis());
    let w = World::start_clocked("", "", QUIET, Arc::new(clock.clone())).await;
    (w, clock)
}

fn live_in(f: &FakeGitHub, repo: &str, sha: &str) -> bool {
    f.deployments(repo)
        .iter()
        .any(|d| d.sha == sha && d.statuses.last().is_some_and(|s| s.state == "success"))
}

/// GitHub tells Gangway the App was installed with `repo` (so Gangway knows the repository
/// before the reconciler lists it).
async fn installed(w: &World, installation: u64, account: &str, repo: &str, repo_id: u64) {
    let event = serde_json::json!({
        "action": "created",
        "installation": {"id": installation, "account": {"login": account, "id": installation, "type": "Organization"}},
        "repositories": [{"id": repo_id, "full_name": repo, "name": repo.split('/').nth(1), "private": false}],
        "sender": {"login": "admin", "id": 9, "type": "User"}
    });
    assert!(w.fake.send_event("installation", event).await.ok());
    w.settle().await;
}

/// A live preview of a new PR in `repo`; returns its head sha.
async fn live_preview(w: &World, repo: &str) -> String {
    let pr = w
        .fake
        .open_pr(PrSpec::new(repo, "feature", "alice"))
        .await
        .unwrap();
    w.green(repo, &pr.head_sha).await;
    let sha = pr.head_sha.clone();
    w.until("the preview is live", |f| live_in(f, repo, &sha))
        .await;
    sha
}

/// Runs the reconciler (by the test's clock) and waits for what it started; then the reaper,
/// which tears down what the reconciler found unreachable.
async fn reconcile(w: &World, clock: &ManualClock) {
    for _ in 0..2 {
        clock.advance_ms(11 * MIN);
        let ran = w.tick().await;
        assert!(ran.contains(&"reconciler"), "{ran:?}");
        w.settle().await;
    }
}

fn assert_untouched(w: &World, repo: &str, sha: &str) {
    let runs = w.driver_runs();
    assert!(
        !runs.iter().any(|r| r.starts_with("teardown")),
        "a preview was torn down: {runs:?}"
    );
    assert!(live_in(&w.fake, repo, sha), "the preview is no longer live");
}

#[tokio::test]
async fn a_preview_in_a_repository_on_the_third_page_survives_the_reconciler() {
    let (w, clock) = clocked().await;
    for i in 0..250 {
        w.fake
            .add_repo(1, &format!("octo/r{i:03}"), "main")
            .unwrap();
    }
    // Listed 252nd: on the third page of 100.
    let late = "octo/late";
    let id = w.fake.add_repo(1, late, "main").unwrap().id;
    installed(&w, 1, "octo", late, id).await;
    let sha = live_preview(&w, late).await;
    reconcile(&w, &clock).await;
    assert_untouched(&w, late, &sha);
    let third_page = w.fake.calls().iter().any(|c| {
        c.path == "/installation/repositories"
            && c.query.as_deref().is_some_and(|q| q.contains("page=3"))
    });
    assert!(third_page, "the third page of repositories was never read");
}

#[tokio::test]
async fn a_preview_in_an_installation_on_the_second_page_survives_the_reconciler() {
    let (w, clock) = clocked().await;
    for id in 100..250 {
        w.fake.add_installation(id, &format!("org{id}"));
    }
    // Listed 152nd: on the second page of 100.
    w.fake.add_installation(900, "acme");
    let late = "acme/late";
    let id = w.fake.add_repo(900, late, "main").unwrap().id;
    installed(&w, 900, "acme", late, id).await;
    let sha = live_preview(&w, late).await;
    reconcile(&w, &clock).await;
    assert_untouched(&w, late, &sha);
}

#[tokio::test]
async fn the_sticky_comment_on_the_second_page_is_found_and_edited_not_posted_twice() {
    let w = World::start().await;
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    w.settle().await;
    assert!(w.stickies(REPO, pr.number).is_empty(), "a sticky too early");
    // A long conversation, then Gangway's first sticky is made but its answer is lost: the retry
    // must find it among the comments (the 151st: on the second page) instead of posting again.
    w.fake.add_comments(REPO, pr.number, "bob", 150).unwrap();
    w.fake.inject(Fault::answer_lost(502).on(
        "POST",
        &format!("/repos/{REPO}/issues/{}/comments", pr.number),
    ));
    w.green(REPO, &pr.head_sha).await;
    w.until_live("the preview is live").await;
    w.settle().await;
    let host = support::world::preview_host(REPO, pr.number, &pr.head_sha);
    w.until("the sticky names the live preview", |_| {
        w.sticky_body(REPO, pr.number).contains(&host)
    })
    .await;
    let stickies = w.stickies(REPO, pr.number);
    assert_eq!(stickies.len(), 1, "{stickies:?}");
    assert!(
        !stickies[0].history.is_empty(),
        "the lost comment was not edited: {stickies:?}"
    );
}

fn client(fake: &FakeGitHub) -> GitHub {
    GitHub::new(
        fake.url(),
        support::APP_ID,
        &SecretString::from(support::KEY_PEM.to_owned()),
        Metrics::new(),
    )
    .unwrap()
}

async fn long_branch(absolute_links: bool) -> (FakeGitHub, String, Vec<String>) {
    let mut config = FakeConfig::new(support::APP_ID, support::PUBLIC_KEY_PEM);
    config.absolute_links = absolute_links;
    let fake = FakeGitHub::start(config).await.unwrap();
    fake.add_installation(1, "octo");
    let base = fake.add_repo(1, REPO, "main").unwrap().head_sha;
    let commits: Vec<String> = (0..300)
        .map(|i| fake.add_commit(REPO, "long", &format!("step {i}")).unwrap())
        .collect();
    (fake, base, commits)
}

#[tokio::test]
async fn a_compare_of_300_commits_lists_every_one_and_judges_ancestry() {
    for absolute_links in [false, true] {
        let (fake, base, commits) = long_branch(absolute_links).await;
        let gh = client(&fake);
        let base = CommitSha::parse(&base).unwrap();
        let head = CommitSha::parse(commits.last().unwrap()).unwrap();
        let cmp = gh
            .compare(InstallationId(1), REPO, &base, &head)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(cmp.ancestry, Ancestry::Ahead);
        let listed: Vec<String> = cmp.commits.iter().map(|c| c.to_string()).collect();
        assert_eq!(listed, commits, "absolute links: {absolute_links}");
        // The other way round: the environment's commit is newer than ours.
        let back = gh
            .compare(InstallationId(1), REPO, &head, &base)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(back.ancestry, Ancestry::Behind);
        assert!(back.commits.is_empty());
    }
}

#[tokio::test]
async fn the_pages_of_a_list_are_followed_with_absolute_links_too() {
    let mut config = FakeConfig::new(support::APP_ID, support::PUBLIC_KEY_PEM);
    config.absolute_links = true;
    let fake = FakeGitHub::start(config).await.unwrap();
    for id in 1..=130 {
        fake.add_installation(id, &format!("org{id}"));
    }
    fake.add_repo(7, "org7/app", "main").unwrap();
    let pr = fake
        .open_pr(PrSpec::new("org7/app", "feature", "alice"))
        .await
        .unwrap();
    fake.add_comments("org7/app", pr.number, "bob", 230)
        .unwrap();
    let gh = client(&fake);
    let installations = gh.installations().await.unwrap();
    assert_eq!(installations.len(), 130);
    assert_eq!(installations[129].login(), "org130");
    let comments = gh
        .issue_comments(
            InstallationId(7),
            "org7/app",
            gangway::types::PrNumber(pr.number),
        )
        .await
        .unwrap();
    assert_eq!(comments.len(), 230);
    assert_eq!(comments[229].body, "comment 230");
}

/// The store's part in conditional lists, in memory.
#[derive(Default)]
struct MemoryCache(std::sync::Mutex<std::collections::HashMap<String, (String, String)>>);

impl gangway::github::rest::PageCache for MemoryCache {
    type Error = gangway::github::GitHubError;

    async fn cached(&self, route: &str) -> Result<Option<(String, String)>, Self::Error> {
        Ok(self.0.lock().unwrap().get(route).cloned())
    }

    async fn store(&self, route: &str, etag: &str, text: &str) -> Result<(), Self::Error> {
        self.0
            .lock()
            .unwrap()
            .insert(route.to_owned(), (etag.to_owned(), text.to_owned()));
        Ok(())
    }
}

#[tokio::test]
async fn a_conditional_list_of_several_pages_is_read_whole_then_costs_nothing_unchanged() {
    let mut config = FakeConfig::new(support::APP_ID, support::PUBLIC_KEY_PEM);
    config.absolute_links = true;
    let fake = FakeGitHub::start(config).await.unwrap();
    fake.add_installation(1, "octo");
    fake.add_repo(1, REPO, "main").unwrap();
    for i in 0..230 {
        fake.open_pr(PrSpec::new(REPO, &format!("f{i}"), "alice"))
            .await
            .unwrap();
    }
    let gh = client(&fake);
    let cache = MemoryCache::default();
    let numbers = |pulls: Vec<serde_json::Value>| -> Vec<u64> {
        let mut n: Vec<u64> = pulls.iter().filter_map(|p| p["number"].as_u64()).collect();
        n.sort_unstable();
        n
    };
    let first: Vec<serde_json::Value> = gh
        .repo_list_cached(InstallationId(1), REPO, "pulls?state=open", &cache)
        .await
        .unwrap();
    assert_eq!(numbers(first), (1..=230).collect::<Vec<u64>>());
    fake.clear_calls();
    let again: Vec<serde_json::Value> = gh
        .repo_list_cached(InstallationId(1), REPO, "pulls?state=open", &cache)
        .await
        .unwrap();
    assert_eq!(numbers(again), (1..=230).collect::<Vec<u64>>());
    let statuses: Vec<u16> = fake.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, vec![304, 304, 304], "three pages, each unchanged");
}

fn live_in_env(f: &FakeGitHub, env: &str, sha: &str) -> bool {
    f.deployments_in(REPO, env)
        .iter()
        .any(|d| d.sha == sha && d.statuses.last().is_some_and(|s| s.state == "success"))
}

#[tokio::test]
async fn the_train_tells_a_pull_request_merged_300_commits_after_production() {
    let (w, clock) = clocked().await;
    w.fake
        .set_permission(REPO, "boss", fake_github::Role::Maintain)
        .unwrap();
    w.fake
        .put_file(
            REPO,
            "main",
            ".github/gangway.yml",
            "environments: [staging, production]\ntrain:\n  delay: 30m\n  bake: 60m\n",
        )
        .unwrap();
    // Production runs a first commit.
    let first = w
        .fake
        .push_branch(REPO, "main", "first")
        .await
        .unwrap()
        .after;
    w.green(REPO, &first).await;
    w.settle_due().await;
    clock.advance_ms(31 * MIN);
    w.until("staging", |f| live_in_env(f, "staging", &first))
        .await;
    w.settle_due().await;
    clock.advance_ms(61 * MIN);
    w.until("production", |f| live_in_env(f, "production", &first))
        .await;
    w.settle_due().await;
    // 300 commits later a pull request is merged: its commit is on the fourth page of the
    // compare from production's commit.
    for i in 0..300 {
        w.fake
            .add_commit(REPO, "main", &format!("step {i}"))
            .unwrap();
    }
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature-late", "dev"))
        .await
        .unwrap();
    w.fake.close_pr(REPO, pr.number, true).await.unwrap();
    w.settle_due().await;
    // The train's head is a later commit: the merged one is found only by reading the compare.
    let head = w
        .fake
        .push_branch(REPO, "main", "later")
        .await
        .unwrap()
        .after;
    w.green(REPO, &head).await;
    w.settle_due().await;
    w.until("the train notice on the late pull request", |f| {
        f.comments(REPO, pr.number)
            .iter()
            .any(|c| c.via_app && c.body.contains("on Gangway's train"))
    })
    .await;
    // The descendant rule judges the head, 302 commits ahead of production's, a descendant.
    clock.advance_ms(31 * MIN);
    w.until("the head live in staging", |f| {
        live_in_env(f, "staging", &head)
    })
    .await;
    w.settle_due().await;
    clock.advance_ms(61 * MIN);
    w.until("the head live in production", |f| {
        live_in_env(f, "production", &head)
    })
    .await;
}
