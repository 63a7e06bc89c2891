//! The dashboard's pages over real HTTP, against the fake GitHub and a real Gangway: what a
//! visitor sees of pull requests, previews, environments per target, holds and the queue; one
//! commit's history; hostile text shown as text; private repositories and operator views
//! answered 404, the same page as a repository that does not exist; live refresh.
//!
//! Sign-in is not part of these tests: `GANGWAY_DASHBOARD_PUBLIC=true` lets an anonymous
//! visitor read (the buttons, shown to signed-in users only, are covered by the page's unit
//! tests).

use crate::support;

use std::time::Duration;

use fake_github::{PrSpec, Role};
use support::world::{REPO, World, last_state};

const PUBLIC: (&str, &str) = ("GANGWAY_DASHBOARD_PUBLIC", "true");
const HOSTILE_TITLE: &str = "<script>alert('title')</script><img src=x onerror=alert(1)>\"'&";
const HOSTILE_BRANCH: &str = "feat/<svg-onload=alert(2)>";
const HOSTILE_REASON: &str = "freeze <script>alert('hold')</script> & \"quotes\"";

async fn get(w: &World, path: &str) -> (u16, String) {
    let r = w.app.http.get(w.app.url(path)).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

/// No markup of an attacker's survives: the raw tags are absent, their escaped text present.
fn inert(page: &str) {
    for raw in [
        "<script>alert",
        "<img src=x",
        "<svg-onload",
        "onerror=alert(1)>",
    ] {
        assert!(!page.contains(raw), "{raw} rendered as markup:\n{page}");
    }
}

fn live_in(f: &fake_github::FakeGitHub, env: &str, sha: &str) -> bool {
    f.deployments_in(REPO, env)
        .iter()
        .any(|d| d.sha == sha && last_state(d) == "success")
}

/// A deploy script that waits for `gate` (a file) before finishing production deployments.
fn gated(gate: &std::path::Path) -> String {
    format!(
        "while [ \"$GANGWAY_ENVIRONMENT\" = production ] && [ ! -f {} ]; do sleep 0.05; done",
        gate.display()
    )
}

#[tokio::test]
async fn pages_show_pulls_previews_environments_holds_and_the_queue_with_hostile_text_as_text() {
    let gate_dir = tempfile::tempdir().unwrap();
    let gate = gate_dir.path().join("open");
    let w = World::start_with(&gated(&gate), "", &[PUBLIC]).await;
    w.fake.set_permission(REPO, "boss", Role::Maintain).unwrap();

    // A hostile title and branch on a PR whose preview goes live.
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, HOSTILE_BRANCH, "dev").title(HOSTILE_TITLE))
        .await
        .expect("open");
    w.green(REPO, &pr.head_sha).await;
    let sha1 = pr.head_sha.clone();
    w.until("the hostile PR's preview live", |f| {
        f.deployments(REPO).iter().any(|d| {
            d.sha == sha1 && d.environment.starts_with("pr-") && last_state(d) == "success"
        })
    })
    .await;
    let one = pr.number;
    let (two, sha2) = w.staged("feature-2").await;
    w.settle().await;

    let (status, home) = get(&w, "/").await;
    assert_eq!(status, 200, "{home}");
    inert(&home);
    assert!(home.contains("data-live=\"/events?since="), "{home}");
    assert!(home.contains(&format!("data-pr=\"{one}\"")), "{home}");
    assert!(home.contains(&format!("data-pr=\"{two}\"")), "{home}");
    assert!(
        home.contains("&#60;script&#62;alert(&#39;title&#39;)&#60;/script&#62;")
            || home.contains("&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;"),
        "the title is shown, escaped:\n{home}"
    );
    assert!(home.contains(&sha1[..7]), "head short sha");
    assert!(
        home.contains("class=\"preview-link\""),
        "preview link: {home}"
    );
    assert!(home.contains(&support::world::preview_host(REPO, two, &sha2)));

    // One promotion runs (held at the gate), the other waits its turn.
    w.say(one, "boss", "/promote").await;
    w.until("production deploying", |f| {
        !f.deployments_in(REPO, "production").is_empty()
    })
    .await;
    w.say(two, "boss", "/promote").await;
    w.reply_containing(two, "queued at position").await;
    let (_, repo) = get(&w, &format!("/repos/{REPO}")).await;
    assert!(
        repo.contains(&format!(
            "<li data-environment=\"production\" data-sha=\"{sha2}\">#1 for production:"
        )),
        "the second promotion first in the queue:\n{repo}"
    );
    std::fs::write(&gate, "").unwrap();
    let s1 = sha1.clone();
    w.until("the first live in production", |f| {
        live_in(f, "production", &s1)
    })
    .await;
    // Its turn came under the rules then: the second's branch does not contain the first.
    w.reply_containing(two, "did not start when its turn came")
        .await;

    // A hold with a hostile reason.
    w.say(two, "boss", &format!("/hold {HOSTILE_REASON}")).await;
    w.reply_containing(two, "production is held").await;
    w.settle().await;
    let (status, repo) = get(&w, &format!("/repos/{REPO}")).await;
    assert_eq!(status, 200);
    inert(&repo);
    assert!(
        repo.contains(&format!(
            "<tr data-environment=\"production\" data-sha=\"{sha1}\">"
        )),
        "production runs the first PR's commit:\n{repo}"
    );
    assert!(repo.contains("held by @boss"), "{repo}");
    assert!(
        repo.contains("freeze &#60;script&#62;") || repo.contains("freeze &lt;script&gt;"),
        "the hold reason as text:\n{repo}"
    );

    // The PR page: its head, its deployments, no buttons for an anonymous visitor.
    let (status, page) = get(&w, &format!("/repos/{REPO}/pulls/{one}")).await;
    assert_eq!(status, 200, "{page}");
    inert(&page);
    assert!(
        page.contains(&format!("<code id=\"head-sha\">{sha1}</code>")),
        "{page}"
    );
    assert!(page.contains("id=\"deployments\""));
    assert!(
        page.contains(&format!(
            "data-sha=\"{sha1}\" data-environment=\"production\""
        )),
        "{page}"
    );
    assert!(
        !page.contains("class=\"action\""),
        "no buttons for anonymous visitors"
    );
    let (_, other) = get(&w, &format!("/repos/{REPO}/pulls/{two}")).await;
    assert!(other.contains(&format!("<code id=\"head-sha\">{sha2}</code>")));
    assert!(other.contains("refused"), "its refused promotion: {other}");

    // The commit page: its previews, deployments, and who did what from the audit trail.
    let (status, commit) = get(&w, &format!("/repos/{REPO}/commits/{sha1}")).await;
    assert_eq!(status, 200, "{commit}");
    inert(&commit);
    assert!(commit.contains(&format!("<code id=\"commit-sha\">{sha1}</code>")));
    assert!(
        commit.contains("data-environment=\"production\""),
        "{commit}"
    );
    assert!(commit.contains("promote by @boss"), "{commit}");
    assert!(commit.contains("/logs/"), "log links: {commit}");
    assert!(commit.contains("id=\"history\""), "audit lines: {commit}");
    let (status, short) = get(&w, &format!("/repos/{REPO}/commits/{}", &sha1[..7])).await;
    assert_eq!(status, 200);
    assert!(short.contains(&format!(
        "data-sha=\"{sha1}\" data-environment=\"production\""
    )));
}

#[tokio::test]
async fn unknown_and_unreadable_repositories_and_operator_views_are_the_same_404() {
    // Not public: an anonymous visitor may read nothing.
    let w = World::start().await;
    let (_, sha) = w.staged("feature").await;
    let (status, missing) = get(&w, "/repos/octo/nothing-here").await;
    assert_eq!(status, 404);
    let (status, private) = get(&w, &format!("/repos/{REPO}")).await;
    assert_eq!(status, 404);
    assert_eq!(
        private, missing,
        "an unreadable repository looks like a missing one"
    );
    for path in [
        format!("/repos/{REPO}/pulls/1"),
        format!("/repos/{REPO}/commits/{sha}"),
        "/operator/jobs".to_owned(),
        "/operator/jobs?state=done".to_owned(),
        "/operator/budgets".to_owned(),
        "/operator/audit?repo=octo/app".to_owned(),
    ] {
        let (status, page) = get(&w, &path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(page, missing, "{path}");
    }
    let (status, home) = get(&w, "/").await;
    assert_eq!(status, 200);
    assert!(!home.contains(REPO), "{home}");
}

#[tokio::test]
async fn malformed_paths_are_404_not_errors() {
    let w = World::start_with("", "", &[PUBLIC]).await;
    let (_, missing) = get(&w, "/repos/octo/nothing-here").await;
    for path in [
        format!("/repos/{REPO}/pulls/abc"),
        format!("/repos/{REPO}/pulls/-1"),
        format!("/repos/{REPO}/pulls/99999999999999999999999"),
        format!("/repos/{REPO}/pulls/424242"),
        format!("/repos/{REPO}/commits/not-a-sha"),
        format!("/repos/{REPO}/commits/%25%25%25%25"),
        format!("/repos/{REPO}/commits/{}", "a".repeat(41)),
        "/repos/octo/%3Cscript%3E".to_owned(),
    ] {
        let (status, page) = get(&w, &path).await;
        assert_eq!(status, 404, "{path}: {page}");
        assert_eq!(page, missing, "{path}");
        inert(&page);
    }
}

#[tokio::test]
async fn live_refresh_says_changed_and_holds_no_read_slot() {
    let w = World::start_with("", "", &[PUBLIC, ("GANGWAY_MAX_READ_REQUESTS", "2")]).await;
    // More streams than read slots: pages are still served.
    let mut streams = Vec::new();
    for _ in 0..3 {
        let r = w.app.http.get(w.app.url("/events")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let kind = r.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(kind.starts_with("text/event-stream"), "{kind}");
        streams.push(r);
    }
    let (status, _) = get(&w, "/").await;
    assert_eq!(status, 200, "a page beside open streams");
    // A change (a PR opened) is announced on each stream.
    w.fake
        .open_pr(PrSpec::new(REPO, "feature", "dev"))
        .await
        .expect("open");
    says_changed(streams.remove(0)).await;
}

/// The page says when it was drawn: a change between drawing it and opening its stream (the
/// page still loading its script, say) refreshes it at once instead of never.
#[tokio::test]
async fn a_change_between_drawing_a_page_and_opening_its_stream_still_refreshes_it() {
    let w = World::start_with("", "", &[PUBLIC]).await;
    let (status, home) = get(&w, "/").await;
    assert_eq!(status, 200);
    let at = home.find("data-live=\"").expect("a live page") + "data-live=\"".len();
    let live = home[at..].split('"').next().unwrap_or_default().to_owned();
    assert!(live.starts_with("/events?since="), "{live}");
    w.fake
        .open_pr(PrSpec::new(REPO, "meanwhile", "dev"))
        .await
        .expect("open");
    w.settle().await;
    let stream = w.app.http.get(w.app.url(&live)).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    says_changed(stream).await;
    // Something else in `since` is not a fingerprint: the stream counts from when it opens.
    let r = w
        .app
        .http
        .get(w.app.url("/events?since=%3Cscript%3E"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// Reads `stream` until it says `event: changed` (failing after 30 s with what it said).
async fn says_changed(mut stream: reqwest::Response) {
    let mut seen = String::new();
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(chunk) = stream.chunk().await.unwrap() {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("event: changed") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "stream said: {seen:?}");
}
