//! Connecting a Google or Microsoft 365 calendar through OAuth (F-ADM-3, F-ADM-4): the connect
//! widget opens `GET /connect/{google|microsoft}[?email=…]` in a pop-up, which starts an
//! authorisation code + PKCE flow bound to the signed-in session and sends the pop-up to the
//! provider's consent screen. The provider sends it back to `/connect/{…}/callback`, where the
//! state is checked (one use, ten minutes, same session, same user), the code exchanged, and
//! the connection made through the engine (validated — for Office 365, as the address the user
//! entered —, tokens sealed). The callback's page tells the widget how it went on a
//! BroadcastChannel (which survives the providers' cross-origin-opener policies, unlike
//! `window.opener`) and closes the pop-up; the engine's status event tells every open page.
//! A denied consent or a failed exchange stores nothing.

use app::i18n::Locale;
use app::state::AppState;
use axum::extract::{Extension, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use domain::audit::Actor;
use domain::Refusal;
use http::StatusCode;
use serde::Deserialize;
use sessions::session_hash;
use store::{OAuthFlow, User};
use sync::connections::{Credentials, OAuthProvider};

/// An authorisation must come back within this.
const FLOW_LIFETIME: chrono::Duration = chrono::Duration::minutes(10);
/// The channel the callback's page reports on (`app::connect` listens).
pub const CHANNEL: &str = "crmcal-connect";

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/connect/{provider}", get(start))
        .route("/connect/{provider}/callback", get(callback))
        .with_state(state)
}

fn provider(segment: &str) -> Option<OAuthProvider> {
    match segment {
        "google" => Some(OAuthProvider::Google),
        "microsoft" => Some(OAuthProvider::Graph),
        _ => None,
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The pop-up's last page: says how it went in the user's language, tells the page that
/// opened it (`{"user": id, "problem": null | Refusal}` on [`CHANNEL`]) and closes itself.
fn done(status: StatusCode, l: Locale, user_id: &str, outcome: Result<(), Refusal>) -> Response {
    let (lang, title, text, back) = app::connect::outcome_words(l, &outcome);
    let message = serde_json::json!({ "user": user_id, "problem": outcome.err() });
    // JSON inside a <script>: `<` escaped so no value can end the script element.
    let message = message.to_string().replace('<', "\\u003c");
    (
        status,
        Html(format!(
            "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title} · CRM Calendar</title><link rel=\"stylesheet\" href=\"/pkg/crmcal.css\"></head><body>\
             <main class=\"page-error\" role=\"alert\"><h1>{title}</h1><p>{text}</p><a href=\"/settings\">{back}</a></main>\
             <script>try {{ const c = new BroadcastChannel(\"{CHANNEL}\"); c.postMessage({message}); c.close(); }} catch (e) {{}} \
             window.close();</script></body></html>",
            title = esc(title),
            text = esc(&text),
            back = esc(back),
        )),
    )
        .into_response()
}

#[derive(Deserialize)]
struct Start {
    /// Office 365: the address to connect (the consent screen is asked for it, and only it is
    /// accepted).
    email: Option<String>,
}

/// (The guard has signed the user in.)
async fn start(State(state): State<AppState>, Path(segment): Path<String>, Query(q): Query<Start>, Extension(user): Extension<User>, headers: HeaderMap) -> Response {
    let l = app::lang::locale_for(Some(&user), &headers);
    let Some(p) = provider(&segment) else { return done(StatusCode::NOT_FOUND, l, &user.id, Err(Refusal::ProviderNotSetUp)) };
    match state.store.calendar_integration(&user.tenant_id).await {
        Ok(true) => {}
        Ok(false) => return done(StatusCode::CONFLICT, l, &user.id, Err(Refusal::IntegrationOff)),
        Err(e) => {
            tracing::error!(error = %e, "could not read the integration switch");
            return done(StatusCode::SERVICE_UNAVAILABLE, l, &user.id, Err(Refusal::ProviderRefused { detail: "database unavailable".into() }));
        }
    }
    let mailbox = q.email.map(|e| e.trim().to_lowercase()).unwrap_or_default();
    if !mailbox.is_empty() && (!mailbox.contains('@') || mailbox.chars().count() > app::connect::api::MAX_EMAIL) {
        return done(StatusCode::BAD_REQUEST, l, &user.id, Err(Refusal::NotAnEmail));
    }
    let conns = state.sync.connections();
    let Some(cfg) = conns.endpoints().oauth(p).cloned() else {
        return done(StatusCode::NOT_FOUND, l, &user.id, Err(Refusal::ProviderNotSetUp));
    };
    let hint = if mailbox.is_empty() { user.email.clone() } else { mailbox.clone() };
    let cfg = providers::oauth::OAuthConfig { extra_params: [cfg.extra_params.clone(), vec![("login_hint".into(), hint)]].concat(), ..cfg };
    let auth = match providers::oauth::authorize(&cfg) {
        Ok(a) => a,
        Err(e) => return done(StatusCode::INTERNAL_SERVER_ERROR, l, &user.id, Err(Refusal::ProviderRefused { detail: e.to_string() })),
    };
    let flow = OAuthFlow {
        state: auth.state.clone(),
        tenant_id: user.tenant_id.clone(),
        user_id: user.id.clone(),
        session_hash: session_hash(&headers).unwrap_or_default(),
        provider: p.kind().as_str().into(),
        verifier_sealed: conns.keyring().seal(&auth.pkce_verifier),
        created_at: Utc::now(),
        mailbox,
    };
    if let Err(e) = state.store.create_oauth_flow(&flow).await {
        tracing::error!(error = %e, "could not store the OAuth authorisation");
        return done(StatusCode::SERVICE_UNAVAILABLE, l, &user.id, Err(Refusal::ProviderRefused { detail: "database unavailable".into() }));
    }
    Redirect::to(&auth.url).into_response()
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn callback(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    Query(q): Query<Callback>,
    Extension(user): Extension<User>,
    headers: HeaderMap,
) -> Response {
    let l = app::lang::locale_for(Some(&user), &headers);
    let Some(p) = provider(&segment) else { return done(StatusCode::NOT_FOUND, l, &user.id, Err(Refusal::ProviderNotSetUp)) };
    let flow = match q.state.as_deref() {
        Some(s) => state.store.take_oauth_flow(s).await.ok().flatten(),
        None => None,
    };
    let session = session_hash(&headers).unwrap_or_default();
    let Some(flow) = flow.filter(|f| {
        f.user_id == user.id && f.tenant_id == user.tenant_id && f.session_hash == session && Utc::now() - f.created_at < FLOW_LIFETIME && domain::ProviderKind::parse(&f.provider).and_then(OAuthProvider::of) == Some(p)
    }) else {
        return done(StatusCode::BAD_REQUEST, l, &user.id, Err(Refusal::AuthorisationUnknown));
    };
    if q.error.is_some() {
        return done(StatusCode::OK, l, &user.id, Err(Refusal::ConsentDenied));
    }
    let Some(code) = q.code else { return done(StatusCode::BAD_REQUEST, l, &user.id, Err(Refusal::ConsentDenied)) };
    let conns = state.sync.connections();
    let (Some(cfg), Ok(verifier)) = (conns.endpoints().oauth(p).cloned(), conns.keyring().open(&flow.verifier_sealed)) else {
        return done(StatusCode::INTERNAL_SERVER_ERROR, l, &user.id, Err(Refusal::AuthorisationUnknown));
    };
    let tokens = match providers::oauth::exchange_code(&cfg, conns.http(), &code, &verifier).await {
        Ok(t) => t,
        Err(e) => return done(StatusCode::BAD_GATEWAY, l, &user.id, Err(Refusal::ProviderRefused { detail: e.to_string() })),
    };
    let actor = Actor::user(&user.id, &user.display_name);
    match state.sync.connect(&user.tenant_id, &user.id, &flow.mailbox, Credentials::OAuth { provider: p, tokens }, &actor).await {
        Ok(_) => done(StatusCode::OK, l, &user.id, Ok(())),
        Err(e) => {
            let refusal = app::connect::api::server::refusal(e).unwrap_or_else(|other| Refusal::ProviderRefused { detail: other.to_string() });
            done(StatusCode::OK, l, &user.id, Err(refusal))
        }
    }
}
