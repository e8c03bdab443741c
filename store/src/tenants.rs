//! Tenants (customer companies) and their users.

use crate::{flag, found, new_id, Result, Store, StoreError};
use chrono::Utc;
use domain::Role;
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Clone, Debug, PartialEq)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub calendar_integration: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub id: String,
    pub tenant_id: String,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub time_zone: String,
    /// 0 = Monday … 6 = Sunday.
    pub week_start: i64,
    /// `en`, `da`, or empty: follow the browser's language.
    pub locale: String,
    pub show_weekends: bool,
    /// `week`, `month`, … ('' = the week view).
    pub default_view: String,
    /// Working hours: minutes from midnight in the user's zone, and days (bit 0 = Monday).
    pub work_start: i64,
    pub work_end: i64,
    pub work_days: i64,
}

/// A user as a list of people shows them.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct UserName {
    pub id: String,
    pub display_name: String,
}

/// What a user sets on their settings page (F-X-5, F-X-6, F-CAL-6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSettings {
    pub locale: String,
    pub time_zone: String,
    pub week_start: i64,
    pub default_view: String,
    pub show_weekends: bool,
    pub work_start: i64,
    pub work_end: i64,
    pub work_days: i64,
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub time_zone: &'a str,
    pub week_start: i64,
}

const USER_COLUMNS: &str = "id, tenant_id, email, display_name, role, time_zone, week_start, locale, show_weekends, default_view, work_start, work_end, work_days";

/// The user columns of a query that names the users table `alias`.
pub(crate) fn user_columns(alias: &str) -> String {
    USER_COLUMNS.split(", ").map(|c| format!("{alias}.{c} AS {c}")).collect::<Vec<_>>().join(", ")
}

pub(crate) fn user_from_row(row: &AnyRow) -> Result<User> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Db(sqlx::Error::Decode(format!("bad role {role}").into())))?,
        time_zone: row.try_get("time_zone")?,
        week_start: row.try_get("week_start")?,
        locale: row.try_get("locale")?,
        show_weekends: flag(row, "show_weekends")?,
        default_view: row.try_get("default_view")?,
        work_start: row.try_get("work_start")?,
        work_end: row.try_get("work_end")?,
        work_days: row.try_get("work_days")?,
    })
}

impl Store {
    pub async fn create_tenant(&self, name: &str) -> Result<Tenant> {
        let id = new_id();
        sqlx::query("INSERT INTO tenants (id, name, calendar_integration, created_at) VALUES ($1, $2, FALSE, $3)")
            .bind(&id)
            .bind(name)
            .bind(Utc::now().timestamp())
            .execute(&self.pool)
            .await?;
        Ok(Tenant { id, name: name.to_string(), calendar_integration: false })
    }

    /// Every tenant (operator tools; the web app never lists across tenants).
    pub async fn tenants(&self) -> Result<Vec<Tenant>> {
        let rows = sqlx::query("SELECT id, name, calendar_integration FROM tenants ORDER BY name, id").fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok(Tenant { id: r.try_get("id")?, name: r.try_get("name")?, calendar_integration: crate::flag(r, "calendar_integration")? }))
            .collect()
    }

    pub async fn tenant_count(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM tenants").fetch_one(&self.pool).await?.try_get("n")?)
    }

    /// E-mail addresses are sign-in names, unique across tenants and compared lower-case.
    pub async fn create_user(&self, tenant_id: &str, u: NewUser<'_>) -> Result<User> {
        let id = new_id();
        let email = u.email.trim().to_lowercase();
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO users (id, tenant_id, email, display_name, password_hash, role, time_zone, week_start, locale, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '', $9)",
        )
        .bind(&id)
        .bind(tenant_id)
        .bind(&email)
        .bind(u.display_name)
        .bind(u.password_hash)
        .bind(u.role.as_str())
        .bind(u.time_zone)
        .bind(u.week_start)
        .bind(Utc::now().timestamp())
        .execute(&mut *tx)
        .await?;
        crate::search::index(&mut tx, tenant_id, crate::search::Kind::User, &id, &format!("{} {email}", u.display_name)).await?;
        tx.commit().await?;
        self.user(tenant_id, &id).await
    }

    /// For sign-in only: the user and their password hash, by e-mail, whatever the tenant.
    pub async fn user_for_sign_in(&self, email: &str) -> Result<Option<(User, String)>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1"))
            .bind(email.trim().to_lowercase())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((user_from_row(&r)?, r.try_get("password_hash")?))).transpose()
    }

    pub async fn user(&self, tenant_id: &str, user_id: &str) -> Result<User> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2"))
            .bind(tenant_id)
            .bind(user_id)
            .fetch_one(&self.pool)
            .await?;
        user_from_row(&row)
    }

    pub async fn users(&self, tenant_id: &str) -> Result<Vec<User>> {
        let rows = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 ORDER BY display_name, id"))
            .bind(tenant_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Saves the user's settings page (F-X-5, F-X-6, F-CAL-6).
    pub async fn set_user_settings(&self, tenant_id: &str, user_id: &str, s: &UserSettings) -> Result<()> {
        let done = sqlx::query(
            "UPDATE users SET locale = $1, time_zone = $2, week_start = $3, default_view = $4, show_weekends = $5, \
             work_start = $6, work_end = $7, work_days = $8 WHERE tenant_id = $9 AND id = $10",
        )
        .bind(&s.locale)
        .bind(&s.time_zone)
        .bind(s.week_start)
        .bind(&s.default_view)
        .bind(s.show_weekends)
        .bind(s.work_start)
        .bind(s.work_end)
        .bind(s.work_days)
        .bind(tenant_id)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        found(done)
    }

    /// The user's calendar choices (F-CAL-7): who is shown and in which colour, as the app
    /// wrote them (JSON).
    pub async fn calendar_prefs(&self, tenant_id: &str, user_id: &str) -> Result<String> {
        let row = sqlx::query("SELECT calendar_prefs FROM users WHERE tenant_id = $1 AND id = $2").bind(tenant_id).bind(user_id).fetch_one(&self.pool).await?;
        Ok(row.try_get("calendar_prefs")?)
    }

    pub async fn set_calendar_prefs(&self, tenant_id: &str, user_id: &str, prefs: &str) -> Result<()> {
        let done = sqlx::query("UPDATE users SET calendar_prefs = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(prefs)
            .bind(tenant_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        found(done)
    }

    /// Users of the tenant whose calendar is connected and has been synchronised at least
    /// once: the colleagues whose calendars can be shown (F-CAL-7). Only what the picker
    /// shows is read: a company has hundreds of users, and the calendar page asks every time.
    pub async fn users_with_synced_calendars(&self, tenant_id: &str) -> Result<Vec<UserName>> {
        // Hundreds of rows on every page: as one JSON array (see `json_rows_sql`).
        let sql = crate::json_rows_sql(
            self.backend,
            "id, display_name",
            "SELECT u.id AS id, u.display_name AS display_name FROM users u JOIN calendar_connections c ON c.user_id = u.id AND c.tenant_id = u.tenant_id \
             WHERE u.tenant_id = $1 AND c.last_synced_at IS NOT NULL",
        );
        let mut users: Vec<UserName> = crate::json_rows(&sqlx::query(&sql).bind(tenant_id).fetch_one(&self.pool).await?)?;
        users.sort_by(|a, b| (&a.display_name, &a.id).cmp(&(&b.display_name, &b.id)));
        Ok(users)
    }

    pub async fn set_show_weekends(&self, tenant_id: &str, user_id: &str, show: bool) -> Result<()> {
        let done = sqlx::query("UPDATE users SET show_weekends = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(show)
            .bind(tenant_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        found(done)
    }
}
