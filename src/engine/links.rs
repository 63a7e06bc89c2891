//! Links that last and links to what changed: a pull request's stable alias host
//! (`GANGWAY_ALIAS_HOST_TEMPLATE`), a slot's host (`GANGWAY_SLOT_HOST_TEMPLATE`), and the
//! direct links into a live preview for the files a pull request changed (`preview.routes`).
//!
//! Owns: which placeholders those two templates take and which they need ([`NameTemplate`]),
//! how they render (every rendering a valid DNS name), and how a changed file's path becomes a
//! page of the preview ([`route_links`]: the first route whose `source` matches the whole
//! path, its `public` template expanded with the captures, every character outside a plain
//! path percent-encoded; at most [`MAX_ROUTE_LINKS`]). Pure: no I/O.

use std::fmt::Write as _;

use super::hosts::{HostError, OWNER_LABEL, REPO_LABEL, dns_label, validate_dns_name};
use crate::policy::Route;

/// The most links to changed pages the sticky comment lists.
pub const MAX_ROUTE_LINKS: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Number,
    Repo,
    Owner,
    Slot,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Lit(String),
    Field(Field),
}

/// Which template: what it may hold and what it must.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateKind {
    /// A pull request's alias host: `{number}` required; `{repo}`, `{owner}` optional.
    Alias,
    /// A slot's host: `{slot}` and `{repo}` required; `{owner}` optional.
    Slot,
}

impl TemplateKind {
    fn allowed(self) -> &'static str {
        match self {
            TemplateKind::Alias => "{number}, {repo}, {owner}",
            TemplateKind::Slot => "{slot}, {repo}, {owner}",
        }
    }

    fn field(self, name: &str) -> Option<Field> {
        match (self, name) {
            (_, "repo") => Some(Field::Repo),
            (_, "owner") => Some(Field::Owner),
            (TemplateKind::Alias, "number") => Some(Field::Number),
            (TemplateKind::Slot, "slot") => Some(Field::Slot),
            _ => None,
        }
    }
}

/// The longest slot name `preview.slots` accepts (a DNS label's part).
pub const MAX_SLOT_CHARS: usize = 20;

/// A validated host template for an alias or a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameTemplate {
    kind: TemplateKind,
    source: String,
    pieces: Vec<Piece>,
}

impl NameTemplate {
    /// Reads `src`; the error says what is wrong (an unknown placeholder, a missing one, a
    /// rendering that is no DNS name).
    pub fn parse(kind: TemplateKind, src: &str) -> Result<NameTemplate, HostError> {
        let mut pieces = Vec::new();
        let mut rest = src;
        while !rest.is_empty() {
            match rest.find(['{', '}']) {
                None => {
                    pieces.push(Piece::Lit(rest.to_ascii_lowercase()));
                    rest = "";
                }
                Some(i) => {
                    if i > 0 {
                        pieces.push(Piece::Lit(rest[..i].to_ascii_lowercase()));
                    }
                    let close = rest[i..]
                        .find('}')
                        .filter(|_| rest[i..].starts_with('{'))
                        .ok_or_else(|| HostError::Unbalanced(src.to_owned()))?;
                    let name = &rest[i + 1..i + close];
                    let field = kind
                        .field(name)
                        .ok_or_else(|| HostError::UnknownPlaceholder {
                            name: name.to_owned(),
                            allowed: kind.allowed(),
                        })?;
                    pieces.push(Piece::Field(field));
                    rest = &rest[i + close + 1..];
                }
            }
        }
        let has = |f| pieces.contains(&Piece::Field(f));
        match kind {
            TemplateKind::Alias if !has(Field::Number) => {
                return Err(HostError::NotUnique {
                    missing: "{number}",
                    why: "each pull request gets its own alias",
                });
            }
            TemplateKind::Slot if !has(Field::Slot) => {
                return Err(HostError::NotUnique {
                    missing: "{slot}",
                    why: "each slot gets its own host",
                });
            }
            TemplateKind::Slot if !has(Field::Repo) => {
                return Err(HostError::NotUnique {
                    missing: "{repo}",
                    why: "two repositories' slots get different hosts",
                });
            }
            _ => {}
        }
        let t = NameTemplate {
            kind,
            source: src.to_owned(),
            pieces,
        };
        // The longest values: if these render, every rendering does.
        let longest = format!("{}/{}", "o".repeat(OWNER_LABEL), "r".repeat(REPO_LABEL));
        t.render_with(u64::from(u32::MAX), &"s".repeat(MAX_SLOT_CHARS), &longest)?;
        Ok(t)
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The alias host of pull request `number` of `full_name` (`owner/name`).
    pub fn alias(&self, number: u64, full_name: &str) -> Result<String, HostError> {
        self.render_with(number, "", full_name)
    }

    /// The host of `slot` in `full_name`.
    pub fn slot(&self, slot: &str, full_name: &str) -> Result<String, HostError> {
        self.render_with(0, slot, full_name)
    }

    fn render_with(&self, number: u64, slot: &str, full_name: &str) -> Result<String, HostError> {
        let (owner, name) = full_name.split_once('/').unwrap_or(("", full_name));
        let mut host = String::new();
        for p in &self.pieces {
            match p {
                Piece::Lit(s) => host.push_str(s),
                Piece::Field(Field::Number) => host.push_str(&number.to_string()),
                Piece::Field(Field::Repo) => host.push_str(&dns_label(name, REPO_LABEL)),
                Piece::Field(Field::Owner) => host.push_str(&dns_label(owner, OWNER_LABEL)),
                Piece::Field(Field::Slot) => host.push_str(&dns_label(slot, MAX_SLOT_CHARS)),
            }
        }
        validate_dns_name(&host)?;
        Ok(host)
    }

    /// Which template this is.
    pub fn kind(&self) -> TemplateKind {
        self.kind
    }
}

/// One link into the live preview: the changed file and the page's URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteLink {
    pub file: String,
    pub url: String,
}

/// The pages of the preview at `base` (`https://host`) for the files a PR changed, in the
/// order of `files`: for each file the first route whose `source` matches the whole path,
/// its `public` template expanded (`$1`, `${name}`), percent-encoded. At most
/// [`MAX_ROUTE_LINKS`], each page once. A route that does not compile (the policy validated
/// it, so never) is skipped.
pub fn route_links(routes: &[Route], files: &[String], base: &str) -> Vec<RouteLink> {
    let compiled: Vec<(regex::Regex, &str)> = routes
        .iter()
        .filter_map(|r| {
            Route::compile(&r.source)
                .ok()
                .map(|re| (re, r.public.as_str()))
        })
        .collect();
    let mut out: Vec<RouteLink> = Vec::new();
    for file in files {
        if out.len() >= MAX_ROUTE_LINKS {
            break;
        }
        let Some(page) = compiled.iter().find_map(|(re, public)| {
            let caps = re.captures(file)?;
            let mut page = String::new();
            caps.expand(public, &mut page);
            Some(page)
        }) else {
            continue;
        };
        let url = format!(
            "{}/{}",
            base.trim_end_matches('/'),
            encode_path(page.trim_start_matches('/'))
        );
        if out.iter().any(|l| l.url == url) {
            continue;
        }
        out.push(RouteLink {
            file: file.clone(),
            url,
        });
    }
    out
}

/// A path with every byte outside letters, digits, `-._~/` percent-encoded: a file name can
/// never add a query, a fragment, a scheme or Markdown to the link.
pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    // `..` segments are left to the browser; they cannot leave the preview's host.
    out
}

#[cfg(test)]
#[path = "links_tests.rs"]
mod tests;
