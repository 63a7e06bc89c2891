//! Promotion rules: whether a commit may be deployed to a long-lived environment, and if not,
//! which rule refused it and what would make it pass.
//!
//! Owns the promotion rules (docs/commands.md) for `/promote`, `/rollback` and the train: the
//! policy is valid; the environment is known, not held, not busy; the commit is not marked bad
//! (unless forced); its preview succeeded; its checks are green; it equals or descends from what
//! the environment runs now. A rollback needs something running and an earlier commit that
//! succeeded there ([`rollback`]). Also which environment a command names ([`environment_of`],
//! [`split_environment`]), and what an accepted command answers. Pure: the executor gathers the
//! facts (store, GitHub) and carries out the verdict; nothing here reads the store, a clock or
//! GitHub. The whole sequence of gates is [`next`], which `/promote` and the train both follow:
//! it asks for the commit's checks and for GitHub's compare only once the cheaper rules hold,
//! because each costs GitHub calls.

use std::borrow::Cow;

use crate::engine::text;
use crate::engine::{CheckSummary, PolicyStatus};
use crate::model::{BadSha, EnvDeployment, Hold, Preview, PreviewState};
use crate::policy::{Policy, Trigger};
use crate::types::CommitSha;

/// How the commit's preview went, as far as promotion cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreviewOutcome {
    /// No preview of this commit was ever recorded.
    NeverStaged,
    /// Recorded, still on its way (the state's name, e.g. `deploying`).
    InProgress(&'static str),
    /// The deployment failed; GitHub's or the driver's reason when known.
    Failed(Option<String>),
    /// It went live (it may have been torn down since).
    Succeeded,
    /// Not needed: the commit comes from the default branch (the train), where the previous
    /// environment's success stands in for a preview.
    NotRequired,
}

// GitHub's compare status: plain data, in the model (the GitHub client decodes into it).
pub use crate::model::Ancestry;

impl PreviewOutcome {
    /// How the preview on record for the commit went. A preview torn down since (closed,
    /// expired) counts if it ever went live.
    pub fn of(preview: Option<&Preview>) -> PreviewOutcome {
        let Some(p) = preview else {
            return PreviewOutcome::NeverStaged;
        };
        match p.state {
            PreviewState::Live => PreviewOutcome::Succeeded,
            PreviewState::Failed => PreviewOutcome::Failed(p.detail.clone()),
            PreviewState::Pending | PreviewState::Deploying => {
                PreviewOutcome::InProgress(p.state.as_str())
            }
            PreviewState::TearingDown | PreviewState::TornDown => {
                if p.deployed_at.is_some() {
                    PreviewOutcome::Succeeded
                } else {
                    PreviewOutcome::NeverStaged
                }
            }
        }
    }
}

/// The facts one promotion is judged on.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The target environment as asked for.
    pub environment: &'a str,
    /// The policy's environments, in order.
    pub known: &'a [String],
    pub sha: &'a CommitSha,
    /// `--force`: promote a commit marked bad.
    pub force: bool,
    pub preview: &'a PreviewOutcome,
    /// The commit's checks (required ones only when the policy names them); `None` while they
    /// are not read yet, which skips the check rules (reading them costs GitHub calls, worth
    /// making only once the cheaper rules hold).
    pub checks: Option<&'a CheckSummary>,
    /// Whether at least one check must have reported (the policy does not stage on open).
    pub checks_required: bool,
    pub hold: Option<&'a Hold>,
    /// A deployment into the environment still running.
    pub running: Option<&'a EnvDeployment>,
    pub bad: Option<&'a BadSha>,
}

/// Why a promotion is refused. `Display` is the answer a maintainer reads: the rule, then the
/// way out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "there is no environment {} here; this repository promotes to {}. Name one of \
         them, or add it under `environments:` in .github/gangway.yml.",
        text::code(.name), list(.known)
    )]
    UnknownEnvironment { name: String, known: Vec<String> },
    #[error("{} is held{}: nothing is promoted into it until someone with enough access comments **/unhold{}**.", env(.environment), held_by(.hold), unhold_arg(.environment, .production))]
    Held {
        environment: String,
        hold: Box<Hold>,
        production: bool,
    },
    #[error(
        "{} is busy: {} is still running. Wait for it to finish, then promote again.",
        env(.environment), describe_running(.running)
    )]
    Busy {
        environment: String,
        running: Box<EnvDeployment>,
    },
    #[error(
        "commit `{}` is marked bad ({}). Fix forward with a new commit, or promote it anyway \
         with **/promote {} --force**.",
        .bad.sha.short(), marked(.bad), env(.environment)
    )]
    Bad {
        environment: String,
        bad: Box<BadSha>,
    },
    #[error(
        "commit `{}` was never staged: only a commit whose preview succeeded can be promoted. \
         Stage it (its checks going green, or **/stage**), then promote.",
        .sha.short()
    )]
    NeverStaged { sha: CommitSha },
    #[error(
        "the preview of commit `{}` has not succeeded yet (it is {state}): wait for it to go \
         live, then promote.",
        .sha.short()
    )]
    PreviewInProgress { sha: CommitSha, state: &'static str },
    #[error(
        "the preview of commit `{}` failed{}: push a fix, let it stage, then promote.",
        .sha.short(), detail_text(.detail)
    )]
    PreviewFailed {
        sha: CommitSha,
        detail: Option<String>,
    },
    #[error(
        "checks on commit `{}` are not green: {}. Fix them (or re-run them), then promote.",
        .sha.short(), failed_list(.failed)
    )]
    ChecksFailed {
        sha: CommitSha,
        failed: Vec<(String, String)>,
    },
    #[error(
        "checks on commit `{}` are still running: {}. Wait for them, then promote.",
        .sha.short(), name_list(.pending)
    )]
    ChecksPending {
        sha: CommitSha,
        pending: Vec<String>,
    },
    #[error(
        "no check has reported on commit `{}`: promotion needs green checks. Run them, then \
         promote.",
        .sha.short()
    )]
    NoChecks { sha: CommitSha },
    #[error(
        "{} runs `{}`, which this branch does not contain ({}): update the branch, \
         let it stage, then promote.",
        env(.environment), .current.short(), ancestry_word(*.ancestry)
    )]
    NotDescendant {
        environment: String,
        current: CommitSha,
        ancestry: Ancestry,
    },
    #[error("nothing runs in {} yet: there is nothing to roll back.", env(.environment))]
    NothingRunning { environment: String },
    #[error(
        "{} runs `{}` and no earlier commit succeeded there: there is nothing to \
         roll back to. Promote a fix instead.",
        env(.environment), .current.short()
    )]
    NothingToRollBackTo {
        environment: String,
        current: CommitSha,
    },
    #[error(
        "commit {} never ran in {}: a rollback goes only to a commit that succeeded \
         there. Name one that did (GitHub's deployment history of {} lists them), or leave \
         the commit out for the last good one.",
        text::code_capped(.named, 40), env(.environment), env(.environment)
    )]
    NeverRanThere { environment: String, named: String },
    #[error("{} already runs `{}`: there is nothing to roll back.", env(.environment), .sha.short())]
    AlreadyRuns { environment: String, sha: CommitSha },
}

impl Refusal {
    /// The rule's short name, for the audit trail and metrics.
    pub fn rule(&self) -> &'static str {
        match self {
            Refusal::UnknownEnvironment { .. } => "unknown environment",
            Refusal::Held { .. } => "held",
            Refusal::Busy { .. } => "busy",
            Refusal::Bad { .. } => "bad commit",
            Refusal::NeverStaged { .. } => "never staged",
            Refusal::PreviewInProgress { .. } => "preview not live",
            Refusal::PreviewFailed { .. } => "preview failed",
            Refusal::ChecksFailed { .. } => "checks failed",
            Refusal::ChecksPending { .. } => "checks pending",
            Refusal::NoChecks { .. } => "no checks",
            Refusal::NotDescendant { .. } => "not a descendant",
            Refusal::NothingRunning { .. } => "nothing running",
            Refusal::NothingToRollBackTo { .. } => "nothing to roll back to",
            Refusal::NeverRanThere { .. } => "never ran there",
            Refusal::AlreadyRuns { .. } => "already runs it",
        }
    }
}

/// Every rule but ancestry, cheapest first.
pub fn check(r: &Request<'_>) -> Result<(), Refusal> {
    known(r.environment, r.known)?;
    if let Some(hold) = r.hold {
        return Err(Refusal::Held {
            environment: r.environment.to_owned(),
            hold: Box::new(hold.clone()),
            production: r.known.last().is_some_and(|p| p == r.environment),
        });
    }
    idle(r.environment, r.running)?;
    if let Some(bad) = r.bad
        && !r.force
    {
        return Err(Refusal::Bad {
            environment: r.environment.to_owned(),
            bad: Box::new(bad.clone()),
        });
    }
    let sha = r.sha.clone();
    match r.preview {
        PreviewOutcome::Succeeded | PreviewOutcome::NotRequired => {}
        PreviewOutcome::NeverStaged => return Err(Refusal::NeverStaged { sha }),
        PreviewOutcome::InProgress(state) => {
            return Err(Refusal::PreviewInProgress { sha, state });
        }
        PreviewOutcome::Failed(detail) => {
            return Err(Refusal::PreviewFailed {
                sha,
                detail: detail.clone(),
            });
        }
    }
    let Some(checks) = r.checks else {
        return Ok(());
    };
    if !checks.failed.is_empty() {
        return Err(Refusal::ChecksFailed {
            sha,
            failed: checks.failed.clone(),
        });
    }
    if !checks.pending.is_empty() {
        return Err(Refusal::ChecksPending {
            sha,
            pending: checks.pending.clone(),
        });
    }
    if r.checks_required && checks.passed.is_empty() {
        return Err(Refusal::NoChecks { sha });
    }
    Ok(())
}

/// The environment is one of the policy's (`environment` spelt as the policy spells it).
fn known(environment: &str, known: &[String]) -> Result<(), Refusal> {
    if known.iter().any(|k| k == environment) {
        Ok(())
    } else {
        Err(Refusal::UnknownEnvironment {
            name: environment.to_owned(),
            known: known.to_vec(),
        })
    }
}

/// No deployment into the environment is still running: one at a time.
fn idle(environment: &str, running: Option<&EnvDeployment>) -> Result<(), Refusal> {
    match running {
        Some(running) => Err(Refusal::Busy {
            environment: environment.to_owned(),
            running: Box::new(running.clone()),
        }),
        None => Ok(()),
    }
}

/// The descendant rule: the commit must equal or contain what the environment runs now.
pub fn check_ancestry(
    environment: &str,
    current: &CommitSha,
    ancestry: Ancestry,
) -> Result<(), Refusal> {
    match ancestry {
        Ancestry::Identical | Ancestry::Ahead => Ok(()),
        Ancestry::Behind | Ancestry::Diverged => Err(Refusal::NotDescendant {
            environment: environment.to_owned(),
            current: current.clone(),
            ancestry,
        }),
    }
}

/// What GitHub's compare of the environment's current commit with ours said, once asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compared {
    NotAsked,
    /// GitHub could not compare them (e.g. a commit it no longer has): not a descendant.
    Unknown,
    Said(Ancestry),
}

/// Everything the gate sequence looks at.
#[derive(Debug, Clone, Copy)]
pub struct Gates<'a> {
    /// The rules' facts; `checks: None` until the sequence asks for them.
    pub request: Request<'a>,
    /// The commit the environment runs now, if any.
    pub current: Option<&'a CommitSha>,
    pub compared: Compared,
}

/// The gate sequence's next step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Every cheaper rule holds: read the commit's checks, then ask again with them.
    ReadChecks,
    /// Every rule but ancestry holds: compare `base` (what the environment runs) with the
    /// commit, then ask again with GitHub's answer.
    Compare {
        base: CommitSha,
    },
    Refuse(Refusal),
    /// Every gate holds: claim the environment.
    Go,
}

/// The gate sequence of a promotion (by `/promote` or the train): the cheap rules, then the
/// checks, then ancestry. The executor asks, finds out what it is told to, and asks again.
pub fn next(g: &Gates<'_>) -> Next {
    if let Err(r) = check(&g.request) {
        return Next::Refuse(r);
    }
    if g.request.checks.is_none() {
        return Next::ReadChecks;
    }
    match g.current {
        Some(current) if current != g.request.sha => {
            let ancestry = match g.compared {
                Compared::NotAsked => {
                    return Next::Compare {
                        base: current.clone(),
                    };
                }
                Compared::Unknown => Ancestry::Diverged,
                Compared::Said(a) => a,
            };
            match check_ancestry(g.request.environment, current, ancestry) {
                Ok(()) => Next::Go,
                Err(r) => Next::Refuse(r),
            }
        }
        _ => Next::Go,
    }
}

/// The facts a `/rollback` is judged on.
#[derive(Debug, Clone, Copy)]
pub struct RollbackFacts<'a> {
    /// The environment as named ([`environment_of`]).
    pub environment: &'a str,
    /// The policy's environments, in order.
    pub known: &'a [String],
    /// A deployment into the environment still running.
    pub running: Option<&'a EnvDeployment>,
    /// What the environment runs now.
    pub current: Option<&'a EnvDeployment>,
    /// The latest deployment of another commit that succeeded there (read only when there is a
    /// `current`); with `named`, the newest deployment of the named commit that went live
    /// there.
    pub last_good: Option<&'a EnvDeployment>,
    /// The commit `/rollback` named (a sha or a prefix), if it named one.
    pub named: Option<&'a str>,
}

/// Where a rollback goes: from the commit the environment runs (which is marked bad) back to
/// the last one that succeeded there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollback {
    pub from: CommitSha,
    pub to: CommitSha,
}

/// Whether `/rollback` may go, and where to: the environment is known and not busy (the same
/// rules and texts as a promotion's), something runs there, and an earlier commit succeeded
/// there. A rollback passes no other gate: it goes back to what was already accepted, and a
/// hold does not stop it (it is the way out of an incident; [`rollback_answer`] says so).
pub fn rollback(f: &RollbackFacts<'_>) -> Result<Rollback, Refusal> {
    known(f.environment, f.known)?;
    idle(f.environment, f.running)?;
    let Some(current) = f.current else {
        return Err(Refusal::NothingRunning {
            environment: f.environment.to_owned(),
        });
    };
    if let Some(named) = f.named {
        let Some(chosen) = f.last_good else {
            return Err(Refusal::NeverRanThere {
                environment: f.environment.to_owned(),
                named: named.to_owned(),
            });
        };
        if chosen.sha == current.sha {
            return Err(Refusal::AlreadyRuns {
                environment: f.environment.to_owned(),
                sha: current.sha.clone(),
            });
        }
    }
    let Some(good) = f.last_good else {
        return Err(Refusal::NothingToRollBackTo {
            environment: f.environment.to_owned(),
            current: current.sha.clone(),
        });
    };
    Ok(Rollback {
        from: current.sha.clone(),
        to: good.sha.clone(),
    })
}

/// Whether `/promote` needs a check to have reported on the commit: not where the policy
/// stages on open, whose previews go live with no check at all.
pub fn promote_needs_checks(policy: &Policy) -> bool {
    policy.preview.trigger != Trigger::OnOpen
}

/// Whether a promotion that passed its gates goes past a bad mark (`--force` on a commit
/// marked bad): the mark is then cleared, and the deployment's record and the answer say so.
pub fn forced(force: bool, bad: Option<&BadSha>) -> bool {
    force && bad.is_some()
}

/// The answer to an accepted `/promote`.
pub fn promote_answer(sha: &CommitSha, environment: &str, forced: bool) -> String {
    format!(
        "promoting commit `{}` to {}{}. GitHub's deployment history shows its \
         progress; this pull request hears when it is live.",
        sha.short(),
        env(environment),
        if forced {
            " (forced past its bad mark)"
        } else {
            ""
        }
    )
}

/// The answer to `/hold`: who holds it and how to lift it (`production`: the environment is
/// production, which `/unhold` names by default).
pub fn hold_answer(environment: &str, hold: &Hold, production: bool) -> String {
    format!(
        "{} is held{}. Nothing is promoted into it, by command or by the train (not even a \
         promotion accepted before the hold), until someone comments **/unhold{}**; a \
         **/rollback** still goes ahead, as the way out of an incident.",
        env(environment),
        held_by(hold),
        unhold_arg(environment, &production)
    )
}

/// The answer to `/unhold`, naming the hold it lifted.
pub fn unhold_answer(environment: &str, was: &Hold) -> String {
    format!(
        "{} is no longer held (it was{}). Promotions into it may go ahead.",
        env(environment),
        held_by(was)
    )
}

/// The answer to an accepted `/rollback`. `hold`: the environment's hold, if it is held: a
/// rollback goes ahead all the same (it is the way out of an incident), and the answer says so
/// (`production`: the environment is production, which `/unhold` names by default).
pub fn rollback_answer(
    environment: &str,
    r: &Rollback,
    hold: Option<&Hold>,
    production: bool,
) -> String {
    let held = hold
        .map(|h| {
            format!(
                " {} is held{}; a rollback goes ahead all the same, as the way out of \
                 an incident, and the hold stays until **/unhold{}**.",
                env(environment),
                held_by(h),
                unhold_arg(environment, &production)
            )
        })
        .unwrap_or_default();
    format!(
        "rolling {} back from `{}` to `{}`, the last commit that succeeded there. `{}` \
         is marked bad: promoting it again needs `--force`.{held}",
        env(environment),
        r.from.short(),
        r.to.short(),
        r.from.short()
    )
}

/// The answer to an accepted `/rollback` to a named commit (the rest as [`rollback_answer`]).
pub fn chosen_rollback_answer(
    environment: &str,
    r: &Rollback,
    hold: Option<&Hold>,
    production: bool,
) -> String {
    rollback_answer(environment, r, hold, production).replacen(
        ", the last commit that succeeded there.",
        ", the commit named, which succeeded there before.",
        1,
    )
}

/// The policy a promotion or rollback follows: nothing is promoted under an invalid one. The
/// error is the reply.
pub fn valid_policy(policy: &PolicyStatus) -> Result<&Policy, String> {
    match policy {
        PolicyStatus::Valid(p) => Ok(p),
        PolicyStatus::Invalid(e) => Err(format!(
            "nothing can be promoted while `.github/gangway.yml` is invalid: {}",
            text::prose(e)
        )),
    }
}

/// The policy `/hold` and `/unhold` name environments by: they work even while the file is
/// invalid (a hold is how a maintainer stops the train while fixing it), with the default
/// environments then.
pub fn hold_policy(policy: &PolicyStatus) -> Cow<'_, Policy> {
    match policy.valid() {
        Some(p) => Cow::Borrowed(p),
        None => Cow::Owned(Policy::default()),
    }
}

/// The environment a command names, spelt as the policy spells it (GitHub's names ignore
/// case); production when none is named. An unknown name is kept for the refusal to quote.
pub fn environment_of(policy: &Policy, named: Option<&str>) -> String {
    match named {
        None => policy.environments.production().to_owned(),
        // An environment, or a target's GitHub environment (`production-au`).
        Some(name) => policy
            .environments
            .resolve(name)
            .map_or_else(|| name.to_owned(), |u| u.name()),
    }
}

/// `/hold staging deploys are broken` → (`staging`, "deploys are broken"); a first word that
/// names no environment is part of the reason, and production is held.
pub fn split_environment(policy: &Policy, text: &str) -> (String, String) {
    let text = text.trim();
    let (first, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    if !first.is_empty() && policy.environments.resolve(first).is_some() {
        (environment_of(policy, Some(first)), rest.trim().to_owned())
    } else {
        (policy.environments.production().to_owned(), text.to_owned())
    }
}

/// Whether the environment's running deployment is the train's own claim of this commit, made
/// by a run that stopped before recording it: the train resumes it instead of refusing.
pub fn train_resumes(running: Option<&EnvDeployment>, sha: &CommitSha) -> bool {
    running.is_some_and(|r| r.kind == crate::model::EnvKind::Train && r.sha == *sha)
}

/// A UTC time for a message, to the minute.
pub fn utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || "an unknown time".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// One line about a hold, for refusals and sticky comments: ` by @ann since … ("reason")`.
/// The reason is whatever the holder wrote: shown as [`text::prose`].
pub fn held_by(hold: &Hold) -> String {
    let reason = hold
        .reason
        .as_deref()
        .map(|r| format!(": \"{}\"", text::prose(r)))
        .unwrap_or_default();
    format!(
        " by {} since {}{reason}",
        text::login(&hold.held_by),
        utc(hold.held_at)
    )
}

/// An environment's name in a sentence: as typed, escaped ([`text::prose`]).
fn env(environment: &str) -> String {
    text::prose_capped(environment, text::NAME_CHARS)
}

fn unhold_arg(environment: &str, production: &bool) -> String {
    if *production {
        String::new()
    } else {
        format!(" {}", env(environment))
    }
}

fn describe_running(d: &EnvDeployment) -> String {
    let from = d
        .pr_number
        .map(|n| format!(" from #{n}"))
        .unwrap_or_default();
    format!(
        "the {} of `{}`{from} requested by {} at {}",
        match d.kind {
            crate::model::EnvKind::Promote => "promotion",
            crate::model::EnvKind::Rollback => "rollback",
            crate::model::EnvKind::Train => "train deployment",
        },
        d.sha.short(),
        text::requester(&d.requested_by),
        utc(d.created_at)
    )
}

fn marked(bad: &BadSha) -> String {
    let reason = bad
        .reason
        .as_deref()
        .map(|r| format!(": {}", text::prose(r)))
        .unwrap_or_default();
    format!(
        "by {} in {} at {}{reason}",
        text::login(&bad.marked_by),
        env(&bad.environment),
        utc(bad.marked_at)
    )
}

fn detail_text(d: &Option<String>) -> String {
    d.as_deref()
        .map(|d| format!(" ({})", text::prose(d)))
        .unwrap_or_default()
}

fn name_list(names: &[String]) -> String {
    let names: Vec<String> = names.iter().map(|n| text::code(n)).collect();
    text::some_of(&names)
}

fn failed_list(failed: &[(String, String)]) -> String {
    let names: Vec<String> = failed
        .iter()
        .map(|(n, c)| text::check_result(n, c))
        .collect();
    text::some_of(&names)
}

fn list(known: &[String]) -> String {
    name_list(known)
}

fn ancestry_word(a: Ancestry) -> &'static str {
    match a {
        Ancestry::Behind => "this commit is behind it",
        Ancestry::Diverged => "the two have diverged",
        Ancestry::Identical | Ancestry::Ahead => "it is contained",
    }
}

#[cfg(test)]
#[path = "promotion_tests.rs"]
mod tests;
