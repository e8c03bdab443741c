//! What server functions and pages share on the server: the app state (provided once through
//! `leptos_routes_with_context`) and [`Ctx`], where every signed-in server function starts.

use chrono::{NaiveDate, Utc};
use domain::tz::{parse_tz, to_local, Tz};
use domain::Role;
use store::{Store, User};

use crate::error::AppError;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// Mark cookies `Secure` (on whenever the site is served over https).
    pub secure_cookies: bool,
    /// The sync engine: CRM edits go through it (meeting + job), page loads ask it to sync.
    pub sync: sync::Engine,
}

pub fn app_state() -> Result<AppState, AppError> {
    leptos::prelude::use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from context");
        AppError::Internal
    })
}

/// A server function's context: the signed-in user (authenticated by the server's guard,
/// which denies everything else), their time zone and today, the store and the engine.
pub struct Ctx {
    pub user: User,
    pub tz: Tz,
    pub store: Store,
    pub engine: sync::Engine,
}

impl Ctx {
    pub async fn signed_in() -> Result<Ctx, AppError> {
        let parts = leptos::prelude::use_context::<http::request::Parts>().ok_or(AppError::Internal)?;
        let user = parts.extensions.get::<User>().cloned().ok_or(AppError::NotSignedIn)?;
        let state = app_state()?;
        let tz = parse_tz(&user.time_zone).unwrap_or(Tz::UTC);
        Ok(Ctx { user, tz, store: state.store, engine: state.sync })
    }

    /// A signed-in administrator's context (F-X-1); everyone else gets [`AppError::Forbidden`].
    pub async fn admin() -> Result<Ctx, AppError> {
        let ctx = Ctx::signed_in().await?;
        ctx.require_admin()?;
        Ok(ctx)
    }

    /// The signed-in user as the audit log names who made a change.
    pub fn actor(&self) -> domain::audit::Actor {
        domain::audit::Actor::user(&self.user.id, &self.user.display_name)
    }

    /// Administrators only (F-X-1); everyone else gets [`AppError::Forbidden`].
    pub fn require_admin(&self) -> Result<(), AppError> {
        match self.user.role {
            Role::Administrator => Ok(()),
            Role::User => Err(AppError::Forbidden),
        }
    }

    /// Today in the user's zone (the browser's clock is never asked: no hydration drift).
    pub fn today(&self) -> NaiveDate {
        to_local(Utc::now(), self.tz).date()
    }

    pub fn tenant(&self) -> &str {
        &self.user.tenant_id
    }
}
