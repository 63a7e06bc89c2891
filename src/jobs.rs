//! The job catalogue: every kind of durable job, its payload, its serialization key, and the
//! states a job and a delivery go through, each with the one name it is stored under.
//!
//! Owns: the stored names (`evaluate`, `queued`, `processed`, …), the key formats (`{repo}#{pr}`,
//! `{repo}#env:{name}`, …) and the payload types' encoding. The names and formats are part of
//! the database: rows written by earlier versions must keep decoding, so a name here never
//! changes. Never stores, claims or runs a job (that is `store` and `queue`), and never decides
//! what a job does (that is the executor).

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use crate::model::{Adoption, Eviction, ExternalStatus};
use crate::model::{EnvDeployment, RepoRef};
use crate::types::{DeliveryId, InstallationId, PrNumber, RepoId};

/// Priority of background work started by timers: it yields to webhooks and commands (0).
pub const BACKGROUND: i64 = 1;

/// Defines a closed set of names stored in the database: `as_str` and `parse` come from the one
/// list, so the two directions cannot drift apart.
macro_rules! stored_names {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name stored in the database.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The value stored under `s`, if it is one of ours.
            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

stored_names!(
    /// What a job does; the handler dispatches on it.
    JobKind {
        /// Decode and record a stored webhook delivery (never calls GitHub).
        Delivery = "delivery",
        /// Bring one pull request's previews in line.
        Evaluate = "evaluate",
        /// A maintainer's command from a PR comment.
        Command = "command",
        /// Carry out one long-lived environment deployment.
        EnvDeploy = "env_deploy",
        /// Compare every installation with GitHub; queues one `ReconcileRepo` each.
        Reconcile = "reconcile",
        /// Compare one repository's open pull requests with GitHub.
        ReconcileRepo = "reconcile_repo",
        /// Tear a preview down with the driver only (GitHub can no longer be told).
        OfflineTeardown = "offline_teardown",
        /// Ask GitHub to resend failed deliveries.
        Redeliver = "redeliver",
        /// Take the next step of a repository's train.
        Train = "train",
        /// Delete what is older than the retention period (deliveries, finished jobs, …).
        Purge = "purge",
        /// Start the queued promotions of one environment (and its targets) that may start.
        PromotionQueue = "promotion_queue",
    }
);

stored_names!(
    /// Where a job is in its lifecycle: `queued → running → done | queued (retry) | dead`.
    JobState {
        Queued = "queued",
        Running = "running",
        Done = "done",
        Dead = "dead",
    }
);

stored_names!(
    /// How a stored webhook delivery ended, as the deliveries table and operators see it.
    DeliveryOutcome {
        /// Stored with its job; not processed yet.
        Queued = "queued",
        /// Stored without a job (an event Gangway does not handle, or its own echo), or decoded
        /// and found to concern nothing.
        Ignored = "ignored",
        /// Decoded, recorded and routed.
        Processed = "processed",
        /// Could not be read (the reason is in the detail).
        Failed = "failed",
    }
);

/// A stored job kind this version does not know (a row from a newer version, or damage). The
/// queue marks such a job dead with this as the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown job kind {0:?}")]
pub struct UnknownJobKind(pub String);

impl JobKind {
    /// The kind stored under `s`; an unknown one is a typed error, never a guess.
    pub fn from_stored(s: &str) -> Result<JobKind, UnknownJobKind> {
        JobKind::parse(s).ok_or_else(|| UnknownJobKind(s.to_owned()))
    }
}

/// A job's serialization key: jobs with the same key never run at the same time. Every format
/// is built here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobKey(String);

impl JobKey {
    /// Everything about one pull request: its deliveries, evaluations, commands and teardowns.
    pub fn pull(repo: RepoId, number: PrNumber) -> JobKey {
        JobKey(format!("{repo}#{number}"))
    }

    /// A repository-wide delivery (push, check suite, …).
    pub fn repository(repo: RepoId) -> JobKey {
        JobKey(format!("{repo}"))
    }

    /// One long-lived environment of a repository.
    pub fn environment(repo: RepoId, environment: &str) -> JobKey {
        JobKey(format!("{repo}#env:{environment}"))
    }

    /// The promotion queue of one long-lived environment (its targets share it).
    pub fn promotion_queue(repo: RepoId, environment: &str) -> JobKey {
        JobKey(format!("{repo}#queue:{environment}"))
    }

    /// A repository's train.
    pub fn train(repo: RepoId) -> JobKey {
        JobKey(format!("{repo}#train"))
    }

    /// The reconciliation of one repository.
    pub fn reconcile_repo(repo: RepoId) -> JobKey {
        JobKey(format!("reconcile:{repo}"))
    }

    /// An installation-wide delivery (installation events).
    pub fn installation(installation: u64) -> JobKey {
        JobKey(format!("installation:{installation}"))
    }

    /// A delivery about nothing narrower: serialized on itself only.
    pub fn delivery(delivery: &DeliveryId) -> JobKey {
        JobKey(format!("delivery:{delivery}"))
    }

    /// The one reconciliation of all installations.
    pub fn reconcile() -> JobKey {
        JobKey("reconcile".to_owned())
    }

    /// The one redelivery sweep.
    pub fn redeliver() -> JobKey {
        JobKey("redeliver".to_owned())
    }

    /// The one retention purge.
    pub fn purge() -> JobKey {
        JobKey("purge".to_owned())
    }

    /// A key as the database holds it (claimed and listed jobs), or any key a test needs.
    pub fn from_stored(key: impl Into<String>) -> JobKey {
        JobKey(key.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A payload that does not encode or decode: permanent, since it will fail the same way again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobPayloadError {
    #[error("could not encode the {kind} job's payload: {message}")]
    Encode { kind: JobKind, message: String },
    #[error("bad {kind} job payload: {message}")]
    Decode { kind: JobKind, message: String },
}

/// A job's payload: what kind of job carries it, on which key, and how it is stored (JSON,
/// unless the kind stored something else before).
pub trait JobPayload: Serialize + DeserializeOwned {
    const KIND: JobKind;

    fn key(&self) -> JobKey;

    /// 0 for webhook and command work; [`BACKGROUND`] for work that yields to it.
    fn priority(&self) -> i64 {
        0
    }

    fn encode(&self) -> Result<String, JobPayloadError> {
        serde_json::to_string(self).map_err(|e| JobPayloadError::Encode {
            kind: Self::KIND,
            message: e.to_string(),
        })
    }

    fn decode(stored: &str) -> Result<Self, JobPayloadError> {
        serde_json::from_str(stored).map_err(|e| decode_error(Self::KIND, e))
    }
}

fn decode_error(kind: JobKind, e: impl fmt::Display) -> JobPayloadError {
    JobPayloadError::Decode {
        kind,
        message: e.to_string(),
    }
}

/// A job to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub kind: JobKind,
    /// Jobs with the same key never run at the same time.
    pub key: JobKey,
    pub payload: String,
    /// When to run it first; `None` = now.
    pub run_at_ms: Option<i64>,
    /// 0 for webhooks and commands; higher for background (timer) work, which yields to them.
    pub priority: i64,
}

impl NewJob {
    /// The job that carries `payload`: the one way a payload becomes a job.
    pub fn of<P: JobPayload>(payload: &P) -> Result<NewJob, JobPayloadError> {
        Ok(NewJob {
            kind: P::KIND,
            key: payload.key(),
            payload: payload.encode()?,
            run_at_ms: None,
            priority: payload.priority(),
        })
    }

    /// The same job, first run at `run_at_ms` instead of now.
    pub fn at(self, run_at_ms: i64) -> NewJob {
        NewJob {
            run_at_ms: Some(run_at_ms),
            ..self
        }
    }
}

/// A claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub kind: JobKind,
    pub key: JobKey,
    pub payload: String,
    /// Including this one.
    pub attempts: i64,
    pub max_attempts: i64,
    pub delivery_id: Option<String>,
}

impl Job {
    /// The job's payload, read as the kind it is.
    pub fn decode<P: JobPayload>(&self) -> Result<P, JobPayloadError> {
        if self.kind != P::KIND {
            return Err(decode_error(
                P::KIND,
                format_args!("the job is a {} job", self.kind),
            ));
        }
        P::decode(&self.payload)
    }
}

/// A job row for operators (`jobs --dead`) and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    pub id: i64,
    /// As stored: an unknown kind is still listed, so an operator sees it.
    pub kind: String,
    pub key: String,
    pub state: JobState,
    pub attempts: i64,
    pub run_at: i64,
    pub last_error: Option<String>,
    pub delivery_id: Option<String>,
}

impl JobRecord {
    pub fn kind(&self) -> Result<JobKind, UnknownJobKind> {
        JobKind::from_stored(&self.kind)
    }
}

// ---------------------------------------------------------------------------------------------
// Payloads

/// Process one stored delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryPayload {
    pub delivery_id: String,
    /// Chosen by ingress from what the event is about; the job row holds it, the payload not.
    #[serde(skip)]
    pub key: JobKey,
}

impl JobPayload for DeliveryPayload {
    const KIND: JobKind = JobKind::Delivery;

    fn key(&self) -> JobKey {
        self.key.clone()
    }
}

/// Work for one PR, serialized on its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluatePayload {
    pub repo_id: RepoId,
    pub installation: InstallationId,
    pub full_name: String,
    pub default_branch: Option<String>,
    pub number: PrNumber,
    pub requested_by: String,
    /// The event may be older than what is on record: read the PR from GitHub first.
    #[serde(default)]
    pub refresh: bool,
    /// Read the head commit's checks from GitHub even if no check event was seen for it: this
    /// evaluation comes from a check event, the reconciler or a command. (Jobs queued before
    /// this field existed read, as every evaluation did then.)
    #[serde(default = "read_checks_by_default")]
    pub read_checks: bool,
    #[serde(default)]
    pub external_status: Option<ExternalStatus>,
    #[serde(default)]
    pub adopt: Option<Adoption>,
    /// Capacity eviction decided by the reaper: this preview goes, and the PR is told why.
    #[serde(default)]
    pub evict: Option<Eviction>,
    /// 0 for webhook and command work; background (timer) work waits for rate-limit budget.
    #[serde(default)]
    pub priority: i64,
}

fn read_checks_by_default() -> bool {
    true
}

impl EvaluatePayload {
    /// A plain evaluation of one PR (nothing to evict, adopt or report).
    pub fn of(repo: &RepoRef, number: PrNumber, requested_by: &str) -> EvaluatePayload {
        EvaluatePayload {
            repo_id: repo.id,
            installation: repo.installation,
            full_name: repo.full_name.clone(),
            default_branch: Some(repo.default_branch.clone()).filter(|b| !b.is_empty()),
            number,
            requested_by: requested_by.to_owned(),
            refresh: false,
            read_checks: false,
            external_status: None,
            adopt: None,
            evict: None,
            priority: 0,
        }
    }
}

impl JobPayload for EvaluatePayload {
    const KIND: JobKind = JobKind::Evaluate;

    fn key(&self) -> JobKey {
        JobKey::pull(self.repo_id, self.number)
    }

    fn priority(&self) -> i64 {
        self.priority
    }
}

/// A command comment to handle, serialized on its PR's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandPayload {
    pub repo_id: RepoId,
    pub installation: InstallationId,
    pub full_name: String,
    pub default_branch: Option<String>,
    pub number: PrNumber,
    pub comment_id: u64,
    pub comment_url: String,
    pub author: String,
    /// The command's word, or the parser's explanation of what was wrong.
    pub command: Result<String, String>,
    /// The command's arguments as text (`Invocation::args`), read again with
    /// `commands::invocation`; empty for none, and in jobs stored before commands took any.
    #[serde(default)]
    pub args: String,
    /// When GitHub says the comment was written (seconds since the epoch); `None` in jobs stored
    /// before commands carried it, or when the payload's time is unreadable.
    #[serde(default)]
    pub comment_at: Option<i64>,
    /// Where the command came from: a PR comment (jobs stored before the dashboard), or a
    /// dashboard button (`comment_id` is then 0 and means nothing).
    #[serde(default)]
    pub origin: CommandOrigin,
}

/// Where a command came from. Both run under the same rules; a dashboard action is answered with
/// an announcement on the PR instead of reactions and a reply, and handled once through its
/// `dashboard_actions` row instead of its comment's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CommandOrigin {
    /// A comment on the pull request (`comment_id`).
    #[default]
    Comment,
    /// A button on the dashboard: `action` is the `dashboard_actions` row.
    Dashboard { action: i64 },
}

impl JobPayload for CommandPayload {
    const KIND: JobKind = JobKind::Command;

    fn key(&self) -> JobKey {
        JobKey::pull(self.repo_id, self.number)
    }
}

/// Carry out one claimed environment deployment, serialized on its environment's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvDeployPayload {
    pub repo_id: RepoId,
    pub installation: InstallationId,
    pub full_name: String,
    pub default_branch: Option<String>,
    pub environment: String,
    /// `env_deployments.id`.
    pub deployment: i64,
    /// An outside deployer's final status (`success`, `failure`, `error`), external driver only.
    #[serde(default)]
    pub external: Option<String>,
}

impl EnvDeployPayload {
    pub fn new(repo: &RepoRef, d: &EnvDeployment) -> EnvDeployPayload {
        EnvDeployPayload {
            repo_id: repo.id,
            installation: repo.installation,
            full_name: repo.full_name.clone(),
            default_branch: Some(repo.default_branch.clone()).filter(|b| !b.is_empty()),
            environment: d.environment.clone(),
            deployment: d.id,
            external: None,
        }
    }
}

impl JobPayload for EnvDeployPayload {
    const KIND: JobKind = JobKind::EnvDeploy;

    fn key(&self) -> JobKey {
        JobKey::environment(self.repo_id, &self.environment)
    }
}

/// Start what may start in one environment's promotion queue, serialized on that queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromotionQueuePayload {
    pub repo_id: RepoId,
    pub installation: InstallationId,
    pub full_name: String,
    pub default_branch: Option<String>,
    /// The environment as the policy names it (`production`, not `production-au`).
    pub environment: String,
}

impl PromotionQueuePayload {
    pub fn new(repo: &RepoRef, environment: &str) -> PromotionQueuePayload {
        PromotionQueuePayload {
            repo_id: repo.id,
            installation: repo.installation,
            full_name: repo.full_name.clone(),
            default_branch: Some(repo.default_branch.clone()).filter(|b| !b.is_empty()),
            environment: environment.to_owned(),
        }
    }
}

impl JobPayload for PromotionQueuePayload {
    const KIND: JobKind = JobKind::PromotionQueue;

    fn key(&self) -> JobKey {
        JobKey::promotion_queue(self.repo_id, &self.environment)
    }
}

/// Compare all installations with GitHub. Stored as the empty string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcilePayload;

impl JobPayload for ReconcilePayload {
    const KIND: JobKind = JobKind::Reconcile;

    fn key(&self) -> JobKey {
        JobKey::reconcile()
    }

    fn priority(&self) -> i64 {
        BACKGROUND
    }

    fn encode(&self) -> Result<String, JobPayloadError> {
        Ok(String::new())
    }

    /// Nothing is read: the payload carries nothing.
    fn decode(_: &str) -> Result<Self, JobPayloadError> {
        Ok(ReconcilePayload)
    }
}

/// Compare one repository with GitHub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileRepoPayload {
    pub repo_id: RepoId,
    pub installation: InstallationId,
    pub full_name: String,
}

impl JobPayload for ReconcileRepoPayload {
    const KIND: JobKind = JobKind::ReconcileRepo;

    fn key(&self) -> JobKey {
        JobKey::reconcile_repo(self.repo_id)
    }

    fn priority(&self) -> i64 {
        BACKGROUND
    }
}

/// Tear a preview down with the driver only: GitHub can no longer be told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineTeardownPayload {
    pub preview_id: i64,
    pub repo_id: RepoId,
    pub pr_number: PrNumber,
    pub full_name: String,
}

impl JobPayload for OfflineTeardownPayload {
    const KIND: JobKind = JobKind::OfflineTeardown;

    fn key(&self) -> JobKey {
        JobKey::pull(self.repo_id, self.pr_number)
    }

    fn priority(&self) -> i64 {
        BACKGROUND
    }
}

/// Ask GitHub to resend deliveries that failed since the previous sweep. Stored as the bare
/// number of milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedeliverPayload {
    pub since_ms: i64,
}

impl JobPayload for RedeliverPayload {
    const KIND: JobKind = JobKind::Redeliver;

    fn key(&self) -> JobKey {
        JobKey::redeliver()
    }

    fn priority(&self) -> i64 {
        BACKGROUND
    }

    fn encode(&self) -> Result<String, JobPayloadError> {
        Ok(self.since_ms.to_string())
    }

    fn decode(stored: &str) -> Result<Self, JobPayloadError> {
        stored
            .parse()
            .map(|since_ms| RedeliverPayload { since_ms })
            .map_err(|e| decode_error(Self::KIND, e))
    }
}

/// Delete data older than `cutoff_ms`: the reaper decides when, a worker does it. Stored as the
/// bare number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgePayload {
    pub cutoff_ms: i64,
}

impl JobPayload for PurgePayload {
    const KIND: JobKind = JobKind::Purge;

    fn key(&self) -> JobKey {
        JobKey::purge()
    }

    fn priority(&self) -> i64 {
        BACKGROUND
    }

    fn encode(&self) -> Result<String, JobPayloadError> {
        Ok(self.cutoff_ms.to_string())
    }

    fn decode(stored: &str) -> Result<Self, JobPayloadError> {
        stored
            .parse()
            .map(|cutoff_ms| PurgePayload { cutoff_ms })
            .map_err(|e| decode_error(Self::KIND, e))
    }
}

/// Take the next step of a repository's train.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainPayload {
    pub repo_id: RepoId,
    pub installation: InstallationId,
    pub full_name: String,
    pub default_branch: Option<String>,
}

impl TrainPayload {
    pub fn of(repo: &RepoRef) -> TrainPayload {
        TrainPayload {
            repo_id: repo.id,
            installation: repo.installation,
            full_name: repo.full_name.clone(),
            default_branch: Some(repo.default_branch.clone()).filter(|b| !b.is_empty()),
        }
    }
}

impl JobPayload for TrainPayload {
    const KIND: JobKind = JobKind::Train;

    fn key(&self) -> JobKey {
        JobKey::train(self.repo_id)
    }

    fn priority(&self) -> i64 {
        BACKGROUND
    }
}

#[cfg(test)]
#[path = "jobs_tests.rs"]
mod tests;
