//! The example policies of docs/workflows.md: the page shows exactly the policies these tests
//! run, and each one runs. "An hourly train with sign-off and a panic button" runs in
//! `signoff.rs`; "qa → staging → production by sha with the descendant rule" runs here.

use crate::support;

use fake_github::{FakeGitHub, PrSpec, Role};
use support::world::{REPO, World, last_state};

/// docs/workflows.md, "qa → staging → production by sha with the descendant rule".
const QA_STAGING_PRODUCTION: &str = "\
environments: [qa, staging, production]
permissions:
  promote: write
  rollback: write
promotion:
  auto_rollback: true
";

fn page() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/workflows.md"))
        .expect("docs/workflows.md")
}

/// The policy as the page shows it, under its heading.
fn shown_under(heading: &str, policy: &str) -> bool {
    let text = page();
    let Some(at) = text.find(&format!("## {heading}\n")) else {
        return false;
    };
    let section = &text[at..];
    let end = section[3..].find("\n## ").map_or(section.len(), |e| e + 3);
    section[..end].contains(&format!("```yaml\n{policy}```"))
}

#[test]
fn the_page_shows_the_policies_the_tests_run() {
    assert!(shown_under(
        "An hourly train with sign-off and a panic button",
        crate::signoff::HOURLY_TRAIN
    ));
    assert!(shown_under(
        "qa → staging → production by sha with the descendant rule",
        QA_STAGING_PRODUCTION
    ));
}

fn live_in(f: &FakeGitHub, env: &str, sha: &str) -> bool {
    f.deployments_in(REPO, env)
        .iter()
        .any(|d| d.sha == sha && last_state(d) == "success")
}

#[tokio::test]
async fn one_commit_goes_qa_staging_production_by_sha_and_a_branch_that_does_not_descend_is_refused()
 {
    let w = World::start().await;
    w.fake.set_permission(REPO, "writer", Role::Write).unwrap();
    w.fake
        .put_file(REPO, "main", ".github/gangway.yml", QA_STAGING_PRODUCTION)
        .unwrap();
    let (one, sha1) = w.staged("feature-1").await;
    for env in ["qa", "staging", "production"] {
        w.say(one, "writer", &format!("/promote {env}")).await;
        let s = sha1.clone();
        w.until(&format!("live in {env}"), |f| live_in(f, env, &s))
            .await;
        w.settle().await;
    }
    for env in ["qa", "staging", "production"] {
        let deployed = w.fake.deployments_in(REPO, env);
        assert_eq!(deployed.len(), 1, "{env}");
        assert_eq!(deployed[0].sha, sha1, "{env}: the same commit, by its sha");
    }
    let prod = &w.fake.deployments_in(REPO, "production")[0];
    assert!(prod.production_environment);
    // Another branch, cut before the first: it does not contain what qa runs.
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "feature-2", "dev"))
        .await
        .unwrap();
    w.green(REPO, &pr.head_sha).await;
    let s = pr.head_sha.clone();
    w.until("the second preview live", |f| {
        f.deployments(REPO)
            .iter()
            .any(|d| d.sha == s && d.environment.starts_with("pr-") && last_state(d) == "success")
    })
    .await;
    w.say(pr.number, "writer", "/promote qa").await;
    let refused = w
        .reply_containing(pr.number, "which this branch does not contain")
        .await;
    assert!(
        refused.contains(&format!("qa runs `{}`", &sha1[..7])),
        "{refused}"
    );
    w.settle().await;
    assert_eq!(w.fake.deployments_in(REPO, "qa").len(), 1);
}
