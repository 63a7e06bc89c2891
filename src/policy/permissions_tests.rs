use super::super::{PolicyError, one_of, parse};
use super::*;

/// The message of an `Invalid` error; anything else fails the test.
fn message(yaml: &str) -> String {
    match parse(yaml.as_bytes()) {
        Err(PolicyError::Invalid { message }) => message,
        other => panic!("expected Invalid for {yaml:?}, got {other:?}"),
    }
}

fn permissions(yaml: &str) -> Permissions {
    parse(yaml.as_bytes())
        .unwrap_or_else(|err| panic!("{yaml:?}: {err}"))
        .permissions
}

const LEVELS: &str = "`none`, `read`, `triage`, `write`, `maintain`, `admin`";

#[test]
fn levels_are_ordered_lowest_to_highest() {
    use Permission::*;
    assert!(None < Read && Read < Triage && Triage < Write);
    assert!(Write < Maintain && Maintain < Admin);
    let mut shuffled = [Admin, None, Write, Triage, Maintain, Read];
    shuffled.sort();
    assert_eq!(shuffled, Permission::ALL);
    // "May run" is `person >= required`.
    assert!(Maintain >= Write && Write >= Write && Triage < Write);
    let names: Vec<&str> = Permission::ALL.map(Permission::as_str).to_vec();
    assert_eq!(
        names,
        ["none", "read", "triage", "write", "maintain", "admin"]
    );
    assert_eq!(Maintain.to_string(), "maintain");
}

#[test]
fn github_answers_map_to_levels() {
    use Permission as P;
    let cases: &[(Option<&str>, Option<&str>, Permission)] = &[
        // role_name is preferred: it alone tells maintain and triage apart.
        (Some("admin"), Some("admin"), P::Admin),
        (Some("maintain"), Some("write"), P::Maintain),
        (Some("write"), Some("write"), P::Write),
        (Some("triage"), Some("read"), P::Triage),
        (Some("read"), Some("read"), P::Read),
        (Some("maintain"), None, P::Maintain),
        // A custom role's name says nothing; its base permission decides.
        (Some("deployer"), Some("write"), P::Write),
        (Some("deployer"), Some("admin"), P::Admin),
        (Some("deployer"), Some("read"), P::Read),
        (Some("deployer"), None, P::None),
        (Some(""), Some("write"), P::Write),
        (None, Some("write"), P::Write),
        (None, Some("admin"), P::Admin),
        (None, Some("read"), P::Read),
        // No access, no answer, or an answer we do not know: never more than none.
        (None, Some("none"), P::None),
        (Some("none"), Some("none"), P::None),
        (None, None, P::None),
        (Some("deployer"), Some("garbage"), P::None),
        (Some("garbage"), Some("garbage"), P::None),
        (None, Some(""), P::None),
        (None, Some("Write"), P::None),
        (None, Some(" write"), P::None),
        (Some("Admin"), Some("read"), P::Read),
    ];
    for &(role_name, permission, expected) in cases {
        assert_eq!(
            Permission::from_github(role_name, permission),
            expected,
            "role_name {role_name:?}, permission {permission:?}"
        );
    }
}

/// Reads one command's field.
type Field = fn(&Permissions) -> Permission;

/// `(key, field)` for every command, in `PERMISSIONS_KEYS` order.
fn commands() -> [(&'static str, Field); 9] {
    [
        ("stage", |p| p.stage),
        ("unstage", |p| p.unstage),
        ("keep", |p| p.keep),
        ("promote", |p| p.promote),
        ("hold", |p| p.hold),
        ("unhold", |p| p.unhold),
        ("rollback", |p| p.rollback),
        ("cancel", |p| p.cancel),
        ("bad", |p| p.bad),
    ]
}

const ALL_KEYS: &str =
    "`stage`, `unstage`, `keep`, `promote`, `hold`, `unhold`, `rollback`, `cancel` or `bad`";

#[test]
fn keep_defaults_to_the_stage_level() {
    let p = crate::policy::parse(b"permissions:\n  stage: maintain\n").unwrap();
    assert_eq!(p.permissions.keep, Permission::Maintain);
    let p = crate::policy::parse(b"permissions:\n  stage: maintain\n  keep: triage\n").unwrap();
    assert_eq!(p.permissions.keep, Permission::Triage);
}

#[test]
fn defaults_are_write_to_stage_and_hold_and_maintain_to_promote_and_undo() {
    let defaults = Permissions::default();
    assert_eq!(defaults.stage, Permission::Write);
    assert_eq!(defaults.unstage, Permission::Write);
    assert_eq!(defaults.promote, Permission::Maintain);
    // The panic button: anyone who can push may stop a release; lifting it needs more.
    assert_eq!(defaults.hold, Permission::Write);
    assert_eq!(defaults.unhold, Permission::Maintain);
    assert_eq!(defaults.rollback, Permission::Maintain);
    // Withdrawing a queued promotion takes what promoting takes.
    assert_eq!(defaults.cancel, defaults.promote);
    // `/bad` is a panic button too (a PR's author may always say it; `/good` has no key).
    assert_eq!(defaults.bad, Permission::Write);
    let keys: Vec<&str> = commands().map(|(key, _)| key).to_vec();
    assert_eq!(keys, PERMISSIONS_KEYS);
    for yaml in [
        "",
        "permissions:\n",
        "permissions: {}\n",
        "permissions:\n  stage:\n  unstage: ~\n",
        "permissions:\n  stage: null\n",
        "permissions:\n  promote:\n  hold: ~\n  unhold:\n  rollback: null\n",
    ] {
        assert_eq!(permissions(yaml), defaults, "{yaml:?}");
    }
}

#[test]
fn every_level_is_accepted_for_every_command() {
    for level in Permission::ALL {
        let name = level.as_str();
        let both = permissions(&format!(
            "permissions:\n  stage: {name}\n  unstage: {name}\n"
        ));
        assert_eq!((both.stage, both.unstage), (level, level), "{name}");
        let only_stage = permissions(&format!("permissions:\n  stage: \"{name}\"\n"));
        assert_eq!(only_stage.stage, level);
        assert_eq!(
            only_stage.unstage,
            Permission::Write,
            "left out: the default"
        );
        let only_unstage = permissions(&format!("permissions: {{unstage: {name}}}\n"));
        assert_eq!(
            only_unstage.stage,
            Permission::Write,
            "left out: the default"
        );
        assert_eq!(only_unstage.unstage, level);
        for (key, field) in commands() {
            let only = permissions(&format!("permissions:\n  {key}: {name}\n"));
            assert_eq!(field(&only), level, "{key}: {name}");
            for (other, other_field) in commands() {
                // `keep` follows `stage` when left out.
                if other != key && !(key == "stage" && other == "keep") {
                    assert_eq!(
                        other_field(&only),
                        other_field(&Permissions::default()),
                        "{other} left out: the default"
                    );
                }
            }
        }
    }
}

#[test]
fn an_unknown_level_names_the_key_position_and_every_level() {
    assert_eq!(
        message("permissions:\n  stage: writer\n"),
        format!(
            "permissions.stage at line 2 column 10: unknown value `writer`, expected one of {LEVELS}"
        )
    );
    for (yaml, place) in [
        (
            "preview: {}\npermissions:\n  stage: admin\n  unstage: owner\n",
            "permissions.unstage at line 4 column 12",
        ),
        // Levels are lowercase, as GitHub writes them.
        (
            "permissions:\n  stage: Write\n",
            "permissions.stage at line 2 column 10",
        ),
        (
            "permissions:\n  unstage: \"\"\n",
            "permissions.unstage at line 2 column 12",
        ),
        (
            "permissions: {stage: all}\n",
            "permissions.stage at line 1 column 22",
        ),
        (
            "permissions:\n  promote: maintainer\n",
            "permissions.promote at line 2 column 12",
        ),
        (
            "permissions:\n  hold: anyone\n",
            "permissions.hold at line 2 column 9",
        ),
        (
            "permissions:\n  unhold: owner\n",
            "permissions.unhold at line 2 column 11",
        ),
        (
            "permissions:\n  rollback: Admin\n",
            "permissions.rollback at line 2 column 13",
        ),
    ] {
        let message = message(yaml);
        assert!(
            message.starts_with(place),
            "{message:?} should start with {place:?}"
        );
        assert!(
            message.ends_with(&format!("expected one of {LEVELS}")),
            "{message:?}"
        );
    }
}

#[test]
fn wrong_types_in_permissions_say_what_was_expected() {
    for (yaml, place) in [
        (
            "permissions:\n  stage: 3\n",
            "permissions.stage at line 2 column 10",
        ),
        (
            "permissions:\n  stage: true\n",
            "permissions.stage at line 2 column 10",
        ),
        (
            "permissions:\n  stage: [write]\n",
            "permissions.stage at line 2 column 10",
        ),
        (
            // Read as an enum variant with a payload; the error is at the payload.
            "permissions:\n  unstage: {write: 1}\n",
            "permissions.unstage at line 2 column 20",
        ),
        (
            "permissions:\n  promote: 3\n",
            "permissions.promote at line 2 column 12",
        ),
        (
            "permissions:\n  hold: true\n",
            "permissions.hold at line 2 column 9",
        ),
        (
            "permissions:\n  unhold: [maintain]\n",
            "permissions.unhold at line 2 column 11",
        ),
        (
            "permissions:\n  rollback: {admin: 1}\n",
            "permissions.rollback at line 2 column 21",
        ),
    ] {
        let message = message(yaml);
        assert!(
            message.starts_with(place),
            "{message:?} should start with {place:?}"
        );
        assert!(message.contains(LEVELS), "{message:?}");
    }
    assert_eq!(
        message("permissions: write\n"),
        format!(
            "permissions at line 1 column 14: wrong type: expected a mapping; \
             allowed keys: {ALL_KEYS}"
        )
    );
}

#[test]
fn unknown_and_duplicate_permission_keys_are_refused() {
    assert_eq!(
        message("permissions:\n  stage: write\n  deploy: admin\n"),
        format!(
            "permissions.deploy at line 3 column 3: unknown key `deploy`; \
             allowed keys: {ALL_KEYS}"
        )
    );
    let duplicate = message("permissions:\n  stage: write\n  stage: admin\n");
    assert!(
        duplicate.starts_with("permissions.stage at line 3 column 3")
            && duplicate.contains("set more than once"),
        "{duplicate:?}"
    );
    // The hand-written key list must agree with serde's (which unknown keys are named from).
    assert!(
        message("permissions: {nope: 1}\n")
            .ends_with(&format!("allowed keys: {}", one_of(PERMISSIONS_KEYS)))
    );
}
