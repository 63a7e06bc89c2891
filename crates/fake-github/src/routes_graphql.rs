//! `POST /graphql`: the one GraphQL query the App sends, a commit's `statusCheckRollup`,
//! answered from the fake's check runs and commit statuses in GitHub's GraphQL shape.
//!
//! GitHub answers GraphQL problems (unknown operation, missing variables, a repository that
//! does not exist) with HTTP 200 and an `errors` array; only a body that is not JSON is a 400
//! "Problems parsing JSON". This route does the same; it parses no GraphQL, it recognises the
//! query by its operation name.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::routing::post;
use serde_json::{Map, Value, json};

use super::Shared;
use super::http::{ApiResult, Inst, ok, parse_body};
use super::state::State;

/// The operation the fake answers (the App's checks query).
pub const CHECKS_OPERATION: &str = "GangwayChecks";
/// Contexts per page, as the App's query asks (`first: 100`).
const PAGE: usize = 100;

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/graphql", post(graphql))
}

fn error(message: &str) -> Value {
    json!({"errors": [{"message": message, "locations": [{"line": 1, "column": 1}]}]})
}

/// The operation a request asks for: `operationName`, else the name of a lone `query NAME`.
fn operation(req: &Map<String, Value>) -> Option<String> {
    if let Some(name) = req.get("operationName").and_then(Value::as_str) {
        return Some(name.to_string());
    }
    let query = req.get("query")?.as_str()?;
    let rest = query.trim_start().strip_prefix("query")?;
    let name: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

fn variable_error(name: &str, kind: &str, value: Option<&Value>) -> Value {
    json!({"errors": [{
        "extensions": {"value": value.cloned().unwrap_or(Value::Null),
                       "problems": [{"path": [], "explanation": "Expected value to not be null"}]},
        "locations": [{"line": 1, "column": 1}],
        "message": format!("Variable ${name} of type {kind} was provided invalid value"),
    }]})
}

async fn graphql(AxState(sh): AxState<Arc<Shared>>, inst: Inst, body: Bytes) -> ApiResult {
    let req = parse_body(&body)?;
    if !req.get("query").is_some_and(Value::is_string) {
        return ok(error(
            "A query attribute must be specified and must be a string.",
        ));
    }
    match operation(&req).as_deref() {
        Some(CHECKS_OPERATION) => {}
        other => {
            return ok(error(&format!(
                "the fake GitHub answers only the {CHECKS_OPERATION} query, not {}",
                other.unwrap_or("an anonymous one")
            )));
        }
    }
    let empty = Map::new();
    let vars = match req.get("variables") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(v)) => v,
        Some(_) => return ok(error("Variables are invalid JSON.")),
    };
    let string = |name: &str| vars.get(name).and_then(Value::as_str);
    let (Some(owner), Some(name)) = (string("owner"), string("name")) else {
        let missing = if string("owner").is_none() {
            "owner"
        } else {
            "name"
        };
        return ok(variable_error(missing, "String!", vars.get(missing)));
    };
    let sha = match string("sha") {
        Some(s) if (4..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit()) => s,
        _ => return ok(variable_error("sha", "GitObjectID!", vars.get("sha"))),
    };
    let cursor = match vars.get("cursor") {
        None | Some(Value::Null) => 0,
        Some(Value::String(c)) => match decode_cursor(c) {
            Some(n) => n,
            None => {
                return ok(error(&format!(
                    "`{c}` does not appear to be a valid cursor."
                )));
            }
        },
        Some(_) => return ok(variable_error("cursor", "String", vars.get("cursor"))),
    };
    let st = sh.lock();
    // GitHub hides what the token may not see: the same answer as no repository at all.
    let Ok(repo) = inst.repo(&st, owner, name) else {
        return ok(json!({
            "data": {"repository": null},
            "errors": [{
                "type": "NOT_FOUND", "path": ["repository"],
                "locations": [{"line": 2, "column": 3}],
                "message": format!("Could not resolve to a Repository with the name '{owner}/{name}'."),
            }],
        }));
    };
    let object = match st.commits.contains_key(&sha.to_ascii_lowercase()) {
        true => json!({"statusCheckRollup": rollup(&st, repo, &sha.to_ascii_lowercase(), cursor)}),
        false => Value::Null,
    };
    ok(json!({"data": {"repository": {"object": object}}}))
}

fn encode_cursor(n: usize) -> String {
    format!("Y3Vyc29yOnYyOpK{n}")
}

fn decode_cursor(c: &str) -> Option<usize> {
    c.strip_prefix("Y3Vyc29yOnYyOpK")?.parse().ok()
}

/// A commit's rollup: `null` when it has neither check runs nor statuses, like GitHub.
fn rollup(st: &State, repo: u64, sha: &str, offset: usize) -> Value {
    let mut runs = st.latest_runs(repo, sha);
    runs.sort_by_key(|r| r.id);
    let statuses = st.latest_statuses(repo, sha);
    if runs.is_empty() && statuses.is_empty() {
        return Value::Null;
    }
    let upper = |s: &str| s.to_ascii_uppercase();
    let mut failed = false;
    let mut pending = false;
    let mut nodes: Vec<Value> = Vec::new();
    for r in &runs {
        match (r.status.as_str(), r.conclusion.as_deref()) {
            ("completed", Some("success" | "neutral" | "skipped")) => {}
            ("completed", Some(_)) => failed = true,
            _ => pending = true,
        }
        nodes.push(json!({
            "__typename": "CheckRun", "databaseId": r.id, "name": r.name,
            "status": upper(&r.status), "conclusion": r.conclusion.as_deref().map(upper),
            "checkSuite": {"app": {"slug": r.app_slug}},
        }));
    }
    for s in &statuses {
        match s.state.as_str() {
            "success" => {}
            "pending" => pending = true,
            _ => failed = true,
        }
        nodes.push(json!({
            "__typename": "StatusContext", "context": s.context, "state": upper(&s.state),
        }));
    }
    let state = if failed {
        "FAILURE"
    } else if pending {
        "PENDING"
    } else {
        "SUCCESS"
    };
    let total = nodes.len();
    let page: Vec<Value> = nodes.into_iter().skip(offset).take(PAGE).collect();
    let end = offset + page.len();
    json!({
        "state": state,
        "contexts": {
            "pageInfo": {
                "hasNextPage": end < total,
                "endCursor": (!page.is_empty()).then(|| encode_cursor(end)),
            },
            "nodes": page,
        },
    })
}
