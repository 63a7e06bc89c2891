//! Background work the timers start: reconciling the store with GitHub, tearing down what
//! Gangway can no longer reach, evicting over capacity, purging data past the retention
//! period, redelivering failed webhooks.
//!
//! Every piece yields to webhooks and commands: it runs at low priority and, when an
//! installation's rate-limit budget is nearly spent, waits for it to refill instead of using it.
//! Never decides: which PRs changed while unobserved, what their evaluations read and which
//! failed deliveries are asked again are `engine::routing`'s; how a cut-off preview is taken
//! down is `engine::capacity`'s; when an unknown deployment of Gangway's is retired is
//! `engine::deployer`'s. This module lists, reads, carries out and returns the jobs.

use serde_json::Value;
use tracing::{info, warn};

use super::Executor;
use super::reads::pull_record;
use crate::driver::command;
use crate::driver::{DeploySpec, DriverAction};
use crate::engine::routing::{self, Unobserved};
use crate::engine::{capacity, deployer, hosts};
use crate::github::ratelimit;
use crate::github::rest::{self, PageCache};
use crate::jobs::{NewJob, OfflineTeardownPayload, ReconcileRepoPayload};
use crate::model::{HostHolder, RepoRef};
use crate::queue::JobError;
use crate::store::Store;
use crate::types::{CommitSha, InstallationId, PrNumber};

/// Background work never spends the last part of an installation's hourly budget.
pub const RESERVE_PERCENT: u64 = 10;

/// How a resource is named to an operator.
fn resource_name(resource: &str) -> &str {
    match resource {
        ratelimit::CORE => "REST",
        ratelimit::GRAPHQL => "GraphQL",
        other => other,
    }
}

/// Conditional lists keep their pages' ETags and answers in the store.
struct StoreCache<'a> {
    store: &'a Store,
    now_ms: i64,
}

impl PageCache for StoreCache<'_> {
    type Error = JobError;

    fn cached(
        &self,
        route: &str,
    ) -> impl Future<Output = Result<Option<(String, String)>, JobError>> + Send {
        let route = route.to_owned();
        async move { Ok(self.store.etag(&route).await?) }
    }

    fn store(
        &self,
        route: &str,
        etag: &str,
        text: &str,
    ) -> impl Future<Output = Result<(), JobError>> + Send {
        let (route, etag, text) = (route.to_owned(), etag.to_owned(), text.to_owned());
        async move {
            Ok(self
                .store
                .store_etag(&route, &etag, &text, self.now_ms)
                .await?)
        }
    }
}

impl Executor {
    /// Refuses background work while any of the installation's budgets it would spend from
    /// (`core` for REST, `graphql` for the checks query) is in its reserve: each resource is
    /// paced by its own numbers, and the work waits for that resource's reset.
    pub(crate) fn check_budget(
        &self,
        installation: InstallationId,
        resources: &[&str],
    ) -> Result<(), JobError> {
        for resource in resources {
            match self.github.budget_of(installation, resource) {
                Some(b) if b.is_low(RESERVE_PERCENT) => {
                    return Err(JobError::Defer {
                        until_ms: b.reset.saturating_mul(1000).max(self.clock.now_ms() + 1000),
                        reason: format!(
                            "installation {installation} has {} of {} GitHub {} requests left until the reset; background work waits",
                            b.remaining,
                            b.limit,
                            resource_name(resource)
                        ),
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Installations and their repositories as GitHub says now; then one reconcile job each.
    pub async fn reconcile_installations(&self) -> Result<Vec<NewJob>, JobError> {
        let now = self.clock.now_ms();
        // Whole lists or an error (never part of one): what is not listed is taken for removed.
        let installations = self.github.installations().await?;
        let mut jobs = Vec::new();
        let known: Vec<i64> = installations.iter().map(|i| i.id.as_db()).collect();
        for (repo_id, _, installation) in self.store.active_repositories().await? {
            if !known.contains(&installation) {
                warn!(
                    installation,
                    repo_id, "installation is gone: its previews will be torn down by the driver"
                );
                self.store.delete_installation(installation, now).await?;
            }
        }
        for inst in installations {
            self.check_budget(inst.id, &[ratelimit::CORE])?;
            self.store
                .upsert_installation(inst.id.as_db(), inst.login(), now)
                .await?;
            let repos = self.github.installation_repositories(inst.id).await?;
            let listed: Vec<i64> = repos.iter().map(|r| r.id.as_db()).collect();
            for (repo_id, _, installation) in self.store.active_repositories().await? {
                if installation == inst.id.as_db() && !listed.contains(&repo_id) {
                    self.store.remove_repository(repo_id, now).await?;
                }
            }
            for r in repos {
                self.store
                    .add_repository(inst.id.as_db(), r.id.as_db(), &r.full_name, now)
                    .await?;
                jobs.push(NewJob::of(&ReconcileRepoPayload {
                    repo_id: r.id,
                    installation: inst.id,
                    full_name: r.full_name,
                })?);
            }
        }
        Ok(jobs)
    }

    /// Compares the repository's open PRs and Gangway's deployments with the store, and returns
    /// the evaluations that heal what webhooks missed.
    pub async fn reconcile_repo(&self, r: &ReconcileRepoPayload) -> Result<Vec<NewJob>, JobError> {
        self.check_budget(r.installation, &[ratelimit::CORE])?;
        let repo = self
            .repo_of(r.repo_id, r.installation, &r.full_name, None)
            .await?;
        let open = self
            .github
            .open_pulls_cached(repo.installation, &repo.full_name, &self.page_cache())
            .await?;
        let on_record = self.store.open_pulls(repo.id).await?;
        let heads: Vec<(PrNumber, &CommitSha)> =
            open.iter().map(|p| (p.number, &p.head.sha)).collect();
        let mut jobs = Vec::new();
        for (number, what) in routing::unobserved(&heads, &on_record) {
            match what {
                Unobserved::Changed { new } => {
                    info!(pr = %number, new, "reconciler: PR changed while unobserved");
                    if let Some(pr) = open.iter().find(|p| p.number == number) {
                        self.store
                            .upsert_pull(&pull_record(pr, &repo), self.clock.now_ms())
                            .await?;
                    }
                }
                Unobserved::Closed => {
                    info!(pr = %number, "reconciler: PR closed while unobserved");
                }
            }
            let e = routing::reconciler_evaluation(&repo, number, what);
            jobs.push(NewJob::of(&e)?);
        }
        self.retire_unknown_deployments(&repo).await?;
        Ok(jobs)
    }

    /// Deployments Gangway created that the store does not know (a lost database, a crash
    /// between create and record) are marked `inactive`, so GitHub shows nothing half-alive.
    async fn retire_unknown_deployments(&self, repo: &RepoRef) -> Result<(), JobError> {
        let deployments = self
            .github
            .deployments_cached(repo.installation, &repo.full_name, &self.page_cache())
            .await?;
        let now = self.clock.now_ms();
        for d in deployments {
            let id = d.id;
            let Some(preview_id) = d
                .payload
                .pointer("/gangway/preview_id")
                .and_then(Value::as_i64)
            else {
                continue;
            };
            let created = d
                .created_at
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.timestamp_millis());
            if !deployer::unrecorded_long_enough(created, now)
                || self
                    .store
                    .preview_by_deployment(repo.id, id)
                    .await?
                    .is_some()
                || self.store.preview_exists(repo.id, preview_id).await?
            {
                continue;
            }
            let state = self
                .github
                .latest_deployment_state(repo.installation, &repo.full_name, id)
                .await?;
            if !deployer::needs_retiring(state.as_deref()) {
                continue;
            }
            warn!(
                deployment = id,
                "a deployment Gangway created is unknown to its database; marking it inactive"
            );
            let body = rest::NewDeploymentStatus {
                auto_inactive: false,
                description: "Unknown to Gangway (reconciled)".into(),
                environment_url: None,
                log_url: None,
                state: "inactive".into(),
            };
            self.github
                .create_deployment_status(repo.installation, &repo.full_name, id, &body)
                .await?;
        }
        Ok(())
    }

    fn page_cache(&self) -> StoreCache<'_> {
        StoreCache {
            store: &self.store,
            now_ms: self.clock.now_ms(),
        }
    }

    /// The driver's teardown of a preview in a repository Gangway can no longer reach.
    pub async fn offline_teardown(&self, t: &OfflineTeardownPayload) -> Result<(), JobError> {
        let previews = self.store.previews_of(t.repo_id, t.pr_number).await?;
        let Some(p) = previews.iter().find(|p| p.id == t.preview_id).cloned() else {
            return Ok(());
        };
        let holder = self.store.host_holder(&p.host).await?;
        let touches_host = hosts::teardown_touches_host(&p, holder.as_ref(), &previews);
        let Some(run_driver) = capacity::offline_teardown_runs_driver(&p, touches_host) else {
            return Ok(());
        };
        warn!(repo = %t.full_name, host = %p.host, "Gangway lost access to the repository: tearing the preview down with the driver; GitHub cannot be told");
        if run_driver {
            let spec = DeploySpec {
                action: DriverAction::Teardown,
                repository: t.full_name.clone(),
                pr_number: t.pr_number.0,
                sha: p.sha.to_string(),
                host: p.host.clone(),
                url: format!("https://{}", p.host),
                environment: p.environment.clone(),
                deployment_id: p.deployment_id.unwrap_or(0),
                target: None,
                slot: None,
                alias_host: None,
            };
            // A fork's preview (or one whose PR is not on record) gets only the fork's list.
            let trust = match self.store.pull(t.repo_id, t.pr_number).await? {
                Some((pr, _)) => crate::engine::slots::trust_of(&pr),
                None => crate::driver::Trust::Fork,
            };
            let outcome = command::run(&self.driver_config(trust), &spec).await;
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
        let now = self.clock.now_ms();
        self.store
            .save_preview(&capacity::torn_down_offline(&p, now), now)
            .await?;
        if !hosts::shares_host(&p, &previews) {
            self.store
                .release_host(&p.host, &HostHolder::of_preview(&p))
                .await?;
        }
        Ok(())
    }

    /// Deletes what is older than `cutoff_ms`: removed repositories' records, finished jobs,
    /// deliveries and check signals.
    pub async fn purge(&self, cutoff_ms: i64) -> Result<(), JobError> {
        let repos = self.store.purge_before(cutoff_ms).await?;
        info!(repos, "purged data past the retention period");
        Ok(())
    }

    /// Asks GitHub to redeliver this App's failed webhook deliveries since `since_ms` that
    /// Gangway never stored. Returns how many were asked for.
    pub async fn redeliver_failed(&self, since_ms: i64) -> Result<usize, JobError> {
        let list = self
            .github
            .hook_deliveries_since(routing::redelivery_window(since_ms))
            .await?;
        let mut asked = 0;
        for d in list {
            let at = d
                .delivered_at
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map_or(0, |t| t.timestamp_millis());
            if !routing::redeliver(d.status_code, d.redelivery, at, since_ms)
                || self.store.has_delivery(&d.guid).await?
            {
                continue;
            }
            self.github.redeliver(d.id).await?;
            info!(guid = %d.guid, "asked GitHub to redeliver a failed delivery");
            asked += 1;
        }
        Ok(asked)
    }
}
