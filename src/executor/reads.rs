//! What the executor reads from GitHub: a pull request, a commit's checks, the repository policy.
//!
//! Turns the typed answers of `github::rest` into model records and engine inputs. Never builds
//! a route or decodes GitHub's JSON itself: a new read is a new typed operation in `github/`.

use super::Executor;
use crate::engine::echo;
use crate::engine::{CheckItem, PolicyStatus};
use crate::github::rest::{self, FileContent};
use crate::model::{PullRequest, RepoRef};
use crate::policy::{self, POLICY_PATH};
use crate::queue::JobError;
use crate::store::CachedPolicy;
use crate::types::{CommitSha, PrNumber};

/// GitHub's compare of two commits, as promotion and the train need it.
pub use crate::github::rest::Comparison;

/// Our record of the PR as GitHub says it is now.
pub(crate) fn pull_record(api: &rest::Pull, repo: &RepoRef) -> PullRequest {
    // From a fork: the head repository differs from the base, or no longer exists.
    let is_fork = match (&api.head.repo, &api.base.repo) {
        (Some(head), Some(base)) => head.id != base.id,
        _ => true,
    };
    PullRequest {
        repo: repo.clone(),
        number: api.number,
        head_sha: api.head.sha.clone(),
        head_ref: api.head.ref_name.clone(),
        is_fork,
        draft: api.draft.unwrap_or(false),
        open: api.state == "open",
        merged: api.merged.unwrap_or(false),
        author: api.user.login.clone(),
        author_bot: api.user.is_bot() || echo::is_bot_login(&api.user.login),
        gh_updated_at: api.updated_at.clone().unwrap_or_default(),
        head_since_ms: 0,
        title: api.title.clone(),
    }
}

impl Executor {
    /// A deployment Gangway created but whose answer was lost (a crash, a timeout): the one for
    /// `sha` in `environment` whose payload says `gangway.{key}` = `id`.
    pub(super) async fn find_own_deployment(
        &self,
        repo: &RepoRef,
        sha: &str,
        environment: &str,
        key: &str,
        id: i64,
    ) -> Result<Option<u64>, JobError> {
        let list = self
            .github
            .deployments_of(repo.installation, &repo.full_name, sha, environment)
            .await?;
        Ok(list
            .into_iter()
            .find(|d| d.payload["gangway"][key].as_i64() == Some(id))
            .map(|d| d.id))
    }

    /// The PR as GitHub says it is now; `None` if GitHub does not know it.
    pub async fn fetch_pull(
        &self,
        repo: &RepoRef,
        number: PrNumber,
    ) -> Result<Option<PullRequest>, JobError> {
        Ok(self
            .github
            .pull(repo.installation, &repo.full_name, number)
            .await?
            .map(|api| pull_record(&api, repo)))
    }

    /// Every check run (latest of each, oldest first) and commit status of a commit.
    pub async fn fetch_checks(
        &self,
        repo: &RepoRef,
        sha: &CommitSha,
    ) -> Result<Vec<CheckItem>, JobError> {
        Ok(self
            .github
            .checks(repo.installation, &repo.full_name, sha)
            .await?)
    }

    /// The default branch's head commit now.
    pub async fn branch_head(&self, repo: &RepoRef) -> Result<CommitSha, JobError> {
        Ok(self
            .github
            .branch_head(repo.installation, &repo.full_name, &repo.default_branch)
            .await?)
    }

    /// How `head` relates to `base`; `None` when GitHub knows one of them no more (404).
    pub async fn compare(
        &self,
        repo: &RepoRef,
        base: &CommitSha,
        head: &CommitSha,
    ) -> Result<Option<Comparison>, JobError> {
        Ok(self
            .github
            .compare(repo.installation, &repo.full_name, base, head)
            .await?)
    }

    /// The repository policy from the default branch, read again once the policy TTL has passed:
    /// one call, the file at the branch (not the branch's head commit first, then the file).
    pub async fn policy(&self, repo: &RepoRef) -> Result<PolicyStatus, JobError> {
        let now = self.clock.now_ms();
        let ttl = i64::try_from(self.settings.policy_ttl.as_millis()).unwrap_or(i64::MAX);
        let cached = self.store.cached_policy(repo.id).await?;
        if let Some(c) = &cached
            && now - c.checked_at < ttl
        {
            return Ok(parse_policy(c.body.as_deref()));
        }
        let (version, body) = match self.fetch_policy_file(repo, &repo.default_branch).await? {
            Ok(read) => read,
            // Not cached: it is re-read (and re-reported) until it is fixed.
            Err(invalid) => return Ok(invalid),
        };
        let fresh = CachedPolicy {
            version,
            body,
            checked_at: now,
        };
        self.store.store_policy(repo.id, &fresh).await?;
        Ok(parse_policy(fresh.body.as_deref()))
    }

    /// The file's blob sha and text (`none` and `None`: no file), or why it cannot be used.
    async fn fetch_policy_file(
        &self,
        repo: &RepoRef,
        at: &str,
    ) -> Result<Result<(String, Option<String>), PolicyStatus>, JobError> {
        let Some(file) = self
            .github
            .file(repo.installation, &repo.full_name, POLICY_PATH, at)
            .await?
        else {
            return Ok(Ok(("none".to_owned(), None)));
        };
        let bytes = match file.content {
            FileContent::Inline(bytes) => bytes,
            FileContent::TooLarge => {
                return Ok(Err(PolicyStatus::Invalid(format!(
                    "{POLICY_PATH} is too large to read (over 1 MB); it must be under {} bytes",
                    policy::MAX_POLICY_BYTES
                ))));
            }
        };
        // Kept as text; a file that is not UTF-8 is stored lossily and fails to parse with a reason.
        let text = String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        Ok(Ok((file.sha, Some(text))))
    }
}

fn parse_policy(body: Option<&str>) -> PolicyStatus {
    match body {
        None => PolicyStatus::Valid(policy::Policy::default()),
        Some(text) => match policy::parse(text.as_bytes()) {
            Ok(p) => PolicyStatus::Valid(p),
            Err(e) => PolicyStatus::Invalid(e.to_string()),
        },
    }
}

#[cfg(test)]
#[path = "reads_tests.rs"]
mod tests;
