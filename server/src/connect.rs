//! Connecting a Google or Microsoft 365 calendar through OAuth (F-ADM-3, F-ADM-4, F-ADM-10):
//! `GET /connect/{google|microsoft}` starts an authorisation code + PKCE flow bound to the
//! signed-in session; the provider sends the browser back to `/connect/{…}/callback`, where
//! the state is checked (one use, ten minutes, same session, same user), the code exchanged,
//! and the connection made through the engine (validated, tokens sealed, first sync queued).
//! A denied consent or a failed exchange ends on a page that says so; nothing is stored.

use app::state::AppState;
use axum::extract::{Extension, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use http::StatusCode;
use serde::Deserialize;
use sessions::session_hash;
use store::{OAuthFlow, User};
use sync::connections::{Credentials, OAuthProvider};

/// An authorisation must come back within this.
const FLOW_LIFETIME: chrono::Duration = chrono::Duration::minutes(10);

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

fn name(p: OAuthProvider) -> &'static str {
    match p {
        OAuthProvider::Google => "Google",
        OAuthProvider::Graph => "Microsoft 365",
    }
}

/// A small page for the outcomes that do not go back to the calendar.
fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    (
        status,
        Html(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} · CRM Calendar</title>\
             <link rel=\"stylesheet\" href=\"/pkg/crmcal.css\"></head><body><main class=\"page-error\" role=\"alert\">\
             <h1>{}</h1><p>{}</p><a href=\"/calendar\">Back to the calendar</a></main></body></html>",
            esc(title),
            esc(title),
            esc(text)
        )),
    )
        .into_response()
}

/// (The guard has signed the user in.)
async fn start(State(state): State<AppState>, Path(segment): Path<String>, Extension(user): Extension<User>, headers: HeaderMap) -> Response {
    let Some(p) = provider(&segment) else { return page(StatusCode::NOT_FOUND, "Page not found", "There is no such calendar provider.") };
    let conns = state.sync.connections();
    let Some(cfg) = conns.endpoints().oauth(p).cloned() else {
        return page(StatusCode::NOT_FOUND, "Not set up", &format!("This server is not registered with {} (ask the administrator to configure it).", name(p)));
    };
    let cfg = providers::oauth::OAuthConfig { extra_params: [cfg.extra_params.clone(), vec![("login_hint".into(), user.email.clone())]].concat(), ..cfg };
    let auth = match providers::oauth::authorize(&cfg) {
        Ok(a) => a,
        Err(e) => return page(StatusCode::INTERNAL_SERVER_ERROR, "Cannot connect", &e.to_string()),
    };
    let flow = OAuthFlow {
        state: auth.state.clone(),
        tenant_id: user.tenant_id.clone(),
        user_id: user.id.clone(),
        session_hash: session_hash(&headers).unwrap_or_default(),
        provider: p.kind().as_str().into(),
        verifier_sealed: conns.keyring().seal(&auth.pkce_verifier),
        created_at: Utc::now(),
    };
    if let Err(e) = state.store.create_oauth_flow(&flow).await {
        tracing::error!(error = %e, "could not store the OAuth authorisation");
        return page(StatusCode::SERVICE_UNAVAILABLE, "Not available", "The database is not available. Please try again shortly.");
    }
    Redirect::to(&auth.url).into_response()
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn callback(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    Query(q): Query<Callback>,
    Extension(user): Extension<User>,
    headers: HeaderMap,
) -> Response {
    let Some(p) = provider(&segment) else { return page(StatusCode::NOT_FOUND, "Page not found", "There is no such calendar provider.") };
    let flow = match q.state.as_deref() {
        Some(s) => state.store.take_oauth_flow(s).await.ok().flatten(),
        None => None,
    };
    let session = session_hash(&headers).unwrap_or_default();
    let Some(flow) = flow.filter(|f| {
        f.user_id == user.id && f.tenant_id == user.tenant_id && f.session_hash == session && Utc::now() - f.created_at < FLOW_LIFETIME && domain::ProviderKind::parse(&f.provider).and_then(OAuthProvider::of) == Some(p)
    }) else {
        return page(StatusCode::BAD_REQUEST, "Connection not made", "This authorisation is unknown, was already used, or has expired. Start again from the calendar settings.");
    };
    if let Some(error) = q.error {
        let why = q.error_description.unwrap_or(error);
        return page(StatusCode::OK, "Connection not made", &format!("{} did not give access: {why}", name(p)));
    }
    let Some(code) = q.code else { return page(StatusCode::BAD_REQUEST, "Connection not made", "The provider sent no authorisation code.") };
    let conns = state.sync.connections();
    let (Some(cfg), Ok(verifier)) = (conns.endpoints().oauth(p).cloned(), conns.keyring().open(&flow.verifier_sealed)) else {
        return page(StatusCode::INTERNAL_SERVER_ERROR, "Connection not made", "The server's OAuth settings changed during the authorisation. Start again.");
    };
    let tokens = match providers::oauth::exchange_code(&cfg, conns.http(), &code, &verifier).await {
        Ok(t) => t,
        Err(e) => return page(StatusCode::BAD_GATEWAY, "Connection not made", &format!("{} refused the authorisation: {e}", name(p))),
    };
    match state.sync.connect(&user.tenant_id, &user.id, &user.email, Credentials::OAuth { provider: p, tokens }).await {
        Ok(_) => Redirect::to("/calendar").into_response(),
        Err(e) => page(StatusCode::BAD_GATEWAY, "Connection not made", &e.to_string()),
    }
}
