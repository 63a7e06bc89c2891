//! The dashboard's reads against a real database (SQLite, or PostgreSQL when
//! `GANGWAY_TEST_POSTGRES` names a server): filters taken literally, pages, the fingerprint.

use super::super::environments::tests::Db;
use super::*;
use crate::model::{PullRequest, RepoRef};
use crate::types::{CommitSha, InstallationId, PrNumber, RepoId};

#[tokio::test]
async fn audit_filters_take_hostile_text_literally_and_page() {
    let db = Db::new().await;
    let store = db.store().await;
    let (repo, other) = (RepoId(5), RepoId(6));
    for (r, reason) in [
        (repo, "promoted by @ann"),
        (repo, "held by @bob: 100% sure"),
        (repo, "rolled back by @a_n"),
        (other, "promoted by @ann"),
    ] {
        store
            .audit(
                r,
                PrNumber(1),
                "abc1234 in production",
                "accepted",
                reason,
                1,
            )
            .await
            .unwrap();
    }
    let find = |repo: Option<i64>, actor: &str, action: &str| AuditFilter {
        repo_id: repo,
        actor: Some(actor.to_owned()).filter(|a| !a.is_empty()),
        action: Some(action.to_owned()).filter(|a| !a.is_empty()),
        before: None,
    };
    let reasons = |rows: Vec<DashAudit>| rows.into_iter().map(|a| a.reason).collect::<Vec<_>>();
    let all = store.dash_audit(&find(None, "", ""), 50).await.unwrap();
    assert_eq!(all.len(), 4);
    assert!(all[0].id > all[3].id, "newest first");
    assert_eq!(
        reasons(store.dash_audit(&find(Some(5), "%", ""), 50).await.unwrap()),
        ["held by @bob: 100% sure"],
        "% is a character, not a wildcard"
    );
    assert_eq!(
        reasons(
            store
                .dash_audit(&find(Some(5), "a_n", ""), 50)
                .await
                .unwrap()
        ),
        ["rolled back by @a_n"],
        "_ is a character, not a wildcard"
    );
    assert_eq!(
        store
            .dash_audit(&find(Some(5), "ann", ""), 50)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .dash_audit(&find(None, "", "refused"), 50)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .dash_audit(&find(None, "' OR 1=1 --", ""), 50)
            .await
            .unwrap()
            .is_empty()
    );
    // Pages: two, then the rest before the last one shown.
    let first = store.dash_audit(&find(None, "", ""), 2).await.unwrap();
    let rest = AuditFilter {
        before: first.last().map(|a| a.id),
        ..find(None, "", "")
    };
    let second = store.dash_audit(&rest, 50).await.unwrap();
    assert_eq!(first.len() + second.len(), 4);
    assert!(second.iter().all(|a| a.id < first[1].id));
}

#[tokio::test]
async fn open_pulls_carry_their_title_and_the_fingerprint_moves_with_changes() {
    let db = Db::new().await;
    let store = db.store().await;
    let before = store.dash_version().await.unwrap();
    let pr = PullRequest {
        repo: RepoRef {
            id: RepoId(1),
            installation: InstallationId(1),
            full_name: "o/r".into(),
            default_branch: "main".into(),
        },
        number: PrNumber(7),
        head_sha: CommitSha::parse(&"a".repeat(40)).unwrap(),
        head_ref: "feature".into(),
        is_fork: false,
        draft: false,
        open: true,
        merged: false,
        author: "alice".into(),
        author_bot: false,
        gh_updated_at: "2026-01-01T00:00:00Z".into(),
        head_since_ms: 0,
        title: "<script>alert(1)</script>".into(),
    };
    store.upsert_pull(&pr, 10).await.unwrap();
    let pulls = store.dash_open_pulls(None).await.unwrap();
    assert_eq!(pulls.len(), 1);
    assert_eq!(pulls[0].title, "<script>alert(1)</script>");
    assert_eq!(pulls[0].number, 7);
    assert!(pulls[0].preview.is_none() && pulls[0].approved_by.is_none());
    assert_eq!(
        store
            .dash_open_pulls(Some(pr.repo.id.as_db() + 1))
            .await
            .unwrap(),
        []
    );
    let after = store.dash_version().await.unwrap();
    assert_ne!(before, after);
    assert_eq!(
        store.dash_version().await.unwrap(),
        after,
        "stable without changes"
    );
    let repos = store.dash_repos().await.unwrap();
    assert_eq!(repos.len(), 1, "a repository known from its pull requests");
    assert_eq!(repos[0].full_name, pr.repo.full_name);
}
