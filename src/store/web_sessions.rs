//! The dashboard's sign-in sessions (`web_sessions`): looked up by the SHA-256 of the cookie's
//! id, which is all that is stored of it. An expired row is never returned; expired rows are
//! deleted whenever a session is created (so they are bounded by sign-ins, with no sweep).

use secrecy::{ExposeSecret, SecretString};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, db_u64};

/// A session to create.
pub struct NewWebSession<'a> {
    /// SHA-256 of the cookie's id, hex.
    pub id_hash: &'a str,
    pub login: &'a str,
    pub user_id: u64,
    /// The user's GitHub token: stays on the server.
    pub token: &'a SecretString,
    pub csrf: &'a str,
    pub expires_at: i64,
}

/// A live session.
pub struct WebSession {
    pub login: String,
    pub user_id: u64,
    pub token: SecretString,
    pub csrf: String,
    pub created_at: i64,
    pub expires_at: i64,
}

impl std::fmt::Debug for WebSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSession")
            .field("login", &self.login)
            .field("user_id", &self.user_id)
            .field("token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str = "login, user_id, token, csrf, created_at, expires_at";

fn from_row(r: &AnyRow) -> Result<WebSession, StoreError> {
    let user_id: i64 = r.try_get("user_id")?;
    Ok(WebSession {
        login: r.try_get("login")?,
        user_id: u64::try_from(user_id).map_err(|_| {
            StoreError::Invalid(format!("web_sessions: user_id {user_id} is negative"))
        })?,
        token: SecretString::from(r.try_get::<String, _>("token")?),
        csrf: r.try_get("csrf")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
    })
}

impl Store {
    /// Stores a new session, and deletes every expired one.
    pub async fn create_web_session(
        &self,
        s: &NewWebSession<'_>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1")
            .bind(now_ms)
            .execute(self.pool())
            .await?;
        sqlx::query(
            "INSERT INTO web_sessions (id_hash, login, user_id, token, csrf, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(s.id_hash)
        .bind(s.login)
        .bind(db_u64(Some(s.user_id)))
        .bind(s.token.expose_secret())
        .bind(s.csrf)
        .bind(now_ms)
        .bind(s.expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The unexpired session whose cookie id hashes to `id_hash`.
    pub async fn web_session(
        &self,
        id_hash: &str,
        now_ms: i64,
    ) -> Result<Option<WebSession>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM web_sessions WHERE id_hash = $1 AND expires_at > $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id_hash)
            .bind(now_ms)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The unexpired session whose forms carry `csrf` (each session's token is random and its
    /// own): how the dashboard finds a signed-in viewer's GitHub token.
    pub async fn web_session_by_csrf(
        &self,
        csrf: &str,
        now_ms: i64,
    ) -> Result<Option<WebSession>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM web_sessions WHERE csrf = $1 AND expires_at > $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(csrf)
            .bind(now_ms)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Signs a session out.
    pub async fn delete_web_session(&self, id_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM web_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
