//! The texts users read on GitHub, end to end and word for word: the sticky comment and the
//! command replies as the fake GitHub shows them, pinned as snapshots (`tests/it/snapshots/`).
//! What changes from run to run (commit ids, log tokens, times, ports) is replaced by a
//! placeholder first, so a snapshot changes only when the wording does.

use crate::support;

use fake_github::{PrSpec, Role};
use support::world::{REPO, World};

/// Says `text` as `who` and waits for Gangway's reply to it; returns that reply.
async fn ask(w: &World, number: u64, who: &str, text: &str) -> String {
    let before = w.replies(number).len();
    w.fake
        .comment(REPO, number, who, text)
        .await
        .expect("comment");
    w.until(&format!("a reply to {text:?}"), |f| {
        f.comments(REPO, number)
            .iter()
            .filter(|c| c.via_app && !c.body.contains("gangway:sticky"))
            .count()
            > before
    })
    .await;
    w.replies(number).swap_remove(before)
}

/// `text` with what differs between runs replaced: each commit in `shas` (full and short), log
/// tokens, `YYYY-MM-DD HH:MM` times, comment ids, and the servers' addresses.
fn stable(w: &World, shas: &[(&str, &str)], text: &str) -> String {
    let mut out = text.replace(w.fake.url(), "<github>");
    out = out.replace(&w.app.addr.to_string(), "<gangway>");
    for (sha, name) in shas {
        out = out.replace(sha, &format!("<{name}>"));
        out = out.replace(&sha[..7], &format!("<{name}7>"));
    }
    let mut stable = String::new();
    let mut rest = out.as_str();
    while let Some(at) = rest.find("/logs/") {
        let (head, tail) = rest.split_at(at + "/logs/".len());
        stable.push_str(head);
        stable.push_str("<token>");
        rest = tail.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    }
    stable.push_str(rest);
    numbers_after(&times_replaced(&stable), "#issuecomment-", "<id>")
}

/// `text` with the digits right after each `marker` replaced by `with`.
fn numbers_after(text: &str, marker: &str, with: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        let (head, tail) = rest.split_at(at + marker.len());
        out.push_str(head);
        out.push_str(with);
        rest = tail.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

fn times_replaced(text: &str) -> String {
    // `2026-01-01 12:00`: digits and separators at fixed places.
    const SHAPE: &[u8] = b"dddd-dd-dd dd:dd";
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let fits = bytes.len() - i >= SHAPE.len()
            && SHAPE.iter().zip(&bytes[i..]).all(|(s, b)| match s {
                b'd' => b.is_ascii_digit(),
                s => s == b,
            });
        if fits {
            out.push_str("<time>");
            i += SHAPE.len();
        } else {
            let c = text[i..].chars().next().unwrap_or_default();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

#[tokio::test]
async fn a_fork_prs_comments_and_replies_read_as_pinned() {
    let w = World::start().await;
    w.fake.set_permission(REPO, "reader", Role::Read).unwrap();
    w.fake.set_permission(REPO, "maria", Role::Write).unwrap();
    w.fake.set_permission(REPO, "boss", Role::Maintain).unwrap();
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "patch-1", "outsider").from_fork("outsider"))
        .await
        .unwrap();
    let n = pr.number;
    let shas = [(pr.head_sha.as_str(), "head")];
    w.green(REPO, &pr.head_sha).await;
    w.until("the sticky comment", |f| {
        f.comments(REPO, n)
            .iter()
            .any(|c| c.via_app && c.body.contains("Waiting for approval"))
    })
    .await;
    insta::assert_snapshot!(
        "sticky_fork_waiting",
        stable(&w, &shas, &w.sticky_body(REPO, n))
    );

    let mut said = Vec::new();
    for (who, text) in [
        ("reader", "/stage"),
        ("anyone", "/help"),
        ("reader", "/stgae"),
        ("maria", "/stage\n/promote"),
        ("boss", "/promote"),
    ] {
        let reply = ask(&w, n, who, text).await;
        said.push(format!("{who}: {text:?}\n{}\n", stable(&w, &shas, &reply)));
    }
    // The promotion of a commit never staged is refused; a maintainer's /stage deploys it.
    w.fake.comment(REPO, n, "maria", "/stage").await.unwrap();
    let head = pr.head_sha.clone();
    w.until("the fork's preview live", |f| {
        f.deployments(REPO).iter().any(|d| {
            d.sha == head
                && d.environment.starts_with("pr-")
                && d.statuses.last().is_some_and(|s| s.state == "success")
        })
    })
    .await;
    w.settle().await;
    insta::assert_snapshot!(
        "sticky_fork_live",
        stable(&w, &shas, &w.sticky_body(REPO, n))
    );

    for (who, text) in [
        ("boss", "/hold release notes first"),
        ("boss", "/promote"),
        ("boss", "/unhold"),
        ("boss", "/promote"),
    ] {
        let reply = ask(&w, n, who, text).await;
        said.push(format!("{who}: {text:?}\n{}\n", stable(&w, &shas, &reply)));
    }
    insta::assert_snapshot!("replies", said.join("\n"));
    w.until("live in production", |f| {
        f.deployments_in(REPO, "production")
            .iter()
            .any(|d| d.statuses.last().is_some_and(|s| s.state == "success"))
    })
    .await;
}
