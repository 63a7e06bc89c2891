//! The job handler: turns stored deliveries into typed events, records what they say, and routes
//! the work to the pull requests they concern.
//!
//! Owns: dispatch by job kind, and carrying out what `engine::routing` decides an event calls
//! for (the store's answers it needs are gathered here; which PRs an event concerns, whether a
//! late delivery may be stored, whose deployment or comment it is (`engine::echo`) are the
//! engine's, never decided here). A `delivery` job decodes and records (never calls GitHub, so a
//! delivery is processed even while GitHub is down); the `evaluate` job, serialized per PR, asks
//! the executor to bring the PR in line.

use std::sync::Arc;

use tracing::info;

use crate::clock::SharedClock;
use crate::engine::capacity::Lost;
use crate::engine::routing::{self, Effect};
use crate::engine::{command_rules, deployer, echo};
use crate::executor::Executor;
use crate::ingress::events::{
    self, CheckSuiteAction, Event, InstallationAction, InstallationReposAction,
};
use crate::jobs::{
    Adoption, CommandPayload, DeliveryOutcome, DeliveryPayload, EnvDeployPayload, EvaluatePayload,
    ExternalStatus, Job, JobKind, NewJob, OfflineTeardownPayload, PurgePayload,
    ReconcileRepoPayload, RedeliverPayload, TrainPayload,
};
use crate::model::RepoRef;
use crate::queue::{Handler, HandlerFuture, JobError, Queue};
use crate::store::{Store, StoreError};
use crate::types::PrNumber;

/// The command job for a comment, if `engine::routing::command_in` finds one to run.
pub fn command_job(e: &events::IssueCommentEvent) -> Option<CommandPayload> {
    let seen = routing::CommentSeen {
        created: e.action == events::CommentAction::Created,
        on_pull_request: e.issue.pull_request,
        origin: echo::origin(&e.comment.maker(), None),
        body: &e.comment.body,
    };
    let (command, args) = match routing::command_in(&seen)? {
        Ok((word, args)) => (Ok(word), args),
        Err(why) => (Err(why), String::new()),
    };
    Some(CommandPayload {
        repo_id: e.repository.id,
        installation: e.installation.as_ref()?.id,
        full_name: e.repository.full_name.clone(),
        default_branch: e.repository.default_branch.clone(),
        number: e.issue.number,
        comment_id: e.comment.id,
        comment_url: e.comment.html_url.clone().unwrap_or_default(),
        author: e.comment.user.login.clone(),
        command,
        args,
        comment_at: e
            .comment
            .created_at
            .as_deref()
            .and_then(crate::model::github_secs),
        origin: crate::jobs::CommandOrigin::Comment,
    })
}

pub struct Processor {
    pub store: Store,
    pub queue: Queue,
    pub executor: Arc<Executor>,
    pub clock: SharedClock,
}

impl Handler for Processor {
    fn handle<'a>(&'a self, job: &'a Job) -> HandlerFuture<'a> {
        Box::pin(async move {
            match job.kind {
                JobKind::Delivery => self.process_delivery(job).await,
                JobKind::Evaluate => {
                    let e: EvaluatePayload = job.decode()?;
                    self.executor.run_evaluation(&e).await
                }
                JobKind::Reconcile => {
                    let jobs = self.executor.reconcile_installations().await?;
                    self.enqueue_all(&jobs).await
                }
                JobKind::ReconcileRepo => {
                    let r: ReconcileRepoPayload = job.decode()?;
                    let jobs = self.executor.reconcile_repo(&r).await?;
                    self.enqueue_all(&jobs).await
                }
                JobKind::OfflineTeardown => {
                    let t: OfflineTeardownPayload = job.decode()?;
                    self.executor.offline_teardown(&t).await
                }
                JobKind::Purge => {
                    let p: PurgePayload = job.decode()?;
                    self.executor.purge(p.cutoff_ms).await
                }
                JobKind::Redeliver => {
                    let r: RedeliverPayload = job.decode()?;
                    self.executor.redeliver_failed(r.since_ms).await.map(|_| ())
                }
                JobKind::Command => {
                    let c: CommandPayload = job.decode()?;
                    self.executor.run_command(&c).await
                }
                JobKind::PromotionQueue => {
                    let q: crate::jobs::PromotionQueuePayload = job.decode()?;
                    self.executor.run_promotion_queue(&q).await
                }
                JobKind::EnvDeploy => {
                    let e: EnvDeployPayload = job.decode()?;
                    match self.executor.run_env_deployment(&e).await {
                        // Given up on: the environment must not stay busy for ever.
                        Err(JobError::Permanent(why)) => {
                            self.executor.abandon_env_deployment(&e, &why).await?;
                            Err(JobError::Permanent(why))
                        }
                        Err(err) if job.attempts >= job.max_attempts => {
                            self.executor
                                .abandon_env_deployment(&e, &err.to_string())
                                .await?;
                            Err(err)
                        }
                        other => other,
                    }
                }
                JobKind::Train => {
                    let t: TrainPayload = job.decode()?;
                    self.executor.run_train(&t).await
                }
            }
        })
    }
}

fn repo_of(
    r: &events::Repository,
    installation: Option<&events::InstallationRef>,
) -> Option<RepoRef> {
    Some(RepoRef {
        id: r.id,
        installation: installation?.id,
        full_name: r.full_name.clone(),
        default_branch: r.default_branch.clone().unwrap_or_default(),
    })
}

impl Processor {
    pub fn new(
        store: Store,
        queue: Queue,
        executor: Arc<Executor>,
        clock: SharedClock,
    ) -> Arc<Self> {
        Arc::new(Processor {
            store,
            queue,
            executor,
            clock,
        })
    }

    async fn process_delivery(&self, job: &Job) -> Result<(), JobError> {
        let DeliveryPayload { delivery_id, .. } = job.decode()?;
        let delivery = match self.store.delivery(&delivery_id).await {
            Ok(Some(delivery)) => delivery,
            Ok(None) => {
                return Err(JobError::Permanent(format!(
                    "delivery {delivery_id} is not in the database"
                )));
            }
            // A stored payload that no longer decodes: retrying reads the same bytes. Marked
            // failed with the reason, so an operator sees which delivery to redeliver.
            Err(e @ StoreError::Payload { .. }) => {
                let reason = e.to_string();
                self.store
                    .set_delivery_outcome(
                        &delivery_id,
                        DeliveryOutcome::Failed,
                        &reason,
                        self.clock.now_ms(),
                    )
                    .await?;
                return Err(JobError::Permanent(reason));
            }
            Err(e) => return Err(e.into()),
        };
        let now = self.clock.now_ms();
        let event = match events::decode(&delivery.event, delivery.payload.as_bytes()) {
            Ok(Some(event)) => event,
            Ok(None) => {
                self.store
                    .set_delivery_outcome(
                        &delivery_id,
                        DeliveryOutcome::Ignored,
                        "event not handled by Gangway",
                        now,
                    )
                    .await?;
                return Ok(());
            }
            Err(e) => {
                // Kept, with the reason, so an operator can see what GitHub sent that we could not read.
                self.store
                    .set_delivery_outcome(
                        &delivery_id,
                        DeliveryOutcome::Failed,
                        &e.to_string(),
                        now,
                    )
                    .await?;
                return Err(JobError::Permanent(e.to_string()));
            }
        };
        let summary = event.summary();
        info!(%summary, "processing");
        let routed = self.route(&event, now).await?;
        let detail = if routed.is_empty() {
            summary
        } else {
            format!("{summary} → {}", routed.join(", "))
        };
        self.store
            .set_delivery_outcome(
                &delivery_id,
                DeliveryOutcome::Processed,
                &detail,
                self.clock.now_ms(),
            )
            .await?;
        Ok(())
    }

    async fn enqueue_all(&self, jobs: &[NewJob]) -> Result<(), JobError> {
        for j in jobs {
            if !self.store.job_waiting(j.kind, &j.key).await? {
                self.queue.enqueue(j).await?;
            }
        }
        Ok(())
    }

    /// Tears down, with the driver only, every standing preview Gangway can no longer reach.
    async fn teardown_unreachable(&self, lost: Lost<'_>) -> Result<Vec<String>, JobError> {
        let mut routed = Vec::new();
        for (p, _, inst, full_name) in self.store.standing_previews().await? {
            if lost.cuts_off(p.repo_id.as_db(), inst) {
                let t = OfflineTeardownPayload {
                    preview_id: p.id,
                    repo_id: p.repo_id,
                    pr_number: p.pr_number,
                    full_name,
                };
                self.queue.enqueue(&NewJob::of(&t)?).await?;
                routed.push(format!("offline teardown of {}", p.host));
            }
        }
        Ok(routed)
    }

    async fn enqueue(&self, e: &EvaluatePayload) -> Result<String, JobError> {
        self.queue.enqueue(&NewJob::of(e)?).await?;
        Ok(format!("evaluate #{}", e.number))
    }

    /// The train looks at the default branch (it does nothing where the policy has no train).
    async fn wake_train(&self, repo: &RepoRef) -> Result<String, JobError> {
        self.executor
            .schedule_train(repo, self.clock.now_ms())
            .await?;
        Ok("train".to_owned())
    }

    /// Records what the event says and enqueues the evaluations it calls for; returns a note
    /// of each for the deliveries table. What to do is `engine::routing`'s; this gathers the
    /// store's answers it needs and carries it out.
    async fn route(&self, event: &Event, now: i64) -> Result<Vec<String>, JobError> {
        let mut routed = Vec::new();
        match event {
            Event::PullRequest(e) => {
                let Some(repo) = repo_of(&e.repository, e.installation.as_ref()) else {
                    return Ok(routed);
                };
                let incoming = e.pull_request.record(&repo);
                // Every delivery, late ones too, tells when its head was the head.
                let pushed = matches!(
                    e.action,
                    events::PullRequestAction::Opened | events::PullRequestAction::Synchronize
                );
                if let Some(seen) = command_rules::head_seen(&incoming, pushed) {
                    self.store
                        .record_head_seen(repo.id, e.number, &seen, now)
                        .await?;
                }
                let on_record = self.store.pull(repo.id, e.number).await?.map(|(p, _)| p);
                let merged_as = e
                    .pull_request
                    .merge_commit_sha
                    .as_ref()
                    .filter(|_| e.pull_request.merged);
                let seen = routing::Seen::PullRequest {
                    incoming: &incoming,
                    on_record: on_record.as_ref(),
                    merged_as,
                    into_default_branch: Some(&e.pull_request.base.ref_name)
                        == e.repository.default_branch.as_ref(),
                    sender: &e.sender.login,
                };
                for effect in routing::route(&seen) {
                    match effect {
                        Effect::SavePull => self.store.upsert_pull(&incoming, now).await?,
                        Effect::RecordMerge(merge) => {
                            self.store
                                .record_merge(repo.id, e.number, &merge, now)
                                .await?;
                        }
                        other => routed.extend(self.carry_out(&repo, other, now).await?),
                    }
                }
            }
            Event::CheckSuite(e) => {
                let Some(repo) = repo_of(&e.repository, e.installation.as_ref()) else {
                    return Ok(routed);
                };
                let open_with_head = self
                    .store
                    .open_pulls_with_head(repo.id, &e.check_suite.head_sha)
                    .await?;
                let listed: Vec<PrNumber> = e
                    .check_suite
                    .pull_requests
                    .iter()
                    .map(|p| p.number)
                    .collect();
                let seen = routing::Seen::CheckSuite {
                    completed: e.action == CheckSuiteAction::Completed,
                    runs: e.check_suite.latest_check_runs_count,
                    head_sha: &e.check_suite.head_sha,
                    open_with_head: &open_with_head,
                    listed: &listed,
                    on_default_branch: e.check_suite.head_branch.is_some()
                        && e.check_suite.head_branch == e.repository.default_branch,
                };
                for effect in routing::route(&seen) {
                    routed.extend(self.carry_out(&repo, effect, now).await?);
                }
            }
            Event::Status(e) => {
                let Some(repo) = repo_of(&e.repository, e.installation.as_ref()) else {
                    return Ok(routed);
                };
                let open_with_head = self.store.open_pulls_with_head(repo.id, &e.sha).await?;
                let seen = routing::Seen::Status {
                    sha: &e.sha,
                    open_with_head: &open_with_head,
                    on_default_branch: e
                        .branches
                        .iter()
                        .any(|b| Some(&b.name) == e.repository.default_branch.as_ref()),
                };
                for effect in routing::route(&seen) {
                    routed.extend(self.carry_out(&repo, effect, now).await?);
                }
            }
            Event::Deployment(e) => {
                let Some(repo) = repo_of(&e.repository, e.installation.as_ref()) else {
                    return Ok(routed);
                };
                let origin = echo::origin(&e.deployment.maker(), None);
                let open_with_head = self
                    .store
                    .open_pulls_with_head(repo.id, &e.deployment.sha)
                    .await?;
                let deployment = Adoption {
                    deployment_id: e.deployment.id,
                    sha: e.deployment.sha.clone(),
                    environment: e.deployment.environment.clone(),
                    creator: e
                        .deployment
                        .creator
                        .as_ref()
                        .map_or_else(|| e.sender.login.clone(), |c| c.login.clone()),
                    automation: origin == echo::Origin::Automation,
                };
                // Which PR's environment it names, by the policy as last read (the store's
                // copy: the processor never calls GitHub).
                let cached = self.store.cached_policy(repo.id).await?;
                let named = deployer::environment_pr(
                    cached.as_ref().and_then(|c| c.body.as_deref()),
                    &e.deployment.environment,
                );
                let seen = routing::Seen::Deployment {
                    origin,
                    open_with_head: &open_with_head,
                    named,
                    deployment: &deployment,
                    sender: &e.sender.login,
                };
                for effect in routing::route(&seen) {
                    routed.extend(self.carry_out(&repo, effect, now).await?);
                }
            }
            Event::DeploymentStatus(e) => {
                let Some(repo) = repo_of(&e.repository, e.installation.as_ref()) else {
                    return Ok(routed);
                };
                let env = self
                    .store
                    .env_deployment_by_github(repo.id, e.deployment.id)
                    .await?;
                let preview = match env {
                    Some(_) => None,
                    None => self
                        .store
                        .preview_by_deployment(repo.id, e.deployment.id)
                        .await?
                        .map(|p| (p.pr_number, p.driver)),
                };
                let status = ExternalStatus {
                    deployment_id: e.deployment.id,
                    state: e.deployment_status.state.clone(),
                    environment_url: e.deployment_status.environment_url.clone(),
                    description: e.deployment_status.description.clone(),
                };
                let seen = routing::Seen::DeploymentStatus {
                    driver: self.executor.settings.driver,
                    env_deployment: env.as_ref().map(|d| d.id),
                    preview,
                    status: &status,
                };
                for effect in routing::route(&seen) {
                    match (effect, &env) {
                        (Effect::EndEnvDeployment { state, .. }, Some(d)) => {
                            let mut job = EnvDeployPayload::new(&repo, d);
                            job.external = Some(state);
                            self.queue.enqueue(&NewJob::of(&job)?).await?;
                            routed.push(format!("{} deployment {}", d.environment, d.id));
                        }
                        (other, _) => routed.extend(self.carry_out(&repo, other, now).await?),
                    }
                }
            }
            Event::IssueComment(e) => {
                if let Some(command) = command_job(e) {
                    self.queue.enqueue(&NewJob::of(&command)?).await?;
                    routed.push(format!("command #{}", e.issue.number));
                }
            }
            Event::Installation(e) => {
                let id = e.installation.id.as_db();
                match e.action {
                    InstallationAction::Deleted => {
                        self.store.delete_installation(id, now).await?;
                        let lost = Lost {
                            repositories: &[],
                            installations: &[id],
                        };
                        routed.extend(self.teardown_unreachable(lost).await?);
                    }
                    _ => {
                        self.store
                            .upsert_installation(id, &e.installation.account.login, now)
                            .await?;
                        for r in &e.repositories {
                            self.store
                                .add_repository(id, r.id.as_db(), &r.full_name, now)
                                .await?;
                        }
                    }
                }
            }
            Event::InstallationRepositories(e) => {
                let id = e.installation.id.as_db();
                self.store
                    .upsert_installation(id, &e.installation.account.login, now)
                    .await?;
                if e.action != InstallationReposAction::Other {
                    for r in &e.repositories_added {
                        self.store
                            .add_repository(id, r.id.as_db(), &r.full_name, now)
                            .await?;
                        let job = ReconcileRepoPayload {
                            repo_id: r.id,
                            installation: e.installation.id,
                            full_name: r.full_name.clone(),
                        };
                        self.queue.enqueue(&NewJob::of(&job)?).await?;
                        routed.push(format!("reconcile {}", r.full_name));
                    }
                    for r in &e.repositories_removed {
                        self.store.remove_repository(r.id.as_db(), now).await?;
                    }
                    let removed: Vec<i64> = e
                        .repositories_removed
                        .iter()
                        .map(|r| r.id.as_db())
                        .collect();
                    if !removed.is_empty() {
                        let lost = Lost {
                            repositories: &removed,
                            installations: &[],
                        };
                        routed.extend(self.teardown_unreachable(lost).await?);
                    }
                }
            }
            Event::Push(e) => {
                let Some(repo) = repo_of(&e.repository, e.installation.as_ref()) else {
                    return Ok(routed);
                };
                let seen = routing::Seen::Push {
                    to_default_branch: e.is_default_branch(),
                    may_touch_policy: e.may_touch(crate::policy::POLICY_PATH),
                };
                for effect in routing::route(&seen) {
                    routed.extend(self.carry_out(&repo, effect, now).await?);
                }
            }
        }
        Ok(routed)
    }

    /// Carries out one of routing's effects that needs nothing but the repository; returns its
    /// note for the deliveries table, if it leaves one.
    async fn carry_out(
        &self,
        repo: &RepoRef,
        effect: Effect,
        now: i64,
    ) -> Result<Option<String>, JobError> {
        Ok(match effect {
            Effect::RecordCheckSignal(sha) => {
                self.store.record_check_signal(repo.id, &sha, now).await?;
                None
            }
            Effect::Evaluate(ev) => {
                let e = EvaluatePayload {
                    refresh: ev.refresh,
                    read_checks: ev.read_checks,
                    adopt: ev.adopt,
                    external_status: ev.external_status,
                    ..EvaluatePayload::of(repo, ev.number, &ev.requested_by)
                };
                Some(self.enqueue(&e).await?)
            }
            Effect::WakeTrain => Some(self.wake_train(repo).await?),
            Effect::ForgetPolicy => {
                self.store.forget_policy(repo.id).await?;
                Some("policy re-read".to_owned())
            }
            // Routing asks for these only for events whose arm carries them out itself.
            Effect::SavePull | Effect::RecordMerge(_) | Effect::EndEnvDeployment { .. } => None,
        })
    }
}

pub use crate::engine::routing::repeats_record;
