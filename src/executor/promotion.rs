//! The environment commands: `/promote`, `/hold`, `/unhold`, `/rollback`.
//!
//! Owns gathering the facts the promotion rules need (the PR's head read fresh, its preview,
//! its checks, the environment's hold, running deployment, current and last good commit, bad
//! marks, and GitHub's compare) as the engine's gate sequence (`engine::promotion::next`) and
//! rollback rule (`engine::promotion::rollback`) ask for them, then claiming the environment,
//! recording holds and bad marks, and answering. Never decides whether a promotion or rollback
//! may go, nor which environment a command names (`engine::promotion`): the train's
//! deployments pass the same gates through [`Executor::pass_gates`]. The permission check and
//! the acknowledgement happen before (commands.rs); the deployment itself is an environment job
//! (environments.rs).

use super::Executor;
use super::environments::Claim;
use crate::engine::commands::Invocation;
use crate::engine::promotion::{self, Compared, Next, Refusal, environment_of, split_environment};
use crate::engine::{CheckSummary, PolicyStatus};
use crate::jobs::{CommandPayload, EvaluatePayload, NewJob};
use crate::model::{EnvKind, RepoRef};
use crate::policy::Policy;
use crate::queue::JobError;

impl Executor {
    pub(super) async fn promote_command(
        &self,
        job: &CommandPayload,
        repo: &RepoRef,
        policy: &PolicyStatus,
        inv: &Invocation,
    ) -> Result<(), JobError> {
        let policy = match promotion::valid_policy(policy) {
            Ok(p) => p,
            Err(why) => return self.refuse(job, repo, &why).await,
        };
        // Each environment or target it names is queued, and started where free
        // (executor/targets.rs).
        self.promote_units(job, repo, policy, inv).await
    }

    pub(super) async fn hold_command(
        &self,
        job: &CommandPayload,
        repo: &RepoRef,
        policy: &PolicyStatus,
        inv: &Invocation,
    ) -> Result<(), JobError> {
        let policy = promotion::hold_policy(policy);
        let policy = policy.as_ref();
        let text = inv.text.clone().unwrap_or_default();
        let (environment, reason) = split_environment(policy, &text);
        let reason = (!reason.is_empty()).then_some(reason);
        let hold = self
            .store
            .set_hold(
                repo.id,
                &environment,
                &job.author,
                reason.as_deref(),
                self.clock.now_ms(),
            )
            .await?;
        self.refresh_open_stickies(repo).await?;
        let note = format!(
            "Held by @{}{}",
            job.author,
            reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        );
        self.note_on_current(repo, &environment, &note).await?;
        let answer = promotion::hold_answer(
            &environment,
            &hold,
            policy.environments.is_production(&environment),
        );
        self.finish(
            job,
            repo,
            "accepted",
            &format!("held {environment}"),
            Some(&answer),
            true,
        )
        .await
    }

    pub(super) async fn unhold_command(
        &self,
        job: &CommandPayload,
        repo: &RepoRef,
        policy: &PolicyStatus,
        inv: &Invocation,
    ) -> Result<(), JobError> {
        let policy = promotion::hold_policy(policy);
        let policy = policy.as_ref();
        let environment = environment_of(policy, inv.environment.as_deref());
        let Some(was) = self.store.clear_hold(repo.id, &environment).await? else {
            let why = format!("{environment} is not held; nothing to do.");
            return self.refuse(job, repo, &why).await;
        };
        self.refresh_open_stickies(repo).await?;
        self.note_on_current(
            repo,
            &environment,
            &format!("Hold lifted by @{}", job.author),
        )
        .await?;
        self.wake_train(repo, policy).await?;
        self.wake_queue(repo, policy, &environment).await?;
        let answer = promotion::unhold_answer(&environment, &was);
        self.finish(
            job,
            repo,
            "accepted",
            &format!("unheld {environment}"),
            Some(&answer),
            true,
        )
        .await
    }

    pub(super) async fn rollback_command(
        &self,
        job: &CommandPayload,
        repo: &RepoRef,
        policy: &PolicyStatus,
        inv: &Invocation,
    ) -> Result<(), JobError> {
        let policy = match promotion::valid_policy(policy) {
            Ok(p) => p,
            Err(why) => return self.refuse(job, repo, &why).await,
        };
        let named = environment_of(policy, inv.environment.as_deref());
        let units = policy.environments.units(&named);
        if units.is_empty() {
            let r = Refusal::UnknownEnvironment {
                name: named,
                known: policy.environments.all_names(),
            };
            return self.refuse_rule(job, repo, &r).await;
        }
        let mut answers = Vec::new();
        let mut refusals = Vec::new();
        for unit in &units {
            match self
                .rollback_unit(job, repo, policy, inv, &unit.name())
                .await?
            {
                Ok(answer) => answers.push(answer),
                Err(r) => refusals.push(r),
            }
        }
        if answers.is_empty() {
            return match refusals.as_slice() {
                [r] => self.refuse_rule(job, repo, r).await,
                _ => {
                    let text: Vec<String> = refusals.iter().map(ToString::to_string).collect();
                    self.refuse(job, repo, &text.join(" ")).await
                }
            };
        }
        let mut text = answers.join(" ");
        for r in &refusals {
            text.push_str(&format!(" Not rolled back: {r}"));
        }
        let reason = format!("rollback of {named} by @{}", job.author);
        self.finish(job, repo, "accepted", &reason, Some(&text), true)
            .await
    }

    /// One environment's or target's rollback: to the last good commit, or the one named.
    async fn rollback_unit(
        &self,
        job: &CommandPayload,
        repo: &RepoRef,
        policy: &Policy,
        inv: &Invocation,
        environment: &str,
    ) -> Result<Result<String, Refusal>, JobError> {
        let running = self
            .store
            .running_env_deployment(repo.id, environment)
            .await?;
        let current = self
            .store
            .current_env_deployment(repo.id, environment)
            .await?;
        let last_good = match (&current, inv.commit.as_deref()) {
            (None, _) => None,
            (Some(_), Some(named)) => self.store.succeeded_in(repo.id, environment, named).await?,
            (Some(c), None) => {
                self.store
                    .last_good_env_deployment(repo.id, environment, &c.sha)
                    .await?
            }
        };
        let all_names = policy.environments.all_names();
        let facts = promotion::RollbackFacts {
            environment,
            known: &all_names,
            running: running.as_ref(),
            current: current.as_ref(),
            last_good: last_good.as_ref(),
            named: inv.commit.as_deref(),
        };
        let target = match promotion::rollback(&facts) {
            Ok(t) => t,
            Err(r) => return Ok(Err(r)),
        };
        let reason = format!(
            "rollback by @{}: {} marked bad",
            job.author,
            target.from.short()
        );
        let claim = Claim {
            environment,
            sha: &target.to,
            kind: EnvKind::Rollback,
            requested_by: &job.author,
            pr_number: Some(job.number),
            reason: Some(&reason),
        };
        match self.claim_and_queue(repo, &claim).await? {
            Err(running) => Ok(Err(Refusal::Busy {
                environment: environment.to_owned(),
                running: Box::new(running),
            })),
            Ok(_) => {
                self.store
                    .mark_bad(
                        repo.id,
                        &target.from,
                        environment,
                        &job.author,
                        Some("rolled back"),
                        self.clock.now_ms(),
                    )
                    .await?;
                let hold = self.store.hold(repo.id, environment).await?;
                let production = policy.environments.is_production(environment);
                Ok(Ok(if inv.commit.is_some() {
                    promotion::chosen_rollback_answer(
                        environment,
                        &target,
                        hold.as_ref(),
                        production,
                    )
                } else {
                    promotion::rollback_answer(environment, &target, hold.as_ref(), production)
                }))
            }
        }
    }

    /// Follows `engine::promotion::next` through every gate of a promotion, reading the
    /// commit's checks and GitHub's compare when it asks for them. `/promote` and the train both
    /// come through here.
    pub(super) async fn pass_gates(
        &self,
        repo: &RepoRef,
        policy: &Policy,
        request: promotion::Request<'_>,
    ) -> Result<Result<(), Refusal>, JobError> {
        let current = self
            .store
            .current_env_deployment(repo.id, request.environment)
            .await?
            .map(|d| d.sha);
        let mut checks: Option<CheckSummary> = None;
        let mut compared = Compared::NotAsked;
        loop {
            let gates = promotion::Gates {
                request: promotion::Request {
                    checks: request.checks.or(checks.as_ref()),
                    ..request
                },
                current: current.as_ref(),
                compared,
            };
            match promotion::next(&gates) {
                Next::Go => return Ok(Ok(())),
                Next::Refuse(r) => return Ok(Err(r)),
                Next::ReadChecks => {
                    let items = self.fetch_checks(repo, request.sha).await?;
                    checks = Some(CheckSummary::of(&items, &policy.preview.required_checks));
                }
                Next::Compare { base } => {
                    compared = match self.compare(repo, &base, request.sha).await? {
                        Some(c) => Compared::Said(c.ancestry),
                        None => Compared::Unknown,
                    };
                }
            }
        }
    }

    pub(super) async fn refuse(
        &self,
        job: &CommandPayload,
        repo: &RepoRef,
        why: &str,
    ) -> Result<(), JobError> {
        self.finish(job, repo, "refused", why, Some(why), false)
            .await
    }

    pub(super) async fn refuse_rule(
        &self,
        job: &CommandPayload,
        repo: &RepoRef,
        r: &Refusal,
    ) -> Result<(), JobError> {
        let text = r.to_string();
        let reason = format!("{}: {text}", r.rule());
        self.finish(job, repo, "refused", &reason, Some(&text), false)
            .await
    }

    /// Every open PR's sticky comment shows holds: each is evaluated again.
    async fn refresh_open_stickies(&self, repo: &RepoRef) -> Result<(), JobError> {
        for (number, _) in self.store.open_pulls(repo.id).await? {
            let e = EvaluatePayload::of(repo, number, "hold");
            self.queue.enqueue(&NewJob::of(&e)?).await?;
        }
        Ok(())
    }
}
