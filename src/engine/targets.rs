//! Targets and the promotion queue: what a promotion into an environment deploys (each of its
//! targets, concurrently up to `promotion.max_parallel_targets`), which queued promotions start
//! now, when an environment counts as running a commit (every target runs it), what a failing
//! target does to the others (`on_target_failure`), what the train's fan-out queues and how it
//! reads its targets ([`common_commit`], [`failed_target`], [`train_queues`]), and what each
//! of these says to people.
//!
//! A target is its own GitHub environment (`production-au`: `policy::target_environment`),
//! recorded like any environment: its own deployments, lock, hold and history. Pure: the
//! executor (`executor/targets.rs`) reads the queue, the holds and the running deployments,
//! asks here, and carries the answer out.

use crate::engine::text;
use crate::model::{EnvDeployment, EnvState, QueueState, QueuedPromotion};
use crate::policy::{OnTargetFailure, Policy, Unit};
use crate::types::CommitSha;

/// The queued promotions of one environment (its targets' too) that start now, oldest first:
/// each whose environment or target is free (not `running`, not `held`: a hold pauses the
/// queue without dropping it), one per environment or target, and for an environment with
/// targets no more running at once than `limit`.
pub fn to_start<'a>(
    waiting: &'a [QueuedPromotion],
    running: &[String],
    held: &[String],
    limit: u32,
) -> Vec<&'a QueuedPromotion> {
    let limit = usize::try_from(limit.max(1)).unwrap_or(1);
    let mut busy: Vec<&str> = running.iter().map(String::as_str).collect();
    let mut chosen = Vec::new();
    for q in waiting {
        if q.state != QueueState::Waiting
            || busy.contains(&q.environment.as_str())
            || held.iter().any(|h| h == &q.environment)
        {
            continue;
        }
        if busy.len() >= limit {
            break;
        }
        busy.push(&q.environment);
        chosen.push(q);
    }
    chosen
}

/// Where `entry` stands in its environment's (or target's) queue, from 1: one more than the
/// promotions waiting ahead of it there, plus one when a deployment runs there now.
pub fn position(waiting: &[QueuedPromotion], entry: &QueuedPromotion, running: bool) -> usize {
    waiting
        .iter()
        .filter(|q| q.environment == entry.environment && q.id < entry.id)
        .count()
        + 1
        + usize::from(running)
}

/// Whether an environment runs `sha`: every one of its targets' current commits is `sha`
/// (`currents`: each target's, `None` where nothing runs). An environment without targets
/// passes its own one current.
pub fn runs_everywhere(currents: &[Option<&CommitSha>], sha: &CommitSha) -> bool {
    !currents.is_empty() && currents.iter().all(|c| *c == Some(sha))
}

/// Whether a failed deployment of a target stops the targets of the same promotion not yet
/// started: `on_target_failure: halt`, and it was one of several targets.
pub fn halts(policy: &Policy, unit: &Unit) -> bool {
    unit.target.is_some() && policy.promotion.on_target_failure == OnTargetFailure::Halt
}

/// Whether a live deployment of a target completes its environment's deployment of the
/// commit, so that what waits on the environment (the merge after production) goes ahead:
/// every target runs it now.
pub fn completes_environment(unit: &Unit, everywhere: bool) -> bool {
    unit.target.is_some() && everywhere
}

/// The commit an environment runs, as the train sees it: the one every target runs (`currents`:
/// each target's, in order), or none while they differ or one runs nothing.
pub fn common_commit(currents: &[Option<CommitSha>]) -> Option<CommitSha> {
    let first = currents.first()?.as_ref()?;
    currents
        .iter()
        .all(|c| c.as_ref() == Some(first))
        .then(|| first.clone())
}

/// The first target whose newest deployment (`newest`: per target, its name and newest
/// deployment) is a failed deployment of `sha`: the train's fan-out failed there.
pub fn failed_target<'a>(
    newest: &'a [(String, Option<EnvDeployment>)],
    sha: &CommitSha,
) -> Option<&'a str> {
    newest.iter().find_map(|(name, d)| {
        d.as_ref()
            .filter(|d| &d.sha == sha && d.state == EnvState::Failed)
            .map(|_| name.as_str())
    })
}

/// Whether the train's fan-out queues a promotion of `sha` to a target: not when the target
/// runs it, deploys it, or has it waiting in the queue already (a repeated step never deploys
/// twice).
pub fn train_queues(
    sha: &CommitSha,
    current: Option<&CommitSha>,
    running: Option<&EnvDeployment>,
    waiting: bool,
) -> bool {
    current != Some(sha) && running.is_none_or(|r| &r.sha != sha) && !waiting
}

/// How a unit is named in a sentence.
fn name(u: &str) -> String {
    text::prose_capped(u, text::NAME_CHARS)
}

/// The answer to an accepted `/promote`: what started and what waits (with its place).
/// `started`: the units deploying now; `queued`: the units waiting, with their positions;
/// `refused`: units a rule refused, with the reason.
pub fn promote_answer(
    sha: &CommitSha,
    environment: &str,
    started: &[String],
    queued: &[(String, usize)],
    refused: &[(String, String)],
    limit: Option<u32>,
    forced: bool,
) -> String {
    let mut out = format!(
        "promoting commit `{}` to {}{}.",
        sha.short(),
        name(environment),
        if forced {
            " (forced past its bad mark)"
        } else {
            ""
        }
    );
    if !started.is_empty() && (started.len() > 1 || started[0] != environment) {
        let names: Vec<String> = started.iter().map(|s| name(s)).collect();
        out.push_str(&format!(" Deploying now: {}.", names.join(", ")));
    }
    for (unit, position) in queued {
        out.push_str(&format!(
            " {} is queued at position {position}: it starts when {} is free{}, under the \
             promotion rules as they are then (**/cancel** withdraws it).",
            name(unit),
            if started.is_empty() && queued.len() == 1 {
                "the environment".to_owned()
            } else {
                "it".to_owned()
            },
            match limit {
                Some(n) => format!(" and fewer than {n} targets deploy"),
                None => String::new(),
            }
        ));
    }
    for (unit, why) in refused {
        out.push_str(&format!(" {} is not deployed: {why}", name(unit)));
    }
    if !started.is_empty() {
        out.push_str(
            " GitHub's deployment history shows its progress; this pull request hears when it \
             is live.",
        );
    }
    out
}

/// Said on the pull request of a queued promotion that a newer one replaced.
pub fn superseded_notice(old: &QueuedPromotion, by: &QueuedPromotion) -> String {
    format!(
        "{} the queued promotion of `{}` to {} was superseded by a newer one (`{}`{}): only \
         the newest queued promotion of an environment runs.",
        text::requester(&old.requested_by),
        old.sha.short(),
        name(&old.environment),
        by.sha.short(),
        by.pr_number
            .map(|n| format!(" from #{}", n.0))
            .unwrap_or_default()
    )
}

/// Said on the pull request whose queued promotion's turn came but a rule refused it then.
pub fn refused_at_turn(q: &QueuedPromotion, why: &str) -> String {
    format!(
        "{} the queued promotion of `{}` to {} did not start when its turn came: {why}",
        text::requester(&q.requested_by),
        q.sha.short(),
        name(&q.environment)
    )
}

/// Said on the pull request when a failing target halts the targets not started yet.
pub fn halt_notice(failed: &EnvDeployment, halted: &[QueuedPromotion]) -> String {
    let names: Vec<String> = halted.iter().map(|q| name(&q.environment)).collect();
    format!(
        "{} {} failed, and the policy says `on_target_failure: halt`: {} {} not started. \
         Targets already deploying finish. Promote again once the cause is fixed.",
        text::requester(&failed.requested_by),
        name(&failed.environment),
        text::some_of(&names),
        if names.len() == 1 { "is" } else { "are" }
    )
}

/// The reason a halted entry records.
pub fn halt_reason(failed: &EnvDeployment) -> String {
    format!(
        "halted: {} failed (on_target_failure: halt)",
        failed.environment
    )
}

/// The answer to `/cancel`.
pub fn cancel_answer(cancelled: &[QueuedPromotion]) -> Result<String, String> {
    if cancelled.is_empty() {
        return Err("nothing of this pull request waits in a queue; nothing to cancel.".to_owned());
    }
    let names: Vec<String> = cancelled
        .iter()
        .map(|q| format!("`{}` to {}", q.sha.short(), name(&q.environment)))
        .collect();
    Ok(format!(
        "withdrawn from the queue: {}.",
        text::some_of(&names)
    ))
}

/// One target, for the sticky comment: its GitHub environment, what runs there, and this pull
/// request's latest deployment and queued promotion there.
pub type TargetFacts<'a> = (
    String,
    Option<&'a EnvDeployment>,
    Option<&'a EnvDeployment>,
    Option<&'a QueuedPromotion>,
);

/// What the pull request's sticky comment says of one environment with targets: one line per
/// target. `units`: each target's GitHub environment, what runs there, and this pull request's
/// latest deployment and queued promotion there.
pub fn sticky_lines(environment: &str, units: &[TargetFacts<'_>]) -> Vec<String> {
    let mut out = vec![format!("**{}** targets:", name(environment))];
    for (unit, current, ours, queued) in units {
        let runs = current
            .map(|c| format!("runs `{}`", c.sha.short()))
            .unwrap_or_else(|| "runs nothing yet".to_owned());
        let this = match (queued, ours) {
            (Some(q), _) if q.state == QueueState::Waiting => {
                format!("; `{}` queued", q.sha.short())
            }
            (_, Some(d)) => match d.state {
                EnvState::Pending | EnvState::Deploying => {
                    format!("; deploying `{}`", d.sha.short())
                }
                EnvState::Failed => format!(
                    "; `{}` failed (retry: **/promote {}**)",
                    d.sha.short(),
                    name(unit)
                ),
                EnvState::Stopped => format!("; `{}` stopped", d.sha.short()),
                EnvState::Live | EnvState::Inactive => String::new(),
            },
            _ => String::new(),
        };
        out.push(format!("- {}: {runs}{this}", name(unit)));
    }
    out
}

#[cfg(test)]
#[path = "targets_tests.rs"]
mod tests;
