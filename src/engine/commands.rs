//! Maintainer commands in pull-request comments: the command table and the comment parser.
//!
//! Owns which commands exist, what each one means in one line, and how a comment body is read.
//! A command is a line of its own (`/stage`), outside code blocks, block quotes and HTML
//! comments, so quoting, documenting or hiding a command never runs it. What may follow the word
//! on its line is the command's [`Shape`] (`/promote staging --force`, `/hold staging outage`);
//! the arguments are checked here, their meaning (does the environment exist?) elsewhere. A
//! parse error's `Display` is the reply the maintainer reads. Pure: no I/O, no clock; who may run a command, and what
//! running it does, is decided elsewhere.

/// Declares the commands from one table, so that adding a command is one entry: the enum,
/// [`Command::ALL`], the words, the argument shapes and the summaries cannot drift apart.
macro_rules! commands {
    ($($(#[$doc:meta])* $variant:ident => $word:literal, $shape:expr, $summary:literal;)+) => {
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

            /// What may follow the word on its line.
            pub fn shape(self) -> Shape {
                match self { $(Command::$variant => $shape,)+ }
            }

            /// One line for `/help` and the sticky comment.
            pub fn summary(self) -> &'static str {
                match self { $(Command::$variant => $summary,)+ }
            }
        }
    };
}

commands! {
    /// Approve the commit that was the PR's head when the comment was written (or the one named,
    /// if it is the head) and deploy it now.
    Stage => "stage", Shape::Commit,
        "approve the head commit you reviewed (the head when you commented, or the one named) and deploy it now";
    /// Tear the PR's preview down now, and stage nothing automatically until the next `/stage`.
    Unstage => "unstage", Shape::None,
        "tear this pull request's preview down now and stop automatic staging until `/stage`";
    /// Pin the PR's preview: no idle teardown and no eviction for that long (`off` ends it).
    Keep => "keep", Shape::Text { what: "duration", usage: "[duration | off]" },
        "pin this pull request's preview: no idle teardown or eviction for that long (default and longest: the policy's `preview.max_keep`); `off` ends it";
    /// Deploy the PR's staged head commit to an environment.
    Promote => "promote", Shape::Environment { force: true },
        "deploy this pull request's staged head commit to an environment (default: production)";
    /// Stop every promotion into an environment, with an optional reason.
    Hold => "hold", Shape::Text { what: "reason", usage: "[environment] [reason…]" },
        "stop every promotion into an environment (default: production) until `/unhold`";
    /// Allow promotions into an environment again.
    Unhold => "unhold", Shape::Environment { force: false },
        "allow promotions into an environment again";
    /// Mark the commit an environment runs as bad and redeploy the last good one, or the earlier
    /// commit named.
    Rollback => "rollback", Shape::EnvironmentCommit,
        "mark the commit an environment runs as bad and redeploy the last good one (or the earlier commit named)";
    /// Withdraw this pull request's promotions still waiting in the queue.
    Cancel => "cancel", Shape::Environment { force: false },
        "withdraw this pull request's promotions still waiting in an environment's queue (default: every environment)";
    /// Sign off the commit that carries this pull request to production (its author only).
    Good => "good", Shape::None,
        "as this pull request's author, sign off the commit taking your change to production";
    /// Stop the commit that carries this pull request to production: marked bad, train stopped.
    Bad => "bad", Shape::Text { what: "reason", usage: "[reason…]" },
        "mark the commit taking this change to production bad and stop the train (this pull request's author may too)";
    /// List the commands and who may use them.
    Help => "help", Shape::None, "list the commands and who may use them";
}

/// What may follow a command's word on its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Nothing.
    None,
    /// At most one commit: 7 to 40 hexadecimal digits, a prefix of its sha.
    Commit,
    /// At most one environment name (see [`ENVIRONMENT_CHARS`]); with `force`, also the flag
    /// `--force`, anywhere among the words.
    Environment { force: bool },
    /// At most one environment name and at most one commit (7 to 40 hexadecimal digits), in
    /// that order; a lone word that looks like a commit is the commit.
    EnvironmentCommit,
    /// Free text, trimmed, at most [`TEXT_CHARS`] characters. The parser cannot know the
    /// repository's environments, so any structure in it (e.g. a leading environment name) is
    /// for the command to read. `what` names the text in errors, `usage` shows it in `/help`.
    Text {
        what: &'static str,
        usage: &'static str,
    },
}

impl Shape {
    /// The options (words starting with `-`) allowed.
    pub fn options(self) -> &'static [&'static str] {
        match self {
            Shape::Environment { force: true } => &[FORCE],
            _ => &[],
        }
    }

    /// The arguments as `/help` shows them, e.g. `[environment] [--force]`; empty for none.
    pub fn usage(self) -> &'static str {
        match self {
            Shape::None => "",
            Shape::Commit => "[commit]",
            Shape::Environment { force: false } => "[environment]",
            Shape::Environment { force: true } => "[environment] [--force]",
            Shape::EnvironmentCommit => "[environment] [commit]",
            Shape::Text { usage, .. } => usage,
        }
    }
}

impl Command {
    /// The command as `/help` shows it, e.g. `/promote [environment] [--force]`.
    pub fn usage(self) -> String {
        match self.shape().usage() {
            "" => format!("/{}", self.word()),
            args => format!("/{} {args}", self.word()),
        }
    }

    fn by_word(word: &str) -> Option<Command> {
        Command::ALL.iter().copied().find(|c| c.word() == word)
    }
}

/// A command with its arguments, as read from a comment (or from a stored job).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub command: Command,
    /// The environment named, for [`Shape::Environment`]; `None`: the command's default.
    pub environment: Option<String>,
    /// `--force` was given ([`Shape::Environment`] with `force` only).
    pub force: bool,
    /// The free text, trimmed and not empty, for [`Shape::Text`].
    pub text: Option<String>,
    /// The commit named, lower-case, for [`Shape::Commit`] and [`Shape::EnvironmentCommit`];
    /// `None`: the command's default.
    pub commit: Option<String>,
}

impl Invocation {
    /// The command alone, without arguments.
    pub fn bare(command: Command) -> Self {
        Self {
            command,
            environment: None,
            force: false,
            text: None,
            commit: None,
        }
    }

    /// The arguments written back as text, so that
    /// `invocation(inv.command.word(), &inv.args()) == Ok(inv)`; empty for none.
    pub fn args(&self) -> String {
        let mut words: Vec<&str> = Vec::new();
        // The environment first: `/rollback production 1a2b3c4`.
        if let Some(environment) = &self.environment {
            words.push(environment);
        }
        if let Some(commit) = &self.commit {
            words.push(commit);
        }
        if self.force {
            words.push(FORCE);
        }
        if let Some(text) = &self.text {
            words.push(text);
        }
        words.join(" ")
    }
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
        "{} takes at most one environment name{} (found {}); e.g. {}",
        quote_word(.command.word()),
        and_options(*.command),
        quote(.rest),
        example(*.command)
    )]
    TooManyArguments {
        command: Command,
        /// The arguments, trimmed.
        rest: String,
    },
    #[error(
        "unknown option {} for {}: {}",
        quote(.option),
        quote_word(.command.word()),
        option_hint(*.command, *.suggestion)
    )]
    UnknownOption {
        command: Command,
        option: String,
        /// The closest allowed option, when it is close enough to be a typo.
        suggestion: Option<&'static str>,
    },
    #[error(
        "{} takes an environment name of 1 to {ENVIRONMENT_CHARS} characters without control \
         characters (found {}); e.g. {}",
        quote_word(.command.word()),
        quote(.name),
        example(*.command)
    )]
    BadEnvironment { command: Command, name: String },
    #[error(
        "{} takes at most one commit, 7 to 40 hexadecimal digits of its sha (found {}); e.g. {}",
        quote_word(.command.word()),
        quote(.rest),
        example(*.command)
    )]
    BadCommit { command: Command, rest: String },
    #[error(
        "the {what} for {} is longer than {TEXT_CHARS} characters (found {chars}); shorten it",
        quote_word(.command.word())
    )]
    TextTooLong {
        command: Command,
        what: &'static str,
        chars: usize,
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
/// The longest environment name, in characters (GitHub's limit).
pub const ENVIRONMENT_CHARS: usize = 255;
/// The shortest commit prefix [`Shape::Commit`] takes (what GitHub shows, and short enough to
/// type; a prefix that is not the head's is refused, so a short one approves nothing wrong).
const MIN_COMMIT_CHARS: usize = 7;
/// The longest free text ([`Shape::Text`]), in characters.
pub const TEXT_CHARS: usize = 500;
/// The flag of [`Shape::Environment`] with `force`.
const FORCE: &str = "--force";
/// The environment the examples in replies name.
const EXAMPLE_ENVIRONMENT: &str = "production";

/// Reads the command in a comment body.
///
/// `Ok(None)`: the comment holds no command (the common case: most comments are conversation).
pub fn parse(body: &str) -> Result<Option<Invocation>, ParseError> {
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
        [(word, rest)] => invocation(word, rest).map(Some),
        several => Err(ParseError::SeveralCommands {
            found: several.iter().map(|(w, _)| (*w).to_owned()).collect(),
        }),
    }
}

/// Reads a command's word (without its `/`) and its arguments, as stored apart: the same rules
/// as [`parse`] applies to a command line, HTML comments aside (`args` has none left).
pub fn invocation(word: &str, args: &str) -> Result<Invocation, ParseError> {
    let Some(command) = Command::by_word(word) else {
        return Err(ParseError::Unknown {
            word: word.to_owned(),
            suggestion: closest(word),
        });
    };
    let args = args.trim();
    let mut inv = Invocation::bare(command);
    match command.shape() {
        Shape::None if args.is_empty() => {}
        Shape::None => {
            return Err(ParseError::UnexpectedArguments {
                command: command.word(),
                rest: args.to_owned(),
            });
        }
        Shape::Commit if args.is_empty() => {}
        Shape::Commit => {
            let sha = args.to_ascii_lowercase();
            if !(MIN_COMMIT_CHARS..=40).contains(&sha.len())
                || !sha.bytes().all(|b| b.is_ascii_hexdigit())
            {
                return Err(ParseError::BadCommit {
                    command,
                    rest: args.to_owned(),
                });
            }
            inv.commit = Some(sha);
        }
        Shape::Environment { .. } => {
            let (environment, force) = environment_args(command, args)?;
            inv.environment = environment;
            inv.force = force;
        }
        Shape::EnvironmentCommit => {
            let words: Vec<&str> = args.split_whitespace().collect();
            if let Some(option) = words.iter().find(|w| w.starts_with('-')) {
                return Err(ParseError::UnknownOption {
                    command,
                    option: (*option).to_owned(),
                    suggestion: None,
                });
            }
            let (environment, commit) = match words.as_slice() {
                [] => (None, None),
                [one] if is_commit(one) => (None, Some(*one)),
                [one] => (Some(*one), None),
                [env, commit] => (Some(*env), Some(*commit)),
                _ => {
                    return Err(ParseError::TooManyArguments {
                        command,
                        rest: args.to_owned(),
                    });
                }
            };
            if let Some(name) = environment
                && !is_environment_name(name)
            {
                return Err(ParseError::BadEnvironment {
                    command,
                    name: name.to_owned(),
                });
            }
            if let Some(sha) = commit
                && !is_commit(sha)
            {
                return Err(ParseError::BadCommit {
                    command,
                    rest: sha.to_owned(),
                });
            }
            inv.environment = environment.map(str::to_owned);
            inv.commit = commit.map(str::to_ascii_lowercase);
        }
        Shape::Text { what, .. } => {
            let chars = args.chars().count();
            if chars > TEXT_CHARS {
                return Err(ParseError::TextTooLong {
                    command,
                    what,
                    chars,
                });
            }
            inv.text = (!args.is_empty()).then(|| args.to_owned());
        }
    }
    Ok(inv)
}

/// The environment and `--force` of a [`Shape::Environment`] command's trimmed arguments.
fn environment_args(command: Command, args: &str) -> Result<(Option<String>, bool), ParseError> {
    let options = command.shape().options();
    let mut force = false;
    let mut names = Vec::new();
    for word in args.split_whitespace() {
        if !word.starts_with('-') {
            names.push(word);
        } else if options.contains(&word) {
            force = true;
        } else {
            return Err(ParseError::UnknownOption {
                command,
                option: word.to_owned(),
                suggestion: closest_in(word, options.iter().copied()),
            });
        }
    }
    match names.as_slice() {
        [] => Ok((None, force)),
        [name] if is_environment_name(name) => Ok((Some((*name).to_owned()), force)),
        [name] => Err(ParseError::BadEnvironment {
            command,
            name: (*name).to_owned(),
        }),
        _ => Err(ParseError::TooManyArguments {
            command,
            rest: args.to_owned(),
        }),
    }
}

/// 7 to 40 hexadecimal digits: a commit's sha or a prefix of it.
fn is_commit(word: &str) -> bool {
    (MIN_COMMIT_CHARS..=40).contains(&word.len()) && word.bytes().all(|b| b.is_ascii_hexdigit())
}

/// 1 to [`ENVIRONMENT_CHARS`] characters, no control characters, not starting with `-` (an
/// option). Whether the repository has it is for the command to find out.
fn is_environment_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && name.chars().count() <= ENVIRONMENT_CHARS
        && !name.chars().any(char::is_control)
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
    closest_in(word, Command::ALL.iter().map(|c| c.word()))
}

/// The candidate closest to `word`, ignoring case, if close enough to be a typo.
fn closest_in(word: &str, candidates: impl Iterator<Item = &'static str>) -> Option<&'static str> {
    let word = word.to_ascii_lowercase();
    candidates
        .map(|c| (distance(&word, c), c))
        .filter(|(d, _)| *d <= MAX_SUGGESTION_DISTANCE)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
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

/// User text as a code span ([`super::text::code_capped`]: it cannot break out of the span,
/// so it cannot mention or format anything), [`QUOTE_CHARS`] of it and `…` if there was more.
fn quote(text: &str) -> String {
    super::text::code_capped(text, QUOTE_CHARS + 1)
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

/// ` and `--force`` for a command with options; nothing otherwise.
fn and_options(command: Command) -> String {
    let options: Vec<String> = command.shape().options().iter().map(|o| quote(o)).collect();
    if options.is_empty() {
        String::new()
    } else {
        format!(" and {}", join(&options, "and"))
    }
}

/// A valid use of the command, for a reply: `` `/promote production` ``.
fn example(command: Command) -> String {
    match command.shape() {
        Shape::None => quote_word(command.word()),
        Shape::Commit => quote(&format!("/{} 1a2b3c4", command.word())),
        Shape::Environment { .. } | Shape::EnvironmentCommit | Shape::Text { .. } => {
            quote(&format!("/{} {EXAMPLE_ENVIRONMENT}", command.word()))
        }
    }
}

fn option_hint(command: Command, suggestion: Option<&str>) -> String {
    match suggestion {
        Some(option) => format!("did you mean {}?", quote(option)),
        None => format!("write {}", quote(&command.usage())),
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
