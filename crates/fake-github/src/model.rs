//! Public record types of the fake's state, handed out as clones by the inspection API.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// What kind of account a login is (GitHub's `type` field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserKind {
    /// A person.
    User,
    /// A bot account (`login` usually ends in `[bot]`).
    Bot,
    /// An organization (owner of repositories/installations).
    Organization,
}

impl UserKind {
    /// GitHub's spelling of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            UserKind::User => "User",
            UserKind::Bot => "Bot",
            UserKind::Organization => "Organization",
        }
    }
}

/// A GitHub account.
#[derive(Clone, Debug)]
pub struct User {
    /// Numeric id.
    pub id: u64,
    /// Login name.
    pub login: String,
    /// Account type.
    pub kind: UserKind,
}

/// A repository role of a collaborator (`role_name`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Full control.
    Admin,
    /// Maintain (reported as `permission: "write"`).
    Maintain,
    /// Push access.
    Write,
    /// Triage (reported as `permission: "read"`).
    Triage,
    /// Read only.
    Read,
}

impl Role {
    /// The fine-grained `role_name`.
    pub fn role_name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Maintain => "maintain",
            Role::Write => "write",
            Role::Triage => "triage",
            Role::Read => "read",
        }
    }

    /// The coarse legacy `permission` (maintain→write, triage→read).
    pub fn permission(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Maintain | Role::Write => "write",
            Role::Triage | Role::Read => "read",
        }
    }
}

/// An installation of the App on an account.
#[derive(Clone, Debug)]
pub struct Installation {
    /// Installation id (chosen by the test).
    pub id: u64,
    /// Login of the account it is installed on.
    pub account: String,
    /// When it was seeded.
    pub created_at: DateTime<Utc>,
}

/// A repository (forks included).
#[derive(Clone, Debug)]
pub struct Repo {
    /// Numeric id.
    pub id: u64,
    /// Owner login.
    pub owner: String,
    /// Repository name.
    pub name: String,
    /// Default branch name.
    pub default_branch: String,
    /// Installation that can see it (`None` for e.g. a contributor's fork).
    pub installation: Option<u64>,
    /// The repository this one is a fork of.
    pub fork_of: Option<u64>,
    /// Branch name → head sha.
    pub branches: BTreeMap<String, String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl Repo {
    /// `owner/name`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

/// A file tree snapshot: path → content.
pub type Tree = Arc<BTreeMap<String, Bytes>>;

/// A commit of the (global, fork-shared) commit graph.
#[derive(Clone, Debug)]
pub struct Commit {
    /// 40-hex sha.
    pub sha: String,
    /// Parent shas (first parent first).
    pub parents: Vec<String>,
    /// Commit message.
    pub message: String,
    /// Author login.
    pub author: String,
    /// Commit time.
    pub date: DateTime<Utc>,
    /// Full file tree at this commit.
    pub tree: Tree,
}

/// A plain issue (pull requests are kept in [`PullRequest`]).
#[derive(Clone, Debug)]
pub struct Issue {
    /// Global id.
    pub id: u64,
    /// Repository id.
    pub repo: u64,
    /// Number (shared sequence with pull requests).
    pub number: u64,
    /// Title.
    pub title: String,
    /// Author login.
    pub user: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A pull request.
#[derive(Clone, Debug)]
pub struct PullRequest {
    /// Global id.
    pub id: u64,
    /// Base repository id.
    pub repo: u64,
    /// Number.
    pub number: u64,
    /// Title.
    pub title: String,
    /// Body.
    pub body: Option<String>,
    /// Author login.
    pub user: String,
    /// `open` or `closed`.
    pub state: String,
    /// Draft flag.
    pub draft: bool,
    /// Whether the head merges cleanly into the base (`false`: conflicts, set with
    /// `FakeGitHub::set_mergeable`; the merge API then answers 405).
    pub mergeable: bool,
    /// Merged flag.
    pub merged: bool,
    /// Merge time.
    pub merged_at: Option<DateTime<Utc>>,
    /// Who merged.
    pub merged_by: Option<String>,
    /// Merge commit on the base branch.
    pub merge_commit_sha: Option<String>,
    /// Close time.
    pub closed_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update.
    pub updated_at: DateTime<Utc>,
    /// Head branch name.
    pub head_ref: String,
    /// Head sha.
    pub head_sha: String,
    /// Head repository id (`None` once the fork was deleted).
    pub head_repo: Option<u64>,
    /// Owner login of the head (for `head.label`, kept after fork deletion).
    pub head_owner: String,
    /// Base branch name.
    pub base_ref: String,
    /// Base branch head when last opened/synchronized.
    pub base_sha: String,
}

impl PullRequest {
    /// Whether head and base live in different repositories (or the fork is gone).
    pub fn is_cross_repo(&self) -> bool {
        self.head_repo != Some(self.repo)
    }
}

/// A check suite (one per app per head sha).
#[derive(Clone, Debug)]
pub struct CheckSuite {
    /// Id.
    pub id: u64,
    /// Repository id.
    pub repo: u64,
    /// Head sha.
    pub head_sha: String,
    /// Slug of the app that owns it.
    pub app_slug: String,
    /// `queued`, `in_progress` or `completed`.
    pub status: String,
    /// Conclusion once completed.
    pub conclusion: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update.
    pub updated_at: DateTime<Utc>,
}

/// A check run.
#[derive(Clone, Debug)]
pub struct CheckRun {
    /// Id.
    pub id: u64,
    /// Suite id.
    pub suite: u64,
    /// Repository id.
    pub repo: u64,
    /// Head sha.
    pub head_sha: String,
    /// Name (the context shown in the UI).
    pub name: String,
    /// Slug of the app that created it.
    pub app_slug: String,
    /// `queued`, `in_progress` or `completed`.
    pub status: String,
    /// Conclusion once completed.
    pub conclusion: Option<String>,
    /// Start time.
    pub started_at: DateTime<Utc>,
    /// Completion time.
    pub completed_at: Option<DateTime<Utc>>,
    /// `external_id`, `details_url`, `output` as posted.
    pub extra: Value,
}

/// A commit status (`POST /statuses/{sha}` or `set_status`).
#[derive(Clone, Debug)]
pub struct CommitStatus {
    /// Id.
    pub id: u64,
    /// Repository id.
    pub repo: u64,
    /// Commit sha.
    pub sha: String,
    /// Context.
    pub context: String,
    /// `error|failure|pending|success`.
    pub state: String,
    /// Description.
    pub description: Option<String>,
    /// Target URL.
    pub target_url: Option<String>,
    /// Creator login.
    pub creator: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A deployment and its statuses (oldest first).
#[derive(Clone, Debug)]
pub struct Deployment {
    /// Id.
    pub id: u64,
    /// Repository id.
    pub repo: u64,
    /// Resolved sha.
    pub sha: String,
    /// The ref as posted.
    pub ref_name: String,
    /// Task.
    pub task: String,
    /// Payload (object, or a string that is not a JSON object).
    pub payload: Value,
    /// Environment as first created.
    pub original_environment: String,
    /// Current environment.
    pub environment: String,
    /// Description.
    pub description: Option<String>,
    /// Creator login.
    pub creator: String,
    /// `transient_environment`.
    pub transient_environment: bool,
    /// `production_environment`.
    pub production_environment: bool,
    /// Whether an installation token created it.
    pub via_app: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update.
    pub updated_at: DateTime<Utc>,
    /// Statuses in the order they were created.
    pub statuses: Vec<DeploymentStatus>,
}

/// A deployment status.
#[derive(Clone, Debug)]
pub struct DeploymentStatus {
    /// Id.
    pub id: u64,
    /// State.
    pub state: String,
    /// Environment at the time.
    pub environment: String,
    /// `environment_url` as posted.
    pub environment_url: Option<String>,
    /// `log_url` (or `target_url`) as posted.
    pub log_url: Option<String>,
    /// Description (`""` when absent).
    pub description: String,
    /// `auto_inactive` as posted (`None` when left default).
    pub auto_inactive: Option<bool>,
    /// Creator login.
    pub creator: String,
    /// Whether an installation token created it.
    pub via_app: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A deployment environment.
#[derive(Clone, Debug)]
pub struct Environment {
    /// Id.
    pub id: u64,
    /// Repository id.
    pub repo: u64,
    /// Name.
    pub name: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update.
    pub updated_at: DateTime<Utc>,
    /// The last PUT body (`{}` when created implicitly by a deployment).
    pub settings: Value,
}

/// An issue or pull request comment.
#[derive(Clone, Debug)]
pub struct Comment {
    /// Id.
    pub id: u64,
    /// Repository id.
    pub repo: u64,
    /// Issue/PR number.
    pub issue_number: u64,
    /// Current body.
    pub body: String,
    /// Author login.
    pub user: String,
    /// Whether an installation token created it.
    pub via_app: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update.
    pub updated_at: DateTime<Utc>,
    /// Previous bodies, oldest first (`history.len()` = number of edits).
    pub history: Vec<String>,
}

impl Comment {
    /// How many times the body was edited.
    pub fn edits(&self) -> usize {
        self.history.len()
    }
}

/// A reaction on a comment.
#[derive(Clone, Debug)]
pub struct Reaction {
    /// Id.
    pub id: u64,
    /// Comment id.
    pub comment_id: u64,
    /// `+1`, `heart`, `rocket`, ...
    pub content: String,
    /// Who reacted.
    pub user: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// An issued installation access token.
#[derive(Clone, Debug)]
pub struct Token {
    /// The secret.
    pub token: String,
    /// Installation it belongs to.
    pub installation: u64,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
    /// Repository ids it is limited to (`None` = the whole installation).
    pub repos: Option<Vec<u64>>,
}

/// One rate-limit bucket (per token / per App JWT).
#[derive(Clone, Debug)]
pub struct RateBucket {
    /// Budget.
    pub limit: u64,
    /// Calls left.
    pub remaining: u64,
    /// Calls made.
    pub used: u64,
    /// Epoch seconds when it resets.
    pub reset: i64,
}

/// One API call as seen by the fake (faulted ones included).
#[derive(Clone, Debug)]
pub struct ApiCall {
    /// HTTP method.
    pub method: String,
    /// Path without query.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Status answered.
    pub status: u16,
    /// Installation of the token used (`None` for JWT/anonymous/unknown).
    pub installation: Option<u64>,
    /// Whether a fault rule answered instead of the normal handler.
    pub faulted: bool,
    /// When it arrived.
    pub at: DateTime<Utc>,
    /// When its answer left the fake (after the injected latency and the handler's own work):
    /// `at..answered` is the time GitHub held the call, as a client sees it.
    pub answered: DateTime<Utc>,
}
