//! Which standing previews must go regardless of their PR: those over a repository's capacity,
//! and those Gangway can no longer reach.
//!
//! Owns both rules: previews of open PRs that are pending, deploying or live take a place; over
//! `max_previews`, the least recently deployed go first. A preview in a repository removed from
//! the App, or of an installation that is gone, is cut off (torn down by the driver alone).
//! Pure: the reaper (timers) and the processor gather the standing previews, each repository's
//! capacity and what was lost, and only enqueue what this returns; teardowns happen in jobs.

pub use crate::model::Eviction;
use crate::model::{Preview, PreviewState};
use crate::types::PrNumber;

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
                },
            )
        })
        .collect()
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

#[cfg(test)]
#[path = "capacity_tests.rs"]
mod tests;
