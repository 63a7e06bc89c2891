//! One host, one owner, as an attacker tries it: two pull requests on the same commit (a fork
//! PR opened on the head of a same-repository one), another repository with the same name and
//! the same commits (a fork whose owner installed the App), and a second repository's
//! long-lived environments. No two standing previews or environments share a host: the second
//! claimant is refused with the reason and nothing runs for it, and a teardown never touches a
//! host another pull request or repository holds.

use crate::support;

use fake_github::{FakeGitHub, PrSpec, Role};
use support::world::{REPO, World};

fn last_state(f: &FakeGitHub, repo: &str, environment: &str) -> Option<String> {
    f.deployments_in(repo, environment)
        .last()
        .and_then(|d| d.statuses.last().map(|s| s.state.clone()))
}

/// The host of each driver run of `action` (`deploy`/`teardown`) for pull request `number`.
fn hosts_of(w: &World, action: &str, number: u64) -> Vec<String> {
    w.driver_runs()
        .iter()
        .filter_map(|r| {
            let f: Vec<&str> = r.split(' ').collect();
            (f.first() == Some(&action) && f.get(1) == Some(&number.to_string().as_str()))
                .then(|| f.get(3).map(|h| (*h).to_owned()))
                .flatten()
        })
        .collect()
}

fn runs_on(w: &World, action: &str, host: &str) -> usize {
    w.driver_runs()
        .iter()
        .filter(|r| r.starts_with(action) && r.split(' ').nth(3) == Some(host))
        .count()
}

#[tokio::test]
async fn two_prs_on_one_head_never_tear_down_each_other() {
    let w = World::start().await;
    w.fake.set_permission(REPO, "boss", Role::Write).unwrap();
    let pushed = w.fake.push_branch(REPO, "feature", "Work").await.unwrap();
    let one = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    w.green(REPO, &pushed.after).await;
    let env_one = format!("pr-{}", one.number);
    w.until("the first preview live", |f| {
        last_state(f, REPO, &env_one).as_deref() == Some("success")
    })
    .await;

    // Mallory's fork PR on the very same commit; a maintainer stages it (it is the same code).
    let two = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "mallory").from_fork("mallory"))
        .await
        .unwrap();
    assert_eq!(two.head_sha, pushed.after, "the same head");
    w.fake
        .comment(REPO, two.number, "boss", "/stage")
        .await
        .unwrap();
    let env_two = format!("pr-{}", two.number);
    w.until("the second preview live", |f| {
        last_state(f, REPO, &env_two).as_deref() == Some("success")
    })
    .await;
    w.settle().await;
    let host_one = hosts_of(&w, "deploy", one.number)
        .pop()
        .expect("first deploy");

    // Mallory closes her PR: her preview goes, the first one stays and its host is untouched.
    w.fake.close_pr(REPO, two.number, false).await.unwrap();
    w.until("the second preview inactive", |f| {
        last_state(f, REPO, &env_two).as_deref() == Some("inactive")
    })
    .await;
    w.settle().await;
    assert_eq!(
        runs_on(&w, "teardown", &host_one),
        0,
        "closing one PR tore down the other's host: {:?}",
        w.driver_runs()
    );
    assert_eq!(
        last_state(&w.fake, REPO, &env_one).as_deref(),
        Some("success")
    );
    assert!(w.sticky_body(REPO, one.number).contains("**Live**"));

    // Each had a host of its own, and each teardown takes only its own.
    let host_two = hosts_of(&w, "deploy", two.number)
        .pop()
        .expect("second deploy");
    assert_ne!(host_one, host_two, "two PRs shared a host");
    assert_eq!(
        hosts_of(&w, "teardown", two.number),
        std::slice::from_ref(&host_two)
    );
    w.fake.close_pr(REPO, one.number, false).await.unwrap();
    w.until("the first preview inactive", |f| {
        last_state(f, REPO, &env_one).as_deref() == Some("inactive")
    })
    .await;
    w.settle().await;
    assert_eq!(runs_on(&w, "teardown", &host_one), 1);
    assert_eq!(runs_on(&w, "teardown", &host_two), 1);
}

/// The operator's template leaves the owner out, so `mallory/app`'s PR #1 on the same commit
/// as `octo/app`'s PR #1 renders the same host. Whoever claims it second is refused with the
/// reason, nothing runs for it, and its teardown leaves the host alone.
#[tokio::test]
async fn a_host_held_by_another_repository_is_refused_and_never_torn_down() {
    let template = "{repo}-pr{number}-{short_sha}.preview.example.org";
    let w = World::start_with("", "", &[("GANGWAY_HOST_TEMPLATE", template)]).await;
    let pushed = w.fake.push_branch(REPO, "feature", "Work").await.unwrap();
    let ours = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    w.green(REPO, &pushed.after).await;
    let env = format!("pr-{}", ours.number);
    w.until("our preview live", |f| {
        last_state(f, REPO, &env).as_deref() == Some("success")
    })
    .await;
    w.settle().await;
    let host = hosts_of(&w, "deploy", ours.number)
        .pop()
        .expect("our deploy");

    let fork = "mallory/app";
    w.fake.add_installed_fork(2, REPO, "mallory").unwrap();
    let theirs = w
        .fake
        .open_pr(PrSpec::new(fork, "feature", "mallory"))
        .await
        .unwrap();
    assert_eq!(
        (theirs.number, theirs.head_sha.as_str()),
        (ours.number, pushed.after.as_str())
    );
    w.green(fork, &theirs.head_sha).await;
    w.until("their PR told why", |f| {
        f.comments(fork, theirs.number)
            .iter()
            .any(|c| c.via_app && c.body.contains("already used"))
    })
    .await;
    w.settle().await;
    let body = w.sticky_body(fork, theirs.number);
    assert!(
        body.contains(&host) && body.contains("another repository") && !body.contains("octo"),
        "{body}"
    );
    assert_eq!(runs_on(&w, "deploy", &host), 1, "{:?}", w.driver_runs());
    assert!(
        w.fake.deployments(fork).is_empty(),
        "a deployment was created for a refused host"
    );

    w.fake.close_pr(fork, theirs.number, false).await.unwrap();
    w.settle().await;
    assert_eq!(runs_on(&w, "teardown", &host), 0, "{:?}", w.driver_runs());
    assert_eq!(last_state(&w.fake, REPO, &env).as_deref(), Some("success"));
}

/// A same-repository PR staged in `repo`, then promoted to production by `boss`.
async fn promoted(w: &World, repo: &str, branch: &str) -> u64 {
    w.fake.set_permission(repo, "boss", Role::Maintain).unwrap();
    let pr = w
        .fake
        .open_pr(PrSpec::new(repo, branch, "dev"))
        .await
        .unwrap();
    w.green(repo, &pr.head_sha).await;
    let env = format!("pr-{}", pr.number);
    w.until("preview live", |f| {
        last_state(f, repo, &env).as_deref() == Some("success")
    })
    .await;
    w.fake
        .comment(repo, pr.number, "boss", "/promote")
        .await
        .unwrap();
    pr.number
}

/// Two repositories promote to production with the default `GANGWAY_ENVIRONMENT_HOST`: each
/// gets a host of its own.
#[tokio::test]
async fn a_second_repository_gets_its_own_production_host() {
    let w = World::start().await;
    let web = "octo/web";
    w.fake.add_repo(1, web, "main").unwrap();
    promoted(&w, REPO, "feature").await;
    w.until("production live in octo/app", |f| {
        last_state(f, REPO, "production").as_deref() == Some("success")
    })
    .await;
    promoted(&w, web, "feature").await;
    w.until("production live in octo/web", |f| {
        last_state(f, web, "production").as_deref() == Some("success")
    })
    .await;
    let url = |repo: &str| {
        w.fake
            .deployments_in(repo, "production")
            .last()
            .and_then(|d| d.statuses.last().and_then(|s| s.environment_url.clone()))
            .unwrap_or_default()
    };
    assert_ne!(
        url(REPO),
        url(web),
        "two repositories share a production host"
    );
    assert_eq!(url(web), "https://production.web.example.org");
}

/// `octo/app_` folds to the same host label as `octo/app`: its production deployment is
/// refused with the reason, and nothing runs for it.
#[tokio::test]
async fn a_production_host_held_by_another_repository_is_refused() {
    let w = World::start().await;
    let twin = "octo/app_";
    w.fake.add_repo(1, twin, "main").unwrap();
    promoted(&w, REPO, "feature").await;
    w.until("production live in octo/app", |f| {
        last_state(f, REPO, "production").as_deref() == Some("success")
    })
    .await;
    w.settle().await;
    let number = promoted(&w, twin, "feature").await;
    w.until("the twin told why", |f| {
        f.comments(twin, number)
            .iter()
            .any(|c| c.via_app && c.body.contains("already used"))
    })
    .await;
    w.settle().await;
    let prod_runs = w
        .driver_runs()
        .iter()
        .filter(|r| r.starts_with("deploy 0 ") || r.contains(" production "))
        .count();
    assert_eq!(prod_runs, 1, "{:?}", w.driver_runs());
    assert!(
        w.fake
            .deployments_in(twin, "production")
            .iter()
            .all(|d| d.statuses.iter().all(|s| s.state != "success")),
        "the twin deployed to a host another repository holds"
    );
    assert_eq!(
        last_state(&w.fake, REPO, "production").as_deref(),
        Some("success")
    );
}

/// The store holds ownership, not the process: eight claims of one host at once, through two
/// connections to one database (two replicas), leave exactly one holder; only that holder's
/// release frees it; the migration's table works on both backends.
#[tokio::test]
async fn one_holder_per_host_across_replicas() {
    use gangway::model::HostHolder;
    use gangway::types::{PrNumber, RepoId};

    let db = support::TestDb::new().await;
    let replicas = [db.store().await, db.store().await];
    let pr = |n: u64| HostHolder::Preview {
        repo: RepoId(1),
        number: PrNumber(n),
    };
    let host = "app-pr1-c0ffee0.staging.example.org";
    let mut claims = tokio::task::JoinSet::new();
    for n in 1..=8u64 {
        let store = replicas[(n % 2) as usize].clone();
        claims.spawn(async move { store.claim_host(host, &pr(n), 0).await.unwrap() });
    }
    let holders: Vec<HostHolder> = claims.join_all().await;
    let first = holders[0].clone();
    assert!(holders.iter().all(|h| *h == first), "{holders:?}");
    let loser = (1..=8).map(pr).find(|h| *h != first).unwrap();
    replicas[1].release_host(host, &loser).await.unwrap();
    assert_eq!(
        replicas[0].host_holder(host).await.unwrap(),
        Some(first.clone())
    );
    replicas[1].release_host(host, &first).await.unwrap();
    assert_eq!(replicas[0].host_holder(host).await.unwrap(), None);
    let env = HostHolder::Environment {
        repo: RepoId(2),
        environment: "production".into(),
    };
    assert_eq!(replicas[0].claim_host(host, &env, 1).await.unwrap(), env);
    assert_eq!(replicas[1].claim_host(host, &pr(1), 2).await.unwrap(), env);
}
