//! Integration → Calendar's server functions: every user's calendar connection and its status
//! (F-ADM-2, F-ADM-7), a page at a time, and what an administrator can do from the table.
//! Administrators only. Secrets never leave the server: a row says how a calendar signs in,
//! never with what.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::connect::api::{RowConnection, RowStatus};
use crate::error::AppError;

/// Rows per page of the table.
pub const PAGE_SIZE: usize = 25;
/// The longest search text accepted.
pub const MAX_SEARCH: usize = 100;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub user_id: String,
    pub name: String,
    pub email: String,
    /// The viewer's own row (OAuth consent can be given only by the mailbox owner).
    pub me: bool,
    pub connection: Option<RowConnection>,
    pub status: RowStatus,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarUsers {
    pub rows: Vec<UserRow>,
    /// Users matching the search, and the page shown (from 0).
    pub total: u32,
    pub page: u32,
    pub integration_on: bool,
}

/// One page of the company's users with their calendars, searched by name or e-mail.
#[server(endpoint = "config-calendars", input = crate::codec::Json, output = crate::codec::Json)]
pub async fn get_calendar_users(search: String, page: u32) -> Result<CalendarUsers, AppError> {
    crate::error::respond(server::users(search, page).await)
}

/// Several users' calendars through one Exchange service account at once (F-ADM-6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManyForm {
    pub user_ids: Vec<String>,
    pub ews_url: String,
    pub account: String,
    pub password: String,
}

/// How connecting one of them went (None: connected).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManyOutcome {
    pub user_id: String,
    pub name: String,
    pub problem: Option<domain::Refusal>,
}

/// A service account the company's calendars sign in with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceAccount {
    pub ews_url: String,
    pub account: String,
    pub calendars: u32,
}

/// The most users connected in one go (a page of the table).
pub const MAX_MANY: usize = PAGE_SIZE;

/// Connects each chosen user's mailbox (their e-mail address) through the service account.
#[server(endpoint = "config-connect-many", input = crate::codec::Json, output = crate::codec::Json)]
pub async fn connect_many(form: ManyForm) -> Result<Vec<ManyOutcome>, AppError> {
    crate::error::respond(server::connect_many(form).await)
}

#[server(endpoint = "config-service-accounts", input = crate::codec::Json, output = crate::codec::Json)]
pub async fn get_service_accounts() -> Result<Vec<ServiceAccount>, AppError> {
    crate::error::respond(server::service_accounts().await)
}

/// Changes a service account's password for every calendar that uses it; returns how many.
#[server(endpoint = "config-service-password", input = crate::codec::Json, output = crate::codec::Json)]
pub async fn change_service_password(ews_url: String, account: String, password: String) -> Result<Result<u32, domain::Refusal>, AppError> {
    crate::error::respond(server::change_service_password(ews_url, account, password).await)
}

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use super::*;
    use crate::state::Ctx;


    pub async fn users(search: String, page: u32) -> Result<CalendarUsers, AppError> {
        let ctx = Ctx::admin().await?;
        crate::error::check_len("search", &search, MAX_SEARCH)?;
        // Hundreds of users: read them all and match here, where lower-casing knows æ, ø, å.
        let words: Vec<String> = search.split_whitespace().map(str::to_lowercase).collect();
        let mut users = ctx.store.users(ctx.tenant()).await?;
        users.retain(|u| {
            let hay = format!("{} {}", u.display_name.to_lowercase(), u.email.to_lowercase());
            words.iter().all(|w| hay.contains(w.as_str()))
        });
        let total = users.len();
        let pages = total.div_ceil(PAGE_SIZE).max(1);
        let page = (page as usize).min(pages - 1);
        let shown: Vec<store::User> = users.into_iter().skip(page * PAGE_SIZE).take(PAGE_SIZE).collect();
        let ids: Vec<String> = shown.iter().map(|u| u.id.clone()).collect();
        let conns = ctx.store.connections_of_users(ctx.tenant(), &ids).await?;
        let rows = shown
            .into_iter()
            .map(|u| {
                let c = conns.iter().find(|c| c.user_id == u.id);
                UserRow {
                    me: u.id == ctx.user.id,
                    connection: c.map(crate::connect::api::server::row_connection),
                    status: crate::connect::api::server::status(c, ctx.tz),
                    user_id: u.id,
                    name: u.display_name,
                    email: u.email,
                }
            })
            .collect();
        Ok(CalendarUsers { rows, total: total as u32, page: page as u32, integration_on: ctx.store.calendar_integration(ctx.tenant()).await? })
    }

    pub async fn connect_many(f: ManyForm) -> Result<Vec<ManyOutcome>, AppError> {
        use crate::connect::api::{MAX_EMAIL, MAX_PASSWORD, MAX_URL};
        use crate::error::check_len;
        use domain::Problem;
        let ctx = Ctx::admin().await?;
        if f.user_ids.is_empty() || f.user_ids.len() > MAX_MANY {
            return Err(AppError::field("user_ids", Problem::NotAChoice));
        }
        for (field, value, max) in [("ews_url", &f.ews_url, MAX_URL), ("account", &f.account, MAX_EMAIL), ("password", &f.password, MAX_PASSWORD)] {
            crate::connect::api::server::required(field, value, max)?;
        }
        let actor = ctx.actor();
        let mut out = Vec::new();
        for id in &f.user_ids {
            check_len("user_ids", id, 64)?;
            let user = ctx.store.user(ctx.tenant(), id).await?;
            let credentials = sync::connections::Credentials::EwsImpersonation { url: f.ews_url.trim().to_string(), service_account: f.account.trim().to_string(), password: f.password.clone() };
            let problem = match ctx.engine.connect(ctx.tenant(), &user.id, &user.email, credentials, &actor).await {
                Ok(_) => None,
                Err(e) => Some(crate::connect::api::server::refusal(e)?),
            };
            out.push(ManyOutcome { user_id: user.id, name: user.display_name, problem });
        }
        Ok(out)
    }

    pub async fn service_accounts() -> Result<Vec<ServiceAccount>, AppError> {
        let ctx = Ctx::admin().await?;
        let mut accounts: Vec<ServiceAccount> = Vec::new();
        for c in ctx.store.connections(ctx.tenant()).await?.into_iter().filter(|c| c.auth_kind == domain::AuthKind::Impersonation) {
            match accounts.iter_mut().find(|a| a.ews_url == c.ews_url && a.account.eq_ignore_ascii_case(&c.account)) {
                Some(a) => a.calendars += 1,
                None => accounts.push(ServiceAccount { ews_url: c.ews_url, account: c.account, calendars: 1 }),
            }
        }
        accounts.sort_by(|a, b| (&a.account, &a.ews_url).cmp(&(&b.account, &b.ews_url)));
        Ok(accounts)
    }

    pub async fn change_service_password(ews_url: String, account: String, password: String) -> Result<Result<u32, domain::Refusal>, AppError> {
        use crate::connect::api::{MAX_EMAIL, MAX_PASSWORD, MAX_URL};
        use crate::error::check_len;
        let ctx = Ctx::admin().await?;
        check_len("ews_url", &ews_url, MAX_URL)?;
        check_len("account", &account, MAX_EMAIL)?;
        if password.is_empty() {
            return Err(AppError::field("password", domain::Problem::Required));
        }
        check_len("password", &password, MAX_PASSWORD)?;
        let actor = ctx.actor();
        match ctx.engine.change_service_password(ctx.tenant(), &ews_url, &account, &password, &actor).await {
            Ok(n) => Ok(Ok(n as u32)),
            Err(e) => crate::connect::api::server::refusal(e).map(Err),
        }
    }
}
