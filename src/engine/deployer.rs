//! The external deployer: how a status it reports moves a preview, and which deployments made
//! by hand in a PR's environment Gangway adopts (only where the PR's own gate would stage its
//! head now, on the word of someone who may stage: [`adoption`]), and which PR an environment
//! name belongs to ([`environment_pr`]). Also when one of Gangway's own deployments that its
//! database lost is retired on GitHub.
//!
//! Owns those decisions; the executor reads the preview, the PR and the policy, asks here, and
//! saves or stages what it is told. Pure: never reads a clock (the executor passes `now_ms`),
//! never calls GitHub or the store.

use super::{AuditRecord, Gate, Situation};
pub use crate::model::{Adoption, ExternalStatus};
use crate::model::{DriverKind, Preview, PreviewState};
use crate::policy::{AdoptPolicy, EnvTemplate, Permission};
use crate::types::{CommitSha, PrNumber};

/// The preview as the reported status leaves it, or `None` when the status changes nothing.
///
/// A status moves an external preview forward, never back: a late `queued` after `success`
/// changes nothing, and neither does any status on a command-driver preview (those are ours)
/// or on one that is no longer up.
pub fn take_status(p: &Preview, s: &ExternalStatus, now_ms: i64) -> Option<Preview> {
    if p.driver != DriverKind::External || !p.state.is_up() {
        return None;
    }
    let mut p = p.clone();
    match s.state.as_str() {
        "success" => {
            p.state = PreviewState::Live;
            p.environment_url = s
                .environment_url
                .clone()
                .or_else(|| Some(format!("https://{}", p.host)));
            p.deployed_at = Some(now_ms);
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
        _ => return None,
    }
    p.last_status = Some(s.state.clone());
    Some(p)
}

/// What to do with a deployment someone created by hand in a PR's environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Adopt {
    /// Not Gangway's to judge: the PR is unknown, the policy invalid, or the deployment names
    /// another environment than the one Gangway manages for the PR. Left alone, silently.
    Ignore,
    /// Already adopted (its preview names it): a repeated job has nothing more to do.
    Adopted,
    /// Read the head commit's checks, then ask again.
    ReadChecks,
    /// Ask GitHub for the creator's permission, then ask again.
    AskPermission,
    /// Not run: the deployment is marked `failure` with the reason.
    Refuse(NotRun),
    /// Run it as if it were Gangway's own: the preview of the PR's head.
    Stage,
}

/// Why a hand-made deployment is not run. [`NotRun::describe`] is what its `failure` status
/// says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotRun {
    /// The policy says `preview.adopt: off`.
    Off,
    /// An App or a bot made it, and the policy adopts people's deployments only.
    Automation { creator: String },
    /// It is not of the PR's head commit (as GitHub says it is now).
    NotHead { number: PrNumber, head: CommitSha },
    /// Gangway would not stage the head now: the PR's own gate says why.
    Gate {
        number: PrNumber,
        sha: CommitSha,
        gate: Gate,
    },
    /// The head already has its preview (`ours`: its deployment, once created).
    AlreadyStaged { ours: Option<u64> },
    /// The creator lacks the `stage` permission.
    Permission {
        creator: String,
        has: Permission,
        needs: Permission,
    },
}

impl NotRun {
    /// The reason, short enough for a deployment status (GitHub keeps 140 characters).
    pub fn describe(&self) -> String {
        match self {
            NotRun::Off => "the policy turns adoption off (preview.adopt: off)".to_owned(),
            NotRun::Automation { creator } => format!(
                "made by {creator}, an App or bot; the policy adopts people's only (preview.adopt)"
            ),
            NotRun::NotHead { number, head } => {
                format!("not the head of #{number}, which is {}", head.short())
            }
            NotRun::Gate { number, sha, gate } => gate_reason(*number, sha, gate),
            NotRun::AlreadyStaged { ours: Some(id) } => {
                format!("the commit already has its preview (deployment {id})")
            }
            NotRun::AlreadyStaged { ours: None } => {
                "the commit's preview is already being deployed".to_owned()
            }
            NotRun::Permission {
                creator,
                has,
                needs,
            } => format!("@{creator} has {has} permission; a preview needs {needs} (stage)"),
        }
    }
}

/// Why the PR's gate keeps its head from being staged, in a few words.
fn gate_reason(number: PrNumber, sha: &CommitSha, gate: &Gate) -> String {
    let short = sha.short();
    match gate {
        Gate::Closed => format!("#{number} is closed"),
        Gate::PolicyInvalid(_) => "the policy file is invalid".to_owned(),
        Gate::Fork { .. } => {
            format!("#{number} is from a fork: only a maintainer's /stage of {short} deploys it")
        }
        Gate::Bot { .. } => format!(
            "#{number} is by a bot: only a maintainer's /stage of {short} deploys it (preview.bots)"
        ),
        Gate::Unstaged(by) => format!("#{number} was paused with /unstage by @{by}"),
        Gate::Draft => format!("#{number} is a draft (preview.drafts is false)"),
        Gate::WaitingForChecks(pending) if !pending.is_empty() => {
            format!("checks still running on {short}: {}", pending.join(", "))
        }
        Gate::WaitingForChecks(_) | Gate::NoChecks => {
            format!("no check has finished on {short} yet")
        }
        Gate::ChecksFailed(failed) => {
            let names: Vec<String> = failed.iter().map(|(n, c)| format!("{n} ({c})")).collect();
            format!("checks failed on {short}: {}", names.join(", "))
        }
        Gate::Ready => "ready".to_owned(),
    }
}

/// Whether a deployment made by hand (API, CLI, a workflow) in a PR's environment is run.
///
/// Only if Gangway would stage the PR's head at this moment itself: the same gate as the PR's
/// own evaluation ([`super::gate`]: open, not paused by `/unstage`, a fork's or an approve-only
/// bot's commit approved by `/stage`, not a draft, checks green), the deployment is of the head
/// commit (`s.pr` is read fresh from GitHub), the head has no preview yet (so it takes the one
/// place in the repository's capacity that Gangway's own would), and its creator may stage: a
/// person with the `stage` permission, as GitHub answers, or, only where the policy says
/// `preview.adopt: people_and_apps`, an App or a bot (they have no permission to ask about).
/// `s`: `None` when GitHub does not know the PR; `s.checks`: `None` until read.
/// `permission`: the creator's, once asked.
pub fn adoption(s: Option<&Situation<'_>>, a: &Adoption, permission: Option<Permission>) -> Adopt {
    let Some(s) = s else {
        return Adopt::Ignore;
    };
    let Some(policy) = s.policy.valid() else {
        return Adopt::Ignore;
    };
    let pr = s.pr;
    if a.environment != policy.preview.environment.render(pr.number.0) {
        return Adopt::Ignore;
    }
    let preview_of = |sha: &CommitSha| s.previews.iter().find(|p| p.sha == *sha);
    if preview_of(&a.sha).is_some_and(|p| p.deployment_id == Some(a.deployment_id)) {
        return Adopt::Adopted;
    }
    let refuse = Adopt::Refuse;
    match policy.preview.adopt {
        AdoptPolicy::Off => return refuse(NotRun::Off),
        AdoptPolicy::People if a.automation => {
            return refuse(NotRun::Automation {
                creator: a.creator.clone(),
            });
        }
        AdoptPolicy::People | AdoptPolicy::PeopleAndApps => {}
    }
    if a.sha != pr.head_sha {
        return refuse(NotRun::NotHead {
            number: pr.number,
            head: pr.head_sha.clone(),
        });
    }
    if s.checks.is_none() && super::needs_checks(s) {
        return Adopt::ReadChecks;
    }
    let gate = super::gate(s);
    if gate != Gate::Ready {
        return refuse(NotRun::Gate {
            number: pr.number,
            sha: pr.head_sha.clone(),
            gate,
        });
    }
    if let Some(p) = preview_of(&pr.head_sha) {
        return refuse(NotRun::AlreadyStaged {
            ours: p.deployment_id,
        });
    }
    if !a.automation {
        let needs = policy.permissions.stage;
        match permission {
            None => return Adopt::AskPermission,
            Some(has) if has < needs => {
                return refuse(NotRun::Permission {
                    creator: a.creator.clone(),
                    has,
                    needs,
                });
            }
            Some(_) => {}
        }
    }
    Adopt::Stage
}

/// What the audit log says of a hand-made deployment's outcome (`None`: nothing was decided).
pub fn adoption_audit(a: &Adoption, outcome: &Adopt) -> Option<AuditRecord> {
    let (decision, reason) = match outcome {
        Adopt::Stage => (
            "adopt",
            format!(
                "made by {} in {}; the pull request would be staged now",
                a.creator, a.environment
            ),
        ),
        Adopt::Refuse(why) => ("not adopted", why.describe()),
        _ => return None,
    };
    Some(AuditRecord {
        subject: format!("deployment {}", a.deployment_id),
        decision,
        reason,
    })
}

/// The pull request whose preview environment `environment` is, under the repository's
/// policy as cached (`policy_body`; without one, or if it does not parse, the default
/// `pr-{number}`): so that a hand-made deployment of a commit that is no PR's head is still
/// judged (and refused) by the PR it names. The PR's evaluation checks the name again against
/// the policy read fresh.
pub fn environment_pr(policy_body: Option<&str>, environment: &str) -> Option<PrNumber> {
    let template = match policy_body.map(|b| crate::policy::parse(b.as_bytes())) {
        Some(Ok(p)) => p.preview.environment,
        _ => EnvTemplate::default(),
    };
    template.number_in(environment).map(PrNumber)
}

/// Whether a deployment Gangway created that its database does not know is old enough to be
/// retired (marked `inactive` on GitHub): one being created right now is not recorded yet, so
/// only those older than ten minutes count. An unknown creation time counts as now.
pub fn unrecorded_long_enough(created_ms: Option<i64>, now_ms: i64) -> bool {
    now_ms - created_ms.unwrap_or(now_ms) >= 10 * 60_000
}

/// Whether such a deployment, with GitHub's latest status word, still needs retiring: one
/// already `inactive` does not.
pub fn needs_retiring(latest_state: Option<&str>) -> bool {
    latest_state != Some("inactive")
}

#[cfg(test)]
#[path = "deployer_tests.rs"]
mod tests;
