//! Host ownership: which pull request's previews or which long-lived environment holds each
//! host. The host is the table's primary key, so across every replica one holder at a time
//! holds it; who may have it is the engine's (`engine::hosts::refusal`).

use sqlx::Row;

use super::{Store, StoreError};
use crate::model::HostHolder;
use crate::types::{PrNumber, RepoId};

/// A holder as its columns: kind, repository, PR number (0 for an environment), environment
/// ('' for a preview).
fn columns(h: &HostHolder) -> (&'static str, i64, i64, &str) {
    match h {
        HostHolder::Preview { repo, number } => ("preview", repo.as_db(), number.as_db(), ""),
        HostHolder::Environment { repo, environment } => {
            ("environment", repo.as_db(), 0, environment.as_str())
        }
    }
}

impl Store {
    /// Claims `host` for `holder` unless someone holds it already, and returns who holds it
    /// now: `holder` itself when the claim is (or already was) its own.
    pub async fn claim_host(
        &self,
        host: &str,
        holder: &HostHolder,
        now_ms: i64,
    ) -> Result<HostHolder, StoreError> {
        let (kind, repo, number, environment) = columns(holder);
        // A release between the insert and the read leaves nothing to read: claim again.
        for _ in 0..3 {
            sqlx::query(
                "INSERT INTO host_claims (host, kind, repo_id, pr_number, environment, claimed_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (host) DO NOTHING",
            )
            .bind(host)
            .bind(kind)
            .bind(repo)
            .bind(number)
            .bind(environment)
            .bind(now_ms)
            .execute(self.pool())
            .await?;
            if let Some(h) = self.host_holder(host).await? {
                return Ok(h);
            }
        }
        Err(StoreError::Invalid(format!(
            "the claim of host {host} kept being released under it"
        )))
    }

    /// Who holds `host`, if anyone.
    pub async fn host_holder(&self, host: &str) -> Result<Option<HostHolder>, StoreError> {
        let row = sqlx::query(
            "SELECT kind, repo_id, pr_number, environment FROM host_claims WHERE host = $1",
        )
        .bind(host)
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else {
            return Ok(None);
        };
        let kind: String = r.try_get("kind")?;
        let repo = RepoId::from_db(r.try_get("repo_id")?);
        match kind.as_str() {
            "preview" => Ok(Some(HostHolder::Preview {
                repo,
                number: PrNumber::from_db(r.try_get("pr_number")?),
            })),
            "environment" => Ok(Some(HostHolder::Environment {
                repo,
                environment: r.try_get("environment")?,
            })),
            other => Err(super::invalid_in("host_claims", "kind", other)),
        }
    }

    /// Gives `host` up, if `holder` holds it (anyone else's claim stays).
    pub async fn release_host(&self, host: &str, holder: &HostHolder) -> Result<(), StoreError> {
        let (kind, repo, number, environment) = columns(holder);
        sqlx::query(
            "DELETE FROM host_claims WHERE host = $1 AND kind = $2 AND repo_id = $3
                 AND pr_number = $4 AND environment = $5",
        )
        .bind(host)
        .bind(kind)
        .bind(repo)
        .bind(number)
        .bind(environment)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
