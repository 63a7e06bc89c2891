//! Routing: which pull requests a webhook event concerns, and what it records on the way; and
//! the evaluations the timers' sweeps start.
//!
//! Owns the event → per-PR evaluation mapping, which comments run a command, and the ordering
//! of late deliveries (an event older than the record never rolls a PR back: the evaluation
//! reads the truth from GitHub instead). Owns too what the sweeps' evaluations read: the
//! reaper's ([`reaper_evaluation`], [`reaper_defers_to_waiting`]) and the reconciler's, for the PRs that changed while no
//! webhook said so ([`unobserved`], [`reconciler_evaluation`]), and which failed deliveries
//! the redeliverer asks GitHub for again ([`redeliver`]). Pure: the processor reads the
//! event and the store's answers into a [`Seen`], asks [`route`], and carries out each
//! [`Effect`] in order; the sweeps enqueue what they are handed. Never touches the store, the
//! queue or GitHub.

use super::commands;
use super::deployer::{Adoption, ExternalStatus};
use super::echo::Origin;
use crate::jobs::{BACKGROUND, EvaluatePayload};
use crate::model::{DriverKind, Eviction, PullRequest, RepoRef};
use crate::types::{CommitSha, PrNumber};

/// An event, with what the store said about it.
#[derive(Debug, Clone, Copy)]
pub enum Seen<'a> {
    PullRequest {
        /// The PR as the event describes it.
        incoming: &'a PullRequest,
        on_record: Option<&'a PullRequest>,
        /// The merge commit, when the event says the PR was merged.
        merged_as: Option<&'a CommitSha>,
        /// The PR's base is the repository's default branch.
        into_default_branch: bool,
        sender: &'a str,
    },
    CheckSuite {
        completed: bool,
        /// `latest_check_runs_count`, when GitHub sends it.
        runs: Option<u64>,
        head_sha: &'a CommitSha,
        /// The open PRs on record whose head is `head_sha`.
        open_with_head: &'a [PrNumber],
        /// The PRs the suite itself lists.
        listed: &'a [PrNumber],
        /// The suite ran on the default branch.
        on_default_branch: bool,
    },
    Status {
        sha: &'a CommitSha,
        open_with_head: &'a [PrNumber],
        /// The default branch's head is this commit.
        on_default_branch: bool,
    },
    Deployment {
        origin: Origin,
        /// The open PRs on record whose head is the deployment's commit.
        open_with_head: &'a [PrNumber],
        /// The PR whose preview environment the deployment names, if any
        /// ([`super::deployer::environment_pr`]): judged even when the commit is not its head.
        named: Option<PrNumber>,
        deployment: &'a Adoption,
        sender: &'a str,
    },
    DeploymentStatus {
        /// The operator's driver.
        driver: DriverKind,
        /// The long-lived environment deployment (its id) this status is about, if any.
        env_deployment: Option<i64>,
        /// The preview this status is about, if any: its PR and driver.
        preview: Option<(PrNumber, DriverKind)>,
        status: &'a ExternalStatus,
    },
    Push {
        to_default_branch: bool,
        /// The push may have changed the policy file.
        may_touch_policy: bool,
    },
}

/// One evaluation of one PR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub number: PrNumber,
    pub requested_by: String,
    /// The event may be older than the record: read the PR from GitHub first.
    pub refresh: bool,
    /// Read the head's checks even if no check event was seen for it.
    pub read_checks: bool,
    pub adopt: Option<Adoption>,
    pub external_status: Option<ExternalStatus>,
}

impl Evaluation {
    fn plain(number: PrNumber, requested_by: &str) -> Evaluation {
        Evaluation {
            number,
            requested_by: requested_by.to_owned(),
            refresh: false,
            read_checks: false,
            adopt: None,
            external_status: None,
        }
    }

    /// A check event's evaluation reads the checks it was told about.
    fn checks(number: PrNumber) -> Evaluation {
        Evaluation {
            read_checks: true,
            ..Evaluation::plain(number, "checks")
        }
    }
}

/// What the processor does, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Store the event's PR: it is newer than the record.
    SavePull,
    RecordMerge(CommitSha),
    /// Checks reported on this commit (kept even when no PR has it as head yet: checks may
    /// finish before the PR opens).
    RecordCheckSignal(CommitSha),
    Evaluate(Evaluation),
    /// The train looks at the default branch (it does nothing where the policy has no train).
    WakeTrain,
    /// An outside deployer ended a long-lived environment's deployment.
    EndEnvDeployment {
        id: i64,
        state: String,
    },
    /// The policy is read again at the next evaluation.
    ForgetPolicy,
}

/// Whether a PR event merely repeats the record: as old, with the same head, state, merge and
/// draft flag.
pub fn repeats_record(incoming: &PullRequest, record: &PullRequest) -> bool {
    incoming.gh_updated_at == record.gh_updated_at
        && incoming.head_sha == record.head_sha
        && incoming.open == record.open
        && incoming.merged == record.merged
        && incoming.draft == record.draft
}

/// Whether the event's PR is newer than the record (so it may be stored). A late delivery, older
/// than the record or as old, must not roll the PR back.
pub fn is_newer(incoming: &PullRequest, on_record: Option<&PullRequest>) -> bool {
    on_record.is_none_or(|r| incoming.gh_updated_at > r.gh_updated_at)
}

/// A comment as far as commands go.
#[derive(Debug, Clone, Copy)]
pub struct CommentSeen<'a> {
    /// Newly created (not an edit or a deletion).
    pub created: bool,
    /// On a pull request (not an issue).
    pub on_pull_request: bool,
    pub origin: Origin,
    pub body: &'a str,
}

/// A command found in a comment: its word and arguments (`Invocation::args`), or the parser's
/// explanation of what was wrong (which gets an answer too).
pub type Found = Result<(String, String), String>;

/// The command a comment runs, if any: only a newly created comment on a pull request, by a
/// person, that holds a command or something that looks like one and needs an answer. Edits and
/// deletions run nothing.
pub fn command_in(c: &CommentSeen<'_>) -> Option<Found> {
    if !c.created || !c.on_pull_request || !c.origin.runs_commands() {
        return None;
    }
    match commands::parse(c.body) {
        Ok(None) => None,
        Ok(Some(inv)) => Some(Ok((inv.command.word().to_owned(), inv.args()))),
        Err(err) => Some(Err(err.to_string())),
    }
}

/// What the event calls for.
pub fn route(seen: &Seen<'_>) -> Vec<Effect> {
    let mut effects = Vec::new();
    match *seen {
        Seen::PullRequest {
            incoming,
            on_record,
            merged_as,
            into_default_branch,
            sender,
        } => {
            let newer = is_newer(incoming, on_record);
            if newer {
                effects.push(Effect::SavePull);
            }
            if let Some(merge) = merged_as {
                effects.push(Effect::RecordMerge(merge.clone()));
                // The train tells the PRs it carries; this one may have been missed.
                if into_default_branch {
                    effects.push(Effect::WakeTrain);
                }
            }
            // GitHub's `updated_at` has one-second resolution: an event as old as the record
            // that says exactly what the record says changed nothing (no read); one that
            // differs may be older or newer, so GitHub is asked.
            let refresh = !newer && !on_record.is_some_and(|r| repeats_record(incoming, r));
            effects.push(Effect::Evaluate(Evaluation {
                refresh,
                ..Evaluation::plain(incoming.number, sender)
            }));
        }
        Seen::CheckSuite {
            completed,
            runs,
            head_sha,
            open_with_head,
            listed,
            on_default_branch,
        } => {
            // GitHub creates an empty suite per App on every push; it may never run.
            if !completed || runs == Some(0) {
                return effects;
            }
            effects.push(Effect::RecordCheckSignal(head_sha.clone()));
            let mut numbers = open_with_head.to_vec();
            for n in listed {
                if !numbers.contains(n) {
                    numbers.push(*n);
                }
            }
            effects.extend(
                numbers
                    .into_iter()
                    .map(|n| Effect::Evaluate(Evaluation::checks(n))),
            );
            if on_default_branch {
                effects.push(Effect::WakeTrain);
            }
        }
        Seen::Status {
            sha,
            open_with_head,
            on_default_branch,
        } => {
            effects.push(Effect::RecordCheckSignal(sha.clone()));
            effects.extend(
                open_with_head
                    .iter()
                    .map(|n| Effect::Evaluate(Evaluation::checks(*n))),
            );
            if on_default_branch {
                effects.push(Effect::WakeTrain);
            }
        }
        Seen::Deployment {
            origin,
            open_with_head,
            named,
            deployment,
            sender,
        } => {
            // Gangway's own are already being run; anyone else's is judged by each PR it may
            // concern (the evaluation ignores it unless it is in that PR's environment).
            if origin.is_gangways() {
                return effects;
            }
            let mut numbers: Vec<PrNumber> = open_with_head.to_vec();
            if let Some(n) = named
                && !numbers.contains(&n)
            {
                numbers.push(n);
            }
            effects.extend(numbers.into_iter().map(|n| {
                Effect::Evaluate(Evaluation {
                    adopt: Some(deployment.clone()),
                    ..Evaluation::plain(n, sender)
                })
            }));
        }
        Seen::DeploymentStatus {
            driver,
            env_deployment,
            preview,
            status,
        } => {
            if let Some(id) = env_deployment {
                // An outside deployer ends a long-lived environment's deployment; with the
                // command driver the statuses are our own.
                if driver == DriverKind::External
                    && matches!(status.state.as_str(), "success" | "failure" | "error")
                {
                    effects.push(Effect::EndEnvDeployment {
                        id,
                        state: status.state.clone(),
                    });
                }
                return effects;
            }
            // Statuses on command-driver previews are our own: nothing to follow.
            if let Some((number, DriverKind::External)) = preview {
                effects.push(Effect::Evaluate(Evaluation {
                    external_status: Some(status.clone()),
                    ..Evaluation::plain(number, "deployer")
                }));
            }
        }
        Seen::Push {
            to_default_branch,
            may_touch_policy,
        } => {
            // The default branch moved: the train's quiet period starts again, and a policy it
            // may have changed is read again at the next evaluation.
            if to_default_branch {
                if may_touch_policy {
                    effects.push(Effect::ForgetPolicy);
                }
                effects.push(Effect::WakeTrain);
            }
        }
    }
    effects
}

/// A sweep's evaluation of one PR: named for the sweep, at background priority (it waits for
/// rate-limit budget), nothing to adopt or report.
fn sweep_evaluation(repo: &RepoRef, number: PrNumber, requested_by: &str) -> EvaluatePayload {
    EvaluatePayload {
        repo_id: repo.id,
        installation: repo.installation,
        full_name: repo.full_name.clone(),
        default_branch: Some(repo.default_branch.clone()),
        number,
        requested_by: requested_by.to_owned(),
        refresh: false,
        read_checks: false,
        external_status: None,
        adopt: None,
        evict: None,
        priority: BACKGROUND,
    }
}

/// The reaper's evaluation of a PR with a standing preview, carrying the capacity eviction
/// decided for it, if any. The record is taken as it is (the reaper reads no PR), but the
/// head's checks are read: periodic, background and budgeted, it also heals a missed check
/// event on a head that is not staged yet.
pub fn reaper_evaluation(
    repo: &RepoRef,
    number: PrNumber,
    evict: Option<Eviction>,
) -> EvaluatePayload {
    EvaluatePayload {
        read_checks: true,
        evict,
        ..sweep_evaluation(repo, number, "reaper")
    }
}

/// Whether the reaper skips a PR when an evaluation of it already waits in the queue: a plain
/// one, yes (the waiting one does the same); one carrying an eviction, never (a waiting one
/// would not evict).
pub fn reaper_defers_to_waiting(e: &EvaluatePayload) -> bool {
    e.evict.is_none()
}

/// What happened to a PR while no webhook said so, as the reconciler finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unobserved {
    /// Open on GitHub with a head the record does not have (`new`: no record at all). The
    /// reconciler stores it as GitHub listed it.
    Changed { new: bool },
    /// Open on record, no longer open on GitHub.
    Closed,
}

/// The PRs that changed while unobserved: `open` as GitHub lists them (number, head), against
/// the open ones `on_record`. Open ones first, in GitHub's order, then the closed ones in the
/// record's.
pub fn unobserved(
    open: &[(PrNumber, &CommitSha)],
    on_record: &[(PrNumber, CommitSha)],
) -> Vec<(PrNumber, Unobserved)> {
    let mut found = Vec::new();
    for (number, head) in open {
        match on_record.iter().find(|(n, _)| n == number) {
            Some((_, sha)) if sha == *head => {}
            known => found.push((
                *number,
                Unobserved::Changed {
                    new: known.is_none(),
                },
            )),
        }
    }
    for (number, _) in on_record {
        if !open.iter().any(|(n, _)| n == number) {
            found.push((*number, Unobserved::Closed));
        }
    }
    found
}

/// The reconciler's evaluation of a PR that changed while unobserved. It heals missed
/// webhooks, check events included: it always reads the checks. A changed PR was just stored as
/// GitHub listed it; a closed one is read from GitHub first (the list no longer has it).
pub fn reconciler_evaluation(
    repo: &RepoRef,
    number: PrNumber,
    what: Unobserved,
) -> EvaluatePayload {
    EvaluatePayload {
        refresh: what == Unobserved::Closed,
        read_checks: true,
        ..sweep_evaluation(repo, number, "reconciler")
    }
}

/// Where the redeliverer starts looking, for a sweep whose previous run was at `since_ms`:
/// GitHub's `delivered_at` has whole seconds, so a minute of overlap with that run.
pub fn redelivery_window(since_ms: i64) -> i64 {
    since_ms - 60_000
}

/// Whether GitHub is asked to deliver again one of the deliveries it lists: it failed (no 2xx
/// answer), it is not itself a redelivery, and it falls in [`redelivery_window`]. One Gangway
/// stored after all is never asked for either; the caller checks that last, as it costs a read.
pub fn redeliver(status_code: u16, redelivery: bool, delivered_at_ms: i64, since_ms: i64) -> bool {
    let failed = !(200..300).contains(&status_code);
    failed && !redelivery && delivered_at_ms >= redelivery_window(since_ms)
}

#[cfg(test)]
#[path = "routing_tests.rs"]
mod tests;
