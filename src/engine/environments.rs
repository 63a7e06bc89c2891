//! One long-lived environment deployment (staging, production): what may happen to it in which
//! state, and what follows from how it ends.
//!
//! Owns: which deployments a job still works on ([`in_flight`]) and which start by posting
//! `queued` ([`starts`]), what an outside deployer's final status ends ([`external_end`]), a
//! deployment GitHub refuses to create ([`deployment_refused`]) or whose host is someone
//! else's ([`host_refused`]), when a live one merges its PR ([`merges_after_live`]) and when a
//! failed one rolls back by itself ([`rolls_back`]); and whether one accepted earlier is stopped
//! by a hold or a bad mark placed while it waited ([`stopped`]), asked again just before its
//! GitHub deployment is created and just before the driver runs, and what that stop records and
//! says ([`stopped_record`], [`Stop`]). Pure: the
//! executor (`executor/environments.rs`) loads the row and the policy, asks, and does the GitHub
//! and driver work; this never does I/O or reads a clock.

use super::promotion::{held_by, utc};
use super::text;
use crate::model::{BadSha, EnvDeployment, EnvKind, EnvState, Hold};
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

/// Why a deployment accepted earlier does not go ahead after all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// Its environment is held now (`/hold`).
    Held(Hold),
    /// Its commit was marked bad after it was accepted (`/rollback`, or an automatic one).
    Bad(BadSha),
}

/// Whether a deployment that passed the promotion gates when it was accepted must stop now,
/// just before its GitHub deployment is created or its driver runs: its environment is held
/// (`hold`, the environment's hold as read now), or its commit was marked bad (`bad`, the
/// commit's mark as read now) at or after the moment it was accepted (an older mark was
/// judged then: refused, or overridden with `--force`). A rollback is never stopped: it is the
/// way out of an incident, holds included, and goes back to a commit that already succeeded.
pub fn stopped(d: &EnvDeployment, hold: Option<&Hold>, bad: Option<&BadSha>) -> Option<Stop> {
    if d.kind == EnvKind::Rollback {
        return None;
    }
    if let Some(h) = hold.filter(|h| h.environment == d.environment) {
        return Some(Stop::Held(h.clone()));
    }
    bad.filter(|b| b.sha == d.sha && b.marked_at >= d.created_at)
        .map(|b| Stop::Bad(b.clone()))
}

impl Stop {
    /// What stopped it, for the deployment's status and record: `production is held by @ann
    /// since … ("reason")`, `commit abc1234 was marked bad by @bob in production at …`.
    pub fn describe(&self) -> String {
        match self {
            Stop::Held(h) => format!("{} is held{}", name(&h.environment), held_by(h)),
            Stop::Bad(b) => format!(
                "commit {} was marked bad by {} in {} at {}{}",
                b.sha.short(),
                text::login(&b.marked_by),
                name(&b.environment),
                utc(b.marked_at),
                b.reason
                    .as_deref()
                    .map(|r| format!(": {}", text::prose(r)))
                    .unwrap_or_default()
            ),
        }
    }

    /// The status a GitHub deployment created before the stop ends with.
    pub fn status(&self) -> String {
        format!("Stopped before deploying: {}", self.describe())
    }

    /// What the pull request that asked for it is told (`d`: the stopped deployment).
    pub fn notice(&self, d: &EnvDeployment) -> String {
        let what = match d.kind {
            EnvKind::Promote => "promotion",
            EnvKind::Rollback => "rollback",
            EnvKind::Train => "train deployment",
        };
        let next = match (self, d.kind) {
            (Stop::Held(_), EnvKind::Train) => "the train carries it on once the hold is lifted",
            (Stop::Held(_), _) => {
                "once the hold is lifted (**/unhold**), promote again if it should still go"
            }
            (Stop::Bad(_), _) => {
                "fix forward with a new commit, or promote it anyway with `--force`"
            }
        };
        format!(
            "{} the {what} of `{}` to {} was stopped before it deployed: {}. Nothing was deployed; {next}.",
            text::requester(&d.requested_by),
            d.sha.short(),
            name(&d.environment),
            self.describe()
        )
    }
}

/// An environment's name in a sentence, escaped and capped (it comes from the policy file).
fn name(environment: &str) -> String {
    text::prose_capped(environment, text::NAME_CHARS)
}

/// The record of a deployment stopped at `now_ms`: over (the environment is free again), with
/// the reason.
pub fn stopped_record(d: &EnvDeployment, stop: &Stop, now_ms: i64) -> EnvDeployment {
    EnvDeployment {
        state: EnvState::Stopped,
        finished_at: Some(now_ms),
        detail: Some(format!("stopped: {}", stop.describe())),
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
        && policy.environments.in_production(&d.environment)
        && d.kind != EnvKind::Rollback
}

#[cfg(test)]
#[path = "environments_tests.rs"]
mod tests;
