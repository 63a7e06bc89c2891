//! Untrusted text in Gangway's comments, as an attacker writes it: a check name (anyone who
//! can post a check run or a status) and a hold reason (anyone allowed to `/hold`) carrying
//! Markdown, an HTML comment that would hide the rest of the comment, `@team` mentions that
//! would notify people from Gangway's account, a masked link, a newline and sheer length. The
//! comments are read as the fake GitHub shows them (`fake_github::markdown`): nothing hidden
//! but Gangway's own marker, no mention but the ones Gangway means, no link, the rest intact.

use crate::support;

use fake_github::markdown::shown;
use fake_github::{PrSpec, Role};
use support::world::{REPO, World};

const HOSTILE_CHECK: &str = "lint` **@octo/reviewers** [details](javascript:alert(1)) &#64;octo/admins\n<!-- the rest is hidden";

/// Gangway's comments on a PR: the sticky one first, then the replies.
fn gangway_comments(w: &World, number: u64) -> Vec<String> {
    let mut all: Vec<(bool, String)> = w
        .fake
        .comments(REPO, number)
        .into_iter()
        .filter(|c| c.via_app)
        .map(|c| (!c.body.contains("gangway:sticky"), c.body))
        .collect();
    all.sort_by_key(|(reply, _)| *reply);
    all.into_iter().map(|(_, b)| b).collect()
}

/// What a reader sees of `body` is harmless: nothing hidden but the sticky marker, no link but
/// Gangway's own (deploy logs), and no mention beyond `allowed`.
fn harmless(body: &str, allowed: &[&str]) -> String {
    let s = shown(body);
    assert!(
        s.hidden.iter().all(|h| h.trim() == "gangway:sticky"),
        "something is hidden: {:?}\nin:\n{body}",
        s.hidden
    );
    assert!(
        s.links
            .iter()
            .all(|(_, to)| to.starts_with("http://gangway.test/logs/")),
        "a link: {:?}\nin:\n{body}",
        s.links
    );
    assert!(
        s.mentions.iter().all(|m| allowed.contains(&m.as_str())),
        "a mention: {:?}\nin:\n{body}",
        s.mentions
    );
    s.text
}

#[tokio::test]
async fn a_hostile_check_name_renders_harmlessly_in_the_sticky_and_the_reply() {
    let w = World::start().await;
    w.fake.set_permission(REPO, "boss", Role::Write).unwrap();
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    let sha = pr.head_sha.clone();
    w.fake
        .add_check_run(REPO, &sha, "build", "completed", Some("success"))
        .unwrap();
    w.fake
        .add_check_run(REPO, &sha, HOSTILE_CHECK, "completed", Some("failure"))
        .unwrap();
    let long = "x".repeat(5000);
    w.fake
        .add_check_run(REPO, &sha, &long, "completed", Some("failure"))
        .unwrap();
    w.fake
        .complete_check_suite(REPO, &sha, "github-actions")
        .await
        .unwrap();
    w.until("the sticky names the failed checks", |f| {
        f.comments(REPO, pr.number)
            .iter()
            .any(|c| c.via_app && c.body.contains("checks failed"))
    })
    .await;
    w.settle().await;
    let sticky = w.sticky_body(REPO, pr.number);
    let text = harmless(&sticky, &[]);
    assert!(
        text.contains("lint") && text.contains("octo/reviewers"),
        "the name is shown: {text}"
    );
    assert!(
        text.contains("Commands"),
        "the rest of the comment is gone:\n{text}"
    );
    assert!(sticky.len() < 2500, "not capped: {} bytes", sticky.len());

    // `/stage` deploys anyway and its reply lists the checks that are not green.
    w.fake
        .comment(REPO, pr.number, "boss", "/stage")
        .await
        .unwrap();
    w.until("the reply to /stage", |f| {
        f.comments(REPO, pr.number)
            .iter()
            .any(|c| c.via_app && c.body.contains("not yet green"))
    })
    .await;
    w.settle().await;
    for body in gangway_comments(&w, pr.number) {
        let text = harmless(&body, &["boss"]);
        if body.contains("not yet green") {
            assert!(text.contains("lint") && text.ends_with(".\n"), "{text}");
            assert!(body.len() < 1500, "not capped: {} bytes", body.len());
        }
    }
}

#[tokio::test]
async fn a_hostile_hold_reason_renders_harmlessly_on_every_pr() {
    let w = World::start().await;
    w.fake.set_permission(REPO, "boss", Role::Write).unwrap();
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .unwrap();
    w.green(REPO, &pr.head_sha).await;
    w.until_live("preview live").await;
    w.settle().await;
    let reason = format!(
        "freeze **@octo/reviewers** `x [go](javascript:alert(1)) &#64;octo/admins --> {}",
        "y".repeat(300)
    );
    w.fake
        .comment(
            REPO,
            pr.number,
            "boss",
            &format!("/hold production {reason}"),
        )
        .await
        .unwrap();
    w.until("the reply to /hold", |f| {
        f.comments(REPO, pr.number)
            .iter()
            .any(|c| c.via_app && !c.body.contains("gangway:sticky") && c.body.contains("held"))
    })
    .await;
    w.until("the sticky shows the hold", |f| {
        f.comments(REPO, pr.number)
            .iter()
            .any(|c| c.via_app && c.body.contains("gangway:sticky") && c.body.contains("is held"))
    })
    .await;
    w.settle().await;
    for body in gangway_comments(&w, pr.number) {
        let text = harmless(&body, &["boss"]);
        assert!(
            text.contains("freeze") && text.contains("octo/reviewers"),
            "the reason is shown: {text}"
        );
        assert!(
            text.contains("/unhold"),
            "the rest of the comment is gone:\n{text}"
        );
        assert!(body.len() < 2500, "not capped: {} bytes", body.len());
    }
}
