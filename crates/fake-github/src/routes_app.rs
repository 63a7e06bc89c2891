//! App-level endpoints: `/app`, installations and their access tokens, the App's webhook
//! deliveries, `/rate_limit`, `/repos/{o}/{r}/installation`, `/installation/repositories`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use chrono::Utc;
use serde_json::{Map, Value, json};

use super::Shared;
use super::auth;
use super::http::{
    ApiError, ApiResult, AppJwt, Inst, Paging, created, no_content, num, ok, ok_paged, paginate,
    parse_body,
};
use super::model::Token;
use super::render::{Render, ts};
use super::webhooks::{self, Delivery};

type Sh = AxState<Arc<Shared>>;

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/app", get(get_app))
        .route("/app/installations", get(list_installations))
        .route(
            "/app/installations/{id}",
            get(get_installation).delete(delete_installation),
        )
        .route("/app/installations/{id}/access_tokens", post(create_token))
        .route("/app/hook/deliveries", get(list_deliveries))
        .route("/app/hook/deliveries/{id}", get(get_delivery))
        .route("/app/hook/deliveries/{id}/attempts", post(redeliver))
        .route("/rate_limit", get(rate_limit))
        .route("/repos/{owner}/{repo}/installation", get(repo_installation))
        .route("/installation/repositories", get(installation_repos))
}

async fn get_app(AxState(sh): Sh, _: AppJwt) -> ApiResult {
    let st = sh.lock();
    ok(sh.render(&st).app())
}

async fn list_installations(
    AxState(sh): Sh,
    _: AppJwt,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let st = sh.lock();
    let r = sh.render(&st);
    let all: Vec<Value> = st
        .installations
        .values()
        .map(|i| r.installation(i))
        .collect();
    let (page, link) = paginate(all, Paging::from_query(&q), &uri, &st, &sh.api);
    ok_paged(Value::Array(page), link)
}

async fn get_installation(AxState(sh): Sh, _: AppJwt, Path(id): Path<String>) -> ApiResult {
    let id = num(&id)?;
    let st = sh.lock();
    let inst = st.installations.get(&id).ok_or_else(ApiError::not_found)?;
    ok(sh.render(&st).installation(inst))
}

async fn delete_installation(AxState(sh): Sh, _: AppJwt, Path(id): Path<String>) -> ApiResult {
    let id = num(&id)?;
    let mut st = sh.lock();
    st.installations
        .remove(&id)
        .ok_or_else(ApiError::not_found)?;
    st.tokens.retain(|_, t| t.installation != id);
    for r in st.repos.values_mut().filter(|r| r.installation == Some(id)) {
        r.installation = None;
    }
    no_content()
}

async fn create_token(
    AxState(sh): Sh,
    _: AppJwt,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let id = num(&id)?;
    let req = parse_body(&body)?;
    let mut st = sh.lock();
    if !st.installations.contains_key(&id) {
        return Err(ApiError::not_found());
    }
    let owned: Vec<u64> = st
        .repos
        .values()
        .filter(|r| r.installation == Some(id))
        .map(|r| r.id)
        .collect();
    let mut scope: Option<Vec<u64>> = None;
    let inaccessible = || {
        ApiError::validation(
            "There is at least one repository that does not exist or is not accessible to the parent installation.",
            Vec::new(),
        )
    };
    if let Some(names) = req.get("repositories").and_then(Value::as_array) {
        for n in names {
            let name = n.as_str().unwrap_or_default();
            let found = owned
                .iter()
                .find(|r| st.repos[*r].name.eq_ignore_ascii_case(name))
                .ok_or_else(inaccessible)?;
            scope.get_or_insert_with(Vec::new).push(*found);
        }
    }
    if let Some(ids) = req.get("repository_ids").and_then(Value::as_array) {
        for rid in ids {
            let rid = rid
                .as_u64()
                .filter(|r| owned.contains(r))
                .ok_or_else(inaccessible)?;
            scope.get_or_insert_with(Vec::new).push(rid);
        }
    }
    let lifetime = chrono::Duration::from_std(st.settings.token_lifetime)
        .unwrap_or_else(|_| chrono::Duration::hours(1));
    let token = Token {
        token: auth::new_installation_token(),
        installation: id,
        expires_at: Utc::now() + lifetime,
        repos: scope.clone(),
    };
    st.tokens.insert(token.token.clone(), token.clone());
    *st.token_requests.entry(id).or_insert(0) += 1;
    let r = sh.render(&st);
    let mut resp = json!({
        "token": token.token,
        "expires_at": ts(&token.expires_at),
        "permissions": req.get("permissions").cloned().unwrap_or(json!(st.settings.permissions)),
        "repository_selection": if scope.is_some() { "selected" } else { "all" },
    });
    if let Some(ids) = scope {
        resp["repositories"] = ids.iter().map(|i| r.repo(*i)).collect();
    }
    created(resp)
}

fn delivery_item(d: &Delivery) -> Value {
    let status = match (d.status, &d.error) {
        (Some(s), _) if (200..300).contains(&s) => "OK".to_string(),
        (Some(s), _) => format!("Invalid HTTP Response: {s}"),
        (None, Some(e)) => e.clone(),
        (None, None) => "Unknown".to_string(),
    };
    json!({
        "id": d.id, "guid": d.guid, "delivered_at": ts(&d.delivered_at),
        "redelivery": d.redelivery, "duration": d.duration.as_secs_f64(), "status": status,
        "status_code": d.status.unwrap_or(0), "event": d.event, "action": d.action,
        "installation_id": d.installation, "repository_id": d.repository, "throttled_at": null,
    })
}

async fn list_deliveries(
    AxState(sh): Sh,
    _: AppJwt,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let per_page = Paging::from_query(&q).per_page;
    let cursor = q
        .get("cursor")
        .and_then(|c| c.trim_start_matches("v1_").parse::<u64>().ok());
    let st = sh.lock();
    let newest_first: Vec<&Delivery> = st
        .deliveries
        .iter()
        .rev()
        .filter(|d| cursor.is_none_or(|c| d.id < c))
        .collect();
    let page: Vec<Value> = newest_first
        .iter()
        .take(per_page)
        .map(|d| delivery_item(d))
        .collect();
    let link = (newest_first.len() > per_page).then(|| {
        let last = newest_first[per_page - 1].id;
        let prefix = if st.settings.absolute_links {
            sh.api.as_str()
        } else {
            ""
        };
        format!(
            "<{prefix}{}?per_page={per_page}&cursor=v1_{last}>; rel=\"next\"",
            uri.path()
        )
    });
    ok_paged(Value::Array(page), link)
}

async fn get_delivery(AxState(sh): Sh, _: AppJwt, Path(id): Path<String>) -> ApiResult {
    let id = num(&id)?;
    let st = sh.lock();
    let d = st
        .deliveries
        .iter()
        .find(|d| d.id == id)
        .ok_or_else(ApiError::not_found)?;
    let mut v = delivery_item(d);
    let headers: Map<String, Value> =
        webhooks::headers(&d.event, &d.guid, d.signature.as_deref(), sh.app_id)
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::String(v)))
            .collect();
    v["url"] = json!(
        st.webhook
            .as_ref()
            .map(|w| w.url.clone())
            .unwrap_or_default()
    );
    v["request"] = json!({"headers": headers, "payload": d.payload()});
    v["response"] = json!({"headers": {}, "payload": d.response_body});
    ok(v)
}

async fn redeliver(AxState(sh): Sh, _: AppJwt, Path(id): Path<String>) -> ApiResult {
    let id = num(&id)?;
    let guid = {
        let st = sh.lock();
        st.deliveries
            .iter()
            .find(|d| d.id == id)
            .map(|d| d.guid.clone())
            .ok_or_else(ApiError::not_found)?
    };
    if let Some(out) = webhooks::redelivery_of(&sh, &guid) {
        webhooks::enqueue_raw(&sh, out);
    }
    Ok((StatusCode::ACCEPTED, axum::Json(json!({}))).into_response())
}

async fn rate_limit(AxState(sh): Sh, headers: HeaderMap) -> ApiResult {
    let key = match headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(auth::credential)
    {
        Some(c) if auth::looks_like_jwt(c) => "app".to_string(),
        Some(c) => format!("token:{c}"),
        None => "anonymous".to_string(),
    };
    let st = sh.lock();
    let limit = st.settings.rate_limit;
    let reset = Utc::now().timestamp() + 3600;
    let core = st.rate.get(&key).map_or_else(
        || json!({"limit": limit, "remaining": limit, "reset": reset, "used": 0}),
        |b| json!({"limit": b.limit, "remaining": b.remaining, "reset": b.reset, "used": b.used}),
    );
    let other = |limit: u64| json!({"limit": limit, "remaining": limit, "reset": reset, "used": 0});
    ok(json!({
        "resources": {
            "core": core, "search": other(30), "graphql": other(5000),
            "integration_manifest": other(5000), "code_search": other(10),
        },
        "rate": core,
    }))
}

async fn repo_installation(
    AxState(sh): Sh,
    _: AppJwt,
    Path((owner, repo)): Path<(String, String)>,
) -> ApiResult {
    let st = sh.lock();
    let inst = st
        .repo_id(&owner, &repo)
        .and_then(|id| st.repos[&id].installation)
        .and_then(|i| st.installations.get(&i))
        .ok_or_else(ApiError::not_found)?;
    ok(sh.render(&st).installation(inst))
}

async fn installation_repos(
    AxState(sh): Sh,
    inst: Inst,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let st = sh.lock();
    let r: Render<'_> = sh.render(&st);
    let repos: Vec<Value> = st
        .repos
        .values()
        .filter(|x| x.installation == Some(inst.installation))
        .filter(|x| inst.repos.as_ref().is_none_or(|s| s.contains(&x.id)))
        .map(|x| r.repo(x.id))
        .collect();
    let total = repos.len();
    let (page, link) = paginate(repos, Paging::from_query(&q), &uri, &st, &sh.api);
    let selection = if inst.repos.is_some() {
        "selected"
    } else {
        "all"
    };
    ok_paged(
        json!({"total_count": total, "repository_selection": selection, "repositories": page}),
        link,
    )
}
