//! Google and Microsoft OAuth 2.0 servers (authorisation page, token endpoint with PKCE,
//! refresh, revoke).

use axum::Router;

use crate::Emulator;

pub fn google_router() -> Router<Emulator> {
    Router::new()
}

pub fn microsoft_router() -> Router<Emulator> {
    Router::new()
}
