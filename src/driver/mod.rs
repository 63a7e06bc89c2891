//! Drivers: who actually stands an environment up and tears it down.
//!
//! Owns: the contract between Gangway and the operator's deployer. `command` runs the operator's
//! executables (never a shell string) with a clean `GANGWAY_*` environment and a timeout, keeping
//! their output (capped, secrets redacted) for the deployment's log page. `external` does
//! nothing itself: an outside deployer reacts to the GitHub `deployment` event and reports
//! `deployment_status`, which Gangway follows. Never talks to GitHub or the database.

pub mod command;
pub mod redact;

use std::time::Duration;

pub use crate::model::Trust;

/// Deploy, tear down, or verify a deployment that succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverAction {
    /// The first deploy of a pull request's preview (nothing of it stands): create and seed
    /// what lives as long as the PR (a database), then deploy. Runs `GANGWAY_DEPLOY_COMMAND`.
    Create,
    /// A later deploy (a new push while an earlier preview of the PR stands), or a long-lived
    /// environment's deploy.
    Deploy,
    Teardown,
    /// `GANGWAY_VERIFY_COMMAND` after a long-lived environment's deploy (`verify:` in the policy).
    Verify,
}

impl DriverAction {
    pub fn as_str(self) -> &'static str {
        match self {
            DriverAction::Create => "create",
            DriverAction::Deploy => "deploy",
            DriverAction::Teardown => "teardown",
            DriverAction::Verify => "verify",
        }
    }
}

/// Everything a driver is told about one environment. Values come from validated types
/// (40-hex sha, DNS host), never from free text of a pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploySpec {
    pub action: DriverAction,
    /// `owner/name`.
    pub repository: String,
    pub pr_number: u64,
    pub sha: String,
    pub host: String,
    /// `https://{host}`.
    pub url: String,
    /// GitHub environment name, e.g. `pr-12`.
    pub environment: String,
    /// GitHub deployment id (0 when there is none, e.g. tearing down for a removed installation).
    pub deployment_id: u64,
    /// The target of a long-lived environment that has targets (`au` of `production-au`),
    /// given to the command as `GANGWAY_TARGET`; `None` otherwise (the variable is not set).
    pub target: Option<String>,
    /// The preview's slot (`preview.slots`), as `GANGWAY_SLOT`; `None`: not on a slot.
    pub slot: Option<String>,
    /// The PR's stable alias host (`GANGWAY_ALIAS_HOST_TEMPLATE`), as `GANGWAY_ALIAS_HOST`.
    pub alias_host: Option<String>,
}

/// The names of Gangway's own variables passed through to the driver, by trust. Each run gets
/// exactly one list: a fork preview only `fork`, never a name listed only for the others.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassEnv {
    /// `GANGWAY_DRIVER_PASS_ENV`: same-repository previews (and their teardowns).
    pub same_repository: Vec<String>,
    /// `GANGWAY_DRIVER_PASS_ENV_FORK`: approved fork previews (empty unless set).
    pub fork: Vec<String>,
    /// `GANGWAY_DRIVER_PASS_ENV_ENVIRONMENTS`: long-lived environments; `None` (unset): the
    /// same-repository list, as before per-trust lists existed.
    pub environments: Option<Vec<String>>,
}

impl PassEnv {
    /// The names passed to a run of this trust.
    pub fn for_trust(&self, trust: Trust) -> &[String] {
        match trust {
            Trust::SameRepository => &self.same_repository,
            Trust::Fork => &self.fork,
            Trust::Environment => self
                .environments
                .as_deref()
                .unwrap_or(&self.same_repository),
        }
    }

    /// Every name in any list (their values are redacted from every log).
    pub fn all(&self) -> Vec<String> {
        let mut all: Vec<String> = self.same_repository.clone();
        all.extend(self.fork.iter().cloned());
        all.extend(self.environments.iter().flatten().cloned());
        all.sort();
        all.dedup();
        all
    }
}

/// How one run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    /// Exit status 0 within the timeout.
    pub success: bool,
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    /// One line for people: "exit 0", "exit 3", "timed out after 600 s", "could not start …".
    pub summary: String,
    /// Combined stdout and stderr, secrets redacted, capped (head and tail kept).
    pub log: String,
    pub duration: Duration,
}
