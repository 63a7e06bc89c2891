//! Webhooks: signatures, App-caused events, redelivery, and the PR lifecycle scenario.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::super::{FakeGitHub, PrSpec, UserKind, WebhookTarget};
use super::{REPO, call, fake, inst_client};

const WAIT: Duration = Duration::from_secs(10);

pub(super) type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A webhook receiver on 127.0.0.1:0 that records what it gets and answers 202.
pub(super) async fn receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let sink = sink.clone();
            async move {
                sink.lock().expect("lock").push((headers, body));
                StatusCode::ACCEPTED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

fn verify(secret: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    let Some(sig) = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(hex_sig) = sig
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac");
    mac.update(body);
    mac.verify_slice(&hex_sig).is_ok()
}

fn header<'a>(h: &'a HeaderMap, k: &str) -> &'a str {
    h.get(k).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

#[tokio::test]
async fn webhooks_are_signed_and_api_calls_cause_events() {
    let f = fake().await;
    let (url, got) = receiver().await;
    f.set_webhook(Some(WebhookTarget::new(url, "s3cret")));
    let opened = f
        .open_pr(PrSpec::new(REPO, "feature", "alice"))
        .await
        .expect("pr");
    assert_eq!(opened.delivery.status, Some(202));
    {
        let got = got.lock().expect("lock");
        let (h, body) = &got[0];
        assert!(verify("s3cret", h, body));
        assert!(!verify("wrong", h, body));
        assert_eq!(header(h, "x-github-event"), "pull_request");
        assert_eq!(header(h, "content-type"), "application/json");
        assert_eq!(header(h, "user-agent"), "GitHub-Hookshot/fake");
        let guid = header(h, "x-github-delivery");
        assert_eq!((guid.len(), guid.matches('-').count()), (36, 4));
        let p: Value = serde_json::from_slice(body).expect("json");
        assert_eq!(
            (p["action"].as_str(), p["installation"]["id"].as_u64()),
            (Some("opened"), Some(1))
        );
        assert!(p["installation"]["node_id"].is_string());
        assert_eq!(p["pull_request"]["head"]["sha"], opened.head_sha.as_str());
        assert_eq!(
            (
                p["repository"]["full_name"].as_str(),
                p["sender"]["login"].as_str()
            ),
            (Some(REPO), Some("alice"))
        );
    }

    let c = inst_client(&f);
    let r = call(
        &c,
        "POST",
        &format!("/repos/{REPO}/deployments"),
        Some(json!({"ref": "feature", "environment": "pr-1", "required_contexts": []})),
    )
    .await;
    assert_eq!(r.status, 201);
    let dep_id = r.json["id"].clone();
    let r = call(
        &c,
        "POST",
        &format!("/repos/{REPO}/issues/1/comments"),
        Some(json!({"body": "hi"})),
    )
    .await;
    assert_eq!(r.status, 201);
    let arrived = |event: &'static str| {
        let got = got.clone();
        move |_: &FakeGitHub| {
            got.lock()
                .expect("lock")
                .iter()
                .any(|(h, _)| header(h, "x-github-event") == event)
        }
    };
    assert!(f.wait_for(WAIT, arrived("deployment")).await);
    assert!(f.wait_for(WAIT, arrived("issue_comment")).await);
    assert!(f.wait_webhooks_idle(WAIT).await);
    let deliveries = f.deliveries();
    let dep = deliveries
        .iter()
        .find(|d| d.event == "deployment")
        .expect("deployment delivery");
    assert!(dep.api_caused && dep.ok());
    let p = dep.payload();
    assert_eq!(
        (p["action"].as_str(), &p["deployment"]["id"]),
        (Some("created"), &dep_id)
    );
    assert_eq!(
        (p["sender"]["login"].as_str(), p["sender"]["type"].as_str()),
        (Some("gangway[bot]"), Some("Bot"))
    );
    let comment = deliveries
        .iter()
        .find(|d| d.event == "issue_comment")
        .expect("comment delivery")
        .payload();
    assert_eq!(comment["comment"]["user"]["login"], "gangway[bot]");
    assert!(comment["issue"]["pull_request"]["url"].is_string());

    // Redelivery keeps the delivery id and re-signs the same bytes.
    let again = f.redeliver(&opened.delivery.guid).await.expect("redeliver");
    assert!(again.redelivery && again.ok());
    assert_eq!(
        (again.guid.as_str(), &again.body),
        (opened.delivery.guid.as_str(), &opened.delivery.body)
    );
    let last = got.lock().expect("lock").last().cloned().expect("last");
    assert_eq!(header(&last.0, "x-github-delivery"), opened.delivery.guid);
    assert!(verify("s3cret", &last.0, &last.1));

    let bad = f
        .send_raw(
            "ping",
            Bytes::from_static(b"{\"zen\":\"x\"}"),
            Some("sha256=00"),
        )
        .await;
    assert_eq!(bad.signature.as_deref(), Some("sha256=00"));
    f.set_webhook(None);
    let undelivered = f.send_event("ping", json!({"zen": "x"})).await;
    assert_eq!(
        (undelivered.status, undelivered.error.is_some()),
        (None, true)
    );
}

#[tokio::test]
async fn pull_request_lifecycle_scenario() {
    let f = fake().await;
    let (url, _got) = receiver().await;
    f.set_webhook(Some(WebhookTarget::new(url, "s3cret")));
    f.add_user("dependabot[bot]", UserKind::Bot);
    let opened = f
        .open_pr(
            PrSpec::new(REPO, "feat", "bob")
                .from_fork("bob")
                .draft()
                .file("a.txt", "1"),
        )
        .await
        .expect("fork pr");
    let p = opened.delivery.payload();
    assert_eq!(
        (
            p["pull_request"]["draft"].as_bool(),
            p["pull_request"]["head"]["repo"]["fork"].as_bool()
        ),
        (Some(true), Some(true))
    );
    assert_eq!(p["pull_request"]["head"]["label"], "bob:feat");
    let ready = f.ready_for_review(REPO, 1).await.expect("ready").payload();
    assert_eq!(
        (
            ready["action"].as_str(),
            ready["pull_request"]["draft"].as_bool()
        ),
        (Some("ready_for_review"), Some(false))
    );
    assert_eq!(
        f.set_draft(REPO, 1).await.expect("draft").payload()["action"],
        "converted_to_draft"
    );
    let pushed = f.push_pr(REPO, 1).await.expect("push");
    let p = pushed.delivery.payload();
    assert_eq!(
        (p["before"].as_str(), p["after"].as_str()),
        (Some(opened.head_sha.as_str()), Some(pushed.after.as_str()))
    );
    assert_eq!(
        f.commit(&pushed.after).expect("commit").parents,
        vec![opened.head_sha.clone()]
    );
    f.delete_fork("bob/app").expect("delete fork");
    let c = inst_client(&f);
    let r = call(&c, "GET", &format!("/repos/{REPO}/pulls/1"), None).await;
    assert!(r.json["head"]["repo"].is_null());
    assert_eq!(r.json["head"]["sha"], pushed.after.as_str());

    // Same-repo PR: checks, statuses, comments, merge.
    let pr = f
        .open_pr(PrSpec::new(REPO, "fix", "carol").file("b.txt", "2"))
        .await
        .expect("pr");
    f.add_check_run(REPO, &pr.head_sha, "build", "completed", Some("success"))
        .expect("run");
    f.add_check_run(REPO, &pr.head_sha, "lint", "completed", Some("failure"))
        .expect("run");
    let suite = f
        .complete_check_suite(REPO, &pr.head_sha, "github-actions")
        .await
        .expect("suite")
        .payload();
    assert_eq!(
        (
            suite["action"].as_str(),
            suite["check_suite"]["conclusion"].as_str()
        ),
        (Some("completed"), Some("failure"))
    );
    assert_eq!(
        suite["check_suite"]["pull_requests"][0]["number"],
        pr.number
    );
    assert_eq!(suite["check_suite"]["head_branch"], "fix");
    let runs = call(
        &c,
        "GET",
        &format!("/repos/{REPO}/commits/{}/check-runs", pr.head_sha),
        None,
    )
    .await;
    assert_eq!(runs.json["total_count"], 2);
    let status = f
        .set_status(REPO, &pr.head_sha, "ci/x", "success")
        .await
        .expect("status")
        .payload();
    assert_eq!(
        (status["state"].as_str(), status["sha"].as_str()),
        (Some("success"), Some(pr.head_sha.as_str()))
    );
    let combined = call(
        &c,
        "GET",
        &format!("/repos/{REPO}/commits/fix/status"),
        None,
    )
    .await;
    assert_eq!(
        (
            combined.json["state"].as_str(),
            combined.json["total_count"].as_u64()
        ),
        (Some("success"), Some(1))
    );
    let posted = f
        .comment(REPO, pr.number, "dependabot[bot]", "/deploy")
        .await
        .expect("comment");
    let p = posted.delivery.payload();
    assert_eq!(
        (
            p["comment"]["user"]["type"].as_str(),
            p["issue"]["pull_request"]["url"].is_string()
        ),
        (Some("Bot"), true)
    );
    let edited = f
        .edit_comment(REPO, posted.id, "/deploy now")
        .await
        .expect("edit")
        .payload();
    assert_eq!(edited["changes"]["body"]["from"], "/deploy");
    assert_eq!(
        f.delete_comment(REPO, posted.id)
            .await
            .expect("delete")
            .payload()["action"],
        "deleted"
    );

    let main_before = f.branch_head(REPO, "main").expect("main");
    let closed = f
        .close_pr(REPO, pr.number, true)
        .await
        .expect("merge")
        .payload();
    assert_eq!(
        (
            closed["action"].as_str(),
            closed["pull_request"]["merged"].as_bool()
        ),
        (Some("closed"), Some(true))
    );
    assert!(closed["pull_request"]["merged_at"].is_string());
    assert_eq!(closed["pull_request"]["merged_by"]["login"], "octo");
    let main_after = f.branch_head(REPO, "main").expect("main");
    assert_eq!(
        f.commit(&main_after).expect("merge commit").parents,
        vec![main_before, pr.head_sha.clone()]
    );
    assert!(f.reopen_pr(REPO, pr.number).await.is_err());
    let gone = f.close_pr(REPO, 1, false).await.expect("close").payload();
    assert_eq!(gone["pull_request"]["merged"], false);
    assert_eq!(
        f.reopen_pr(REPO, 1).await.expect("reopen").payload()["action"],
        "reopened"
    );
    assert!(f.deliveries().iter().all(|d| d.ok()));
}
