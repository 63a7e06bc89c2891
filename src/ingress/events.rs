//! Typed webhook events: GitHub's JSON turned into our own small structs at the edge.
//!
//! Owns: which fields Gangway reads from each event. Lenient by design: unknown fields are
//! ignored, unknown actions decode as `Other`, optional fields may be missing or null. Strict only
//! where a wrong value would be dangerous (a commit sha must be 40 hex digits). Past this module no
//! code looks at raw JSON. Reads the facts about who made a comment or a deployment
//! ([`Comment::maker`], [`Deployment::maker`], [`Envelope::echoes_app`]) but never decides what
//! they mean: `engine::echo` does.

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny};

use crate::engine::echo::{self, Maker, Subject};
use crate::model::{self, RepoRef};
use crate::types::{CommitSha, InstallationId, PrNumber, RepoId};

/// Events Gangway acts on. Anything else is acknowledged and recorded as ignored.
///
pub const HANDLED_EVENTS: &[&str] = &[
    "pull_request",
    "push",
    "check_suite",
    "status",
    "deployment",
    "deployment_status",
    "issue_comment",
    "installation",
    "installation_repositories",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot decode {event} payload: {reason}")]
pub struct DecodeError {
    pub event: String,
    pub reason: String,
}

/// A decoded delivery.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    PullRequest(PullRequestEvent),
    CheckSuite(CheckSuiteEvent),
    Status(StatusEvent),
    Deployment(DeploymentEvent),
    DeploymentStatus(DeploymentStatusEvent),
    IssueComment(IssueCommentEvent),
    Installation(InstallationEvent),
    InstallationRepositories(InstallationRepositoriesEvent),
    Push(PushEvent),
}

impl Event {
    /// One line for logs and the deliveries table.
    pub fn summary(&self) -> String {
        match self {
            Event::PullRequest(e) => format!(
                "pull_request {} {}#{} head {}",
                e.action.as_str(),
                e.repository.full_name,
                e.number,
                e.pull_request.head.sha.short()
            ),
            Event::CheckSuite(e) => format!(
                "check_suite {} {} {} conclusion {}",
                e.action.as_str(),
                e.repository.full_name,
                e.check_suite.head_sha.short(),
                e.check_suite.conclusion.as_deref().unwrap_or("none")
            ),
            Event::Status(e) => format!(
                "status {} {} {} {}",
                e.repository.full_name,
                e.sha.short(),
                e.context,
                e.state
            ),
            Event::Deployment(e) => format!(
                "deployment created {} #{} {} {}",
                e.repository.full_name,
                e.deployment.id,
                e.deployment.environment,
                e.deployment.sha.short()
            ),
            Event::DeploymentStatus(e) => format!(
                "deployment_status {} #{} {}",
                e.repository.full_name, e.deployment.id, e.deployment_status.state
            ),
            Event::IssueComment(e) => format!(
                "issue_comment {} {}#{} by {}",
                e.action.as_str(),
                e.repository.full_name,
                e.issue.number,
                e.comment.user.login
            ),
            Event::Installation(e) => {
                format!("installation {} {}", e.action.as_str(), e.installation.id)
            }
            Event::InstallationRepositories(e) => format!(
                "installation_repositories {} {} (+{} -{})",
                e.action.as_str(),
                e.installation.id,
                e.repositories_added.len(),
                e.repositories_removed.len()
            ),
            Event::Push(e) => {
                fn short(s: Option<&CommitSha>) -> &str {
                    s.map_or("0000000", CommitSha::short)
                }
                let flag = if e.deleted {
                    " (deleted)"
                } else if e.created {
                    " (created)"
                } else if e.forced {
                    " (forced)"
                } else {
                    ""
                };
                format!(
                    "push {} {} {}..{}{flag}",
                    e.repository.full_name,
                    e.r#ref,
                    short(e.before.as_ref()),
                    short(e.after.as_ref())
                )
            }
        }
    }
}

/// Decodes a handled event's body. `Ok(None)` for events Gangway does not handle.
pub fn decode(event: &str, body: &[u8]) -> Result<Option<Event>, DecodeError> {
    fn de<T: for<'de> Deserialize<'de>>(event: &str, body: &[u8]) -> Result<T, DecodeError> {
        let mut de = serde_json::Deserializer::from_slice(body);
        serde_path_to_error::deserialize(&mut de).map_err(|e| DecodeError {
            event: event.to_owned(),
            reason: format!("at `{}`: {}", e.path(), e.inner()),
        })
    }
    Ok(Some(match event {
        "pull_request" => Event::PullRequest(de(event, body)?),
        "check_suite" => Event::CheckSuite(de(event, body)?),
        "status" => Event::Status(de(event, body)?),
        "deployment" => Event::Deployment(de(event, body)?),
        "deployment_status" => Event::DeploymentStatus(de(event, body)?),
        "issue_comment" => Event::IssueComment(de(event, body)?),
        "installation" => Event::Installation(de(event, body)?),
        "installation_repositories" => Event::InstallationRepositories(de(event, body)?),
        "push" => Event::Push(de(event, body)?),
        _ => return Ok(None),
    }))
}

/// The few fields ingress reads to file a delivery (one cheap pass over the body, which also
/// proves it is JSON). Every field is optional: a missing one is not ingress's problem.
#[derive(Debug, Default, Deserialize)]
pub struct Envelope {
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub installation: Option<IdOnly>,
    #[serde(default)]
    pub repository: Option<IdOnly>,
    #[serde(default)]
    pub number: Option<u64>,
    #[serde(default)]
    pub issue: Option<NumberOnly>,
    #[serde(default, deserialize_with = "lenient")]
    pub comment: Option<ViaApp>,
    #[serde(default, deserialize_with = "lenient")]
    pub deployment: Option<ViaApp>,
    #[serde(default, deserialize_with = "lenient")]
    pub deployment_status: Option<ViaApp>,
}

/// A field Gangway only peeks at (the App's own echoes, a push's file lists): missing, null or
/// any other shape is `None`, never an error, so an odd field never refuses or drops a delivery.
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either<T> {
        Good(T),
        Other(serde::de::IgnoredAny),
    }
    Ok(match Either::<T>::deserialize(d)? {
        Either::Good(t) => Some(t),
        Either::Other(_) => None,
    })
}

impl Envelope {
    /// Whether this delivery only reports something the App `app_id` did itself through the API:
    /// a deployment it created, a status it posted, a comment it wrote. GitHub sends each of
    /// these back as a webhook; none is news to Gangway (its own record was written when it
    /// made the call), so such a delivery is stored without a job.
    pub fn echoes_app(&self, event: &str, app_id: u64) -> bool {
        let (subject, via) = match event {
            "deployment" => (Subject::Deployment, self.deployment.as_ref()),
            "deployment_status" => (Subject::DeploymentStatus, self.deployment_status.as_ref()),
            "issue_comment" => (Subject::Comment, self.comment.as_ref()),
            _ => return false,
        };
        let maker = Maker {
            subject,
            via_app: via
                .and_then(|s| s.performed_via_github_app.as_ref())
                .map(|app| app.id),
            // The account is not read here: it never makes a delivery an echo.
            bot_account: false,
            marked: via
                .and_then(|s| s.payload.as_ref())
                .is_some_and(|p| p.gangway.is_some()),
        };
        echo::origin(&maker, Some(app_id)).is_echo()
    }
}

/// A deployment's payload, as far as Gangway's marker goes.
#[derive(Debug, Deserialize)]
pub struct Marker {
    #[serde(default)]
    pub gangway: Option<IgnoredAny>,
}

/// An object GitHub says was made through an App (`performed_via_github_app`), or not.
#[derive(Debug, Deserialize)]
pub struct ViaApp {
    #[serde(default, deserialize_with = "lenient")]
    pub performed_via_github_app: Option<IdOnly>,
    /// A deployment's payload (absent on statuses and comments).
    #[serde(default, deserialize_with = "lenient")]
    pub payload: Option<Marker>,
}

#[derive(Debug, Deserialize)]
pub struct IdOnly {
    pub id: u64,
}

#[derive(Debug, Deserialize)]
pub struct NumberOnly {
    pub number: u64,
}

macro_rules! actions {
    ($name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        /// Known actions; anything else is `Other` and never fails a delivery.
        #[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($variant,)*
            #[serde(other)]
            Other,
        }

        impl $name {
            pub fn as_str(&self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Other => "other",
                }
            }
        }
    };
}

actions!(PullRequestAction {
    Opened = "opened",
    Reopened = "reopened",
    Synchronize = "synchronize",
    Closed = "closed",
    ReadyForReview = "ready_for_review",
    ConvertedToDraft = "converted_to_draft",
    Edited = "edited",
});
actions!(CheckSuiteAction { Completed = "completed", Requested = "requested", Rerequested = "rerequested" });
actions!(CommentAction { Created = "created", Edited = "edited", Deleted = "deleted" });
actions!(InstallationAction {
    Created = "created",
    Deleted = "deleted",
    Suspend = "suspend",
    Unsuspend = "unsuspend",
    NewPermissionsAccepted = "new_permissions_accepted",
});
actions!(InstallationReposAction { Added = "added", Removed = "removed" });

/// `"User"`, `"Bot"`, `"Organization"`; anything else kept as `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
pub enum ActorKind {
    User,
    Bot,
    Organization,
    #[default]
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Actor {
    pub login: String,
    pub id: u64,
    #[serde(rename = "type", default)]
    pub kind: ActorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Repository {
    pub id: RepoId,
    pub name: String,
    pub full_name: String,
    #[serde(default)]
    pub default_branch: Option<String>,
    #[serde(default)]
    pub fork: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct InstallationRef {
    pub id: InstallationId,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PullRequestEvent {
    pub action: PullRequestAction,
    pub number: PrNumber,
    pub pull_request: PullRequest,
    pub repository: Repository,
    #[serde(default)]
    pub installation: Option<InstallationRef>,
    pub sender: Actor,
    /// On `synchronize`: the previous head.
    #[serde(default, deserialize_with = "lenient_sha")]
    pub before: Option<CommitSha>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PullRequest {
    pub number: PrNumber,
    pub state: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub draft: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub merged: bool,
    pub head: Branch,
    pub base: Branch,
    pub user: Actor,
    #[serde(default, deserialize_with = "null_as_default")]
    pub title: String,
    #[serde(default)]
    pub html_url: Option<String>,
    /// Orders late deliveries: an event older than what is on record is not trusted.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Once merged: the commit the PR became on its base branch.
    #[serde(default, deserialize_with = "lenient_sha")]
    pub merge_commit_sha: Option<CommitSha>,
}

impl PullRequest {
    /// From a fork: the head repository differs from the base, or no longer exists.
    pub fn is_fork(&self) -> bool {
        match (&self.head.repo, &self.base.repo) {
            (Some(head), Some(base)) => head.id != base.id,
            _ => true,
        }
    }

    /// Our record of the PR as this event tells it.
    pub fn record(&self, repo: &RepoRef) -> model::PullRequest {
        model::PullRequest {
            repo: repo.clone(),
            number: self.number,
            head_sha: self.head.sha.clone(),
            head_ref: self.head.ref_name.clone(),
            is_fork: self.is_fork(),
            draft: self.draft,
            open: self.state == "open",
            merged: self.merged,
            author: self.user.login.clone(),
            author_bot: self.user.kind == ActorKind::Bot || echo::is_bot_login(&self.user.login),
            gh_updated_at: self.updated_at.clone().unwrap_or_default(),
            head_since_ms: 0,
            title: self.title.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Branch {
    #[serde(rename = "ref")]
    pub ref_name: String,
    pub sha: CommitSha,
    /// `null` when the fork was deleted.
    #[serde(default)]
    pub repo: Option<Repository>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CheckSuiteEvent {
    pub action: CheckSuiteAction,
    pub check_suite: CheckSuite,
    pub repository: Repository,
    #[serde(default)]
    pub installation: Option<InstallationRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CheckSuite {
    pub id: u64,
    pub head_sha: CommitSha,
    #[serde(default)]
    pub head_branch: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub conclusion: Option<String>,
    #[serde(default)]
    pub latest_check_runs_count: Option<u64>,
    #[serde(default)]
    pub app: Option<AppRef>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub pull_requests: Vec<SuitePr>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AppRef {
    pub id: u64,
    #[serde(default)]
    pub slug: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SuitePr {
    pub number: PrNumber,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StatusEvent {
    pub sha: CommitSha,
    pub context: String,
    pub state: String,
    /// The branches whose head is this commit.
    #[serde(default, deserialize_with = "null_as_default")]
    pub branches: Vec<StatusBranch>,
    #[serde(default)]
    pub target_url: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub repository: Repository,
    #[serde(default)]
    pub installation: Option<InstallationRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StatusBranch {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DeploymentEvent {
    pub deployment: Deployment,
    pub repository: Repository,
    #[serde(default)]
    pub installation: Option<InstallationRef>,
    pub sender: Actor,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Deployment {
    pub id: u64,
    pub sha: CommitSha,
    #[serde(rename = "ref")]
    pub ref_name: String,
    pub environment: String,
    #[serde(default)]
    pub task: Option<String>,
    /// GitHub sends an object, or a string when the creator sent one.
    #[serde(default)]
    pub payload: serde_json::Value,
    #[serde(default)]
    pub creator: Option<Actor>,
    #[serde(default)]
    pub performed_via_github_app: Option<AppRef>,
}

impl Deployment {
    /// Who created it, as [`echo::origin`] reads it.
    pub fn maker(&self) -> Maker {
        Maker {
            subject: Subject::Deployment,
            via_app: self.performed_via_github_app.as_ref().map(|a| a.id),
            bot_account: self
                .creator
                .as_ref()
                .is_some_and(|c| c.kind == ActorKind::Bot || echo::is_bot_login(&c.login)),
            marked: self.payload.pointer("/gangway").is_some(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DeploymentStatusEvent {
    pub deployment_status: DeploymentStatus,
    pub deployment: Deployment,
    pub repository: Repository,
    #[serde(default)]
    pub installation: Option<InstallationRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DeploymentStatus {
    pub id: u64,
    pub state: String,
    /// Empty strings (seen in real payloads) become `None`.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub environment_url: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    pub log_url: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    pub target_url: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub creator: Option<Actor>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IssueCommentEvent {
    pub action: CommentAction,
    pub issue: Issue,
    pub comment: Comment,
    pub repository: Repository,
    #[serde(default)]
    pub installation: Option<InstallationRef>,
    pub sender: Actor,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Issue {
    pub number: PrNumber,
    /// Present (with any content) only when the issue is a pull request.
    #[serde(default, deserialize_with = "present")]
    pub pull_request: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Comment {
    pub id: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub body: String,
    pub user: Actor,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub performed_via_github_app: Option<AppRef>,
    /// When GitHub recorded the comment (RFC 3339).
    #[serde(default)]
    pub created_at: Option<String>,
}

impl Comment {
    /// Who wrote it, as [`echo::origin`] reads it.
    pub fn maker(&self) -> Maker {
        Maker {
            subject: Subject::Comment,
            via_app: self.performed_via_github_app.as_ref().map(|a| a.id),
            bot_account: self.user.kind == ActorKind::Bot || echo::is_bot_login(&self.user.login),
            marked: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct InstallationEvent {
    pub action: InstallationAction,
    pub installation: Installation,
    #[serde(default, deserialize_with = "null_as_default")]
    pub repositories: Vec<RepoBrief>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Installation {
    pub id: InstallationId,
    pub account: Actor,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RepoBrief {
    pub id: RepoId,
    pub full_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct InstallationRepositoriesEvent {
    pub action: InstallationReposAction,
    pub installation: Installation,
    #[serde(default, deserialize_with = "null_as_default")]
    pub repositories_added: Vec<RepoBrief>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub repositories_removed: Vec<RepoBrief>,
}

/// `push`: a ref (branch or tag) moved, was created, or was deleted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PushEvent {
    /// The full ref: `refs/heads/<branch>` or `refs/tags/<tag>`.
    #[serde(rename = "ref")]
    pub r#ref: String,
    /// The previous tip; `None` when the ref was created (GitHub sends 40 zeros).
    #[serde(default, deserialize_with = "zeros_as_none")]
    pub before: Option<CommitSha>,
    /// The new tip; `None` when the ref was deleted (GitHub sends 40 zeros).
    #[serde(default, deserialize_with = "zeros_as_none")]
    pub after: Option<CommitSha>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub created: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub deleted: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub forced: bool,
    /// The new tip's commit; `None` on delete.
    #[serde(default)]
    pub head_commit: Option<PushCommit>,
    /// The pushed commits with the paths each changed; `None` when missing or not in the shape
    /// GitHub documents (then nothing can be told from them).
    #[serde(default, deserialize_with = "lenient")]
    pub commits: Option<Vec<PushedCommit>>,
    pub repository: Repository,
    #[serde(default)]
    pub installation: Option<InstallationRef>,
    pub sender: Actor,
}

impl PushEvent {
    /// The branch name when a branch was pushed (`None` for tags and other refs).
    pub fn branch(&self) -> Option<&str> {
        self.r#ref.strip_prefix("refs/heads/")
    }

    /// Whether this push moved the repository's default branch (a delete does not count).
    /// Whether this push may have changed the file at `path`: a commit lists it as added,
    /// modified or removed, or the list cannot tell — a forced push or a new branch (its
    /// commits are not a diff from `before`), as many commits as GitHub may cut the list at,
    /// a commit without file lists, or no list at all.
    pub fn may_touch(&self, path: &str) -> bool {
        let Some(commits) = &self.commits else {
            return true;
        };
        if self.forced || self.created || commits.len() >= PUSH_COMMITS_LISTED {
            return true;
        }
        if commits.is_empty() {
            // A tip that moved with no commit listed (reset to an older commit, say).
            return self.before != self.after;
        }
        commits.iter().any(|c| c.may_touch(path))
    }

    pub fn is_default_branch(&self) -> bool {
        self.after.is_some()
            && self.branch().is_some()
            && self.branch() == self.repository.default_branch.as_deref()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PushCommit {
    pub id: CommitSha,
    #[serde(default, deserialize_with = "null_as_default")]
    pub message: String,
}

/// Commits a push webhook lists before GitHub cuts the list: at this many, some may be missing.
pub const PUSH_COMMITS_LISTED: usize = 20;

/// One commit of a push, as far as the paths it changed go.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PushedCommit {
    #[serde(default, deserialize_with = "lenient")]
    pub added: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient")]
    pub modified: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient")]
    pub removed: Option<Vec<String>>,
}

impl PushedCommit {
    /// Whether the commit changed `path`, or has no file lists to tell.
    fn may_touch(&self, path: &str) -> bool {
        [&self.added, &self.modified, &self.removed]
            .iter()
            .any(|list| list.as_ref().is_none_or(|l| l.iter().any(|p| p == path)))
    }
}

fn null_as_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn empty_as_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<IgnoredAny>::deserialize(d)?.is_some())
}

/// `before` on synchronize is a sha; on other actions it may be absent, null, or all zeros.
fn lenient_sha<'de, D: Deserializer<'de>>(d: D) -> Result<Option<CommitSha>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.and_then(|s| CommitSha::parse(&s).ok()))
}

/// A sha that GitHub spells as 40 zeros when there is none (push `before` on create, `after` on
/// delete). Missing, null or zeros are `None`; anything else must be a real sha.
fn zeros_as_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<CommitSha>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) if !s.is_empty() && s.bytes().all(|b| b == b'0') => Ok(None),
        Some(s) => CommitSha::parse(&s)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
