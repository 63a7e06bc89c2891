//! One preview's record through staging and teardown: what its row says at each step the
//! executor takes.
//!
//! Owns: a torn-down preview restaged when its PR reopens ([`restaged`]), the record a teardown
//! starts from ([`teardown_begun`]; whether the driver then runs is
//! [`capacity::teardown_runs_driver`](super::capacity::teardown_runs_driver), the same rule as
//! for a cut-off preview), a preview GitHub refuses to deploy ([`deployment_refused`]) and one
//! whose host is someone else's ([`host_refused`]). Pure:
//! the executor loads the row, asks, saves what this returns and does the GitHub and driver
//! work; this never does I/O or reads a clock.

use super::TeardownReason;
use crate::model::{Preview, PreviewState};

/// The record of a preview staged again: a torn-down one (its PR was reopened on a commit that
/// was previewed before) goes back to pending on the same deployment for a new run; `None` when
/// the record stands as it is.
pub fn restaged(p: &Preview) -> Option<Preview> {
    (p.state == PreviewState::TornDown).then(|| Preview {
        state: PreviewState::Pending,
        last_status: None,
        detail: None,
        torn_down_at: None,
        teardown_kind: None,
        ..p.clone()
    })
}

/// The record a teardown starts from, saved before anything is torn down: tearing down, the
/// reason as its detail (a resumed teardown keeps the reason on record) and its kind. A preview
/// whose driver never ran is marked `queued`, so that nothing runs the driver for it. `None`
/// when a teardown already started (it resumes on its own record) or is done.
pub fn teardown_begun(p: &Preview, reason: &TeardownReason) -> Option<Preview> {
    if matches!(p.state, PreviewState::TearingDown | PreviewState::TornDown) {
        return None;
    }
    let detail = match (&p.detail, reason) {
        (Some(d), TeardownReason::Resume) => d.clone(),
        _ => reason.describe(),
    };
    let ran = p.last_status.as_deref().is_some_and(|s| s != "queued");
    Some(Preview {
        state: PreviewState::TearingDown,
        detail: Some(detail),
        teardown_kind: reason.kind().or(p.teardown_kind),
        last_status: if ran {
            p.last_status.clone()
        } else {
            Some("queued".into())
        },
        ..p.clone()
    })
}

/// Whether deploying `p` is its pull request's first deploy (`GANGWAY_ACTION=create`): no
/// other preview of the PR (`siblings`) stands (pending, deploying, live, failed or being torn
/// down). A teardown of everything makes the next one a first deploy again: the teardown
/// removed what the create made.
pub fn first_deploy(p: &Preview, siblings: &[Preview]) -> bool {
    !any_other_up(p, siblings)
}

/// Whether another preview of `p`'s pull request (among `siblings`) still stands: while one
/// does, the PR keeps its slot and its alias.
pub fn any_other_up(p: &Preview, siblings: &[Preview]) -> bool {
    siblings
        .iter()
        .any(|s| s.id != p.id && (s.state.is_up() || s.state == PreviewState::TearingDown))
}

/// A preview whose deployment GitHub refused to create (422: it cannot resolve the commit; a
/// deleted fork's commits can vanish): failed, saying why and what to do, instead of retrying
/// what cannot succeed. `error`: GitHub's answer.
pub fn deployment_refused(p: &Preview, error: &str) -> Preview {
    Preview {
        state: PreviewState::Failed,
        detail: Some(format!(
            "GitHub cannot create a deployment of commit {} ({error}); if the pull request's fork was deleted, \
             its commits may be gone: push the branch again to a live fork or to this repository",
            p.sha.short()
        )),
        ..p.clone()
    }
}

/// A preview whose host another pull request or repository holds (`why`:
/// `hosts::refusal`): failed with the reason, before anything is created or run. A
/// maintainer's `/stage` tries it again (`command_rules::retry_failed`), once the host is free.
pub fn host_refused(p: &Preview, why: &str) -> Preview {
    Preview {
        state: PreviewState::Failed,
        detail: Some(why.to_owned()),
        ..p.clone()
    }
}

#[cfg(test)]
#[path = "previews_tests.rs"]
mod tests;
