//! Redaction of the secrets Gangway knows from the driver's output before it is stored for the
//! public log page.
//!
//! Owns: which forms of a secret are looked for — the value itself; for a multi-line value, the
//! whole, its lines (of [`MIN_LINE`] bytes or more, trimmed) and its lines joined; each of
//! those escaped as a JSON string (`\n`, `\"`), percent-encoded (every non-alphanumeric byte, and as a URI component), in base64
//! (standard and URL-safe alphabets, padded or not) and as the characters of a longer base64
//! stream that the value alone decides, at each of the three byte alignments — and matching them
//! across the lines of a stream, so a value cut by line breaks (a multi-line secret, base64
//! wrapped at 76 columns, an over-long line split) is still found.
//!
//! How: a form no longer than [`WINDOW`] bytes is matched exactly; a longer one is cut into
//! every run of [`WINDOW`] consecutive bytes, and any such run in the output is redacted, so a
//! fragment of a secret (a `cut`, a `head -c`, a wrapped line) goes too. Encoded forms shorter
//! than [`MIN_ENCODED`] bytes are not looked for (a few base64 characters match ordinary words);
//! the value itself always is, however short (`check-config` warns about short secrets).
//!
//! Must never: hold an unbounded amount of output (a stream keeps back at most [`WINDOW`] lines
//! and the bytes a match could still need), or panic on any output.

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What replaces a secret.
pub const REDACTED: &str = "[REDACTED]";
/// Forms longer than this are matched by every run of this many bytes.
pub const WINDOW: usize = 16;
/// Lines of a multi-line secret at least this long (trimmed) are secrets of their own.
pub const MIN_LINE: usize = 8;
/// Encoded forms shorter than this are not looked for.
pub const MIN_ENCODED: usize = 8;

/// Percent-encoding as a URI component: everything but `A-Z a-z 0-9 - _ . ~`.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A fast hash of a 16-byte window: the keys are fixed secrets, only lookups are the output's.
#[derive(Default)]
struct WindowHasher(u64);

impl Hasher for WindowHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u128(&mut self, v: u128) {
        // Truncations intended: the two halves of the window are folded into one word.
        let h =
            ((v as u64) ^ ((v >> 64) as u64).rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = h ^ (h >> 29);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type Windows = HashSet<u128, BuildHasherDefault<WindowHasher>>;

fn window_at(text: &[u8], at: usize) -> Option<u128> {
    let bytes: [u8; WINDOW] = text.get(at..at + WINDOW)?.try_into().ok()?;
    Some(u128::from_le_bytes(bytes))
}

/// Every secret Gangway knows, in every form it looks for.
#[derive(Default)]
pub struct Redactor {
    windows: Windows,
    /// Forms of at most [`WINDOW`] bytes, matched whole.
    short: Vec<Vec<u8>>,
    /// For each byte, the indices in `short` of the forms starting with it.
    short_by_first: Vec<Vec<usize>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("windows", &self.windows.len())
            .field("short", &self.short.len())
            .finish()
    }
}

impl Redactor {
    /// From the secrets' values (empty ones are ignored).
    pub fn new(secrets: &[String]) -> Self {
        let mut redactor = Redactor::default();
        let mut short: HashSet<Vec<u8>> = HashSet::new();
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
            for form in forms(secret) {
                if form.len() <= WINDOW {
                    short.insert(form);
                } else {
                    redactor
                        .windows
                        .extend((0..=form.len() - WINDOW).filter_map(|at| window_at(&form, at)));
                }
            }
        }
        redactor.short = short.into_iter().collect();
        redactor.short_by_first = vec![Vec::new(); 256];
        for (i, form) in redactor.short.iter().enumerate() {
            if let Some(&first) = form.first() {
                redactor.short_by_first[usize::from(first)].push(i);
            }
        }
        redactor
    }

    /// Whether there is nothing to redact.
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty() && self.short.is_empty()
    }

    /// `text` with every secret in it replaced (for one piece of text on its own: the command
    /// line, a summary, Gangway's own messages).
    pub fn apply(&self, text: &str) -> String {
        let mut cover = Vec::new();
        self.cover(text.as_bytes(), &mut cover);
        replace(text, &mut cover)
    }

    /// The stream redactor for one output stream of a run.
    pub fn stream(&self) -> Stream<'_> {
        Stream {
            redactor: self,
            held: VecDeque::new(),
        }
    }

    /// Appends the byte ranges of `text` that hold a secret (possibly overlapping).
    fn cover(&self, text: &[u8], out: &mut Vec<Range<usize>>) {
        if !self.windows.is_empty() && text.len() >= WINDOW {
            for at in 0..=text.len() - WINDOW {
                if window_at(text, at).is_some_and(|w| self.windows.contains(&w)) {
                    out.push(at..at + WINDOW);
                }
            }
        }
        if self.short.is_empty() {
            return;
        }
        for (at, &byte) in text.iter().enumerate() {
            for &i in &self.short_by_first[usize::from(byte)] {
                let form = &self.short[i];
                if text[at..].starts_with(form) {
                    out.push(at..at + form.len());
                }
            }
        }
    }
}

/// Every form of `secret` looked for (see the module's documentation).
fn forms(secret: &str) -> Vec<Vec<u8>> {
    let mut bases: Vec<String> = vec![secret.to_owned()];
    if secret.contains('\n') {
        let lines: Vec<&str> = secret.lines().map(str::trim).collect();
        bases.push(lines.concat());
        bases.extend(
            lines
                .iter()
                .filter(|l| l.len() >= MIN_LINE)
                .map(|l| (*l).to_owned()),
        );
    }
    let mut out: Vec<Vec<u8>> = Vec::new();
    for base in &bases {
        let bytes = base.as_bytes();
        out.push(bytes.to_vec());
        // As a JSON (or Rust, or shell `%q`-like) string: quotes, backslashes, newlines escaped.
        if let Ok(quoted) = serde_json::to_string(base) {
            let inner = &quoted[1..quoted.len() - 1];
            if inner != base {
                out.push(inner.as_bytes().to_vec());
            }
        }
        for set in [NON_ALPHANUMERIC, COMPONENT] {
            out.push(utf8_percent_encode(base, set).to_string().into_bytes());
        }
        let mut encoded: Vec<String> = [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD]
            .iter()
            .map(|engine| engine.encode(bytes))
            .collect();
        for offset in 0..3 {
            let core = base64_core(bytes, offset);
            encoded.push(core.replace('+', "-").replace('/', "_"));
            encoded.push(core);
        }
        out.extend(
            encoded
                .into_iter()
                .filter(|e| e.len() >= MIN_ENCODED)
                .map(String::into_bytes),
        );
    }
    out.sort();
    out.dedup();
    out
}

/// The base64 characters that `bytes` alone decides when they start `offset` bytes (0, 1 or 2)
/// into a group of three of a longer stream: characters that also carry bits of what comes
/// before or after are left out.
fn base64_core(bytes: &[u8], offset: usize) -> String {
    let mut padded = vec![0u8; offset];
    padded.extend_from_slice(bytes);
    let encoded = STANDARD_NO_PAD.encode(&padded);
    let first = (8 * offset).div_ceil(6);
    let end = (8 * (offset + bytes.len())) / 6;
    encoded.get(first..end).unwrap_or("").to_owned()
}

/// One output stream's lines on their way to the log: a line is given out once no match that
/// could still include it can appear, with every secret in it replaced.
pub struct Stream<'a> {
    redactor: &'a Redactor,
    /// Lines not given out yet, with the ranges found to hold a secret so far.
    held: VecDeque<(String, Vec<Range<usize>>)>,
}

impl Stream<'_> {
    /// Takes the next line (without its newline); returns the lines now final, redacted.
    pub fn push(&mut self, line: String) -> Vec<String> {
        if self.redactor.is_empty() {
            return vec![line];
        }
        self.held.push_back((line, Vec::new()));
        self.scan();
        let mut out = Vec::new();
        // A future match ends in a future line and is at most WINDOW bytes long (or a
        // short form), so it cannot reach a line followed by WINDOW - 1 held bytes.
        loop {
            let after: usize = self.held.iter().skip(1).map(|(l, _)| l.len()).sum();
            if self.held.len() > 1 && (after >= WINDOW - 1 || self.held.len() > WINDOW) {
                if let Some((line, mut cover)) = self.held.pop_front() {
                    out.push(replace(&line, &mut cover));
                }
            } else {
                return out;
            }
        }
    }

    /// The end of the stream: whatever is held, redacted.
    pub fn finish(mut self) -> Vec<String> {
        self.held
            .drain(..)
            .map(|(line, mut cover)| replace(&line, &mut cover))
            .collect()
    }

    /// Matches the held lines joined by newlines (a multi-line secret) and joined by nothing
    /// (a value wrapped or split across lines), and records what each line holds. Only matches
    /// that reach the newest line are new: the text before it was scanned when it came.
    fn scan(&mut self) {
        let newest = self.held.len() - 1;
        for separator in ["\n", ""] {
            let mut starts = Vec::with_capacity(self.held.len());
            let mut at = 0;
            for (i, (line, _)) in self.held.iter().enumerate() {
                if i > 0 {
                    at += separator.len();
                }
                starts.push(at);
                at += line.len();
            }
            // A match reaching the newest line starts at most WINDOW - 1 bytes before it.
            let from = starts[newest].saturating_sub(WINDOW - 1);
            let mut text = Vec::with_capacity(at - from);
            for (i, (line, _)) in self.held.iter().enumerate() {
                let (start, end) = (starts[i], starts[i] + line.len());
                if i > 0 && start > from {
                    let sep_start = start - separator.len();
                    let skip = from.saturating_sub(sep_start).min(separator.len());
                    text.extend_from_slice(&separator.as_bytes()[skip..]);
                }
                if end > from {
                    text.extend_from_slice(&line.as_bytes()[from.saturating_sub(start)..]);
                }
            }
            let mut found = Vec::new();
            self.redactor.cover(&text, &mut found);
            for range in found {
                let range = range.start + from..range.end + from;
                // Wholly before the newest line and its separator: found when it was scanned.
                if range.end + separator.len() <= starts[newest] {
                    continue;
                }
                for ((line, cover), &start) in self.held.iter_mut().zip(&starts) {
                    let lo = range.start.max(start);
                    let hi = range.end.min(start + line.len());
                    if lo < hi {
                        cover.push(lo - start..hi - start);
                    }
                }
            }
        }
    }
}

/// `text` with the (possibly overlapping) ranges in `cover` replaced by one marker per run,
/// widened to whole characters.
fn replace(text: &str, cover: &mut [Range<usize>]) -> String {
    if cover.is_empty() {
        return text.to_owned();
    }
    cover.sort_by_key(|r| r.start);
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    let mut i = 0;
    while i < cover.len() {
        let mut start = cover[i].start.min(text.len());
        let mut end = cover[i].end.min(text.len());
        i += 1;
        // Overlapping matches are one run; adjacent ones (a secret printed twice) stay two.
        while i < cover.len() && cover[i].start < end {
            end = end.max(cover[i].end.min(text.len()));
            i += 1;
        }
        start = start.max(done);
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        while !text.is_char_boundary(end) {
            end += 1;
        }
        if start < done {
            start = done;
        }
        out.push_str(&text[done..start]);
        out.push_str(REDACTED);
        done = end.max(done);
    }
    out.push_str(&text[done..]);
    out
}

#[cfg(test)]
#[path = "redact_tests.rs"]
mod tests;
