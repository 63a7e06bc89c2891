//! The `verify:` section: what must hold after a deployment to an environment succeeds before
//! it counts (it is live, the train's bake starts, the next environment may follow).
//!
//! ```yaml
//! verify:                     # absent: no environment is verified
//!   production:               # an environment listed in `environments:`
//!     command: true           # run GANGWAY_VERIFY_COMMAND (GANGWAY_ACTION=verify); default false
//!     checks: [smoke/production]  # checks or commit statuses on the commit that must pass
//!     timeout: 15m            # how long the checks may take to arrive; default 15m, at most 24h
//! ```
//!
//! Each entry needs `command: true` or at least one check. Check entries are written as in
//! `preview.required_checks` (a name, or an App's slug and a name). What happens during and
//! after a verification is the engine's (`engine::verification`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{
    Environments, PolicyError, RequiredCheck, duration, invalid, one_of, validate_checks_at,
};

/// The keys of one `verify.<environment>` entry, named in error messages (a test keeps this in
/// step with serde).
pub const VERIFY_KEYS: &[&str] = &["command", "checks", "timeout"];
/// The default of `verify.<environment>.timeout`.
pub const DEFAULT_VERIFY_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// The longest `verify.<environment>.timeout`.
pub const MAX_VERIFY_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// How one environment's deployments are verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyEnvironment {
    /// Run the operator's `GANGWAY_VERIFY_COMMAND` after the deploy.
    pub command: bool,
    /// Checks or commit statuses on the deployed commit that must pass.
    pub checks: Vec<RequiredCheck>,
    /// How long the checks may take to arrive, from the end of the deploy.
    pub timeout: Duration,
}

/// Every environment's verification; `Default` (no `verify:`) verifies nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VerifyPolicy {
    /// (environment as listed in `environments:`, its verification), in `environments:` order.
    entries: Vec<(String, VerifyEnvironment)>,
}

impl VerifyPolicy {
    /// How deployments to `environment` are verified; `None`: they count once deployed.
    /// GitHub does not tell environment names apart by case, so neither does this.
    pub fn of(&self, environment: &str) -> Option<&VerifyEnvironment> {
        self.entries
            .iter()
            .find(|(name, _)| name.to_lowercase() == environment.to_lowercase())
            .map(|(_, v)| v)
    }

    /// Every verified environment, in promotion order.
    pub fn entries(&self) -> &[(String, VerifyEnvironment)] {
        &self.entries
    }
}

/// What a value at `shape` must be, for `verify:`; `policy.rs`'s `expected_at` asks.
pub(super) fn expected_at(shape: &str) -> Option<String> {
    let rest = shape.strip_prefix("verify")?;
    if rest.is_empty() {
        return Some(
            "a mapping from environment names to what verifies them, e.g. \
             `production: {checks: [smoke/production]}`"
                .to_owned(),
        );
    }
    let rest = rest.strip_prefix('.')?;
    Some(match rest.split_once('.') {
        None => format!("a mapping; allowed keys: {}", one_of(VERIFY_KEYS)),
        Some((_, "command")) => "`true` or `false`".to_owned(),
        Some((_, "checks")) => "a list of check names, e.g. [\"smoke/production\"]".to_owned(),
        Some((_, "checks[]")) => {
            "a check name, or an App's slug and a check name (a string)".to_owned()
        }
        Some((_, "timeout")) => "a duration such as `15m` or `1h`".to_owned(),
        Some(_) => return None,
    })
}

// ---- The section as written: private, strict, converted into the types above. ----

/// `verify:`: environment name → entry; each entry keeps its place for messages.
pub(super) type RawVerify = BTreeMap<String, Spanned<RawVerifyEntry>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVerifyEntry {
    command: Option<bool>,
    checks: Option<Vec<Spanned<String>>>,
    timeout: Option<Spanned<String>>,
}

/// Checks `verify:` against the environments (each entry names one of them) and says which
/// entry is wrong and why.
pub(super) fn validate_verify(
    raw: RawVerify,
    environments: &Environments,
) -> Result<VerifyPolicy, PolicyError> {
    let mut entries = Vec::with_capacity(raw.len());
    for (name, entry) in raw {
        let Spanned {
            value: entry,
            referenced: at,
            ..
        } = entry;
        let path = format!("verify.{name}");
        let Some(position) = environments.position(&name) else {
            return Err(invalid(
                &path,
                Some(&at),
                &format!(
                    "`{name}` is not one of the environments ({}); verify only an environment \
                     listed in `environments:`",
                    environments.names().join(", ")
                ),
            ));
        };
        let listed = environments.names()[position].clone();
        let checks =
            validate_checks_at(&format!("{path}.checks"), entry.checks.unwrap_or_default())?;
        let command = entry.command.unwrap_or(false);
        if !command && checks.is_empty() {
            return Err(invalid(
                &path,
                Some(&at),
                "nothing to verify: set `command: true` (runs GANGWAY_VERIFY_COMMAND) or list \
                 `checks`, or leave the environment out of `verify:`",
            ));
        }
        let timeout_at = entry.timeout.as_ref().map(|t| t.referenced);
        let timeout = duration(
            &format!("{path}.timeout"),
            entry.timeout,
            DEFAULT_VERIFY_TIMEOUT,
        )?;
        if timeout > MAX_VERIFY_TIMEOUT {
            return Err(invalid(
                &format!("{path}.timeout"),
                timeout_at.as_ref(),
                "is longer than 24h; a verification that waits longer is a release process, \
                 not a check",
            ));
        }
        if entries
            .iter()
            .any(|(n, _): &(String, VerifyEnvironment)| *n == listed)
        {
            return Err(invalid(
                &path,
                Some(&at),
                &format!(
                    "`{listed}` is verified twice (GitHub does not tell environment names apart \
                     by case); list it once"
                ),
            ));
        }
        entries.push((
            listed,
            VerifyEnvironment {
                command,
                checks,
                timeout,
            },
        ));
    }
    entries.sort_by_key(|(name, _)| environments.position(name));
    Ok(VerifyPolicy { entries })
}

#[cfg(test)]
#[path = "verification_tests.rs"]
mod tests;
