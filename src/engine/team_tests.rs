use super::*;

#[test]
fn hostile_file_names_and_links_are_inert_and_links_show_only_when_live() {
    let v = TeamView {
        alias_url: Some("https://pr-7.example.org".into()),
        route_links: vec![RouteLink {
            file: "x](javascript:alert(1)) @team".into(),
            url: "https://h/x%5D".into(),
        }],
        kept_until: Some(0),
        kept_by: Some("ann".into()),
        ..TeamView::default()
    };
    let live = lines(&v, true).join("\n");
    assert!(live.contains("https://pr-7.example.org"), "{live}");
    assert!(
        live.contains("- `x](javascript:alert(1)) @\u{200b}team`: https://h/x%5D"),
        "{live}"
    );
    assert!(live.contains("📌 **Pinned** by @ann"), "{live}");
    let not_live = lines(&v, false).join("\n");
    assert!(
        !not_live.contains("pr-7") && !not_live.contains("javascript"),
        "{not_live}"
    );
}
