//! The records Gangway keeps about pull requests and their previews: plain data shared by the
//! store (which persists them), the engine (which decides from them) and the executor; and what
//! GitHub reports that the engine judges (checks, ancestry), which the GitHub client decodes.

use serde::{Deserialize, Serialize};

use crate::types::{CommitSha, InstallationId, PrNumber, RepoId};

/// The largest webhook payload GitHub sends (25 MB). Ingress refuses a larger body with 413; the
/// store refuses to inflate a stored payload past it (a damaged row).
pub const MAX_DELIVERY_BYTES: usize = 25 * 1024 * 1024;

/// A repository as Gangway addresses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRef {
    pub id: RepoId,
    pub installation: InstallationId,
    /// `owner/name`.
    pub full_name: String,
    pub default_branch: String,
}

impl RepoRef {
    /// The name without the owner.
    pub fn name(&self) -> &str {
        self.full_name.rsplit('/').next().unwrap_or(&self.full_name)
    }
}

/// A pull request as last seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub repo: RepoRef,
    pub number: PrNumber,
    pub head_sha: CommitSha,
    pub head_ref: String,
    pub is_fork: bool,
    pub draft: bool,
    pub open: bool,
    pub merged: bool,
    pub author: String,
    /// The author is a bot account (GitHub's `type: Bot`, or a login ending in `[bot]`).
    pub author_bot: bool,
    /// GitHub's `updated_at` (RFC 3339) of the state above, to order late events.
    pub gh_updated_at: String,
    /// When Gangway first saw the current head commit (0 when not recorded yet).
    pub head_since_ms: i64,
    /// The title as GitHub last told it (shown on the dashboard; '' when not known).
    pub title: String,
}

/// The sticky comment's bookkeeping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sticky {
    pub comment_id: Option<u64>,
    pub body: Option<String>,
    pub create_attempted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PreviewState {
    /// Recorded; the GitHub deployment may not exist yet.
    Pending,
    /// The driver is running (or, for the external driver, we await its status).
    Deploying,
    Live,
    Failed,
    /// Teardown decided; the driver's teardown has not finished yet.
    TearingDown,
    TornDown,
}

impl PreviewState {
    pub fn as_str(self) -> &'static str {
        match self {
            PreviewState::Pending => "pending",
            PreviewState::Deploying => "deploying",
            PreviewState::Live => "live",
            PreviewState::Failed => "failed",
            PreviewState::TearingDown => "tearing_down",
            PreviewState::TornDown => "torn_down",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => PreviewState::Pending,
            "deploying" => PreviewState::Deploying,
            "live" => PreviewState::Live,
            "failed" => PreviewState::Failed,
            "tearing_down" => PreviewState::TearingDown,
            "torn_down" => PreviewState::TornDown,
            _ => return None,
        })
    }

    /// Still standing somewhere (or about to be): needs a teardown eventually.
    pub fn is_up(self) -> bool {
        matches!(
            self,
            PreviewState::Pending
                | PreviewState::Deploying
                | PreviewState::Live
                | PreviewState::Failed
        )
    }
}

/// Why a preview was torn down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TeardownKind {
    Closed,
    Superseded,
    Unstaged,
    /// Idle longer than the repository's TTL.
    Expired,
    /// The repository had more previews than its capacity.
    Evicted,
    /// Gangway lost access to the repository.
    LostAccess,
    /// An operator ran `gangway teardown`.
    Operator,
}

impl TeardownKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TeardownKind::Closed => "closed",
            TeardownKind::Superseded => "superseded",
            TeardownKind::Unstaged => "unstaged",
            TeardownKind::Expired => "expired",
            TeardownKind::Evicted => "evicted",
            TeardownKind::LostAccess => "lost_access",
            TeardownKind::Operator => "operator",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            TeardownKind::Closed,
            TeardownKind::Superseded,
            TeardownKind::Unstaged,
            TeardownKind::Expired,
            TeardownKind::Evicted,
            TeardownKind::LostAccess,
            TeardownKind::Operator,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// A preview taken down for this reason comes back only by a new commit or `/stage`, not by
    /// the next green check.
    pub fn needs_stage_to_return(self) -> bool {
        !matches!(self, TeardownKind::Closed | TeardownKind::Superseded)
    }
}

/// Which driver stands a preview up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverKind {
    Command,
    External,
}

impl DriverKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DriverKind::Command => "command",
            DriverKind::External => "external",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "command" => Some(DriverKind::Command),
            "external" => Some(DriverKind::External),
            _ => None,
        }
    }
}

/// One preview environment: one commit of one PR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    pub id: i64,
    pub repo_id: RepoId,
    pub pr_number: PrNumber,
    pub sha: CommitSha,
    pub environment: String,
    pub host: String,
    pub driver: DriverKind,
    pub deployment_id: Option<u64>,
    pub create_attempted: bool,
    pub adopted: bool,
    pub state: PreviewState,
    pub last_status: Option<String>,
    pub environment_url: Option<String>,
    pub detail: Option<String>,
    pub log_token: String,
    pub requested_by: String,
    pub created_at: i64,
    pub deployed_at: Option<i64>,
    pub torn_down_at: Option<i64>,
    pub teardown_kind: Option<TeardownKind>,
}

/// A maintainer's `/stage`: approval of exactly one commit of a PR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub sha: CommitSha,
    pub approver: String,
    /// The approver's permission as GitHub answered when the command ran.
    pub permission: String,
    pub comment_url: String,
    pub approved_at: i64,
}

/// A moment GitHub's clock says a commit was a PR's head, in whole seconds since the epoch.
///
/// `exact`: the time GitHub recorded the push that made it the head (the `updated_at` of the
/// `opened` or `synchronize` delivery that reported it). Otherwise a later look (another
/// delivery about the PR, or a fresh read): the commit was the head from at most `at` on, until
/// that look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadSeen {
    pub sha: CommitSha,
    pub at: i64,
    pub exact: bool,
}

/// A GitHub timestamp (RFC 3339, e.g. `2026-12-04T10:00:00Z`) in whole seconds since the epoch;
/// `None` when it is not one.
pub fn github_secs(stamp: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(stamp)
        .ok()
        .map(|t| t.timestamp())
}

/// Who requested a deployment Gangway started by itself (an automatic rollback, the train).
/// Never shown as a mention: `engine::text::requester` names it "Gangway".
pub const GANGWAY_REQUESTER: &str = "gangway";

/// Where a deployment to a long-lived environment (staging, production) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnvState {
    /// Recorded and holding the environment; the GitHub deployment may not exist yet.
    Pending,
    /// The driver is running.
    Deploying,
    /// Deployed; the newest live one is what the environment runs.
    Live,
    Failed,
    /// Was live, since replaced by a newer deployment.
    Inactive,
    /// Accepted, then stopped before it deployed: a hold or a bad mark placed while it waited.
    Stopped,
}

impl EnvState {
    pub fn as_str(self) -> &'static str {
        match self {
            EnvState::Pending => "pending",
            EnvState::Deploying => "deploying",
            EnvState::Live => "live",
            EnvState::Failed => "failed",
            EnvState::Inactive => "inactive",
            EnvState::Stopped => "stopped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            EnvState::Pending,
            EnvState::Deploying,
            EnvState::Live,
            EnvState::Failed,
            EnvState::Inactive,
            EnvState::Stopped,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// Holds the environment: no other deployment may start until it ends.
    pub fn is_running(self) -> bool {
        matches!(self, EnvState::Pending | EnvState::Deploying)
    }
}

/// What started a deployment to an environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnvKind {
    /// `/promote`.
    Promote,
    /// `/rollback`, or an automatic one after a commit was marked bad.
    Rollback,
    /// The timed train.
    Train,
}

impl EnvKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EnvKind::Promote => "promote",
            EnvKind::Rollback => "rollback",
            EnvKind::Train => "train",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [EnvKind::Promote, EnvKind::Rollback, EnvKind::Train]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// One deployment of one commit to a long-lived environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvDeployment {
    pub id: i64,
    pub repo_id: RepoId,
    pub environment: String,
    pub sha: CommitSha,
    pub kind: EnvKind,
    pub requested_by: String,
    pub pr_number: Option<PrNumber>,
    /// Why, for people: "rollback by @ann: abc1234 marked bad".
    pub reason: Option<String>,
    pub state: EnvState,
    /// GitHub's deployment id, once created.
    pub deployment_id: Option<u64>,
    pub create_attempted: bool,
    /// Why it failed or went inactive.
    pub detail: Option<String>,
    pub log_token: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub live_at: Option<i64>,
    pub finished_at: Option<i64>,
}

/// A `/hold` on an environment: nothing deploys there until it is released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub environment: String,
    pub held_by: String,
    pub reason: Option<String>,
    pub held_at: i64,
}

/// A commit marked bad: never deployed again, skipped by rollbacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadSha {
    pub sha: CommitSha,
    /// Where it was found bad.
    pub environment: String,
    pub marked_by: String,
    pub reason: Option<String>,
    pub marked_at: i64,
}

/// Where a deployment's verification is (`verify:` in the policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VerifyState {
    /// Deployed; the command or the checks have not decided yet.
    Running,
    /// Verified: the deployment counts.
    Passed,
    /// The command failed or a check did not pass.
    Failed,
    /// The checks did not all arrive before the policy's `timeout`.
    TimedOut,
}

impl VerifyState {
    pub const ALL: [VerifyState; 4] = [
        VerifyState::Running,
        VerifyState::Passed,
        VerifyState::Failed,
        VerifyState::TimedOut,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VerifyState::Running => "running",
            VerifyState::Passed => "passed",
            VerifyState::Failed => "failed",
            VerifyState::TimedOut => "timed_out",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The verification of one environment deployment, keyed on that deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// `env_deployments.id` of the deployment verified.
    pub env_deployment_id: i64,
    pub repo_id: RepoId,
    pub environment: String,
    /// GitHub's deployment id, when it exists.
    pub deployment_id: Option<u64>,
    pub sha: CommitSha,
    /// The policy asks for `GANGWAY_VERIFY_COMMAND`.
    pub command: bool,
    /// The checks the policy names, as written (`smoke/production`).
    pub checks: Vec<String>,
    /// How the command ended, once it ran: `Some(true)` passed.
    pub command_passed: Option<bool>,
    pub state: VerifyState,
    /// Why it failed, for people.
    pub detail: Option<String>,
    pub started_at: i64,
    /// When checks that have not arrived count as failed.
    pub deadline: i64,
    pub finished_at: Option<i64>,
}

/// An author's answer in a sign-off round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignoffAnswer {
    /// `/good`: the change works where it runs now.
    Good,
    /// `/bad`: it does not; the commit is marked bad.
    Bad,
}

impl SignoffAnswer {
    pub fn as_str(self) -> &'static str {
        match self {
            SignoffAnswer::Good => "good",
            SignoffAnswer::Bad => "bad",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [SignoffAnswer::Good, SignoffAnswer::Bad]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// One pull request's place in the sign-off round of a commit going to production.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signoff {
    /// The commit the train carries to production.
    pub sha: CommitSha,
    pub pr_number: PrNumber,
    /// The pull request's author: the only one whose `/good` counts.
    pub author: String,
    pub asked_at: i64,
    /// The question on the pull request, once posted.
    pub comment_id: Option<u64>,
    pub answer: Option<SignoffAnswer>,
    pub answered_by: Option<String>,
    pub reason: Option<String>,
    pub answered_at: Option<i64>,
    /// Its pull request was told that the round timed out and stopped the train.
    pub stop_told: bool,
}

/// Who holds a host: one pull request's previews (all its commits' previews may use the same
/// host), or one long-lived environment of a repository. At most one holder per host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostHolder {
    Preview { repo: RepoId, number: PrNumber },
    Environment { repo: RepoId, environment: String },
}

impl HostHolder {
    /// The holder of a preview's host: its pull request.
    pub fn of_preview(p: &Preview) -> HostHolder {
        HostHolder::Preview {
            repo: p.repo_id,
            number: p.pr_number,
        }
    }

    /// The repository of the holder.
    pub fn repo(&self) -> RepoId {
        match self {
            HostHolder::Preview { repo, .. } | HostHolder::Environment { repo, .. } => *repo,
        }
    }
}

/// One check run or commit status as GitHub reports it for a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckItem {
    /// Check run name or status context.
    pub name: String,
    /// Who reported it.
    pub source: CheckSource,
    pub outcome: Outcome,
}

/// Who reported a check: an App's check run, or a commit status (which names no App: anyone
/// with access to statuses can post one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckSource {
    /// A check run of the App with this slug (`github-actions`).
    App(String),
    /// A check run whose App GitHub did not name.
    UnknownApp,
    /// A commit status.
    Status,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Pending,
    /// With GitHub's word for it (`failure`, `timed_out`, `error`, …).
    Failed(String),
}

impl Outcome {
    /// A check run's `status` and `conclusion`. Success, neutral and skipped pass.
    pub fn of_check_run(status: &str, conclusion: Option<&str>) -> Outcome {
        if status != "completed" {
            return Outcome::Pending;
        }
        match conclusion {
            Some("success" | "neutral" | "skipped") => Outcome::Passed,
            Some(other) => Outcome::Failed(other.to_owned()),
            None => Outcome::Pending,
        }
    }

    /// A commit status's `state` (the latest per context).
    pub fn of_status(state: &str) -> Outcome {
        match state {
            "success" => Outcome::Passed,
            "pending" => Outcome::Pending,
            other => Outcome::Failed(other.to_owned()),
        }
    }
}

/// GitHub's compare `status` of the environment's current commit (base) against ours (head).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ancestry {
    Identical,
    Ahead,
    Behind,
    Diverged,
}

impl Ancestry {
    /// GitHub's word; `None` for anything else.
    pub fn parse(status: &str) -> Option<Ancestry> {
        Some(match status {
            "identical" => Ancestry::Identical,
            "ahead" => Ancestry::Ahead,
            "behind" => Ancestry::Behind,
            "diverged" => Ancestry::Diverged,
            _ => return None,
        })
    }
}

// Facts a job carries from the event that caused it to the evaluation that acts on it: plain
// data, read by the engine (engine::deployer, engine::capacity) and stored in job payloads.

/// A status an outside deployer posted on a deployment we follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalStatus {
    pub deployment_id: u64,
    pub state: String,
    pub environment_url: Option<String>,
    pub description: Option<String>,
}

/// A deployment someone else created in a PR's environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adoption {
    pub deployment_id: u64,
    pub sha: CommitSha,
    pub environment: String,
    pub creator: String,
    /// An App or a bot account made it (no collaborator permission to ask about).
    #[serde(default)]
    pub automation: bool,
}

/// The reaper's capacity decision for one preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Eviction {
    pub preview_id: i64,
    pub max_previews: u32,
    /// Not over capacity: the preview's slot was given to another pull request.
    #[serde(default)]
    pub slot_taken: Option<SlotTaken>,
}

/// A slot (`preview.slots`) given to another pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotTaken {
    pub slot: String,
    pub by: PrNumber,
}

/// Who holds one slot of a repository's pool (`preview.slots`), and when it was last deployed
/// to (or given): the least recently deployed is the one another pull request takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotHolder {
    pub slot: String,
    pub pr_number: PrNumber,
    pub deployed_at: i64,
}

/// How far the code a driver run deploys is trusted, which decides the variables the operator
/// passes through to it (`driver::PassEnv::for_trust`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// A preview of a pull request whose head is in the repository itself.
    SameRepository,
    /// A preview of a pull request from a fork (deployed only once a maintainer approved it).
    Fork,
    /// A long-lived environment (staging, production): a merged commit.
    Environment,
}

/// Where a queued promotion stands (`promotion_queue.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueState {
    /// Waiting for its environment (or target) to be free, or for a hold to be lifted.
    Waiting,
    /// Its deployment was claimed (`env_deployment_id`).
    Started,
    /// A newer promotion of the same environment took its place.
    Superseded,
    /// Withdrawn by `/cancel`.
    Cancelled,
    /// Not started: another target of the same promotion failed under `on_target_failure: halt`.
    Halted,
    /// Its turn came and a promotion rule refused it then.
    Refused,
}

impl QueueState {
    pub fn as_str(self) -> &'static str {
        match self {
            QueueState::Waiting => "waiting",
            QueueState::Started => "started",
            QueueState::Superseded => "superseded",
            QueueState::Cancelled => "cancelled",
            QueueState::Halted => "halted",
            QueueState::Refused => "refused",
        }
    }

    pub fn parse(s: &str) -> Option<QueueState> {
        Some(match s {
            "waiting" => QueueState::Waiting,
            "started" => QueueState::Started,
            "superseded" => QueueState::Superseded,
            "cancelled" => QueueState::Cancelled,
            "halted" => QueueState::Halted,
            "refused" => QueueState::Refused,
            _ => return None,
        })
    }
}

/// One promotion in an environment's queue: one commit for one environment or one target.
/// The targets of one `/promote production` share a `batch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedPromotion {
    pub id: i64,
    pub repo_id: RepoId,
    /// The environment as the policy names it (`production`), whose targets share a limit.
    pub family: String,
    /// What is deployed: the environment, or a target's GitHub environment (`production-au`).
    pub environment: String,
    pub sha: CommitSha,
    pub pr_number: Option<PrNumber>,
    pub requested_by: String,
    /// `--force` was given (past a bad mark).
    pub force: bool,
    pub batch: String,
    pub state: QueueState,
    /// Why it ended without starting, for people.
    pub reason: Option<String>,
    pub env_deployment_id: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}
