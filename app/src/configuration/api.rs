//! The Configuration area's server functions. Every one is for administrators only (F-X-1):
//! anyone else gets [`AppError::Forbidden`], checked here on the server whatever the page shows.

use chrono::NaiveDateTime;
use domain::audit::Action;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Main settings → Main features.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Features {
    /// The company-wide calendar integration switch (F-ADM-1).
    pub calendar_integration: bool,
    /// Users with a connected calendar, and users in all.
    pub connected: u32,
    pub users: u32,
}

/// One entry of the audit log, as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: String,
    /// When, on the viewer's wall clock.
    #[serde(with = "domain::iso::date_time")]
    pub at: NaiveDateTime,
    /// Who did it; empty: an operator on the command line.
    pub actor: String,
    pub action: Action,
}

/// A page of the audit log, newest first, and where the next (older) page starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub rows: Vec<AuditRow>,
    pub older: Option<AuditCursor>,
}

/// The last entry of a page: the next page starts after it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditCursor {
    pub at: i64,
    pub id: String,
}

/// Entries per page of the audit log.
pub const AUDIT_PAGE: usize = 50;

#[server(endpoint = "config-features", input = crate::codec::Json, output = crate::codec::Json)]
pub async fn get_features() -> Result<Features, AppError> {
    crate::error::respond(server::features().await)
}

/// Switches the company's calendar integration (F-ADM-1); returns the features as they now are.
#[server(endpoint = "config-integration", input = crate::codec::Json, output = crate::codec::Json)]
pub async fn set_calendar_integration(on: bool) -> Result<Features, AppError> {
    crate::error::respond(server::set_integration(on).await)
}

/// The audit log, newest first, from after `older` (None: the newest page).
#[server(endpoint = "config-audit", input = crate::codec::Json, output = crate::codec::Json)]
pub async fn get_audit_log(older: Option<AuditCursor>) -> Result<AuditPage, AppError> {
    crate::error::respond(server::audit_log(older).await)
}

#[cfg(feature = "ssr")]
mod server {
    use super::*;
    use crate::state::Ctx;
    use domain::tz::to_local;


    pub async fn features() -> Result<Features, AppError> {
        let ctx = Ctx::admin().await?;
        let users = ctx.store.users(ctx.tenant()).await?.len();
        let connected = ctx.store.connections(ctx.tenant()).await?.len();
        Ok(Features { calendar_integration: ctx.store.calendar_integration(ctx.tenant()).await?, connected: connected as u32, users: users as u32 })
    }

    pub async fn set_integration(on: bool) -> Result<Features, AppError> {
        let ctx = Ctx::admin().await?;
        ctx.engine.set_integration(ctx.tenant(), on, &ctx.actor()).await?;
        features().await
    }

    pub async fn audit_log(older: Option<AuditCursor>) -> Result<AuditPage, AppError> {
        let ctx = Ctx::admin().await?;
        if let Some(c) = &older {
            crate::error::check_len("older", &c.id, 64)?;
        }
        // One more than a page: whether there is an older page.
        let mut entries = ctx.store.audit_log(ctx.tenant(), older.as_ref().map(|c| (c.at, c.id.as_str())), AUDIT_PAGE as i64 + 1).await?;
        let more = entries.len() > AUDIT_PAGE;
        entries.truncate(AUDIT_PAGE);
        let older = more.then(|| entries.last().map(|e| AuditCursor { at: e.at, id: e.id.clone() })).flatten();
        let rows = entries
            .into_iter()
            .map(|e| AuditRow {
                at: to_local(chrono::DateTime::from_timestamp_millis(e.at).unwrap_or_default(), ctx.tz),
                id: e.id,
                actor: e.actor.name,
                action: e.action,
            })
            .collect();
        Ok(AuditPage { rows, older })
    }
}
