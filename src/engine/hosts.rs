//! Host names: a preview's, from the operator's template (`{sha}.staging.example.org`), and a
//! long-lived environment's (`GANGWAY_ENVIRONMENT_HOST`, [`environment_host`]).
//!
//! Owns: which placeholders exist, that every preview host is a valid DNS name, and how an
//! environment's name becomes a host label. Pure: no I/O.

use std::fmt;

use crate::types::{CommitSha, PrNumber};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    #[error("unknown placeholder {{{0}}} (allowed: {{sha}}, {{short_sha}}, {{number}}, {{repo}})")]
    UnknownPlaceholder(String),
    #[error("unbalanced braces in {0:?}")]
    Unbalanced(String),
    #[error("must contain {{sha}} or {{short_sha}} so that each commit gets its own host")]
    NoSha,
    #[error("{host:?} is not a valid DNS name: {why}")]
    InvalidDns { host: String, why: &'static str },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Sha,
    ShortSha,
    Number,
    Repo,
}

/// A validated host template.
#[derive(Clone, PartialEq, Eq)]
pub struct HostTemplate {
    source: String,
    parts: Vec<Part>,
}

impl fmt::Debug for HostTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HostTemplate({:?})", self.source)
    }
}

impl fmt::Display for HostTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl Default for HostTemplate {
    fn default() -> Self {
        Self {
            source: "{sha}.staging.example.org".into(),
            parts: vec![Part::Sha, Part::Lit(".staging.example.org".into())],
        }
    }
}

impl HostTemplate {
    pub fn parse(src: &str) -> Result<Self, HostError> {
        let src = src.trim();
        let mut parts = Vec::new();
        let mut rest = src;
        while !rest.is_empty() {
            match rest.find(['{', '}']) {
                None => {
                    parts.push(Part::Lit(rest.to_owned()));
                    rest = "";
                }
                Some(i) => {
                    if i > 0 {
                        parts.push(Part::Lit(rest[..i].to_owned()));
                    }
                    if rest[i..].starts_with('}') {
                        return Err(HostError::Unbalanced(src.to_owned()));
                    }
                    let close = rest[i..]
                        .find('}')
                        .ok_or_else(|| HostError::Unbalanced(src.to_owned()))?;
                    let name = &rest[i + 1..i + close];
                    parts.push(match name {
                        "sha" => Part::Sha,
                        "short_sha" => Part::ShortSha,
                        "number" => Part::Number,
                        "repo" => Part::Repo,
                        other => return Err(HostError::UnknownPlaceholder(other.to_owned())),
                    });
                    rest = &rest[i + close + 1..];
                }
            }
        }
        if !parts
            .iter()
            .any(|p| matches!(p, Part::Sha | Part::ShortSha))
        {
            return Err(HostError::NoSha);
        }
        let t = HostTemplate {
            source: src.to_owned(),
            parts,
        };
        // The longest values each placeholder can take: if these fit, every rendering fits.
        let sample = CommitSha::parse("0123456789abcdef0123456789abcdef01234567")
            .map_err(|_| HostError::NoSha)?;
        t.render(&sample, PrNumber(u32::MAX.into()), &"r".repeat(100))?;
        Ok(t)
    }

    /// The host for one commit of one PR. `repo` is the repository's name (without owner); it is
    /// folded into a DNS label (lower case, other characters become `-`, at most 40 long).
    pub fn render(
        &self,
        sha: &CommitSha,
        number: PrNumber,
        repo: &str,
    ) -> Result<String, HostError> {
        let mut host = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(s) => host.push_str(&s.to_ascii_lowercase()),
                Part::Sha => host.push_str(sha.as_str()),
                Part::ShortSha => host.push_str(sha.short()),
                Part::Number => host.push_str(&number.0.to_string()),
                Part::Repo => host.push_str(&dns_label(repo)),
            }
        }
        validate_dns_name(&host)?;
        Ok(host)
    }
}

fn dns_label(s: &str) -> String {
    let folded: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    let trimmed = folded.trim_matches('-');
    if trimmed.is_empty() {
        "repo".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// RFC 1035/1123 host name: labels of 1-63 letters, digits and inner hyphens; at most 253 in all.
pub fn validate_dns_name(host: &str) -> Result<(), HostError> {
    let bad = |why| {
        Err(HostError::InvalidDns {
            host: crate::types::truncate_for_error(host),
            why,
        })
    };
    if host.is_empty() || host.len() > 253 {
        return bad("must be 1-253 characters long");
    }
    if !host.contains('.') {
        return bad("must have at least two labels (a domain)");
    }
    for label in host.split('.') {
        if label.is_empty() || label.len() > 63 {
            return bad("each dot-separated label must be 1-63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return bad("only a-z, 0-9, '-' and '.' are allowed");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return bad("a label may not start or end with '-'");
        }
    }
    Ok(())
}

/// The host of a long-lived environment: the operator's `GANGWAY_ENVIRONMENT_HOST` with
/// `{environment}` as a DNS label ([`environment_label`]) and `{repo}` as the repository's
/// name in lower case.
pub fn environment_host(template: &str, environment: &str, repo_name: &str) -> String {
    template
        .replace("{environment}", &environment_label(environment))
        .replace("{repo}", &repo_name.to_ascii_lowercase())
}

/// An environment's name as a DNS label: lower case, every other character than a letter or a
/// digit a hyphen, none at either end; `env` when nothing is left.
pub fn environment_label(environment: &str) -> String {
    let label: String = environment
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() { c } else { '-' }
        })
        .collect();
    let label = label.trim_matches('-');
    if label.is_empty() {
        "env".to_owned()
    } else {
        label.to_owned()
    }
}

#[cfg(test)]
#[path = "hosts_tests.rs"]
mod tests;
