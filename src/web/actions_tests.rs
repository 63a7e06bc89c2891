use super::*;

fn form(pairs: &[(&str, &str)]) -> Result<String, String> {
    let body: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect();
    let fields = parse_form(body.join("&").as_bytes())?;
    button_args(&action_form(&fields)?)
}

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

#[test]
fn each_button_becomes_the_command_a_comment_would_carry() {
    assert_eq!(form(&[("command", "stage"), ("sha", SHA)]).unwrap(), SHA);
    assert_eq!(
        form(&[("command", "stage"), ("sha", &SHA.to_uppercase())]).unwrap(),
        SHA
    );
    assert_eq!(form(&[("command", "unstage"), ("sha", SHA)]).unwrap(), "");
    assert_eq!(
        form(&[
            ("command", "promote"),
            ("sha", SHA),
            ("environment", "production-uk")
        ])
        .unwrap(),
        "production-uk"
    );
    assert_eq!(
        form(&[
            ("command", "hold"),
            ("environment", "production"),
            ("reason", "<script>alert(1)</script> & more")
        ])
        .unwrap(),
        "production <script>alert(1)</script> & more"
    );
    assert_eq!(
        form(&[("command", "rollback"), ("environment", "staging")]).unwrap(),
        "staging"
    );
}

#[test]
fn hostile_or_malformed_forms_are_refused_with_a_reason() {
    let long_reason = "x".repeat(TEXT_CHARS + 1);
    let long_env = "e".repeat(MAX_ENVIRONMENT_CHARS + 1);
    let long_sha = "a".repeat(41);
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![("command", "merge"), ("sha", SHA)],
        vec![("command", "good"), ("sha", SHA)],
        vec![("command", ""), ("sha", SHA)],
        vec![("command", "stage")],
        vec![("command", "stage"), ("sha", "abc")],
        vec![("command", "stage"), ("sha", "zzzzzzzzzz")],
        vec![("command", "stage"), ("sha", &long_sha)],
        vec![("command", "promote"), ("environment", "prod; rm -rf /")],
        vec![("command", "promote"), ("environment", "<b>x</b>")],
        vec![("command", "promote"), ("environment", &long_env)],
        vec![
            ("command", "hold"),
            ("environment", "production"),
            ("reason", &long_reason),
        ],
        vec![
            ("command", "hold"),
            ("environment", "production"),
            ("reason", "a\nb"),
        ],
        vec![("command", "hold"), ("reason", "staging is broken")],
        vec![
            ("command", "promote"),
            ("environment", "production"),
            ("reason", "why"),
        ],
    ];
    for case in cases {
        let got = form(&case);
        assert!(got.is_err(), "{case:?} was accepted as {got:?}");
        assert!(got.unwrap_err().contains("nothing was done"), "{case:?}");
    }
}

#[test]
fn the_form_itself_is_checked() {
    assert!(parse_form(b"command=stage&command=unstage").is_err());
    assert!(parse_form(b"command=%FF").is_err());
    assert!(parse_form(&vec![b'a'; MAX_FORM_BYTES + 1]).is_err());
    let f = parse_form(b"csrf=a+b%2Bc&flag&&x=").unwrap();
    assert_eq!(f["csrf"], "a b+c");
    assert_eq!(f["flag"], "");
}

#[test]
fn names_in_the_path_are_githubs() {
    assert!(valid_full_name("octo/app"));
    assert!(valid_full_name("octo/app.js-2_x"));
    assert!(!valid_full_name("/app"));
    assert!(!valid_full_name("octo/../etc"));
    assert!(!valid_full_name("octo/a/b"));
    assert!(!valid_full_name(&format!("octo/{}", "a".repeat(101))));
}
