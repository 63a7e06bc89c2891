//! Checks and commit statuses: check runs (create/get/update), check suites, runs and suites
//! of a ref, combined status of a ref, `POST /statuses/{sha}`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{StatusCode, Uri};
use axum::routing::{get, post};
use chrono::Utc;
use serde_json::{Map, Value, json};

use super::Shared;
use super::events;
use super::http::{
    ApiError, ApiResult, Inst, Paging, created, num, ok, ok_paged, paginate, parse_body,
};
use super::model::{CheckRun, CommitStatus};
use super::render::foreign_app_id;
use super::scenario_ci::{NewRun, insert_check_run};
use super::state::State;
use super::webhooks;

type Sh = AxState<Arc<Shared>>;
type Q = Query<HashMap<String, String>>;

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/repos/{owner}/{repo}/check-runs", post(create_run))
        .route(
            "/repos/{owner}/{repo}/check-runs/{id}",
            get(get_run).patch(update_run),
        )
        .route("/repos/{owner}/{repo}/check-suites/{id}", get(get_suite))
        .route(
            "/repos/{owner}/{repo}/check-suites/{id}/check-runs",
            get(suite_runs),
        )
        .route(
            "/repos/{owner}/{repo}/commits/{ref}/check-runs",
            get(ref_runs),
        )
        .route(
            "/repos/{owner}/{repo}/commits/{ref}/check-suites",
            get(ref_suites),
        )
        .route(
            "/repos/{owner}/{repo}/commits/{ref}/status",
            get(combined_status),
        )
        .route("/repos/{owner}/{repo}/statuses/{sha}", post(create_status))
}

fn no_commit(r: &str) -> ApiError {
    ApiError::validation(&format!("No commit found for SHA: {r}"), Vec::new())
}

const RUN_STATUSES: &[&str] = &[
    "queued",
    "in_progress",
    "completed",
    "waiting",
    "requested",
    "pending",
];
const CONCLUSIONS: &[&str] = &[
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "success",
    "skipped",
    "stale",
    "timed_out",
];

/// `external_id`, `details_url`, `output` of a check-run body.
fn run_extra(req: &Map<String, Value>, base: &Value) -> Value {
    let mut extra = base.as_object().cloned().unwrap_or_default();
    for k in ["external_id", "details_url", "output"] {
        if let Some(v) = req.get(k) {
            extra.insert(k.into(), v.clone());
        }
    }
    Value::Object(extra)
}

fn validate_run(req: &Map<String, Value>) -> Result<(), ApiError> {
    if let Some(s) = req.get("status")
        && !s.as_str().is_some_and(|s| RUN_STATUSES.contains(&s))
    {
        return Err(ApiError::invalid_field("CheckRun", "status", "invalid"));
    }
    if let Some(c) = req.get("conclusion").filter(|c| !c.is_null())
        && !c.as_str().is_some_and(|c| CONCLUSIONS.contains(&c))
    {
        return Err(ApiError::invalid_field("CheckRun", "conclusion", "invalid"));
    }
    Ok(())
}

async fn create_run(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let req = parse_body(&body)?;
    let mut st = sh.lock();
    let id = inst.repo(&st, &o, &r)?;
    let name = req
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid_field("CheckRun", "name", "missing_field"))?;
    let head = req
        .get("head_sha")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid_field("CheckRun", "head_sha", "missing_field"))?;
    validate_run(&req)?;
    let sha = st.resolve_ref(id, head).ok_or_else(|| no_commit(head))?;
    let slug = st.settings.app_slug.clone();
    let run = NewRun {
        app_slug: &slug,
        name,
        status: req
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("queued"),
        conclusion: req.get("conclusion").and_then(Value::as_str),
        extra: run_extra(&req, &Value::Null),
    };
    let run_id = insert_check_run(&mut st, id, &sha, run);
    created(sh.render(&st).check_run(&st.runs[&run_id]))
}

fn run_of<'a>(
    st: &'a State,
    inst: &Inst,
    o: &str,
    r: &str,
    id: &str,
) -> Result<&'a CheckRun, ApiError> {
    let repo = inst.repo(st, o, r)?;
    let id = num(id)?;
    st.runs
        .get(&id)
        .filter(|x| x.repo == repo)
        .ok_or_else(ApiError::not_found)
}

async fn get_run(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r, id)): Path<(String, String, String)>,
) -> ApiResult {
    let st = sh.lock();
    let run = run_of(&st, &inst, &o, &r, &id)?;
    ok(sh.render(&st).check_run(run))
}

async fn update_run(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r, id)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let req = parse_body(&body)?;
    validate_run(&req)?;
    let mut st = sh.lock();
    let run_id = run_of(&st, &inst, &o, &r, &id)?.id;
    let now = Utc::now();
    let Some(run) = st.runs.get_mut(&run_id) else {
        return Err(ApiError::not_found());
    };
    if let Some(n) = req.get("name").and_then(Value::as_str) {
        run.name = n.to_string();
    }
    if let Some(s) = req.get("status").and_then(Value::as_str) {
        run.status = s.to_string();
    }
    if let Some(c) = req.get("conclusion").and_then(Value::as_str) {
        run.conclusion = Some(c.to_string());
        run.status = "completed".into();
    }
    if run.status == "completed" && run.completed_at.is_none() {
        run.completed_at = Some(now);
    }
    run.extra = run_extra(&req, &run.extra);
    let run = run.clone();
    ok(sh.render(&st).check_run(&run))
}

async fn get_suite(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r, id)): Path<(String, String, String)>,
) -> ApiResult {
    let st = sh.lock();
    let repo = inst.repo(&st, &o, &r)?;
    let s = st
        .suites
        .get(&num(&id)?)
        .filter(|s| s.repo == repo)
        .ok_or_else(ApiError::not_found)?;
    ok(sh.render(&st).check_suite(s))
}

/// Applies `check_name`, `status`, `app_id` and `filter` (latest per name by default).
fn filter_runs<'a>(
    st: &State,
    mut runs: Vec<&'a CheckRun>,
    q: &HashMap<String, String>,
) -> Vec<&'a CheckRun> {
    if q.get("filter").is_none_or(|f| f != "all") {
        let mut latest: Vec<&CheckRun> = Vec::new();
        for r in runs {
            match latest
                .iter_mut()
                .find(|x| x.name == r.name && x.app_slug == r.app_slug)
            {
                Some(slot) => *slot = r,
                None => latest.push(r),
            }
        }
        runs = latest;
    }
    let app_id = |slug: &str| {
        if slug == st.settings.app_slug {
            st.settings.app_id
        } else {
            foreign_app_id(slug)
        }
    };
    runs.into_iter()
        .filter(|r| q.get("check_name").is_none_or(|n| *n == r.name))
        .filter(|r| q.get("status").is_none_or(|s| *s == r.status))
        .filter(|r| {
            q.get("app_id")
                .is_none_or(|a| a.parse::<u64>().ok() == Some(app_id(&r.app_slug)))
        })
        .collect()
}

fn runs_page(
    sh: &Shared,
    st: &State,
    runs: Vec<&CheckRun>,
    uri: &Uri,
    q: &HashMap<String, String>,
) -> ApiResult {
    let total = runs.len();
    let (page, link) = paginate(runs, Paging::from_query(q), uri, st, &sh.api);
    let r = sh.render(st);
    let items: Vec<Value> = page.into_iter().map(|x| r.check_run(x)).collect();
    ok_paged(json!({"total_count": total, "check_runs": items}), link)
}

async fn suite_runs(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r, id)): Path<(String, String, String)>,
    uri: Uri,
    Query(q): Q,
) -> ApiResult {
    let st = sh.lock();
    let repo = inst.repo(&st, &o, &r)?;
    let suite = num(&id)?;
    if st.suites.get(&suite).is_none_or(|s| s.repo != repo) {
        return Err(ApiError::not_found());
    }
    let runs = st.runs.values().filter(|x| x.suite == suite).collect();
    let runs = filter_runs(&st, runs, &q);
    runs_page(&sh, &st, runs, &uri, &q)
}

async fn ref_runs(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r, git_ref)): Path<(String, String, String)>,
    uri: Uri,
    Query(q): Q,
) -> ApiResult {
    let st = sh.lock();
    let repo = inst.repo(&st, &o, &r)?;
    let sha = st
        .resolve_ref(repo, &git_ref)
        .ok_or_else(|| no_commit(&git_ref))?;
    let runs = st
        .runs
        .values()
        .filter(|x| x.repo == repo && x.head_sha == sha)
        .collect();
    let runs = filter_runs(&st, runs, &q);
    runs_page(&sh, &st, runs, &uri, &q)
}

async fn ref_suites(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r, git_ref)): Path<(String, String, String)>,
    uri: Uri,
    Query(q): Q,
) -> ApiResult {
    let st = sh.lock();
    let repo = inst.repo(&st, &o, &r)?;
    let sha = st
        .resolve_ref(repo, &git_ref)
        .ok_or_else(|| no_commit(&git_ref))?;
    let suites: Vec<_> = st
        .suites
        .values()
        .filter(|s| s.repo == repo && s.head_sha == sha)
        .filter(|s| {
            let id = if s.app_slug == st.settings.app_slug {
                st.settings.app_id
            } else {
                foreign_app_id(&s.app_slug)
            };
            q.get("app_id")
                .is_none_or(|a| a.parse::<u64>().ok() == Some(id))
        })
        .collect();
    let total = suites.len();
    let (page, link) = paginate(suites, Paging::from_query(&q), &uri, &st, &sh.api);
    let rd = sh.render(&st);
    let items: Vec<Value> = page.into_iter().map(|s| rd.check_suite(s)).collect();
    ok_paged(json!({"total_count": total, "check_suites": items}), link)
}

async fn combined_status(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r, git_ref)): Path<(String, String, String)>,
) -> ApiResult {
    let st = sh.lock();
    let repo = inst.repo(&st, &o, &r)?;
    let sha = st.resolve_ref(repo, &git_ref).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            &format!("No commit found for SHA: {git_ref}"),
        )
    })?;
    let latest = st.latest_statuses(repo, &sha);
    let state = if latest
        .iter()
        .any(|s| s.state == "error" || s.state == "failure")
    {
        "failure"
    } else if latest.is_empty() || latest.iter().any(|s| s.state == "pending") {
        "pending"
    } else {
        "success"
    };
    let rd = sh.render(&st);
    let statuses: Vec<Value> = latest
        .iter()
        .map(|s| {
            let mut v = rd.status(s);
            if let Value::Object(m) = &mut v {
                m.remove("creator");
            }
            v
        })
        .collect();
    let full = st.repos[&repo].full_name();
    ok(json!({
        "state": state, "statuses": statuses, "sha": sha, "total_count": statuses.len(),
        "repository": rd.repo(repo),
        "commit_url": format!("{}/repos/{full}/commits/{sha}", sh.api),
        "url": format!("{}/repos/{full}/commits/{sha}/status", sh.api),
    }))
}

async fn create_status(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r, sha)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let req = parse_body(&body)?;
    let mut st = sh.lock();
    let repo = inst.repo(&st, &o, &r)?;
    let state = req
        .get("state")
        .and_then(Value::as_str)
        .filter(|s| ["error", "failure", "pending", "success"].contains(s))
        .ok_or_else(|| ApiError::invalid_field("Status", "state", "custom"))?;
    let sha = st.resolve_ref(repo, &sha).ok_or_else(|| no_commit(&sha))?;
    let text = |k: &str| req.get(k).and_then(Value::as_str).map(str::to_string);
    let bot = st.bot_login();
    let status = CommitStatus {
        id: st.next_id(),
        repo,
        sha,
        context: text("context").unwrap_or_else(|| "default".into()),
        state: state.to_string(),
        description: text("description"),
        target_url: text("target_url"),
        creator: bot.clone(),
        created_at: Utc::now(),
    };
    st.statuses.push(status.clone());
    let rd = sh.render(&st);
    webhooks::enqueue(&sh, "status", &events::status(&rd, &status, &bot));
    created(rd.status(&status))
}
