//! Maintainer commands from PR comments: acknowledge, authorize by GitHub's answer, act, answer.
//!
//! Owns: the permission check (collaborator permission API, never the payload's
//! `author_association`), approvals pinned to the head commit read fresh from GitHub when the
//! command runs, `/unstage`'s pause, the 👀 / 🚀 reactions and the replies, and the audit entry of
//! every decision. A command comment is handled once, whatever redeliveries happen. Who may run
//! a command, whether `/stage` may go and what it retries and answers are
//! `engine::command_rules`'; this module never decides them.

use tracing::info;

use super::Executor;
use crate::engine::commands::{self, Command};
use crate::engine::sticky::{self, required_permission};
use crate::engine::{CheckSummary, PolicyStatus, text};
use crate::engine::{command_rules, pinning};
use crate::jobs::{CommandOrigin, CommandPayload};
use crate::model::{Approval, RepoRef};
use crate::policy::Permission;
use crate::queue::JobError;
use crate::store::CommandRun;

/// How long `/stage` waits for GitHub's event of a push it cannot place before or after the
/// comment (webhooks usually arrive within seconds; minutes while GitHub is degraded), and how
/// often it looks again meanwhile.
const PUSH_EVENT_WAIT_MS: i64 = 120_000;
const PUSH_EVENT_POLL_MS: i64 = 5_000;

/// GitHub logins: letters, digits and single hyphens, at most 39 characters.
fn valid_login(login: &str) -> bool {
    !login.is_empty()
        && login.len() <= 39
        && login
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl Executor {
    pub async fn run_command(&self, job: &CommandPayload) -> Result<(), JobError> {
        let repo = self
            .repo_of(
                job.repo_id,
                job.installation,
                &job.full_name,
                job.default_branch.as_deref(),
            )
            .await?;
        let word = job.command.as_deref().unwrap_or("unknown");
        let run = self.begin(job, &repo, word).await?;
        if run.decision.is_some() {
            info!(comment = job.comment_id, origin = ?job.origin, "command already handled");
            return Ok(());
        }
        let invocation = match &job.command {
            Ok(w) => commands::invocation(w, &job.args).map_err(|e| e.to_string()),
            Err(why) => Err(why.clone()),
        };
        // Everything that decides whether to answer is read before anything is written.
        let command = invocation.as_ref().ok().map(|i| i.command);
        let policy = self.policy(&repo).await?;
        let has = if command == Some(Command::Help) {
            Permission::None
        } else {
            self.permission_of(&repo, &job.author).await?
        };
        let needs = command.map_or(Permission::Read, |c| required_permission(c, policy.valid()));
        if !command_rules::answers(command, needs, has) {
            let why = format!(
                "@{} has no access to {}; not answered",
                job.author, repo.full_name
            );
            return self
                .finish_as(job, &repo, "ignored", &why, None, false, true)
                .await;
        }
        // Past the hour's replies to this author here, the command runs without a word. A
        // dashboard action has no comment to react to.
        if job.origin == CommandOrigin::Comment && !self.quiet(&repo, job).await? {
            self.react(&repo, job.comment_id, "eyes").await?;
        }
        let invocation = match invocation {
            Ok(invocation) => invocation,
            Err(why) => {
                return self
                    .finish(job, &repo, "refused", &why, Some(&why), false)
                    .await;
            }
        };
        let command = invocation.command;
        // `/good` and `/bad`: authorship, not only permission, decides (executor/signoff.rs).
        if matches!(command, Command::Good | Command::Bad) {
            return self
                .signoff_command(job, &repo, &policy, &invocation, has)
                .await;
        }
        if let Some(why) = command_rules::permission_refusal(command, needs, has, &repo.full_name) {
            return self
                .finish_as(job, &repo, "refused", &why, Some(&why), false, true)
                .await;
        }
        match command {
            Command::Help => {
                let mut text =
                    vec!["Gangway commands (one per comment, on its own line):".to_owned()];
                text.extend(sticky::help_lines(&sticky::command_help(policy.valid())));
                let text = text.join("\n");
                self.finish(job, &repo, "accepted", "help", Some(&text), false)
                    .await
            }
            Command::Unstage => {
                self.store
                    .set_unstaged(repo.id, job.number, Some(&job.author))
                    .await?;
                self.evaluate(&repo, job.number, &job.author, true).await?;
                self.finish(
                    job,
                    &repo,
                    "accepted",
                    "previews torn down; automatic staging paused",
                    None,
                    true,
                )
                .await
            }
            Command::Stage => {
                self.stage_command(job, &repo, &policy, has, &run, invocation.commit.as_deref())
                    .await
            }
            Command::Keep => self.keep_command(job, &repo, &policy, &invocation).await,
            Command::Promote => self.promote_command(job, &repo, &policy, &invocation).await,
            Command::Hold => self.hold_command(job, &repo, &policy, &invocation).await,
            Command::Unhold => self.unhold_command(job, &repo, &policy, &invocation).await,
            Command::Rollback => {
                self.rollback_command(job, &repo, &policy, &invocation)
                    .await
            }
            Command::Cancel => self.cancel_command(job, &repo, &policy, &invocation).await,
            Command::Good | Command::Bad => {
                self.signoff_command(job, &repo, &policy, &invocation, has)
                    .await
            }
        }
    }

    /// `/keep [duration | off]`: pins the PR's preview (capped by `preview.max_keep`), or ends
    /// the pin; the sticky comment shows it.
    async fn keep_command(
        &self,
        job: &CommandPayload,
        repo: &RepoRef,
        policy: &PolicyStatus,
        invocation: &commands::Invocation,
    ) -> Result<(), JobError> {
        let policy = match command_rules::stage_policy(policy) {
            Ok(p) => p,
            Err(why) => {
                return self
                    .finish(job, repo, "refused", &why, Some(&why), false)
                    .await;
            }
        };
        let request = match pinning::request(invocation.text.as_deref()) {
            Ok(r) => r,
            Err(why) => {
                return self
                    .finish(job, repo, "refused", &why, Some(&why), false)
                    .await;
            }
        };
        let (reason, reply) = match request {
            pinning::KeepRequest::Off => {
                self.store.clear_keep(repo.id, job.number).await?;
                (
                    "pin ended".to_owned(),
                    "Pin ended: this preview is torn down again once idle for the policy's TTL, \
                     and may be evicted."
                        .to_owned(),
                )
            }
            pinning::KeepRequest::For(asked) => {
                let max = policy.preview.max_keep;
                let (until, capped) = pinning::until(self.clock.now_ms(), asked, max);
                self.store
                    .set_keep(repo.id, job.number, until, &job.author)
                    .await?;
                (
                    format!("pinned until {until}"),
                    pinning::answer(until, capped, max),
                )
            }
        };
        self.evaluate(repo, job.number, &job.author, false).await?;
        self.finish(job, repo, "accepted", &reason, Some(&reply), true)
            .await
    }

    async fn stage_command(
        &self,
        job: &CommandPayload,
        repo: &RepoRef,
        policy: &PolicyStatus,
        has: Permission,
        run: &CommandRun,
        named: Option<&str>,
    ) -> Result<(), JobError> {
        let policy = match command_rules::stage_policy(policy) {
            Ok(p) => p,
            Err(why) => {
                return self
                    .finish(job, repo, "refused", &why, Some(&why), false)
                    .await;
            }
        };
        // The PR as GitHub says it is now.
        let fetched = self.fetch_pull(repo, job.number).await?;
        if let Some(pr) = &fetched {
            self.store.upsert_pull(pr, self.clock.now_ms()).await?;
            if let Some(seen) = command_rules::head_seen(pr, false) {
                self.store
                    .record_head_seen(repo.id, pr.number, &seen, self.clock.now_ms())
                    .await?;
            }
        }
        let pr = match command_rules::stageable(fetched.as_ref()) {
            Ok(pr) => pr,
            Err(why) => {
                return self
                    .finish(job, repo, "refused", &why, Some(&why), false)
                    .await;
            }
        };
        // What this comment approves is decided once; a retry approves the same commit.
        let approved = match &run.stage_sha {
            Some(sha) => sha.clone(),
            None => {
                let target = match job.origin {
                    // A button approves the commit its page showed, and only that.
                    CommandOrigin::Dashboard { .. } => {
                        command_rules::dashboard_stage_target(&pr.head_sha, named)
                    }
                    CommandOrigin::Comment => {
                        let seen = self.store.heads_seen(repo.id, pr.number).await?;
                        let waited = self.clock.now_ms().saturating_sub(run.started_ms);
                        command_rules::stage_target(
                            &pr.head_sha,
                            named,
                            job.comment_at,
                            &seen,
                            waited < PUSH_EVENT_WAIT_MS,
                        )
                    }
                };
                match target {
                    command_rules::StageTarget::Approve(sha) => match job.origin {
                        CommandOrigin::Comment => {
                            self.store.decide_stage(job.comment_id, &sha).await?
                        }
                        CommandOrigin::Dashboard { action } => {
                            self.store.decide_dashboard_stage(action, &sha).await?
                        }
                    },
                    command_rules::StageTarget::Refuse(why) => {
                        return self
                            .finish(job, repo, "refused", &why, Some(&why), false)
                            .await;
                    }
                    command_rules::StageTarget::Wait(reason) => {
                        return Err(JobError::Defer {
                            until_ms: self.clock.now_ms() + PUSH_EVENT_POLL_MS,
                            reason,
                        });
                    }
                }
            }
        };
        let approval = Approval {
            sha: approved.clone(),
            approver: job.author.clone(),
            permission: has.as_str().to_owned(),
            comment_url: job.comment_url.clone(),
            approved_at: self.clock.now_ms(),
        };
        self.store
            .record_approval(repo.id, pr.number, &approval)
            .await?;
        self.store.set_unstaged(repo.id, pr.number, None).await?;
        let on_record = self
            .store
            .preview_for(repo.id, pr.number, &approved)
            .await?;
        if let Some(p) = command_rules::retry_failed(on_record.as_ref()) {
            self.store.save_preview(&p, self.clock.now_ms()).await?;
        }
        self.evaluate(repo, pr.number, &job.author, true).await?;

        let preview = self
            .store
            .preview_for(repo.id, pr.number, &approved)
            .await?;
        let checks = if approved == pr.head_sha
            && command_rules::answer_needs_checks(pr, preview.as_ref())
        {
            let items = self.fetch_checks(repo, &pr.head_sha).await?;
            Some(CheckSummary::of(&items, &policy.preview.required_checks))
        } else {
            None
        };
        let answer = command_rules::answer(pr, &approved, preview.as_ref(), checks.as_ref());
        self.finish(
            job,
            repo,
            answer.decision,
            &answer.reason,
            answer.reply.as_deref(),
            answer.rocket,
        )
        .await
    }

    /// Registers the command's run (its comment's, or its dashboard action's); returns what an
    /// earlier run already did, if any.
    async fn begin(
        &self,
        job: &CommandPayload,
        repo: &RepoRef,
        word: &str,
    ) -> Result<CommandRun, JobError> {
        let now = self.clock.now_ms();
        Ok(match job.origin {
            CommandOrigin::Comment => {
                self.store
                    .begin_command(job.comment_id, repo.id, job.number, &job.author, word, now)
                    .await?
            }
            CommandOrigin::Dashboard { action } => {
                self.store
                    .begin_dashboard_action(action, repo.id, job.number, &job.author, now)
                    .await?
            }
        })
    }

    /// Records the decision, answers (a reply, and 🚀 on success; from the dashboard, an
    /// announcement on the PR), once.
    pub(super) async fn finish(
        &self,
        job: &CommandPayload,
        repo: &RepoRef,
        decision: &str,
        reason: &str,
        reply: Option<&str>,
        rocket: bool,
    ) -> Result<(), JobError> {
        self.finish_as(job, repo, decision, reason, reply, rocket, false)
            .await
    }

    /// As [`Executor::finish`]; `forbidden`: refused (or ignored) for want of permission, which
    /// the dashboard tells apart from a rule's refusal.
    #[allow(clippy::too_many_arguments)]
    async fn finish_as(
        &self,
        job: &CommandPayload,
        repo: &RepoRef,
        decision: &str,
        reason: &str,
        reply: Option<&str>,
        rocket: bool,
        forbidden: bool,
    ) -> Result<(), JobError> {
        let now = self.clock.now_ms();
        let word = job.command.as_deref().unwrap_or("?");
        let subject = match job.origin {
            CommandOrigin::Comment => {
                format!("command {word} by @{} ({})", job.author, job.comment_url)
            }
            CommandOrigin::Dashboard { action } => format!(
                "command {word} by @{} from the dashboard (action {action})",
                job.author
            ),
        };
        self.store
            .audit(repo.id, job.number, &subject, decision, reason, now)
            .await?;
        if let CommandOrigin::Dashboard { action } = job.origin {
            return self
                .announce(job, repo, action, decision, reason, reply, forbidden)
                .await;
        }
        let quiet = (reply.is_some() || rocket) && self.quiet(repo, job).await?;
        if let Some(reply_text) = reply.filter(|_| !quiet) {
            self.comment(
                repo,
                job.number,
                &format!("{} {}", text::login(&job.author), reply_text),
            )
            .await?;
            self.store.command_replied(job.comment_id).await?;
        }
        if rocket && !quiet {
            self.react(repo, job.comment_id, "rocket").await?;
        }
        self.store
            .finish_command(job.comment_id, decision, reason, now)
            .await?;
        info!(
            comment = job.comment_id,
            decision, reason, "command handled"
        );
        Ok(())
    }

    /// A dashboard action's answer: an announcement on the PR (what a reply would say, or the
    /// reason when a comment would have had only a 🚀), then its outcome for the page. Not
    /// announced: an action `ignored` for want of any access (as a comment would not be
    /// answered), and past the hour's answers to this user on this PR (replies and
    /// announcements count together: each is a write on the installation's budget).
    #[allow(clippy::too_many_arguments)]
    async fn announce(
        &self,
        job: &CommandPayload,
        repo: &RepoRef,
        action: i64,
        decision: &str,
        reason: &str,
        reply: Option<&str>,
        forbidden: bool,
    ) -> Result<(), JobError> {
        let answer = reply.unwrap_or(reason);
        // Announced by an earlier run of this job (it stopped before recording the outcome).
        let announced = self
            .store
            .dashboard_action(action)
            .await?
            .is_some_and(|a| a.announced);
        if decision != "ignored" && !announced && !self.quiet(repo, job).await? {
            let word = job.command.as_deref().unwrap_or("?");
            let command = commands::invocation(word, &job.args).map_or_else(
                |_| format!("/{word}"),
                |i| command_rules::dashboard_command(&i),
            );
            let text = command_rules::dashboard_announcement(
                &job.author,
                &command,
                decision == "accepted",
                answer,
            );
            self.comment(repo, job.number, &text).await?;
            self.store.dashboard_announced(action).await?;
        }
        self.store
            .finish_dashboard_action(action, decision, forbidden, answer, self.clock.now_ms())
            .await?;
        info!(action, decision, reason, "dashboard action handled");
        Ok(())
    }

    /// Whether `job`'s author had their hour's replies on this pull request already
    /// (`command_rules::quiet`): comment replies and dashboard announcements together.
    async fn quiet(&self, repo: &RepoRef, job: &CommandPayload) -> Result<bool, JobError> {
        let hour_ago = self.clock.now_ms().saturating_sub(3_600_000);
        let replies = self
            .store
            .replies_to(repo.id, job.number, &job.author, hour_ago)
            .await?;
        let announced = self
            .store
            .announcements_for(repo.id, job.number, &job.author, hour_ago)
            .await?;
        Ok(command_rules::quiet(replies.saturating_add(announced)))
    }

    async fn react(&self, repo: &RepoRef, comment_id: u64, content: &str) -> Result<(), JobError> {
        match self
            .github
            .react_to_comment(repo.installation, &repo.full_name, comment_id, content)
            .await
        {
            Ok(_) => Ok(()),
            // The comment was deleted meanwhile: nothing to react to, carry on.
            Err(e) if e.status() == Some(404) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The user's permission as GitHub answers now; a user GitHub does not know has none.
    pub(super) async fn permission_of(
        &self,
        repo: &RepoRef,
        login: &str,
    ) -> Result<Permission, JobError> {
        if !valid_login(login) {
            return Ok(Permission::None);
        }
        match self
            .github
            .collaborator_permission(repo.installation, &repo.full_name, login)
            .await
        {
            Ok(a) => Ok(Permission::from_github(
                a.role_name.as_deref(),
                a.permission.as_deref(),
            )),
            Err(e) if e.status() == Some(404) => Ok(Permission::None),
            Err(e) => Err(e.into()),
        }
    }
}
