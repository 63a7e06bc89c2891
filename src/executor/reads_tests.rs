use super::*;
use crate::types::InstallationId;

#[test]
fn a_rest_pull_request_reads_into_our_record() {
    let repo = RepoRef {
        id: RepoId(5),
        installation: InstallationId(9),
        full_name: "o/r".into(),
        default_branch: "main".into(),
    };
    let sha = "a".repeat(40);
    let answer = |head_repo: &str, draft: &str| {
        format!(
            r#"{{"number": 7, "state": "open", "draft": {draft}, "merged": null,
                    "head": {{"ref": "feature", "sha": "{sha}", "repo": {head_repo}}},
                    "base": {{"ref": "main", "sha": "{sha}", "repo": {{"id": 5}}}},
                    "user": {{"login": "ann", "type": "User"}},
                    "updated_at": "2026-12-03T10:00:00Z"}}"#
        )
    };
    let same: PullAnswer = serde_json::from_str(&answer(r#"{"id": 5}"#, "true")).unwrap();
    let pr = same.record(&repo);
    assert_eq!((pr.number, pr.head_ref.as_str()), (PrNumber(7), "feature"));
    assert_eq!(
        (pr.open, pr.draft, pr.merged, pr.is_fork),
        (true, true, false, false)
    );
    assert_eq!(
        (pr.author.as_str(), pr.gh_updated_at.as_str()),
        ("ann", "2026-12-03T10:00:00Z")
    );
    // A deleted fork (`repo: null`) is a fork; a `null` draft flag is not a draft.
    let gone: PullAnswer = serde_json::from_str(&answer("null", "null")).unwrap();
    let pr = gone.record(&repo);
    assert_eq!((pr.is_fork, pr.draft), (true, false));
}
