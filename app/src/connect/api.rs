//! Connecting calendars from the browser (F-ADM-3 … F-ADM-6, F-ADM-10): the server functions
//! behind the connect widget, used on a user's own settings page and by administrators on
//! Configuration → Integration → Calendar. Who may do what, checked here: users manage their
//! own calendar; administrators also set up Exchange for anyone and synchronise or disconnect
//! anyone's. OAuth consent (Google, Office 365) only the mailbox owner can give, through
//! `/connect/{google|microsoft}` as themselves. Everything goes through the sync engine, the
//! same path as the command line; passwords are sealed there and never sent back.

use chrono::NaiveDateTime;
use domain::{AuthKind, ProviderKind, Refusal, StatusReason};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Where a user's calendar stands (F-ADM-7).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    NotConnected,
    /// Connected (credentials accepted, push subscribed where possible), not synchronised yet.
    Subscribed,
    Syncing,
    /// The last sync finished then (the viewer's wall clock).
    Synced {
        #[serde(with = "domain::iso::date_time")]
        at: NaiveDateTime,
    },
    /// Stopped until someone acts (`reconnect`), or retrying by itself.
    Failed { reason: StatusReason, reconnect: bool },
}

impl RowStatus {
    /// A stable name for tests and styles.
    pub fn as_str(&self) -> &'static str {
        match self {
            RowStatus::NotConnected => "not_connected",
            RowStatus::Subscribed => "subscribed",
            RowStatus::Syncing => "syncing",
            RowStatus::Synced { .. } => "synced",
            RowStatus::Failed { .. } => "failed",
        }
    }
}

/// A user's calendar connection as the table shows it (no secret in it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowConnection {
    pub provider: ProviderKind,
    pub auth: AuthKind,
    pub mailbox: String,
    /// Who signs in for Exchange (the user's account, or the service account); else empty.
    pub account: String,
    pub ews_url: String,
}

/// A user's calendar as the connect widget shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarState {
    pub connection: Option<RowConnection>,
    pub status: RowStatus,
    pub integration_on: bool,
}

/// Field limits, checked on the server.
pub const MAX_URL: usize = 2048;
pub const MAX_EMAIL: usize = 254;
pub const MAX_PASSWORD: usize = 1024;

/// The Exchange form (F-ADM-5: the user's own account; F-ADM-6: a service account acting
/// for the mailbox).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeForm {
    /// Whose calendar.
    pub user_id: String,
    /// `https://…/EWS/Exchange.asmx`.
    pub ews_url: String,
    /// The mailbox (and, without impersonation, the account that signs in).
    pub email: String,
    pub impersonation: bool,
    /// With impersonation: the service account.
    pub account: String,
    pub password: String,
}

/// The calendar connection of a user the signed-in user manages (their own; administrators:
/// anyone's in the company).
#[server(endpoint = "connect-state", input = crate::codec::Json, output = crate::codec::Json)]
pub async fn get_calendar_state(user_id: String) -> Result<CalendarState, AppError> {
    crate::error::respond(server::calendar_state(user_id).await)
}

/// Save and subscribe: checks the address, the account and the password with the server at
/// once, then stores the connection (replacing one the user had). Nothing is stored when the
/// server says no; the error names the field it concerns.
/// A refusal (wrong password, not an EWS address, …) is an outcome, not an error: `Ok(Err(…))`.
#[server(endpoint = "connect-exchange", input = crate::codec::Json, output = crate::codec::Json)]
pub async fn connect_exchange(form: ExchangeForm) -> Result<Result<(), Refusal>, AppError> {
    crate::error::respond(server::connect_exchange(form).await)
}

/// Synchronise: the first sync of a connected calendar, or a sync now.
#[server(endpoint = "connect-synchronise", input = crate::codec::Json, output = crate::codec::Json)]
pub async fn synchronise(user_id: String) -> Result<(), AppError> {
    crate::error::respond(server::synchronise(user_id).await)
}

/// Disconnect (F-ADM-10): push stopped, credentials deleted (the OAuth grant withdrawn where
/// the provider allows it), meetings kept.
#[server(endpoint = "connect-disconnect", input = crate::codec::Json, output = crate::codec::Json)]
pub async fn disconnect(user_id: String) -> Result<(), AppError> {
    crate::error::respond(server::disconnect(user_id).await)
}

#[cfg(feature = "ssr")]
pub mod server {
    use super::*;
    use crate::error::check_len;
    use crate::state::Ctx;
    use domain::tz::to_local;
    use domain::{ConnectionStatus, Problem};
    use providers::ProviderError;
    use store::{Connection, User};
    use sync::connections::{ConnectError, Credentials};

    /// The user whose calendar `ctx`'s user may manage: their own, or (administrators) anyone's
    /// in their company.
    async fn managed(ctx: &Ctx, user_id: &str) -> Result<User, AppError> {
        check_len("user_id", user_id, 64)?;
        if user_id != ctx.user.id {
            ctx.require_admin()?;
        }
        Ok(ctx.store.user(ctx.tenant(), user_id).await?)
    }

    async fn connection(ctx: &Ctx, user: &User) -> Result<Connection, AppError> {
        ctx.store.connection_of_user(ctx.tenant(), &user.id).await?.ok_or(AppError::invalid(Problem::CalendarNotConnected))
    }

    /// Where a connection stands, for the widget and the table.
    pub fn status(c: Option<&Connection>, tz: domain::tz::Tz) -> RowStatus {
        let Some(c) = c else { return RowStatus::NotConnected };
        match (c.status, c.syncing_since, c.last_synced_at) {
            (ConnectionStatus::NeedsReconnect, _, _) => RowStatus::Failed { reason: c.status_reason.clone(), reconnect: true },
            (_, Some(_), _) => RowStatus::Syncing,
            (ConnectionStatus::Failing, _, _) => RowStatus::Failed { reason: c.status_reason.clone(), reconnect: false },
            (ConnectionStatus::Active, None, None) => RowStatus::Subscribed,
            (ConnectionStatus::Active, None, Some(t)) => RowStatus::Synced { at: to_local(t, tz) },
        }
    }

    /// A connection as the browser may see it: no secret.
    pub fn row_connection(c: &Connection) -> RowConnection {
        RowConnection {
            provider: c.provider,
            auth: c.auth_kind,
            mailbox: c.mailbox.clone(),
            account: if c.provider == domain::ProviderKind::Ews { c.account.clone() } else { String::new() },
            ews_url: c.ews_url.clone(),
        }
    }

    pub async fn calendar_state(user_id: String) -> Result<CalendarState, AppError> {
        let ctx = Ctx::signed_in().await?;
        let user = managed(&ctx, &user_id).await?;
        let conn = ctx.store.connection_of_user(ctx.tenant(), &user.id).await?;
        Ok(CalendarState {
            connection: conn.as_ref().map(row_connection),
            status: status(conn.as_ref(), ctx.tz),
            integration_on: ctx.store.calendar_integration(ctx.tenant()).await?,
        })
    }

    /// A required text field within its limit.
    pub fn required(field: &str, value: &str, max: usize) -> Result<(), AppError> {
        if value.trim().is_empty() {
            return Err(AppError::field(field, Problem::Required));
        }
        check_len(field, value, max)
    }

    pub async fn connect_exchange(f: ExchangeForm) -> Result<Result<(), Refusal>, AppError> {
        let ctx = Ctx::signed_in().await?;
        let user = managed(&ctx, &f.user_id).await?;
        required("ews_url", &f.ews_url, MAX_URL)?;
        required("email", &f.email, MAX_EMAIL)?;
        if !f.email.contains('@') {
            return Err(AppError::field("email", Problem::NotAnEmail { value: f.email.clone() }));
        }
        if f.impersonation {
            required("account", &f.account, MAX_EMAIL)?;
        }
        required("password", &f.password, MAX_PASSWORD)?;
        let url = f.ews_url.trim().to_string();
        let mailbox = f.email.trim().to_string();
        let credentials = if f.impersonation {
            Credentials::EwsImpersonation { url, service_account: f.account.trim().to_string(), password: f.password }
        } else {
            Credentials::EwsBasic { url, username: mailbox.clone(), password: f.password }
        };
        match ctx.engine.connect(ctx.tenant(), &user.id, &mailbox, credentials, &ctx.actor()).await {
            Ok(_) => Ok(Ok(())),
            Err(e) => refusal(e).map(Err),
        }
    }

    /// Why connecting did not happen, in the user's terms (a refusal for the form to show), or
    /// an error of ours.
    pub fn refusal(e: ConnectError) -> Result<Refusal, AppError> {
        Ok(match e {
            ConnectError::Provider(p) => match p {
                ProviderError::NotEwsEndpoint(_) => Refusal::NotAnEwsAddress,
                ProviderError::InvalidUrl(_) => Refusal::NotHttps,
                ProviderError::Unreachable(_) | ProviderError::Timeout => Refusal::ServerUnreachable,
                ProviderError::Tls(_) => Refusal::CertificateProblem,
                ProviderError::InvalidCredentials(_) => Refusal::PasswordRefused,
                ProviderError::MailboxNotFound(_) => Refusal::MailboxNotFound,
                ProviderError::ImpersonationDenied(_) => Refusal::ImpersonationRefused,
                other => Refusal::ProviderRefused { detail: other.to_string() },
            },
            ConnectError::IntegrationOff => Refusal::IntegrationOff,
            ConnectError::WrongAccount { signed_in } => Refusal::WrongAccount { signed_in },
            ConnectError::Invalid(detail) => Refusal::ProviderRefused { detail },
            ConnectError::NoSuchUser => return Err(AppError::NotFound),
            ConnectError::Store(s) => return Err(s.into()),
            ConnectError::AlreadyConnected | ConnectError::Secret(_) => {
                tracing::error!(error = %e, "connecting a calendar failed");
                return Err(AppError::Internal);
            }
        })
    }

    pub async fn synchronise(user_id: String) -> Result<(), AppError> {
        let ctx = Ctx::signed_in().await?;
        let user = managed(&ctx, &user_id).await?;
        let conn = connection(&ctx, &user).await?;
        if !ctx.store.calendar_integration(ctx.tenant()).await? {
            return Err(AppError::invalid(Problem::IntegrationOff));
        }
        ctx.engine.synchronise(&conn).await?;
        Ok(())
    }

    pub async fn disconnect(user_id: String) -> Result<(), AppError> {
        let ctx = Ctx::signed_in().await?;
        let user = managed(&ctx, &user_id).await?;
        let conn = connection(&ctx, &user).await?;
        match ctx.engine.disconnect(ctx.tenant(), &conn.id, &ctx.actor()).await {
            Ok(()) => Ok(()),
            // Gone meanwhile (another tab, an operator): what was asked is done.
            Err(ConnectError::Invalid(_)) => Ok(()),
            Err(ConnectError::Store(e)) => Err(e.into()),
            Err(e) => {
                tracing::error!(error = %e, "disconnecting a calendar failed");
                Err(AppError::Internal)
            }
        }
    }
}
