//! Deployments, deployment statuses and environments.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::get;
use chrono::Utc;
use serde_json::{Map, Value, json};

use super::Shared;
use super::events;
use super::http::{
    ApiError, ApiResult, Inst, Paging, created, no_content, num, ok, ok_paged, paginate, parse_body,
};
use super::model::{Deployment, DeploymentStatus, Environment};
use super::state::State;
use super::webhooks;

type Sh = AxState<Arc<Shared>>;
type Q = Query<HashMap<String, String>>;
type RepoPath = Path<(String, String)>;
type ItemPath = Path<(String, String, String)>;

const DOC_CREATE: &str = "https://docs.github.com/rest/deployments/deployments#create-a-deployment";

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/repos/{owner}/{repo}/deployments",
            get(list_deployments).post(create_deployment),
        )
        .route(
            "/repos/{owner}/{repo}/deployments/{id}",
            get(get_deployment).delete(delete_deployment),
        )
        .route(
            "/repos/{owner}/{repo}/deployments/{id}/statuses",
            get(list_statuses).post(create_status),
        )
        .route(
            "/repos/{owner}/{repo}/deployments/{id}/statuses/{status_id}",
            get(get_status),
        )
        .route("/repos/{owner}/{repo}/environments", get(list_environments))
        .route(
            "/repos/{owner}/{repo}/environments/{name}",
            get(get_environment)
                .put(put_environment)
                .delete(delete_environment),
        )
}

fn invalid(message: &str) -> ApiError {
    ApiError::with_body(
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({"message": message, "documentation_url": DOC_CREATE, "status": "422"}),
    )
}

async fn list_deployments(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r)): RepoPath,
    uri: Uri,
    Query(q): Q,
) -> ApiResult {
    let st = sh.lock();
    let repo = inst.repo(&st, &o, &r)?;
    let matches = |k: &str, v: &str| q.get(k).is_none_or(|want| want == v);
    let deps: Vec<&Deployment> = st
        .deployments
        .values()
        .rev()
        .filter(|d| d.repo == repo)
        .filter(|d| matches("sha", &d.sha) && matches("ref", &d.ref_name))
        .filter(|d| matches("task", &d.task) && matches("environment", &d.environment))
        .collect();
    let (page, link) = paginate(deps, Paging::from_query(&q), &uri, &st, &sh.api);
    let rd = sh.render(&st);
    ok_paged(
        Value::Array(page.into_iter().map(|d| rd.deployment(d)).collect()),
        link,
    )
}

/// State of every context on `sha`: latest commit statuses and latest check runs.
fn contexts(st: &State, repo: u64, sha: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = st
        .latest_statuses(repo, sha)
        .into_iter()
        .map(|s| (s.context.clone(), s.state.clone()))
        .collect();
    for r in st.latest_runs(repo, sha) {
        let state = match (r.status.as_str(), r.conclusion.as_deref()) {
            ("completed", Some("success" | "neutral" | "skipped")) => "success",
            ("completed", _) => "failure",
            _ => "pending",
        };
        out.push((r.name.clone(), state.to_string()));
    }
    out
}

/// GitHub's `auto_merge`: merge the default branch into a branch ref that is behind it.
/// `Ok(None)`: nothing to do; `Ok(Some(response))`: 202 answered instead of a deployment.
fn auto_merge(
    st: &mut State,
    repo: u64,
    git_ref: &str,
    sha: &str,
) -> Result<Option<String>, ApiError> {
    let r = &st.repos[&repo];
    let default = r.default_branch.clone();
    let Some(default_head) = r.branches.get(&default).cloned() else {
        return Ok(None);
    };
    if st.ancestors(sha).contains(&default_head) {
        return Ok(None);
    }
    let branch = git_ref.strip_prefix("refs/heads/").unwrap_or(git_ref);
    if !st.repos[&repo].branches.contains_key(branch) {
        return Err(ApiError::with_body(
            StatusCode::CONFLICT,
            json!({"message": format!("Conflict merging {default} into {git_ref}."), "documentation_url": DOC_CREATE, "status": "409"}),
        ));
    }
    let tree = st.merge_tree(sha, &default_head);
    let bot = st.bot_login();
    let msg = format!("Merge {default} into {branch}");
    let merged = st.new_commit(vec![sha.to_string(), default_head], &msg, &bot, tree);
    if let Some(r) = st.repos.get_mut(&repo) {
        r.branches.insert(branch.to_string(), merged);
    }
    Ok(Some(format!(
        "Auto-merged {default} into {branch} on deployment."
    )))
}

fn check_contexts(
    st: &State,
    repo: u64,
    sha: &str,
    git_ref: &str,
    required: Option<&Vec<Value>>,
) -> Result<(), ApiError> {
    let have = contexts(st, repo, sha);
    let wanted: Vec<String> = match required {
        Some(list) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        None => have.iter().map(|(c, _)| c.clone()).collect(),
    };
    let failing: Vec<Value> = wanted
        .iter()
        .filter_map(|c| {
            let state = have
                .iter()
                .rev()
                .find(|(n, _)| n == c)
                .map(|(_, s)| s.as_str());
            (state != Some("success"))
                .then(|| json!({"context": c, "state": state.unwrap_or("missing")}))
        })
        .collect();
    if failing.is_empty() {
        return Ok(());
    }
    Err(ApiError::with_body(
        StatusCode::CONFLICT,
        json!({
            "message": format!("Conflict: Commit status checks failed for {git_ref}."),
            "errors": [{"contexts": failing, "resource": "Deployment", "field": "required_contexts", "code": "invalid"}],
            "documentation_url": DOC_CREATE, "status": "409",
        }),
    ))
}

fn bool_field(req: &Map<String, Value>, k: &str) -> Result<Option<bool>, ApiError> {
    match req.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(invalid(&format!(
            "Invalid request.\n\nFor 'properties/{k}', {other} is not a boolean."
        ))),
    }
}

async fn create_deployment(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r)): RepoPath,
    body: Bytes,
) -> ApiResult {
    let req = parse_body(&body)?;
    let mut st = sh.lock();
    let repo = inst.repo(&st, &o, &r)?;
    let git_ref = match req.get("ref") {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => {
            return Err(invalid("Invalid request.\n\n\"ref\" wasn't supplied."));
        }
        Some(other) => {
            return Err(invalid(&format!(
                "Invalid request.\n\nFor 'properties/ref', {other} is not a string."
            )));
        }
    };
    let sha = st
        .resolve_ref(repo, &git_ref)
        .ok_or_else(|| invalid(&format!("No ref found for: {git_ref}")))?;
    let text = |k: &str, default: &str| -> Result<String, ApiError> {
        match req.get(k) {
            None | Some(Value::Null) => Ok(default.to_string()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(invalid(&format!(
                "Invalid request.\n\nFor 'properties/{k}', {other} is not a string."
            ))),
        }
    };
    let task = text("task", "deploy")?;
    let environment = text("environment", "production")?;
    let description = match req.get("description") {
        None | Some(Value::Null) => None,
        Some(_) => Some(text("description", "")?),
    };
    let payload = match req.get("payload") {
        None | Some(Value::Null) => json!({}),
        Some(Value::Object(m)) => Value::Object(m.clone()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Value::Object(m),
            _ => Value::String(s.clone()),
        },
        Some(other) => {
            return Err(invalid(&format!(
                "Invalid request.\n\nFor 'properties/payload', {other} is not an object or string."
            )));
        }
    };
    let transient = bool_field(&req, "transient_environment")?.unwrap_or(false);
    let production =
        bool_field(&req, "production_environment")?.unwrap_or(environment == "production");
    let required = match req.get("required_contexts") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => Some(a),
        Some(other) => {
            return Err(invalid(&format!(
                "Invalid request.\n\nFor 'properties/required_contexts', {other} is not an array."
            )));
        }
    };
    if bool_field(&req, "auto_merge")?.unwrap_or(true)
        && let Some(message) = auto_merge(&mut st, repo, &git_ref, &sha)?
    {
        return Ok((
            StatusCode::ACCEPTED,
            axum::Json(json!({"message": message})),
        )
            .into_response());
    }
    check_contexts(&st, repo, &sha, &git_ref, required)?;
    let now = Utc::now();
    let bot = st.bot_login();
    let d = Deployment {
        id: st.next_id(),
        repo,
        sha,
        ref_name: git_ref,
        task,
        payload,
        original_environment: environment.clone(),
        environment: environment.clone(),
        description,
        creator: bot.clone(),
        transient_environment: transient,
        production_environment: production,
        via_app: true,
        created_at: now,
        updated_at: now,
        statuses: Vec::new(),
    };
    st.ensure_environment(repo, &environment);
    st.deployments.insert(d.id, d.clone());
    let rd = sh.render(&st);
    webhooks::enqueue(&sh, "deployment", &events::deployment(&rd, &d, &bot));
    created(rd.deployment(&d))
}

fn deployment_of<'a>(
    st: &'a State,
    inst: &Inst,
    o: &str,
    r: &str,
    id: &str,
) -> Result<&'a Deployment, ApiError> {
    let repo = inst.repo(st, o, r)?;
    st.deployments
        .get(&num(id)?)
        .filter(|d| d.repo == repo)
        .ok_or_else(ApiError::not_found)
}

async fn get_deployment(AxState(sh): Sh, inst: Inst, Path((o, r, id)): ItemPath) -> ApiResult {
    let st = sh.lock();
    let d = deployment_of(&st, &inst, &o, &r, &id)?;
    ok(sh.render(&st).deployment(d))
}

async fn delete_deployment(AxState(sh): Sh, inst: Inst, Path((o, r, id)): ItemPath) -> ApiResult {
    let mut st = sh.lock();
    let d = deployment_of(&st, &inst, &o, &r, &id)?;
    let inactive = d.statuses.last().is_none_or(|s| s.state == "inactive");
    let alone = st
        .deployments
        .values()
        .filter(|x| x.repo == d.repo && x.environment == d.environment)
        .count()
        == 1;
    if !inactive && !alone {
        return Err(ApiError::validation(
            "We cannot delete an active deployment unless it is the only deployment in a given environment.",
            Vec::new(),
        ));
    }
    let id = d.id;
    st.deployments.remove(&id);
    no_content()
}

async fn list_statuses(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r, id)): ItemPath,
    uri: Uri,
    Query(q): Q,
) -> ApiResult {
    let st = sh.lock();
    let d = deployment_of(&st, &inst, &o, &r, &id)?;
    let newest_first: Vec<&DeploymentStatus> = d.statuses.iter().rev().collect();
    let (page, link) = paginate(newest_first, Paging::from_query(&q), &uri, &st, &sh.api);
    let rd = sh.render(&st);
    let items = page
        .into_iter()
        .map(|s| rd.deployment_status(d, s))
        .collect();
    ok_paged(Value::Array(items), link)
}

async fn get_status(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r, id, sid)): Path<(String, String, String, String)>,
) -> ApiResult {
    let st = sh.lock();
    let d = deployment_of(&st, &inst, &o, &r, &id)?;
    let sid = num(&sid)?;
    let s = d
        .statuses
        .iter()
        .find(|s| s.id == sid)
        .ok_or_else(ApiError::not_found)?;
    ok(sh.render(&st).deployment_status(d, s))
}

const STATES: &[&str] = &[
    "error",
    "failure",
    "inactive",
    "in_progress",
    "queued",
    "pending",
    "success",
];

async fn create_status(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r, id)): ItemPath,
    body: Bytes,
) -> ApiResult {
    let req = parse_body(&body)?;
    let mut st = sh.lock();
    let dep_id = deployment_of(&st, &inst, &o, &r, &id)?.id;
    let state = req
        .get("state")
        .and_then(Value::as_str)
        .filter(|s| STATES.contains(s))
        .ok_or_else(|| ApiError::invalid_field("DeploymentStatus", "state", "invalid"))?
        .to_string();
    let text = |k: &str| req.get(k).and_then(Value::as_str).map(str::to_string);
    let auto_inactive = req.get("auto_inactive").and_then(Value::as_bool);
    let bot = st.bot_login();
    let now = Utc::now();
    let status_id = st.next_id();
    if let Some(env) = text("environment") {
        let repo = st.deployments[&dep_id].repo;
        st.ensure_environment(repo, &env);
    }
    let Some(d) = st.deployments.get_mut(&dep_id) else {
        return Err(ApiError::not_found());
    };
    if let Some(env) = text("environment") {
        d.environment = env;
    }
    let status = DeploymentStatus {
        id: status_id,
        state: state.clone(),
        environment: d.environment.clone(),
        environment_url: text("environment_url"),
        log_url: text("log_url").or_else(|| text("target_url")),
        description: text("description").unwrap_or_default(),
        auto_inactive,
        creator: bot.clone(),
        via_app: true,
        created_at: now,
    };
    d.statuses.push(status.clone());
    d.updated_at = now;
    let d = d.clone();
    if state == "success" && auto_inactive != Some(false) {
        deactivate_prior(&mut st, &d, &bot);
    }
    let rd = sh.render(&st);
    webhooks::enqueue(
        &sh,
        "deployment_status",
        &events::deployment_status(&rd, &d, &status, &bot),
    );
    let v = rd.deployment_status(&d, &status);
    let location = v["url"]
        .as_str()
        .and_then(|u| HeaderValue::from_str(u).ok());
    let mut resp = created(v)?;
    if let Some(l) = location {
        resp.headers_mut().insert("location", l);
    }
    Ok(resp)
}

/// GitHub's `auto_inactive`: prior successful deployments to the same environment that are
/// neither transient nor production get an `inactive` status. Transient/production ones are
/// left as they are.
fn deactivate_prior(st: &mut State, current: &Deployment, creator: &str) {
    let now = Utc::now();
    let targets: Vec<u64> = st
        .deployments
        .values()
        .filter(|x| {
            x.repo == current.repo && x.id != current.id && x.environment == current.environment
        })
        .filter(|x| !x.transient_environment && !x.production_environment)
        .filter(|x| x.statuses.last().is_some_and(|s| s.state == "success"))
        .map(|x| x.id)
        .collect();
    for id in targets {
        let sid = st.next_id();
        if let Some(x) = st.deployments.get_mut(&id) {
            x.statuses.push(DeploymentStatus {
                id: sid,
                state: "inactive".into(),
                environment: x.environment.clone(),
                environment_url: None,
                log_url: None,
                description: String::new(),
                auto_inactive: None,
                creator: creator.to_string(),
                via_app: true,
                created_at: now,
            });
            x.updated_at = now;
        }
    }
}

async fn list_environments(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r)): RepoPath,
    uri: Uri,
    Query(q): Q,
) -> ApiResult {
    let st = sh.lock();
    let repo = inst.repo(&st, &o, &r)?;
    let envs: Vec<&Environment> = st
        .environments
        .values()
        .filter(|e| e.repo == repo)
        .collect();
    let total = envs.len();
    let (page, link) = paginate(envs, Paging::from_query(&q), &uri, &st, &sh.api);
    let rd = sh.render(&st);
    let items: Vec<Value> = page.into_iter().map(|e| rd.environment(e)).collect();
    ok_paged(json!({"total_count": total, "environments": items}), link)
}

async fn get_environment(AxState(sh): Sh, inst: Inst, Path((o, r, name)): ItemPath) -> ApiResult {
    let st = sh.lock();
    let repo = inst.repo(&st, &o, &r)?;
    let e = st
        .environments
        .get(&(repo, name))
        .ok_or_else(ApiError::not_found)?;
    ok(sh.render(&st).environment(e))
}

async fn put_environment(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r, name)): ItemPath,
    body: Bytes,
) -> ApiResult {
    let req = if body.trim_ascii() == b"null" {
        Map::new()
    } else {
        parse_body(&body)?
    };
    if let Some(w) = req.get("wait_timer").filter(|w| !w.is_null())
        && w.as_u64().is_none_or(|w| w > 43_200)
    {
        return Err(ApiError::invalid_field(
            "Environment",
            "wait_timer",
            "invalid",
        ));
    }
    let mut st = sh.lock();
    let repo = inst.repo(&st, &o, &r)?;
    st.ensure_environment(repo, &name);
    let Some(e) = st.environments.get_mut(&(repo, name)) else {
        return Err(ApiError::not_found());
    };
    e.settings = Value::Object(req);
    e.updated_at = Utc::now();
    let e = e.clone();
    ok(sh.render(&st).environment(&e))
}

async fn delete_environment(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r, name)): ItemPath,
) -> ApiResult {
    let mut st = sh.lock();
    let repo = inst.repo(&st, &o, &r)?;
    st.environments
        .remove(&(repo, name))
        .ok_or_else(ApiError::not_found)?;
    no_content()
}
