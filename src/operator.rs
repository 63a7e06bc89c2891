//! What operators see and do from the command line: `gangway envs` (previews, long-lived
//! environments with their verifications, the newest sign-off round) and `gangway teardown`.

use crate::engine::verification;
use crate::jobs::{EvaluatePayload, NewJob};
use crate::model::{EnvState, PreviewState, SignoffAnswer, TeardownKind, VerifyState};
use crate::policy;
use crate::queue::Queue;
use crate::store::{Store, StoreError};

/// One line of `gangway envs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvRow {
    pub repo: String,
    pub pr: u64,
    pub sha: String,
    pub state: String,
    pub environment: String,
    pub host: String,
    pub age: String,
    /// Time left before the idle TTL tears it down (live previews only).
    pub ttl_left: String,
}

fn human(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=172_799 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// Previews, newest first; with `all`, torn-down ones too.
pub async fn envs(store: &Store, now_ms: i64, all: bool) -> Result<Vec<EnvRow>, StoreError> {
    let mut rows = Vec::new();
    // Slot → pull request (`preview.slots`): shown beside the environment of the preview that
    // stands on it.
    let slots: std::collections::BTreeMap<_, String> = store
        .all_slot_holders()
        .await?
        .into_iter()
        .map(|(repo, h)| ((repo, h.pr_number), h.slot))
        .collect();
    for (p, repo) in store.all_previews().await?.into_iter().rev() {
        if !all && p.state == PreviewState::TornDown {
            continue;
        }
        let ttl = match store.cached_policy(p.repo_id).await?.and_then(|c| c.body) {
            Some(body) => policy::parse(body.as_bytes())
                .map(|p| p.preview.ttl)
                .unwrap_or_default(),
            None => policy::PreviewPolicy::default().ttl,
        };
        let ttl_left = match (p.state, p.deployed_at) {
            (PreviewState::Live, Some(at)) => {
                human(at + i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 4) - now_ms)
            }
            _ => "-".into(),
        };
        rows.push(EnvRow {
            repo,
            pr: p.pr_number.0,
            sha: p.sha.short().to_owned(),
            state: p.state.as_str().to_owned(),
            environment: match slots.get(&(p.repo_id, p.pr_number)) {
                Some(slot) if p.state != PreviewState::TornDown => {
                    format!("{} (slot {slot})", p.environment)
                }
                _ => p.environment.clone(),
            },
            host: p.host.clone(),
            age: human(now_ms - p.created_at),
            ttl_left,
        });
    }
    // Long-lived environments: what each runs now, and any deployment still running there,
    // with its verification (`verify:`) when it has one.
    let mut repos = Vec::new();
    for (repo, d) in store.env_overview().await? {
        let state = match store.verification(d.id).await? {
            Some(v) if d.state == EnvState::Deploying && v.state == VerifyState::Running => {
                "verifying".to_owned()
            }
            Some(v) => format!("{} ({})", d.state.as_str(), verification::summary(&v)),
            None => d.state.as_str().to_owned(),
        };
        if !repos.iter().any(|(id, _)| *id == d.repo_id) {
            repos.push((d.repo_id, repo.clone()));
        }
        rows.push(EnvRow {
            repo,
            pr: d.pr_number.map_or(0, |n| n.0),
            sha: d.sha.short().to_owned(),
            state,
            environment: d.environment.clone(),
            host: format!("({} by {})", d.kind.as_str(), d.requested_by),
            age: human(now_ms - d.live_at.unwrap_or(d.created_at)),
            ttl_left: "-".into(),
        });
    }
    // Promotions waiting in a queue (an environment or target busy, or held, or beyond the
    // policy's limit of targets at once): each with its place.
    let queued = store.queue_overview().await?;
    for (repo, q) in &queued {
        let place = queued
            .iter()
            .filter(|(r, o)| r == repo && o.environment == q.environment && o.id <= q.id)
            .count();
        rows.push(EnvRow {
            repo: repo.clone(),
            pr: q.pr_number.map_or(0, |n| n.0),
            sha: q.sha.short().to_owned(),
            state: format!("queued #{place}"),
            environment: q.environment.clone(),
            host: format!("(promote by {})", q.requested_by),
            age: human(now_ms - q.created_at),
            ttl_left: "-".into(),
        });
    }
    // The newest sign-off round of each repository with a train (`train.signoff: authors`).
    for (id, repo) in repos {
        let recent = store.recent_signoffs(id, 50).await?;
        let Some(newest) = recent.first().map(|r| r.sha.clone()) else {
            continue;
        };
        for r in recent.iter().filter(|r| r.sha == newest) {
            rows.push(EnvRow {
                repo: repo.clone(),
                pr: r.pr_number.0,
                sha: r.sha.short().to_owned(),
                state: format!(
                    "signoff {}",
                    r.answer.map_or("waiting", SignoffAnswer::as_str)
                ),
                environment: "(sign-off)".into(),
                host: format!("(@{})", r.author),
                age: human(now_ms - r.asked_at),
                ttl_left: "-".into(),
            });
        }
    }
    Ok(rows)
}

/// Starts the teardown of the standing preview at `host`; the workers finish it (driver
/// teardown, deployment marked inactive). Returns what was done, for the operator.
pub async fn teardown(
    store: &Store,
    queue: &Queue,
    host: &str,
    now_ms: i64,
) -> Result<Result<String, String>, StoreError> {
    let found = store
        .all_previews()
        .await?
        .into_iter()
        .find(|(p, _)| p.host == host && p.state.is_up());
    let Some((mut p, repo)) = found else {
        return Ok(Err(format!(
            "no standing preview at {host} (see `gangway envs`)"
        )));
    };
    let Some((pr, _)) = store.pull(p.repo_id, p.pr_number).await? else {
        return Ok(Err(format!("the pull request of {host} is unknown")));
    };
    p.state = PreviewState::TearingDown;
    p.teardown_kind = Some(TeardownKind::Operator);
    p.detail = Some("torn down by an operator".into());
    store.save_preview(&p, now_ms).await?;
    let job = EvaluatePayload::of(&pr.repo, pr.number, "operator");
    queue.enqueue(&NewJob::of(&job)?).await?;
    Ok(Ok(format!(
        "teardown of {host} ({repo}#{}) queued; a running `gangway serve` finishes it",
        pr.number
    )))
}
