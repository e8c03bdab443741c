//! Google's and Microsoft's OAuth 2.0 servers, as far as a calendar client meets them:
//! an authorisation page where the mailbox owner signs in and allows or denies, a token
//! endpoint for the authorisation code (PKCE checked, codes single-use and short-lived) and
//! for refresh tokens (Microsoft rotates them, Google does not), and Google's revoke endpoint.
//!
//! Any client id is accepted (there is no app registration here), but a code is only good for
//! the client id and redirect URI it was issued to.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use chrono::{Duration, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::model::{random_token, AuthCode, Provider};
use crate::Emulator;

pub fn google_router() -> Router<Emulator> {
    Router::new()
        .route("/google/o/oauth2/v2/auth", get(google_page).post(google_decide))
        .route("/google/token", post(google_token))
        .route("/google/revoke", post(google_revoke))
}

pub fn microsoft_router() -> Router<Emulator> {
    Router::new()
        .route("/microsoft/{tenant}/oauth2/v2.0/authorize", get(microsoft_page).post(microsoft_decide))
        .route("/microsoft/{tenant}/oauth2/v2.0/token", post(microsoft_token))
}

type Params = HashMap<String, String>;

// ---- authorisation page ----------------------------------------------------------------------

async fn google_page(Query(q): Query<Params>) -> Response {
    page(Provider::Google, "/google/o/oauth2/v2/auth", &q)
}

async fn microsoft_page(Path(tenant): Path<String>, Query(q): Query<Params>) -> Response {
    page(Provider::Graph, &format!("/microsoft/{tenant}/oauth2/v2.0/authorize"), &q)
}

async fn google_decide(State(emu): State<Emulator>, Form(f): Form<Params>) -> Response {
    decide(&emu, Provider::Google, f)
}

async fn microsoft_decide(State(emu): State<Emulator>, Path(_tenant): Path<String>, Form(f): Form<Params>) -> Response {
    decide(&emu, Provider::Graph, f)
}

/// The parameters a client must send to the authorisation endpoint; checked before the page
/// is shown, because a broken request must not reach the user's consent.
fn check_request(q: &Params) -> Result<url::Url, String> {
    if q.get("response_type").map(String::as_str) != Some("code") {
        return Err("response_type must be code".into());
    }
    if q.get("client_id").is_none_or(|c| c.is_empty()) {
        return Err("client_id is missing".into());
    }
    let redirect = q.get("redirect_uri").ok_or("redirect_uri is missing")?;
    let redirect = url::Url::parse(redirect).map_err(|e| format!("redirect_uri: {e}"))?;
    if let Some(method) = q.get("code_challenge_method") {
        if method != "S256" && method != "plain" {
            return Err("code_challenge_method must be S256 or plain".into());
        }
    }
    Ok(redirect)
}

fn page(provider: Provider, action: &str, q: &Params) -> Response {
    if let Err(e) = check_request(q) {
        return (StatusCode::BAD_REQUEST, Html(format!("<!doctype html><title>Error</title><p>Invalid request: {}</p>", esc(&e)))).into_response();
    }
    let brand = match provider {
        Provider::Google => "Google (emulated)",
        _ => "Microsoft (emulated)",
    };
    let hidden: String = q
        .iter()
        .map(|(k, v)| format!(r#"<input type="hidden" name="{}" value="{}">"#, esc(k), esc(v)))
        .collect();
    let hint = q.get("login_hint").map(|h| esc(h)).unwrap_or_default();
    let scope = q.get("scope").map(|s| esc(s)).unwrap_or_default();
    Html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in – {brand}</title></head>
<body><main><h1>Sign in – {brand}</h1>
<p>An application asks for access to your calendar: <code>{scope}</code></p>
<form method="post" action="{action}">{hidden}
<label>E-mail <input name="email" type="email" value="{hint}" required autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button name="decision" value="allow">Allow</button>
<button name="decision" value="deny" formnovalidate>Deny</button>
</form></main></body></html>"#
    ))
    .into_response()
}

fn decide(emu: &Emulator, provider: Provider, f: Params) -> Response {
    let redirect = match check_request(&f) {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
    };
    let state = f.get("state").cloned();
    let back = |pairs: &[(&str, &str)]| {
        let mut url = redirect.clone();
        {
            let mut qp = url.query_pairs_mut();
            for (k, v) in pairs {
                qp.append_pair(k, v);
            }
            if let Some(s) = &state {
                qp.append_pair("state", s);
            }
        }
        Redirect::to(url.as_str()).into_response()
    };
    if f.get("decision").map(String::as_str) != Some("allow") {
        return back(&[("error", "access_denied"), ("error_description", "The user denied access.")]);
    }
    let email = f.get("email").map(|e| e.trim().to_ascii_lowercase()).unwrap_or_default();
    let password = f.get("password").cloned().unwrap_or_default();
    let code = emu.with_state(|s| {
        let mb = s.mailbox(&email).filter(|m| m.provider == provider)?;
        // Mailboxes made without a password sign in with any (demo convenience).
        if mb.password.as_deref().is_some_and(|p| p != password) {
            return None;
        }
        let code = random_token(32);
        s.auth_codes.insert(
            code.clone(),
            AuthCode {
                email: mb.email.clone(),
                provider,
                client_id: f.get("client_id").cloned().unwrap_or_default(),
                redirect_uri: f.get("redirect_uri").cloned().unwrap_or_default(),
                code_challenge: f.get("code_challenge").cloned(),
                code_challenge_method: f.get("code_challenge_method").cloned(),
                scope: f.get("scope").cloned().unwrap_or_default(),
                expires: Utc::now() + Duration::minutes(10),
            },
        );
        Some(code)
    });
    match code {
        Some(code) => back(&[("code", &code), ("scope", f.get("scope").map(String::as_str).unwrap_or(""))]),
        None => (StatusCode::UNAUTHORIZED, Html("<!doctype html><title>Sign-in failed</title><p>Wrong e-mail or password.</p>")).into_response(),
    }
}

// ---- token endpoint --------------------------------------------------------------------------

/// Client id from the form or from HTTP Basic client authentication.
fn client_id(headers: &HeaderMap, form: &Params) -> Option<String> {
    if let Some(id) = form.get("client_id") {
        return Some(id.clone());
    }
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = auth.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let id = text.split(':').next()?;
    Some(form_urlencoded::parse(format!("x={id}").as_bytes()).next()?.1.into_owned())
}

enum TokenError {
    InvalidGrant(&'static str, u32),
    InvalidRequest(&'static str),
    UnsupportedGrant,
}

fn token_exchange(emu: &Emulator, provider: Provider, headers: &HeaderMap, f: &Params) -> Result<serde_json::Value, TokenError> {
    let lifetime = emu.config().token_lifetime;
    match f.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let code = f.get("code").ok_or(TokenError::InvalidRequest("code is missing"))?;
            let client = client_id(headers, f).ok_or(TokenError::InvalidRequest("client_id is missing"))?;
            emu.with_state(|s| {
                // Single use: the code is gone whatever happens next.
                let grant = s.auth_codes.remove(code).ok_or(TokenError::InvalidGrant("The code is unknown or was already used.", 70000))?;
                if grant.provider != provider || grant.expires < Utc::now() {
                    return Err(TokenError::InvalidGrant("The code has expired.", 70008));
                }
                if grant.client_id != client || f.get("redirect_uri") != Some(&grant.redirect_uri) {
                    return Err(TokenError::InvalidGrant("The code was issued to another client or redirect URI.", 50148));
                }
                if let Some(challenge) = &grant.code_challenge {
                    let verifier = f.get("code_verifier").ok_or(TokenError::InvalidGrant("code_verifier is missing.", 50148))?;
                    let computed = match grant.code_challenge_method.as_deref() {
                        Some("plain") => verifier.clone(),
                        _ => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
                    };
                    if &computed != challenge {
                        return Err(TokenError::InvalidGrant("The code_verifier does not match the code_challenge.", 501481));
                    }
                }
                let tokens = s
                    .issue_tokens(&grant.email, provider, lifetime)
                    .map_err(|_| TokenError::InvalidGrant("The mailbox is gone.", 50034))?;
                Ok(json!({
                    "access_token": tokens.access_token, "refresh_token": tokens.refresh_token,
                    "expires_in": tokens.expires_in, "token_type": "Bearer", "scope": grant.scope,
                }))
            })
        }
        Some("refresh_token") => {
            let refresh = f.get("refresh_token").ok_or(TokenError::InvalidRequest("refresh_token is missing"))?;
            let rotate = provider == Provider::Graph && emu.config().microsoft_rotates_refresh_tokens;
            let tokens = emu
                .with_state(|s| s.refresh(provider, refresh, rotate, lifetime))
                .ok_or(TokenError::InvalidGrant("The refresh token has expired or been revoked.", 70008))?;
            let mut body = json!({
                "access_token": tokens.access_token, "expires_in": tokens.expires_in, "token_type": "Bearer",
                "scope": f.get("scope").cloned().unwrap_or_default(),
            });
            if rotate {
                body["refresh_token"] = json!(tokens.refresh_token);
            }
            Ok(body)
        }
        _ => Err(TokenError::UnsupportedGrant),
    }
}

async fn google_token(State(emu): State<Emulator>, headers: HeaderMap, Form(f): Form<Params>) -> Response {
    match token_exchange(&emu, Provider::Google, &headers, &f) {
        Ok(body) => no_store(Json(body)),
        Err(TokenError::InvalidGrant(msg, _)) => token_error("invalid_grant", msg, None),
        Err(TokenError::InvalidRequest(msg)) => token_error("invalid_request", msg, None),
        Err(TokenError::UnsupportedGrant) => token_error("unsupported_grant_type", "Invalid grant_type.", None),
    }
}

async fn microsoft_token(State(emu): State<Emulator>, Path(_tenant): Path<String>, headers: HeaderMap, Form(f): Form<Params>) -> Response {
    match token_exchange(&emu, Provider::Graph, &headers, &f) {
        Ok(body) => no_store(Json(body)),
        Err(TokenError::InvalidGrant(msg, code)) => token_error("invalid_grant", &format!("AADSTS{code}: {msg}"), Some(code)),
        Err(TokenError::InvalidRequest(msg)) => token_error("invalid_request", &format!("AADSTS900144: {msg}"), Some(900144)),
        Err(TokenError::UnsupportedGrant) => token_error("unsupported_grant_type", "AADSTS70003: unsupported grant type", Some(70003)),
    }
}

fn no_store(body: impl IntoResponse) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], body).into_response()
}

fn token_error(error: &str, description: &str, code: Option<u32>) -> Response {
    let mut body = json!({ "error": error, "error_description": description });
    if let Some(code) = code {
        body["error_codes"] = json!([code]);
    }
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

async fn google_revoke(State(emu): State<Emulator>, Query(q): Query<Params>, body: axum::body::Bytes) -> Response {
    // The token comes as a form field or a query parameter.
    let token = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .or_else(|| q.get("token").cloned());
    match token {
        Some(t) if emu.with_state(|s| s.revoke(&t)) => StatusCode::OK.into_response(),
        _ => (StatusCode::BAD_REQUEST, Json(json!({ "error": "invalid_token", "error_description": "Token expired or revoked" }))).into_response(),
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
