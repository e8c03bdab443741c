//! Google Calendar API v3 front-end, mounted at `/google/calendar/v3`.
//!
//! Paths, parameters, JSON shapes and error envelopes follow the discovery document
//! (`calendar.v3.json`, revision 20261030) closely enough for google-api-python-client to work
//! against it unchanged: `client_options={"api_endpoint": "http://127.0.0.1:PORT/google/calendar/v3/"}`
//! (the library puts `api_endpoint` in place of rootUrl + servicePath, so it must include
//! `calendar/v3/`). Checked with 2.x: list with paging and sync tokens, insert, update with
//! `If-Match` set through `request.headers`, patch, instances, delete, freeBusy, watch, stop.
//! All state lives in the shared [`crate::model::State`]; this module only translates.
//!
//! Served: `calendars/{id}`, `users/me/calendarList[/{id}]`, `calendars/{id}/events` (list,
//! insert), `…/events/{eventId}` (get, update, patch, delete), `…/events/{eventId}/instances`,
//! `…/events/watch`, `channels/stop`, `freeBusy`.
//!
//! Semantics worth knowing:
//! - Instance ids are `<masterId>_<yyyyMMddTHHmmssZ>` (all-day: `<masterId>_<yyyyMMdd>`) of the
//!   slot's original start in UTC; writes to them change or cancel that one occurrence.
//! - Etags are numeric strings in quotes, derived from the model's change key (so they change
//!   on every write); a stale `If-Match` gives 412 `conditionNotMet`.
//! - A sync token stands for the calendar's change sequence number when the listing started;
//!   the next listing with it returns exactly what changed after that (deleted events and
//!   cancelled occurrences as `status: "cancelled"`), over the whole calendar whatever window
//!   the first listing had. Expired tokens (control API) answer 410 `fullSyncRequired`.
//!   Page tokens hold a snapshot of the rest of the result, so a listing stays consistent
//!   while the calendar changes between pages.
//! - Leniencies (documented deviations): watch channels accept plain `http` addresses on
//!   loopback (the real service wants https); an unknown sync token answers 410 rather than
//!   400, so a client whose stored token outlived an emulator restart re-syncs cleanly; push
//!   notifications always carry `X-Goog-Resource-State: exists` after the first `sync`
//!   message (the watched resource, the events collection, never stops existing).
//!   With `showDeleted` and a time window, deleted events are not listed (the model keeps no
//!   times for them); cancelled occurrences are.
//! - Known over-report: after a change to one occurrence (or to the series), a sync listing
//!   with `singleEvents=true` returns every occurrence of that series again, unchanged ones
//!   included, because the model keeps one sequence number for the master and its plain
//!   occurrences. Clients see idempotent re-upserts, never a missed change.

use std::collections::BTreeMap;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::model::{
    self, Attendee, ChangeNote, Event, FaultKind, Fields, Instance, InstanceKind, Mailbox, ModelError, NewEvent,
    Override, Provider, Response as Rsvp, Send, Sensitivity, ShowAs, State, Subscription, Tombstone, When,
};
use crate::push::{self, PushRequest};
use crate::recurrence;
use crate::Emulator;

/// Page size when the client does not ask (discovery doc: default 250, at most 2500).
const DEFAULT_PAGE: usize = 250;
const MAX_PAGE: usize = 2500;
/// How far series without an end are expanded when the request has no `timeMax`.
const HORIZON_DAYS: i64 = 730;

pub fn router() -> Router<Emulator> {
    Router::new()
        .route("/calendars/{calendar_id}", get(get_calendar))
        .route("/calendars/{calendar_id}/events", get(list_events).post(insert_event))
        .route("/calendars/{calendar_id}/events/watch", post(watch))
        .route(
            "/calendars/{calendar_id}/events/{event_id}",
            get(get_event).put(update_event).patch(patch_event).delete(delete_event),
        )
        .route("/calendars/{calendar_id}/events/{event_id}/instances", get(list_instances))
        .route("/users/me/calendarList", get(calendar_list))
        .route("/users/me/calendarList/{calendar_id}", get(calendar_list_entry))
        .route("/channels/stop", post(stop_channel))
        .route("/freeBusy", post(free_busy))
        .fallback(|| async { GError::not_found().into_response() })
}

// ---- errors ------------------------------------------------------------------------------

/// Google's error envelope: `{"error":{"errors":[{domain,reason,message,…}],"code","message"}}`.
#[derive(Debug)]
pub struct GError {
    status: StatusCode,
    domain: &'static str,
    reason: &'static str,
    message: String,
    location: Option<(&'static str, String)>,
    retry_after_secs: Option<u64>,
}

impl GError {
    fn new(status: StatusCode, domain: &'static str, reason: &'static str, message: impl Into<String>) -> Self {
        Self { status, domain, reason, message: message.into(), location: None, retry_after_secs: None }
    }
    fn at(mut self, location_type: &'static str, location: impl Into<String>) -> Self {
        self.location = Some((location_type, location.into()));
        self
    }
    fn bad(reason: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "global", reason, message)
    }
    fn invalid(message: impl Into<String>) -> Self {
        Self::bad("invalid", message)
    }
    fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "global", "notFound", "Not Found")
    }
    fn deleted() -> Self {
        Self::new(StatusCode::GONE, "global", "deleted", "Resource has been deleted")
    }
    fn auth() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "global", "authError", "Invalid Credentials").at("header", "Authorization")
    }
    fn full_sync() -> Self {
        Self::new(StatusCode::GONE, "global", "fullSyncRequired", "Sync token is no longer valid, a full sync is required.")
    }
    fn condition_not_met() -> Self {
        Self::new(StatusCode::PRECONDITION_FAILED, "global", "conditionNotMet", "Precondition Failed").at("header", "If-Match")
    }
    fn parse() -> Self {
        Self::bad("parseError", "Parse Error")
    }
}

impl From<ModelError> for GError {
    fn from(e: ModelError) -> Self {
        match e {
            ModelError::NoMailbox(_) | ModelError::NotFound | ModelError::NoOccurrence => GError::not_found(),
            ModelError::OccurrenceDeleted => GError::deleted(),
            ModelError::Conflict => GError::condition_not_met(),
            ModelError::Duplicate | ModelError::MailboxExists(_) => {
                GError::new(StatusCode::CONFLICT, "global", "duplicate", "The requested identifier already exists.")
            }
            ModelError::Invalid(m) => GError::invalid(m),
        }
    }
}

impl IntoResponse for GError {
    fn into_response(self) -> Response {
        let mut detail = json!({ "domain": self.domain, "reason": self.reason, "message": self.message });
        if let Some((kind, loc)) = &self.location {
            detail["locationType"] = json!(kind);
            detail["location"] = json!(loc);
        }
        let body = json!({ "error": { "errors": [detail], "code": self.status.as_u16(), "message": self.message } });
        let mut resp = (self.status, json_body(&body)).into_response();
        let h = resp.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=UTF-8"));
        if self.status == StatusCode::UNAUTHORIZED {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"https://accounts.google.com/\""));
        }
        if let Some(secs) = self.retry_after_secs {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

type GResult<T> = Result<T, GError>;

fn json_body(v: &Value) -> Body {
    Body::from(serde_json::to_vec(v).unwrap_or_default())
}

fn ok_json(v: Value) -> Response {
    let mut resp = (StatusCode::OK, json_body(&v)).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=UTF-8"));
    resp
}

fn respond(r: GResult<Response>) -> Response {
    r.unwrap_or_else(IntoResponse::into_response)
}

/// The provider's answer for an injected error status or throttling fault.
pub fn fault_response(kind: &FaultKind) -> Response {
    let err = match *kind {
        FaultKind::Throttle { retry_after_ms } => {
            let mut e = GError::new(StatusCode::FORBIDDEN, "usageLimits", "rateLimitExceeded", "Rate Limit Exceeded");
            e.retry_after_secs = Some(retry_after_ms.div_ceil(1000));
            e
        }
        FaultKind::Status { status } => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let (domain, reason, message) = match status {
                400 => ("global", "badRequest", "Bad Request"),
                401 => ("global", "authError", "Invalid Credentials"),
                403 => ("global", "forbidden", "Forbidden"),
                404 => ("global", "notFound", "Not Found"),
                409 => ("global", "conflict", "Conflict"),
                410 => ("global", "deleted", "Resource has been deleted"),
                412 => ("global", "conditionNotMet", "Precondition Failed"),
                429 => ("usageLimits", "rateLimitExceeded", "Rate Limit Exceeded"),
                503 => ("global", "backendError", "Service unavailable. Please try again"),
                500..=599 => ("global", "backendError", "Backend Error"),
                _ => ("global", "invalid", "Invalid Value"),
            };
            GError::new(code, domain, reason, message)
        }
        // Timeouts and drops are answered by the fault layer itself.
        FaultKind::Timeout { .. } | FaultKind::Drop | FaultKind::LostAnswer => GError::new(StatusCode::INTERNAL_SERVER_ERROR, "global", "backendError", "Backend Error"),
    };
    err.into_response()
}

// ---- request plumbing ----------------------------------------------------------------------

/// Query parameters in order, repeated ones kept (`privateExtendedProperty` may repeat).
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(raw: Option<String>) -> Self {
        Self(form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned().collect())
    }
    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
    fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }
    fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    fn bool(&self, name: &str) -> GResult<Option<bool>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") || v == "1" => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") || v == "0" => Ok(Some(false)),
            Some(v) => Err(GError::invalid(format!("Invalid boolean value '{v}' for {name}.")).at("parameter", name)),
        }
    }
    fn time(&self, name: &str) -> GResult<Option<DateTime<Utc>>> {
        self.get(name).map(|v| parse_rfc3339(v).ok_or_else(|| GError::bad("badRequest", "Bad Request").at("parameter", name))).transpose()
    }
    fn send(&self) -> GResult<Send> {
        match self.get("sendUpdates") {
            Some("all") | Some("externalOnly") => Ok(Send::All),
            Some("none") => Ok(Send::None),
            Some(other) => Err(GError::invalid(format!("Invalid value for sendUpdates: {other}")).at("parameter", "sendUpdates")),
            // The deprecated switch still works when sendUpdates is absent.
            None => Ok(if self.bool("sendNotifications")? == Some(true) { Send::All } else { Send::None }),
        }
    }
    /// The zone responses are rendered in (`timeZone` parameter), if valid.
    fn zone(&self) -> Option<chrono_tz::Tz> {
        self.get("timeZone").and_then(|z| z.parse().ok())
    }
}

/// RFC 3339 with a mandatory offset. A `+` that arrived unencoded was decoded to a space:
/// put it back (curl users do this).
fn parse_rfc3339(v: &str) -> Option<DateTime<Utc>> {
    let v = v.trim().replace(' ', "+");
    DateTime::parse_from_rfc3339(&v).ok().map(|t| t.with_timezone(&Utc))
}

/// The mailbox the request's bearer token speaks for (header, or the `access_token` /
/// `oauth_token` query parameters Google also accepts).
fn authenticate(s: &State, headers: &HeaderMap, q: &Query) -> GResult<Mailbox> {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_string());
    let token = from_header.or_else(|| q.get("access_token").or_else(|| q.get("oauth_token")).map(str::to_string));
    token.and_then(|t| s.bearer(Provider::Google, &t).cloned()).ok_or_else(GError::auth)
}

/// The calendar's owner for a calendarId: `primary` or the caller's own address.
fn owner_of(me: &Mailbox, calendar_id: &str) -> GResult<String> {
    let id = calendar_id.trim();
    if id.eq_ignore_ascii_case("primary") || id.eq_ignore_ascii_case(&me.email) {
        Ok(me.email.clone())
    } else {
        Err(GError::not_found())
    }
}

fn parse_body(body: &Bytes) -> GResult<Map<String, Value>> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(GError::bad("badRequest", "The request body must be a JSON object.")),
        Err(_) => Err(GError::parse()),
    }
}

// ---- ids, etags, times ---------------------------------------------------------------------

/// A quoted numeric etag (Google's shape, e.g. `"3181161784712000"`) derived from a version key.
fn etag_of(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let mut n = [0u8; 8];
    n.copy_from_slice(&digest[..8]);
    format!("\"{}\"", 3_000_000_000_000_000u64 + u64::from_be_bytes(n) % 1_000_000_000_000_000)
}

fn instance_etag(inst: &Instance) -> String {
    match inst.kind {
        // Plain occurrences share the master's change key; tell them apart by slot.
        InstanceKind::Occurrence => etag_of(&format!("{}#{}", inst.change_key, inst.original_start.map(|t| t.timestamp()).unwrap_or(0))),
        _ => etag_of(&inst.change_key),
    }
}

/// Whether an `If-Match` header value matches `etag` (`*` matches anything; weak and
/// unquoted forms are compared by their opaque part).
fn etag_matches(header_value: &str, etag: &str) -> bool {
    let norm = |s: &str| s.trim().trim_start_matches("W/").trim_matches('"').to_string();
    header_value.split(',').any(|v| v.trim() == "*" || norm(v) == norm(etag))
}

fn if_match(headers: &HeaderMap) -> Option<String> {
    headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()).map(str::to_string)
}

fn instance_id(master: &Event, slot: DateTime<Utc>) -> String {
    if master.fields.is_all_day() {
        format!("{}_{}", master.id, slot.format("%Y%m%d"))
    } else {
        format!("{}_{}", master.id, slot.format("%Y%m%dT%H%M%SZ"))
    }
}

/// Splits an instance id into master id and slot (original start, UTC; all-day at 00:00 UTC).
fn parse_instance_id(id: &str) -> Option<(&str, DateTime<Utc>)> {
    let (master, stamp) = id.rsplit_once('_')?;
    if master.is_empty() {
        return None;
    }
    let slot = if stamp.len() == 8 {
        let d = NaiveDate::parse_from_str(stamp, "%Y%m%d").ok()?;
        recurrence::slot_key(When::Date(d))
    } else {
        let t = NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ").ok()?;
        Utc.from_utc_datetime(&t)
    };
    Some((master, slot))
}

/// Client-chosen event ids: base32hex (`0-9a-v`), 5 to 1024 characters.
fn valid_event_id(id: &str) -> bool {
    (5..=1024).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'v').contains(&b))
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

// ---- rendering -----------------------------------------------------------------------------

/// How a response renders: its zone (`timeZone` parameter) and whose calendar it is.
struct Render<'a> {
    zone: Option<chrono_tz::Tz>,
    me: &'a str,
}

impl Render<'_> {
    fn when(&self, w: When, event_tz: &str) -> Value {
        match w {
            When::Date(d) => json!({ "date": d.format("%Y-%m-%d").to_string() }),
            When::At(t) => {
                let tz = self.zone.unwrap_or_else(|| event_tz.parse().unwrap_or(chrono_tz::UTC));
                json!({ "dateTime": t.with_timezone(&tz).to_rfc3339_opts(SecondsFormat::Secs, true), "timeZone": event_tz })
            }
        }
    }

    fn original_start(&self, master: &Event, slot: DateTime<Utc>) -> Value {
        if master.fields.is_all_day() {
            json!({ "date": slot.format("%Y-%m-%d").to_string() })
        } else {
            self.when(When::At(slot), &master.fields.time_zone)
        }
    }

    fn person(&self, p: &model::Person) -> Value {
        let mut v = json!({ "email": p.email });
        if !p.name.is_empty() {
            v["displayName"] = json!(p.name);
        }
        if p.email.eq_ignore_ascii_case(self.me) {
            v["self"] = json!(true);
        }
        v
    }

    /// The common body of an event or instance.
    fn fields(&self, ev: &Event, f: &Fields, out: &mut Map<String, Value>) {
        out.insert("status".into(), json!("confirmed"));
        out.insert("created".into(), json!(stamp(ev.created)));
        out.insert("updated".into(), json!(stamp(ev.updated)));
        out.insert("summary".into(), json!(f.subject));
        if !f.body.is_empty() {
            out.insert("description".into(), json!(f.body));
        }
        if !f.location.is_empty() {
            out.insert("location".into(), json!(f.location));
        }
        out.insert("creator".into(), self.person(&ev.organizer));
        out.insert("organizer".into(), self.person(&ev.organizer));
        out.insert("start".into(), self.when(f.start, &f.time_zone));
        out.insert("end".into(), self.when(f.end, &f.time_zone));
        out.insert("iCalUID".into(), json!(ev.ical_uid));
        out.insert("sequence".into(), json!(0));
        if !f.attendees.is_empty() {
            let list: Vec<Value> = f
                .attendees
                .iter()
                .map(|a| {
                    let mut v = json!({ "email": a.email, "responseStatus": rsvp_str(a.response) });
                    if !a.name.is_empty() {
                        v["displayName"] = json!(a.name);
                    }
                    if a.optional {
                        v["optional"] = json!(true);
                    }
                    if a.email.eq_ignore_ascii_case(&ev.organizer.email) {
                        v["organizer"] = json!(true);
                    }
                    if a.email.eq_ignore_ascii_case(self.me) {
                        v["self"] = json!(true);
                    }
                    v
                })
                .collect();
            out.insert("attendees".into(), Value::Array(list));
        }
        let mut props = Map::new();
        if !ev.private_props.is_empty() {
            props.insert("private".into(), json!(ev.private_props));
        }
        if !ev.shared_props.is_empty() {
            props.insert("shared".into(), json!(ev.shared_props));
        }
        if !props.is_empty() {
            out.insert("extendedProperties".into(), Value::Object(props));
        }
        match f.sensitivity {
            Sensitivity::Private => {
                out.insert("visibility".into(), json!("private"));
            }
            Sensitivity::Confidential => {
                out.insert("visibility".into(), json!("confidential"));
            }
            Sensitivity::Normal | Sensitivity::Personal => {}
        }
        if f.show_as == ShowAs::Free {
            out.insert("transparency".into(), json!("transparent"));
        }
        out.insert("reminders".into(), json!({ "useDefault": true }));
        out.insert("eventType".into(), json!("default"));
    }

    /// A single event or series master.
    fn event(&self, ev: &Event) -> Value {
        let mut out = Map::new();
        out.insert("kind".into(), json!("calendar#event"));
        out.insert("etag".into(), json!(etag_of(&ev.change_key)));
        out.insert("id".into(), json!(ev.id));
        self.fields(ev, &ev.fields, &mut out);
        if ev.is_series() {
            out.insert("recurrence".into(), json!(ev.recurrence));
        }
        Value::Object(out)
    }

    /// One occurrence or exception of `master` (cancelled ones as Google's short form).
    fn instance(&self, master: &Event, inst: &Instance) -> Value {
        let slot = inst.original_start.unwrap_or_else(|| inst.fields.start_utc());
        if inst.cancelled {
            return self.cancelled_instance(master, slot, inst.seq);
        }
        let mut out = Map::new();
        out.insert("kind".into(), json!("calendar#event"));
        out.insert("etag".into(), json!(instance_etag(inst)));
        out.insert("id".into(), json!(instance_id(master, slot)));
        self.fields(master, &inst.fields, &mut out);
        out.insert("recurringEventId".into(), json!(master.id));
        out.insert("originalStartTime".into(), self.original_start(master, slot));
        Value::Object(out)
    }

    fn cancelled_instance(&self, master: &Event, slot: DateTime<Utc>, seq: u64) -> Value {
        json!({
            "kind": "calendar#event",
            "etag": etag_of(&format!("{}#cancelled#{seq}", master.id)),
            "id": instance_id(master, slot),
            "status": "cancelled",
            "recurringEventId": master.id,
            "originalStartTime": self.original_start(master, slot),
        })
    }

    /// A deleted event: Google guarantees only the id.
    fn tombstone(&self, t: &Tombstone) -> Value {
        json!({
            "kind": "calendar#event",
            "etag": etag_of(&format!("{}#deleted#{}", t.id, t.seq)),
            "id": t.id,
            "status": "cancelled",
        })
    }
}

fn rsvp_str(r: Rsvp) -> &'static str {
    match r {
        Rsvp::NeedsAction => "needsAction",
        Rsvp::Accepted | Rsvp::Organizer => "accepted",
        Rsvp::Tentative => "tentative",
        Rsvp::Declined => "declined",
    }
}

fn rsvp_from(s: &str) -> GResult<Rsvp> {
    match s {
        "needsAction" => Ok(Rsvp::NeedsAction),
        "accepted" => Ok(Rsvp::Accepted),
        "tentative" => Ok(Rsvp::Tentative),
        "declined" => Ok(Rsvp::Declined),
        other => Err(GError::invalid(format!("Invalid attendee responseStatus: {other}"))),
    }
}

// ---- parsing event bodies ------------------------------------------------------------------

/// What an insert/update body says about an event.
struct Parsed {
    fields: Fields,
    recurrence: Vec<String>,
    private_props: BTreeMap<String, String>,
    shared_props: BTreeMap<String, String>,
}

fn str_field<'a>(body: &'a Map<String, Value>, name: &str) -> GResult<Option<&'a str>> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(GError::invalid(format!("Invalid value for {name}: a string is expected."))),
    }
}

/// `EventDateTime` → (instant or date, the zone named in it).
fn parse_when(v: Option<&Value>, which: &str) -> GResult<(When, Option<String>)> {
    let Some(Value::Object(o)) = v else {
        return Err(GError::bad("required", format!("Missing {which} time.")));
    };
    let zone = match o.get("timeZone") {
        Some(Value::String(z)) if !z.is_empty() => {
            if z.parse::<chrono_tz::Tz>().is_err() {
                return Err(GError::invalid(format!("Invalid time zone definition for {which} time.")));
            }
            Some(z.clone())
        }
        _ => None,
    };
    if let Some(Value::String(d)) = o.get("date") {
        let date = NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| GError::invalid(format!("Invalid {which} time.")))?;
        return Ok((When::Date(date), zone));
    }
    let Some(Value::String(dt)) = o.get("dateTime") else {
        return Err(GError::bad("required", format!("Missing {which} time.")));
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(dt) {
        return Ok((When::At(t.with_timezone(&Utc)), zone));
    }
    // No offset: the time is local to `timeZone`, which then must be there.
    let local = NaiveDateTime::parse_from_str(dt, "%Y-%m-%dT%H:%M:%S%.f").map_err(|_| GError::invalid(format!("Invalid {which} time.")))?;
    let Some(z) = &zone else {
        return Err(GError::bad("required", format!("Missing time zone definition for {which} time.")));
    };
    let tz: chrono_tz::Tz = z.parse().map_err(|_| GError::invalid(format!("Invalid time zone definition for {which} time.")))?;
    let t = tz.from_local_datetime(&local).earliest().ok_or_else(|| GError::invalid(format!("Invalid {which} time.")))?;
    Ok((When::At(t.with_timezone(&Utc)), zone))
}

fn props(v: Option<&Value>) -> GResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    if let Some(Value::Object(m)) = v {
        for (k, v) in m {
            match v {
                Value::String(s) => {
                    out.insert(k.clone(), s.clone());
                }
                Value::Null => {}
                _ => return Err(GError::invalid("Extended property values must be strings.")),
            }
        }
    }
    Ok(out)
}

/// A full event body (insert, update, or a patch merged onto the current event).
/// `previous` keeps attendees' responses when the body does not restate them.
fn parse_event(body: &Map<String, Value>, calendar_tz: &str, previous: Option<&Fields>) -> GResult<Parsed> {
    let (start, start_zone) = parse_when(body.get("start"), "start")?;
    let (end, end_zone) = parse_when(body.get("end"), "end")?;
    let recurrence: Vec<String> = match body.get("recurrence") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(lines)) => lines
            .iter()
            .map(|l| l.as_str().map(str::to_string).ok_or_else(|| GError::invalid("Invalid recurrence rule.")))
            .collect::<GResult<_>>()?,
        Some(_) => return Err(GError::invalid("Invalid recurrence rule.")),
    };
    if !recurrence.is_empty() && !start.is_date() && start_zone.is_none() {
        // Google needs the zone to expand a series (DST); it refuses without one.
        return Err(GError::bad("required", "Missing time zone definition for start time."));
    }
    if recurrence.iter().any(|l| {
        let u = l.trim().to_ascii_uppercase();
        u.starts_with("DTSTART") || u.starts_with("DTEND")
    }) {
        return Err(GError::invalid("Invalid recurrence rule."));
    }
    let time_zone = start_zone.or(end_zone).unwrap_or_else(|| calendar_tz.to_string());
    let mut attendees: Vec<Attendee> = Vec::new();
    if let Some(list) = body.get("attendees") {
        let Value::Array(list) = list else { return Err(GError::invalid("Invalid attendees.")) };
        for a in list {
            let Value::Object(a) = a else { return Err(GError::invalid("Invalid attendee.")) };
            let email = str_field(a, "email")?.map(|e| e.trim().to_ascii_lowercase()).filter(|e| !e.is_empty());
            let Some(email) = email else {
                return Err(GError::bad("required", "Missing attendee email."));
            };
            if !email.contains('@') {
                return Err(GError::invalid("Invalid attendee email."));
            }
            if attendees.iter().any(|x| x.email == email) {
                continue;
            }
            let response = match str_field(a, "responseStatus")? {
                Some(r) => rsvp_from(r)?,
                None => previous
                    .and_then(|p| p.attendees.iter().find(|x| x.email.eq_ignore_ascii_case(&email)))
                    .map(|x| x.response)
                    .unwrap_or_default(),
            };
            attendees.push(Attendee {
                email,
                name: str_field(a, "displayName")?.unwrap_or_default().to_string(),
                response,
                optional: a.get("optional").and_then(Value::as_bool).unwrap_or(false),
            });
        }
    }
    let sensitivity = match str_field(body, "visibility")? {
        None | Some("default") | Some("public") => Sensitivity::Normal,
        Some("private") => Sensitivity::Private,
        Some("confidential") => Sensitivity::Confidential,
        Some(other) => return Err(GError::invalid(format!("Invalid visibility: {other}"))),
    };
    let show_as = match str_field(body, "transparency")? {
        None | Some("opaque") => match previous.map(|p| p.show_as) {
            // Google knows only busy/free; keep a finer state another protocol set.
            Some(s @ (ShowAs::Tentative | ShowAs::Oof | ShowAs::WorkingElsewhere)) => s,
            _ => ShowAs::Busy,
        },
        Some("transparent") => ShowAs::Free,
        Some(other) => return Err(GError::invalid(format!("Invalid transparency: {other}"))),
    };
    let (private_props, shared_props) = match body.get("extendedProperties") {
        Some(Value::Object(ep)) => (props(ep.get("private"))?, props(ep.get("shared"))?),
        None | Some(Value::Null) => (BTreeMap::new(), BTreeMap::new()),
        Some(_) => return Err(GError::invalid("Invalid extendedProperties.")),
    };
    Ok(Parsed {
        fields: Fields {
            subject: str_field(body, "summary")?.unwrap_or_default().to_string(),
            body: str_field(body, "description")?.unwrap_or_default().to_string(),
            location: str_field(body, "location")?.unwrap_or_default().to_string(),
            start,
            end,
            time_zone,
            sensitivity,
            show_as,
            attendees,
        },
        recurrence,
        private_props,
        shared_props,
    })
}

/// PATCH semantics: objects merge member by member, arrays and scalars replace, `null`
/// clears. Start and end replace whole (merging `date` into `dateTime` would mean both).
fn merge(target: &mut Map<String, Value>, patch: Map<String, Value>, top: bool) {
    for (k, v) in patch {
        let whole = top && matches!(k.as_str(), "start" | "end" | "originalStartTime");
        match (target.get_mut(&k), v) {
            (_, Value::Null) => {
                target.remove(&k);
            }
            (Some(Value::Object(t)), Value::Object(p)) if !whole => merge(t, p, false),
            (_, v) => {
                target.insert(k, v);
            }
        }
    }
}

// ---- what an event id names ----------------------------------------------------------------

// Built once per request and taken apart at once: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Target {
    Event(Event),
    Deleted(Tombstone),
    Instance { master: Event, slot: DateTime<Utc>, current: Result<Instance, ModelError> },
}

fn resolve(s: &State, owner: &str, id: &str) -> GResult<Target> {
    let cal = s.calendar(owner)?;
    if let Some(ev) = cal.events.get(id) {
        return Ok(Target::Event(ev.clone()));
    }
    if let Some(t) = cal.tombstones.get(id) {
        return Ok(Target::Deleted(t.clone()));
    }
    if let Some((master_id, slot)) = parse_instance_id(id) {
        if let Some(master) = cal.events.get(master_id) {
            if master.is_series() {
                let current = recurrence::occurrence(master, slot);
                if current == Err(ModelError::NoOccurrence) {
                    return Err(GError::not_found());
                }
                return Ok(Target::Instance { master: master.clone(), slot, current });
            }
        }
        if cal.tombstones.contains_key(master_id) {
            return Err(GError::deleted());
        }
    }
    Err(GError::not_found())
}

// ---- handlers: calendars -------------------------------------------------------------------

fn calendar_json(mb: &Mailbox) -> Value {
    json!({
        "kind": "calendar#calendar",
        "etag": etag_of(&format!("calendar#{}", mb.email)),
        "id": mb.email,
        "summary": mb.display_name,
        "timeZone": mb.time_zone,
        "conferenceProperties": { "allowedConferenceSolutionTypes": ["hangoutsMeet"] },
    })
}

fn calendar_list_json(mb: &Mailbox) -> Value {
    json!({
        "kind": "calendar#calendarListEntry",
        "etag": etag_of(&format!("calendarList#{}", mb.email)),
        "id": mb.email,
        "summary": mb.display_name,
        "timeZone": mb.time_zone,
        "colorId": "14",
        "backgroundColor": "#9fe1e7",
        "foregroundColor": "#000000",
        "selected": true,
        "accessRole": "owner",
        "defaultReminders": [{ "method": "popup", "minutes": 10 }],
        "notificationSettings": { "notifications": [{ "type": "eventCreation", "method": "email" }] },
        "primary": true,
        "conferenceProperties": { "allowedConferenceSolutionTypes": ["hangoutsMeet"] },
    })
}

async fn get_calendar(AxState(emu): AxState<Emulator>, Path(cid): Path<String>, RawQuery(raw): RawQuery, headers: HeaderMap) -> Response {
    let q = Query::parse(raw);
    respond(emu.with_state(|s| {
        let me = authenticate(s, &headers, &q)?;
        owner_of(&me, &cid)?;
        Ok(ok_json(calendar_json(&me)))
    }))
}

async fn calendar_list(AxState(emu): AxState<Emulator>, RawQuery(raw): RawQuery, headers: HeaderMap) -> Response {
    let q = Query::parse(raw);
    respond(emu.with_state(|s| {
        let me = authenticate(s, &headers, &q)?;
        Ok(ok_json(json!({
            "kind": "calendar#calendarList",
            "etag": etag_of(&format!("calendarList#{}", me.email)),
            "items": [calendar_list_json(&me)],
        })))
    }))
}

async fn calendar_list_entry(AxState(emu): AxState<Emulator>, Path(cid): Path<String>, RawQuery(raw): RawQuery, headers: HeaderMap) -> Response {
    let q = Query::parse(raw);
    respond(emu.with_state(|s| {
        let me = authenticate(s, &headers, &q)?;
        owner_of(&me, &cid)?;
        Ok(ok_json(calendar_list_json(&me)))
    }))
}

// ---- handlers: listing ---------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Order {
    Stable,
    StartTime,
    Updated,
}

struct Item {
    start: DateTime<Utc>,
    updated: DateTime<Utc>,
    seq: u64,
    id: String,
    json: Value,
}

/// Filters that apply to whole events (not allowed with a sync token).
struct Filters {
    private: Vec<(String, String)>,
    shared: Vec<(String, String)>,
    ical_uid: Option<String>,
    text: Option<String>,
    updated_min: Option<DateTime<Utc>>,
}

impl Filters {
    fn from(q: &Query) -> GResult<Self> {
        let pairs = |name: &'static str| -> GResult<Vec<(String, String)>> {
            q.all(name)
                .into_iter()
                .map(|p| {
                    p.split_once('=')
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .ok_or_else(|| GError::invalid(format!("Invalid value for {name}: expected name=value.")).at("parameter", name))
                })
                .collect()
        };
        Ok(Self {
            private: pairs("privateExtendedProperty")?,
            shared: pairs("sharedExtendedProperty")?,
            ical_uid: q.get("iCalUID").map(str::to_string),
            text: q.get("q").map(|t| t.to_lowercase()).filter(|t| !t.trim().is_empty()),
            updated_min: q.time("updatedMin")?,
        })
    }

    fn event_matches(&self, ev: &Event) -> bool {
        self.private.iter().all(|(k, v)| ev.private_props.get(k) == Some(v))
            && self.shared.iter().all(|(k, v)| ev.shared_props.get(k) == Some(v))
            && self.ical_uid.as_ref().is_none_or(|u| &ev.ical_uid == u)
            && self.updated_min.is_none_or(|t| ev.updated >= t)
    }

    fn text_matches(&self, f: &Fields, organizer: &model::Person) -> bool {
        let Some(text) = &self.text else { return true };
        let mut hay = format!("{}\n{}\n{}\n{}\n{}", f.subject, f.body, f.location, organizer.email, organizer.name);
        for a in &f.attendees {
            hay.push('\n');
            hay.push_str(&a.email);
            hay.push('\n');
            hay.push_str(&a.name);
        }
        let hay = hay.to_lowercase();
        text.split_whitespace().all(|w| hay.contains(w))
    }
}

fn epoch() -> DateTime<Utc> {
    Utc.timestamp_opt(0, 0).single().unwrap_or_default()
}

/// The end of expansion for a series when the request sets no `timeMax`.
fn horizon(ev: &Event, time_max: Option<DateTime<Utc>>) -> DateTime<Utc> {
    time_max.unwrap_or_else(|| Utc::now().max(ev.fields.start_utc()) + Duration::days(HORIZON_DAYS))
}

fn instance_item(r: &Render, master: &Event, inst: &Instance) -> Item {
    Item {
        start: inst.fields.start_utc(),
        updated: master.updated,
        seq: inst.seq,
        id: instance_id(master, inst.original_start.unwrap_or_else(|| inst.fields.start_utc())),
        json: r.instance(master, inst),
    }
}

fn event_item(r: &Render, ev: &Event) -> Item {
    Item { start: ev.fields.start_utc(), updated: ev.updated, seq: ev.seq, id: ev.id.clone(), json: r.event(ev) }
}

/// A full listing (no sync token).
fn full_listing(s: &State, owner: &str, q: &Query, r: &Render, single: bool, show_deleted: bool) -> GResult<Vec<Item>> {
    let filters = Filters::from(q)?;
    let time_min = q.time("timeMin")?;
    let time_max = q.time("timeMax")?;
    if let (Some(a), Some(b)) = (time_min, time_max) {
        if b <= a {
            return Err(GError::bad("timeRangeEmpty", "The specified time range is empty.").at("parameter", "timeMax"));
        }
    }
    let from = time_min.unwrap_or_else(epoch);
    // Entries deleted since updatedMin are always included.
    let show_deleted = show_deleted || filters.updated_min.is_some();
    let cal = s.calendar(owner)?;
    let mut items = Vec::new();
    for ev in cal.events.values().filter(|e| filters.event_matches(e)) {
        let to = horizon(ev, time_max);
        if !ev.is_series() {
            if !recurrence::instances(ev, from, to, false).is_empty() && filters.text_matches(&ev.fields, &ev.organizer) {
                items.push(event_item(r, ev));
            }
            continue;
        }
        let instances = recurrence::instances(ev, from, to, show_deleted);
        if single {
            for inst in instances.iter().filter(|i| i.cancelled || filters.text_matches(&i.fields, &ev.organizer)) {
                items.push(instance_item(r, ev, inst));
            }
        } else {
            // The master stands for its unchanged occurrences; exceptions and cancellations
            // are listed as instances of their own.
            if instances.iter().any(|i| i.kind == InstanceKind::Occurrence && !i.cancelled) && filters.text_matches(&ev.fields, &ev.organizer) {
                items.push(event_item(r, ev));
            }
            for inst in instances.iter().filter(|i| i.kind == InstanceKind::Exception || i.cancelled) {
                if inst.cancelled || filters.text_matches(&inst.fields, &ev.organizer) {
                    items.push(instance_item(r, ev, inst));
                }
            }
        }
    }
    if show_deleted && time_min.is_none() && time_max.is_none() && filters.private.is_empty() && filters.shared.is_empty() && filters.text.is_none() {
        for t in cal.tombstones.values() {
            if filters.ical_uid.as_ref().is_none_or(|u| &t.ical_uid == u) && filters.updated_min.is_none_or(|m| t.deleted >= m) {
                items.push(Item { start: t.deleted, updated: t.deleted, seq: t.seq, id: t.id.clone(), json: r.tombstone(t) });
            }
        }
    }
    Ok(items)
}

/// Everything that changed after `since` (a sync token's sequence number), whole calendar.
fn changes_since(s: &State, owner: &str, since: u64, r: &Render, single: bool) -> GResult<Vec<Item>> {
    let (events, gone) = s.changed_since(owner, since)?;
    let mut items = Vec::new();
    for ev in events {
        if !ev.is_series() {
            items.push(event_item(r, ev));
            continue;
        }
        if single {
            let before = items.len();
            for inst in recurrence::instances(ev, epoch(), horizon(ev, None), true) {
                if inst.seq > since {
                    items.push(instance_item(r, ev, &inst));
                }
            }
            // A changed series with no changed instance to show (all of them beyond the
            // horizon, or all kept exceptions) must still be reported, or a client would never
            // learn that its other occurrences vanished: report the master itself.
            if items.len() == before {
                items.push(event_item(r, ev));
            }
        } else {
            items.push(event_item(r, ev));
            for (slot, ov) in &ev.overrides {
                if ov.seq() <= since {
                    continue;
                }
                match ov {
                    Override::Cancelled { seq } => items.push(Item {
                        start: *slot,
                        updated: ev.updated,
                        seq: *seq,
                        id: instance_id(ev, *slot),
                        json: r.cancelled_instance(ev, *slot, *seq),
                    }),
                    Override::Changed { .. } => {
                        if let Ok(inst) = recurrence::occurrence(ev, *slot) {
                            items.push(instance_item(r, ev, &inst));
                        }
                    }
                }
            }
        }
    }
    for t in gone {
        items.push(Item { start: t.deleted, updated: t.deleted, seq: t.seq, id: t.id.clone(), json: r.tombstone(t) });
    }
    items.sort_by(|a, b| a.seq.cmp(&b.seq).then_with(|| a.id.cmp(&b.id)));
    Ok(items)
}

fn page_size(q: &Query) -> GResult<usize> {
    match q.get("maxResults") {
        None => Ok(DEFAULT_PAGE),
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) if n >= 1 => Ok((n as usize).min(MAX_PAGE)),
            _ => Err(GError::invalid(format!("Invalid value '{v}'. Values must be within the range: [1, 2500]")).at("parameter", "maxResults")),
        },
    }
}

/// Hands out one page of `items`; the rest goes behind a page token, and the last page
/// carries the sync token for the state the listing started from (`seq`).
fn paginate(s: &mut State, owner: &str, mut items: Vec<Value>, max: usize, seq: u64, single: bool, out: &mut Map<String, Value>) {
    if items.len() > max {
        let rest = items.split_off(max);
        let token = s.issue_cursor(Provider::Google, owner, seq, json!({ "kind": "page", "rest": rest, "single": single }));
        out.insert("nextPageToken".into(), json!(token));
    } else {
        let token = s.issue_cursor(Provider::Google, owner, seq, json!({ "kind": "sync", "single": single }));
        out.insert("nextSyncToken".into(), json!(token));
    }
    out.insert("items".into(), Value::Array(items));
}

fn events_envelope(mb: &Mailbox, zone: Option<chrono_tz::Tz>) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("kind".into(), json!("calendar#events"));
    out.insert("etag".into(), json!(etag_of(&format!("events#{}#{}", mb.email, Utc::now().timestamp_millis()))));
    out.insert("summary".into(), json!(mb.email));
    out.insert("description".into(), json!(""));
    out.insert("updated".into(), json!(stamp(Utc::now())));
    out.insert("timeZone".into(), json!(zone.map(|z| z.name().to_string()).unwrap_or_else(|| mb.time_zone.clone())));
    out.insert("accessRole".into(), json!("owner"));
    out.insert("defaultReminders".into(), json!([{ "method": "popup", "minutes": 10 }]));
    out
}

/// A page token's remaining items (expired → 410, unknown → 400).
fn take_page(s: &State, owner: &str, token: &str) -> GResult<(Vec<Value>, u64, bool)> {
    let c = match s.cursor(Provider::Google, token) {
        Ok(c) => c,
        Err(true) => return Err(GError::full_sync()),
        Err(false) => return Err(GError::invalid("Invalid page token value.").at("parameter", "pageToken")),
    };
    if c.mailbox != owner || c.data["kind"] != "page" {
        return Err(GError::invalid("Invalid page token value.").at("parameter", "pageToken"));
    }
    let rest = c.data["rest"].as_array().cloned().unwrap_or_default();
    Ok((rest, c.seq, c.data["single"].as_bool().unwrap_or(false)))
}

async fn list_events(AxState(emu): AxState<Emulator>, Path(cid): Path<String>, RawQuery(raw): RawQuery, headers: HeaderMap) -> Response {
    let q = Query::parse(raw);
    respond(emu.with_state(|s| {
        let me = authenticate(s, &headers, &q)?;
        let owner = owner_of(&me, &cid)?;
        let max = page_size(&q)?;
        let zone = q.zone();
        let single = q.bool("singleEvents")?.unwrap_or(false);
        let order = match q.get("orderBy") {
            None => Order::Stable,
            Some("startTime") if single => Order::StartTime,
            Some("startTime") => {
                return Err(GError::bad("badRequest", "The requested ordering is not available for the particular query.").at("parameter", "orderBy"))
            }
            Some("updated") => Order::Updated,
            Some(other) => return Err(GError::invalid(format!("Invalid value for orderBy: {other}")).at("parameter", "orderBy")),
        };
        let mut out = events_envelope(&me, zone);
        if let Some(token) = q.get("pageToken") {
            let (rest, seq, single) = take_page(s, &owner, token)?;
            paginate(s, &owner, rest, max, seq, single, &mut out);
            return Ok(ok_json(Value::Object(out)));
        }
        let r = Render { zone, me: &me.email };
        let (mut items, seq) = if let Some(token) = q.get("syncToken") {
            const EXCLUSIVE: [&str; 9] =
                ["timeMin", "timeMax", "orderBy", "privateExtendedProperty", "sharedExtendedProperty", "iCalUID", "q", "updatedMin", "originalStart"];
            if let Some(p) = EXCLUSIVE.iter().find(|p| q.has(p)) {
                return Err(GError::invalid(format!("The syncToken parameter cannot be combined with {p}.")).at("parameter", "syncToken"));
            }
            if q.bool("showDeleted")? == Some(false) {
                return Err(GError::invalid("showDeleted cannot be false with a syncToken: deletions are always included.").at("parameter", "showDeleted"));
            }
            let since = match s.cursor(Provider::Google, token) {
                Ok(c) if c.mailbox == owner && c.data["kind"] == "sync" => c.seq,
                Ok(_) => return Err(GError::invalid("Invalid sync token value.").at("parameter", "syncToken")),
                // Unknown tokens (e.g. from before an emulator restart) also ask for a full
                // sync: the one answer a client can always recover from.
                Err(_) => return Err(GError::full_sync()),
            };
            let seq = s.calendar(&owner)?.seq;
            (changes_since(s, &owner, since, &r, single)?, seq)
        } else {
            let seq = s.calendar(&owner)?.seq;
            let show_deleted = q.bool("showDeleted")?.unwrap_or(false);
            (full_listing(s, &owner, &q, &r, single, show_deleted)?, seq)
        };
        match order {
            Order::StartTime => items.sort_by(|a, b| a.start.cmp(&b.start).then_with(|| a.id.cmp(&b.id))),
            Order::Updated => items.sort_by(|a, b| a.updated.cmp(&b.updated).then_with(|| a.id.cmp(&b.id))),
            Order::Stable if !q.has("syncToken") => items.sort_by(|a, b| a.start.cmp(&b.start).then_with(|| a.id.cmp(&b.id))),
            Order::Stable => {}
        }
        let items: Vec<Value> = items.into_iter().map(|i| i.json).collect();
        paginate(s, &owner, items, max, seq, single, &mut out);
        Ok(ok_json(Value::Object(out)))
    }))
}

async fn list_instances(
    AxState(emu): AxState<Emulator>,
    Path((cid, eid)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let q = Query::parse(raw);
    respond(emu.with_state(|s| {
        let me = authenticate(s, &headers, &q)?;
        let owner = owner_of(&me, &cid)?;
        let max = page_size(&q)?;
        let zone = q.zone();
        let mut out = events_envelope(&me, zone);
        if let Some(token) = q.get("pageToken") {
            let (rest, seq, single) = take_page(s, &owner, token)?;
            paginate(s, &owner, rest, max, seq, single, &mut out);
            return Ok(ok_json(Value::Object(out)));
        }
        let r = Render { zone, me: &me.email };
        let ev = match resolve(s, &owner, &eid)? {
            Target::Event(ev) => ev,
            Target::Deleted(_) => return Err(GError::deleted()),
            Target::Instance { .. } => return Err(GError::not_found()),
        };
        let time_min = q.time("timeMin")?;
        let time_max = q.time("timeMax")?;
        if let (Some(a), Some(b)) = (time_min, time_max) {
            if b <= a {
                return Err(GError::bad("timeRangeEmpty", "The specified time range is empty.").at("parameter", "timeMax"));
            }
        }
        let original_start = q.time("originalStart")?;
        let show_deleted = q.bool("showDeleted")?.unwrap_or(false);
        let mut items = Vec::new();
        if !ev.is_series() {
            items.push(r.event(&ev));
        } else {
            // Here timeMin is inclusive on the end (discovery doc), unlike in events.list.
            let from = time_min.map(|t| t - Duration::seconds(1)).unwrap_or_else(epoch);
            let mut insts = recurrence::instances(&ev, from, horizon(&ev, time_max), show_deleted);
            insts.retain(|i| time_min.is_none_or(|t| i.fields.end_utc() >= t));
            insts.retain(|i| original_start.is_none_or(|o| i.original_start == Some(o)));
            insts.sort_by_key(|i| i.original_start);
            items.extend(insts.iter().map(|i| r.instance(&ev, i)));
        }
        let seq = s.calendar(&owner)?.seq;
        paginate(s, &owner, items, max, seq, true, &mut out);
        Ok(ok_json(Value::Object(out)))
    }))
}

// ---- handlers: single events ---------------------------------------------------------------

async fn get_event(
    AxState(emu): AxState<Emulator>,
    Path((cid, eid)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let q = Query::parse(raw);
    respond(emu.with_state(|s| {
        let me = authenticate(s, &headers, &q)?;
        let owner = owner_of(&me, &cid)?;
        let r = Render { zone: q.zone(), me: &me.email };
        // The get method returns deleted events too, as status "cancelled".
        let v = match resolve(s, &owner, &eid)? {
            Target::Event(ev) => r.event(&ev),
            Target::Deleted(t) => r.tombstone(&t),
            Target::Instance { master, slot, current } => match current {
                Ok(inst) => r.instance(&master, &inst),
                Err(_) => {
                    let seq = master.overrides.get(&slot).map(Override::seq).unwrap_or(master.seq);
                    r.cancelled_instance(&master, slot, seq)
                }
            },
        };
        Ok(ok_json(v))
    }))
}

async fn insert_event(
    AxState(emu): AxState<Emulator>,
    Path(cid): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let q = Query::parse(raw);
    respond(emu.with_state(|s| {
        let me = authenticate(s, &headers, &q)?;
        let owner = owner_of(&me, &cid)?;
        let send = q.send()?;
        let body = parse_body(&body)?;
        let id = str_field(&body, "id")?.map(str::to_string);
        if let Some(id) = &id {
            if !valid_event_id(id) {
                return Err(GError::invalid("Invalid resource id value.").at("parameter", "id"));
            }
        }
        let ical_uid = str_field(&body, "iCalUID")?.map(str::to_string);
        let parsed = parse_event(&body, &me.time_zone, None)?;
        let new = NewEvent {
            id,
            ical_uid,
            fields: parsed.fields,
            recurrence: parsed.recurrence,
            private_props: parsed.private_props,
            shared_props: parsed.shared_props,
        };
        let ev = s.create_event(&owner, new, send)?;
        Ok(ok_json(Render { zone: q.zone(), me: &me.email }.event(&ev)))
    }))
}

/// PUT and PATCH: `patch` merges the body onto the event as it is now, then both replace.
fn write_event(s: &mut State, me: &Mailbox, (cid, eid): (&str, &str), q: &Query, headers: &HeaderMap, body: &Bytes, patch: bool) -> GResult<Value> {
    let owner = owner_of(me, cid)?;
    let send = q.send()?;
    let body = parse_body(body)?;
    let precondition = if_match(headers);
    let r = Render { zone: q.zone(), me: &me.email };
    match resolve(s, &owner, eid)? {
        Target::Deleted(_) => Err(GError::deleted()),
        Target::Event(ev) => {
            let etag = etag_of(&ev.change_key);
            if precondition.as_deref().is_some_and(|p| !etag_matches(p, &etag)) {
                return Err(GError::condition_not_met());
            }
            let body = if patch {
                let Value::Object(mut current) = r.event(&ev) else { return Err(GError::not_found()) };
                merge(&mut current, body, true);
                current
            } else {
                body
            };
            let parsed = parse_event(&body, &me.time_zone, Some(&ev.fields))?;
            let updated = s.update_event(&owner, eid, Some(&ev.change_key), send, |e| {
                e.fields = parsed.fields;
                e.recurrence = parsed.recurrence;
                e.private_props = parsed.private_props;
                e.shared_props = parsed.shared_props;
                Ok(())
            })?;
            Ok(r.event(&updated))
        }
        Target::Instance { master, slot, current } => {
            let current = current?;
            if precondition.as_deref().is_some_and(|p| !etag_matches(p, &instance_etag(&current))) {
                return Err(GError::condition_not_met());
            }
            let body = if patch {
                let Value::Object(mut now) = r.instance(&master, &current) else { return Err(GError::not_found()) };
                merge(&mut now, body, true);
                now
            } else {
                body
            };
            let parsed = parse_event(&body, &me.time_zone, Some(&current.fields))?;
            let inst = s.update_occurrence(&owner, &master.id, slot, None, send, |f| {
                *f = parsed.fields;
                Ok(())
            })?;
            let master = s.event(&owner, &master.id)?.clone();
            Ok(r.instance(&master, &inst))
        }
    }
}

async fn update_event(
    AxState(emu): AxState<Emulator>,
    Path((cid, eid)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let q = Query::parse(raw);
    respond(emu.with_state(|s| {
        let me = authenticate(s, &headers, &q)?;
        write_event(s, &me, (&cid, &eid), &q, &headers, &body, false).map(ok_json)
    }))
}

async fn patch_event(
    AxState(emu): AxState<Emulator>,
    Path((cid, eid)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let q = Query::parse(raw);
    respond(emu.with_state(|s| {
        let me = authenticate(s, &headers, &q)?;
        write_event(s, &me, (&cid, &eid), &q, &headers, &body, true).map(ok_json)
    }))
}

async fn delete_event(
    AxState(emu): AxState<Emulator>,
    Path((cid, eid)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let q = Query::parse(raw);
    respond(emu.with_state(|s| {
        let me = authenticate(s, &headers, &q)?;
        let owner = owner_of(&me, &cid)?;
        let send = q.send()?;
        let precondition = if_match(&headers);
        match resolve(s, &owner, &eid)? {
            Target::Deleted(_) => return Err(GError::deleted()),
            Target::Event(ev) => {
                if precondition.as_deref().is_some_and(|p| !etag_matches(p, &etag_of(&ev.change_key))) {
                    return Err(GError::condition_not_met());
                }
                s.delete_event(&owner, &eid, Some(&ev.change_key), send)?;
            }
            Target::Instance { master, slot, current } => {
                let current = current?;
                if precondition.as_deref().is_some_and(|p| !etag_matches(p, &instance_etag(&current))) {
                    return Err(GError::condition_not_met());
                }
                s.cancel_occurrence(&owner, &master.id, slot, send)?;
            }
        }
        Ok(StatusCode::NO_CONTENT.into_response())
    }))
}

// ---- handlers: free/busy -------------------------------------------------------------------

async fn free_busy(AxState(emu): AxState<Emulator>, RawQuery(raw): RawQuery, headers: HeaderMap, body: Bytes) -> Response {
    let q = Query::parse(raw);
    respond(emu.with_state(|s| {
        let me = authenticate(s, &headers, &q)?;
        let body = parse_body(&body)?;
        let time = |name: &str| -> GResult<DateTime<Utc>> {
            let v = str_field(&body, name)?.ok_or_else(|| GError::bad("required", format!("Missing {name}.")))?;
            parse_rfc3339(v).ok_or_else(|| GError::invalid(format!("Invalid {name}.")))
        };
        let (from, to) = (time("timeMin")?, time("timeMax")?);
        if to <= from {
            return Err(GError::bad("timeRangeEmpty", "The specified time range is empty.").at("parameter", "timeMax"));
        }
        let zone: chrono_tz::Tz = match str_field(&body, "timeZone")? {
            Some(z) => z.parse().map_err(|_| GError::invalid("Invalid time zone."))?,
            None => chrono_tz::UTC,
        };
        let fmt = |t: DateTime<Utc>| t.with_timezone(&zone).to_rfc3339_opts(SecondsFormat::Secs, true);
        let ids: Vec<String> = match body.get("items") {
            Some(Value::Array(items)) => items.iter().filter_map(|i| i.get("id").and_then(Value::as_str)).map(str::to_string).collect(),
            _ => Vec::new(),
        };
        if ids.len() > 50 {
            return Err(GError::bad("tooManyCalendarsRequested", "Too many calendars requested."));
        }
        let mut calendars = Map::new();
        for id in ids {
            let email = if id.eq_ignore_ascii_case("primary") { me.email.clone() } else { id.to_ascii_lowercase() };
            let known = s.mailbox(&email).is_some_and(|m| m.provider == Provider::Google);
            if !known {
                calendars.insert(id, json!({ "errors": [{ "domain": "global", "reason": "notFound" }], "busy": [] }));
                continue;
            }
            let mut spans: Vec<(DateTime<Utc>, DateTime<Utc>)> = s
                .instances(&email, from, to, false)?
                .into_iter()
                .filter(|i| i.fields.show_as != ShowAs::Free)
                .map(|i| (i.fields.start_utc().max(from), i.fields.end_utc().min(to)))
                .filter(|(a, b)| b > a)
                .collect();
            spans.sort();
            // Google reports merged busy periods.
            let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
            for (a, b) in spans {
                match merged.last_mut() {
                    Some(last) if a <= last.1 => last.1 = last.1.max(b),
                    _ => merged.push((a, b)),
                }
            }
            let busy: Vec<Value> = merged.into_iter().map(|(a, b)| json!({ "start": fmt(a), "end": fmt(b) })).collect();
            calendars.insert(id, json!({ "busy": busy }));
        }
        Ok(ok_json(json!({ "kind": "calendar#freeBusy", "timeMin": fmt(from), "timeMax": fmt(to), "calendars": calendars })))
    }))
}

// ---- handlers: push channels ---------------------------------------------------------------

/// Whether a webhook address is acceptable: https anywhere, or (leniency of the emulator, so
/// tests and the demo need no certificates) plain http to this machine.
fn webhook_allowed(address: &str) -> bool {
    let Ok(url) = url::Url::parse(address) else { return false };
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => match url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        },
        _ => false,
    }
}

fn push_request(sub: &Subscription, state: &str) -> PushRequest {
    let mut headers = vec![
        ("X-Goog-Channel-ID".to_string(), sub.id.clone()),
        ("X-Goog-Channel-Expiration".to_string(), sub.expires.format("%a, %d %b %Y %H:%M:%S GMT").to_string()),
        ("X-Goog-Resource-ID".to_string(), sub.resource_id.clone()),
        ("X-Goog-Resource-URI".to_string(), sub.data["resourceUri"].as_str().unwrap_or_default().to_string()),
        ("X-Goog-Resource-State".to_string(), state.to_string()),
        ("X-Goog-Message-Number".to_string(), sub.message_number.to_string()),
    ];
    if let Some(token) = &sub.secret {
        headers.push(("X-Goog-Channel-Token".to_string(), token.clone()));
    }
    PushRequest { content_type: "application/json; charset=UTF-8", headers, body: Vec::new() }
}

/// The push notification for a change, in this provider's format (None: nothing to send).
pub fn notification(sub: &Subscription, _note: &ChangeNote) -> Option<PushRequest> {
    Some(push_request(sub, "exists"))
}

async fn watch(
    AxState(emu): AxState<Emulator>,
    Path(cid): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let q = Query::parse(raw);
    let max_hours = emu.config().google_max_channel_hours;
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_string);
    let created = emu.with_state(|s| -> GResult<Subscription> {
        let me = authenticate(s, &headers, &q)?;
        let owner = owner_of(&me, &cid)?;
        let body = parse_body(&body)?;
        let id = str_field(&body, "id")?.filter(|i| !i.is_empty()).ok_or_else(|| GError::bad("required", "Missing channel id."))?;
        if id.len() > 64 {
            return Err(GError::invalid("Channel id must be at most 64 characters."));
        }
        match str_field(&body, "type")? {
            Some("web_hook") | Some("webhook") => {}
            Some(_) | None => return Err(GError::invalid("Invalid channel type: use web_hook.")),
        }
        let address = str_field(&body, "address")?.ok_or_else(|| GError::bad("required", "Missing channel address."))?;
        if !webhook_allowed(address) {
            return Err(GError::bad("push.webhookUrlNotHttps", "WebHook callback must be HTTPS: ".to_string() + address));
        }
        if s.subscriptions.contains_key(id) {
            return Err(GError::bad("channelIdNotUnique", format!("Channel id {id} not unique")));
        }
        let cap = Utc::now() + Duration::hours(max_hours);
        let requested = match body.get("expiration") {
            Some(Value::String(ms)) => ms.parse::<i64>().ok(),
            Some(Value::Number(ms)) => ms.as_i64(),
            _ => None,
        }
        .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
        .filter(|t| *t > Utc::now());
        let expires = requested.map_or(cap, |t| t.min(cap));
        let resource_uri = match &host {
            Some(h) => format!("http://{h}/google/calendar/v3/calendars/{}/events?alt=json", urlencode(&cid)),
            None => format!("https://www.googleapis.com/calendar/v3/calendars/{}/events?alt=json", urlencode(&cid)),
        };
        let sub = Subscription {
            id: id.to_string(),
            provider: Provider::Google,
            mailbox: owner,
            url: Some(address.to_string()),
            secret: str_field(&body, "token")?.map(str::to_string),
            resource_id: model::random_token(27),
            expires,
            message_number: 1,
            data: json!({ "resourceUri": resource_uri, "calendarId": cid }),
        };
        s.subscriptions.insert(sub.id.clone(), sub.clone());
        Ok(sub)
    });
    let sub = match created {
        Ok(sub) => sub,
        Err(e) => return e.into_response(),
    };
    // The first message on every channel is `sync`, sent as soon as it exists.
    let greeting = push_request(&sub, "sync");
    let deliverer = emu.clone();
    let target = sub.clone();
    tokio::spawn(async move { push::deliver(&deliverer, &target, greeting).await });
    let mut v = json!({
        "kind": "api#channel",
        "id": sub.id,
        "resourceId": sub.resource_id,
        "resourceUri": sub.data["resourceUri"],
        "expiration": sub.expires.timestamp_millis().to_string(),
    });
    if let Some(token) = &sub.secret {
        v["token"] = json!(token);
    }
    ok_json(v)
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn stop_channel(AxState(emu): AxState<Emulator>, RawQuery(raw): RawQuery, headers: HeaderMap, body: Bytes) -> Response {
    let q = Query::parse(raw);
    respond(emu.with_state(|s| {
        let me = authenticate(s, &headers, &q)?;
        let body = parse_body(&body)?;
        let id = str_field(&body, "id")?.ok_or_else(|| GError::bad("required", "Missing channel id."))?;
        let resource_id = str_field(&body, "resourceId")?;
        let found = s.subscriptions.get(id).is_some_and(|sub| {
            sub.provider == Provider::Google && sub.mailbox == me.email && resource_id.is_none_or(|r| r == sub.resource_id)
        });
        if !found {
            return Err(GError::new(StatusCode::NOT_FOUND, "global", "notFound", format!("Channel '{id}' not found for project")));
        }
        s.subscriptions.remove(id);
        Ok(StatusCode::NO_CONTENT.into_response())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{utc, Mailbox};
    use crate::Config;

    struct Api {
        emu: Emulator,
        base: String,
        token: String,
        http: reqwest::Client,
    }

    async fn api() -> Api {
        let emu = Emulator::new(Config::default());
        let addr = emu.clone().spawn("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let token = emu.with_state(|s| {
            s.add_mailbox(Mailbox {
                email: "ann@example.com".into(),
                display_name: "Ann".into(),
                provider: Provider::Google,
                password: None,
                time_zone: "Europe/Berlin".into(),
                can_impersonate: false,
                uid: String::new(),
            })
            .unwrap();
            s.issue_tokens("ann@example.com", Provider::Google, Duration::hours(1)).unwrap().access_token
        });
        Api { emu, base: format!("http://{addr}/google/calendar/v3"), token, http: reqwest::Client::new() }
    }

    impl Api {
        async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, HeaderMap, Value) {
            let mut req = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
            if let Some(b) = body {
                req = req.json(&b);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let bytes = resp.bytes().await.unwrap();
            (status, headers, if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap() })
        }
        async fn get(&self, path: &str) -> (u16, Value) {
            let (s, _, v) = self.call(reqwest::Method::GET, path, None).await;
            (s, v)
        }
        async fn post(&self, path: &str, body: Value) -> (u16, Value) {
            let (s, _, v) = self.call(reqwest::Method::POST, path, Some(body)).await;
            (s, v)
        }
        async fn insert(&self, summary: &str, start: &str, end: &str) -> Value {
            let (s, v) = self
                .post("/calendars/primary/events", json!({ "summary": summary, "start": { "dateTime": start }, "end": { "dateTime": end } }))
                .await;
            assert_eq!(s, 200, "{v}");
            v
        }
    }

    fn reason(v: &Value) -> &str {
        v["error"]["errors"][0]["reason"].as_str().unwrap_or_default()
    }

    #[test]
    fn instance_ids_round_trip() {
        let mut ev = Event {
            id: "abcdefg123".into(),
            ical_uid: "u".into(),
            change_key: "k".into(),
            fields: Fields {
                subject: String::new(),
                body: String::new(),
                location: String::new(),
                start: When::At(utc(2026, 1, 5, 8, 0)),
                end: When::At(utc(2026, 1, 5, 9, 0)),
                time_zone: "UTC".into(),
                sensitivity: Sensitivity::Normal,
                show_as: ShowAs::Busy,
                attendees: vec![],
            },
            organizer: model::Person { email: "a@x".into(), name: String::new() },
            recurrence: vec!["RRULE:FREQ=DAILY".into()],
            overrides: BTreeMap::new(),
            private_props: BTreeMap::new(),
            shared_props: BTreeMap::new(),
            created: Utc::now(),
            updated: Utc::now(),
            seq: 1,
            cancelled: false,
        };
        let id = instance_id(&ev, utc(2026, 1, 7, 8, 0));
        assert_eq!(id, "abcdefg123_20260107T080000Z");
        assert_eq!(parse_instance_id(&id), Some(("abcdefg123", utc(2026, 1, 7, 8, 0))));
        ev.fields.start = When::Date(NaiveDate::from_ymd_opt(2026, 1, 5).unwrap());
        let id = instance_id(&ev, utc(2026, 1, 7, 0, 0));
        assert_eq!(id, "abcdefg123_20260107");
        assert_eq!(parse_instance_id(&id), Some(("abcdefg123", utc(2026, 1, 7, 0, 0))));
        assert_eq!(parse_instance_id("plainid"), None);
        assert_eq!(parse_instance_id("_20260107"), None);
        assert_eq!(parse_instance_id("x_2026"), None);
    }

    #[test]
    fn etags_ids_and_patch_merging() {
        let e = etag_of("DwAAABYAAAabc");
        assert!(e.starts_with('"') && e.ends_with('"') && e.len() == 18, "{e}");
        assert_ne!(e, etag_of("DwAAABYAAAabd"));
        assert!(etag_matches(&e, &e) && etag_matches("*", &e) && etag_matches(&format!("W/{e}"), &e));
        assert!(etag_matches(e.trim_matches('"'), &e));
        assert!(!etag_matches("\"1\"", &e));
        assert!(valid_event_id("abc0123vv") && !valid_event_id("abcd") && !valid_event_id("ABCDE12") && !valid_event_id("wxyz12"));

        let mut current = json!({
            "summary": "a", "start": { "dateTime": "2026-01-01T10:00:00+01:00", "timeZone": "Europe/Berlin" },
            "extendedProperties": { "private": { "crmId": "1", "x": "y" } }, "location": "here",
        });
        let patch = json!({ "start": { "date": "2026-01-02" }, "extendedProperties": { "private": { "x": "z" } }, "location": null });
        let (Value::Object(c), Value::Object(p)) = (&mut current, patch) else { unreachable!() };
        merge(c, p, true);
        assert_eq!(current["start"], json!({ "date": "2026-01-02" }), "start replaces whole");
        assert_eq!(current["extendedProperties"]["private"], json!({ "crmId": "1", "x": "z" }), "maps merge");
        assert!(current.get("location").is_none(), "null clears");
    }

    #[test]
    fn fault_answers_use_googles_envelope() {
        let resp = fault_response(&FaultKind::Throttle { retry_after_ms: 1200 });
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "2");
        let resp = fault_response(&FaultKind::Status { status: 503 });
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[tokio::test]
    async fn auth_and_calendar_ids() {
        let api = api().await;
        let resp = api.http.get(format!("{}/calendars/primary", api.base)).bearer_auth("ya29.nope").send().await.unwrap();
        assert_eq!(resp.status(), 401);
        assert!(resp.headers().contains_key(header::WWW_AUTHENTICATE));
        let v: Value = resp.json().await.unwrap();
        assert_eq!((reason(&v), v["error"]["code"].as_u64()), ("authError", Some(401)));

        let (s, v) = api.get("/calendars/primary?alt=json&prettyPrint=false").await;
        assert_eq!((s, v["id"].as_str(), v["timeZone"].as_str()), (200, Some("ann@example.com"), Some("Europe/Berlin")));
        let (s, _) = api.get("/calendars/ann%40example.com").await;
        assert_eq!(s, 200);
        let (s, v) = api.get("/calendars/someone%40example.com/events").await;
        assert_eq!((s, reason(&v)), (404, "notFound"));
        let (s, v) = api.get("/users/me/calendarList").await;
        assert_eq!((s, v["items"][0]["primary"].as_bool()), (200, Some(true)));
        let (s, _) = api.get("/users/me/calendarList/primary").await;
        assert_eq!(s, 200);
        // The token may also come as a query parameter.
        let resp = api.http.get(format!("{}/calendars/primary?access_token={}", api.base, api.token)).send().await.unwrap();
        assert_eq!(resp.status(), 200);
    }

    #[tokio::test]
    async fn pages_snapshot_and_sync_token_only_on_the_last_page() {
        let api = api().await;
        for i in 0..5 {
            api.insert(&format!("e{i}"), &format!("2026-02-0{}T10:00:00+01:00", i + 1), &format!("2026-02-0{}T11:00:00+01:00", i + 1)).await;
        }
        let (s, p1) = api.get("/calendars/primary/events?maxResults=2&orderBy=startTime&singleEvents=true").await;
        assert_eq!(s, 200);
        assert_eq!(p1["items"].as_array().unwrap().len(), 2);
        assert!(p1.get("nextSyncToken").is_none());
        // A change between pages shows in the next round, not in this listing.
        api.insert("late", "2026-02-01T08:00:00Z", "2026-02-01T09:00:00Z").await;
        let token = p1["nextPageToken"].as_str().unwrap();
        let (_, p2) = api.get(&format!("/calendars/primary/events?maxResults=2&pageToken={token}")).await;
        let (_, p3) = api.get(&format!("/calendars/primary/events?maxResults=2&pageToken={}", p2["nextPageToken"].as_str().unwrap())).await;
        let names: Vec<&str> = [&p1, &p2, &p3].iter().flat_map(|p| p["items"].as_array().unwrap()).map(|i| i["summary"].as_str().unwrap()).collect();
        assert_eq!(names, ["e0", "e1", "e2", "e3", "e4"]);
        let sync = p3["nextSyncToken"].as_str().unwrap();
        assert!(p3.get("nextPageToken").is_none());
        let (_, delta) = api.get(&format!("/calendars/primary/events?syncToken={sync}")).await;
        let names: Vec<&str> = delta["items"].as_array().unwrap().iter().map(|i| i["summary"].as_str().unwrap()).collect();
        assert_eq!(names, ["late"]);
    }

    #[tokio::test]
    async fn strict_parameters() {
        let api = api().await;
        let (s, v) = api.get("/calendars/primary/events?timeMin=2026-02-02T00:00:00Z&timeMax=2026-02-01T00:00:00Z").await;
        assert_eq!((s, reason(&v)), (400, "timeRangeEmpty"));
        let (s, _) = api.get("/calendars/primary/events?orderBy=startTime").await;
        assert_eq!(s, 400, "startTime ordering needs singleEvents");
        let (s, _) = api.get("/calendars/primary/events?timeMin=2026-02-02T00:00:00").await;
        assert_eq!(s, 400, "an offset is mandatory");
        let (_, listed) = api.get("/calendars/primary/events").await;
        let sync = listed["nextSyncToken"].as_str().unwrap().to_string();
        for extra in ["timeMin=2026-01-01T00:00:00Z", "privateExtendedProperty=crmId%3D1", "q=x", "orderBy=updated", "iCalUID=x", "showDeleted=false"] {
            let (s, v) = api.get(&format!("/calendars/primary/events?syncToken={sync}&{extra}")).await;
            assert_eq!((s, reason(&v)), (400, "invalid"), "{extra}");
        }
        let (s, _) = api.get(&format!("/calendars/primary/events?syncToken={sync}&singleEvents=true&showDeleted=true&maxResults=5")).await;
        assert_eq!(s, 200);
        api.emu.with_state(|s| s.expire_cursors(Provider::Google));
        let (s, v) = api.get(&format!("/calendars/primary/events?syncToken={sync}")).await;
        assert_eq!((s, reason(&v)), (410, "fullSyncRequired"));
        let (s, _) = api.get("/calendars/primary/events?maxResults=0").await;
        assert_eq!(s, 400);
    }

    #[tokio::test]
    async fn writes_ids_patch_and_preconditions() {
        let api = api().await;
        let body = json!({
            "id": "crm0000000001", "summary": "Call", "location": "Phone",
            "start": { "dateTime": "2026-03-02T10:00:00", "timeZone": "Europe/Berlin" },
            "end": { "dateTime": "2026-03-02T10:30:00", "timeZone": "Europe/Berlin" },
            "attendees": [{ "email": "Zed@Example.com", "responseStatus": "tentative" }],
            "extendedProperties": { "private": { "crmId": "M-1" } }, "visibility": "private",
        });
        let (s, ev) = api.post("/calendars/primary/events?sendUpdates=none", body.clone()).await;
        assert_eq!(s, 200, "{ev}");
        assert_eq!(ev["id"], "crm0000000001");
        assert_eq!(ev["start"]["dateTime"], "2026-03-02T10:00:00+01:00");
        assert_eq!(ev["attendees"][0]["email"], "zed@example.com");
        assert_eq!(ev["visibility"], "private");
        let (s, v) = api.post("/calendars/primary/events", body.clone()).await;
        assert_eq!((s, reason(&v)), (409, "duplicate"));
        let mut bad = body.clone();
        bad["id"] = json!("Not_Base32");
        let (s, _) = api.post("/calendars/primary/events", bad).await;
        assert_eq!(s, 400);
        let mut series = body.clone();
        series["id"] = json!("crm0000000002");
        series["start"] = json!({ "dateTime": "2026-03-02T10:00:00+01:00" });
        series["recurrence"] = json!(["RRULE:FREQ=DAILY;COUNT=3"]);
        let (s, v) = api.post("/calendars/primary/events", series).await;
        assert_eq!((s, v["error"]["message"].as_str()), (400, Some("Missing time zone definition for start time.")));

        // PATCH changes what it names, keeps the rest (responses included).
        let (s, _, patched) = api
            .call(reqwest::Method::PATCH, "/calendars/primary/events/crm0000000001", Some(json!({ "summary": "Call back" })))
            .await;
        assert_eq!(s, 200);
        assert_eq!((patched["summary"].as_str(), patched["location"].as_str()), (Some("Call back"), Some("Phone")));
        assert_eq!(patched["attendees"][0]["responseStatus"], "tentative");
        assert_eq!(patched["extendedProperties"]["private"]["crmId"], "M-1");
        assert_ne!(patched["etag"], ev["etag"]);

        // A stale If-Match is refused; the current one goes through.
        let stale = ev["etag"].as_str().unwrap();
        let resp = api
            .http
            .delete(format!("{}/calendars/primary/events/crm0000000001", api.base))
            .bearer_auth(&api.token)
            .header("If-Match", stale)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 412);
        let v: Value = resp.json().await.unwrap();
        assert_eq!(reason(&v), "conditionNotMet");
        let resp = api
            .http
            .delete(format!("{}/calendars/primary/events/crm0000000001", api.base))
            .bearer_auth(&api.token)
            .header("If-Match", patched["etag"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 204);
        // Deleted events still answer get, as cancelled; deleting again is 410.
        let (s, v) = api.get("/calendars/primary/events/crm0000000001").await;
        assert_eq!((s, v["status"].as_str()), (200, Some("cancelled")));
        let (s, _, v) = api.call(reqwest::Method::DELETE, "/calendars/primary/events/crm0000000001", None).await;
        assert_eq!((s, reason(&v)), (410, "deleted"));
        let (s, _) = api.post("/calendars/primary/events", json!({ "summary": "x" })).await;
        assert_eq!(s, 400, "start is required");
        let resp = api.http.post(format!("{}/calendars/primary/events", api.base)).bearer_auth(&api.token).body("{not json").send().await.unwrap();
        assert_eq!(resp.status(), 400);
    }

    #[tokio::test]
    async fn instances_and_deleted_occurrences() {
        let api = api().await;
        let (s, master) = api
            .post(
                "/calendars/primary/events",
                json!({
                    "summary": "Daily", "recurrence": ["RRULE:FREQ=DAILY;COUNT=4"],
                    "start": { "date": "2026-04-01" }, "end": { "date": "2026-04-02" },
                }),
            )
            .await;
        assert_eq!(s, 200, "{master}");
        let id = master["id"].as_str().unwrap();
        let (_, insts) = api.get(&format!("/calendars/primary/events/{id}/instances")).await;
        let ids: Vec<&str> = insts["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [format!("{id}_20260401"), format!("{id}_20260402"), format!("{id}_20260403"), format!("{id}_20260404")]);
        assert_eq!(insts["items"][1]["originalStartTime"], json!({ "date": "2026-04-02" }));
        let (s, _, _) = api.call(reqwest::Method::DELETE, &format!("/calendars/primary/events/{id}_20260402"), None).await;
        assert_eq!(s, 204);
        let (_, listed) = api.get("/calendars/primary/events?singleEvents=true&showDeleted=true").await;
        let cancelled: Vec<&Value> = listed["items"].as_array().unwrap().iter().filter(|i| i["status"] == "cancelled").collect();
        assert_eq!(cancelled.len(), 1);
        assert_eq!(cancelled[0]["recurringEventId"], id);
        let (_, listed) = api.get("/calendars/primary/events?singleEvents=true").await;
        assert_eq!(listed["items"].as_array().unwrap().len(), 3);
        // Without singleEvents the master stands for the series.
        let (_, listed) = api.get("/calendars/primary/events").await;
        assert_eq!(listed["items"][0]["recurrence"], json!(["RRULE:FREQ=DAILY;COUNT=4"]));
        let (s, _) = api.get(&format!("/calendars/primary/events/{id}_20260409")).await;
        assert_eq!(s, 404, "not a slot of the series");
    }

    #[tokio::test]
    async fn sync_reports_every_changed_series_even_without_a_changed_instance() {
        let api = api().await;
        let (s, master) = api
            .post(
                "/calendars/primary/events",
                json!({
                    "summary": "Daily", "recurrence": ["RRULE:FREQ=DAILY;COUNT=4"],
                    "start": { "dateTime": "2026-04-01T10:00:00Z", "timeZone": "UTC" },
                    "end": { "dateTime": "2026-04-01T11:00:00Z", "timeZone": "UTC" },
                }),
            )
            .await;
        assert_eq!(s, 200, "{master}");
        let id = master["id"].as_str().unwrap().to_string();
        let sync_token = |v: &Value| v["nextSyncToken"].as_str().unwrap().to_string();
        let (_, listed) = api.get("/calendars/primary/events?singleEvents=true").await;
        let token = sync_token(&listed);

        // Shortened: the remaining instances are reported (the vanished ones are not).
        let (s, _, v) = api
            .call(reqwest::Method::PATCH, &format!("/calendars/primary/events/{id}"), Some(json!({ "recurrence": ["RRULE:FREQ=DAILY;COUNT=2"] })))
            .await;
        assert_eq!(s, 200, "{v}");
        let (_, delta) = api.get(&format!("/calendars/primary/events?singleEvents=true&syncToken={token}")).await;
        let ids: Vec<&str> = delta["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [format!("{id}_20260401T100000Z"), format!("{id}_20260402T100000Z")]);
        let token = sync_token(&delta);

        // Both remaining occurrences become exceptions; then the master alone changes.
        for day in ["20260401T100000Z", "20260402T100000Z"] {
            let (s, _, v) = api.call(reqwest::Method::PATCH, &format!("/calendars/primary/events/{id}_{day}"), Some(json!({ "summary": "Own" }))).await;
            assert_eq!(s, 200, "{v}");
        }
        let (_, delta) = api.get(&format!("/calendars/primary/events?singleEvents=true&syncToken={token}")).await;
        let token = sync_token(&delta);
        let (s, _, v) =
            api.call(reqwest::Method::PATCH, &format!("/calendars/primary/events/{id}"), Some(json!({ "description": "new agenda" }))).await;
        assert_eq!(s, 200, "{v}");
        let (_, delta) = api.get(&format!("/calendars/primary/events?singleEvents=true&syncToken={token}")).await;
        let items = delta["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{delta}");
        assert_eq!((items[0]["id"].as_str(), items[0]["recurrence"].clone()), (Some(id.as_str()), json!(["RRULE:FREQ=DAILY;COUNT=2"])));
    }

    #[tokio::test]
    async fn free_busy_and_channels() {
        let api = api().await;
        api.insert("busy", "2026-05-01T10:00:00Z", "2026-05-01T11:00:00Z").await;
        let (s, fb) = api
            .post(
                "/freeBusy",
                json!({ "timeMin": "2026-05-01T00:00:00Z", "timeMax": "2026-05-02T00:00:00Z", "items": [{ "id": "primary" }, { "id": "nobody@x.org" }] }),
            )
            .await;
        assert_eq!(s, 200);
        assert_eq!(fb["calendars"]["primary"]["busy"], json!([{ "start": "2026-05-01T10:00:00Z", "end": "2026-05-01T11:00:00Z" }]));
        assert_eq!(fb["calendars"]["nobody@x.org"]["errors"][0]["reason"], "notFound");

        let (s, v) = api
            .post("/calendars/primary/events/watch", json!({ "id": "ch-1", "type": "web_hook", "address": "http://example.com/hook" }))
            .await;
        assert_eq!((s, reason(&v)), (400, "push.webhookUrlNotHttps"));
        let far = (Utc::now() + Duration::days(365)).timestamp_millis();
        let (s, ch) = api
            .post(
                "/calendars/primary/events/watch",
                json!({ "id": "ch-1", "type": "web_hook", "address": "https://example.com/hook", "token": "t", "expiration": far }),
            )
            .await;
        assert_eq!((s, ch["kind"].as_str(), ch["token"].as_str()), (200, Some("api#channel"), Some("t")));
        let expires: i64 = ch["expiration"].as_str().unwrap().parse().unwrap();
        assert!(expires <= (Utc::now() + Duration::hours(api.emu.config().google_max_channel_hours)).timestamp_millis(), "capped");
        let (s, _) = api.post("/calendars/primary/events/watch", json!({ "id": "ch-1", "type": "web_hook", "address": "https://example.com/h" })).await;
        assert_eq!(s, 400, "channel ids are unique");
        let (s, _) = api.post("/channels/stop", json!({ "id": "ch-1", "resourceId": "wrong" })).await;
        assert_eq!(s, 404);
        let (s, _) = api.post("/channels/stop", json!({ "id": "ch-1", "resourceId": ch["resourceId"] })).await;
        assert_eq!(s, 204);
        let (s, _) = api.post("/channels/stop", json!({ "id": "ch-1" })).await;
        assert_eq!(s, 404);
    }
}
