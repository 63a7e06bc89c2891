//! Seeding: accounts, installations, repositories, commits and files, permissions. No webhook is
//! sent for any of these.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use chrono::Utc;

use super::model::{Installation, Repo, Role, UserKind};
use super::state::State;
use super::{FakeError, FakeGitHub};

/// What [`FakeGitHub::add_repo`] created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoSeed {
    /// Repository id.
    pub id: u64,
    /// Sha of the initial commit (head of the default branch).
    pub head_sha: String,
}

pub(super) fn repo_of(st: &State, full_name: &str) -> Result<u64, FakeError> {
    st.repo_by_full_name(full_name)
        .ok_or_else(|| FakeError::UnknownRepo(full_name.to_string()))
}

/// Commits `files` (path, content; `None` deletes) on top of `branch` of `repo`, creating the
/// branch from the default branch if needed. Returns the new sha.
pub(super) fn commit_on_branch(
    st: &mut State,
    repo: u64,
    branch: &str,
    files: &[(String, Option<Bytes>)],
    message: &str,
    author: &str,
) -> String {
    let r = &st.repos[&repo];
    let parent = r
        .branches
        .get(branch)
        .or_else(|| r.branches.get(&r.default_branch))
        .cloned();
    let mut tree: BTreeMap<String, Bytes> = parent
        .as_deref()
        .map(|p| (*st.tree_of(p)).clone())
        .unwrap_or_default();
    for (path, content) in files {
        match content {
            Some(c) => tree.insert(path.clone(), c.clone()),
            None => tree.remove(path),
        };
    }
    let sha = st.new_commit(
        parent.into_iter().collect(),
        message,
        author,
        Arc::new(tree),
    );
    if let Some(r) = st.repos.get_mut(&repo) {
        r.branches.insert(branch.to_string(), sha.clone());
    }
    sha
}

/// Creates a repository record (no commits).
pub(super) fn insert_repo(
    st: &mut State,
    full_name: &str,
    default_branch: &str,
    installation: Option<u64>,
    fork_of: Option<u64>,
) -> Result<u64, FakeError> {
    let (owner, name) = full_name
        .split_once('/')
        .ok_or_else(|| FakeError::Invalid(format!("not owner/name: {full_name}")))?;
    if st.repo_id(owner, name).is_some() {
        return Err(FakeError::Invalid(format!("{full_name} already exists")));
    }
    st.ensure_user(owner, UserKind::User);
    let id = st.next_id();
    st.repos.insert(
        id,
        Repo {
            id,
            owner: owner.to_string(),
            name: name.to_string(),
            default_branch: default_branch.to_string(),
            installation,
            fork_of,
            branches: BTreeMap::new(),
            created_at: Utc::now(),
        },
    );
    Ok(id)
}

/// The fork of `parent` owned by `owner`, created (with the parent's branches) if missing.
pub(super) fn ensure_fork(st: &mut State, parent: u64, owner: &str) -> Result<u64, FakeError> {
    let p = st.repos[&parent].clone();
    if let Some(id) = st.repo_id(owner, &p.name) {
        return Ok(id);
    }
    let full = format!("{owner}/{}", p.name);
    let id = insert_repo(st, &full, &p.default_branch, None, Some(parent))?;
    if let Some(r) = st.repos.get_mut(&id) {
        r.branches = p.branches;
    }
    Ok(id)
}

/// `(path, content)` pairs as commit changes (every file written).
pub(super) fn owned(files: &[(&str, &str)]) -> Vec<(String, Option<Bytes>)> {
    files
        .iter()
        .map(|(p, c)| (p.to_string(), Some(Bytes::from(c.to_string()))))
        .collect()
}

impl FakeGitHub {
    /// Adds (or re-types) an account. Accounts are otherwise created as `User` on first use.
    pub fn add_user(&self, login: &str, kind: UserKind) {
        let mut st = self.shared.lock();
        st.ensure_user(login, kind);
        if let Some(u) = st.users.get_mut(login) {
            u.kind = kind;
        }
    }

    /// Installs the App on `account` with this installation id.
    pub fn add_installation(&self, id: u64, account: &str) {
        let mut st = self.shared.lock();
        st.ensure_user(account, UserKind::User);
        st.installations.insert(
            id,
            Installation {
                id,
                account: account.to_string(),
                created_at: Utc::now(),
            },
        );
    }

    /// Adds `owner/name` to an installation, with one initial commit (containing `README.md`)
    /// on `default_branch`.
    pub fn add_repo(
        &self,
        installation: u64,
        full_name: &str,
        default_branch: &str,
    ) -> Result<RepoSeed, FakeError> {
        let mut st = self.shared.lock();
        if !st.installations.contains_key(&installation) {
            return Err(FakeError::UnknownInstallation(installation));
        }
        let id = insert_repo(&mut st, full_name, default_branch, Some(installation), None)?;
        let owner = st.repos[&id].owner.clone();
        let readme = vec![(
            "README.md".to_string(),
            Some(Bytes::from(format!("# {full_name}\n"))),
        )];
        let head_sha = commit_on_branch(
            &mut st,
            id,
            default_branch,
            &readme,
            "Initial commit",
            &owner,
        );
        Ok(RepoSeed { id, head_sha })
    }

    /// `owner` forks `parent` (its branches as they are now, as [`crate::PrSpec::from_fork`]
    /// does) and installs the App on the fork with `installation` (created for `owner` if
    /// missing): a second repository with the same name and the same commits. Returns its id.
    pub fn add_installed_fork(
        &self,
        installation: u64,
        parent: &str,
        owner: &str,
    ) -> Result<u64, FakeError> {
        if !self.shared.lock().installations.contains_key(&installation) {
            self.add_installation(installation, owner);
        }
        let mut st = self.shared.lock();
        let parent = repo_of(&st, parent)?;
        let id = ensure_fork(&mut st, parent, owner)?;
        if let Some(r) = st.repos.get_mut(&id) {
            r.installation = Some(installation);
        }
        Ok(id)
    }

    /// Adds a commit on `branch` (created from the default branch if missing) without file
    /// changes. Returns its sha.
    pub fn add_commit(&self, repo: &str, branch: &str, message: &str) -> Result<String, FakeError> {
        self.put_files(repo, branch, &[], message)
    }

    /// Commits one file on `branch`. Returns the new sha.
    pub fn put_file(
        &self,
        repo: &str,
        branch: &str,
        path: &str,
        content: &str,
    ) -> Result<String, FakeError> {
        self.put_files(repo, branch, &[(path, content)], &format!("Update {path}"))
    }

    /// Commits several files (path, content) on `branch`. Returns the new sha.
    pub fn put_files(
        &self,
        repo: &str,
        branch: &str,
        files: &[(&str, &str)],
        message: &str,
    ) -> Result<String, FakeError> {
        let mut st = self.shared.lock();
        let id = repo_of(&st, repo)?;
        let owner = st.repos[&id].owner.clone();
        Ok(commit_on_branch(
            &mut st,
            id,
            branch,
            &owned(files),
            message,
            &owner,
        ))
    }

    /// Head sha of a branch.
    pub fn branch_head(&self, repo: &str, branch: &str) -> Option<String> {
        let st = self.shared.lock();
        let id = st.repo_by_full_name(repo)?;
        st.repos[&id].branches.get(branch).cloned()
    }

    /// Grants `user` a role on the repository (the owner is always admin).
    pub fn set_permission(&self, repo: &str, user: &str, role: Role) -> Result<(), FakeError> {
        let mut st = self.shared.lock();
        let id = repo_of(&st, repo)?;
        st.ensure_user(user, UserKind::User);
        st.roles.insert((id, user.to_ascii_lowercase()), role);
        Ok(())
    }

    /// `count` comments by `user` on an issue or PR (bodies `comment 1`, `comment 2`, ...), with
    /// no webhook: a long conversation that was there before. Returns their ids, oldest first.
    pub fn add_comments(
        &self,
        repo: &str,
        number: u64,
        user: &str,
        count: usize,
    ) -> Result<Vec<u64>, FakeError> {
        let mut st = self.shared.lock();
        let id = repo_of(&st, repo)?;
        if !st.pulls.contains_key(&(id, number)) && !st.issues.contains_key(&(id, number)) {
            return Err(FakeError::UnknownIssue(repo.to_string(), number));
        }
        st.ensure_user(user, UserKind::User);
        Ok((1..=count)
            .map(|n| {
                super::scenario_ci::insert_comment(
                    &mut st,
                    id,
                    number,
                    user,
                    &format!("comment {n}"),
                    false,
                )
                .id
            })
            .collect())
    }
}
