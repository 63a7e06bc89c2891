//! Newtypes for the identifiers that are easy to mix up.
//!
//! Each is validated where it enters the program (webhook payloads, configuration, the database), so
//! code past the edge never re-checks: a `CommitSha` is always 40 lowercase hex digits.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// Why a value was refused as an identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{what} must be {expected}, got {got:?}")]
    Invalid {
        what: &'static str,
        expected: &'static str,
        got: String,
    },
}

macro_rules! int_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl $name {
            /// The value as stored in the database (BIGINT). GitHub ids fit in 63 bits.
            pub fn as_db(self) -> i64 {
                i64::try_from(self.0).unwrap_or(i64::MAX)
            }

            /// From a database BIGINT; negative values never come from GitHub.
            pub fn from_db(v: i64) -> Self {
                Self(u64::try_from(v).unwrap_or(0))
            }
        }
    };
}

int_id!(
    /// GitHub's numeric repository id (stable across renames).
    RepoId
);
int_id!(
    /// A pull request's number within its repository.
    PrNumber
);
int_id!(
    /// A GitHub App installation id.
    InstallationId
);

/// A full commit sha: exactly 40 lowercase hexadecimal digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct CommitSha(String);

impl CommitSha {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if s.len() == 40
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(Self(s.to_owned()))
        } else {
            Err(IdError::Invalid {
                what: "a commit sha",
                expected: "40 lowercase hex digits",
                got: truncate_for_error(s),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first seven digits, as GitHub shows them.
    pub fn short(&self) -> &str {
        &self.0[..7]
    }
}

impl fmt::Display for CommitSha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for CommitSha {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        CommitSha::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The value of `X-GitHub-Delivery`: GitHub sends a GUID; we accept any short printable token so
/// that redeliveries and other senders work, but nothing that could smuggle control characters
/// into logs or SQL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeliveryId(String);

impl DeliveryId {
    pub const MAX_LEN: usize = 128;

    pub fn parse(s: &str) -> Result<Self, IdError> {
        let ok = !s.is_empty()
            && s.len() <= Self::MAX_LEN
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(IdError::Invalid {
                what: "X-GitHub-Delivery",
                expected: "1-128 characters of [A-Za-z0-9-_.:]",
                got: truncate_for_error(s),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A GitHub deployment environment name (`pr-12`, `production`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EnvName(String);

impl EnvName {
    /// GitHub allows up to 255 characters; we refuse control characters and slashes-at-ends that
    /// break the environments URL.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let ok = !s.is_empty()
            && s.len() <= 255
            && !s.chars().any(char::is_control)
            && !s.starts_with('/')
            && !s.ends_with('/');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(IdError::Invalid {
                what: "an environment name",
                expected: "1-255 printable characters",
                got: truncate_for_error(s),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EnvName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Keeps hostile input from filling an error message or a log line.
pub(crate) fn truncate_for_error(s: &str) -> String {
    const MAX: usize = 64;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &s[..end], s.len())
}

/// Cuts a long text (an error body, a log) to at most `max` bytes on a character boundary.
pub fn truncate_long(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… (cut, {} bytes in all)", &s[..end], s.len())
}

#[cfg(test)]
#[path = "types_tests.rs"]
mod tests;
