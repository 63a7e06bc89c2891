use super::*;

#[test]
fn alias_and_slot_templates_need_their_placeholders_and_render_dns_names() {
    assert!(NameTemplate::parse(TemplateKind::Alias, "preview.example.org").is_err());
    assert!(NameTemplate::parse(TemplateKind::Alias, "pr-{sha}.example.org").is_err());
    assert!(NameTemplate::parse(TemplateKind::Slot, "{slot}.example.org").is_err());
    let a = NameTemplate::parse(TemplateKind::Alias, "pr-{number}.Staging.example.org").unwrap();
    assert_eq!(a.alias(7, "octo/App").unwrap(), "pr-7.staging.example.org");
    let s = NameTemplate::parse(TemplateKind::Slot, "{repo}-{slot}.example.org").unwrap();
    assert_eq!(
        s.slot("beta", "octo/My_App").unwrap(),
        "my-app-beta.example.org"
    );
}

#[test]
fn changed_files_map_to_pages_encoded_first_route_wins_at_most_ten() {
    let routes = vec![
        Route {
            source: r"docs/(.+)\.md".into(),
            public: "docs/$1.html".into(),
        },
        Route {
            source: r"(?P<page>.+)\.md".into(),
            public: "/${page}/".into(),
        },
    ];
    let files: Vec<String> = ["docs/a.md", "README.md", "src/x.rs", "docs/a b?#<x>.md"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let links = route_links(&routes, &files, "https://h.example/");
    let urls: Vec<&str> = links.iter().map(|l| l.url.as_str()).collect();
    assert_eq!(
        urls,
        vec![
            "https://h.example/docs/a.html",
            "https://h.example/README/",
            "https://h.example/docs/a%20b%3F%23%3Cx%3E.html",
        ]
    );
    let many: Vec<String> = (0..30).map(|i| format!("docs/{i}.md")).collect();
    assert_eq!(
        route_links(&routes, &many, "https://h").len(),
        MAX_ROUTE_LINKS
    );
}
