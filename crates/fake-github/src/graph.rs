//! The commit graph: creating commits, resolving refs, ancestry, compare, tree merges.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use chrono::Utc;
use sha2::{Digest, Sha256};

use super::model::{Commit, Tree, UserKind};
use super::state::State;

/// Result of comparing two commits.
#[derive(Clone, Debug)]
pub(super) struct Comparison {
    pub status: &'static str,
    pub ahead_by: usize,
    pub behind_by: usize,
    pub merge_base: String,
    /// Commits in head but not base, oldest first.
    pub commits: Vec<String>,
}

impl State {
    /// Creates a commit and returns its sha (deterministic from the counter and content).
    pub(super) fn new_commit(
        &mut self,
        parents: Vec<String>,
        message: &str,
        author: &str,
        tree: Tree,
    ) -> String {
        let seq = self.next_id();
        let mut h = Sha256::new();
        h.update(seq.to_be_bytes());
        h.update(message.as_bytes());
        for p in &parents {
            h.update(p.as_bytes());
        }
        let sha = hex::encode(h.finalize())[..40].to_string();
        self.ensure_user(author, UserKind::User);
        self.commits.insert(
            sha.clone(),
            Commit {
                sha: sha.clone(),
                parents,
                message: message.to_string(),
                author: author.to_string(),
                date: Utc::now(),
                tree,
            },
        );
        sha
    }

    /// Tree of a commit (empty for unknown shas).
    pub(super) fn tree_of(&self, sha: &str) -> Tree {
        self.commits
            .get(sha)
            .map(|c| c.tree.clone())
            .unwrap_or_default()
    }

    /// Resolves a branch (`x`, `refs/heads/x`) of the repository or a (prefix of a) known sha.
    pub(super) fn resolve_ref(&self, repo: u64, r: &str) -> Option<String> {
        let branch = r.strip_prefix("refs/heads/").unwrap_or(r);
        if let Some(sha) = self.repos.get(&repo).and_then(|x| x.branches.get(branch)) {
            return Some(sha.clone());
        }
        if self.commits.contains_key(r) {
            return Some(r.to_string());
        }
        if r.len() >= 7 && r.len() < 40 && r.bytes().all(|b| b.is_ascii_hexdigit()) {
            let mut found = self.commits.keys().filter(|s| s.starts_with(r));
            if let (Some(one), None) = (found.next(), found.next()) {
                return Some(one.clone());
            }
        }
        None
    }

    /// All ancestors of `sha`, itself included.
    pub(super) fn ancestors(&self, sha: &str) -> HashSet<String> {
        let mut seen = HashSet::new();
        let mut stack = vec![sha.to_string()];
        while let Some(s) = stack.pop() {
            if !seen.insert(s.clone()) {
                continue;
            }
            if let Some(c) = self.commits.get(&s) {
                stack.extend(c.parents.iter().cloned());
            }
        }
        seen
    }

    /// Compares two known commits like `GET /compare/{base}...{head}`; `None` without a common
    /// ancestor.
    pub(super) fn compare(&self, base: &str, head: &str) -> Option<Comparison> {
        let anc_base = self.ancestors(base);
        let anc_head = self.ancestors(head);
        // Merge base: the first commit reached breadth-first from head that base also has.
        let mut queue = VecDeque::from([head.to_string()]);
        let mut seen = HashSet::new();
        let mut merge_base = None;
        while let Some(s) = queue.pop_front() {
            if anc_base.contains(&s) {
                merge_base = Some(s);
                break;
            }
            if seen.insert(s.clone())
                && let Some(c) = self.commits.get(&s)
            {
                queue.extend(c.parents.iter().cloned());
            }
        }
        let merge_base = merge_base?;
        let ahead: HashSet<&String> = anc_head.difference(&anc_base).collect();
        let behind_by = anc_base.difference(&anc_head).count();
        let commits = self.topo_oldest_first(head, &ahead);
        let status = match (ahead.len(), behind_by) {
            (0, 0) => "identical",
            (_, 0) => "ahead",
            (0, _) => "behind",
            _ => "diverged",
        };
        Some(Comparison {
            status,
            ahead_by: ahead.len(),
            behind_by,
            merge_base,
            commits,
        })
    }

    /// Commits of `set` reachable from `head`, parents before children.
    pub(super) fn topo_oldest_first(&self, head: &str, set: &HashSet<&String>) -> Vec<String> {
        let mut out = Vec::new();
        let mut done = HashSet::new();
        // Iterative post-order DFS: (sha, parents pushed?)
        let mut stack = vec![(head.to_string(), false)];
        while let Some((s, expanded)) = stack.pop() {
            if !set.contains(&s) || done.contains(&s) {
                continue;
            }
            if expanded {
                done.insert(s.clone());
                out.push(s);
                continue;
            }
            stack.push((s.clone(), true));
            if let Some(c) = self.commits.get(&s) {
                for p in c.parents.iter().rev() {
                    stack.push((p.clone(), false));
                }
            }
        }
        out
    }

    /// Three-way merge of trees where `head` wins every path it changed since `merge_base`.
    pub(super) fn merge_tree(&self, base: &str, head: &str) -> Tree {
        let mb = self
            .compare(base, head)
            .map(|c| self.tree_of(&c.merge_base))
            .unwrap_or_default();
        let head_tree = self.tree_of(head);
        let mut out: BTreeMap<String, Bytes> = (*self.tree_of(base)).clone();
        let paths: HashSet<&String> = mb.keys().chain(head_tree.keys()).collect();
        for p in paths {
            if mb.get(p) != head_tree.get(p) {
                match head_tree.get(p) {
                    Some(v) => out.insert(p.clone(), v.clone()),
                    None => out.remove(p),
                };
            }
        }
        Arc::new(out)
    }
}
