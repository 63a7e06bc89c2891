//! Slots: previews run on a fixed pool (`preview.slots`), like a team's fixed "branch nodes".
//!
//! Owns which slot a pull request's preview goes to ([`choose`]): the one it holds; else the
//! one it held last, if free; else any free slot (in the policy's order); else the slot
//! deployed least recently by any pull request, unless that pull request pinned its preview
//! with `/keep` (then the next least recent; none left: [`SlotChoice::Full`]). Also what the
//! pull request that loses its slot is told ([`taken_notice`]) and whether a preview's trust
//! is a fork's ([`trust_of`]). Who holds a slot is kept by the store (`store/slots.rs`: one
//! holder per slot, enforced by the database); the executor asks here, then claims. Pure.

use crate::model::{PullRequest, SlotHolder, Trust};
use crate::types::{CommitSha, PrNumber};

/// Where a pull request's next preview goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotChoice {
    /// It holds this slot already.
    Own(String),
    /// This slot is free: take it.
    Free(String),
    /// Take this slot from `from` (`seen_deployed_at`: the holder's record as seen, so a
    /// change meanwhile makes the store refuse and the executor decide again).
    Take {
        slot: String,
        from: PrNumber,
        seen_deployed_at: i64,
    },
    /// Every slot is held by a pinned preview: nothing to take.
    Full,
}

/// The slot for `pr` among `slots` (the policy's, in order), given who holds which
/// (`holders`), the slot `pr` held last (`last`) and the pull requests whose previews are
/// pinned (`pinned`).
pub fn choose(
    slots: &[String],
    holders: &[SlotHolder],
    pr: PrNumber,
    last: Option<&str>,
    pinned: &[PrNumber],
) -> SlotChoice {
    // Holders of slots the policy no longer lists do not count.
    let holders: Vec<&SlotHolder> = holders.iter().filter(|h| slots.contains(&h.slot)).collect();
    if let Some(h) = holders.iter().find(|h| h.pr_number == pr) {
        return SlotChoice::Own(h.slot.clone());
    }
    let free = |s: &str| !holders.iter().any(|h| h.slot == s);
    if let Some(last) = last.filter(|l| slots.iter().any(|s| s == l) && free(l)) {
        return SlotChoice::Free(last.to_owned());
    }
    if let Some(s) = slots.iter().find(|s| free(s)) {
        return SlotChoice::Free(s.clone());
    }
    holders
        .iter()
        .filter(|h| !pinned.contains(&h.pr_number))
        .min_by_key(|h| (h.deployed_at, slots.iter().position(|s| *s == h.slot)))
        .map_or(SlotChoice::Full, |h| SlotChoice::Take {
            slot: h.slot.clone(),
            from: h.pr_number,
            seen_deployed_at: h.deployed_at,
        })
}

/// The reason a preview that could get no slot fails with.
pub fn full_reason(slots: usize) -> String {
    format!(
        "all {slots} preview slots are held by pinned previews (`/keep`), so nothing was \
         deployed; a maintainer's /stage deploys this commit once one is free"
    )
}

/// What the pull request whose slot was taken is told (Gangway's own words; the slot name is
/// the policy's, checked to be plain).
pub fn taken_notice(slot: &str, by: PrNumber, sha: &CommitSha) -> String {
    format!(
        "The preview of commit `{}` was torn down: its slot `{slot}` was given to #{} (every \
         slot was in use, and this one had been deployed least recently). A maintainer can \
         bring it back by commenting **/stage**: it then gets its slot back if free, else the \
         least recently deployed one.",
        sha.short(),
        by.0
    )
}

/// The trust of a preview of `pr`: a fork's head is a fork's, whoever approved it.
pub fn trust_of(pr: &PullRequest) -> Trust {
    if pr.is_fork {
        Trust::Fork
    } else {
        Trust::SameRepository
    }
}

#[cfg(test)]
#[path = "slots_tests.rs"]
mod tests;
