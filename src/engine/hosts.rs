//! Host names: a preview's, from the operator's template (`GANGWAY_HOST_TEMPLATE`, default
//! `{repo}-pr{number}-{short_sha}.staging.example.org`), and a long-lived environment's
//! (`GANGWAY_ENVIRONMENT_HOST`, default `{environment}.{repo}.example.org`,
//! [`environment_host`]); and who may have one.
//!
//! Owns: which placeholders exist; which templates are accepted (every rendering a valid DNS
//! name, and every placeholder that tells two claimants apart present: [`HostTemplate::parse`],
//! [`check_environment_template`]); how a name becomes a host label; whether a claimant may
//! have a host someone else holds ([`refusal`]: never); and whether a preview's teardown may
//! touch its host ([`teardown_touches_host`]). The holder of each host is recorded in the store
//! (`store/hosts.rs`), whose primary key makes one holder per host across replicas. Pure: no
//! I/O.

use std::fmt;

pub use crate::model::HostHolder;
use crate::model::Preview;
use crate::types::{CommitSha, PrNumber};

/// The longest label `{repo}` becomes.
pub(crate) const REPO_LABEL: usize = 40;
/// The longest label `{owner}` becomes (GitHub's longest account name).
pub(crate) const OWNER_LABEL: usize = 39;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    #[error("unknown placeholder {{{name}}} (allowed: {allowed})")]
    UnknownPlaceholder { name: String, allowed: &'static str },
    #[error("unbalanced braces in {0:?}")]
    Unbalanced(String),
    /// A placeholder that tells claimants apart is missing: two of them would share a host.
    #[error("must contain {missing} so that {why}")]
    NotUnique {
        missing: &'static str,
        why: &'static str,
    },
    #[error("{host:?} is not a valid DNS name: {why}")]
    InvalidDns { host: String, why: &'static str },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placeholder {
    Sha,
    ShortSha,
    Number,
    Repo,
    Owner,
    Environment,
    Target,
}

impl Placeholder {
    fn of(name: &str) -> Option<Placeholder> {
        Some(match name {
            "sha" => Placeholder::Sha,
            "short_sha" => Placeholder::ShortSha,
            "number" => Placeholder::Number,
            "repo" => Placeholder::Repo,
            "owner" => Placeholder::Owner,
            "environment" => Placeholder::Environment,
            "target" => Placeholder::Target,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Slot(Placeholder),
}

/// The parts of a template, each placeholder one of `allowed` (`shown` names them in errors).
fn parts_of(
    src: &str,
    allowed: &[Placeholder],
    shown: &'static str,
) -> Result<Vec<Part>, HostError> {
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
                if name.contains('{') {
                    return Err(HostError::Unbalanced(src.to_owned()));
                }
                match Placeholder::of(name).filter(|p| allowed.contains(p)) {
                    Some(p) => parts.push(Part::Slot(p)),
                    None => {
                        return Err(HostError::UnknownPlaceholder {
                            name: name.to_owned(),
                            allowed: shown,
                        });
                    }
                }
                rest = &rest[i + close + 1..];
            }
        }
    }
    Ok(parts)
}

fn has(parts: &[Part], p: Placeholder) -> bool {
    parts.contains(&Part::Slot(p))
}

/// A validated preview host template: every rendering is a valid DNS name, and it holds a
/// commit (`{sha}` or `{short_sha}`), the pull request (`{number}`) and the repository
/// (`{repo}`), so that two commits, two pull requests on one commit, and two repositories'
/// pull requests render different hosts. `{owner}` (the account) may be added, and is needed
/// to tell apart repositories of the same name under different accounts.
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

/// The default preview host template.
pub const DEFAULT_TEMPLATE: &str = "{repo}-pr{number}-{short_sha}.staging.example.org";
/// The default long-lived environment host template.
pub const DEFAULT_ENVIRONMENT_TEMPLATE: &str = "{environment}.{repo}.example.org";

impl Default for HostTemplate {
    fn default() -> Self {
        Self {
            source: DEFAULT_TEMPLATE.into(),
            parts: vec![
                Part::Slot(Placeholder::Repo),
                Part::Lit("-pr".into()),
                Part::Slot(Placeholder::Number),
                Part::Lit("-".into()),
                Part::Slot(Placeholder::ShortSha),
                Part::Lit(".staging.example.org".into()),
            ],
        }
    }
}

impl HostTemplate {
    pub fn parse(src: &str) -> Result<Self, HostError> {
        use Placeholder::*;
        let src = src.trim();
        let parts = parts_of(
            src,
            &[Sha, ShortSha, Number, Repo, Owner],
            "{sha}, {short_sha}, {number}, {repo}, {owner}",
        )?;
        if !has(&parts, Sha) && !has(&parts, ShortSha) {
            return Err(HostError::NotUnique {
                missing: "{sha} or {short_sha}",
                why: "each commit gets its own host",
            });
        }
        if !has(&parts, Number) {
            return Err(HostError::NotUnique {
                missing: "{number}",
                why: "two pull requests on the same commit get different hosts",
            });
        }
        if !has(&parts, Repo) {
            return Err(HostError::NotUnique {
                missing: "{repo}",
                why: "two repositories' pull requests get different hosts",
            });
        }
        let t = HostTemplate {
            source: src.to_owned(),
            parts,
        };
        // The longest values each placeholder can take: if these fit, every rendering fits.
        let sample =
            CommitSha::parse("0123456789abcdef0123456789abcdef01234567").map_err(|_| {
                HostError::InvalidDns {
                    host: String::new(),
                    why: "no sample commit",
                }
            })?;
        let longest = format!("{}/{}", "o".repeat(OWNER_LABEL), "r".repeat(100));
        t.render(&sample, PrNumber(u32::MAX.into()), &longest)?;
        Ok(t)
    }

    /// The host for one commit of one PR. `full_name` is the repository's `owner/name`: its
    /// name becomes `{repo}` and its owner `{owner}`, each folded into a DNS label
    /// ([`dns_label`]: lower case, other characters become `-`, at most 40 and 39 long).
    pub fn render(
        &self,
        sha: &CommitSha,
        number: PrNumber,
        full_name: &str,
    ) -> Result<String, HostError> {
        let (owner, name) = full_name.split_once('/').unwrap_or(("", full_name));
        let mut host = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(s) => host.push_str(&s.to_ascii_lowercase()),
                Part::Slot(Placeholder::Sha) => host.push_str(sha.as_str()),
                Part::Slot(Placeholder::ShortSha) => host.push_str(sha.short()),
                Part::Slot(Placeholder::Number) => host.push_str(&number.0.to_string()),
                Part::Slot(Placeholder::Repo) => host.push_str(&dns_label(name, REPO_LABEL)),
                Part::Slot(Placeholder::Owner) => host.push_str(&dns_label(owner, OWNER_LABEL)),
                // Not allowed in a preview template (`parse` refuses it).
                Part::Slot(Placeholder::Environment | Placeholder::Target) => {}
            }
        }
        validate_dns_name(&host)?;
        Ok(host)
    }
}

/// A name as a DNS label: lower case, every character other than a letter or a digit a
/// hyphen, at most `max` long, no hyphen at either end; `repo` when nothing is left.
pub(crate) fn dns_label(s: &str, max: usize) -> String {
    let folded: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(max)
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

/// A long-lived environment's host template (`GANGWAY_ENVIRONMENT_HOST`): only `{environment}`,
/// `{target}`, `{repo}` and `{owner}`; `{environment}` and `{repo}` present, so that two environments, and
/// two repositories' environments, render different hosts; and a valid DNS name once they are
/// filled (with the longest label each can become).
pub fn check_environment_template(template: &str) -> Result<(), HostError> {
    use Placeholder::*;
    let parts = parts_of(
        template,
        &[Environment, Target, Repo, Owner],
        "{environment}, {target}, {repo}, {owner}",
    )?;
    if !has(&parts, Environment) {
        return Err(HostError::NotUnique {
            missing: "{environment}",
            why: "each environment gets its own host",
        });
    }
    if !has(&parts, Repo) {
        return Err(HostError::NotUnique {
            missing: "{repo}",
            why: "two repositories' environments get different hosts",
        });
    }
    let longest = format!("{}/{}", "o".repeat(OWNER_LABEL), "r".repeat(100));
    validate_dns_name(&environment_host(template, "production", &longest))?;
    validate_dns_name(&target_host(template, "production", Some("au"), &longest))
}

/// The host of a long-lived environment: the operator's `GANGWAY_ENVIRONMENT_HOST` with
/// `{environment}` as a DNS label ([`environment_label`]) and `{repo}` and `{owner}` as for a
/// preview (`full_name` is the repository's `owner/name`).
pub fn environment_host(template: &str, environment: &str, full_name: &str) -> String {
    target_host(template, environment, None, full_name)
}

/// The host of one target of a long-lived environment (or of the environment itself, with
/// `target: None`). A template with `{target}` gets the environment's name in `{environment}`
/// and the target's in `{target}` (`au.production.shop.example.org`); an environment without
/// targets puts its own name in both. A template without `{target}` gets the target's GitHub
/// environment (`production-au`) in `{environment}`, so every target still has a host of its own.
pub fn target_host(
    template: &str,
    environment: &str,
    target: Option<&str>,
    full_name: &str,
) -> String {
    let (environment, target) = match target {
        Some(t) if template.contains("{target}") => (environment.to_owned(), t.to_owned()),
        Some(t) => (
            crate::policy::target_environment(environment, t),
            t.to_owned(),
        ),
        None => (environment.to_owned(), environment.to_owned()),
    };
    let (owner, name) = full_name.split_once('/').unwrap_or(("", full_name));
    template
        .replace("{target}", &environment_label(&target))
        .replace("{environment}", &environment_label(&environment))
        .replace("{repo}", &dns_label(name, REPO_LABEL))
        .replace("{owner}", &dns_label(owner, OWNER_LABEL))
        .to_ascii_lowercase()
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

/// Why `claimant` may not have `host`, which `holder` holds; `None` when the holder is the
/// claimant itself. One host, one holder: a second pull request or repository is refused, and
/// nothing is deployed for it. The reason names a holder in the same repository (a pull
/// request, an environment) and never another repository (which may be private).
pub fn refusal(host: &str, claimant: &HostHolder, holder: &HostHolder) -> Option<String> {
    if claimant == holder {
        return None;
    }
    let held = match holder {
        HostHolder::Preview { repo, number } if *repo == claimant.repo() => {
            format!("the preview of pull request #{}", number.0)
        }
        HostHolder::Environment { repo, environment } if *repo == claimant.repo() => {
            format!("the {environment} environment of this repository")
        }
        HostHolder::Preview { .. } => "a preview of another repository".to_owned(),
        HostHolder::Environment { .. } => "an environment of another repository".to_owned(),
    };
    let setting = match claimant {
        HostHolder::Preview { .. } => {
            "once it is free, a maintainer's /stage deploys this commit; the operator's \
             GANGWAY_HOST_TEMPLATE decides host names"
        }
        HostHolder::Environment { .. } => {
            "the operator's GANGWAY_ENVIRONMENT_HOST decides host names"
        }
    };
    Some(format!(
        "host {host} is already used by {held}, and two deployments never share a host, so \
         nothing was deployed; {setting}"
    ))
}

/// Whether tearing `p` down may touch its host (run the driver's teardown there): nobody else
/// holds it (`holder`: who holds it now; `None`: nobody), and no other standing preview of
/// its pull request (`siblings`, its PR's previews) serves there. A host that two commits of
/// one PR share (a `{short_sha}` collision) stays up while the newer one serves.
pub fn teardown_touches_host(
    p: &Preview,
    holder: Option<&HostHolder>,
    siblings: &[Preview],
) -> bool {
    let ours = HostHolder::of_preview(p);
    holder.is_none_or(|h| *h == ours) && !shares_host(p, siblings)
}

/// Whether another standing preview of `p`'s pull request (among `siblings`) is at its host:
/// then the host stays claimed when `p` goes.
pub fn shares_host(p: &Preview, siblings: &[Preview]) -> bool {
    siblings
        .iter()
        .any(|s| s.id != p.id && s.host == p.host && s.state.is_up())
}

#[cfg(test)]
#[path = "hosts_tests.rs"]
mod tests;
