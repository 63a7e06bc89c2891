//! Which standing previews must go regardless of their PR: those over a repository's capacity,
//! and those Gangway can no longer reach.
//!
//! Owns both rules: previews of open PRs that are pending, deploying or live take a place
//! ([`places`]); over `max_previews` (the cached policy's, else the default: [`max_previews`]), the least recently deployed go first ([`evictions`]), and a
//! PR's evaluation carries at most one of them ([`evictions_by_pr`]), which goes if still up
//! when the evaluation runs ([`still_evicted`]). A preview in a repository
//! removed from the App, or of an installation that is gone, is cut off: torn down by the driver
//! alone when it ran one ([`offline_teardown_runs_driver`], [`torn_down_offline`]); whether any
//! teardown runs the driver is one rule, [`teardown_runs_driver`], used by the executor's too. Pure: the reaper (timers) and the processor gather the standing previews, each
//! repository's capacity and what was lost, and only enqueue what this returns; teardowns happen
//! in jobs.

use std::collections::BTreeMap;

pub use crate::model::Eviction;
use crate::model::{DriverKind, Preview, PreviewState, TeardownKind};
use crate::types::{PrNumber, RepoId};

/// Whether a standing preview counts against its repository's capacity.
pub fn takes_place(p: &Preview, pr_open: bool) -> bool {
    pr_open
        && matches!(
            p.state,
            PreviewState::Pending | PreviewState::Deploying | PreviewState::Live
        )
}

/// The previews of one repository that go, each with its PR: as many as are over
/// `max_previews`, least recently deployed first (never deployed: by creation; ties: the older
/// record). `previews`: those that [`takes_place`].
pub fn evictions(previews: &[&Preview], max_previews: u32) -> Vec<(PrNumber, Eviction)> {
    let max = usize::try_from(max_previews).unwrap_or(usize::MAX);
    if previews.len() <= max {
        return Vec::new();
    }
    let mut by_age = previews.to_vec();
    by_age.sort_by_key(|p| (p.deployed_at.unwrap_or(p.created_at), p.id));
    by_age
        .iter()
        .take(previews.len() - max)
        .map(|p| {
            (
                p.pr_number,
                Eviction {
                    preview_id: p.id,
                    max_previews,
                    slot_taken: None,
                },
            )
        })
        .collect()
}

/// A repository's capacity as its cached policy file (`body`) sets it: the default when none is
/// cached or it does not parse (the reaper never calls GitHub to find out).
pub fn max_previews(body: Option<&str>) -> u32 {
    match body.map(|b| crate::policy::parse(b.as_bytes())) {
        Some(Ok(p)) => p.preview.max_previews,
        _ => crate::policy::PreviewPolicy::default().max_previews,
    }
}

/// The standing previews that [`takes_place`], by repository: what each repository's capacity
/// is measured against. `standing`: each preview with whether its PR is open.
pub fn places<'a>(
    standing: impl IntoIterator<Item = (&'a Preview, bool)>,
) -> BTreeMap<RepoId, Vec<&'a Preview>> {
    let mut by_repo: BTreeMap<RepoId, Vec<&Preview>> = BTreeMap::new();
    for (p, pr_open) in standing {
        if takes_place(p, pr_open) {
            by_repo.entry(p.repo_id).or_default().push(p);
        }
    }
    by_repo
}

/// The evictions of every repository (`repos`: its places and its `max_previews`), keyed by
/// PR: one PR's evaluation carries one eviction. When more than one preview of a PR is over
/// capacity, the most recently deployed of them is named; the others go at a later sweep.
pub fn evictions_by_pr<'a>(
    repos: impl IntoIterator<Item = (RepoId, &'a [&'a Preview], u32)>,
) -> BTreeMap<(RepoId, PrNumber), Eviction> {
    let mut by_pr = BTreeMap::new();
    for (repo, previews, max_previews) in repos {
        // Oldest first: a later one of the same PR takes the earlier one's place.
        for (number, eviction) in evictions(previews, max_previews) {
            by_pr.insert((repo, number), eviction);
        }
    }
    by_pr
}

/// What Gangway lost access to: repositories removed from the App and installations that are
/// gone (database ids).
#[derive(Debug, Clone, Copy, Default)]
pub struct Lost<'a> {
    pub repositories: &'a [i64],
    pub installations: &'a [i64],
}

impl Lost<'_> {
    /// Whether a preview in repository `repo_id` of `installation` can no longer be reached
    /// through GitHub.
    pub fn cuts_off(&self, repo_id: i64, installation: i64) -> bool {
        self.repositories.contains(&repo_id) || self.installations.contains(&installation)
    }
}

/// The preview an eviction decided at the sweep still takes down, among its PR's previews now:
/// the one it names, if that is still up (the PR may have been evaluated, torn down or pushed
/// to since).
pub fn still_evicted<'a>(previews: &'a [Preview], eviction: &Eviction) -> Option<&'a Preview> {
    previews
        .iter()
        .find(|p| p.id == eviction.preview_id && p.state.is_up())
}

/// Whether a cut-off preview needs the driver to take it down: a command-driver preview whose
/// deploy ran (anything past `queued`, and not already `inactive`) at a host that is its own
/// (`touches_host`). What never ran has nothing standing; an outside deployer's previews are
/// theirs to remove. `None` for a preview already torn down: nothing to do at all.
pub fn offline_teardown_runs_driver(p: &Preview, touches_host: bool) -> Option<bool> {
    (p.state != PreviewState::TornDown).then(|| teardown_runs_driver(p, touches_host))
}

/// Whether tearing a preview down runs the driver's teardown: only for Gangway's own driver,
/// only if its deploy ran (a status past `queued` that is not yet `inactive`), and only at a
/// host no one else serves from (`touches_host`: `hosts::teardown_touches_host`, so one pull
/// request's teardown never removes another's preview). One rule for every teardown: a PR's
/// (`executor/deploy.rs`) and a cut-off preview's ([`offline_teardown_runs_driver`]).
pub fn teardown_runs_driver(p: &Preview, touches_host: bool) -> bool {
    let ran = p
        .last_status
        .as_deref()
        .is_some_and(|s| s != "queued" && s != "inactive");
    p.driver == DriverKind::Command && ran && touches_host
}

/// The record of a cut-off preview once the driver took it down (GitHub cannot be told).
pub fn torn_down_offline(p: &Preview, now_ms: i64) -> Preview {
    Preview {
        state: PreviewState::TornDown,
        teardown_kind: Some(TeardownKind::LostAccess),
        detail: Some("Gangway lost access to the repository".into()),
        torn_down_at: Some(now_ms),
        ..p.clone()
    }
}

#[cfg(test)]
#[path = "capacity_tests.rs"]
mod tests;
