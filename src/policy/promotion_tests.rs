use super::super::{Policy, PolicyError, one_of, parse};
use super::*;

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

fn policy(yaml: &str) -> Policy {
    parse(yaml.as_bytes()).unwrap_or_else(|err| panic!("{yaml:?}: {err}"))
}

fn environments(yaml: &str) -> Vec<String> {
    policy(yaml).environments.names().to_vec()
}

const NAME_RULE: &str = "a name must be 1 to 255 characters, without whitespace, control \
                         characters, a leading `-`, or a leading or trailing `/`";

#[test]
fn defaults_are_production_only_no_merge_and_no_train() {
    let defaults = Policy::default();
    let environments = &defaults.environments;
    assert_eq!(environments.names(), ["production"]);
    assert_eq!(environments.first(), "production");
    assert_eq!(environments.production(), "production");
    assert!(environments.is_production("production"));
    assert_eq!(environments.position("production"), Some(0));
    assert_eq!(environments.next_after("production"), None);
    assert!(!environments.contains("staging"));
    assert_eq!(
        defaults.promotion,
        PromotionPolicy {
            merge: false,
            merge_method: MergeMethod::Merge,
            auto_rollback: false,
            on_target_failure: OnTargetFailure::Continue,
            max_parallel_targets: 3,
        }
    );
    assert_eq!(defaults.train, None);
    let train = TrainPolicy::default();
    assert_eq!(train.delay, Duration::from_secs(30 * 60));
    assert_eq!(train.bake, Duration::from_secs(60 * 60));
    // YAML null is "unset" for every one of these sections, `train:` included (no train).
    for yaml in [
        "environments:\n",
        "environments: ~\n",
        "promotion:\n",
        "promotion: {}\n",
        "promotion:\n  merge:\n  merge_method: ~\n  auto_rollback:\n",
        "train:\n",
        "train: ~\n",
        "train: null\n",
        "environments:\npromotion:\ntrain:\n",
    ] {
        assert_eq!(policy(yaml), defaults, "{yaml:?}");
    }
}

#[test]
fn every_key_is_read() {
    let yaml = "environments:\n  - staging\n  - canary\n  - Production\n\
                promotion:\n  \
                  merge: true\n  \
                  merge_method: squash\n  \
                  auto_rollback: true\n\
                train:\n  \
                  delay: 10m\n  \
                  bake: 2h\n";
    let policy = policy(yaml);
    assert_eq!(
        policy.environments.names(),
        ["staging", "canary", "Production"]
    );
    assert_eq!(
        policy.promotion,
        PromotionPolicy {
            merge: true,
            merge_method: MergeMethod::Squash,
            auto_rollback: true,
            on_target_failure: OnTargetFailure::Continue,
            max_parallel_targets: 3,
        }
    );
    assert_eq!(
        policy.train,
        Some(TrainPolicy {
            delay: Duration::from_secs(600),
            bake: Duration::from_secs(7200),
            ..TrainPolicy::default()
        })
    );
    for method in MergeMethod::ALL {
        let yaml = format!("promotion:\n  merge_method: {method}\n");
        assert_eq!(
            parse(yaml.as_bytes()).unwrap().promotion.merge_method,
            method
        );
    }
    let names: Vec<&str> = MergeMethod::ALL.map(MergeMethod::as_str).to_vec();
    assert_eq!(names, ["merge", "squash", "rebase"]);
    // Keys left out keep their defaults.
    let only_merge = parse(b"promotion: {merge: true}\n").unwrap().promotion;
    assert_eq!(only_merge.merge_method, MergeMethod::Merge);
    assert!(only_merge.merge && !only_merge.auto_rollback);
}

#[test]
fn an_empty_train_mapping_runs_the_train_with_the_defaults() {
    let train = |yaml: &str| policy(yaml).train;
    assert_eq!(train("train: {}\n"), Some(TrainPolicy::default()));
    assert_eq!(
        train("train:\n  delay:\n  bake: ~\n"),
        Some(TrainPolicy::default())
    );
    assert_eq!(
        train("train:\n  delay: 90s\n"),
        Some(TrainPolicy {
            delay: Duration::from_secs(90),
            ..TrainPolicy::default()
        })
    );
    assert_eq!(
        train("train: {bake: 1d}\n"),
        Some(TrainPolicy {
            bake: Duration::from_secs(86_400),
            ..TrainPolicy::default()
        })
    );
}

#[test]
fn environments_are_looked_up_in_promotion_order_ignoring_case() {
    let envs = policy("environments: [staging, canary, production]\n").environments;
    assert_eq!(envs.first(), "staging");
    assert_eq!(envs.production(), "production");
    assert_eq!(envs.position("staging"), Some(0));
    assert_eq!(envs.position("canary"), Some(1));
    assert_eq!(envs.position("production"), Some(2));
    assert_eq!(envs.position("qa"), None);
    assert_eq!(envs.next_after("staging"), Some("canary"));
    assert_eq!(envs.next_after("canary"), Some("production"));
    assert_eq!(envs.next_after("production"), None);
    assert_eq!(envs.next_after("qa"), None);
    assert!(envs.contains("canary") && !envs.contains("qa") && !envs.contains(""));
    assert!(envs.is_production("production") && !envs.is_production("staging"));
    // GitHub does not tell environment names apart by case.
    assert!(envs.contains("Staging") && envs.is_production("PRODUCTION"));
    assert_eq!(envs.next_after("STAGING"), Some("canary"));
    let one = policy("environments: [live]\n").environments;
    assert_eq!((one.first(), one.production()), ("live", "live"));
    assert!(one.is_production("live"));
    // Names are kept as written; any name GitHub accepts that is one word is fine.
    assert_eq!(
        environments("environments: [\"team/staging\", prod-eu_1, \"ünïcode\", pr-x1, pr-]\n"),
        ["team/staging", "prod-eu_1", "ünïcode", "pr-x1", "pr-"]
    );
}

#[test]
fn the_environments_list_is_validated() {
    assert_eq!(
        message("environments: []\n"),
        "environments at line 1 column 15: the list is empty; list at least one environment \
         (the last one is production), or leave `environments` out for [production]"
    );
    let five: String = (0..MAX_ENVIRONMENTS)
        .map(|i| format!("  - env-{i}\n"))
        .collect();
    assert_eq!(
        environments(&format!("environments:\n{five}")).len(),
        MAX_ENVIRONMENTS
    );
    assert_eq!(
        message(&format!("environments:\n{five}  - env-5\n")),
        "environments[5] at line 7 column 5: too many environments; at most 5 are allowed"
    );
    assert_eq!(
        message("environments:\n  - staging\n  - production\n  - staging\n"),
        "environments[2] at line 4 column 5: `staging` is listed twice (first at index 0, as \
         `staging`; GitHub does not tell environment names apart by case); list each \
         environment once"
    );
    assert_message(
        "environments: [Staging, production, staging]\n",
        &[
            "environments[2] at line 1 column 37",
            "`staging` is listed twice (first at index 0, as `Staging`",
        ],
    );
}

#[test]
fn environment_names_are_validated() {
    let long = "x".repeat(MAX_NAME_CHARS + 1);
    let cases: &[(&str, &str)] = &[
        ("\"\"", "is empty"),
        ("\"two words\"", "contains whitespace"),
        ("\" staging\"", "contains whitespace"),
        ("\"staging\\u00a0\"", "contains whitespace"),
        ("\"stag\\ting\"", "control character"),
        ("\"stag\\u0007ing\"", "control character"),
        ("-staging", "starts with `-`"),
        ("\"--force\"", "starts with `-`"),
        ("/staging", "starts or ends with `/`"),
        ("staging/", "starts or ends with `/`"),
        (&long, "is longer than 255 characters"),
    ];
    for (name, problem) in cases {
        let yaml = format!("environments:\n  - ok\n  - {name}\n");
        let message = message(&yaml);
        assert!(
            message.starts_with("environments[1] at line 3 column 5: environment name "),
            "{message:?}"
        );
        assert!(
            message.contains(problem),
            "{message:?} should say {problem:?}"
        );
        assert!(message.ends_with(NAME_RULE), "{message:?}");
    }
    let longest = "x".repeat(MAX_NAME_CHARS);
    assert_eq!(
        environments(&format!("environments: [{longest}]\n")),
        [longest]
    );
}

#[test]
fn a_name_a_preview_could_have_is_refused() {
    assert_eq!(
        message("environments: [staging, pr-12, production]\n"),
        "environments[1] at line 1 column 25: `pr-12` is the name of pull request 12's \
         preview (`preview.environment` is \"pr-{number}\"); a long-lived environment needs \
         a name no preview can have"
    );
    assert_message(
        "environments: [PR-7]\n",
        &["environments[0]", "pull request 7's preview"],
    );
    // Any digits, even ones no pull request number renders to.
    assert_message("environments: [pr-007]\n", &["pull request 007's preview"]);
    // The template is the one in this file, wherever `preview:` is written.
    assert_message(
        "environments: [preview/3, production]\npreview:\n  environment: \"preview/{number}\"\n",
        &[
            "environments[0] at line 1 column 16",
            "pull request 3's",
            "\"preview/{number}\"",
        ],
    );
    assert_eq!(
        environments("environments: [pr-12]\npreview:\n  environment: \"preview/{number}\"\n"),
        ["pr-12"]
    );
    // Text after `{number}` that starts with a digit, and a template used twice.
    let with = |template: &str, name: &str| {
        parse(
            format!("preview: {{environment: \"{template}\"}}\nenvironments: [{name}]\n")
                .as_bytes(),
        )
    };
    assert!(with("v{number}0", "v120").is_err());
    assert!(with("v{number}0", "v12").is_ok());
    assert!(with("{number}", "12").is_err());
    assert!(with("{number}", "12a").is_ok());
    assert!(with("a{number}b{number}", "a1b1").is_err());
    assert!(with("a{number}b{number}", "a1b2").is_ok());
    assert!(with("pr-{number}", "pr-12x").is_ok());
    assert!(with("pr-{number}", "pr-").is_ok());
}

#[test]
fn an_unknown_merge_method_names_the_allowed_ones() {
    assert_eq!(
        message("promotion:\n  merge: true\n  merge_method: fast-forward\n"),
        "promotion.merge_method at line 3 column 17: unknown value `fast-forward`, expected \
         one of `merge`, `squash`, `rebase`"
    );
    // Methods are lowercase, as GitHub's API takes them.
    assert_message(
        "promotion: {merge_method: Squash}\n",
        &[
            "promotion.merge_method at line 1 column 27",
            "`merge`, `squash`, `rebase`",
        ],
    );
}

#[test]
fn train_durations_are_validated() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "delay: 0m",
            "train.delay at line 2 column 10",
            "greater than zero",
        ),
        (
            "delay: 30",
            "train.delay at line 2 column 10",
            "has no unit",
        ),
        (
            "delay: soon",
            "train.delay at line 2 column 10",
            "is not a duration",
        ),
        ("bake: 2w", "train.bake at line 2 column 9", "has no unit"),
        (
            "bake: 400d",
            "train.bake at line 2 column 9",
            "longer than a year",
        ),
        (
            "bake: \"\"",
            "train.bake at line 2 column 9",
            "is not a duration",
        ),
    ];
    for (line, place, problem) in cases {
        let yaml = format!("train:\n  {line}\n");
        let message = message(&yaml);
        assert!(
            message.starts_with(place),
            "{message:?} should start with {place:?}"
        );
        assert!(
            message.contains(problem),
            "{message:?} should say {problem:?}"
        );
    }
}

#[test]
fn unknown_keys_in_the_new_sections_name_the_allowed_ones() {
    assert_eq!(
        message("promotion:\n  merge: true\n  method: squash\n"),
        "promotion.method at line 3 column 3: unknown key `method`; allowed keys: `merge`, \
         `merge_method`, `auto_rollback`, `on_target_failure` or `max_parallel_targets`"
    );
    assert_eq!(
        message("train:\n  delay: 5m\n  enabled: true\n"),
        "train.enabled at line 3 column 3: unknown key `enabled`; allowed keys: `delay`, \
         `bake`, `signoff`, `signoff_timeout` or `signoff_on_timeout`"
    );
    assert_message(
        "promotion:\n  merge: true\n  merge: false\n",
        &["promotion.merge at line 3 column 3", "set more than once"],
    );
    assert_message(
        "environments: [a]\nenvironments: [b]\n",
        &["environments at line 2 column 1", "set more than once"],
    );
    // The hand-written key lists must agree with serde's (which unknown keys are named from).
    assert!(
        message("promotion: {nope: 1}\n")
            .ends_with(&format!("allowed keys: {}", one_of(PROMOTION_KEYS)))
    );
    assert!(
        message("train: {nope: 1}\n").ends_with(&format!("allowed keys: {}", one_of(TRAIN_KEYS)))
    );
}

#[test]
fn wrong_types_in_the_new_sections_say_what_was_expected() {
    let cases: &[(&str, &[&str])] = &[
        (
            "environments: production\n",
            &[
                "environments at line 1 column 15",
                "wrong type: expected a list of environment names in promotion order",
            ],
        ),
        (
            "environments: {staging: production}\n",
            &["environments at line 1", "a list of environment names"],
        ),
        (
            "environments: [staging, [production]]\n",
            &[
                "environments[1] at line 1 column 25",
                "expected an environment name (a string)",
            ],
        ),
        (
            "environments:\n  - staging\n  -\n",
            &[
                "environments[1] at line 3",
                "an environment name (a string)",
            ],
        ),
        (
            "promotion: true\n",
            &[
                "promotion at line 1 column 12",
                "a mapping; allowed keys: `merge`, `merge_method`, `auto_rollback`, \
                 `on_target_failure` or `max_parallel_targets`",
            ],
        ),
        (
            "promotion:\n  merge: yes\n",
            &["promotion.merge at line 2 column 10", "`true` or `false`"],
        ),
        (
            "promotion:\n  auto_rollback: 1\n",
            &[
                "promotion.auto_rollback at line 2 column 18",
                "`true` or `false`",
            ],
        ),
        (
            "promotion:\n  merge_method: [squash]\n",
            &[
                "promotion.merge_method at line 2 column 17",
                "one of `merge`, `squash`, `rebase`",
            ],
        ),
        (
            "promotion:\n  merge_method: true\n",
            &[
                "promotion.merge_method at line 2",
                "`merge`, `squash`, `rebase`",
            ],
        ),
        (
            "train: true\n",
            &[
                "train at line 1 column 8",
                "a mapping; allowed keys: `delay`, `bake`, `signoff`, `signoff_timeout` or `signoff_on_timeout` (write `train: {}` to run the \
                 train with the defaults)",
            ],
        ),
        (
            "train: []\n",
            &["train at line 1 column 8", "write `train: {}`"],
        ),
        (
            "train:\n  bake: [1h]\n",
            &["train.bake at line 2 column 9", "a duration such as `30m`"],
        ),
    ];
    for (yaml, parts) in cases {
        assert_message(yaml, parts);
    }
}

#[test]
fn targets_name_their_environments_github_environments() {
    let p = policy("environments: [staging, production]\ntargets:\n  production: [au, uk, ca]\n");
    let e = &p.environments;
    assert_eq!(e.targets_of("production"), ["au", "uk", "ca"]);
    assert!(e.targets_of("staging").is_empty());
    let names: Vec<String> = e.units("production").iter().map(Unit::name).collect();
    assert_eq!(names, ["production-au", "production-uk", "production-ca"]);
    assert_eq!(e.units("Production-UK").len(), 1);
    assert_eq!(
        e.resolve("production-uk").unwrap().target.as_deref(),
        Some("uk")
    );
    assert_eq!(e.units("staging")[0].name(), "staging");
    assert!(e.units("production-nz").is_empty());
    assert_eq!(
        e.all_names(),
        [
            "staging",
            "production",
            "production-au",
            "production-uk",
            "production-ca"
        ]
    );
    assert_eq!(p.promotion.on_target_failure, OnTargetFailure::Continue);
    assert_eq!(p.promotion.max_parallel_targets, 3);
    let halt = policy("promotion: {on_target_failure: halt, max_parallel_targets: 1}\n");
    assert_eq!(halt.promotion.on_target_failure, OnTargetFailure::Halt);
    assert_eq!(halt.promotion.max_parallel_targets, 1);
}

#[test]
fn bad_targets_are_refused_with_the_rule() {
    assert_message(
        "targets: {qa: [a]}\n",
        &["targets.qa", "is not one of `environments:`"],
    );
    assert_message(
        "targets: {production: []}\n",
        &["targets.production", "the list is empty"],
    );
    assert_message(
        "targets: {production: [\"u k\"]}\n",
        &["targets.production[0]", "target name contains whitespace"],
    );
    assert_message(
        "targets: {production: [-au]}\n",
        &["targets.production[0]", "starts with `-`"],
    );
    assert_message(
        "targets: {production: [au, AU]}\n",
        &[
            "targets.production[1]",
            "is already the name of `production-au`",
        ],
    );
    assert_message(
        "environments: [production-au, production]\ntargets: {production: [au]}\n",
        &[
            "targets.production[0]",
            "already the name of `production-au`",
        ],
    );
    assert_message(
        "preview: {environment: \"production-{number}\"}\ntargets: {production: [\"1\"]}\n",
        &["targets.production[0]", "pull request 1's preview"],
    );
    let many: Vec<String> = (0..=MAX_TARGETS).map(|i| format!("t{i}")).collect();
    assert_message(
        &format!("targets: {{production: [{}]}}\n", many.join(", ")),
        &["too many targets"],
    );
    assert_message(
        "promotion: {max_parallel_targets: 0}\n",
        &["promotion.max_parallel_targets", "from 1 to 20"],
    );
    assert_message(
        "promotion: {on_target_failure: stop}\n",
        &["promotion.on_target_failure"],
    );
    assert_message("targets: [au]\n", &["targets"]);
}
