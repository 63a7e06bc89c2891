//! What running a command decides: whether its author may run it, whether `/stage` may go at
//! all (not under an invalid policy, not on a closed or unknown PR), and what it does beyond
//! recording its approval (a failed preview of the approved commit is tried again; the answer
//! says how the deploy went).
//!
//! Owns those rules. Pure: the executor asks GitHub for the author's permission, records the
//! approval, saves the preview it is handed back, evaluates, and posts the answer; nothing here
//! reads a clock or calls anyone. Which permission each command needs is the policy's
//! (`sticky::required_permission`).

use super::commands::Command;
use super::text;
use super::{CheckSummary, PolicyStatus};
use crate::model::{Preview, PreviewState, PullRequest};
use crate::policy::{Permission, Policy};

/// Why the author may not run `command` (`needs`: what it takes; `has`: what GitHub answered),
/// or `None` when they may. The text is the reply they read.
pub fn permission_refusal(
    command: Command,
    needs: Permission,
    has: Permission,
    repo: &str,
) -> Option<String> {
    (has < needs).then(|| {
        format!(
            "`/{}` needs {} permission on {} or more; you have {}.",
            command.word(),
            needs.as_str(),
            text::prose_capped(repo, text::NAME_CHARS),
            has.as_str()
        )
    })
}

/// The policy `/stage` deploys under: nothing is deployed while it is invalid. The error is the
/// reply. Asked before GitHub is: a refusal costs no call.
pub fn stage_policy(policy: &PolicyStatus) -> Result<&Policy, String> {
    match policy {
        PolicyStatus::Valid(p) => Ok(p),
        PolicyStatus::Invalid(e) => Err(format!(
            "nothing can be deployed while `.github/gangway.yml` is invalid: {}",
            text::prose(e)
        )),
    }
}

/// The PR `/stage` approves, as GitHub answered for it now (`None`: GitHub no longer knows
/// it): only an open one is staged. The error is the reply.
pub fn stageable(pr: Option<&PullRequest>) -> Result<&PullRequest, String> {
    match pr {
        None => Err("GitHub no longer knows this pull request.".to_owned()),
        Some(pr) if !pr.open => {
            Err("this pull request is closed; reopen it to stage it.".to_owned())
        }
        Some(pr) => Ok(pr),
    }
}

/// The approved commit's preview made ready to deploy again, when its last deploy failed: that
/// is what `/stage` is for. `None`: nothing to change (no preview yet, or not failed).
pub fn retry_failed(preview: Option<&Preview>) -> Option<Preview> {
    let p = preview.filter(|p| p.state == PreviewState::Failed)?;
    Some(Preview {
        state: PreviewState::Pending,
        last_status: None,
        detail: None,
        ..p.clone()
    })
}

/// Whether the answer needs the head's checks: only a deploy that went ahead of them says which
/// are not green yet, and a fork's checks are not Gangway's to wait for.
pub fn answer_needs_checks(pr: &PullRequest, preview: Option<&Preview>) -> bool {
    !pr.is_fork && preview.is_some_and(|p| deployed(p.state))
}

fn deployed(state: PreviewState) -> bool {
    matches!(state, PreviewState::Live | PreviewState::Deploying)
}

/// How a `/stage` ends: the audit decision and reason, the reply (if any) and whether it earns
/// a 🚀.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub decision: &'static str,
    pub reason: String,
    pub reply: Option<String>,
    pub rocket: bool,
}

/// The answer once the evaluation ran. `preview`: the approved commit's preview now; `checks`:
/// its checks when [`answer_needs_checks`] asked for them.
pub fn answer(
    pr: &PullRequest,
    preview: Option<&Preview>,
    checks: Option<&CheckSummary>,
) -> Answer {
    let short = pr.head_sha.short();
    match preview {
        Some(p) if deployed(p.state) => {
            let reply = checks
                .filter(|c| !c.pending.is_empty() || !c.failed.is_empty())
                .map(|c| {
                    let mut unfinished: Vec<String> = c
                        .pending
                        .iter()
                        .map(|n| format!("{} (pending)", text::code(n)))
                        .collect();
                    unfinished.extend(c.failed.iter().map(|(n, c)| {
                        format!(
                            "{} ({})",
                            text::code(n),
                            text::prose_capped(c, text::NAME_CHARS)
                        )
                    }));
                    format!(
                        "deployed commit `{short}` without waiting for checks, as asked; not yet green: {}.",
                        text::some_of(&unfinished)
                    )
                });
            Answer {
                decision: "accepted",
                reason: format!("approved and staged {short} ({})", p.state.as_str()),
                reply,
                rocket: true,
            }
        }
        Some(p) => {
            let why = format!(
                "commit `{short}` could not be deployed: {}.",
                text::prose(p.detail.as_deref().unwrap_or("see the deployment log"))
            );
            Answer {
                decision: "accepted",
                reason: why.clone(),
                reply: Some(why),
                rocket: false,
            }
        }
        None => {
            let why = format!(
                "commit `{short}` was approved, but Gangway did not deploy it; see its comment on this pull request."
            );
            Answer {
                decision: "accepted",
                reason: why.clone(),
                reply: Some(why),
                rocket: false,
            }
        }
    }
}

#[cfg(test)]
#[path = "command_rules_tests.rs"]
mod tests;
