//! Calendar connections: one per user, with the provider, who signs in, and the secret —
//! already sealed by the caller (`sync::secrets`); the store never sees it in the clear.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{found, new_id, time, time_ms, Result, Store, StoreError};
use domain::connection::{AuthKind, ConnectionStatus, ProviderKind, StatusReason};

#[derive(Clone, PartialEq, Eq)]
pub struct Connection {
    pub id: String,
    pub tenant_id: String,
    pub user_id: String,
    pub provider: ProviderKind,
    pub auth_kind: AuthKind,
    pub mailbox: String,
    pub account: String,
    pub ews_url: String,
    /// Sealed secret (see `sync::secrets`).
    pub sealed_secret: String,
    pub status: ConnectionStatus,
    pub status_reason: StatusReason,
    pub last_synced_at: Option<DateTime<Utc>>,
    /// Google syncToken / Graph deltaLink / EWS SyncState of the last finished round.
    pub sync_cursor: Option<String>,
    /// The window the cursor's first (full) round covered.
    pub cursor_window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// A sync has been running since then.
    pub syncing_since: Option<DateTime<Utc>>,
    /// The push subscription's id (routes notifications), the subscription sealed (it holds
    /// its secret), when it expires, and why the last attempt to subscribe failed.
    pub push_id: Option<String>,
    pub push_sealed: Option<String>,
    pub push_expires_at: Option<DateTime<Utc>>,
    pub push_error: String,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("provider", &self.provider)
            .field("auth_kind", &self.auth_kind)
            .field("mailbox", &self.mailbox)
            .field("account", &self.account)
            .field("ews_url", &self.ews_url)
            .field("status", &self.status)
            .field("last_synced_at", &self.last_synced_at)
            .field("push_id", &self.push_id)
            .finish_non_exhaustive()
    }
}

pub struct NewConnection<'a> {
    pub user_id: &'a str,
    pub provider: ProviderKind,
    pub auth_kind: AuthKind,
    pub mailbox: &'a str,
    pub account: &'a str,
    pub ews_url: &'a str,
    pub sealed_secret: &'a str,
}

const COLUMNS: &str = "id, tenant_id, user_id, provider, auth_kind, mailbox, account, ews_url, secret, status, status_reason, last_synced_at, \
     sync_cursor, cursor_from, cursor_to, syncing_since, push_id, push_sealed, push_expires_at, push_error";

/// A column holding one of a type's names; anything else is a corrupt row, not a guess.
fn parsed<T>(r: &AnyRow, col: &str, parse: fn(&str) -> Option<T>) -> Result<T> {
    let s: String = r.try_get(col)?;
    parse(&s).ok_or_else(|| StoreError::Db(sqlx::Error::Decode(format!("unknown {col} {s:?}").into())))
}

fn connection(r: &AnyRow) -> Result<Connection> {
    Ok(Connection {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        user_id: r.try_get("user_id")?,
        provider: parsed(r, "provider", ProviderKind::parse)?,
        auth_kind: parsed(r, "auth_kind", AuthKind::parse)?,
        mailbox: r.try_get("mailbox")?,
        account: r.try_get("account")?,
        ews_url: r.try_get("ews_url")?,
        sealed_secret: r.try_get("secret")?,
        status: parsed(r, "status", ConnectionStatus::parse)?,
        status_reason: StatusReason::from_stored(&r.try_get::<String, _>("status_reason")?),
        last_synced_at: r.try_get::<Option<i64>, _>("last_synced_at")?.map(time_ms),
        sync_cursor: r.try_get("sync_cursor")?,
        cursor_window: match (r.try_get::<Option<i64>, _>("cursor_from")?, r.try_get::<Option<i64>, _>("cursor_to")?) {
            (Some(f), Some(t)) => Some((time(f), time(t))),
            _ => None,
        },
        syncing_since: r.try_get::<Option<i64>, _>("syncing_since")?.map(time_ms),
        push_id: r.try_get("push_id")?,
        push_sealed: r.try_get("push_sealed")?,
        push_expires_at: r.try_get::<Option<i64>, _>("push_expires_at")?.map(time),
        push_error: r.try_get("push_error")?,
    })
}

impl Store {
    /// Stores a user's connection; a user has at most one (a second gives Conflict). The user
    /// must belong to the tenant.
    pub async fn create_connection(&self, tenant_id: &str, c: NewConnection<'_>) -> Result<Connection> {
        let id = new_id();
        let now = Utc::now().timestamp();
        let done = sqlx::query(
            "INSERT INTO calendar_connections (id, tenant_id, user_id, provider, auth_kind, mailbox, account, ews_url, secret, created_at, updated_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10 \
             WHERE EXISTS (SELECT 1 FROM users WHERE id = $3 AND tenant_id = $2)",
        )
        .bind(&id)
        .bind(tenant_id)
        .bind(c.user_id)
        .bind(c.provider.as_str())
        .bind(c.auth_kind.as_str())
        .bind(c.mailbox.trim().to_ascii_lowercase())
        .bind(c.account)
        .bind(c.ews_url)
        .bind(c.sealed_secret)
        .bind(now)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.connection(tenant_id, &id).await
    }

    pub async fn connection(&self, tenant_id: &str, id: &str) -> Result<Connection> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM calendar_connections WHERE tenant_id = $1 AND id = $2"))
            .bind(tenant_id)
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        connection(&row)
    }

    pub async fn connection_of_user(&self, tenant_id: &str, user_id: &str) -> Result<Option<Connection>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM calendar_connections WHERE tenant_id = $1 AND user_id = $2"))
            .bind(tenant_id)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(connection).transpose()
    }

    pub async fn connections(&self, tenant_id: &str) -> Result<Vec<Connection>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM calendar_connections WHERE tenant_id = $1 ORDER BY mailbox, id"))
            .bind(tenant_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(connection).collect()
    }

    /// Every connection of every tenant, for key rotation (re-sealing secrets).
    pub async fn all_connections(&self) -> Result<Vec<Connection>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM calendar_connections ORDER BY tenant_id, id")).fetch_all(&self.pool).await?;
        rows.iter().map(connection).collect()
    }

    pub async fn set_connection_secret(&self, tenant_id: &str, id: &str, sealed_secret: &str) -> Result<()> {
        let done = sqlx::query("UPDATE calendar_connections SET secret = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .bind(sealed_secret)
            .bind(Utc::now().timestamp())
            .execute(&self.pool)
            .await?;
        found(done)
    }

    /// Marks the connection's state (`NeedsReconnect` or `Failing` with the reason the user
    /// is shown; `Active` with no reason).
    pub async fn set_connection_status(&self, tenant_id: &str, id: &str, status: ConnectionStatus, reason: &StatusReason) -> Result<()> {
        let done = sqlx::query("UPDATE calendar_connections SET status = $3, status_reason = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .bind(status.as_str())
            .bind(reason.to_stored())
            .bind(Utc::now().timestamp())
            .execute(&self.pool)
            .await?;
        found(done)
    }

    /// (provider, status, count) over all tenants, for metrics.
    pub async fn connection_status_counts(&self) -> Result<Vec<(String, String, i64)>> {
        let rows = sqlx::query("SELECT provider, status, COUNT(*) AS n FROM calendar_connections GROUP BY provider, status ORDER BY provider, status")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("provider")?, r.try_get("status")?, r.try_get("n")?))).collect()
    }

    /// A sync of the connection started (`Some`) or stopped (`None`) running.
    pub async fn set_syncing(&self, tenant_id: &str, id: &str, since: Option<DateTime<Utc>>) -> Result<()> {
        sqlx::query("UPDATE calendar_connections SET syncing_since = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .bind(since.map(|t| t.timestamp_millis()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A sync finished: `Ok` marks the connection active and synced at `at`; `Err((status,
    /// reason))` keeps the last good sync time and says what went wrong.
    pub async fn finish_sync(&self, tenant_id: &str, id: &str, at: DateTime<Utc>, outcome: std::result::Result<(), (ConnectionStatus, &StatusReason)>) -> Result<()> {
        let q = match outcome {
            Ok(()) => sqlx::query(
                "UPDATE calendar_connections SET syncing_since = NULL, status = 'active', status_reason = '', last_synced_at = $3, updated_at = $4 \
                 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant_id)
            .bind(id)
            .bind(at.timestamp_millis())
            .bind(at.timestamp()),
            Err((status, reason)) => sqlx::query(
                "UPDATE calendar_connections SET syncing_since = NULL, status = $3, status_reason = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant_id)
            .bind(id)
            .bind(status.as_str())
            .bind(reason.to_stored())
            .bind(at.timestamp()),
        };
        q.execute(&self.pool).await?;
        Ok(())
    }

    /// Records the connection's push subscription (None: it has none), or why subscribing failed.
    pub async fn set_push(&self, tenant_id: &str, id: &str, push: Option<(&str, &str, DateTime<Utc>)>, error: &str) -> Result<()> {
        sqlx::query("UPDATE calendar_connections SET push_id = $3, push_sealed = $4, push_expires_at = $5, push_error = $6 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .bind(push.map(|p| p.0))
            .bind(push.map(|p| p.1))
            .bind(push.map(|p| p.2.timestamp()))
            .bind(error)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The connection a push notification is for (any tenant: the subscription id is the key,
    /// and the caller then checks the notification's secret against the subscription's).
    pub async fn connection_by_push_id(&self, push_id: &str) -> Result<Option<Connection>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM calendar_connections WHERE push_id = $1"))
            .bind(push_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(connection).transpose()
    }

    /// Active connections (any company with the integration on) past their first sync, last
    /// synced before `before`: polling. (A new connection waits for its first Synchronise; a
    /// first sync that failed is retried by its own job.)
    pub async fn connections_synced_before(&self, before: DateTime<Utc>, limit: i64) -> Result<Vec<Connection>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM calendar_connections WHERE status <> 'needs_reconnect' AND last_synced_at < $1 \
             AND tenant_id IN (SELECT id FROM tenants WHERE calendar_integration) ORDER BY last_synced_at LIMIT $2"
        ))
        .bind(before.timestamp_millis())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(connection).collect()
    }

    /// Active connections (any company with the integration on) whose push subscription is
    /// missing or expires before `before`: to subscribe or renew.
    pub async fn connections_push_due(&self, before: DateTime<Utc>, limit: i64) -> Result<Vec<Connection>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM calendar_connections WHERE status <> 'needs_reconnect' AND tenant_id IN (SELECT id FROM tenants WHERE calendar_integration) \
             AND (push_expires_at IS NULL OR push_expires_at < $1) ORDER BY push_expires_at LIMIT $2"
        ))
        .bind(before.timestamp())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(connection).collect()
    }

    /// Per provider: the oldest last sync among connections that should be syncing (None: one
    /// has never finished a sync), and how many there are. For the sync-lag metric. Not
    /// counted: calendars to reconnect, calendars waiting for their first Synchronise, and
    /// companies with the integration switched off.
    pub async fn sync_lag(&self) -> Result<Vec<(String, Option<DateTime<Utc>>, i64)>> {
        let rows = sqlx::query(
            "SELECT provider, MIN(last_synced_at) AS oldest, COUNT(*) AS n, COUNT(last_synced_at) AS synced FROM calendar_connections \
             WHERE status <> 'needs_reconnect' AND NOT (status = 'active' AND last_synced_at IS NULL AND syncing_since IS NULL) \
             AND tenant_id IN (SELECT id FROM tenants WHERE calendar_integration) GROUP BY provider ORDER BY provider",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let n: i64 = r.try_get("n")?;
                let synced: i64 = r.try_get("synced")?;
                let oldest = if synced < n { None } else { r.try_get::<Option<i64>, _>("oldest")?.map(time_ms) };
                Ok((r.try_get("provider")?, oldest, n))
            })
            .collect()
    }

    /// The connections of these users (those that have one), in one query: how fresh each
    /// shown calendar is (F-X-15).
    pub async fn connections_of_users(&self, tenant_id: &str, user_ids: &[String]) -> Result<Vec<Connection>> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT {COLUMNS} FROM calendar_connections WHERE tenant_id = $1 AND user_id IN ({})", crate::placeholders(2, user_ids.len()));
        let mut q = sqlx::query(&sql).bind(tenant_id);
        for u in user_ids {
            q = q.bind(u);
        }
        q.fetch_all(&self.pool).await?.iter().map(connection).collect()
    }

    pub async fn delete_connection(&self, tenant_id: &str, id: &str) -> Result<()> {
        let done = sqlx::query("DELETE FROM calendar_connections WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        found(done)
    }
}

/// An OAuth authorisation in flight (see `oauth_flows`).
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthFlow {
    pub state: String,
    pub tenant_id: String,
    pub user_id: String,
    pub session_hash: String,
    /// `google` or `graph`.
    pub provider: String,
    pub verifier_sealed: String,
    pub created_at: DateTime<Utc>,
    /// The address the user asked to connect (Office 365); empty: whichever account consents.
    pub mailbox: String,
}

impl Store {
    pub async fn create_oauth_flow(&self, f: &OAuthFlow) -> Result<()> {
        sqlx::query(
            "INSERT INTO oauth_flows (state, tenant_id, user_id, session_hash, provider, verifier_sealed, created_at, mailbox) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&f.state)
        .bind(&f.tenant_id)
        .bind(&f.user_id)
        .bind(&f.session_hash)
        .bind(&f.provider)
        .bind(&f.verifier_sealed)
        .bind(f.created_at.timestamp())
        .bind(&f.mailbox)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes the authorisation with this state (it can be used once).
    pub async fn take_oauth_flow(&self, state: &str) -> Result<Option<OAuthFlow>> {
        let row = sqlx::query("DELETE FROM oauth_flows WHERE state = $1 RETURNING state, tenant_id, user_id, session_hash, provider, verifier_sealed, created_at, mailbox")
            .bind(state)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(OAuthFlow {
                state: r.try_get("state")?,
                tenant_id: r.try_get("tenant_id")?,
                user_id: r.try_get("user_id")?,
                session_hash: r.try_get("session_hash")?,
                provider: r.try_get("provider")?,
                verifier_sealed: r.try_get("verifier_sealed")?,
                created_at: time(r.try_get("created_at")?),
                mailbox: r.try_get("mailbox")?,
            })
        })
        .transpose()
    }

    pub async fn purge_oauth_flows(&self, before: DateTime<Utc>) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM oauth_flows WHERE created_at < $1").bind(before.timestamp()).execute(&self.pool).await?.rows_affected())
    }
}
