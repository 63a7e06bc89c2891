use super::*;

const KEY: &str = include_str!("../fixtures/test-app-key.pem");

fn src(pairs: &[(&str, &str)]) -> Source {
    Source::from_env(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

fn minimal() -> Vec<(&'static str, &'static str)> {
    vec![
        ("APP_ID", "42"),
        ("PRIVATE_KEY", KEY),
        ("WEBHOOK_SECRET", "s3cret"),
    ]
}

fn problems(pairs: &[(&str, &str)]) -> Vec<String> {
    Settings::load(&src(pairs))
        .unwrap_err()
        .problems
        .iter()
        .map(|p| p.to_string())
        .collect()
}

#[test]
fn defaults_apply_with_only_the_three_required_settings() {
    let s = Settings::load(&src(&minimal())).unwrap();
    assert_eq!(s.app_id, 42);
    assert_eq!(s.github_api_url, "https://api.github.com");
    assert_eq!(s.database_url(), "sqlite://gangway.db");
    assert_eq!(s.db_kind, DbKind::Sqlite);
    assert_eq!(s.port, 3000);
    assert_eq!(s.public_url, "http://localhost:3000");
    assert_eq!(s.host_template, HostTemplate::default());
    assert_eq!(s.environment_host, "{environment}.{repo}.example.org");
    assert_eq!(s.queue.workers, 4);
    assert_eq!(s.webhook_secrets.len(), 1);
    // Pushes to the default branch drop the cached policy; the TTL only covers missed ones.
    assert_eq!(s.policy_ttl, std::time::Duration::from_secs(600));
}

#[test]
fn every_problem_is_reported_at_once_and_names_its_setting() {
    let got = problems(&[
        ("PRIVATE_KEY_PATH", "/nonexistent/key.pem"),
        ("GANGWAY_HOST_TEMPLATE", "{nope}.example.org"),
        ("DATABASE_URL", "mysql://x"),
        ("PORT", "http"),
        ("GANGWAY_WORKERS", "0"),
    ]);
    let joined = got.join("\n");
    for want in [
        "APP_ID: missing",
        "PRIVATE_KEY_PATH: cannot read /nonexistent/key.pem",
        "WEBHOOK_SECRET: missing",
        "GANGWAY_HOST_TEMPLATE: unknown placeholder {nope}",
        "DATABASE_URL: must start with sqlite: or postgres://",
        "PORT: must be a port number",
        "GANGWAY_WORKERS: must be greater than 0",
    ] {
        assert!(joined.contains(want), "missing {want:?} in:\n{joined}");
    }
    assert_eq!(got.len(), 7, "{joined}");
}

#[test]
fn environment_hosts_need_the_environment_and_the_repository_and_must_be_dns_names() {
    let mut pairs = minimal();
    pairs.push((
        "GANGWAY_ENVIRONMENT_HOST",
        "{environment}-{repo}.{owner}.example.org",
    ));
    let s = Settings::load(&src(&pairs)).expect("valid");
    assert_eq!(
        s.environment_host,
        "{environment}-{repo}.{owner}.example.org"
    );
    for (bad, want) in [
        (
            "{sha}.{environment}.{repo}.example.org",
            "unknown placeholder {sha}",
        ),
        ("{environment.{repo}.example.org", "unbalanced"),
        ("environment}.{repo}.example.org", "unbalanced"),
        ("{environment}.{repo}.under_score.org", "only a-z"),
        ("{environment}.example.org", "must contain {repo}"),
        ("app.example.org", "must contain {environment}"),
    ] {
        let mut pairs = minimal();
        pairs.push(("GANGWAY_ENVIRONMENT_HOST", bad));
        let got = problems(&pairs).join("\n");
        assert!(
            got.contains("GANGWAY_ENVIRONMENT_HOST") && got.contains(want),
            "{bad:?}: {got}"
        );
    }
}

#[test]
fn a_bad_key_is_refused_without_quoting_it() {
    let garbage = "-----BEGIN RSA PRIVATE KEY-----\nTOPSECRETBYTES\n-----END RSA PRIVATE KEY-----";
    let mut pairs = minimal();
    pairs[1] = ("PRIVATE_KEY", garbage);
    let got = problems(&pairs).join("\n");
    assert!(got.contains("PRIVATE_KEY: not an RSA private key"), "{got}");
    assert!(!got.contains("TOPSECRET"), "{got}");
}

#[test]
fn key_with_escaped_newlines_is_accepted() {
    let escaped = KEY.replace('\n', "\\n");
    let mut pairs = minimal();
    pairs[1] = ("PRIVATE_KEY", &escaped);
    assert!(Settings::load(&src(&pairs)).is_ok());
}

#[test]
fn key_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key.pem");
    std::fs::write(&path, KEY).unwrap();
    let p = path.to_str().unwrap();
    let s = Settings::load(&src(&[
        ("APP_ID", "1"),
        ("PRIVATE_KEY_PATH", p),
        ("WEBHOOK_SECRET", "x"),
    ]));
    assert!(s.is_ok());
    let both = problems(&[
        ("APP_ID", "1"),
        ("PRIVATE_KEY_PATH", p),
        ("PRIVATE_KEY", KEY),
        ("WEBHOOK_SECRET", "x"),
    ]);
    assert_eq!(
        both,
        vec!["PRIVATE_KEY: set either PRIVATE_KEY or PRIVATE_KEY_PATH, not both"]
    );
}

#[test]
fn webhook_secrets_rotate_and_blank_ones_are_refused() {
    let mut pairs = minimal();
    pairs[2] = ("WEBHOOK_SECRET", " new , old ,");
    assert_eq!(
        Settings::load(&src(&pairs)).unwrap().webhook_secrets.len(),
        2
    );
    pairs[2] = ("WEBHOOK_SECRET", " , ,");
    assert_eq!(
        problems(&pairs),
        vec!["WEBHOOK_SECRET: contains no secret (only commas and spaces)"]
    );
}

#[test]
fn postgres_urls_are_recognised_and_passwords_never_echoed() {
    let mut pairs = minimal();
    pairs.push(("DATABASE_URL", "postgres://gw:pw@127.0.0.1:5432/gangway"));
    assert_eq!(
        Settings::load(&src(&pairs)).unwrap().db_kind,
        DbKind::Postgres
    );
    pairs.pop();
    pairs.push(("DATABASE_URL", "postgres://gw:hunter2@host:notaport/db"));
    let got = problems(&pairs).join("\n");
    assert!(
        got.starts_with("DATABASE_URL: not a valid PostgreSQL URL"),
        "{got}"
    );
    assert!(!got.contains("hunter2"));
}

#[test]
fn debug_output_redacts_secrets() {
    let mut pairs = minimal();
    pairs.push(("DATABASE_URL", "postgres://gw:hunter2@127.0.0.1/gangway"));
    let s = Settings::load(&src(&pairs)).unwrap();
    let dbg = format!("{s:?}");
    assert!(
        !dbg.contains("s3cret") && !dbg.contains("hunter2") && !dbg.contains("PRIVATE KEY"),
        "{dbg}"
    );
}

#[test]
fn toml_file_supplies_settings_and_environment_wins() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    std::fs::write(&key, KEY).unwrap();
    let file = dir.path().join("gangway.toml");
    std::fs::write(
        &file,
        format!(
            "app_id = 7\nprivate_key_path = {:?}\nwebhook_secret = [\"a\", \"b\"]\nport = 4000\nhost_template = \"{{repo}}-pr-{{number}}-{{short_sha}}.preview.example.net\"\n",
            key.to_str().unwrap()
        ),
    )
    .unwrap();
    let s = Settings::load(&src(&[
        ("GANGWAY_CONFIG", file.to_str().unwrap()),
        ("PORT", "5000"),
    ]))
    .unwrap();
    assert_eq!((s.app_id, s.port, s.webhook_secrets.len()), (7, 5000, 2));
    assert_eq!(
        s.host_template.to_string(),
        "{repo}-pr-{number}-{short_sha}.preview.example.net"
    );
}

#[test]
fn toml_file_errors_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "app_idd = 7\nport = true\n").unwrap();
    let mut pairs = minimal();
    let path = file.to_str().unwrap().to_owned();
    pairs.push(("GANGWAY_CONFIG", &path));
    let got = problems(&pairs).join("\n");
    assert!(got.contains("unknown setting `app_idd`"), "{got}");
    assert!(
        got.contains("`port` must be a string or a number, found a boolean"),
        "{got}"
    );

    std::fs::write(&file, "app_id = = 7").unwrap();
    assert!(problems(&pairs).join("\n").contains("is not valid TOML"));
    pairs.pop();
    pairs.push(("GANGWAY_CONFIG", "/nonexistent.toml"));
    assert!(problems(&pairs)[0].starts_with("GANGWAY_CONFIG: cannot read /nonexistent.toml"));
}

#[test]
fn hostile_values_do_not_blow_up_messages() {
    let huge = "9".repeat(1_000_000);
    let mut pairs = minimal();
    pairs.push(("PORT", &huge));
    let got = problems(&pairs);
    assert_eq!(got.len(), 1);
    assert!(got[0].len() < 300, "{}", got[0].len());
}

#[test]
fn urls_must_be_http() {
    let mut pairs = minimal();
    pairs.push(("GITHUB_API_URL", "ftp://github.example.com"));
    pairs.push(("GANGWAY_PUBLIC_URL", "not a url"));
    let got = problems(&pairs).join("\n");
    assert!(
        got.contains("GITHUB_API_URL: must be an http(s) URL"),
        "{got}"
    );
    assert!(got.contains("GANGWAY_PUBLIC_URL: not a URL"), "{got}");
}

#[test]
fn github_pacing_is_one_of_three_words() {
    assert_eq!(
        Settings::load(&src(&minimal())).unwrap().github_pacing,
        PacingMode::Auto
    );
    for (word, mode) in [
        ("auto", PacingMode::Auto),
        ("github", PacingMode::Github),
        (" concurrency ", PacingMode::Concurrency),
    ] {
        let mut pairs = minimal();
        pairs.push(("GANGWAY_GITHUB_PACING", word));
        assert_eq!(Settings::load(&src(&pairs)).unwrap().github_pacing, mode);
    }
    let mut pairs = minimal();
    let hostile = format!("fast{}", "!".repeat(5_000));
    pairs.push(("GANGWAY_GITHUB_PACING", &hostile));
    let got = problems(&pairs);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].starts_with("GANGWAY_GITHUB_PACING: must be `auto`, `github` or `concurrency`"),
        "{got:?}"
    );
    assert!(got[0].len() < 400, "the value is quoted only in part");
}

/// check-config refuses a preview host template that two pull requests or two repositories
/// could share, naming the setting and the missing placeholder.
#[test]
fn a_preview_host_template_that_cannot_be_unique_is_refused() {
    for (bad, want) in [
        ("{sha}.staging.example.org", "must contain {number}"),
        ("{short_sha}.preview.example.org", "must contain {number}"),
        (
            "pr-{number}-{short_sha}.preview.example.org",
            "must contain {repo}",
        ),
    ] {
        let mut pairs = minimal();
        pairs.push(("GANGWAY_HOST_TEMPLATE", bad));
        let got = problems(&pairs).join("\n");
        assert!(
            got.contains("GANGWAY_HOST_TEMPLATE") && got.contains(want),
            "{bad:?}: {got}"
        );
    }
}

#[test]
fn webhook_secret_and_database_url_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("webhook-secret");
    std::fs::write(&secret, "new-secret-value,old-secret-value\n").unwrap();
    let url = dir.path().join("database-url");
    std::fs::write(&url, "postgres://gw:p%40ss@127.0.0.1:5432/gangway\n").unwrap();
    let (secret, url) = (secret.to_str().unwrap(), url.to_str().unwrap());
    let s = Settings::load(&src(&[
        ("APP_ID", "1"),
        ("PRIVATE_KEY", KEY),
        ("WEBHOOK_SECRET_FILE", secret),
        ("DATABASE_URL_FILE", url),
    ]))
    .unwrap();
    assert_eq!(s.webhook_secrets.len(), 2);
    assert_eq!(s.webhook_secrets[1].expose_secret(), "old-secret-value");
    assert_eq!(
        s.database_url(),
        "postgres://gw:p%40ss@127.0.0.1:5432/gangway"
    );
    assert_eq!(s.db_kind, DbKind::Postgres);

    let both = problems(&[
        ("APP_ID", "1"),
        ("PRIVATE_KEY", KEY),
        ("WEBHOOK_SECRET", "x"),
        ("WEBHOOK_SECRET_FILE", secret),
        ("DATABASE_URL", "sqlite://x.db"),
        ("DATABASE_URL_FILE", url),
    ]);
    assert_eq!(
        both,
        vec![
            "WEBHOOK_SECRET: set either WEBHOOK_SECRET or WEBHOOK_SECRET_FILE, not both",
            "DATABASE_URL: set either DATABASE_URL or DATABASE_URL_FILE, not both",
        ]
    );
    let missing = problems(&[
        ("APP_ID", "1"),
        ("PRIVATE_KEY", KEY),
        ("WEBHOOK_SECRET_FILE", "/nonexistent/secret"),
    ]);
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert!(
        missing[0].starts_with("WEBHOOK_SECRET_FILE: cannot read /nonexistent/secret"),
        "{missing:?}"
    );
}

#[test]
fn gangways_own_secrets_are_never_passed_to_the_driver() {
    let mut pairs = minimal();
    pairs.push((
        "GANGWAY_DRIVER_PASS_ENV",
        "KUBECONFIG, WEBHOOK_SECRET,DATABASE_URL",
    ));
    assert_eq!(
        problems(&pairs),
        vec![
            "GANGWAY_DRIVER_PASS_ENV: WEBHOOK_SECRET is one of Gangway's own secrets: it is never passed to the driver",
            "GANGWAY_DRIVER_PASS_ENV: DATABASE_URL is one of Gangway's own secrets: it is never passed to the driver",
        ]
    );
}

#[test]
fn the_driver_user_must_exist_and_not_be_root() {
    let mut pairs = minimal();
    pairs.push(("GANGWAY_DRIVER_USER", "no-such-user-here"));
    assert_eq!(
        problems(&pairs),
        vec!["GANGWAY_DRIVER_USER: no user \"no-such-user-here\" on this system"]
    );
    pairs.pop();
    pairs.push(("GANGWAY_DRIVER_USER", "0"));
    let root = problems(&pairs);
    assert!(
        root[0].contains("is root: the driver user must be an unprivileged account"),
        "{root:?}"
    );
    pairs.pop();
    pairs.push(("GANGWAY_DRIVER_USER", "nobody"));
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    match Settings::load(&src(&pairs)) {
        Ok(s) => {
            assert_eq!(euid, 0, "only root may start the driver as another user");
            let user = s.command_driver.user.unwrap();
            assert_eq!((user.name.as_str(), user.uid), ("nobody", 65534));
        }
        Err(e) => assert!(
            euid != 0 && e.problems[0].message.contains("not root"),
            "{e}"
        ),
    }
}

#[test]
fn the_database_password_is_redacted_decoded_as_well_as_encoded() {
    let mut pairs = minimal();
    pairs.push((
        "DATABASE_URL",
        "postgres://gw:p%40ss%2Fw0rd@127.0.0.1:5432/gangway",
    ));
    let s = Settings::load(&src(&pairs)).unwrap();
    let redact = &s.command_driver.redact;
    assert!(redact.iter().any(|r| r == "p@ss/w0rd"), "{}", redact.len());
    assert!(
        redact.iter().any(|r| r == "p%40ss%2Fw0rd"),
        "{}",
        redact.len()
    );
    // The whole key, so the driver's redactor sees its lines and its encodings together.
    assert!(redact.iter().any(|r| r == KEY), "{}", redact.len());
}

#[test]
fn short_secrets_are_redacted_and_warned_about() {
    let mut pairs = minimal();
    pairs[2] = ("WEBHOOK_SECRET", "long-enough-secret,short");
    let s = Settings::load(&src(&pairs)).unwrap();
    assert!(s.command_driver.redact.iter().any(|r| r == "short"));
    let warnings: Vec<String> = s.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(
        warnings,
        vec![
            "WEBHOOK_SECRET: a secret of 5 characters is easy to guess, and redacting it from \
             driver logs also hides every ordinary occurrence of it; use 8 characters or more"
        ]
    );
}

#[test]
fn http_limits_have_defaults_and_refuse_zero_and_a_metrics_address_on_the_main_port() {
    let s = Settings::load(&src(&minimal())).unwrap();
    assert_eq!(s.http.header_timeout, std::time::Duration::from_secs(10));
    assert_eq!(s.http.body_timeout, std::time::Duration::from_secs(10));
    assert_eq!(s.http.max_connections, 1024);
    assert_eq!(s.http.max_requests, 512);
    assert_eq!(s.http.max_read_requests, 32);
    assert_eq!(s.http.metrics_addr, None);

    let mut pairs = minimal();
    pairs.push(("GANGWAY_METRICS_ADDR", "127.0.0.1:9090"));
    let s = Settings::load(&src(&pairs)).unwrap();
    assert_eq!(s.http.metrics_addr, Some("127.0.0.1:9090".parse().unwrap()));

    let mut pairs = minimal();
    pairs.extend([
        ("GANGWAY_MAX_CONNECTIONS", "0"),
        ("GANGWAY_HEADER_TIMEOUT_SECS", "soon"),
        ("GANGWAY_METRICS_ADDR", "0.0.0.0:3000"),
    ]);
    let p = problems(&pairs);
    assert!(
        p.iter()
            .any(|p| p.starts_with("GANGWAY_MAX_CONNECTIONS: must be greater than 0")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|p| p.starts_with("GANGWAY_HEADER_TIMEOUT_SECS: must be a positive")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|p| p.starts_with("GANGWAY_METRICS_ADDR: 0.0.0.0:3000 is the main listener's")),
        "{p:?}"
    );
    pairs.retain(|(k, _)| *k != "GANGWAY_METRICS_ADDR");
    pairs.push(("GANGWAY_METRICS_ADDR", "localhost"));
    let p = problems(&pairs);
    assert!(
        p.iter()
            .any(|p| p.starts_with("GANGWAY_METRICS_ADDR: must be an address and port")),
        "{p:?}"
    );
}

#[test]
fn the_oauth_client_secret_is_redacted_and_never_passed_to_the_driver() {
    let mut pairs = minimal();
    pairs.push(("GANGWAY_GITHUB_CLIENT_ID", "Iv1.abc"));
    pairs.push(("GANGWAY_GITHUB_CLIENT_SECRET", "client-secret-value-123"));
    let s = Settings::load(&src(&pairs)).unwrap();
    assert!(
        s.command_driver
            .redact
            .iter()
            .any(|r| r == "client-secret-value-123")
    );
    assert!(!format!("{s:?}").contains("client-secret-value-123"));
    pairs.push(("GANGWAY_DRIVER_PASS_ENV", "GANGWAY_GITHUB_CLIENT_SECRET"));
    assert_eq!(
        problems(&pairs),
        vec![
            "GANGWAY_DRIVER_PASS_ENV: GANGWAY_GITHUB_CLIENT_SECRET is one of Gangway's own secrets: it is never passed to the driver"
        ]
    );
}

#[test]
fn the_cookie_key_is_derived_from_the_private_key() {
    let a = Settings::load(&src(&minimal())).unwrap();
    let b = Settings::load(&src(&minimal())).unwrap();
    assert_eq!(a.web.session_key.bytes(), b.web.session_key.bytes());
    assert_ne!(a.web.session_key.bytes(), &[0u8; 64]);
    let other = SessionKey::derive(&SecretString::from("another key".to_owned()));
    assert_ne!(other.bytes(), a.web.session_key.bytes());
    assert_eq!(format!("{:?}", a.web.session_key), "SessionKey([redacted])");
}

#[test]
fn setup_mode_is_for_no_app_setting_at_all() {
    assert!(app_unconfigured(&src(&[("PORT", "3000")])));
    assert!(app_unconfigured(&src(&[("APP_ID", "  ")])));
    for name in APP_SETTINGS {
        assert!(!app_unconfigured(&src(&[(name, "x")])), "{name}");
    }
    let s = SetupSettings::load(&src(&[(
        "GITHUB_API_URL",
        "https://ghe.example.com/api/v3",
    )]))
    .expect("setup settings");
    assert_eq!(s.github_url, "https://ghe.example.com");
    assert_eq!(s.public_url, "http://localhost:3000");
    assert_eq!(s.credentials_file, PathBuf::from("gangway-app.toml"));
    let e = SetupSettings::load(&src(&[("GANGWAY_PUBLIC_URL", "ftp://x"), ("PORT", "0")]))
        .expect_err("bad settings");
    let names: Vec<&str> = e.problems.iter().map(|p| p.setting.as_str()).collect();
    assert!(
        names.contains(&"GANGWAY_PUBLIC_URL") && names.contains(&"PORT"),
        "{names:?}"
    );
}
