//! One evaluation job: refresh the PR if asked, take in what an outside deployer reported or a
//! deployment someone else created, then bring the PR in line.

use tracing::info;

use super::Executor;
use crate::engine::TeardownReason;
use crate::jobs::{Adoption, EvaluatePayload, Eviction, ExternalStatus};
use crate::model::{DriverKind, PreviewState, RepoRef};
use crate::queue::JobError;
use crate::types::{InstallationId, RepoId};

impl Executor {
    /// The repository as a job names it; the default branch is asked of GitHub when the event
    /// that caused the job did not carry it.
    pub(crate) async fn repo_of(
        &self,
        id: RepoId,
        installation: InstallationId,
        full_name: &str,
        default_branch: Option<&str>,
    ) -> Result<RepoRef, JobError> {
        let default_branch = match default_branch {
            Some(b) => b.to_owned(),
            None => self.github.default_branch(installation, full_name).await?,
        };
        Ok(RepoRef {
            id,
            installation,
            full_name: full_name.to_owned(),
            default_branch,
        })
    }

    pub async fn run_evaluation(&self, e: &EvaluatePayload) -> Result<(), JobError> {
        if e.priority > 0 {
            self.check_budget(e.installation)?;
        }
        let repo = self
            .repo_of(
                e.repo_id,
                e.installation,
                &e.full_name,
                e.default_branch.as_deref(),
            )
            .await?;
        if let Some(evict) = &e.evict {
            self.evict(&repo, e.number, evict).await?;
        }
        if e.refresh
            && let Some(pr) = self.fetch_pull(&repo, e.number).await?
        {
            self.store.upsert_pull(&pr, self.clock.now_ms()).await?;
        }
        if let Some(status) = &e.external_status {
            self.take_external_status(&repo, status).await?;
        }
        if let Some(adopt) = &e.adopt {
            self.adopt(&repo, e, adopt).await?;
        }
        self.evaluate(&repo, e.number, &e.requested_by, e.read_checks)
            .await
    }

    /// Tears down a preview the reaper picked for being over the repository's capacity, and
    /// tells its PR why and how to bring it back.
    async fn evict(
        &self,
        repo: &RepoRef,
        number: crate::types::PrNumber,
        ev: &Eviction,
    ) -> Result<(), JobError> {
        let Some((pr, _)) = self.store.pull(repo.id, number).await? else {
            return Ok(());
        };
        let previews = self.store.previews_of(repo.id, number).await?;
        let Some(p) = previews
            .iter()
            .find(|p| p.id == ev.preview_id && p.state.is_up())
        else {
            return Ok(());
        };
        let reason = TeardownReason::Evicted {
            max_previews: ev.max_previews,
        };
        self.store
            .audit(
                repo.id,
                number,
                &format!("preview {}", p.id),
                "evict",
                &reason.describe(),
                self.clock.now_ms(),
            )
            .await?;
        self.teardown(&pr, p.id, &reason).await?;
        let body = format!(
            "The preview of commit `{}` was torn down: {} has more than {} previews, and this one had been \
             deployed least recently. A maintainer can bring it back by commenting **/stage**.",
            p.sha.short(),
            repo.full_name,
            ev.max_previews
        );
        self.comment(repo, number, &body).await?;
        Ok(())
    }

    /// An outside deployer's status moves an external preview forward (never back: a late
    /// `queued` after `success` changes nothing).
    async fn take_external_status(
        &self,
        repo: &RepoRef,
        s: &ExternalStatus,
    ) -> Result<(), JobError> {
        let Some(mut p) = self
            .store
            .preview_by_deployment(repo.id, s.deployment_id)
            .await?
        else {
            return Ok(());
        };
        if p.driver != DriverKind::External || !p.state.is_up() {
            return Ok(());
        }
        let now = self.clock.now_ms();
        match s.state.as_str() {
            "success" => {
                p.state = PreviewState::Live;
                p.environment_url = s
                    .environment_url
                    .clone()
                    .or_else(|| Some(format!("https://{}", p.host)));
                p.deployed_at = Some(now);
                p.detail = None;
            }
            "failure" | "error" => {
                p.state = PreviewState::Failed;
                p.detail = Some(
                    s.description
                        .clone()
                        .unwrap_or_else(|| format!("the deployer reported {}", s.state)),
                );
            }
            "in_progress" | "queued" | "pending" if p.state == PreviewState::Pending => {
                p.state = PreviewState::Deploying;
            }
            _ => return Ok(()),
        }
        p.last_status = Some(s.state.clone());
        info!(deployment = s.deployment_id, state = %s.state, "external deployer reported");
        self.store.save_preview(&p, now).await?;
        Ok(())
    }

    /// Runs a deployment someone created by hand (API, CLI) in this PR's environment, as if it
    /// were Gangway's own. Fork PRs are not adopted: they need a maintainer's approval.
    async fn adopt(
        &self,
        repo: &RepoRef,
        e: &EvaluatePayload,
        a: &Adoption,
    ) -> Result<(), JobError> {
        let Some((pr, _)) = self.store.pull(repo.id, e.number).await? else {
            return Ok(());
        };
        let policy = self.policy(repo).await?;
        let Some(policy) = policy.valid() else {
            return Ok(());
        };
        let managed = policy.preview.environment.render(pr.number.0);
        if !pr.open || pr.is_fork || a.environment != managed {
            info!(environment = %a.environment, %managed, fork = pr.is_fork, "deployment not adopted");
            return Ok(());
        }
        if let Some(existing) = self.store.preview_for(repo.id, pr.number, &a.sha).await? {
            if existing.deployment_id != Some(a.deployment_id) {
                info!(ours = ?existing.deployment_id, theirs = a.deployment_id,
                      "commit already has a preview; the extra deployment is not run");
            }
            return Ok(());
        }
        info!(deployment = a.deployment_id, creator = %a.creator, "adopting a deployment created outside Gangway");
        self.stage(&pr, policy, &a.sha, &a.creator, Some(a.deployment_id))
            .await
    }
}
