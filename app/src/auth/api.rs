//! Sign-in and sign-out (F-X-1): the server functions and their server side, on top of the
//! `sessions` crate (passwords, tokens, cookies).

use crate::error::AppError;
use leptos::prelude::*;

#[server(endpoint = "login", output = crate::codec::Json)]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    crate::error::respond(
        async {
            server::sign_in(&email, &password).await?;
            leptos_axum::redirect(&sessions::safe_next(next.as_deref()));
            Ok(())
        }
        .await,
    )
}

#[server(endpoint = "logout", output = crate::codec::Json)]
pub async fn logout() -> Result<(), AppError> {
    crate::error::respond(
        async {
            server::sign_out().await?;
            leptos_axum::redirect(crate::routes::LOGIN);
            Ok(())
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
mod server {
    use crate::error::AppError;
    use crate::state::{app_state, AppState};
    use chrono::{TimeDelta, Utc};
    use domain::Problem;
    use sessions::*;

    async fn client_ip() -> String {
        match leptos_axum::extract::<axum::extract::ConnectInfo<std::net::SocketAddr>>().await {
            Ok(axum::extract::ConnectInfo(addr)) => addr.ip().to_string(),
            Err(_) => "unknown".to_string(),
        }
    }

    fn set_cookie(value: String, max_age: TimeDelta, secure: bool) -> Result<(), AppError> {
        if let Some(res) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            let cookie = session_cookie(value, max_age, secure);
            res.append_header(http::header::SET_COOKIE, http::HeaderValue::from_str(&cookie).map_err(|_| AppError::Internal)?);
        }
        Ok(())
    }

    pub async fn sign_in(email: &str, password: &str) -> Result<(), AppError> {
        let email = email.trim().to_lowercase();
        if email.is_empty() || password.is_empty() {
            return Err(AppError::invalid(Problem::SignInIncomplete));
        }
        if email.len() > MAX_EMAIL_LEN || password.len() > MAX_PASSWORD_LEN {
            return Err(AppError::InvalidCredentials);
        }
        let AppState { store, secure_cookies, .. } = app_state()?;
        let now = Utc::now();
        let since = now - TimeDelta::minutes(FAILURE_WINDOW_MINUTES);
        let (email_key, ip_key) = (format!("email:{email}"), format!("ip:{}", client_ip().await));
        if store.login_failures_since(&email_key, since).await? >= MAX_FAILURES_PER_EMAIL || store.login_failures_since(&ip_key, since).await? >= MAX_FAILURES_PER_IP {
            tracing::warn!("sign-in rate limit reached");
            return Err(AppError::RateLimited);
        }
        let found = store.user_for_sign_in(&email).await?;
        let phc = found.as_ref().map(|(_, h)| h.clone()).unwrap_or_else(|| dummy_hash().to_string());
        let password = password.to_string();
        // argon2 is CPU-heavy by design: keep it off the async workers.
        let ok = tokio::task::spawn_blocking(move || verify_password(&password, &phc)).await.map_err(|_| AppError::Internal)?;
        let user = match (ok, found) {
            (true, Some((user, _))) => user,
            _ => {
                store.record_login_failure(&email_key, now).await?;
                store.record_login_failure(&ip_key, now).await?;
                return Err(AppError::InvalidCredentials);
            }
        };
        store.clear_login_failures(&email_key).await?;
        let token = new_token();
        store.create_session(&hash_token(&token), &user, now).await?;
        set_cookie(token, TimeDelta::seconds(store::SESSION_LIFETIME_SECS), secure_cookies)
    }

    pub async fn sign_out() -> Result<(), AppError> {
        let AppState { store, secure_cookies, .. } = app_state()?;
        if let Some(parts) = leptos::prelude::use_context::<http::request::Parts>() {
            if let Some(hash) = session_hash(&parts.headers) {
                store.delete_session(&hash).await?;
            }
        }
        set_cookie(String::new(), TimeDelta::zero(), secure_cookies)
    }
}
