//! Slots (`preview.slots`): a fixed pool of previews. A pull request keeps its slot; with every
//! slot in use the least recently deployed is taken and its pull request told; slots survive a
//! restart. And `/keep`: a pinned preview survives the idle TTL and eviction.

use std::sync::Arc;

use fake_github::{PrSpec, Role};
use gangway::clock::{Clock, ManualClock};

use crate::support::world::{REPO, World, last_state};

const SLOTS: &str = "preview:\n  slots: 3\n";

fn slot_host(slot: &str) -> String {
    format!("app-{slot}.slots.staging.example.org")
}

/// The host of the deployment of `sha` (its environment URL once live).
fn url_of(f: &fake_github::FakeGitHub, sha: &str) -> Option<String> {
    f.deployments(REPO)
        .iter()
        .filter(|d| d.sha == sha)
        .filter_map(|d| d.statuses.last())
        .find_map(|s| s.environment_url.clone())
}

fn live(f: &fake_github::FakeGitHub, sha: &str) -> bool {
    f.deployments(REPO)
        .iter()
        .any(|d| d.sha == sha && last_state(d) == "success")
}

fn inactive(f: &fake_github::FakeGitHub, sha: &str) -> bool {
    f.deployments(REPO)
        .iter()
        .any(|d| d.sha == sha && last_state(d) == "inactive")
}

async fn open_live(w: &World, branch: &str) -> (u64, String) {
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, branch, "dev"))
        .await
        .unwrap();
    w.green(REPO, &pr.head_sha).await;
    let sha = pr.head_sha.clone();
    w.until(&format!("{branch} live"), |f| live(f, &sha)).await;
    w.settle().await;
    (pr.number, pr.head_sha)
}

#[tokio::test]
async fn three_slots_five_pull_requests_sticky_reuse_takeover_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("slots.txt");
    let tail = format!(
        "echo \"$GANGWAY_PR_NUMBER $GANGWAY_SLOT $GANGWAY_HOST\" >> {}",
        file.display()
    );
    let w = World::start_with(&tail, "", &[]).await;
    w.fake
        .put_file(REPO, "main", ".github/gangway.yml", SLOTS)
        .unwrap();
    w.fake.set_permission(REPO, "maria", Role::Write).unwrap();
    let (a, a1) = open_live(&w, "a").await;
    let (b, b1) = open_live(&w, "b").await;
    let (c, c1) = open_live(&w, "c").await;
    assert_eq!(
        url_of(&w.fake, &a1),
        Some(format!("https://{}", slot_host("1")))
    );
    assert_eq!(
        url_of(&w.fake, &b1),
        Some(format!("https://{}", slot_host("2")))
    );
    assert_eq!(
        url_of(&w.fake, &c1),
        Some(format!("https://{}", slot_host("3")))
    );
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains(&format!("{a} 1 "))
    );

    // Sticky reuse: a push to `a` deploys on its own slot again.
    let pushed = w.fake.push_pr(REPO, a).await.unwrap();
    w.green(REPO, &pushed.after).await;
    let a2 = pushed.after.clone();
    w.until("a's push live", |f| live(f, &a2)).await;
    w.settle().await;
    assert_eq!(
        url_of(&w.fake, &a2),
        Some(format!("https://{}", slot_host("1")))
    );
    assert!(w.sticky_body(REPO, a).contains("slot `1`"));

    // A fourth PR: every slot in use, `b`'s (slot 2) was deployed least recently: taken.
    let (d, d1) = open_live(&w, "d").await;
    assert_eq!(
        url_of(&w.fake, &d1),
        Some(format!("https://{}", slot_host("2")))
    );
    w.until("b torn down", |f| inactive(f, &b1)).await;
    w.settle().await;
    let told = w.replies(b).join("\n");
    assert!(
        told.contains(&format!("slot `2` was given to #{d}")) && told.contains("**/stage**"),
        "{told}"
    );

    // Slots survive a restart.
    let (w, db) = w.stop_gangway().await;
    let w = w.restart_gangway(db).await;
    w.settle().await;

    // A fifth PR takes the least recently deployed slot now: `c`'s (slot 3).
    let (e, e1) = open_live(&w, "e").await;
    assert_eq!(
        url_of(&w.fake, &e1),
        Some(format!("https://{}", slot_host("3")))
    );
    w.until("c torn down", |f| inactive(f, &c1)).await;
    w.settle().await;
    assert!(w.replies(c).join("\n").contains(&format!("given to #{e}")));

    // `b` comes back with /stage: its slot 2 is `d`'s now, so it takes the least recently
    // deployed one (slot 1, `a`'s).
    w.say(b, "maria", "/stage").await;
    let b_back = b1.clone();
    w.until("b back", |f| {
        f.deployments(REPO)
            .iter()
            .any(|dep| dep.sha == b_back && last_state(dep) == "success")
    })
    .await;
    w.settle().await;
    assert!(w.replies(a).join("\n").contains(&format!("given to #{b}")));
    // Each slot has one holder, as `gangway envs` would show.
    let holders = w
        .app
        .store()
        .slot_holders(gangway::types::RepoId(w.repo_id))
        .await
        .unwrap();
    let mut pairs: Vec<(String, u64)> = holders
        .iter()
        .map(|h| (h.slot.clone(), h.pr_number.0))
        .collect();
    pairs.sort();
    assert_eq!(
        pairs,
        vec![
            ("1".to_owned(), b),
            ("2".to_owned(), d),
            ("3".to_owned(), e)
        ]
    );
}

#[tokio::test]
async fn a_kept_preview_survives_the_ttl_and_an_eviction_until_keep_off() {
    const HOUR: i64 = 3_600_000;
    let clock = ManualClock::new(chrono::Utc::now().timestamp_millis());
    let w = World::start_clocked(
        "",
        "",
        &[("GANGWAY_TIMER_TICK_MS", "3600000")],
        Arc::new(clock.clone()),
    )
    .await;
    w.fake
        .put_file(
            REPO,
            "main",
            ".github/gangway.yml",
            "preview:\n  ttl: 2h\n  max_previews: 1\n  max_keep: 1d\n",
        )
        .unwrap();
    w.fake.set_permission(REPO, "maria", Role::Write).unwrap();
    let (n, sha) = open_live(&w, "kept").await;
    w.say(n, "maria", "/keep 3d").await;
    let reply = w.reply_containing(n, "Pinned until").await;
    assert!(reply.contains("cut to the policy"), "{reply}");
    w.settle().await;
    assert!(w.sticky_body(REPO, n).contains("📌 **Pinned**"));

    // A newer preview would evict the older one at the sweep; the pinned one stays.
    let (m, other) = open_live(&w, "newer").await;
    clock.advance_ms(3 * HOUR);
    w.tick().await;
    w.settle_due().await;
    assert!(live(&w.fake, &sha), "the pinned preview went");
    assert!(m != n && !other.is_empty());

    // `/keep off`: the next sweep applies the TTL again.
    w.say(n, "maria", "/keep off").await;
    w.reply_containing(n, "Pin ended").await;
    w.settle_due().await;
    clock.advance_ms(HOUR);
    w.tick().await;
    w.until("expired once unpinned", |f| inactive(f, &sha))
        .await;
    assert!(clock.now_ms() > 0);
}
