//! Installations of the App and the repositories each may reach, as GitHub last told us.

use super::{Store, StoreError};

impl Store {
    pub async fn upsert_installation(
        &self,
        id: i64,
        account: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO installations (id, account, created_at, updated_at) VALUES ($1, $2, $3, $3)
             ON CONFLICT (id) DO UPDATE SET account = excluded.account, updated_at = excluded.updated_at, deleted_at = NULL",
        )
        .bind(id)
        .bind(account)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Marks the installation and all its repositories gone; their rows stay for history.
    pub async fn delete_installation(&self, id: i64, now_ms: i64) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE installations SET deleted_at = $1, updated_at = $1 WHERE id = $2")
            .bind(now_ms)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE repositories SET removed_at = $1 WHERE installation_id = $2 AND removed_at IS NULL")
            .bind(now_ms)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn add_repository(
        &self,
        installation_id: i64,
        repo_id: i64,
        full_name: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO repositories (id, installation_id, full_name, added_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET installation_id = excluded.installation_id, full_name = excluded.full_name,
                                           removed_at = NULL",
        )
        .bind(repo_id)
        .bind(installation_id)
        .bind(full_name)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn remove_repository(&self, repo_id: i64, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE repositories SET removed_at = $1 WHERE id = $2")
            .bind(now_ms)
            .bind(repo_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Repositories the App can currently reach: (id, full_name, installation id).
    pub async fn active_repositories(&self) -> Result<Vec<(i64, String, i64)>, StoreError> {
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT r.id, r.full_name, r.installation_id FROM repositories r
             JOIN installations i ON i.id = r.installation_id
             WHERE r.removed_at IS NULL AND i.deleted_at IS NULL ORDER BY r.full_name",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows)
    }
}

impl Store {
    /// Repositories Gangway knows it can no longer reach: removed from the installation, or
    /// whose installation was deleted. (Repositories it never heard of are not in here.)
    pub async fn unreachable_repositories(&self) -> Result<Vec<i64>, StoreError> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT r.id FROM repositories r LEFT JOIN installations i ON i.id = r.installation_id
             WHERE r.removed_at IS NOT NULL OR i.deleted_at IS NOT NULL",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    pub async fn deleted_installations(&self) -> Result<Vec<i64>, StoreError> {
        let rows: Vec<(i64,)> =
            sqlx::query_as("SELECT id FROM installations WHERE deleted_at IS NOT NULL")
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }
}
