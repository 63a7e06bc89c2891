//! Background work the timers start: reconciling the store with GitHub, tearing down what
//! Gangway can no longer reach, evicting over capacity, purging data past the retention
//! period, redelivering failed webhooks.
//!
//! Every piece yields to webhooks and commands: it runs at low priority and, when an
//! installation's rate-limit budget is nearly spent, waits for it to refill instead of using it.

use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tracing::{info, warn};

use super::Executor;
use crate::driver::command;
use crate::driver::{DeploySpec, DriverAction};
use crate::executor::processor::Evaluate;
use crate::ingress::events;
use crate::model::{DriverKind, PreviewState, RepoRef, TeardownKind};
use crate::queue::{BACKGROUND, JobError, NewJob};
use crate::types::{InstallationId, PrNumber, RepoId};

/// Background work never spends the last part of an installation's hourly budget.
pub const RESERVE_PERCENT: u64 = 10;

pub const RECONCILE_JOB: &str = "reconcile";
pub const RECONCILE_REPO_JOB: &str = "reconcile_repo";
pub const OFFLINE_TEARDOWN_JOB: &str = "offline_teardown";
pub const REDELIVER_JOB: &str = "redeliver";
/// Delete data older than the cutoff in its payload (milliseconds).
pub const PURGE_JOB: &str = "purge";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileRepo {
    pub repo_id: RepoId,
    pub installation: InstallationId,
    pub full_name: String,
}

impl ReconcileRepo {
    pub fn job(&self) -> NewJob {
        NewJob {
            kind: RECONCILE_REPO_JOB.into(),
            key: format!("reconcile:{}", self.repo_id),
            payload: serde_json::to_string(self).unwrap_or_default(),
            run_at_ms: None,
            priority: BACKGROUND,
        }
    }
}

/// Tear a preview down with the driver only: GitHub can no longer be told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineTeardown {
    pub preview_id: i64,
    pub repo_id: RepoId,
    pub pr_number: PrNumber,
    pub full_name: String,
}

impl OfflineTeardown {
    pub fn job(&self) -> NewJob {
        NewJob {
            kind: OFFLINE_TEARDOWN_JOB.into(),
            key: format!("{}#{}", self.repo_id, self.pr_number),
            payload: serde_json::to_string(self).unwrap_or_default(),
            run_at_ms: None,
            priority: BACKGROUND,
        }
    }
}

#[derive(Deserialize)]
struct InstallationBrief {
    id: InstallationId,
    account: events::Actor,
}

#[derive(Deserialize)]
struct InstallationRepos {
    #[serde(default)]
    repositories: Vec<events::RepoBrief>,
}

#[derive(Deserialize)]
struct HookDelivery {
    id: u64,
    guid: String,
    #[serde(default)]
    status_code: u16,
    #[serde(default)]
    redelivery: bool,
    #[serde(default)]
    delivered_at: Option<String>,
}

impl Executor {
    /// Refuses background work while the installation's budget is in its reserve.
    pub(crate) fn check_budget(&self, installation: InstallationId) -> Result<(), JobError> {
        match self.github.budget(installation) {
            Some(b) if b.is_low(RESERVE_PERCENT) => Err(JobError::Defer {
                until_ms: b.reset.saturating_mul(1000).max(self.clock.now_ms() + 1000),
                reason: format!(
                    "installation {installation} has {} of {} GitHub requests left until the reset; background work waits",
                    b.remaining, b.limit
                ),
            }),
            _ => Ok(()),
        }
    }

    /// Installations and their repositories as GitHub says now; then one reconcile job each.
    pub async fn reconcile_installations(&self) -> Result<Vec<NewJob>, JobError> {
        let now = self.clock.now_ms();
        let installations: Vec<InstallationBrief> = self
            .github
            .app_json::<_, ()>(Method::GET, "/app/installations?per_page=100", None)
            .await?;
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
            self.check_budget(inst.id)?;
            self.store
                .upsert_installation(inst.id.as_db(), &inst.account.login, now)
                .await?;
            let repos: InstallationRepos = self
                .github
                .json::<_, ()>(
                    inst.id,
                    Method::GET,
                    "/installation/repositories?per_page=100",
                    None,
                )
                .await?;
            let listed: Vec<i64> = repos.repositories.iter().map(|r| r.id.as_db()).collect();
            for (repo_id, _, installation) in self.store.active_repositories().await? {
                if installation == inst.id.as_db() && !listed.contains(&repo_id) {
                    self.store.remove_repository(repo_id, now).await?;
                }
            }
            for r in repos.repositories {
                self.store
                    .add_repository(inst.id.as_db(), r.id.as_db(), &r.full_name, now)
                    .await?;
                jobs.push(
                    ReconcileRepo {
                        repo_id: r.id,
                        installation: inst.id,
                        full_name: r.full_name,
                    }
                    .job(),
                );
            }
        }
        Ok(jobs)
    }

    /// Compares the repository's open PRs and Gangway's deployments with the store, and returns
    /// the evaluations that heal what webhooks missed.
    pub async fn reconcile_repo(&self, r: &ReconcileRepo) -> Result<Vec<NewJob>, JobError> {
        self.check_budget(r.installation)?;
        let repo = self
            .repo_of(r.repo_id, r.installation, &r.full_name, None)
            .await?;
        let open: Vec<events::PullRequest> =
            self.list_conditional(&repo, "pulls?state=open").await?;
        let on_record = self.store.open_pulls(repo.id).await?;
        let mut jobs = Vec::new();
        let evaluation = |number: PrNumber, refresh: bool| Evaluate {
            repo_id: repo.id,
            installation: repo.installation,
            full_name: repo.full_name.clone(),
            default_branch: Some(repo.default_branch.clone()),
            number,
            requested_by: "reconciler".into(),
            refresh,
            // It heals missed webhooks, check events included: it always reads.
            read_checks: true,
            external_status: None,
            adopt: None,
            evict: None,
            priority: BACKGROUND,
        };
        for pr in &open {
            match on_record.iter().find(|(n, _)| *n == pr.number) {
                Some((_, sha)) if *sha == pr.head.sha => {}
                known => {
                    info!(pr = %pr.number, new = known.is_none(), "reconciler: PR changed while unobserved");
                    self.store
                        .upsert_pull(&super::reads::pull_from(pr, &repo), self.clock.now_ms())
                        .await?;
                    jobs.push(evaluation(pr.number, false).job());
                }
            }
        }
        for (number, _) in &on_record {
            if !open.iter().any(|p| p.number == *number) {
                info!(pr = %number, "reconciler: PR closed while unobserved");
                jobs.push(evaluation(*number, true).job());
            }
        }
        self.retire_unknown_deployments(&repo).await?;
        Ok(jobs)
    }

    /// Deployments Gangway created that the store does not know (a lost database, a crash
    /// between create and record) are marked `inactive`, so GitHub shows nothing half-alive.
    async fn retire_unknown_deployments(&self, repo: &RepoRef) -> Result<(), JobError> {
        let deployments: Vec<Value> = self.list_conditional(repo, "deployments?").await?;
        let now = self.clock.now_ms();
        for d in deployments {
            let (Some(id), Some(preview_id)) = (
                d["id"].as_u64(),
                d.pointer("/payload/gangway/preview_id")
                    .and_then(Value::as_i64),
            ) else {
                continue;
            };
            // A deployment being created right now is not yet recorded: only old ones count.
            let created = d["created_at"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map_or(now, |t| t.timestamp_millis());
            if now - created < 10 * 60_000
                || self
                    .store
                    .preview_by_deployment(repo.id, id)
                    .await?
                    .is_some()
                || self.store.preview_exists(repo.id, preview_id).await?
            {
                continue;
            }
            let route = format!(
                "/repos/{}/deployments/{id}/statuses?per_page=1",
                repo.full_name
            );
            let statuses: Vec<Value> = self
                .github
                .json::<_, ()>(repo.installation, Method::GET, &route, None)
                .await?;
            if statuses.first().and_then(|s| s["state"].as_str()) == Some("inactive") {
                continue;
            }
            warn!(
                deployment = id,
                "a deployment Gangway created is unknown to its database; marking it inactive"
            );
            let route = format!("/repos/{}/deployments/{id}/statuses", repo.full_name);
            let body = json!({ "state": "inactive", "description": "Unknown to Gangway (reconciled)", "auto_inactive": false });
            self.github
                .request(repo.installation, Method::POST, &route, Some(&body))
                .await?;
        }
        Ok(())
    }

    /// Every page of a list endpoint, each fetched with its cached ETag (unchanged pages cost
    /// no rate limit).
    async fn list_conditional<T: serde::de::DeserializeOwned>(
        &self,
        repo: &RepoRef,
        what: &str,
    ) -> Result<Vec<T>, JobError> {
        let mut all = Vec::new();
        for page in 1..=20 {
            let sep = if what.ends_with('?') { "" } else { "&" };
            let route = format!(
                "/repos/{}/{what}{sep}per_page=100&page={page}",
                repo.full_name
            );
            let cached = self.store.etag(&route).await?;
            let body = match self
                .github
                .get_if_changed(
                    repo.installation,
                    &route,
                    cached.as_ref().map(|(e, _)| e.as_str()),
                )
                .await?
            {
                None => cached.map(|(_, b)| b).unwrap_or_default(),
                Some((tag, bytes)) => {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    if let Some(tag) = tag {
                        self.store
                            .store_etag(&route, &tag, &text, self.clock.now_ms())
                            .await?;
                    }
                    text
                }
            };
            let items: Vec<T> = serde_json::from_str(&body)
                .map_err(|e| JobError::Permanent(format!("{route}: unexpected answer: {e}")))?;
            let n = items.len();
            all.extend(items);
            if n < 100 {
                break;
            }
        }
        Ok(all)
    }

    /// The driver's teardown of a preview in a repository Gangway can no longer reach.
    pub async fn offline_teardown(&self, t: &OfflineTeardown) -> Result<(), JobError> {
        let previews = self.store.previews_of(t.repo_id, t.pr_number).await?;
        let Some(mut p) = previews.into_iter().find(|p| p.id == t.preview_id) else {
            return Ok(());
        };
        if p.state == PreviewState::TornDown {
            return Ok(());
        }
        warn!(repo = %t.full_name, host = %p.host, "Gangway lost access to the repository: tearing the preview down with the driver; GitHub cannot be told");
        let ran = p
            .last_status
            .as_deref()
            .is_some_and(|s| s != "queued" && s != "inactive");
        if p.driver == DriverKind::Command && ran {
            let spec = DeploySpec {
                action: DriverAction::Teardown,
                repository: t.full_name.clone(),
                pr_number: t.pr_number.0,
                sha: p.sha.to_string(),
                host: p.host.clone(),
                url: format!("https://{}", p.host),
                environment: p.environment.clone(),
                deployment_id: p.deployment_id.unwrap_or(0),
            };
            let outcome = command::run(&self.settings.command, &spec).await;
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
        p.state = PreviewState::TornDown;
        p.teardown_kind = Some(TeardownKind::LostAccess);
        p.detail = Some("Gangway lost access to the repository".into());
        p.torn_down_at = Some(now);
        self.store.save_preview(&p, now).await?;
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
        let list: Vec<HookDelivery> = self
            .github
            .app_json::<_, ()>(Method::GET, "/app/hook/deliveries?per_page=100", None)
            .await?;
        let mut asked = 0;
        for d in list {
            let at = d
                .delivered_at
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map_or(0, |t| t.timestamp_millis());
            let failed = !(200..300).contains(&d.status_code);
            // GitHub's `delivered_at` has whole seconds: a minute of overlap with the previous
            // run; a delivery Gangway already stored is never asked for twice.
            if !failed
                || d.redelivery
                || at < since_ms - 60_000
                || self.store.has_delivery(&d.guid).await?
            {
                continue;
            }
            let route = format!("/app/hook/deliveries/{}/attempts", d.id);
            let _: Value = self
                .github
                .app_json::<_, ()>(Method::POST, &route, None)
                .await?;
            info!(guid = %d.guid, "asked GitHub to redeliver a failed delivery");
            asked += 1;
        }
        Ok(asked)
    }
}
