//! REST calls Gangway makes, as typed operations: each builds its route, reads every page of a
//! list through the one paginator ([`super::paginate`]) and decodes GitHub's answer into the
//! types below (shaped after GitHub's REST description, not after webhook payloads); what it
//! sends is typed too ([`NewDeployment`], [`NewDeploymentStatus`]).
//!
//! Owns: the routes and answer shapes of these calls, and the page cache protocol of conditional
//! lists ([`PageCache`]). Never decides anything from what it reads, and never returns part of a
//! list as if it were all of it.

use std::future::Future;

use http::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::paginate::Pages;
use super::{GitHub, GitHubError, Response};
use crate::model::Ancestry;
use crate::types::{CommitSha, InstallationId, PrNumber, RepoId};

/// An account (user, bot or organization) as REST answers name it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Account {
    pub login: String,
    /// `User`, `Bot` or `Organization`.
    #[serde(rename = "type", default)]
    pub kind: String,
}

impl Account {
    pub fn is_bot(&self) -> bool {
        self.kind == "Bot"
    }
}

/// `GET /app/installations`: one installation of the App.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Installation {
    pub id: InstallationId,
    /// Nullable in GitHub's description (an account being deleted).
    #[serde(default)]
    pub account: Option<Account>,
}

impl Installation {
    /// The account's login; empty when GitHub names none.
    pub fn login(&self) -> &str {
        self.account.as_ref().map_or("", |a| a.login.as_str())
    }
}

/// `GET /installation/repositories`: one repository the installation may reach.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Repository {
    pub id: RepoId,
    pub full_name: String,
}

#[derive(Deserialize)]
struct RepositoriesPage {
    #[serde(default)]
    repositories: Vec<Repository>,
}

/// `GET /repos/{o}/{r}/issues/{n}/comments`: one comment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IssueComment {
    pub id: u64,
    #[serde(default)]
    pub body: String,
    pub user: Account,
    /// The App GitHub says posted it, if any.
    #[serde(default)]
    pub performed_via_github_app: Option<AppRef>,
}

/// An App as GitHub names it on what it made.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AppRef {
    pub id: u64,
}

/// `GET /repos/{o}/{r}/pulls/{n}` (and each item of the open pull requests): what Gangway's
/// record of a pull request needs. `null` where GitHub may send it reads as absent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Pull {
    pub number: PrNumber,
    /// `open` or `closed`.
    pub state: String,
    #[serde(default)]
    pub draft: Option<bool>,
    #[serde(default)]
    pub merged: Option<bool>,
    pub head: PullBranch,
    pub base: PullBranch,
    pub user: Account,
    #[serde(default)]
    pub updated_at: Option<String>,
    /// `null` reads as empty.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub title: String,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(<Option<String> as serde::Deserialize>::deserialize(d)?.unwrap_or_default())
}

/// A pull request's head or base.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PullBranch {
    #[serde(rename = "ref")]
    pub ref_name: String,
    pub sha: CommitSha,
    /// `null` when the fork was deleted.
    #[serde(default)]
    pub repo: Option<PullRepo>,
}

/// The repository a pull request's branch lives in: only its id is read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PullRepo {
    pub id: RepoId,
}

/// `GET /repos/{o}/{r}/contents/{path}`: a file's blob sha and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub sha: String,
    pub content: FileContent,
}

/// A file's content as the contents API gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileContent {
    /// Inlined (GitHub inlines files up to 1 MB), base64 already decoded.
    Inline(Vec<u8>),
    /// Not inlined: GitHub answers a larger file with encoding `none` and no content.
    TooLarge,
}

#[derive(Deserialize)]
struct ContentsAnswer {
    #[serde(default)]
    sha: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    encoding: String,
}

impl ContentsAnswer {
    fn file(self, what: &str) -> Result<File, GitHubError> {
        use base64::Engine;
        let content = if self.encoding == "base64" {
            // GitHub wraps the base64 text in lines.
            let compact: String = self.content.split_whitespace().collect();
            FileContent::Inline(
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .map_err(|e| GitHubError::Decode {
                        what: what.to_owned(),
                        message: e.to_string(),
                    })?,
            )
        } else {
            FileContent::TooLarge
        };
        Ok(File {
            sha: self.sha,
            content,
        })
    }
}

/// `POST /repos/{o}/{r}/deployments`: a deployment to create, with the caller's `payload`.
///
/// Fields are declared in the order of their JSON names so the body sent is the same text a
/// `json!` map (sorted keys) made before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewDeployment<P> {
    pub auto_merge: bool,
    pub description: String,
    pub environment: String,
    pub payload: P,
    pub production_environment: bool,
    #[serde(rename = "ref")]
    pub ref_: String,
    /// The commit statuses GitHub must see green first; empty: none.
    pub required_contexts: Vec<String>,
    pub task: String,
    pub transient_environment: bool,
}

/// `POST /repos/{o}/{r}/deployments/{id}/statuses`: a status to add. Fields in the order of
/// their JSON names, as [`NewDeployment`]'s; an absent URL is not sent at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewDeploymentStatus {
    pub auto_inactive: bool,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_url: Option<String>,
    /// `queued`, `in_progress`, `success`, `failure`, `error`, `inactive`.
    pub state: String,
}

/// `GET /repos/{o}/{r}/deployments`: a deployment's id, Gangway's payload and its age.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Deployment {
    pub id: u64,
    #[serde(default)]
    pub payload: serde_json::Value,
    #[serde(default)]
    pub created_at: Option<String>,
}

/// `GET /app/hook/deliveries`: one delivery attempt of a webhook.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct HookDelivery {
    pub id: u64,
    pub guid: String,
    #[serde(default)]
    pub status_code: u16,
    #[serde(default)]
    pub redelivery: bool,
    #[serde(default)]
    pub delivered_at: Option<String>,
}

/// GitHub's compare of two commits: how head relates to base, and the commits head has that
/// base has not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub ancestry: Ancestry,
    /// Commits in head but not in base, oldest first: all of them, every page read.
    pub commits: Vec<CommitSha>,
}

#[derive(Deserialize)]
struct ComparePage {
    status: String,
    #[serde(default)]
    commits: Vec<CommitRef>,
}

#[derive(Deserialize)]
struct CommitRef {
    sha: String,
}

/// Where conditional lists keep each page's ETag and answer between runs (the store, for the
/// executor). Errors are the caller's own; GitHub's convert into them.
pub trait PageCache {
    type Error: From<GitHubError>;
    /// The ETag and text last stored for `route`.
    fn cached(
        &self,
        route: &str,
    ) -> impl Future<Output = Result<Option<(String, String)>, Self::Error>> + Send;
    fn store(
        &self,
        route: &str,
        etag: &str,
        text: &str,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// What a conditional list caches per page: the items and the page's next link, since a
/// `304 Not Modified` need not repeat the `Link` header.
#[derive(Serialize, Deserialize)]
struct CachedPage {
    next: Option<String>,
    items: serde_json::Value,
}

fn decode<T: DeserializeOwned>(what: &str, body: &[u8]) -> Result<T, GitHubError> {
    serde_json::from_slice(body).map_err(|e| GitHubError::Decode {
        what: what.to_owned(),
        message: e.to_string(),
    })
}

fn paging(route: &str, error: super::paginate::PageError) -> GitHubError {
    GitHubError::Paging {
        what: format!("GET {}", route.split('?').next().unwrap_or(route)),
        error,
    }
}

impl GitHub {
    /// Every page of a list, as the installation (`Some`) or as the App (`None`); `items` takes
    /// each page's items out of its answer.
    async fn list<P: DeserializeOwned, T>(
        &self,
        installation: Option<InstallationId>,
        first: &str,
        items: impl Fn(P) -> Vec<T>,
    ) -> Result<Vec<T>, GitHubError> {
        let mut pages = Pages::new(&self.api, first);
        let mut all = Vec::new();
        while let Some(route) = pages.next_route().map_err(|e| paging(first, e))? {
            let answer: Response = match installation {
                Some(i) => self.request::<()>(i, Method::GET, &route, None).await?,
                None => self.app_get(&route).await?,
            };
            all.extend(items(decode(&route, &answer.body)?));
            pages
                .advance(&answer.headers)
                .map_err(|e| paging(first, e))?;
        }
        Ok(all)
    }

    /// Every installation of the App.
    pub async fn installations(&self) -> Result<Vec<Installation>, GitHubError> {
        self.list(None, "/app/installations", |p: Vec<Installation>| p)
            .await
    }

    /// Every repository the installation may reach.
    pub async fn installation_repositories(
        &self,
        installation: InstallationId,
    ) -> Result<Vec<Repository>, GitHubError> {
        self.list(
            Some(installation),
            "/installation/repositories",
            |p: RepositoriesPage| p.repositories,
        )
        .await
    }

    /// Every comment on an issue or pull request, oldest first.
    pub async fn issue_comments(
        &self,
        installation: InstallationId,
        full_name: &str,
        number: PrNumber,
    ) -> Result<Vec<IssueComment>, GitHubError> {
        let route = format!("/repos/{full_name}/issues/{number}/comments");
        self.list(Some(installation), &route, |p: Vec<IssueComment>| p)
            .await
    }

    /// The paths of the files a pull request changed, in GitHub's order (GitHub lists at most
    /// 3000), every page read.
    pub async fn pull_files(
        &self,
        installation: InstallationId,
        full_name: &str,
        number: PrNumber,
    ) -> Result<Vec<String>, GitHubError> {
        let route = format!("/repos/{full_name}/pulls/{number}/files?per_page=100");
        self.list(Some(installation), &route, |p: Vec<PullFile>| {
            p.into_iter().map(|f| f.filename).collect()
        })
        .await
    }

    /// The deployments of `sha` in `environment`, newest first.
    pub async fn deployments_of(
        &self,
        installation: InstallationId,
        full_name: &str,
        sha: &str,
        environment: &str,
    ) -> Result<Vec<Deployment>, GitHubError> {
        let route = format!(
            "/repos/{full_name}/deployments?sha={sha}&environment={}",
            percent_encoding::utf8_percent_encode(environment, percent_encoding::NON_ALPHANUMERIC)
        );
        self.list(Some(installation), &route, |p: Vec<Deployment>| p)
            .await
    }

    /// The App's webhook deliveries, newest first, back to the first one delivered before
    /// `since` (RFC 3339 times compare as text). Stops there: older ones are not asked for.
    pub async fn hook_deliveries_since(
        &self,
        since_ms: i64,
    ) -> Result<Vec<HookDelivery>, GitHubError> {
        let first = "/app/hook/deliveries";
        let mut pages = Pages::new(&self.api, first);
        let mut all: Vec<HookDelivery> = Vec::new();
        while let Some(route) = pages.next_route().map_err(|e| paging(first, e))? {
            let answer = self.app_get(&route).await?;
            let page: Vec<HookDelivery> = decode(&route, &answer.body)?;
            let older = page.iter().any(|d| delivered_ms(d) < since_ms);
            all.extend(page);
            if older {
                break;
            }
            pages
                .advance(&answer.headers)
                .map_err(|e| paging(first, e))?;
        }
        Ok(all)
    }

    /// Asks GitHub to deliver a webhook delivery again.
    pub async fn redeliver(&self, delivery: u64) -> Result<(), GitHubError> {
        let route = format!("/app/hook/deliveries/{delivery}/attempts");
        let _: serde_json::Value = self.app_json::<_, ()>(Method::POST, &route, None).await?;
        Ok(())
    }

    /// How `head` relates to `base`, with every commit head has that base has not; `None` when
    /// GitHub knows one of them no more (404).
    ///
    /// The ancestry (`status`, all promotion's descendant rule needs) is on every page; the
    /// commit list (the train's merged pull requests) is paged: without paging GitHub sends only
    /// the newest 250, with it the oldest page first. Every page is read.
    pub async fn compare(
        &self,
        installation: InstallationId,
        full_name: &str,
        base: &CommitSha,
        head: &CommitSha,
    ) -> Result<Option<Comparison>, GitHubError> {
        let first = format!("/repos/{full_name}/compare/{base}...{head}");
        let what = format!("GET /repos/{full_name}/compare");
        let mut pages = Pages::new(&self.api, &first);
        let mut status = None;
        let mut commits = Vec::new();
        while let Some(route) = pages.next_route().map_err(|e| paging(&first, e))? {
            let answer = match self
                .request::<()>(installation, Method::GET, &route, None)
                .await
            {
                Ok(a) => a,
                Err(e) if e.status() == Some(404) => return Ok(None),
                Err(e) => return Err(e),
            };
            let page: ComparePage = decode(&what, &answer.body)?;
            status.get_or_insert(page.status);
            for c in page.commits {
                commits.push(CommitSha::parse(&c.sha).map_err(|e| GitHubError::Decode {
                    what: what.clone(),
                    message: format!("a commit sha: {e}"),
                })?);
            }
            pages
                .advance(&answer.headers)
                .map_err(|e| paging(&first, e))?;
        }
        let status = status.unwrap_or_default();
        let ancestry = Ancestry::parse(&status).ok_or_else(|| GitHubError::Decode {
            what: what.clone(),
            message: format!("an unknown status {status:?}"),
        })?;
        Ok(Some(Comparison { ancestry, commits }))
    }

    /// Every open pull request, read through `cache` (see [`Self::repo_list_cached`]).
    pub async fn open_pulls_cached<C: PageCache>(
        &self,
        installation: InstallationId,
        full_name: &str,
        cache: &C,
    ) -> Result<Vec<Pull>, C::Error> {
        self.repo_list_cached(installation, full_name, "pulls?state=open", cache)
            .await
    }

    /// Every deployment of the repository, newest first, read through `cache` (see
    /// [`Self::repo_list_cached`]).
    pub async fn deployments_cached<C: PageCache>(
        &self,
        installation: InstallationId,
        full_name: &str,
        cache: &C,
    ) -> Result<Vec<Deployment>, C::Error> {
        self.repo_list_cached(installation, full_name, "deployments", cache)
            .await
    }

    /// Every page of a list, each asked for with the ETag of its cached answer (an unchanged
    /// page costs no rate limit and comes from `cache`). `first` is relative to the repository
    /// (`pulls?state=open`).
    pub async fn repo_list_cached<T: DeserializeOwned, C: PageCache>(
        &self,
        installation: InstallationId,
        full_name: &str,
        first: &str,
        cache: &C,
    ) -> Result<Vec<T>, C::Error> {
        let first = format!("/repos/{full_name}/{first}");
        let mut pages = Pages::new(&self.api, &first);
        let mut all = Vec::new();
        while let Some(route) = pages.next_route().map_err(|e| paging(&first, e))? {
            let cached = cache.cached(&route).await?.and_then(|(tag, text)| {
                Some((tag, serde_json::from_str::<CachedPage>(&text).ok()?))
            });
            let etag = cached.as_ref().map(|(tag, _)| tag.as_str());
            let page = match self.get_if_changed(installation, &route, etag).await? {
                Some(answer) => {
                    let items: serde_json::Value = decode(&route, &answer.body)?;
                    let next = super::paginate::next_link(&answer.headers)
                        .map_err(|e| paging(&first, e))?;
                    let page = CachedPage { next, items };
                    let tag = answer
                        .headers
                        .get(http::header::ETAG)
                        .and_then(|v| v.to_str().ok());
                    if let (Some(tag), Ok(text)) = (tag, serde_json::to_string(&page)) {
                        cache.store(&route, tag, &text).await?;
                    }
                    page
                }
                // Unchanged, so cached (no ETag is sent without a cached page).
                None => match cached {
                    Some((_, page)) => page,
                    None => {
                        return Err(GitHubError::Decode {
                            what: format!("GET {first}"),
                            message: "304 Not Modified to an unconditional request".into(),
                        }
                        .into());
                    }
                },
            };
            let items: Vec<T> =
                serde_json::from_value(page.items).map_err(|e| GitHubError::Decode {
                    what: route.clone(),
                    message: e.to_string(),
                })?;
            all.extend(items);
            pages
                .advance_to(page.next.as_deref())
                .map_err(|e| paging(&first, e))?;
        }
        Ok(all)
    }
}

#[derive(Deserialize)]
struct Created {
    id: u64,
}

#[derive(Deserialize)]
struct DeploymentStatus {
    state: String,
}

/// `GET /repos/{o}/{r}/collaborators/{user}/permission`: GitHub's words for a user's access.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct PermissionAnswer {
    /// `admin`, `write`, `read` or `none` (the legacy scale).
    #[serde(default)]
    pub permission: Option<String>,
    /// The finer role (`maintain`, `triage`, a custom role, ...).
    #[serde(default)]
    pub role_name: Option<String>,
}

#[derive(Deserialize)]
struct RepositoryAnswer {
    default_branch: String,
}

impl GitHub {
    /// Posts a comment on an issue or pull request; returns its id.
    pub async fn create_issue_comment(
        &self,
        installation: InstallationId,
        full_name: &str,
        number: PrNumber,
        body: &str,
    ) -> Result<u64, GitHubError> {
        let route = format!("/repos/{full_name}/issues/{number}/comments");
        let created: Created = self
            .json(
                installation,
                Method::POST,
                &route,
                Some(&serde_json::json!({ "body": body })),
            )
            .await?;
        Ok(created.id)
    }

    /// Replaces a comment's text (404: it was deleted).
    pub async fn edit_issue_comment(
        &self,
        installation: InstallationId,
        full_name: &str,
        id: u64,
        body: &str,
    ) -> Result<(), GitHubError> {
        let route = format!("/repos/{full_name}/issues/comments/{id}");
        self.request(
            installation,
            Method::PATCH,
            &route,
            Some(&serde_json::json!({ "body": body })),
        )
        .await?;
        Ok(())
    }

    /// Reacts to a comment (`eyes`, `+1`, ...; 404: the comment was deleted).
    pub async fn react_to_comment(
        &self,
        installation: InstallationId,
        full_name: &str,
        comment_id: u64,
        content: &str,
    ) -> Result<(), GitHubError> {
        let route = format!("/repos/{full_name}/issues/comments/{comment_id}/reactions");
        self.request(
            installation,
            Method::POST,
            &route,
            Some(&serde_json::json!({ "content": content })),
        )
        .await?;
        Ok(())
    }

    /// The state of a deployment's newest status; `None` before its first.
    pub async fn latest_deployment_state(
        &self,
        installation: InstallationId,
        full_name: &str,
        deployment: u64,
    ) -> Result<Option<String>, GitHubError> {
        // Newest first: the first item is all that is asked, not a list to read whole.
        let route = format!("/repos/{full_name}/deployments/{deployment}/statuses?per_page=1");
        let statuses: Vec<DeploymentStatus> = self
            .json::<_, ()>(installation, Method::GET, &route, None)
            .await?;
        Ok(statuses.into_iter().next().map(|s| s.state))
    }

    /// A user's access to the repository as GitHub answers it (404: GitHub knows no such user).
    pub async fn collaborator_permission(
        &self,
        installation: InstallationId,
        full_name: &str,
        login: &str,
    ) -> Result<PermissionAnswer, GitHubError> {
        let route = format!("/repos/{full_name}/collaborators/{login}/permission");
        self.json::<_, ()>(installation, Method::GET, &route, None)
            .await
    }

    /// Creates a deployment; returns its id. 422: GitHub cannot resolve the commit.
    pub async fn create_deployment<P: Serialize>(
        &self,
        installation: InstallationId,
        full_name: &str,
        body: &NewDeployment<P>,
    ) -> Result<u64, GitHubError> {
        let route = format!("/repos/{full_name}/deployments");
        let created: Created = self
            .json(installation, Method::POST, &route, Some(body))
            .await?;
        Ok(created.id)
    }

    /// Adds a status to a deployment.
    pub async fn create_deployment_status(
        &self,
        installation: InstallationId,
        full_name: &str,
        deployment: u64,
        body: &NewDeploymentStatus,
    ) -> Result<(), GitHubError> {
        let route = format!("/repos/{full_name}/deployments/{deployment}/statuses");
        self.request(installation, Method::POST, &route, Some(body))
            .await?;
        Ok(())
    }

    /// Deletes an environment (403 without the Administration permission, 404 if gone).
    pub async fn delete_environment(
        &self,
        installation: InstallationId,
        full_name: &str,
        environment: &str,
    ) -> Result<(), GitHubError> {
        // The name comes from the policy file: one path segment, whatever it holds.
        let route = format!(
            "/repos/{full_name}/environments/{}",
            percent_encoding::utf8_percent_encode(environment, percent_encoding::NON_ALPHANUMERIC)
        );
        self.request::<()>(installation, Method::DELETE, &route, None)
            .await?;
        Ok(())
    }

    /// Merges a pull request at `sha` with `method` (`merge`, `squash`, `rebase`); 405, 409 or
    /// 422 when GitHub will not.
    pub async fn merge_pull(
        &self,
        installation: InstallationId,
        full_name: &str,
        number: PrNumber,
        sha: &CommitSha,
        method: &str,
    ) -> Result<(), GitHubError> {
        let route = format!("/repos/{full_name}/pulls/{number}/merge");
        let body = serde_json::json!({ "sha": sha.as_str(), "merge_method": method });
        self.request(installation, Method::PUT, &route, Some(&body))
            .await?;
        Ok(())
    }

    /// A pull request as GitHub says it is now; `None` if GitHub does not know it (404).
    pub async fn pull(
        &self,
        installation: InstallationId,
        full_name: &str,
        number: PrNumber,
    ) -> Result<Option<Pull>, GitHubError> {
        let route = format!("/repos/{full_name}/pulls/{number}");
        match self
            .json::<Pull, ()>(installation, Method::GET, &route, None)
            .await
        {
            Ok(pull) => Ok(Some(pull)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The commit a branch points at now.
    pub async fn branch_head(
        &self,
        installation: InstallationId,
        full_name: &str,
        branch: &str,
    ) -> Result<CommitSha, GitHubError> {
        let route = format!("/repos/{full_name}/commits/{branch}");
        let head: CommitRef = self
            .json::<_, ()>(installation, Method::GET, &route, None)
            .await?;
        CommitSha::parse(&head.sha).map_err(|e| GitHubError::Decode {
            what: route,
            message: format!("a bad sha: {e}"),
        })
    }

    /// The file at `path` on branch (or commit) `at`; `None` when there is none (404).
    pub async fn file(
        &self,
        installation: InstallationId,
        full_name: &str,
        path: &str,
        at: &str,
    ) -> Result<Option<File>, GitHubError> {
        let route = format!(
            "/repos/{full_name}/contents/{path}?ref={}",
            // A branch name may hold `#`, `&`, `+` or `%`.
            percent_encoding::utf8_percent_encode(at, percent_encoding::NON_ALPHANUMERIC)
        );
        match self
            .json::<ContentsAnswer, ()>(installation, Method::GET, &route, None)
            .await
        {
            Ok(answer) => answer.file(&route).map(Some),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The repository's default branch.
    pub async fn default_branch(
        &self,
        installation: InstallationId,
        full_name: &str,
    ) -> Result<String, GitHubError> {
        let route = format!("/repos/{full_name}");
        let repo: RepositoryAnswer = self
            .json::<_, ()>(installation, Method::GET, &route, None)
            .await?;
        Ok(repo.default_branch)
    }
}

fn delivered_ms(d: &HookDelivery) -> i64 {
    d.delivered_at
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map_or(0, |t| t.timestamp_millis())
}

#[cfg(test)]
#[path = "rest_tests.rs"]
mod tests;

/// One entry of a pull request's file list (only what Gangway reads).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct PullFile {
    pub filename: String,
}
