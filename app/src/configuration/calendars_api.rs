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

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use super::*;
    use crate::state::Ctx;

    async fn admin() -> Result<Ctx, AppError> {
        let ctx = Ctx::signed_in().await?;
        ctx.require_admin()?;
        Ok(ctx)
    }

    pub async fn users(search: String, page: u32) -> Result<CalendarUsers, AppError> {
        let ctx = admin().await?;
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
}
