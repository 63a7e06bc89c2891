//! The dashboard's acceptance tests in a real browser (issue 18): sign in through GitHub, stage a
//! fork PR with a button and see it deployed, a reader refused with the reason, a private
//! repository invisible, sign out, register the App from the first page, and a cross-site form
//! that cannot act. Each writes screenshots of the pages it passes (`target/screenshots/`).
//!
//! Written against the contracts between the dashboard's parts before they were merged; ignored
//! until then. When un-ignoring, check the names marked `MERGE:` (the fake GitHub's OAuth client,
//! its private repositories, the setup mode's settings).

use crate::support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fake_github::{FakeConfig, FakeGitHub, PrSpec, Role};
use support::browser::{Browser, BrowserOpts, OtherSite};
use support::world::{REPO, World, last_state};
use support::{APP_ID, PUBLIC_KEY_PEM};

/// MERGE: the OAuth client the fake GitHub knows by default (slice A's
/// `FakeConfig::DEFAULT_CLIENT_ID` and `FakeConfig::DEFAULT_CLIENT_SECRET`: use them).
const FAKE_CLIENT_ID: &str = "Iv1.fakeclientid";
const FAKE_CLIENT_SECRET: &str = "fake-client-secret-0123456789abcdef01234567";

fn oauth() -> [(&'static str, &'static str); 2] {
    [
        ("GANGWAY_GITHUB_CLIENT_ID", FAKE_CLIENT_ID),
        ("GANGWAY_GITHUB_CLIENT_SECRET", FAKE_CLIENT_SECRET),
    ]
}

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
    let w = World::start_browsable(&oauth()).await;
    w.fake.set_permission(REPO, "maria", Role::Write).unwrap();
    w.fake.set_permission(REPO, "reader", Role::Read).unwrap();
    let pr = w.fake.open_pr(fork_pr()).await.unwrap();
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
#[ignore = "needs the sign-in slice"]
async fn a_maintainer_stages_a_fork_pr_with_the_button_and_sees_it_deployed() {
    let (w, number, sha) = world_with_fork_pr().await;
    let Some(b) = Browser::start(desktop()).await else {
        return;
    };
    sign_in(&b, &w, "maria").await;
    b.screenshot("dashboard-home-signed-in").await;

    b.goto(&w.app.url(&format!("/repos/{REPO}"))).await;
    b.wait_for(&format!("[data-pr=\"{number}\"]")).await;
    b.screenshot("dashboard-repo").await;

    b.goto(&pr_page(&w, number)).await;
    let shown = b.text("#head-sha").await;
    assert!(
        sha.starts_with(shown.trim()) || shown.contains(&sha[..7]),
        "{shown:?}"
    );
    b.screenshot("dashboard-pr").await;
    b.click("form[data-command=\"stage\"] button[value=\"stage\"]")
        .await;
    b.wait_for("#outcome.accepted").await;
    b.screenshot("dashboard-stage-accepted").await;

    b.click("a#back").await;
    // The page refreshes itself when the deployment appears (live refresh, JavaScript on).
    // MERGE: the contract names `#deployments`; slice B lists a PR's previews in `table.previews`
    // and long-lived environments in `#deployments`: either is accepted here.
    let short = &sha[..7];
    b.wait_for(&format!(
        "#deployments [data-sha^=\"{short}\"], .previews [data-sha^=\"{short}\"]"
    ))
    .await;
    w.until("the staged head live on GitHub", |f| {
        f.deployments(REPO)
            .iter()
            .any(|d| d.sha == sha && last_state(d) == "success")
    })
    .await;
    b.screenshot("dashboard-pr-deployed").await;
    b.close().await;
}

#[tokio::test]
#[ignore = "needs the sign-in slice"]
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
#[ignore = "needs the sign-in slice"]
async fn a_private_repository_is_not_found_for_a_user_without_access() {
    let w = World::start_browsable(&oauth()).await;
    // MERGE: slice A's `FakeGitHub::set_private`; until then the repository is public and this
    // test fails at the 404 below (it cannot pass by accident).
    // w.fake.set_private(REPO, true).unwrap();
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
#[ignore = "needs the sign-in slice"]
async fn signing_out_shows_sign_in_again() {
    let w = World::start_browsable(&oauth()).await;
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
#[ignore = "needs the registration slice"]
async fn registering_the_app_from_the_first_page() {
    // MERGE: slice D's fake hands out the App's key only when given one:
    // `FakeConfig::new(APP_ID, PUBLIC_KEY_PEM).with_private_key(support::KEY_PEM)` (with that
    // change this test passed on d-E merged with d-D).
    let fake = FakeGitHub::start(FakeConfig::new(APP_ID, PUBLIC_KEY_PEM))
        .await
        .expect("fake github");
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let public = format!("http://127.0.0.1:{port}");
    let credentials = dir.path().join("gangway-app.toml");
    // Setup mode: none of the App's settings (MERGE: slice D's setting names).
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
#[ignore = "needs the sign-in slice"]
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
