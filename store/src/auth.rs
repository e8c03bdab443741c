//! Sign-in sessions and the login-failure log behind rate limiting.

use crate::{Result, Store, User};
use chrono::{DateTime, Utc};
use sqlx::Row;

/// Sessions live this long from sign-in (seconds).
pub const SESSION_LIFETIME_SECS: i64 = 14 * 24 * 3600;

#[derive(Debug, PartialEq)]
pub enum SessionLookup {
    Valid(User),
    Expired,
    Unknown,
}

impl Store {
    pub async fn create_session(&self, token_hash: &str, user: &User, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("INSERT INTO sessions (token_hash, tenant_id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(token_hash)
            .bind(&user.tenant_id)
            .bind(&user.id)
            .bind(now.timestamp())
            .bind(now.timestamp() + SESSION_LIFETIME_SECS)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The session's user, telling an expired session apart from one that never existed.
    pub async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<SessionLookup> {
        // One round trip: every request of a signed-in user starts here.
        let row = sqlx::query(&format!(
            "SELECT {}, s.expires_at AS expires_at FROM sessions s JOIN users u ON u.id = s.user_id AND u.tenant_id = s.tenant_id \
             WHERE s.token_hash = $1",
            crate::tenants::user_columns("u")
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(SessionLookup::Unknown) };
        if row.try_get::<i64, _>("expires_at")? <= now.timestamp() {
            return Ok(SessionLookup::Expired);
        }
        Ok(SessionLookup::Valid(crate::tenants::user_from_row(&row)?))
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.pool).await?;
        Ok(())
    }

    /// Forces a session's expiry (operators; tests of the expired-session path).
    pub async fn expire_session(&self, token_hash: &str, at: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE sessions SET expires_at = $1 WHERE token_hash = $2")
            .bind(at.timestamp())
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Removes sessions expired for more than a day (kept a day so users are told "expired").
    pub async fn purge_sessions(&self, now: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(now.timestamp() - 24 * 3600)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    pub async fn record_login_failure(&self, key: &str, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("INSERT INTO login_failures (key, at) VALUES ($1, $2)")
            .bind(key)
            .bind(now.timestamp())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn login_failures_since(&self, key: &str, since: DateTime<Utc>) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM login_failures WHERE key = $1 AND at >= $2")
            .bind(key)
            .bind(since.timestamp())
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    pub async fn clear_login_failures(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_failures WHERE key = $1").bind(key).execute(&self.pool).await?;
        Ok(())
    }

    pub async fn purge_login_failures(&self, before: DateTime<Utc>) -> Result<()> {
        sqlx::query("DELETE FROM login_failures WHERE at < $1").bind(before.timestamp()).execute(&self.pool).await?;
        Ok(())
    }
}
