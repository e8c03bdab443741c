//! Microsoft Graph v1.0 front-end (mounted at `/graph/v1.0`): `/me/…` and `/users/{id|upn}/…`
//! with events, calendarView (+ delta), instances, getSchedule, mailbox settings, and
//! `/subscriptions` with the validation handshake. Everything reads and writes the shared
//! [`model`](crate::model); nothing is kept here.
//!
//! Fidelity notes (what a client sees, as on graph.microsoft.com):
//! - paths and query option names are case-insensitive; `$`-less option names are accepted;
//!   `%40` in UPNs is decoded; `delta` and `delta()` both work;
//! - `@odata.etag` is `W/"<changeKey>"`, and `changeKey` changes on every write; a stale
//!   `If-Match` gives 412 `ErrorIrresolvableConflict`;
//! - a meeting with attendees mails them whenever its organiser saves it (create, a PATCH that
//!   changes subject / time / location / body / attendees, DELETE): Graph has no switch;
//! - occurrence ids are opaque, but encode the master id and the original start, so an
//!   occurrence can be read, changed (it becomes an exception) or deleted by id;
//! - `Prefer: outlook.timezone` (IANA or Windows name) decides the zone of returned dateTimes
//!   (UTC by default); `Prefer: odata.maxpagesize` and `$top` the page size;
//! - calendarView delta returns `@odata.nextLink` (`$skiptoken`) pages and a final
//!   `@odata.deltaLink` (`$deltatoken`); the next round returns exactly what changed in the
//!   window since (deletions and occurrences gone from the window as `@removed`);
//! - leniency: subscriptions accept plain-http loopback notification URLs (tests, the demo),
//!   where Graph insists on https.

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use axum::body::Bytes;
use axum::extract::{OriginalUri, State as AxState};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use base64::Engine as _;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use domain::recurrence::graph as recurrence_json;
use domain::windows_zones::zone_by_name;
use serde_json::{json, Map, Value};

use crate::model::{
    Attendee, ChangeNote, ChangeType, Event, FaultKind, Fields, Instance, InstanceKind, Mailbox, ModelError, NewEvent,
    Provider, Response as Reply, Send, Sensitivity, ShowAs, State, Subscription, When,
};
use crate::push::PushRequest;
use crate::{recurrence, Emulator};

/// The single-value extended property the CRM stores its meeting id in; the model keeps it
/// under the neutral key `crmId`.
pub const CRM_PROP_ID: &str = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name crmId";
const CRM_KEY: &str = "crmId";
/// The emulated tenant (notifications carry it).
pub const TENANT_ID: &str = "5f1c2b7e-8d3a-4c6e-9b0f-3e2d1a7c9b44";
/// Occurrence ids: this prefix, then base64url("<master id>|<original start, unix seconds>").
const OCCURRENCE_PREFIX: &str = "AAMkAGOcc";
/// calendarView, events and delta pages hold this many items unless `$top` or
/// `Prefer: odata.maxpagesize` say otherwise (Graph's default page is 10).
const DEFAULT_PAGE: usize = 10;
const MAX_PAGE: usize = 1000;

pub fn router() -> Router<Emulator> {
    Router::new().route("/", any(dispatch)).route("/{*path}", any(dispatch))
}

// ---- errors --------------------------------------------------------------------------------

/// A Graph error answer: `{"error":{"code","message","innerError":{…}}}`.
#[derive(Debug)]
pub struct GraphError {
    status: StatusCode,
    code: String,
    message: String,
    retry_after: Option<u64>,
}

fn gerr(status: u16, code: &str, message: impl Into<String>) -> GraphError {
    GraphError {
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        code: code.to_string(),
        message: message.into(),
        retry_after: None,
    }
}

fn bad_request(message: impl Into<String>) -> GraphError {
    gerr(400, "ErrorInvalidRequest", message)
}

fn not_found() -> GraphError {
    gerr(404, "ErrorItemNotFound", "The specified object was not found in the store.")
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let now = Utc::now();
        let request_id = uuid::Uuid::new_v4().to_string();
        let mut inner = json!({
            "date": now.format("%Y-%m-%dT%H:%M:%S").to_string(),
            "request-id": request_id,
            "client-request-id": request_id,
        });
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            inner["code"] = json!("429");
            inner["status"] = json!("429");
            inner["message"] = json!("Please retry after");
        }
        let body = json!({ "error": { "code": self.code, "message": self.message, "innerError": inner } });
        let mut resp = (self.status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

fn model_error(e: ModelError) -> GraphError {
    match e {
        ModelError::NotFound | ModelError::NoOccurrence | ModelError::OccurrenceDeleted => not_found(),
        ModelError::NoMailbox(m) => gerr(404, "ErrorInvalidUser", format!("The requested user '{m}' is invalid.")),
        ModelError::Conflict => gerr(
            412,
            "ErrorIrresolvableConflict",
            "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.",
        ),
        ModelError::Duplicate | ModelError::MailboxExists(_) => gerr(409, "ErrorDuplicateItem", e.to_string()),
        ModelError::Invalid(m) => bad_request(m),
    }
}

/// The provider's answer for an injected error status or throttling fault.
pub fn fault_response(kind: &FaultKind) -> Response {
    match kind {
        FaultKind::Throttle { retry_after_ms } => {
            let mut e = gerr(429, "TooManyRequests", "Please retry again later.");
            e.retry_after = Some(retry_after_ms.div_ceil(1000));
            e.into_response()
        }
        FaultKind::Status { status } => {
            let (code, message) = match status {
                400 => ("BadRequest", "Bad request."),
                401 => ("InvalidAuthenticationToken", "Access token validation failure."),
                403 => ("ErrorAccessDenied", "Access is denied. Check credentials and try again."),
                404 => ("ErrorItemNotFound", "The specified object was not found in the store."),
                409 => ("ErrorIrresolvableConflict", "Conflict."),
                410 => ("syncStateNotFound", "The sync state generation is not found."),
                412 => ("ErrorIrresolvableConflict", "The change key passed in the request does not match the current change key for the item."),
                429 => ("TooManyRequests", "Please retry again later."),
                500 => ("generalException", "An internal server error occurred."),
                502 => ("BadGateway", "Bad gateway."),
                503 => ("ServiceNotAvailable", "The service is temporarily unavailable. Please retry later."),
                504 => ("GatewayTimeout", "The gateway did not receive a response in time."),
                s if *s >= 500 => ("generalException", "An internal server error occurred."),
                _ => ("BadRequest", "The request failed."),
            };
            gerr(*status, code, message).into_response()
        }
        // Timeouts and dropped connections are produced by `faults` itself.
        _ => gerr(500, "generalException", "An internal server error occurred.").into_response(),
    }
}

// ---- requests ------------------------------------------------------------------------------

/// `Prefer` header options.
#[derive(Clone, Default)]
struct Prefer {
    /// Zone for returned dateTimes and the name to label them with.
    tz: Option<(Tz, String)>,
    max_page: Option<usize>,
    text_body: bool,
}

impl Prefer {
    fn parse(headers: &HeaderMap) -> Self {
        let mut p = Prefer::default();
        for value in headers.get_all("prefer") {
            let Ok(value) = value.to_str() else { continue };
            for part in value.split(',') {
                let Some((k, v)) = part.split_once('=') else { continue };
                let v = v.trim().trim_matches('"').trim();
                match k.trim().to_ascii_lowercase().as_str() {
                    "outlook.timezone" => p.tz = zone_by_name(v).map(|tz| (tz, v.to_string())),
                    "odata.maxpagesize" => p.max_page = v.parse().ok().filter(|n| *n > 0),
                    "outlook.body-content-type" => p.text_body = v.eq_ignore_ascii_case("text"),
                    _ => {}
                }
            }
        }
        p
    }

    fn zone(&self) -> (Tz, &str) {
        match &self.tz {
            Some((tz, label)) => (*tz, label.as_str()),
            None => (chrono_tz::UTC, "UTC"),
        }
    }
}

struct Req {
    method: Method,
    /// Decoded path segments after `/graph/v1.0`.
    segs: Vec<String>,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
    /// `http://host/graph/v1.0`
    base: String,
    /// `http://host/graph/v1.0/<this path>` (for next and delta links).
    self_url: String,
    prefer: Prefer,
}

impl Req {
    fn new(method: Method, orig: &Uri, uri: &Uri, headers: HeaderMap, body: Bytes) -> Self {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost").to_string();
        let full = orig.path();
        let inner = uri.path();
        let prefix = full.strip_suffix(inner).unwrap_or("/graph/v1.0").trim_end_matches('/');
        let segs = inner.split('/').filter(|s| !s.is_empty()).map(percent_decode).collect();
        let query = uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
            .unwrap_or_default();
        let prefer = Prefer::parse(&headers);
        Req {
            method,
            segs,
            query,
            base: format!("http://{host}{prefix}"),
            self_url: format!("http://{host}{full}"),
            headers,
            body,
            prefer,
        }
    }

    /// A query option, by name without `$`, case-insensitively (`$top`, `top`, `TOP`).
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.trim_start_matches('$').eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn usize_param(&self, name: &str) -> Result<Option<usize>, GraphError> {
        match self.param(name) {
            None => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| gerr(400, "BadRequest", format!("Invalid value '{v}' for ${name}."))),
        }
    }

    /// This URL with some query options replaced (next links).
    fn link_with(&self, drop: &[&str], add: &[(&str, String)]) -> String {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.query {
            if !drop.iter().any(|d| k.trim_start_matches('$').eq_ignore_ascii_case(d)) {
                ser.append_pair(k, v);
            }
        }
        for (k, v) in add {
            ser.append_pair(k, v);
        }
        format!("{}?{}", self.self_url, ser.finish())
    }

    fn json_body(&self) -> Result<Map<String, Value>, GraphError> {
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(gerr(400, "BadRequest", "The request body must be a JSON object.")),
            Err(e) => Err(gerr(400, "BadRequest", format!("Unable to read JSON request payload: {e}"))),
        }
    }

    /// The change key in `If-Match` (`W/"…"`, `"…"` or bare; `*` matches anything).
    fn if_match(&self) -> Option<String> {
        let v = self.headers.get(header::IF_MATCH)?.to_str().ok()?.trim();
        let v = v.strip_prefix("W/").unwrap_or(v).trim_matches('"');
        (v != "*" && !v.is_empty()).then(|| v.to_string())
    }
}

fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn dispatch(
    AxState(emu): AxState<Emulator>,
    method: Method,
    OriginalUri(orig): OriginalUri,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = Req::new(method, &orig, &uri, headers, body);
    match route(&emu, &req).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

fn authenticate(s: &State, headers: &HeaderMap) -> Result<Mailbox, GraphError> {
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return Err(gerr(401, "InvalidAuthenticationToken", "Access token is empty."));
    };
    let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).unwrap_or("").trim();
    s.bearer(Provider::Graph, token)
        .cloned()
        .ok_or_else(|| gerr(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience or the token has expired."))
}

/// `/users/{id|upn}`: the token's own mailbox only.
fn resolve_user(s: &State, me: &Mailbox, key: &str) -> Result<Mailbox, GraphError> {
    let key = key.trim().trim_start_matches("('").trim_end_matches("')");
    match s.mailbox_by_id_or_email(key) {
        Some(mb) if mb.email == me.email => Ok(mb.clone()),
        Some(mb) if mb.provider == Provider::Graph => {
            Err(gerr(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."))
        }
        _ => Err(gerr(404, "ErrorInvalidUser", format!("The requested user '{key}' is invalid."))),
    }
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json; odata.metadata=minimal; odata.streaming=true")], body.to_string())
        .into_response()
}

async fn route(emu: &Emulator, req: &Req) -> Result<Response, GraphError> {
    let me = emu.with_state(|s| authenticate(s, &req.headers))?;
    let first = req.segs.first().map(|s| s.to_ascii_lowercase()).unwrap_or_default();
    match first.as_str() {
        "subscriptions" => subscriptions(emu, req, &me).await,
        "me" => user_routes(emu, req, &me, 1),
        "users" if req.segs.len() >= 2 => {
            let target = emu.with_state(|s| resolve_user(s, &me, &req.segs[1]))?;
            user_routes(emu, req, &target, 2)
        }
        other => Err(gerr(400, "BadRequest", format!("Resource not found for the segment '{other}'."))),
    }
}

fn method_not_allowed() -> GraphError {
    gerr(405, "ErrorInvalidRequest", "The OData request is not supported.")
}

fn calendar_id(mb: &Mailbox) -> String {
    format!("AAMkAGCal{}AAA=", mb.uid.replace('-', ""))
}

fn user_routes(emu: &Emulator, req: &Req, mb: &Mailbox, start: usize) -> Result<Response, GraphError> {
    let rest: Vec<&str> = req.segs[start..].iter().map(String::as_str).collect();
    let lower: Vec<String> = rest.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let get = req.method == Method::GET;
    match l.as_slice() {
        [] if get => return Ok(json_response(StatusCode::OK, user_json(req, mb))),
        ["mailboxsettings"] if get => return Ok(json_response(StatusCode::OK, mailbox_settings_json(req, mb))),
        ["mailboxsettings", "timezone"] if get => {
            return Ok(json_response(StatusCode::OK, json!({ "@odata.context": format!("{}/$metadata#users('{}')/mailboxSettings/timeZone", req.base, mb.uid), "value": windows_name(&mb.time_zone) })))
        }
        ["calendar"] if get => return Ok(json_response(StatusCode::OK, calendar_json(req, mb))),
        ["calendars"] if get => {
            return Ok(json_response(StatusCode::OK, json!({ "@odata.context": format!("{}/$metadata#users('{}')/calendars", req.base, mb.uid), "value": [calendar_json(req, mb)] })))
        }
        ["calendars", _] if get => {
            if rest[1] != calendar_id(mb) {
                return Err(not_found());
            }
            return Ok(json_response(StatusCode::OK, calendar_json(req, mb)));
        }
        [] | ["mailboxsettings"] | ["calendar"] | ["calendars"] | ["calendars", _] => return Err(method_not_allowed()),
        _ => {}
    }
    // Events live in the default calendar: `/events`, `/calendar/events` and
    // `/calendars/{default id}/events` are the same collection.
    let (rest, l) = match l.as_slice() {
        ["calendar", ..] => (&rest[1..], &l[1..]),
        ["calendars", _, ..] => {
            if rest[1] != calendar_id(mb) {
                return Err(not_found());
            }
            (&rest[2..], &l[2..])
        }
        _ => (&rest[..], &l[..]),
    };
    let m = &req.method;
    match l {
        ["events"] if m == Method::GET => list_events(emu, req, mb),
        ["events"] if m == Method::POST => create_event(emu, req, mb),
        ["events", _] if m == Method::GET => get_event(emu, req, mb, rest[1]),
        ["events", _] if m == Method::PATCH => patch_event(emu, req, mb, rest[1]),
        ["events", _] if m == Method::DELETE => delete_event(emu, req, mb, rest[1]),
        ["events", _, "instances"] if m == Method::GET => instances(emu, req, mb, rest[1]),
        ["events", _, "cancel"] if m == Method::POST => delete_event(emu, req, mb, rest[1]),
        ["calendarview"] if m == Method::GET => calendar_view(emu, req, mb),
        ["calendarview", "delta" | "delta()"] if m == Method::GET => delta(emu, req, mb),
        ["getschedule"] if m == Method::POST => get_schedule(emu, req, mb),
        ["events", ..] | ["calendarview", ..] | ["getschedule"] => Err(method_not_allowed()),
        _ => Err(gerr(400, "BadRequest", format!("Resource not found for the segment '{}'.", rest.first().copied().unwrap_or("")))),
    }
}

// ---- users, settings, calendars ------------------------------------------------------------

fn windows_name(iana: &str) -> String {
    if iana == "UTC" || iana == "Etc/UTC" {
        return "UTC".into();
    }
    domain::windows_zones::iana_to_windows(iana).map(str::to_string).unwrap_or_else(|| iana.to_string())
}

fn user_json(req: &Req, mb: &Mailbox) -> Value {
    let mut names = mb.display_name.splitn(2, ' ');
    let given = names.next().unwrap_or_default();
    let surname = names.next().unwrap_or_default();
    json!({
        "@odata.context": format!("{}/$metadata#users/$entity", req.base),
        "businessPhones": [],
        "displayName": mb.display_name,
        "givenName": given,
        "surname": surname,
        "jobTitle": null,
        "mail": mb.email,
        "mobilePhone": null,
        "officeLocation": null,
        "preferredLanguage": "en-US",
        "userPrincipalName": mb.email,
        "id": mb.uid,
    })
}

fn mailbox_settings_json(req: &Req, mb: &Mailbox) -> Value {
    let zone = windows_name(&mb.time_zone);
    json!({
        "@odata.context": format!("{}/$metadata#users('{}')/mailboxSettings", req.base, mb.uid),
        "archiveFolder": "AAMkAGArchive",
        "timeZone": zone,
        "delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
        "dateFormat": "yyyy-MM-dd",
        "timeFormat": "HH:mm",
        "userPurpose": "user",
        "automaticRepliesSetting": {
            "status": "disabled", "externalAudience": "all",
            "internalReplyMessage": "", "externalReplyMessage": "",
            "scheduledStartDateTime": { "dateTime": "2020-01-01T00:00:00.0000000", "timeZone": "UTC" },
            "scheduledEndDateTime": { "dateTime": "2020-01-02T00:00:00.0000000", "timeZone": "UTC" },
        },
        "language": { "locale": "en-US", "displayName": "English (United States)" },
        "workingHours": {
            "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "startTime": "08:00:00.0000000",
            "endTime": "17:00:00.0000000",
            "timeZone": { "name": zone },
        },
    })
}

fn calendar_json(req: &Req, mb: &Mailbox) -> Value {
    json!({
        "@odata.context": format!("{}/$metadata#users('{}')/calendars/$entity", req.base, mb.uid),
        "id": calendar_id(mb),
        "name": "Calendar",
        "color": "auto",
        "hexColor": "",
        "isDefaultCalendar": true,
        "changeKey": "fJKVL07sbkmIfHqjbDnRgQAAAAACGA==",
        "canShare": true,
        "canViewPrivateItems": true,
        "canEdit": true,
        "isRemovable": false,
        "isTallyingResponses": true,
        "allowedOnlineMeetingProviders": ["teamsForBusiness"],
        "defaultOnlineMeetingProvider": "teamsForBusiness",
        "owner": { "name": mb.display_name, "address": mb.email },
    })
}

// ---- rendering events ----------------------------------------------------------------------

/// How a response shows events: the zone from `Prefer`, body type, and which extended
/// properties `$expand` asked for.
struct View<'a> {
    mb: &'a Mailbox,
    prefer: &'a Prefer,
    /// `$expand=singleValueExtendedProperties(…)`: None = not expanded; Some(None) = all;
    /// Some(Some(id)) = only this property.
    props: Option<Option<String>>,
}

fn view<'a>(req: &'a Req, mb: &'a Mailbox) -> Result<View<'a>, GraphError> {
    Ok(View { mb, prefer: &req.prefer, props: parse_expand(req.param("expand"))? })
}

/// 7 fractional digits, as Graph writes them.
fn graph_datetime(t: NaiveDateTime) -> String {
    format!("{}.{:07}", t.format("%Y-%m-%dT%H:%M:%S"), t.nanosecond() / 100)
}

fn date_time_tz(when: When, prefer: &Prefer) -> Value {
    let (tz, label) = prefer.zone();
    let local = match when {
        When::At(t) => t.with_timezone(&tz).naive_local(),
        // All-day events float: midnight of the date in whatever zone is asked for.
        When::Date(d) => d.and_hms_opt(0, 0, 0).unwrap_or_default(),
    };
    json!({ "dateTime": graph_datetime(local), "timeZone": label })
}

fn body_json(body: &str, prefer: &Prefer) -> Value {
    if prefer.text_body {
        json!({ "contentType": "text", "content": crate::body::as_text(body) })
    } else {
        json!({ "contentType": "html", "content": crate::body::as_html(body) })
    }
}

fn body_preview(body: &str) -> String {
    let text = crate::body::as_text(body);
    text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(255).collect()
}

fn sensitivity_str(s: Sensitivity) -> &'static str {
    match s {
        Sensitivity::Normal => "normal",
        Sensitivity::Personal => "personal",
        Sensitivity::Private => "private",
        Sensitivity::Confidential => "confidential",
    }
}

fn show_as_str(s: ShowAs) -> &'static str {
    match s {
        ShowAs::Free => "free",
        ShowAs::Tentative => "tentative",
        ShowAs::Busy => "busy",
        ShowAs::Oof => "oof",
        ShowAs::WorkingElsewhere => "workingElsewhere",
    }
}

fn response_str(r: Reply) -> &'static str {
    match r {
        Reply::NeedsAction => "none",
        Reply::Accepted => "accepted",
        Reply::Tentative => "tentativelyAccepted",
        Reply::Declined => "declined",
        Reply::Organizer => "organizer",
    }
}

fn location_json(name: &str) -> Value {
    if name.is_empty() {
        json!({ "displayName": "", "locationType": "default", "uniqueIdType": "unknown", "address": {}, "coordinates": {} })
    } else {
        json!({ "displayName": name, "locationType": "default", "uniqueId": name, "uniqueIdType": "private" })
    }
}

fn email_json(address: &str, name: &str) -> Value {
    json!({ "emailAddress": { "name": name, "address": address } })
}

fn occurrence_id(master: &str, slot: DateTime<Utc>) -> String {
    let raw = format!("{master}|{}", slot.timestamp());
    format!("{OCCURRENCE_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw))
}

fn decode_occurrence_id(id: &str) -> Option<(String, DateTime<Utc>)> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(id.strip_prefix(OCCURRENCE_PREFIX)?).ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (master, secs) = raw.rsplit_once('|')?;
    Some((master.to_string(), Utc.timestamp_opt(secs.parse().ok()?, 0).single()?))
}

/// Exchange's per-occurrence iCalUId: the series' global object id with the occurrence date
/// written into its instance-date bytes (16..20).
fn occurrence_ical_uid(uid: &str, date: NaiveDate) -> String {
    if uid.len() >= 40 && uid.is_char_boundary(32) && uid.is_char_boundary(40) && uid.starts_with("040000008200E00074C5B7101A82E008") {
        format!("{}{:04X}{:02X}{:02X}{}", &uid[..32], date.year(), date.month(), date.day(), &uid[40..])
    } else {
        uid.to_string()
    }
}

fn prop_wire_id(key: &str) -> &str {
    if key == CRM_KEY {
        CRM_PROP_ID
    } else {
        key
    }
}

fn prop_model_key(wire_id: &str) -> String {
    if same_prop_id(wire_id, CRM_PROP_ID) {
        CRM_KEY.to_string()
    } else {
        wire_id.trim().to_string()
    }
}

/// Property ids compare case-insensitively and ignoring spacing (GUIDs in any case).
fn same_prop_id(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ").to_ascii_lowercase();
    norm(a) == norm(b)
}

struct Shown<'a> {
    id: String,
    kind: &'static str,
    fields: &'a Fields,
    change_key: &'a str,
    original_start: Option<DateTime<Utc>>,
    ical_uid: String,
}

fn render(view: &View, ev: &Event, shown: Shown) -> Value {
    let f = shown.fields;
    let me = &view.mb.email;
    let is_organizer = ev.organizer.email.eq_ignore_ascii_case(me);
    let my_response = if is_organizer {
        "organizer"
    } else {
        f.attendees.iter().find(|a| a.email.eq_ignore_ascii_case(me)).map(|a| response_str(a.response)).unwrap_or("none")
    };
    let recurrence = if shown.kind == "seriesMaster" { rrule_lines_to_graph(&ev.recurrence, f) } else { Value::Null };
    let mut out = json!({
        "@odata.etag": format!("W/\"{}\"", shown.change_key),
        "id": shown.id,
        "createdDateTime": ev.created.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        "lastModifiedDateTime": ev.updated.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        "changeKey": shown.change_key,
        "categories": [],
        "transactionId": null,
        "originalStartTimeZone": f.time_zone,
        "originalEndTimeZone": f.time_zone,
        "iCalUId": shown.ical_uid,
        "reminderMinutesBeforeStart": 15,
        "isReminderOn": true,
        "hasAttachments": false,
        "subject": f.subject,
        "bodyPreview": body_preview(&f.body),
        "importance": "normal",
        "sensitivity": sensitivity_str(f.sensitivity),
        "isAllDay": f.is_all_day(),
        "isCancelled": ev.cancelled,
        "isOrganizer": is_organizer,
        "responseRequested": true,
        "seriesMasterId": if matches!(shown.kind, "occurrence" | "exception") { json!(ev.id) } else { Value::Null },
        "showAs": show_as_str(f.show_as),
        "type": shown.kind,
        "webLink": format!("https://outlook.office365.com/owa/?itemid={}&exvsurl=1&path=/calendar/item", shown.id),
        "onlineMeetingUrl": null,
        "isOnlineMeeting": false,
        "onlineMeetingProvider": "unknown",
        "allowNewTimeProposals": true,
        "isDraft": false,
        "hideAttendees": false,
    });
    let locations = if f.location.is_empty() { json!([]) } else { json!([{ "displayName": f.location, "locationType": "default", "uniqueIdType": "unknown" }]) };
    let attendees: Vec<Value> = f
        .attendees
        .iter()
        .map(|a| {
            json!({
                "type": if a.optional { "optional" } else { "required" },
                "status": { "response": response_str(a.response), "time": "0001-01-01T00:00:00Z" },
                "emailAddress": { "name": a.name, "address": a.email },
            })
        })
        .collect();
    let more = json!({
        "responseStatus": { "response": my_response, "time": "0001-01-01T00:00:00Z" },
        "body": body_json(&f.body, view.prefer),
        "start": date_time_tz(f.start, view.prefer),
        "end": date_time_tz(f.end, view.prefer),
        "location": location_json(&f.location),
        "locations": locations,
        "recurrence": recurrence,
        "attendees": attendees,
        "organizer": email_json(&ev.organizer.email, &ev.organizer.name),
        "onlineMeeting": null,
    });
    if let (Value::Object(out), Value::Object(more)) = (&mut out, more) {
        out.extend(more);
    }
    if let Some(orig) = shown.original_start {
        out["originalStart"] = json!(orig.to_rfc3339_opts(SecondsFormat::Secs, true));
    }
    if let Some(filter) = &view.props {
        let props: Vec<Value> = ev
            .private_props
            .iter()
            .filter(|(k, _)| filter.as_deref().is_none_or(|want| same_prop_id(prop_wire_id(k), want)))
            .map(|(k, v)| json!({ "id": prop_wire_id(k), "value": v }))
            .collect();
        out["singleValueExtendedProperties"] = json!(props);
    }
    out
}

fn render_event(view: &View, ev: &Event) -> Value {
    let kind = if ev.is_series() { "seriesMaster" } else { "singleInstance" };
    render(view, ev, Shown { id: ev.id.clone(), kind, fields: &ev.fields, change_key: &ev.change_key, original_start: None, ical_uid: ev.ical_uid.clone() })
}

fn render_instance(view: &View, master: &Event, inst: &Instance) -> Value {
    match (inst.kind, inst.original_start) {
        (InstanceKind::Single, _) | (_, None) => render_event(view, master),
        (kind, Some(slot)) => {
            let tz: Tz = inst.fields.time_zone.parse().unwrap_or(chrono_tz::UTC);
            let slot_date = match master.fields.start {
                When::Date(_) => slot.date_naive(),
                When::At(_) => slot.with_timezone(&tz).date_naive(),
            };
            render(
                view,
                master,
                Shown {
                    id: occurrence_id(&master.id, slot),
                    kind: if kind == InstanceKind::Exception { "exception" } else { "occurrence" },
                    fields: &inst.fields,
                    change_key: &inst.change_key,
                    original_start: Some(slot),
                    ical_uid: occurrence_ical_uid(&master.ical_uid, slot_date),
                },
            )
        }
    }
}

/// `$select`: keep only the named properties (plus id and the OData annotations).
fn apply_select(req: &Req, mut v: Value) -> Value {
    let Some(select) = req.param("select") else { return v };
    let wanted: Vec<String> = select.split(',').map(|s| s.trim().to_ascii_lowercase()).filter(|s| !s.is_empty()).collect();
    if let Value::Object(m) = &mut v {
        m.retain(|k, _| k == "id" || k.starts_with('@') || k == "singleValueExtendedProperties" || wanted.contains(&k.to_ascii_lowercase()));
    }
    v
}

/// `$expand=singleValueExtendedProperties($filter=id eq '…')`.
fn parse_expand(expand: Option<&str>) -> Result<Option<Option<String>>, GraphError> {
    let Some(expand) = expand.map(str::trim).filter(|e| !e.is_empty()) else { return Ok(None) };
    let lower = expand.to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("singlevalueextendedproperties") else {
        return Err(gerr(400, "BadRequest", format!("Parsing OData Select and Expand failed: Could not find a property named '{expand}' on type 'microsoft.graph.event'.")));
    };
    if rest.trim().is_empty() {
        return Ok(Some(None));
    }
    let start = expand.len() - rest.len();
    let inner = expand[start..].trim().strip_prefix('(').and_then(|s| s.strip_suffix(')')).ok_or_else(|| gerr(400, "BadRequest", "Malformed $expand."))?;
    let filter = inner.trim();
    let filter = filter.split_once('=').map(|(_, f)| f).filter(|_| filter.to_ascii_lowercase().trim_start_matches('$').starts_with("filter")).ok_or_else(|| gerr(400, "BadRequest", "Malformed $expand filter."))?;
    let (field, value) = parse_comparison(filter)?;
    if !field.eq_ignore_ascii_case("id") {
        return Err(gerr(400, "BadRequest", "Only id can filter an expanded extended property."));
    }
    Ok(Some(Some(value)))
}

/// `name eq 'value'` → (name, value); `''` is an escaped quote.
fn parse_comparison(term: &str) -> Result<(String, String), GraphError> {
    let bad = || gerr(400, "BadRequest", format!("Invalid filter clause: {term}"));
    let term = term.trim();
    let idx = term.to_ascii_lowercase().find(" eq ").ok_or_else(bad)?;
    let field = term[..idx].trim().to_string();
    let raw = term[idx + 4..].trim();
    let value = if let Some(q) = raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) { q.replace("''", "'") } else { raw.to_string() };
    Ok((field, value))
}

/// Splits on ` and ` outside quotes and parentheses.
fn split_and(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0usize);
    let lower = expr.to_ascii_lowercase();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth -= 1,
            b' ' if !quoted && depth == 0 && lower[i..].starts_with(" and ") => {
                out.push(expr[start..i].trim().to_string());
                i += 5;
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(expr[start..].trim().to_string());
    out
}

/// A `$filter` on events: `isAllDay eq …`, `subject eq '…'`, `type eq '…'`,
/// `sensitivity eq '…'`, `singleValueExtendedProperties/Any(ep: ep/id eq '…' and ep/value eq '…')`,
/// joined with `and`.
enum Term {
    Field(String, String),
    Prop { id: Option<String>, value: Option<String> },
}

fn parse_filter(req: &Req) -> Result<Vec<Term>, GraphError> {
    let Some(filter) = req.param("filter").map(str::trim).filter(|f| !f.is_empty()) else { return Ok(Vec::new()) };
    let mut terms = Vec::new();
    for term in split_and(filter) {
        let lower = term.to_ascii_lowercase();
        if let Some(rest) = lower.strip_prefix("singlevalueextendedproperties/any(") {
            let inner = &term[term.len() - rest.len()..];
            let inner = inner.strip_suffix(')').ok_or_else(|| gerr(400, "BadRequest", format!("Invalid filter clause: {term}")))?;
            let (var, cond) = inner.split_once(':').ok_or_else(|| gerr(400, "BadRequest", format!("Invalid filter clause: {term}")))?;
            let var = var.trim().to_ascii_lowercase();
            let (mut id, mut value) = (None, None);
            for c in split_and(cond) {
                let (field, v) = parse_comparison(&c)?;
                match field.to_ascii_lowercase().strip_prefix(&format!("{var}/")) {
                    Some("id") => id = Some(v),
                    Some("value") => value = Some(v),
                    _ => return Err(gerr(400, "BadRequest", format!("Invalid filter clause: {c}"))),
                }
            }
            terms.push(Term::Prop { id, value });
        } else {
            let (field, value) = parse_comparison(&term)?;
            let field = field.to_ascii_lowercase();
            if !matches!(field.as_str(), "isallday" | "subject" | "type" | "sensitivity" | "showas" | "icaluid") {
                return Err(gerr(400, "ErrorInvalidUrlQueryFilter", format!("The property '{field}' does not support filtering.")));
            }
            terms.push(Term::Field(field, value));
        }
    }
    Ok(terms)
}

fn matches_filter(terms: &[Term], ev: &Event, rendered: &Value) -> bool {
    terms.iter().all(|t| match t {
        Term::Prop { id, value } => ev.private_props.iter().any(|(k, v)| {
            id.as_deref().is_none_or(|want| same_prop_id(prop_wire_id(k), want)) && value.as_deref().is_none_or(|want| v == want)
        }),
        Term::Field(field, want) => {
            let got = match field.as_str() {
                "isallday" => rendered["isAllDay"].to_string(),
                "subject" => rendered["subject"].as_str().unwrap_or_default().to_string(),
                "type" => rendered["type"].as_str().unwrap_or_default().to_string(),
                "sensitivity" => rendered["sensitivity"].as_str().unwrap_or_default().to_string(),
                "showas" => rendered["showAs"].as_str().unwrap_or_default().to_string(),
                "icaluid" => rendered["iCalUId"].as_str().unwrap_or_default().to_string(),
                _ => String::new(),
            };
            got.eq_ignore_ascii_case(want)
        }
    })
}

/// `$orderby=start/dateTime desc` and similar.
fn apply_orderby(req: &Req, items: &mut [(Value, DateTime<Utc>, DateTime<Utc>)]) -> Result<(), GraphError> {
    let Some(order) = req.param("orderby").map(str::trim).filter(|o| !o.is_empty()) else { return Ok(()) };
    let first = order.split(',').next().unwrap_or_default().trim();
    let mut words = first.split_whitespace();
    let field = words.next().unwrap_or_default().to_ascii_lowercase();
    let desc = words.next().is_some_and(|w| w.eq_ignore_ascii_case("desc"));
    match field.as_str() {
        "start/datetime" => items.sort_by_key(|i| i.1),
        "end/datetime" => items.sort_by_key(|i| i.2),
        "subject" | "lastmodifieddatetime" | "createddatetime" => {
            let key = match field.as_str() {
                "subject" => "subject",
                "lastmodifieddatetime" => "lastModifiedDateTime",
                _ => "createdDateTime",
            };
            items.sort_by(|a, b| a.0[key].as_str().unwrap_or_default().cmp(b.0[key].as_str().unwrap_or_default()))
        }
        _ => return Err(gerr(400, "BadRequest", format!("Could not find a property named '{field}' on type 'microsoft.graph.event'."))),
    }
    if desc {
        items.reverse();
    }
    Ok(())
}

/// A page of `items` by `$skip` and `$top` / `Prefer: odata.maxpagesize`, with a next link.
fn page(req: &Req, items: Vec<Value>, context: String) -> Result<Response, GraphError> {
    let skip = req.usize_param("skip")?.unwrap_or(0);
    let top = req.usize_param("top")?.or(req.prefer.max_page).unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let total = items.len();
    let value: Vec<Value> = items.into_iter().skip(skip).take(top).collect();
    let mut body = json!({ "@odata.context": context, "value": value });
    if skip + top < total {
        body["@odata.nextLink"] = json!(req.link_with(&["skip"], &[("$skip", (skip + top).to_string())]));
    }
    let mut resp = json_response(StatusCode::OK, body);
    if let Some((_, label)) = &req.prefer.tz {
        if let Ok(v) = HeaderValue::from_str(&format!("outlook.timezone=\"{label}\"")) {
            resp.headers_mut().insert("preference-applied", v);
        }
    }
    Ok(resp)
}

fn rrule_lines_to_graph(lines: &[String], f: &Fields) -> Value {
    let Some(rule) = recurrence::rrule_line(lines) else { return Value::Null };
    let (tz, local_start) = recurrence::rule_zone(f);
    // Rules written through another protocol may not fit Graph's patterns; Graph would not
    // have such a series, so it shows without a pattern rather than failing the listing.
    recurrence_json::from_rrule(rule, local_start, tz, &f.time_zone, false).unwrap_or(Value::Null)
}

// ---- reading the wire ----------------------------------------------------------------------

/// A `dateTimeTimeZone`: the instant, the wall-clock time and the zone.
struct WireTime {
    instant: DateTime<Utc>,
    local: NaiveDateTime,
    tz: Tz,
}

fn parse_date_time_tz(v: &Value, what: &str) -> Result<WireTime, GraphError> {
    let obj = v.as_object().ok_or_else(|| bad_request(format!("{what} must be a dateTimeTimeZone object")))?;
    let text = obj.get("dateTime").and_then(|d| d.as_str()).ok_or_else(|| bad_request(format!("{what}.dateTime is required")))?;
    let zone_name = obj.get("timeZone").and_then(|z| z.as_str()).unwrap_or("UTC");
    let tz = zone_by_name(zone_name).ok_or_else(|| gerr(400, "TimeZoneNotSupportedException", format!("A valid TimeZone value must be specified. The following TimeZone value is not supported: '{zone_name}'.")))?;
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        let instant = t.with_timezone(&Utc);
        return Ok(WireTime { instant, local: instant.with_timezone(&tz).naive_local(), tz });
    }
    let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M"))
        .or_else(|_| NaiveDate::parse_from_str(text, "%Y-%m-%d").map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default()))
        .map_err(|_| bad_request(format!("{what}.dateTime '{text}' is not a valid date and time")))?;
    Ok(WireTime { instant: domain::tz::local_to_utc(local, tz), local, tz })
}

/// A query-string instant: ISO 8601 with or without offset (without: UTC). A `+` in an
/// offset that arrived unencoded was decoded as a space.
fn parse_query_instant(v: &str) -> Option<DateTime<Utc>> {
    let v = v.trim().replace(' ', "+");
    if let Ok(t) = DateTime::parse_from_rfc3339(&v) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(&v, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(Utc.from_utc_datetime(&t));
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(&v, "%Y-%m-%dT%H:%M") {
        return Some(Utc.from_utc_datetime(&t));
    }
    NaiveDate::parse_from_str(&v, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| Utc.from_utc_datetime(&t))
}

fn window(req: &Req) -> Result<(DateTime<Utc>, DateTime<Utc>), GraphError> {
    let missing = || gerr(400, "ErrorInvalidParameter", "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.");
    let start = req.param("startDateTime").ok_or_else(missing)?;
    let end = req.param("endDateTime").ok_or_else(missing)?;
    let from = parse_query_instant(start).ok_or_else(|| gerr(400, "ErrorInvalidParameter", format!("The value '{start}' of parameter 'StartDateTime' is invalid.")))?;
    let to = parse_query_instant(end).ok_or_else(|| gerr(400, "ErrorInvalidParameter", format!("The value '{end}' of parameter 'EndDateTime' is invalid.")))?;
    if to < from {
        return Err(gerr(400, "ErrorInvalidParameter", "The parameter 'EndDateTime' must be later than 'StartDateTime'."));
    }
    Ok((from, to))
}

/// The writable event properties a POST or PATCH carried.
#[derive(Default)]
struct Incoming {
    subject: Option<String>,
    body: Option<String>,
    location: Option<String>,
    start: Option<WireTime>,
    end: Option<WireTime>,
    is_all_day: Option<bool>,
    sensitivity: Option<Sensitivity>,
    show_as: Option<ShowAs>,
    attendees: Option<Vec<(String, String, bool)>>,
    /// Some(None): `"recurrence": null` (the series becomes a single event).
    recurrence: Option<Option<Value>>,
    props: Vec<(String, String)>,
}

fn opt_str(m: &Map<String, Value>, key: &str) -> Result<Option<String>, GraphError> {
    match m.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(String::new())),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(bad_request(format!("{key} must be a string, got {other}"))),
    }
}

fn parse_incoming(m: &Map<String, Value>) -> Result<Incoming, GraphError> {
    let mut inc = Incoming { subject: opt_str(m, "subject")?, ..Incoming::default() };
    match m.get("body") {
        None | Some(Value::Null) => {}
        Some(Value::Object(b)) => inc.body = Some(opt_str(b, "content")?.unwrap_or_default()),
        Some(other) => return Err(bad_request(format!("body must be an itemBody object, got {other}"))),
    }
    match m.get("location") {
        None => {}
        Some(Value::Null) => inc.location = Some(String::new()),
        Some(Value::Object(l)) => inc.location = Some(opt_str(l, "displayName")?.unwrap_or_default()),
        Some(other) => return Err(bad_request(format!("location must be a location object, got {other}"))),
    }
    if let Some(v) = m.get("start").filter(|v| !v.is_null()) {
        inc.start = Some(parse_date_time_tz(v, "start")?);
    }
    if let Some(v) = m.get("end").filter(|v| !v.is_null()) {
        inc.end = Some(parse_date_time_tz(v, "end")?);
    }
    match m.get("isAllDay") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(b)) => inc.is_all_day = Some(*b),
        Some(other) => return Err(bad_request(format!("isAllDay must be a boolean, got {other}"))),
    }
    if let Some(s) = opt_str(m, "sensitivity")?.filter(|s| !s.is_empty()) {
        inc.sensitivity = Some(match s.to_ascii_lowercase().as_str() {
            "normal" => Sensitivity::Normal,
            "personal" => Sensitivity::Personal,
            "private" => Sensitivity::Private,
            "confidential" => Sensitivity::Confidential,
            _ => return Err(bad_request(format!("sensitivity '{s}' is not valid"))),
        });
    }
    if let Some(s) = opt_str(m, "showAs")?.filter(|s| !s.is_empty()) {
        inc.show_as = Some(match s.to_ascii_lowercase().as_str() {
            "free" => ShowAs::Free,
            "tentative" => ShowAs::Tentative,
            "busy" | "unknown" => ShowAs::Busy,
            "oof" => ShowAs::Oof,
            "workingelsewhere" => ShowAs::WorkingElsewhere,
            _ => return Err(bad_request(format!("showAs '{s}' is not valid"))),
        });
    }
    match m.get("attendees") {
        None => {}
        Some(Value::Null) => inc.attendees = Some(Vec::new()),
        Some(Value::Array(list)) => {
            let mut out = Vec::new();
            for a in list {
                let addr = a.pointer("/emailAddress/address").and_then(|v| v.as_str()).map(str::trim).filter(|s| s.contains('@'));
                let addr = addr.ok_or_else(|| bad_request("every attendee needs emailAddress.address"))?;
                let name = a.pointer("/emailAddress/name").and_then(|v| v.as_str()).unwrap_or_default();
                let optional = a.get("type").and_then(|t| t.as_str()).is_some_and(|t| t.eq_ignore_ascii_case("optional"));
                if !out.iter().any(|(e, _, _): &(String, String, bool)| e.eq_ignore_ascii_case(addr)) {
                    out.push((addr.to_ascii_lowercase(), name.to_string(), optional));
                }
            }
            inc.attendees = Some(out);
        }
        Some(other) => return Err(bad_request(format!("attendees must be a list, got {other}"))),
    }
    match m.get("recurrence") {
        None => {}
        Some(Value::Null) => inc.recurrence = Some(None),
        Some(v @ Value::Object(_)) => inc.recurrence = Some(Some(v.clone())),
        Some(other) => return Err(bad_request(format!("recurrence must be a patternedRecurrence, got {other}"))),
    }
    match m.get("singleValueExtendedProperties") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for p in list {
                let id = p.get("id").and_then(|v| v.as_str()).map(str::trim).filter(|s| !s.is_empty());
                let id = id.ok_or_else(|| bad_request("every singleValueExtendedProperty needs an id"))?;
                let value = p.get("value").and_then(|v| v.as_str()).ok_or_else(|| bad_request("every singleValueExtendedProperty needs a string value"))?;
                inc.props.push((prop_model_key(id), value.to_string()));
            }
        }
        Some(other) => return Err(bad_request(format!("singleValueExtendedProperties must be a list, got {other}"))),
    }
    Ok(inc)
}

fn midnight_date(t: &WireTime, what: &str) -> Result<NaiveDate, GraphError> {
    if t.local.time() != chrono::NaiveTime::MIN {
        return Err(bad_request(format!("The {what} of an all-day event must be at midnight.")));
    }
    Ok(t.local.date())
}

/// Applies `inc` to `f` (keeping attendees' responses).
fn apply_incoming(inc: &Incoming, f: &mut Fields) -> Result<(), GraphError> {
    if let Some(s) = &inc.subject {
        f.subject = s.clone();
    }
    if let Some(b) = &inc.body {
        f.body = b.clone();
    }
    if let Some(l) = &inc.location {
        f.location = l.clone();
    }
    if let Some(s) = inc.sensitivity {
        f.sensitivity = s;
    }
    if let Some(s) = inc.show_as {
        f.show_as = s;
    }
    if let Some(list) = &inc.attendees {
        let old = std::mem::take(&mut f.attendees);
        f.attendees = list
            .iter()
            .map(|(email, name, optional)| {
                let prior = old.iter().find(|a| a.email.eq_ignore_ascii_case(email));
                Attendee {
                    email: email.clone(),
                    name: if name.is_empty() { prior.map(|a| a.name.clone()).unwrap_or_default() } else { name.clone() },
                    response: prior.map(|a| a.response).unwrap_or_default(),
                    optional: *optional,
                }
            })
            .collect();
    }
    if let Some(s) = &inc.start {
        f.time_zone = s.tz.name().to_string();
    }
    let tz: Tz = f.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let all_day = inc.is_all_day.unwrap_or(f.is_all_day());
    if all_day {
        f.start = match (&inc.start, f.start) {
            (Some(t), _) => When::Date(midnight_date(t, "start")?),
            (None, When::At(t)) => When::Date(t.with_timezone(&tz).date_naive()),
            (None, d) => d,
        };
        f.end = match (&inc.end, f.end) {
            (Some(t), _) => When::Date(midnight_date(t, "end")?),
            (None, When::At(t)) => {
                let local = t.with_timezone(&tz);
                let d = local.date_naive();
                When::Date(if local.time() == chrono::NaiveTime::MIN { d } else { d + Duration::days(1) })
            }
            (None, d) => d,
        };
    } else {
        f.start = match (&inc.start, f.start) {
            (Some(t), _) => When::At(t.instant),
            (None, When::Date(d)) => When::At(domain::tz::start_of_day(d, tz)),
            (None, at) => at,
        };
        f.end = match (&inc.end, f.end) {
            (Some(t), _) => When::At(t.instant),
            (None, When::Date(d)) => When::At(domain::tz::start_of_day(d, tz)),
            (None, at) => at,
        };
    }
    Ok(())
}

/// Graph mails attendees when the organiser changes what the invitation shows.
fn invitation_relevant(before: &Fields, after: &Fields) -> bool {
    let emails = |f: &Fields| f.attendees.iter().map(|a| a.email.to_ascii_lowercase()).collect::<Vec<_>>();
    before.subject != after.subject
        || before.body != after.body
        || before.location != after.location
        || before.start != after.start
        || before.end != after.end
        || emails(before) != emails(after)
}

fn rrule_lines(inc: &Incoming, f: &Fields) -> Result<Option<Vec<String>>, GraphError> {
    match &inc.recurrence {
        None => Ok(None),
        Some(None) => Ok(Some(Vec::new())),
        Some(Some(rec)) => {
            let (tz, local_start) = recurrence::rule_zone(f);
            let rule = match f.start {
                // An all-day series' end date is a floating date like its start, whatever
                // recurrenceTimeZone says.
                When::Date(_) => recurrence_json::from_json(rec, local_start.date())
                    .map(|(r, _)| domain::recurrence::to_rrule(&r, tz, false)),
                When::At(_) => recurrence_json::to_rrule(rec, local_start, tz, false),
            }
            .map_err(|e| gerr(400, "ErrorPropertyValidationFailure", e.0))?;
            Ok(Some(vec![format!("RRULE:{rule}")]))
        }
    }
}

// ---- events --------------------------------------------------------------------------------

enum Target {
    Event(Event),
    Occurrence(Event, Instance),
}

fn resolve(s: &State, email: &str, id: &str) -> Result<Target, GraphError> {
    if let Ok(ev) = s.event(email, id) {
        return Ok(Target::Event(ev.clone()));
    }
    let (master, slot) = decode_occurrence_id(id).ok_or_else(not_found)?;
    let ev = s.event(email, &master).map_err(|_| not_found())?;
    let inst = recurrence::occurrence(ev, slot).map_err(model_error)?;
    Ok(Target::Occurrence(ev.clone(), inst))
}

fn entity_context(req: &Req, mb: &Mailbox) -> String {
    format!("{}/$metadata#users('{}')/events/$entity", req.base, mb.uid)
}

fn with_context(mut v: Value, context: String) -> Value {
    if let Value::Object(m) = &mut v {
        let mut out = Map::new();
        out.insert("@odata.context".into(), json!(context));
        out.extend(std::mem::take(m));
        *m = out;
    }
    v
}

fn list_events(emu: &Emulator, req: &Req, mb: &Mailbox) -> Result<Response, GraphError> {
    let view = view(req, mb)?;
    let terms = parse_filter(req)?;
    let mut items = emu.with_state(|s| -> Result<Vec<(Value, DateTime<Utc>, DateTime<Utc>)>, GraphError> {
        let cal = s.calendar(&mb.email).map_err(model_error)?;
        let mut out = Vec::new();
        for ev in cal.events.values() {
            let v = render_event(&view, ev);
            if matches_filter(&terms, ev, &v) {
                out.push((v, ev.fields.start_utc(), ev.fields.end_utc()));
            }
        }
        Ok(out)
    })?;
    items.sort_by_key(|i| i.1);
    apply_orderby(req, &mut items)?;
    let values = items.into_iter().map(|(v, _, _)| apply_select(req, v)).collect();
    page(req, values, format!("{}/$metadata#users('{}')/events", req.base, mb.uid))
}

fn get_event(emu: &Emulator, req: &Req, mb: &Mailbox, id: &str) -> Result<Response, GraphError> {
    let view = view(req, mb)?;
    let v = emu.with_state(|s| -> Result<Value, GraphError> {
        Ok(match resolve(s, &mb.email, id)? {
            Target::Event(ev) => render_event(&view, &ev),
            Target::Occurrence(master, inst) => render_instance(&view, &master, &inst),
        })
    })?;
    Ok(json_response(StatusCode::OK, with_context(apply_select(req, v), entity_context(req, mb))))
}

fn create_event(emu: &Emulator, req: &Req, mb: &Mailbox) -> Result<Response, GraphError> {
    let body = req.json_body()?;
    let inc = parse_incoming(&body)?;
    if inc.start.is_none() || inc.end.is_none() {
        return Err(bad_request("An event needs a start and an end."));
    }
    let now = Utc::now();
    let mut fields = Fields {
        subject: String::new(),
        body: String::new(),
        location: String::new(),
        start: When::At(now),
        end: When::At(now),
        time_zone: "UTC".into(),
        sensitivity: Sensitivity::Normal,
        show_as: ShowAs::Busy,
        attendees: Vec::new(),
    };
    apply_incoming(&inc, &mut fields)?;
    let recurrence = rrule_lines(&inc, &fields)?.unwrap_or_default();
    let private_props: BTreeMap<String, String> = inc.props.iter().cloned().collect();
    // No switch on Graph: saving a meeting with attendees invites them.
    let send = if fields.attendees.is_empty() { Send::None } else { Send::All };
    let view = View { mb, prefer: &req.prefer, props: None };
    let v = emu.with_state(|s| {
        let new = NewEvent { id: None, ical_uid: None, fields, recurrence, private_props, shared_props: BTreeMap::new() };
        s.create_event(&mb.email, new, send).map(|ev| render_event(&view, &ev)).map_err(model_error)
    })?;
    Ok(json_response(StatusCode::CREATED, with_context(v, entity_context(req, mb))))
}

fn patch_event(emu: &Emulator, req: &Req, mb: &Mailbox, id: &str) -> Result<Response, GraphError> {
    let body = req.json_body()?;
    let inc = parse_incoming(&body)?;
    let if_match = req.if_match();
    let view = view(req, mb)?;
    let v = emu.with_state(|s| -> Result<Value, GraphError> {
        match resolve(s, &mb.email, id)? {
            Target::Event(ev) => {
                let mut fields = ev.fields.clone();
                apply_incoming(&inc, &mut fields)?;
                let recurrence = rrule_lines(&inc, &fields)?.unwrap_or_else(|| ev.recurrence.clone());
                let send = if invitation_relevant(&ev.fields, &fields) { Send::All } else { Send::None };
                let props = inc.props.clone();
                let updated = s
                    .update_event(&mb.email, id, if_match.as_deref(), send, |e| {
                        e.fields = fields;
                        e.recurrence = recurrence;
                        e.private_props.extend(props);
                        Ok(())
                    })
                    .map_err(model_error)?;
                Ok(render_event(&view, &updated))
            }
            Target::Occurrence(master, inst) => {
                if inc.recurrence.is_some() {
                    return Err(bad_request("The recurrence of a single occurrence cannot be changed."));
                }
                let slot = inst.original_start.ok_or_else(not_found)?;
                let mut fields = inst.fields.clone();
                apply_incoming(&inc, &mut fields)?;
                let send = if invitation_relevant(&inst.fields, &fields) { Send::All } else { Send::None };
                let updated = s
                    .update_occurrence(&mb.email, &master.id, slot, if_match.as_deref(), send, |f| {
                        *f = fields;
                        Ok(())
                    })
                    .map_err(model_error)?;
                let master = s.event(&mb.email, &master.id).map_err(model_error)?.clone();
                Ok(render_instance(&view, &master, &updated))
            }
        }
    })?;
    Ok(json_response(StatusCode::OK, with_context(v, entity_context(req, mb))))
}

fn delete_event(emu: &Emulator, req: &Req, mb: &Mailbox, id: &str) -> Result<Response, GraphError> {
    let if_match = req.if_match();
    emu.with_state(|s| -> Result<(), GraphError> {
        match resolve(s, &mb.email, id)? {
            // The organiser's delete cancels the meeting for everyone (the model only mails
            // when the deleting mailbox organises it).
            Target::Event(_) => s.delete_event(&mb.email, id, if_match.as_deref(), Send::All).map(|_| ()).map_err(model_error),
            Target::Occurrence(master, inst) => {
                if if_match.as_deref().is_some_and(|k| k != inst.change_key) {
                    return Err(model_error(ModelError::Conflict));
                }
                let slot = inst.original_start.ok_or_else(not_found)?;
                s.cancel_occurrence(&mb.email, &master.id, slot, Send::All).map_err(model_error)
            }
        }
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn instances(emu: &Emulator, req: &Req, mb: &Mailbox, id: &str) -> Result<Response, GraphError> {
    let (from, to) = window(req)?;
    let view = view(req, mb)?;
    let values = emu.with_state(|s| -> Result<Vec<Value>, GraphError> {
        let master = s.event(&mb.email, id).map_err(model_error)?;
        if !master.is_series() {
            return Ok(Vec::new());
        }
        let mut list = recurrence::instances(master, from, to, false);
        list.sort_by_key(|i| i.fields.start_utc());
        Ok(list.iter().map(|i| apply_select(req, render_instance(&view, master, i))).collect())
    })?;
    page(req, values, format!("{}/$metadata#users('{}')/events('{}')/instances", req.base, mb.uid, id))
}

fn calendar_view(emu: &Emulator, req: &Req, mb: &Mailbox) -> Result<Response, GraphError> {
    let (from, to) = window(req)?;
    let view = view(req, mb)?;
    let terms = parse_filter(req)?;
    let mut items = emu.with_state(|s| -> Result<Vec<(Value, DateTime<Utc>, DateTime<Utc>)>, GraphError> {
        let cal = s.calendar(&mb.email).map_err(model_error)?;
        let mut out = Vec::new();
        for inst in s.instances(&mb.email, from, to, false).map_err(model_error)? {
            let Some(master) = cal.events.get(&inst.event_id) else { continue };
            let v = render_instance(&view, master, &inst);
            if matches_filter(&terms, master, &v) {
                out.push((v, inst.fields.start_utc(), inst.fields.end_utc()));
            }
        }
        Ok(out)
    })?;
    apply_orderby(req, &mut items)?;
    let values = items.into_iter().map(|(v, _, _)| apply_select(req, v)).collect();
    page(req, values, format!("{}/$metadata#users('{}')/calendarView", req.base, mb.uid))
}

// ---- calendarView delta --------------------------------------------------------------------

/// What the client holds after a round: instance id → change key.
type Known = BTreeMap<String, String>;

fn token_error(expired: bool) -> GraphError {
    if expired {
        gerr(410, "syncStateNotFound", "The sync state generation is not found. Start a new synchronization round.")
    } else {
        gerr(410, "syncStateInvalid", "The sync state is invalid. Start a new synchronization round.")
    }
}

fn removed_json(id: &str) -> Value {
    json!({ "@odata.type": "#microsoft.graph.event", "id": id, "@removed": { "reason": "deleted" } })
}

/// The instances in the window now: id → change key.
fn current_instances(s: &State, email: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Known, GraphError> {
    let mut out = Known::new();
    for inst in s.instances(email, from, to, false).map_err(model_error)? {
        let id = match inst.original_start {
            Some(slot) if inst.kind != InstanceKind::Single => occurrence_id(&inst.event_id, slot),
            _ => inst.event_id.clone(),
        };
        out.insert(id, inst.change_key.clone());
    }
    Ok(out)
}

fn delta(emu: &Emulator, req: &Req, mb: &Mailbox) -> Result<Response, GraphError> {
    let view = View { mb, prefer: &req.prefer, props: None };
    let skip_token = req.param("skiptoken").map(str::to_string);
    let delta_token = req.param("deltatoken").map(str::to_string);
    let fresh_window = if skip_token.is_none() && delta_token.is_none() { Some(window(req)?) } else { None };
    let page_size = req.prefer.max_page.or(req.usize_param("top")?).unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let body = emu.with_state(|s| -> Result<Value, GraphError> {
        let seq = s.calendar(&mb.email).map_err(model_error)?.seq;
        // (window, pending items as (id, removed), what the client holds after this round)
        let (from, to, pending, known): (DateTime<Utc>, DateTime<Utc>, Vec<(String, bool)>, Known) = if let Some(tok) = &skip_token {
            let c = s.cursor(Provider::Graph, tok).map_err(token_error)?;
            if c.mailbox != mb.email || c.data["kind"] != "page" {
                return Err(token_error(false));
            }
            let data: PageState = serde_json::from_value(c.data.clone()).map_err(|_| token_error(false))?;
            (data.from, data.to, data.pending, data.known)
        } else if let Some(tok) = &delta_token {
            let c = s.cursor(Provider::Graph, tok).map_err(token_error)?;
            if c.mailbox != mb.email || c.data["kind"] != "delta" {
                return Err(token_error(false));
            }
            let data: DeltaState = serde_json::from_value(c.data.clone()).map_err(|_| token_error(false))?;
            let now = current_instances(s, &mb.email, data.from, data.to)?;
            let mut pending: Vec<(String, bool)> = data.known.keys().filter(|id| !now.contains_key(*id)).map(|id| (id.clone(), true)).collect();
            pending.extend(now.iter().filter(|(id, ck)| data.known.get(*id) != Some(*ck)).map(|(id, _)| (id.clone(), false)));
            (data.from, data.to, pending, now)
        } else {
            let (from, to) = fresh_window.expect("set when no token");
            let now = current_instances(s, &mb.email, from, to)?;
            let pending = now.keys().map(|id| (id.clone(), false)).collect();
            (from, to, pending, now)
        };
        let rest = pending.get(page_size..).map(<[_]>::to_vec).unwrap_or_default();
        let mut value = Vec::new();
        for (id, removed) in pending.into_iter().take(page_size) {
            if removed {
                value.push(removed_json(&id));
                continue;
            }
            let rendered = match resolve(s, &mb.email, &id) {
                Ok(Target::Event(ev)) => render_event(&view, &ev),
                Ok(Target::Occurrence(master, inst)) => render_instance(&view, &master, &inst),
                // Gone since the round started.
                Err(_) => removed_json(&id),
            };
            let mut with_type = Map::new();
            with_type.insert("@odata.type".into(), json!("#microsoft.graph.event"));
            if let Value::Object(m) = rendered {
                with_type.extend(m);
            }
            value.push(Value::Object(with_type));
        }
        let mut body = json!({ "@odata.context": format!("{}/$metadata#Collection(event)", req.base), "value": value });
        if rest.is_empty() {
            let data = serde_json::to_value(DeltaState { kind: "delta".into(), from, to, known }).unwrap_or_default();
            let tok = s.issue_cursor(Provider::Graph, &mb.email, seq, data);
            body["@odata.deltaLink"] = json!(format!("{}?$deltatoken={tok}", req.self_url));
        } else {
            let data = serde_json::to_value(PageState { kind: "page".into(), from, to, pending: rest, known }).unwrap_or_default();
            let tok = s.issue_cursor(Provider::Graph, &mb.email, seq, data);
            body["@odata.nextLink"] = json!(format!("{}?$skiptoken={tok}", req.self_url));
        }
        Ok(body)
    })?;
    Ok(json_response(StatusCode::OK, body))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct PageState {
    kind: String,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    pending: Vec<(String, bool)>,
    known: Known,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct DeltaState {
    kind: String,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    known: Known,
}

// ---- getSchedule ---------------------------------------------------------------------------

fn availability_digit(s: ShowAs) -> (u8, char) {
    // (rank for overlaps, digit): busy and away outrank tentative.
    match s {
        ShowAs::Free => (0, '0'),
        ShowAs::Tentative => (1, '1'),
        ShowAs::WorkingElsewhere => (2, '4'),
        ShowAs::Busy => (3, '2'),
        ShowAs::Oof => (4, '3'),
    }
}

fn get_schedule(emu: &Emulator, req: &Req, mb: &Mailbox) -> Result<Response, GraphError> {
    let body = req.json_body()?;
    let schedules: Vec<String> = match body.get("schedules") {
        Some(Value::Array(a)) if !a.is_empty() => a.iter().map(|v| v.as_str().map(str::to_string).ok_or_else(|| bad_request("schedules must be a list of addresses"))).collect::<Result<_, _>>()?,
        _ => return Err(bad_request("schedules is required")),
    };
    if schedules.len() > 100 {
        return Err(bad_request("At most 100 schedules can be requested at once."));
    }
    let from = parse_date_time_tz(body.get("startTime").unwrap_or(&Value::Null), "startTime")?.instant;
    let to = parse_date_time_tz(body.get("endTime").unwrap_or(&Value::Null), "endTime")?.instant;
    if to <= from {
        return Err(bad_request("endTime must be after startTime."));
    }
    if to - from > Duration::days(62) {
        return Err(bad_request("The requested time window is longer than 62 days."));
    }
    let interval = match body.get("availabilityViewInterval") {
        None | Some(Value::Null) => 30,
        Some(v) => v.as_i64().filter(|n| (5..=1440).contains(n)).ok_or_else(|| bad_request("availabilityViewInterval must be between 5 and 1440"))?,
    };
    let prefer = &req.prefer;
    let value = emu.with_state(|s| {
        schedules
            .iter()
            .map(|who| {
                let target = s.mailbox(who).filter(|m| m.provider == Provider::Graph).cloned();
                let Some(target) = target else {
                    return json!({
                        "scheduleId": who,
                        "availabilityView": "",
                        "scheduleItems": [],
                        "error": { "message": format!("The specified user {who} could not be found."), "responseCode": "ErrorMailRecipientNotFound" },
                    });
                };
                let cal = s.calendar(&target.email).ok();
                let mut busy: Vec<(DateTime<Utc>, DateTime<Utc>, ShowAs)> = Vec::new();
                let mut items = Vec::new();
                for inst in s.instances(&target.email, from, to, false).unwrap_or_default() {
                    let master = cal.and_then(|c| c.events.get(&inst.event_id));
                    if inst.fields.show_as == ShowAs::Free || master.is_some_and(|m| m.cancelled) {
                        continue;
                    }
                    let (start, end) = (inst.fields.start_utc(), inst.fields.end_utc());
                    busy.push((start, end, inst.fields.show_as));
                    let private = inst.fields.is_private();
                    let mut item = json!({
                        "isPrivate": private,
                        "status": show_as_str(inst.fields.show_as),
                        "start": date_time_tz(When::At(start), prefer),
                        "end": date_time_tz(When::At(end), prefer),
                    });
                    if !private {
                        item["subject"] = json!(inst.fields.subject);
                        item["location"] = json!(inst.fields.location);
                    }
                    items.push(item);
                }
                let slots = ((to - from).num_minutes() + interval - 1) / interval;
                let view: String = (0..slots)
                    .map(|i| {
                        let a = from + Duration::minutes(i * interval);
                        let b = a + Duration::minutes(interval);
                        busy.iter().filter(|(s, e, _)| *s < b && *e > a).map(|(_, _, st)| availability_digit(*st)).max().map(|(_, d)| d).unwrap_or('0')
                    })
                    .collect();
                let zone = windows_name(&target.time_zone);
                json!({
                    "scheduleId": who,
                    "availabilityView": view,
                    "scheduleItems": items,
                    "workingHours": {
                        "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                        "startTime": "08:00:00.0000000",
                        "endTime": "17:00:00.0000000",
                        "timeZone": { "name": zone },
                    },
                })
            })
            .collect::<Vec<_>>()
    });
    let _ = mb;
    Ok(json_response(
        StatusCode::OK,
        json!({ "@odata.context": format!("{}/$metadata#Collection(microsoft.graph.scheduleInformation)", req.base), "value": value }),
    ))
}

// ---- subscriptions -------------------------------------------------------------------------

fn subscription_json(req: &Req, sub: &Subscription) -> Value {
    let data = &sub.data;
    json!({
        "@odata.context": format!("{}/$metadata#subscriptions/$entity", req.base),
        "id": sub.id,
        "resource": data["resource"],
        "applicationId": data["applicationId"],
        "changeType": data["changeType"],
        "clientState": sub.secret,
        "notificationUrl": sub.url,
        "notificationQueryOptions": null,
        "lifecycleNotificationUrl": data["lifecycleNotificationUrl"],
        "expirationDateTime": graph_instant(sub.expires),
        "creatorId": data["userId"],
        "includeResourceData": false,
        "latestSupportedTlsVersion": "v1_2",
        "encryptionCertificate": null,
        "encryptionCertificateId": null,
        "notificationUrlAppId": null,
    })
}

fn graph_instant(t: DateTime<Utc>) -> String {
    format!("{}Z", graph_datetime(t.naive_utc()))
}

fn validation_error(message: impl Into<String>) -> GraphError {
    gerr(400, "ValidationError", message)
}

/// https, or (leniency for tests and the demo) plain http to this machine.
fn check_notification_url(raw: &str) -> Result<url::Url, GraphError> {
    let url = url::Url::parse(raw).map_err(|_| validation_error(format!("The notification URL '{raw}' is not a valid URL.")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(validation_error("The Notification Url must be an https URL.")),
    }
}

/// Graph's handshake: POST `url?validationToken=…` (text/plain); the endpoint must answer
/// 200 text/plain with the decoded token within 10 seconds.
async fn validate_endpoint(emu: &Emulator, mut url: url::Url) -> Result<(), GraphError> {
    let token = format!("Validation: Testing client application reachability for subscription Request-Id: {}", uuid::Uuid::new_v4());
    url.query_pairs_mut().append_pair("validationToken", &token);
    let attempt = async {
        let resp = emu.http().post(url.clone()).header(header::CONTENT_TYPE, "text/plain; charset=utf-8").body("").send().await.ok()?;
        let ok_type = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with("text/plain"));
        let status = resp.status();
        let body = resp.bytes().await.ok()?;
        Some((status, ok_type, body))
    };
    match tokio::time::timeout(StdDuration::from_secs(10), attempt).await {
        Err(_) => Err(validation_error("Subscription validation request timed out.")),
        Ok(None) => Err(validation_error("Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.")),
        Ok(Some((status, ok_type, body))) => {
            if status != reqwest::StatusCode::OK {
                return Err(validation_error(format!("Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request (got {status}).")));
            }
            if !ok_type || body.as_ref() != token.as_bytes() {
                return Err(validation_error("Subscription validation request failed. Response must exactly match validationToken query parameter."));
            }
            Ok(())
        }
    }
}

fn expiry(emu: &Emulator, body: &Map<String, Value>) -> Result<DateTime<Utc>, GraphError> {
    let raw = body.get("expirationDateTime").and_then(|v| v.as_str()).ok_or_else(|| validation_error("expirationDateTime is required."))?;
    let requested = parse_query_instant(raw).ok_or_else(|| validation_error(format!("expirationDateTime '{raw}' is not a valid date and time.")))?;
    let now = Utc::now();
    if requested <= now {
        return Err(validation_error("Subscription expiration must be in the future."));
    }
    let max = now + Duration::minutes(emu.config().graph_max_subscription_minutes);
    let min = now + Duration::minutes(45);
    // Graph bumps short expirations up to 45 minutes.
    Ok(requested.clamp(min.min(max), max))
}

/// `/me/events`, `/users/{id}/events`, optionally via `calendar/` or `calendars/{id}/`.
fn subscription_user(s: &State, me: &Mailbox, resource: &str) -> Result<Mailbox, GraphError> {
    let segs: Vec<String> = resource.trim().trim_start_matches('/').split('/').filter(|s| !s.is_empty()).map(percent_decode).collect();
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let (user, rest) = match l.as_slice() {
        ["me", rest @ ..] => (me.clone(), rest.to_vec()),
        ["users", _, rest @ ..] => (resolve_user(s, me, &segs[1])?, rest.to_vec()),
        _ => return Err(validation_error(format!("Resource '{resource}' is not supported."))),
    };
    match rest.as_slice() {
        ["events"] | ["calendar", "events"] => Ok(user),
        ["calendars", id, "events"] if *id == calendar_id(&user).to_ascii_lowercase() => Ok(user),
        _ => Err(validation_error(format!("Resource '{resource}' is not supported."))),
    }
}

async fn subscriptions(emu: &Emulator, req: &Req, me: &Mailbox) -> Result<Response, GraphError> {
    let id = req.segs.get(1).cloned();
    if req.segs.len() > 2 {
        return Err(gerr(400, "BadRequest", "Resource not found."));
    }
    let own = |s: &State, id: &str| -> Result<Subscription, GraphError> {
        s.subscriptions
            .get(id)
            .filter(|sub| sub.provider == Provider::Graph && sub.mailbox == me.email)
            .cloned()
            .ok_or_else(|| gerr(404, "ResourceNotFound", "The object was not found."))
    };
    match (&req.method, id) {
        (&Method::POST, None) => create_subscription(emu, req, me).await,
        (&Method::GET, None) => {
            let subs = emu.with_state(|s| s.subscriptions.values().filter(|sub| sub.provider == Provider::Graph && sub.mailbox == me.email).cloned().collect::<Vec<_>>());
            let value: Vec<Value> = subs.iter().map(|sub| subscription_json(req, sub)).collect();
            Ok(json_response(StatusCode::OK, json!({ "@odata.context": format!("{}/$metadata#subscriptions", req.base), "value": value })))
        }
        (&Method::GET, Some(id)) => Ok(json_response(StatusCode::OK, subscription_json(req, &emu.with_state(|s| own(s, &id))?))),
        (&Method::PATCH, Some(id)) => {
            let body = req.json_body()?;
            let expires = expiry(emu, &body)?;
            let sub = emu.with_state(|s| -> Result<Subscription, GraphError> {
                own(s, &id)?;
                let sub = s.subscriptions.get_mut(&id).ok_or_else(|| gerr(404, "ResourceNotFound", "The object was not found."))?;
                sub.expires = expires;
                Ok(sub.clone())
            })?;
            Ok(json_response(StatusCode::OK, subscription_json(req, &sub)))
        }
        (&Method::DELETE, Some(id)) => {
            emu.with_state(|s| -> Result<(), GraphError> {
                own(s, &id)?;
                s.subscriptions.remove(&id);
                Ok(())
            })?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Err(method_not_allowed()),
    }
}

async fn create_subscription(emu: &Emulator, req: &Req, me: &Mailbox) -> Result<Response, GraphError> {
    let body = req.json_body()?;
    let str_field = |k: &str| body.get(k).and_then(|v| v.as_str()).map(str::trim).filter(|s| !s.is_empty());
    let change_type = str_field("changeType").ok_or_else(|| validation_error("changeType is required."))?;
    let types: Vec<String> = change_type.split(',').map(|t| t.trim().to_string()).collect();
    if types.iter().any(|t| !matches!(t.as_str(), "created" | "updated" | "deleted")) {
        return Err(validation_error(format!("changeType '{change_type}' is not valid for events.")));
    }
    let resource = str_field("resource").ok_or_else(|| validation_error("resource is required."))?.to_string();
    let notification_url = check_notification_url(str_field("notificationUrl").ok_or_else(|| validation_error("notificationUrl is required."))?)?;
    let lifecycle_url = str_field("lifecycleNotificationUrl").map(check_notification_url).transpose()?;
    let client_state = str_field("clientState").map(str::to_string);
    if client_state.as_ref().is_some_and(|c| c.chars().count() > 128) {
        return Err(validation_error("clientState must be at most 128 characters."));
    }
    let expires = expiry(emu, &body)?;
    let user = emu.with_state(|s| subscription_user(s, me, &resource))?;
    validate_endpoint(emu, notification_url.clone()).await?;
    if let Some(url) = &lifecycle_url {
        validate_endpoint(emu, url.clone()).await?;
    }
    let sub = Subscription {
        id: uuid::Uuid::new_v4().to_string(),
        provider: Provider::Graph,
        mailbox: user.email.clone(),
        url: Some(notification_url.to_string()),
        secret: client_state,
        resource_id: resource.clone(),
        expires,
        message_number: 0,
        data: json!({
            "changeType": types.join(","),
            "resource": resource,
            "userId": user.uid,
            "applicationId": "7e0a1c4f-2b3d-4e5f-8a9b-0c1d2e3f4a5b",
            "lifecycleNotificationUrl": lifecycle_url.map(|u| u.to_string()),
        }),
    };
    emu.with_state(|s| s.subscriptions.insert(sub.id.clone(), sub.clone()));
    Ok(json_response(StatusCode::CREATED, subscription_json(req, &sub)))
}

/// The push notification for a change, in this provider's format (None: nothing to send).
/// `@odata.etag` is left out of resourceData (the note does not carry the change key); clients
/// must fetch or delta-sync anyway, as with Graph's basic notifications.
pub fn notification(sub: &Subscription, note: &ChangeNote) -> Option<PushRequest> {
    let change = match note.change {
        ChangeType::Created => "created",
        ChangeType::Updated => "updated",
        ChangeType::Deleted => "deleted",
    };
    let wanted = sub.data["changeType"].as_str().unwrap_or("created,updated,deleted");
    if !wanted.split(',').any(|t| t.trim().eq_ignore_ascii_case(change)) {
        return None;
    }
    let user = sub.data["userId"].as_str().unwrap_or_default();
    let resource = format!("Users/{user}/Events/{}", note.event_id);
    let body = json!({
        "value": [{
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": graph_instant(sub.expires),
            "changeType": change,
            "resource": resource,
            "resourceData": {
                "@odata.type": "#Microsoft.Graph.Event",
                "@odata.id": resource,
                "id": note.event_id,
            },
            "clientState": sub.secret,
            "tenantId": TENANT_ID,
        }]
    });
    Some(PushRequest { content_type: "application/json", headers: Vec::new(), body: body.to_string().into_bytes() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::utc;

    #[test]
    fn occurrence_ids_decode_to_master_and_slot() {
        let master = "AAMkAGabc-_DEF123AAA=";
        let id = occurrence_id(master, utc(2026, 3, 9, 8, 0));
        assert!(id.starts_with(OCCURRENCE_PREFIX));
        assert_eq!(decode_occurrence_id(&id), Some((master.to_string(), utc(2026, 3, 9, 8, 0))));
        assert_eq!(decode_occurrence_id(master), None);
        assert_eq!(decode_occurrence_id("AAMkAGOcc!!!"), None);
    }

    #[test]
    fn occurrence_ical_uids_carry_the_date() {
        let uid = format!("040000008200E00074C5B7101A82E00800000000{}", "AB".repeat(36));
        let occ = occurrence_ical_uid(&uid, NaiveDate::from_ymd_opt(2026, 3, 9).unwrap());
        assert_eq!(&occ[32..40], "07EA0309");
        assert_eq!(occ.len(), uid.len());
        assert_eq!(occurrence_ical_uid("abc@google.com", NaiveDate::from_ymd_opt(2026, 3, 9).unwrap()), "abc@google.com");
    }

    #[test]
    fn query_values_are_read_liberally() {
        assert_eq!(percent_decode("ann%40contoso.test"), "ann@contoso.test");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(parse_query_instant("2026-03-01T10:00:00 01:00"), Some(utc(2026, 3, 1, 9, 0)), "an unencoded + decodes as a space");
        assert_eq!(parse_query_instant("2026-03-01T10:00:00.0000000"), Some(utc(2026, 3, 1, 10, 0)));
        assert_eq!(parse_query_instant("2026-03-01"), Some(utc(2026, 3, 1, 0, 0)));
        assert_eq!(parse_query_instant("soon"), None);
    }

    #[test]
    fn filters_split_on_top_level_and() {
        let f = format!("singleValueExtendedProperties/Any(ep: ep/id eq '{CRM_PROP_ID}' and ep/value eq 'it''s') and isAllDay eq false");
        let parts = split_and(&f);
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert_eq!(parse_comparison("ep/value eq 'it''s'").unwrap(), ("ep/value".to_string(), "it's".to_string()));
        assert!(parse_comparison("subject ne 'x'").is_err());
        assert_eq!(parse_expand(Some(&format!("singleValueExtendedProperties($filter=id eq '{CRM_PROP_ID}')"))).unwrap(), Some(Some(CRM_PROP_ID.to_string())));
        assert_eq!(parse_expand(Some("singleValueExtendedProperties")).unwrap(), Some(None));
        assert!(parse_expand(Some("attachments")).is_err());
        assert!(same_prop_id(CRM_PROP_ID, "string {66F5A359-4659-4830-9070-00047EC6AC6E}  name CRMID"));
    }

    fn fields(start: When, end: When) -> Fields {
        Fields {
            subject: "S".into(),
            body: String::new(),
            location: String::new(),
            start,
            end,
            time_zone: "Europe/Copenhagen".into(),
            sensitivity: crate::model::Sensitivity::Normal,
            show_as: crate::model::ShowAs::Busy,
            attendees: vec![],
        }
    }

    #[test]
    fn recurrence_patterns_become_rrules_for_the_model() {
        // Thursday 29 January 2026, 09:00 in Copenhagen.
        let f = fields(When::At(utc(2026, 1, 29, 8, 0)), When::At(utc(2026, 1, 29, 9, 0)));
        let g = json!({ "pattern": { "type": "relativeMonthly", "daysOfWeek": ["thursday"], "index": "last", "interval": 2 },
                        "range": { "type": "endDate", "startDate": "2026-01-29", "endDate": "2026-12-31" } });
        let inc = Incoming { recurrence: Some(Some(g)), ..Default::default() };
        let lines = rrule_lines(&inc, &f).ok().flatten().unwrap();
        assert_eq!(lines, vec!["RRULE:FREQ=MONTHLY;INTERVAL=2;BYDAY=-1TH;UNTIL=20261231T225959Z".to_string()]);
        let back = rrule_lines_to_graph(&lines, &f);
        assert_eq!(back["pattern"]["type"], "relativeMonthly");
        assert_eq!(back["range"], json!({ "type": "endDate", "startDate": "2026-01-29", "endDate": "2026-12-31", "recurrenceTimeZone": "Europe/Copenhagen" }));
        let bad = json!({ "pattern": { "type": "weekly", "daysOfWeek": ["someday"] }, "range": { "type": "noEnd" } });
        let inc = Incoming { recurrence: Some(Some(bad)), ..Default::default() };
        assert!(rrule_lines(&inc, &f).is_err());
        // Rules from other protocols that Graph cannot show list without a pattern.
        assert_eq!(rrule_lines_to_graph(&["RRULE:FREQ=HOURLY".into()], &f), Value::Null);
    }

    #[test]
    fn all_day_series_end_on_floating_dates() {
        let day = |d| When::Date(NaiveDate::from_ymd_opt(2026, 1, d).unwrap());
        let mut f = fields(day(5), day(6));
        // West of UTC the end of the end date in the zone is the next day in UTC; the model
        // expands all-day series as UTC dates, so the end date must stay the end date.
        f.time_zone = "America/New_York".into();
        let g = json!({ "pattern": { "type": "daily", "interval": 1 },
                        "range": { "type": "endDate", "startDate": "2026-01-05", "endDate": "2026-01-10", "recurrenceTimeZone": "America/New_York" } });
        let inc = Incoming { recurrence: Some(Some(g)), ..Default::default() };
        let lines = rrule_lines(&inc, &f).ok().flatten().unwrap();
        assert_eq!(lines, vec!["RRULE:FREQ=DAILY;UNTIL=20260110T235959Z".to_string()]);
        assert_eq!(rrule_lines_to_graph(&lines, &f)["range"]["endDate"], "2026-01-10");
    }

    #[test]
    fn faults_use_the_graph_envelope() {
        let resp = fault_response(&FaultKind::Throttle { retry_after_ms: 1500 });
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "2");
        assert_eq!(fault_response(&FaultKind::Status { status: 503 }).status(), StatusCode::SERVICE_UNAVAILABLE);
        let e = gerr(404, "ErrorItemNotFound", "gone").into_response();
        assert_eq!(e.headers()[header::CONTENT_TYPE], "application/json");
    }

    #[test]
    fn notifications_honour_the_subscribed_change_types() {
        let sub = Subscription {
            id: "sub".into(),
            provider: Provider::Graph,
            mailbox: "ann@x.test".into(),
            url: Some("http://127.0.0.1:9/hook".into()),
            secret: Some("s".into()),
            resource_id: "/me/events".into(),
            expires: utc(2030, 1, 1, 0, 0),
            message_number: 0,
            data: json!({ "changeType": "created,deleted", "userId": "u-1" }),
        };
        let note = |change| ChangeNote { provider: Provider::Graph, mailbox: "ann@x.test".into(), event_id: "E1".into(), change };
        assert!(notification(&sub, &note(ChangeType::Updated)).is_none());
        let req = notification(&sub, &note(ChangeType::Created)).unwrap();
        let v: Value = serde_json::from_slice(&req.body).unwrap();
        let n = &v["value"][0];
        assert_eq!(n["subscriptionId"], "sub");
        assert_eq!(n["clientState"], "s");
        assert_eq!(n["changeType"], "created");
        assert_eq!(n["resource"], "Users/u-1/Events/E1");
        assert_eq!(n["resourceData"]["id"], "E1");
        assert_eq!(n["tenantId"], TENANT_ID);
    }
}
