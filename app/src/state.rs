//! What server functions and pages share on the server, provided once as context.

use store::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// Mark cookies `Secure` (on whenever the site is served over https).
    pub secure_cookies: bool,
    /// The sync engine: CRM edits go through it (meeting + job), page loads ask it to sync.
    pub sync: sync::Engine,
}

pub fn app_state() -> Result<AppState, crate::error::AppError> {
    leptos::prelude::use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from context");
        crate::error::AppError::Internal
    })
}
