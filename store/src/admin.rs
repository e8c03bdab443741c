//! A company's administration: the calendar integration switch (F-ADM-1) and the audit log of
//! administrative changes.

use chrono::{DateTime, Utc};
use domain::audit::{Action, Actor, Entry};
use sqlx::Row;

use crate::{flag, new_id, Result, Store, StoreError};

impl Store {
    /// Whether the company's calendar integration is switched on.
    pub async fn calendar_integration(&self, tenant_id: &str) -> Result<bool> {
        let row = sqlx::query("SELECT calendar_integration FROM tenants WHERE id = $1").bind(tenant_id).fetch_optional(&self.pool).await?;
        row.map(|r| flag(&r, "calendar_integration")).transpose()?.ok_or(StoreError::NotFound)
    }

    /// Switches the company's calendar integration, logged with who did it in the same
    /// transaction. Returns false (and logs nothing) when it already was so.
    pub async fn set_calendar_integration(&self, tenant_id: &str, on: bool, actor: &Actor, at: DateTime<Utc>) -> Result<bool> {
        let mut tx = self.begin().await?;
        let (to, from) = if on { ("TRUE", "FALSE") } else { ("FALSE", "TRUE") };
        let done = sqlx::query(&format!("UPDATE tenants SET calendar_integration = {to} WHERE id = $1 AND calendar_integration = {from}"))
            .bind(tenant_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            // Already so, or no such company.
            self.calendar_integration(tenant_id).await?;
            return Ok(false);
        }
        insert_audit(&mut tx, tenant_id, actor, &Action::Integration { on }, at).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Writes an entry to the company's audit log.
    pub async fn record_audit(&self, tenant_id: &str, actor: &Actor, action: &Action, at: DateTime<Utc>) -> Result<()> {
        let mut tx = self.begin().await?;
        insert_audit(&mut tx, tenant_id, actor, action, at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The company's audit log, newest first: up to `limit` entries older than `before` (the
    /// last entry of the page before; None: from the newest).
    pub async fn audit_log(&self, tenant_id: &str, before: Option<(i64, &str)>, limit: i64) -> Result<Vec<Entry>> {
        let (at, id) = before.unwrap_or((i64::MAX, ""));
        let rows = sqlx::query(
            "SELECT id, at, actor_user_id, actor, action FROM audit_log WHERE tenant_id = $1 \
             AND (at < $2 OR (at = $2 AND id < $3)) ORDER BY at DESC, id DESC LIMIT $4",
        )
        .bind(tenant_id)
        .bind(at)
        .bind(id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let action: String = r.try_get("action")?;
                Ok(Entry {
                    id: r.try_get("id")?,
                    at: r.try_get("at")?,
                    actor: Actor { user_id: r.try_get("actor_user_id")?, name: r.try_get("actor")? },
                    action: serde_json::from_str(&action).map_err(|e| StoreError::Db(sqlx::Error::Decode(format!("audit action {action:?}: {e}").into())))?,
                })
            })
            .collect()
    }
}

async fn insert_audit(tx: &mut sqlx::Transaction<'static, sqlx::Any>, tenant_id: &str, actor: &Actor, action: &Action, at: DateTime<Utc>) -> Result<()> {
    sqlx::query("INSERT INTO audit_log (id, tenant_id, at, actor_user_id, actor, action) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(new_id())
        .bind(tenant_id)
        .bind(at.timestamp_millis())
        .bind(actor.user_id.as_deref())
        .bind(&actor.name)
        .bind(serde_json::to_string(action).expect("audit actions serialise"))
        .execute(&mut **tx)
        .await?;
    Ok(())
}
