//! Google Calendar API v3 client (JSON over reqwest).
//!
//! - Window listing: `events.list` with `singleEvents=true`, so series come back expanded;
//!   whether an instance is a changed occurrence (exception) is not on the wire, so it is
//!   decided by comparing the instance with its series master (fetched once per series and
//!   call).
//! - Change feed: a round without cursor is a full windowed listing (`showDeleted=true`) whose
//!   last page hands out a `nextSyncToken`; later rounds list with `syncToken` only (Google
//!   forbids combining it with `timeMin` and the like). Our cursor string wraps either a page
//!   position or the sync token (`g1.` + base64url JSON), so it is opaque to the caller and
//!   self-describing to us. 410 means the token is gone: [`ProviderError::CursorExpired`].
//!   An incremental round reports a touched series whole ([`Change::SeriesReplaced`] with
//!   its instances in the window, from `events/{id}/instances`): Google does not report the
//!   instances that vanish when a series is shortened or moved. Pages per round are bounded
//!   and a page token answered with itself is refused, so a broken server cannot loop us.
//! - Writes carry `sendUpdates=all|none`; updates and deletes send `If-Match: <etag>` (412 →
//!   [`ProviderError::Conflict`]). The CRM id lives in `extendedProperties.private.crmId`.
//! - Watch channels cannot be extended: renewing opens a new channel and stops the old one.
//!   Google has no call that tells a channel's address, so it is kept in
//!   [`Subscription::callback_url`].

use std::collections::HashMap;

use async_trait::async_trait;
use base64::Engine as _;
use bytes::Bytes;
use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use url::Url;

use crate::http::{self, HttpConfig};
use crate::{Changed, Attendee, CalendarProvider, Change, ChangePage, EventDraft, EventKind, EventTime, FreeBusy, BusyInterval, MailboxInfo,
    Notification, NotificationEvent, Person, ProviderError, ProviderEvent, ProviderKind, Response, Result, SendInvitations,
    Subscription, Window,};

/// Largest page Google hands out, and our default page size.
const MAX_PAGE: u32 = 2500;
/// A listing (or one change round) that pages on beyond this is not converging; give up
/// rather than loop.
const MAX_PAGES: usize = 1000;
/// Error bodies are small; do not buffer more of them than this.
const MAX_ERROR_BODY: usize = 64 * 1024;
const CRM_ID: &str = "crmId";

pub struct GoogleCalendar {
    client: reqwest::Client,
    meter: Option<std::sync::Arc<http::CallMeter>>,
    base: Url,
    token: String,
    calendar_id: String,
    max_body: usize,
    /// `maxResults` of listings and change rounds (1..=2500).
    page_size: String,
}

/// What a failing call was doing: a 410 means "sync again" for listings, "already deleted"
/// for event calls; a 404 on the calendar itself means the mailbox is wrong.
#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    Sync,
    Event,
    Calendar,
}

impl GoogleCalendar {
    /// `base_url`: `https://www.googleapis.com/calendar/v3` (or the emulator's
    /// `http://127.0.0.1:PORT/google/calendar/v3`); `calendar_id`: `primary` or an address.
    pub fn new(http: &HttpConfig, base_url: &str, access_token: impl Into<String>, calendar_id: &str) -> Result<Self> {
        let mut base = http.check_url(base_url)?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        base.set_query(None);
        base.set_fragment(None);
        let calendar_id = calendar_id.trim();
        if calendar_id.is_empty() {
            return Err(ProviderError::InvalidUrl("the calendar id must not be empty".into()));
        }
        Ok(Self {
            client: http.client(),
            meter: http.meter.clone(),
            base,
            token: access_token.into(),
            calendar_id: calendar_id.to_string(),
            max_body: http.max_body_bytes,
            page_size: MAX_PAGE.to_string(),
        })
    }

    /// Asks for pages of at most `n` events (clamped to Google's 1..=2500; default 2500).
    /// Small pages make rounds cheaper to retry and let tests exercise paging.
    pub fn with_page_size(mut self, n: u32) -> Self {
        self.page_size = n.clamp(1, MAX_PAGE).to_string();
        self
    }

    /// The base URL plus path segments, each percent-encoded as one segment.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    fn events_url(&self, rest: &[&str]) -> Url {
        let mut segs = vec!["calendars", self.calendar_id.as_str(), "events"];
        segs.extend_from_slice(rest);
        self.url(&segs)
    }

    fn request(&self, method: Method, url: Url) -> RequestBuilder {
        self.client.request(method, url).bearer_auth(&self.token).header(reqwest::header::ACCEPT, "application/json")
    }

    /// Sends; a 2xx gives its body, anything else the matching [`ProviderError`].
    async fn execute(&self, req: RequestBuilder, ctx: Ctx) -> Result<Bytes> {
        let resp = http::send(self.meter.as_deref(), req).await?;
        let status = resp.status();
        if status.is_success() {
            return http::read_body(resp, self.max_body).await;
        }
        let headers = resp.headers().clone();
        // A broken or oversized error body must not hide the status: map what we have.
        let body = http::read_body(resp, MAX_ERROR_BODY).await.unwrap_or_default();
        Err(map_error(status, &headers, &body, ctx))
    }

    async fn json<T: for<'de> Deserialize<'de>>(&self, req: RequestBuilder, ctx: Ctx) -> Result<T> {
        let body = self.execute(req, ctx).await?;
        parse_json(&body)
    }

    async fn list_page(&self, query: &[(&str, &str)], ctx: Ctx) -> Result<GEvents> {
        self.json(self.request(Method::GET, self.events_url(&[])).query(query), ctx).await
    }

    async fn fetch_event(&self, id: &str) -> Result<GEvent> {
        let ev: GEvent = self.json(self.request(Method::GET, self.events_url(&[id])), Ctx::Event).await?;
        ev.check()?;
        Ok(ev)
    }

    /// Maps listed items, fetching each series master once to tell exceptions apart.
    async fn to_events(&self, items: Vec<GEvent>, masters: &mut HashMap<String, Option<GEvent>>) -> Result<Vec<Change>> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            item.check()?;
            if item.is_cancelled() {
                out.push(Change::Deleted {
                    original_start: item.original_start_time.as_ref().map(GTime::slot).transpose()?,
                    series_id: item.recurring_event_id.clone(),
                    id: item.id,
                });
                continue;
            }
            let master = match &item.recurring_event_id {
                Some(series) => self.master(series, masters).await?,
                None => None,
            };
            out.push(Change::Upserted(to_provider_event(&item, master.as_ref())?));
        }
        Ok(out)
    }

    async fn master(&self, id: &str, cache: &mut HashMap<String, Option<GEvent>>) -> Result<Option<GEvent>> {
        if let Some(m) = cache.get(id) {
            return Ok(m.clone());
        }
        let m = match self.fetch_event(id).await {
            Ok(ev) if !ev.is_cancelled() => Some(ev),
            Ok(_) | Err(ProviderError::NotFound) => None,
            Err(e) => return Err(e),
        };
        cache.insert(id.to_string(), m.clone());
        Ok(m)
    }

    /// The current (not cancelled) instances of a series in `window`, paged; `None` when the
    /// series itself is gone.
    async fn series_instances(
        &self,
        series_id: &str,
        window: Window,
        masters: &mut HashMap<String, Option<GEvent>>,
    ) -> Result<Option<Vec<ProviderEvent>>> {
        let Some(master) = self.master(series_id, masters).await? else {
            return Ok(None);
        };
        let (min, max) = (rfc3339(window.from), rfc3339(window.to));
        let url = self.events_url(&[series_id, "instances"]);
        let mut out = Vec::new();
        let mut page: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = vec![("timeMin", min.as_str()), ("timeMax", max.as_str()), ("maxResults", self.page_size.as_str())];
            if let Some(p) = &page {
                query.push(("pageToken", p.as_str()));
            }
            let resp: GEvents = match self.json(self.request(Method::GET, url.clone()).query(&query), Ctx::Event).await {
                Ok(r) => r,
                // Deleted between the change feed and this call: the series is gone.
                Err(ProviderError::NotFound) => return Ok(None),
                Err(e) => return Err(e),
            };
            for item in &resp.items {
                item.check()?;
                // A server that lists cancelled instances anyway: they are not occurrences.
                if !item.is_cancelled() {
                    out.push(to_provider_event(item, Some(&master))?);
                }
            }
            match next_page_token(page.as_deref(), resp.next_page_token)? {
                Some(p) => page = Some(p),
                None => return Ok(Some(out)),
            }
        }
        Err(ProviderError::Protocol(format!("more than {MAX_PAGES} pages of instances of {series_id}")))
    }

    /// One page of an incremental round. Google reports a series' changed instances but
    /// not the ones that vanished (a shortened series, or a moved one whose instances got new
    /// ids), so every series the page touches is reported whole: one
    /// [`Change::SeriesReplaced`] with its current instances in `window`, at the place of its
    /// first item. Cancelled items stay [`Change::Deleted`] (precise, and they also reach
    /// occurrences outside the window); a cancelled master deletes its series.
    async fn incremental_changes(&self, items: Vec<GEvent>, window: Window) -> Result<Vec<Change>> {
        enum Slot {
            Ready(Change),
            Series(String),
        }
        let mut slots = Vec::with_capacity(items.len());
        let mut series_seen: Vec<String> = Vec::new();
        let mut deleted: Vec<String> = Vec::new();
        for item in items {
            item.check()?;
            if item.is_cancelled() {
                if item.recurring_event_id.is_none() {
                    deleted.push(item.id.clone());
                }
                slots.push(Slot::Ready(Change::Deleted {
                    original_start: item.original_start_time.as_ref().map(GTime::slot).transpose()?,
                    series_id: item.recurring_event_id.clone(),
                    id: item.id,
                }));
                continue;
            }
            let series = match &item.recurring_event_id {
                Some(s) => Some(s.clone()),
                None if item.recurrence.as_ref().is_some_and(|r| !r.is_empty()) => Some(item.id.clone()),
                None => None,
            };
            match series {
                Some(s) if series_seen.contains(&s) => {}
                Some(s) => {
                    series_seen.push(s.clone());
                    slots.push(Slot::Series(s));
                }
                None => slots.push(Slot::Ready(Change::Upserted(to_provider_event(&item, None)?))),
            }
        }
        let mut masters = HashMap::new();
        let mut out = Vec::with_capacity(slots.len());
        for slot in slots {
            match slot {
                Slot::Ready(c) => out.push(c),
                // Its master's deletion is in this page already.
                Slot::Series(s) if deleted.contains(&s) => {}
                Slot::Series(s) => match self.series_instances(&s, window, &mut masters).await? {
                    Some(occurrences) => out.push(Change::SeriesReplaced { series_id: s, occurrences }),
                    None => out.push(Change::Deleted { id: s, series_id: None, original_start: None }),
                },
            }
        }
        Ok(out)
    }

    fn send_param(send: SendInvitations) -> (&'static str, &'static str) {
        ("sendUpdates", if send == SendInvitations::Yes { "all" } else { "none" })
    }

    async fn open_channel(&self, callback_url: &str, secret: &str, ttl: chrono::Duration) -> Result<Subscription> {
        let id = uuid::Uuid::new_v4().to_string();
        let expiration = (Utc::now() + ttl).timestamp_millis();
        let body = json!({ "id": id, "type": "web_hook", "address": callback_url, "token": secret, "expiration": expiration.to_string() });
        let ch: GChannel = self.json(self.request(Method::POST, self.events_url(&["watch"])).json(&body), Ctx::Calendar).await?;
        let expires_at = ch
            .expiration
            .as_ref()
            .and_then(|v| match v {
                Value::String(s) => s.parse::<i64>().ok(),
                Value::Number(n) => n.as_i64(),
                _ => None,
            })
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
            .ok_or_else(|| ProviderError::Protocol("the channel has no expiration".into()))?;
        let resource_id = ch.resource_id.filter(|r| !r.is_empty()).ok_or_else(|| ProviderError::Protocol("the channel has no resourceId".into()))?;
        Ok(Subscription {
            id: ch.id.unwrap_or(id),
            resource_id: Some(resource_id),
            callback_url: callback_url.to_string(),
            expires_at,
            secret: secret.to_string(),
        })
    }
}

// ---- errors --------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct GErrorEnvelope {
    error: Option<GErrorBody>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct GErrorBody {
    message: Option<String>,
    errors: Vec<GErrorDetail>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct GErrorDetail {
    reason: Option<String>,
    message: Option<String>,
}

/// Maps a non-2xx answer onto what the caller acts on.
fn map_error(status: StatusCode, headers: &reqwest::header::HeaderMap, body: &[u8], ctx: Ctx) -> ProviderError {
    let envelope: GErrorEnvelope = serde_json::from_slice(body).unwrap_or_default();
    let detail = envelope.error.unwrap_or_default();
    let reason = detail.errors.first().and_then(|e| e.reason.clone()).unwrap_or_default();
    let message = detail
        .message
        .or_else(|| detail.errors.first().and_then(|e| e.message.clone()))
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
    let throttled = matches!(
        reason.as_str(),
        "rateLimitExceeded" | "userRateLimitExceeded" | "quotaExceeded" | "dailyLimitExceeded"
    );
    match status.as_u16() {
        401 => ProviderError::InvalidCredentials(message),
        429 => ProviderError::Throttled { retry_after: http::retry_after(headers) },
        403 if throttled => ProviderError::Throttled { retry_after: http::retry_after(headers) },
        403 => ProviderError::AccessDenied(message),
        404 if ctx == Ctx::Calendar => ProviderError::MailboxNotFound(message),
        404 => ProviderError::NotFound,
        410 if ctx == Ctx::Sync || reason == "fullSyncRequired" => ProviderError::CursorExpired,
        410 => ProviderError::NotFound,
        412 => ProviderError::Conflict,
        s @ 500..=599 => ProviderError::Server { status: s, message },
        s => ProviderError::Rejected { status: s, code: if reason.is_empty() { s.to_string() } else { reason }, message },
    }
}

fn parse_json<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| ProviderError::Protocol(format!("invalid JSON from Google Calendar: {e}")))
}

/// The next page token of a listing, `None` on its last page. A server that answers a page
/// token with the very same token would have us loop forever: that is a protocol error.
fn next_page_token(given: Option<&str>, next: Option<String>) -> Result<Option<String>> {
    match next.filter(|p| !p.is_empty()) {
        Some(p) if given == Some(p.as_str()) => {
            Err(ProviderError::Protocol("Google Calendar answered a page token with the same page token".into()))
        }
        next => Ok(next),
    }
}

// ---- wire types ----------------------------------------------------------------------------

#[derive(Deserialize, Default, Clone, Debug)]
#[serde(default, rename_all = "camelCase")]
struct GEvents {
    items: Vec<GEvent>,
    next_page_token: Option<String>,
    next_sync_token: Option<String>,
}

#[derive(Deserialize, Default, Clone, Debug)]
#[serde(default, rename_all = "camelCase")]
struct GEvent {
    id: String,
    status: Option<String>,
    etag: Option<String>,
    #[serde(rename = "iCalUID")]
    ical_uid: Option<String>,
    summary: Option<String>,
    description: Option<String>,
    location: Option<String>,
    start: Option<GTime>,
    end: Option<GTime>,
    recurring_event_id: Option<String>,
    original_start_time: Option<GTime>,
    recurrence: Option<Vec<String>>,
    visibility: Option<String>,
    transparency: Option<String>,
    organizer: Option<GPerson>,
    attendees: Option<Vec<GAttendee>>,
    extended_properties: Option<GExtended>,
    updated: Option<String>,
}

impl GEvent {
    fn check(&self) -> Result<()> {
        if self.id.is_empty() {
            return Err(ProviderError::Protocol("an event without id".into()));
        }
        Ok(())
    }
    fn is_cancelled(&self) -> bool {
        self.status.as_deref() == Some("cancelled")
    }
    fn attendees(&self) -> &[GAttendee] {
        self.attendees.as_deref().unwrap_or_default()
    }
}

#[derive(Deserialize, Default, Clone, Debug, PartialEq)]
#[serde(default, rename_all = "camelCase")]
struct GTime {
    date: Option<String>,
    date_time: Option<String>,
    time_zone: Option<String>,
}

impl GTime {
    fn parse(&self) -> Result<EventTime> {
        if let Some(d) = &self.date {
            let d = NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| ProviderError::Protocol(format!("bad date {d:?}")))?;
            return Ok(EventTime::Date(d));
        }
        let Some(dt) = &self.date_time else {
            return Err(ProviderError::Protocol("a time without date or dateTime".into()));
        };
        if let Ok(t) = DateTime::parse_from_rfc3339(dt) {
            return Ok(EventTime::At(t.with_timezone(&Utc)));
        }
        // Without an offset the time is local to timeZone.
        let local = NaiveDateTime::parse_from_str(dt, "%Y-%m-%dT%H:%M:%S%.f").map_err(|_| ProviderError::Protocol(format!("bad dateTime {dt:?}")))?;
        let tz: chrono_tz::Tz = self
            .time_zone
            .as_deref()
            .and_then(|z| z.parse().ok())
            .ok_or_else(|| ProviderError::Protocol(format!("dateTime {dt:?} has neither offset nor time zone")))?;
        let t = tz.from_local_datetime(&local).earliest().ok_or_else(|| ProviderError::Protocol(format!("dateTime {dt:?} does not exist in its zone")))?;
        Ok(EventTime::At(t.with_timezone(&Utc)))
    }

    /// As an instant: all-day slots at 00:00 UTC of their date (how occurrence slots are keyed).
    fn slot(&self) -> Result<DateTime<Utc>> {
        Ok(match self.parse()? {
            EventTime::At(t) => t,
            EventTime::Date(d) => Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()),
        })
    }
}

#[derive(Deserialize, Default, Clone, Debug)]
#[serde(default, rename_all = "camelCase")]
struct GPerson {
    email: Option<String>,
    display_name: Option<String>,
}

#[derive(Deserialize, Default, Clone, Debug)]
#[serde(default, rename_all = "camelCase")]
struct GAttendee {
    email: Option<String>,
    display_name: Option<String>,
    response_status: Option<String>,
    optional: Option<bool>,
    organizer: Option<bool>,
    resource: Option<bool>,
}

#[derive(Deserialize, Default, Clone, Debug)]
#[serde(default)]
struct GExtended {
    private: Option<HashMap<String, String>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct GCalendar {
    id: Option<String>,
    summary: Option<String>,
    time_zone: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct GChannel {
    id: Option<String>,
    resource_id: Option<String>,
    expiration: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct GFreeBusy {
    calendars: HashMap<String, GFreeBusyCalendar>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct GFreeBusyCalendar {
    busy: Vec<GPeriod>,
    errors: Vec<GErrorDetail>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct GPeriod {
    start: String,
    end: String,
}

// ---- mapping -------------------------------------------------------------------------------

fn response_of(a: &GAttendee) -> Response {
    match a.response_status.as_deref() {
        Some("accepted") => Response::Accepted,
        Some("tentative") => Response::Tentative,
        Some("declined") => Response::Declined,
        _ => Response::NeedsAction,
    }
}

fn text(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

/// What an occurrence shares with its series unless it was changed on its own.
fn same_content(a: &GEvent, b: &GEvent) -> bool {
    let people = |e: &GEvent| {
        let mut v: Vec<(String, Option<String>)> =
            e.attendees().iter().map(|a| (a.email.clone().unwrap_or_default().to_ascii_lowercase(), a.response_status.clone())).collect();
        v.sort();
        v
    };
    let busy = |e: &GEvent| e.transparency.as_deref() != Some("transparent");
    let private = |e: &GEvent| matches!(e.visibility.as_deref(), Some("private" | "confidential"));
    text(&a.summary) == text(&b.summary)
        && text(&a.location) == text(&b.location)
        && text(&a.description) == text(&b.description)
        && busy(a) == busy(b)
        && private(a) == private(b)
        && people(a) == people(b)
}

fn length(e: &GEvent) -> Option<chrono::Duration> {
    let s = e.start.as_ref()?.slot().ok()?;
    let t = e.end.as_ref()?.slot().ok()?;
    Some(t - s)
}

/// Google JSON → neutral event. `master`: the series master of an instance, when known.
fn to_provider_event(g: &GEvent, master: Option<&GEvent>) -> Result<ProviderEvent> {
    g.check()?;
    let start_raw = g.start.as_ref().ok_or_else(|| ProviderError::Protocol(format!("event {} has no start", g.id)))?;
    let end_raw = g.end.as_ref().ok_or_else(|| ProviderError::Protocol(format!("event {} has no end", g.id)))?;
    let start = start_raw.parse()?;
    let end = end_raw.parse()?;
    let original_start = g.original_start_time.as_ref().map(GTime::slot).transpose()?;
    let recurrence = g.recurrence.as_ref().and_then(|lines| {
        lines.iter().find_map(|l| {
            let (head, rule) = l.split_once(':')?;
            head.trim().eq_ignore_ascii_case("RRULE").then(|| rule.trim().to_string())
        })
    });
    let kind = if g.recurring_event_id.is_some() {
        let moved = original_start.is_some_and(|o| start_raw.slot().ok() != Some(o));
        let changed = match master {
            Some(m) => moved || length(m) != length(g) || !same_content(g, m),
            None => moved,
        };
        if changed { EventKind::Exception } else { EventKind::Occurrence }
    } else if g.recurrence.as_ref().is_some_and(|r| !r.is_empty()) {
        EventKind::SeriesMaster
    } else {
        EventKind::Single
    };
    let attendees = g
        .attendees()
        .iter()
        .filter(|a| a.resource != Some(true))
        .filter_map(|a| {
            let email = a.email.clone().filter(|e| !e.is_empty())?;
            Some(Attendee {
                email,
                name: a.display_name.clone().filter(|n| !n.is_empty()),
                response: if a.organizer == Some(true) && a.response_status.as_deref() != Some("declined") {
                    Response::Organizer
                } else {
                    response_of(a)
                },
                optional: a.optional.unwrap_or(false),
            })
        })
        .collect();
    Ok(ProviderEvent {
        id: g.id.clone(),
        ical_uid: g.ical_uid.clone(),
        etag: g.etag.clone(),
        kind,
        series_id: g.recurring_event_id.clone(),
        original_start,
        subject: text(&g.summary),
        location: text(&g.location),
        description: text(&g.description),
        description_html: domain::html::looks_like_html(g.description.as_deref().unwrap_or_default()),
        start,
        end,
        time_zone: start_raw.time_zone.clone().or_else(|| end_raw.time_zone.clone()),
        private: matches!(g.visibility.as_deref(), Some("private" | "confidential")),
        busy: g.transparency.as_deref() != Some("transparent"),
        organizer: g.organizer.as_ref().and_then(|o| {
            Some(Person { email: o.email.clone().filter(|e| !e.is_empty())?, name: o.display_name.clone().filter(|n| !n.is_empty()) })
        }),
        attendees,
        crm_id: g.extended_properties.as_ref().and_then(|p| p.private.as_ref()).and_then(|p| p.get(CRM_ID).cloned()),
        recurrence,
        cancelled: g.is_cancelled(),
        updated: g.updated.as_deref().and_then(|u| DateTime::parse_from_rfc3339(u).ok()).map(|t| t.with_timezone(&Utc)),
    })
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Neutral draft → Google event body (insert and full replace).
fn draft_body(d: &EventDraft) -> Result<Value> {
    let tz: chrono_tz::Tz = d.time_zone.parse().map_err(|_| ProviderError::Rejected {
        status: 0,
        code: "invalidTimeZone".into(),
        message: format!("unknown time zone {:?}", d.time_zone),
    })?;
    let when = |t: EventTime| match t {
        EventTime::At(t) => json!({ "dateTime": t.with_timezone(&tz).to_rfc3339_opts(SecondsFormat::Secs, true), "timeZone": d.time_zone }),
        // A series needs its zone even when all-day (Google expands it there).
        EventTime::Date(day) if d.recurrence.is_some() => json!({ "date": day.format("%Y-%m-%d").to_string(), "timeZone": d.time_zone }),
        EventTime::Date(day) => json!({ "date": day.format("%Y-%m-%d").to_string() }),
    };
    let attendees: Vec<Value> = d
        .attendees
        .iter()
        .map(|a| {
            let mut v = json!({ "email": a.email });
            if let Some(n) = a.name.as_deref().filter(|n| !n.is_empty()) {
                v["displayName"] = json!(n);
            }
            if a.optional {
                v["optional"] = json!(true);
            }
            let status = match a.response {
                Response::NeedsAction => None,
                Response::Accepted | Response::Organizer => Some("accepted"),
                Response::Tentative => Some("tentative"),
                Response::Declined => Some("declined"),
            };
            if let Some(s) = status {
                v["responseStatus"] = json!(s);
            }
            v
        })
        .collect();
    let mut body = json!({
        "summary": d.subject,
        "location": d.location,
        "description": d.description,
        "start": when(d.start),
        "end": when(d.end),
        "attendees": attendees,
        "visibility": if d.private { "private" } else { "default" },
        "transparency": if d.busy { "opaque" } else { "transparent" },
    });
    if let Some(crm) = &d.crm_id {
        body["extendedProperties"] = json!({ "private": { CRM_ID: crm } });
    }
    if let Some(rule) = &d.recurrence {
        let rule = rule.trim();
        let rule = rule.strip_prefix("RRULE:").unwrap_or(rule);
        body["recurrence"] = json!([format!("RRULE:{rule}")]);
    }
    Ok(body)
}

/// The members of [`draft_body`] that `changed` names.
fn patch_body(d: &EventDraft, changed: Changed) -> Result<Value> {
    let full = draft_body(d)?;
    let mut body = serde_json::Map::new();
    let mut keep = |key: &str, wanted: bool| {
        if let (true, Some(v)) = (wanted, full.get(key)) {
            body.insert(key.to_string(), v.clone());
        }
    };
    keep("summary", changed.subject);
    keep("location", changed.location);
    keep("description", changed.description);
    keep("start", changed.time);
    keep("end", changed.time);
    keep("visibility", changed.private);
    keep("attendees", changed.attendees);
    keep("extendedProperties", changed.crm_id);
    Ok(Value::Object(body))
}

// ---- cursors -------------------------------------------------------------------------------

/// Our opaque change-feed cursor.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(tag = "m")]
enum Cursor {
    /// Inside a full round over a window; `pages`: how many pages of the round were read.
    #[serde(rename = "f")]
    Full {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        page: String,
        #[serde(default, rename = "n")]
        pages: usize,
    },
    /// An incremental round: the sync token, and the page within the round if any.
    #[serde(rename = "s")]
    Sync {
        token: String,
        page: Option<String>,
        #[serde(default, rename = "n")]
        pages: usize,
    },
}

const CURSOR_PREFIX: &str = "g1.";

impl Cursor {
    fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        format!("{CURSOR_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json))
    }

    /// A cursor we cannot read is one the provider "no longer knows": start over.
    fn decode(s: &str) -> Result<Self> {
        let raw = s.strip_prefix(CURSOR_PREFIX).ok_or(ProviderError::CursorExpired)?;
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw).map_err(|_| ProviderError::CursorExpired)?;
        serde_json::from_slice(&json).map_err(|_| ProviderError::CursorExpired)
    }
}

// ---- notifications -------------------------------------------------------------------------

/// Reads a watch-channel notification (Google POSTs an empty body; all is in the headers).
pub fn parse_notification(headers: &::http::HeaderMap) -> Result<Notification> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    let id = get("x-goog-channel-id").ok_or_else(|| ProviderError::Protocol("notification without X-Goog-Channel-ID".into()))?;
    let state = get("x-goog-resource-state").ok_or_else(|| ProviderError::Protocol("notification without X-Goog-Resource-State".into()))?;
    let event = match state {
        "sync" => NotificationEvent::Hello,
        "exists" | "not_exists" => NotificationEvent::Changed,
        other => return Err(ProviderError::Protocol(format!("unknown X-Goog-Resource-State {other:?}"))),
    };
    Ok(Notification { subscription_id: id.to_string(), secret: get("x-goog-channel-token").map(str::to_string), event })
}

// ---- the trait -----------------------------------------------------------------------------

#[async_trait]
impl CalendarProvider for GoogleCalendar {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Google
    }

    async fn validate(&self) -> Result<MailboxInfo> {
        let cal: GCalendar = self.json(self.request(Method::GET, self.url(&["calendars", &self.calendar_id])), Ctx::Calendar).await?;
        let email = cal.id.filter(|i| !i.is_empty()).ok_or_else(|| ProviderError::Protocol("calendar without id".into()))?;
        Ok(MailboxInfo { email, display_name: cal.summary.filter(|s| !s.is_empty()), time_zone: cal.time_zone.filter(|z| !z.is_empty()) })
    }

    async fn list_window(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<ProviderEvent>> {
        let (min, max) = (rfc3339(from), rfc3339(to));
        let mut masters = HashMap::new();
        let mut out = Vec::new();
        let mut page: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query =
                vec![("singleEvents", "true"), ("timeMin", min.as_str()), ("timeMax", max.as_str()), ("maxResults", self.page_size.as_str())];
            if let Some(p) = &page {
                query.push(("pageToken", p.as_str()));
            }
            let resp = self.list_page(&query, Ctx::Event).await?;
            let next = next_page_token(page.as_deref(), resp.next_page_token)?;
            for change in self.to_events(resp.items, &mut masters).await? {
                if let Change::Upserted(ev) = change {
                    out.push(ev);
                }
            }
            match next {
                Some(p) => page = Some(p),
                None => return Ok(out),
            }
        }
        Err(ProviderError::Protocol(format!("more than {MAX_PAGES} pages of events")))
    }

    async fn changes(&self, cursor: Option<&str>, window: Window) -> Result<ChangePage> {
        let cursor = cursor.map(Cursor::decode).transpose()?;
        let (min, max) = match &cursor {
            Some(Cursor::Full { from, to, .. }) => (rfc3339(*from), rfc3339(*to)),
            _ => (rfc3339(window.from), rfc3339(window.to)),
        };
        let (given_page, pages_read) = match &cursor {
            None => (None, 0),
            Some(Cursor::Full { page, pages, .. }) => (Some(page.as_str()), *pages),
            Some(Cursor::Sync { page, pages, .. }) => (page.as_deref(), *pages),
        };
        let mut query = vec![("singleEvents", "true"), ("maxResults", self.page_size.as_str())];
        match &cursor {
            None | Some(Cursor::Full { .. }) => query.extend([("showDeleted", "true"), ("timeMin", min.as_str()), ("timeMax", max.as_str())]),
            Some(Cursor::Sync { token, .. }) => query.push(("syncToken", token.as_str())),
        }
        if let Some(p) = given_page {
            query.push(("pageToken", p));
        }
        let resp = self.list_page(&query, Ctx::Sync).await?;
        let next_page = next_page_token(given_page, resp.next_page_token)?;
        let pages = pages_read + 1;
        if next_page.is_some() && pages >= MAX_PAGES {
            return Err(ProviderError::Protocol(format!("a change round of more than {MAX_PAGES} pages")));
        }
        let next_sync = resp.next_sync_token.filter(|t| !t.is_empty());
        let changes = match &cursor {
            Some(Cursor::Sync { .. }) => self.incremental_changes(resp.items, window).await?,
            // A full round lists the window as it is: nothing stored before it to replace.
            None | Some(Cursor::Full { .. }) => self.to_events(resp.items, &mut HashMap::new()).await?,
        };
        let (cursor, more) = match (next_page, cursor) {
            (Some(page), None) => (Cursor::Full { from: window.from, to: window.to, page, pages }, true),
            (Some(page), Some(Cursor::Full { from, to, .. })) => (Cursor::Full { from, to, page, pages }, true),
            (Some(page), Some(Cursor::Sync { token, .. })) => (Cursor::Sync { token, page: Some(page), pages }, true),
            (None, _) => {
                let token = next_sync.ok_or_else(|| ProviderError::Protocol("the last page has no nextSyncToken".into()))?;
                (Cursor::Sync { token, page: None, pages: 0 }, false)
            }
        };
        Ok(ChangePage { changes, cursor: cursor.encode(), more })
    }

    async fn get(&self, id: &str) -> Result<ProviderEvent> {
        let ev = self.fetch_event(id).await?;
        // Google's get also returns deleted events, as "cancelled".
        if ev.is_cancelled() {
            return Err(ProviderError::NotFound);
        }
        let master = match &ev.recurring_event_id {
            Some(series) => self.master(series, &mut HashMap::new()).await?,
            None => None,
        };
        to_provider_event(&ev, master.as_ref())
    }

    async fn find_by_crm_id(&self, crm_id: &str) -> Result<Option<ProviderEvent>> {
        let filter = format!("{CRM_ID}={crm_id}");
        let mut page: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = vec![("privateExtendedProperty", filter.as_str()), ("maxResults", "50")];
            if let Some(p) = &page {
                query.push(("pageToken", p.as_str()));
            }
            let resp = self.list_page(&query, Ctx::Event).await?;
            // Exceptions of a series carry the master's properties too; the master is the hit.
            let live = || resp.items.iter().filter(|e| !e.is_cancelled());
            if let Some(found) = live().find(|e| e.recurring_event_id.is_none()).or_else(|| live().next()) {
                return to_provider_event(found, None).map(Some);
            }
            match next_page_token(page.as_deref(), resp.next_page_token.clone())? {
                Some(p) => page = Some(p),
                None => return Ok(None),
            }
        }
        Ok(None)
    }

    async fn create(&self, draft: &EventDraft, send: SendInvitations) -> Result<ProviderEvent> {
        let body = draft_body(draft)?;
        let req = self.request(Method::POST, self.events_url(&[])).query(&[Self::send_param(send)]).json(&body);
        let ev: GEvent = self.json(req, Ctx::Calendar).await?;
        to_provider_event(&ev, None)
    }

    async fn update_fields(&self, id: &str, etag: Option<&str>, draft: &EventDraft, changed: Changed, send: SendInvitations) -> Result<ProviderEvent> {
        // The whole event: PUT replaces it. Some fields: PATCH changes only those (events.patch
        // merges objects member by member and keeps every field it is not given).
        let (method, body) = if changed.everything { (Method::PUT, draft_body(draft)?) } else { (Method::PATCH, patch_body(draft, changed)?) };
        let mut req = self.request(method, self.events_url(&[id])).query(&[Self::send_param(send)]).json(&body);
        if let Some(tag) = etag {
            req = req.header(reqwest::header::IF_MATCH, tag);
        }
        let ev: GEvent = self.json(req, Ctx::Event).await?;
        let mut out = to_provider_event(&ev, None)?;
        if out.series_id.is_some() {
            // An occurrence written on its own is an exception from now on.
            out.kind = EventKind::Exception;
        }
        Ok(out)
    }

    async fn delete(&self, id: &str, etag: Option<&str>, send: SendInvitations) -> Result<()> {
        let mut req = self.request(Method::DELETE, self.events_url(&[id])).query(&[Self::send_param(send)]);
        if let Some(tag) = etag {
            req = req.header(reqwest::header::IF_MATCH, tag);
        }
        self.execute(req, Ctx::Event).await.map(|_| ())
    }

    async fn free_busy(&self, emails: &[String], from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<FreeBusy>> {
        let body = json!({
            "timeMin": rfc3339(from),
            "timeMax": rfc3339(to),
            "timeZone": "UTC",
            "items": emails.iter().map(|e| json!({ "id": e })).collect::<Vec<_>>(),
        });
        let resp: GFreeBusy = self.json(self.request(Method::POST, self.url(&["freeBusy"])).json(&body), Ctx::Event).await?;
        let mut out = Vec::with_capacity(emails.len());
        for email in emails {
            let entry = resp
                .calendars
                .get(email)
                .or_else(|| resp.calendars.iter().find(|(k, _)| k.eq_ignore_ascii_case(email)).map(|(_, v)| v));
            let Some(entry) = entry else {
                out.push(FreeBusy { email: email.clone(), busy: Vec::new(), error: Some("not in the answer".into()) });
                continue;
            };
            if let Some(err) = entry.errors.first() {
                let reason = err.reason.clone().or_else(|| err.message.clone()).unwrap_or_else(|| "error".into());
                out.push(FreeBusy { email: email.clone(), busy: Vec::new(), error: Some(reason) });
                continue;
            }
            let parse = |s: &str| {
                DateTime::parse_from_rfc3339(s)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| ProviderError::Protocol(format!("bad free/busy time {s:?}")))
            };
            let busy = entry
                .busy
                .iter()
                .map(|p| Ok(BusyInterval { start: parse(&p.start)?, end: parse(&p.end)?, tentative: false }))
                .collect::<Result<Vec<_>>>()?;
            out.push(FreeBusy { email: email.clone(), busy, error: None });
        }
        Ok(out)
    }

    async fn subscribe(&self, callback_url: &str, secret: &str, ttl: chrono::Duration) -> Result<Subscription> {
        self.open_channel(callback_url, secret, ttl).await
    }

    async fn renew(&self, sub: &Subscription, ttl: chrono::Duration) -> Result<Subscription> {
        let fresh = self.open_channel(&sub.callback_url, &sub.secret, ttl).await?;
        match self.unsubscribe(sub).await {
            Ok(()) | Err(ProviderError::NotFound) => {}
            // The new channel works; the old one runs out by itself.
            Err(e) => tracing::warn!("could not stop the old Google channel {}: {e}", sub.id),
        }
        Ok(fresh)
    }

    async fn unsubscribe(&self, sub: &Subscription) -> Result<()> {
        let mut body = json!({ "id": sub.id });
        if let Some(r) = &sub.resource_id {
            body["resourceId"] = json!(r);
        }
        self.execute(self.request(Method::POST, self.url(&["channels", "stop"])).json(&body), Ctx::Event).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shaped like a real incremental page (fields as in the discovery doc's Event schema and
    /// Google's sync guide; values made up): a deleted event, a moved occurrence with a CRM
    /// id, an all-day free event, a deleted occurrence.
    const PAGE_JSON: &str = r#"{
      "kind": "calendar#events", "etag": "\"p33c8\"", "summary": "ann@example.com",
      "updated": "2026-01-10T09:00:00.000Z", "timeZone": "Europe/Berlin", "accessRole": "owner",
      "defaultReminders": [{"method": "popup", "minutes": 10}],
      "nextSyncToken": "CPDAlvWDx70CEPDAlvWDx70CGAU=",
      "items": [
        {"kind": "calendar#event", "etag": "\"3181161784712000\"", "id": "gone01", "status": "cancelled"},
        {"kind": "calendar#event", "etag": "\"3181161784712001\"", "id": "rec1_20260112T090000Z", "status": "confirmed",
         "summary": "Weekly (moved)", "unknownField": {"nested": [1, 2]},
         "start": {"dateTime": "2026-01-12T11:00:00+01:00", "timeZone": "Europe/Berlin"},
         "end": {"dateTime": "2026-01-12T11:30:00+01:00", "timeZone": "Europe/Berlin"},
         "recurringEventId": "rec1",
         "originalStartTime": {"dateTime": "2026-01-12T10:00:00+01:00", "timeZone": "Europe/Berlin"},
         "iCalUID": "rec1@google.com", "sequence": 1, "visibility": "private",
         "organizer": {"email": "ann@example.com", "displayName": "Ann", "self": true},
         "attendees": [
           {"email": "ann@example.com", "organizer": true, "responseStatus": "accepted", "self": true},
           {"email": "bob@example.com", "displayName": "Bob", "responseStatus": "tentative", "optional": true},
           {"email": "room@resource.calendar.google.com", "resource": true, "responseStatus": "accepted"}
         ],
         "extendedProperties": {"private": {"crmId": "MEET-42"}, "shared": {"x": "y"}},
         "updated": "2026-01-10T08:59:00.000Z"},
        {"kind": "calendar#event", "etag": "\"3181161784712002\"", "id": "allday1", "status": "confirmed",
         "summary": "Offsite", "start": {"date": "2026-01-20"}, "end": {"date": "2026-01-22"}, "transparency": "transparent"},
        {"kind": "calendar#event", "id": "rec1_20260119T090000Z", "status": "cancelled", "recurringEventId": "rec1",
         "originalStartTime": {"dateTime": "2026-01-19T10:00:00+01:00", "timeZone": "Europe/Berlin"}}
      ]
    }"#;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    #[test]
    fn maps_a_real_shaped_page() {
        let page: GEvents = parse_json(PAGE_JSON.as_bytes()).unwrap();
        assert_eq!(page.next_sync_token.as_deref(), Some("CPDAlvWDx70CEPDAlvWDx70CGAU="));
        assert_eq!(page.items.len(), 4);
        assert!(page.items[0].is_cancelled());

        let moved = to_provider_event(&page.items[1], None).unwrap();
        assert_eq!(moved.kind, EventKind::Exception, "moved away from its slot");
        assert_eq!(moved.series_id.as_deref(), Some("rec1"));
        assert_eq!(moved.original_start, Some(at(2026, 1, 12, 9, 0)));
        assert_eq!(moved.start, EventTime::At(at(2026, 1, 12, 10, 0)));
        assert_eq!(moved.time_zone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(moved.crm_id.as_deref(), Some("MEET-42"));
        assert!(moved.private && moved.busy);
        assert_eq!(moved.etag.as_deref(), Some("\"3181161784712001\""));
        assert_eq!(moved.ical_uid.as_deref(), Some("rec1@google.com"));
        assert_eq!(moved.organizer, Some(Person { email: "ann@example.com".into(), name: Some("Ann".into()) }));
        assert_eq!(
            moved.attendees,
            vec![
                Attendee { email: "ann@example.com".into(), name: None, response: Response::Organizer, optional: false },
                Attendee { email: "bob@example.com".into(), name: Some("Bob".into()), response: Response::Tentative, optional: true },
            ],
            "rooms are not people"
        );
        assert_eq!(moved.updated, Some(Utc.with_ymd_and_hms(2026, 1, 10, 8, 59, 0).unwrap()));

        let allday = to_provider_event(&page.items[2], None).unwrap();
        assert_eq!(allday.kind, EventKind::Single);
        assert_eq!(allday.start, EventTime::Date(NaiveDate::from_ymd_opt(2026, 1, 20).unwrap()));
        assert_eq!(allday.end, EventTime::Date(NaiveDate::from_ymd_opt(2026, 1, 22).unwrap()));
        assert!(!allday.busy && !allday.private && allday.crm_id.is_none());
    }

    #[test]
    fn an_occurrence_is_an_exception_only_when_it_differs_from_its_master() {
        let master: GEvent = serde_json::from_value(json!({
            "id": "rec1", "summary": "Weekly", "recurrence": ["EXDATE;TZID=Europe/Berlin:20260126T100000", "RRULE:FREQ=WEEKLY"],
            "start": {"dateTime": "2026-01-05T10:00:00+01:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2026-01-05T10:30:00+01:00", "timeZone": "Europe/Berlin"}
        }))
        .unwrap();
        let m = to_provider_event(&master, None).unwrap();
        assert_eq!((m.kind, m.recurrence.as_deref()), (EventKind::SeriesMaster, Some("FREQ=WEEKLY")));
        let mut inst: GEvent = serde_json::from_value(json!({
            "id": "rec1_20260112T090000Z", "summary": "Weekly", "recurringEventId": "rec1",
            "start": {"dateTime": "2026-01-12T10:00:00+01:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2026-01-12T10:30:00+01:00", "timeZone": "Europe/Berlin"},
            "originalStartTime": {"dateTime": "2026-01-12T10:00:00+01:00", "timeZone": "Europe/Berlin"}
        }))
        .unwrap();
        assert_eq!(to_provider_event(&inst, Some(&master)).unwrap().kind, EventKind::Occurrence);
        inst.summary = Some("Weekly (special)".into());
        assert_eq!(to_provider_event(&inst, Some(&master)).unwrap().kind, EventKind::Exception);
        inst.summary = Some("Weekly".into());
        inst.end = Some(GTime { date_time: Some("2026-01-12T11:00:00+01:00".into()), ..GTime::default() });
        assert_eq!(to_provider_event(&inst, Some(&master)).unwrap().kind, EventKind::Exception, "longer than the series");
    }

    #[test]
    fn local_times_need_their_zone() {
        let t = GTime { date_time: Some("2026-07-01T09:00:00".into()), time_zone: Some("America/New_York".into()), date: None };
        assert_eq!(t.parse().unwrap(), EventTime::At(at(2026, 7, 1, 13, 0)));
        let t = GTime { date_time: Some("2026-07-01T09:00:00".into()), ..GTime::default() };
        assert!(matches!(t.parse(), Err(ProviderError::Protocol(_))));
        assert!(matches!(GTime::default().parse(), Err(ProviderError::Protocol(_))));
        let t = GTime { date: Some("2026-02-30".into()), ..GTime::default() };
        assert!(matches!(t.parse(), Err(ProviderError::Protocol(_))));
    }

    #[test]
    fn malformed_and_hostile_bodies_are_clear_errors() {
        assert!(matches!(parse_json::<GEvents>(b"{\"items\": [ {\"id\": "), Err(ProviderError::Protocol(_))));
        assert!(matches!(parse_json::<GEvents>(b"<html>502 Bad Gateway</html>"), Err(ProviderError::Protocol(_))));
        assert!(matches!(parse_json::<GEvents>(br#"{"items": "nope"}"#), Err(ProviderError::Protocol(_))));
        // Deep nesting: skipped without recursion in unknown fields, refused by serde_json's
        // recursion limit where we keep the value — never a stack overflow.
        let nest = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let deep = format!("{{\"items\": [{{\"id\": \"x\", \"junk\": {}}}]}}", nest(100_000));
        assert_eq!(parse_json::<GEvents>(deep.as_bytes()).unwrap().items[0].id, "x");
        let deep = format!("{{\"id\": \"c\", \"expiration\": {}}}", nest(100_000));
        assert!(matches!(parse_json::<GChannel>(deep.as_bytes()), Err(ProviderError::Protocol(_))));
        // An event without id or start is refused, not defaulted.
        let page: GEvents = parse_json(br#"{"items": [{"summary": "no id"}]}"#).unwrap();
        assert!(matches!(to_provider_event(&page.items[0], None), Err(ProviderError::Protocol(_))));
        let page: GEvents = parse_json(br#"{"items": [{"id": "a1", "end": {"date": "2026-01-01"}}]}"#).unwrap();
        assert!(matches!(to_provider_event(&page.items[0], None), Err(ProviderError::Protocol(_))));
    }

    fn headers(pairs: &[(&str, &str)]) -> reqwest::header::HeaderMap {
        let mut h = reqwest::header::HeaderMap::new();
        for (k, v) in pairs {
            h.insert(reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        h
    }

    fn envelope(code: u16, reason: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({ "error": { "errors": [{ "domain": "global", "reason": reason, "message": "m" }], "code": code, "message": "msg" } }))
            .unwrap()
    }

    #[test]
    fn errors_map_onto_what_the_caller_does_next() {
        let none = headers(&[]);
        let wait = headers(&[("retry-after", "30")]);
        let map = |code: u16, reason: &str, h: &reqwest::header::HeaderMap, ctx| map_error(StatusCode::from_u16(code).unwrap(), h, &envelope(code, reason), ctx);
        assert_eq!(map(401, "authError", &none, Ctx::Event), ProviderError::InvalidCredentials("msg".into()));
        assert_eq!(map(403, "rateLimitExceeded", &wait, Ctx::Event), ProviderError::Throttled { retry_after: Some(std::time::Duration::from_secs(30)) });
        assert_eq!(map(403, "userRateLimitExceeded", &none, Ctx::Event), ProviderError::Throttled { retry_after: None });
        assert_eq!(map(429, "rateLimitExceeded", &wait, Ctx::Sync), ProviderError::Throttled { retry_after: Some(std::time::Duration::from_secs(30)) });
        assert_eq!(map(403, "forbidden", &none, Ctx::Event), ProviderError::AccessDenied("msg".into()));
        assert_eq!(map(404, "notFound", &none, Ctx::Event), ProviderError::NotFound);
        assert_eq!(map(404, "notFound", &none, Ctx::Calendar), ProviderError::MailboxNotFound("msg".into()));
        assert_eq!(map(410, "fullSyncRequired", &none, Ctx::Sync), ProviderError::CursorExpired);
        assert_eq!(map(410, "deleted", &none, Ctx::Event), ProviderError::NotFound);
        assert_eq!(map(412, "conditionNotMet", &none, Ctx::Event), ProviderError::Conflict);
        assert_eq!(map(409, "duplicate", &none, Ctx::Event), ProviderError::Rejected { status: 409, code: "duplicate".into(), message: "msg".into() });
        assert_eq!(map(503, "backendError", &none, Ctx::Event), ProviderError::Server { status: 503, message: "msg".into() });
        assert_eq!(map(400, "timeRangeEmpty", &none, Ctx::Event), ProviderError::Rejected { status: 400, code: "timeRangeEmpty".into(), message: "msg".into() });
        // A body that is not Google's envelope still gives the status's meaning.
        assert_eq!(map_error(StatusCode::BAD_GATEWAY, &none, b"<html>", Ctx::Event), ProviderError::Server { status: 502, message: "Bad Gateway".into() });
    }

    #[test]
    fn notifications_come_from_headers() {
        let n = parse_notification(&headers(&[
            ("X-Goog-Channel-ID", "01234567-89ab-cdef-0123456789ab"),
            ("X-Goog-Channel-Token", "target=crm"),
            ("X-Goog-Channel-Expiration", "Tue, 19 Nov 2013 01:13:52 GMT"),
            ("X-Goog-Resource-ID", "ret08u3rv24htgh289g"),
            ("X-Goog-Resource-State", "exists"),
            ("X-Goog-Message-Number", "10"),
        ]))
        .unwrap();
        assert_eq!(
            n,
            Notification { subscription_id: "01234567-89ab-cdef-0123456789ab".into(), secret: Some("target=crm".into()), event: NotificationEvent::Changed }
        );
        let hello = parse_notification(&headers(&[("x-goog-channel-id", "c"), ("x-goog-resource-state", "sync")])).unwrap();
        assert_eq!((hello.event, hello.secret), (NotificationEvent::Hello, None));
        let gone = parse_notification(&headers(&[("x-goog-channel-id", "c"), ("x-goog-resource-state", "not_exists")])).unwrap();
        assert_eq!(gone.event, NotificationEvent::Changed);
        assert!(matches!(parse_notification(&headers(&[("x-goog-resource-state", "sync")])), Err(ProviderError::Protocol(_))));
        assert!(matches!(parse_notification(&headers(&[("x-goog-channel-id", "c")])), Err(ProviderError::Protocol(_))));
        assert!(matches!(
            parse_notification(&headers(&[("x-goog-channel-id", "c"), ("x-goog-resource-state", "weird")])),
            Err(ProviderError::Protocol(_))
        ));
    }

    #[test]
    fn cursors_are_opaque_and_garbage_means_start_over() {
        let c = Cursor::Full { from: at(2026, 1, 1, 0, 0), to: at(2026, 2, 1, 0, 0), page: "p|1".into(), pages: 3 };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        let s = Cursor::Sync { token: "CPDAlvWDx70CEPDAlvWDx70CGAU=".into(), page: None, pages: 0 };
        assert_eq!(Cursor::decode(&s.encode()).unwrap(), s);
        for junk in ["", "g1.", "g1.!!!", "g1.e30", "sync:abc"] {
            assert_eq!(Cursor::decode(junk), Err(ProviderError::CursorExpired), "{junk:?}");
        }
    }

    #[test]
    fn drafts_become_google_bodies() {
        let mut d = EventDraft {
            subject: "Plan".into(),
            location: String::new(),
            description: String::new(),
            description_html: false,
            start: EventTime::At(at(2026, 7, 1, 7, 0)),
            end: EventTime::At(at(2026, 7, 1, 8, 0)),
            time_zone: "Europe/Berlin".into(),
            private: true,
            busy: false,
            attendees: vec![Attendee::required("bob@example.com")],
            crm_id: Some("MEET-9".into()),
            recurrence: Some("RRULE:FREQ=DAILY;COUNT=2".into()),
        };
        let b = draft_body(&d).unwrap();
        assert_eq!(b["start"], json!({ "dateTime": "2026-07-01T09:00:00+02:00", "timeZone": "Europe/Berlin" }));
        assert_eq!(b["recurrence"], json!(["RRULE:FREQ=DAILY;COUNT=2"]));
        assert_eq!((b["visibility"].as_str(), b["transparency"].as_str()), (Some("private"), Some("transparent")));
        assert_eq!(b["extendedProperties"]["private"]["crmId"], "MEET-9");
        assert_eq!(b["attendees"], json!([{ "email": "bob@example.com" }]));
        d.start = EventTime::Date(NaiveDate::from_ymd_opt(2026, 7, 1).unwrap());
        d.end = EventTime::Date(NaiveDate::from_ymd_opt(2026, 7, 2).unwrap());
        d.recurrence = None;
        d.crm_id = None;
        let b = draft_body(&d).unwrap();
        assert_eq!((b["start"].clone(), b["end"].clone()), (json!({ "date": "2026-07-01" }), json!({ "date": "2026-07-02" })));
        assert!(b.get("extendedProperties").is_none() && b.get("recurrence").is_none());
        d.time_zone = "Mars/Olympus".into();
        assert!(matches!(draft_body(&d), Err(ProviderError::Rejected { .. })));
    }

    #[test]
    fn base_urls_are_checked() {
        let dev = HttpConfig::loopback();
        let cal = GoogleCalendar::new(&dev, "http://127.0.0.1:3100/google/calendar/v3", "t", "ann@example.com").unwrap();
        assert_eq!(cal.events_url(&["a_b"]).as_str(), "http://127.0.0.1:3100/google/calendar/v3/calendars/ann@example.com/events/a_b");
        assert_eq!(cal.url(&["calendars", "a/b c"]).as_str(), "http://127.0.0.1:3100/google/calendar/v3/calendars/a%2Fb%20c");
        assert!(GoogleCalendar::new(&HttpConfig::default(), "https://www.googleapis.com/calendar/v3/", "t", "primary").is_ok());
        assert!(matches!(GoogleCalendar::new(&HttpConfig::default(), "http://www.googleapis.com/calendar/v3", "t", "primary"), Err(ProviderError::InvalidUrl(_))));
        assert!(matches!(GoogleCalendar::new(&dev, "http://127.0.0.1:1/x", "t", " "), Err(ProviderError::InvalidUrl(_))));
    }
}
