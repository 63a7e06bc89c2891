//! Verifying an environment deployment that succeeded, before it counts (`verify:`).
//!
//! Owns carrying a verification out: the record started once the deploy succeeded (so a
//! restart never deploys again: the job resumes the verification), the `in_progress`
//! "Verifying" status, `GANGWAY_VERIFY_COMMAND` run by the command driver's rules
//! (`GANGWAY_ACTION=verify`, `GANGWAY_URL` set; its output appended to the deployment's log),
//! the commit's checks read while they are missing (the deployment's `env_deploy` job deferred,
//! every `engine::verification::POLL_MS`, up to the deadline), and the end: a passed verification
//! makes the deployment live (`Executor::env_finished`), a failed one ends it `failure` with
//! the reason and the log, marks the commit bad in that environment, stops the train, applies
//! `auto_rollback`, and tells the pull requests involved. What is verified, the verdict and
//! the words are `engine::verification`'s. The environment stays busy (its deployment
//! `deploying`) until the verification ends.

use tracing::{info, warn};

use super::Executor;
use crate::driver::{DriverAction, command};
use crate::engine::checks::CheckSummary;
use crate::engine::environments;
use crate::engine::verification::{self, Verdict};
use crate::jobs::{EnvDeployPayload, NewJob};
use crate::model::{DriverKind, EnvDeployment, EnvState, RepoRef, Verification, VerifyState};
use crate::policy::Policy;
use crate::queue::JobError;
use crate::types::{CommitSha, PrNumber};

impl Executor {
    /// Asked by `env_finished` when a deployment succeeded: `true` when its verification holds
    /// it (not live yet). A verification is started (recorded, said in an `in_progress`
    /// status, and carried on by the deployment's job); a passed one lets it go live.
    pub(crate) async fn verification_holds(
        &self,
        repo: &RepoRef,
        policy: &Policy,
        d: &EnvDeployment,
    ) -> Result<bool, JobError> {
        match self.store.verification(d.id).await? {
            Some(v) => Ok(v.state != VerifyState::Passed),
            None => {
                let Some(plan) = verification::plan(policy, d) else {
                    return Ok(false);
                };
                let v = self
                    .store
                    .begin_verification(&verification::begin(d, plan, self.clock.now_ms()))
                    .await?;
                info!(environment = %d.environment, sha = %d.sha, "environment deployment deployed; verifying");
                self.env_status(
                    repo,
                    d,
                    "in_progress",
                    &verification::verifying_status(&v),
                    None,
                )
                .await?;
                self.verify_later(repo, d, self.clock.now_ms()).await?;
                Ok(true)
            }
        }
    }

    /// Asked by `run_env_deployment` for a deployment still in flight: `true` when it has a
    /// verification, which this carries on (the deploy itself is never run again).
    pub(crate) async fn resume_verification(
        &self,
        repo: &RepoRef,
        policy: &Policy,
        d: &mut EnvDeployment,
    ) -> Result<bool, JobError> {
        let Some(v) = self.store.verification(d.id).await? else {
            return Ok(false);
        };
        self.continue_verification(repo, policy, d, v).await?;
        Ok(true)
    }

    /// The deployment's job again at `at` (serialized with every job of its environment).
    async fn verify_later(
        &self,
        repo: &RepoRef,
        d: &EnvDeployment,
        at: i64,
    ) -> Result<(), JobError> {
        self.queue
            .enqueue(&NewJob::of(&EnvDeployPayload::new(repo, d))?.at(at))
            .await
            .map_err(JobError::from)?;
        Ok(())
    }

    async fn continue_verification(
        &self,
        repo: &RepoRef,
        policy: &Policy,
        d: &mut EnvDeployment,
        mut v: Verification,
    ) -> Result<(), JobError> {
        let mut checks: Option<CheckSummary> = None;
        // Each verdict but the last moves the record on; a few rounds are always enough.
        for _ in 0..4 {
            let now = self.clock.now_ms();
            let verdict = verification::judge(&v, checks.as_ref(), now);
            match verdict {
                Verdict::RunCommand => {
                    let (success, summary) = self.run_verify_command(repo, policy, d).await?;
                    let ran = verification::command_ran(&v, success, &summary);
                    if !self.store.save_verification(&ran).await? {
                        // Its end was recorded meanwhile: follow the record.
                        v = self.reload_verification(&v).await?;
                        continue;
                    }
                    v = ran;
                }
                Verdict::ReadChecks => {
                    let items = self.fetch_checks(repo, &v.sha).await?;
                    let required = verification::required_for(&v, &items).unwrap_or_default();
                    checks = Some(CheckSummary::of(&items, &required));
                }
                // This same job looks again then, without spending an attempt.
                Verdict::WaitUntil(at) => {
                    return Err(JobError::Defer {
                        until_ms: at,
                        reason: format!(
                            "verification of {} in {}: waiting for its checks",
                            d.sha.short(),
                            d.environment
                        ),
                    });
                }
                Verdict::Passed | Verdict::Failed(_) | Verdict::TimedOut(_) => {
                    if v.state == VerifyState::Running {
                        let ended = verification::ended(&v, &verdict, now);
                        if !self.store.save_verification(&ended).await? {
                            v = self.reload_verification(&v).await?;
                            continue;
                        }
                        v = ended;
                    }
                    return match verdict {
                        Verdict::Passed => self.verified(repo, policy, d).await,
                        Verdict::Failed(why) | Verdict::TimedOut(why) => {
                            self.verification_failed(repo, policy, d, &v, &why).await
                        }
                        _ => Ok(()),
                    };
                }
            }
        }
        Err(JobError::transient(format!(
            "verification of deployment {} did not settle; looking again",
            d.id
        )))
    }

    async fn reload_verification(&self, v: &Verification) -> Result<Verification, JobError> {
        Ok(self
            .store
            .verification(v.env_deployment_id)
            .await?
            .unwrap_or_else(|| v.clone()))
    }

    /// Runs `GANGWAY_VERIFY_COMMAND` for `d`, its output appended to the deployment's log:
    /// (passed, the one line that says how it ended).
    async fn run_verify_command(
        &self,
        repo: &RepoRef,
        policy: &Policy,
        d: &EnvDeployment,
    ) -> Result<(bool, String), JobError> {
        if self.settings.command.verify.is_empty() {
            let why = "the policy asks for a verify command but GANGWAY_VERIFY_COMMAND is not set";
            self.store.append_env_log(d.id, why).await?;
            return Ok((false, why.to_owned()));
        }
        let (host, target) = self.unit_host(repo, policy, &d.environment);
        let outcome = command::run(
            &self.driver_config(crate::driver::Trust::Environment),
            &super::environments::env_spec(repo, d, DriverAction::Verify, &host, target),
        )
        .await;
        self.store.append_env_log(d.id, &outcome.log).await?;
        info!(environment = %d.environment, sha = %d.sha, success = outcome.success, "verify command finished");
        Ok((outcome.success, outcome.summary))
    }

    /// Verified: the deployment counts (live, the previous one retired, the PR told and merged
    /// as the policy says, the train woken: its bake counts from now).
    async fn verified(
        &self,
        repo: &RepoRef,
        policy: &Policy,
        d: &mut EnvDeployment,
    ) -> Result<(), JobError> {
        info!(environment = %d.environment, sha = %d.sha, "environment deployment verified");
        if self.settings.driver == DriverKind::External {
            // Our "verifying" status came after the deployer's success: say the end.
            let url = format!("https://{}", self.env_host(repo, &d.environment));
            let what = format!("{} is live (verified)", d.environment);
            self.env_status(repo, d, "success", &what, Some(&url))
                .await?;
        }
        self.env_finished(repo, policy, d, true, None).await
    }

    /// A failed verification: the deployment ends `failure` with the reason and its log, the
    /// commit is marked bad in the environment (the train stops for it), `auto_rollback` is
    /// applied, and the pull requests involved are told.
    async fn verification_failed(
        &self,
        repo: &RepoRef,
        policy: &Policy,
        d: &mut EnvDeployment,
        v: &Verification,
        why: &str,
    ) -> Result<(), JobError> {
        if !environments::in_flight(d.state) {
            return Ok(());
        }
        let now = self.clock.now_ms();
        warn!(environment = %d.environment, sha = %d.sha, why, "verification failed");
        // The pull requests to tell, read before the environment's record changes.
        let previous = self
            .store
            .current_env_deployment(repo.id, &d.environment)
            .await?
            .map(|p| p.sha);
        d.state = EnvState::Failed;
        d.finished_at = Some(now);
        d.detail = Some(verification::summary(v));
        self.store.save_env_deployment(d, now).await?;
        self.env_status(repo, d, "failure", &verification::failure_status(why), None)
            .await?;
        // Its PR is told, and a production deployment rolls back under `auto_rollback`.
        self.env_failed(repo, policy, d).await?;
        let reason = verification::bad_reason(d, why);
        self.store
            .mark_bad(
                repo.id,
                &d.sha,
                &d.environment,
                crate::model::GANGWAY_REQUESTER,
                Some(&reason),
                self.clock.now_ms(),
            )
            .await?;
        self.store
            .audit(
                repo.id,
                d.pr_number.unwrap_or(PrNumber(0)),
                &format!("{} in {}", d.sha.short(), d.environment),
                "verification failed",
                why,
                self.clock.now_ms(),
            )
            .await?;
        let notice = verification::failure_notice(
            d,
            why,
            environments::rolls_back(d, policy),
            &self.log_url_for(&d.log_token),
        );
        for number in self.carried_pulls(repo, previous.as_ref(), &d.sha).await? {
            if Some(number) != d.pr_number {
                self.comment(repo, number, &notice).await?;
            }
        }
        self.wake_train(repo, policy).await
    }

    /// The merged pull requests that `head` carries beyond `base` (every commit between them,
    /// or `head` alone when there is no base or GitHub no longer knows it).
    pub(crate) async fn carried_pulls(
        &self,
        repo: &RepoRef,
        base: Option<&CommitSha>,
        head: &CommitSha,
    ) -> Result<Vec<PrNumber>, JobError> {
        let commits = match base.filter(|b| *b != head) {
            Some(base) => match self.compare(repo, base, head).await? {
                Some(c) => c.commits,
                None => vec![head.clone()],
            },
            None => vec![head.clone()],
        };
        Ok(self.store.merged_pulls_with(repo.id, &commits).await?)
    }
}
