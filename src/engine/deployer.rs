//! The external deployer: how a status it reports moves a preview, and which deployments made
//! by hand in a PR's environment Gangway adopts. Also when one of Gangway's own deployments
//! that its database lost is retired on GitHub.
//!
//! Owns those decisions; the executor reads the preview, the PR and the policy, asks here, and
//! saves or stages what it is told. Pure: never reads a clock (the executor passes `now_ms`),
//! never calls GitHub or the store.

use super::PolicyStatus;
pub use crate::model::{Adoption, ExternalStatus};
use crate::model::{DriverKind, Preview, PreviewState, PullRequest};

/// The preview as the reported status leaves it, or `None` when the status changes nothing.
///
/// A status moves an external preview forward, never back: a late `queued` after `success`
/// changes nothing, and neither does any status on a command-driver preview (those are ours)
/// or on one that is no longer up.
pub fn take_status(p: &Preview, s: &ExternalStatus, now_ms: i64) -> Option<Preview> {
    if p.driver != DriverKind::External || !p.state.is_up() {
        return None;
    }
    let mut p = p.clone();
    match s.state.as_str() {
        "success" => {
            p.state = PreviewState::Live;
            p.environment_url = s
                .environment_url
                .clone()
                .or_else(|| Some(format!("https://{}", p.host)));
            p.deployed_at = Some(now_ms);
            p.detail = None;
        }
        "failure" | "error" => {
            p.state = PreviewState::Failed;
            p.detail = Some(
                s.description
                    .clone()
                    .unwrap_or_else(|| format!("the deployer reported {}", s.state)),
            );
        }
        "in_progress" | "queued" | "pending" if p.state == PreviewState::Pending => {
            p.state = PreviewState::Deploying;
        }
        _ => return None,
    }
    p.last_status = Some(s.state.clone());
    Some(p)
}

/// What to do with a deployment someone created in a PR's environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Adopt {
    /// The PR is unknown or the policy invalid: nothing, silently.
    Nothing,
    /// Not this PR's to run: it is closed, from a fork (a fork needs a maintainer's approval),
    /// or the deployment names another environment than the one Gangway manages (`managed`).
    NotAdopted { managed: String },
    /// The commit already has a preview (`ours`: its deployment): the extra one is not run.
    AlreadyStaged { ours: Option<u64> },
    /// Run it as if it were Gangway's own.
    Stage,
}

/// Whether a deployment made by hand (API, CLI) in this PR's environment is adopted.
/// `existing`: the preview on record for the deployment's commit, if any.
pub fn adoption(
    pr: Option<&PullRequest>,
    policy: &PolicyStatus,
    a: &Adoption,
    existing: Option<&Preview>,
) -> Adopt {
    let (Some(pr), Some(policy)) = (pr, policy.valid()) else {
        return Adopt::Nothing;
    };
    let managed = policy.preview.environment.render(pr.number.0);
    if !pr.open || pr.is_fork || a.environment != managed {
        return Adopt::NotAdopted { managed };
    }
    match existing {
        Some(p) => Adopt::AlreadyStaged {
            ours: p.deployment_id,
        },
        None => Adopt::Stage,
    }
}

/// Whether a deployment Gangway created that its database does not know is old enough to be
/// retired (marked `inactive` on GitHub): one being created right now is not recorded yet, so
/// only those older than ten minutes count. An unknown creation time counts as now.
pub fn unrecorded_long_enough(created_ms: Option<i64>, now_ms: i64) -> bool {
    now_ms - created_ms.unwrap_or(now_ms) >= 10 * 60_000
}

/// Whether such a deployment, with GitHub's latest status word, still needs retiring: one
/// already `inactive` does not.
pub fn needs_retiring(latest_state: Option<&str>) -> bool {
    latest_state != Some("inactive")
}

#[cfg(test)]
#[path = "deployer_tests.rs"]
mod tests;
