//! The sticky comment: one per PR, edited in place, the reviewer's one-click preview link.
//!
//! Pure rendering from the situation. Never starts a line with `/` (a command), so Gangway's own
//! words can never be read as a command, whoever quotes them. Every piece of text Gangway did
//! not write itself (check names, reasons, a deployer's description and URL, logins) goes in
//! through `engine::text`.

use super::Gate;
use super::commands::Command;
use super::text;
use crate::model::{Approval, Hold, Preview, PreviewState, PullRequest};
use crate::policy::{Permission, Policy};

/// Marks Gangway's sticky comment, so a retried job finds it instead of posting a second one.
pub const MARKER: &str = "<!-- gangway:sticky -->";

/// Whether a PR with no sticky comment yet should get one now. Not while a same-repository,
/// ready PR only waits for its checks with no preview yet: GitHub's own checks box already says
/// that, and a comment then would be one more write (and notification) that tells nothing.
/// Nor for a PR closed before anything was deployed. Any other state is news (deploying, live,
/// a failed check, an invalid policy, a draft, a fork awaiting approval, `/unstage`), and once
/// the comment exists it is kept up to date whatever the state.
pub fn worth_creating(pr: &PullRequest, gate: &Gate, previews: &[Preview]) -> bool {
    if !previews.is_empty() {
        return true;
    }
    match gate {
        Gate::WaitingForChecks(_) => pr.is_fork || pr.draft,
        Gate::Closed => false,
        _ => true,
    }
}

/// A command a maintainer can use, for the comment's help section and `/help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandHelp {
    pub command: Command,
    /// The least permission that may run it.
    pub needs: Permission,
}

/// The least permission each command needs under `policy` (defaults when it is invalid).
pub fn required_permission(command: Command, policy: Option<&Policy>) -> Permission {
    let defaults = Policy::default();
    let p = policy.unwrap_or(&defaults);
    match command {
        Command::Stage => p.permissions.stage,
        Command::Unstage => p.permissions.unstage,
        Command::Promote => p.permissions.promote,
        Command::Hold => p.permissions.hold,
        Command::Unhold => p.permissions.unhold,
        Command::Rollback => p.permissions.rollback,
        Command::Cancel => p.permissions.cancel,
        Command::Keep => p.permissions.keep,
        // Only the pull request's author signs off (`engine::signoff::may_answer`), and an
        // author may have no access of their own: anyone is answered.
        Command::Good => Permission::None,
        // The author always may (`engine::signoff::may_answer`); others need `bad`.
        Command::Bad => p.permissions.bad,
        Command::Help => Permission::None,
    }
}

/// Every command with what it needs.
pub fn command_help(policy: Option<&Policy>) -> Vec<CommandHelp> {
    Command::ALL
        .iter()
        .map(|&command| CommandHelp {
            command,
            needs: required_permission(command, policy),
        })
        .collect()
}

/// One line per command with its arguments, for the comment and the `/help` reply, e.g.
/// ``- `/promote [environment] [--force]`: … (maintain access or more)``. Never starts with `/`.
pub fn help_lines(commands: &[CommandHelp]) -> Vec<String> {
    commands
        .iter()
        .map(|c| {
            let who = match c.needs {
                Permission::None => "anyone".to_owned(),
                p => format!("{} access or more", p.as_str()),
            };
            format!("- `{}`: {} ({who})", c.command.usage(), c.command.summary())
        })
        .collect()
}

pub struct StickyInput<'a> {
    pub pr: &'a PullRequest,
    pub gate: &'a Gate,
    pub previews: &'a [Preview],
    /// The maintainer's approval of the head commit, if any.
    pub approval: Option<&'a Approval>,
    /// When the live preview will be torn down for being idle (unix ms), if it is live.
    pub expires_at_ms: Option<i64>,
    /// Gangway's external base URL (for log links).
    pub public_url: &'a str,
    pub commands: &'a [CommandHelp],
    /// Holds on the repository's long-lived environments: every PR's comment shows them.
    pub holds: &'a [Hold],
    /// One line per target of each environment with targets this PR was promoted into
    /// (`engine::targets::sticky_lines`).
    pub targets: &'a [String],
    /// Alias link, slot, pin, links to changed pages, environment (`engine::team`).
    pub team: Option<&'a super::team::TeamView>,
}

fn log_link(public_url: &str, p: &Preview) -> String {
    format!(
        "[deploy log]({}/logs/{})",
        public_url.trim_end_matches('/'),
        p.log_token
    )
}

/// Where the preview is served: the deployer's URL when it gave one (shown as a link only if
/// it is a plain web address), else the host Gangway rendered.
fn url_of(p: &Preview) -> String {
    match &p.environment_url {
        Some(u) => text::url(u),
        None => format!("https://{}", p.host),
    }
}

/// Names as code spans, comma-separated.
fn list(names: &[String]) -> String {
    let names: Vec<String> = names.iter().map(|n| text::code(n)).collect();
    text::some_of(&names)
}

/// The comment body.
pub fn render(input: &StickyInput<'_>) -> String {
    let pr = input.pr;
    let sha = pr.head_sha.short();
    let head = input.previews.iter().find(|p| p.sha == pr.head_sha);
    let mut out = vec![
        MARKER.to_owned(),
        "### Gangway preview".to_owned(),
        String::new(),
    ];

    let status = match (input.gate, head.map(|p| (p.state, p))) {
        (Gate::Closed, _) => {
            let why = if pr.merged { "merged" } else { "closed" };
            let up = input
                .previews
                .iter()
                .any(|p| p.state.is_up() || p.state == PreviewState::TearingDown);
            if up {
                format!("🧹 **Tearing down**: the pull request was {why}.")
            } else {
                format!("🧹 **Torn down**: the pull request was {why}; its previews are gone.")
            }
        }
        (_, Some((PreviewState::Live, p))) => {
            format!(
                "✅ **Live**: {} (commit `{sha}`, {})",
                url_of(p),
                log_link(input.public_url, p)
            )
        }
        (_, Some((PreviewState::Pending | PreviewState::Deploying, p))) => {
            format!(
                "🚀 **Deploying** commit `{sha}` ({})",
                log_link(input.public_url, p)
            )
        }
        (_, Some((PreviewState::Failed, p))) => format!(
            "❌ **Deploy failed** for commit `{sha}`: {} ({})",
            text::prose(
                p.detail
                    .as_deref()
                    .unwrap_or("the driver reported a failure")
            ),
            log_link(input.public_url, p)
        ),
        (_, Some((PreviewState::TearingDown | PreviewState::TornDown, p))) => {
            let back = if p.teardown_kind.is_some_and(|k| k.needs_stage_to_return()) {
                " A maintainer's **/stage** brings it back."
            } else {
                ""
            };
            format!(
                "🧹 **Torn down**: the preview of commit `{sha}` was removed ({}).{back}",
                text::prose(p.detail.as_deref().unwrap_or("teardown"))
            )
        }
        (Gate::PolicyInvalid(e), None) => format!(
            "⚠️ **Not deployed**: `.github/gangway.yml` on the default branch is invalid, so nothing is \
             deployed for this repository until it is fixed.\n\n{}",
            text::quote(e)
        ),
        (
            Gate::Fork {
                previously_approved: None,
            },
            None,
        ) => format!(
            "🔒 **Waiting for approval**: this pull request comes from a fork, so commit `{sha}` is \
             deployed only after a maintainer reviews it and comments **/stage**. \
             Each new push needs a new approval."
        ),
        (
            Gate::Fork {
                previously_approved: Some(old),
            },
            None,
        ) => format!(
            "🔒 **Waiting for approval**: commit `{sha}` was pushed after a maintainer approved `{}`; \
             an approval covers one commit only, so this one needs a new **/stage** after review.",
            old.short()
        ),
        (
            Gate::Bot {
                previously_approved: None,
            },
            None,
        ) => format!(
            "🔒 **Waiting for approval**: this pull request was opened by a bot ({}), so commit \
             `{sha}` is deployed only after a maintainer reviews it and comments **/stage** (the \
             policy's `preview.bots` is `approve`). Each new push needs a new approval.",
            text::code(&input.pr.author)
        ),
        (
            Gate::Bot {
                previously_approved: Some(old),
            },
            None,
        ) => format!(
            "🔒 **Waiting for approval**: the bot {} pushed commit `{sha}` after a maintainer \
             approved `{}`; an approval covers one commit only, so this one needs a new **/stage** \
             after review.",
            text::code(&input.pr.author),
            old.short()
        ),
        (Gate::Unstaged(by), None) => {
            format!(
                "⏸️ **Paused**: {} took the preview down. A maintainer's **/stage** deploys commit `{sha}` again.",
                text::login(by)
            )
        }
        (Gate::Draft, None) => {
            "📝 **Draft**: the preview deploys once the pull request is ready for review."
                .to_owned()
        }
        (Gate::ChecksFailed(failed), None) => {
            let names: Vec<String> = failed
                .iter()
                .map(|(n, c)| text::check_result(n, c))
                .collect();
            format!(
                "❌ **Not deployed**: checks failed on commit `{sha}`: {}. Fix them and push, or re-run them; the preview deploys when they pass.",
                text::some_of(&names)
            )
        }
        (Gate::WaitingForChecks(pending), None) if !pending.is_empty() => {
            format!(
                "⏳ **Waiting for checks** on commit `{sha}`: {}.",
                list(pending)
            )
        }
        (Gate::WaitingForChecks(_) | Gate::NoChecks, None) => {
            format!("⏳ **Waiting for checks** on commit `{sha}`: none has reported yet.")
        }
        (Gate::Ready, None) => format!("🚀 **Deploying** commit `{sha}`."),
    };
    out.push(status);
    if let Some(view) = input.team
        && pr.open
    {
        let live = head.is_some_and(|p| p.state == PreviewState::Live);
        for line in super::team::lines(view, live) {
            out.push(String::new());
            out.push(line);
        }
    }
    if let Some(at) = input
        .expires_at_ms
        .and_then(chrono::DateTime::from_timestamp_millis)
    {
        out.push(String::new());
        out.push(format!(
            "This preview goes away at {} UTC unless a new commit or a maintainer's **/stage** renews it.",
            at.format("%Y-%m-%d %H:%M")
        ));
    }
    if let Some(a) = input.approval {
        out.push(String::new());
        out.push(format!(
            "Approved by {} for commit `{}` ({}).",
            text::login(&a.approver),
            a.sha.short(),
            text::url(&a.comment_url)
        ));
    }
    if let Gate::Unstaged(by) = input.gate
        && head.is_some()
    {
        out.push(String::new());
        out.push(format!(
            "Paused by {}: nothing deploys until a maintainer comments **/stage**.",
            text::login(by)
        ));
    }

    // An older preview that still serves while the head is on its way.
    if pr.open {
        for p in input
            .previews
            .iter()
            .filter(|p| p.sha != pr.head_sha && p.state == PreviewState::Live)
        {
            out.push(String::new());
            out.push(format!(
                "Previous preview still live until the new one replaces it: {} (commit `{}`).",
                url_of(p),
                p.sha.short()
            ));
        }
    }

    for hold in input.holds {
        out.push(String::new());
        out.push(format!(
            "⛔ **{} is held**{}: nothing is promoted into it until **/unhold**.",
            text::prose_capped(&hold.environment, text::NAME_CHARS),
            crate::engine::promotion::held_by(hold)
        ));
    }

    if !input.targets.is_empty() {
        out.push(String::new());
        out.extend(input.targets.iter().cloned());
    }

    if !input.commands.is_empty() && pr.open {
        out.push(String::new());
        out.push("<details><summary>Commands</summary>".to_owned());
        out.push(String::new());
        out.push("Comment on this pull request:".to_owned());
        out.extend(help_lines(input.commands));
        out.push(String::new());
        out.push("</details>".to_owned());
    }
    out.iter()
        .flat_map(|l| l.split('\n'))
        .map(defuse)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A line that would start with `/` (after spaces) gets a zero-width space in front: quoted text
/// from elsewhere (an error message, a check name) can never become a command.
pub fn defuse(line: &str) -> String {
    if line.trim_start().starts_with('/') {
        format!("\u{200b}{line}")
    } else {
        line.to_owned()
    }
}

#[cfg(test)]
#[path = "sticky_tests.rs"]
mod tests;
