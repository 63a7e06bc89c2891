//! The `permissions:` section: the least repository permission a person needs to run each
//! command, and GitHub's permission levels it is written in.
//!
//! ```yaml
//! permissions:
//!   stage: write        # default write
//!   unstage: write      # default write
//!   keep: write         # default: the same as stage
//!   promote: maintain   # default maintain
//!   hold: write         # default write: the panic button
//!   unhold: maintain    # default maintain
//!   rollback: maintain  # default maintain
//!   cancel: maintain    # default maintain (as promote): withdraw a queued promotion
//!   bad: write          # default write: `/bad` besides the PR's author (`/good`: the author only)
//! ```
//!
//! Adding a command is a field in [`Permissions`] with its default in `Permissions::default`,
//! the same field in `RawPermissions` and in `RawPermissions::validate`, and its key in
//! [`PERMISSIONS_KEYS`] (in field order); `expected_at` follows that list on its own.

use serde::Deserialize;
use std::fmt;

/// The keys of `permissions:`, named in error messages (a test keeps this in step with serde).
pub const PERMISSIONS_KEYS: &[&str] = &[
    "stage", "unstage", "keep", "promote", "hold", "unhold", "rollback", "cancel", "bad",
];

/// A GitHub repository permission level, lowest to highest; `Ord` follows that order, so
/// "may run" is `person >= required`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    /// No access to the repository (or an answer we do not recognise).
    None,
    Read,
    Triage,
    Write,
    Maintain,
    Admin,
}

impl Permission {
    /// Every level, lowest first.
    pub const ALL: [Permission; 6] = [
        Permission::None,
        Permission::Read,
        Permission::Triage,
        Permission::Write,
        Permission::Maintain,
        Permission::Admin,
    ];

    /// The level's name, as written in the policy file and in GitHub's API.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::None => "none",
            Permission::Read => "read",
            Permission::Triage => "triage",
            Permission::Write => "write",
            Permission::Maintain => "maintain",
            Permission::Admin => "admin",
        }
    }

    /// From GitHub's collaborator-permission answer
    /// (`GET /repos/{owner}/{repo}/collaborators/{username}/permission`).
    ///
    /// `role_name` (`admin`, `maintain`, `write`, `triage`, `read`, or a custom role's name) is
    /// preferred because it tells `maintain` and `triage` apart; a custom role's name says
    /// nothing about its level, so then `permission` (`admin`, `write`, `read`, `none`: the
    /// custom role's base role, rounded down) decides. Names are matched exactly, and
    /// anything unrecognised or missing is [`Permission::None`]: never more access than
    /// GitHub stated.
    pub fn from_github(role_name: Option<&str>, permission: Option<&str>) -> Permission {
        role_name
            .and_then(Self::from_name)
            .or_else(|| permission.and_then(Self::from_name))
            .unwrap_or(Permission::None)
    }

    fn from_name(name: &str) -> Option<Permission> {
        Self::ALL.into_iter().find(|level| level.as_str() == name)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The least permission needed to run each command. `Default` is the documented defaults.
///
/// `none` lets anyone run the command, even someone without access to the repository;
/// `read` lets anyone who can see a private repository run it. Both are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Permissions {
    /// To stage (deploy) a pull request's preview by command. Default `write`.
    pub stage: Permission,
    /// To tear a preview down by command. Default `write`.
    pub unstage: Permission,
    /// To pin a preview with `/keep`. Default: whatever `stage` is.
    pub keep: Permission,
    /// To promote a commit to the next environment by command. Default `maintain`.
    pub promote: Permission,
    /// To hold promotions (the panic button), by command. Default `write`, so anyone who
    /// can push can stop a bad release.
    pub hold: Permission,
    /// To lift a hold by command. Default `maintain`.
    pub unhold: Permission,
    /// To roll an environment back to its last good commit by command. Default `maintain`.
    pub rollback: Permission,
    /// To withdraw a pull request's queued promotions by command. Default `maintain`, as
    /// `promote`.
    pub cancel: Permission,
    /// To answer `/bad` in a sign-off round on a pull request one did not write (its author
    /// always may). Default `write`, like the panic button it is. `/good` has no key: only the
    /// pull request's author signs it off.
    pub bad: Permission,
}

impl Default for Permissions {
    fn default() -> Self {
        Self {
            stage: Permission::Write,
            unstage: Permission::Write,
            keep: Permission::Write,
            promote: Permission::Maintain,
            hold: Permission::Write,
            unhold: Permission::Maintain,
            rollback: Permission::Maintain,
            cancel: Permission::Maintain,
            bad: Permission::Write,
        }
    }
}

// ---- The section as written: private, strict, converted into the types above. ----

/// Every key is optional and YAML null means "unset", as in `preview:`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPermissions {
    stage: Option<RawPermission>,
    unstage: Option<RawPermission>,
    keep: Option<RawPermission>,
    promote: Option<RawPermission>,
    hold: Option<RawPermission>,
    unhold: Option<RawPermission>,
    rollback: Option<RawPermission>,
    cancel: Option<RawPermission>,
    bad: Option<RawPermission>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum RawPermission {
    None,
    Read,
    Triage,
    Write,
    Maintain,
    Admin,
}

impl From<RawPermission> for Permission {
    fn from(raw: RawPermission) -> Self {
        match raw {
            RawPermission::None => Permission::None,
            RawPermission::Read => Permission::Read,
            RawPermission::Triage => Permission::Triage,
            RawPermission::Write => Permission::Write,
            RawPermission::Maintain => Permission::Maintain,
            RawPermission::Admin => Permission::Admin,
        }
    }
}

impl RawPermissions {
    /// Every value the schema accepts is valid, so this cannot fail (yet).
    pub(super) fn validate(self) -> Permissions {
        let defaults = Permissions::default();
        let or_default = |raw: Option<RawPermission>, default| raw.map_or(default, Into::into);
        let stage = or_default(self.stage, defaults.stage);
        Permissions {
            stage,
            unstage: or_default(self.unstage, defaults.unstage),
            keep: or_default(self.keep, stage),
            promote: or_default(self.promote, defaults.promote),
            hold: or_default(self.hold, defaults.hold),
            unhold: or_default(self.unhold, defaults.unhold),
            rollback: or_default(self.rollback, defaults.rollback),
            cancel: or_default(self.cancel, defaults.cancel),
            bad: or_default(self.bad, defaults.bad),
        }
    }
}

#[cfg(test)]
#[path = "permissions_tests.rs"]
mod tests;
