use super::*;
use crate::types::{InstallationId, RepoId};

fn pull(head_repo: Option<u64>, draft: Option<bool>) -> rest::Pull {
    let branch = |ref_name: &str, repo: Option<u64>| rest::PullBranch {
        ref_name: ref_name.into(),
        sha: CommitSha::parse(&"a".repeat(40)).unwrap(),
        repo: repo.map(|id| rest::PullRepo { id: RepoId(id) }),
    };
    rest::Pull {
        number: PrNumber(7),
        state: "open".into(),
        draft,
        merged: None,
        head: branch("feature", head_repo),
        base: branch("main", Some(5)),
        user: rest::Account {
            login: "ann".into(),
            kind: "User".into(),
        },
        updated_at: Some("2026-12-03T10:00:00Z".into()),
        title: "Add a feature".into(),
    }
}

#[test]
fn a_rest_pull_request_reads_into_our_record() {
    let repo = RepoRef {
        id: RepoId(5),
        installation: InstallationId(9),
        full_name: "o/r".into(),
        default_branch: "main".into(),
    };
    let pr = pull_record(&pull(Some(5), Some(true)), &repo);
    assert_eq!((pr.number, pr.head_ref.as_str()), (PrNumber(7), "feature"));
    assert_eq!(
        (pr.open, pr.draft, pr.merged, pr.is_fork),
        (true, true, false, false)
    );
    assert_eq!(
        (pr.author.as_str(), pr.gh_updated_at.as_str()),
        ("ann", "2026-12-03T10:00:00Z")
    );
    // Another repository's head is a fork; so is a deleted fork (no head repository). An
    // absent draft flag is not a draft.
    assert!(pull_record(&pull(Some(6), None), &repo).is_fork);
    let gone = pull_record(&pull(None, None), &repo);
    assert_eq!((gone.is_fork, gone.draft), (true, false));
}
