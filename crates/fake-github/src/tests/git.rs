//! Branches moving: `push_branch`, merges (scenario and REST, each merge method) with the `push`
//! they deliver, compare, and CI on default-branch commits.

use std::time::Duration;

use serde_json::{Value, json};

use super::super::{FakeGitHub, PrSpec, WebhookTarget};
use super::webhooks::receiver;
use super::{REPO, call, fake, inst_client};

const WAIT: Duration = Duration::from_secs(10);
const ZEROS: &str = "0000000000000000000000000000000000000000";

/// A fake whose webhooks go to a receiver that answers 202.
async fn delivering() -> FakeGitHub {
    let f = fake().await;
    let (url, _got) = receiver().await;
    f.set_webhook(Some(WebhookTarget::new(url, "s3cret")));
    f
}

fn shas(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .expect("array")
        .iter()
        .filter_map(|c| c[key].as_str().map(str::to_string))
        .collect()
}

fn last_payload(f: &FakeGitHub, event: &str) -> Value {
    f.deliveries_of(event)
        .last()
        .unwrap_or_else(|| panic!("no {event} delivery"))
        .payload()
}

#[tokio::test]
async fn push_branch_moves_the_branch_and_delivers_push() {
    let f = delivering().await;
    let base = f.branch_head(REPO, "main").expect("main");
    let pushed = f.push_branch(REPO, "main", "Ship it").await.expect("push");
    assert!(pushed.delivery.ok(), "{:?}", pushed.delivery);
    assert_eq!(pushed.delivery.event, "push");
    assert_eq!(pushed.before, base);
    assert_eq!(f.branch_head(REPO, "main"), Some(pushed.after.clone()));
    let c = f.commit(&pushed.after).expect("commit");
    assert_eq!(
        (c.parents, c.message.as_str()),
        (vec![base.clone()], "Ship it")
    );

    let p = pushed.delivery.payload();
    assert!(p.get("action").is_none(), "push has no action");
    assert_eq!(p["ref"], "refs/heads/main");
    assert_eq!(
        (p["before"].as_str(), p["after"].as_str()),
        (Some(base.as_str()), Some(pushed.after.as_str()))
    );
    assert_eq!(
        (
            p["created"].as_bool(),
            p["deleted"].as_bool(),
            p["forced"].as_bool()
        ),
        (Some(false), Some(false), Some(false))
    );
    assert_eq!(shas(&p["commits"], "id"), vec![pushed.after.clone()]);
    assert_eq!(p["commits"][0]["message"], "Ship it");
    assert_eq!(p["commits"][0]["distinct"], true);
    assert_eq!(p["commits"][0]["author"]["username"], "octo");
    assert_eq!(p["head_commit"]["id"], pushed.after.as_str());
    assert_eq!(
        p["compare"],
        format!(
            "https://github.com/{REPO}/compare/{}...{}",
            &base[..12],
            &pushed.after[..12]
        )
    );
    assert_eq!(p["base_ref"], Value::Null);
    assert_eq!(
        (
            p["repository"]["full_name"].as_str(),
            p["repository"]["default_branch"].as_str()
        ),
        (Some(REPO), Some("main"))
    );
    // As on GitHub, a push's repository carries epoch seconds, not date-time strings.
    assert!(p["repository"]["created_at"].is_i64() && p["repository"]["pushed_at"].is_i64());
    assert_eq!(p["repository"]["master_branch"], "main");
    assert_eq!(p["pusher"]["name"], "octo");
    assert_eq!(p["sender"]["login"], "octo");
    assert_eq!(p["installation"]["id"], 1);

    // A file push lists what it changed.
    let files = f
        .push_branch_files(
            REPO,
            "main",
            &[("deploy.txt", "v2"), ("README.md", "new")],
            "Files",
        )
        .await
        .expect("files");
    let p = files.delivery.payload();
    assert_eq!(p["head_commit"]["added"], json!(["deploy.txt"]));
    assert_eq!(p["head_commit"]["modified"], json!(["README.md"]));
    assert_eq!(files.before, pushed.after);
}

#[tokio::test]
async fn pushing_a_new_branch_or_a_pr_head() {
    let f = delivering().await;
    let main = f.branch_head(REPO, "main").expect("main");
    let cut = f
        .push_branch(REPO, "release/1", "Cut")
        .await
        .expect("new branch");
    assert_eq!(cut.before, ZEROS);
    let p = cut.delivery.payload();
    assert_eq!(
        (p["ref"].as_str(), p["before"].as_str()),
        (Some("refs/heads/release/1"), Some(ZEROS))
    );
    assert_eq!(
        (p["created"].as_bool(), p["forced"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(
        shas(&p["commits"], "id"),
        vec![cut.after.clone()],
        "only what no other branch had"
    );
    assert_eq!(f.commit(&cut.after).expect("commit").parents, vec![main]);

    // Pushing a PR's head branch moves the PR too: `push`, then `synchronize`.
    let pr = f
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .expect("pr");
    let pushed = f.push_branch(REPO, "feature", "More").await.expect("push");
    assert_eq!(pushed.before, pr.head_sha);
    assert_eq!(f.pull(REPO, pr.number).expect("pr").head_sha, pushed.after);
    let sync = last_payload(&f, "pull_request");
    assert_eq!(
        (
            sync["action"].as_str(),
            sync["before"].as_str(),
            sync["after"].as_str()
        ),
        (
            Some("synchronize"),
            Some(pr.head_sha.as_str()),
            Some(pushed.after.as_str())
        )
    );
    let kinds: Vec<String> = f.deliveries().iter().map(|d| d.event.clone()).collect();
    assert_eq!(kinds[kinds.len() - 2..], ["push", "pull_request"]);
    assert!(f.push_branch("octo/none", "main", "x").await.is_err());
}

#[tokio::test]
async fn checks_on_default_branch_commits_name_the_branch() {
    let f = delivering().await;
    let first = f
        .push_branch(REPO, "main", "One")
        .await
        .expect("push")
        .after;
    f.add_check_run(REPO, &first, "build", "completed", Some("success"))
        .expect("run");
    let suite = f
        .complete_check_suite(REPO, &first, "github-actions")
        .await
        .expect("suite")
        .payload();
    assert_eq!(suite["check_suite"]["head_branch"], "main");
    assert_eq!(suite["check_suite"]["pull_requests"], json!([]));
    assert_eq!(suite["check_suite"]["conclusion"], "success");
    assert_eq!(suite["check_suite"]["head_sha"], first.as_str());

    // Still `main` once main moved on (GitHub names the branch that was pushed).
    let second = f
        .push_branch(REPO, "main", "Two")
        .await
        .expect("push")
        .after;
    let suite = f
        .complete_check_suite(REPO, &first, "github-actions")
        .await
        .expect("suite")
        .payload();
    assert_eq!(suite["check_suite"]["head_branch"], "main");

    // `status.branches` lists branches that contain the sha, head or not.
    let status = f
        .set_status(REPO, &first, "ci/x", "success")
        .await
        .expect("status")
        .payload();
    let names: Vec<&str> = status["branches"]
        .as_array()
        .expect("branches")
        .iter()
        .filter_map(|b| b["name"].as_str())
        .collect();
    assert_eq!(names, vec!["main"]);
    assert_eq!(status["branches"][0]["commit"]["sha"], second.as_str());
    let status = f
        .set_status(REPO, &second, "ci/x", "pending")
        .await
        .expect("status")
        .payload();
    assert_eq!(status["branches"][0]["name"], "main");
}

#[tokio::test]
async fn merging_through_the_scenario_delivers_closed_then_push() {
    let f = delivering().await;
    let pr = f
        .open_pr(PrSpec::new(REPO, "fix", "carol").file("b.txt", "2"))
        .await
        .expect("pr");
    let before = f.branch_head(REPO, "main").expect("main");
    let closed = f.close_pr(REPO, pr.number, true).await.expect("merge");
    assert_eq!(closed.event, "pull_request");
    let merge = f.branch_head(REPO, "main").expect("main");
    let kinds: Vec<String> = f.deliveries().iter().map(|d| d.event.clone()).collect();
    assert_eq!(kinds[kinds.len() - 2..], ["pull_request", "push"]);
    let p = last_payload(&f, "push");
    assert_eq!(
        (p["ref"].as_str(), p["before"].as_str(), p["after"].as_str()),
        (
            Some("refs/heads/main"),
            Some(before.as_str()),
            Some(merge.as_str())
        )
    );
    assert_eq!(
        shas(&p["commits"], "id"),
        vec![pr.head_sha.clone(), merge.clone()]
    );
    let distinct: Vec<bool> = p["commits"]
        .as_array()
        .expect("commits")
        .iter()
        .filter_map(|c| c["distinct"].as_bool())
        .collect();
    assert_eq!(
        distinct,
        vec![false, true],
        "the PR commit was pushed before"
    );
    assert_eq!(p["head_commit"]["id"], merge.as_str());
    assert_eq!(p["sender"]["login"], "octo");
    let message = f.commit(&merge).expect("merge").message;
    assert!(message.starts_with("Merge pull request #"), "{message}");

    // Closing without merging moves nothing and pushes nothing.
    let other = f
        .open_pr(PrSpec::new(REPO, "nope", "carol"))
        .await
        .expect("pr");
    let pushes = f.deliveries_of("push").len();
    f.close_pr(REPO, other.number, false).await.expect("close");
    assert_eq!(f.deliveries_of("push").len(), pushes);

    // A conflicting PR cannot be merged from the scenario either.
    let conflicted = f
        .open_pr(PrSpec::new(REPO, "dirty", "carol"))
        .await
        .expect("pr");
    f.set_mergeable(REPO, conflicted.number, false)
        .expect("mark");
    assert!(f.close_pr(REPO, conflicted.number, true).await.is_err());
    assert!(f.set_mergeable(REPO, 99, false).is_err());
}

#[tokio::test]
async fn merge_api_answers_like_github() {
    let f = delivering().await;
    let c = inst_client(&f);
    let pr = f
        .open_pr(PrSpec::new(REPO, "a", "alice").file("a.txt", "1"))
        .await
        .expect("pr");
    let merge = format!("/repos/{REPO}/pulls/{}/merge", pr.number);
    let r = call(&c, "PUT", &merge, Some(json!({"sha": "f".repeat(40)}))).await;
    assert_eq!(
        (r.status, r.json["message"].as_str()),
        (
            409,
            Some("Head branch was modified. Review and try the merge again.")
        )
    );
    let r = call(&c, "PUT", &merge, Some(json!({"merge_method": "octopus"}))).await;
    assert_eq!(r.status, 422, "{}", r.json);
    f.set_mergeable(REPO, pr.number, false).expect("conflict");
    let r = call(
        &c,
        "GET",
        &format!("/repos/{REPO}/pulls/{}", pr.number),
        None,
    )
    .await;
    assert_eq!(
        (
            r.json["mergeable"].as_bool(),
            r.json["mergeable_state"].as_str()
        ),
        (Some(false), Some("dirty"))
    );
    let r = call(&c, "PUT", &merge, Some(json!({"sha": pr.head_sha}))).await;
    assert_eq!(r.status, 405, "{}", r.json);
    f.set_mergeable(REPO, pr.number, true).expect("clean");

    // Squash: one new commit on the base with the PR's changes.
    let before = f.branch_head(REPO, "main").expect("main");
    let body = json!({"sha": pr.head_sha, "merge_method": "squash", "commit_title": "Add a (#1)"});
    let r = call(&c, "PUT", &merge, Some(body)).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        (r.json["merged"].as_bool(), r.json["message"].as_str()),
        (Some(true), Some("Pull Request successfully merged"))
    );
    let squash = r.json["sha"].as_str().expect("sha").to_string();
    assert_eq!(f.branch_head(REPO, "main"), Some(squash.clone()));
    let commit = f.commit(&squash).expect("squash commit");
    assert_eq!(commit.parents, vec![before.clone()]);
    assert!(
        commit.message.starts_with("Add a (#1)"),
        "{}",
        commit.message
    );
    assert_eq!(
        commit.tree.get("a.txt").map(|b| b.as_ref()),
        Some(&b"1"[..])
    );
    let merged = f.pull(REPO, pr.number).expect("pr");
    assert!(merged.merged && merged.state == "closed");
    assert_eq!(merged.merge_commit_sha.as_deref(), Some(squash.as_str()));
    assert_eq!(merged.merged_by.as_deref(), Some("gangway[bot]"));
    let r = call(&c, "PUT", &merge, Some(json!({}))).await;
    assert_eq!(r.status, 405, "already merged");
    let r = call(
        &c,
        "GET",
        &format!("/repos/{REPO}/compare/{}...main", pr.head_sha),
        None,
    )
    .await;
    assert_eq!(
        (
            r.json["status"].as_str(),
            r.json["ahead_by"].as_u64(),
            r.json["behind_by"].as_u64()
        ),
        (Some("diverged"), Some(1), Some(1)),
        "a squash does not contain the PR head"
    );

    // The App's merge caused `closed` then `push` (queued, in order).
    assert!(f.wait_webhooks_idle(WAIT).await);
    let api: Vec<(String, Option<String>)> = f
        .deliveries()
        .into_iter()
        .filter(|d| d.api_caused)
        .map(|d| (d.event, d.action))
        .collect();
    assert_eq!(
        api,
        vec![
            ("pull_request".to_string(), Some("closed".to_string())),
            ("push".to_string(), None)
        ]
    );
    let p = last_payload(&f, "push");
    assert_eq!(
        (p["before"].as_str(), p["after"].as_str()),
        (Some(before.as_str()), Some(squash.as_str()))
    );
    assert_eq!(p["sender"]["login"], "gangway[bot]");
    assert_eq!(shas(&p["commits"], "id"), vec![squash.clone()]);

    // Rebase: each PR commit replayed on the base, in order, one parent each.
    let pr = f
        .open_pr(PrSpec::new(REPO, "b", "bob").file("b.txt", "1"))
        .await
        .expect("pr");
    let second = f
        .push_pr_files(REPO, pr.number, &[("b.txt", "2"), ("c.txt", "3")])
        .await
        .expect("push")
        .after;
    let before = f.branch_head(REPO, "main").expect("main");
    let merge = format!("/repos/{REPO}/pulls/{}/merge", pr.number);
    let r = call(
        &c,
        "PUT",
        &merge,
        Some(json!({"sha": second, "merge_method": "rebase"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let tip = r.json["sha"].as_str().expect("sha").to_string();
    let r = call(
        &c,
        "GET",
        &format!("/repos/{REPO}/compare/{before}...{tip}"),
        None,
    )
    .await;
    assert_eq!(
        (
            r.json["status"].as_str(),
            r.json["ahead_by"].as_u64(),
            r.json["total_commits"].as_u64()
        ),
        (Some("ahead"), Some(2), Some(2))
    );
    let messages: Vec<&str> = r.json["commits"]
        .as_array()
        .expect("commits")
        .iter()
        .filter_map(|c| c["commit"]["message"].as_str())
        .collect();
    assert_eq!(messages, vec!["Work on b", "More work on b"]);
    assert_eq!(r.json["merge_base_commit"]["sha"], before.as_str());
    let replayed = shas(&r.json["commits"], "sha");
    assert!(!replayed.contains(&second), "rebase makes new commits");
    assert_eq!(
        f.commit(&tip).expect("tip").parents,
        vec![replayed[0].clone()]
    );
    let tree = f.commit(&tip).expect("tip").tree;
    assert_eq!(
        (
            tree.get("a.txt").is_some(),
            tree.get("b.txt").map(|b| b.to_vec()),
            tree.get("c.txt").is_some()
        ),
        (true, Some(b"2".to_vec()), true)
    );

    // Merge: a merge commit with two parents, so main contains the PR head.
    let pr = f
        .open_pr(PrSpec::new(REPO, "m", "carol").file("m.txt", "1"))
        .await
        .expect("pr");
    let before = f.branch_head(REPO, "main").expect("main");
    let merge = format!("/repos/{REPO}/pulls/{}/merge", pr.number);
    let r = call(&c, "PUT", &merge, Some(json!({"merge_method": "merge"}))).await;
    assert_eq!(r.status, 200, "{}", r.json);
    let sha = r.json["sha"].as_str().expect("sha").to_string();
    assert_eq!(
        f.commit(&sha).expect("merge").parents,
        vec![before, pr.head_sha.clone()]
    );
    let r = call(
        &c,
        "GET",
        &format!("/repos/{REPO}/compare/{}...main", pr.head_sha),
        None,
    )
    .await;
    assert_eq!(
        (
            r.json["status"].as_str(),
            r.json["ahead_by"].as_u64(),
            r.json["behind_by"].as_u64()
        ),
        (Some("ahead"), Some(1), Some(0))
    );

    // Closed and draft PRs are not mergeable.
    let closed = f
        .open_pr(PrSpec::new(REPO, "x", "alice"))
        .await
        .expect("pr");
    f.close_pr(REPO, closed.number, false).await.expect("close");
    let r = call(
        &c,
        "PUT",
        &format!("/repos/{REPO}/pulls/{}/merge", closed.number),
        None,
    )
    .await;
    assert_eq!(r.status, 405);
    let draft = f
        .open_pr(PrSpec::new(REPO, "y", "alice").draft())
        .await
        .expect("pr");
    let r = call(
        &c,
        "PUT",
        &format!("/repos/{REPO}/pulls/{}/merge", draft.number),
        None,
    )
    .await;
    assert_eq!(r.status, 405);
    let r = call(&c, "PUT", &format!("/repos/{REPO}/pulls/999/merge"), None).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn compare_handles_slashes_unknown_shas_and_lists_commits() {
    let f = fake().await;
    let c = inst_client(&f);
    let base = f.branch_head(REPO, "main").expect("main");
    let one = f.add_commit(REPO, "release/1.0", "one").expect("one");
    let two = f.add_commit(REPO, "release/1.0", "two").expect("two");
    let r = call(
        &c,
        "GET",
        &format!("/repos/{REPO}/compare/main...release/1.0"),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        (
            r.json["status"].as_str(),
            r.json["ahead_by"].as_u64(),
            r.json["behind_by"].as_u64(),
            r.json["total_commits"].as_u64()
        ),
        (Some("ahead"), Some(2), Some(0), Some(2))
    );
    assert_eq!(
        shas(&r.json["commits"], "sha"),
        vec![one.clone(), two.clone()]
    );
    assert_eq!(r.json["commits"][1]["commit"]["message"], "two");
    assert_eq!(r.json["merge_base_commit"]["sha"], base.as_str());
    assert_eq!(r.json["base_commit"]["sha"], base.as_str());
    let r = call(
        &c,
        "GET",
        &format!("/repos/{REPO}/compare/{two}...{base}"),
        None,
    )
    .await;
    assert_eq!(
        (
            r.json["status"].as_str(),
            r.json["ahead_by"].as_u64(),
            r.json["behind_by"].as_u64(),
            r.json["total_commits"].as_u64()
        ),
        (Some("behind"), Some(0), Some(2), Some(0))
    );
    assert_eq!(r.json["commits"], json!([]));
    let r = call(
        &c,
        "GET",
        &format!("/repos/{REPO}/compare/{two}...{two}"),
        None,
    )
    .await;
    assert_eq!(
        (r.json["status"].as_str(), r.json["total_commits"].as_u64()),
        (Some("identical"), Some(0))
    );
    let unknown = "1".repeat(40);
    for path in [
        format!("{base}...{unknown}"),
        format!("{unknown}...main"),
        "main".to_string(),
    ] {
        let r = call(&c, "GET", &format!("/repos/{REPO}/compare/{path}"), None).await;
        assert_eq!(r.status, 404, "{path}: {}", r.json);
    }
}

#[tokio::test]
async fn a_long_compare_is_paged_when_asked_and_ends_with_the_newest_250_when_not() {
    let f = fake().await;
    let c = inst_client(&f);
    let mut commits = vec![f.put_file(REPO, "long", "a.txt", "a").expect("file")];
    commits.extend((1..300).map(|i| {
        f.add_commit(REPO, "long", &format!("c{i}"))
            .expect("commit")
    }));
    let whole = call(
        &c,
        "GET",
        &format!("/repos/{REPO}/compare/main...long"),
        None,
    )
    .await;
    assert_eq!(whole.json["total_commits"], 300);
    assert_eq!(shas(&whole.json["commits"], "sha"), commits[50..].to_vec());
    assert!(whole.headers.get("link").is_none());
    let mut listed = Vec::new();
    let mut route = format!("/repos/{REPO}/compare/main...long?per_page=100");
    for page in 1..=3 {
        let r = call(&c, "GET", &route, None).await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json["status"], "ahead", "on every page");
        assert_eq!(
            r.json["files"].as_array().map(Vec::len),
            Some(usize::from(page == 1))
        );
        listed.extend(shas(&r.json["commits"], "sha"));
        let link = r
            .headers
            .get("link")
            .map(|l| l.to_str().expect("link").to_owned());
        match link.as_deref().and_then(|l| {
            l.split(">; rel=\"next\"")
                .next()
                .filter(|_| l.contains("rel=\"next\""))
        }) {
            Some(next) => route = next.trim_start_matches('<').to_owned(),
            None => assert_eq!(page, 3, "no next page after page {page}"),
        }
    }
    assert_eq!(listed, commits);
}

#[tokio::test]
async fn an_answer_lost_on_the_way_leaves_the_change_made() {
    let f = fake().await;
    let c = inst_client(&f);
    let pr = f
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .expect("pr");
    f.inject(super::super::Fault::answer_lost(502).on("POST", "/repos/"));
    let route = format!("/repos/{REPO}/issues/{}/comments", pr.number);
    let r = call(&c, "POST", &route, Some(json!({"body": "hello"}))).await;
    assert_eq!(r.status, 502);
    let comments = f.comments(REPO, pr.number);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert_eq!(comments[0].body, "hello");
}
