//! The train: the default branch's newest green head travels through the long-lived
//! environments on a timetable.
//!
//! Owns the timetable (docs/policy.md, `train:`): once the head is green, wait `delay` (a newer head
//! restarts the wait), deploy it to the first environment; once it is live there and `bake` has
//! passed with no hold and no failure, deploy it to the next, up to production. An environment
//! with targets is deployed to every target and counts as live once every target runs the
//! commit; a failed target waits for a retry, or under `on_target_failure: halt` stops the train.
//! The state is a small record the executor stores after every step, so a restart resumes where it stopped and
//! never repeats a step. Also how the train reads the head's checks ([`head_checks`]), what it
//! does when the promotion gates refuse a deployment ([`refused`]), the reason its deployments
//! carry ([`claim_reason`]) and what merged pull requests are told ([`notice`]). Pure: the time
//! is an argument; waking up at the right time is the job queue's `run_at`.

use serde::{Deserialize, Serialize};

use super::promotion::{self, Refusal};
use super::sticky::defuse;
use super::{CheckItem, CheckSummary};
use crate::model::{EnvDeployment, EnvState, Hold};
use crate::policy::{RequiredCheck, TrainPolicy};
use crate::types::CommitSha;

/// How long the train waits for a busy environment before looking again.
pub const BUSY_RETRY_MS: i64 = 60_000;

/// Where the train is, as stored between steps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Train {
    /// The head commit the train carries.
    #[serde(default)]
    pub sha: Option<CommitSha>,
    /// When that commit was first seen green: the quiet period counts from here.
    #[serde(default)]
    pub green_at: Option<i64>,
    /// The index of the next environment to deploy to.
    #[serde(default)]
    pub next: usize,
    /// When the current wait (delay, then bake) ends.
    #[serde(default)]
    pub due: Option<i64>,
    /// The deployment the train started and waits for (`env_deployments.id`).
    #[serde(default)]
    pub awaiting: Option<i64>,
    /// Why the train stopped carrying this commit (a failure, a refusal); a newer head restarts it.
    #[serde(default)]
    pub stopped: Option<String>,
    /// The train deployed to the environment at `next` through its targets (one promotion
    /// each, through the promotion queue) and waits until every target runs the commit.
    #[serde(default)]
    pub fanned: bool,
    /// Kept for records written before the timetable was repeated on every step; unused.
    #[serde(default, skip_serializing)]
    pub notified: bool,
}

/// The head commit's checks, as the train needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadChecks {
    Green,
    Pending,
    /// Not green; the reason for the log.
    Red(String),
}

/// What the train looks at.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    pub policy: &'a TrainPolicy,
    /// The policy's environments, in order.
    pub environments: &'a [String],
    /// The default branch's head now.
    pub head: &'a CommitSha,
    pub checks: &'a HeadChecks,
    pub now_ms: i64,
    pub holds: &'a [Hold],
    /// What each environment runs now, in the order of `environments`.
    pub current: &'a [Option<CommitSha>],
    /// The deployment `Train::awaiting` names, as stored now.
    pub awaited: Option<&'a EnvDeployment>,
    /// Whether the head is marked bad.
    pub bad: bool,
    /// While the train waits for the targets of the next environment (`Train::fanned`): a
    /// target whose deployment of the head failed, if any.
    pub failed_target: Option<&'a str>,
    /// `promotion.on_target_failure: halt`: a failed target stops the train.
    pub halt: bool,
}

/// What the executor does after a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Run the train again at this time (nothing else will wake it before).
    WakeAt(i64),
    /// Deploy the carried commit to this environment, under the promotion rules; the executor
    /// records the deployment in `awaiting` (for an environment with targets: one promotion
    /// per target, and `fanned`).
    Deploy { environment: String },
    /// Tell the pull requests merged since production's commit when their change arrives:
    /// (environment, expected time) in order. Repeated on every step while the train waits;
    /// telling is idempotent.
    Notify { schedule: Vec<(String, i64)> },
}

/// One step: the new state and what to do. The same state and view give the same answer, and
/// once its steps are done, stepping again gives nothing new.
pub fn step(train: &Train, v: &View<'_>) -> (Train, Vec<Step>) {
    let mut t = train.clone();
    let mut steps = Vec::new();
    let last = v.environments.len();
    if t.sha.as_ref() != Some(v.head) {
        // A newer head: the quiet period starts again, whatever the train carried.
        t = Train {
            sha: Some(v.head.clone()),
            ..Train::default()
        };
    }
    if t.stopped.is_some() || last == 0 {
        return (t, steps);
    }
    if let Some(id) = t.awaiting {
        match v.awaited.filter(|d| d.id == id) {
            Some(d) if matches!(d.state, EnvState::Pending | EnvState::Deploying) => {
                // Its end wakes the train.
                return (t, steps);
            }
            // Stopped before it deployed (a hold, a bad mark placed while it waited): the
            // train carries the commit on from here, under the same rules as before (a hold
            // waits for `/unhold`, a bad mark stops the train).
            Some(d) if d.state == EnvState::Stopped => t.awaiting = None,
            Some(d) if d.state == EnvState::Live || d.live_at.is_some() => {
                t.awaiting = None;
                t.next += 1;
                t.due = Some(d.live_at.unwrap_or(v.now_ms) + ms(v.policy.bake));
            }
            Some(d) => {
                t.awaiting = None;
                t.stopped = Some(format!(
                    "the deployment of `{}` to {} failed",
                    d.sha.short(),
                    d.environment
                ));
                return (t, steps);
            }
            // Not recorded (it was never created): deploy again below.
            None => t.awaiting = None,
        }
    }
    if t.fanned {
        let everywhere = v.current.get(t.next).and_then(Option::as_ref) == Some(v.head);
        if everywhere {
            // The last target is live: the bake starts (below) now.
            t.fanned = false;
        } else if v.bad {
            // Its queued targets are refused at their turn; nothing more will come.
            t.fanned = false;
            t.stopped = Some(format!("commit `{}` is marked bad", v.head.short()));
            return (t, steps);
        } else if let Some(target) = v.failed_target.filter(|_| v.halt) {
            t.fanned = false;
            t.stopped = Some(format!(
                "the deployment of `{}` to {target} failed, and `on_target_failure: halt` \
                 stops the train",
                v.head.short()
            ));
            return (t, steps);
        } else {
            // Each target's end wakes the train; a failed one waits for a retry
            // (`/promote <target>`) under `on_target_failure: continue`.
            return (t, steps);
        }
    }
    if t.green_at.is_none() {
        if *v.checks != HeadChecks::Green {
            return (t, steps);
        }
        t.green_at = Some(v.now_ms);
        t.due = Some(v.now_ms + ms(v.policy.delay));
    }
    // Already where it is going (promoted by hand, or an earlier run of this step).
    while t.next < last && v.current.get(t.next).and_then(Option::as_ref) == Some(v.head) {
        t.next += 1;
        if t.due.is_none_or(|d| d < v.now_ms) {
            t.due = Some(v.now_ms + ms(v.policy.bake));
        }
    }
    if t.next >= last {
        return (t, steps);
    }
    {
        // Every step says it again: the executor posts or edits one comment per pull request
        // only when its words change, so a merge recorded late is still told.
        let first = t.due.unwrap_or(v.now_ms);
        let schedule = (t.next..last)
            .zip(0i64..)
            .filter_map(|(i, n)| {
                let name = v.environments.get(i)?;
                Some((name.clone(), first + n * ms(v.policy.bake)))
            })
            .collect();
        steps.push(Step::Notify { schedule });
    }
    if *v.checks != HeadChecks::Green {
        // Red after green (a re-run): hold still until it is green again.
        return (t, steps);
    }
    if v.bad {
        t.stopped = Some(format!("commit `{}` is marked bad", v.head.short()));
        return (t, steps);
    }
    if t.next > 0 && v.current.get(t.next - 1).and_then(Option::as_ref) != Some(v.head) {
        let previous = v.environments.get(t.next - 1).map_or("", String::as_str);
        t.stopped = Some(format!(
            "{previous} no longer runs `{}` (rolled back or replaced)",
            v.head.short()
        ));
        return (t, steps);
    }
    let due = t.due.unwrap_or(v.now_ms);
    if v.now_ms < due {
        steps.push(Step::WakeAt(due));
        return (t, steps);
    }
    let environment = &v.environments[t.next];
    if v.holds.iter().any(|h| h.environment == *environment) {
        // `/unhold` wakes the train.
        return (t, steps);
    }
    steps.push(Step::Deploy {
        environment: environment.clone(),
    });
    (t, steps)
}

/// The head's checks as the train reads them: the first failure makes it red; anything still
/// pending, or nothing reported yet, is not green. With the summary, for the promotion gates.
pub fn head_checks(items: &[CheckItem], required: &[RequiredCheck]) -> (HeadChecks, CheckSummary) {
    let s = CheckSummary::of(items, required);
    let checks = if let Some((name, conclusion)) = s.failed.first() {
        HeadChecks::Red(format!("`{name}` is {conclusion}"))
    } else if !s.pending.is_empty() || s.passed.is_empty() {
        HeadChecks::Pending
    } else {
        HeadChecks::Green
    };
    (checks, s)
}

/// What the train does when the promotion gates refuse its deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The environment is busy: look again at this time, carrying the same commit.
    LookAgainAt(i64),
    /// Any other rule: stop carrying this commit, for this reason (a newer head restarts it).
    Stop(String),
}

/// The train's answer to a refusal at `now_ms`.
pub fn refused(refusal: &Refusal, now_ms: i64) -> Refused {
    match refusal {
        Refusal::Busy { .. } => Refused::LookAgainAt(now_ms + BUSY_RETRY_MS),
        other => Refused::Stop(other.to_string()),
    }
}

/// Why the train deploys, for the deployment's record: the wait that just ended (the quiet
/// period before the first environment, the bake before each next one).
pub fn claim_reason(policy: &TrainPolicy, t: &Train) -> String {
    let wait = if t.next == 0 {
        policy.delay
    } else {
        policy.bake
    };
    format!("green and quiet for {}", human(wait))
}

/// What a merged pull request on the train is told: when its change (`head`) should reach each
/// environment (`schedule`, from [`Step::Notify`]).
pub fn notice(head: &CommitSha, schedule: &[(String, i64)]) -> String {
    let when: Vec<String> = schedule
        .iter()
        .map(|(env, at)| {
            format!(
                "{} at about {}",
                super::text::prose_capped(env, super::text::NAME_CHARS),
                promotion::utc(*at)
            )
        })
        .collect();
    let body = format!(
        "🚂 This change is on Gangway's train (commit `{}`): it should reach {}, if its checks stay green and nothing fails on the way. To stop it, comment **/hold** (or **/hold** and an environment's name, e.g. `/hold production`) on any pull request of this repository.",
        head.short(),
        when.join(", then ")
    );
    body.lines().map(defuse).collect::<Vec<_>>().join("\n")
}

/// `30m`, `1h`, `90s`: the policy's own way of writing durations.
fn human(d: std::time::Duration) -> String {
    let s = d.as_secs();
    if s.is_multiple_of(3600) && s > 0 {
        format!("{}h", s / 3600)
    } else if s.is_multiple_of(60) && s > 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

fn ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

#[cfg(test)]
#[path = "train_tests.rs"]
mod tests;
