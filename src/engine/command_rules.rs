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
use crate::model::{HeadSeen, Preview, PreviewState, PullRequest};
use crate::policy::{Permission, Policy};
use crate::types::CommitSha;

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

/// How many replies one commenter gets on one pull request in an hour; beyond it, commands
/// still run and are audited, but are answered with neither a reaction nor a reply.
pub const REPLIES_PER_HOUR: usize = 5;

/// Whether Gangway answers a command comment at all (a 👀, then a reply), decided before it
/// writes anything on GitHub: every answer is a write against the installation's budget, so
/// anyone able to comment could otherwise spend it. `/help`, and a command the policy lets
/// anyone run (`needs`: `none`), are answered to anyone; any other command, or a comment that is
/// not a valid command (`command`: `None`), only to someone with some access to the repository
/// (`has`, GitHub's answer, above `none`). Not answered means not run either: the comment
/// is audited and nothing else happens.
pub fn answers(command: Option<Command>, needs: Permission, has: Permission) -> bool {
    command == Some(Command::Help)
        || (command.is_some() && needs == Permission::None)
        || has > Permission::None
}

/// Whether a command runs without a reaction or a reply: its author already had
/// [`REPLIES_PER_HOUR`] replies on this pull request in the last hour (`recent_replies`).
pub fn quiet(recent_replies: usize) -> bool {
    recent_replies >= REPLIES_PER_HOUR
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

/// Which commit was the PR's head when a comment was written, as far as GitHub's clock tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadAtComment {
    /// The current head: GitHub recorded it as the head before the comment was written.
    Head,
    /// The current head was pushed after the comment (or in the same second: whole seconds
    /// cannot order them). `before`: the head Gangway last knew of before the comment, if any.
    Moved {
        before: Option<CommitSha>,
        pushed_at: i64,
    },
    /// GitHub's event for the push of the current head has not been seen: its time is unknown.
    Unknown,
}

/// Which commit was the head at `comment_at` (GitHub's clock, seconds), given that `head` is the
/// head now and what Gangway has seen of the PR's heads. Never reads commit dates: an author
/// sets those.
///
/// The current head's latest stint started after every sighting of another commit; only the
/// sightings of `head` later than all of those speak of it. An exact one is the push's time;
/// another is an upper bound of it. A push of `head` older than a sighting of another commit
/// says nothing: the head moved away and back since.
pub fn head_at_comment(head: &CommitSha, comment_at: i64, seen: &[HeadSeen]) -> HeadAtComment {
    let last_other = seen
        .iter()
        .filter(|s| &s.sha != head)
        .map(|s| s.at)
        .max()
        .unwrap_or(i64::MIN);
    let stint: Vec<&HeadSeen> = seen
        .iter()
        .filter(|s| &s.sha == head && s.at > last_other)
        .collect();
    let pushed = stint.iter().filter(|s| s.exact).map(|s| s.at).min();
    let bound = stint.iter().map(|s| s.at).min();
    if bound.is_some_and(|at| at < comment_at) {
        return HeadAtComment::Head;
    }
    match pushed {
        Some(pushed_at) => HeadAtComment::Moved {
            before: seen
                .iter()
                .filter(|s| &s.sha != head && s.at < comment_at)
                .max_by_key(|s| s.at)
                .map(|s| s.sha.clone()),
            pushed_at,
        },
        None => HeadAtComment::Unknown,
    }
}

/// What a `/stage` comment approves, decided once per comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageTarget {
    /// This commit, the PR's head.
    Approve(CommitSha),
    /// Nothing; the text is the reply.
    Refuse(String),
    /// Not yet: GitHub's event for the head's push has not arrived. Ask again shortly.
    Wait(String),
}

/// What a delivery or read of a PR says about when its head was the head (see [`HeadSeen`]):
/// `pushed` for the push's own delivery (`opened`, `synchronize`), whose `updated_at` is the
/// push's time; any other look is an upper bound. `None` when GitHub's time is unreadable.
pub fn head_seen(pr: &PullRequest, pushed: bool) -> Option<HeadSeen> {
    Some(HeadSeen {
        sha: pr.head_sha.clone(),
        at: crate::model::github_secs(&pr.gh_updated_at)?,
        exact: pushed,
    })
}

/// What `/stage` approves: the commit named (`/stage <sha>`) if it is the head; otherwise the
/// head if it already was the head when the comment was written (`comment_at`, GitHub's clock;
/// `None` for a job stored before comments carried it). `may_wait`: whether the bounded wait for
/// a late push event has time left.
pub fn stage_target(
    head: &CommitSha,
    named: Option<&str>,
    comment_at: Option<i64>,
    seen: &[HeadSeen],
    may_wait: bool,
) -> StageTarget {
    let short = head.short();
    if let Some(named) = named {
        return if head.as_str().starts_with(named) {
            StageTarget::Approve(head.clone())
        } else {
            StageTarget::Refuse(format!(
                "`/stage {named}` names a commit that is not this pull request's head (`{short}`); \
                 nothing was approved. Review `{short}` and comment `/stage {short}` to approve it."
            ))
        };
    }
    let Some(comment_at) = comment_at else {
        return StageTarget::Refuse(format!(
            "Gangway cannot tell when this comment was written; nothing was approved. \
             Comment `/stage {short}` to approve the head exactly."
        ));
    };
    match head_at_comment(head, comment_at, seen) {
        HeadAtComment::Head => StageTarget::Approve(head.clone()),
        HeadAtComment::Moved { before, pushed_at } => {
            let when = if pushed_at == comment_at {
                "in the same second as your comment"
            } else {
                "after your comment"
            };
            let saw = before.map_or_else(
                || "an earlier commit".to_owned(),
                |b| format!("`{}`", b.short()),
            );
            StageTarget::Refuse(format!(
                "the head moved {when}: you commented on {saw}, and `{short}` was pushed since. \
                 Nothing was approved. Review `{short}` and comment `/stage` again \
                 (or `/stage {short}`)."
            ))
        }
        HeadAtComment::Unknown if may_wait => StageTarget::Wait(format!(
            "waiting for GitHub's event for the push of {short}"
        )),
        HeadAtComment::Unknown => StageTarget::Refuse(format!(
            "Gangway cannot tell whether `{short}` was pushed before or after your comment: \
             GitHub's event for that push has not arrived. Nothing was approved. \
             Comment `/stage {short}` to approve it exactly."
        )),
    }
}

/// What a Stage button approves: exactly the commit the dashboard page showed (`shown`, sent
/// with the form), and only while it is still the PR's head. The page may be minutes old; a
/// commit pushed since was never shown to the person who clicked, so it is never approved in
/// its place.
pub fn dashboard_stage_target(head: &CommitSha, shown: Option<&str>) -> StageTarget {
    let short = head.short();
    match shown {
        Some(shown) if !shown.is_empty() && head.as_str().starts_with(shown) => {
            StageTarget::Approve(head.clone())
        }
        Some(shown) if !shown.is_empty() => {
            let page = shown.get(..7).unwrap_or(shown);
            StageTarget::Refuse(format!(
                "the page showed `{page}`, and the head is now `{short}`, pushed since. Nothing \
                 was approved. Review `{short}` and stage it from its page again."
            ))
        }
        _ => StageTarget::Refuse(format!(
            "the dashboard did not say which commit its page showed; nothing was approved. \
             Reload the page and stage `{short}` again."
        )),
    }
}

/// A dashboard action as its announcement names it: the command as a comment would read, with
/// the environment and the commit's short sha (never the free text, which the answer quotes
/// where it belongs), e.g. `/stage 1a2b3c4` or `/promote production`. A button's free text
/// (`/hold`) starts with the environment the form named, always: that word is shown.
pub fn dashboard_command(invocation: &super::commands::Invocation) -> String {
    let mut words = vec![format!("/{}", invocation.command.word())];
    if let Some(environment) = &invocation.environment {
        words.push(environment.clone());
    }
    if let Some(first) = invocation
        .text
        .as_deref()
        .and_then(|t| t.split_whitespace().next())
    {
        words.push(first.to_owned());
    }
    if let Some(commit) = &invocation.commit {
        words.push(commit.get(..7).unwrap_or(commit).to_owned());
    }
    words.join(" ")
}

/// The comment announcing a dashboard action on its pull request: who ran what from the
/// dashboard, and the answer a comment would have had (`answer`). `command`: as
/// [`dashboard_command`] names it.
pub fn dashboard_announcement(actor: &str, command: &str, accepted: bool, answer: &str) -> String {
    if accepted {
        format!(
            "{} from the dashboard by {}: {answer}",
            text::code(command),
            text::login(actor)
        )
    } else {
        format!(
            "{}'s {} from the dashboard was refused: {answer}",
            text::login(actor),
            text::code(command)
        )
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

/// The answer once the evaluation ran. `approved`: the commit this comment approved; `pr`: the
/// PR as read now (its head may have moved on since); `preview`: the approved commit's preview
/// now; `checks`: its checks when [`answer_needs_checks`] asked for them. Every answer names
/// the approved commit.
pub fn answer(
    pr: &PullRequest,
    approved: &CommitSha,
    preview: Option<&Preview>,
    checks: Option<&CheckSummary>,
) -> Answer {
    let short = approved.short();
    if approved != &pr.head_sha {
        let head = pr.head_sha.short();
        let why = format!(
            "approved commit `{short}`, the head when you commented; the head is now `{head}`, \
             pushed since, which needs its own review: comment `/stage` again once you have looked at it."
        );
        return Answer {
            decision: "accepted",
            reason: why.clone(),
            reply: Some(why),
            rocket: false,
        };
    }
    match preview {
        Some(p) if deployed(p.state) => {
            let unfinished = checks
                .filter(|c| !c.pending.is_empty() || !c.failed.is_empty())
                .map(|c| {
                    let mut unfinished: Vec<String> = c
                        .pending
                        .iter()
                        .map(|n| format!("{} (pending)", text::code(n)))
                        .collect();
                    unfinished.extend(c.failed.iter().map(|(n, c)| text::check_result(n, c)));
                    text::some_of(&unfinished)
                });
            let reply = match unfinished {
                Some(list) => format!(
                    "approved commit `{short}` and deployed it without waiting for checks, as asked; not yet green: {list}."
                ),
                None => format!("approved commit `{short}` and deployed it."),
            };
            Answer {
                decision: "accepted",
                reason: format!("approved and staged {short} ({})", p.state.as_str()),
                reply: Some(reply),
                rocket: true,
            }
        }
        Some(p) => {
            let why = format!(
                "approved commit `{short}`, but it could not be deployed: {}.",
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
                "approved commit `{short}`, but Gangway did not deploy it; see its comment on this pull request."
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
