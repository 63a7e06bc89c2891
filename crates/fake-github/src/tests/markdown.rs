//! The model of how GitHub shows a comment: what hides, who is mentioned, what links.

use crate::markdown::shown;

#[test]
fn mentions_outside_code_links_and_comments_only() {
    let s =
        shown("@ann and @octo/team, not `@code` or [@link](https://x) or a@b.c <!-- @hidden -->");
    assert_eq!(s.mentions, ["ann", "octo/team"]);
    assert_eq!(s.links, [("@link".to_string(), "https://x".to_string())]);
    assert_eq!(s.hidden, [" @hidden "]);
    assert!(s.text.contains("@code"));
}

#[test]
fn escapes_entities_and_zero_width_spaces() {
    assert_eq!(shown("&#64;ann &commat;bob").mentions, ["ann", "bob"]);
    assert!(
        shown("\\@ann").mentions == ["ann"],
        "a backslash does not stop a mention"
    );
    assert!(shown("@\u{200b}ann").mentions.is_empty());
    assert!(shown("\\&#64;ann \\<!-- x -->").hidden.is_empty());
    assert!(shown("\\&#64;ann").mentions.is_empty());
}

#[test]
fn a_comment_block_hides_the_rest_of_the_body_when_never_closed() {
    let s = shown("<!-- marker -->\nvisible\n<!-- open\nhidden too\n\nand this");
    assert_eq!(s.hidden.len(), 2);
    assert!(
        s.text.contains("visible") && !s.text.contains("and this"),
        "{s:?}"
    );
    // Inline, an unclosed one is just text.
    let s = shown("a <!-- b\nc");
    assert!(s.hidden.is_empty() && s.text.contains("<!-- b"));
}

#[test]
fn code_spans_need_their_closing_run_in_the_same_paragraph() {
    let s = shown("`a @x\n\nb` @y");
    assert_eq!(s.mentions, ["x", "y"]);
    let s = shown("`` a ` @x ``");
    assert!(s.mentions.is_empty() && s.text.contains("a ` @x"), "{s:?}");
    let s = shown("```\n@in_fence\n```\n@after");
    assert_eq!(s.mentions, ["after"]);
}
