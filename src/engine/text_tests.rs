use super::*;

const HOSTILE: &[&str] = &[
    "plain",
    "a`b",
    "``double``",
    "`edge",
    "edge`",
    "<!-- hide the rest",
    "--> close",
    "@team",
    "@org/team",
    "&#64;org/team",
    "[link](javascript:alert(1))",
    "![img](https://x/y.png)",
    "**bold** _em_ ~~gone~~ $x^2$",
    "line one\nline two\r\n/stage",
    "# heading",
    "<script>x</script>",
    "\\`escaped",
    "ünïcødé 🚀 مرحبا",
    "\u{202e}reversed",
    "",
];

/// Characters that would mean something to Markdown or HTML, left unescaped in `s`.
fn unescaped_specials(s: &str) -> Vec<char> {
    let mut out = Vec::new();
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        if c == '\\' {
            escaped = true;
            continue;
        }
        if "`*_[]<>&~|$".contains(c) {
            out.push(c);
        }
    }
    out
}

#[test]
fn prose_escapes_every_markdown_and_html_character() {
    for s in HOSTILE {
        let p = prose(s);
        assert!(unescaped_specials(&p).is_empty(), "{s:?} → {p:?}");
        assert!(!p.contains('\n') && !p.contains('\r'), "{s:?} → {p:?}");
        assert!(!p.contains("@t") && !p.contains("@o"), "{s:?} → {p:?}");
        assert!(!p.contains('\u{202e}'), "{s:?} → {p:?}");
    }
    assert_eq!(prose("release notes first"), "release notes first");
    assert_eq!(prose("<!-- x"), "\\<!-- x");
    assert_eq!(prose("@org/team"), "@\u{200b}org/team");
    assert_eq!(prose("a\nb"), "a b");
    assert_eq!(prose("[x](javascript:y)"), "\\[x\\](javascript:y)");
}

#[test]
fn code_spans_cannot_be_closed_early() {
    assert_eq!(code("build"), "`build`");
    assert_eq!(code("a`b"), "``a`b``");
    assert_eq!(code("``double``"), "``` ``double`` ```");
    assert_eq!(code("`edge"), "`` `edge ``");
    assert_eq!(code("ci / test (ubuntu)"), "`ci / test (ubuntu)`");
    assert_eq!(code(""), "` `");
    assert_eq!(code("@team"), "`@\u{200b}team`");
    for s in HOSTILE {
        let c = code(s);
        // The fence: the leading run of backticks; the content never holds a run that long.
        let fence = c.chars().take_while(|c| *c == '`').count();
        let inner = &c[fence..c.len() - fence];
        let longest = inner.split(|c| c != '`').map(str::len).max().unwrap_or(0);
        assert!(longest < fence, "{s:?} → {c:?}");
        assert!(c.ends_with(&"`".repeat(fence)), "{s:?} → {c:?}");
        assert!(!c.contains('\n'), "{s:?} → {c:?}");
    }
}

#[test]
fn long_text_is_capped_in_characters_with_an_ellipsis() {
    let long = "é".repeat(10_000);
    let p = prose(&long);
    assert_eq!(p.chars().count(), PROSE_CHARS);
    assert!(p.ends_with('…'));
    let c = code(&long);
    assert_eq!(c.chars().count(), NAME_CHARS + 2);
    assert_eq!(prose(&"a".repeat(PROSE_CHARS)), "a".repeat(PROSE_CHARS));
    let q = quote(&"line\n".repeat(10_000));
    assert!(q.chars().count() < QUOTE_CHARS * 3, "{}", q.len());
}

#[test]
fn quoted_lines_start_nothing_of_their_own() {
    assert_eq!(
        quote("preview.trigger: unknown variant `sometimes`"),
        "> preview.trigger: unknown variant \\`sometimes\\`"
    );
    assert_eq!(
        quote("# big\n- item\n/stage"),
        "> \\# big\n> \\- item\n> \\/stage"
    );
    assert_eq!(quote("<!-- x\n@team"), "> \\<!-- x\n> @\u{200b}team");
}

#[test]
fn urls_link_only_when_plain() {
    assert_eq!(url("https://pr-7.example.org"), "https://pr-7.example.org");
    assert_eq!(url("http://x.test/a?b=c#d"), "http://x.test/a?b=c#d");
    assert_eq!(url("javascript:alert(1)"), "`javascript:alert(1)`");
    assert_eq!(
        url("https://x.test/ @team"),
        "`https://x.test/ @\u{200b}team`"
    );
    assert_eq!(url("https://x.test/<!--"), "`https://x.test/<!--`");
    assert_eq!(url("https://x.test/)[a](b"), "`https://x.test/)[a](b`");
}

#[test]
fn logins_mention_only_when_github_could_have_given_them() {
    assert_eq!(login("ann"), "@ann");
    assert_eq!(login("dependabot[bot]"), "@dependabot\\[bot\\]");
    assert!(is_login("a-b1"));
    for bad in [
        "",
        "-a",
        "a-",
        "a--b",
        "a b",
        "@ann",
        "octo/team",
        &"a".repeat(40),
    ] {
        assert!(!is_login(bad), "{bad:?}");
        assert!(
            !login(bad).starts_with('@') || login(bad).starts_with("@\u{200b}"),
            "{bad:?}"
        );
    }
    assert_eq!(login("octo/team"), "octo/team");
}

#[test]
fn gangways_own_requests_mention_no_one() {
    assert_eq!(requester(crate::model::GANGWAY_REQUESTER), "Gangway");
    let shown = fake_github::markdown::shown(&requester(crate::model::GANGWAY_REQUESTER));
    assert!(shown.mentions.is_empty());
    // A person who asked is still mentioned: they want to know.
    assert_eq!(requester("ann"), "@ann");
}
