//! Staging and tearing down one preview: the GitHub deployment, its statuses, and the driver.
//!
//! Each step is recorded on the preview row, so a retry after a crash resumes where it stopped:
//! the deployment is created once (a lost answer is looked up, not re-created), statuses move
//! forward only, and the driver runs again only for a stage that never finished. Before
//! anything is created or run the preview's host is claimed for its pull request
//! (`Store::claim_host`); one held by another pull request or repository fails the preview
//! with the reason (`engine::hosts::refusal`). What each step writes on the record (a restaged
//! preview, a teardown's start, a refused deployment or host) and whether a teardown runs the
//! driver are the engine's (`engine::previews`, `engine::capacity::teardown_runs_driver`,
//! `engine::hosts::teardown_touches_host`); a teardown gives the host up once no preview of
//! its pull request stands there.

use serde::Serialize;
use tracing::{info, warn};

use super::Executor;
use crate::driver::command::{self, CommandDriverConfig};
use crate::driver::{DeploySpec, DriverAction, Trust};
use crate::engine::slots::{self, SlotChoice};
use crate::engine::{TeardownReason, capacity, hosts, previews};
use crate::github::rest::{NewDeployment, NewDeploymentStatus};
use crate::jobs::{EvaluatePayload, Eviction, NewJob};
use crate::model::SlotTaken;
use crate::model::{DriverKind, HostHolder, Preview, PreviewState, PullRequest, RepoRef};
use crate::policy::Policy;
use crate::queue::JobError;
use crate::store::NewPreview;
use crate::types::CommitSha;

/// Gangway's mark on a deployment it creates (`payload.gangway`): how it finds its own again
/// and how it tells them from others'. Fields of each mark in the order of their JSON names.
#[derive(Serialize)]
pub(super) struct Marked<T> {
    pub(super) gangway: T,
}

/// A preview's mark.
#[derive(Serialize)]
struct PreviewMark<'a> {
    approved_by: Option<ApprovedBy<'a>>,
    preview_id: i64,
    pull_request: u64,
    requested_by: &'a str,
    sha: &'a str,
}

/// Who approved the commit (a maintainer's `/stage`), kept on the deployment.
#[derive(Serialize)]
struct ApprovedBy<'a> {
    at_ms: i64,
    comment: &'a str,
    login: &'a str,
    permission: &'a str,
    /// The commit approved: always this deployment's.
    sha: &'a str,
}

/// GitHub caps status descriptions at 140 characters.
pub(super) fn description(s: &str) -> String {
    s.chars().take(140).collect()
}

/// An unguessable token for a deploy log's address.
pub(super) fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

impl Executor {
    fn log_url(&self, p: &Preview) -> String {
        self.log_url_for(&p.log_token)
    }

    async fn spec(
        &self,
        pr: &PullRequest,
        p: &Preview,
        action: DriverAction,
    ) -> Result<DeploySpec, JobError> {
        let slot = self
            .store
            .slot_holders(pr.repo.id)
            .await?
            .into_iter()
            .find(|h| h.pr_number == pr.number && self.slot_host(pr, &h.slot) == p.host)
            .map(|h| h.slot);
        Ok(DeploySpec {
            action,
            repository: pr.repo.full_name.clone(),
            pr_number: pr.number.0,
            sha: p.sha.to_string(),
            host: p.host.clone(),
            url: format!("https://{}", p.host),
            environment: p.environment.clone(),
            deployment_id: p.deployment_id.unwrap_or(0),
            target: None,
            slot,
            alias_host: self.alias_host(pr),
        })
    }

    /// The host of `slot` in `pr`'s repository ("" if it cannot render: never, the template
    /// was validated with the longest names).
    pub(super) fn slot_host(&self, pr: &PullRequest, slot: &str) -> String {
        self.settings
            .slot_template
            .slot(slot, &pr.repo.full_name)
            .unwrap_or_default()
    }

    /// `pr`'s stable alias host, when the operator set a template.
    pub(super) fn alias_host(&self, pr: &PullRequest) -> Option<String> {
        self.settings
            .alias_template
            .as_ref()
            .and_then(|t| t.alias(pr.number.0, &pr.repo.full_name).ok())
    }

    /// The driver's configuration for a run of this trust: the variables passed through are
    /// that trust's list only (`GANGWAY_DRIVER_PASS_ENV`, `…_FORK`, `…_ENVIRONMENTS`).
    pub(super) fn driver_config(&self, trust: Trust) -> CommandDriverConfig {
        CommandDriverConfig {
            pass_env: self.settings.pass_env.for_trust(trust).to_vec(),
            ..self.settings.command.clone()
        }
    }

    /// The slot `pr`'s next preview goes to, claimed: `Ok(None)` when the policy has no slots,
    /// `Err(reason)` inside when every slot is pinned. A slot taken from another pull request
    /// carries its host's claim along, and that pull request is told (its evaluation tears
    /// its preview down without touching the host, which is now this one's).
    async fn claim_slot(
        &self,
        pr: &PullRequest,
        policy: &Policy,
    ) -> Result<Option<Result<String, String>>, JobError> {
        if policy.preview.slots.is_empty() {
            return Ok(None);
        }
        for _ in 0..3 {
            let now = self.clock.now_ms();
            let holders = self.store.slot_holders(pr.repo.id).await?;
            let last = self.store.last_slot(pr.repo.id, pr.number).await?;
            let pinned: Vec<_> = self
                .store
                .kept_pulls(now)
                .await?
                .into_iter()
                .filter(|(r, _)| *r == pr.repo.id)
                .map(|(_, n)| n)
                .collect();
            match slots::choose(
                &policy.preview.slots,
                &holders,
                pr.number,
                last.as_deref(),
                &pinned,
            ) {
                SlotChoice::Own(slot) => return Ok(Some(Ok(slot))),
                SlotChoice::Free(slot) => {
                    if self
                        .store
                        .give_slot(pr.repo.id, &slot, pr.number, now)
                        .await?
                    {
                        return Ok(Some(Ok(slot)));
                    }
                }
                SlotChoice::Take {
                    slot,
                    from,
                    seen_deployed_at,
                } => {
                    let host = self.slot_host(pr, &slot);
                    if self
                        .store
                        .take_slot(
                            pr.repo.id,
                            &slot,
                            from,
                            seen_deployed_at,
                            pr.number,
                            &host,
                            now,
                        )
                        .await?
                    {
                        self.tell_slot_taken(pr, &slot, from, &host).await?;
                        return Ok(Some(Ok(slot)));
                    }
                }
                SlotChoice::Full => {
                    return Ok(Some(Err(slots::full_reason(policy.preview.slots.len()))));
                }
            }
        }
        Err(JobError::transient(
            "the preview slots kept changing while one was chosen",
        ))
    }

    /// The pull request `from` lost `slot` to `pr`: its evaluation tears its preview there down
    /// (without the driver: the host is `pr`'s now) and tells it why.
    async fn tell_slot_taken(
        &self,
        pr: &PullRequest,
        slot: &str,
        from: crate::types::PrNumber,
        host: &str,
    ) -> Result<(), JobError> {
        let theirs = self.store.previews_of(pr.repo.id, from).await?;
        for p in theirs.iter().filter(|p| p.host == host && p.state.is_up()) {
            let mut job = EvaluatePayload::of(&pr.repo, from, "slots");
            job.evict = Some(Eviction {
                preview_id: p.id,
                max_previews: 0,
                slot_taken: Some(SlotTaken {
                    slot: slot.to_owned(),
                    by: pr.number,
                }),
            });
            self.queue.enqueue(&NewJob::of(&job)?).await?;
        }
        Ok(())
    }

    /// Stages `sha` of `pr`: records the preview, creates its deployment (or adopts `adopt`,
    /// one created by someone else), posts `queued`, runs the driver with `in_progress`, and ends
    /// with `success` (URL and log link) or `failure` (log link).
    pub(crate) async fn stage(
        &self,
        pr: &PullRequest,
        policy: &Policy,
        sha: &CommitSha,
        requested_by: &str,
        adopt: Option<u64>,
    ) -> Result<(), JobError> {
        let now = self.clock.now_ms();
        let environment = policy.preview.environment.render(pr.number.0);
        let slot = self.claim_slot(pr, policy).await?;
        let host = match &slot {
            Some(Ok(slot)) => self.slot_host(pr, slot),
            _ => self
                .settings
                .host_template
                .render(sha, pr.number, &pr.repo.full_name)
                .map_err(|e| JobError::Permanent(format!("preview host: {e}")))?,
        };
        let token = random_token();
        let mut p = self
            .store
            .insert_preview(
                &NewPreview {
                    repo_id: pr.repo.id,
                    pr_number: pr.number,
                    sha,
                    environment: &environment,
                    host: &host,
                    driver: self.settings.driver,
                    deployment_id: adopt,
                    log_token: &token,
                    requested_by,
                },
                now,
            )
            .await?;
        if let Some(again) = previews::restaged(&p) {
            p = again;
            // On a slot, a preview that comes back goes to the slot it has now.
            if matches!(slot, Some(Ok(_))) && p.host != host {
                self.store.move_preview_to(p.id, &host).await?;
                p.host = host.clone();
            }
            self.store.save_preview(&p, now).await?;
        }
        if let Some(Err(why)) = &slot {
            return self.host_refused(pr, p, why).await;
        }
        // One host, one holder, claimed before anything is created or run.
        let claimant = HostHolder::of_preview(&p);
        let holder = self.store.claim_host(&p.host, &claimant, now).await?;
        if let Some(why) = hosts::refusal(&p.host, &claimant, &holder) {
            return self.host_refused(pr, p, &why).await;
        }
        if p.deployment_id.is_none() {
            self.create_deployment(pr, &mut p, requested_by).await?;
            if p.state == PreviewState::Failed {
                return Ok(());
            }
        }
        if p.last_status.is_none() {
            self.post_status(&pr.repo, &mut p, "queued", "Queued by Gangway", None)
                .await?;
        }
        match p.driver {
            DriverKind::External => {
                // Something else deploys; its deployment_status events tell us how it went.
                p.state = PreviewState::Deploying;
                self.store.save_preview(&p, self.clock.now_ms()).await?;
                Ok(())
            }
            DriverKind::Command => self.run_deploy(pr, &mut p).await,
        }
    }

    /// The preview's host is someone else's: failed with the reason (the sticky comment says
    /// it), no deployment created and nothing run. A deployment someone made by hand for it is
    /// told `failure` with the reason; the record still says the driver never ran.
    async fn host_refused(&self, pr: &PullRequest, p: Preview, why: &str) -> Result<(), JobError> {
        let p = previews::host_refused(&p, why);
        self.store.save_preview(&p, self.clock.now_ms()).await?;
        warn!(sha = %p.sha, host = %p.host, "preview refused: its host is someone else's");
        if let Some(id) = p.deployment_id {
            let body = NewDeploymentStatus {
                auto_inactive: false,
                description: description(why),
                environment_url: None,
                log_url: Some(self.log_url(&p)),
                state: "failure".to_owned(),
            };
            self.github
                .create_deployment_status(pr.repo.installation, &pr.repo.full_name, id, &body)
                .await?;
        }
        Ok(())
    }

    async fn create_deployment(
        &self,
        pr: &PullRequest,
        p: &mut Preview,
        requested_by: &str,
    ) -> Result<(), JobError> {
        let repo = &pr.repo;
        if p.create_attempted
            && let Some(id) = self
                .find_own_deployment(repo, p.sha.as_str(), &p.environment, "preview_id", p.id)
                .await?
        {
            p.deployment_id = Some(id);
            self.store.save_preview(p, self.clock.now_ms()).await?;
            return Ok(());
        }
        p.create_attempted = true;
        self.store.save_preview(p, self.clock.now_ms()).await?;
        // Who approved this exact commit (a maintainer's /stage), for the deployment's record.
        let approval = self
            .store
            .approvals_of(repo.id, pr.number)
            .await?
            .into_iter()
            .rev()
            .find(|a| a.sha == p.sha);
        let approved_by = approval.as_ref().map(|a| ApprovedBy {
            at_ms: a.approved_at,
            comment: &a.comment_url,
            login: &a.approver,
            permission: &a.permission,
            sha: a.sha.as_str(),
        });
        let body = NewDeployment {
            auto_merge: false,
            description: description(&format!("Preview of #{} at {}", pr.number, p.sha.short())),
            environment: p.environment.clone(),
            payload: Marked {
                gangway: PreviewMark {
                    approved_by,
                    preview_id: p.id,
                    pull_request: pr.number.0,
                    requested_by,
                    sha: p.sha.as_str(),
                },
            },
            production_environment: false,
            ref_: p.sha.as_str().to_owned(),
            required_contexts: Vec::new(),
            task: "deploy".into(),
            transient_environment: true,
        };
        let created = match self
            .github
            .create_deployment(repo.installation, &repo.full_name, &body)
            .await
        {
            Ok(id) => id,
            Err(e) if e.status() == Some(422) => {
                *p = previews::deployment_refused(p, &e.to_string());
                self.store.save_preview(p, self.clock.now_ms()).await?;
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        info!(deployment = created, sha = %p.sha, environment = %p.environment, "deployment created");
        p.deployment_id = Some(created);
        self.store.save_preview(p, self.clock.now_ms()).await?;
        Ok(())
    }

    async fn post_status(
        &self,
        repo: &RepoRef,
        p: &mut Preview,
        state: &str,
        what: &str,
        environment_url: Option<&str>,
    ) -> Result<(), JobError> {
        let Some(id) = p.deployment_id else {
            return Ok(());
        };
        let body = NewDeploymentStatus {
            // Gangway marks superseded deployments inactive itself (transient environments are
            // skipped by GitHub's auto_inactive anyway).
            auto_inactive: false,
            description: description(what),
            environment_url: environment_url.map(str::to_owned),
            log_url: Some(self.log_url(p)),
            state: state.to_owned(),
        };
        self.github
            .create_deployment_status(repo.installation, &repo.full_name, id, &body)
            .await?;
        p.last_status = Some(state.to_owned());
        self.store.save_preview(p, self.clock.now_ms()).await?;
        Ok(())
    }

    async fn run_deploy(&self, pr: &PullRequest, p: &mut Preview) -> Result<(), JobError> {
        p.state = PreviewState::Deploying;
        if p.last_status.as_deref() != Some("in_progress") {
            // Recorded with the status (one write): a crash before it is recorded posts
            // `in_progress` again, as a crash between the post and its record always could.
            self.post_status(&pr.repo, p, "in_progress", "Deploying", None)
                .await?;
        } else {
            self.store.save_preview(p, self.clock.now_ms()).await?;
        }
        // The PR's first deploy (nothing of it stands) creates; later pushes deploy.
        let siblings = self.store.previews_of(pr.repo.id, pr.number).await?;
        let action = if previews::first_deploy(p, &siblings) {
            DriverAction::Create
        } else {
            DriverAction::Deploy
        };
        if let Some(alias) = self.alias_host(pr) {
            // The alias is the PR's alone: claimed like a host (a refusal leaves it unset).
            let claimant = HostHolder::of_preview(p);
            let holder = self
                .store
                .claim_host(&alias, &claimant, self.clock.now_ms())
                .await?;
            if holder != claimant {
                warn!(%alias, "alias host is someone else's; the driver gets none");
            }
        }
        let mut spec = self.spec(pr, p, action).await?;
        if let Some(alias) = &spec.alias_host {
            let holder = self.store.host_holder(alias).await?;
            if holder.as_ref() != Some(&HostHolder::of_preview(p)) {
                spec.alias_host = None;
            }
        }
        let outcome = command::run(&self.driver_config(slots::trust_of(pr)), &spec).await;
        let now = self.clock.now_ms();
        if outcome.success {
            self.store.slot_deployed(pr.repo.id, pr.number, now).await?;
            let url = format!("https://{}", p.host);
            p.state = PreviewState::Live;
            p.environment_url = Some(url.clone());
            p.deployed_at = Some(now);
            p.detail = None;
            self.store
                .save_preview_logging(p, Some(&outcome.log), now)
                .await?;
            self.post_status(&pr.repo, p, "success", "Preview is live", Some(&url))
                .await?;
            info!(sha = %p.sha, %url, "preview live");
        } else {
            p.state = PreviewState::Failed;
            p.detail = Some(outcome.summary.clone());
            self.store
                .save_preview_logging(p, Some(&outcome.log), now)
                .await?;
            self.post_status(
                &pr.repo,
                p,
                "failure",
                &format!("Deploy failed: {}", outcome.summary),
                None,
            )
            .await?;
            warn!(sha = %p.sha, summary = %outcome.summary, "preview deploy failed");
        }
        Ok(())
    }

    /// Driver teardown (once), then the deployment marked `inactive`. A failing teardown is
    /// retried by the job queue until it succeeds or the job is dead: never silently half-alive.
    pub(crate) async fn teardown(
        &self,
        pr: &PullRequest,
        preview_id: i64,
        reason: &TeardownReason,
    ) -> Result<(), JobError> {
        let previews = self.store.previews_of(pr.repo.id, pr.number).await?;
        let Some(mut p) = previews.iter().find(|p| p.id == preview_id).cloned() else {
            return Ok(());
        };
        if p.state == PreviewState::TornDown {
            return Ok(());
        }
        if let Some(begun) = previews::teardown_begun(&p, reason) {
            p = begun;
            self.store.save_preview(&p, self.clock.now_ms()).await?;
        }
        let holder = self.store.host_holder(&p.host).await?;
        let touches_host = hosts::teardown_touches_host(&p, holder.as_ref(), &previews);
        if capacity::teardown_runs_driver(&p, touches_host) {
            let spec = self.spec(pr, &p, DriverAction::Teardown).await?;
            let outcome = command::run(&self.driver_config(slots::trust_of(pr)), &spec).await;
            self.store
                .append_preview_log(p.id, &format!("\n{}", outcome.log))
                .await?;
            if !outcome.success {
                return Err(JobError::transient(format!(
                    "teardown of {} failed: {}",
                    p.host, outcome.summary
                )));
            }
        }
        if p.last_status.as_deref() != Some("inactive") {
            let what = format!("Torn down: {}", p.detail.clone().unwrap_or_default());
            self.post_status(&pr.repo, &mut p, "inactive", &what, None)
                .await?;
        }
        p.state = PreviewState::TornDown;
        p.torn_down_at = Some(self.clock.now_ms());
        self.store.save_preview(&p, self.clock.now_ms()).await?;
        if !hosts::shares_host(&p, &previews) {
            self.store
                .release_host(&p.host, &HostHolder::of_preview(&p))
                .await?;
        }
        // Nothing of the PR stands any more: its slot is free, its alias and pin gone.
        if !previews::any_other_up(&p, &previews) {
            self.store.release_slot(pr.repo.id, pr.number).await?;
            if let Some(alias) = self.alias_host(pr) {
                self.store
                    .release_host(&alias, &HostHolder::of_preview(&p))
                    .await?;
            }
        }
        info!(sha = %p.sha, reason = %reason.describe(), "preview torn down");
        Ok(())
    }

    /// Deletes the PR's GitHub environment. Without the Administration permission GitHub says
    /// 403: Gangway says so once in its log and carries on.
    pub(crate) async fn delete_environment(
        &self,
        repo: &RepoRef,
        environment: &str,
    ) -> Result<(), JobError> {
        match self
            .github
            .delete_environment(repo.installation, &repo.full_name, environment)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.status() == Some(404) => Ok(()),
            Err(e) if e.status() == Some(403) => {
                let first = self
                    .admin_warned
                    .lock()
                    .map(|mut s| s.insert(repo.id))
                    .unwrap_or(false);
                if first {
                    warn!(repo = %repo.full_name, %environment,
                        "cannot delete the environment: the App lacks the Administration (write) permission; \
                         grant it or turn off preview.delete_environment. Not repeated for this repository.");
                }
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}
