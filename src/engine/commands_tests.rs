use super::*;
use proptest::prelude::*;

fn none(body: &str) {
    assert_eq!(parse(body), Ok(None), "{body:?}");
}

fn some(body: &str, command: Command) {
    assert_eq!(parse(body), Ok(Some(command)), "{body:?}");
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
    assert_eq!(words, ["stage", "unstage", "help"]);
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
    assert_eq!(
        e.to_string(),
        "unknown command `/deploy-everything`: write one of `/stage`, `/unstage` or `/help`"
    );
}

#[test]
fn unknown_message_suggests() {
    assert_eq!(
        err("/stgae").to_string(),
        "unknown command `/stgae`: did you mean `/stage`?"
    );
}

#[test]
fn an_unknown_command_with_arguments_is_unknown() {
    assert_eq!(err("/deploy now"), unknown("deploy", None));
}

#[test]
fn arguments_are_an_error() {
    let e = err("/stage now please  ");
    assert_eq!(
        e,
        ParseError::UnexpectedArguments {
            command: "stage",
            rest: "now please".into()
        }
    );
    assert_eq!(
        e.to_string(),
        "`/stage` takes no arguments (found `now please`); write `/stage` alone on its line"
    );
    assert!(matches!(
        err("/help\u{a0}me"),
        ParseError::UnexpectedArguments { .. }
    ));
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
    let e = err(&format!("/stage `x` {}", "a".repeat(100)));
    let text = e.to_string();
    assert!(
        text.contains(&format!("(found `x {}…`)", "a".repeat(38))),
        "{text}"
    );
    let long = err(&format!("/{}", "z".repeat(100))).to_string();
    assert!(long.contains(&format!("`/{}…`", "z".repeat(39))), "{long}");
}

#[test]
fn no_message_starts_with_a_slash() {
    for body in ["/x", "/stage x", "/stage\n/help", "/Stage", "/stage `/x`"] {
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

// Properties.

/// Bodies biased to the characters the parser cares about.
fn markdownish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("/"),
        Just("/stage"),
        Just("/unstage"),
        Just("/help"),
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
        if let Ok(Some(command)) = parse(&body) {
            prop_assert!(has_command_line(&body, command), "{:?}", body);
        }
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
