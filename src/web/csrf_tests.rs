use axum::http::{HeaderMap, HeaderValue};

use super::*;

fn viewer() -> Viewer {
    Viewer {
        login: "octocat".into(),
        id: 1,
        csrf: "t0ken-of-this-session".into(),
    }
}

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, HeaderValue::from_static(v));
    }
    h
}

const URL: &str = "https://gangway.example.org";

#[test]
fn the_sessions_token_from_our_own_page_passes() {
    let h = headers(&[("sec-fetch-site", "same-origin")]);
    assert_eq!(check(&viewer(), "t0ken-of-this-session", &h, URL), Ok(()));
    let h = headers(&[("origin", "https://gangway.example.org")]);
    assert_eq!(check(&viewer(), "t0ken-of-this-session", &h, URL), Ok(()));
}

#[test]
fn a_missing_or_foreign_token_is_refused() {
    let h = headers(&[("sec-fetch-site", "same-origin")]);
    assert_eq!(
        check(&viewer(), "", &h, URL),
        Err(CsrfRefusal::MissingToken)
    );
    assert_eq!(
        check(&viewer(), "t0ken-of-another-sessio", &h, URL),
        Err(CsrfRefusal::WrongToken)
    );
    let mut v = viewer();
    v.csrf.clear();
    assert_eq!(check(&v, "", &h, URL), Err(CsrfRefusal::MissingToken));
}

#[test]
fn a_cross_site_post_is_refused_even_with_the_token() {
    for h in [
        headers(&[("sec-fetch-site", "cross-site")]),
        headers(&[("sec-fetch-site", "same-site")]),
        headers(&[("origin", "https://evil.example.org")]),
        headers(&[("origin", "null")]),
        headers(&[("origin", "https://gangway.example.org.evil.org")]),
    ] {
        assert_eq!(
            check(&viewer(), "t0ken-of-this-session", &h, URL),
            Err(CsrfRefusal::CrossSite)
        );
    }
}

#[test]
fn origins_are_scheme_host_and_port() {
    assert_eq!(
        origin_of("http://127.0.0.1:3000/x/y"),
        "http://127.0.0.1:3000"
    );
    assert_eq!(origin_of("https://h.example"), "https://h.example");
}
