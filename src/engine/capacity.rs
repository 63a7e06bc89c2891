//! Capacity: which previews go when a repository has more than its policy allows.
//!
//! Owns the rule: previews of open PRs that are pending, deploying or live take a place; over
//! `max_previews`, the least recently deployed go first. Pure: the reaper (timers) gathers the
//! standing previews and each repository's capacity and only enqueues what this returns; the
//! teardown happens in the evaluation job.

use serde::{Deserialize, Serialize};

use crate::model::{Preview, PreviewState};
use crate::types::PrNumber;

/// The reaper's capacity decision for one preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Eviction {
    pub preview_id: i64,
    pub max_previews: u32,
}

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

#[cfg(test)]
#[path = "capacity_tests.rs"]
mod tests;
