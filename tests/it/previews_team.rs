//! Previews a team can live with: first-deploy hooks, the stable alias link, pass-through
//! variables by trust (a fork's preview never gets a same-repository-only variable), links to
//! the pages a pull request changed, and one shared environment name.

use fake_github::{PrSpec, Role};

use crate::support::world::{REPO, World, last_state, preview_host};

/// A deploy-script tail that appends what the driver was told to `file`.
fn telling(file: &std::path::Path) -> String {
    format!(
        "echo \"$GANGWAY_PR_NUMBER $GANGWAY_ACTION alias=${{GANGWAY_ALIAS_HOST:-none}} slot=${{GANGWAY_SLOT:-none}} same=${{CARGO_PKG_NAME:-unset}} fork=${{CARGO_MANIFEST_DIR:-unset}}\" >> {}",
        file.display()
    )
}

fn told(file: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn live(f: &fake_github::FakeGitHub, sha: &str) -> bool {
    f.deployments(REPO)
        .iter()
        .any(|d| d.sha == sha && last_state(d) == "success")
}

#[tokio::test]
async fn the_first_deploy_creates_later_pushes_deploy_and_the_alias_link_lasts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("told.txt");
    let w = World::start_with(
        &telling(&file),
        "",
        &[(
            "GANGWAY_ALIAS_HOST_TEMPLATE",
            "pr-{number}.staging.example.org",
        )],
    )
    .await;
    let (n, first) = w.staged("feature").await;
    let pushed = w.fake.push_pr(REPO, n).await.unwrap();
    w.green(REPO, &pushed.after).await;
    w.until("second commit live", |f| live(f, &pushed.after))
        .await;
    w.settle().await;
    let lines = told(&file);
    assert_eq!(
        lines
            .iter()
            .map(|l| l.split(' ').take(3).collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>(),
        vec![
            format!("{n} create alias=pr-{n}.staging.example.org"),
            format!("{n} deploy alias=pr-{n}.staging.example.org"),
        ],
        "{lines:?}"
    );
    // The deployment's URL stays the per-commit one; the comment shows both links.
    let d = w
        .fake
        .deployments(REPO)
        .into_iter()
        .find(|d| d.sha == pushed.after)
        .unwrap();
    let url = d.statuses.last().and_then(|s| s.environment_url.clone());
    assert_eq!(
        url.as_deref(),
        Some(format!("https://{}", preview_host(REPO, n, &pushed.after)).as_str())
    );
    let body = w.sticky_body(REPO, n);
    assert!(
        body.contains(&format!("https://pr-{n}.staging.example.org"))
            && body.contains(&preview_host(REPO, n, &pushed.after)),
        "{body}"
    );
    assert_ne!(first, pushed.after);
}

/// Attack: a fork's approved preview must not receive a variable the operator listed only for
/// same-repository previews (`GANGWAY_DRIVER_PASS_ENV`); it gets only `…_FORK`'s.
#[tokio::test]
async fn a_fork_preview_never_gets_a_same_repository_only_variable() {
    assert!(
        std::env::var("CARGO_PKG_NAME").is_ok() && std::env::var("CARGO_MANIFEST_DIR").is_ok(),
        "cargo sets these for the test process"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("told.txt");
    let w = World::start_with(
        &telling(&file),
        "",
        &[
            ("GANGWAY_DRIVER_PASS_ENV", "CARGO_PKG_NAME"),
            ("GANGWAY_DRIVER_PASS_ENV_FORK", "CARGO_MANIFEST_DIR"),
        ],
    )
    .await;
    // A same-repository preview gets the plain list only.
    let (own, _) = w.staged("feature").await;
    // A fork's, approved by a maintainer, gets the fork's list only.
    w.fake.set_permission(REPO, "maria", Role::Write).unwrap();
    let pr = w
        .fake
        .open_pr(PrSpec::new(REPO, "patch-1", "outsider").from_fork("outsider"))
        .await
        .unwrap();
    w.green(REPO, &pr.head_sha).await;
    w.say(pr.number, "maria", "/stage").await;
    let sha = pr.head_sha.clone();
    w.until("fork preview live", |f| live(f, &sha)).await;
    w.settle().await;
    let lines = told(&file);
    let of = |n: u64| {
        lines
            .iter()
            .find(|l| l.starts_with(&format!("{n} ")))
            .cloned()
            .unwrap_or_default()
    };
    assert!(
        of(own).contains("same=gangway") && of(own).contains("fork=unset"),
        "{lines:?}"
    );
    assert!(
        of(pr.number).contains("same=unset") && !of(pr.number).contains("fork=unset"),
        "a fork preview saw a same-repository-only variable: {lines:?}"
    );
}

#[tokio::test]
async fn the_comment_links_the_pages_of_changed_files_and_hostile_names_stay_inert() {
    let w = World::start().await;
    w.fake
        .put_file(
            REPO,
            "main",
            ".github/gangway.yml",
            "preview:\n  routes:\n    - source: 'docs/(.+)\\.md'\n      public: 'docs/$1.html'\n",
        )
        .unwrap();
    let hostile = "docs/x](https://evil.example)<img src=x onerror=alert(1)> @team.md";
    let pr = w
        .fake
        .open_pr(
            PrSpec::new(REPO, "docs", "dev")
                .file("docs/intro.md", "# intro")
                .file("docs/guide.md", "# guide")
                .file("src/main.rs", "fn main() {}")
                .file(hostile, "x"),
        )
        .await
        .unwrap();
    w.green(REPO, &pr.head_sha).await;
    let sha = pr.head_sha.clone();
    w.until("live", |f| live(f, &sha)).await;
    w.settle().await;
    let host = preview_host(REPO, pr.number, &pr.head_sha);
    let body = w.sticky_body(REPO, pr.number);
    assert!(
        body.contains(&format!("`docs/intro.md`: https://{host}/docs/intro.html"))
            && body.contains(&format!("`docs/guide.md`: https://{host}/docs/guide.html")),
        "{body}"
    );
    assert!(!body.contains("main.rs"), "{body}");
    // The hostile name is a code span, its link percent-encoded (or shown as code): no
    // Markdown link, no HTML, no mention.
    let line = body
        .lines()
        .find(|l| l.contains("evil.example"))
        .unwrap_or_default();
    assert!(
        line.starts_with("- `docs/x](https://evil.example)<img") && line.ends_with('`'),
        "the hostile entry is not two code spans: {line}"
    );
    assert!(line.contains("%3Cimg%20src"), "{line}");
    assert!(!body.contains("@team"), "{body}");
}

#[tokio::test]
async fn previews_can_share_one_environment_name() {
    let w = World::start().await;
    w.fake
        .put_file(
            REPO,
            "main",
            ".github/gangway.yml",
            "preview:\n  environment: preview\n",
        )
        .unwrap();
    let mut shas = Vec::new();
    for branch in ["one", "two"] {
        let pr = w
            .fake
            .open_pr(PrSpec::new(REPO, branch, "dev"))
            .await
            .unwrap();
        w.green(REPO, &pr.head_sha).await;
        let sha = pr.head_sha.clone();
        w.until("live", |f| live(f, &sha)).await;
        shas.push((pr.number, pr.head_sha));
    }
    w.settle().await;
    let ds = w.fake.deployments(REPO);
    assert_eq!(ds.len(), 2, "one deployment per commit");
    assert!(ds.iter().all(|d| d.environment == "preview"), "{ds:?}");
    let body = w.sticky_body(REPO, shas[0].0);
    assert!(body.contains("every preview shares `preview`"), "{body}");
    // Closing one tears down only its own preview.
    w.fake.close_pr(REPO, shas[0].0, false).await.unwrap();
    let first = shas[0].1.clone();
    w.until("first torn down", |f| {
        f.deployments(REPO)
            .iter()
            .any(|d| d.sha == first && last_state(d) == "inactive")
    })
    .await;
    w.settle().await;
    assert!(live(&w.fake, &shas[1].1), "the other preview stays live");
}
