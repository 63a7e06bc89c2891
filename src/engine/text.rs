//! Untrusted text in Gangway's comments: check names, hold and bad-commit reasons, environment
//! and repository names, a deployer's status description and URL, GitHub's and the driver's
//! error messages, logins. Anyone who can post a check run, a commit status or a deployment
//! status, or run a command, chooses some of it; none of it may speak for Gangway.
//!
//! Owns the one way such text enters a comment, whatever the place:
//!
//! - [`code`]: a name, as an inline code span whose fence is longer than any run of backticks
//!   inside it, so it cannot be closed early. Inside code GitHub formats nothing, links
//!   nothing, hides nothing and mentions no one.
//! - [`prose`]: free text, every Markdown and HTML character it could use (`\` `` ` `` `*` `_`
//!   `[` `]` `<` `>` `&` `~` `|` `$`) backslash-escaped, so it reads as the characters typed:
//!   no emphasis, link, image, HTML, HTML comment (`<!--` cannot hide the rest of the comment),
//!   entity (`&#64;` is no `@`) or math.
//! - [`quote`]: several lines of prose as a block quote.
//! - [`url`]: a URL shown as itself when it is a plain `http(s)` address, else as [`code`].
//! - [`login`]: `@login` for a name GitHub could have given an account, else [`prose`].
//! - [`some_of`]: a list, at most [`LISTED`] items and a count of the rest.
//!
//! In all of them every `@` is followed by a zero-width space (U+200B): GitHub's mentions need
//! the login right after the `@`, so `@team` shows as `@​team` and notifies no one (a backslash
//! would not do: GitHub finds mentions in the rendered text). Line breaks and other control
//! characters become spaces, so nothing starts a line of its own (a command, a heading, an HTML
//! block); bidirectional controls are dropped, so text cannot be shown reversed. Each is capped
//! (characters, not bytes) with an ellipsis: [`NAME_CHARS`] for names and URLs, [`PROSE_CHARS`]
//! for prose. Pure: no I/O.

/// The longest name shown (a check, an environment, a repository, a host): longer ones end
/// with `…`.
pub const NAME_CHARS: usize = 100;
/// The longest piece of prose shown (a reason, an error message).
pub const PROSE_CHARS: usize = 300;
/// The longest block of quoted lines shown.
pub const QUOTE_CHARS: usize = 1000;

const ZWSP: char = '\u{200b}';

/// The characters of `s` a comment may show: line breaks and other control characters become
/// spaces, bidirectional controls go, and it is cut at `max` characters (the last one then `…`).
fn clean(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .filter(|c| !is_bidi_control(*c))
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if out.chars().count() > max {
        out = out.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
    }
    out
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `@` followed by a zero-width space: no mention.
fn unmention(s: &str) -> String {
    s.replace('@', "@\u{200b}")
}

/// A name as an inline code span: `` `build` ``; a name with backticks gets a longer fence
/// (``` `` a`b `` ```). Capped at [`NAME_CHARS`].
pub fn code(s: &str) -> String {
    code_capped(s, NAME_CHARS)
}

/// As [`code`], capped at `max` characters.
pub fn code_capped(s: &str, max: usize) -> String {
    let body = unmention(clean(s.trim(), max).trim());
    if body.is_empty() {
        return "` `".to_owned();
    }
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    // A space on each side when the content touches a backtick (CommonMark strips one each).
    if body.starts_with('`') || body.ends_with('`') {
        format!("{fence} {body} {fence}")
    } else {
        format!("{fence}{body}{fence}")
    }
}

/// Free text shown as the characters it holds, on one line, capped at [`PROSE_CHARS`].
pub fn prose(s: &str) -> String {
    prose_capped(s, PROSE_CHARS)
}

/// As [`prose`], capped at `max` characters.
pub fn prose_capped(s: &str, max: usize) -> String {
    escape(&clean(s, max))
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '~' | '|' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '@' => {
                out.push('@');
                out.push(ZWSP);
            }
            c => out.push(c),
        }
    }
    out
}

/// Lines of untrusted text (a policy error) as a block quote: each line is [`prose`] after
/// `> `, a line that would start a heading or a list shown as text; at most [`QUOTE_CHARS`]
/// in all.
pub fn quote(s: &str) -> String {
    let mut left = QUOTE_CHARS;
    let mut lines = Vec::new();
    for line in s.lines() {
        if left == 0 {
            break;
        }
        let shown = clean(line, left);
        left = left.saturating_sub(shown.chars().count().max(1));
        let mut escaped = escape(&shown);
        if escaped
            .trim_start()
            .starts_with(['#', '-', '+', '=', '>', '/'])
        {
            escaped.insert(0, '\\');
        }
        lines.push(format!("> {escaped}"));
    }
    if lines.is_empty() {
        lines.push(">".to_owned());
    }
    lines.join("\n")
}

/// A URL as itself (GitHub links it) when it is a plain `http://` or `https://` address of at
/// most [`NAME_CHARS`] characters, with nothing that Markdown, HTML or a mention could use;
/// any other value as [`code`], never a link.
pub fn url(s: &str) -> String {
    let plain = (s.starts_with("https://") || s.starts_with("http://"))
        && s.chars().count() <= NAME_CHARS
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~:/?#%=+,;!".contains(c));
    if plain { s.to_owned() } else { code(s) }
}

/// The most items a list in a comment shows; the rest are counted.
pub const LISTED: usize = 10;

/// Items already made safe, comma-separated: at most [`LISTED`], then `and N more`.
pub fn some_of(items: &[String]) -> String {
    let mut out = items
        .iter()
        .take(LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > LISTED {
        out.push_str(&format!(" and {} more", items.len() - LISTED));
    }
    out
}

/// Whether GitHub could have given an account this login: 1-39 letters, digits and single
/// inner hyphens, or an App's bot (`name[bot]`).
pub fn is_login(s: &str) -> bool {
    let name = s.strip_suffix("[bot]").unwrap_or(s);
    !name.is_empty()
        && name.len() <= 39
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

/// `@login` for a login GitHub could have given (Gangway means to mention that person: the
/// one who asked, approved, held); any other text as [`prose`], mentioning no one.
pub fn login(s: &str) -> String {
    if is_login(s) {
        // `[bot]` escaped: not a link label.
        format!("@{}", s.replace('[', "\\[").replace(']', "\\]"))
    } else {
        prose_capped(s, NAME_CHARS)
    }
}

/// A check's result in a sentence: its name as code and its conclusion as prose, e.g.
/// `` `build` (failure) ``.
pub fn check_result(name: &str, conclusion: &str) -> String {
    format!("{} ({})", code(name), prose_capped(conclusion, NAME_CHARS))
}

/// Who requested a deployment, as [`login`] says it; Gangway's own requests (an automatic
/// rollback, the train) name "Gangway" and mention no one (a GitHub user may be called
/// `gangway`).
pub fn requester(s: &str) -> String {
    if s == crate::model::GANGWAY_REQUESTER {
        "Gangway".to_owned()
    } else {
        login(s)
    }
}

#[cfg(test)]
#[path = "text_tests.rs"]
mod tests;
