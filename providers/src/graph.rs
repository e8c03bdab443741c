//! Microsoft Graph v1.0 calendar client (Office 365), JSON over reqwest.
//!
//! How the neutral trait maps onto Graph:
//! - **window**: `calendarView` (series expanded by the server), `Prefer: outlook.timezone="UTC"`
//!   so every dateTime comes back in UTC, the CRM id fetched with
//!   `$expand=singleValueExtendedProperties($filter=id eq '…')`.
//! - **changes**: `calendarView/delta` over the window. The cursor *is* Graph's
//!   `@odata.nextLink` (more pages) or `@odata.deltaLink` (next round); links are only followed
//!   when they stay under the configured base URL, so a hostile server cannot send us (and our
//!   token) elsewhere. Delta cannot `$expand`, so `crm_id` is `None` on delta results: the sync
//!   engine keeps the mapping it has by provider id (and `get` returns it when needed).
//!   Deletions (`@removed`) carry only the id: `series_id`/`original_start` are `None`.
//! - **invitations**: Graph has no "send" switch: saving a meeting with attendees mails them.
//!   So attendees are written only with [`SendInvitations::Yes`]; with `No`, a create has no
//!   attendees and an update leaves the attendee list alone. An update that changes the time,
//!   subject, place or body of an existing meeting still mails its attendees, and deleting a
//!   meeting one organises mails cancellations: Graph offers no way to avoid either.
//! - **versions**: `etag` is the `changeKey`; writes send `If-Match: W/"<changeKey>"`.
//! - **iCalUId**: Graph gives each occurrence its own iCalUId (the series' global object id
//!   with the occurrence date in bytes 16..20); occurrences here report the series' UID (date
//!   bytes zeroed), as Google and EWS do, so copies of a series tie together.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use domain::recurrence::graph as recurrence;
use domain::windows_zones::zone_by_name;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, IF_MATCH};
use reqwest::{Method, RequestBuilder};
use serde::Deserialize;
use serde_json::{json, Value};
use url::Url;

use crate::http::{self, HttpConfig};
use crate::{Changed, Attendee, BusyInterval, CalendarProvider, Change, ChangePage, EventDraft, EventKind, EventTime, FreeBusy, MailboxInfo,
    Notification, NotificationEvent, Person, ProviderError, ProviderEvent, ProviderKind, Response, Result, SendInvitations,
    Subscription, Window,};

/// The single-value extended property holding the CRM meeting id.
pub const CRM_PROP_ID: &str = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name crmId";
/// Items per calendarView / delta page we ask for.
const PAGE_SIZE: usize = 100;
/// A server that never stops paging is cut off here.
const MAX_PAGES: usize = 2_000;
/// Error bodies are read only this far.
const ERROR_BODY_LIMIT: usize = 64 * 1024;
/// Largest notification POST we parse.
const MAX_NOTIFICATION_BYTES: usize = 4 * 1024 * 1024;
/// getSchedule answers at most this span per call.
const SCHEDULE_SPAN_DAYS: i64 = 62;
const SCHEDULES_PER_CALL: usize = 20;

pub struct GraphCalendar {
    client: reqwest::Client,
    meter: Option<std::sync::Arc<http::CallMeter>>,
    max_body: usize,
    base: Url,
    token: String,
    /// `None`: `/me`; else `/users/{id or UPN}`.
    user: Option<String>,
}

impl GraphCalendar {
    /// `base_url`: `https://graph.microsoft.com/v1.0` (or the emulator's
    /// `http://127.0.0.1:PORT/graph/v1.0`); `user`: `None` for `/me` (delegated token), or a
    /// user id / UPN for `/users/{user}` (application token).
    pub fn new(http: &HttpConfig, base_url: &str, access_token: impl Into<String>, user: Option<&str>) -> Result<Self> {
        let mut base = http.check_url(base_url)?;
        if base.cannot_be_a_base() {
            return Err(ProviderError::InvalidUrl(format!("{base_url}: not a base URL")));
        }
        base.set_query(None);
        base.set_fragment(None);
        if let Ok(mut segs) = base.path_segments_mut() {
            segs.pop_if_empty();
        }
        let user = user.map(str::trim).filter(|u| !u.is_empty()).map(str::to_string);
        Ok(Self { client: http.client(), meter: http.meter.clone(), max_body: http.max_body_bytes, base, token: access_token.into(), user })
    }

    /// `{base}/me/<path…>` or `{base}/users/{user}/<path…>`.
    fn user_url(&self, path: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segs) = url.path_segments_mut() {
            match &self.user {
                None => {
                    segs.push("me");
                }
                Some(u) => {
                    segs.push("users").push(u);
                }
            }
            segs.extend(path);
        }
        url
    }

    fn root_url(&self, path: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segs) = url.path_segments_mut() {
            segs.extend(path);
        }
        url
    }

    fn request(&self, method: Method, url: Url) -> RequestBuilder {
        self.client
            .request(method, url)
            .header(AUTHORIZATION, format!("Bearer {}", self.token))
            .header(ACCEPT, "application/json")
            // Every dateTime in UTC; bodies as Outlook keeps them (HTML, with their links and
            // the Teams join link: asking for text would lose them on the next write).
            .header("Prefer", "outlook.timezone=\"UTC\"")
    }

    /// Sends; a success gives the parsed JSON body (Null when empty), a failure its error.
    async fn call(&self, req: RequestBuilder) -> Result<Value> {
        let resp = http::send(self.meter.as_deref(), req).await?;
        if !resp.status().is_success() {
            return Err(failure(resp).await);
        }
        let body = http::read_body(resp, self.max_body).await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&body).map_err(|e| ProviderError::Protocol(format!("Graph answered with invalid JSON: {e}")))
    }

    async fn call_as<T: for<'de> Deserialize<'de>>(&self, req: RequestBuilder) -> Result<T> {
        let v = self.call(req).await?;
        serde_json::from_value(v).map_err(|e| ProviderError::Protocol(format!("unexpected Graph answer: {e}")))
    }

    /// A next/delta link is followed only when it stays under the base URL.
    fn check_link(&self, link: &str) -> Result<Url> {
        let url = Url::parse(link).map_err(|e| ProviderError::Protocol(format!("Graph gave an invalid link {link:?}: {e}")))?;
        let same_origin = url.scheme() == self.base.scheme()
            && url.host_str().map(str::to_ascii_lowercase) == self.base.host_str().map(str::to_ascii_lowercase)
            && url.port_or_known_default() == self.base.port_or_known_default();
        let base_path = self.base.path().trim_end_matches('/');
        let under_base = url.path().len() > base_path.len()
            && url.path().starts_with(base_path)
            && url.path().as_bytes()[base_path.len()] == b'/';
        if same_origin && under_base && url.username().is_empty() && url.password().is_none() {
            Ok(url)
        } else {
            Err(ProviderError::Protocol(format!("Graph gave a link outside {}: {link}", self.base)))
        }
    }

    fn event_url(&self, id: &str) -> Result<Url> {
        if id.is_empty() {
            return Err(ProviderError::NotFound);
        }
        Ok(self.user_url(&["events", id]))
    }

    /// Follows `@odata.nextLink` from `first` and collects every event.
    async fn collect_pages(&self, first: Url) -> Result<Vec<ProviderEvent>> {
        let mut out = Vec::new();
        let mut url = first;
        for _ in 0..MAX_PAGES {
            let page: WirePage = self.call_as(self.request(Method::GET, url.clone())).await?;
            for w in page.value {
                out.push(to_event(w)?);
            }
            match page.next_link {
                Some(next) => {
                    let next = self.check_link(&next)?;
                    if next == url {
                        return Err(ProviderError::Protocol("Graph returned the same page link again".into()));
                    }
                    url = next;
                }
                None => return Ok(out),
            }
        }
        Err(ProviderError::Protocol(format!("Graph kept paging past {MAX_PAGES} pages")))
    }

    fn expand_crm() -> String {
        format!("singleValueExtendedProperties($filter=id eq '{CRM_PROP_ID}')")
    }
}

fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[async_trait]
impl CalendarProvider for GraphCalendar {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Graph
    }

    async fn validate(&self) -> Result<MailboxInfo> {
        let mut url = self.user_url(&[]);
        url.query_pairs_mut().append_pair("$select", "id,displayName,mail,userPrincipalName");
        let user: WireUser = self.call_as(self.request(Method::GET, url)).await?;
        let email = user
            .mail
            .filter(|m| !m.is_empty())
            .or(user.user_principal_name)
            .ok_or_else(|| ProviderError::Protocol("Graph user without mail or userPrincipalName".into()))?;
        // The zone needs MailboxSettings.Read; without it the mailbox still works.
        let settings = self.call(self.request(Method::GET, self.user_url(&["mailboxSettings"]))).await;
        let time_zone = match settings {
            Ok(v) => v.get("timeZone").and_then(Value::as_str).and_then(zone_by_name).map(|tz| tz.name().to_string()),
            Err(ProviderError::AccessDenied(_) | ProviderError::NotFound | ProviderError::Rejected { .. }) => None,
            Err(e) => return Err(e),
        };
        Ok(MailboxInfo { email, display_name: user.display_name.filter(|n| !n.is_empty()), time_zone })
    }

    async fn list_window(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<ProviderEvent>> {
        let mut url = self.user_url(&["calendarView"]);
        url.query_pairs_mut()
            .append_pair("startDateTime", &instant(from))
            .append_pair("endDateTime", &instant(to))
            .append_pair("$top", &PAGE_SIZE.to_string())
            .append_pair("$expand", &Self::expand_crm());
        self.collect_pages(url).await
    }

    async fn changes(&self, cursor: Option<&str>, window: Window) -> Result<ChangePage> {
        let url = match cursor {
            // A stored cursor that no longer fits the base URL (the base changed) cannot be
            // used: start a new round.
            Some(c) => self.check_link(c).map_err(|_| ProviderError::CursorExpired)?,
            None => {
                let mut url = self.user_url(&["calendarView", "delta"]);
                url.query_pairs_mut()
                    .append_pair("startDateTime", &instant(window.from))
                    .append_pair("endDateTime", &instant(window.to));
                url
            }
        };
        let req = self.request(Method::GET, url.clone()).header("Prefer", format!("odata.maxpagesize={PAGE_SIZE}"));
        let page: WirePage = self.call_as(req).await?;
        let mut changes = Vec::with_capacity(page.value.len());
        for w in page.value {
            if w.removed.is_some() {
                let id = w.id.ok_or_else(|| ProviderError::Protocol("a removed delta item without id".into()))?;
                changes.push(Change::Deleted { id, series_id: None, original_start: None });
            } else {
                changes.push(Change::Upserted(to_event(w)?));
            }
        }
        match (page.next_link, page.delta_link) {
            (Some(next), _) => {
                let next = self.check_link(&next)?;
                // The caller would fetch this same page forever.
                if next == url {
                    return Err(ProviderError::Protocol("Graph's delta returned the same page link again: the round would never end".into()));
                }
                Ok(ChangePage { changes, cursor: next.to_string(), more: true })
            }
            (None, Some(delta)) => Ok(ChangePage { changes, cursor: self.check_link(&delta)?.to_string(), more: false }),
            (None, None) => Err(ProviderError::Protocol("a delta page without nextLink or deltaLink".into())),
        }
    }

    async fn get(&self, id: &str) -> Result<ProviderEvent> {
        let mut url = self.event_url(id)?;
        url.query_pairs_mut().append_pair("$expand", &Self::expand_crm());
        to_event(self.call_as(self.request(Method::GET, url)).await?)
    }

    async fn find_by_crm_id(&self, crm_id: &str) -> Result<Option<ProviderEvent>> {
        let quoted = crm_id.replace('\'', "''");
        let mut url = self.user_url(&["events"]);
        url.query_pairs_mut()
            .append_pair("$filter", &format!("singleValueExtendedProperties/Any(ep: ep/id eq '{CRM_PROP_ID}' and ep/value eq '{quoted}')"))
            .append_pair("$expand", &Self::expand_crm())
            .append_pair("$top", "1");
        let page: WirePage = self.call_as(self.request(Method::GET, url)).await?;
        page.value.into_iter().next().map(to_event).transpose()
    }

    async fn create(&self, draft: &EventDraft, send: SendInvitations) -> Result<ProviderEvent> {
        let body = draft_json(draft, send == SendInvitations::Yes, true)?;
        let created: WireEvent = self.call_as(self.request(Method::POST, self.user_url(&["events"])).json(&body)).await?;
        let mut ev = to_event(created)?;
        if ev.crm_id.is_none() {
            ev.crm_id = draft.crm_id.clone();
        }
        Ok(ev)
    }

    async fn update_fields(&self, id: &str, etag: Option<&str>, draft: &EventDraft, changed: Changed, send: SendInvitations) -> Result<ProviderEvent> {
        let full = draft_json(draft, send == SendInvitations::Yes && changed.attendees, false)?;
        // PATCH changes only the properties it is given: an untouched body keeps its HTML and
        // its Teams link.
        let body = if changed.everything { full } else { patch_json(full, changed) };
        let mut req = self.request(Method::PATCH, self.event_url(id)?).json(&body);
        if let Some(tag) = etag {
            req = req.header(IF_MATCH, if_match(tag)?);
        }
        let v = self.call(req).await?;
        let mut ev = if v.is_null() {
            // `Prefer: return=minimal` style answers carry no body.
            self.get(id).await?
        } else {
            to_event(serde_json::from_value(v).map_err(|e| ProviderError::Protocol(format!("unexpected Graph answer: {e}")))?)?
        };
        if ev.crm_id.is_none() {
            ev.crm_id = draft.crm_id.clone();
        }
        Ok(ev)
    }

    async fn delete(&self, id: &str, etag: Option<&str>, _send: SendInvitations) -> Result<()> {
        // Graph always mails cancellations when the organiser deletes a meeting with
        // attendees; there is no switch (see the module notes).
        let mut req = self.request(Method::DELETE, self.event_url(id)?);
        if let Some(tag) = etag {
            req = req.header(IF_MATCH, if_match(tag)?);
        }
        self.call(req).await.map(|_| ())
    }

    async fn free_busy(&self, emails: &[String], from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<FreeBusy>> {
        let mut out: Vec<FreeBusy> = emails.iter().map(|e| FreeBusy { email: e.clone(), busy: Vec::new(), error: None }).collect();
        if to <= from || emails.is_empty() {
            return Ok(out);
        }
        for (chunk_no, chunk) in emails.chunks(SCHEDULES_PER_CALL).enumerate() {
            let mut start = from;
            while start < to {
                let end = (start + chrono::Duration::days(SCHEDULE_SPAN_DAYS)).min(to);
                let body = json!({
                    "schedules": chunk,
                    "startTime": { "dateTime": wire_local(start.naive_utc()), "timeZone": "UTC" },
                    "endTime": { "dateTime": wire_local(end.naive_utc()), "timeZone": "UTC" },
                    "availabilityViewInterval": 30,
                });
                let page: WireSchedulePage =
                    self.call_as(self.request(Method::POST, self.user_url(&["calendar", "getSchedule"])).json(&body)).await?;
                for info in page.value {
                    let Some(id) = info.schedule_id else { continue };
                    let Some(slot) = out[chunk_no * SCHEDULES_PER_CALL..]
                        .iter_mut()
                        .take(chunk.len())
                        .find(|f| f.email.eq_ignore_ascii_case(&id))
                    else {
                        continue;
                    };
                    if let Some(err) = info.error {
                        slot.error = Some(err.message.or(err.response_code).unwrap_or_else(|| "unavailable".into()));
                        continue;
                    }
                    for item in info.schedule_items.unwrap_or_default() {
                        let tentative = match item.status.as_deref().unwrap_or("busy") {
                            "free" | "unknown" => continue,
                            "tentative" | "workingElsewhere" => true,
                            _ => false,
                        };
                        let (Some(s), Some(e)) = (item.start, item.end) else { continue };
                        slot.busy.push(BusyInterval { start: wire_instant(&s)?, end: wire_instant(&e)?, tentative });
                    }
                }
                start = end;
            }
        }
        for f in &mut out {
            f.busy.sort_by_key(|b| b.start);
        }
        Ok(out)
    }

    async fn subscribe(&self, callback_url: &str, secret: &str, ttl: chrono::Duration) -> Result<Subscription> {
        let resource = match &self.user {
            None => "/me/events".to_string(),
            Some(u) => format!("/users/{u}/events"),
        };
        let body = json!({
            "changeType": "created,updated,deleted",
            "notificationUrl": callback_url,
            "resource": resource,
            "expirationDateTime": (Utc::now() + ttl).to_rfc3339_opts(SecondsFormat::Millis, true),
            "clientState": secret,
        });
        let sub: WireSubscription = self.call_as(self.request(Method::POST, self.root_url(&["subscriptions"])).json(&body)).await?;
        sub.into_subscription(secret, callback_url)
    }

    async fn renew(&self, sub: &Subscription, ttl: chrono::Duration) -> Result<Subscription> {
        let body = json!({ "expirationDateTime": (Utc::now() + ttl).to_rfc3339_opts(SecondsFormat::Millis, true) });
        let renewed: WireSubscription =
            self.call_as(self.request(Method::PATCH, self.root_url(&["subscriptions", &sub.id])).json(&body)).await?;
        renewed.into_subscription(&sub.secret, &sub.callback_url)
    }

    async fn unsubscribe(&self, sub: &Subscription) -> Result<()> {
        match self.call(self.request(Method::DELETE, self.root_url(&["subscriptions", &sub.id]))).await {
            // Already gone (expired or removed by Graph): nothing left to stop.
            Ok(_) | Err(ProviderError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

fn if_match(tag: &str) -> Result<HeaderValue> {
    let tag = tag.trim();
    let value = if tag.starts_with("W/") || tag.starts_with('"') { tag.to_string() } else { format!("W/\"{tag}\"") };
    HeaderValue::from_str(&value).map_err(|_| ProviderError::Rejected { status: 0, code: "InvalidEtag".into(), message: format!("unusable etag {tag:?}") })
}

// ---- errors --------------------------------------------------------------------------------

/// Maps a Graph error answer onto [`ProviderError`].
async fn failure(resp: reqwest::Response) -> ProviderError {
    let status = resp.status().as_u16();
    let retry_after = http::retry_after(resp.headers());
    let body = http::read_body(resp, ERROR_BODY_LIMIT).await.unwrap_or_default();
    let (code, message) = error_envelope(&body);
    classify(status, &code, message, retry_after)
}

fn error_envelope(body: &[u8]) -> (String, String) {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let code = v.pointer("/error/code").and_then(Value::as_str).unwrap_or_default().to_string();
    let message = v
        .pointer("/error/message")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned());
    (code, message)
}

fn classify(status: u16, code: &str, message: String, retry_after: Option<Duration>) -> ProviderError {
    match status {
        401 => ProviderError::InvalidCredentials(if code.is_empty() { message } else { format!("{code}: {message}") }),
        403 => ProviderError::AccessDenied(message),
        404 if matches!(code, "ErrorInvalidUser" | "MailboxNotEnabledForRESTAPI" | "ErrorNonExistentMailbox") => {
            ProviderError::MailboxNotFound(message)
        }
        404 => ProviderError::NotFound,
        400 if code == "ErrorInvalidIdMalformed" => ProviderError::NotFound,
        409 if code == "ErrorIrresolvableConflict" => ProviderError::Conflict,
        410 => ProviderError::CursorExpired,
        412 => ProviderError::Conflict,
        429 => ProviderError::Throttled { retry_after },
        503 if retry_after.is_some() => ProviderError::Throttled { retry_after },
        500..=599 => ProviderError::Server { status, message },
        _ => ProviderError::Rejected { status, code: code.to_string(), message },
    }
}

// ---- wire shapes ---------------------------------------------------------------------------

#[derive(Deserialize)]
struct WirePage {
    #[serde(default)]
    value: Vec<WireEvent>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink")]
    delta_link: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireUser {
    display_name: Option<String>,
    mail: Option<String>,
    user_principal_name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct WireEvent {
    id: Option<String>,
    #[serde(rename = "@odata.etag")]
    odata_etag: Option<String>,
    change_key: Option<String>,
    #[serde(rename = "iCalUId")]
    ical_uid: Option<String>,
    subject: Option<String>,
    body: Option<WireBody>,
    location: Option<WireLocation>,
    start: Option<WireTime>,
    end: Option<WireTime>,
    is_all_day: Option<bool>,
    sensitivity: Option<String>,
    show_as: Option<String>,
    attendees: Option<Vec<WireAttendee>>,
    organizer: Option<WireRecipient>,
    #[serde(rename = "type")]
    kind: Option<String>,
    series_master_id: Option<String>,
    original_start: Option<String>,
    original_start_time_zone: Option<String>,
    recurrence: Option<Value>,
    is_cancelled: Option<bool>,
    last_modified_date_time: Option<String>,
    single_value_extended_properties: Option<Vec<WireProp>>,
    #[serde(rename = "@removed")]
    removed: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct WireBody {
    content_type: Option<String>,
    content: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct WireLocation {
    display_name: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase", default)]
struct WireTime {
    date_time: Option<String>,
    time_zone: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct WireAttendee {
    email_address: Option<WireEmail>,
    status: Option<WireStatus>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct WireStatus {
    response: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct WireRecipient {
    email_address: Option<WireEmail>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct WireEmail {
    address: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WireProp {
    id: Option<String>,
    value: Option<String>,
}

#[derive(Deserialize)]
struct WireSchedulePage {
    #[serde(default)]
    value: Vec<WireSchedule>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct WireSchedule {
    schedule_id: Option<String>,
    schedule_items: Option<Vec<WireScheduleItem>>,
    error: Option<WireScheduleError>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct WireScheduleItem {
    status: Option<String>,
    start: Option<WireTime>,
    end: Option<WireTime>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct WireScheduleError {
    message: Option<String>,
    response_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireSubscription {
    id: String,
    expiration_date_time: String,
    client_state: Option<String>,
}

impl WireSubscription {
    fn into_subscription(self, secret: &str, callback_url: &str) -> Result<Subscription> {
        let expires_at = parse_instant(&self.expiration_date_time)
            .ok_or_else(|| ProviderError::Protocol(format!("subscription expiry {:?} is not a date", self.expiration_date_time)))?;
        Ok(Subscription {
            id: self.id,
            resource_id: None,
            callback_url: callback_url.to_string(),
            expires_at,
            secret: self.client_state.unwrap_or_else(|| secret.to_string()),
        })
    }
}

// ---- times ---------------------------------------------------------------------------------

/// `2017-04-15T12:00:00.0000000`: Graph's local date-time (7 fractional digits).
fn wire_local(t: NaiveDateTime) -> String {
    use chrono::Timelike;
    format!("{}.{:07}", t.format("%Y-%m-%dT%H:%M:%S"), t.nanosecond() / 100)
}

fn parse_local(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M"))
        .ok()
}

/// An RFC 3339 instant, or a zone-less date-time read as UTC.
fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| parse_local(text).map(|t| Utc.from_utc_datetime(&t)))
}

/// A `dateTimeTimeZone` as an instant (the zone may be IANA, Windows or UTC).
fn wire_instant(t: &WireTime) -> Result<DateTime<Utc>> {
    let text = t.date_time.as_deref().ok_or_else(|| ProviderError::Protocol("dateTimeTimeZone without dateTime".into()))?;
    if let Ok(with_offset) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(with_offset.with_timezone(&Utc));
    }
    let local = parse_local(text).ok_or_else(|| ProviderError::Protocol(format!("{text:?} is not a Graph date-time")))?;
    let zone = t.time_zone.as_deref().unwrap_or("UTC");
    let tz = zone_by_name(zone).ok_or_else(|| ProviderError::Protocol(format!("unknown time zone {zone:?}")))?;
    Ok(domain::tz::local_to_utc(local, tz))
}

/// The calendar date of an all-day bound (all-day events float: the date as written).
fn wire_date(t: &WireTime) -> Result<NaiveDate> {
    let text = t.date_time.as_deref().ok_or_else(|| ProviderError::Protocol("dateTimeTimeZone without dateTime".into()))?;
    parse_local(text)
        .map(|t| t.date())
        .or_else(|| DateTime::parse_from_rfc3339(text.trim()).ok().map(|t| t.naive_local().date()))
        .ok_or_else(|| ProviderError::Protocol(format!("{text:?} is not a Graph date-time")))
}

// ---- events --------------------------------------------------------------------------------

const GLOBAL_OBJECT_ID_CLASS: &str = "040000008200E00074C5B7101A82E008";

/// The series' UID from an occurrence's iCalUId (instance-date bytes zeroed).
fn series_uid(uid: &str) -> String {
    if uid.len() >= 40 && uid.is_ascii() && uid[..32].eq_ignore_ascii_case(GLOBAL_OBJECT_ID_CLASS) {
        format!("{}00000000{}", &uid[..32], &uid[40..])
    } else {
        uid.to_string()
    }
}

fn response_of(r: Option<&str>) -> Response {
    match r.unwrap_or("none") {
        "accepted" => Response::Accepted,
        "tentativelyAccepted" => Response::Tentative,
        "declined" => Response::Declined,
        "organizer" => Response::Organizer,
        _ => Response::NeedsAction,
    }
}

fn to_event(w: WireEvent) -> Result<ProviderEvent> {
    let id = w.id.filter(|i| !i.is_empty()).ok_or_else(|| ProviderError::Protocol("an event without id".into()))?;
    let start = w.start.ok_or_else(|| ProviderError::Protocol(format!("event {id} has no start")))?;
    let end = w.end.ok_or_else(|| ProviderError::Protocol(format!("event {id} has no end")))?;
    let all_day = w.is_all_day.unwrap_or(false);
    let (start_t, end_t) = if all_day {
        (EventTime::Date(wire_date(&start)?), EventTime::Date(wire_date(&end)?))
    } else {
        (EventTime::At(wire_instant(&start)?), EventTime::At(wire_instant(&end)?))
    };
    let zone = w.original_start_time_zone.as_deref().and_then(zone_by_name);
    let kind = match w.kind.as_deref() {
        Some("occurrence") => EventKind::Occurrence,
        Some("exception") => EventKind::Exception,
        Some("seriesMaster") => EventKind::SeriesMaster,
        _ => EventKind::Single,
    };
    let recurrence = match (&kind, &w.recurrence) {
        (EventKind::SeriesMaster, Some(rec)) if rec.is_object() => {
            let tz = zone.unwrap_or(chrono_tz::UTC);
            let local_start = match start_t {
                EventTime::At(t) => t.with_timezone(&tz).naive_local(),
                EventTime::Date(d) => d.and_time(chrono::NaiveTime::MIN),
            };
            Some(
                recurrence::to_rrule(rec, local_start, tz, all_day)
                    .map_err(|e| ProviderError::Protocol(format!("event {id}: {e}")))?,
            )
        }
        _ => None,
    };
    let etag = w.change_key.filter(|k| !k.is_empty()).or_else(|| {
        w.odata_etag.map(|e| e.trim().trim_start_matches("W/").trim_matches('"').to_string()).filter(|e| !e.is_empty())
    });
    let (description, description_html) = match w.body {
        Some(WireBody { content: Some(c), content_type }) => (c, content_type.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("html"))),
        _ => (String::new(), false),
    };
    let attendees = w
        .attendees
        .unwrap_or_default()
        .into_iter()
        .filter_map(|a| {
            let email = a.email_address.as_ref()?.address.clone().filter(|e| !e.is_empty())?;
            Some(Attendee {
                email,
                name: a.email_address.and_then(|e| e.name).filter(|n| !n.is_empty()),
                response: response_of(a.status.as_ref().and_then(|s| s.response.as_deref())),
                optional: a.kind.as_deref() == Some("optional"),
            })
        })
        .collect();
    let organizer = w.organizer.and_then(|o| o.email_address).and_then(|e| {
        Some(Person { email: e.address.filter(|a| !a.is_empty())?, name: e.name.filter(|n| !n.is_empty()) })
    });
    let crm_id = w
        .single_value_extended_properties
        .unwrap_or_default()
        .into_iter()
        .find(|p| p.id.as_deref().is_some_and(|i| same_prop_id(i, CRM_PROP_ID)))
        .and_then(|p| p.value);
    let ical_uid = w.ical_uid.filter(|u| !u.is_empty()).map(|u| match kind {
        EventKind::Occurrence | EventKind::Exception => series_uid(&u),
        _ => u,
    });
    Ok(ProviderEvent {
        ical_uid,
        etag,
        series_id: w.series_master_id.filter(|s| !s.is_empty() && matches!(kind, EventKind::Occurrence | EventKind::Exception)),
        original_start: w.original_start.as_deref().and_then(parse_instant),
        kind,
        subject: w.subject.unwrap_or_default(),
        location: w.location.and_then(|l| l.display_name).unwrap_or_default(),
        description,
        description_html,
        start: start_t,
        end: end_t,
        time_zone: zone.map(|z| z.name().to_string()),
        private: matches!(w.sensitivity.as_deref(), Some("private" | "confidential")),
        busy: w.show_as.as_deref() != Some("free"),
        organizer,
        attendees,
        crm_id,
        recurrence,
        cancelled: w.is_cancelled.unwrap_or(false),
        updated: w.last_modified_date_time.as_deref().and_then(parse_instant),
        id,
    })
}

fn same_prop_id(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ").to_ascii_lowercase();
    norm(a) == norm(b)
}

fn rejected(code: &str, message: impl Into<String>) -> ProviderError {
    ProviderError::Rejected { status: 0, code: code.into(), message: message.into() }
}

/// The JSON of a POST (`creating`) or PATCH for `d`. Attendees only when the write may mail
/// them (see the module notes).
/// The properties of a [`draft_json`] body that `changed` names.
fn patch_json(full: Value, changed: Changed) -> Value {
    let Value::Object(mut all) = full else { return full };
    let wanted = |key: &str| match key {
        "subject" => changed.subject,
        "body" => changed.description,
        "location" => changed.location,
        "start" | "end" | "isAllDay" => changed.time,
        "sensitivity" => changed.private,
        "attendees" => changed.attendees,
        "singleValueExtendedProperties" => changed.crm_id,
        _ => false,
    };
    all.retain(|k, _| wanted(k));
    Value::Object(all)
}

fn draft_json(d: &EventDraft, with_attendees: bool, creating: bool) -> Result<Value> {
    let zone_name = if d.time_zone.trim().is_empty() { "UTC" } else { d.time_zone.trim() };
    let tz = zone_by_name(zone_name).ok_or_else(|| rejected("InvalidTimeZone", format!("unknown time zone {zone_name:?}")))?;
    let (start, end, all_day, local_start) = match (d.start, d.end) {
        (EventTime::At(s), EventTime::At(e)) => {
            if e < s {
                return Err(rejected("InvalidRange", "the end is before the start"));
            }
            let ls = s.with_timezone(&tz).naive_local();
            (wire_local(ls), wire_local(e.with_timezone(&tz).naive_local()), false, ls)
        }
        (EventTime::Date(s), EventTime::Date(e)) => {
            if e <= s {
                return Err(rejected("InvalidRange", "an all-day event must end after the day it starts"));
            }
            let midnight = |d: NaiveDate| wire_local(d.and_hms_opt(0, 0, 0).unwrap_or_default());
            (midnight(s), midnight(e), true, s.and_hms_opt(0, 0, 0).unwrap_or_default())
        }
        _ => return Err(rejected("InvalidRange", "start and end must both be dates or both be times")),
    };
    let mut body = json!({
        "subject": d.subject,
        "body": { "contentType": if d.description_html { "html" } else { "text" }, "content": d.description },
        "location": { "displayName": d.location },
        "start": { "dateTime": start, "timeZone": zone_name },
        "end": { "dateTime": end, "timeZone": zone_name },
        "isAllDay": all_day,
        "sensitivity": if d.private { "private" } else { "normal" },
        "showAs": if d.busy { "busy" } else { "free" },
    });
    if with_attendees {
        body["attendees"] = d
            .attendees
            .iter()
            .map(|a| {
                json!({
                    "emailAddress": { "address": a.email, "name": a.name.clone().unwrap_or_default() },
                    "type": if a.optional { "optional" } else { "required" },
                })
            })
            .collect();
    }
    if let Some(rule) = d.recurrence.as_deref().filter(|r| !r.trim().is_empty()) {
        body["recurrence"] = recurrence::from_rrule(rule, local_start, tz, zone_name, all_day)
            .map_err(|e| rejected("UnsupportedRecurrence", e.0))?;
    } else if creating {
        body["recurrence"] = Value::Null;
    }
    if let Some(crm) = &d.crm_id {
        body["singleValueExtendedProperties"] = json!([{ "id": CRM_PROP_ID, "value": crm }]);
    }
    Ok(body)
}

// ---- push notifications --------------------------------------------------------------------

/// The `validationToken` of Graph's subscription handshake (`POST …?validationToken=…`),
/// URL-decoded: answer 200 `text/plain` with exactly this text.
pub fn validation_token(query: &str) -> Option<String> {
    let query = query.trim_start_matches('?');
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case("validationToken"))
        .map(|(_, v)| v.into_owned())
}

#[derive(Deserialize)]
struct WireNotifications {
    value: Vec<WireNotification>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireNotification {
    subscription_id: Option<String>,
    client_state: Option<String>,
    change_type: Option<String>,
    lifecycle_event: Option<String>,
}

/// Parses a change- or lifecycle-notification POST (`{"value":[…]}`). Compare each
/// `secret` with the subscription's clientState before acting.
pub fn parse_notifications(body: &[u8]) -> Result<Vec<Notification>> {
    if body.len() > MAX_NOTIFICATION_BYTES {
        return Err(ProviderError::TooLarge { limit: MAX_NOTIFICATION_BYTES });
    }
    let parsed: WireNotifications =
        serde_json::from_slice(body).map_err(|e| ProviderError::Protocol(format!("not a Graph notification: {e}")))?;
    parsed
        .value
        .into_iter()
        .map(|n| {
            let subscription_id = n
                .subscription_id
                .filter(|s| !s.is_empty())
                .ok_or_else(|| ProviderError::Protocol("a notification without subscriptionId".into()))?;
            let event = match (n.lifecycle_event.as_deref(), n.change_type.as_deref()) {
                (Some("reauthorizationRequired" | "subscriptionRemoved"), _) => NotificationEvent::SubscriptionEnded,
                // `missed`, and lifecycle events added later: resync to be safe.
                (Some(_), _) => NotificationEvent::Missed,
                (None, Some(_)) => NotificationEvent::Changed,
                (None, None) => return Err(ProviderError::Protocol("a notification without changeType or lifecycleEvent".into())),
            };
            Ok(Notification { subscription_id, secret: n.client_state, event })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn event(v: Value) -> Result<ProviderEvent> {
        to_event(serde_json::from_value(v).map_err(|e| ProviderError::Protocol(e.to_string()))?)
    }

    /// Shaped after Graph's documented `POST /me/events` answer (samples/graph/
    /// event_create_response_201.json), with our own values.
    #[test]
    fn maps_a_created_event_in_a_windows_zone() {
        let ev = event(json!({
            "@odata.etag": "W/\"ZlnW4RIAV06KYYwlrfNZvQAALfZeRQ==\"",
            "id": "AAMkAGI1AAAt9AHjAAA=",
            "lastModifiedDateTime": "2017-04-15T03:00:51.245372Z",
            "changeKey": "ZlnW4RIAV06KYYwlrfNZvQAALfZeRQ==",
            "originalStartTimeZone": "Pacific Standard Time",
            "iCalUId": "040000008200E00074C5B7101A82E00800000000DA2B357D94B5D2010000000000000000100000",
            "subject": "Brunch",
            "sensitivity": "confidential",
            "isAllDay": false,
            "isCancelled": false,
            "seriesMasterId": null,
            "showAs": "free",
            "type": "singleInstance",
            "body": { "contentType": "html", "content": "<html><body>Late <b>morning</b> &amp; coffee</body></html>" },
            "start": { "dateTime": "2017-04-15T11:00:00.0000000", "timeZone": "Pacific Standard Time" },
            "end": { "dateTime": "2017-04-15T12:00:00.0000000", "timeZone": "Pacific Standard Time" },
            "location": { "displayName": "Harry's Bar", "locationType": "default" },
            "recurrence": null,
            "attendees": [
                { "type": "required", "status": { "response": "tentativelyAccepted", "time": "0001-01-01T00:00:00Z" },
                  "emailAddress": { "name": "Sam", "address": "sam@contoso.test" } },
                { "type": "optional", "status": { "response": "none" }, "emailAddress": { "address": "opt@contoso.test" } },
                { "type": "required", "emailAddress": { "name": "no address" } }
            ],
            "organizer": { "emailAddress": { "name": "Dana", "address": "dana@contoso.test" } },
            "somethingNew": { "ignored": true }
        }))
        .unwrap();
        assert_eq!(ev.id, "AAMkAGI1AAAt9AHjAAA=");
        assert_eq!(ev.etag.as_deref(), Some("ZlnW4RIAV06KYYwlrfNZvQAALfZeRQ=="));
        // 11:00 Pacific Daylight Time = 18:00 UTC.
        assert_eq!(ev.start, EventTime::At(utc(2017, 4, 15, 18, 0)));
        assert_eq!(ev.end, EventTime::At(utc(2017, 4, 15, 19, 0)));
        assert_eq!(ev.time_zone.as_deref(), Some("America/Los_Angeles"));
        assert!(ev.private, "confidential counts as private");
        assert!(!ev.busy, "showAs free");
        assert_eq!((ev.description.as_str(), ev.description_html), ("<html><body>Late <b>morning</b> &amp; coffee</body></html>", true));
        assert_eq!(ev.location, "Harry's Bar");
        assert_eq!(ev.kind, EventKind::Single);
        assert_eq!(ev.attendees.len(), 2);
        assert_eq!(ev.attendees[0].response, Response::Tentative);
        assert!(ev.attendees[1].optional && ev.attendees[1].response == Response::NeedsAction);
        assert_eq!(ev.organizer, Some(Person { email: "dana@contoso.test".into(), name: Some("Dana".into()) }));
        assert_eq!(ev.updated, Some(Utc.with_ymd_and_hms(2017, 4, 15, 3, 0, 51).unwrap() + chrono::Duration::microseconds(245372)));
    }

    #[test]
    fn maps_occurrences_all_day_and_the_crm_property() {
        let occ = event(json!({
            "@odata.etag": "W/\"abc==\"",
            "id": "AAMkOcc1",
            "type": "exception",
            "seriesMasterId": "AAMkMaster",
            "originalStart": "2026-03-09T08:00:00Z",
            "iCalUId": "040000008200E00074C5B7101A82E00807EA0309AABBCCDD",
            "start": { "dateTime": "2026-03-10T13:00:00.0000000", "timeZone": "UTC" },
            "end": { "dateTime": "2026-03-10T13:30:00.0000000", "timeZone": "UTC" },
            "singleValueExtendedProperties": [
                { "id": "String {66F5A359-4659-4830-9070-00047EC6AC6E} Name crmId", "value": "MEET-9" }
            ]
        }))
        .unwrap();
        assert_eq!(occ.kind, EventKind::Exception);
        assert_eq!(occ.series_id.as_deref(), Some("AAMkMaster"));
        assert_eq!(occ.original_start, Some(utc(2026, 3, 9, 8, 0)));
        assert_eq!(occ.etag.as_deref(), Some("abc=="), "etag from @odata.etag when changeKey is absent");
        assert_eq!(occ.crm_id.as_deref(), Some("MEET-9"), "property ids compare case-insensitively");
        assert_eq!(occ.ical_uid.as_deref(), Some("040000008200E00074C5B7101A82E00800000000AABBCCDD"), "series UID");

        let day = event(json!({
            "id": "d", "isAllDay": true,
            "start": { "dateTime": "2026-05-04T00:00:00.0000000", "timeZone": "Tokyo Standard Time" },
            "end": { "dateTime": "2026-05-06T00:00:00.0000000", "timeZone": "Tokyo Standard Time" }
        }))
        .unwrap();
        assert_eq!(day.start, EventTime::Date(NaiveDate::from_ymd_opt(2026, 5, 4).unwrap()));
        assert_eq!(day.end, EventTime::Date(NaiveDate::from_ymd_opt(2026, 5, 6).unwrap()));
        assert!(day.busy && !day.private);
    }

    #[test]
    fn malformed_events_are_protocol_errors() {
        for bad in [
            json!({ "start": { "dateTime": "2026-01-01T00:00:00", "timeZone": "UTC" }, "end": { "dateTime": "2026-01-01T01:00:00", "timeZone": "UTC" } }),
            json!({ "id": "x", "end": { "dateTime": "2026-01-01T01:00:00", "timeZone": "UTC" } }),
            json!({ "id": "x", "start": { "dateTime": "yesterday", "timeZone": "UTC" }, "end": { "dateTime": "2026-01-01T01:00:00", "timeZone": "UTC" } }),
            json!({ "id": "x", "start": { "dateTime": "2026-01-01T00:00:00", "timeZone": "Mars/Olympus" }, "end": { "dateTime": "2026-01-01T01:00:00", "timeZone": "UTC" } }),
            json!({ "id": "x", "type": "seriesMaster", "recurrence": { "pattern": { "type": "hourly" }, "range": {} },
                    "start": { "dateTime": "2026-01-01T00:00:00", "timeZone": "UTC" }, "end": { "dateTime": "2026-01-01T01:00:00", "timeZone": "UTC" } }),
        ] {
            assert!(matches!(event(bad.clone()), Err(ProviderError::Protocol(_))), "{bad}");
        }
        assert!(serde_json::from_str::<WirePage>(r#"{"value": [{"id": 5}]}"#).is_err());
    }

    #[test]
    fn drafts_become_graph_json() {
        let d = EventDraft {
            subject: "Review".into(),
            location: "Room 1".into(),
            description: "Agenda".into(),
            description_html: false,
            start: EventTime::At(utc(2026, 7, 1, 7, 0)),
            end: EventTime::At(utc(2026, 7, 1, 8, 0)),
            time_zone: "Europe/Copenhagen".into(),
            private: true,
            busy: false,
            attendees: vec![Attendee::required("a@x.test")],
            crm_id: Some("MEET-1".into()),
            recurrence: Some("FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20261231T235959Z".into()),
        };
        let v = draft_json(&d, false, true).unwrap();
        assert_eq!(v["start"], json!({ "dateTime": "2026-07-01T09:00:00.0000000", "timeZone": "Europe/Copenhagen" }));
        assert_eq!(v["isAllDay"], json!(false));
        assert_eq!(v["sensitivity"], "private");
        assert_eq!(v["showAs"], "free");
        assert!(v.get("attendees").is_none(), "no attendees when not sending");
        assert_eq!(v["singleValueExtendedProperties"][0]["id"], CRM_PROP_ID);
        assert_eq!(v["recurrence"]["pattern"], json!({ "type": "relativeMonthly", "daysOfWeek": ["friday"], "index": "last", "interval": 1, "firstDayOfWeek": "sunday" }));
        // UNTIL 23:59:59Z on 31 December is 00:59:59 on 1 January in Copenhagen, before the
        // 09:00 start: the last occurrence may start on 31 December.
        assert_eq!(v["recurrence"]["range"], json!({ "type": "endDate", "startDate": "2026-07-01", "endDate": "2026-12-31", "recurrenceTimeZone": "Europe/Copenhagen" }));
        let v = draft_json(&d, true, false).unwrap();
        assert_eq!(v["attendees"][0]["emailAddress"]["address"], "a@x.test");

        let mut bad = d.clone();
        bad.recurrence = Some("FREQ=HOURLY".into());
        assert!(matches!(draft_json(&bad, false, true), Err(ProviderError::Rejected { code, .. }) if code == "UnsupportedRecurrence"));
        bad.recurrence = None;
        bad.end = EventTime::Date(NaiveDate::from_ymd_opt(2026, 7, 2).unwrap());
        assert!(matches!(draft_json(&bad, false, true), Err(ProviderError::Rejected { .. })));
        bad.end = d.end;
        bad.time_zone = "Nowhere/Special".into();
        assert!(matches!(draft_json(&bad, false, true), Err(ProviderError::Rejected { .. })));
    }

    #[test]
    fn errors_map_onto_provider_errors() {
        let e = |status, code: &str| classify(status, code, "m".into(), None);
        assert!(matches!(e(401, "InvalidAuthenticationToken"), ProviderError::InvalidCredentials(_)));
        assert!(matches!(e(403, "ErrorAccessDenied"), ProviderError::AccessDenied(_)));
        assert_eq!(e(404, "ErrorItemNotFound"), ProviderError::NotFound);
        assert!(matches!(e(404, "ErrorInvalidUser"), ProviderError::MailboxNotFound(_)));
        assert_eq!(e(412, "ErrorIrresolvableConflict"), ProviderError::Conflict);
        assert_eq!(e(409, "ErrorIrresolvableConflict"), ProviderError::Conflict);
        assert_eq!(e(410, "syncStateNotFound"), ProviderError::CursorExpired);
        assert_eq!(e(429, "TooManyRequests"), ProviderError::Throttled { retry_after: None });
        assert_eq!(
            classify(503, "ServiceNotAvailable", "m".into(), Some(Duration::from_secs(5))),
            ProviderError::Throttled { retry_after: Some(Duration::from_secs(5)) }
        );
        assert!(matches!(e(503, "ServiceNotAvailable"), ProviderError::Server { status: 503, .. }));
        assert!(matches!(e(400, "ErrorPropertyValidationFailure"), ProviderError::Rejected { status: 400, .. }));
        // The documented 429 envelope (samples/graph/error_429_TooManyRequests.json).
        let body = br#"{"error":{"code":"TooManyRequests","innerError":{"code":"429"},"message":"Please retry again later."}}"#;
        assert_eq!(error_envelope(body), ("TooManyRequests".to_string(), "Please retry again later.".to_string()));
        assert_eq!(error_envelope(b"<html>oops</html>").0, "");
    }

    #[test]
    fn validation_tokens_are_url_decoded() {
        assert_eq!(
            validation_token("validationToken=Validation%3A+Testing+client%20application&x=1").as_deref(),
            Some("Validation: Testing client application")
        );
        assert_eq!(validation_token("?validationtoken=abc").as_deref(), Some("abc"));
        assert_eq!(validation_token("other=1"), None);
    }

    #[test]
    fn notifications_parse_change_and_lifecycle_events() {
        // Shapes from samples/graph/change_notification.json and lifecycle_notification.json.
        let change = br##"{"value":[{"id":"lsgTZMr9KwAAA","subscriptionId":"sub-1","subscriptionExpirationDateTime":"2016-03-19T22:11:09.952Z",
            "clientState":"secretClientValue","changeType":"created","resource":"users/x/events/y","tenantId":"t",
            "resourceData":{"@odata.type":"#Microsoft.Graph.Event","id":"y"}}]}"##;
        let n = parse_notifications(change).unwrap();
        assert_eq!(n, vec![Notification { subscription_id: "sub-1".into(), secret: Some("secretClientValue".into()), event: NotificationEvent::Changed }]);
        let life = br#"{"value":[
            {"subscriptionId":"a","clientState":"s","lifecycleEvent":"reauthorizationRequired"},
            {"subscriptionId":"b","lifecycleEvent":"subscriptionRemoved"},
            {"subscriptionId":"c","lifecycleEvent":"missed"}]}"#;
        let events: Vec<_> = parse_notifications(life).unwrap().into_iter().map(|n| n.event).collect();
        assert_eq!(events, [NotificationEvent::SubscriptionEnded, NotificationEvent::SubscriptionEnded, NotificationEvent::Missed]);

        for bad in [&b"not json"[..], br#"{"value":[{"changeType":"created"}]}"#, br#"{"value":[{"subscriptionId":"a"}]}"#, br#"{"nothing":1}"#, br#"{"value":[[[[[[]]]]]]}"#] {
            assert!(matches!(parse_notifications(bad), Err(ProviderError::Protocol(_))), "{}", String::from_utf8_lossy(bad));
        }
        let huge = vec![b' '; MAX_NOTIFICATION_BYTES + 1];
        assert!(matches!(parse_notifications(&huge), Err(ProviderError::TooLarge { .. })));
        // Deep nesting is refused by serde_json's recursion limit, not a stack overflow.
        let deep = format!("{{\"value\":[{}{}]}}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(parse_notifications(deep.as_bytes()), Err(ProviderError::Protocol(_))));
    }

    #[test]
    fn links_must_stay_under_the_base_url() {
        let c = GraphCalendar::new(&HttpConfig::loopback(), "http://127.0.0.1:3100/graph/v1.0/", "t", None).unwrap();
        assert!(c.check_link("http://127.0.0.1:3100/graph/v1.0/me/calendarView/delta?$deltatoken=x").is_ok());
        for bad in [
            "http://127.0.0.1:3101/graph/v1.0/me/calendarView?$skip=10",
            "https://127.0.0.1:3100/graph/v1.0/me/calendarView",
            "http://localhost:3100/graph/v1.0/me/calendarView",
            "http://127.0.0.1:3100/graph/v1.0x/me",
            "http://127.0.0.1:3100/other",
            "http://u:p@127.0.0.1:3100/graph/v1.0/me",
            "/graph/v1.0/me",
        ] {
            assert!(c.check_link(bad).is_err(), "{bad}");
        }
        assert_eq!(c.user_url(&["events", "a/b c"]).as_str(), "http://127.0.0.1:3100/graph/v1.0/me/events/a%2Fb%20c");
        let u = GraphCalendar::new(&HttpConfig::loopback(), "http://127.0.0.1:3100/graph/v1.0", "t", Some("ann@x.test")).unwrap();
        assert_eq!(u.user_url(&["calendarView"]).as_str(), "http://127.0.0.1:3100/graph/v1.0/users/ann@x.test/calendarView");
        assert!(matches!(GraphCalendar::new(&HttpConfig::default(), "http://127.0.0.1:3100/graph/v1.0", "t", None), Err(ProviderError::InvalidUrl(_))));
    }
}
