//! Scenario API, continued: CI (check runs/suites, commit statuses), comments, and raw or
//! repeated deliveries.

use bytes::Bytes;
use chrono::Utc;
use serde_json::Value;

use super::events;
use super::model::{CheckRun, Comment, CommitStatus, Deployment, UserKind};
use super::seed::repo_of;
use super::state::State;
use super::webhooks::{self, Delivery, Outgoing};
use super::{FakeError, FakeGitHub};

/// What [`FakeGitHub::comment`] did.
#[derive(Clone, Debug)]
pub struct CommentPosted {
    /// Comment id.
    pub id: u64,
    /// The `issue_comment` `created` delivery.
    pub delivery: Delivery,
}

/// GitHub-like conclusion of a suite from its runs' conclusions.
pub(super) fn suite_conclusion(conclusions: &[Option<String>]) -> &'static str {
    const WORST_FIRST: [&str; 6] = [
        "action_required",
        "startup_failure",
        "failure",
        "timed_out",
        "cancelled",
        "stale",
    ];
    let done: Vec<&str> = conclusions.iter().flatten().map(String::as_str).collect();
    if let Some(w) = WORST_FIRST.iter().find(|w| done.contains(w)) {
        return w;
    }
    if done.is_empty() || done.iter().all(|c| *c == "neutral") {
        "neutral"
    } else if done.iter().all(|c| *c == "skipped") {
        "skipped"
    } else {
        "success"
    }
}

impl FakeGitHub {
    /// Adds a `github-actions` check run on `sha` (no webhook). Returns its id.
    pub fn add_check_run(
        &self,
        repo: &str,
        sha: &str,
        name: &str,
        status: &str,
        conclusion: Option<&str>,
    ) -> Result<u64, FakeError> {
        self.add_app_check_run(repo, sha, "github-actions", name, status, conclusion)
    }

    /// Adds a check run of the app `app_slug` on `sha` (no webhook). Returns its id.
    pub fn add_app_check_run(
        &self,
        repo: &str,
        sha: &str,
        app_slug: &str,
        name: &str,
        status: &str,
        conclusion: Option<&str>,
    ) -> Result<u64, FakeError> {
        let mut st = self.shared.lock();
        let id = repo_of(&st, repo)?;
        let sha = st
            .resolve_ref(id, sha)
            .ok_or_else(|| FakeError::UnknownRef(sha.to_string()))?;
        let run = NewRun {
            app_slug,
            name,
            status,
            conclusion,
            extra: Value::Null,
        };
        Ok(insert_check_run(&mut st, id, &sha, run))
    }

    /// Completes the suite of `app_slug` on `sha` (conclusion derived from its runs) and
    /// delivers `check_suite` `completed`. Its `pull_requests` lists open same-repository PRs
    /// with that head (GitHub leaves fork PRs out).
    pub async fn complete_check_suite(
        &self,
        repo: &str,
        sha: &str,
        app_slug: &str,
    ) -> Result<Delivery, FakeError> {
        let payload = {
            let mut st = self.shared.lock();
            let id = repo_of(&st, repo)?;
            let sha = st
                .resolve_ref(id, sha)
                .ok_or_else(|| FakeError::UnknownRef(sha.to_string()))?;
            let suite = st.suite_for(id, &sha, app_slug);
            let conclusions: Vec<Option<String>> = st
                .latest_runs(id, &sha)
                .into_iter()
                .filter(|r| r.suite == suite)
                .map(|r| r.conclusion.clone())
                .collect();
            let conclusion = suite_conclusion(&conclusions);
            if let Some(s) = st.suites.get_mut(&suite) {
                s.status = "completed".into();
                s.conclusion = Some(conclusion.to_string());
                s.updated_at = Utc::now();
            }
            let sender = st
                .pulls
                .values()
                .find(|p| p.repo == id && p.head_sha == sha && p.state == "open")
                .map_or_else(|| st.repos[&id].owner.clone(), |p| p.user.clone());
            let s = st.suites[&suite].clone();
            let r = self.shared.render(&st);
            events::check_suite(&r, &s, "completed", &sender)
        };
        Ok(self.deliver("check_suite", payload).await)
    }

    /// Sets a commit status (by the repository owner) and delivers `status`.
    pub async fn set_status(
        &self,
        repo: &str,
        sha: &str,
        context: &str,
        state: &str,
    ) -> Result<Delivery, FakeError> {
        if !["error", "failure", "pending", "success"].contains(&state) {
            return Err(FakeError::Invalid(format!("status state {state}")));
        }
        let payload = {
            let mut st = self.shared.lock();
            let id = repo_of(&st, repo)?;
            let sha = st
                .resolve_ref(id, sha)
                .ok_or_else(|| FakeError::UnknownRef(sha.to_string()))?;
            let owner = st.repos[&id].owner.clone();
            let status = CommitStatus {
                id: st.next_id(),
                repo: id,
                sha,
                context: context.to_string(),
                state: state.to_string(),
                description: None,
                target_url: None,
                creator: owner.clone(),
                created_at: Utc::now(),
            };
            st.statuses.push(status.clone());
            let r = self.shared.render(&st);
            events::status(&r, &status, &owner)
        };
        Ok(self.deliver("status", payload).await)
    }

    /// `login` creates a deployment of `sha` in `environment` by hand, with their own token
    /// (no App made it: `performed_via_github_app` is null; a bot account's login, added with
    /// [`FakeGitHub::add_user`] as `Bot` or ending in `[bot]`, plays an Actions token);
    /// delivers `deployment` `created` with `login` as sender. Returns the deployment's id and
    /// the delivery.
    pub async fn create_deployment_as(
        &self,
        repo: &str,
        sha: &str,
        environment: &str,
        login: &str,
    ) -> Result<(u64, Delivery), FakeError> {
        let (id, payload) = {
            let mut st = self.shared.lock();
            let repo_id = repo_of(&st, repo)?;
            let sha = st
                .resolve_ref(repo_id, sha)
                .ok_or_else(|| FakeError::UnknownRef(sha.to_string()))?;
            let kind = if login.ends_with("[bot]") {
                UserKind::Bot
            } else {
                UserKind::User
            };
            st.ensure_user(login, kind);
            let now = Utc::now();
            let d = Deployment {
                id: st.next_id(),
                repo: repo_id,
                sha: sha.clone(),
                ref_name: sha,
                task: "deploy".into(),
                payload: serde_json::json!({}),
                original_environment: environment.to_string(),
                environment: environment.to_string(),
                description: None,
                creator: login.to_string(),
                transient_environment: false,
                production_environment: false,
                via_app: false,
                created_at: now,
                updated_at: now,
                statuses: Vec::new(),
            };
            st.ensure_environment(repo_id, environment);
            st.deployments.insert(d.id, d.clone());
            let r = self.shared.render(&st);
            (d.id, events::deployment(&r, &d, login))
        };
        let delivery = self.deliver("deployment", payload).await;
        Ok((id, delivery))
    }

    /// `user` comments on an issue or PR; delivers `issue_comment` `created`.
    pub async fn comment(
        &self,
        repo: &str,
        number: u64,
        user: &str,
        body: &str,
    ) -> Result<CommentPosted, FakeError> {
        let (id, payload) = {
            let mut st = self.shared.lock();
            let repo_id = repo_of(&st, repo)?;
            if !st.pulls.contains_key(&(repo_id, number))
                && !st.issues.contains_key(&(repo_id, number))
            {
                return Err(FakeError::UnknownIssue(repo.to_string(), number));
            }
            st.ensure_user(user, UserKind::User);
            let c = insert_comment(&mut st, repo_id, number, user, body, false);
            let r = self.shared.render(&st);
            (c.id, events::issue_comment(&r, &c, "created", user, None))
        };
        let delivery = self.deliver("issue_comment", payload).await;
        Ok(CommentPosted { id, delivery })
    }

    /// The comment's author edits it; delivers `issue_comment` `edited` (`changes.body.from`).
    pub async fn edit_comment(
        &self,
        repo: &str,
        comment_id: u64,
        body: &str,
    ) -> Result<Delivery, FakeError> {
        let payload = {
            let mut st = self.shared.lock();
            let repo_id = repo_of(&st, repo)?;
            let c = st
                .comments
                .get_mut(&comment_id)
                .filter(|c| c.repo == repo_id)
                .ok_or(FakeError::UnknownComment(comment_id))?;
            let old = std::mem::replace(&mut c.body, body.to_string());
            c.history.push(old.clone());
            c.updated_at = Utc::now();
            let c = c.clone();
            let r = self.shared.render(&st);
            events::issue_comment(&r, &c, "edited", &c.user, Some(&old))
        };
        Ok(self.deliver("issue_comment", payload).await)
    }

    /// The comment's author deletes it; delivers `issue_comment` `deleted`.
    pub async fn delete_comment(&self, repo: &str, comment_id: u64) -> Result<Delivery, FakeError> {
        let payload = {
            let mut st = self.shared.lock();
            let repo_id = repo_of(&st, repo)?;
            if st
                .comments
                .get(&comment_id)
                .is_none_or(|c| c.repo != repo_id)
            {
                return Err(FakeError::UnknownComment(comment_id));
            }
            let r = self.shared.render(&st);
            let c = st.comments[&comment_id].clone();
            let payload = events::issue_comment(&r, &c, "deleted", &c.user, None);
            st.comments.remove(&comment_id);
            st.reactions.retain(|_, x| x.comment_id != comment_id);
            payload
        };
        Ok(self.deliver("issue_comment", payload).await)
    }

    /// Delivers an arbitrary event (signed as usual).
    pub async fn send_event(&self, event: &str, payload: Value) -> Delivery {
        self.deliver(event, payload).await
    }

    /// Delivers exact bytes. `signature`: `None` signs normally, `Some("")` sends no signature,
    /// `Some(s)` sends `s` as `X-Hub-Signature-256`.
    pub async fn send_raw(&self, event: &str, body: Bytes, signature: Option<&str>) -> Delivery {
        let out = Outgoing {
            event: event.to_string(),
            body,
            guid: super::auth::uuid_like(),
            redelivery: false,
            api_caused: false,
            signature: signature.map(str::to_string),
        };
        webhooks::send(&self.shared, out).await
    }

    /// Re-sends an earlier delivery: same body and `X-GitHub-Delivery`, freshly signed.
    pub async fn redeliver(&self, guid: &str) -> Result<Delivery, FakeError> {
        let out = webhooks::redelivery_of(&self.shared, guid)
            .ok_or_else(|| FakeError::UnknownDelivery(guid.to_string()))?;
        Ok(webhooks::send(&self.shared, out).await)
    }
}

/// A check run to store with [`insert_check_run`].
pub(super) struct NewRun<'a> {
    pub app_slug: &'a str,
    pub name: &'a str,
    pub status: &'a str,
    pub conclusion: Option<&'a str>,
    /// `external_id`, `details_url`, `output` as posted.
    pub extra: Value,
}

/// Stores a check run (and its suite) and returns its id.
pub(super) fn insert_check_run(st: &mut State, repo: u64, sha: &str, run: NewRun<'_>) -> u64 {
    let suite = st.suite_for(repo, sha, run.app_slug);
    let id = st.next_id();
    let now = Utc::now();
    let completed = run.status == "completed" || run.conclusion.is_some();
    st.runs.insert(
        id,
        CheckRun {
            id,
            suite,
            repo,
            head_sha: sha.to_string(),
            name: run.name.to_string(),
            app_slug: run.app_slug.to_string(),
            status: if completed { "completed" } else { run.status }.to_string(),
            conclusion: run.conclusion.map(str::to_string),
            started_at: now,
            completed_at: completed.then_some(now),
            extra: run.extra,
        },
    );
    if let Some(s) = st.suites.get_mut(&suite) {
        if s.status != "completed" {
            s.status = "in_progress".into();
        }
        s.updated_at = now;
    }
    id
}

/// Stores a new comment and returns it.
pub(super) fn insert_comment(
    st: &mut State,
    repo: u64,
    number: u64,
    user: &str,
    body: &str,
    via_app: bool,
) -> Comment {
    // Commenting on a PR changes its `updated_at`, as on GitHub.
    let now = st.stamp();
    if let Some(p) = st.pulls.get_mut(&(repo, number)) {
        p.updated_at = now;
    }
    let c = Comment {
        id: st.next_id(),
        repo,
        issue_number: number,
        body: body.to_string(),
        user: user.to_string(),
        via_app,
        created_at: now,
        updated_at: now,
        history: Vec::new(),
    };
    st.comments.insert(c.id, c.clone());
    c
}
