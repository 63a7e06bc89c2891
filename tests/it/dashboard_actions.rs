//! The dashboard's buttons, end to end: a signed-in user's click runs the very same rules as
//! the PR comment (permission read from GitHub when it runs, the same refusals, the audit trail),
//! is announced on the PR, and a Stage button approves only the commit its page showed.
//!
//! Every click goes over HTTP with a real session: the user signs in through the fake GitHub's
//! authorize form first (`support::signin`).

use crate::support;

use std::time::Duration;

use fake_github::{FakeGitHub, PrSpec, Role};
use gangway::jobs::{CommandOrigin, CommandPayload, JobKey, JobKind, JobState, NewJob};
use gangway::types::{PrNumber, RepoId};
use reqwest::header::{HeaderMap, HeaderValue};
use support::signin::{Session, encode};
use support::world::{REPO, World, last_state};

const POLICY: &str = ".github/gangway.yml";

fn fork_pr() -> PrSpec {
    PrSpec::new(REPO, "patch-1", "outsider").from_fork("outsider")
}

fn live_in(f: &FakeGitHub, env: &str, sha: &str) -> bool {
    f.deployments_in(REPO, env)
        .iter()
        .any(|d| d.sha == sha && last_state(d) == "success")
}

fn preview_live(f: &FakeGitHub, sha: &str) -> bool {
    f.deployments(REPO)
        .iter()
        .any(|d| d.sha == sha && d.environment.starts_with("pr-") && last_state(d) == "success")
}

async fn signed_in(w: &World, login: &str) -> Session {
    Session::sign_in(&w.app, &w.fake, login).await
}

fn same_origin() -> HeaderMap {
    HeaderMap::new()
}

/// The page's answer: status, `#outcome`'s class and text (as HTML), and the whole page.
struct Page {
    status: u16,
    class: String,
    outcome: String,
    html: String,
}

async fn page_of(r: reqwest::Response) -> Page {
    let status = r.status().as_u16();
    let html = r.text().await.expect("body");
    let start = html.find("<div id=\"outcome\"").expect("an #outcome");
    let rest = &html[start..];
    let class = rest
        .split("class=\"flash ")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_default()
        .to_owned();
    let outcome = rest
        .split_once('>')
        .and_then(|(_, s)| s.split_once("</div>"))
        .map(|(s, _)| s.to_owned())
        .unwrap_or_default();
    assert!(html.contains("<a id=\"back\""), "{html}");
    Page {
        status,
        class,
        outcome,
        html,
    }
}

/// `login` clicks a button on PR `number` of [`REPO`], with the form's CSRF token.
async fn click(w: &World, login: &str, number: u64, fields: &[(&str, &str)]) -> Page {
    let s = signed_in(w, login).await;
    let mut pairs = vec![("csrf", s.csrf.as_str())];
    pairs.extend_from_slice(fields);
    click_raw(&s, &same_origin(), number, &encode(&pairs)).await
}

async fn click_raw(s: &Session, headers: &HeaderMap, number: u64, body: &str) -> Page {
    let r = s
        .post(
            &format!("/repos/{REPO}/pulls/{number}/actions"),
            headers.clone(),
            body.to_owned(),
        )
        .await;
    page_of(r).await
}

async fn command_jobs(w: &World) -> usize {
    w.app
        .running
        .as_ref()
        .expect("running")
        .queue()
        .jobs(None)
        .await
        .expect("jobs")
        .iter()
        .filter(|j| j.kind == JobKind::Command.as_str())
        .count()
}

async fn audit(w: &World, number: u64) -> Vec<(String, String, String)> {
    w.app
        .store()
        .audit_of(RepoId(w.repo_id), PrNumber(number))
        .await
        .expect("audit")
        .into_iter()
        .map(|a| (a.subject, a.decision, a.reason))
        .collect()
}

/// A fork PR of [`REPO`] with a green head, waiting for approval; `maria` may write, `reader`
/// may read.
async fn fork_world() -> (World, u64, String) {
    let w = World::start().await;
    w.fake.set_permission(REPO, "maria", Role::Write).unwrap();
    w.fake.set_permission(REPO, "reader", Role::Read).unwrap();
    let pr = w.fake.open_pr(fork_pr()).await.unwrap();
    w.green(REPO, &pr.head_sha).await;
    w.settle().await;
    assert!(w.fake.deployments(REPO).is_empty());
    (w, pr.number, pr.head_sha)
}

#[tokio::test]
async fn a_writer_stages_a_fork_pr_from_the_dashboard_once() {
    let (w, number, sha) = fork_world().await;
    let page = click(&w, "maria", number, &[("command", "stage"), ("sha", &sha)]).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert_eq!(page.class, "accepted");
    let short = &sha[..7];
    assert!(
        page.outcome
            .contains(&format!("approved commit `{short}` and deployed it")),
        "{}",
        page.outcome
    );
    assert!(
        page.html
            .contains(&format!("href=\"/repos/{REPO}/pulls/{number}\""))
    );
    w.until("the fork preview live", |f| preview_live(f, &sha))
        .await;
    let d = w
        .fake
        .deployments(REPO)
        .into_iter()
        .find(|d| d.sha == sha)
        .expect("deployment");
    assert_eq!(d.payload["gangway"]["approved_by"]["login"], "maria");
    let announcement = w
        .reply_containing(number, "from the dashboard by @maria")
        .await;
    insta::assert_snapshot!(
        "dashboard_stage_announcement",
        announcement.replace(short, "<sha>")
    );
    let trail = audit(&w, number).await;
    assert!(
        trail
            .iter()
            .any(|(s, d, _)| d == "accepted"
                && s.contains("command stage by @maria from the dashboard")),
        "{trail:?}"
    );

    // Handled once: the same action's job run again (a retry) neither deploys nor announces
    // again.
    let state = w.app.running.as_ref().unwrap().web_state().clone();
    let action = state.store.dashboard_action(1).await.unwrap().expect("row");
    assert_eq!(action.actor, "maria");
    assert_eq!(action.decision.as_deref(), Some("accepted"));
    assert!(action.announced);
    let again = CommandPayload {
        repo_id: RepoId(w.repo_id),
        installation: gangway::types::InstallationId(1),
        full_name: REPO.to_owned(),
        default_branch: Some("main".to_owned()),
        number: PrNumber(number),
        comment_id: 0,
        comment_url: String::new(),
        author: "maria".to_owned(),
        command: Ok("stage".to_owned()),
        args: sha.clone(),
        comment_at: None,
        origin: CommandOrigin::Dashboard { action: 1 },
    };
    state
        .queue
        .enqueue(&NewJob::of(&again).unwrap())
        .await
        .unwrap();
    w.settle().await;
    let announcements = w
        .replies(number)
        .iter()
        .filter(|r| r.contains("from the dashboard"))
        .count();
    assert_eq!(announcements, 1);
    assert_eq!(
        w.fake
            .deployments(REPO)
            .iter()
            .filter(|d| d.sha == sha)
            .count(),
        1
    );
}

#[tokio::test]
async fn a_reader_is_refused_with_the_reason_and_nothing_is_deployed() {
    let (w, number, sha) = fork_world().await;
    let page = click(&w, "reader", number, &[("command", "stage"), ("sha", &sha)]).await;
    assert_eq!(page.status, 403, "{}", page.html);
    assert_eq!(page.class, "refused");
    assert!(
        page.outcome
            .contains("`/stage` needs write permission on octo/app or more; you have read."),
        "{}",
        page.outcome
    );
    let announcement = w
        .reply_containing(number, "from the dashboard was refused")
        .await;
    assert!(
        announcement.starts_with("@reader's `/stage "),
        "{announcement}"
    );
    // Someone with no access at all: refused on the page, nothing written on the PR.
    let page = click(
        &w,
        "stranger",
        number,
        &[("command", "stage"), ("sha", &sha)],
    )
    .await;
    assert_eq!(page.status, 403, "{}", page.html);
    assert!(page.outcome.contains("has no access"), "{}", page.outcome);
    w.settle().await;
    assert!(
        w.fake.deployments(REPO).is_empty(),
        "a refused click deployed"
    );
    assert!(!w.replies(number).iter().any(|r| r.contains("@stranger")));
    let trail = audit(&w, number).await;
    assert!(
        trail.iter().any(|(s, d, r)| d == "refused"
            && s.contains("from the dashboard")
            && r.contains("you have read")),
        "{trail:?}"
    );
    assert!(
        trail
            .iter()
            .any(|(s, d, _)| d == "ignored" && s.contains("@stranger from the dashboard")),
        "{trail:?}"
    );
}

#[tokio::test]
async fn stage_from_a_page_that_showed_an_older_head_approves_nothing() {
    let (w, number, old) = fork_world().await;
    // The page showed `old`; the fork pushes `new` before the click.
    let new = w.fake.push_pr(REPO, number).await.unwrap().after;
    w.green(REPO, &new).await;
    w.settle().await;
    let page = click(&w, "maria", number, &[("command", "stage"), ("sha", &old)]).await;
    assert_eq!(page.status, 409, "{}", page.html);
    assert_eq!(page.class, "refused");
    assert!(
        page.outcome.contains(&format!(
            "the page showed `{}`, and the head is now `{}`",
            &old[..7],
            &new[..7]
        )),
        "{}",
        page.outcome
    );
    w.settle().await;
    assert!(
        w.fake.deployments(REPO).is_empty(),
        "a commit the page never showed was deployed"
    );
    // Positive control: the page showing the new head stages it.
    let page = click(&w, "maria", number, &[("command", "stage"), ("sha", &new)]).await;
    assert_eq!(page.status, 200, "{}", page.html);
    w.until("the new head live", |f| preview_live(f, &new))
        .await;
    assert!(!w.fake.deployments(REPO).iter().any(|d| d.sha == old));
}

async fn target_world() -> World {
    let w = World::start().await;
    w.fake.set_permission(REPO, "boss", Role::Maintain).unwrap();
    w.fake.set_permission(REPO, "writer", Role::Write).unwrap();
    w.fake
        .put_file(
            REPO,
            "main",
            POLICY,
            "environments: [staging, production]\ntargets:\n  production: [au, uk]\n",
        )
        .unwrap();
    w
}

#[tokio::test]
async fn promote_to_an_environment_and_to_one_target() {
    let w = target_world().await;
    let (number, sha) = w.staged("feature").await;
    let page = click(
        &w,
        "boss",
        number,
        &[
            ("command", "promote"),
            ("sha", &sha),
            ("environment", "production-uk"),
        ],
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.html);
    w.until("live in production-uk", |f| {
        live_in(f, "production-uk", &sha)
    })
    .await;
    assert!(
        w.fake.deployments_in(REPO, "production-au").is_empty(),
        "promoting one target deployed another"
    );
    w.reply_containing(
        number,
        "`/promote production-uk` from the dashboard by @boss",
    )
    .await;
    let page = click(
        &w,
        "boss",
        number,
        &[
            ("command", "promote"),
            ("sha", &sha),
            ("environment", "staging"),
        ],
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.html);
    w.until("live in staging", |f| live_in(f, "staging", &sha))
        .await;
    // An environment the policy does not have: the rule's refusal, with its reason.
    let page = click(
        &w,
        "boss",
        number,
        &[
            ("command", "promote"),
            ("sha", &sha),
            ("environment", "moon"),
        ],
    )
    .await;
    assert_eq!(page.status, 409, "{}", page.html);
    assert!(page.outcome.contains("moon"), "{}", page.outcome);
}

#[tokio::test]
async fn hold_and_unhold_with_a_hostile_reason_render_it_as_text() {
    let w = target_world().await;
    let (number, sha) = w.staged("feature").await;
    let hostile = "<img src=x onerror=alert(1)> @everyone [click](https://evil.example) <!--";
    let page = click(
        &w,
        "boss",
        number,
        &[
            ("command", "hold"),
            ("sha", &sha),
            ("environment", "production"),
            ("reason", hostile),
        ],
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(!page.html.contains("<img"), "{}", page.html);
    assert!(!page.html.contains("<!--"), "{}", page.html);
    let announcement = w
        .reply_containing(number, "from the dashboard by @boss")
        .await;
    let shown = fake_github::markdown::shown(&announcement);
    assert!(shown.hidden.is_empty(), "{announcement}");
    assert!(shown.links.is_empty(), "{announcement}");
    assert!(
        shown
            .mentions
            .iter()
            .all(|m| m.trim_start_matches('@') == "boss"),
        "{:?} in {announcement}",
        shown.mentions
    );
    // Held: a promotion is refused by the rule, with the hold as its reason.
    let page = click(
        &w,
        "boss",
        number,
        &[
            ("command", "promote"),
            ("sha", &sha),
            ("environment", "production"),
        ],
    )
    .await;
    assert_eq!(page.status, 409, "{}", page.html);
    assert!(page.outcome.contains("held"), "{}", page.outcome);
    let page = click(
        &w,
        "boss",
        number,
        &[
            ("command", "unhold"),
            ("sha", &sha),
            ("environment", "production"),
        ],
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.outcome.contains("no longer held"), "{}", page.outcome);
    let page = click(
        &w,
        "boss",
        number,
        &[
            ("command", "unhold"),
            ("sha", &sha),
            ("environment", "production"),
        ],
    )
    .await;
    assert_eq!(page.status, 409, "{}", page.html);
    assert!(page.outcome.contains("is not held"), "{}", page.outcome);
}

#[tokio::test]
async fn bad_forms_anonymous_posts_and_forged_posts_enqueue_nothing() {
    let (w, number, sha) = fork_world().await;
    let before = command_jobs(&w).await;
    let long = "a".repeat(600);
    for fields in [
        vec![("command", "deploy-everything"), ("sha", sha.as_str())],
        vec![("command", "stage"), ("sha", "<script>")],
        vec![("command", "stage"), ("sha", long.as_str())],
        vec![
            ("command", "promote"),
            ("sha", sha.as_str()),
            ("environment", long.as_str()),
        ],
        vec![
            ("command", "hold"),
            ("sha", sha.as_str()),
            ("environment", "production"),
            ("reason", long.as_str()),
        ],
    ] {
        let page = click(&w, "maria", number, &fields).await;
        assert_eq!(page.status, 400, "{fields:?}: {}", page.html);
        assert_eq!(page.class, "refused");
        assert!(!page.html.contains("<script>"), "{}", page.html);
    }
    // A pull request Gangway does not know.
    let page = click(&w, "maria", 999, &[("command", "stage"), ("sha", &sha)]).await;
    assert_eq!(page.status, 404, "{}", page.html);
    // CSRF: no token, another session's token, a cross-site post.
    let maria = signed_in(&w, "maria").await;
    let mallory = signed_in(&w, "mallory").await;
    let stage = encode(&[("command", "stage"), ("sha", &sha)]);
    let page = click_raw(&maria, &same_origin(), number, &stage).await;
    assert_eq!(page.status, 403, "{}", page.html);
    assert!(page.outcome.contains("CSRF"), "{}", page.outcome);
    let forged = encode(&[
        ("csrf", mallory.csrf.as_str()),
        ("command", "stage"),
        ("sha", &sha),
    ]);
    let page = click_raw(&maria, &same_origin(), number, &forged).await;
    assert_eq!(page.status, 403, "{}", page.html);
    let mut cross = HeaderMap::new();
    cross.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
    let good = encode(&[
        ("csrf", maria.csrf.as_str()),
        ("command", "stage"),
        ("sha", &sha),
    ]);
    let page = click_raw(&maria, &cross, number, &good).await;
    assert_eq!(page.status, 403, "{}", page.html);
    assert!(page.outcome.contains("another site"), "{}", page.outcome);
    // Anonymous, over HTTP: sent to sign in.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http
        .post(w.app.url(&format!("/repos/{REPO}/pulls/{number}/actions")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(good.clone())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    assert_eq!(
        r.headers().get("location").and_then(|l| l.to_str().ok()),
        Some("/login")
    );
    w.settle().await;
    assert_eq!(
        command_jobs(&w).await,
        before,
        "a refused post queued a command"
    );
    let state = w.app.running.as_ref().unwrap().web_state().clone();
    assert!(state.store.dashboard_action(1).await.unwrap().is_none());
    assert!(w.fake.deployments(REPO).is_empty());
}

#[tokio::test]
async fn an_operator_retries_a_dead_job_and_no_one_else_may() {
    let w = World::start_with("", "", &[("GANGWAY_OPERATORS", "ops")]).await;
    w.allow_dead(JobKind::Command);
    let state = w.app.running.as_ref().unwrap().web_state().clone();
    let id = state
        .queue
        .enqueue(&NewJob {
            kind: JobKind::Command,
            key: JobKey::from_stored("broken"),
            payload: "not a payload".to_owned(),
            run_at_ms: None,
            priority: 0,
        })
        .await
        .unwrap();
    let queue = state.queue.clone();
    let dead = || {
        let queue = queue.clone();
        async move {
            let jobs = queue.jobs(Some(JobState::Dead)).await.ok()?;
            jobs.iter().find(|j| j.id == id).map(|j| j.attempts)
        }
    };
    support::wait_for("the job dead", Duration::from_secs(30), dead).await;
    let maria = signed_in(&w, "maria").await;
    let ops = signed_in(&w, "ops").await;
    let path = format!("/operator/jobs/{id}/retry");
    // Not an operator, or not signed in: as if there were no such page.
    let page = page_of(
        maria
            .post(&path, HeaderMap::new(), format!("csrf={}", maria.csrf))
            .await,
    )
    .await;
    assert_eq!(page.status, 404, "{}", page.html);
    let anonymous = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(w.app.url(&path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(String::new())
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 404);
    // An operator without the token.
    let page = page_of(ops.post(&path, HeaderMap::new(), String::new()).await).await;
    assert_eq!(page.status, 403, "{}", page.html);
    let jobs = state.queue.jobs(Some(JobState::Dead)).await.unwrap();
    assert!(
        jobs.iter().any(|j| j.id == id),
        "retried without an operator's valid post"
    );
    let page = page_of(
        ops.post(&path, HeaderMap::new(), format!("csrf={}", ops.csrf))
            .await,
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert_eq!(page.class, "accepted");
    let trail = state.store.operator_audit().await.unwrap();
    assert!(
        trail.iter().any(|(_, s, d, _)| d == "retried"
            && s == &format!("job {id} retried by @ops from the dashboard")),
        "{trail:?}"
    );
    // It runs again (and dies again: its payload is still broken).
    support::wait_for("the job dead again", Duration::from_secs(30), dead).await;
    // A job that is not dead (or does not exist): nothing to retry.
    let page = page_of(
        ops.post(
            "/operator/jobs/424242/retry",
            HeaderMap::new(),
            format!("csrf={}", ops.csrf),
        )
        .await,
    )
    .await;
    assert_eq!(page.status, 409, "{}", page.html);
}

#[tokio::test]
async fn announcements_share_the_hourly_cap_with_replies_and_the_page_still_answers() {
    let (w, number, sha) = fork_world().await;
    // One reply to a comment first: replies and announcements count together.
    w.say(number, "reader", "/stage").await;
    w.reply_containing(number, "needs write permission").await;
    for _ in 0..5 {
        let page = click(&w, "reader", number, &[("command", "stage"), ("sha", &sha)]).await;
        assert_eq!(page.status, 403, "{}", page.html);
        assert!(page.outcome.contains("you have read"), "{}", page.outcome);
    }
    w.settle().await;
    let answers = w
        .replies(number)
        .iter()
        .filter(|r| r.contains("@reader"))
        .count();
    assert_eq!(answers, 5, "{:?}", w.replies(number));
    let trail = audit(&w, number).await;
    let refused = trail
        .iter()
        .filter(|(s, d, _)| d == "refused" && s.contains("@reader from the dashboard"))
        .count();
    assert_eq!(refused, 5, "every click is audited, announced or not");
}
