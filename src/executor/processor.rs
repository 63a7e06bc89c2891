//! The job handler: turns stored deliveries into typed events, records what they say, and routes
//! the work to the pull requests they concern.
//!
//! Owns: dispatch by job kind and the mapping from events to per-PR evaluations. A `delivery` job
//! decodes and records (never calls GitHub, so a delivery is processed even while GitHub is
//! down); the `evaluate` job, serialized per PR, asks the executor to bring the PR in line.

use std::sync::Arc;

use tracing::info;

use crate::clock::SharedClock;
use crate::engine::commands;
use crate::executor::Executor;
use crate::ingress::events::{
    self, CheckSuiteAction, Event, InstallationAction, InstallationReposAction,
};
use crate::jobs::{
    Adoption, CommandPayload, DeliveryOutcome, DeliveryPayload, EnvDeployPayload, EvaluatePayload,
    ExternalStatus, Job, JobKind, NewJob, OfflineTeardownPayload, ReconcileRepoPayload,
    RedeliverPayload, TrainPayload,
};
use crate::model::{DriverKind, PullRequest, RepoRef};
use crate::queue::{Handler, HandlerFuture, JobError, Queue};
use crate::store::{Store, StoreError};
use crate::types::PrNumber;

/// Comments that can never run a command: by any bot, or posted through any App (Gangway's own
/// included). The one place that decides it.
pub fn runs_nothing(comment: &events::Comment) -> bool {
    comment.user.kind == events::ActorKind::Bot
        || comment.user.login.ends_with("[bot]")
        || comment.performed_via_github_app.is_some()
}

/// The command for a comment, if it is a newly created comment on a pull request, by a
/// person, that holds a command (or something that looks like one and needs an answer).
/// Edits and deletions run nothing.
pub fn command_job(e: &events::IssueCommentEvent) -> Option<CommandPayload> {
    if e.action != events::CommentAction::Created
        || !e.issue.pull_request
        || runs_nothing(&e.comment)
    {
        return None;
    }
    let (command, args) = match commands::parse(&e.comment.body) {
        Ok(None) => return None,
        Ok(Some(inv)) => (Ok(inv.command.word().to_owned()), inv.args()),
        Err(err) => (Err(err.to_string()), String::new()),
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
                JobKind::Redeliver => {
                    let r: RedeliverPayload = job.decode()?;
                    self.executor.redeliver_failed(r.since_ms).await.map(|_| ())
                }
                JobKind::Command => {
                    let c: CommandPayload = job.decode()?;
                    self.executor.run_command(&c).await
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

    /// Tears down, with the driver only, every standing preview of repositories Gangway can no
    /// longer reach (`repos`: ids; `None`: all of the installation's).
    async fn teardown_unreachable(
        &self,
        installation: i64,
        repos: Option<&[i64]>,
    ) -> Result<Vec<String>, JobError> {
        let mut routed = Vec::new();
        for (p, _, inst, full_name) in self.store.standing_previews().await? {
            let hit = match repos {
                Some(ids) => ids.contains(&p.repo_id.as_db()),
                None => inst == installation,
            };
            if hit {
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

    fn evaluation(repo: &RepoRef, number: PrNumber, requested_by: &str) -> EvaluatePayload {
        EvaluatePayload::of(repo, number, requested_by)
    }

    /// The evaluation a check event causes: it reads the checks it was told about.
    fn check_evaluation(repo: &RepoRef, number: PrNumber) -> EvaluatePayload {
        EvaluatePayload {
            read_checks: true,
            ..EvaluatePayload::of(repo, number, "checks")
        }
    }

    /// Records what the event says and enqueues the evaluations it calls for; returns a note
    /// of each for the deliveries table.
    async fn route(&self, event: &Event, now: i64) -> Result<Vec<String>, JobError> {
        let mut routed = Vec::new();
        match event {
            Event::PullRequest(e) => {
                let Some(repo) = repo_of(&e.repository, e.installation.as_ref()) else {
                    return Ok(routed);
                };
                let incoming = e.pull_request.record(&repo);
                let on_record = self.store.pull(repo.id, e.number).await?.map(|(p, _)| p);
                // A late delivery (older than the record, or as old) must not roll the PR back:
                // the evaluation reads the truth from GitHub instead.
                let newer = on_record
                    .as_ref()
                    .is_none_or(|r| incoming.gh_updated_at > r.gh_updated_at);
                if newer {
                    self.store.upsert_pull(&incoming, now).await?;
                }
                if let (true, Some(merge)) =
                    (e.pull_request.merged, &e.pull_request.merge_commit_sha)
                {
                    self.store
                        .record_merge(repo.id, e.number, merge, now)
                        .await?;
                    // The train tells the PRs it carries; this one may have been missed.
                    if Some(&e.pull_request.base.ref_name) == e.repository.default_branch.as_ref() {
                        routed.push(self.wake_train(&repo).await?);
                    }
                }
                let mut ev = Self::evaluation(&repo, e.number, &e.sender.login);
                // GitHub's `updated_at` has one-second resolution: an event as old as the record
                // that says exactly what the record says changed nothing (no read); one that
                // differs may be older or newer, so GitHub is asked.
                ev.refresh = !newer
                    && !on_record
                        .as_ref()
                        .is_some_and(|r| repeats_record(&incoming, r));
                routed.push(self.enqueue(&ev).await?);
            }
            Event::CheckSuite(e) => {
                let Some(repo) = repo_of(&e.repository, e.installation.as_ref()) else {
                    return Ok(routed);
                };
                // GitHub creates an empty suite per App on every push; it may never run.
                if e.action != CheckSuiteAction::Completed
                    || e.check_suite.latest_check_runs_count == Some(0)
                {
                    return Ok(routed);
                }
                // Kept even when no PR has this head yet: checks may finish before it opens.
                self.store
                    .record_check_signal(repo.id, &e.check_suite.head_sha, now)
                    .await?;
                let mut numbers = self
                    .store
                    .open_pulls_with_head(repo.id, &e.check_suite.head_sha)
                    .await?;
                for p in &e.check_suite.pull_requests {
                    if !numbers.contains(&p.number) {
                        numbers.push(p.number);
                    }
                }
                for n in numbers {
                    routed.push(self.enqueue(&Self::check_evaluation(&repo, n)).await?);
                }
                if e.check_suite.head_branch.is_some()
                    && e.check_suite.head_branch == e.repository.default_branch
                {
                    routed.push(self.wake_train(&repo).await?);
                }
            }
            Event::Status(e) => {
                let Some(repo) = repo_of(&e.repository, e.installation.as_ref()) else {
                    return Ok(routed);
                };
                self.store.record_check_signal(repo.id, &e.sha, now).await?;
                for n in self.store.open_pulls_with_head(repo.id, &e.sha).await? {
                    routed.push(self.enqueue(&Self::check_evaluation(&repo, n)).await?);
                }
                if e.branches
                    .iter()
                    .any(|b| Some(&b.name) == e.repository.default_branch.as_ref())
                {
                    routed.push(self.wake_train(&repo).await?);
                }
            }
            Event::Deployment(e) => {
                let Some(repo) = repo_of(&e.repository, e.installation.as_ref()) else {
                    return Ok(routed);
                };
                // Ours carry our marker: they are already being run.
                if e.deployment.payload.pointer("/gangway").is_some() {
                    return Ok(routed);
                }
                for n in self
                    .store
                    .open_pulls_with_head(repo.id, &e.deployment.sha)
                    .await?
                {
                    let mut ev = Self::evaluation(&repo, n, &e.sender.login);
                    ev.adopt = Some(Adoption {
                        deployment_id: e.deployment.id,
                        sha: e.deployment.sha.clone(),
                        environment: e.deployment.environment.clone(),
                        creator: e.sender.login.clone(),
                    });
                    routed.push(self.enqueue(&ev).await?);
                }
            }
            Event::DeploymentStatus(e) => {
                let Some(repo) = repo_of(&e.repository, e.installation.as_ref()) else {
                    return Ok(routed);
                };
                if let Some(d) = self
                    .store
                    .env_deployment_by_github(repo.id, e.deployment.id)
                    .await?
                {
                    // An outside deployer ends a long-lived environment's deployment; with the
                    // command driver the statuses are our own.
                    let state = e.deployment_status.state.as_str();
                    if self.executor.settings.driver == DriverKind::External
                        && matches!(state, "success" | "failure" | "error")
                    {
                        let mut job = EnvDeployPayload::new(&repo, &d);
                        job.external = Some(state.to_owned());
                        self.queue.enqueue(&NewJob::of(&job)?).await?;
                        routed.push(format!("{} deployment {}", d.environment, d.id));
                    }
                    return Ok(routed);
                }
                let Some(preview) = self
                    .store
                    .preview_by_deployment(repo.id, e.deployment.id)
                    .await?
                else {
                    return Ok(routed);
                };
                // Statuses on command-driver previews are our own: nothing to follow.
                if preview.driver == DriverKind::External {
                    let mut ev = Self::evaluation(&repo, preview.pr_number, "deployer");
                    ev.external_status = Some(ExternalStatus {
                        deployment_id: e.deployment.id,
                        state: e.deployment_status.state.clone(),
                        environment_url: e.deployment_status.environment_url.clone(),
                        description: e.deployment_status.description.clone(),
                    });
                    routed.push(self.enqueue(&ev).await?);
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
                        routed.extend(self.teardown_unreachable(id, None).await?);
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
                        routed.extend(self.teardown_unreachable(id, Some(&removed)).await?);
                    }
                }
            }
            Event::Push(e) => {
                // The default branch moved: the train's quiet period starts again, and a policy
                // it may have changed is read again at the next evaluation.
                if e.is_default_branch()
                    && let Some(repo) = repo_of(&e.repository, e.installation.as_ref())
                {
                    if e.may_touch(crate::policy::POLICY_PATH) {
                        self.store.forget_policy(repo.id).await?;
                        routed.push("policy re-read".to_owned());
                    }
                    routed.push(self.wake_train(&repo).await?);
                }
            }
        }
        Ok(routed)
    }
}

/// Whether a PR event merely repeats the record: as old, with the same head, state, merge and
/// draft flag.
pub fn repeats_record(incoming: &PullRequest, record: &PullRequest) -> bool {
    incoming.gh_updated_at == record.gh_updated_at
        && incoming.head_sha == record.head_sha
        && incoming.open == record.open
        && incoming.merged == record.merged
        && incoming.draft == record.draft
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{CommitSha, InstallationId, RepoId};

    fn pr(updated: &str) -> PullRequest {
        PullRequest {
            repo: RepoRef {
                id: RepoId(1),
                installation: InstallationId(1),
                full_name: "o/r".into(),
                default_branch: "main".into(),
            },
            number: PrNumber(7),
            head_sha: CommitSha::parse(&"a".repeat(40)).unwrap(),
            head_ref: "f".into(),
            is_fork: false,
            draft: false,
            open: true,
            merged: false,
            author: "ann".into(),
            gh_updated_at: updated.into(),
            head_since_ms: 0,
        }
    }

    #[test]
    fn an_event_that_repeats_the_record_changes_nothing() {
        let record = pr("2026-12-03T10:00:00Z");
        assert!(repeats_record(&pr("2026-12-03T10:00:00Z"), &record));
        // Same second, something differs: which came first is unknown.
        let differs = [
            PullRequest {
                head_sha: CommitSha::parse(&"b".repeat(40)).unwrap(),
                ..pr("2026-12-03T10:00:00Z")
            },
            PullRequest {
                open: false,
                ..pr("2026-12-03T10:00:00Z")
            },
            PullRequest {
                merged: true,
                ..pr("2026-12-03T10:00:00Z")
            },
            PullRequest {
                draft: true,
                ..pr("2026-12-03T10:00:00Z")
            },
        ];
        for d in &differs {
            assert!(!repeats_record(d, &record), "{d:?}");
        }
        // Older, even if identical otherwise: not a repeat (a late delivery is refreshed).
        assert!(!repeats_record(&pr("2026-12-03T09:59:59Z"), &record));
    }
}
