//! Targets and the promotion queue, carried out: `/promote` into an environment with targets
//! (one queued promotion per target, started up to the policy's limit), a busy environment's
//! promotions queued and started in order when it is free (`promotion_queue` jobs), `/cancel`,
//! `/rollback` per target and to a named commit, a failing target under
//! `on_target_failure: halt`, and the sticky comment's line per target.
//!
//! Never decides: which queued promotions start, positions, halting and every text are
//! `engine::targets`; each promotion still passes `engine::promotion`'s gates (through
//! `pass_gates`), when it is asked for and again when its turn comes.

use tracing::info;

use super::Executor;
use super::deploy::random_token;
use crate::engine::commands::Invocation;
use crate::engine::promotion::{self, PreviewOutcome, Refusal};
use crate::engine::targets;
use crate::jobs::{CommandPayload, EnvDeployPayload, NewJob, PromotionQueuePayload};
use crate::model::{EnvDeployment, EnvKind, QueueState, QueuedPromotion, RepoRef};
use crate::policy::{Policy, Unit};
use crate::queue::JobError;
use crate::store::{NewEnvDeployment, NewQueued, Queued, StartNow, StartOutcome};
use crate::types::PrNumber;

impl Executor {
    /// `/promote [environment] [--force]` under a valid policy: the gates for each environment
    /// or target it names, then one queued promotion each, started at once where free.
    pub(super) async fn promote_units(
        &self,
        job: &CommandPayload,
        repo: &RepoRef,
        policy: &Policy,
        inv: &Invocation,
    ) -> Result<(), JobError> {
        let named = promotion::environment_of(policy, inv.environment.as_deref());
        let all_names = policy.environments.all_names();
        let units = policy.environments.units(&named);
        let Some(family) = units.first().map(|u| u.environment.clone()) else {
            let r = Refusal::UnknownEnvironment {
                name: named,
                known: all_names,
            };
            return self.refuse_rule(job, repo, &r).await;
        };
        // The head as GitHub says it is now: the commit that is promoted is the one read here.
        let Some(pr) = self.fetch_pull(repo, job.number).await? else {
            return self
                .refuse(job, repo, "GitHub no longer knows this pull request.")
                .await;
        };
        let sha = pr.head_sha.clone();
        let on_record = self.store.preview_for(repo.id, pr.number, &sha).await?;
        let preview = PreviewOutcome::of(on_record.as_ref());
        let bad = self.store.bad_sha(repo.id, &sha).await?;
        let mut accepted: Vec<&Unit> = Vec::new();
        let mut refused: Vec<(String, Refusal)> = Vec::new();
        for u in &units {
            let env = u.name();
            let hold = self.unit_hold(repo, u).await?;
            let request = promotion::Request {
                environment: &env,
                known: &all_names,
                sha: &sha,
                force: inv.force,
                preview: &preview,
                checks: None,
                checks_required: promotion::promote_needs_checks(policy),
                hold: hold.as_ref(),
                // A busy environment queues the promotion instead of refusing it.
                running: None,
                bad: bad.as_ref(),
            };
            match self.pass_gates(repo, policy, request).await? {
                Ok(()) => accepted.push(u),
                Err(r) => refused.push((env, r)),
            }
        }
        if accepted.is_empty() {
            return match refused.as_slice() {
                [(_, r)] => self.refuse_rule(job, repo, r).await,
                _ => {
                    let lines: Vec<String> = refused
                        .iter()
                        .map(|(env, r)| format!("{env}: {r}"))
                        .collect();
                    let text = format!("nothing was promoted. {}", lines.join(" "));
                    self.refuse(job, repo, &text).await
                }
            };
        }
        let forced = promotion::forced(inv.force, bad.as_ref());
        if forced {
            self.store.clear_bad(repo.id, &sha).await?;
        }
        let batch = random_token();
        let limit = if policy.environments.targets_of(&family).is_empty() {
            1
        } else {
            policy.promotion.max_parallel_targets
        };
        let family_units: Vec<String> = policy
            .environments
            .units(&family)
            .iter()
            .map(Unit::name)
            .collect();
        let reason =
            forced.then(|| format!("forced by @{}: {} was marked bad", job.author, sha.short()));
        let mut fresh: Vec<(QueuedPromotion, usize)> = Vec::new();
        let mut started_names = Vec::new();
        let waiting = self.store.waiting_promotions(repo.id, &family).await?;
        for u in accepted {
            let env = u.name();
            // This very promotion, already under way: its job ran before and stopped (a crash,
            // a lost lease, a reply GitHub refused) after it started this unit. Never deploy the
            // same commit twice.
            let running = self.store.running_env_deployment(repo.id, &env).await?;
            if let Some(running) = &running
                && running.sha == sha
                && running.pr_number == Some(pr.number)
            {
                started_names.push(env);
                continue;
            }
            // Or after it queued this unit: it stays queued where it is, and does not supersede
            // itself.
            let mine = waiting
                .iter()
                .filter(|q| q.environment == env)
                .enumerate()
                .find(|(_, q)| q.sha == sha && q.pr_number == Some(pr.number));
            if let Some((ahead, q)) = mine {
                fresh.push((q.clone(), ahead + 1 + usize::from(running.is_some())));
                continue;
            }
            let token = random_token();
            let claim = NewEnvDeployment {
                repo_id: repo.id,
                environment: &env,
                sha: &sha,
                kind: EnvKind::Promote,
                requested_by: &job.author,
                pr_number: Some(pr.number),
                reason: reason.as_deref(),
                log_token: &token,
            };
            let queued = self
                .store
                .queue_promotion(
                    &NewQueued {
                        repo_id: repo.id,
                        family: &family,
                        environment: &env,
                        sha: &sha,
                        pr_number: Some(pr.number),
                        requested_by: &job.author,
                        force: inv.force,
                        batch: &batch,
                    },
                    Some(&StartNow {
                        claim: &claim,
                        units: &family_units,
                        limit: usize::try_from(limit).unwrap_or(1),
                    }),
                    self.clock.now_ms(),
                )
                .await?;
            self.after_queued(repo, &queued).await?;
            if queued.started.is_some() {
                started_names.push(env);
            } else {
                let running = self
                    .store
                    .running_env_deployment(repo.id, &env)
                    .await?
                    .is_some();
                fresh.push((queued.entry, queued.ahead + 1 + usize::from(running)));
            }
        }
        // What could not start as it was queued may start now (a slot freed meanwhile).
        let ids: Vec<i64> = fresh.iter().map(|(q, _)| q.id).collect();
        let started = self.drain_queue(repo, policy, &family, &ids).await?;
        let mut queued = Vec::new();
        for (q, position) in fresh {
            if started.contains(&q.id) {
                started_names.push(q.environment);
            } else {
                queued.push((q.environment, position));
            }
        }
        let refused_text: Vec<(String, String)> = refused
            .iter()
            .map(|(env, r)| (env.clone(), r.to_string()))
            .collect();
        let shown_limit = (!policy.environments.targets_of(&family).is_empty())
            .then_some(policy.promotion.max_parallel_targets);
        let text = targets::promote_answer(
            &sha,
            &named,
            &started_names,
            &queued,
            &refused_text,
            shown_limit,
            forced,
        );
        info!(environment = %named, sha = %sha, started = started_names.len(), queued = queued.len(), "promotion accepted");
        let reason = format!("promoting {} to {named}", sha.short());
        self.finish(job, repo, "accepted", &reason, Some(&text), true)
            .await
    }

    /// The train's step into an environment with targets: the carried commit to every target
    /// not running, deploying or awaiting it already, each through the promotion gates (its
    /// checks stand in for a preview; its bad mark and the descendant rule per target), queued
    /// as `/promote` queues them (requested by Gangway, in one batch, started up to
    /// `max_parallel_targets`). A held target's promotion waits in the queue for `/unhold`. A
    /// refusal of any target queues none.
    pub(crate) async fn train_fan_out(
        &self,
        repo: &RepoRef,
        policy: &Policy,
        t: &crate::engine::train::Train,
        sha: &crate::types::CommitSha,
        environment: &str,
        checks: &crate::engine::CheckSummary,
    ) -> Result<Result<(), Refusal>, JobError> {
        let all_names = policy.environments.all_names();
        let units = policy.environments.units(environment);
        let unit_names: Vec<String> = units.iter().map(Unit::name).collect();
        let waiting = self.store.waiting_promotions(repo.id, environment).await?;
        let bad = self.store.bad_sha(repo.id, sha).await?;
        let mut to_queue = Vec::new();
        for env in &unit_names {
            let current = self
                .store
                .current_env_deployment(repo.id, env)
                .await?
                .map(|d| d.sha);
            let running = self.store.running_env_deployment(repo.id, env).await?;
            let queued = waiting
                .iter()
                .any(|q| &q.environment == env && &q.sha == sha);
            if !targets::train_queues(sha, current.as_ref(), running.as_ref(), queued) {
                continue;
            }
            let request = promotion::Request {
                environment: env,
                known: &all_names,
                sha,
                force: false,
                preview: &PreviewOutcome::NotRequired,
                checks: Some(checks),
                checks_required: true,
                // A held target waits in the queue; a busy one too.
                hold: None,
                running: None,
                bad: bad.as_ref(),
            };
            if let Err(r) = self.pass_gates(repo, policy, request).await? {
                return Ok(Err(r));
            }
            to_queue.push(env.clone());
        }
        let batch = random_token();
        let reason = policy
            .train
            .as_ref()
            .map(|tt| crate::engine::train::claim_reason(tt, t))
            .unwrap_or_default();
        let limit = usize::try_from(policy.promotion.max_parallel_targets).unwrap_or(1);
        for env in &to_queue {
            let token = random_token();
            let claim = NewEnvDeployment {
                repo_id: repo.id,
                environment: env,
                sha,
                kind: EnvKind::Train,
                requested_by: crate::model::GANGWAY_REQUESTER,
                pr_number: None,
                reason: Some(&reason),
                log_token: &token,
            };
            let held = {
                let unit = policy.environments.resolve(env).unwrap_or(Unit {
                    environment: env.clone(),
                    target: None,
                });
                self.unit_hold(repo, &unit).await?.is_some()
            };
            let queued = self
                .store
                .queue_promotion(
                    &NewQueued {
                        repo_id: repo.id,
                        family: environment,
                        environment: env,
                        sha,
                        pr_number: None,
                        requested_by: crate::model::GANGWAY_REQUESTER,
                        force: false,
                        batch: &batch,
                    },
                    (!held)
                        .then_some(StartNow {
                            claim: &claim,
                            units: &unit_names,
                            limit,
                        })
                        .as_ref(),
                    self.clock.now_ms(),
                )
                .await?;
            self.after_queued(repo, &queued).await?;
            if let Some(d) = &queued.started {
                info!(environment = %d.environment, sha = %d.sha, "train deploying to a target");
            }
        }
        self.drain_queue(repo, policy, environment, &[]).await?;
        Ok(Ok(()))
    }

    /// The hold that stops a unit: its own, or its environment's (a hold on `production`
    /// holds every target of production).
    async fn unit_hold(
        &self,
        repo: &RepoRef,
        u: &Unit,
    ) -> Result<Option<crate::model::Hold>, JobError> {
        if let Some(h) = self.store.hold(repo.id, &u.name()).await? {
            return Ok(Some(h));
        }
        if u.target.is_some() {
            return Ok(self.store.hold(repo.id, &u.environment).await?);
        }
        Ok(None)
    }

    /// What follows a promotion queued: the pull requests of the promotions it superseded are
    /// told, and its deployment, if it started at once, is queued to run.
    async fn after_queued(&self, repo: &RepoRef, queued: &Queued) -> Result<(), JobError> {
        for old in &queued.superseded {
            if let Some(number) = old.pr_number {
                self.comment(
                    repo,
                    number,
                    &targets::superseded_notice(old, &queued.entry),
                )
                .await?;
            }
        }
        if let Some(d) = &queued.started {
            self.queue
                .enqueue(&NewJob::of(&EnvDeployPayload::new(repo, d))?)
                .await
                .map_err(JobError::from)?;
        }
        Ok(())
    }

    /// Starts what may start in `family`'s queue (`engine::targets::to_start`); entries other
    /// than `fresh` (gated just now) pass the promotion gates again first, as the rules are
    /// now. Returns the ids of the entries started.
    pub(super) async fn drain_queue(
        &self,
        repo: &RepoRef,
        policy: &Policy,
        family: &str,
        fresh: &[i64],
    ) -> Result<Vec<i64>, JobError> {
        let mut started = Vec::new();
        let all_names = policy.environments.all_names();
        let limit = if policy.environments.targets_of(family).is_empty() {
            1
        } else {
            policy.promotion.max_parallel_targets
        };
        // Each round starts or drops at least one entry, or ends.
        for _ in 0..64 {
            let waiting = self.store.waiting_promotions(repo.id, family).await?;
            if waiting.is_empty() {
                break;
            }
            let mut names: Vec<String> = waiting.iter().map(|q| q.environment.clone()).collect();
            names.extend(policy.environments.units(family).iter().map(Unit::name));
            names.sort();
            names.dedup();
            let mut running = Vec::new();
            let mut held = Vec::new();
            for name in &names {
                if self
                    .store
                    .running_env_deployment(repo.id, name)
                    .await?
                    .is_some()
                {
                    running.push(name.clone());
                }
                let unit = policy.environments.resolve(name).unwrap_or(Unit {
                    environment: name.clone(),
                    target: None,
                });
                if self.unit_hold(repo, &unit).await?.is_some() {
                    held.push(name.clone());
                }
            }
            let picks = targets::to_start(&waiting, &running, &held, limit);
            if picks.is_empty() {
                break;
            }
            let mut progressed = false;
            for q in picks {
                if !fresh.contains(&q.id)
                    && let Err(r) = self.gate_queued(repo, policy, q, &all_names).await?
                {
                    let text = r.to_string();
                    if self
                        .store
                        .end_queued(q.id, QueueState::Refused, r.rule(), self.clock.now_ms())
                        .await?
                        && let Some(number) = q.pr_number
                    {
                        self.comment(repo, number, &targets::refused_at_turn(q, &text))
                            .await?;
                    }
                    progressed = true;
                    continue;
                }
                let token = random_token();
                let reason = q.force.then(|| format!("forced by @{}", q.requested_by));
                // The train's own promotions (queued by `train_fan_out`) stay the train's.
                let kind =
                    if q.pr_number.is_none() && q.requested_by == crate::model::GANGWAY_REQUESTER {
                        EnvKind::Train
                    } else {
                        EnvKind::Promote
                    };
                let outcome = self
                    .store
                    .start_queued(
                        q.id,
                        &NewEnvDeployment {
                            repo_id: repo.id,
                            environment: &q.environment,
                            sha: &q.sha,
                            kind,
                            requested_by: &q.requested_by,
                            pr_number: q.pr_number,
                            reason: reason.as_deref(),
                            log_token: &token,
                        },
                        self.clock.now_ms(),
                    )
                    .await?;
                if let StartOutcome::Started(d) = outcome {
                    self.queue
                        .enqueue(&NewJob::of(&EnvDeployPayload::new(repo, &d))?)
                        .await
                        .map_err(JobError::from)?;
                    info!(environment = %d.environment, sha = %d.sha, "queued promotion started");
                    started.push(q.id);
                }
            }
            if !progressed {
                break;
            }
        }
        Ok(started)
    }

    /// The promotion gates for a queued entry whose turn came.
    async fn gate_queued(
        &self,
        repo: &RepoRef,
        policy: &Policy,
        q: &QueuedPromotion,
        all_names: &[String],
    ) -> Result<Result<(), Refusal>, JobError> {
        let preview = match q.pr_number {
            Some(n) => {
                PreviewOutcome::of(self.store.preview_for(repo.id, n, &q.sha).await?.as_ref())
            }
            None => PreviewOutcome::NotRequired,
        };
        let bad = self.store.bad_sha(repo.id, &q.sha).await?;
        let request = promotion::Request {
            environment: &q.environment,
            known: all_names,
            sha: &q.sha,
            force: q.force,
            preview: &preview,
            checks: None,
            checks_required: promotion::promote_needs_checks(policy),
            hold: None,
            running: None,
            bad: bad.as_ref(),
        };
        self.pass_gates(repo, policy, request).await
    }

    /// A `promotion_queue` job: deployments started but never handed to their job get it, then
    /// whatever may start starts.
    pub async fn run_promotion_queue(&self, job: &PromotionQueuePayload) -> Result<(), JobError> {
        let repo = self
            .repo_of(
                job.repo_id,
                job.installation,
                &job.full_name,
                job.default_branch.as_deref(),
            )
            .await?;
        for d in self.store.started_unrun(repo.id, &job.environment).await? {
            self.queue
                .enqueue(&NewJob::of(&EnvDeployPayload::new(&repo, &d))?)
                .await
                .map_err(JobError::from)?;
        }
        let policy = self.policy(&repo).await?;
        // Under an invalid policy nothing starts; the queue waits for a valid one.
        let Some(policy) = policy.valid() else {
            return Ok(());
        };
        self.drain_queue(&repo, policy, &job.environment, &[])
            .await?;
        Ok(())
    }

    /// Asks for the queue of `environment`'s environment (a target's: its environment's) to
    /// be looked at: something there may start now.
    pub(crate) async fn wake_queue(
        &self,
        repo: &RepoRef,
        policy: &Policy,
        environment: &str,
    ) -> Result<(), JobError> {
        let family = policy
            .environments
            .resolve(environment)
            .map_or_else(|| environment.to_owned(), |u| u.environment);
        let payload = PromotionQueuePayload::new(repo, &family);
        self.queue
            .enqueue(&NewJob::of(&payload)?)
            .await
            .map_err(JobError::from)?;
        Ok(())
    }

    /// A failed target under `on_target_failure: halt`: the targets of the same promotion not
    /// started yet are not started, and its pull request is told.
    pub(crate) async fn target_failed(
        &self,
        repo: &RepoRef,
        policy: &Policy,
        d: &EnvDeployment,
    ) -> Result<(), JobError> {
        let Some(unit) = policy.environments.resolve(&d.environment) else {
            return Ok(());
        };
        if !targets::halts(policy, &unit) {
            return Ok(());
        }
        let Some(entry) = self.store.promotion_of_deployment(d.id).await? else {
            return Ok(());
        };
        let reason = targets::halt_reason(d);
        let mut halted = Vec::new();
        for q in self
            .store
            .waiting_promotions(repo.id, &unit.environment)
            .await?
        {
            if q.batch == entry.batch
                && self
                    .store
                    .end_queued(q.id, QueueState::Halted, &reason, self.clock.now_ms())
                    .await?
            {
                halted.push(q);
            }
        }
        if !halted.is_empty()
            && let Some(number) = d.pr_number
        {
            self.comment(repo, number, &targets::halt_notice(d, &halted))
                .await?;
        }
        Ok(())
    }

    /// Whether a live deployment of a target completes production for a merge: every
    /// target of its environment runs its commit now.
    pub(crate) async fn completes_environment(
        &self,
        repo: &RepoRef,
        policy: &Policy,
        d: &EnvDeployment,
    ) -> Result<bool, JobError> {
        let Some(unit) = policy.environments.resolve(&d.environment) else {
            return Ok(false);
        };
        if unit.target.is_none() {
            return Ok(false);
        }
        let mut currents = Vec::new();
        for u in policy.environments.units(&unit.environment) {
            currents.push(
                self.store
                    .current_env_deployment(repo.id, &u.name())
                    .await?
                    .map(|c| c.sha),
            );
        }
        let refs: Vec<_> = currents.iter().map(Option::as_ref).collect();
        Ok(targets::completes_environment(
            &unit,
            targets::runs_everywhere(&refs, &d.sha),
        ))
    }

    /// `/cancel [environment]`: this pull request's waiting promotions (into that environment
    /// or target, or anywhere) are withdrawn.
    pub(super) async fn cancel_command(
        &self,
        job: &CommandPayload,
        repo: &RepoRef,
        policy: &crate::engine::PolicyStatus,
        inv: &Invocation,
    ) -> Result<(), JobError> {
        let policy = promotion::hold_policy(policy);
        let only: Option<Vec<String>> = inv.environment.as_deref().map(|name| {
            let units = policy.environments.units(name);
            if units.is_empty() {
                vec![name.to_owned()]
            } else {
                units.iter().map(Unit::name).collect()
            }
        });
        let mut cancelled = Vec::new();
        for q in self
            .store
            .promotions_of_pull(repo.id, job.number, 200)
            .await?
        {
            if q.state != QueueState::Waiting
                || only.as_ref().is_some_and(|o| !o.contains(&q.environment))
            {
                continue;
            }
            let why = format!("cancelled by @{}", job.author);
            if self
                .store
                .end_queued(q.id, QueueState::Cancelled, &why, self.clock.now_ms())
                .await?
            {
                cancelled.push(q);
            }
        }
        match targets::cancel_answer(&cancelled) {
            Ok(text) => {
                self.finish(job, repo, "accepted", "cancelled", Some(&text), true)
                    .await
            }
            Err(text) => self.refuse(job, repo, &text).await,
        }
    }

    /// A target's deployment ended: its pull request's sticky comment (a line per target) is
    /// rendered again.
    pub(crate) async fn refresh_target_sticky(
        &self,
        repo: &RepoRef,
        policy: &Policy,
        d: &EnvDeployment,
    ) -> Result<(), JobError> {
        let is_target = policy
            .environments
            .resolve(&d.environment)
            .is_some_and(|u| u.target.is_some());
        if let Some(number) = d.pr_number.filter(|_| is_target) {
            let e = crate::jobs::EvaluatePayload::of(repo, number, "target");
            self.queue.enqueue(&NewJob::of(&e)?).await?;
        }
        Ok(())
    }

    /// The sticky comment's lines for each environment with targets the pull request was
    /// promoted into: one line per target.
    pub(crate) async fn target_sticky_lines(
        &self,
        repo: &RepoRef,
        policy: &Policy,
        number: PrNumber,
    ) -> Result<Vec<String>, JobError> {
        let queued = self.store.promotions_of_pull(repo.id, number, 200).await?;
        let mut out = Vec::new();
        for environment in policy.environments.names() {
            let units = policy.environments.units(environment);
            if units.iter().all(|u| u.target.is_none())
                || !queued.iter().any(|q| &q.family == environment)
            {
                continue;
            }
            let mut facts = Vec::new();
            for u in &units {
                let name = u.name();
                let current = self.store.current_env_deployment(repo.id, &name).await?;
                let ours = self
                    .store
                    .env_deployments_of(repo.id, &name, 20)
                    .await?
                    .into_iter()
                    .find(|d| d.pr_number == Some(number));
                let q = queued.iter().find(|q| q.environment == name).cloned();
                facts.push((name, current, ours, q));
            }
            let rows: Vec<_> = facts
                .iter()
                .map(|(n, c, o, q)| (n.clone(), c.as_ref(), o.as_ref(), q.as_ref()))
                .collect();
            out.extend(targets::sticky_lines(environment, &rows));
        }
        Ok(out)
    }
}
