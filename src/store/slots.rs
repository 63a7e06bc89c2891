//! Previews a team lives with: who holds each slot (`preview.slots`), the slot each pull
//! request held last, `/keep` pins, and the files a pull request changed (read once per head).
//! The slot table's primary key makes one holder per slot across every replica, and its
//! unique index one slot per pull request; which slot a pull request gets is the engine's
//! (`engine::slots::choose`).

use sqlx::Row;

use super::{Store, StoreError};
use crate::model::SlotHolder;
use crate::types::{PrNumber, RepoId};

impl Store {
    /// Every slot of `repo` that someone holds, in slot order.
    pub async fn slot_holders(&self, repo: RepoId) -> Result<Vec<SlotHolder>, StoreError> {
        let rows = sqlx::query(
            "SELECT slot, pr_number, deployed_at FROM preview_slots WHERE repo_id = $1 ORDER BY slot",
        )
        .bind(repo.as_db())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SlotHolder {
                    slot: r.try_get("slot")?,
                    pr_number: PrNumber::from_db(r.try_get("pr_number")?),
                    deployed_at: r.try_get("deployed_at")?,
                })
            })
            .collect()
    }

    /// Every held slot of every repository: (repository, holder), for `gangway envs`.
    pub async fn all_slot_holders(&self) -> Result<Vec<(RepoId, SlotHolder)>, StoreError> {
        let rows = sqlx::query(
            "SELECT repo_id, slot, pr_number, deployed_at FROM preview_slots ORDER BY repo_id, slot",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    RepoId::from_db(r.try_get("repo_id")?),
                    SlotHolder {
                        slot: r.try_get("slot")?,
                        pr_number: PrNumber::from_db(r.try_get("pr_number")?),
                        deployed_at: r.try_get("deployed_at")?,
                    },
                ))
            })
            .collect()
    }

    /// The slot `pr` held last, if it ever held one.
    pub async fn last_slot(
        &self,
        repo: RepoId,
        pr: PrNumber,
    ) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT slot FROM preview_last_slots WHERE repo_id = $1 AND pr_number = $2",
        )
        .bind(repo.as_db())
        .bind(pr.as_db())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(s,)| s))
    }

    async fn remember_slot(
        &self,
        repo: RepoId,
        pr: PrNumber,
        slot: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO preview_last_slots (repo_id, pr_number, slot) VALUES ($1, $2, $3)
             ON CONFLICT (repo_id, pr_number) DO UPDATE SET slot = excluded.slot",
        )
        .bind(repo.as_db())
        .bind(pr.as_db())
        .bind(slot)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Gives the free `slot` to `pr`; `false` when someone took it first (or `pr` holds
    /// another one): decide again.
    pub async fn give_slot(
        &self,
        repo: RepoId,
        slot: &str,
        pr: PrNumber,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO preview_slots (repo_id, slot, pr_number, deployed_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(repo.as_db())
        .bind(slot)
        .bind(pr.as_db())
        .bind(now_ms)
        .execute(self.pool())
        .await?
        .rows_affected()
            == 1;
        if done {
            self.remember_slot(repo, pr, slot).await?;
        }
        Ok(done)
    }

    /// Takes `slot` from `from` (as seen: its `deployed_at` unchanged since) for `to`, and
    /// with it the claim of the slot's `host`, in one transaction; `false` when the slot
    /// changed meanwhile (decide again).
    #[allow(clippy::too_many_arguments)]
    pub async fn take_slot(
        &self,
        repo: RepoId,
        slot: &str,
        from: PrNumber,
        seen_deployed_at: i64,
        to: PrNumber,
        host: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let moved = sqlx::query(
            "UPDATE preview_slots SET pr_number = $1, deployed_at = $2
             WHERE repo_id = $3 AND slot = $4 AND pr_number = $5 AND deployed_at = $6",
        )
        .bind(to.as_db())
        .bind(now_ms)
        .bind(repo.as_db())
        .bind(slot)
        .bind(from.as_db())
        .bind(seen_deployed_at)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !moved {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "UPDATE host_claims SET pr_number = $1
             WHERE host = $2 AND kind = 'preview' AND repo_id = $3 AND pr_number = $4",
        )
        .bind(to.as_db())
        .bind(host)
        .bind(repo.as_db())
        .bind(from.as_db())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.remember_slot(repo, to, slot).await?;
        Ok(true)
    }

    /// Records that `pr`'s slot was deployed to now.
    pub async fn slot_deployed(
        &self,
        repo: RepoId,
        pr: PrNumber,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE preview_slots SET deployed_at = $1 WHERE repo_id = $2 AND pr_number = $3",
        )
        .bind(now_ms)
        .bind(repo.as_db())
        .bind(pr.as_db())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Moves a preview that comes back onto its pull request's slot now (`host`).
    pub async fn move_preview_to(&self, preview_id: i64, host: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE previews SET host = $1 WHERE id = $2")
            .bind(host)
            .bind(preview_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Frees the slot `pr` holds, if any (the last one stays remembered).
    pub async fn release_slot(&self, repo: RepoId, pr: PrNumber) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM preview_slots WHERE repo_id = $1 AND pr_number = $2")
            .bind(repo.as_db())
            .bind(pr.as_db())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Pins `pr`'s preview until `until_ms` (a later `/keep` replaces an earlier one).
    pub async fn set_keep(
        &self,
        repo: RepoId,
        pr: PrNumber,
        until_ms: i64,
        by: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO preview_keeps (repo_id, pr_number, until_ms, kept_by) VALUES ($1, $2, $3, $4)
             ON CONFLICT (repo_id, pr_number) DO UPDATE SET until_ms = excluded.until_ms,
                 kept_by = excluded.kept_by",
        )
        .bind(repo.as_db())
        .bind(pr.as_db())
        .bind(until_ms)
        .bind(by)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Ends `pr`'s pin (`/keep off`).
    pub async fn clear_keep(&self, repo: RepoId, pr: PrNumber) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM preview_keeps WHERE repo_id = $1 AND pr_number = $2")
            .bind(repo.as_db())
            .bind(pr.as_db())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// `pr`'s pin: until when, and who set it.
    pub async fn keep_of(
        &self,
        repo: RepoId,
        pr: PrNumber,
    ) -> Result<Option<(i64, String)>, StoreError> {
        let row: Option<(i64, String)> = sqlx::query_as(
            "SELECT until_ms, kept_by FROM preview_keeps WHERE repo_id = $1 AND pr_number = $2",
        )
        .bind(repo.as_db())
        .bind(pr.as_db())
        .fetch_optional(self.pool())
        .await?;
        Ok(row)
    }

    /// The pull requests pinned past `now_ms`, of every repository.
    pub async fn kept_pulls(&self, now_ms: i64) -> Result<Vec<(RepoId, PrNumber)>, StoreError> {
        let rows: Vec<(i64, i64)> =
            sqlx::query_as("SELECT repo_id, pr_number FROM preview_keeps WHERE until_ms > $1")
                .bind(now_ms)
                .fetch_all(self.pool())
                .await?;
        Ok(rows
            .into_iter()
            .map(|(r, n)| (RepoId::from_db(r), PrNumber::from_db(n)))
            .collect())
    }

    /// The files `pr` changed, as read for head `sha`; `None` when not read for that head.
    pub async fn changed_files(
        &self,
        repo: RepoId,
        pr: PrNumber,
        sha: &str,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT files FROM pr_files WHERE repo_id = $1 AND pr_number = $2 AND sha = $3",
        )
        .bind(repo.as_db())
        .bind(pr.as_db())
        .bind(sha)
        .fetch_optional(self.pool())
        .await?;
        match row {
            None => Ok(None),
            Some((json,)) => serde_json::from_str(&json)
                .map(Some)
                .map_err(|_| super::invalid_in("pr_files", "files", "not a JSON list")),
        }
    }

    /// Records the files `pr` changed at head `sha` (replacing an older head's).
    pub async fn save_changed_files(
        &self,
        repo: RepoId,
        pr: PrNumber,
        sha: &str,
        files: &[String],
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(files)
            .map_err(|e| StoreError::Invalid(format!("changed files: {e}")))?;
        sqlx::query(
            "INSERT INTO pr_files (repo_id, pr_number, sha, files) VALUES ($1, $2, $3, $4)
             ON CONFLICT (repo_id, pr_number) DO UPDATE SET sha = excluded.sha, files = excluded.files",
        )
        .bind(repo.as_db())
        .bind(pr.as_db())
        .bind(sha)
        .bind(json)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
