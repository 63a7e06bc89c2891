//! How GitHub shows a comment body, as far as tests need to know: the text a reader sees (HTML
//! comments hidden), who is `@mentioned` (and so notified), and which masked links there are.
//!
//! A model, not a renderer. It knows CommonMark's fenced code blocks, block quotes (their `>`
//! markers), HTML comments (inline, closed by `-->` in the same paragraph; or a block, a line
//! that starts with `<!--`, which hides everything up to its `-->` or to the end of the body),
//! code spans, backslash escapes, entity references (`&#64;` is an `@`), `[text](url)` links,
//! and GitHub's mention rule: `@login` or `@org/team` after a character that is not a letter,
//! digit or `_`, outside code, links and comments.

/// What a reader sees of a comment body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shown {
    /// The visible text (code spans as their content, escapes and entities resolved, HTML
    /// comments removed).
    pub text: String,
    /// Who GitHub notifies: each `login` or `org/team` mentioned, in order.
    pub mentions: Vec<String>,
    /// Masked links, `(text, destination)`.
    pub links: Vec<(String, String)>,
    /// What HTML comments hide, each comment's content.
    pub hidden: Vec<String>,
}

/// Stands between pieces the mention rule must not join (code, links, comments).
const BREAK: char = '\u{1}';

/// How GitHub shows `body`.
pub fn shown(body: &str) -> Shown {
    let mut out = Shown::default();
    let mut plain = String::new();
    let mut paragraph: Vec<String> = Vec::new();
    let mut fence: Option<(char, usize)> = None;
    let mut html: Option<String> = None;
    for raw in body.split('\n') {
        if let Some((c, n)) = fence {
            out.text.push_str(raw);
            out.text.push('\n');
            plain.push(BREAK);
            let t = raw.trim_start();
            if t.chars().take_while(|x| *x == c).count() >= n
                && t.trim_start_matches(c).trim().is_empty()
            {
                fence = None;
            }
            continue;
        }
        if let Some(mut hidden) = html.take() {
            match raw.find("-->") {
                Some(end) => {
                    hidden.push_str(&raw[..end]);
                    out.hidden.push(hidden);
                    plain.push(BREAK);
                    out.text.push_str(&raw[end + 3..]);
                    out.text.push('\n');
                }
                None => {
                    hidden.push_str(raw);
                    hidden.push('\n');
                    html = Some(hidden);
                }
            }
            continue;
        }
        let line = unquoted(raw);
        let unindented = line.trim_start_matches(' ');
        if line.trim().is_empty() {
            inline(&paragraph.join("\n"), &mut out, &mut plain);
            paragraph.clear();
            continue;
        }
        let run = |c: char| unindented.chars().take_while(|x| *x == c).count();
        if line.len() - unindented.len() < 4 {
            if let Some(c) = ['`', '~'].into_iter().find(|c| run(*c) >= 3) {
                inline(&paragraph.join("\n"), &mut out, &mut plain);
                paragraph.clear();
                fence = Some((c, run(c)));
                continue;
            }
            if let Some(rest) = unindented.strip_prefix("<!--") {
                inline(&paragraph.join("\n"), &mut out, &mut plain);
                paragraph.clear();
                match rest.find("-->") {
                    Some(end) => {
                        out.hidden.push(rest[..end].to_string());
                        plain.push(BREAK);
                        out.text.push_str(&rest[end + 3..]);
                        out.text.push('\n');
                    }
                    None => html = Some(format!("{rest}\n")),
                }
                continue;
            }
        }
        paragraph.push(line.to_string());
    }
    inline(&paragraph.join("\n"), &mut out, &mut plain);
    if let Some(hidden) = html {
        // Never closed: the comment hides the rest of the body.
        out.hidden.push(hidden);
    }
    out.mentions = mentions(&plain);
    out
}

/// The line without its block-quote markers.
fn unquoted(line: &str) -> &str {
    let mut rest = line;
    loop {
        let t = rest.trim_start_matches(' ');
        match t.strip_prefix('>') {
            Some(after) if rest.len() - t.len() < 4 => {
                rest = after.strip_prefix(' ').unwrap_or(after);
            }
            _ => return rest,
        }
    }
}

/// One paragraph's inline content.
fn inline(text: &str, out: &mut Shown, plain: &mut String) {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let starts = |i: usize, s: &str| {
        s.chars()
            .enumerate()
            .all(|(k, c)| chars.get(i + k) == Some(&c))
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && chars.get(i + 1).is_some_and(char::is_ascii_punctuation) {
            out.text.push(chars[i + 1]);
            plain.push(chars[i + 1]);
            i += 2;
        } else if c == '`' {
            let n = chars[i..].iter().take_while(|x| **x == '`').count();
            match closing_run(&chars, i + n, n) {
                Some(end) => {
                    let content: String = chars[i + n..end]
                        .iter()
                        .map(|c| if *c == '\n' { ' ' } else { *c })
                        .collect();
                    let stripped = match content.strip_prefix(' ').and_then(|c| c.strip_suffix(' '))
                    {
                        Some(inner) if !content.trim().is_empty() => inner.to_string(),
                        _ => content,
                    };
                    out.text.push_str(&stripped);
                    plain.push(BREAK);
                    i = end + n;
                }
                None => {
                    for _ in 0..n {
                        out.text.push('`');
                        plain.push('`');
                    }
                    i += n;
                }
            }
        } else if starts(i, "<!--") {
            let rest: String = chars[i + 4..].iter().collect();
            match rest.find("-->") {
                Some(end) => {
                    out.hidden.push(rest[..end].to_string());
                    plain.push(BREAK);
                    i += 4 + rest[..end].chars().count() + 3;
                }
                None => {
                    out.text.push('<');
                    plain.push('<');
                    i += 1;
                }
            }
        } else if c == '&' {
            match entity(&chars[i..]) {
                Some((decoded, len)) => {
                    out.text.push(decoded);
                    plain.push(decoded);
                    i += len;
                }
                None => {
                    out.text.push('&');
                    plain.push('&');
                    i += 1;
                }
            }
        } else if c == '[' {
            match link(&chars[i..]) {
                Some((label, dest, len)) => {
                    out.text.push_str(&label);
                    plain.push(BREAK);
                    out.links.push((label, dest));
                    i += len;
                }
                None => {
                    out.text.push('[');
                    plain.push('[');
                    i += 1;
                }
            }
        } else {
            out.text.push(c);
            plain.push(c);
            i += 1;
        }
    }
    if !text.is_empty() {
        out.text.push('\n');
        plain.push('\n');
    }
}

/// Where a run of exactly `n` backticks starts at or after `from`.
fn closing_run(chars: &[char], from: usize, n: usize) -> Option<usize> {
    let mut j = from;
    while j < chars.len() {
        if chars[j] == '`' {
            let run = chars[j..].iter().take_while(|x| **x == '`').count();
            if run == n {
                return Some(j);
            }
            j += run;
        } else {
            j += 1;
        }
    }
    None
}

/// `&#64;`, `&#x40;`, `&amp;`, … at the start: the character and the reference's length.
fn entity(chars: &[char]) -> Option<(char, usize)> {
    let end = chars.iter().take(33).position(|c| *c == ';')?;
    let name: String = chars[1..end].iter().collect();
    let decoded = if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
        char::from_u32(u32::from_str_radix(hex, 16).ok()?)?
    } else if let Some(dec) = name.strip_prefix('#') {
        char::from_u32(dec.parse().ok()?)?
    } else {
        match name.as_str() {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            "commat" => '@',
            "num" => '#',
            "grave" => '`',
            _ => return None,
        }
    };
    Some((decoded, end + 1))
}

/// `[label](destination)` at the start: label, destination and length.
fn link(chars: &[char]) -> Option<(String, String, usize)> {
    let mut j = 1;
    while j < chars.len() && chars[j] != ']' {
        if chars[j] == '\\' {
            j += 1;
        }
        j += 1;
    }
    if chars.get(j + 1) != Some(&'(') {
        return None;
    }
    let close = chars[j + 2..].iter().position(|c| *c == ')')? + j + 2;
    let label: String = chars[1..j].iter().collect();
    let dest: String = chars[j + 2..close].iter().collect();
    Some((label, dest, close + 1))
}

/// GitHub's mentions in text outside code, links and comments.
fn mentions(plain: &str) -> Vec<String> {
    let chars: Vec<char> = plain.chars().collect();
    let word = |c: char| c.is_ascii_alphanumeric() || c == '-';
    let mut found = Vec::new();
    for (i, c) in chars.iter().enumerate() {
        if *c != '@' {
            continue;
        }
        if i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_' || chars[i - 1] == '`') {
            continue;
        }
        let login: String = chars[i + 1..].iter().take_while(|c| word(**c)).collect();
        if !login.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            continue;
        }
        let after = i + 1 + login.chars().count();
        let team: String = if chars.get(after) == Some(&'/') {
            chars[after + 1..]
                .iter()
                .take_while(|c| word(**c) || **c == '_')
                .collect()
        } else {
            String::new()
        };
        if team.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            found.push(format!("{login}/{team}"));
        } else {
            found.push(login);
        }
    }
    found
}
