//! The engine: pure decisions about a pull request's preview environments.
//!
//! Owns every rule of "what should exist now": given the PR as GitHub says it is, the repository
//! policy, the head commit's checks and the previews on record, it returns the actions that bring
//! reality in line. It is level-triggered: the same situation always gives the same actions, and
//! once they are carried out, deciding again gives none. Never does I/O, reads a clock or draws a
//! random number: the executor does all of that.
//!
//! Every other rule lives in a submodule beside this one, each with its tests: which PRs an
//! event concerns and which comments run a command (`routing`), who made what a webhook reports
//! (`echo`), the external deployer and adoption (`deployer`), capacity and lost access
//! (`capacity`), promotion's gates (`promotion`), the train (`train`), who may run a command and
//! what `/stage` retries (`command_rules`), the command parser (`commands`), the sticky comment
//! (`sticky`), checks (`checks`), hosts (`hosts`), one preview's record through staging and
//! teardown (`previews`), one environment deployment's (`environments`), and how untrusted
//! text enters a comment (`text`). Here too: when the
//! executor reads the checks (`checks_read`) and what the audit log says of each action
//! (`audit_record`). The executor, processor and timers gather facts and carry out; they never
//! decide.

pub mod capacity;
pub mod checks;
pub mod command_rules;
pub mod commands;
pub mod deployer;
pub mod echo;
pub mod environments;
pub mod hosts;
pub mod links;
pub mod pinning;
pub mod previews;
pub mod promotion;
pub mod routing;
pub mod signoff;
pub mod slots;
pub mod sticky;
pub mod targets;
pub mod team;
pub mod text;
pub mod train;
pub mod verification;

use crate::model::{Approval, DriverKind, Preview, PreviewState, PullRequest, TeardownKind};
use crate::policy::{BotPolicy, ForkPush, Policy, Trigger};
use crate::types::CommitSha;
pub use checks::{CheckItem, CheckSummary, Outcome};

/// The repository policy as read from the default branch.
#[derive(Debug, Clone, PartialEq, Eq)]
// One per evaluation, passed by reference: the size of the valid policy costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum PolicyStatus {
    Valid(Policy),
    /// The file exists but is wrong: nothing is deployed, the reason is shown on the PR.
    Invalid(String),
}

impl PolicyStatus {
    pub fn valid(&self) -> Option<&Policy> {
        match self {
            PolicyStatus::Valid(p) => Some(p),
            PolicyStatus::Invalid(_) => None,
        }
    }
}

/// Everything a decision looks at.
#[derive(Debug, Clone, Copy)]
pub struct Situation<'a> {
    pub pr: &'a PullRequest,
    pub policy: &'a PolicyStatus,
    /// The head commit's checks; `None` when they were not needed (see [`needs_checks`]).
    pub checks: Option<&'a CheckSummary>,
    /// Every preview of this PR, oldest first.
    pub previews: &'a [Preview],
    /// Every `/stage` approval of this PR, oldest first (each names one commit).
    pub approvals: &'a [Approval],
    /// Who paused automatic staging with `/unstage`, if anyone.
    pub unstaged_by: Option<&'a str>,
    /// Now, as the executor's clock says (the engine never reads a clock).
    pub now_ms: i64,
    /// Until when `/keep` pins this PR's preview (unix ms), if it was pinned.
    pub kept_until: Option<i64>,
}

impl Situation<'_> {
    /// The approval of the head commit, if a maintainer gave one.
    pub fn head_approval(&self) -> Option<&Approval> {
        self.approvals
            .iter()
            .rev()
            .find(|a| a.sha == self.pr.head_sha)
    }
}

/// Whether (and why not) the head commit should be staged now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    Closed,
    PolicyInvalid(String),
    /// From a fork: never staged automatically. `previously_approved` names an older commit a
    /// maintainer approved, so the comment can say a new push needs a new approval.
    Fork {
        previously_approved: Option<CommitSha>,
    },
    /// Opened by a bot from the same repository, and the policy says `preview.bots: approve`:
    /// never staged automatically, like a fork's (`previously_approved` as there).
    Bot {
        previously_approved: Option<CommitSha>,
    },
    /// A maintainer tore the preview down with `/unstage`; nothing stages until `/stage`.
    Unstaged(String),
    Draft,
    /// Checks are running (the names of those not finished).
    WaitingForChecks(Vec<String>),
    /// No check or status on the commit yet.
    NoChecks,
    ChecksFailed(Vec<(String, String)>),
    Ready,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeardownReason {
    /// A newer commit's preview is live, or the newer commit cannot be deployed.
    Superseded {
        by: CommitSha,
    },
    Closed {
        merged: bool,
    },
    /// `/unstage` by this user.
    Unstaged {
        by: String,
    },
    /// Idle longer than the repository's TTL.
    Expired {
        ttl_hours: u64,
    },
    /// The repository has more previews than its capacity; this was the least recently deployed.
    Evicted {
        max_previews: u32,
    },
    /// Its slot (`preview.slots`) was given to another pull request: this one was deployed
    /// least recently.
    SlotTaken {
        slot: String,
        by: u64,
    },
    /// Finishing a teardown decided earlier (its reason is on record).
    Resume,
}

impl TeardownReason {
    pub fn describe(&self) -> String {
        match self {
            TeardownReason::Superseded { by } => format!("superseded by {}", by.short()),
            TeardownReason::Closed { merged: true } => "pull request merged".into(),
            TeardownReason::Closed { merged: false } => "pull request closed".into(),
            TeardownReason::Unstaged { by } => format!("unstaged by @{by}"),
            TeardownReason::Expired { ttl_hours } => format!("idle for more than {ttl_hours} h"),
            TeardownReason::Evicted { max_previews } => {
                format!(
                    "evicted: the repository has more than {max_previews} previews and this one was deployed least recently"
                )
            }
            TeardownReason::SlotTaken { slot, by } => {
                format!(
                    "slot {slot} was given to #{by}, this preview being deployed least recently"
                )
            }
            TeardownReason::Resume => "teardown resumed".into(),
        }
    }

    /// The kind recorded on the preview (`None`: keep what is on record).
    pub fn kind(&self) -> Option<TeardownKind> {
        Some(match self {
            TeardownReason::Superseded { .. } => TeardownKind::Superseded,
            TeardownReason::Closed { .. } => TeardownKind::Closed,
            TeardownReason::Unstaged { .. } => TeardownKind::Unstaged,
            TeardownReason::Expired { .. } => TeardownKind::Expired,
            TeardownReason::Evicted { .. } | TeardownReason::SlotTaken { .. } => {
                TeardownKind::Evicted
            }
            TeardownReason::Resume => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Create (or resume) the preview of this commit: deployment, statuses, driver.
    Stage { sha: CommitSha },
    /// Driver teardown, then the deployment marked `inactive`.
    Teardown {
        preview_id: i64,
        reason: TeardownReason,
    },
    /// Delete the PR's GitHub environment (policy option; needs Administration permission).
    DeleteEnvironment { environment: String },
}

/// The audit log's record of one action, written before the action is carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// What the action is about: `commit abc1234`, `preview 7`, `environment pr-3`.
    pub subject: String,
    pub decision: &'static str,
    pub reason: String,
}

/// What the audit log says about `action`; `requested_by` names who caused the evaluation.
pub fn audit_record(action: &Action, requested_by: &str) -> AuditRecord {
    let (subject, decision, reason) = match action {
        Action::Stage { sha } => (
            format!("commit {}", sha.short()),
            "stage",
            format!("ready; requested by {requested_by}"),
        ),
        Action::Teardown { preview_id, reason } => (
            format!("preview {preview_id}"),
            "teardown",
            reason.describe(),
        ),
        Action::DeleteEnvironment { environment } => (
            format!("environment {environment}"),
            "delete",
            "pull request closed; policy deletes environments".into(),
        ),
    };
    AuditRecord {
        subject,
        decision,
        reason,
    }
}

/// A torn-down head preview comes back by itself only if it went for a reason that no longer
/// holds (the PR was closed and reopened); expired, evicted, unstaged or operator-removed
/// previews need a maintainer's `/stage` given after they went.
fn may_return(s: &Situation<'_>, p: &Preview) -> bool {
    if p.state != PreviewState::TornDown {
        return false;
    }
    match p.teardown_kind {
        Some(kind) if kind.needs_stage_to_return() => s
            .head_approval()
            .is_some_and(|a| a.approved_at >= p.torn_down_at.unwrap_or(i64::MAX)),
        _ => true,
    }
}

/// When the head preview was last made fresh: deployed, or approved again with `/stage`.
fn last_activity(s: &Situation<'_>, p: &Preview) -> i64 {
    let approved = s.head_approval().map_or(0, |a| a.approved_at);
    p.deployed_at.unwrap_or(p.created_at).max(approved)
}

/// When the head preview will expire under the policy's TTL, if it is live: a `/keep` pin
/// moves it to the pin's end when that is later.
pub fn expires_at(s: &Situation<'_>) -> Option<i64> {
    let policy = s.policy.valid()?;
    let head = s
        .previews
        .iter()
        .find(|p| p.sha == s.pr.head_sha && p.state == PreviewState::Live)?;
    let ttl = i64::try_from(policy.preview.ttl.as_millis()).unwrap_or(i64::MAX / 4);
    let idle = last_activity(s, head).saturating_add(ttl);
    Some(s.kept_until.map_or(idle, |k| k.max(idle)))
}

/// A stage that was cut short (the process died mid-deploy). Decisions run one at a time per PR,
/// so a command-driver preview still pending or deploying when deciding is nobody's work in
/// progress. An external deployer's "deploying" is its own business: we wait for its status.
fn interrupted(p: &Preview) -> bool {
    match p.state {
        PreviewState::Pending => true,
        PreviewState::Deploying => p.driver == DriverKind::Command,
        _ => false,
    }
}

/// Whether the PR was opened by a bot account (dependabot, renovate): GitHub's `type: Bot`
/// where it was read, or a login ending in `[bot]`, which no person's login can.
pub fn by_bot(pr: &PullRequest) -> bool {
    pr.author_bot || echo::is_bot_login(&pr.author)
}

/// Whether the PR's head deploys only with a maintainer's `/stage` of that exact commit: it
/// comes from a fork, or a bot opened it and the policy says `preview.bots: approve`.
pub fn needs_approval(pr: &PullRequest, policy: &Policy) -> bool {
    pr.is_fork || (by_bot(pr) && policy.preview.bots == BotPolicy::Approve)
}

/// Whether deciding needs the head commit's checks (so the executor fetches them only then).
/// The situation's own `checks` are not looked at.
pub fn needs_checks(s: &Situation<'_>) -> bool {
    let pr = s.pr;
    let Some(policy) = s.policy.valid() else {
        return false;
    };
    let head_staged = s
        .previews
        .iter()
        .any(|p| p.sha == pr.head_sha && p.state != PreviewState::TornDown);
    pr.open
        && s.unstaged_by.is_none()
        && s.head_approval().is_none()
        && !needs_approval(pr, policy)
        && (!pr.draft || policy.preview.drafts)
        && policy.preview.trigger == Trigger::Checks
        && !head_staged
}

/// Whether the executor reads the head commit's checks before deciding ([`checks_read`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksRead {
    /// The decision does not depend on them.
    Skip,
    /// Read them now.
    Read,
    /// Read them only if a check has reported on the head commit (a check event was seen);
    /// otherwise the gate says "waiting for checks" until the check event that comes when one
    /// finishes.
    IfSignalled,
}

/// Whether to read the head commit's checks: only when the decision needs them, and then
/// always if `asked` (a check event, the reconciler or a command asks for a fresh look),
/// else only once some check has reported on the commit.
pub fn checks_read(s: &Situation<'_>, asked: bool) -> ChecksRead {
    if !needs_checks(s) {
        ChecksRead::Skip
    } else if asked {
        ChecksRead::Read
    } else {
        ChecksRead::IfSignalled
    }
}

/// The gate of the head commit.
pub fn gate(s: &Situation<'_>) -> Gate {
    let pr = s.pr;
    if !pr.open {
        return Gate::Closed;
    }
    let policy = match s.policy {
        PolicyStatus::Invalid(e) => return Gate::PolicyInvalid(e.clone()),
        PolicyStatus::Valid(p) => p,
    };
    if let Some(by) = s.unstaged_by {
        return Gate::Unstaged(by.to_owned());
    }
    // A maintainer's /stage of exactly this commit: deploy, whatever checks or draft say.
    if s.head_approval().is_some() {
        return Gate::Ready;
    }
    if needs_approval(pr, policy) {
        let previously_approved = s.approvals.last().map(|a| a.sha.clone());
        return if pr.is_fork {
            Gate::Fork {
                previously_approved,
            }
        } else {
            Gate::Bot {
                previously_approved,
            }
        };
    }
    if pr.draft && !policy.preview.drafts {
        return Gate::Draft;
    }
    if policy.preview.trigger == Trigger::OnOpen {
        return Gate::Ready;
    }
    match s.checks {
        None => Gate::WaitingForChecks(Vec::new()),
        Some(c) if !c.failed.is_empty() => Gate::ChecksFailed(c.failed.clone()),
        Some(c) if !c.pending.is_empty() => Gate::WaitingForChecks(c.pending.clone()),
        Some(c) if c.passed.is_empty() => Gate::NoChecks,
        Some(_) => Gate::Ready,
    }
}

/// The actions that bring this PR's previews in line with the situation.
pub fn decide(s: &Situation<'_>) -> Vec<Action> {
    let pr = s.pr;
    let mut actions = Vec::new();
    if !pr.open {
        let reason = TeardownReason::Closed { merged: pr.merged };
        for p in s
            .previews
            .iter()
            .filter(|p| p.state.is_up() || p.state == PreviewState::TearingDown)
        {
            actions.push(Action::Teardown {
                preview_id: p.id,
                reason: reason.clone(),
            });
        }
        if let (false, Some(policy)) = (actions.is_empty(), s.policy.valid())
            && policy.preview.delete_environment
        {
            actions.push(Action::DeleteEnvironment {
                environment: policy.preview.environment.render(pr.number.0),
            });
        }
        return actions;
    }

    // A teardown that was started finishes, whatever else changed since.
    for p in s
        .previews
        .iter()
        .filter(|p| p.state == PreviewState::TearingDown)
    {
        actions.push(Action::Teardown {
            preview_id: p.id,
            reason: TeardownReason::Resume,
        });
    }

    let gate = gate(s);
    if let Gate::Unstaged(by) = &gate {
        for p in s.previews.iter().filter(|p| p.state.is_up()) {
            actions.push(Action::Teardown {
                preview_id: p.id,
                reason: TeardownReason::Unstaged { by: by.clone() },
            });
        }
        return actions;
    }
    let head = s.previews.iter().find(|p| p.sha == pr.head_sha);
    let head_state = head.map(|p| p.state);
    if head.is_some_and(interrupted)
        || (gate == Gate::Ready && (head_state.is_none() || head.is_some_and(|p| may_return(s, p))))
    {
        actions.push(Action::Stage {
            sha: pr.head_sha.clone(),
        });
    }

    // Older commits' previews keep serving until the head's is live, or it is clear that the
    // head cannot be deployed (failed checks, failed deploy): reviewers keep a working link.
    // A fork's (or an approve-only bot's) new, unapproved commit cannot deploy until a
    // maintainer looks; whether the old approved preview keeps serving meanwhile is the
    // repository's choice (`forks.on_push`).
    let fork_teardown = matches!(gate, Gate::Fork { .. } | Gate::Bot { .. })
        && s.policy
            .valid()
            .is_some_and(|p| p.forks.on_push == ForkPush::Teardown);
    let head_cannot_deploy = matches!(gate, Gate::ChecksFailed(_))
        || head_state == Some(PreviewState::Failed)
        || fork_teardown;
    let replace_old = head_state == Some(PreviewState::Live) || head_cannot_deploy;
    if let (Some(policy), Some(expiry)) = (s.policy.valid(), expires_at(s))
        && s.now_ms >= expiry
        && let Some(p) = head
    {
        let ttl_hours = policy.preview.ttl.as_secs() / 3600;
        actions.push(Action::Teardown {
            preview_id: p.id,
            reason: TeardownReason::Expired { ttl_hours },
        });
    }
    // A newer head that never goes live (checks that never finish) does not keep the old
    // preview forever: it goes after the grace period.
    let grace = s.policy.valid().map_or(i64::MAX, |p| {
        i64::try_from(p.preview.superseded_grace.as_millis()).unwrap_or(i64::MAX)
    });
    let grace_over = pr.head_since_ms > 0 && s.now_ms.saturating_sub(pr.head_since_ms) >= grace;
    let replace_old = replace_old || grace_over;
    for p in s.previews.iter().filter(|p| p.sha != pr.head_sha) {
        if replace_old && p.state.is_up() {
            actions.push(Action::Teardown {
                preview_id: p.id,
                reason: TeardownReason::Superseded {
                    by: pr.head_sha.clone(),
                },
            });
        }
    }
    actions
}

#[cfg(test)]
mod test_fixtures;

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
