use super::*;
use proptest::prelude::*;

fn none(body: &str) {
    assert_eq!(parse(body), Ok(None), "{body:?}");
}

fn some(body: &str, command: Command) {
    assert_eq!(parse(body), Ok(Some(Invocation::bare(command))), "{body:?}");
}

fn inv(body: &str) -> Invocation {
    match parse(body) {
        Ok(Some(inv)) => inv,
        other => panic!("{body:?} parsed as {other:?}"),
    }
}

fn with_env(command: Command, environment: Option<&str>, force: bool) -> Invocation {
    Invocation {
        environment: environment.map(Into::into),
        force,
        ..Invocation::bare(command)
    }
}

fn with_text(command: Command, text: &str) -> Invocation {
    Invocation {
        text: Some(text.into()),
        ..Invocation::bare(command)
    }
}

fn err(body: &str) -> ParseError {
    match parse(body) {
        Err(e) => e,
        other => panic!("{body:?} parsed as {other:?}"),
    }
}

fn unknown(word: &str, suggestion: Option<&'static str>) -> ParseError {
    ParseError::Unknown {
        word: word.into(),
        suggestion,
    }
}

// The table.

#[test]
fn the_table_has_each_word_once_in_lower_case() {
    let words: Vec<&str> = Command::ALL.iter().map(|c| c.word()).collect();
    assert_eq!(
        words,
        [
            "stage", "unstage", "keep", "promote", "hold", "unhold", "rollback", "cancel", "good",
            "bad", "help"
        ]
    );
    for c in Command::ALL {
        assert!(!c.summary().is_empty() && !c.summary().starts_with('/'));
        assert!(
            c.word()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-')
        );
    }
}

// Each command alone.

#[test]
fn each_command_alone() {
    for &c in Command::ALL {
        some(&format!("/{}", c.word()), c);
    }
}

#[test]
fn a_command_among_conversation() {
    some("Looks good to me.\n\n/stage\n\nThanks!", Command::Stage);
}

#[test]
fn leading_spaces_up_to_three() {
    some(" /stage", Command::Stage);
    some("  /unstage", Command::Unstage);
    some("   /help", Command::Help);
}

#[test]
fn crlf_and_trailing_spaces() {
    some("hi\r\n/stage\r\n", Command::Stage);
    some("/stage  \t\r\n", Command::Stage);
    some("/stage\r", Command::Stage);
}

#[test]
fn bom_at_the_start() {
    some("\u{FEFF}/stage", Command::Stage);
}

#[test]
fn non_ascii_text_elsewhere() {
    some("Très bien 👍\n/stage\n— ✓", Command::Stage);
}

#[test]
fn empty_and_whitespace_bodies() {
    none("");
    none("   \n\t\r\n  ");
    none("\u{FEFF}");
}

// Code blocks.

#[test]
fn inside_backtick_fences() {
    none("```\n/stage\n```");
    none("```sh\n/stage\n```\n");
    none("   ```\n/stage\n   ```");
}

#[test]
fn inside_tilde_fences() {
    none("~~~\n/stage\n~~~");
    none("~~~ text\n/stage\n~~~");
}

#[test]
fn after_a_closed_fence() {
    some("```\nx\n```\n/stage", Command::Stage);
    some("~~~\nx\n~~~\n/stage", Command::Stage);
}

#[test]
fn unclosed_fence_runs_to_the_end() {
    none("```\n/stage");
    none("text\n~~~~\n/stage\n");
}

#[test]
fn a_fence_closes_only_with_its_own_char_and_length() {
    none("````\n```\n/stage\n````");
    none("```\n~~~\n/stage\n```");
    none("~~~\n```\n/stage\n~~~");
    some("```\nx\n`````\n/stage", Command::Stage);
    // Text after a would-be closing fence makes it content.
    none("```\n``` x\n/stage");
}

#[test]
fn backticks_in_a_backtick_info_string_are_inline_code_not_a_fence() {
    some("```a```\n/stage", Command::Stage);
}

#[test]
fn fence_inside_a_quote_ends_with_the_quote() {
    none("> ```\n> /stage\n> ```");
    some("> ```\n/stage", Command::Stage);
}

#[test]
fn indented_code() {
    none("    /stage");
    none("\t/stage");
    none(" \t/stage");
    none("text\n\n        /stage\n");
}

#[test]
fn indented_fence_is_code_not_a_fence() {
    some("    ```\n/stage", Command::Stage);
}

// Quotes.

#[test]
fn block_quotes() {
    none("> /stage");
    none(">/stage");
    none("   > /stage");
    none("> > /stage");
    none(">> /unstage");
}

#[test]
fn a_reply_below_a_quote() {
    some("> can you deploy this?\n\n/stage", Command::Stage);
}

// HTML comments.

#[test]
fn html_comments() {
    none("<!-- /stage -->");
    none("<!--\n/stage\n-->");
    none("text <!-- hidden\n/stage\n--> more");
    none("<!-- unclosed\n/stage");
    some("<!-- x -->\n/stage", Command::Stage);
    some("<!--\nx\n-->\n/stage", Command::Stage);
}

#[test]
fn the_line_that_closes_a_comment_is_not_a_command() {
    none("<!--\n-->/stage");
}

#[test]
fn a_comment_after_a_command_is_not_an_argument() {
    some("/stage <!-- after the fix -->", Command::Stage);
    some("/stage <!--\nwhy\n-->", Command::Stage);
}

#[test]
fn a_fence_inside_a_comment_opens_nothing() {
    some("<!--\n```\n-->\n/stage", Command::Stage);
}

#[test]
fn a_comment_opener_in_inline_code_still_hides_what_follows() {
    // Not Markdown's reading, but the safe side: it can hide a command, never run one.
    none("write `<!--` to hide text\n/stage");
    some("write `<!-- -->` to hide text\n/stage", Command::Stage);
}

// Arguments.

#[test]
fn usage_shows_the_arguments() {
    let usage: Vec<String> = Command::ALL.iter().map(|c| c.usage()).collect();
    assert_eq!(
        usage,
        [
            "/stage [commit]",
            "/unstage",
            "/keep [duration | off]",
            "/promote [environment] [--force]",
            "/hold [environment] [reason…]",
            "/unhold [environment]",
            "/rollback [environment] [commit]",
            "/cancel [environment]",
            "/good",
            "/bad [reason…]",
            "/help",
        ]
    );
}

#[test]
fn promote_takes_an_environment_and_force_in_any_order() {
    some("/promote", Command::Promote);
    let promote = |env, force| with_env(Command::Promote, env, force);
    assert_eq!(inv("/promote staging"), promote(Some("staging"), false));
    assert_eq!(inv("/promote --force"), promote(None, true));
    assert_eq!(
        inv("/promote staging --force"),
        promote(Some("staging"), true)
    );
    assert_eq!(
        inv("/promote --force staging"),
        promote(Some("staging"), true)
    );
    assert_eq!(
        inv("/promote \t staging   --force  \r\n"),
        promote(Some("staging"), true)
    );
    assert_eq!(inv("/promote --force --force"), promote(None, true));
    assert_eq!(
        inv("Ship it.\n\n/promote eu-west/prod.2"),
        promote(Some("eu-west/prod.2"), false)
    );
    assert_eq!(inv("/promote préprod"), promote(Some("préprod"), false));
}

#[test]
fn unhold_and_rollback_take_an_environment() {
    some("/unhold", Command::Unhold);
    some("/rollback", Command::Rollback);
    assert_eq!(
        inv("/unhold staging"),
        with_env(Command::Unhold, Some("staging"), false)
    );
    assert_eq!(
        inv("/rollback production"),
        with_env(Command::Rollback, Some("production"), false)
    );
}

#[test]
fn comments_are_not_arguments() {
    assert_eq!(
        inv("/promote staging <!-- after the fix -->"),
        with_env(Command::Promote, Some("staging"), false)
    );
    assert_eq!(
        inv("/promote <!-- staging --> --force"),
        with_env(Command::Promote, None, true)
    );
    assert_eq!(
        inv("/hold <!-- x --> outage <!--\nmore\n-->"),
        with_text(Command::Hold, "outage")
    );
    some("/rollback <!-- staging -->", Command::Rollback);
}

#[test]
fn an_environment_command_inside_code_or_quotes_is_nothing() {
    none("```\n/promote production --force\n```");
    none("> /rollback production");
    none("<!-- /hold production -->");
    none("    /unhold production");
}

#[test]
fn too_many_environments() {
    let e = err("/promote a b");
    assert_eq!(
        e,
        ParseError::TooManyArguments {
            command: Command::Promote,
            rest: "a b".into()
        }
    );
    assert_eq!(
        e.to_string(),
        "`/promote` takes at most one environment name and `--force` (found `a b`); \
         e.g. `/promote production`"
    );
    assert_eq!(
        err("/promote a --force b"),
        ParseError::TooManyArguments {
            command: Command::Promote,
            rest: "a --force b".into()
        }
    );
    assert_eq!(
        err("/unhold a  b").to_string(),
        "`/unhold` takes at most one environment name (found `a  b`); \
         e.g. `/unhold production`"
    );
    assert_eq!(
        err("/unhold staging please").to_string(),
        "`/unhold` takes at most one environment name (found `staging please`); \
         e.g. `/unhold production`"
    );
}

#[test]
fn unknown_options() {
    let e = err("/promote staging --forse");
    assert_eq!(
        e,
        ParseError::UnknownOption {
            command: Command::Promote,
            option: "--forse".into(),
            suggestion: Some("--force")
        }
    );
    assert_eq!(
        e.to_string(),
        "unknown option `--forse` for `/promote`: did you mean `--force`?"
    );
    assert_eq!(
        err("/promote --FORCE"),
        ParseError::UnknownOption {
            command: Command::Promote,
            option: "--FORCE".into(),
            suggestion: Some("--force")
        }
    );
    assert_eq!(
        err("/promote -f").to_string(),
        "unknown option `-f` for `/promote`: write `/promote [environment] [--force]`"
    );
    // Only `/promote` can be forced.
    assert_eq!(
        err("/rollback --force").to_string(),
        "unknown option `--force` for `/rollback`: write `/rollback [environment] [commit]`"
    );
    assert_eq!(
        err("/unhold -"),
        ParseError::UnknownOption {
            command: Command::Unhold,
            option: "-".into(),
            suggestion: None
        }
    );
    // An option error comes before a count error: it is the likelier typo.
    assert!(matches!(
        err("/promote a b --forse"),
        ParseError::UnknownOption { .. }
    ));
}

#[test]
fn environment_names_are_bounded() {
    let longest = "e".repeat(ENVIRONMENT_CHARS);
    assert_eq!(
        inv(&format!("/promote {longest}")),
        with_env(Command::Promote, Some(&longest), false)
    );
    let wide = "é".repeat(ENVIRONMENT_CHARS);
    assert_eq!(
        inv(&format!("/rollback {wide}")),
        with_env(Command::Rollback, Some(&wide), false)
    );
    let too_long = "e".repeat(ENVIRONMENT_CHARS + 1);
    let e = err(&format!("/promote {too_long}"));
    assert_eq!(
        e,
        ParseError::BadEnvironment {
            command: Command::Promote,
            name: too_long
        }
    );
    assert_eq!(
        e.to_string(),
        format!(
            "`/promote` takes an environment name of 1 to 255 characters without control \
             characters (found `{}…`); e.g. `/promote production`",
            "e".repeat(40)
        )
    );
    assert_eq!(
        err("/unhold st\u{7}aging"),
        ParseError::BadEnvironment {
            command: Command::Unhold,
            name: "st\u{7}aging".into()
        }
    );
    assert!(matches!(
        err("/rollback a\u{1b}[31m"),
        ParseError::BadEnvironment { .. }
    ));
}

#[test]
fn hold_takes_free_text() {
    some("/hold", Command::Hold);
    some("/hold   \t ", Command::Hold);
    assert_eq!(
        inv("/hold staging  the database is migrating  "),
        with_text(Command::Hold, "staging  the database is migrating")
    );
    // Anything goes in the text, options included: it is the reason.
    assert_eq!(
        inv("/hold --force `x` <b> @team #12 /stage"),
        with_text(Command::Hold, "--force `x` <b> @team #12 /stage")
    );
    // Only its line: the rest of the comment is conversation.
    assert_eq!(
        inv("/hold staging outage\nmore details below"),
        with_text(Command::Hold, "staging outage")
    );
}

#[test]
fn hold_text_is_bounded() {
    let longest = "é".repeat(TEXT_CHARS);
    assert_eq!(
        inv(&format!("/hold  {longest}  ")),
        with_text(Command::Hold, &longest)
    );
    let e = err(&format!("/hold {}x", longest));
    assert_eq!(
        e,
        ParseError::TextTooLong {
            command: Command::Hold,
            what: "reason",
            chars: TEXT_CHARS + 1
        }
    );
    assert_eq!(
        e.to_string(),
        "the reason for `/hold` is longer than 500 characters (found 501); shorten it"
    );
}

#[test]
fn arguments_to_commands_without_any_are_still_an_error() {
    for word in ["unstage", "help"] {
        assert_eq!(
            err(&format!("/{word} production")),
            ParseError::UnexpectedArguments {
                command: Command::ALL
                    .iter()
                    .map(|c| c.word())
                    .find(|w| *w == word)
                    .unwrap(),
                rest: "production".into()
            }
        );
    }
}

#[test]
fn new_words_get_suggestions() {
    assert_eq!(err("/promot"), unknown("promot", Some("promote")));
    assert_eq!(err("/Promote"), unknown("Promote", Some("promote")));
    assert_eq!(err("/hodl"), unknown("hodl", Some("hold")));
    assert_eq!(err("/unhodl"), unknown("unhodl", Some("unhold")));
    assert_eq!(err("/un-hold"), unknown("un-hold", Some("unhold")));
    assert_eq!(err("/rollbak"), unknown("rollbak", Some("rollback")));
    assert_eq!(err("/roll-back"), unknown("roll-back", Some("rollback")));
    assert_eq!(
        err("/promot staging").to_string(),
        "unknown command `/promot`: did you mean `/promote`?"
    );
}

#[test]
fn invocation_reads_a_stored_word_and_arguments() {
    assert_eq!(
        invocation("promote", " staging --force "),
        Ok(with_env(Command::Promote, Some("staging"), true))
    );
    assert_eq!(
        invocation("stage", ""),
        Ok(Invocation::bare(Command::Stage))
    );
    assert_eq!(
        invocation("hold", "outage"),
        Ok(with_text(Command::Hold, "outage"))
    );
    assert_eq!(invocation("nope", ""), Err(unknown("nope", None)));
    assert_eq!(invocation("", ""), Err(unknown("", None)));
    assert!(matches!(
        invocation("help", "x"),
        Err(ParseError::UnexpectedArguments { .. })
    ));
    assert!(matches!(
        invocation("rollback", "a b c"),
        Err(ParseError::TooManyArguments { .. })
    ));
}

#[test]
fn args_render_back() {
    for body in [
        "/stage",
        "/promote",
        "/promote staging",
        "/promote --force",
        "/promote --force staging",
        "/hold",
        "/hold staging the db is migrating",
        "/hold --force",
        "/unhold staging",
        "/rollback",
    ] {
        let i = inv(body);
        assert_eq!(
            invocation(i.command.word(), &i.args()),
            Ok(i.clone()),
            "{body}"
        );
    }
    assert_eq!(inv("/promote --force staging").args(), "staging --force");
    assert_eq!(inv("/stage").args(), "");
}

// Not commands at all.

#[test]
fn inline_code_and_mid_line() {
    none("run `/stage` to deploy");
    none("text /stage");
    none("- /stage");
}

#[test]
fn urls_paths_and_punctuation() {
    none("/usr/bin/env");
    none("http://x/stage");
    none("/ stage");
    none("//stage");
    none("/");
    none("/-stage");
    none("/stage,");
    none("/stage2");
    none("/stage/");
}

// Errors.

#[test]
fn capitalised_is_unknown_with_a_suggestion() {
    assert_eq!(err("/Stage"), unknown("Stage", Some("stage")));
    assert_eq!(err("/STAGE"), unknown("STAGE", Some("stage")));
}

#[test]
fn typos_get_a_suggestion() {
    assert_eq!(err("/stgae"), unknown("stgae", Some("stage")));
    assert_eq!(err("/stag"), unknown("stag", Some("stage")));
    assert_eq!(err("/unstag"), unknown("unstag", Some("unstage")));
    assert_eq!(err("/hlep"), unknown("hlep", Some("help")));
    assert_eq!(err("/un-stage"), unknown("un-stage", Some("unstage")));
}

#[test]
fn far_off_unknown_lists_the_commands() {
    let e = err("/deploy-everything");
    assert_eq!(e, unknown("deploy-everything", None));
    // The reply's wording: the `parse_errors` snapshot.
    let text = e.to_string();
    assert!(
        Command::ALL
            .iter()
            .all(|c| text.contains(&format!("`/{}`", c.word()))),
        "{text}"
    );
}

#[test]
fn stage_takes_one_commit_of_7_to_40_hex_digits() {
    let inv = parse("/stage 1A2B3C4").unwrap().unwrap();
    assert_eq!(inv.command, Command::Stage);
    assert_eq!(inv.commit.as_deref(), Some("1a2b3c4"));
    assert_eq!(invocation("stage", &inv.args()), Ok(inv));
    let full = "0123456789abcdef0123456789abcdef01234567";
    assert_eq!(
        parse(&format!("/stage {full}"))
            .unwrap()
            .unwrap()
            .commit
            .as_deref(),
        Some(full)
    );
    for bad in [
        "123456",
        &format!("{full}8"),
        "production",
        "1a2b3c4 5d6e7f8",
        "1a2b3c4g",
        "--force",
    ] {
        let e = err(&format!("/stage {bad}"));
        assert!(matches!(e, ParseError::BadCommit { .. }), "{bad}: {e:?}");
        assert!(e.to_string().contains("7 to 40 hexadecimal digits"), "{e}");
    }
}

#[test]
fn an_unknown_command_with_arguments_is_unknown() {
    assert_eq!(err("/deploy now"), unknown("deploy", None));
}

#[test]
fn arguments_are_an_error() {
    let e = err("/unstage now please  ");
    assert_eq!(
        e,
        ParseError::UnexpectedArguments {
            command: "unstage",
            rest: "now please".into()
        }
    );
    assert_eq!(
        e.to_string(),
        "`/unstage` takes no arguments (found `now please`); write `/unstage` alone on its line"
    );
    assert!(matches!(
        err("/help\u{a0}me"),
        ParseError::UnexpectedArguments { .. }
    ));
}

#[test]
fn a_command_with_arguments_is_two_commands_too() {
    assert_eq!(
        err("/promote staging\n/hold"),
        ParseError::SeveralCommands {
            found: vec!["promote".into(), "hold".into()]
        }
    );
}

#[test]
fn two_commands() {
    let e = err("/stage\n/unstage");
    assert_eq!(
        e,
        ParseError::SeveralCommands {
            found: vec!["stage".into(), "unstage".into()]
        }
    );
    assert_eq!(
        e.to_string(),
        "one command per comment: found `/stage` and `/unstage`; \
         post each command in a comment of its own"
    );
    assert!(matches!(
        err("/stage\n/stage"),
        ParseError::SeveralCommands { .. }
    ));
}

#[test]
fn a_command_plus_an_unknown_one() {
    assert_eq!(
        err("/stage\ntext\n/deploy"),
        ParseError::SeveralCommands {
            found: vec!["stage".into(), "deploy".into()]
        }
    );
}

#[test]
fn many_commands_are_listed_briefly() {
    let e = err(&"/stage\n".repeat(8));
    assert!(e.to_string().contains("`/stage` and 3 more;"), "{e}");
}

#[test]
fn quoted_user_text_is_cleaned_and_cut() {
    // Backticks stay, inside a longer fence that they cannot close.
    let e = err(&format!("/stage `x` {}", "a".repeat(100)));
    let text = e.to_string();
    assert!(
        text.contains(&format!("(found `` `x` {}… ``)", "a".repeat(36))),
        "{text}"
    );
    let long = err(&format!("/{}", "z".repeat(100))).to_string();
    assert!(long.contains(&format!("`/{}…`", "z".repeat(39))), "{long}");
}

#[test]
fn no_message_starts_with_a_slash() {
    for body in [
        "/x",
        "/stage x",
        "/stage\n/help",
        "/Stage",
        "/stage `/x`",
        "/promote /a /b",
        "/promote -/x",
        "/rollback --force",
        "/unhold /\u{7}",
        &format!("/hold {}", "/".repeat(600)),
    ] {
        let text = err(body).to_string();
        assert!(!text.starts_with('/'), "{text}");
        assert!(
            !text.lines().any(|l| l.trim_start().starts_with('/')),
            "{text}"
        );
    }
}

#[test]
fn distance_counts_a_swap_as_one_edit() {
    assert_eq!(distance("stage", "stage"), 0);
    assert_eq!(distance("stgae", "stage"), 1);
    assert_eq!(distance("", "help"), 4);
    assert_eq!(distance("kitten", "sitting"), 3);
    assert_eq!(distance("ca", "abc"), 3);
}

#[test]
fn a_huge_body_parses() {
    let body = format!("{}\n/stage", "` <!-- `` ``` x\n".repeat(4000));
    assert!(body.len() > 60_000);
    // The comment opened on the first line hides everything after it.
    none(&body);
    some(
        &format!("{}/stage", "word ".repeat(13_000) + "\n"),
        Command::Stage,
    );
    let comments = "<!-- x --> `".repeat(6_000);
    some(&format!("{comments}\n/stage"), Command::Stage);
    assert_eq!(
        err(&format!("/{}", "a".repeat(65_000))),
        unknown(&"a".repeat(65_000), None)
    );
}

#[test]
fn huge_arguments_get_short_answers() {
    let huge = [
        format!("/hold {}", "reason ".repeat(10_000)),
        format!("/promote {}", "a ".repeat(30_000)),
        format!("/promote {}", "a".repeat(65_000)),
        format!("/promote -{}", "f".repeat(65_000)),
        format!("/rollback {}", "--force ".repeat(8_000)),
        format!("/unhold {}", "\u{7}".repeat(65_000)),
        format!("/stage {}", "é".repeat(30_000)),
    ];
    for body in &huge {
        let text = err(body).to_string();
        assert!(text.chars().count() < 200, "{text}");
    }
}

// Properties.

/// Bodies biased to the characters the parser cares about.
fn markdownish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("/"),
        Just("/stage"),
        Just("/unstage"),
        Just("/help"),
        Just("/promote"),
        Just("/hold"),
        Just("/unhold"),
        Just("/rollback"),
        Just("--force"),
        Just("--forse"),
        Just("production"),
        Just(" a"),
        Just("\u{7}"),
        Just("`"),
        Just("```"),
        Just("~~~"),
        Just(">"),
        Just("> "),
        Just("\n"),
        Just("\r\n"),
        Just("\r"),
        Just(" "),
        Just("    "),
        Just("\t"),
        Just("~"),
        Just("<!--"),
        Just("-->"),
        Just("\u{FEFF}"),
        Just("é"),
        Just("x"),
        Just("-"),
    ];
    prop::collection::vec(piece, 0..48).prop_map(|v| v.concat())
}

fn any_body() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), markdownish()]
}

/// The arguments of an environment command, biased to the words it cares about.
fn argumentish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("production".to_owned()),
        Just("--force".to_owned()),
        Just("--forse".to_owned()),
        Just("-".to_owned()),
        Just(" ".to_owned()),
        Just("\t".to_owned()),
        Just("\r".to_owned()),
        Just("\u{a0}".to_owned()),
        Just("\u{7}".to_owned()),
        Just("<!--".to_owned()),
        Just("-->".to_owned()),
        Just("`".to_owned()),
        "[a-zé/._-]{1,6}",
        "e{250,260}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|v| v.concat())
}

fn a_word() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(Command::ALL.iter().map(|c| c.word()).collect::<Vec<_>>())
            .prop_map(str::to_owned),
        "[a-zA-Z-]{0,10}",
    ]
}

/// An invocation fits its command's shape.
fn fits_its_shape(inv: &Invocation) -> bool {
    match inv.command.shape() {
        Shape::None => {
            inv.environment.is_none() && !inv.force && inv.text.is_none() && inv.commit.is_none()
        }
        Shape::Commit => {
            inv.environment.is_none()
                && !inv.force
                && inv.text.is_none()
                && inv.commit.as_deref().is_none_or(|c| {
                    (7..=40).contains(&c.len())
                        && c.bytes()
                            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                })
        }
        Shape::Environment { force } => {
            inv.text.is_none()
                && (force || !inv.force)
                && inv.environment.as_deref().is_none_or(|e| {
                    !e.is_empty()
                        && e.chars().count() <= ENVIRONMENT_CHARS
                        && !e.starts_with('-')
                        && !e.chars().any(|c| c.is_control() || c.is_whitespace())
                })
        }
        Shape::EnvironmentCommit => {
            inv.text.is_none()
                && !inv.force
                && inv.commit.as_deref().is_none_or(|c| {
                    (7..=40).contains(&c.len())
                        && c.bytes()
                            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                })
                && inv.environment.as_deref().is_none_or(|e| {
                    !e.is_empty()
                        && !e.starts_with('-')
                        && !e.chars().any(|c| c.is_control() || c.is_whitespace())
                })
        }
        Shape::Text { .. } => {
            inv.environment.is_none()
                && !inv.force
                && inv.text.as_deref().is_none_or(|t| {
                    !t.is_empty() && t.trim() == t && t.chars().count() <= TEXT_CHARS
                })
        }
    }
}

/// What [`parse`] promises for a command it returns: it is at a line's start.
fn has_command_line(body: &str, command: Command) -> bool {
    let body = body.strip_prefix('\u{FEFF}').unwrap_or(body);
    let want = format!("/{}", command.word());
    body.split('\n').any(|line| {
        let text = line.trim_start_matches(' ');
        line.len() - text.len() <= 3 && text.starts_with(&want)
    })
}

proptest! {
    #[test]
    fn never_panics(body in any_body()) {
        if let Err(e) = parse(&body) {
            prop_assert!(!e.to_string().starts_with('/'));
        }
    }

    #[test]
    fn a_command_is_at_a_line_start(body in any_body()) {
        if let Ok(Some(inv)) = parse(&body) {
            prop_assert!(has_command_line(&body, inv.command), "{:?}", body);
        }
    }

    #[test]
    fn what_parses_fits_and_round_trips(body in any_body()) {
        if let Ok(Some(inv)) = parse(&body) {
            prop_assert!(fits_its_shape(&inv), "{:?}", inv);
            prop_assert_eq!(invocation(inv.command.word(), &inv.args()), Ok(inv));
        }
    }

    #[test]
    fn arguments_never_panic_and_round_trip(
        word in a_word(),
        args in argumentish(),
    ) {
        match parse(&format!("/{word} {args}")) {
            Ok(Some(inv)) => {
                prop_assert!(fits_its_shape(&inv), "{:?}", inv);
                prop_assert_eq!(invocation(inv.command.word(), &inv.args()), Ok(inv));
            }
            Ok(None) => {}
            Err(e) => {
                let text = e.to_string();
                prop_assert!(!text.starts_with('/') && !text.contains('\n'), "{}", text);
            }
        }
        match invocation(&word, &args) {
            Ok(inv) => {
                prop_assert!(fits_its_shape(&inv), "{:?}", inv);
                prop_assert_eq!(invocation(inv.command.word(), &inv.args()), Ok(inv));
            }
            Err(e) => {
                let text = e.to_string();
                prop_assert!(!text.starts_with('/') && !text.contains('\n'), "{}", text);
            }
        }
    }

    #[test]
    fn any_single_line_reason_is_held(text in "[^\n<]{0,500}") {
        let want = match text.trim() {
            "" => Invocation::bare(Command::Hold),
            t => with_text(Command::Hold, t),
        };
        prop_assert_eq!(parse(&format!("/hold {text}")), Ok(Some(want)));
    }

    #[test]
    fn any_plausible_environment_name_is_read(
        name in prop::collection::vec(any::<char>(), 1..40),
        force in any::<bool>(),
    ) {
        // Any characters but those that end a word, hide text, or start an option.
        let name: String = name
            .into_iter()
            .map(|c| if c.is_control() || c.is_whitespace() || c == '<' { 'x' } else { c })
            .collect();
        let name = if name.starts_with('-') { format!("x{name}") } else { name };
        let flag = if force { " --force" } else { "" };
        prop_assert_eq!(
            parse(&format!("/promote {name}{flag}")),
            Ok(Some(with_env(Command::Promote, Some(&name), force)))
        );
    }

    #[test]
    fn quoted_bodies_hold_no_command(body in any_body()) {
        let quoted: String = body.split('\n').map(|l| format!("> {l}\n")).collect();
        prop_assert_eq!(parse(&quoted), Ok(None));
    }

    #[test]
    fn fenced_bodies_hold_no_command(body in any_body()) {
        // No backtick fence inside, so nothing closes ours early.
        let mut body = body;
        while body.contains("```") {
            body = body.replace("```", "``");
        }
        let fenced = format!("```\n{body}\n```\n");
        prop_assert_eq!(parse(&fenced), Ok(None));
    }
}

/// Every parse error's reply as the commenter reads it, and the command list of `/help` and the
/// sticky comment, pinned word for word (`src/engine/snapshots/`).
#[test]
fn replies_read_as_pinned() {
    let bodies = [
        "/stgae",
        "/deploy",
        "/stage now please",
        "/promote staging production",
        "/promote --forse",
        "/rollback --force",
        &format!("/promote {}", "e".repeat(300)),
        &format!("/hold {}", "x".repeat(501)),
        "/stage\n/promote\n/hold\n/unhold\n/rollback\n/help\n/nope",
    ];
    let text: Vec<String> = bodies
        .iter()
        .map(|b| {
            let shown: String = b.chars().take(60).collect::<String>().replace('\n', "⏎");
            format!("{shown}\n{}\n", err(b))
        })
        .collect();
    insta::assert_snapshot!("parse_errors", text.join("\n"));
    let help = crate::engine::sticky::help_lines(&crate::engine::sticky::command_help(None));
    insta::assert_snapshot!("help_lines", help.join("\n"));
}

#[test]
fn rollback_takes_an_environment_and_a_commit_and_cancel_an_environment() {
    let inv = parse("/rollback production-uk 1a2b3c4").unwrap().unwrap();
    // Stored and read again as the same invocation.
    assert_eq!(invocation("rollback", &inv.args()), Ok(inv.clone()));
    assert_eq!(inv.command, Command::Rollback);
    assert_eq!(inv.environment.as_deref(), Some("production-uk"));
    assert_eq!(inv.commit.as_deref(), Some("1a2b3c4"));
    let inv = parse("/rollback 1A2B3C4D").unwrap().unwrap();
    assert_eq!(
        (inv.environment, inv.commit.as_deref()),
        (None, Some("1a2b3c4d"))
    );
    let inv = parse("/rollback staging").unwrap().unwrap();
    assert_eq!(
        (inv.environment.as_deref(), inv.commit),
        (Some("staging"), None)
    );
    assert!(matches!(
        parse("/rollback staging nothex"),
        Err(ParseError::BadCommit { .. })
    ));
    assert!(matches!(
        parse("/rollback a b c"),
        Err(ParseError::TooManyArguments { .. })
    ));
    let inv = parse("/cancel production-uk").unwrap().unwrap();
    assert_eq!(inv.command, Command::Cancel);
    assert_eq!(inv.environment.as_deref(), Some("production-uk"));
    assert_eq!(
        Command::Rollback.usage(),
        "/rollback [environment] [commit]"
    );
}
