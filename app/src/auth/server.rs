//! Sign-in on the server: argon2id passwords, database sessions behind an HttpOnly cookie,
//! rate-limited attempts.

use crate::error::AppError;
use crate::state::{app_state, AppState};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use chrono::{TimeDelta, Utc};
use cookie::{Cookie, SameSite};
use http::HeaderMap;
use sha2::{Digest, Sha256};
use store::{SessionLookup, Store, User};

pub const SESSION_COOKIE: &str = "crmcal_session";
/// Failed sign-ins allowed per e-mail address, and per client address, within the window.
const MAX_FAILURES_PER_EMAIL: i64 = 5;
const MAX_FAILURES_PER_IP: i64 = 30;
const FAILURE_WINDOW_MINUTES: i64 = 15;

pub fn hash_password(password: &str) -> String {
    Argon2::default()
        .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
        .expect("argon2 hashing with default parameters cannot fail")
        .to_string()
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash to verify against when the user does not exist, so that an unknown address takes as
/// long to reject as a wrong password (no user enumeration by timing).
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("not a password of anyone"))
}

fn hash_token(token: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

fn new_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| Cookie::split_parse(v.to_string()).filter_map(Result::ok))
        .find(|c| c.name() == SESSION_COOKIE)
        .map(|c| c.value().to_string())
}

fn session_cookie(value: String, max_age: TimeDelta, secure: bool) -> String {
    Cookie::build((SESSION_COOKIE, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(cookie::time::Duration::seconds(max_age.num_seconds()))
        .build()
        .to_string()
}

/// The stored hash of the request's session cookie (binds things to this sign-in, e.g. an
/// OAuth authorisation in flight).
pub fn session_hash(headers: &HeaderMap) -> Option<String> {
    session_token(headers).map(|t| hash_token(&t))
}

/// Who a request belongs to.
pub enum Auth {
    User(User),
    Expired,
    Anonymous,
}

pub async fn authenticate(store: &Store, headers: &HeaderMap) -> Result<Auth, AppError> {
    let Some(token) = session_token(headers) else { return Ok(Auth::Anonymous) };
    Ok(match store.session(&hash_token(&token), Utc::now()).await? {
        SessionLookup::Valid(user) => Auth::User(user),
        SessionLookup::Expired => Auth::Expired,
        SessionLookup::Unknown => Auth::Anonymous,
    })
}

/// The signed-in user of the current server-function call or page render.
pub async fn current_user() -> Result<User, AppError> {
    let parts = leptos::prelude::use_context::<http::request::Parts>().ok_or(AppError::Internal)?;
    // Pages: the HTTP guard has already authenticated this request (server/src/guard.rs).
    if let Some(user) = parts.extensions.get::<User>() {
        return Ok(user.clone());
    }
    let state = app_state()?;
    match authenticate(&state.store, &parts.headers).await? {
        Auth::User(u) => Ok(u),
        Auth::Expired => Err(AppError::SessionExpired),
        Auth::Anonymous => Err(AppError::NotSignedIn),
    }
}

/// A local path to go to after sign-in; anything else (other hosts, `//evil`) goes to the calendar.
pub fn safe_next(next: Option<&str>) -> String {
    match next.map(str::trim) {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.starts_with("/\\") && !p.contains(['\r', '\n']) => p.to_string(),
        _ => "/calendar".to_string(),
    }
}

async fn client_ip() -> String {
    match leptos_axum::extract::<axum::extract::ConnectInfo<std::net::SocketAddr>>().await {
        Ok(axum::extract::ConnectInfo(addr)) => addr.ip().to_string(),
        Err(_) => "unknown".to_string(),
    }
}

pub async fn sign_in(email: &str, password: &str) -> Result<(), AppError> {
    let email = email.trim().to_lowercase();
    if email.is_empty() || password.is_empty() {
        return Err(AppError::Invalid("Enter your e-mail address and password.".into()));
    }
    if email.len() > 254 || password.len() > 1024 {
        return Err(AppError::InvalidCredentials);
    }
    let AppState { store, secure_cookies, .. } = app_state()?;
    let now = Utc::now();
    let since = now - TimeDelta::minutes(FAILURE_WINDOW_MINUTES);
    let (email_key, ip_key) = (format!("email:{email}"), format!("ip:{}", client_ip().await));
    if store.login_failures_since(&email_key, since).await? >= MAX_FAILURES_PER_EMAIL
        || store.login_failures_since(&ip_key, since).await? >= MAX_FAILURES_PER_IP
    {
        tracing::warn!("sign-in rate limit reached");
        return Err(AppError::RateLimited);
    }

    let found = store.user_for_sign_in(&email).await?;
    let phc = found.as_ref().map(|(_, h)| h.clone()).unwrap_or_else(|| dummy_hash().to_string());
    let password = password.to_string();
    // argon2 is CPU-heavy by design: keep it off the async workers.
    let ok = tokio_blocking(move || verify_password(&password, &phc)).await?;
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
    if let Some(res) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        let cookie = session_cookie(token, TimeDelta::seconds(store::SESSION_LIFETIME_SECS), secure_cookies);
        res.append_header(http::header::SET_COOKIE, http::HeaderValue::from_str(&cookie).map_err(|_| AppError::Internal)?);
    }
    Ok(())
}

pub async fn sign_out() -> Result<(), AppError> {
    let AppState { store, secure_cookies, .. } = app_state()?;
    if let Some(parts) = leptos::prelude::use_context::<http::request::Parts>() {
        if let Some(token) = session_token(&parts.headers) {
            store.delete_session(&hash_token(&token)).await?;
        }
    }
    if let Some(res) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        let cookie = session_cookie(String::new(), TimeDelta::zero(), secure_cookies);
        res.append_header(http::header::SET_COOKIE, http::HeaderValue::from_str(&cookie).map_err(|_| AppError::Internal)?);
    }
    Ok(())
}

async fn tokio_blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
    tokio::task::spawn_blocking(f).await.map_err(|_| AppError::Internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("s3cret");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("s3cret", &h));
        assert!(!verify_password("S3cret", &h));
        assert!(!verify_password("s3cret", "not a hash"));
    }

    #[test]
    fn next_path_stays_on_site() {
        assert_eq!(safe_next(Some("/calendar?view=day&date=2026-11-26")), "/calendar?view=day&date=2026-11-26");
        assert_eq!(safe_next(Some("//evil.example/x")), "/calendar");
        assert_eq!(safe_next(Some("https://evil.example")), "/calendar");
        assert_eq!(safe_next(Some("/\\evil.example")), "/calendar");
        assert_eq!(safe_next(None), "/calendar");
    }

    #[test]
    fn session_cookie_is_http_only_and_read_back() {
        let c = session_cookie("abc".into(), TimeDelta::days(1), true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Secure") && c.contains("Path=/"));
        let mut headers = HeaderMap::new();
        headers.insert(http::header::COOKIE, "other=1; crmcal_session=abc".parse().unwrap());
        assert_eq!(session_token(&headers).as_deref(), Some("abc"));
        assert_ne!(hash_token("abc"), "abc");
    }
}
