//! The dashboard's pages: everything Gangway serves (`/`), one repository, one pull request,
//! one commit's history, and the operator views. Each page reads the store a few times (never
//! once per row) and renders an askama template, which escapes every value.
//!
//! A repository the viewer may not read answers the very page of a repository that does not
//! exist (404); the operator views answer 404 to anyone but an operator.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::WebState;
use super::access;
use super::page::{Chrome, html};
use super::session::MaybeViewer;
use crate::engine::train::Train;
use crate::policy;
use crate::store::{
    AuditFilter, DashApproval, DashAudit, DashBad, DashEnvDeployment, DashHold, DashPreview,
    DashPull, DashQueued, DashRepo, DashSignoff, StoreError,
};

/// Audit entries per page.
const AUDIT_PAGE: i64 = 50;
/// Jobs shown at once.
const JOBS_SHOWN: i64 = 200;

/// A duration for people: `42s`, `5m`, `3h07m`, `2d4h`.
pub fn human(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=172_799 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{}h", s / 86_400, (s % 86_400) / 3600),
    }
}

fn short(sha: &str) -> String {
    sha.chars().take(7).collect()
}

fn log_url(token: &str) -> String {
    format!("/logs/{token}")
}

/// What the checks of a pull request's head say, from what Gangway recorded: a preview of the
/// head means its checks passed; else Gangway's status comment says what it waits for.
pub fn checks_summary(pull: &DashPull) -> &'static str {
    if pull
        .preview
        .as_ref()
        .is_some_and(|p| p.sha == pull.head_sha)
    {
        return "passed";
    }
    let sticky = pull.sticky.as_deref().unwrap_or("");
    if sticky.contains("checks failed") {
        "failed"
    } else if sticky.contains("Waiting for checks") {
        "pending"
    } else {
        "not recorded"
    }
}

// ---- view models -------------------------------------------------------------------------

pub struct PullRow {
    pub number: i64,
    pub title: String,
    pub author: String,
    pub fork: bool,
    pub draft: bool,
    /// `approved by @x`, `waiting for approval` (a fork without one), or ''.
    pub approval: String,
    pub head_sha: String,
    pub head_short: String,
    pub head_ref: String,
    pub checks: &'static str,
    pub preview: Option<PreviewRow>,
    pub href: String,
}

pub struct PreviewRow {
    pub sha: String,
    pub sha_short: String,
    pub environment: String,
    pub host: String,
    pub state: String,
    pub url: Option<String>,
    pub detail: String,
    pub log: String,
    pub by: String,
    pub age: String,
}

pub struct EnvRow {
    pub environment: String,
    /// The environment a target belongs to ('' when it is one itself).
    pub family: String,
    pub sha: String,
    pub sha_short: String,
    pub state: String,
    pub kind: String,
    pub by: String,
    pub pr: Option<i64>,
    pub reason: String,
    pub verification: String,
    pub age: String,
    pub log: String,
}

pub struct HoldRow {
    pub environment: String,
    pub by: String,
    pub reason: String,
    pub age: String,
}

pub struct QueueRow {
    pub place: usize,
    pub environment: String,
    pub sha: String,
    pub sha_short: String,
    pub pr: Option<i64>,
    pub by: String,
    pub state: String,
    pub reason: String,
    pub age: String,
}

pub struct TrainRow {
    pub sha_short: String,
    pub next: String,
    pub eta: String,
    pub stopped: String,
}

/// One repository with everything its section shows.
pub struct RepoSection {
    pub full_name: String,
    pub href: String,
    pub account: String,
    pub pulls: Vec<PullRow>,
    pub envs: Vec<EnvRow>,
    pub holds: Vec<HoldRow>,
    pub queue: Vec<QueueRow>,
    pub train: Option<TrainRow>,
}

fn preview_row(p: DashPreview, now: i64) -> PreviewRow {
    PreviewRow {
        sha_short: short(&p.sha),
        sha: p.sha,
        environment: p.environment,
        host: p.host,
        state: p.state,
        url: p
            .url
            .filter(|u| u.starts_with("https://") || u.starts_with("http://")),
        detail: p.detail.unwrap_or_default(),
        log: log_url(&p.log_token),
        by: p.requested_by,
        age: human(now - p.created_at),
    }
}

fn pull_row(repo: &str, p: DashPull, now: i64) -> PullRow {
    let checks = checks_summary(&p);
    let approval = match (&p.approved_by, p.is_fork) {
        (Some(by), _) => format!("approved by @{by}"),
        (None, true) => "waiting for approval".to_owned(),
        (None, false) => String::new(),
    };
    PullRow {
        href: format!("/repos/{repo}/pulls/{}", p.number),
        number: p.number,
        title: p.title,
        author: p.author,
        fork: p.is_fork,
        draft: p.draft,
        approval,
        head_short: short(&p.head_sha),
        head_sha: p.head_sha,
        head_ref: p.head_ref,
        checks,
        preview: p.preview.map(|v| preview_row(v, now)),
    }
}

fn env_row(d: DashEnvDeployment, families: &HashMap<String, String>, now: i64) -> EnvRow {
    EnvRow {
        family: families.get(&d.environment).cloned().unwrap_or_default(),
        sha_short: short(&d.sha),
        sha: d.sha,
        environment: d.environment,
        state: d.state,
        kind: d.kind,
        by: d.requested_by,
        pr: d.pr_number.filter(|n| *n > 0),
        reason: d.reason.or(d.detail).unwrap_or_default(),
        verification: match d.verification {
            Some((state, Some(why))) => format!("{state}: {why}"),
            Some((state, None)) => state,
            None => String::new(),
        },
        age: human(now - d.live_at.unwrap_or(d.created_at)),
        log: log_url(&d.log_token),
    }
}

fn hold_row(h: DashHold, now: i64) -> HoldRow {
    HoldRow {
        environment: h.environment,
        by: h.held_by,
        reason: h.reason.unwrap_or_default(),
        age: human(now - h.held_at),
    }
}

/// Waiting promotions with their place in their environment's queue.
fn queue_rows(queue: Vec<DashQueued>, now: i64) -> Vec<QueueRow> {
    let mut places: HashMap<String, usize> = HashMap::new();
    queue
        .into_iter()
        .map(|q| {
            let place = places.entry(q.environment.clone()).or_default();
            *place += 1;
            queue_row(q, *place, now)
        })
        .collect()
}

fn queue_row(q: DashQueued, place: usize, now: i64) -> QueueRow {
    QueueRow {
        place,
        sha_short: short(&q.sha),
        sha: q.sha,
        environment: q.environment,
        pr: q.pr_number.filter(|n| *n > 0),
        by: q.requested_by,
        state: q.state,
        reason: q.reason.unwrap_or_default(),
        age: human(now - q.created_at),
    }
}

/// The repository's policy as last read (environments in order and their targets), if any.
fn parse_policy(body: Option<&str>) -> Option<policy::Policy> {
    body.and_then(|b| policy::parse(b.as_bytes()).ok())
}

/// Target → the environment it belongs to.
fn families(policy: Option<&policy::Policy>) -> HashMap<String, String> {
    let mut out = HashMap::new();
    if let Some(p) = policy {
        for name in p.environments.names() {
            for t in p.environments.targets_of(name) {
                out.insert(t.clone(), name.clone());
            }
        }
    }
    out
}

fn train_row(stored: Option<&str>, policy: Option<&policy::Policy>, now: i64) -> Option<TrainRow> {
    let policy = policy?;
    policy.train.as_ref()?;
    let t: Train = stored
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    let names = policy.environments.names();
    let next = match (&t.sha, names.get(t.next)) {
        (None, _) => "waiting for a green commit on the default branch".to_owned(),
        (Some(_), Some(env)) if t.awaiting.is_some() => format!("deploying to {env}"),
        (Some(_), Some(env)) => format!("deploy to {env}"),
        (Some(_), None) => "done: every environment runs it".to_owned(),
    };
    let eta = match t.due {
        Some(due) if due > now => format!("in {}", human(due - now)),
        Some(_) => "now".to_owned(),
        None => String::new(),
    };
    Some(TrainRow {
        sha_short: t
            .sha
            .as_ref()
            .map(|s| s.short().to_owned())
            .unwrap_or_default(),
        next,
        eta,
        stopped: t.stopped.unwrap_or_default(),
    })
}

/// Everything the repository sections of `repos` show, in one query per table.
async fn sections(
    state: &WebState,
    repos: Vec<DashRepo>,
    scope: Option<i64>,
) -> Result<Vec<RepoSection>, StoreError> {
    let now = state.clock.now_ms();
    let store = &state.store;
    let mut pulls: HashMap<i64, Vec<DashPull>> = HashMap::new();
    for p in store.dash_open_pulls(scope).await? {
        pulls.entry(p.repo_id).or_default().push(p);
    }
    let mut envs: HashMap<i64, Vec<DashEnvDeployment>> = HashMap::new();
    for d in store.dash_environments(scope).await? {
        envs.entry(d.repo_id).or_default().push(d);
    }
    let mut holds: HashMap<i64, Vec<DashHold>> = HashMap::new();
    for h in store.dash_holds(scope).await? {
        holds.entry(h.repo_id).or_default().push(h);
    }
    let mut queue: HashMap<i64, Vec<DashQueued>> = HashMap::new();
    for q in store.dash_queue(scope).await? {
        queue.entry(q.repo_id).or_default().push(q);
    }
    let trains: HashMap<i64, (Option<String>, Option<String>)> = store
        .dash_trains(scope)
        .await?
        .into_iter()
        .map(|(id, t, p)| (id, (t, p)))
        .collect();
    Ok(repos
        .into_iter()
        .map(|r| {
            let (train, body) = trains.get(&r.id).cloned().unwrap_or_default();
            let policy = parse_policy(body.as_deref());
            let fams = families(policy.as_ref());
            RepoSection {
                href: format!("/repos/{}", r.full_name),
                account: r.account,
                pulls: pulls
                    .remove(&r.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|p| pull_row(&r.full_name, p, now))
                    .collect(),
                envs: envs
                    .remove(&r.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|d| env_row(d, &fams, now))
                    .collect(),
                holds: holds
                    .remove(&r.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|h| hold_row(h, now))
                    .collect(),
                queue: queue_rows(queue.remove(&r.id).unwrap_or_default(), now),
                train: train_row(train.as_deref(), policy.as_ref(), now),
                full_name: r.full_name,
            }
        })
        .collect())
}

// ---- pages -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "message.html")]
struct Message {
    chrome: Chrome,
    heading: String,
    text: String,
}

fn message(
    state: &WebState,
    viewer: &MaybeViewer,
    status: StatusCode,
    heading: &str,
    text: &str,
) -> Response {
    let page = Message {
        chrome: Chrome::new(viewer, heading),
        heading: heading.to_owned(),
        text: text.to_owned(),
    };
    html(state, status, &page)
}

/// The one answer for "no such page" and "not yours to see".
fn not_found(state: &WebState, viewer: &MaybeViewer) -> Response {
    message(
        state,
        viewer,
        StatusCode::NOT_FOUND,
        "Not found",
        "There is nothing here, or you may not see it. Signing in may show more.",
    )
}

fn failed(state: &WebState, viewer: &MaybeViewer, e: &dyn std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "a dashboard page could not read what it shows");
    message(
        state,
        viewer,
        StatusCode::SERVICE_UNAVAILABLE,
        "Not available",
        "Gangway could not read what this page shows just now. Reload in a moment.",
    )
}

/// The repositories the viewer may read; an access error is reported, never taken as yes.
async fn readable(
    state: &WebState,
    viewer: &MaybeViewer,
    repos: Vec<DashRepo>,
) -> Result<Vec<DashRepo>, access::AccessError> {
    let mut out = Vec::with_capacity(repos.len());
    for r in repos {
        if access::can_read(state, viewer.0.as_ref(), &r.full_name).await? {
            out.push(r);
        }
    }
    Ok(out)
}

/// The repository named in the path, if the viewer may read it.
async fn find_repo(
    state: &WebState,
    viewer: &MaybeViewer,
    owner: &str,
    name: &str,
) -> Result<Option<DashRepo>, Response> {
    let full = format!("{owner}/{name}");
    let repos = state
        .store
        .dash_repos()
        .await
        .map_err(|e| failed(state, viewer, &e))?;
    let Some(repo) = repos
        .into_iter()
        .find(|r| r.full_name.eq_ignore_ascii_case(&full))
    else {
        return Ok(None);
    };
    match access::can_read(state, viewer.0.as_ref(), &repo.full_name).await {
        Ok(true) => Ok(Some(repo)),
        Ok(false) => Ok(None),
        Err(e) => Err(failed(state, viewer, &e)),
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    chrome: Chrome,
    sections: Vec<RepoSection>,
    hidden: bool,
}

/// `/`: every repository the viewer may read, each with its section.
pub async fn home(State(state): State<WebState>, viewer: MaybeViewer) -> Response {
    let version = state.store.dash_version().await.ok();
    let repos = match state.store.dash_repos().await {
        Ok(r) => r,
        Err(e) => return failed(&state, &viewer, &e),
    };
    let total = repos.len();
    let repos = match readable(&state, &viewer, repos).await {
        Ok(r) => r,
        Err(e) => return failed(&state, &viewer, &e),
    };
    let hidden = repos.len() < total;
    match sections(&state, repos, None).await {
        Ok(sections) => html(
            &state,
            StatusCode::OK,
            &Home {
                chrome: Chrome::new(&viewer, "Dashboard").live_since(version),
                sections,
                hidden,
            },
        ),
        Err(e) => failed(&state, &viewer, &e),
    }
}

#[derive(Template)]
#[template(path = "repo.html")]
struct RepoPage {
    chrome: Chrome,
    section: RepoSection,
}

/// `/repos/{owner}/{repo}`.
pub async fn repository(
    State(state): State<WebState>,
    viewer: MaybeViewer,
    Path((owner, name)): Path<(String, String)>,
) -> Response {
    let repo = match find_repo(&state, &viewer, &owner, &name).await {
        Ok(Some(r)) => r,
        Ok(None) => return not_found(&state, &viewer),
        Err(r) => return r,
    };
    let title = repo.full_name.clone();
    let id = repo.id;
    let version = state.store.dash_version().await.ok();
    match sections(&state, vec![repo], Some(id)).await {
        Ok(mut s) if !s.is_empty() => html(
            &state,
            StatusCode::OK,
            &RepoPage {
                chrome: Chrome::new(&viewer, title).live_since(version),
                section: s.remove(0),
            },
        ),
        Ok(_) => not_found(&state, &viewer),
        Err(e) => failed(&state, &viewer, &e),
    }
}

/// A button's form: the command, and the environment or target it is about ('' for none).
pub struct Action {
    pub command: &'static str,
    pub label: String,
    pub environment: String,
    /// Hold asks for a reason.
    pub reason: bool,
}

/// Buttons of a pull request page: Stage/Unstage, then per environment Promote, Hold, Unhold
/// and Rollback, and per target Promote and Rollback.
pub fn actions(environments: &[(String, Vec<String>)]) -> Vec<Action> {
    let mut out = vec![
        Action {
            command: "stage",
            label: "Stage".into(),
            environment: String::new(),
            reason: false,
        },
        Action {
            command: "unstage",
            label: "Unstage".into(),
            environment: String::new(),
            reason: false,
        },
    ];
    let act = |command: &'static str, label: &str, env: &str, reason: bool| Action {
        command,
        label: format!("{label} {env}"),
        environment: env.to_owned(),
        reason,
    };
    for (env, targets) in environments {
        out.push(act("promote", "Promote to", env, false));
        for t in targets {
            out.push(act("promote", "Promote to", t, false));
        }
        out.push(act("hold", "Hold", env, true));
        out.push(act("unhold", "Unhold", env, false));
        out.push(act("rollback", "Roll back", env, false));
        for t in targets {
            out.push(act("rollback", "Roll back", t, false));
        }
    }
    out
}

pub struct AuditRow {
    pub when: String,
    pub subject: String,
    pub decision: String,
    pub reason: String,
}

fn audit_row(a: DashAudit, now: i64) -> AuditRow {
    AuditRow {
        when: format!("{} ago", human(now - a.at)),
        subject: a.subject,
        decision: a.decision,
        reason: a.reason,
    }
}

pub struct ApprovalRow {
    pub sha_short: String,
    pub approver: String,
    pub permission: String,
    pub age: String,
}

fn approval_row(a: DashApproval, now: i64) -> ApprovalRow {
    ApprovalRow {
        sha_short: short(&a.sha),
        approver: a.approver,
        permission: a.permission,
        age: human(now - a.approved_at),
    }
}

pub struct SignoffRow {
    pub sha_short: String,
    pub pr: i64,
    pub author: String,
    pub answer: String,
    pub reason: String,
    pub age: String,
}

fn signoff_row(s: DashSignoff, now: i64) -> SignoffRow {
    SignoffRow {
        sha_short: short(&s.sha),
        pr: s.pr_number,
        author: s.author,
        answer: match (s.answer, s.answered_by) {
            (Some(a), Some(by)) => format!("{a} (@{by})"),
            (Some(a), None) => a,
            (None, _) => "waiting".into(),
        },
        reason: s.reason.unwrap_or_default(),
        age: human(now - s.asked_at),
    }
}

#[derive(Template)]
#[template(path = "pull.html")]
pub struct PullPage {
    pub chrome: Chrome,
    pub repo: String,
    pub pull: PullRow,
    pub open: bool,
    pub approvals: Vec<ApprovalRow>,
    pub previews: Vec<PreviewRow>,
    pub deployments: Vec<EnvRow>,
    pub promotions: Vec<QueueRow>,
    pub signoffs: Vec<SignoffRow>,
    pub audit: Vec<AuditRow>,
    pub actions: Vec<Action>,
    pub action_url: String,
}

/// `/repos/{owner}/{repo}/pulls/{number}`.
pub async fn pull(
    State(state): State<WebState>,
    viewer: MaybeViewer,
    Path((owner, name, number)): Path<(String, String, String)>,
) -> Response {
    let Ok(number) = number.parse::<i64>() else {
        return not_found(&state, &viewer);
    };
    let repo = match find_repo(&state, &viewer, &owner, &name).await {
        Ok(Some(r)) => r,
        Ok(None) => return not_found(&state, &viewer),
        Err(r) => return r,
    };
    match pull_page(&state, &viewer, &repo, number).await {
        Ok(Some(page)) => html(&state, StatusCode::OK, &page),
        Ok(None) => not_found(&state, &viewer),
        Err(e) => failed(&state, &viewer, &e),
    }
}

async fn pull_page(
    state: &WebState,
    viewer: &MaybeViewer,
    repo: &DashRepo,
    number: i64,
) -> Result<Option<PullPage>, StoreError> {
    let store = &state.store;
    let now = state.clock.now_ms();
    let version = store.dash_version().await.ok();
    let Some(mut p) = store.dash_pull(repo.id, number).await? else {
        return Ok(None);
    };
    let previews = store.dash_previews(repo.id, Some(number), None).await?;
    p.preview = previews.first().cloned();
    let open = p.open;
    let (_, body) = store
        .dash_trains(Some(repo.id))
        .await?
        .into_iter()
        .next()
        .map(|(_, t, b)| (t, b))
        .unwrap_or_default();
    let policy = parse_policy(body.as_deref());
    let fams = families(policy.as_ref());
    let mut envs: Vec<(String, Vec<String>)> = match &policy {
        Some(p) => p
            .environments
            .names()
            .iter()
            .map(|n| (n.clone(), p.environments.targets_of(n).to_vec()))
            .collect(),
        None => Vec::new(),
    };
    let deployments = store.dash_env_history(repo.id, Some(number), None).await?;
    // Environments seen in deployments but not (or no longer) in the policy still get buttons.
    for d in &deployments {
        let known = envs
            .iter()
            .any(|(e, ts)| e == &d.environment || ts.contains(&d.environment));
        if !known {
            envs.push((d.environment.clone(), Vec::new()));
        }
    }
    let page = PullPage {
        chrome: Chrome::new(viewer, format!("{}#{number}", repo.full_name)).live_since(version),
        action_url: format!("/repos/{}/pulls/{number}/actions", repo.full_name),
        repo: repo.full_name.clone(),
        pull: pull_row(&repo.full_name, p, now),
        open,
        approvals: store
            .dash_approvals(repo.id, number)
            .await?
            .into_iter()
            .map(|a| approval_row(a, now))
            .collect(),
        previews: previews.into_iter().map(|v| preview_row(v, now)).collect(),
        deployments: deployments
            .into_iter()
            .map(|d| env_row(d, &fams, now))
            .collect(),
        promotions: store
            .dash_promotions(repo.id, Some(number), None)
            .await?
            .into_iter()
            .map(|q| queue_row(q, 0, now))
            .collect(),
        signoffs: store
            .dash_signoffs(repo.id, Some(number), None)
            .await?
            .into_iter()
            .map(|s| signoff_row(s, now))
            .collect(),
        audit: store
            .dash_audit_about(repo.id, Some(number), "")
            .await?
            .into_iter()
            .map(|a| audit_row(a, now))
            .collect(),
        actions: if viewer.0.is_some() && open {
            actions(&envs)
        } else {
            Vec::new()
        },
    };
    Ok(Some(page))
}

pub struct BadRow {
    pub environment: String,
    pub by: String,
    pub reason: String,
    pub age: String,
}

#[derive(Template)]
#[template(path = "commit.html")]
struct CommitPage {
    chrome: Chrome,
    repo: String,
    repo_href: String,
    sha: String,
    previews: Vec<PreviewRow>,
    deployments: Vec<EnvRow>,
    promotions: Vec<QueueRow>,
    signoffs: Vec<SignoffRow>,
    bad: Vec<BadRow>,
    audit: Vec<AuditRow>,
}

/// A commit named in a path: 4 to 40 hexadecimal digits, lower-cased.
pub fn commit_prefix(text: &str) -> Option<String> {
    (4..=40).contains(&text.len()).then_some(())?;
    text.chars()
        .all(|c| c.is_ascii_hexdigit())
        .then(|| text.to_ascii_lowercase())
}

/// `/repos/{owner}/{repo}/commits/{sha}`: one commit's whole history.
pub async fn commit(
    State(state): State<WebState>,
    viewer: MaybeViewer,
    Path((owner, name, sha)): Path<(String, String, String)>,
) -> Response {
    let Some(sha) = commit_prefix(&sha) else {
        return not_found(&state, &viewer);
    };
    let repo = match find_repo(&state, &viewer, &owner, &name).await {
        Ok(Some(r)) => r,
        Ok(None) => return not_found(&state, &viewer),
        Err(r) => return r,
    };
    match commit_page(&state, &viewer, &repo, sha).await {
        Ok(page) => html(&state, StatusCode::OK, &page),
        Err(e) => failed(&state, &viewer, &e),
    }
}

async fn commit_page(
    state: &WebState,
    viewer: &MaybeViewer,
    repo: &DashRepo,
    sha: String,
) -> Result<CommitPage, StoreError> {
    let store = &state.store;
    let now = state.clock.now_ms();
    let version = store.dash_version().await.ok();
    let s = Some(sha.as_str());
    let fams = HashMap::new();
    // The audit trail names commits by their first seven digits.
    let about = short(&sha);
    Ok(CommitPage {
        chrome: Chrome::new(viewer, format!("{} {}", repo.full_name, short(&sha)))
            .live_since(version),
        repo: repo.full_name.clone(),
        repo_href: format!("/repos/{}", repo.full_name),
        previews: store
            .dash_previews(repo.id, None, s)
            .await?
            .into_iter()
            .map(|v| preview_row(v, now))
            .collect(),
        deployments: store
            .dash_env_history(repo.id, None, s)
            .await?
            .into_iter()
            .map(|d| env_row(d, &fams, now))
            .collect(),
        promotions: store
            .dash_promotions(repo.id, None, s)
            .await?
            .into_iter()
            .map(|q| queue_row(q, 0, now))
            .collect(),
        signoffs: store
            .dash_signoffs(repo.id, None, s)
            .await?
            .into_iter()
            .map(|x| signoff_row(x, now))
            .collect(),
        bad: store
            .dash_bad(repo.id, &sha)
            .await?
            .into_iter()
            .map(|b: DashBad| BadRow {
                environment: b.environment,
                by: b.marked_by,
                reason: b.reason.unwrap_or_default(),
                age: human(now - b.marked_at),
            })
            .collect(),
        audit: if about.len() >= 7 {
            store
                .dash_audit_about(repo.id, None, &about)
                .await?
                .into_iter()
                .map(|a| audit_row(a, now))
                .collect()
        } else {
            Vec::new()
        },
        sha,
    })
}

// ---- operator views ----------------------------------------------------------------------

#[derive(Deserialize)]
pub struct JobsQuery {
    #[serde(default)]
    state: Option<String>,
}

pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub key: String,
    pub state: String,
    pub attempts: String,
    pub error: String,
    pub age: String,
    pub retry: bool,
}

#[derive(Template)]
#[template(path = "operator_jobs.html")]
struct JobsPage {
    chrome: Chrome,
    state: String,
    states: Vec<(&'static str, bool)>,
    jobs: Vec<JobRow>,
}

const JOB_STATES: [&str; 4] = ["dead", "queued", "running", "done"];

/// `/operator/jobs?state=`: dead jobs by default, each with a Retry button.
pub async fn operator_jobs(
    State(state): State<WebState>,
    viewer: MaybeViewer,
    q: Result<Query<JobsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if !access::is_operator(&state, viewer.0.as_ref()) {
        return not_found(&state, &viewer);
    }
    let wanted = q.ok().and_then(|Query(q)| q.state).unwrap_or_default();
    let which = JOB_STATES
        .iter()
        .find(|s| **s == wanted)
        .copied()
        .unwrap_or("dead");
    let now = state.clock.now_ms();
    match state.store.dash_jobs(which, JOBS_SHOWN).await {
        Ok(jobs) => html(
            &state,
            StatusCode::OK,
            &JobsPage {
                chrome: Chrome::new(&viewer, "Jobs"),
                state: which.to_owned(),
                states: JOB_STATES.iter().map(|s| (*s, *s == which)).collect(),
                jobs: jobs
                    .into_iter()
                    .map(|j| JobRow {
                        id: j.id,
                        retry: j.state == "dead",
                        kind: j.kind,
                        key: j.key,
                        state: j.state,
                        attempts: format!("{}/{}", j.attempts, j.max_attempts),
                        error: j.last_error.unwrap_or_default(),
                        age: human(now - j.finished_at.unwrap_or(j.created_at)),
                    })
                    .collect(),
            },
        ),
        Err(e) => failed(&state, &viewer, &e),
    }
}

pub struct BudgetRow {
    pub installation: u64,
    pub account: String,
    pub resource: String,
    pub remaining: u64,
    pub limit: u64,
    pub percent: u64,
    pub resets: String,
}

#[derive(Template)]
#[template(path = "operator_budgets.html")]
struct BudgetsPage {
    chrome: Chrome,
    budgets: Vec<BudgetRow>,
}

/// `/operator/budgets`: each installation's rate-limit budgets as GitHub last reported them.
pub async fn operator_budgets(State(state): State<WebState>, viewer: MaybeViewer) -> Response {
    if !access::is_operator(&state, viewer.0.as_ref()) {
        return not_found(&state, &viewer);
    }
    let accounts: HashMap<i64, String> = match state.store.dash_repos().await {
        Ok(r) => r
            .into_iter()
            .map(|r| (r.installation_id, r.account))
            .collect(),
        Err(e) => return failed(&state, &viewer, &e),
    };
    let now_s = state.clock.now_ms() / 1000;
    let budgets = state
        .budgets
        .all()
        .into_iter()
        .map(|(i, resource, b)| BudgetRow {
            installation: i.0,
            account: accounts.get(&i.as_db()).cloned().unwrap_or_default(),
            resource,
            remaining: b.remaining,
            limit: b.limit,
            percent: b
                .remaining
                .saturating_mul(100)
                .checked_div(b.limit)
                .unwrap_or(0),
            resets: if b.reset > now_s {
                format!("in {}", human((b.reset - now_s) * 1000))
            } else {
                "refilled".into()
            },
        })
        .collect();
    html(
        &state,
        StatusCode::OK,
        &BudgetsPage {
            chrome: Chrome::new(&viewer, "Rate-limit budgets"),
            budgets,
        },
    )
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    repo: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    before: Option<String>,
}

pub struct OpAuditRow {
    pub id: i64,
    pub when: String,
    pub repo: String,
    pub pr: Option<i64>,
    pub subject: String,
    pub decision: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "operator_audit.html")]
struct AuditPage {
    chrome: Chrome,
    repo: String,
    actor: String,
    action: String,
    rows: Vec<OpAuditRow>,
    /// The next (older) page's query string, when there is one.
    older: Option<String>,
    unknown_repo: bool,
}

/// `/operator/audit?repo=&actor=&action=&before=`: the audit trail, newest first, a page at a
/// time.
pub async fn operator_audit(
    State(state): State<WebState>,
    viewer: MaybeViewer,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if !access::is_operator(&state, viewer.0.as_ref()) {
        return not_found(&state, &viewer);
    }
    // A malformed query string shows the unfiltered trail.
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let clip = |s: &str| s.trim().chars().take(200).collect::<String>();
    let (repo, actor, action) = (clip(&q.repo), clip(&q.actor), clip(&q.action));
    let repos = match state.store.dash_repos().await {
        Ok(r) => r,
        Err(e) => return failed(&state, &viewer, &e),
    };
    let names: HashMap<i64, String> = repos.iter().map(|r| (r.id, r.full_name.clone())).collect();
    let repo_id = if repo.is_empty() {
        None
    } else {
        repos
            .iter()
            .find(|r| r.full_name.eq_ignore_ascii_case(&repo))
            .map(|r| r.id)
    };
    let unknown_repo = !repo.is_empty() && repo_id.is_none();
    let filter = AuditFilter {
        repo_id,
        actor: Some(actor.trim_start_matches('@').to_owned()).filter(|a| !a.is_empty()),
        action: Some(action.clone()).filter(|a| !a.is_empty()),
        before: q.before.as_deref().and_then(|b| b.parse().ok()),
    };
    let rows = if unknown_repo {
        Vec::new()
    } else {
        match state.store.dash_audit(&filter, AUDIT_PAGE + 1).await {
            Ok(r) => r,
            Err(e) => return failed(&state, &viewer, &e),
        }
    };
    let now = state.clock.now_ms();
    let more = rows.len() > AUDIT_PAGE as usize;
    let rows: Vec<OpAuditRow> = rows
        .into_iter()
        .take(AUDIT_PAGE as usize)
        .map(|a| OpAuditRow {
            id: a.id,
            when: format!("{} ago", human(now - a.at)),
            repo: a
                .repo_id
                .and_then(|id| names.get(&id).cloned())
                .unwrap_or_default(),
            pr: a.pr_number.filter(|n| *n > 0),
            subject: a.subject,
            decision: a.decision,
            reason: a.reason,
        })
        .collect();
    let older = match rows.last() {
        Some(last) if more => Some(serde_urlencoded_pairs(&[
            ("repo", &repo),
            ("actor", &actor),
            ("action", &action),
            ("before", &last.id.to_string()),
        ])),
        _ => None,
    };
    html(
        &state,
        StatusCode::OK,
        &AuditPage {
            chrome: Chrome::new(&viewer, "Audit trail"),
            repo,
            actor,
            action,
            rows,
            older,
            unknown_repo,
        },
    )
}

/// `k=v&…` with each value percent-encoded.
fn serde_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[path = "pages_tests.rs"]
mod tests;
