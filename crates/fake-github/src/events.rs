//! Webhook payloads, built like GitHub's: `action`, the event's object, full `repository`,
//! `sender`, `installation {id, node_id}` (and `organization` for org-owned repositories).

use std::collections::{BTreeMap, HashSet};

use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::model::{
    CheckSuite, Comment, Commit, CommitStatus, Deployment, DeploymentStatus, PullRequest, UserKind,
};
use super::render::{Render, WEB, merge, ts};

/// What GitHub sends for "no commit" in `push` (`before` of a new ref, `after` of a deleted one).
pub(super) const NO_SHA: &str = "0000000000000000000000000000000000000000";

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
    // GitHub lists branches that contain the sha, whether or not it is their head.
    let full = r.full_name_of(s.repo);
    let branches: Vec<Value> = r
        .st
        .branches_containing(s.repo, &s.sha)
        .into_iter()
        .map(|(name, head)| {
            json!({
                "name": name, "protected": false,
                "commit": {"sha": head, "url": format!("{}/repos/{full}/commits/{head}", r.api)},
            })
        })
        .collect();
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

/// A ref update for [`push`]: `before` is `None` when the branch was created, `after` is `None`
/// when it was deleted.
pub(super) struct RefUpdate<'a> {
    pub repo: u64,
    pub branch: &'a str,
    pub before: Option<&'a str>,
    pub after: Option<&'a str>,
    /// Who pushed (`pusher`, `sender`).
    pub pusher: &'a str,
}

/// `push` (no `action`), shaped like GitHub's: `ref`, `before`/`after` (40 zeros for none),
/// `created`/`deleted`/`forced`, `compare`, `commits` (oldest first, at most 2048), `head_commit`,
/// the push-flavoured `repository` (epoch-second `created_at`/`pushed_at`, html `url`), `pusher`.
/// Call it after the branch moved: a commit is `distinct` when no other branch has it.
pub(super) fn push(r: &Render<'_>, u: &RefUpdate<'_>) -> Value {
    let st = r.st;
    let Some(repo) = st.repos.get(&u.repo) else {
        return Value::Null;
    };
    let full = repo.full_name();
    let others: HashSet<String> = repo
        .branches
        .iter()
        .filter(|(name, _)| name.as_str() != u.branch)
        .flat_map(|(_, head)| st.ancestors(head))
        .collect();
    let commits: Vec<String> = match (u.before, u.after) {
        (_, None) => Vec::new(),
        (Some(b), Some(a)) => match st.compare(b, a) {
            Some(c) => c.commits,
            None => all_of(r, a),
        },
        (None, Some(a)) => {
            // A new branch brings only what no other branch already had.
            let reachable = st.ancestors(a);
            let fresh: HashSet<&String> =
                reachable.iter().filter(|s| !others.contains(*s)).collect();
            st.topo_oldest_first(a, &fresh)
        }
    };
    let item = |sha: &str| match st.commits.get(sha) {
        Some(c) => push_commit(r, &full, c, !others.contains(sha)),
        None => Value::Null,
    };
    let forced = matches!((u.before, u.after), (Some(b), Some(a)) if !st.ancestors(a).contains(b));
    let short = |s: Option<&str>| s.unwrap_or(NO_SHA)[..12].to_string();
    let compare = match (u.before, u.after) {
        (None, Some(a)) => format!("{WEB}/{full}/commit/{a}"),
        (b, a) => format!("{WEB}/{full}/compare/{}...{}", short(b), short(a)),
    };
    let mut v = envelope(r, u.repo, None, u.pusher);
    merge(
        &mut v,
        json!({
            "ref": format!("refs/heads/{}", u.branch),
            "before": u.before.unwrap_or(NO_SHA), "after": u.after.unwrap_or(NO_SHA),
            "created": u.before.is_none(), "deleted": u.after.is_none(), "forced": forced,
            "base_ref": null, "compare": compare,
            "commits": commits.iter().take(2048).map(|s| item(s)).collect::<Vec<_>>(),
            "head_commit": u.after.map_or(Value::Null, item),
            "repository": push_repo(r, u.repo),
            "pusher": {"name": u.pusher, "email": noreply(u.pusher)},
        }),
    );
    v
}

fn all_of(r: &Render<'_>, head: &str) -> Vec<String> {
    let all = r.st.ancestors(head);
    let set: HashSet<&String> = all.iter().collect();
    r.st.topo_oldest_first(head, &set)
}

fn noreply(login: &str) -> String {
    format!("{login}@users.noreply.github.com")
}

/// A commit as `push` lists it (not the REST shape): `id`, `tree_id`, `distinct`, people with
/// `username`, and the paths it added/removed/modified against its first parent.
fn push_commit(r: &Render<'_>, full: &str, c: &Commit, distinct: bool) -> Value {
    let parent = c
        .parents
        .first()
        .map(|p| r.st.tree_of(p))
        .unwrap_or_default();
    let (added, removed, modified) = diff(&parent, &c.tree);
    let person = json!({"name": c.author, "email": noreply(&c.author), "username": c.author});
    json!({
        "id": c.sha, "tree_id": c.sha, "distinct": distinct, "message": c.message,
        "timestamp": ts(&c.date), "url": format!("{WEB}/{full}/commit/{}", c.sha),
        "author": person, "committer": person,
        "added": added, "removed": removed, "modified": modified,
    })
}

fn diff(
    old: &BTreeMap<String, Bytes>,
    new: &BTreeMap<String, Bytes>,
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let added = new.keys().filter(|p| !old.contains_key(*p)).cloned();
    let removed = old.keys().filter(|p| !new.contains_key(*p)).cloned();
    let modified = new
        .iter()
        .filter(|(p, v)| old.get(*p).is_some_and(|o| o != *v))
        .map(|(p, _)| p.clone());
    (added.collect(), removed.collect(), modified.collect())
}

/// The `repository` of a `push`: as elsewhere, but `created_at`/`pushed_at` in epoch seconds,
/// `url` the html URL, `owner` with `name`/`email`, plus `stargazers` and `master_branch`.
fn push_repo(r: &Render<'_>, id: u64) -> Value {
    let mut v = r.repo(id);
    let Some(repo) = r.st.repos.get(&id) else {
        return v;
    };
    let pushed =
        r.st.commits
            .get(
                repo.branches
                    .get(&repo.default_branch)
                    .map_or("", String::as_str),
            )
            .map_or(repo.created_at, |c| c.date);
    merge(
        &mut v,
        json!({
            "created_at": repo.created_at.timestamp(), "pushed_at": pushed.timestamp(),
            "url": format!("{WEB}/{}", repo.full_name()), "stargazers": 0,
            "master_branch": repo.default_branch,
        }),
    );
    if r.st
        .users
        .get(&repo.owner)
        .is_some_and(|u| u.kind == UserKind::Organization)
    {
        v["organization"] = json!(repo.owner);
    }
    merge(
        &mut v["owner"],
        json!({"name": repo.owner, "email": noreply(&repo.owner)}),
    );
    v
}
