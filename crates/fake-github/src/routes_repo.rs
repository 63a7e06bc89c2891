//! Repository endpoints: the repository, pull requests (list/get/update/commits/merge),
//! compare, contents, collaborator permission.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{StatusCode, Uri};
use axum::routing::get;
use chrono::Utc;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Shared;
use super::events;
use super::http::{
    ApiError, ApiResult, Inst, Paging, no_content, num, ok, ok_paged, paginate, parse_body,
};
use super::model::{PullRequest, Role};
use super::render::WEB;
use super::scenario_git::{MergeMethod, MergeSpec, merge_pr};
use super::state::State;
use super::webhooks;

type Sh = AxState<Arc<Shared>>;
type Q = Query<HashMap<String, String>>;

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/repos/{owner}/{repo}", get(get_repo))
        .route("/repos/{owner}/{repo}/pulls", get(list_pulls))
        .route(
            "/repos/{owner}/{repo}/pulls/{number}",
            get(get_pull).patch(update_pull),
        )
        .route(
            "/repos/{owner}/{repo}/pulls/{number}/commits",
            get(pull_commits),
        )
        .route(
            "/repos/{owner}/{repo}/pulls/{number}/files",
            get(pull_files),
        )
        .route(
            "/repos/{owner}/{repo}/pulls/{number}/merge",
            get(is_merged).put(merge),
        )
        // A wildcard: branch names may contain `/`.
        .route("/repos/{owner}/{repo}/compare/{*basehead}", get(compare))
        .route("/repos/{owner}/{repo}/commits/{ref}", get(get_commit))
        .route("/repos/{owner}/{repo}/contents/{*path}", get(contents))
        .route(
            "/repos/{owner}/{repo}/collaborators/{user}/permission",
            get(permission),
        )
}

async fn get_repo(
    AxState(sh): Sh,
    reader: super::routes_oauth::Reader,
    Path((o, r)): Path<(String, String)>,
) -> ApiResult {
    let inst = match reader {
        super::routes_oauth::Reader::Installation(inst) => inst,
        super::routes_oauth::Reader::User(login) => {
            return super::routes_oauth::repo_for_user(&sh, &login, &o, &r);
        }
    };
    let st = sh.lock();
    let id = inst.repo(&st, &o, &r)?;
    ok(sh.render(&st).repo(id))
}

/// Keys of a full pull request that the list endpoint (`pull-request-simple`) leaves out.
const NOT_IN_SIMPLE: &[&str] = &[
    "merged",
    "mergeable",
    "rebaseable",
    "mergeable_state",
    "merged_by",
    "comments",
    "review_comments",
    "maintainer_can_modify",
    "commits",
    "additions",
    "deletions",
    "changed_files",
];

async fn list_pulls(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r)): Path<(String, String)>,
    uri: Uri,
    Query(q): Q,
) -> ApiResult {
    let st = sh.lock();
    let id = inst.repo(&st, &o, &r)?;
    let state = q.get("state").map_or("open", String::as_str);
    if !["open", "closed", "all"].contains(&state) {
        return Err(ApiError::invalid_field("PullRequest", "state", "invalid"));
    }
    let mut prs: Vec<&PullRequest> = st
        .pulls
        .values()
        .filter(|p| p.repo == id && (state == "all" || p.state == state))
        .filter(|p| {
            q.get("head")
                .is_none_or(|h| *h == format!("{}:{}", p.head_owner, p.head_ref))
        })
        .filter(|p| q.get("base").is_none_or(|b| *b == p.base_ref))
        .collect();
    let by_updated = q.get("sort").is_some_and(|s| s == "updated");
    prs.sort_by_key(|p| {
        (
            if by_updated {
                p.updated_at
            } else {
                p.created_at
            },
            p.number,
        )
    });
    if q.get("direction").is_none_or(|d| d != "asc") {
        prs.reverse();
    }
    let (page, link) = paginate(prs, Paging::from_query(&q), &uri, &st, &sh.api);
    let r = sh.render(&st);
    let items: Vec<Value> = page
        .into_iter()
        .map(|p| {
            let mut v = r.pr(p);
            if let Value::Object(m) = &mut v {
                for k in NOT_IN_SIMPLE {
                    m.remove(*k);
                }
            }
            v
        })
        .collect();
    ok_paged(Value::Array(items), link)
}

fn pull_of<'a>(
    st: &'a State,
    inst: &Inst,
    o: &str,
    r: &str,
    n: &str,
) -> Result<&'a PullRequest, ApiError> {
    let id = inst.repo(st, o, r)?;
    let n = num(n)?;
    st.pulls.get(&(id, n)).ok_or_else(ApiError::not_found)
}

async fn get_pull(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r, n)): Path<(String, String, String)>,
) -> ApiResult {
    let st = sh.lock();
    let pr = pull_of(&st, &inst, &o, &r, &n)?;
    ok(sh.render(&st).pr(pr))
}

async fn update_pull(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r, n)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let req = parse_body(&body)?;
    let mut st = sh.lock();
    let pr = pull_of(&st, &inst, &o, &r, &n)?.clone();
    let key = (pr.repo, pr.number);
    let bot = st.bot_login();
    let now = Utc::now();
    let mut action = None;
    let mut changes = serde_json::Map::new();
    let p = st.pulls.get_mut(&key).ok_or_else(ApiError::not_found)?;
    if let Some(t) = req.get("title").and_then(Value::as_str) {
        changes.insert("title".into(), json!({"from": p.title}));
        p.title = t.to_string();
        action = Some("edited");
    }
    if let Some(b) = req.get("body").and_then(Value::as_str) {
        changes.insert("body".into(), json!({"from": p.body}));
        p.body = Some(b.to_string());
        action = Some("edited");
    }
    match req.get("state").and_then(Value::as_str) {
        Some("closed") if p.state == "open" => {
            p.state = "closed".into();
            p.closed_at = Some(now);
            action = Some("closed");
        }
        Some("open") if p.state == "closed" && !p.merged => {
            p.state = "open".into();
            p.closed_at = None;
            action = Some("reopened");
        }
        Some("open" | "closed") | None => {}
        Some(_) => return Err(ApiError::invalid_field("PullRequest", "state", "invalid")),
    }
    p.updated_at = now;
    let pr = p.clone();
    let r = sh.render(&st);
    if let Some(action) = action {
        let extra = if action == "edited" {
            json!({"changes": changes})
        } else {
            json!({})
        };
        webhooks::enqueue(
            &sh,
            "pull_request",
            &events::pull_request(&r, &pr, action, &bot, extra),
        );
    }
    ok(r.pr(&pr))
}

async fn pull_commits(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r, n)): Path<(String, String, String)>,
    uri: Uri,
    Query(q): Q,
) -> ApiResult {
    let st = sh.lock();
    let pr = pull_of(&st, &inst, &o, &r, &n)?;
    let shas = st
        .compare(&pr.base_sha, &pr.head_sha)
        .map(|c| c.commits)
        .unwrap_or_default();
    let (page, link) = paginate(shas, Paging::from_query(&q), &uri, &st, &sh.api);
    let rd = sh.render(&st);
    let items: Vec<Value> = page.iter().map(|s| rd.commit(pr.repo, s)).collect();
    ok_paged(Value::Array(items), link)
}

/// `GET /pulls/{n}/files`: the paths that differ between the merge base and the head (added,
/// changed or removed), sorted, paginated like every list.
async fn pull_files(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r, n)): Path<(String, String, String)>,
    uri: Uri,
    Query(q): Q,
) -> ApiResult {
    let st = sh.lock();
    let pr = pull_of(&st, &inst, &o, &r, &n)?;
    let base = st
        .compare(&pr.base_sha, &pr.head_sha)
        .map(|c| c.merge_base)
        .unwrap_or_else(|| pr.base_sha.clone());
    let tree = |sha: &str| {
        st.commits
            .get(sha)
            .map(|c| c.tree.clone())
            .unwrap_or_default()
    };
    let (old, new) = (tree(&base), tree(&pr.head_sha));
    let mut changed: Vec<(String, &'static str)> = new
        .iter()
        .filter(|(path, body)| old.get(*path) != Some(*body))
        .map(|(path, _)| {
            let status = if old.contains_key(path) {
                "modified"
            } else {
                "added"
            };
            (path.clone(), status)
        })
        .chain(
            old.keys()
                .filter(|p| !new.contains_key(*p))
                .map(|p| (p.clone(), "removed")),
        )
        .collect();
    changed.sort();
    let (page, link) = paginate(changed, Paging::from_query(&q), &uri, &st, &sh.api);
    let items: Vec<Value> = page
        .iter()
        .map(|(path, status)| serde_json::json!({"filename": path, "status": status}))
        .collect();
    ok_paged(Value::Array(items), link)
}

async fn is_merged(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r, n)): Path<(String, String, String)>,
) -> ApiResult {
    let st = sh.lock();
    let pr = pull_of(&st, &inst, &o, &r, &n)?;
    if pr.merged {
        no_content()
    } else {
        Err(ApiError::not_found())
    }
}

async fn merge(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r, n)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let req = parse_body(&body)?;
    let text = |k: &str| -> Result<Option<String>, ApiError> {
        match req.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::invalid_field("PullRequest", k, "invalid")),
        }
    };
    let method = match text("merge_method")? {
        None => MergeMethod::Merge,
        Some(m) => MergeMethod::parse(&m)
            .ok_or_else(|| ApiError::invalid_field("PullRequest", "merge_method", "invalid"))?,
    };
    let spec = MergeSpec {
        method,
        title: text("commit_title")?,
        message: text("commit_message")?,
    };
    let expected_sha = text("sha")?;
    let mut st = sh.lock();
    let pr = pull_of(&st, &inst, &o, &r, &n)?.clone();
    if pr.state != "open" || pr.draft || !pr.mergeable {
        return Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "Pull Request is not mergeable",
        ));
    }
    if expected_sha.is_some_and(|s| s != pr.head_sha) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "Head branch was modified. Review and try the merge again.",
        ));
    }
    let bot = st.bot_login();
    let merged =
        merge_pr(&mut st, pr.repo, pr.number, &bot, &spec).ok_or_else(ApiError::not_found)?;
    let closed = st.pulls[&(pr.repo, pr.number)].clone();
    let r = sh.render(&st);
    let payload = events::pull_request(&r, &closed, "closed", &bot, json!({}));
    webhooks::enqueue(&sh, "pull_request", &payload);
    webhooks::enqueue(&sh, "push", &merged.push_event(&r, &bot));
    ok(json!({"sha": merged.sha, "merged": true, "message": "Pull Request successfully merged"}))
}

/// `GET /repos/{o}/{r}/commits/{ref}`: a branch name or sha, resolved to its commit.
async fn get_commit(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r, reference)): Path<(String, String, String)>,
) -> ApiResult {
    let st = sh.lock();
    let id = inst.repo(&st, &o, &r)?;
    let sha = st.resolve_ref(id, &reference).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("No commit found for SHA: {reference}"),
        )
    })?;
    ok(sh.render(&st).commit(id, &sha))
}

/// Resolves one side of `base...head` (`ref` or `owner:ref`, the latter in that owner's fork).
fn side(st: &State, repo: u64, spec: &str) -> Option<String> {
    match spec.split_once(':') {
        Some((owner, r)) => {
            let name = &st.repos.get(&repo)?.name;
            let fork = st.repo_id(owner, name)?;
            st.resolve_ref(fork, r)
        }
        None => st.resolve_ref(repo, spec),
    }
}

async fn compare(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r, basehead)): Path<(String, String, String)>,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let st = sh.lock();
    let id = inst.repo(&st, &o, &r)?;
    let (b, h) = basehead.split_once("...").ok_or_else(ApiError::not_found)?;
    let base = side(&st, id, b).ok_or_else(ApiError::not_found)?;
    let head = side(&st, id, h).ok_or_else(ApiError::not_found)?;
    let cmp = st.compare(&base, &head).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            &format!("No common ancestor between {b} and {h}."),
        )
    })?;
    let full = st.repos[&id].full_name();
    let api = format!("{}/repos/{full}", sh.api);
    let rd = sh.render(&st);
    let mb_tree = st.tree_of(&cmp.merge_base);
    let head_tree = st.tree_of(&head);
    // As GitHub: without `page`/`per_page`, the newest 250 commits (oldest first); with them,
    // pages of the whole list with a `Link` header, and the files on the first page only.
    let paged = q.contains_key("page") || q.contains_key("per_page");
    let (commits, link, first_page) = if paged {
        let paging = Paging::from_query(&q);
        let (page, link) = paginate(cmp.commits.clone(), paging, &uri, &st, &sh.api);
        (page, link, paging.page == 1)
    } else {
        let skip = cmp.commits.len().saturating_sub(250);
        (cmp.commits[skip..].to_vec(), None, true)
    };
    let mut files = Vec::new();
    for (path, status) in changed_paths(&mb_tree, &head_tree)
        .into_iter()
        .filter(|_| first_page)
    {
        let sha = head_tree
            .get(&path)
            .or(mb_tree.get(&path))
            .map(|c| blob_sha(c));
        files.push(json!({
            "sha": sha, "filename": path, "status": status, "additions": 0, "deletions": 0,
            "changes": 0, "blob_url": format!("{WEB}/{full}/blob/{head}/{path}"),
            "raw_url": format!("{WEB}/{full}/raw/{head}/{path}"),
            "contents_url": format!("{api}/contents/{path}?ref={head}"),
        }));
    }
    ok_paged(
        json!({
            "url": format!("{api}/compare/{basehead}"),
            "html_url": format!("{WEB}/{full}/compare/{basehead}"),
            "permalink_url": format!("{WEB}/{full}/compare/{}...{}", &base[..7], &head[..7]),
            "diff_url": format!("{WEB}/{full}/compare/{basehead}.diff"),
            "patch_url": format!("{WEB}/{full}/compare/{basehead}.patch"),
            "base_commit": rd.commit(id, &base), "merge_base_commit": rd.commit(id, &cmp.merge_base),
            "status": cmp.status, "ahead_by": cmp.ahead_by, "behind_by": cmp.behind_by,
            "total_commits": cmp.commits.len(),
            "commits": commits.iter().map(|s| rd.commit(id, s)).collect::<Vec<_>>(),
            "files": files,
        }),
        link,
    )
}

fn changed_paths(
    old: &std::collections::BTreeMap<String, Bytes>,
    new: &std::collections::BTreeMap<String, Bytes>,
) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    for (p, v) in new {
        match old.get(p) {
            None => out.push((p.clone(), "added")),
            Some(o) if o != v => out.push((p.clone(), "modified")),
            Some(_) => {}
        }
    }
    for p in old.keys().filter(|p| !new.contains_key(*p)) {
        out.push((p.clone(), "removed"));
    }
    out.sort();
    out
}

/// A stand-in blob sha (40 hex) for file contents.
fn blob_sha(content: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(format!("blob {}\0", content.len()).as_bytes());
    h.update(content);
    hex::encode(h.finalize())[..40].to_string()
}

/// Standard base64 wrapped at 60 columns with `\n`, like GitHub's contents API.
pub(super) fn base64_wrapped(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    let mut wrapped = String::with_capacity(out.len() + out.len() / 60 + 1);
    for (i, c) in out.chars().enumerate() {
        if i > 0 && i % 60 == 0 {
            wrapped.push('\n');
        }
        wrapped.push(c);
    }
    if !wrapped.is_empty() {
        wrapped.push('\n');
    }
    wrapped
}

async fn contents(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r, path)): Path<(String, String, String)>,
    Query(q): Q,
) -> ApiResult {
    let st = sh.lock();
    let id = inst.repo(&st, &o, &r)?;
    let repo = &st.repos[&id];
    let want = q.get("ref").cloned().unwrap_or(repo.default_branch.clone());
    let sha = st.resolve_ref(id, &want).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            &format!("No commit found for the ref {want}"),
        )
    })?;
    let tree = st.tree_of(&sha);
    let full = repo.full_name();
    let path = path.trim_matches('/').to_string();
    let entry = |p: &str, kind: &str, content: Option<&Bytes>| {
        let name = p.rsplit('/').next().unwrap_or(p);
        let self_url = format!("{}/repos/{full}/contents/{p}?ref={want}", sh.api);
        let html = format!("{WEB}/{full}/blob/{want}/{p}");
        let sha = content.map_or_else(|| blob_sha(p.as_bytes()), |c| blob_sha(c));
        let git = format!("{}/repos/{full}/git/blobs/{sha}", sh.api);
        json!({
            "type": kind, "size": content.map_or(0, Bytes::len), "name": name, "path": p,
            "sha": sha, "url": self_url, "git_url": git, "html_url": html,
            "download_url": content.map(|_| format!("https://raw.githubusercontent.com/{full}/{want}/{p}")),
            "_links": {"self": self_url, "git": git, "html": html},
        })
    };
    if let Some(content) = tree.get(&path) {
        let mut v = entry(&path, "file", Some(content));
        v["encoding"] = json!("base64");
        v["content"] = json!(base64_wrapped(content));
        return ok(v);
    }
    let prefix = format!("{path}/");
    let mut children: Vec<Value> = Vec::new();
    let mut seen_dirs = std::collections::BTreeSet::new();
    for (p, c) in tree.iter().filter(|(p, _)| p.starts_with(&prefix)) {
        let rest = &p[prefix.len()..];
        match rest.split_once('/') {
            None => children.push(entry(p, "file", Some(c))),
            Some((dir, _)) => {
                if seen_dirs.insert(dir.to_string()) {
                    children.push(entry(&format!("{prefix}{dir}"), "dir", None));
                }
            }
        }
    }
    if children.is_empty() {
        return Err(ApiError::not_found());
    }
    ok(Value::Array(children))
}

async fn permission(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r, user)): Path<(String, String, String)>,
) -> ApiResult {
    let st = sh.lock();
    let id = inst.repo(&st, &o, &r)?;
    if !st.users.contains_key(&user) {
        return Err(ApiError::not_found());
    }
    let role = st.role_of(id, &user);
    let (permission, role_name) =
        role.map_or(("none", "none"), |r| (r.permission(), r.role_name()));
    let at_least = |min: Role| {
        let rank = |r: Role| match r {
            Role::Read => 1,
            Role::Triage => 2,
            Role::Write => 3,
            Role::Maintain => 4,
            Role::Admin => 5,
        };
        role.is_some_and(|r| rank(r) >= rank(min))
    };
    let mut u = sh.render(&st).user(&user);
    u["permissions"] = json!({
        "admin": at_least(Role::Admin), "maintain": at_least(Role::Maintain),
        "push": at_least(Role::Write), "triage": at_least(Role::Triage), "pull": at_least(Role::Read),
    });
    u["role_name"] = json!(role_name);
    ok(json!({"permission": permission, "role_name": role_name, "user": u}))
}
