//! The dashboard's reads: what every page shows, in a few queries per page on the read
//! connections (a repository page with hundreds of open pull requests is one query for the
//! pull requests with their approval and newest preview, not one per pull request).
//!
//! Rows are plain values for templates; nothing here decides anything.

use sqlx::AnyPool;

use super::{Store, StoreError};

/// A repository Gangway serves (its installation's list, or a pull request seen there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashRepo {
    pub id: i64,
    pub full_name: String,
    pub installation_id: i64,
    /// The installation's account ('' when not recorded).
    pub account: String,
}

/// A pull request with what its row shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashPull {
    pub repo_id: i64,
    pub number: i64,
    pub title: String,
    pub author: String,
    pub head_sha: String,
    pub head_ref: String,
    pub is_fork: bool,
    pub draft: bool,
    pub open: bool,
    /// Who approved the head commit (`/stage`), if anyone.
    pub approved_by: Option<String>,
    /// Gangway's status comment on the pull request, as last written.
    pub sticky: Option<String>,
    /// The newest preview of the pull request, any commit.
    pub preview: Option<DashPreview>,
}

/// One preview deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashPreview {
    pub pr_number: i64,
    pub sha: String,
    pub environment: String,
    pub host: String,
    pub state: String,
    pub url: Option<String>,
    pub detail: Option<String>,
    pub log_token: String,
    pub requested_by: String,
    pub created_at: i64,
}

/// One deployment to a long-lived environment (or target), with its verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashEnvDeployment {
    pub id: i64,
    pub repo_id: i64,
    pub environment: String,
    pub sha: String,
    pub kind: String,
    pub requested_by: String,
    pub pr_number: Option<i64>,
    pub reason: Option<String>,
    pub state: String,
    pub detail: Option<String>,
    pub log_token: String,
    pub created_at: i64,
    pub live_at: Option<i64>,
    /// The verification's state and why it failed, when the deployment has one.
    pub verification: Option<(String, Option<String>)>,
}

/// A hold on an environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashHold {
    pub repo_id: i64,
    pub environment: String,
    pub held_by: String,
    pub reason: Option<String>,
    pub held_at: i64,
}

/// A promotion waiting in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashQueued {
    pub id: i64,
    pub repo_id: i64,
    pub family: String,
    pub environment: String,
    pub sha: String,
    pub pr_number: Option<i64>,
    pub requested_by: String,
    pub state: String,
    pub reason: Option<String>,
    pub created_at: i64,
}

/// An approval of one commit of a pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashApproval {
    pub sha: String,
    pub approver: String,
    pub permission: String,
    pub approved_at: i64,
}

/// A sign-off question and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashSignoff {
    pub sha: String,
    pub pr_number: i64,
    pub author: String,
    pub asked_at: i64,
    pub answer: Option<String>,
    pub answered_by: Option<String>,
    pub reason: Option<String>,
}

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashAudit {
    pub id: i64,
    pub at: i64,
    pub repo_id: Option<i64>,
    pub pr_number: Option<i64>,
    pub subject: String,
    pub decision: String,
    pub reason: String,
}

/// A job as operators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashJob {
    pub id: i64,
    pub kind: String,
    pub key: String,
    pub state: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

/// A commit marked bad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashBad {
    pub sha: String,
    pub environment: String,
    pub marked_by: String,
    pub reason: Option<String>,
    pub marked_at: i64,
}

/// The audit trail's filters (`None`: any); `before`: the page ends before this entry's id.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub repo_id: Option<i64>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub before: Option<i64>,
}

/// `0` for every repository, else the one.
fn scope(repo: Option<i64>) -> i64 {
    repo.unwrap_or(0)
}

/// `text` with LIKE's wildcards and escape taken literally (used with `ESCAPE '\'`).
fn like_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

type PullTuple = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    i64,
    i64,
    String,
    Option<String>,
    Option<String>,
);

const PULL_COLUMNS: &str = "p.repo_id, p.number, p.title, p.author, p.head_sha, p.head_ref, p.is_fork, p.draft, p.state, a.approver, p.sticky_body";

const PREVIEW_COLUMNS: &str = "pr_number, sha, environment, host, state, environment_url, detail, log_token, requested_by, created_at";

type PreviewTuple = (
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    i64,
);

fn preview(t: PreviewTuple) -> DashPreview {
    DashPreview {
        pr_number: t.0,
        sha: t.1,
        environment: t.2,
        host: t.3,
        state: t.4,
        url: t.5,
        detail: t.6,
        log_token: t.7,
        requested_by: t.8,
        created_at: t.9,
    }
}

fn pull(t: PullTuple) -> DashPull {
    DashPull {
        repo_id: t.0,
        number: t.1,
        title: t.2,
        author: t.3,
        head_sha: t.4,
        head_ref: t.5,
        is_fork: t.6 != 0,
        draft: t.7 != 0,
        open: t.8 == "open",
        approved_by: t.9,
        sticky: t.10,
        preview: None,
    }
}

const ENV_COLUMNS: &str = "d.id, d.repo_id, d.environment, d.sha, d.kind, d.requested_by, d.pr_number, d.reason, d.state, d.detail, d.log_token, d.created_at, d.live_at, v.state, v.detail";

type EnvTuple = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    Option<i64>,
    Option<String>,
    String,
    Option<String>,
    String,
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
);

fn env(t: EnvTuple) -> DashEnvDeployment {
    DashEnvDeployment {
        id: t.0,
        repo_id: t.1,
        environment: t.2,
        sha: t.3,
        kind: t.4,
        requested_by: t.5,
        pr_number: t.6,
        reason: t.7,
        state: t.8,
        detail: t.9,
        log_token: t.10,
        created_at: t.11,
        live_at: t.12,
        verification: t.13.map(|s| (s, t.14)),
    }
}

const QUEUE_COLUMNS: &str =
    "id, repo_id, family, environment, sha, pr_number, requested_by, state, reason, created_at";

type QueueTuple = (
    i64,
    i64,
    String,
    String,
    String,
    Option<i64>,
    String,
    String,
    Option<String>,
    i64,
);

fn queued(t: QueueTuple) -> DashQueued {
    DashQueued {
        id: t.0,
        repo_id: t.1,
        family: t.2,
        environment: t.3,
        sha: t.4,
        pr_number: t.5,
        requested_by: t.6,
        state: t.7,
        reason: t.8,
        created_at: t.9,
    }
}

impl Store {
    fn dash(&self) -> &AnyPool {
        self.reader()
    }

    /// `select`'s rows about one pull request (`pr`) or one commit (`sha` prefix) of a
    /// repository, newest (`order` descending) first, at most 500: the one filter the PR and
    /// commit pages share. `alias` prefixes the filtered columns (`"d."`, or `""`).
    async fn scoped<R>(
        &self,
        select: &str,
        alias: &str,
        order: &str,
        repo: i64,
        pr: Option<i64>,
        sha: Option<&str>,
    ) -> Result<Vec<R>, StoreError>
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    {
        let sql = format!(
            "{select}
             WHERE {alias}repo_id = $1 AND ($2 = 0 OR {alias}pr_number = $2)
               AND {alias}sha LIKE $3 ESCAPE '\\'
             ORDER BY {order} DESC LIMIT 500"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(repo)
            .bind(pr.unwrap_or(0))
            .bind(format!("{}%", like_literal(sha.unwrap_or(""))))
            .fetch_all(self.dash())
            .await?)
    }

    /// Every repository Gangway serves, by name.
    pub async fn dash_repos(&self) -> Result<Vec<DashRepo>, StoreError> {
        let rows: Vec<(i64, String, i64, Option<String>)> = sqlx::query_as(
            "SELECT x.id, x.full_name, x.installation_id, i.account FROM (
                 SELECT id, full_name, installation_id FROM repositories WHERE removed_at IS NULL
                 UNION
                 SELECT repo_id, MAX(repo_full_name), MAX(installation_id) FROM pull_requests
                 WHERE repo_id NOT IN (SELECT id FROM repositories)
                 GROUP BY repo_id
             ) x LEFT JOIN installations i ON i.id = x.installation_id AND i.deleted_at IS NULL
             ORDER BY x.full_name",
        )
        .fetch_all(self.dash())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, full_name, installation_id, account)| DashRepo {
                id,
                full_name,
                installation_id,
                account: account.unwrap_or_default(),
            })
            .collect())
    }

    /// Open pull requests (of one repository, or all), newest first, each with its head's
    /// approval and its newest preview: two queries whatever their number.
    pub async fn dash_open_pulls(&self, repo: Option<i64>) -> Result<Vec<DashPull>, StoreError> {
        let sql = format!(
            "SELECT {PULL_COLUMNS} FROM pull_requests p
             LEFT JOIN approvals a ON a.repo_id = p.repo_id AND a.pr_number = p.number AND a.sha = p.head_sha
             WHERE p.state = 'open' AND ($1 = 0 OR p.repo_id = $1)
             ORDER BY p.repo_id, p.number DESC"
        );
        let rows: Vec<PullTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(scope(repo))
            .fetch_all(self.dash())
            .await?;
        let mut pulls: Vec<DashPull> = rows.into_iter().map(pull).collect();
        let sql = format!(
            "SELECT {PREVIEW_COLUMNS}, repo_id FROM previews v
             WHERE ($1 = 0 OR v.repo_id = $1)
               AND v.id = (SELECT MAX(x.id) FROM previews x WHERE x.repo_id = v.repo_id AND x.pr_number = v.pr_number)
               AND EXISTS (SELECT 1 FROM pull_requests p WHERE p.repo_id = v.repo_id AND p.number = v.pr_number AND p.state = 'open')"
        );
        let rows: Vec<PreviewRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(scope(repo))
            .fetch_all(self.dash())
            .await?;
        let mut by_pr: std::collections::HashMap<(i64, i64), DashPreview> = rows
            .into_iter()
            .map(|t| {
                let repo = t.10;
                let p = preview((t.0, t.1, t.2, t.3, t.4, t.5, t.6, t.7, t.8, t.9));
                ((repo, p.pr_number), p)
            })
            .collect();
        for p in &mut pulls {
            p.preview = by_pr.remove(&(p.repo_id, p.number));
        }
        Ok(pulls)
    }

    /// One pull request, open or closed.
    pub async fn dash_pull(&self, repo: i64, number: i64) -> Result<Option<DashPull>, StoreError> {
        let sql = format!(
            "SELECT {PULL_COLUMNS} FROM pull_requests p
             LEFT JOIN approvals a ON a.repo_id = p.repo_id AND a.pr_number = p.number AND a.sha = p.head_sha
             WHERE p.repo_id = $1 AND p.number = $2"
        );
        let row: Option<PullTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(repo)
            .bind(number)
            .fetch_optional(self.dash())
            .await?;
        Ok(row.map(pull))
    }

    /// Every approval of a pull request, oldest first.
    pub async fn dash_approvals(
        &self,
        repo: i64,
        number: i64,
    ) -> Result<Vec<DashApproval>, StoreError> {
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT sha, approver, permission, approved_at FROM approvals
             WHERE repo_id = $1 AND pr_number = $2 ORDER BY id",
        )
        .bind(repo)
        .bind(number)
        .fetch_all(self.dash())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(sha, approver, permission, approved_at)| DashApproval {
                sha,
                approver,
                permission,
                approved_at,
            })
            .collect())
    }

    /// A pull request's previews (`pr`), or a commit's (`sha` prefix), newest first.
    pub async fn dash_previews(
        &self,
        repo: i64,
        pr: Option<i64>,
        sha: Option<&str>,
    ) -> Result<Vec<DashPreview>, StoreError> {
        let rows: Vec<PreviewTuple> = self
            .scoped(
                &format!("SELECT {PREVIEW_COLUMNS} FROM previews"),
                "",
                "id",
                repo,
                pr,
                sha,
            )
            .await?;
        Ok(rows.into_iter().map(preview).collect())
    }

    /// What runs in each long-lived environment now (the newest live deployment of each) and
    /// what is being deployed, of one repository or all.
    pub async fn dash_environments(
        &self,
        repo: Option<i64>,
    ) -> Result<Vec<DashEnvDeployment>, StoreError> {
        let sql = format!(
            "SELECT {ENV_COLUMNS} FROM env_deployments d
             LEFT JOIN verifications v ON v.env_deployment_id = d.id
             WHERE ($1 = 0 OR d.repo_id = $1)
               AND (d.state IN ('pending', 'deploying')
                 OR d.id = (SELECT c.id FROM env_deployments c
                            WHERE c.repo_id = d.repo_id AND c.environment = d.environment AND c.state = 'live'
                            ORDER BY COALESCE(c.live_at, 0) DESC, c.id DESC LIMIT 1))
             ORDER BY d.repo_id, d.environment, d.id"
        );
        let rows: Vec<EnvTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(scope(repo))
            .fetch_all(self.dash())
            .await?;
        Ok(rows.into_iter().map(env).collect())
    }

    /// Deployments of a pull request (`pr`) or of a commit (`sha` prefix), newest first.
    pub async fn dash_env_history(
        &self,
        repo: i64,
        pr: Option<i64>,
        sha: Option<&str>,
    ) -> Result<Vec<DashEnvDeployment>, StoreError> {
        let select = format!(
            "SELECT {ENV_COLUMNS} FROM env_deployments d
             LEFT JOIN verifications v ON v.env_deployment_id = d.id"
        );
        let rows: Vec<EnvTuple> = self.scoped(&select, "d.", "d.id", repo, pr, sha).await?;
        Ok(rows.into_iter().map(env).collect())
    }

    /// Holds, of one repository or all.
    pub async fn dash_holds(&self, repo: Option<i64>) -> Result<Vec<DashHold>, StoreError> {
        let rows: Vec<(i64, String, String, Option<String>, i64)> = sqlx::query_as(
            "SELECT repo_id, environment, held_by, reason, held_at FROM env_holds
             WHERE ($1 = 0 OR repo_id = $1) ORDER BY repo_id, environment",
        )
        .bind(scope(repo))
        .fetch_all(self.dash())
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(repo_id, environment, held_by, reason, held_at)| DashHold {
                    repo_id,
                    environment,
                    held_by,
                    reason,
                    held_at,
                },
            )
            .collect())
    }

    /// Promotions waiting in the queue, of one repository or all, in queue order.
    pub async fn dash_queue(&self, repo: Option<i64>) -> Result<Vec<DashQueued>, StoreError> {
        let sql = format!(
            "SELECT {QUEUE_COLUMNS} FROM promotion_queue
             WHERE state = 'waiting' AND ($1 = 0 OR repo_id = $1) ORDER BY id"
        );
        let rows: Vec<QueueTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(scope(repo))
            .fetch_all(self.dash())
            .await?;
        Ok(rows.into_iter().map(queued).collect())
    }

    /// A pull request's promotions (`pr`) or a commit's (`sha` prefix), every state, newest first.
    pub async fn dash_promotions(
        &self,
        repo: i64,
        pr: Option<i64>,
        sha: Option<&str>,
    ) -> Result<Vec<DashQueued>, StoreError> {
        let rows: Vec<QueueTuple> = self
            .scoped(
                &format!("SELECT {QUEUE_COLUMNS} FROM promotion_queue"),
                "",
                "id",
                repo,
                pr,
                sha,
            )
            .await?;
        Ok(rows.into_iter().map(queued).collect())
    }

    /// Trains' stored state (JSON, see `engine::train::Train`) and each repository's cached
    /// policy file, of one repository or all: `(repo_id, train, policy)`.
    pub async fn dash_trains(
        &self,
        repo: Option<i64>,
    ) -> Result<Vec<(i64, Option<String>, Option<String>)>, StoreError> {
        let rows: Vec<(i64, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT x.repo_id, t.state, p.body FROM (
                 SELECT repo_id FROM trains UNION SELECT repo_id FROM repo_policies
             ) x
             LEFT JOIN trains t ON t.repo_id = x.repo_id
             LEFT JOIN repo_policies p ON p.repo_id = x.repo_id
             WHERE ($1 = 0 OR x.repo_id = $1)",
        )
        .bind(scope(repo))
        .fetch_all(self.dash())
        .await?;
        Ok(rows)
    }

    /// Sign-off questions about a pull request (`pr`) or a commit (`sha` prefix), newest first.
    pub async fn dash_signoffs(
        &self,
        repo: i64,
        pr: Option<i64>,
        sha: Option<&str>,
    ) -> Result<Vec<DashSignoff>, StoreError> {
        type Row = (
            String,
            i64,
            String,
            i64,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = self
            .scoped(
                "SELECT sha, pr_number, author, asked_at, answer, answered_by, reason FROM signoffs",
                "",
                "asked_at",
                repo,
                pr,
                sha,
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(
                |(sha, pr_number, author, asked_at, answer, answered_by, reason)| DashSignoff {
                    sha,
                    pr_number,
                    author,
                    asked_at,
                    answer,
                    answered_by,
                    reason,
                },
            )
            .collect())
    }

    /// Whether (and by whom) a commit was marked bad.
    pub async fn dash_bad(&self, repo: i64, sha: &str) -> Result<Vec<DashBad>, StoreError> {
        let rows: Vec<(String, String, String, Option<String>, i64)> = sqlx::query_as(
            "SELECT sha, environment, marked_by, reason, marked_at FROM bad_shas
             WHERE repo_id = $1 AND sha LIKE $2 ESCAPE '\\'",
        )
        .bind(repo)
        .bind(format!("{}%", like_literal(sha)))
        .fetch_all(self.dash())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(sha, environment, marked_by, reason, marked_at)| DashBad {
                sha,
                environment,
                marked_by,
                reason,
                marked_at,
            })
            .collect())
    }

    /// Audit entries of a repository that concern pull request `pr` or mention `text` (a short
    /// sha; '' for none), oldest first.
    pub async fn dash_audit_about(
        &self,
        repo: i64,
        pr: Option<i64>,
        text: &str,
    ) -> Result<Vec<DashAudit>, StoreError> {
        let pattern = format!("%{}%", like_literal(text));
        let rows: Vec<AuditTuple> = sqlx::query_as(
            "SELECT id, at, repo_id, pr_number, subject, decision, reason FROM audit
             WHERE repo_id = $1 AND (pr_number = $2
                   OR ($3 <> '' AND (subject LIKE $4 ESCAPE '\\' OR reason LIKE $4 ESCAPE '\\')))
             ORDER BY id LIMIT 1000",
        )
        .bind(repo)
        .bind(pr.unwrap_or(-1))
        .bind(text.to_owned())
        .bind(pattern)
        .fetch_all(self.dash())
        .await?;
        Ok(rows.into_iter().map(audit).collect())
    }

    /// One page of the audit trail, newest first: at most `limit` entries matching `filter`.
    /// The actor is matched in the entry's text (`@login`, or the login alone).
    pub async fn dash_audit(
        &self,
        filter: &AuditFilter,
        limit: i64,
    ) -> Result<Vec<DashAudit>, StoreError> {
        let actor = filter
            .actor
            .as_deref()
            .map_or_else(String::new, like_literal);
        let rows: Vec<AuditTuple> = sqlx::query_as(
            "SELECT id, at, repo_id, pr_number, subject, decision, reason FROM audit
             WHERE ($1 = 0 OR repo_id = $1)
               AND ($2 = '' OR reason LIKE $3 ESCAPE '\\' OR subject LIKE $3 ESCAPE '\\')
               AND ($4 = '' OR decision = $4)
               AND ($5 = 0 OR id < $5)
             ORDER BY id DESC LIMIT $6",
        )
        .bind(filter.repo_id.unwrap_or(0))
        .bind(actor.clone())
        .bind(format!("%{actor}%"))
        .bind(filter.action.clone().unwrap_or_default())
        .bind(filter.before.unwrap_or(0))
        .bind(limit)
        .fetch_all(self.dash())
        .await?;
        Ok(rows.into_iter().map(audit).collect())
    }

    /// Jobs in one state, newest first (at most `limit`).
    pub async fn dash_jobs(&self, state: &str, limit: i64) -> Result<Vec<DashJob>, StoreError> {
        type Row = (
            i64,
            String,
            String,
            String,
            i64,
            i64,
            Option<String>,
            i64,
            Option<i64>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, kind, key, state, attempts, max_attempts, last_error, created_at, finished_at
             FROM jobs WHERE state = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(state)
        .bind(limit)
        .fetch_all(self.dash())
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(
                    id,
                    kind,
                    key,
                    state,
                    attempts,
                    max_attempts,
                    last_error,
                    created_at,
                    finished_at,
                )| {
                    DashJob {
                        id,
                        kind,
                        key,
                        state,
                        attempts,
                        max_attempts,
                        last_error,
                        created_at,
                        finished_at,
                    }
                },
            )
            .collect())
    }

    /// A cheap fingerprint of what the dashboard shows: it changes when a pull request,
    /// preview, deployment, hold, queued promotion, train, sign-off or audit entry does.
    pub async fn dash_version(&self) -> Result<String, StoreError> {
        let row: (i64, i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(
            "SELECT
                (SELECT COALESCE(MAX(id), 0) FROM audit),
                (SELECT COALESCE(MAX(updated_at), 0) FROM pull_requests),
                (SELECT COALESCE(MAX(updated_at), 0) FROM previews),
                (SELECT COALESCE(MAX(updated_at), 0) FROM env_deployments),
                (SELECT COALESCE(MAX(updated_at), 0) FROM promotion_queue),
                (SELECT COUNT(*) + COALESCE(MAX(held_at), 0) FROM env_holds),
                (SELECT COALESCE(MAX(updated_at), 0) FROM trains),
                (SELECT COUNT(*) + COUNT(answer) FROM signoffs)",
        )
        .fetch_one(self.dash())
        .await?;
        Ok(format!(
            "{}.{}.{}.{}.{}.{}.{}.{}",
            row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7
        ))
    }
}

type PreviewRow = (
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    i64,
    i64,
);

type AuditTuple = (i64, i64, Option<i64>, Option<i64>, String, String, String);

fn audit(t: AuditTuple) -> DashAudit {
    DashAudit {
        id: t.0,
        at: t.1,
        repo_id: t.2,
        pr_number: t.3,
        subject: t.4,
        decision: t.5,
        reason: t.6,
    }
}

#[cfg(test)]
#[path = "dashboard_tests.rs"]
mod tests;
