//! What the executor reads from GitHub: a pull request, a commit's checks, the repository policy.

use base64::Engine;
use http::Method;
use serde::Deserialize;

use super::Executor;
use crate::engine::{CheckItem, PolicyStatus};
use crate::github::GitHubError;
use crate::model::{PullRequest, RepoRef};
use crate::policy::{self, POLICY_PATH};
use crate::queue::JobError;
use crate::store::CachedPolicy;
use crate::types::{CommitSha, PrNumber, RepoId};

/// GitHub's compare of two commits, as promotion and the train need it.
pub use crate::github::rest::Comparison;

/// A pull request as GitHub's REST API answers it (one PR, or the list of open ones): only
/// what our record keeps. `null` where GitHub may send it reads as absent.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PullAnswer {
    pub(crate) number: PrNumber,
    state: String,
    #[serde(default)]
    draft: Option<bool>,
    #[serde(default)]
    merged: Option<bool>,
    pub(crate) head: BranchAnswer,
    base: BranchAnswer,
    user: LoginAnswer,
    #[serde(default)]
    updated_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct BranchAnswer {
    #[serde(rename = "ref")]
    ref_name: String,
    pub(crate) sha: CommitSha,
    /// `null` when the fork was deleted.
    #[serde(default)]
    repo: Option<RepoIdAnswer>,
}

#[derive(Debug, Clone, Deserialize)]
struct RepoIdAnswer {
    id: RepoId,
}

#[derive(Debug, Clone, Deserialize)]
struct LoginAnswer {
    login: String,
}

impl PullAnswer {
    /// Our record of the PR as GitHub says it is now.
    pub(crate) fn record(&self, repo: &RepoRef) -> PullRequest {
        // From a fork: the head repository differs from the base, or no longer exists.
        let is_fork = match (&self.head.repo, &self.base.repo) {
            (Some(head), Some(base)) => head.id != base.id,
            _ => true,
        };
        PullRequest {
            repo: repo.clone(),
            number: self.number,
            head_sha: self.head.sha.clone(),
            head_ref: self.head.ref_name.clone(),
            is_fork,
            draft: self.draft.unwrap_or(false),
            open: self.state == "open",
            merged: self.merged.unwrap_or(false),
            author: self.user.login.clone(),
            gh_updated_at: self.updated_at.clone().unwrap_or_default(),
            head_since_ms: 0,
        }
    }
}

#[derive(Deserialize)]
struct CommitRef {
    sha: String,
}

#[derive(Deserialize)]
struct Contents {
    #[serde(default)]
    sha: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    encoding: String,
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
        let route = format!("/repos/{}/pulls/{}", repo.full_name, number);
        match self
            .github
            .json::<PullAnswer, ()>(repo.installation, Method::GET, &route, None)
            .await
        {
            Ok(api) => Ok(Some(api.record(repo))),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e.into()),
        }
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
        let route = format!("/repos/{}/commits/{}", repo.full_name, repo.default_branch);
        let head: CommitRef = self
            .github
            .json::<_, ()>(repo.installation, Method::GET, &route, None)
            .await?;
        CommitSha::parse(&head.sha).map_err(|e| {
            JobError::Permanent(format!("GitHub answered {route} with a bad sha: {e}"))
        })
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
        let route = format!(
            "/repos/{}/contents/{}?ref={}",
            repo.full_name,
            POLICY_PATH,
            // A branch name may hold `#`, `&`, `+` or `%`.
            percent_encoding::utf8_percent_encode(at, percent_encoding::NON_ALPHANUMERIC)
        );
        let file: Contents = match self
            .github
            .json::<_, ()>(repo.installation, Method::GET, &route, None)
            .await
        {
            Ok(f) => f,
            Err(e) if e.status() == Some(404) => return Ok(Ok(("none".to_owned(), None))),
            Err(e) => return Err(e.into()),
        };
        if file.encoding != "base64" {
            // GitHub inlines files up to 1 MB; a larger one arrives with encoding "none".
            return Ok(Err(PolicyStatus::Invalid(format!(
                "{POLICY_PATH} is too large to read (over 1 MB); it must be under {} bytes",
                policy::MAX_POLICY_BYTES
            ))));
        }
        let compact: String = file.content.split_whitespace().collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map_err(|e| {
                JobError::from(GitHubError::Decode {
                    what: route.clone(),
                    message: e.to_string(),
                })
            })?;
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
