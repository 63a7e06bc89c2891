use super::*;

fn api(url: &str) -> Uri {
    url.parse().unwrap()
}

fn link(value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(http::header::LINK, value.parse().unwrap());
    h
}

#[test]
fn githubs_link_header_gives_the_next_page() {
    let h = link(
        "<https://api.github.com/installation/repositories?per_page=100&page=2>; rel=\"next\", \
         <https://api.github.com/installation/repositories?per_page=100&page=3>; rel=\"last\"",
    );
    assert_eq!(
        next_link(&h).unwrap().as_deref(),
        Some("https://api.github.com/installation/repositories?per_page=100&page=2")
    );
    // The last page has prev/first only.
    let h = link(
        "<https://api.github.com/x?page=1>; rel=\"first\", <https://api.github.com/x?page=2>; rel=\"prev\"",
    );
    assert_eq!(next_link(&h).unwrap(), None);
    assert_eq!(next_link(&HeaderMap::new()).unwrap(), None);
}

#[test]
fn rel_may_be_unquoted_hold_several_values_or_sit_among_other_parameters() {
    let h = link("</x?page=2>; title=\"a, b; c\"; rel=next");
    assert_eq!(next_link(&h).unwrap().as_deref(), Some("/x?page=2"));
    let h = link("</x?page=9>; rel=\"last next\"");
    assert_eq!(next_link(&h).unwrap().as_deref(), Some("/x?page=9"));
}

#[test]
fn an_unreadable_link_header_is_an_error_not_the_end_of_the_list() {
    for bad in [
        "https://api.github.com/x?page=2; rel=\"next\"",
        "<https://api.github.com/x?page=2; rel=\"next\"",
        "<>; rel=\"next\"",
        "<https://api.github.com/x?page=2>; rel",
        "<https://a/x?page=2>; rel=\"next\", <https://a/x?page=3>; rel=\"next\"",
    ] {
        assert!(
            matches!(next_link(&link(bad)), Err(PageError::MalformedLink(_))),
            "{bad}"
        );
    }
}

#[test]
fn relative_and_absolute_links_become_routes_on_the_api() {
    let gh = api("https://api.github.com");
    assert_eq!(
        route_of("https://api.github.com/repos/o/r/pulls?page=2", &gh).unwrap(),
        "/repos/o/r/pulls?page=2"
    );
    assert_eq!(
        route_of("https://API.github.com:443/x?page=2", &gh).unwrap(),
        "/x?page=2"
    );
    assert_eq!(route_of("/x?page=2", &gh).unwrap(), "/x?page=2");
    let local = api("http://127.0.0.1:4000");
    assert_eq!(
        route_of("http://127.0.0.1:4000/app/installations?page=3", &local).unwrap(),
        "/app/installations?page=3"
    );
    // GitHub Enterprise Server: the API lives under /api/v3.
    let ghes = api("https://ghe.example.org/api/v3");
    assert_eq!(
        route_of(
            "https://ghe.example.org/api/v3/repos/o/r/pulls?page=2",
            &ghes
        )
        .unwrap(),
        "/repos/o/r/pulls?page=2"
    );
    assert_eq!(
        route_of("/api/v3/repos/o/r/pulls?page=2", &ghes).unwrap(),
        "/repos/o/r/pulls?page=2"
    );
}

#[test]
fn links_off_the_api_are_refused() {
    let gh = api("https://api.github.com");
    for hostile in [
        "https://evil.example/x?page=2",
        "http://api.github.com/x?page=2",
        "https://api.github.com:8443/x?page=2",
        "https://api.github.com.evil.example/x?page=2",
        "https://api.github.com@evil.example/x?page=2",
        "//evil.example/x?page=2",
        "/\\evil.example/x?page=2",
    ] {
        assert!(
            matches!(route_of(hostile, &gh), Err(PageError::OffApi(_))),
            "{hostile}: {:?}",
            route_of(hostile, &gh)
        );
    }
    let ghes = api("https://ghe.example.org/api/v3");
    for beside in [
        "https://ghe.example.org/login?page=2",
        "/api/v3x/y",
        "/x?page=2",
    ] {
        assert!(
            matches!(route_of(beside, &ghes), Err(PageError::OffApi(_))),
            "{beside}"
        );
    }
    assert!(matches!(
        route_of("javascript:alert(1)", &gh),
        Err(PageError::MalformedLink(_) | PageError::OffApi(_))
    ));
    assert!(route_of("x?page=2", &gh).is_err());
}

#[test]
fn pages_ask_for_100_follow_next_and_stop_at_the_last() {
    let gh = api("https://api.github.com");
    let mut pages = Pages::new(&gh, "/repos/o/r/pulls?state=open");
    assert_eq!(
        pages.next_route().unwrap().as_deref(),
        Some("/repos/o/r/pulls?state=open&per_page=100")
    );
    pages
        .advance(&link(
            "<https://api.github.com/repos/o/r/pulls?state=open&per_page=100&page=2>; rel=\"next\"",
        ))
        .unwrap();
    assert_eq!(
        pages.next_route().unwrap().as_deref(),
        Some("/repos/o/r/pulls?state=open&per_page=100&page=2")
    );
    pages.advance(&HeaderMap::new()).unwrap();
    assert_eq!(pages.next_route().unwrap(), None);
    assert_eq!(pages.fetched(), 2);
    assert_eq!(
        Pages::new(&gh, "/installation/repositories")
            .next_route()
            .unwrap()
            .as_deref(),
        Some("/installation/repositories?per_page=100")
    );
}

#[test]
fn a_list_longer_than_the_cap_fails_instead_of_being_cut_short() {
    let gh = api("https://api.github.com");
    let mut pages = Pages::with_cap(&gh, "/x", 2);
    for n in 2..=3 {
        assert!(pages.next_route().unwrap().is_some());
        pages
            .advance(&link(&format!("</x?per_page=100&page={n}>; rel=\"next\"")))
            .unwrap();
    }
    assert_eq!(pages.next_route(), Err(PageError::TooManyPages { max: 2 }));
    // Exactly at the cap with nothing more: complete.
    let mut pages = Pages::with_cap(&gh, "/x", 1);
    assert!(pages.next_route().unwrap().is_some());
    pages.advance(&HeaderMap::new()).unwrap();
    assert_eq!(pages.next_route().unwrap(), None);
}

#[test]
fn a_hostile_next_link_stops_the_list_with_an_error() {
    let gh = api("https://api.github.com");
    let mut pages = Pages::new(&gh, "/x");
    pages.next_route().unwrap();
    assert!(matches!(
        pages.advance(&link("<https://evil.example/x?page=2>; rel=\"next\"")),
        Err(PageError::OffApi(_))
    ));
}
