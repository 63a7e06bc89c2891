//! How the executor's failures become job outcomes: which are worth another attempt.
//!
//! Owns the mapping from the errors of the clients it drives (GitHub) to [`JobError`]. The
//! clients never know about jobs: the GitHub client reports what happened, the queue's retry
//! policy is applied here.

use crate::github::GitHubError;
use crate::queue::JobError;

/// GitHub 5xx, rate limits and network trouble are retried (honouring `Retry-After`); a 4xx or an
/// answer we cannot read fails the same way next time.
impl From<GitHubError> for JobError {
    fn from(e: GitHubError) -> Self {
        match e {
            GitHubError::Transient { retry_after, .. } => JobError::Transient {
                message: e.to_string(),
                retry_after,
            },
            other => JobError::Permanent(other.to_string()),
        }
    }
}
