//! The dashboard's buttons: a click becomes the very command a PR comment would carry, queued
//! as a command job, and the page shows what the executor decided.
//!
//! Owns: reading and checking the button forms (signed-in user, CSRF, fields), recording the
//! click (`dashboard_actions`), queueing its command job, waiting briefly for its outcome, and
//! the operator's retry of a dead job. Never decides whether a command may run: the executor
//! reads the user's permission from GitHub when the job runs and applies the command rules
//! (`engine::command_rules`, `engine::promotion`), exactly as for a comment. The session says
//! who clicked, never what they may do.

use std::collections::HashMap;
use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use tracing::{info, warn};

use super::WebState;
use super::access;
use super::csrf;
use super::page::{Chrome, html};
use super::session::{MaybeViewer, Viewer};
use crate::engine::commands::{self, TEXT_CHARS};
use crate::github::user::valid_full_name;
use crate::jobs::{CommandOrigin, CommandPayload, JobState, NewJob};
use crate::store::{ActionTarget, NewDashboardAction};
use crate::types::PrNumber;

/// The commands a button may run.
pub const BUTTONS: &[&str] = &["stage", "unstage", "promote", "hold", "unhold", "rollback"];

/// How long a click waits for its command's outcome before the page says it is still running.
pub const OUTCOME_WAIT: Duration = Duration::from_secs(10);
const OUTCOME_POLL: Duration = Duration::from_millis(50);

/// The largest form a button sends (a hold reason is at most `TEXT_CHARS` characters, each at
/// most 4 bytes, percent-encoded).
const MAX_FORM_BYTES: usize = 8 * 1024;
/// The longest environment or target name a button may name.
const MAX_ENVIRONMENT_CHARS: usize = 100;

/// The button routes, merged into the dashboard's router.
pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/repos/{owner}/{repo}/pulls/{number}/actions", post(action))
        .route("/operator/jobs/{id}/retry", post(retry_route))
}

#[derive(Template)]
#[template(path = "action_result.html")]
struct ActionResult {
    chrome: Chrome,
    heading: String,
    /// `accepted`, `refused` or `pending`.
    class: &'static str,
    text: String,
    back: String,
    back_label: String,
}

/// What a click ended as, for the page.
struct Outcome {
    status: StatusCode,
    class: &'static str,
    heading: String,
    text: String,
}

impl Outcome {
    fn refused(status: StatusCode, heading: &str, text: impl Into<String>) -> Outcome {
        Outcome {
            status,
            class: "refused",
            heading: heading.to_owned(),
            text: text.into(),
        }
    }
}

fn render(state: &WebState, viewer: Option<&Viewer>, o: Outcome, back: &str) -> Response {
    let page = ActionResult {
        chrome: Chrome::new(&MaybeViewer(viewer.cloned()), o.heading.clone()),
        heading: o.heading,
        class: o.class,
        text: o.text,
        back: back.to_owned(),
        back_label: if back.starts_with("/operator") {
            "the jobs".to_owned()
        } else {
            "the pull request".to_owned()
        },
    };
    html(state, o.status, &page)
}

async fn action(
    State(state): State<WebState>,
    Path((owner, repo, number)): Path<(String, String, String)>,
    viewer: Viewer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    act(&state, viewer, &headers, &owner, &repo, &number, &body).await
}

/// `POST /repos/{owner}/{repo}/pulls/{number}/actions` for a signed-in `viewer`: the HTTP
/// handler's whole work after sign-in (tests call it with a viewer of their making).
#[doc(hidden)]
pub async fn act(
    state: &WebState,
    viewer: Viewer,
    headers: &HeaderMap,
    owner: &str,
    repo: &str,
    number: &str,
    body: &[u8],
) -> Response {
    let back = format!("/repos/{owner}/{repo}/pulls/{number}");
    let back = if valid_full_name(&format!("{owner}/{repo}")) {
        back
    } else {
        "/".to_owned()
    };
    let outcome = click(state, &viewer, headers, owner, repo, number, body).await;
    render(state, Some(&viewer), outcome, &back)
}

/// A button form's fields, each at most once.
#[derive(Debug, Default)]
struct ActionForm {
    csrf: String,
    command: String,
    sha: String,
    environment: String,
    reason: String,
}

async fn click(
    state: &WebState,
    viewer: &Viewer,
    headers: &HeaderMap,
    owner: &str,
    repo: &str,
    number: &str,
    body: &[u8],
) -> Outcome {
    let bad = |why: String| Outcome::refused(StatusCode::BAD_REQUEST, "Not done", why);
    let form = match parse_form(body).and_then(|f| action_form(&f)) {
        Ok(f) => f,
        Err(why) => return bad(why),
    };
    if let Err(refusal) = csrf::check(viewer, &form.csrf, headers, &state.settings.public_url) {
        return Outcome::refused(StatusCode::FORBIDDEN, "Refused", refusal.to_string());
    }
    let args = match button_args(&form) {
        Ok(args) => args,
        Err(why) => return bad(why),
    };
    let not_found = || {
        Outcome::refused(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such pull request, or you may not see it.",
        )
    };
    let number = match number.parse::<u64>() {
        Ok(n) if n > 0 && valid_full_name(&format!("{owner}/{repo}")) => PrNumber(n),
        _ => return not_found(),
    };
    let full_name = format!("{owner}/{repo}");
    let target = match state.store.action_target(&full_name, number).await {
        Ok(Some(t)) => t,
        Ok(None) => return not_found(),
        Err(e) => return unavailable(&e.to_string()),
    };
    match access::can_read(state, Some(viewer), &target.full_name).await {
        Ok(true) => {}
        Ok(false) => return not_found(),
        Err(e) => return unavailable(&e.to_string()),
    }
    let now = state.clock.now_ms();
    let id = match state
        .store
        .record_dashboard_action(&NewDashboardAction {
            repo: target.repo,
            pr: target.number,
            actor: &viewer.login,
            command: &form.command,
            args: &args,
            now_ms: now,
        })
        .await
    {
        Ok(id) => id,
        Err(e) => return unavailable(&e.to_string()),
    };
    let payload = payload(state, &target, viewer, &form.command, &args, id);
    let queued = match NewJob::of(&payload) {
        Ok(job) => state.queue.enqueue(&job).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = queued {
        warn!(action = id, error = %e, "a dashboard action could not be queued");
        let why = format!("could not be queued: {e}");
        let _ = state
            .store
            .finish_dashboard_action(id, "refused", false, &why, state.clock.now_ms())
            .await;
        return unavailable(&e);
    }
    info!(action = id, actor = %viewer.login, command = %form.command, repo = %target.full_name,
          number = %target.number, "dashboard action queued");
    wait_outcome(state, id).await
}

fn unavailable(why: &str) -> Outcome {
    Outcome::refused(
        StatusCode::SERVICE_UNAVAILABLE,
        "Not done",
        format!("Gangway could not do this now: {why}. Nothing was queued; try again shortly."),
    )
}

/// The command job a click queues: the same job a comment would, from the dashboard.
fn payload(
    state: &WebState,
    target: &ActionTarget,
    viewer: &Viewer,
    command: &str,
    args: &str,
    action: i64,
) -> CommandPayload {
    let page = format!(
        "{}/repos/{}/pulls/{}",
        state.settings.public_url.trim_end_matches('/'),
        target.full_name,
        target.number
    );
    CommandPayload {
        repo_id: target.repo,
        installation: target.installation,
        full_name: target.full_name.clone(),
        default_branch: Some(target.default_branch.clone()).filter(|b| !b.is_empty()),
        number: target.number,
        comment_id: 0,
        comment_url: page,
        author: viewer.login.clone(),
        command: Ok(command.to_owned()),
        args: args.to_owned(),
        comment_at: None,
        origin: CommandOrigin::Dashboard { action },
    }
}

/// Polls the click's row until the executor finished it, for at most [`OUTCOME_WAIT`].
async fn wait_outcome(state: &WebState, id: i64) -> Outcome {
    let deadline = tokio::time::Instant::now() + OUTCOME_WAIT;
    loop {
        match state.store.dashboard_action(id).await {
            Ok(Some(a)) => {
                if let Some(decision) = a.decision.as_deref() {
                    let text = a.outcome.clone().unwrap_or_default();
                    return match decision {
                        "accepted" => Outcome {
                            status: StatusCode::OK,
                            class: "accepted",
                            heading: "Done".to_owned(),
                            text,
                        },
                        _ if a.forbidden || decision == "ignored" => {
                            Outcome::refused(StatusCode::FORBIDDEN, "Refused", text)
                        }
                        _ => Outcome::refused(StatusCode::CONFLICT, "Refused", text),
                    };
                }
            }
            Ok(None) => return unavailable("the action's record is gone"),
            Err(e) => warn!(action = id, error = %e, "could not read a dashboard action"),
        }
        if tokio::time::Instant::now() >= deadline {
            return Outcome {
                status: StatusCode::ACCEPTED,
                class: "pending",
                heading: "Queued".to_owned(),
                text: "Queued and still running; the pull request's page shows what it did once \
                       it is done."
                    .to_owned(),
            };
        }
        tokio::time::sleep(OUTCOME_POLL).await;
    }
}

async fn retry_route(
    State(state): State<WebState>,
    Path(id): Path<String>,
    viewer: MaybeViewer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    retry(&state, viewer.0, &headers, &id, &body).await
}

/// `POST /operator/jobs/{id}/retry`: an operator retries a dead job through the queue (as
/// `gangway jobs --retry` does), audited under their login. Anyone else gets the page a
/// missing one would (404).
#[doc(hidden)]
pub async fn retry(
    state: &WebState,
    viewer: Option<Viewer>,
    headers: &HeaderMap,
    id: &str,
    body: &[u8],
) -> Response {
    const BACK: &str = "/operator/jobs";
    let Some(viewer) = viewer.filter(|v| access::is_operator(state, Some(v))) else {
        let o = Outcome::refused(StatusCode::NOT_FOUND, "Not found", "There is no such page.");
        return render(state, None, o, "/");
    };
    let outcome = retry_job(state, &viewer, headers, id, body).await;
    render(state, Some(&viewer), outcome, BACK)
}

async fn retry_job(
    state: &WebState,
    viewer: &Viewer,
    headers: &HeaderMap,
    id: &str,
    body: &[u8],
) -> Outcome {
    let token = match parse_form(body) {
        Ok(f) => f.get("csrf").cloned().unwrap_or_default(),
        Err(why) => return Outcome::refused(StatusCode::BAD_REQUEST, "Not done", why),
    };
    if let Err(refusal) = csrf::check(viewer, &token, headers, &state.settings.public_url) {
        return Outcome::refused(StatusCode::FORBIDDEN, "Refused", refusal.to_string());
    }
    let Ok(id) = id.parse::<i64>() else {
        return Outcome::refused(StatusCode::NOT_FOUND, "Not found", "There is no such job.");
    };
    let dead = match state.queue.jobs(Some(JobState::Dead)).await {
        Ok(jobs) => jobs.into_iter().find(|j| j.id == id),
        Err(e) => return unavailable(&e.to_string()),
    };
    let Some(job) = dead else {
        return Outcome::refused(
            StatusCode::CONFLICT,
            "Not done",
            format!("Job {id} is not dead (or does not exist): nothing to retry."),
        );
    };
    match state.queue.retry_dead(id).await {
        Ok(true) => {}
        Ok(false) => {
            return Outcome::refused(
                StatusCode::CONFLICT,
                "Not done",
                format!("Job {id} is not dead any more: nothing to retry."),
            );
        }
        Err(e) => return unavailable(&e.to_string()),
    }
    let subject = format!("job {id} retried by @{} from the dashboard", viewer.login);
    let reason = format!(
        "{} job on {} (was dead after {} attempts: {})",
        job.kind,
        job.key,
        job.attempts,
        job.last_error.as_deref().unwrap_or("no error recorded")
    );
    if let Err(e) = state
        .store
        .audit_operator(&subject, "retried", &reason, state.clock.now_ms())
        .await
    {
        warn!(job = id, error = %e, "the retry of a dead job was not audited");
    }
    info!(job = id, operator = %viewer.login, "dead job retried from the dashboard");
    Outcome {
        status: StatusCode::OK,
        class: "accepted",
        heading: "Done".to_owned(),
        text: format!("Job {id} ({} on {}) is queued again.", job.kind, job.key),
    }
}

/// An `application/x-www-form-urlencoded` body as fields; a field sent twice, a body too large
/// or not UTF-8 is refused.
fn parse_form(body: &[u8]) -> Result<HashMap<String, String>, String> {
    if body.len() > MAX_FORM_BYTES {
        return Err(format!(
            "the form is larger than {MAX_FORM_BYTES} bytes; nothing was done."
        ));
    }
    let mut fields = HashMap::new();
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (k, v) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        let key = decode(k)?;
        let value = decode(v)?;
        if fields.insert(key.clone(), value).is_some() {
            return Err(format!(
                "the form carries the field {key:?} twice; nothing was done."
            ));
        }
    }
    Ok(fields)
}

fn decode(raw: &[u8]) -> Result<String, String> {
    let plus: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_encoding::percent_decode(&plus)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| "the form is not valid UTF-8; nothing was done.".to_owned())
}

fn action_form(fields: &HashMap<String, String>) -> Result<ActionForm, String> {
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    Ok(ActionForm {
        csrf: get("csrf"),
        command: get("command"),
        sha: get("sha").trim().to_ascii_lowercase(),
        environment: get("environment").trim().to_owned(),
        reason: get("reason").trim().to_owned(),
    })
}

/// The command's arguments as a comment would carry them, from a checked form.
fn button_args(form: &ActionForm) -> Result<String, String> {
    let word = form.command.as_str();
    if !BUTTONS.contains(&word) {
        return Err(format!(
            "{} is not a dashboard command (one of {}); nothing was done.",
            shown(word, 40),
            BUTTONS.join(", ")
        ));
    }
    let sha_ok =
        (7..=40).contains(&form.sha.len()) && form.sha.bytes().all(|b| b.is_ascii_hexdigit());
    if (word == "stage" || !form.sha.is_empty()) && !sha_ok {
        return Err(format!(
            "the commit {} is not 7 to 40 hexadecimal digits; nothing was done.",
            shown(&form.sha, 50)
        ));
    }
    let env = form.environment.as_str();
    if env.chars().count() > MAX_ENVIRONMENT_CHARS
        || !env
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(format!(
            "the environment {} is not an environment or target name; nothing was done.",
            shown(env, 50)
        ));
    }
    let reason = form.reason.as_str();
    if !reason.is_empty() && word != "hold" {
        return Err(format!("`{word}` takes no reason; nothing was done."));
    }
    if !reason.is_empty() && env.is_empty() {
        // A reason's first word could otherwise be read as the environment.
        return Err("a hold with a reason names its environment; nothing was done.".to_owned());
    }
    if reason.chars().count() > TEXT_CHARS || reason.chars().any(char::is_control) {
        return Err(format!(
            "the reason must be one line of at most {TEXT_CHARS} characters; nothing was done."
        ));
    }
    let args = match word {
        "stage" => form.sha.clone(),
        "unstage" => String::new(),
        "hold" => [env, reason]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" "),
        _ => env.to_owned(),
    };
    commands::invocation(word, &args)
        .map(|i| i.args())
        .map_err(|e| format!("{e}; nothing was done."))
}

/// Untrusted text quoted in an error: cut, and debug-quoted (the page escapes it too).
fn shown(s: &str, max: usize) -> String {
    let cut: String = s.chars().take(max).collect();
    format!("{cut:?}")
}

#[cfg(test)]
#[path = "actions_tests.rs"]
mod tests;
