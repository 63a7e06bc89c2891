//! Running the train: read the default branch's head and its checks, take one step of the
//! timetable (`engine::train`), and carry it out: schedule the next wake-up as a durable job,
//! deploy through the same promotion gates as `/promote` (`Executor::pass_gates`; into an
//! environment with targets, one queued promotion per target: `Executor::train_fan_out`), tell merged
//! pull requests when their change arrives. Never decides a step, a gate, what a refusal does
//! to the train or what a pull request is told: the engine (`engine::train`,
//! `engine::promotion`) does.

use tracing::{info, warn};

use super::Executor;
use super::environments::Claim;
use crate::engine::CheckSummary;
use crate::engine::promotion::{self, PreviewOutcome, Refusal};
use crate::engine::signoff::Gate;
use crate::engine::train::{self, Refused, Step, Train};
use crate::jobs::{JobKey, JobKind, NewJob, TrainPayload};
use crate::model::{EnvDeployment, EnvKind, RepoRef};
use crate::policy::{OnTargetFailure, Policy};
use crate::queue::JobError;
use crate::types::CommitSha;

impl Executor {
    /// Queues a look at the train now, when the repository has one.
    pub(crate) async fn wake_train(&self, repo: &RepoRef, policy: &Policy) -> Result<(), JobError> {
        if policy.train.is_some() {
            self.schedule_train(repo, self.clock.now_ms()).await?;
        }
        Ok(())
    }

    /// Queues the train's job at `at`, unless one already waits to run by then.
    pub(crate) async fn schedule_train(&self, repo: &RepoRef, at: i64) -> Result<(), JobError> {
        if self
            .store
            .job_waiting_until(JobKind::Train, &JobKey::train(repo.id), at)
            .await?
        {
            return Ok(());
        }
        self.queue
            .enqueue(&NewJob::of(&TrainPayload::of(repo))?.at(at))
            .await
            .map_err(JobError::from)?;
        Ok(())
    }

    pub async fn run_train(&self, job: &TrainPayload) -> Result<(), JobError> {
        let repo = self
            .repo_of(
                job.repo_id,
                job.installation,
                &job.full_name,
                job.default_branch.as_deref(),
            )
            .await?;
        let status = self.policy(&repo).await?;
        let Some(policy) = status.valid() else {
            return Ok(());
        };
        let Some(timetable) = &policy.train else {
            return Ok(());
        };
        let head = self.branch_head(&repo).await?;
        let items = self.fetch_checks(&repo, &head).await?;
        let (checks, summary) = train::head_checks(&items, &policy.preview.required_checks);
        let stored: Train = match self.store.train_state(repo.id).await? {
            None => Train::default(),
            Some(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
                warn!(repo = %repo.full_name, error = %e, "unreadable train state: starting afresh");
                Train::default()
            }),
        };
        let holds = self.store.holds(repo.id).await?;
        let names = policy.environments.names();
        let mut current = Vec::with_capacity(names.len());
        for name in names {
            let units = policy.environments.targets_of(name);
            if units.is_empty() {
                current.push(
                    self.store
                        .current_env_deployment(repo.id, name)
                        .await?
                        .map(|d| d.sha),
                );
                continue;
            }
            // An environment with targets runs the commit every target runs.
            let mut currents = Vec::with_capacity(units.len());
            for u in policy.environments.units(name) {
                currents.push(
                    self.store
                        .current_env_deployment(repo.id, &u.name())
                        .await?
                        .map(|d| d.sha),
                );
            }
            current.push(crate::engine::targets::common_commit(&currents));
        }
        // While the train waits for a fan-out: each target's newest deployment.
        let mut newest = Vec::new();
        if stored.fanned
            && let Some(name) = names.get(stored.next)
        {
            for u in policy.environments.units(name) {
                let target = u.name();
                let d = self
                    .store
                    .env_deployments_of(repo.id, &target, 1)
                    .await?
                    .into_iter()
                    .next();
                newest.push((target, d));
            }
        }
        let awaited = match stored.awaiting {
            Some(id) => self.store.env_deployment(id).await?,
            None => None,
        };
        let bad = self.store.bad_sha(repo.id, &head).await?.is_some();
        let now = self.clock.now_ms();
        let (mut next, steps) = train::step(
            &stored,
            &train::View {
                policy: timetable,
                environments: names,
                head: &head,
                checks: &checks,
                now_ms: now,
                holds: &holds,
                current: &current,
                awaited: awaited.as_ref(),
                bad,
                failed_target: crate::engine::targets::failed_target(&newest, &head),
                halt: policy.promotion.on_target_failure == OnTargetFailure::Halt,
            },
        );
        for step in steps {
            match step {
                Step::WakeAt(at) => self.schedule_train(&repo, at).await?,
                Step::Deploy { environment } => {
                    if policy.environments.is_production(&environment) {
                        // `train.signoff`: the authors carried sign off first.
                        let production = current.last().cloned().flatten();
                        match self
                            .signoff_gate(&repo, policy, timetable, &head, production.as_ref())
                            .await?
                        {
                            Gate::Go => {}
                            // Asking is done by the gate itself; never answered.
                            Gate::Ask(_) => continue,
                            Gate::WaitUntil(at) => {
                                self.schedule_train(&repo, at).await?;
                                continue;
                            }
                            Gate::Stop(why) => {
                                info!(%environment, "train stopped: {why}");
                                next.stopped = Some(why);
                                continue;
                            }
                        }
                    }
                    let fans_out = !policy.environments.targets_of(&environment).is_empty();
                    let outcome = if fans_out {
                        self.train_fan_out(&repo, policy, &next, &head, &environment, &summary)
                            .await?
                            .map(|()| None)
                    } else {
                        self.train_deploy(&repo, policy, &next, &head, &environment, &summary)
                            .await?
                            .map(Some)
                    };
                    match outcome {
                        Ok(Some(d)) => next.awaiting = Some(d.id),
                        Ok(None) => next.fanned = true,
                        Err(refusal) => match train::refused(&refusal, now) {
                            Refused::LookAgainAt(at) => self.schedule_train(&repo, at).await?,
                            Refused::Stop(why) => {
                                info!(%environment, rule = refusal.rule(), "train stopped: {refusal}");
                                next.stopped = Some(why);
                            }
                        },
                    }
                }
                Step::Notify { schedule } => {
                    self.notify_merged(&repo, current.last().cloned().flatten(), &head, &schedule)
                        .await?;
                }
            }
        }
        if next != stored {
            let text = serde_json::to_string(&next)
                .map_err(|e| JobError::Permanent(format!("train state: {e}")))?;
            self.store
                .save_train_state(repo.id, &text, self.clock.now_ms())
                .await?;
        }
        Ok(())
    }

    /// The carried commit into `environment`, under the rules of `/promote` (its checks stand
    /// in for a preview).
    async fn train_deploy(
        &self,
        repo: &RepoRef,
        policy: &Policy,
        t: &Train,
        sha: &CommitSha,
        environment: &str,
        checks: &CheckSummary,
    ) -> Result<Result<EnvDeployment, Refusal>, JobError> {
        let running = self
            .store
            .running_env_deployment(repo.id, environment)
            .await?;
        if promotion::train_resumes(running.as_ref(), sha)
            && let Some(r) = running
        {
            // Ours, claimed by a run that stopped before recording it.
            return Ok(Ok(r));
        }
        let hold = self.store.hold(repo.id, environment).await?;
        let bad = self.store.bad_sha(repo.id, sha).await?;
        let request = promotion::Request {
            environment,
            known: policy.environments.names(),
            sha,
            force: false,
            preview: &PreviewOutcome::NotRequired,
            checks: Some(checks),
            checks_required: true,
            hold: hold.as_ref(),
            running: running.as_ref(),
            bad: bad.as_ref(),
        };
        if let Err(r) = self.pass_gates(repo, policy, request).await? {
            return Ok(Err(r));
        }
        let reason = policy
            .train
            .as_ref()
            .map(|tt| train::claim_reason(tt, t))
            .unwrap_or_default();
        let claim = Claim {
            environment,
            sha,
            kind: EnvKind::Train,
            requested_by: crate::model::GANGWAY_REQUESTER,
            pr_number: None,
            reason: Some(&reason),
        };
        Ok(match self.claim_and_queue(repo, &claim).await? {
            Ok(d) => Ok(d),
            Err(running) => Err(Refusal::Busy {
                environment: environment.to_owned(),
                running: Box::new(running),
            }),
        })
    }

    /// One comment per merged pull request on the train: when it reaches each environment.
    async fn notify_merged(
        &self,
        repo: &RepoRef,
        production: Option<CommitSha>,
        head: &CommitSha,
        schedule: &[(String, i64)],
    ) -> Result<(), JobError> {
        let commits = match &production {
            Some(base) => match self.compare(repo, base, head).await? {
                Some(c) => c.commits,
                None => vec![head.clone()],
            },
            None => vec![head.clone()],
        };
        let numbers = self.store.merged_pulls_with(repo.id, &commits).await?;
        let body = train::notice(head, schedule);
        for number in numbers {
            let now = self.clock.now_ms();
            match self.store.train_notice(repo.id, number).await? {
                // Told already, in these words.
                Some((Some(_), Some(old))) if old == body => {}
                Some((Some(id), _)) => {
                    self.github
                        .edit_issue_comment(repo.installation, &repo.full_name, id, &body)
                        .await?;
                    self.store
                        .save_train_notice(repo.id, number, Some(id), Some(&body), now)
                        .await?;
                }
                _ => {
                    let id = self.comment(repo, number, &body).await?;
                    self.store
                        .save_train_notice(repo.id, number, Some(id), Some(&body), now)
                        .await?;
                }
            }
        }
        Ok(())
    }
}
