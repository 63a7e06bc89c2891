//! The executor: carries out the engine's actions. The only place that combines GitHub, the
//! driver and the store.
//!
//! Owns: reading the situation (store, GitHub), asking the engine, performing each action
//! idempotently (every step is recorded before or after it happens, so a retried job resumes
//! instead of repeating: one deployment per PR commit, one sticky comment per PR), and deciding
//! again until the engine asks for nothing more. Never decides what should exist: that is the
//! engine's.

pub mod background;
pub mod commands;
mod deploy;
pub mod environments;
mod errors;
pub mod processor;
mod promotion;
pub mod reads;
mod signoff;
mod targets;
pub mod train;
mod verification;
mod work;

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use tracing::{info, warn};

use crate::clock::SharedClock;
use crate::driver::PassEnv;
use crate::driver::command::CommandDriverConfig;
use crate::engine::echo::{self, Maker, Subject};
use crate::engine::hosts::HostTemplate;
use crate::engine::links::{self, NameTemplate};
use crate::engine::sticky::{self, StickyInput};
use crate::engine::team::{self, TeamView};
use crate::engine::{self, Action, CheckSummary, ChecksRead, PolicyStatus, Situation};
use crate::github::GitHub;
use crate::model::{DriverKind, PullRequest, RepoRef, Sticky};
use crate::queue::{JobError, Queue};
use crate::store::Store;
use crate::types::{PrNumber, RepoId};

/// The operator's choices the executor needs.
#[derive(Debug, Clone)]
pub struct ExecSettings {
    pub public_url: String,
    pub host_template: HostTemplate,
    /// Host of a long-lived environment: `{environment}`, `{repo}`.
    pub environment_host: String,
    pub driver: DriverKind,
    pub command: CommandDriverConfig,
    /// The variables passed through to the driver, by trust (replaces `command.pass_env`).
    pub pass_env: PassEnv,
    /// The stable per-PR alias host (`GANGWAY_ALIAS_HOST_TEMPLATE`), if set.
    pub alias_template: Option<NameTemplate>,
    /// A slot's host (`GANGWAY_SLOT_HOST_TEMPLATE`), for repositories with `preview.slots`.
    pub slot_template: NameTemplate,
    pub policy_ttl: Duration,
}

pub struct Executor {
    pub store: Store,
    pub github: GitHub,
    pub clock: SharedClock,
    pub settings: ExecSettings,
    /// For follow-up work that must not be lost between two jobs (an environment deployment
    /// once claimed, the train's next wake-up).
    pub queue: Queue,
    /// Repositories where deleting an environment was refused: said once, then quiet.
    admin_warned: Mutex<HashSet<RepoId>>,
}

/// The most rounds of decide-and-act for one evaluation: stage, then replace the old preview,
/// then nothing. More means the engine and the world disagree; stop and let a retry look again.
const MAX_ROUNDS: usize = 4;

impl Executor {
    pub fn new(
        store: Store,
        github: GitHub,
        clock: SharedClock,
        settings: ExecSettings,
        queue: Queue,
    ) -> Executor {
        Executor {
            store,
            github,
            clock,
            settings,
            queue,
            admin_warned: Mutex::default(),
        }
    }

    /// Brings one PR's previews in line with the situation, then updates its sticky comment.
    /// `requested_by` names who caused this evaluation (recorded in new deployments).
    /// `read_checks`: read the head commit's checks if the decision needs them even when no
    /// check event was seen for it (a check event, the reconciler or a command asks).
    pub async fn evaluate(
        &self,
        repo: &RepoRef,
        number: PrNumber,
        requested_by: &str,
        read_checks: bool,
    ) -> Result<(), JobError> {
        let pr = match self.store.pull(repo.id, number).await? {
            Some((pr, _)) => pr,
            None => match self.fetch_pull(repo, number).await? {
                Some(pr) => {
                    self.store.upsert_pull(&pr, self.clock.now_ms()).await?;
                    pr
                }
                None => {
                    info!(pr = %number, "pull request not found on GitHub; nothing to do");
                    return Ok(());
                }
            },
        };
        let policy = self.policy(repo).await?;
        let approvals = self.store.approvals_of(repo.id, number).await?;
        let unstaged_by = self.store.unstaged_by(repo.id, number).await?;
        let kept_until = self.store.keep_of(repo.id, number).await?.map(|(u, _)| u);
        let mut checks: Option<CheckSummary> = None;
        for round in 0..MAX_ROUNDS {
            let previews = self.store.previews_of(repo.id, number).await?;
            let mut situation = Situation {
                pr: &pr,
                policy: &policy,
                checks: None,
                previews: &previews,
                approvals: &approvals,
                unstaged_by: unstaged_by.as_deref(),
                now_ms: self.clock.now_ms(),
                kept_until,
            };
            let read = checks.is_none()
                && match engine::checks_read(&situation, read_checks) {
                    ChecksRead::Skip => false,
                    ChecksRead::Read => true,
                    ChecksRead::IfSignalled => {
                        self.store.has_check_signal(repo.id, &pr.head_sha).await?
                    }
                };
            if read {
                let items = self.fetch_checks(repo, &pr.head_sha).await?;
                let required = policy
                    .valid()
                    .map(|p| p.preview.required_checks.clone())
                    .unwrap_or_default();
                checks = Some(CheckSummary::of(&items, &required));
            }
            situation.checks = checks.as_ref();
            let actions = engine::decide(&situation);
            if actions.is_empty() {
                break;
            }
            info!(round, ?actions, gate = ?engine::gate(&situation), "acting");
            for action in actions {
                self.perform(&pr, &policy, action, requested_by).await?;
            }
            if round + 1 == MAX_ROUNDS {
                warn!(
                    "still acting after {MAX_ROUNDS} rounds; leaving the rest to the next evaluation"
                );
            }
        }
        self.update_sticky(&pr, &policy, checks.as_ref()).await
    }

    async fn perform(
        &self,
        pr: &PullRequest,
        policy: &PolicyStatus,
        action: Action,
        requested_by: &str,
    ) -> Result<(), JobError> {
        let record = engine::audit_record(&action, requested_by);
        self.store
            .audit(
                pr.repo.id,
                pr.number,
                &record.subject,
                record.decision,
                &record.reason,
                self.clock.now_ms(),
            )
            .await?;
        match action {
            Action::Stage { sha } => {
                let Some(policy) = policy.valid() else {
                    return Ok(());
                };
                self.stage(pr, policy, &sha, requested_by, None).await
            }
            Action::Teardown { preview_id, reason } => self.teardown(pr, preview_id, &reason).await,
            Action::DeleteEnvironment { environment } => {
                self.delete_environment(&pr.repo, &environment).await
            }
        }
    }

    /// Renders the sticky comment and writes it if it changed: created once, then edited.
    async fn update_sticky(
        &self,
        pr: &PullRequest,
        policy: &PolicyStatus,
        checks: Option<&CheckSummary>,
    ) -> Result<(), JobError> {
        let previews = self.store.previews_of(pr.repo.id, pr.number).await?;
        let approvals = self.store.approvals_of(pr.repo.id, pr.number).await?;
        let unstaged_by = self.store.unstaged_by(pr.repo.id, pr.number).await?;
        let keep = self.store.keep_of(pr.repo.id, pr.number).await?;
        let kept_until = keep.as_ref().map(|(u, _)| *u);
        let situation = Situation {
            pr,
            policy,
            checks,
            previews: &previews,
            approvals: &approvals,
            unstaged_by: unstaged_by.as_deref(),
            now_ms: self.clock.now_ms(),
            kept_until,
        };
        let gate = engine::gate(&situation);
        let commands = sticky::command_help(policy.valid());
        let holds = self.store.holds(pr.repo.id).await?;
        let targets = match policy.valid() {
            Some(p) => self.target_sticky_lines(&pr.repo, p, pr.number).await?,
            None => Vec::new(),
        };
        let view = self
            .team_view(pr, policy, &previews, keep.as_ref(), situation.now_ms)
            .await?;
        let body = sticky::render(&StickyInput {
            pr,
            gate: &gate,
            previews: &previews,
            approval: situation.head_approval(),
            expires_at_ms: engine::expires_at(&situation),
            public_url: &self.settings.public_url,
            commands: &commands,
            holds: &holds,
            targets: &targets,
            team: Some(&view),
        });
        let sticky = self
            .store
            .pull(pr.repo.id, pr.number)
            .await?
            .map(|(_, s)| s)
            .unwrap_or_default();
        if sticky.body.as_deref() == Some(body.as_str()) {
            return Ok(());
        }
        let exists = sticky.comment_id.is_some() || sticky.create_attempted;
        if !exists && !sticky::worth_creating(pr, &gate, &previews) {
            return Ok(());
        }
        let id = self.write_sticky(pr, &sticky, &body).await?;
        self.store
            .set_sticky(pr.repo.id, pr.number, id, &body)
            .await?;
        Ok(())
    }

    /// The facts of the sticky comment's extra lines: alias link, slot, pin, links to changed
    /// pages (the PR's file list read once per head commit, only when the policy maps routes
    /// and the head preview is live), what becomes of the environment.
    async fn team_view(
        &self,
        pr: &PullRequest,
        policy: &PolicyStatus,
        previews: &[crate::model::Preview],
        keep: Option<&(i64, String)>,
        now_ms: i64,
    ) -> Result<TeamView, JobError> {
        let Some(policy) = policy.valid() else {
            return Ok(TeamView::default());
        };
        let live = previews
            .iter()
            .find(|p| p.sha == pr.head_sha && p.state == crate::model::PreviewState::Live);
        let slot = if policy.preview.slots.is_empty() || !pr.open {
            None
        } else {
            self.store
                .slot_holders(pr.repo.id)
                .await?
                .into_iter()
                .find(|h| h.pr_number == pr.number)
                .map(|h| h.slot)
        };
        let mut route_links = Vec::new();
        if let (Some(p), false) = (live, policy.preview.routes.is_empty()) {
            let files = match self
                .store
                .changed_files(pr.repo.id, pr.number, pr.head_sha.as_str())
                .await?
            {
                Some(files) => files,
                None => {
                    let files = self
                        .github
                        .pull_files(pr.repo.installation, &pr.repo.full_name, pr.number)
                        .await?;
                    self.store
                        .save_changed_files(pr.repo.id, pr.number, pr.head_sha.as_str(), &files)
                        .await?;
                    files
                }
            };
            route_links = links::route_links(
                &policy.preview.routes,
                &files,
                &format!("https://{}", p.host),
            );
        }
        let pinned = keep.filter(|(u, _)| engine::pinning::holds(Some(*u), now_ms) && pr.open);
        Ok(TeamView {
            alias_url: self.alias_host(pr).map(|h| format!("https://{h}")),
            slot,
            kept_until: pinned.map(|(u, _)| *u),
            kept_by: pinned.map(|(_, b)| b.clone()),
            route_links,
            environment: Some(team::hygiene(&policy.preview, pr.number.0)),
        })
    }

    /// Posts a comment on a PR (every line defused: Gangway never writes a command) and returns
    /// its id.
    pub(crate) async fn comment(
        &self,
        repo: &RepoRef,
        number: PrNumber,
        text: &str,
    ) -> Result<u64, JobError> {
        let body = text
            .lines()
            .map(sticky::defuse)
            .collect::<Vec<_>>()
            .join("\n");
        Ok(self
            .github
            .create_issue_comment(repo.installation, &repo.full_name, number, &body)
            .await?)
    }

    /// The address of a deploy log page.
    pub(crate) fn log_url_for(&self, token: &str) -> String {
        format!(
            "{}/logs/{token}",
            self.settings.public_url.trim_end_matches('/')
        )
    }

    async fn write_sticky(
        &self,
        pr: &PullRequest,
        sticky: &Sticky,
        body: &str,
    ) -> Result<u64, JobError> {
        let repo = &pr.repo;
        let existing = match sticky.comment_id {
            Some(id) => Some(id),
            // A create was sent before and its answer lost: find it instead of posting again.
            None if sticky.create_attempted => self.find_sticky(pr).await?,
            None => None,
        };
        if let Some(id) = existing {
            match self
                .github
                .edit_issue_comment(repo.installation, &repo.full_name, id, body)
                .await
            {
                Ok(_) => return Ok(id),
                // Someone deleted it: post a new one.
                Err(e) if e.status() == Some(404) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.store.sticky_attempted(repo.id, pr.number).await?;
        Ok(self
            .github
            .create_issue_comment(repo.installation, &repo.full_name, pr.number, body)
            .await?)
    }

    /// Gangway's sticky comment among every comment on the PR (however many pages they take):
    /// one with the sticky marker that this App posted. A marked comment anyone else wrote
    /// (another App or bot quoting it, a person pasting it) is never taken over and edited.
    async fn find_sticky(&self, pr: &PullRequest) -> Result<Option<u64>, JobError> {
        let comments = self
            .github
            .issue_comments(pr.repo.installation, &pr.repo.full_name, pr.number)
            .await?;
        let app_id = Some(self.github.app_id());
        Ok(comments
            .into_iter()
            .find(|c| {
                let maker = Maker {
                    subject: Subject::Comment,
                    via_app: c.performed_via_github_app.as_ref().map(|a| a.id),
                    bot_account: c.user.is_bot() || echo::is_bot_login(&c.user.login),
                    marked: false,
                };
                c.body.starts_with(sticky::MARKER) && echo::origin(&maker, app_id).is_echo()
            })
            .map(|c| c.id))
    }
}
