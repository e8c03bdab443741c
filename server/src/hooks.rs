//! Push notification endpoints (F-X-2): `/hooks/google`, `/hooks/graph`, `/hooks/ews`. Each
//! parses its provider's format, lets the engine check what can be checked (our subscription
//! id; Google's channel token, Graph's clientState) and queue an incremental sync, and answers
//! the way the provider expects. Nothing here trusts the body beyond "something changed":
//! the sync reads the changes itself.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use providers::ProviderKind;
use sync::{Engine, Heard};

/// Notification bodies are small; anything bigger is not one.
const MAX_BODY: usize = 256 * 1024;

pub fn router(engine: Engine) -> Router {
    Router::new()
        .route("/hooks/google", post(google))
        .route("/hooks/graph", post(graph))
        .route("/hooks/ews", post(ews))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(engine)
}

/// Google: headers only. 200 for ours (also the first `sync` message); 404 for an unknown
/// channel, which Google treats as a reason to stop sending.
async fn google(State(engine): State<Engine>, headers: HeaderMap) -> Response {
    let n = match providers::google::parse_notification(&headers) {
        Ok(n) => n,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    answer(engine.heard(ProviderKind::Google, &n).await)
}

/// Graph: a subscription is created only after this endpoint echoes the validation token
/// (plain text, within seconds); notifications are answered 202.
async fn graph(State(engine): State<Engine>, RawQuery(query): RawQuery, body: Bytes) -> Response {
    if let Some(token) = query.as_deref().and_then(providers::graph::validation_token) {
        return ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], token).into_response();
    }
    let notes = match providers::graph::parse_notifications(&body) {
        Ok(n) => n,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    for n in &notes {
        if let Err(e) = engine.heard(ProviderKind::Graph, n).await {
            tracing::warn!(error = %e, "could not queue a sync for a Graph notification");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    }
    StatusCode::ACCEPTED.into_response()
}

/// EWS: a SOAP SendNotification; the SOAP answer says whether to keep the subscription (an
/// unknown one is ended).
async fn ews(State(engine): State<Engine>, body: Bytes) -> Response {
    let notes = match providers::ews::parse_notification(&body) {
        Ok(n) => n,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let mut keep = !notes.is_empty();
    for n in &notes {
        match engine.heard(ProviderKind::Ews, n).await {
            Ok(Heard::Accepted) => {}
            Ok(_) => keep = false,
            Err(e) => {
                tracing::warn!(error = %e, "could not queue a sync for an EWS notification");
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
        }
    }
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], providers::ews::notification_answer(keep)).into_response()
}

fn answer(heard: Result<Heard, store::StoreError>) -> Response {
    match heard {
        Ok(Heard::Accepted) => StatusCode::OK.into_response(),
        Ok(Heard::Unknown) => StatusCode::NOT_FOUND.into_response(),
        Ok(Heard::Refused) => StatusCode::FORBIDDEN.into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "could not queue a sync for a notification");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
