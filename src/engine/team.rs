//! What the sticky comment says about a preview beyond its status: the stable alias link,
//! its slot, its pin, links to the pages the pull request changed, and what becomes of its
//! GitHub environment. Every piece of text Gangway did not write (a file name, a URL) goes in
//! through `engine::text`. Pure: rendered from what the executor gathered ([`TeamView`]).

use super::links::RouteLink;
use super::text;

/// What becomes of the pull request's GitHub environment when it closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvironmentHygiene {
    /// Every preview shares this environment (`preview.environment` without `{number}`).
    Shared(String),
    /// The PR's own environment is deleted at close (`preview.delete_environment`).
    DeletedAtClose(String),
    /// The PR's own environment stays in the repository's settings.
    Kept(String),
}

/// The facts the extra lines are made of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamView {
    /// `https://{alias host}`, when the operator set an alias template.
    pub alias_url: Option<String>,
    /// The slot the pull request holds.
    pub slot: Option<String>,
    /// Until when `/keep` pins the preview (unix ms), if it does now.
    pub kept_until: Option<i64>,
    /// Who pinned it.
    pub kept_by: Option<String>,
    /// Links into the live preview for files the pull request changed.
    pub route_links: Vec<RouteLink>,
    /// What becomes of the environment.
    pub environment: Option<EnvironmentHygiene>,
}

/// The lines, each one paragraph; `live`: the head preview is live (links are shown only
/// then).
pub fn lines(v: &TeamView, live: bool) -> Vec<String> {
    let mut out = Vec::new();
    if live && let Some(alias) = &v.alias_url {
        out.push(format!(
            "🔗 **Stable link** (follows the latest commit of this pull request): {}",
            text::url(alias)
        ));
    }
    if let Some(slot) = &v.slot {
        out.push(format!("🎰 Running on slot {}.", text::code(slot)));
    }
    if let Some(at) = v
        .kept_until
        .and_then(chrono::DateTime::from_timestamp_millis)
    {
        let by = v
            .kept_by
            .as_deref()
            .map(|b| format!(" by {}", text::login(b)))
            .unwrap_or_default();
        out.push(format!(
            "📌 **Pinned**{by} until {} UTC: not torn down for being idle, nor evicted. \
             **/keep off** ends it.",
            at.format("%Y-%m-%d %H:%M")
        ));
    }
    if live && !v.route_links.is_empty() {
        let mut block = vec!["Pages this pull request changed:".to_owned()];
        block.extend(
            v.route_links
                .iter()
                .map(|l| format!("- {}: {}", text::code(&l.file), text::url(&l.url))),
        );
        out.push(block.join("\n"));
    }
    match &v.environment {
        Some(EnvironmentHygiene::Shared(name)) => out.push(format!(
            "Environment: every preview shares {} on GitHub (one deployment per commit), so \
             nothing piles up in the repository's settings.",
            text::code(name)
        )),
        Some(EnvironmentHygiene::DeletedAtClose(name)) => out.push(format!(
            "Environment: {} is deleted from the repository's settings when this pull request \
             closes (if the App may administer the repository).",
            text::code(name)
        )),
        Some(EnvironmentHygiene::Kept(_)) | None => {}
    }
    out
}

/// What becomes of the environment under the policy's `environment` and `delete_environment`.
pub fn hygiene(policy: &crate::policy::PreviewPolicy, pr_number: u64) -> EnvironmentHygiene {
    let name = policy.environment.render(pr_number);
    if policy.environment.shared() {
        EnvironmentHygiene::Shared(name)
    } else if policy.delete_environment {
        EnvironmentHygiene::DeletedAtClose(name)
    } else {
        EnvironmentHygiene::Kept(name)
    }
}

#[cfg(test)]
#[path = "team_tests.rs"]
mod tests;
