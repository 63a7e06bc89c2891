//! Webhook payloads, built like GitHub's: `action`, the event's object, full `repository`,
//! `sender`, `installation {id, node_id}` (and `organization` for org-owned repositories).

use serde_json::{Map, Value, json};

use super::model::{CheckSuite, Comment, CommitStatus, Deployment, DeploymentStatus, PullRequest};
use super::render::{Render, merge};

/// The fields every event about `repo` carries.
pub(super) fn envelope(r: &Render<'_>, repo: u64, action: Option<&str>, sender: &str) -> Value {
    let mut m = Map::new();
    if let Some(a) = action {
        m.insert("action".into(), Value::String(a.to_string()));
    }
    m.insert("repository".into(), r.repo(repo));
    if let Some(owner) = r.st.repos.get(&repo).map(|x| x.owner.as_str())
        && let Some(org) = r.organization(owner)
    {
        m.insert("organization".into(), org);
    }
    m.insert("sender".into(), r.user(sender));
    if let Some(inst) = r.st.repos.get(&repo).and_then(|x| x.installation) {
        m.insert("installation".into(), Render::installation_ref(inst));
    }
    Value::Object(m)
}

/// `pull_request` with `action`; `extra` adds e.g. `before`/`after`.
pub(super) fn pull_request(
    r: &Render<'_>,
    pr: &PullRequest,
    action: &str,
    sender: &str,
    extra: Value,
) -> Value {
    let mut v = envelope(r, pr.repo, Some(action), sender);
    merge(
        &mut v,
        json!({"number": pr.number, "pull_request": r.pr(pr)}),
    );
    merge(&mut v, extra);
    v
}

/// `deployment` `created`.
pub(super) fn deployment(r: &Render<'_>, d: &Deployment, sender: &str) -> Value {
    let mut v = envelope(r, d.repo, Some("created"), sender);
    merge(
        &mut v,
        json!({"deployment": r.deployment(d), "workflow": null, "workflow_run": null}),
    );
    v
}

/// `deployment_status` `created`.
pub(super) fn deployment_status(
    r: &Render<'_>,
    d: &Deployment,
    s: &DeploymentStatus,
    sender: &str,
) -> Value {
    let mut v = envelope(r, d.repo, Some("created"), sender);
    merge(
        &mut v,
        json!({
            "deployment_status": r.deployment_status(d, s),
            "deployment": r.deployment(d),
            "check_run": null, "workflow": null, "workflow_run": null,
        }),
    );
    v
}

/// `issue_comment` (`created`, `edited` with `changes.body.from`, `deleted`).
pub(super) fn issue_comment(
    r: &Render<'_>,
    c: &Comment,
    action: &str,
    sender: &str,
    previous_body: Option<&str>,
) -> Value {
    let mut v = envelope(r, c.repo, Some(action), sender);
    merge(
        &mut v,
        json!({"issue": r.issue(c.repo, c.issue_number), "comment": r.comment(c)}),
    );
    if let Some(from) = previous_body {
        merge(&mut v, json!({"changes": {"body": {"from": from}}}));
    }
    v
}

/// `check_suite` with `action`.
pub(super) fn check_suite(r: &Render<'_>, s: &CheckSuite, action: &str, sender: &str) -> Value {
    let mut v = envelope(r, s.repo, Some(action), sender);
    let mut suite = r.check_suite(s);
    if let Value::Object(m) = &mut suite {
        m.remove("repository");
    }
    merge(&mut v, json!({"check_suite": suite}));
    v
}

/// `status` (no `action`).
pub(super) fn status(r: &Render<'_>, s: &CommitStatus, sender: &str) -> Value {
    let mut v = envelope(r, s.repo, None, sender);
    let branches: Vec<Value> = r
        .st
        .repos
        .get(&s.repo)
        .map(|repo| {
            repo.branches
                .iter()
                .filter(|(_, sha)| **sha == s.sha)
                .map(|(name, sha)| {
                    json!({
                        "name": name, "protected": false,
                        "commit": {"sha": sha, "url": format!("{}/repos/{}/commits/{sha}", r.api, repo.full_name())},
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    merge(
        &mut v,
        json!({
            "id": s.id, "sha": s.sha,
            "name": r.st.repos.get(&s.repo).map(|x| x.full_name()),
            "target_url": s.target_url, "context": s.context, "description": s.description,
            "state": s.state, "commit": r.commit(s.repo, &s.sha), "branches": branches,
            "created_at": super::render::ts(&s.created_at),
            "updated_at": super::render::ts(&s.created_at),
        }),
    );
    v
}
