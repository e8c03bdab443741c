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
    pub locale: String,
    pub show_weekends: bool,
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub time_zone: &'a str,
    pub week_start: i64,
}

const USER_COLUMNS: &str = "id, tenant_id, email, display_name, role, time_zone, week_start, locale, show_weekends";

fn user_from_row(row: &AnyRow) -> Result<User> {
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
        sqlx::query(
            "INSERT INTO users (id, tenant_id, email, display_name, password_hash, role, time_zone, week_start, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
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
        .execute(&self.pool)
        .await?;
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
