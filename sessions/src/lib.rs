//! Who a request belongs to (F-X-1): argon2id passwords, database sessions behind an HttpOnly
//! cookie, and the sign-in limits. The HTTP guard, the live-update stream, the OAuth connect
//! flow and the app's sign-in server functions all use this one implementation.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use chrono::TimeDelta;
use cookie::{Cookie, SameSite};
use http::HeaderMap;
use sha2::{Digest, Sha256};
use store::{SessionLookup, Store, StoreError, User};

pub const SESSION_COOKIE: &str = "crmcal_session";
/// Failed sign-ins allowed per e-mail address, and per client address, within the window.
pub const MAX_FAILURES_PER_EMAIL: i64 = 5;
pub const MAX_FAILURES_PER_IP: i64 = 30;
pub const FAILURE_WINDOW_MINUTES: i64 = 15;
/// Longest e-mail address and password a sign-in looks at (anything longer cannot match).
pub const MAX_EMAIL_LEN: usize = 254;
pub const MAX_PASSWORD_LEN: usize = 1024;

pub fn hash_password(password: &str) -> String {
    Argon2::default()
        .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
        .expect("argon2 hashing with default parameters cannot fail")
        .to_string()
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash to verify against when the user does not exist, so that an unknown address takes as
/// long to reject as a wrong password (no user enumeration by timing).
pub fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("not a password of anyone"))
}

/// What the database keeps of a session token: its SHA-256 (a stolen table opens nothing).
pub fn hash_token(token: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// A new session token: 256 random bits.
pub fn new_token() -> String {
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

/// The `Set-Cookie` value for a session (an empty value with zero age signs out).
pub fn session_cookie(value: String, max_age: TimeDelta, secure: bool) -> String {
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
/// OAuth authorisation in flight, or signs it out).
pub fn session_hash(headers: &HeaderMap) -> Option<String> {
    session_token(headers).map(|t| hash_token(&t))
}

/// Who a request belongs to.
#[derive(Clone, Debug)]
pub enum Auth {
    User(User),
    Expired,
    Anonymous,
}

pub async fn authenticate(store: &Store, headers: &HeaderMap) -> Result<Auth, StoreError> {
    let Some(hash) = session_hash(headers) else { return Ok(Auth::Anonymous) };
    Ok(match store.session(&hash, chrono::Utc::now()).await? {
        SessionLookup::Valid(user) => Auth::User(user),
        SessionLookup::Expired => Auth::Expired,
        SessionLookup::Unknown => Auth::Anonymous,
    })
}

/// A local path to go to after sign-in; anything else (other hosts, `//evil`) goes to the calendar.
pub fn safe_next(next: Option<&str>) -> String {
    match next.map(str::trim) {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.starts_with("/\\") && !p.contains(['\r', '\n']) => p.to_string(),
        _ => "/calendar".to_string(),
    }
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
        assert_eq!(session_hash(&headers), Some(hash_token("abc")));
        assert_ne!(hash_token("abc"), "abc");
    }
}
