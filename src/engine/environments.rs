//! One long-lived environment deployment (staging, production): what may happen to it in which
//! state, and what follows from how it ends.
//!
//! Owns: which deployments a job still works on ([`in_flight`]) and which start by posting
//! `queued` ([`starts`]), what an outside deployer's final status ends ([`external_end`]), a
//! deployment GitHub refuses to create ([`deployment_refused`]) or whose host is someone
//! else's ([`host_refused`]), when a live one merges its PR
//! ([`merges_after_live`]) and when a failed one rolls back by itself ([`rolls_back`]). Pure: the
//! executor (`executor/environments.rs`) loads the row and the policy, asks, and does the GitHub
//! and driver work; this never does I/O or reads a clock.

use crate::model::{EnvDeployment, EnvKind, EnvState};
use crate::policy::Policy;

/// Whether a deployment is still in flight: pending or deploying. Only those are worked on by
/// their job or given up; any other state is the end of it, and a repeated job does nothing.
pub fn in_flight(state: EnvState) -> bool {
    matches!(state, EnvState::Pending | EnvState::Deploying)
}

/// Whether the job starts the deployment: a pending one posts `queued` and becomes deploying;
/// a deploying one (a retried job) goes on to the driver.
pub fn starts(state: EnvState) -> bool {
    state == EnvState::Pending
}

/// How an outside deployer's final status ends a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvEnd {
    pub success: bool,
    /// Why it failed, for people.
    pub why: Option<String>,
}

/// What an outside deployer's final status (`success`, `failure`, `error`) does to a deployment
/// in `state`: ends it only while it is deploying (a status about one not yet started or
/// already over changes nothing).
pub fn external_end(state: EnvState, reported: &str) -> Option<EnvEnd> {
    if state != EnvState::Deploying {
        return None;
    }
    let success = reported == "success";
    Some(EnvEnd {
        success,
        why: (!success).then(|| format!("the deployer reported {reported}")),
    })
}

/// A deployment GitHub refused to create (422: it cannot resolve the commit): failed at
/// `now_ms`, saying why, so that the environment is free again. `error`: GitHub's answer.
pub fn deployment_refused(d: &EnvDeployment, error: &str, now_ms: i64) -> EnvDeployment {
    EnvDeployment {
        state: EnvState::Failed,
        finished_at: Some(now_ms),
        detail: Some(format!(
            "GitHub cannot create a deployment of commit {}: {error}",
            d.sha.short()
        )),
        ..d.clone()
    }
}

/// A deployment whose host another repository or environment holds (`why`:
/// `hosts::refusal`): failed at `now_ms` with the reason, before anything is created or run,
/// so that the environment is free again. Unlike a failed deploy it never rolls back (the
/// rollback would be refused the same way) and marks no commit bad.
pub fn host_refused(d: &EnvDeployment, why: &str, now_ms: i64) -> EnvDeployment {
    EnvDeployment {
        state: EnvState::Failed,
        finished_at: Some(now_ms),
        detail: Some(why.to_owned()),
        ..d.clone()
    }
}

/// Whether a live deployment merges its PR: a `/promote` into production when the policy says
/// `merge: true` (a rollback or the train never merges; neither does staging).
pub fn merges_after_live(d: &EnvDeployment, policy: &Policy) -> bool {
    d.kind == EnvKind::Promote
        && policy.promotion.merge
        && policy.environments.is_production(&d.environment)
}

/// Whether a failed deployment rolls back by itself: in production with `auto_rollback`, unless
/// it was a rollback already (a failing rollback never starts another).
pub fn rolls_back(d: &EnvDeployment, policy: &Policy) -> bool {
    policy.promotion.auto_rollback
        && policy.environments.is_production(&d.environment)
        && d.kind != EnvKind::Rollback
}

#[cfg(test)]
#[path = "environments_tests.rs"]
mod tests;
