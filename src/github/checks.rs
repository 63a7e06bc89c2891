//! A commit's checks in one call: GitHub GraphQL's `statusCheckRollup` (check runs and commit
//! statuses together), decoded into the model's [`CheckItem`]s.
//!
//! Owns: the query text, reading its answer (GraphQL reports errors with HTTP 200 and an
//! `errors` array) and classifying those errors. Never decides whether a commit is green: the
//! engine does.

use serde::Deserialize;
use serde_json::{Value, json};

use super::paginate::PageError;
use super::{GitHub, GitHubError};
use crate::model::{CheckItem, CheckSource, Outcome};
use crate::types::{CommitSha, InstallationId};

/// The operation name GitHub (and the fake) see.
pub const OPERATION: &str = "GangwayChecks";

/// At most this many pages of 100 contexts are read; a commit with more cannot be judged (an
/// error, not the first thousand: a failed check past them would read as green).
pub const MAX_PAGES: usize = 10;

pub const QUERY: &str =
    "query GangwayChecks($owner: String!, $name: String!, $sha: GitObjectID!, $cursor: String) {
  repository(owner: $owner, name: $name) {
    object(oid: $sha) {
      ... on Commit {
        statusCheckRollup {
          state
          contexts(first: 100, after: $cursor) {
            pageInfo { hasNextPage endCursor }
            nodes {
              __typename
              ... on CheckRun { databaseId name status conclusion checkSuite { app { slug } } }
              ... on StatusContext { context state }
            }
          }
        }
      }
    }
  }
}";

/// The request body for one page.
pub fn request(full_name: &str, sha: &str, cursor: Option<&str>) -> Value {
    let (owner, name) = full_name.split_once('/').unwrap_or((full_name, ""));
    json!({
        "query": QUERY,
        "operationName": OPERATION,
        "variables": { "owner": owner, "name": name, "sha": sha, "cursor": cursor },
    })
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    errors: Option<Vec<GqlError>>,
}

#[derive(Deserialize)]
struct GqlError {
    #[serde(default)]
    message: String,
    /// GitHub's error kind: `NOT_FOUND`, `RATE_LIMITED`, `FORBIDDEN`, …
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    path: Option<Vec<Value>>,
}

#[derive(Deserialize)]
struct Data {
    repository: Option<Repository>,
}

#[derive(Deserialize)]
struct Repository {
    object: Option<Object>,
}

/// The object at the sha; not a commit (a tree, a blob) decodes with no rollup.
#[derive(Deserialize)]
struct Object {
    #[serde(rename = "statusCheckRollup", default)]
    rollup: Option<Rollup>,
}

#[derive(Deserialize)]
struct Rollup {
    contexts: Contexts,
}

#[derive(Deserialize)]
struct Contexts {
    #[serde(rename = "pageInfo")]
    page_info: PageInfo,
    #[serde(default)]
    nodes: Vec<Option<Node>>,
}

#[derive(Deserialize)]
struct PageInfo {
    #[serde(rename = "hasNextPage")]
    has_next_page: bool,
    #[serde(rename = "endCursor", default)]
    end_cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "__typename")]
enum Node {
    CheckRun {
        #[serde(rename = "databaseId", default)]
        database_id: Option<u64>,
        name: String,
        status: String,
        #[serde(default)]
        conclusion: Option<String>,
        /// The suite it belongs to, for the App that posted it.
        #[serde(rename = "checkSuite", default)]
        check_suite: Option<SuiteNode>,
    },
    StatusContext {
        context: String,
        state: String,
    },
    /// A kind of context GitHub may add later: not a check we know how to read.
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct SuiteNode {
    #[serde(default)]
    app: Option<AppNode>,
}

#[derive(Deserialize)]
struct AppNode {
    slug: String,
}

/// One page of a commit's checks.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Page {
    /// (databaseId, item) of check runs, in GitHub's order.
    pub runs: Vec<(u64, CheckItem)>,
    /// Commit statuses (already the latest per context).
    pub statuses: Vec<CheckItem>,
    /// The cursor of the next page, if there is one.
    pub next: Option<String>,
}

/// Reads one answer to [`QUERY`]. A repository or commit GitHub does not know, and a commit
/// with no checks (`statusCheckRollup: null`), give an empty page for the commit; a repository
/// GitHub says does not exist is a permanent error (Gangway lost access, or it was deleted).
pub fn decode(body: &[u8]) -> Result<Page, GitHubError> {
    let what = format!("POST /graphql ({OPERATION})");
    let envelope: Envelope = serde_json::from_slice(body).map_err(|e| GitHubError::Decode {
        what: what.clone(),
        message: e.to_string(),
    })?;
    if let Some(errors) = envelope.errors.filter(|e| !e.is_empty()) {
        return match classify(&what, &errors) {
            Classified::NoCommit => Ok(Page::default()),
            Classified::Error(e) => Err(e),
        };
    }
    let Some(data) = envelope.data else {
        return Err(GitHubError::Decode {
            what,
            message: "an answer with neither data nor errors".into(),
        });
    };
    let Some(repository) = data.repository else {
        return Err(GitHubError::Rejected {
            what,
            status: 404,
            message: "GitHub knows no such repository (or Gangway may no longer read it)".into(),
        });
    };
    let Some(rollup) = repository.object.and_then(|o| o.rollup) else {
        return Ok(Page::default());
    };
    let mut page = Page::default();
    for node in rollup.contexts.nodes.into_iter().flatten() {
        match node {
            Node::CheckRun {
                database_id,
                name,
                status,
                conclusion,
                check_suite,
            } => {
                let status = status.to_ascii_lowercase();
                let conclusion = conclusion.map(|c| c.to_ascii_lowercase());
                let source = match check_suite.and_then(|s| s.app) {
                    Some(app) => CheckSource::App(app.slug.to_ascii_lowercase()),
                    None => CheckSource::UnknownApp,
                };
                page.runs.push((
                    database_id.unwrap_or(0),
                    CheckItem {
                        outcome: Outcome::of_check_run(&status, conclusion.as_deref()),
                        name,
                        source,
                    },
                ));
            }
            Node::StatusContext { context, state } => {
                let state = state.to_ascii_lowercase();
                // GraphQL's EXPECTED: a required status not reported yet, i.e. pending.
                let state = if state == "expected" {
                    "pending"
                } else {
                    &state
                };
                page.statuses.push(CheckItem {
                    outcome: Outcome::of_status(state),
                    name: context,
                    source: CheckSource::Status,
                });
            }
            Node::Other => {}
        }
    }
    if rollup.contexts.page_info.has_next_page {
        page.next = rollup.contexts.page_info.end_cursor;
    }
    Ok(page)
}

enum Classified {
    /// The commit is not known: it has no checks.
    NoCommit,
    Error(GitHubError),
}

fn classify(what: &str, errors: &[GqlError]) -> Classified {
    let kinds: Vec<&str> = errors.iter().filter_map(|e| e.kind.as_deref()).collect();
    let message = errors
        .iter()
        .take(5)
        .map(|e| crate::types::truncate_long(&e.message, 200))
        .collect::<Vec<_>>()
        .join("; ");
    let on_object = |e: &GqlError| {
        e.path
            .as_ref()
            .is_some_and(|p| p.iter().any(|s| s.as_str() == Some("object")))
    };
    if !errors.is_empty()
        && errors
            .iter()
            .all(|e| e.kind.as_deref() == Some("NOT_FOUND") && on_object(e))
    {
        return Classified::NoCommit;
    }
    let lowered = message.to_ascii_lowercase();
    if kinds
        .iter()
        .any(|k| matches!(*k, "RATE_LIMITED" | "INTERNAL" | "SERVICE_UNAVAILABLE"))
        || lowered.contains("rate limit")
        || lowered.contains("timeout")
        || lowered.contains("something went wrong")
    {
        return Classified::Error(GitHubError::Transient {
            what: what.to_owned(),
            message,
            retry_after: kinds
                .contains(&"RATE_LIMITED")
                .then(|| std::time::Duration::from_secs(60)),
        });
    }
    let status = if kinds.contains(&"NOT_FOUND") {
        404
    } else if kinds.contains(&"FORBIDDEN") {
        403
    } else {
        422
    };
    Classified::Error(GitHubError::Rejected {
        what: what.to_owned(),
        status,
        message: format!("the {OPERATION} query failed: {message}"),
    })
}

/// Every page's items as the engine reads them: check runs oldest first (so a re-run, which has
/// a higher id, wins), then statuses.
pub fn items(pages: Vec<Page>) -> Vec<CheckItem> {
    let mut runs = Vec::new();
    let mut statuses = Vec::new();
    for p in pages {
        runs.extend(p.runs);
        statuses.extend(p.statuses);
    }
    runs.sort_by_key(|(id, _)| *id);
    runs.into_iter().map(|(_, i)| i).chain(statuses).collect()
}

impl GitHub {
    /// Every check run (latest of each, oldest first) and commit status of a commit, in one
    /// GraphQL query per 100 of them. More than [`MAX_PAGES`] pages is an error, never a
    /// partial answer (a missing failed check would read as green).
    pub async fn checks(
        &self,
        installation: InstallationId,
        full_name: &str,
        sha: &CommitSha,
    ) -> Result<Vec<CheckItem>, GitHubError> {
        let mut pages = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            if pages.len() == MAX_PAGES {
                return Err(GitHubError::Paging {
                    what: format!("POST /graphql ({OPERATION})"),
                    error: PageError::TooManyPages { max: MAX_PAGES },
                });
            }
            let body = request(full_name, sha.as_str(), cursor.as_deref());
            let answer = self.graphql(installation, OPERATION, &body).await?;
            let page = decode(&answer.body)?;
            cursor = page.next.clone();
            pages.push(page);
            if cursor.is_none() {
                return Ok(items(pages));
            }
        }
    }
}

#[cfg(test)]
#[path = "checks_tests.rs"]
mod tests;
