//! The `preview:` keys for previews a team lives with: a fixed pool of slots
//! (`preview.slots`), the longest `/keep` (`preview.max_keep`) and the route map from changed
//! files to pages (`preview.routes`). Strict like the rest of the file; the decisions that
//! read them are the engine's (`engine::slots`, `engine::pinning`, `engine::links`).

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{PolicyError, invalid};

/// Most slots a repository may have.
pub const MAX_SLOTS: usize = 100;
/// Longest slot name (it becomes part of a host name).
pub const MAX_SLOT_NAME: usize = 20;
/// Most entries in `preview.routes`.
pub const MAX_ROUTES: usize = 50;
/// Longest `source` or `public` of a route, in characters.
pub const MAX_ROUTE_CHARS: usize = 500;
/// The compiled size a route's regex may take (the `regex` crate's limit), so a policy cannot
/// make Gangway build a huge automaton.
pub const ROUTE_REGEX_BYTES: usize = 64 * 1024;

/// One entry of `preview.routes`: a changed file whose whole path matches `source` (a regular
/// expression) is linked to the page `public` of the live preview (`$1`, `${name}`: the
/// captures), like GitLab's route maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub source: String,
    pub public: String,
}

impl Route {
    /// `source` anchored at both ends (the whole path must match), size-limited.
    pub fn compile(source: &str) -> Result<regex::Regex, regex::Error> {
        regex::RegexBuilder::new(&format!("^(?:{source})$"))
            .size_limit(ROUTE_REGEX_BYTES)
            .dfa_size_limit(ROUTE_REGEX_BYTES)
            .build()
    }
}

/// `preview.slots` as written: a count (`3`: slots `1`, `2`, `3`) or a list of names.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum RawSlots {
    Count(u32),
    Names(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRoute {
    source: String,
    public: String,
}

/// The slot names, in order; the error says which is wrong.
pub(super) fn validate_slots(raw: Spanned<RawSlots>) -> Result<Vec<String>, PolicyError> {
    let at = raw.referenced;
    let bad = |what: String| Err(invalid("preview.slots", Some(&at), &what));
    let names: Vec<String> = match raw.value {
        RawSlots::Count(n) if n == 0 || n as usize > MAX_SLOTS => {
            return bad(format!("must be 1 to {MAX_SLOTS} slots"));
        }
        RawSlots::Count(n) => (1..=n).map(|i| i.to_string()).collect(),
        RawSlots::Names(names) => names,
    };
    if names.is_empty() || names.len() > MAX_SLOTS {
        return bad(format!("list 1 to {MAX_SLOTS} slot names"));
    }
    for (i, name) in names.iter().enumerate() {
        let ok = !name.is_empty()
            && name.len() <= MAX_SLOT_NAME
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !name.starts_with('-')
            && !name.ends_with('-');
        if !ok {
            return bad(format!(
                "slot name at index {i} is not 1 to {MAX_SLOT_NAME} lower-case letters, digits \
                 or inner `-` (it becomes part of a host name)"
            ));
        }
        if names[..i].contains(name) {
            return bad(format!("slot name at index {i} is listed twice"));
        }
    }
    Ok(names)
}

/// The routes, each `source` compiled once here so that a bad one is the maintainer's error.
pub(super) fn validate_routes(raw: Spanned<Vec<RawRoute>>) -> Result<Vec<Route>, PolicyError> {
    let at = raw.referenced;
    if raw.value.len() > MAX_ROUTES {
        return Err(invalid(
            "preview.routes",
            Some(&at),
            &format!("too many routes; at most {MAX_ROUTES} are allowed"),
        ));
    }
    let mut out = Vec::with_capacity(raw.value.len());
    for (i, r) in raw.value.into_iter().enumerate() {
        let path = format!("preview.routes[{i}]");
        let problem = if r.source.chars().count() > MAX_ROUTE_CHARS
            || r.public.chars().count() > MAX_ROUTE_CHARS
        {
            Some(format!(
                "`source` and `public` are at most {MAX_ROUTE_CHARS} characters"
            ))
        } else if r.public.trim().is_empty() {
            Some("`public` is empty; write the page's path, e.g. \"docs/$1.html\"".to_owned())
        } else {
            Route::compile(&r.source)
                .err()
                .map(|e| format!("`source` is not a usable regular expression: {e}"))
        };
        if let Some(problem) = problem {
            let first = problem.lines().next().unwrap_or_default().to_owned();
            return Err(invalid(&path, Some(&at), &first));
        }
        out.push(Route {
            source: r.source,
            public: r.public,
        });
    }
    Ok(out)
}
