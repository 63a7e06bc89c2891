use super::*;
use proptest::prelude::*;
use std::time::{Duration, Instant};

/// The message of an `Invalid` error; anything else fails the test.
fn message(yaml: &str) -> String {
    match parse(yaml.as_bytes()) {
        Err(PolicyError::Invalid { message }) => message,
        other => panic!("expected Invalid for {yaml:?}, got {other:?}"),
    }
}

fn assert_message(yaml: &str, parts: &[&str]) {
    let message = message(yaml);
    for part in parts {
        assert!(
            message.contains(part),
            "{message:?} should contain {part:?}"
        );
    }
}

/// Hostile input must be refused, without a panic or a stack overflow, and soon.
fn assert_refused_quickly(input: &[u8]) -> PolicyError {
    let started = Instant::now();
    let result = parse(input);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    result.expect_err("hostile input must be refused")
}

#[test]
fn no_settings_means_the_documented_defaults() {
    for yaml in [
        "",
        "\n",
        "   \n",
        "# only\n# comments\n",
        "---\n",
        "---\n# c\n...\n",
        "~\n",
        "preview:\n",
        "preview: {}\n",
        "permissions:\n",
        "forks: {}\n",
        "forks:\n  on_push:\n",
        "preview:\npermissions: {}\nforks:\n",
        "environments:\npromotion: {}\ntrain:\n",
    ] {
        assert_eq!(parse(yaml.as_bytes()), Ok(Policy::default()), "{yaml:?}");
    }
    let Policy {
        preview: defaults,
        permissions,
        forks,
        environments,
        promotion,
        train,
        verify,
    } = Policy::default();
    assert_eq!(defaults.trigger, Trigger::Checks);
    assert!(defaults.required_checks.is_empty());
    assert!(!defaults.drafts && !defaults.delete_environment);
    assert_eq!(defaults.environment.as_str(), "pr-{number}");
    assert_eq!(defaults.environment.render(17), "pr-17");
    assert_eq!(permissions.stage, Permission::Write);
    assert_eq!(permissions.unstage, Permission::Write);
    assert_eq!(forks.on_push, ForkPush::Keep);
    assert_eq!(environments.names(), ["production"]);
    assert_eq!(promotion, PromotionPolicy::default());
    assert_eq!(train, None, "no train unless `train:` is a mapping");
    assert!(
        verify.entries().is_empty(),
        "nothing is verified by default"
    );
    // The rest of the defaults are checked in the sections' own test files.
}

#[test]
fn a_full_valid_file_is_read_into_every_field() {
    let yaml = "\u{feff}# .github/gangway.yml\n\
                preview:\n  \
                  trigger: on_open\n  \
                  required_checks:\n    - build\n    - \"ci / test (ubuntu)\"\n  \
                  drafts: true\n  \
                  delete_environment: true\n  \
                  environment: \"preview/pr-{number}\"\n\
                permissions:\n  \
                  stage: triage  # trusted triagers may deploy\n  \
                  unstage: maintain\n\
                forks:\n  \
                  on_push: teardown\n\
                environments: [staging, production]\n\
                promotion:\n  \
                  merge: true\n  \
                  merge_method: rebase\n\
                train: {}\n";
    let policy = parse(yaml.as_bytes()).unwrap();
    assert_eq!(policy.environments.names(), ["staging", "production"]);
    assert!(policy.promotion.merge);
    assert_eq!(policy.promotion.merge_method, MergeMethod::Rebase);
    assert_eq!(policy.train, Some(TrainPolicy::default()));
    assert_eq!(policy.permissions.stage, Permission::Triage);
    assert_eq!(policy.permissions.unstage, Permission::Maintain);
    assert_eq!(policy.forks.on_push, ForkPush::Teardown);
    let preview = &policy.preview;
    assert_eq!(preview.trigger, Trigger::OnOpen);
    let names: Vec<String> = preview
        .required_checks
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(names, ["build", "ci / test (ubuntu)"]);
    assert!(preview.drafts && preview.delete_environment);
    assert_eq!(preview.environment.as_str(), "preview/pr-{number}");
    assert_eq!(preview.environment.render(42), "preview/pr-42");
}

#[test]
fn keys_left_out_keep_their_defaults() {
    let policy =
        parse(b"preview:\n  drafts: true\n  required_checks: [build]\n  trigger:\n").unwrap();
    let expected = PreviewPolicy {
        drafts: true,
        required_checks: vec![RequiredCheck {
            app: None,
            name: "build".into(),
        }],
        ..PreviewPolicy::default()
    };
    assert_eq!(policy.preview, expected);
    // A bare placeholder is fine unquoted only inside a larger scalar; quoted it always is.
    assert_eq!(
        parse(b"preview:\n  environment: pr-{number}\n")
            .unwrap()
            .preview
            .environment
            .render(1),
        "pr-1"
    );
    assert_eq!(
        parse(b"preview:\n  environment: \"{number}\"\n")
            .unwrap()
            .preview
            .environment
            .render(9),
        "9"
    );
}

#[test]
fn an_unknown_value_names_the_key_position_and_allowed_values() {
    let message = message("# policy\npreview:\n  trigger: sometimes\n");
    assert_eq!(
        message,
        "preview.trigger at line 3 column 12: unknown value `sometimes`, expected `checks` or `on_open`"
    );
    let shown = parse(b"preview:\n  trigger: sometimes\n")
        .unwrap_err()
        .to_string();
    assert!(
        shown.starts_with(".github/gangway.yml: preview.trigger at line 2"),
        "{shown}"
    );
}

#[test]
fn unknown_keys_are_refused_with_the_allowed_ones() {
    assert_message(
        "preview:\n  drafts: true\n  draft: true\n",
        &[
            "preview.draft at line 3 column 3",
            "unknown key `draft`",
            "`drafts`",
            "`environment`",
        ],
    );
}

#[test]
fn an_unknown_section_is_refused_with_the_allowed_sections() {
    assert_eq!(
        message("preview: {}\nfork:\n  on_push: keep\n"),
        "fork at line 2 column 1: unknown section `fork`; allowed sections: `preview`, \
         `permissions`, `forks`, `environments`, `targets`, `promotion`, `train` or `verify`"
    );
}

#[test]
fn adoption_and_bots_are_read_and_checked() {
    let preview = |yaml: &str| parse(yaml.as_bytes()).unwrap().preview;
    let defaults = PreviewPolicy::default();
    assert_eq!(defaults.adopt, AdoptPolicy::People);
    assert_eq!(defaults.bots, BotPolicy::Approve);
    assert_eq!(preview("preview:\n  adopt: off\n").adopt, AdoptPolicy::Off);
    assert_eq!(
        preview("preview:\n  adopt: people_and_apps\n").adopt,
        AdoptPolicy::PeopleAndApps
    );
    assert_eq!(
        preview("preview:\n  adopt: people\n").adopt,
        AdoptPolicy::People
    );
    assert_eq!(preview("preview:\n  bots: auto\n").bots, BotPolicy::Auto);
    assert_eq!(
        preview("preview:\n  bots: approve\n").bots,
        BotPolicy::Approve
    );
    assert_eq!(
        message("preview:\n  adopt: everyone\n"),
        "preview.adopt at line 2 column 10: unknown value `everyone`, expected one of `off`, \
         `people`, `people_and_apps`"
    );
    // The brief `true`/`false` of other tools is refused with the words that are allowed.
    assert_message(
        "preview:\n  adopt: false\n",
        &[
            "preview.adopt at line 2",
            "`off`, `people`, `people_and_apps`",
        ],
    );
    assert_message(
        "preview:\n  adopt: [people]\n",
        &[
            "preview.adopt at line 2",
            "`off`, `people` or `people_and_apps`",
        ],
    );
    assert_eq!(
        message("preview:\n  bots: yes\n"),
        "preview.bots at line 2 column 9: unknown value `yes`, expected `approve` or `auto`"
    );
}

#[test]
fn an_environment_template_reads_a_pr_number_back_only_from_its_own_rendering() {
    let default = EnvTemplate::default();
    assert_eq!(default.number_in("pr-12"), Some(12));
    assert_eq!(default.number_in("pr-012"), None);
    assert_eq!(default.number_in("pr-12-x"), None);
    assert_eq!(default.number_in("production"), None);
    assert_eq!(
        default.number_in(&format!("pr-{}", u64::MAX)),
        Some(u64::MAX)
    );
    assert_eq!(default.number_in("pr-99999999999999999999999"), None);
    let twice = EnvTemplate::parse("{number}/pr-{number}").unwrap();
    assert_eq!(twice.number_in("5/pr-5"), Some(5));
    assert_eq!(twice.number_in("5/pr-6"), None);
}

#[test]
fn the_forks_section_is_read_and_checked() {
    let on_push = |yaml: &str| parse(yaml.as_bytes()).unwrap().forks.on_push;
    assert_eq!(on_push("forks:\n  on_push: keep\n"), ForkPush::Keep);
    assert_eq!(on_push("forks: {on_push: teardown}\n"), ForkPush::Teardown);
    assert_eq!(
        message("forks:\n  on_push: delete\n"),
        "forks.on_push at line 2 column 12: unknown value `delete`, expected `keep` or `teardown`"
    );
    assert_message(
        "forks:\n  on_push: [keep]\n",
        &["forks.on_push at line 2 column 12", "`keep` or `teardown`"],
    );
    assert_message(
        "forks:\n  on_push: {teardown: true}\n",
        &["forks.on_push at line 2 column 23", "`keep` or `teardown`"],
    );
    assert_message(
        "forks:\n  on_push: false\n",
        &["forks.on_push at line 2 column 12", "`keep` or `teardown`"],
    );
    assert_eq!(
        message("forks:\n  on_push: keep\n  allow: true\n"),
        "forks.allow at line 3 column 3: unknown key `allow`; allowed keys: `on_push`"
    );
    assert_eq!(
        message("forks: teardown\n"),
        "forks at line 1 column 8: wrong type: expected a mapping; allowed keys: `on_push`"
    );
}

#[test]
fn the_key_lists_in_messages_match_the_schema() {
    // SECTIONS and PREVIEW_KEYS are written by hand for type errors; serde's own lists
    // (used for unknown keys) are the truth, so they must agree.
    assert!(message("nope: 1\n").ends_with(&format!("allowed sections: {}", one_of(SECTIONS))));
    assert!(
        message("preview: {nope: 1}\n")
            .ends_with(&format!("allowed keys: {}", one_of(PREVIEW_KEYS)))
    );
    assert!(
        message("forks: {nope: 1}\n").ends_with(&format!("allowed keys: {}", one_of(FORKS_KEYS)))
    );
    assert!(
        message("promotion: {nope: 1}\n")
            .ends_with(&format!("allowed keys: {}", one_of(PROMOTION_KEYS)))
    );
    assert!(
        message("train: {nope: 1}\n").ends_with(&format!("allowed keys: {}", one_of(TRAIN_KEYS)))
    );
    // Every key of every section has its own "wrong type" message.
    let sections: &[(&str, &[&str])] = &[
        ("preview", PREVIEW_KEYS),
        ("permissions", PERMISSIONS_KEYS),
        ("forks", FORKS_KEYS),
        ("promotion", PROMOTION_KEYS),
        ("train", TRAIN_KEYS),
    ];
    assert_eq!(
        sections.len() + 3,
        SECTIONS.len(),
        "every section but `environments` (a list), `targets` (environment names) and `verify` (keyed by environment) has keys"
    );
    for key in VERIFY_KEYS {
        assert!(
            expected_at(&format!("verify.production.{key}")).is_some(),
            "{key}"
        );
    }
    for (section, keys) in sections {
        assert!(SECTIONS.contains(section), "{section}");
        assert!(expected_at(section).is_some(), "{section}");
        for key in *keys {
            assert!(
                expected_at(&format!("{section}.{key}")).is_some(),
                "{section}.{key}"
            );
        }
    }
    assert!(expected_at("environments").is_some() && expected_at("environments[]").is_some());
    assert_eq!(expected_at("permissions.deploy"), None);
    // PERMISSIONS_KEYS is checked in permissions_tests.rs as well.
}

#[test]
fn wrong_types_say_what_was_expected() {
    let cases: &[(&str, &[&str])] = &[
        (
            "preview:\n  drafts: 3\n",
            &[
                "preview.drafts at line 2 column 11",
                "expected `true` or `false`",
            ],
        ),
        (
            "preview:\n  drafts: yes\n",
            &["preview.drafts at line 2 column 11", "`true` or `false`"],
        ),
        (
            "preview:\n  delete_environment: [x]\n",
            &["preview.delete_environment at line 2", "`true` or `false`"],
        ),
        (
            "preview:\n  required_checks: build\n",
            &[
                "preview.required_checks at line 2 column 20",
                "a list of check names",
            ],
        ),
        (
            "preview:\n  required_checks: [a, [b]]\n",
            &[
                "preview.required_checks[1] at line 2 column 24",
                "a check name",
            ],
        ),
        (
            "preview:\n  required_checks: [a, ~]\n",
            &[
                "preview.required_checks[1] at line 2 column 24",
                "a check name",
            ],
        ),
        (
            "preview:\n  environment: {number}\n",
            &["preview.environment at line 2 column 16", "quoted"],
        ),
        (
            "preview:\n  trigger: [checks]\n",
            &[
                "preview.trigger at line 2 column 12",
                "`checks` or `on_open`",
            ],
        ),
        (
            "preview:\n  trigger: {checks: 1}\n",
            &[
                "preview.trigger at line 2 column 21",
                "`checks` or `on_open`",
            ],
        ),
        (
            "preview: on_open\n",
            &[
                "preview at line 1 column 10",
                "a mapping; allowed keys: `trigger`",
            ],
        ),
    ];
    for (yaml, parts) in cases {
        assert_message(yaml, parts);
    }
}

#[test]
fn a_document_that_is_not_a_mapping_is_refused() {
    for yaml in ["- preview\n", "42\n", "just some text\n", "[]\n"] {
        assert_message(
            yaml,
            &[
                "the file at line 1 column 1",
                "a mapping of sections",
                "`preview`",
            ],
        );
    }
}

#[test]
fn duplicate_keys_are_refused() {
    assert_message(
        "preview:\n  trigger: checks\n  trigger: on_open\n",
        &[
            "preview.trigger at line 3 column 3",
            "`trigger` is set more than once",
        ],
    );
    assert_message(
        "preview: {}\npreview: {}\n",
        &["preview at line 2 column 1", "more than once"],
    );
}

#[test]
fn syntax_errors_and_extra_documents_carry_a_position() {
    assert_message("preview:\n  environment: \"pr-{number}\n", &["line 3"]);
    assert_message(
        "preview: {drafts: true\n\n",
        &["preview at line 1 column 10", "unclosed"],
    );
    assert_message("preview:\n\tdrafts: true\n", &["line 2 column 2", "tab"]);
    assert_message(
        "preview: {}\n---\npreview: {}\n",
        &["line 3 column 1", "document"],
    );
}

#[test]
fn required_checks_entries_are_validated() {
    let long = "x".repeat(MAX_NAME_CHARS + 1);
    let too_long = format!("preview:\n  required_checks:\n    - ok\n    - {long}\n");
    let many: String = (0..=MAX_REQUIRED_CHECKS)
        .map(|i| format!("    - check-{i}\n"))
        .collect();
    let too_many = format!("preview:\n  required_checks:\n{many}");
    let cases: &[(&str, &[&str])] = &[
        (
            "preview:\n  required_checks: [\"\"]\n",
            &["preview.required_checks[0] at line 2 column 21", "empty"],
        ),
        (
            "preview:\n  required_checks: [a, \"  \"]\n",
            &["preview.required_checks[1] at line 2 column 24", "empty"],
        ),
        (
            &too_long,
            &[
                "preview.required_checks[1] at line 4 column 7",
                "longer than 255 characters",
            ],
        ),
        (
            &too_many,
            &[
                "preview.required_checks[100] at line 103 column 7",
                "at most 100",
            ],
        ),
        (
            "preview:\n  required_checks:\n    - build\n    - test\n    - build\n",
            &[
                "preview.required_checks[2] at line 5 column 7",
                "`build` is listed twice (first at index 0)",
            ],
        ),
        (
            "preview:\n  required_checks:\n    - build\n    - \"*/build\"\n",
            &[
                "preview.required_checks[1] at line 4 column 7",
                "`*/build` is listed twice (first at index 0)",
            ],
        ),
        (
            "preview:\n  required_checks: [github-actions/]\n",
            &[
                "preview.required_checks[0]",
                "names the App `github-actions` but no check after the `/`",
            ],
        ),
        (
            "preview:\n  required_checks: [\"*/ \"]\n",
            &[
                "preview.required_checks[0]",
                "`*/` (any source) is followed by no check name",
            ],
        ),
    ];
    for (yaml, parts) in cases {
        assert_message(yaml, parts);
    }
    let exactly_max: String = (0..MAX_REQUIRED_CHECKS)
        .map(|i| format!("    - check-{i}\n"))
        .collect();
    let ok = parse(format!("preview:\n  required_checks:\n{exactly_max}").as_bytes()).unwrap();
    assert_eq!(ok.preview.required_checks.len(), MAX_REQUIRED_CHECKS);
}

#[test]
fn environment_templates_are_validated() {
    let long = format!("\"{}{{number}}\"", "x".repeat(240));
    let cases: &[(&str, &str)] = &[
        (
            "\"pr-{id}\"",
            "unknown placeholder `{id}`; the only placeholder is `{number}`",
        ),
        ("\"pr-{number\"", "`{` without a matching `}`"),
        ("\"pr-{{number}\"", "`{` without a matching `}`"),
        ("\"pr-number}\"", "`}` without a matching `{`"),
        ("\"/pr-{number}\"", "starts or ends with `/`"),
        ("\"pr-{number}/\"", "starts or ends with `/`"),
        ("\"pr-\\t{number}\"", "control character"),
        (&long, "longer than 255 characters"),
    ];
    for (value, part) in cases {
        let yaml = format!("preview:\n  drafts: false\n  environment: {value}\n");
        assert_message(&yaml, &["preview.environment at line 3 column 16", part]);
    }
    let multi_line = "preview:\n  environment: |\n    pr-{number}\n";
    assert_message(
        multi_line,
        &["preview.environment at line 3", "control character"],
    );
    // Without `{number}`: one shared environment, never deleted at close.
    let shared = crate::policy::parse(b"preview:\n  environment: preview\n").unwrap();
    assert!(shared.preview.environment.shared());
    assert_eq!(shared.preview.environment.number_in("preview"), None);
    assert_message(
        "preview:\n  environment: preview\n  delete_environment: true\n",
        &["preview.delete_environment", "every preview shares"],
    );
    // The longest name allowed: 235 characters + 20 digits for the largest PR number.
    let longest = format!("{}{{number}}", "x".repeat(MAX_NAME_CHARS - 20));
    let template = EnvTemplate::parse(&longest).unwrap();
    assert_eq!(template.render(u64::MAX).chars().count(), MAX_NAME_CHARS);
    assert_eq!(
        EnvTemplate::parse("a{number}b{number}").unwrap().render(7),
        "a7b7"
    );
}

#[test]
fn oversized_and_non_utf8_input_is_refused_before_parsing() {
    let mut big = vec![b'#'; MAX_POLICY_BYTES + 1];
    big[MAX_POLICY_BYTES] = b'\n';
    assert_eq!(
        assert_refused_quickly(&big),
        PolicyError::TooLarge {
            bytes: MAX_POLICY_BYTES + 1
        }
    );
    big.truncate(MAX_POLICY_BYTES);
    assert_eq!(
        parse(&big),
        Ok(Policy::default()),
        "exactly the limit is still read"
    );
    assert_eq!(
        assert_refused_quickly(b"preview:\n  drafts: \xff\xfe\n"),
        PolicyError::NotUtf8
    );
}

/// The billion-laughs pattern: nine levels, each aliasing the previous one nine times.
fn alias_bomb(first_key: &str) -> String {
    let mut yaml = format!("{first_key}: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..10 {
        let prev = level - 1;
        let refs = vec![format!("*l{prev}"); 9].join(", ");
        yaml.push_str(&format!("l{level}: &l{level} [{refs}]\n"));
    }
    yaml
}

#[test]
fn an_alias_bomb_is_refused_quickly() {
    assert_refused_quickly(alias_bomb("l").as_bytes());
    assert_refused_quickly(
        format!("preview:\n  required_checks:\n{}", alias_bomb("    - x")).as_bytes(),
    );
    // The schema refuses these before any alias expands; the parser's own limits must hold
    // as well, for the day a section accepts free-form values.
    let started = Instant::now();
    let expanded = serde_saphyr::from_str_with_options::<serde::de::IgnoredAny>(
        &alias_bomb("l"),
        yaml_options(),
    );
    assert!(
        expanded.is_err(),
        "the alias budget must stop the expansion"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let depth = 10_000;
    let flow_seq = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let flow_map = format!("{}x{}", "{a: ".repeat(depth), "}".repeat(depth));
    let block_seq = format!("{}x\n", "- ".repeat(depth));
    let in_preview = format!("preview:\n  required_checks: {flow_seq}\n");
    for yaml in [&flow_seq, &flow_map, &block_seq, &in_preview] {
        assert_refused_quickly(yaml.as_bytes());
        let generic =
            serde_saphyr::from_str_with_options::<serde::de::IgnoredAny>(yaml, yaml_options());
        assert!(
            generic.is_err(),
            "the depth budget must stop {:?}…",
            &yaml[..20]
        );
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn arbitrary_strings_never_panic(text in ".{0,512}") {
        let _ = parse(text.as_bytes());
    }

    #[test]
    fn yaml_like_strings_never_panic(
        body in "[a-z_{} \\-:,\\[\\]&*!|>'\"#~?\n]{0,400}",
        prefix in prop::sample::select(vec![
            "", "preview:\n  ", "preview:\n  required_checks: ", "preview:\n  environment: ",
            "permissions:\n  ", "permissions:\n  stage: ", "forks:\n  on_push: ",
            "environments: ", "environments:\n  - ", "promotion:\n  ", "train:\n  ",
            "train:\n  bake: ", "promotion:\n  merge_method: ",
        ]),
    ) {
        let _ = parse(format!("{prefix}{body}").as_bytes());
    }
}

#[test]
fn a_required_check_may_name_its_app() {
    let parse_one = |e: &str| RequiredCheck::parse(e).unwrap();
    let by_app = parse_one("github-actions/build");
    assert_eq!(
        (by_app.app.as_deref(), by_app.name.as_str()),
        (Some("github-actions"), "build")
    );
    // The slug is folded to lower case; the name stays exactly as written.
    assert_eq!(
        parse_one("GitHub-Actions/Build").app.as_deref(),
        Some("github-actions")
    );
    assert_eq!(parse_one("GitHub-Actions/Build").name, "Build");
    // A name whose part before `/` cannot be a slug is a name alone.
    for alone in ["build", "ci / test (ubuntu)", "a b/c", "-x/y", "/x"] {
        let r = parse_one(alone);
        assert_eq!((r.app, r.name.as_str()), (None, alone), "{alone}");
    }
    // `*/` makes any name a name alone, and a name alone that would read as an App's is
    // written back with it.
    let star = parse_one("*/ci/circleci: build");
    assert_eq!(
        (star.app.as_deref(), star.name.as_str()),
        (None, "ci/circleci: build")
    );
    for written in [
        "build",
        "github-actions/build",
        "*/ci/circleci: build",
        "*/*/x",
        "a b/c",
    ] {
        assert_eq!(parse_one(written).to_string(), written);
    }
}
