use secrecy::SecretString;

use super::*;
use crate::config::github_web_url;

#[test]
fn the_form_posts_to_github_com_or_an_enterprise_server() {
    let gh = github_web_url("https://api.github.com");
    assert_eq!(
        registration_url(&gh, None, "s1"),
        "https://github.com/settings/apps/new?state=s1"
    );
    assert_eq!(
        registration_url(&gh, Some("acme"), "s1"),
        "https://github.com/organizations/acme/settings/apps/new?state=s1"
    );
    let ghes = github_web_url("https://ghe.example.com/api/v3");
    assert_eq!(ghes, "https://ghe.example.com");
    assert_eq!(
        registration_url(&ghes, None, "s2"),
        "https://ghe.example.com/settings/apps/new?state=s2"
    );
    assert_eq!(
        registration_url(&format!("{ghes}/"), Some("ops"), "s2"),
        "https://ghe.example.com/organizations/ops/settings/apps/new?state=s2"
    );
}

#[test]
fn the_manifest_is_the_repositorys_with_the_public_url_filled_in() {
    let m = manifest_json("https://gangway.example.com/").expect("manifest");
    assert_eq!(m["name"], "Gangway");
    assert_eq!(m["url"], "https://gangway.example.com");
    assert_eq!(
        m["hook_attributes"]["url"],
        "https://gangway.example.com/webhooks"
    );
    assert_eq!(m["hook_attributes"]["active"], true);
    assert_eq!(
        m["redirect_url"],
        "https://gangway.example.com/setup/callback"
    );
    assert_eq!(
        m["callback_urls"][0],
        "https://gangway.example.com/auth/callback"
    );
    assert_eq!(m["public"], false);
    assert_eq!(m["default_permissions"]["deployments"], "write");
    assert_eq!(m["default_permissions"]["contents"], "read");
    let events: Vec<&str> = m["default_events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e.as_str())
        .collect();
    assert!(events.contains(&"issue_comment"), "{events:?}");
    assert!(!m.to_string().contains("example.org"), "{m}");
}

#[test]
fn organization_logins_are_checked() {
    assert!(is_org_login("acme"));
    assert!(is_org_login("acme-corp-2"));
    for bad in [
        "",
        "-acme",
        "acme-",
        "a--b",
        "acme corp",
        "acme/evil",
        "<script>",
        "acme[bot]",
        "../x",
        &"a".repeat(40),
    ] {
        assert!(!is_org_login(bad), "{bad:?}");
    }
}

#[test]
fn the_credentials_file_is_what_gangway_config_reads() {
    let app = AppCredentials {
        id: 77,
        slug: "gangway".into(),
        name: "Gangway\nX".into(),
        html_url: "https://github.com/apps/gangway".into(),
        client_id: "Iv1.abc".into(),
        client_secret: SecretString::from("client-secret-1".to_owned()),
        webhook_secret: SecretString::from("hook \"secret\"".to_owned()),
        pem: SecretString::from(
            "-----BEGIN RSA PRIVATE KEY-----\nAAA\n-----END RSA PRIVATE KEY-----\n".to_owned(),
        ),
    };
    let text = credentials_toml(&app);
    let t: toml::Table = text.parse().expect("valid TOML");
    assert_eq!(t["app_id"].as_integer(), Some(77));
    assert_eq!(t["webhook_secret"].as_str(), Some("hook \"secret\""));
    assert_eq!(t["github_client_id"].as_str(), Some("Iv1.abc"));
    assert_eq!(t["github_client_secret"].as_str(), Some("client-secret-1"));
    assert!(
        t["private_key"]
            .as_str()
            .is_some_and(|k| k.ends_with("KEY-----\n"))
    );
    assert_eq!(t.len(), 5);
    // The name's line break does not start a line of TOML.
    assert!(text.lines().next().is_some_and(|l| l.contains("Gangway X")));
}

#[test]
fn the_pages_say_what_happened_and_what_to_do() {
    let registered = RegisteredPage {
        title: "GitHub App registered".into(),
        app_id: 1234,
        app_name: "Gangway <dev>".into(),
        app_url: "https://github.com/apps/gangway-dev".into(),
        file: "/srv/gangway/gangway-app.toml".into(),
    };
    insta::assert_snapshot!("registered", registered.render().expect("renders"));
    let refused = ErrorPage {
        title: "Registering the GitHub App".into(),
        message: STATE_REFUSED.into(),
    };
    insta::assert_snapshot!("error", refused.render().expect("renders"));
}
