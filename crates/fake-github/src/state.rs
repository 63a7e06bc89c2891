//! The fake's state: everything GitHub would remember plus the fake's own logs, in one
//! [`State`] behind a `std::sync::Mutex` (see `Shared` in `mod.rs`). Nothing here does I/O.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use serde_json::Value;

use super::faults::Fault;
use super::model::{
    ApiCall, CheckRun, CheckSuite, Comment, Commit, CommitStatus, Deployment, Environment,
    Installation, Issue, PullRequest, RateBucket, Reaction, Repo, Role, Token, User, UserKind,
};
use super::webhooks::{Delivery, WebhookTarget};

/// Mutable settings (some configurable after start).
#[derive(Clone, Debug)]
pub struct Settings {
    /// App id.
    pub app_id: u64,
    /// App slug; the bot is `<slug>[bot]`.
    pub app_slug: String,
    /// Lifetime of new installation tokens.
    pub token_lifetime: Duration,
    /// Budget of new rate-limit buckets.
    pub rate_limit: u64,
    /// Permissions reported for the App/installations/tokens.
    pub permissions: BTreeMap<String, String>,
    /// Whether `Link` headers use absolute URLs (default: path-relative).
    pub absolute_links: bool,
    /// The App's OAuth client id (user sign-in).
    pub client_id: String,
    /// The App's OAuth client secret.
    pub client_secret: String,
}

/// Everything the fake knows.
#[derive(Debug)]
pub struct State {
    pub(super) next_id: u64,
    pub(super) settings: Settings,
    pub(super) users: BTreeMap<String, User>,
    pub(super) installations: BTreeMap<u64, Installation>,
    pub(super) repos: BTreeMap<u64, Repo>,
    pub(super) commits: HashMap<String, Commit>,
    pub(super) roles: HashMap<(u64, String), Role>,
    pub(super) issues: BTreeMap<(u64, u64), Issue>,
    pub(super) pulls: BTreeMap<(u64, u64), PullRequest>,
    pub(super) next_number: HashMap<u64, u64>,
    pub(super) suites: BTreeMap<u64, CheckSuite>,
    pub(super) runs: BTreeMap<u64, CheckRun>,
    pub(super) statuses: Vec<CommitStatus>,
    pub(super) deployments: BTreeMap<u64, Deployment>,
    pub(super) environments: BTreeMap<(u64, String), Environment>,
    pub(super) comments: BTreeMap<u64, Comment>,
    pub(super) reactions: BTreeMap<u64, Reaction>,
    pub(super) tokens: HashMap<String, Token>,
    pub(super) token_requests: BTreeMap<u64, u64>,
    pub(super) rate: HashMap<String, RateBucket>,
    pub(super) calls: Vec<ApiCall>,
    pub(super) deliveries: Vec<Delivery>,
    pub(super) faults: Vec<Fault>,
    pub(super) latency: Duration,
    pub(super) webhook: Option<WebhookTarget>,
    /// GitHub's secondary rate limits, when enforced (opt-in).
    pub(super) secondary: Option<super::secondary::Enforcer>,
    /// The last time handed out by [`State::stamp`].
    pub(super) last_stamp: DateTime<Utc>,
    /// Repositories that are private (all others are public).
    pub(super) private: HashSet<u64>,
    /// The GitHub user "signed in" in the test's browser: prefills the authorize form.
    pub(super) browser_user: Option<String>,
    /// Authorization codes of the OAuth web flow, by code.
    pub(super) oauth_codes: HashMap<String, super::routes_oauth::OAuthCode>,
    /// User access tokens (`ghu_…`) → login and expiry.
    pub(super) user_tokens: HashMap<String, super::routes_oauth::UserToken>,
    /// Apps registered through the manifest flow, and its codes.
    pub(super) manifest: super::routes_manifest::Registry,
}

impl State {
    pub(super) fn new(settings: Settings) -> Self {
        let mut st = State {
            next_id: 1,
            settings,
            users: BTreeMap::new(),
            installations: BTreeMap::new(),
            repos: BTreeMap::new(),
            commits: HashMap::new(),
            roles: HashMap::new(),
            issues: BTreeMap::new(),
            pulls: BTreeMap::new(),
            next_number: HashMap::new(),
            suites: BTreeMap::new(),
            runs: BTreeMap::new(),
            statuses: Vec::new(),
            deployments: BTreeMap::new(),
            environments: BTreeMap::new(),
            comments: BTreeMap::new(),
            reactions: BTreeMap::new(),
            tokens: HashMap::new(),
            token_requests: BTreeMap::new(),
            rate: HashMap::new(),
            calls: Vec::new(),
            deliveries: Vec::new(),
            faults: Vec::new(),
            latency: Duration::ZERO,
            webhook: None,
            secondary: None,
            last_stamp: DateTime::<Utc>::MIN_UTC,
            private: HashSet::new(),
            browser_user: None,
            oauth_codes: HashMap::new(),
            user_tokens: HashMap::new(),
            manifest: Default::default(),
        };
        let bot = st.bot_login();
        st.ensure_user(&bot, UserKind::Bot);
        st
    }

    /// The time of a step on a PR's timeline (opened, pushed, commented). GitHub's timestamps
    /// have whole seconds, so two steps a test takes in one second would carry the same time and
    /// their order could not be told from them; the fake hands out strictly increasing seconds
    /// instead (now, or one second after the last step), as if a test's steps were a second apart.
    pub(super) fn stamp(&mut self) -> DateTime<Utc> {
        let now = Utc::now().trunc_subsecs(0);
        let next = self.last_stamp + chrono::Duration::seconds(1);
        self.last_stamp = if next > now { next } else { now };
        self.last_stamp
    }

    /// Next value of the global increasing id sequence.
    pub(super) fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// `<slug>[bot]`.
    pub(super) fn bot_login(&self) -> String {
        format!("{}[bot]", self.settings.app_slug)
    }

    /// Returns the user, creating it with `kind` if unknown (an existing kind is kept).
    pub(super) fn ensure_user(&mut self, login: &str, kind: UserKind) -> User {
        if let Some(u) = self.users.get(login) {
            return u.clone();
        }
        let user = User {
            id: self.next_id(),
            login: login.to_string(),
            kind,
        };
        self.users.insert(login.to_string(), user.clone());
        user
    }

    pub(super) fn repo_id(&self, owner: &str, name: &str) -> Option<u64> {
        self.repos
            .values()
            .find(|r| r.owner.eq_ignore_ascii_case(owner) && r.name.eq_ignore_ascii_case(name))
            .map(|r| r.id)
    }

    pub(super) fn repo_by_full_name(&self, full_name: &str) -> Option<u64> {
        let (owner, name) = full_name.split_once('/')?;
        self.repo_id(owner, name)
    }

    /// Next issue/PR number of a repository.
    pub(super) fn next_number(&mut self, repo: u64) -> u64 {
        let n = self.next_number.entry(repo).or_insert(0);
        *n += 1;
        *n
    }

    /// Role of a user on a repository (the owner is admin).
    pub(super) fn role_of(&self, repo: u64, login: &str) -> Option<Role> {
        let r = self.repos.get(&repo)?;
        if r.owner.eq_ignore_ascii_case(login) {
            return Some(Role::Admin);
        }
        self.roles.get(&(repo, login.to_ascii_lowercase())).copied()
    }

    /// Latest commit status per context, oldest context first.
    pub(super) fn latest_statuses(&self, repo: u64, sha: &str) -> Vec<&CommitStatus> {
        let mut latest: Vec<&CommitStatus> = Vec::new();
        for s in self
            .statuses
            .iter()
            .filter(|s| s.repo == repo && s.sha == sha)
        {
            match latest.iter_mut().find(|x| x.context == s.context) {
                Some(slot) => *slot = s,
                None => latest.push(s),
            }
        }
        latest
    }

    /// Latest check run per App and name for a sha (two Apps' runs of one name both count, as on
    /// GitHub).
    pub(super) fn latest_runs(&self, repo: u64, sha: &str) -> Vec<&CheckRun> {
        let mut latest: Vec<&CheckRun> = Vec::new();
        for r in self
            .runs
            .values()
            .filter(|r| r.repo == repo && r.head_sha == sha)
        {
            match latest
                .iter_mut()
                .find(|x| x.name == r.name && x.app_slug == r.app_slug)
            {
                Some(slot) => *slot = r,
                None => latest.push(r),
            }
        }
        latest
    }

    /// Check suite of an app for a sha, created (queued) if missing.
    pub(super) fn suite_for(&mut self, repo: u64, sha: &str, app_slug: &str) -> u64 {
        if let Some(s) = self
            .suites
            .values()
            .find(|s| s.repo == repo && s.head_sha == sha && s.app_slug == app_slug)
        {
            return s.id;
        }
        let id = self.next_id();
        let now = Utc::now();
        self.suites.insert(
            id,
            CheckSuite {
                id,
                repo,
                head_sha: sha.to_string(),
                app_slug: app_slug.to_string(),
                status: "queued".into(),
                conclusion: None,
                created_at: now,
                updated_at: now,
            },
        );
        id
    }

    /// Auto-creates an environment (as GitHub does for a deployment to a new name).
    pub(super) fn ensure_environment(&mut self, repo: u64, name: &str) {
        if self.environments.contains_key(&(repo, name.to_string())) {
            return;
        }
        let id = self.next_id();
        let now = Utc::now();
        self.environments.insert(
            (repo, name.to_string()),
            Environment {
                id,
                repo,
                name: name.to_string(),
                created_at: now,
                updated_at: now,
                settings: Value::Object(Default::default()),
            },
        );
    }

    /// The branch a sha is reported on (`check_suite.head_branch`): the head branch of an open
    /// pull request with that head, else a branch whose head it is, else a branch that contains
    /// it (the default branch first in both cases), so that a suite completed on an older commit
    /// of `main` still names `main`.
    pub(super) fn branch_at(&self, repo: u64, sha: &str) -> Option<String> {
        let at_head = |open_only: bool| {
            self.pulls
                .values()
                .filter(|p| !open_only || p.state == "open")
                .find(|p| p.head_repo == Some(repo) && p.head_sha == sha)
                .map(|p| p.head_ref.clone())
        };
        if let Some(b) = at_head(true) {
            return Some(b);
        }
        let r = self.repos.get(&repo)?;
        let default_first = || {
            r.branches
                .get_key_value(&r.default_branch)
                .into_iter()
                .chain(r.branches.iter().filter(|(b, _)| **b != r.default_branch))
        };
        if let Some((b, _)) = default_first().find(|(_, head)| head.as_str() == sha) {
            return Some(b.clone());
        }
        if let Some(b) = at_head(false) {
            return Some(b);
        }
        default_first()
            .find(|(_, head)| self.ancestors(head).contains(sha))
            .map(|(b, _)| b.clone())
    }

    /// Branches of the repository whose history contains `sha`, by name, at most 10 (the
    /// `branches` of a `status` event).
    pub(super) fn branches_containing(&self, repo: u64, sha: &str) -> Vec<(String, String)> {
        let Some(r) = self.repos.get(&repo) else {
            return Vec::new();
        };
        r.branches
            .iter()
            .filter(|(_, head)| head.as_str() == sha || self.ancestors(head).contains(sha))
            .take(10)
            .map(|(b, head)| (b.clone(), head.clone()))
            .collect()
    }
}
