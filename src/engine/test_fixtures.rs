//! The records the engine's unit tests start from: repository `o/r` (id 1, installation 1,
//! default branch `main`) and its open, same-repository pull request #7 by alice. A test changes
//! what it is about with struct update syntax (`PullRequest { draft: true, ..pr(sha(1)) }`).

use crate::model::{PullRequest, RepoRef};
use crate::types::{CommitSha, InstallationId, PrNumber, RepoId};

/// A commit sha that is `n` in hex, padded to 40 digits.
pub fn sha(n: u8) -> CommitSha {
    CommitSha::parse(&format!("{n:040x}")).expect("40 hex digits")
}

pub fn repo() -> RepoRef {
    RepoRef {
        id: RepoId(1),
        installation: InstallationId(1),
        full_name: "o/r".into(),
        default_branch: "main".into(),
    }
}

/// PR #7 with `head` as its head commit: open, not a draft, not from a fork.
pub fn pr(head: CommitSha) -> PullRequest {
    PullRequest {
        repo: repo(),
        number: PrNumber(7),
        head_sha: head,
        head_ref: "feature".into(),
        is_fork: false,
        draft: false,
        open: true,
        merged: false,
        author: "alice".into(),
        author_bot: false,
        gh_updated_at: "2026-01-01T00:00:00Z".into(),
        head_since_ms: 0,
        title: "Add a feature".into(),
    }
}
