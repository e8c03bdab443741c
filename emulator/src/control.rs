//! The control API (`/_emulator/…`, JSON) for tests and the demo; documented in README.md.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::model::{Fault, FaultKind, Mailbox, ModelError, Provider, Response as Answer, Send};
use crate::Emulator;

pub fn router() -> Router<Emulator> {
    Router::new()
        .route("/mailboxes", post(add_mailbox).get(list_mailboxes))
        .route("/mailboxes/{email}/events", get(mailbox_events))
        .route("/mailboxes/{email}/password", put(set_password))
        .route("/mailboxes/{email}/events/{id}/replies", post(reply))
        .route("/tokens", post(tokens))
        .route("/outbox", get(outbox).delete(clear_outbox))
        .route("/faults", post(add_fault).delete(clear_faults).get(list_faults))
        .route("/subscriptions", get(subscriptions))
        .route("/grants", get(grants))
        .route("/reset", post(reset))
}

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, Json(json!({ "error": message.to_string() }))).into_response()
}

fn model_error(e: ModelError) -> Response {
    let status = match e {
        ModelError::NoMailbox(_) | ModelError::NotFound => StatusCode::NOT_FOUND,
        ModelError::MailboxExists(_) | ModelError::Duplicate => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    };
    error(status, e)
}

#[derive(Deserialize)]
struct NewMailbox {
    email: String,
    display_name: Option<String>,
    provider: Provider,
    password: Option<String>,
    time_zone: Option<String>,
    #[serde(default)]
    can_impersonate: bool,
}

async fn add_mailbox(State(emu): State<Emulator>, Json(m): Json<NewMailbox>) -> Response {
    let display_name = m.display_name.unwrap_or_else(|| m.email.split('@').next().unwrap_or_default().to_string());
    let mb = Mailbox {
        email: m.email,
        display_name,
        provider: m.provider,
        password: m.password,
        time_zone: m.time_zone.unwrap_or_else(|| "UTC".into()),
        can_impersonate: m.can_impersonate,
        uid: String::new(),
    };
    match emu.with_state(|s| s.add_mailbox(mb)) {
        Ok(mb) => (StatusCode::CREATED, Json(public_mailbox(&mb))).into_response(),
        Err(e) => model_error(e),
    }
}

fn public_mailbox(mb: &Mailbox) -> serde_json::Value {
    json!({
        "email": mb.email, "display_name": mb.display_name, "provider": mb.provider,
        "time_zone": mb.time_zone, "can_impersonate": mb.can_impersonate, "id": mb.uid,
    })
}

async fn list_mailboxes(State(emu): State<Emulator>) -> Json<Vec<serde_json::Value>> {
    Json(emu.with_state(|s| s.mailboxes.values().map(public_mailbox).collect()))
}

async fn mailbox_events(State(emu): State<Emulator>, Path(email): Path<String>) -> Response {
    emu.with_state(|s| match s.calendar(&email) {
        Ok(cal) => Json(json!({ "events": cal.events.values().collect::<Vec<_>>(), "seq": cal.seq })).into_response(),
        Err(e) => model_error(e),
    })
}

#[derive(Deserialize)]
struct Reply {
    attendee: String,
    response: Answer,
}

/// An attendee's reply to the invitation reaches the organiser's calendar (as the providers
/// record replies: the attendee's response on the organiser's event, which changes and syncs).
async fn reply(State(emu): State<Emulator>, Path((email, id)): Path<(String, String)>, Json(r): Json<Reply>) -> Response {
    let attendee = r.attendee.trim().to_ascii_lowercase();
    let result = emu.with_state(|s| {
        s.update_event(&email, &id, None, Send::None, |ev| {
            let a = ev.fields.attendees.iter_mut().find(|a| a.email.eq_ignore_ascii_case(&attendee)).ok_or(ModelError::NotFound)?;
            a.response = r.response;
            Ok(())
        })
    });
    match result {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => model_error(e),
    }
}

#[derive(Deserialize)]
struct NewPassword {
    password: String,
}

/// The mailbox's password changes (an administrator changed it on the server).
async fn set_password(State(emu): State<Emulator>, Path(email): Path<String>, Json(p): Json<NewPassword>) -> Response {
    let key = email.trim().to_ascii_lowercase();
    match emu.with_state(|s| s.mailboxes.get_mut(&key).map(|m| m.password = Some(p.password))) {
        Some(()) => StatusCode::NO_CONTENT.into_response(),
        None => model_error(ModelError::NoMailbox(email)),
    }
}

#[derive(Deserialize)]
struct TokenRequest {
    email: String,
    provider: Provider,
}

async fn tokens(State(emu): State<Emulator>, Json(t): Json<TokenRequest>) -> Response {
    let lifetime = emu.config().token_lifetime;
    match emu.with_state(|s| s.issue_tokens(&t.email, t.provider, lifetime)) {
        Ok(tokens) => Json(tokens).into_response(),
        Err(e) => model_error(e),
    }
}

#[derive(Deserialize)]
struct OutboxQuery {
    to: Option<String>,
    provider: Option<Provider>,
}

async fn outbox(State(emu): State<Emulator>, Query(q): Query<OutboxQuery>) -> Json<serde_json::Value> {
    let messages = emu.with_state(|s| {
        s.outbox
            .iter()
            .filter(|m| q.to.as_deref().is_none_or(|to| m.to.eq_ignore_ascii_case(to)))
            .filter(|m| q.provider.is_none_or(|p| m.provider == p))
            .cloned()
            .collect::<Vec<_>>()
    });
    Json(json!({ "messages": messages }))
}

async fn clear_outbox(State(emu): State<Emulator>) -> StatusCode {
    emu.with_state(|s| s.outbox.clear());
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct FaultRequest {
    provider: Provider,
    #[serde(flatten)]
    kind: FaultRequestKind,
    /// How many calls the fault applies to (default 1).
    count: Option<u32>,
    /// Only calls of this operation (see `model::Fault::only`).
    only: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum FaultRequestKind {
    Status { status: u16 },
    Throttle { retry_after_ms: Option<u64> },
    Timeout { ms: Option<u64> },
    Drop,
    LostAnswer,
    /// Expires every sync cursor and page token issued so far (Google 410, Graph 410,
    /// EWS ErrorInvalidSyncStateData on their next use).
    ExpiredCursor,
}

async fn add_fault(State(emu): State<Emulator>, Json(f): Json<FaultRequest>) -> Response {
    let count = f.count.unwrap_or(1);
    let kind = match f.kind {
        FaultRequestKind::Status { status } if (400..600).contains(&status) => FaultKind::Status { status },
        FaultRequestKind::Status { status } => return error(StatusCode::BAD_REQUEST, format!("status {status} is not an error status")),
        FaultRequestKind::Throttle { retry_after_ms } => FaultKind::Throttle { retry_after_ms: retry_after_ms.unwrap_or(1000) },
        FaultRequestKind::Timeout { ms } => FaultKind::Timeout { ms: ms.unwrap_or(30_000) },
        FaultRequestKind::Drop => FaultKind::Drop,
        FaultRequestKind::LostAnswer => FaultKind::LostAnswer,
        FaultRequestKind::ExpiredCursor => {
            let n = emu.with_state(|s| s.expire_cursors(f.provider));
            return Json(json!({ "expired_cursors": n })).into_response();
        }
    };
    emu.with_state(|s| s.faults.push(Fault { provider: f.provider, kind, remaining: count, only: f.only }));
    StatusCode::CREATED.into_response()
}

async fn list_faults(State(emu): State<Emulator>) -> Json<Vec<Fault>> {
    Json(emu.with_state(|s| s.faults.clone()))
}

async fn clear_faults(State(emu): State<Emulator>) -> StatusCode {
    emu.with_state(|s| s.faults.clear());
    StatusCode::NO_CONTENT
}

async fn subscriptions(State(emu): State<Emulator>) -> Json<serde_json::Value> {
    Json(json!({ "subscriptions": emu.with_state(|s| s.subscriptions.values().cloned().collect::<Vec<_>>()) }))
}

/// The OAuth grants alive (a refresh token not revoked): who gave the CRM access, where.
async fn grants(State(emu): State<Emulator>) -> Json<serde_json::Value> {
    let mut grants: Vec<serde_json::Value> = emu.with_state(|s| s.refresh_tokens.values().map(|(email, provider)| json!({ "email": email, "provider": provider })).collect());
    grants.sort_by_key(|g| g.to_string());
    Json(json!({ "grants": grants }))
}

async fn reset(State(emu): State<Emulator>) -> StatusCode {
    emu.with_state(|s| s.reset());
    StatusCode::NO_CONTENT
}
