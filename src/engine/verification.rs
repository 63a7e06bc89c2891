//! Verification after an environment deployment (`verify:` in the policy): whether a deployment
//! that just succeeded must be verified before it counts, where a verification stands, and what
//! its statuses and comments say.
//!
//! Owns: which deployments are verified ([`plan`]: every kind, in an environment with a
//! `verify:` entry), the record a verification starts as ([`begin`]), the verdict on the record,
//! the command's outcome and the commit's checks at a moment ([`judge`]: run the command first,
//! then every named check must pass; a failed one fails it at once, missing ones fail it at the
//! deadline; until then look again every [`POLL_MS`]), and the words: the `in_progress` status
//! while it runs ([`verifying_status`]), the `failure` status ([`failure_status`]), the bad mark's
//! reason ([`bad_reason`]) and what the pull requests involved are told ([`failure_notice`]).
//! The record is keyed on the deployment (`env_deployments.id`, its GitHub deployment beside
//! it), so each deployment, whatever its environment or target, has its own. Pure: the executor
//! (`executor/verification.rs`) runs the command, reads the checks and the clock, asks here,
//! and acts.

use super::checks::CheckSummary;
use super::text;
use crate::model::{EnvDeployment, Verification, VerifyState};
use crate::policy::{Policy, RequiredCheck, VerifyEnvironment};

/// How often the checks of a running verification are read again (a deferred job; the
/// deadline itself is one such wake-up).
pub const POLL_MS: i64 = 30_000;

/// How the deployment `d`, which just deployed, is verified before it counts; `None`: it counts
/// now. A target's deployment (`production-au`) is verified as its environment says.
pub fn plan<'a>(policy: &'a Policy, d: &EnvDeployment) -> Option<&'a VerifyEnvironment> {
    match policy.environments.resolve(&d.environment) {
        Some(unit) => policy.verify.of(&unit.environment),
        None => policy.verify.of(&d.environment),
    }
}

/// The record of a verification that starts at `now_ms`.
pub fn begin(d: &EnvDeployment, plan: &VerifyEnvironment, now_ms: i64) -> Verification {
    Verification {
        env_deployment_id: d.id,
        repo_id: d.repo_id,
        environment: d.environment.clone(),
        deployment_id: d.deployment_id,
        sha: d.sha.clone(),
        command: plan.command,
        checks: plan.checks.iter().map(ToString::to_string).collect(),
        command_passed: None,
        state: VerifyState::Running,
        detail: None,
        started_at: now_ms,
        deadline: now_ms.saturating_add(ms(plan.timeout)),
        finished_at: None,
    }
}

/// The checks a record names, as the policy wrote them; `Err` names one that no longer reads
/// (the record is older than a change to the syntax), which fails the verification.
pub fn required(v: &Verification) -> Result<Vec<RequiredCheck>, String> {
    v.checks
        .iter()
        .map(|c| RequiredCheck::parse(c).map_err(|why| format!("check {}: {why}", text::code(c))))
        .collect()
}

/// The checks a record names, read against the commit's checks `items`: an entry counts a
/// check run or commit status of exactly its name, from any source, when one was reported (an
/// outside tester's status `smoke/production`); otherwise it is read as in
/// `preview.required_checks` (`smoke/production`: App `smoke`'s check run `production`).
pub fn required_for(
    v: &Verification,
    items: &[super::checks::CheckItem],
) -> Result<Vec<RequiredCheck>, String> {
    let parsed = required(v)?;
    Ok(v.checks
        .iter()
        .zip(parsed)
        .map(|(written, r)| {
            if items.iter().any(|i| i.name == *written) {
                RequiredCheck {
                    app: None,
                    name: written.clone(),
                }
            } else {
                r
            }
        })
        .collect())
}

/// What a running verification needs next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Run `GANGWAY_VERIFY_COMMAND` and record how it ended.
    RunCommand,
    /// Read the commit's checks and ask again.
    ReadChecks,
    /// Nothing decided: look again at this time.
    WaitUntil(i64),
    /// Verified: the deployment counts.
    Passed,
    /// Failed, for this reason.
    Failed(String),
    /// The checks did not all arrive in time; the reason names them.
    TimedOut(String),
}

/// The verdict on `v` at `now_ms`; `checks`: the commit's checks against [`required`], when
/// they were read. A verification that is over has nothing more to do: its end is its verdict.
pub fn judge(v: &Verification, checks: Option<&CheckSummary>, now_ms: i64) -> Verdict {
    match v.state {
        VerifyState::Running => {}
        VerifyState::Passed => return Verdict::Passed,
        VerifyState::Failed => return Verdict::Failed(v.detail.clone().unwrap_or_default()),
        VerifyState::TimedOut => return Verdict::TimedOut(v.detail.clone().unwrap_or_default()),
    }
    match v.command_passed {
        None if v.command => return Verdict::RunCommand,
        Some(false) => {
            return Verdict::Failed(format!(
                "the verify command failed ({})",
                text::prose(v.detail.as_deref().unwrap_or("no reason given"))
            ));
        }
        _ => {}
    }
    if v.checks.is_empty() {
        return Verdict::Passed;
    }
    if let Err(why) = required(v) {
        return Verdict::Failed(why);
    }
    let Some(s) = checks else {
        return Verdict::ReadChecks;
    };
    if let Some((name, conclusion)) = s.failed.first() {
        return Verdict::Failed(format!("check {}", text::check_result(name, conclusion)));
    }
    if s.pending.is_empty() {
        return Verdict::Passed;
    }
    if now_ms >= v.deadline {
        let missing: Vec<String> = s.pending.iter().map(|n| text::code(n)).collect();
        return Verdict::TimedOut(format!(
            "{} did not pass within {}",
            text::some_of(&missing),
            human_ms(v.deadline - v.started_at)
        ));
    }
    Verdict::WaitUntil(now_ms.saturating_add(POLL_MS).min(v.deadline))
}

/// The record once it ended at `now_ms` with `verdict` (`Passed`, `Failed`, `TimedOut`); any
/// other verdict leaves it running.
pub fn ended(v: &Verification, verdict: &Verdict, now_ms: i64) -> Verification {
    let (state, detail) = match verdict {
        Verdict::Passed => (VerifyState::Passed, None),
        Verdict::Failed(why) => (VerifyState::Failed, Some(why.clone())),
        Verdict::TimedOut(why) => (VerifyState::TimedOut, Some(why.clone())),
        _ => return v.clone(),
    };
    Verification {
        state,
        detail,
        finished_at: Some(now_ms),
        ..v.clone()
    }
}

/// The record once the command ended (`summary`: the driver's one line, e.g. `exit 3`).
pub fn command_ran(v: &Verification, success: bool, summary: &str) -> Verification {
    Verification {
        command_passed: Some(success),
        detail: (!success).then(|| summary.to_owned()),
        ..v.clone()
    }
}

/// The `in_progress` status while `v` runs: what it waits for.
pub fn verifying_status(v: &Verification) -> String {
    let mut what = Vec::new();
    if v.command {
        what.push("the verify command".to_owned());
    }
    if !v.checks.is_empty() {
        what.push(v.checks.join(", "));
    }
    format!(
        "Verifying: {} (up to {})",
        what.join(", then "),
        human_ms(v.deadline - v.started_at)
    )
}

/// The `failure` status of a deployment whose verification failed.
pub fn failure_status(why: &str) -> String {
    format!("Verification failed: {why}")
}

/// The reason the commit is marked bad with.
pub fn bad_reason(d: &EnvDeployment, why: &str) -> String {
    format!("verification failed in {}: {why}", d.environment)
}

/// What the pull requests involved are told: the deployment `d` succeeded but its verification
/// failed (`why`, a [`Verdict`]'s reason, whose untrusted parts are escaped already), the commit is marked bad there, what follows (`rolled_back`: a rollback was
/// started), and where the log is.
pub fn failure_notice(d: &EnvDeployment, why: &str, rolled_back: bool, log_url: &str) -> String {
    let next = if rolled_back {
        "Gangway is rolling back to the last good commit"
    } else {
        "nothing was rolled back; fix forward with a new commit or **/rollback**"
    };
    format!(
        "❌ Commit `{}` deployed to {} but failed its verification: {}. It is marked bad there and will not be deployed again (the train stops for it); {next}. Log: {}",
        d.sha.short(),
        text::prose_capped(&d.environment, text::NAME_CHARS),
        why,
        text::url(log_url)
    )
}

/// A verification's outcome in one phrase, for `gangway envs` and the history.
pub fn summary(v: &Verification) -> String {
    match v.state {
        VerifyState::Running => "verifying".to_owned(),
        VerifyState::Passed => "verified".to_owned(),
        VerifyState::Failed => format!(
            "verification failed: {}",
            v.detail.as_deref().unwrap_or("no reason given")
        ),
        VerifyState::TimedOut => format!(
            "verification timed out: {}",
            v.detail.as_deref().unwrap_or("no reason given")
        ),
    }
}

/// `15m`, `1h`, `90s`.
fn human_ms(ms: i64) -> String {
    let s = ms / 1000;
    if s % 3600 == 0 && s > 0 {
        format!("{}h", s / 3600)
    } else if s % 60 == 0 && s > 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

fn ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

#[cfg(test)]
#[path = "verification_tests.rs"]
mod tests;
