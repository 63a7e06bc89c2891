//! Scenario API: plays users and CI. Each call changes the state, then delivers the webhook
//! GitHub would send and waits for the App's answer (returned as a [`Delivery`]).

use bytes::Bytes;
use chrono::Utc;
use serde_json::{Value, json};

use super::events;
use super::model::{PullRequest, UserKind};
use super::scenario_git::{MergeSpec, Pushed, merge_pr};
use super::seed::{commit_on_branch, ensure_fork, repo_of};
use super::state::State;
use super::webhooks::{self, Delivery, Outgoing};
use super::{FakeError, FakeGitHub};

/// A pull request to open with [`FakeGitHub::open_pr`].
#[derive(Clone, Debug)]
pub struct PrSpec {
    /// Base repository `owner/name`.
    pub repo: String,
    /// Head branch name.
    pub head_ref: String,
    /// Base branch (default: the repository's default branch).
    pub base_ref: Option<String>,
    /// Author login.
    pub author: String,
    /// Owner of the fork the head lives in (`None`: same repository).
    pub fork_owner: Option<String>,
    /// Open as draft.
    pub draft: bool,
    /// Title.
    pub title: String,
    /// Files (path, content) committed on the head branch when opening.
    pub files: Vec<(String, String)>,
}

impl PrSpec {
    /// A same-repository, non-draft PR from `head_ref` by `author`.
    pub fn new(repo: &str, head_ref: &str, author: &str) -> Self {
        PrSpec {
            repo: repo.to_string(),
            head_ref: head_ref.to_string(),
            base_ref: None,
            author: author.to_string(),
            fork_owner: None,
            draft: false,
            title: format!("Changes from {head_ref}"),
            files: Vec::new(),
        }
    }

    /// Head lives in `owner`'s fork (created if needed).
    pub fn from_fork(mut self, owner: &str) -> Self {
        self.fork_owner = Some(owner.to_string());
        self
    }

    /// Open as draft.
    pub fn draft(mut self) -> Self {
        self.draft = true;
        self
    }

    /// Target another base branch.
    pub fn base(mut self, base_ref: &str) -> Self {
        self.base_ref = Some(base_ref.to_string());
        self
    }

    /// Set the title.
    pub fn title(mut self, title: &str) -> Self {
        self.title = title.to_string();
        self
    }

    /// Commit a file on the head branch when opening.
    pub fn file(mut self, path: &str, content: &str) -> Self {
        self.files.push((path.to_string(), content.to_string()));
        self
    }
}

/// What [`FakeGitHub::open_pr`] did.
#[derive(Clone, Debug)]
pub struct PrOpened {
    /// PR number.
    pub number: u64,
    /// Head sha.
    pub head_sha: String,
    /// The `pull_request` `opened` delivery.
    pub delivery: Delivery,
}

impl FakeGitHub {
    pub(super) async fn deliver(&self, event: &str, payload: Value) -> Delivery {
        webhooks::send(&self.shared, Outgoing::new(event, &payload)).await
    }

    /// Changes a PR with `f`, then renders the `pull_request` event with `action`.
    fn pr_event(
        &self,
        repo: &str,
        number: u64,
        action: &str,
        f: impl FnOnce(&mut State, u64) -> Result<(String, Value), FakeError>,
    ) -> Result<Value, FakeError> {
        let mut st = self.shared.lock();
        let id = repo_of(&st, repo)?;
        if !st.pulls.contains_key(&(id, number)) {
            return Err(FakeError::UnknownIssue(repo.to_string(), number));
        }
        let (sender, extra) = f(&mut st, id)?;
        let now = st.stamp();
        if let Some(p) = st.pulls.get_mut(&(id, number)) {
            p.updated_at = now;
        }
        let pr = st.pulls[&(id, number)].clone();
        let r = self.shared.render(&st);
        Ok(events::pull_request(&r, &pr, action, &sender, extra))
    }

    /// Opens a PR (creating its head branch/fork as needed) and delivers `pull_request`
    /// `opened`.
    pub async fn open_pr(&self, spec: PrSpec) -> Result<PrOpened, FakeError> {
        let (payload, number, head_sha) = {
            let mut st = self.shared.lock();
            let base_repo = repo_of(&st, &spec.repo)?;
            let r = &st.repos[&base_repo];
            let base_ref = spec.base_ref.clone().unwrap_or(r.default_branch.clone());
            let base_sha = r
                .branches
                .get(&base_ref)
                .cloned()
                .ok_or_else(|| FakeError::UnknownRef(base_ref.clone()))?;
            let base_owner = r.owner.clone();
            st.ensure_user(&spec.author, UserKind::User);
            let (head_repo, head_owner) = match &spec.fork_owner {
                Some(o) => (ensure_fork(&mut st, base_repo, o)?, o.clone()),
                None => (base_repo, base_owner),
            };
            let existing = st.repos[&head_repo].branches.get(&spec.head_ref).cloned();
            let head_sha = match existing {
                Some(sha) if spec.files.is_empty() => sha,
                _ => {
                    if existing.is_none()
                        && let Some(r) = st.repos.get_mut(&head_repo)
                    {
                        r.branches.insert(spec.head_ref.clone(), base_sha.clone());
                    }
                    let files: Vec<(String, Option<Bytes>)> = spec
                        .files
                        .iter()
                        .map(|(p, c)| (p.clone(), Some(Bytes::from(c.clone()))))
                        .collect();
                    let msg = format!("Work on {}", spec.head_ref);
                    commit_on_branch(
                        &mut st,
                        head_repo,
                        &spec.head_ref,
                        &files,
                        &msg,
                        &spec.author,
                    )
                }
            };
            let number = st.next_number(base_repo);
            let id = st.next_id();
            let now = st.stamp();
            let pr = PullRequest {
                id,
                repo: base_repo,
                number,
                title: spec.title.clone(),
                body: None,
                user: spec.author.clone(),
                state: "open".into(),
                draft: spec.draft,
                mergeable: true,
                merged: false,
                merged_at: None,
                merged_by: None,
                merge_commit_sha: None,
                closed_at: None,
                created_at: now,
                updated_at: now,
                head_ref: spec.head_ref.clone(),
                head_sha: head_sha.clone(),
                head_repo: Some(head_repo),
                head_owner,
                base_ref,
                base_sha,
            };
            st.pulls.insert((base_repo, number), pr.clone());
            let r = self.shared.render(&st);
            let payload = events::pull_request(&r, &pr, "opened", &spec.author, json!({}));
            (payload, number, head_sha)
        };
        let delivery = self.deliver("pull_request", payload).await;
        Ok(PrOpened {
            number,
            head_sha,
            delivery,
        })
    }

    /// Pushes a new commit on the PR's head branch and delivers `synchronize`
    /// (with `before`/`after`).
    pub async fn push_pr(&self, repo: &str, number: u64) -> Result<Pushed, FakeError> {
        self.push_pr_files(repo, number, &[]).await
    }

    /// Like [`FakeGitHub::push_pr`], committing these files (path, content).
    pub async fn push_pr_files(
        &self,
        repo: &str,
        number: u64,
        files: &[(&str, &str)],
    ) -> Result<Pushed, FakeError> {
        let mut shas = (String::new(), String::new());
        let payload = self.pr_event(repo, number, "synchronize", |st, id| {
            let pr = st.pulls[&(id, number)].clone();
            let head_repo = pr
                .head_repo
                .ok_or_else(|| FakeError::Invalid("the head repository was deleted".into()))?;
            let files: Vec<(String, Option<Bytes>)> = files
                .iter()
                .map(|(p, c)| ((*p).to_string(), Some(Bytes::from((*c).to_string()))))
                .collect();
            let msg = format!("More work on {}", pr.head_ref);
            let after = commit_on_branch(st, head_repo, &pr.head_ref, &files, &msg, &pr.user);
            let base_sha = st.repos[&id].branches.get(&pr.base_ref).cloned();
            if let Some(p) = st.pulls.get_mut(&(id, number)) {
                p.head_sha = after.clone();
                if let Some(b) = base_sha {
                    p.base_sha = b;
                }
            }
            shas = (pr.head_sha.clone(), after.clone());
            Ok((pr.user, json!({"before": pr.head_sha, "after": after})))
        })?;
        let delivery = self.deliver("pull_request", payload).await;
        Ok(Pushed {
            before: shas.0,
            after: shas.1,
            delivery,
        })
    }

    /// Closes a PR and delivers `closed`. The repository owner acts. Merged: a merge commit on
    /// the base branch, `merged`/`merged_at`/`merged_by` set, and `push` of the base branch
    /// delivered after `closed` (the returned delivery is the `closed` one); refused while the PR
    /// is not mergeable (see [`FakeGitHub::set_mergeable`]).
    pub async fn close_pr(
        &self,
        repo: &str,
        number: u64,
        merged: bool,
    ) -> Result<Delivery, FakeError> {
        let mut merge = None;
        let payload = self.pr_event(repo, number, "closed", |st, id| {
            let owner = st.repos[&id].owner.clone();
            let pr = &st.pulls[&(id, number)];
            if pr.state != "open" {
                return Err(FakeError::Invalid(format!("#{number} is not open")));
            }
            if merged && !pr.mergeable {
                return Err(FakeError::Invalid(format!("#{number} has conflicts")));
            }
            if merged {
                let m = merge_pr(st, id, number, &owner, &MergeSpec::default())
                    .ok_or_else(|| FakeError::Invalid("base branch is gone".into()))?;
                merge = Some((m, owner.clone()));
            } else if let Some(p) = st.pulls.get_mut(&(id, number)) {
                p.state = "closed".into();
                p.closed_at = Some(Utc::now());
            }
            Ok((owner, json!({})))
        })?;
        let push = merge.map(|(m, by)| {
            let st = self.shared.lock();
            m.push_event(&self.shared.render(&st), &by)
        });
        let closed = self.deliver("pull_request", payload).await;
        if let Some(push) = push {
            self.deliver("push", push).await;
        }
        Ok(closed)
    }

    /// Reopens a closed, unmerged PR and delivers `reopened`.
    pub async fn reopen_pr(&self, repo: &str, number: u64) -> Result<Delivery, FakeError> {
        let payload = self.pr_event(repo, number, "reopened", |st, id| {
            let p = st
                .pulls
                .get_mut(&(id, number))
                .ok_or_else(|| FakeError::Invalid("no PR".into()))?;
            if p.merged || p.state == "open" {
                return Err(FakeError::Invalid(format!("#{number} cannot be reopened")));
            }
            p.state = "open".into();
            p.closed_at = None;
            Ok((p.user.clone(), json!({})))
        })?;
        Ok(self.deliver("pull_request", payload).await)
    }

    async fn set_draft_flag(
        &self,
        repo: &str,
        number: u64,
        draft: bool,
    ) -> Result<Delivery, FakeError> {
        let action = if draft {
            "converted_to_draft"
        } else {
            "ready_for_review"
        };
        let payload = self.pr_event(repo, number, action, |st, id| {
            let p = st
                .pulls
                .get_mut(&(id, number))
                .ok_or_else(|| FakeError::Invalid("no PR".into()))?;
            p.draft = draft;
            Ok((p.user.clone(), json!({})))
        })?;
        Ok(self.deliver("pull_request", payload).await)
    }

    /// Converts a PR to draft and delivers `converted_to_draft`.
    pub async fn set_draft(&self, repo: &str, number: u64) -> Result<Delivery, FakeError> {
        self.set_draft_flag(repo, number, true).await
    }

    /// Marks a draft PR ready and delivers `ready_for_review`.
    pub async fn ready_for_review(&self, repo: &str, number: u64) -> Result<Delivery, FakeError> {
        self.set_draft_flag(repo, number, false).await
    }

    /// Deletes a fork (`owner/name`): PRs from it get `head.repo: null`. No webhook.
    pub fn delete_fork(&self, fork: &str) -> Result<(), FakeError> {
        let mut st = self.shared.lock();
        let id = repo_of(&st, fork)?;
        if st.repos[&id].fork_of.is_none() {
            return Err(FakeError::Invalid(format!("{fork} is not a fork")));
        }
        st.repos.remove(&id);
        for p in st.pulls.values_mut().filter(|p| p.head_repo == Some(id)) {
            p.head_repo = None;
        }
        Ok(())
    }
}
