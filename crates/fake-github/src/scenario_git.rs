//! Scenario API, continued: branch pushes and merges, the two ways a branch moves. Both deliver
//! `push` for the branch that moved, as GitHub does (a merge also sends `pull_request` `closed`).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use bytes::Bytes;

use serde_json::{Value, json};

use super::events::{self, NO_SHA, RefUpdate};
use super::seed::{commit_on_branch, owned, repo_of};
use super::state::State;
use super::webhooks::Delivery;
use super::{FakeError, FakeGitHub};

/// What [`FakeGitHub::push_pr`] or [`FakeGitHub::push_branch`] did.
#[derive(Clone, Debug)]
pub struct Pushed {
    /// Previous head sha (40 zeros when `push_branch` created the branch).
    pub before: String,
    /// New head sha.
    pub after: String,
    /// The `pull_request` `synchronize` delivery (`push_pr`) or the `push` delivery
    /// (`push_branch`).
    pub delivery: Delivery,
}

/// GitHub's `merge_method`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum MergeMethod {
    /// A merge commit with two parents (base head, PR head).
    Merge,
    /// One new commit on the base with the PR's changes.
    Squash,
    /// Each PR commit replayed on the base, in order.
    Rebase,
}

impl MergeMethod {
    pub(super) fn parse(s: &str) -> Option<Self> {
        match s {
            "merge" => Some(MergeMethod::Merge),
            "squash" => Some(MergeMethod::Squash),
            "rebase" => Some(MergeMethod::Rebase),
            _ => None,
        }
    }
}

/// How to merge: method, and `commit_title`/`commit_message` as sent (GitHub's defaults
/// otherwise; a rebase ignores both).
#[derive(Clone, Debug)]
pub(super) struct MergeSpec {
    pub method: MergeMethod,
    pub title: Option<String>,
    pub message: Option<String>,
}

impl Default for MergeSpec {
    fn default() -> Self {
        MergeSpec {
            method: MergeMethod::Merge,
            title: None,
            message: None,
        }
    }
}

/// A merge that moved the base branch.
#[derive(Clone, Debug)]
pub(super) struct Merged {
    /// Base repository id.
    pub repo: u64,
    /// Base branch.
    pub base_ref: String,
    /// Base head before the merge.
    pub before: String,
    /// New base head (`merge_commit_sha`).
    pub sha: String,
}

impl Merged {
    /// The `push` GitHub sends for the base branch, by whoever merged.
    pub(super) fn push_event(&self, r: &super::render::Render<'_>, by: &str) -> Value {
        events::push(
            r,
            &RefUpdate {
                repo: self.repo,
                branch: &self.base_ref,
                before: Some(&self.before),
                after: Some(&self.sha),
                pusher: by,
            },
        )
    }
}

/// Applies the changes `from` → `to` onto `onto` (paths changed in `to` win).
fn apply(
    onto: &BTreeMap<String, Bytes>,
    from: &BTreeMap<String, Bytes>,
    to: &BTreeMap<String, Bytes>,
) -> BTreeMap<String, Bytes> {
    let mut out = onto.clone();
    let paths: HashSet<&String> = from.keys().chain(to.keys()).collect();
    for p in paths {
        if from.get(p) != to.get(p) {
            match to.get(p) {
                Some(v) => out.insert(p.clone(), v.clone()),
                None => out.remove(p),
            };
        }
    }
    out
}

/// Merges an open PR into its base branch `by` someone, the way `spec` says, and closes it as
/// merged. `None` when the PR or its base branch is gone.
pub(super) fn merge_pr(
    st: &mut State,
    repo: u64,
    number: u64,
    by: &str,
    spec: &MergeSpec,
) -> Option<Merged> {
    let pr = st.pulls.get(&(repo, number))?.clone();
    let r = st.repos.get(&repo)?;
    let base_head = r.branches.get(&pr.base_ref)?.clone();
    let full = r.full_name();
    let body = spec.message.clone().unwrap_or_else(|| match spec.method {
        MergeMethod::Merge => pr.title.clone(),
        _ => {
            let shas = st
                .compare(&base_head, &pr.head_sha)
                .map(|c| c.commits)
                .unwrap_or_default();
            shas.iter()
                .filter_map(|s| st.commits.get(s))
                .map(|c| format!("* {}", c.message))
                .collect::<Vec<_>>()
                .join("\n\n")
        }
    });
    let with_body = |title: String| {
        if body.is_empty() {
            title
        } else {
            format!("{title}\n\n{body}")
        }
    };
    let sha = match spec.method {
        MergeMethod::Merge => {
            let title = spec.title.clone().unwrap_or_else(|| {
                format!(
                    "Merge pull request #{number} from {}/{}",
                    pr.head_owner, pr.head_ref
                )
            });
            let tree = st.merge_tree(&base_head, &pr.head_sha);
            let parents = vec![base_head.clone(), pr.head_sha.clone()];
            st.new_commit(parents, &with_body(title), by, tree)
        }
        MergeMethod::Squash => {
            let title = spec
                .title
                .clone()
                .unwrap_or_else(|| format!("{} (#{number})", pr.title));
            let tree = st.merge_tree(&base_head, &pr.head_sha);
            st.new_commit(vec![base_head.clone()], &with_body(title), &pr.user, tree)
        }
        MergeMethod::Rebase => {
            let shas = st
                .compare(&base_head, &pr.head_sha)
                .map(|c| c.commits)
                .unwrap_or_default();
            let mut tip = base_head.clone();
            for s in shas {
                let Some(c) = st.commits.get(&s).cloned() else {
                    continue;
                };
                // Merge commits carry nothing of their own to replay.
                if c.parents.len() > 1 {
                    continue;
                }
                let parent = c.parents.first().map(|p| st.tree_of(p)).unwrap_or_default();
                let tree = apply(&st.tree_of(&tip), &parent, &c.tree);
                tip = st.new_commit(vec![tip], &c.message, &c.author, Arc::new(tree));
            }
            tip
        }
    };
    let now = st.stamp();
    if let Some(r) = st.repos.get_mut(&repo) {
        r.branches.insert(pr.base_ref.clone(), sha.clone());
    }
    if let Some(p) = st.pulls.get_mut(&(repo, number)) {
        p.state = "closed".into();
        p.merged = true;
        p.merged_at = Some(now);
        p.merged_by = Some(by.to_string());
        p.merge_commit_sha = Some(sha.clone());
        p.closed_at = Some(now);
        p.updated_at = now;
    }
    tracing::debug!(repo = %full, number, merge = %sha, method = ?spec.method, "fake GitHub merged a pull request");
    Some(Merged {
        repo,
        base_ref: pr.base_ref,
        before: base_head,
        sha,
    })
}

impl FakeGitHub {
    /// Pushes one new commit (no file changes, by the repository owner) on `branch`, creating
    /// the branch from the default branch if missing, and delivers `push` (then `pull_request`
    /// `synchronize` for each open PR whose head is that branch, as GitHub does).
    pub async fn push_branch(
        &self,
        repo: &str,
        branch: &str,
        message: &str,
    ) -> Result<Pushed, FakeError> {
        self.push_branch_files(repo, branch, &[], message).await
    }

    /// Like [`FakeGitHub::push_branch`], committing these files (path, content).
    pub async fn push_branch_files(
        &self,
        repo: &str,
        branch: &str,
        files: &[(&str, &str)],
        message: &str,
    ) -> Result<Pushed, FakeError> {
        let (before, after, push, syncs) = {
            let mut st = self.shared.lock();
            let id = repo_of(&st, repo)?;
            let r = &st.repos[&id];
            let before = r.branches.get(branch).cloned();
            if before.is_none() && !r.branches.contains_key(&r.default_branch) {
                return Err(FakeError::UnknownRef(r.default_branch.clone()));
            }
            let owner = r.owner.clone();
            let after = commit_on_branch(&mut st, id, branch, &owned(files), message, &owner);
            let syncs = follow_branch(&mut st, id, branch, &after);
            let rd = self.shared.render(&st);
            let update = RefUpdate {
                repo: id,
                branch,
                before: before.as_deref(),
                after: Some(&after),
                pusher: &owner,
            };
            let push = events::push(&rd, &update);
            let syncs: Vec<Value> = syncs
                .into_iter()
                .map(|(key, old)| {
                    let pr = &st.pulls[&key];
                    let extra = json!({"before": old, "after": after});
                    events::pull_request(&rd, pr, "synchronize", &owner, extra)
                })
                .collect();
            (before, after, push, syncs)
        };
        let delivery = self.deliver("push", push).await;
        for payload in syncs {
            self.deliver("pull_request", payload).await;
        }
        Ok(Pushed {
            before: before.unwrap_or_else(|| NO_SHA.to_string()),
            after,
            delivery,
        })
    }

    /// Pushes an existing commit to `branch` as it is (a fast-forward, as `git push` of a pull
    /// request's head does) and delivers `push`.
    pub async fn push_commit(
        &self,
        repo: &str,
        branch: &str,
        sha: &str,
    ) -> Result<Delivery, FakeError> {
        let push = {
            let mut st = self.shared.lock();
            let id = repo_of(&st, repo)?;
            let r = &st.repos[&id];
            let before = r.branches.get(branch).cloned();
            let owner = r.owner.clone();
            if let Some(r) = st.repos.get_mut(&id) {
                r.branches.insert(branch.to_owned(), sha.to_owned());
            }
            let rd = self.shared.render(&st);
            events::push(
                &rd,
                &RefUpdate {
                    repo: id,
                    branch,
                    before: before.as_deref(),
                    after: Some(sha),
                    pusher: &owner,
                },
            )
        };
        Ok(self.deliver("push", push).await)
    }

    /// Marks a PR as conflicting with its base (`false`: `mergeable: false`, `mergeable_state:
    /// "dirty"`, and the merge API answers 405) or clean again. No webhook, as on GitHub.
    pub fn set_mergeable(&self, repo: &str, number: u64, mergeable: bool) -> Result<(), FakeError> {
        let mut st = self.shared.lock();
        let id = repo_of(&st, repo)?;
        let p = st
            .pulls
            .get_mut(&(id, number))
            .ok_or_else(|| FakeError::UnknownIssue(repo.to_string(), number))?;
        p.mergeable = mergeable;
        Ok(())
    }
}

/// Open PRs whose head is `branch` of `repo` move to `after`; returns their keys and old heads.
fn follow_branch(
    st: &mut State,
    repo: u64,
    branch: &str,
    after: &str,
) -> Vec<((u64, u64), String)> {
    let keys: Vec<(u64, u64)> = st
        .pulls
        .iter()
        .filter(|(_, p)| p.state == "open" && p.head_repo == Some(repo) && p.head_ref == branch)
        .map(|(k, _)| *k)
        .collect();
    let now = st.stamp();
    let mut moved = Vec::new();
    for key in keys {
        let base = st.pulls[&key].base_ref.clone();
        let base_sha = st
            .repos
            .get(&key.0)
            .and_then(|r| r.branches.get(&base))
            .cloned();
        if let Some(p) = st.pulls.get_mut(&key) {
            moved.push((key, std::mem::replace(&mut p.head_sha, after.to_string())));
            if let Some(b) = base_sha {
                p.base_sha = b;
            }
            p.updated_at = now;
        }
    }
    moved
}
