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

use tracing::info;

use super::Executor;
use super::environments::Claim;
use crate::engine::commands::Invocation;
use crate::engine::promotion::{
    self, Compared, Next, PreviewOutcome, Refusal, environment_of, split_environment,
};
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
        let environment = environment_of(policy, inv.environment.as_deref());
        // The head as GitHub says it is now: the commit that is promoted is the one read here.
        let Some(pr) = self.fetch_pull(repo, job.number).await? else {
            return self
                .refuse(job, repo, "GitHub no longer knows this pull request.")
                .await;
        };
        let sha = pr.head_sha.clone();
        let on_record = self.store.preview_for(repo.id, pr.number, &sha).await?;
        let preview = PreviewOutcome::of(on_record.as_ref());
        let hold = self.store.hold(repo.id, &environment).await?;
        let running = self
            .store
            .running_env_deployment(repo.id, &environment)
            .await?;
        let bad = self.store.bad_sha(repo.id, &sha).await?;
        let request = promotion::Request {
            environment: &environment,
            known: policy.environments.names(),
            sha: &sha,
            force: inv.force,
            preview: &preview,
            // Read by the gates once the cheaper rules pass: they cost a call.
            checks: None,
            checks_required: promotion::promote_needs_checks(policy),
            hold: hold.as_ref(),
            running: running.as_ref(),
            bad: bad.as_ref(),
        };
        if let Err(r) = self.pass_gates(repo, policy, request).await? {
            return self.refuse_rule(job, repo, &r).await;
        }
        let forced = promotion::forced(inv.force, bad.as_ref());
        let reason =
            forced.then(|| format!("forced by @{}: {} was marked bad", job.author, sha.short()));
        let claim = Claim {
            environment: &environment,
            sha: &sha,
            kind: EnvKind::Promote,
            requested_by: &job.author,
            pr_number: Some(pr.number),
            reason: reason.as_deref(),
        };
        match self.claim_and_queue(repo, &claim).await? {
            Err(running) => {
                let r = Refusal::Busy {
                    environment: environment.clone(),
                    running: Box::new(running),
                };
                self.refuse_rule(job, repo, &r).await
            }
            Ok(d) => {
                if forced {
                    self.store.clear_bad(repo.id, &sha).await?;
                }
                info!(%environment, sha = %sha, id = d.id, "promotion accepted");
                let text = promotion::promote_answer(&sha, &environment, forced);
                let reason = format!("promoting {} to {environment}", sha.short());
                self.finish(job, repo, "accepted", &reason, Some(&text), true)
                    .await
            }
        }
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
        let environment = environment_of(policy, inv.environment.as_deref());
        let running = self
            .store
            .running_env_deployment(repo.id, &environment)
            .await?;
        let current = self
            .store
            .current_env_deployment(repo.id, &environment)
            .await?;
        let last_good = match &current {
            Some(c) => {
                self.store
                    .last_good_env_deployment(repo.id, &environment, &c.sha)
                    .await?
            }
            None => None,
        };
        let facts = promotion::RollbackFacts {
            environment: &environment,
            known: policy.environments.names(),
            running: running.as_ref(),
            current: current.as_ref(),
            last_good: last_good.as_ref(),
        };
        let target = match promotion::rollback(&facts) {
            Ok(t) => t,
            Err(r) => return self.refuse_rule(job, repo, &r).await,
        };
        let reason = format!(
            "rollback by @{}: {} marked bad",
            job.author,
            target.from.short()
        );
        let claim = Claim {
            environment: &environment,
            sha: &target.to,
            kind: EnvKind::Rollback,
            requested_by: &job.author,
            pr_number: Some(job.number),
            reason: Some(&reason),
        };
        match self.claim_and_queue(repo, &claim).await? {
            Err(running) => {
                let r = Refusal::Busy {
                    environment,
                    running: Box::new(running),
                };
                self.refuse_rule(job, repo, &r).await
            }
            Ok(_) => {
                self.store
                    .mark_bad(
                        repo.id,
                        &target.from,
                        &environment,
                        &job.author,
                        Some("rolled back"),
                        self.clock.now_ms(),
                    )
                    .await?;
                let hold = self.store.hold(repo.id, &environment).await?;
                let answer = promotion::rollback_answer(
                    &environment,
                    &target,
                    hold.as_ref(),
                    policy.environments.is_production(&environment),
                );
                self.finish(job, repo, "accepted", &reason, Some(&answer), true)
                    .await
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

    async fn refuse(
        &self,
        job: &CommandPayload,
        repo: &RepoRef,
        why: &str,
    ) -> Result<(), JobError> {
        self.finish(job, repo, "refused", why, Some(why), false)
            .await
    }

    async fn refuse_rule(
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
