//! Maintainer commands in pull-request comments: the command table and the comment parser.
//!
//! Owns which commands exist, what each one means in one line, and how a comment body is read.
//! A command is a line of its own (`/stage`), outside code blocks, block quotes and HTML
//! comments, so quoting, documenting or hiding a command never runs it. A parse error's `Display`
//! is the reply the maintainer reads. Pure: no I/O, no clock; who may run a command, and what
//! running it does, is decided elsewhere.

/// Declares the commands from one table, so that adding a command is one entry: the enum,
/// [`Command::ALL`], the words and the summaries cannot drift apart.
macro_rules! commands {
    ($($(#[$doc:meta])* $variant:ident => $word:literal, $summary:literal;)+) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Command {
            $($(#[$doc])* $variant,)+
        }

        impl Command {
            /// Every command, in the order `/help` lists them.
            pub const ALL: &'static [Command] = &[$(Command::$variant),+];

            /// The word after the `/`, e.g. `"stage"`.
            pub fn word(self) -> &'static str {
                match self { $(Command::$variant => $word,)+ }
            }

            /// One line for `/help` and the sticky comment.
            pub fn summary(self) -> &'static str {
                match self { $(Command::$variant => $summary,)+ }
            }
        }
    };
}

commands! {
    /// Approve the PR's current head commit and deploy it now.
    Stage => "stage", "approve this pull request's current head commit and deploy it now";
    /// Tear the PR's preview down now, and stage nothing automatically until the next `/stage`.
    Unstage => "unstage",
        "tear this pull request's preview down now and stop automatic staging until `/stage`";
    /// List the commands and who may use them.
    Help => "help", "list the commands and who may use them";
}

/// Why a comment's command cannot be run. Words are stored without their `/`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("unknown command {}: {}", quote_word(.word), unknown_hint(*.suggestion))]
    Unknown {
        word: String,
        /// The closest known word, when it is close enough to be a typo.
        suggestion: Option<&'static str>,
    },
    #[error(
        "{cmd} takes no arguments (found {args}); write {cmd} alone on its line",
        cmd = quote_word(.command),
        args = quote(.rest)
    )]
    UnexpectedArguments {
        command: &'static str,
        /// The rest of the line, trimmed, HTML comments removed.
        rest: String,
    },
    #[error(
        "one command per comment: found {}; post each command in a comment of its own",
        list_found(.found)
    )]
    SeveralCommands {
        /// Every command-like line's word (known or not), in order.
        found: Vec<String>,
    },
}

/// A typo this far from a known word gets a "did you mean"; further off, the list of commands.
const MAX_SUGGESTION_DISTANCE: usize = 2;
/// How much of the user's text a reply quotes: enough to recognise it, too little to abuse.
const QUOTE_CHARS: usize = 40;
/// How many of several commands a reply names before "and N more".
const LISTED_FOUND: usize = 5;

/// Reads the command in a comment body.
///
/// `Ok(None)`: the comment holds no command (the common case: most comments are conversation).
pub fn parse(body: &str) -> Result<Option<Command>, ParseError> {
    let body = body.strip_prefix('\u{FEFF}').unwrap_or(body);
    let mut state = State::default();
    // (word, arguments) of every command-like line.
    let mut found: Vec<(&str, String)> = Vec::new();
    // Split on `\n` only: a lone `\r` is not a line break worth trusting a command to.
    for line in body.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(command_line) = state.line(line) {
            found.push(command_line);
        }
    }
    match found.as_slice() {
        [] => Ok(None),
        [(word, rest)] => match Command::ALL.iter().find(|c| c.word() == *word) {
            None => Err(ParseError::Unknown {
                word: (*word).to_owned(),
                suggestion: closest(word),
            }),
            Some(&command) if rest.is_empty() => Ok(Some(command)),
            Some(command) => Err(ParseError::UnexpectedArguments {
                command: command.word(),
                rest: rest.clone(),
            }),
        },
        several => Err(ParseError::SeveralCommands {
            found: several.iter().map(|(w, _)| (*w).to_owned()).collect(),
        }),
    }
}

/// Where the previous lines left us in the Markdown block structure. Reading a body line by
/// line is linear in its length, and never slices off a char boundary: every index is just past
/// an ASCII byte that was matched.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    #[default]
    Text,
    /// Inside a fenced code block opened by `len` (≥ 3) of `fence`.
    Fence { fence: u8, len: usize },
    /// Inside an HTML comment (`<!--` seen, `-->` not yet).
    Comment,
}

impl State {
    /// The command-like line's word and its arguments (trimmed, HTML comments removed), if the
    /// line is one. Blocks that hide text from the reader hide it from the parser too.
    fn line<'a>(&mut self, line: &'a str) -> Option<(&'a str, String)> {
        match *self {
            State::Fence { fence, len } => {
                if closes_fence(line, fence, len) {
                    *self = State::Text;
                }
                return None;
            }
            State::Comment => {
                // A line that ends a comment does not start with a command.
                self.hide_comments(line);
                return None;
            }
            State::Text => {}
        }
        let text = unindented(line)?;
        if text.starts_with('>') {
            // Block quote: quoting someone's `/stage` does not run it. Quote lines open nothing
            // at our level either (a fence in a quote closes with the quote).
            return None;
        }
        if let Some((fence, len)) = opens_fence(text) {
            *self = State::Fence { fence, len };
            return None;
        }
        if let Some((word, rest)) = command_word(text) {
            let rest = self.hide_comments(rest);
            return Some((word, rest.trim().to_owned()));
        }
        self.hide_comments(text);
        None
    }

    /// `text` without its HTML comments; a comment left open hides the following lines. A
    /// `<!--` in inline code opens one too: rare, and it can only hide a command, never run one.
    fn hide_comments(&mut self, mut text: &str) -> String {
        let mut visible = String::new();
        loop {
            if *self == State::Comment {
                let Some(end) = text.find("-->") else {
                    return visible;
                };
                text = &text[end + 3..];
                *self = State::Text;
            }
            let Some(start) = text.find("<!--") else {
                visible.push_str(text);
                return visible;
            };
            visible.push_str(&text[..start]);
            text = &text[start + 4..];
            *self = State::Comment;
        }
    }
}

/// The line after its indentation, or `None` for an indented code block (4+ spaces, or a tab,
/// which reaches column 4 from anywhere in the first three).
fn unindented(line: &str) -> Option<&str> {
    let text = line.trim_start_matches(' ');
    let spaces = line.len() - text.len();
    (spaces < 4 && !text.starts_with('\t')).then_some(text)
}

fn run_of(text: &str, c: u8) -> usize {
    text.bytes().take_while(|b| *b == c).count()
}

/// An opening code fence: 3+ backticks or tildes; a backtick fence's info string holds no
/// backtick (```` ```x``` ```` is inline code, not a fence).
fn opens_fence(text: &str) -> Option<(u8, usize)> {
    let fence = *text
        .as_bytes()
        .first()
        .filter(|b| matches!(b, b'`' | b'~'))?;
    let len = run_of(text, fence);
    let opens = len >= 3 && !(fence == b'`' && text[len..].contains('`'));
    opens.then_some((fence, len))
}

/// A closing fence: the same character, at least as many, nothing but spaces after.
fn closes_fence(line: &str, fence: u8, len: usize) -> bool {
    unindented(line).is_some_and(|text| {
        let run = run_of(text, fence);
        run >= len && text[run..].trim_matches([' ', '\t']).is_empty()
    })
}

/// `/word` at the start of `text`, followed by the end or whitespace: the word and the rest.
/// A word is ASCII letters and `-`, starting with a letter, so paths (`/usr/bin`) and
/// punctuation (`//`, `/ stage`) are not commands, not even unknown ones.
fn command_word(text: &str) -> Option<(&str, &str)> {
    let after = text.strip_prefix('/')?;
    let end = after
        .find(|c: char| !(c.is_ascii_alphabetic() || c == '-'))
        .unwrap_or(after.len());
    let (word, rest) = after.split_at(end);
    let is_word = word.starts_with(|c: char| c.is_ascii_alphabetic());
    (is_word && (rest.is_empty() || rest.starts_with(char::is_whitespace))).then_some((word, rest))
}

/// The known word closest to `word` (ignoring case: `/STAGE` means `/stage`), if close.
fn closest(word: &str) -> Option<&'static str> {
    let word = word.to_ascii_lowercase();
    Command::ALL
        .iter()
        .map(|c| (distance(&word, c.word()), c.word()))
        .filter(|(d, _)| *d <= MAX_SUGGESTION_DISTANCE)
        .min_by_key(|(d, _)| *d)
        .map(|(_, w)| w)
}

/// Edit distance where swapping two adjacent letters is one edit (optimal string alignment), so
/// `/stgae` is one typo from `/stage`. Only small distances matter, so far longer or shorter
/// words stop early, which keeps a huge word cheap.
fn distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let gap = a.len().abs_diff(b.len());
    if gap > MAX_SUGGESTION_DISTANCE {
        return gap;
    }
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let substitute = prev[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            cur[j] = substitute.min(prev[j] + 1).min(cur[j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(before[j - 2] + 1);
            }
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// User text in backticks: without backticks (it cannot break out of the code span, so it
/// cannot mention or format anything) or control characters, cut to [`QUOTE_CHARS`].
fn quote(text: &str) -> String {
    let mut chars = text.chars().filter(|c| *c != '`' && !c.is_control());
    let mut shown: String = chars.by_ref().take(QUOTE_CHARS).collect();
    if chars.next().is_some() {
        shown.push('…');
    }
    format!("`{shown}`")
}

fn quote_word(word: &str) -> String {
    quote(&format!("/{word}"))
}

/// `a`, `a and b`, `a, b and c` (with `or` for a choice).
fn join(items: &[String], last: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., tail] => format!("{} {last} {tail}", init.join(", ")),
    }
}

fn unknown_hint(suggestion: Option<&str>) -> String {
    match suggestion {
        Some(word) => format!("did you mean {}?", quote_word(word)),
        None => {
            let all: Vec<String> = Command::ALL.iter().map(|c| quote_word(c.word())).collect();
            format!("write one of {}", join(&all, "or"))
        }
    }
}

fn list_found(found: &[String]) -> String {
    let mut shown: Vec<String> = found
        .iter()
        .take(LISTED_FOUND)
        .map(|w| quote_word(w))
        .collect();
    if found.len() > LISTED_FOUND {
        shown.push(format!("{} more", found.len() - LISTED_FOUND));
    }
    join(&shown, "and")
}

#[cfg(test)]
#[path = "commands_tests.rs"]
mod tests;
