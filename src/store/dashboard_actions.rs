//! Commands run from the dashboard's buttons: one row per click. The web side records the click
//! and reads its outcome; the executor takes it up and finishes it exactly as it does a command
//! comment (`commands.rs`), once.

use super::{CommandRun, Store, StoreError};
use crate::types::{CommitSha, InstallationId, PrNumber, RepoId};

/// A click to record, before its command job is queued.
#[derive(Debug, Clone, Copy)]
pub struct NewDashboardAction<'a> {
    pub repo: RepoId,
    pub pr: PrNumber,
    /// The signed-in GitHub login who clicked.
    pub actor: &'a str,
    /// The command's word (`stage`, `promote`, …).
    pub command: &'a str,
    /// The arguments as a comment would carry them (`Invocation::args`).
    pub args: &'a str,
    pub now_ms: i64,
}

/// A recorded click and, once the executor finished it, its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardAction {
    pub id: i64,
    pub repo: RepoId,
    pub pr: PrNumber,
    pub actor: String,
    pub command: String,
    pub args: String,
    pub created_ms: i64,
    /// `accepted`, `refused` or `ignored`; `None` while it has not finished.
    pub decision: Option<String>,
    /// Refused or ignored for want of permission (GitHub's answer when it ran).
    pub forbidden: bool,
    /// The text the dashboard shows (the reply a comment would have had, or the reason).
    pub outcome: Option<String>,
    /// Whether an announcement was posted on the pull request.
    pub announced: bool,
}

/// The pull request a button names, as Gangway last saw it: what its command job needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionTarget {
    pub repo: RepoId,
    pub installation: InstallationId,
    pub full_name: String,
    pub default_branch: String,
    pub number: PrNumber,
    pub head_sha: String,
    pub open: bool,
}

type ActionRow = (
    i64,
    i64,
    i64,
    String,
    String,
    String,
    i64,
    Option<String>,
    i64,
    Option<String>,
    i64,
);

/// decision, announced, started_at, stage_sha.
type RunRow = (Option<String>, i64, Option<i64>, Option<String>);

impl Store {
    /// Records a click; returns its id.
    pub async fn record_dashboard_action(
        &self,
        a: &NewDashboardAction<'_>,
    ) -> Result<i64, StoreError> {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO dashboard_actions (repo_id, pr_number, actor, command, args, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(a.repo.as_db())
        .bind(a.pr.as_db())
        .bind(a.actor)
        .bind(a.command)
        .bind(a.args)
        .bind(a.now_ms)
        .fetch_one(self.pool())
        .await?;
        Ok(id)
    }

    pub async fn dashboard_action(&self, id: i64) -> Result<Option<DashboardAction>, StoreError> {
        let row: Option<ActionRow> = sqlx::query_as(
            "SELECT id, repo_id, pr_number, actor, command, args, created_at, decision, forbidden,
                    outcome, announced
             FROM dashboard_actions WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(
            |(
                id,
                repo,
                pr,
                actor,
                command,
                args,
                created_ms,
                decision,
                forbidden,
                outcome,
                announced,
            )| {
                DashboardAction {
                    id,
                    repo: RepoId::from_db(repo),
                    pr: PrNumber::from_db(pr),
                    actor,
                    command,
                    args,
                    created_ms,
                    decision,
                    forbidden: forbidden != 0,
                    outcome,
                    announced: announced != 0,
                }
            },
        ))
    }

    /// Takes up a click for the executor (the first time sets when); returns what an earlier run
    /// already did, as [`Store::begin_command`] does for a comment. A click recorded for another
    /// pull request or user is an error: a job never acts on someone else's click.
    pub async fn begin_dashboard_action(
        &self,
        id: i64,
        repo: RepoId,
        pr: PrNumber,
        actor: &str,
        now_ms: i64,
    ) -> Result<CommandRun, StoreError> {
        sqlx::query(
            "UPDATE dashboard_actions SET started_at = COALESCE(started_at, $1) WHERE id = $2",
        )
        .bind(now_ms)
        .bind(id)
        .execute(self.pool())
        .await?;
        let row: Option<RunRow> = sqlx::query_as(
            "SELECT decision, announced, started_at, stage_sha FROM dashboard_actions
             WHERE id = $1 AND repo_id = $2 AND pr_number = $3 AND actor = $4",
        )
        .bind(id)
        .bind(repo.as_db())
        .bind(pr.as_db())
        .bind(actor)
        .fetch_optional(self.pool())
        .await?;
        let Some((decision, announced, started_ms, stage_sha)) = row else {
            return Err(StoreError::Invalid(format!(
                "dashboard action {id} is not @{actor}'s on #{pr} of repository {repo}"
            )));
        };
        Ok(CommandRun {
            decision,
            replied: announced != 0,
            started_ms: started_ms.unwrap_or(now_ms),
            stage_sha: stage_sha.as_deref().map(parse_sha).transpose()?,
        })
    }

    /// Records the commit a dashboard stage approves, unless one was recorded before; returns
    /// the one recorded (the first decision stands).
    pub async fn decide_dashboard_stage(
        &self,
        id: i64,
        sha: &CommitSha,
    ) -> Result<CommitSha, StoreError> {
        sqlx::query(
            "UPDATE dashboard_actions SET stage_sha = COALESCE(stage_sha, $1) WHERE id = $2",
        )
        .bind(sha.as_str())
        .bind(id)
        .execute(self.pool())
        .await?;
        let stored: Option<(Option<String>,)> =
            sqlx::query_as("SELECT stage_sha FROM dashboard_actions WHERE id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        match stored.and_then(|(s,)| s) {
            Some(s) => parse_sha(&s),
            None => Err(StoreError::Invalid(format!(
                "dashboard action {id} has no row to record its approval on"
            ))),
        }
    }

    /// The executor's last word on a click: its decision and the text the dashboard shows.
    pub async fn finish_dashboard_action(
        &self,
        id: i64,
        decision: &str,
        forbidden: bool,
        outcome: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE dashboard_actions SET decision = $1, forbidden = $2, outcome = $3,
                    finished_at = $4 WHERE id = $5",
        )
        .bind(decision)
        .bind(i64::from(forbidden))
        .bind(outcome)
        .bind(now_ms)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn dashboard_announced(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE dashboard_actions SET announced = 1 WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// How many of `actor`'s clicks on a PR were announced on it since `since_ms`.
    pub async fn announcements_for(
        &self,
        repo: RepoId,
        pr: PrNumber,
        actor: &str,
        since_ms: i64,
    ) -> Result<usize, StoreError> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM dashboard_actions WHERE repo_id = $1 AND pr_number = $2
             AND actor = $3 AND announced = 1 AND created_at >= $4",
        )
        .bind(repo.as_db())
        .bind(pr.as_db())
        .bind(actor)
        .bind(since_ms)
        .fetch_one(self.pool())
        .await?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// The pull request `number` of the repository named `full_name` (GitHub's names are
    /// case-insensitive), as Gangway last saw it; `None` when it never saw it.
    pub async fn action_target(
        &self,
        full_name: &str,
        number: PrNumber,
    ) -> Result<Option<ActionTarget>, StoreError> {
        let row: Option<(i64, i64, String, String, String, String)> = sqlx::query_as(
            "SELECT repo_id, installation_id, repo_full_name, default_branch, head_sha, state
             FROM pull_requests WHERE LOWER(repo_full_name) = LOWER($1) AND number = $2
             ORDER BY updated_at DESC LIMIT 1",
        )
        .bind(full_name)
        .bind(number.as_db())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(
            |(repo, installation, full_name, default_branch, head_sha, state)| ActionTarget {
                repo: RepoId::from_db(repo),
                installation: InstallationId::from_db(installation),
                full_name,
                default_branch,
                number,
                head_sha,
                open: state == "open",
            },
        ))
    }

    /// An audit entry about no one pull request (an operator's retry of a dead job).
    pub async fn audit_operator(
        &self,
        subject: &str,
        decision: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO audit (at, subject, decision, reason) VALUES ($1, $2, $3, $4)")
            .bind(now_ms)
            .bind(subject)
            .bind(decision)
            .bind(reason)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The audit entries about no one pull request, oldest first: (at, subject, decision, reason).
    pub async fn operator_audit(&self) -> Result<Vec<(i64, String, String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT at, subject, decision, reason FROM audit WHERE repo_id IS NULL ORDER BY id",
        )
        .fetch_all(self.pool())
        .await?)
    }
}

fn parse_sha(s: &str) -> Result<CommitSha, StoreError> {
    CommitSha::parse(s).map_err(|e| StoreError::Invalid(e.to_string()))
}
