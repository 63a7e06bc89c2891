//! One evaluation job: refresh the PR if asked, take in what an outside deployer reported or a
//! deployment someone else created, then bring the PR in line.
//!
//! Owns gathering the facts for those steps and carrying out what the engine decides
//! (`engine::deployer` for statuses and adoptions, `engine::capacity` for evictions): a
//! hand-made deployment is run, or marked `failure` with the engine's reason. Never decides how
//! a status moves a preview, whether a deployment is adopted or whether an eviction still
//! applies.

use tracing::info;

use super::Executor;
use super::deploy::description;
use crate::engine::capacity;
use crate::engine::deployer::{self, Adopt};
use crate::engine::{CheckSummary, Situation, TeardownReason};
use crate::github::ratelimit;
use crate::github::rest::NewDeploymentStatus;
use crate::jobs::{Adoption, EvaluatePayload, Eviction, ExternalStatus};
use crate::model::RepoRef;
use crate::policy::Permission;
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
            // A background evaluation reads the PR over REST and its checks over GraphQL.
            self.check_budget(e.installation, &[ratelimit::CORE, ratelimit::GRAPHQL])?;
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
        let reason = match &ev.slot_taken {
            Some(t) => TeardownReason::SlotTaken {
                slot: t.slot.clone(),
                by: t.by.0,
            },
            None => TeardownReason::Evicted {
                max_previews: ev.max_previews,
            },
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
        if let Some(t) = &ev.slot_taken {
            let body = crate::engine::slots::taken_notice(&t.slot, t.by, &p.sha);
            self.comment(repo, number, &body).await?;
            return Ok(());
        }
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

    /// Judges a deployment someone created by hand (API, CLI, a workflow) in this PR's
    /// environment as `engine::deployer::adoption` says: the PR read fresh from GitHub, its
    /// approvals, `/unstage` and previews, then the head's checks and the creator's permission
    /// when the engine asks for them. Run as if it were Gangway's own, or marked `failure` with
    /// the reason (nothing runs); either way written to the audit log.
    async fn adopt(
        &self,
        repo: &RepoRef,
        e: &EvaluatePayload,
        a: &Adoption,
    ) -> Result<(), JobError> {
        let policy = self.policy(repo).await?;
        // The head as GitHub says it is now: only that commit may be adopted.
        let pr = self.fetch_pull(repo, e.number).await?;
        if let Some(pr) = &pr {
            self.store.upsert_pull(pr, self.clock.now_ms()).await?;
        }
        let approvals = self.store.approvals_of(repo.id, e.number).await?;
        let unstaged_by = self.store.unstaged_by(repo.id, e.number).await?;
        let previews = self.store.previews_of(repo.id, e.number).await?;
        let mut checks: Option<CheckSummary> = None;
        let mut permission: Option<Permission> = None;
        loop {
            let situation = pr.as_ref().map(|pr| Situation {
                pr,
                policy: &policy,
                checks: checks.as_ref(),
                previews: &previews,
                approvals: &approvals,
                unstaged_by: unstaged_by.as_deref(),
                now_ms: self.clock.now_ms(),
                kept_until: None,
            });
            let outcome = deployer::adoption(situation.as_ref(), a, permission);
            if let Some(record) = deployer::adoption_audit(a, &outcome) {
                self.store
                    .audit(
                        repo.id,
                        e.number,
                        &record.subject,
                        record.decision,
                        &record.reason,
                        self.clock.now_ms(),
                    )
                    .await?;
            }
            match outcome {
                Adopt::Ignore | Adopt::Adopted => return Ok(()),
                Adopt::ReadChecks => {
                    let head = situation.map(|s| s.pr.head_sha.clone());
                    let Some(head) = head else {
                        return Ok(());
                    };
                    let items = self.fetch_checks(repo, &head).await?;
                    let required = policy
                        .valid()
                        .map(|p| p.preview.required_checks.clone())
                        .unwrap_or_default();
                    checks = Some(CheckSummary::of(&items, &required));
                }
                Adopt::AskPermission => {
                    permission = Some(self.permission_of(repo, &a.creator).await?);
                }
                Adopt::Refuse(why) => {
                    info!(deployment = a.deployment_id, creator = %a.creator, reason = %why.describe(), "hand-made deployment not run");
                    let body = NewDeploymentStatus {
                        auto_inactive: false,
                        description: description(&format!(
                            "Not run by Gangway: {}",
                            why.describe()
                        )),
                        environment_url: None,
                        log_url: None,
                        state: "failure".into(),
                    };
                    self.github
                        .create_deployment_status(
                            repo.installation,
                            &repo.full_name,
                            a.deployment_id,
                            &body,
                        )
                        .await?;
                    return Ok(());
                }
                Adopt::Stage => {
                    let (Some(pr), Some(policy)) = (pr.as_ref(), policy.valid()) else {
                        return Ok(());
                    };
                    info!(deployment = a.deployment_id, creator = %a.creator, "adopting a deployment created outside Gangway");
                    return self
                        .stage(pr, policy, &a.sha, &a.creator, Some(a.deployment_id))
                        .await;
                }
            }
        }
    }
}
