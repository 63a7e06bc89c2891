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

/// Deploy or tear down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverAction {
    Deploy,
    Teardown,
}

impl DriverAction {
    pub fn as_str(self) -> &'static str {
        match self {
            DriverAction::Deploy => "deploy",
            DriverAction::Teardown => "teardown",
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
