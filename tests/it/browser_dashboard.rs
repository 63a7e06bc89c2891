//! The dashboard's acceptance tests in a real browser (issue 18): sign in through GitHub, stage a
//! fork PR with a button and see it deployed, a reader refused with the reason, a private
//! repository invisible, sign out, register the App from the first page, and a cross-site form
//! that cannot act. Each writes screenshots of the pages it passes (`target/screenshots/`).
//! Also: hostile PR titles stay text in a real browser, and the pages and buttons work with
//! JavaScript turned off.
//!
//! Every test Gangway knows the fake GitHub's default OAuth client (`support::settings` sets
//! `FakeConfig::DEFAULT_CLIENT_ID` and `DEFAULT_CLIENT_SECRET`).

use crate::support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fake_github::{FakeConfig, FakeGitHub, PrSpec, Role, UserKind};
use support::browser::{Browser, BrowserOpts, OtherSite};
use support::world::{REPO, World, last_state};
use support::{APP_ID, KEY_PEM, PUBLIC_KEY_PEM};

/// `maria` sees the operator views too.
const SETTINGS: &[(&str, &str)] = &[("GANGWAY_OPERATORS", "maria")];

fn fork_pr() -> PrSpec {
    PrSpec::new(REPO, "patch-1", "outsider").from_fork("outsider")
}

fn desktop() -> BrowserOpts {
    BrowserOpts {
        javascript: true,
        mobile: false,
    }
}

/// A World whose Gangway a browser can sign in to, with a green fork PR waiting for approval and
/// `maria` (write) and `reader` (read) on the repository: the PR's number and head.
async fn world_with_fork_pr() -> (World, u64, String) {
    world_with(fork_pr()).await
}

/// As [`world_with_fork_pr`], the PR opened from `spec`.
async fn world_with(spec: PrSpec) -> (World, u64, String) {
    let w = World::start_browsable(SETTINGS).await;
    w.fake.set_permission(REPO, "maria", Role::Write).unwrap();
    w.fake.set_permission(REPO, "reader", Role::Read).unwrap();
    let pr = w.fake.open_pr(spec).await.unwrap();
    w.green(REPO, &pr.head_sha).await;
    w.settle().await;
    assert!(
        w.fake.deployments(REPO).is_empty(),
        "a fork PR waits for approval"
    );
    (w, pr.number, pr.head_sha)
}

/// Signs in as `login` through the fake GitHub's authorize page, from Gangway's first page.
async fn sign_in(b: &Browser, w: &World, login: &str) {
    // A GitHub account by that name.
    w.fake.add_user(login, UserKind::User);
    b.goto(&w.app.url("/")).await;
    b.click("a#sign-in").await;
    b.wait_for("#login").await;
    b.fill("#login", login).await;
    b.click("#authorize").await;
    b.wait_for("#signed-in-as").await;
    let who = b.text("#signed-in-as").await;
    assert!(who.contains(login), "signed in as {login}: {who:?}");
    assert!(
        b.current_url().await.starts_with(&w.app.url("/")),
        "back on Gangway after signing in: {}",
        b.current_url().await
    );
}

fn pr_page(w: &World, number: u64) -> String {
    w.app.url(&format!("/repos/{REPO}/pulls/{number}"))
}

/// The browser's cookies as a `Cookie` header, to ask Gangway what a page answers (status codes
/// are not visible through WebDriver).
async fn cookie_header(b: &Browser) -> String {
    b.cookies()
        .await
        .iter()
        .map(|c| format!("{}={}", c.name(), c.value()))
        .collect::<Vec<_>>()
        .join("; ")
}

#[tokio::test]
async fn a_maintainer_stages_a_fork_pr_with_the_button_and_sees_it_deployed() {
    let (w, number, sha) = world_with_fork_pr().await;
    let Some(b) = Browser::start(desktop()).await else {
        return;
    };
    sign_in(&b, &w, "maria").await;
    b.wait_for(&format!("[data-pr=\"{number}\"]")).await;
    b.screenshot("dashboard-home-signed-in").await;

    b.goto(&w.app.url(&format!("/repos/{REPO}"))).await;
    b.wait_for(&format!("[data-pr=\"{number}\"]")).await;
    b.screenshot("dashboard-repo").await;

    b.goto(&pr_page(&w, number)).await;
    let shown = b.text("#head-sha").await.trim().to_owned();
    assert_eq!(shown, sha, "the PR page shows the head");
    assert!(
        !b.exists("#deployments, table.previews").await,
        "nothing deployed before the click"
    );
    b.screenshot("dashboard-pr").await;
    b.click("form[data-command=\"stage\"] button[value=\"stage\"]")
        .await;
    b.wait_for("#outcome.accepted").await;
    let outcome = b.text("#outcome").await;
    assert!(!outcome.trim().is_empty(), "the outcome says something");
    b.screenshot("dashboard-stage-accepted").await;

    // GitHub has a deployment of exactly the commit the page showed, and it went live.
    w.until("the staged head live on GitHub", |f| {
        f.deployments(REPO)
            .iter()
            .any(|d| d.sha == shown && last_state(d) == "success")
    })
    .await;
    assert!(
        w.fake.deployments(REPO).iter().all(|d| d.sha == shown),
        "only the shown head was deployed: {:?}",
        w.fake
            .deployments(REPO)
            .iter()
            .map(|d| &d.sha)
            .collect::<Vec<_>>()
    );
    w.settle().await;

    b.click("a#back").await;
    b.wait_for("#head-sha").await;
    assert!(b.current_url().await.starts_with(&pr_page(&w, number)));
    // The PR page lists the staged commit (a preview of a PR, or a long-lived environment),
    // reloaded until Gangway has recorded it.
    b.wait_for_reloading(&format!(
        "#deployments [data-sha=\"{shown}\"], table.previews [data-sha=\"{shown}\"]"
    ))
    .await;
    b.screenshot("dashboard-pr-deployed").await;

    // The commit page and the operator's dead jobs.
    b.goto(&w.app.url(&format!("/repos/{REPO}/commits/{shown}")))
        .await;
    b.wait_for("main#main").await;
    assert!(
        b.page_text().await.contains(&shown[..7]),
        "the commit page names the commit"
    );
    b.screenshot("dashboard-commit").await;
    // After half a dozen pages with live refresh (each page's stream closed as it is left).
    b.goto(&w.app.url("/operator/jobs")).await;
    b.wait_for("main#main").await;
    assert!(
        b.page_text().await.contains("Jobs"),
        "the operator sees the jobs page"
    );
    b.screenshot("dashboard-operator-jobs").await;
    b.close().await;
}

#[tokio::test]
async fn a_reader_clicking_stage_is_refused_with_the_reason() {
    let (w, number, _sha) = world_with_fork_pr().await;
    let Some(b) = Browser::start(desktop()).await else {
        return;
    };
    sign_in(&b, &w, "reader").await;
    b.goto(&pr_page(&w, number)).await;
    b.click("form[data-command=\"stage\"] button[value=\"stage\"]")
        .await;
    b.wait_for("#outcome.refused").await;
    let outcome = b.text("#outcome").await;
    assert!(
        outcome.contains("needs write permission"),
        "the refusal says why: {outcome:?}"
    );
    b.screenshot("dashboard-stage-refused").await;
    w.settle().await;
    assert!(
        w.fake.deployments(REPO).is_empty(),
        "a reader's click deployed the fork"
    );
    b.close().await;
}

#[tokio::test]
async fn a_private_repository_is_not_found_for_a_user_without_access() {
    let w = World::start_browsable(SETTINGS).await;
    w.fake.set_private(REPO, true).unwrap();
    w.fake.set_permission(REPO, "maria", Role::Read).unwrap();
    let Some(b) = Browser::start(desktop()).await else {
        return;
    };
    sign_in(&b, &w, "stranger").await;
    let http = support::test_http_client();
    let status = |path: String| {
        let http = http.clone();
        let url = w.app.url(&path);
        let b = &b;
        async move {
            http.get(url)
                .header("cookie", cookie_header(b).await)
                .send()
                .await
                .expect("GET")
                .status()
                .as_u16()
        }
    };
    assert_eq!(status(format!("/repos/{REPO}")).await, 404);
    assert_eq!(status("/repos/octo/no-such-repo".to_owned()).await, 404);
    // The same page as a repository that does not exist: nothing tells them it is there.
    b.goto(&w.app.url(&format!("/repos/{REPO}"))).await;
    let private = b.page_text().await;
    b.goto(&w.app.url("/repos/octo/no-such-repo")).await;
    let missing = b.page_text().await;
    assert_eq!(
        private.replace(REPO, "X").replace("octo/no-such-repo", "X"),
        missing.replace("octo/no-such-repo", "X"),
    );
    b.screenshot("dashboard-private-404").await;
    b.close().await;

    // Positive control: a collaborator sees it.
    let Some(b) = Browser::start(desktop()).await else {
        return;
    };
    sign_in(&b, &w, "maria").await;
    b.goto(&w.app.url(&format!("/repos/{REPO}"))).await;
    let http = support::test_http_client();
    let resp = http
        .get(w.app.url(&format!("/repos/{REPO}")))
        .header("cookie", cookie_header(&b).await)
        .send()
        .await
        .expect("GET");
    assert_eq!(resp.status(), 200);
    b.close().await;
}

#[tokio::test]
async fn signing_out_shows_sign_in_again() {
    let w = World::start_browsable(SETTINGS).await;
    let Some(b) = Browser::start(BrowserOpts {
        javascript: false,
        mobile: true,
    })
    .await
    else {
        return;
    };
    sign_in(&b, &w, "maria").await;
    b.screenshot("dashboard-signed-in-phone").await;
    b.click("button#sign-out").await;
    b.wait_for("a#sign-in").await;
    b.goto(&w.app.url("/")).await;
    b.wait_for("a#sign-in").await;
    assert!(!b.exists("#signed-in-as").await);
    b.screenshot("dashboard-signed-out-phone").await;
    b.close().await;
}

/// `gangway serve` started by this test (killed on drop).
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn registering_the_app_from_the_first_page() {
    // The fake hands out the App's key on registration only when it has one.
    let fake = FakeGitHub::start(FakeConfig::new(APP_ID, PUBLIC_KEY_PEM).with_private_key(KEY_PEM))
        .await
        .expect("fake github");
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let public = format!("http://127.0.0.1:{port}");
    let credentials = dir.path().join("gangway-app.toml");
    // Setup mode: none of the App's settings (`config::APP_SETTINGS`), only what
    // `SetupSettings` reads.
    let child = Command::new(env!("CARGO_BIN_EXE_gangway"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GITHUB_API_URL", fake.url())
        .env("GANGWAY_PUBLIC_URL", &public)
        .env("GANGWAY_HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("gangway.db").display()),
        )
        .env("GANGWAY_CREDENTIALS_FILE", &credentials)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start gangway serve");
    let _serve = Serve(child);
    let http = support::test_http_client();
    support::wait_for("gangway in setup mode", Duration::from_secs(30), || {
        let http = http.clone();
        let url = format!("{public}/healthz");
        async move { http.get(url).send().await.ok().map(|_| ()) }
    })
    .await;

    let Some(b) = Browser::start(desktop()).await else {
        return;
    };
    b.goto(&format!("{public}/")).await;
    b.wait_for("form#register").await;
    b.screenshot("setup-register").await;
    b.click("button#register-app").await;
    b.wait_for("#create-app").await;
    assert!(
        b.current_url().await.starts_with(fake.url()),
        "on GitHub's app creation page: {}",
        b.current_url().await
    );
    b.screenshot("setup-github-create-app").await;
    b.click("#create-app").await;
    b.wait_for("#registered").await;
    b.screenshot("setup-registered").await;
    assert!(b.current_url().await.starts_with(&public));
    let page = b.page_text().await;
    assert!(
        page.contains(&credentials.display().to_string()),
        "the page names the file: {page}"
    );
    assert!(
        !page.contains("PRIVATE KEY"),
        "the page shows no secret: {page}"
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&credentials)
            .expect("credentials written")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    b.close().await;
}

/// An auto-submitting form on `site` posting Stage for `number` at `sha` to Gangway, with a
/// `csrf` field of `csrf` (none when `None`).
fn hostile_form(gangway: &str, number: u64, sha: &str, csrf: Option<&str>) -> String {
    let token = csrf
        .map(|t| format!("<input type=hidden name=csrf value=\"{t}\">"))
        .unwrap_or_default();
    format!(
        "<!doctype html><title>Free prizes</title>\
         <form method=post action=\"{gangway}/repos/{REPO}/pulls/{number}/actions\">{token}\
         <input type=hidden name=command value=stage>\
         <input type=hidden name=sha value=\"{sha}\">\
         <input type=hidden name=environment value=\"\">\
         </form><script>document.forms[0].submit();</script>"
    )
}

#[tokio::test]
async fn a_form_on_another_origin_cannot_stage() {
    let (w, number, sha) = world_with_fork_pr().await;
    let Some(b) = Browser::start(desktop()).await else {
        return;
    };
    sign_in(&b, &w, "maria").await;
    let gangway = w.app.url("");
    for csrf in [None, Some("guessed-token")] {
        let site = OtherSite::serve(hostile_form(&gangway, number, &sha, csrf)).await;
        // Another origin on the same site (the session cookie goes along), then another site.
        for url in [site.url(), site.cross_site_url()] {
            b.goto(&url).await;
            // The form leaves the hostile page: for Gangway's answer, or (no session cookie
            // across sites) Gangway's way to sign in.
            let (b, from) = (&b, &url);
            support::wait_for(
                "the hostile form to be submitted",
                Duration::from_secs(15),
                || async move { (!b.current_url().await.starts_with(from)).then_some(()) },
            )
            .await;
            b.wait_for("body").await;
            assert!(
                !b.exists("#outcome.accepted").await,
                "a cross-origin form ({url}, csrf {csrf:?}) was accepted"
            );
        }
    }
    b.screenshot("dashboard-csrf-refused").await;
    w.settle().await;
    assert!(
        w.fake.deployments(REPO).is_empty(),
        "a form on another origin deployed the fork"
    );

    // Positive control: the same signed-in browser, on Gangway's own page, can stage.
    b.goto(&pr_page(&w, number)).await;
    b.click("form[data-command=\"stage\"] button[value=\"stage\"]")
        .await;
    b.wait_for("#outcome.accepted").await;
    w.until_live("staged from Gangway's own page").await;
    b.close().await;
}

/// A PR title made to run script if a page put it in as HTML: each payload sets
/// `window.__pwned` (or opens a dialog) when it runs.
const HOSTILE_TITLE: &str = "<img src=x onerror=\"window.__pwned=1;alert(1)\"> \
    <script>window.__pwned=2</script> \"><svg onload=\"window.__pwned=3\"> '><b id=pwned>x</b>";

/// Whether a payload ran: `window.__pwned` set, an element the title made, or a dialog open.
async fn assert_not_run(b: &Browser, page: &str) {
    let pwned = b
        .execute("return typeof window.__pwned === 'undefined' ? null : String(window.__pwned);")
        .await;
    assert_eq!(
        pwned,
        serde_json::Value::Null,
        "a payload ran on the {page}"
    );
    assert_eq!(
        b.count("img[src=\"x\"], svg[onload], #pwned, main script")
            .await,
        0,
        "the title made elements on the {page}"
    );
    assert!(
        b.client().get_alert_text().await.is_err(),
        "a dialog opened on the {page}"
    );
}

#[tokio::test]
async fn a_hostile_pr_title_shows_as_text_and_runs_nothing() {
    let (w, number, _sha) = world_with(fork_pr().title(HOSTILE_TITLE)).await;
    let Some(b) = Browser::start(desktop()).await else {
        return;
    };
    sign_in(&b, &w, "maria").await;
    for (page, url) in [
        ("home page", w.app.url("/")),
        ("repository page", w.app.url(&format!("/repos/{REPO}"))),
        ("PR page", pr_page(&w, number)),
    ] {
        b.goto(&url).await;
        b.wait_for(&format!("[data-pr=\"{number}\"]")).await;
        // The payload's onerror fires once the broken image would have loaded: wait for the
        // page to finish loading before looking.
        b.execute("return document.readyState;").await;
        let text = b.page_text().await;
        if page != "home page" {
            assert!(
                text.contains("<img src=x onerror=") && text.contains("<script>"),
                "the {page} shows the title as typed: {text}"
            );
        }
        assert_not_run(&b, page).await;
    }
    b.screenshot("dashboard-hostile-title").await;
    b.close().await;
}

#[tokio::test]
async fn without_javascript_the_pages_and_the_stage_button_work() {
    let (w, number, sha) = world_with_fork_pr().await;
    let Some(b) = Browser::start(BrowserOpts {
        javascript: false,
        mobile: false,
    })
    .await
    else {
        return;
    };
    sign_in(&b, &w, "maria").await;
    b.goto(&w.app.url(&format!("/repos/{REPO}"))).await;
    b.click(&format!(
        "[data-pr=\"{number}\"] a[href$=\"/pulls/{number}\"]"
    ))
    .await;
    b.wait_for("#head-sha").await;
    assert_eq!(b.text("#head-sha").await.trim(), sha);
    b.click("form[data-command=\"stage\"] button[value=\"stage\"]")
        .await;
    b.wait_for("#outcome.accepted").await;
    w.until("the staged head live on GitHub", |f| {
        f.deployments(REPO)
            .iter()
            .any(|d| d.sha == sha && last_state(d) == "success")
    })
    .await;
    b.click("a#back").await;
    b.wait_for_reloading(&format!(
        "#deployments [data-sha=\"{sha}\"], table.previews [data-sha=\"{sha}\"]"
    ))
    .await;
    b.screenshot("dashboard-pr-deployed-no-js").await;
    b.close().await;
}
