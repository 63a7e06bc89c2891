//! One evaluation job: refresh the PR if asked, take in what an outside deployer reported or a
//! deployment someone else created, then bring the PR in line.
//!
//! Owns gathering the facts for those steps and carrying out what the engine decides
//! (`engine::deployer` for statuses and adoptions, `engine::capacity` for evictions). Never
//! decides how a status moves a preview, whether a deployment is adopted or whether an eviction
//! still applies.

use tracing::info;

use super::Executor;
use crate::engine::TeardownReason;
use crate::engine::capacity;
use crate::engine::deployer::{self, Adopt};
use crate::jobs::{Adoption, EvaluatePayload, Eviction, ExternalStatus};
use crate::model::RepoRef;
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
        let Some(p) = capacity::still_evicted(&previews, ev) else {
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
            crate::engine::text::prose_capped(&repo.full_name, crate::engine::text::NAME_CHARS),
            ev.max_previews
        );
        self.comment(repo, number, &body).await?;
        Ok(())
    }

    /// An outside deployer's status, taken in as `engine::deployer` says.
    async fn take_external_status(
        &self,
        repo: &RepoRef,
        s: &ExternalStatus,
    ) -> Result<(), JobError> {
        let Some(p) = self
            .store
            .preview_by_deployment(repo.id, s.deployment_id)
            .await?
        else {
            return Ok(());
        };
        let now = self.clock.now_ms();
        let Some(p) = deployer::take_status(&p, s, now) else {
            return Ok(());
        };
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
        let pr = self.store.pull(repo.id, e.number).await?.map(|(pr, _)| pr);
        let policy = self.policy(repo).await?;
        let existing = self.store.preview_for(repo.id, e.number, &a.sha).await?;
        match deployer::adoption(pr.as_ref(), &policy, a, existing.as_ref()) {
            Adopt::Nothing => Ok(()),
            Adopt::NotAdopted { managed } => {
                let fork = pr.as_ref().is_some_and(|p| p.is_fork);
                info!(environment = %a.environment, %managed, fork, "deployment not adopted");
                Ok(())
            }
            Adopt::AlreadyStaged { ours } => {
                if ours != Some(a.deployment_id) {
                    info!(
                        ?ours,
                        theirs = a.deployment_id,
                        "commit already has a preview; the extra deployment is not run"
                    );
                }
                Ok(())
            }
            Adopt::Stage => {
                let (Some(pr), Some(policy)) = (pr.as_ref(), policy.valid()) else {
                    return Ok(());
                };
                info!(deployment = a.deployment_id, creator = %a.creator, "adopting a deployment created outside Gangway");
                self.stage(pr, policy, &a.sha, &a.creator, Some(a.deployment_id))
                    .await
            }
        }
    }
}
