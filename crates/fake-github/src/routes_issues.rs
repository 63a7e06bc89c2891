//! Issue/PR comments and their reactions. Comments the App creates, edits or deletes cause
//! `issue_comment` webhooks (sent from the background queue), as on GitHub.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::Shared;
use super::events;
use super::http::{
    ApiError, ApiResult, Inst, Paging, created, no_content, num, ok, ok_paged, paginate, parse_body,
};
use super::model::{Comment, Reaction};
use super::scenario_ci::insert_comment;
use super::state::State;
use super::webhooks;

type Sh = AxState<Arc<Shared>>;
type Q = Query<HashMap<String, String>>;
type ItemPath = Path<(String, String, String)>;

const REACTIONS: &[&str] = &[
    "+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes",
];

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/repos/{owner}/{repo}/issues/{number}/comments",
            get(list_comments).post(create_comment),
        )
        .route(
            "/repos/{owner}/{repo}/issues/comments/{id}",
            get(get_comment)
                .patch(update_comment)
                .delete(delete_comment),
        )
        .route(
            "/repos/{owner}/{repo}/issues/comments/{id}/reactions",
            get(list_reactions).post(create_reaction),
        )
        .route(
            "/repos/{owner}/{repo}/issues/comments/{id}/reactions/{reaction_id}",
            delete(delete_reaction),
        )
}

fn comment_of<'a>(
    st: &'a State,
    inst: &Inst,
    o: &str,
    r: &str,
    id: &str,
) -> Result<&'a Comment, ApiError> {
    let repo = inst.repo(st, o, r)?;
    st.comments
        .get(&num(id)?)
        .filter(|c| c.repo == repo)
        .ok_or_else(ApiError::not_found)
}

fn body_field(body: &Bytes) -> Result<String, ApiError> {
    parse_body(body)?
        .get("body")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| ApiError::invalid_field("IssueComment", "body", "missing_field"))
}

async fn list_comments(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r, n)): ItemPath,
    uri: Uri,
    Query(q): Q,
) -> ApiResult {
    let st = sh.lock();
    let repo = inst.repo(&st, &o, &r)?;
    let n = num(&n)?;
    if !st.pulls.contains_key(&(repo, n)) && !st.issues.contains_key(&(repo, n)) {
        return Err(ApiError::not_found());
    }
    let since = q
        .get("since")
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc));
    let comments: Vec<&Comment> = st
        .comments
        .values()
        .filter(|c| c.repo == repo && c.issue_number == n)
        .filter(|c| since.is_none_or(|t| c.updated_at >= t))
        .collect();
    let (page, link) = paginate(comments, Paging::from_query(&q), &uri, &st, &sh.api);
    let rd = sh.render(&st);
    ok_paged(
        Value::Array(page.into_iter().map(|c| rd.comment(c)).collect()),
        link,
    )
}

async fn create_comment(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r, n)): ItemPath,
    body: Bytes,
) -> ApiResult {
    let text = body_field(&body)?;
    let mut st = sh.lock();
    let repo = inst.repo(&st, &o, &r)?;
    let n = num(&n)?;
    if !st.pulls.contains_key(&(repo, n)) && !st.issues.contains_key(&(repo, n)) {
        return Err(ApiError::not_found());
    }
    let bot = st.bot_login();
    let c = insert_comment(&mut st, repo, n, &bot, &text, true);
    let rd = sh.render(&st);
    let payload = events::issue_comment(&rd, &c, "created", &bot, None);
    webhooks::enqueue(&sh, "issue_comment", &payload);
    let v = rd.comment(&c);
    let location = v["url"]
        .as_str()
        .and_then(|u| HeaderValue::from_str(u).ok());
    let mut resp = created(v)?;
    if let Some(l) = location {
        resp.headers_mut().insert("location", l);
    }
    Ok(resp)
}

async fn get_comment(AxState(sh): Sh, inst: Inst, Path((o, r, id)): ItemPath) -> ApiResult {
    let st = sh.lock();
    let c = comment_of(&st, &inst, &o, &r, &id)?;
    ok(sh.render(&st).comment(c))
}

async fn update_comment(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r, id)): ItemPath,
    body: Bytes,
) -> ApiResult {
    let text = body_field(&body)?;
    let mut st = sh.lock();
    let cid = comment_of(&st, &inst, &o, &r, &id)?.id;
    let bot = st.bot_login();
    let Some(c) = st.comments.get_mut(&cid) else {
        return Err(ApiError::not_found());
    };
    let old = std::mem::replace(&mut c.body, text);
    c.history.push(old.clone());
    c.updated_at = Utc::now();
    let c = c.clone();
    let rd = sh.render(&st);
    let payload = events::issue_comment(&rd, &c, "edited", &bot, Some(&old));
    webhooks::enqueue(&sh, "issue_comment", &payload);
    ok(rd.comment(&c))
}

async fn delete_comment(AxState(sh): Sh, inst: Inst, Path((o, r, id)): ItemPath) -> ApiResult {
    let mut st = sh.lock();
    let c = comment_of(&st, &inst, &o, &r, &id)?.clone();
    let bot = st.bot_login();
    let payload = events::issue_comment(&sh.render(&st), &c, "deleted", &bot, None);
    st.comments.remove(&c.id);
    st.reactions.retain(|_, x| x.comment_id != c.id);
    webhooks::enqueue(&sh, "issue_comment", &payload);
    no_content()
}

async fn list_reactions(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r, id)): ItemPath,
    uri: Uri,
    Query(q): Q,
) -> ApiResult {
    let st = sh.lock();
    let cid = comment_of(&st, &inst, &o, &r, &id)?.id;
    let reactions: Vec<&Reaction> = st
        .reactions
        .values()
        .filter(|x| x.comment_id == cid)
        .filter(|x| q.get("content").is_none_or(|c| *c == x.content))
        .collect();
    let (page, link) = paginate(reactions, Paging::from_query(&q), &uri, &st, &sh.api);
    let rd = sh.render(&st);
    ok_paged(
        Value::Array(page.into_iter().map(|x| rd.reaction(x)).collect()),
        link,
    )
}

async fn create_reaction(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r, id)): ItemPath,
    body: Bytes,
) -> ApiResult {
    let req = parse_body(&body)?;
    let content = req
        .get("content")
        .and_then(Value::as_str)
        .filter(|c| REACTIONS.contains(c))
        .ok_or_else(|| ApiError::invalid_field("Reaction", "content", "invalid"))?
        .to_string();
    let mut st = sh.lock();
    let cid = comment_of(&st, &inst, &o, &r, &id)?.id;
    let bot = st.bot_login();
    if let Some(existing) = st
        .reactions
        .values()
        .find(|x| x.comment_id == cid && x.user == bot && x.content == content)
    {
        return ok(sh.render(&st).reaction(existing));
    }
    let reaction = Reaction {
        id: st.next_id(),
        comment_id: cid,
        content,
        user: bot,
        created_at: Utc::now(),
    };
    st.reactions.insert(reaction.id, reaction.clone());
    Ok((
        StatusCode::CREATED,
        axum::Json(sh.render(&st).reaction(&reaction)),
    )
        .into_response())
}

async fn delete_reaction(
    AxState(sh): Sh,
    inst: Inst,
    Path((o, r, id, reaction_id)): Path<(String, String, String, String)>,
) -> ApiResult {
    let mut st = sh.lock();
    let cid = comment_of(&st, &inst, &o, &r, &id)?.id;
    let rid = num(&reaction_id)?;
    if st.reactions.get(&rid).is_none_or(|x| x.comment_id != cid) {
        return Err(ApiError::not_found());
    }
    st.reactions.remove(&rid);
    no_content()
}
