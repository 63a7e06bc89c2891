//! Long-lived environments (staging, production): deploying one commit into one, and what
//! follows from how it ends.
//!
//! Owns one environment deployment from claim to end: the GitHub deployment (production ones
//! `production_environment: true`, none transient), `queued → in_progress → success | failure`,
//! the driver run, the previous deployment marked `inactive` once the new one is live (GitHub's
//! `auto_inactive` skips production environments), the PR merged after production when the
//! policy says so, and the automatic rollback of a failed production deployment. A claim
//! (`Store::claim_environment`) makes the environment busy; only this job ends that. Each step
//! is recorded on the row, so a retried job resumes instead of repeating. What may happen in
//! which state, what a refused deployment or an outside deployer's status records, when a PR
//! merges and when a failure rolls back are the engine's (`engine::environments`); the host is
//! `engine::hosts::environment_host`, claimed for the environment before anything is created or
//! run (`Store::claim_host`): one another repository or environment holds refuses the
//! deployment with the reason (`engine::hosts::refusal`), said on its PR.

use serde::Serialize;
use tracing::{info, warn};

use super::Executor;
use super::deploy::{Marked, description, random_token};
use crate::driver::{DeploySpec, DriverAction, command};
use crate::engine::{environments, hosts, text};
use crate::github::rest::{NewDeployment, NewDeploymentStatus};
use crate::jobs::{EnvDeployPayload, NewJob};
use crate::model::{DriverKind, EnvDeployment, EnvKind, EnvState, HostHolder, RepoRef};
use crate::policy::Policy;
use crate::queue::JobError;
use crate::store::NewEnvDeployment;
use crate::types::{CommitSha, PrNumber};

/// An environment deployment's mark on its GitHub deployment (`payload.gangway`); fields in
/// the order of their JSON names.
#[derive(Serialize)]
struct EnvMark<'a> {
    env_deployment_id: i64,
    kind: &'a str,
    pull_request: Option<u64>,
    reason: Option<&'a str>,
    requested_by: &'a str,
    sha: &'a str,
}

/// What to deploy where, and on whose word.
pub struct Claim<'a> {
    pub environment: &'a str,
    pub sha: &'a CommitSha,
    pub kind: EnvKind,
    pub requested_by: &'a str,
    pub pr_number: Option<PrNumber>,
    pub reason: Option<&'a str>,
}

impl Executor {
    /// Makes the environment busy with a new deployment and queues its job; `Err` holds the
    /// deployment already running there.
    pub(crate) async fn claim_and_queue(
        &self,
        repo: &RepoRef,
        c: &Claim<'_>,
    ) -> Result<Result<EnvDeployment, EnvDeployment>, JobError> {
        let token = random_token();
        let claimed = self
            .store
            .claim_environment(
                &NewEnvDeployment {
                    repo_id: repo.id,
                    environment: c.environment,
                    sha: c.sha,
                    kind: c.kind,
                    requested_by: c.requested_by,
                    pr_number: c.pr_number,
                    reason: c.reason,
                    log_token: &token,
                },
                self.clock.now_ms(),
            )
            .await?;
        if let Ok(d) = &claimed {
            self.queue
                .enqueue(&NewJob::of(&EnvDeployPayload::new(repo, d))?)
                .await
                .map_err(JobError::from)?;
            info!(environment = %d.environment, sha = %d.sha, kind = d.kind.as_str(), "environment deployment claimed");
        }
        Ok(claimed)
    }

    /// `https://{host}` of a long-lived environment.
    fn env_url(&self, repo: &RepoRef, environment: &str) -> String {
        format!("https://{}", self.env_host(repo, environment))
    }

    /// The host of a long-lived environment or of one of its targets, and the target's name:
    /// a target's host comes from the template's `{target}` (`engine::hosts::target_host`).
    pub(crate) fn unit_host(
        &self,
        repo: &RepoRef,
        policy: &Policy,
        environment: &str,
    ) -> (String, Option<String>) {
        match policy.environments.resolve(environment) {
            Some(u) if u.target.is_some() => (
                hosts::target_host(
                    &self.settings.environment_host,
                    &u.environment,
                    u.target.as_deref(),
                    &repo.full_name,
                ),
                u.target,
            ),
            _ => (self.env_host(repo, environment), None),
        }
    }

    /// The host of a long-lived environment, from `GANGWAY_ENVIRONMENT_HOST`.
    pub(crate) fn env_host(&self, repo: &RepoRef, environment: &str) -> String {
        hosts::environment_host(
            &self.settings.environment_host,
            environment,
            &repo.full_name,
        )
    }

    pub async fn run_env_deployment(&self, job: &EnvDeployPayload) -> Result<(), JobError> {
        let Some(mut d) = self.store.env_deployment(job.deployment).await? else {
            return Ok(());
        };
        if !environments::in_flight(d.state) {
            return Ok(());
        }
        let repo = self
            .repo_of(
                job.repo_id,
                job.installation,
                &job.full_name,
                job.default_branch.as_deref(),
            )
            .await?;
        let policy = self.policy(&repo).await?;
        let policy = policy.valid().cloned().unwrap_or_default();
        if let Some(state) = &job.external {
            let Some(end) = environments::external_end(d.state, state) else {
                return Ok(());
            };
            return self
                .env_finished(&repo, &policy, &mut d, end.success, end.why.as_deref())
                .await;
        }
        // Deployed already and being verified: carry the verification on, never deploy again.
        if self.resume_verification(&repo, &policy, &mut d).await? {
            return Ok(());
        }
        // One host, one holder, claimed before anything is created or run.
        let (host, target) = self.unit_host(&repo, &policy, &d.environment);
        let claimant = HostHolder::Environment {
            repo: repo.id,
            environment: d.environment.clone(),
        };
        let holder = self
            .store
            .claim_host(&host, &claimant, self.clock.now_ms())
            .await?;
        if let Some(why) = hosts::refusal(&host, &claimant, &holder) {
            return self.env_host_refused(&repo, &policy, &mut d, &why).await;
        }
        if d.deployment_id.is_none() {
            // A hold or a bad mark placed while this waited (a retry, a busy queue) stops it
            // before anything exists on GitHub.
            if let Some(stop) = self.env_stop(&repo, &d).await? {
                return self.env_stopped(&repo, &policy, &mut d, &stop).await;
            }
            self.create_env_deployment(&repo, &policy, &mut d).await?;
            if d.state == EnvState::Failed {
                return self.env_failed(&repo, &policy, &d).await;
            }
        }
        if environments::starts(d.state) {
            self.env_status(&repo, &d, "queued", &queued_text(&d), None)
                .await?;
            d.state = EnvState::Deploying;
            self.store
                .save_env_deployment(&d, self.clock.now_ms())
                .await?;
            if self.settings.driver == DriverKind::Command {
                self.env_status(&repo, &d, "in_progress", "Deploying", None)
                    .await?;
            }
        }
        match self.settings.driver {
            // Something else deploys, from the moment the deployment exists (so the check before
            // creating it was the last one); its deployment_status events end this deployment.
            DriverKind::External => Ok(()),
            DriverKind::Command => {
                // And once more just before the driver runs.
                if let Some(stop) = self.env_stop(&repo, &d).await? {
                    return self.env_stopped(&repo, &policy, &mut d, &stop).await;
                }
                let outcome = command::run(
                    &self.driver_config(crate::driver::Trust::Environment),
                    &env_spec(&repo, &d, DriverAction::Deploy, &host, target),
                )
                .await;
                self.store.append_env_log(d.id, &outcome.log).await?;
                self.env_finished(
                    &repo,
                    &policy,
                    &mut d,
                    outcome.success,
                    (!outcome.success).then_some(outcome.summary.as_str()),
                )
                .await
            }
        }
    }

    /// Whether `d` must stop now, as `engine::environments::stopped` says, on its environment's
    /// hold and its commit's bad mark as they are read now.
    async fn env_stop(
        &self,
        repo: &RepoRef,
        d: &EnvDeployment,
    ) -> Result<Option<environments::Stop>, JobError> {
        let hold = self.store.hold(repo.id, &d.environment).await?;
        let bad = self.store.bad_sha(repo.id, &d.sha).await?;
        Ok(environments::stopped(d, hold.as_ref(), bad.as_ref()))
    }

    /// Stops a deployment accepted earlier: its GitHub deployment, if created, ends `failure`
    /// with the reason, the PR that asked for it is told, the audit log records it, and the
    /// environment is free again (the train looks again: it waits out a hold).
    async fn env_stopped(
        &self,
        repo: &RepoRef,
        policy: &Policy,
        d: &mut EnvDeployment,
        stop: &environments::Stop,
    ) -> Result<(), JobError> {
        warn!(environment = %d.environment, sha = %d.sha, why = %stop.describe(), "environment deployment stopped");
        self.env_status(repo, d, "failure", &stop.status(), None)
            .await?;
        if let Some(number) = d.pr_number {
            self.comment(repo, number, &stop.notice(d)).await?;
        }
        let now = self.clock.now_ms();
        *d = environments::stopped_record(d, stop, now);
        self.store.save_env_deployment(d, now).await?;
        self.store
            .audit(
                repo.id,
                d.pr_number.unwrap_or(PrNumber(0)),
                &format!("{} in {}", d.sha.short(), d.environment),
                "stopped",
                &stop.describe(),
                now,
            )
            .await?;
        self.wake_train(repo, policy).await?;
        self.wake_queue(repo, policy, &d.environment).await
    }

    /// A deployment whose host is someone else's: failed with the reason (the environment is
    /// free again), said on its PR; nothing created or run, no rollback, no commit marked bad.
    async fn env_host_refused(
        &self,
        repo: &RepoRef,
        policy: &Policy,
        d: &mut EnvDeployment,
        why: &str,
    ) -> Result<(), JobError> {
        let now = self.clock.now_ms();
        *d = environments::host_refused(d, why, now);
        self.store.save_env_deployment(d, now).await?;
        warn!(environment = %d.environment, sha = %d.sha, "environment deployment refused: its host is someone else's");
        // A retried job may have created the deployment before the host was taken.
        self.env_status(repo, d, "failure", why, None).await?;
        if let Some(number) = d.pr_number {
            let said = format!(
                "{} the deployment of `{}` to {} was refused: {}.",
                text::requester(&d.requested_by),
                d.sha.short(),
                text::prose_capped(&d.environment, text::NAME_CHARS),
                text::prose(why)
            );
            self.comment(repo, number, &said).await?;
        }
        self.wake_train(repo, policy).await?;
        self.wake_queue(repo, policy, &d.environment).await
    }

    /// A deployment whose job gave up: recorded as failed, so that the environment is free
    /// again, and said on GitHub when GitHub answers.
    pub async fn abandon_env_deployment(
        &self,
        job: &EnvDeployPayload,
        why: &str,
    ) -> Result<(), JobError> {
        let Some(mut d) = self.store.env_deployment(job.deployment).await? else {
            return Ok(());
        };
        if !environments::in_flight(d.state) {
            return Ok(());
        }
        let now = self.clock.now_ms();
        d.state = EnvState::Failed;
        d.finished_at = Some(now);
        d.detail = Some(format!("given up: {why}"));
        self.store.save_env_deployment(&d, now).await?;
        warn!(environment = %d.environment, sha = %d.sha, why, "environment deployment given up");
        if let Some(branch) = &job.default_branch {
            let repo = RepoRef {
                id: job.repo_id,
                installation: job.installation,
                full_name: job.full_name.clone(),
                default_branch: branch.clone(),
            };
            let what = format!("Gangway gave up: {why}");
            if let Err(e) = self.env_status(&repo, &d, "error", &what, None).await {
                warn!(error = %e, "could not tell GitHub that the deployment was given up");
            }
            if let Some(number) = d.pr_number {
                let said = format!(
                    "{} Gangway gave up deploying `{}` to {}: {}. The environment is free again; promote once the cause is fixed.",
                    text::requester(&d.requested_by),
                    d.sha.short(),
                    text::prose_capped(&d.environment, text::NAME_CHARS),
                    text::prose(why)
                );
                if let Err(e) = self.comment(&repo, number, &said).await {
                    warn!(error = %e, "could not tell the pull request that the deployment was given up");
                }
            }
            // The environment is free again: what waits in its queue may start.
            if let Some(policy) = self
                .policy(&repo)
                .await
                .ok()
                .and_then(|p| p.valid().cloned())
                && let Err(e) = self.wake_queue(&repo, &policy, &d.environment).await
            {
                warn!(error = %e, "could not wake the promotion queue");
            }
        }
        Ok(())
    }

    /// The end of a deployment, from our driver or from an outside deployer's status.
    pub(crate) async fn env_finished(
        &self,
        repo: &RepoRef,
        policy: &Policy,
        d: &mut EnvDeployment,
        success: bool,
        why: Option<&str>,
    ) -> Result<(), JobError> {
        // A policy's `verify:` holds a successful deploy until it is verified.
        if success && self.verification_holds(repo, policy, d).await? {
            return Ok(());
        }
        let now = self.clock.now_ms();
        if success {
            let url = self.env_url(repo, &d.environment);
            d.state = EnvState::Live;
            d.live_at = Some(now);
            d.finished_at = Some(now);
            d.detail = None;
            self.store.save_env_deployment(d, now).await?;
            if self.settings.driver == DriverKind::Command {
                let what = format!("{} is live", d.environment);
                self.env_status(repo, d, "success", &what, Some(&url))
                    .await?;
            }
            info!(environment = %d.environment, sha = %d.sha, "environment deployment live");
            self.retire_previous(repo, d).await?;
            self.after_live(repo, policy, d).await?;
        } else {
            d.state = EnvState::Failed;
            d.finished_at = Some(now);
            d.detail = why.map(str::to_owned);
            self.store.save_env_deployment(d, now).await?;
            if self.settings.driver == DriverKind::Command {
                let what = format!("Deploy failed: {}", why.unwrap_or("see the log"));
                self.env_status(repo, d, "failure", &what, None).await?;
            }
            warn!(environment = %d.environment, sha = %d.sha, why = why.unwrap_or(""), "environment deployment failed");
            self.env_failed(repo, policy, d).await?;
        }
        self.refresh_target_sticky(repo, policy, d).await?;
        self.wake_train(repo, policy).await?;
        self.wake_queue(repo, policy, &d.environment).await
    }

    async fn create_env_deployment(
        &self,
        repo: &RepoRef,
        policy: &Policy,
        d: &mut EnvDeployment,
    ) -> Result<(), JobError> {
        if d.create_attempted
            && let Some(id) = self
                .find_own_deployment(
                    repo,
                    d.sha.as_str(),
                    &d.environment,
                    "env_deployment_id",
                    d.id,
                )
                .await?
        {
            d.deployment_id = Some(id);
            self.store
                .save_env_deployment(d, self.clock.now_ms())
                .await?;
            return Ok(());
        }
        d.create_attempted = true;
        self.store
            .save_env_deployment(d, self.clock.now_ms())
            .await?;
        let production = policy.environments.in_production(&d.environment);
        let body = NewDeployment {
            auto_merge: false,
            description: description(&queued_text(d)),
            environment: d.environment.clone(),
            payload: Marked {
                gangway: EnvMark {
                    env_deployment_id: d.id,
                    kind: d.kind.as_str(),
                    pull_request: d.pr_number.map(|n| n.0),
                    reason: d.reason.as_deref(),
                    requested_by: &d.requested_by,
                    sha: d.sha.as_str(),
                },
            },
            production_environment: production,
            ref_: d.sha.as_str().to_owned(),
            required_contexts: Vec::new(),
            task: "deploy".into(),
            transient_environment: false,
        };
        match self
            .github
            .create_deployment(repo.installation, &repo.full_name, &body)
            .await
        {
            Ok(created) => {
                info!(deployment = created, environment = %d.environment, sha = %d.sha, "environment deployment created");
                d.deployment_id = Some(created);
            }
            Err(e) if e.status() == Some(422) => {
                *d = environments::deployment_refused(d, &e.to_string(), self.clock.now_ms());
            }
            Err(e) => return Err(e.into()),
        }
        self.store
            .save_env_deployment(d, self.clock.now_ms())
            .await?;
        Ok(())
    }

    pub(super) async fn env_status(
        &self,
        repo: &RepoRef,
        d: &EnvDeployment,
        state: &str,
        what: &str,
        environment_url: Option<&str>,
    ) -> Result<(), JobError> {
        let Some(id) = d.deployment_id else {
            return Ok(());
        };
        let body = NewDeploymentStatus {
            auto_inactive: false,
            description: description(what),
            environment_url: environment_url.map(str::to_owned),
            log_url: Some(self.log_url_for(&d.log_token)),
            state: state.to_owned(),
        };
        self.github
            .create_deployment_status(repo.installation, &repo.full_name, id, &body)
            .await?;
        Ok(())
    }

    /// Writes a hold (or its end) into GitHub's deployment history: a status with the same
    /// state on the deployment the environment runs, whose description names who and why.
    pub(super) async fn note_on_current(
        &self,
        repo: &RepoRef,
        environment: &str,
        what: &str,
    ) -> Result<(), JobError> {
        let Some(d) = self
            .store
            .current_env_deployment(repo.id, environment)
            .await?
        else {
            return Ok(());
        };
        let url = self.env_url(repo, environment);
        self.env_status(repo, &d, "success", what, Some(&url)).await
    }

    /// Every other deployment still live in the environment is now replaced: `inactive`.
    async fn retire_previous(&self, repo: &RepoRef, d: &EnvDeployment) -> Result<(), JobError> {
        for mut old in self
            .store
            .live_env_deployments(repo.id, &d.environment)
            .await?
        {
            if old.id == d.id {
                continue;
            }
            let what = format!("Replaced by {} ({})", d.sha.short(), d.kind.as_str());
            self.env_status(repo, &old, "inactive", &what, None).await?;
            old.state = EnvState::Inactive;
            self.store
                .save_env_deployment(&old, self.clock.now_ms())
                .await?;
        }
        Ok(())
    }

    /// After a live deployment: the PR merged (production, `/promote`, `merge: true`) and told.
    async fn after_live(
        &self,
        repo: &RepoRef,
        policy: &Policy,
        d: &EnvDeployment,
    ) -> Result<(), JobError> {
        let Some(number) = d.pr_number else {
            return Ok(());
        };
        let url = self.env_url(repo, &d.environment);
        let mut said = format!(
            "commit `{}` is live in {}: {}",
            d.sha.short(),
            text::prose_capped(&d.environment, text::NAME_CHARS),
            text::url(&url)
        );
        if environments::merges_after_live(d, policy)
            || (d.kind == EnvKind::Promote
                && policy.promotion.merge
                && policy
                    .environments
                    .resolve(&d.environment)
                    .is_some_and(|u| policy.environments.is_production(&u.environment))
                && self.completes_environment(repo, policy, d).await?)
        {
            match self
                .github
                .merge_pull(
                    repo.installation,
                    &repo.full_name,
                    number,
                    &d.sha,
                    policy.promotion.merge_method.as_str(),
                )
                .await
            {
                Ok(_) => said.push_str(&format!(
                    "; merged ({}), as the policy says.",
                    policy.promotion.merge_method.as_str()
                )),
                Err(e) if matches!(e.status(), Some(405 | 409 | 422)) => said.push_str(&format!(
                    ". It could not be merged ({}): merge it by hand once GitHub allows.",
                    text::prose(&e.to_string())
                )),
                Err(e) => return Err(e.into()),
            }
        }
        self.comment(
            repo,
            number,
            &format!("{} {said}", text::requester(&d.requested_by)),
        )
        .await?;
        Ok(())
    }

    /// A failed deployment: told on its PR; in production with `auto_rollback`, the commit is
    /// marked bad and the last good one redeployed.
    pub(super) async fn env_failed(
        &self,
        repo: &RepoRef,
        policy: &Policy,
        d: &EnvDeployment,
    ) -> Result<(), JobError> {
        self.target_failed(repo, policy, d).await?;
        if let Some(number) = d.pr_number {
            let said = format!(
                "{} the deployment of `{}` to {} failed: {}. See its log: {}",
                text::requester(&d.requested_by),
                d.sha.short(),
                text::prose_capped(&d.environment, text::NAME_CHARS),
                text::prose(d.detail.as_deref().unwrap_or("no reason given")),
                self.log_url_for(&d.log_token)
            );
            self.comment(repo, number, &said).await?;
        }
        if !environments::rolls_back(d, policy) {
            return Ok(());
        }
        let reason = format!(
            "automatic rollback: the deployment of {} failed",
            d.sha.short()
        );
        self.store
            .mark_bad(
                repo.id,
                &d.sha,
                &d.environment,
                "gangway",
                Some(&reason),
                self.clock.now_ms(),
            )
            .await?;
        self.store
            .audit(
                repo.id,
                d.pr_number.unwrap_or(PrNumber(0)),
                &format!("{} in {}", d.sha.short(), d.environment),
                "rollback",
                &reason,
                self.clock.now_ms(),
            )
            .await?;
        let Some(good) = self
            .store
            .last_good_env_deployment(repo.id, &d.environment, &d.sha)
            .await?
        else {
            warn!(environment = %d.environment, "automatic rollback: no earlier good deployment");
            return Ok(());
        };
        let claim = Claim {
            environment: &d.environment,
            sha: &good.sha,
            kind: EnvKind::Rollback,
            requested_by: crate::model::GANGWAY_REQUESTER,
            pr_number: d.pr_number,
            reason: Some(&reason),
        };
        if let Err(running) = self.claim_and_queue(repo, &claim).await? {
            warn!(environment = %d.environment, running = running.id, "automatic rollback: the environment is busy");
        }
        Ok(())
    }
}

/// The first status's words: who asked for what.
fn queued_text(d: &EnvDeployment) -> String {
    let from = d
        .pr_number
        .map(|n| format!(" from #{}", n.0))
        .unwrap_or_default();
    match d.kind {
        EnvKind::Promote => format!("Promoted by @{}{from}: {}", d.requested_by, d.sha.short()),
        EnvKind::Rollback => format!(
            "Rollback by @{}: {}{}",
            d.requested_by,
            d.sha.short(),
            d.reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ),
        EnvKind::Train => format!(
            "Train: {} after {}",
            d.sha.short(),
            d.reason.as_deref().unwrap_or("its wait")
        ),
    }
}

/// What the driver is told about a run for the long-lived environment deployment `d`, served
/// at `host` (a target's: with its `target`).
pub(crate) fn env_spec(
    repo: &RepoRef,
    d: &EnvDeployment,
    action: DriverAction,
    host: &str,
    target: Option<String>,
) -> DeploySpec {
    DeploySpec {
        action,
        repository: repo.full_name.clone(),
        pr_number: d.pr_number.map_or(0, |n| n.0),
        sha: d.sha.to_string(),
        host: host.to_owned(),
        url: format!("https://{host}"),
        environment: d.environment.clone(),
        deployment_id: d.deployment_id.unwrap_or(0),
        target,
        slot: None,
        alias_host: None,
    }
}
