//! The dashboard in a real browser (headless Chromium over WebDriver, see `support::browser`):
//! what a person sees on a desktop and on a phone, with JavaScript on and off. Screenshots of the
//! pages land in `target/screenshots/` (test artifacts, not committed).
//!
//! Without Chromium and chromedriver these tests are skipped (printed), except under `CI=true`.

use crate::support;

use fantoccini::Locator;
use support::TestApp;
use support::browser::{Browser, BrowserOpts, OtherSite, PHONE};

/// Every address the page loaded or points its subresources at (scripts, stylesheets, images,
/// frames), as the browser resolved them.
async fn subresources(b: &Browser) -> Vec<String> {
    let mut out = Vec::new();
    for el in b
        .client()
        .find_all(Locator::Css("[src], link[href]"))
        .await
        .expect("find subresources")
    {
        for prop in ["src", "href"] {
            if let Ok(Some(v)) = el.prop(prop).await
                && !v.is_empty()
            {
                out.push(v);
            }
        }
    }
    if b.opts.javascript {
        // What the page actually fetched (stylesheet, script, anything they pulled in).
        let names = b
            .execute("return performance.getEntriesByType('resource').map(e => e.name);")
            .await;
        for n in names.as_array().into_iter().flatten() {
            out.push(n.as_str().unwrap_or_default().to_owned());
        }
    }
    out
}

/// `/` for someone not signed in: the "Sign in with GitHub" link, visible and inside the window,
/// nothing fetched from another origin, and a screenshot.
async fn home_shows_sign_in(opts: BrowserOpts, name: &str) {
    let app = TestApp::start().await;
    let Some(b) = Browser::start(opts).await else {
        return;
    };
    b.goto(&app.url("/")).await;
    b.wait_for("a#sign-in").await;
    assert_eq!(b.text("a#sign-in").await, "Sign in with GitHub");
    assert_eq!(
        b.attr("a#sign-in", "href").await.as_deref(),
        Some("/login"),
        "the sign-in link goes to Gangway's /login"
    );
    let link = b
        .client()
        .find(Locator::Css("a#sign-in"))
        .await
        .expect("sign-in link");
    assert!(
        link.is_displayed().await.expect("displayed"),
        "the link is visible"
    );
    let (x, _, w, _) = link.rectangle().await.expect("rectangle");
    let width = if opts.mobile { PHONE.0 } else { 1280 };
    assert!(
        x >= 0.0 && x + w <= f64::from(width),
        "the link is inside a {width}px window: x={x} width={w}"
    );
    // A visitor who did nothing gets no cookie (sign-in sets them, not reading a page).
    let cookies: Vec<String> = b.cookies().await.iter().map(|c| c.to_string()).collect();
    assert!(cookies.is_empty(), "cookies for a visitor: {cookies:?}");

    let origin = app.url("/");
    let foreign: Vec<String> = subresources(&b)
        .await
        .into_iter()
        .filter(|u| !u.starts_with(&origin))
        .collect();
    assert!(
        foreign.is_empty(),
        "the page loads nothing from another origin than {origin}: {foreign:?}"
    );
    let shot = b.screenshot(name).await;
    assert!(
        std::fs::metadata(&shot).is_ok_and(|m| m.len() > 0),
        "{shot:?}"
    );
    b.close().await;
    app.stop().await;
}

#[tokio::test]
async fn home_on_a_desktop_shows_sign_in() {
    home_shows_sign_in(
        BrowserOpts {
            javascript: true,
            mobile: false,
        },
        "home-desktop",
    )
    .await;
}

#[tokio::test]
async fn home_on_a_phone_shows_sign_in() {
    home_shows_sign_in(
        BrowserOpts {
            javascript: true,
            mobile: true,
        },
        "home-phone",
    )
    .await;
}

#[tokio::test]
async fn home_without_javascript_on_a_desktop_shows_sign_in() {
    home_shows_sign_in(
        BrowserOpts {
            javascript: false,
            mobile: false,
        },
        "home-desktop-nojs",
    )
    .await;
}

#[tokio::test]
async fn home_without_javascript_on_a_phone_shows_sign_in() {
    home_shows_sign_in(
        BrowserOpts {
            javascript: false,
            mobile: true,
        },
        "home-phone-nojs",
    )
    .await;
}

/// The harness itself: `javascript: false` really turns the page's scripts off (else the
/// no-JavaScript tests above would prove nothing), and `mobile` gives a phone-wide viewport.
#[tokio::test]
async fn the_harness_turns_javascript_off_and_sizes_a_phone() {
    let site = OtherSite::serve(
        "<!doctype html><meta name=viewport content='width=device-width'>\
         <p id=s>scripts off</p>\
         <script>document.getElementById('s').textContent = 'scripts on';</script>"
            .to_owned(),
    )
    .await;
    for (javascript, mobile, want) in [(false, true, "scripts off"), (true, false, "scripts on")] {
        let Some(b) = Browser::start(BrowserOpts { javascript, mobile }).await else {
            return;
        };
        b.goto(&site.url()).await;
        assert_eq!(b.text("#s").await, want, "javascript: {javascript}");
        let width = b.execute("return window.innerWidth;").await;
        let want_width = if mobile { PHONE.0 } else { 1280 };
        assert_eq!(
            width.as_u64(),
            Some(u64::from(want_width)),
            "mobile: {mobile}"
        );
        b.close().await;
    }
}
