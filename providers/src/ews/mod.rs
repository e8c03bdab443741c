//! Exchange Web Services (SOAP 1.1) calendar client, for on-premises Exchange.
//!
//! - Requests are written in schema order ([`soap`]); answers are read namespace-aware with
//!   [`domain::xml`] ([`parse`]) after a size-capped read.
//! - Windows: `FindItem` + `CalendarView` (which expands series into occurrences and cannot
//!   page: when the view is cut short the window start moves forward), then `GetItem` in
//!   batches for the full details. Occurrences are tied to their series master with
//!   `RecurringMasterItemId` (once per series, by UID).
//! - Changes: `SyncFolderItems` on the calendar folder. It reports items — singles and series
//!   masters, never occurrences — so a changed master becomes [`Change::SeriesReplaced`] with
//!   its occurrences in the window.
//! - Push: `Subscribe` with a `PushSubscriptionRequest`; the server POSTs `SendNotification`
//!   to the callback, parsed by [`parse_notification`] and answered with
//!   [`notification_answer`].

pub mod parse;
pub mod recurrence;
pub mod soap;

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use domain::xml::Element;
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use url::Url;

use crate::http::{self, HttpConfig};
use crate::{Changed, CalendarProvider, Change, ChangePage, EventDraft, EventKind, EventTime, FreeBusy, MailboxInfo, Notification,
    ProviderError, ProviderEvent, ProviderKind, Result, SendInvitations, Subscription, Window,};
use parse::{NotSoap, M, T};

/// How the client authenticates.
#[derive(Clone, PartialEq, Eq)]
pub enum EwsAuth {
    /// The mailbox owner's own credentials (HTTP Basic).
    Basic { username: String, password: String },
    /// A service account with the ApplicationImpersonation role acting as the mailbox (HTTP
    /// Basic for the account, `ExchangeImpersonation` + `X-AnchorMailbox` for the mailbox).
    Impersonation { username: String, password: String },
    /// An OAuth access token (`EWS.AccessAsUser.All`).
    Bearer { token: String },
}

impl std::fmt::Debug for EwsAuth {
    // Never print secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Basic { username, .. } => write!(f, "Basic({username})"),
            Self::Impersonation { username, .. } => write!(f, "Impersonation({username})"),
            Self::Bearer { .. } => write!(f, "Bearer(…)"),
        }
    }
}

/// Most entries one CalendarView request asks for; raised (up to [`VIEW_PAGE_MAX`]) only when
/// a full page made no progress (many items starting at the same instant).
const VIEW_PAGE: usize = 250;
const VIEW_PAGE_MAX: usize = 4000;
/// CalendarView refuses windows over two years (`ErrorCalendarViewRangeTooBig`).
const VIEW_SPAN_DAYS: i64 = 729;
/// Most CalendarView requests one listing makes, over all its chunks. A calendar that needs
/// more is either absurdly busy or a server that keeps cutting the view short (say, one new
/// item per answer): either way the listing ends with a clear error instead of going on for
/// hours.
const VIEW_MAX_PAGES: usize = 500;
/// Most distinct entries one listing collects (memory bound; ~140 a day over a year).
const VIEW_MAX_ENTRIES: usize = 50_000;
/// Ids per GetItem request.
const GET_BATCH: usize = 50;
/// SyncFolderItems' maximum page (`MaxChangesReturned` is 1..=512).
const SYNC_PAGE: u32 = 512;
/// GetUserAvailability answers for at most 42 days at a time.
const AVAILABILITY_SPAN_DAYS: i64 = 42;
/// Cursor prefix while the first round (over a window) is still paging: its singles are
/// filtered to the window, later rounds report every change.
const FIRST_ROUND: &str = "first:";

pub struct EwsCalendar {
    client: reqwest::Client,
    meter: Option<std::sync::Arc<http::CallMeter>>,
    url: Url,
    auth: EwsAuth,
    mailbox: String,
    max_body: usize,
    /// `MaxChangesReturned` of each SyncFolderItems request.
    sync_page: u32,
}

impl std::fmt::Debug for EwsCalendar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EwsCalendar").field("url", &self.url.as_str()).field("auth", &self.auth).field("mailbox", &self.mailbox).finish()
    }
}

/// Ids and times of one CalendarView entry.
#[derive(Clone, Debug)]
struct ViewEntry {
    id: String,
    uid: Option<String>,
    kind: Option<String>,
}

impl EwsCalendar {
    /// `url` must be https (or http to loopback when `http` allows it) and end in
    /// `/EWS/Exchange.asmx` (any case).
    pub fn new(http: &HttpConfig, url: &str, auth: EwsAuth, mailbox: &str) -> Result<Self> {
        let url = http.check_url(url)?;
        if !url.path().to_ascii_lowercase().ends_with("/ews/exchange.asmx") {
            return Err(ProviderError::NotEwsEndpoint(url.to_string()));
        }
        let mailbox = mailbox.trim();
        if mailbox.is_empty() || !mailbox.contains('@') {
            return Err(ProviderError::MailboxNotFound(format!("{mailbox:?} is not an e-mail address")));
        }
        Ok(Self {
            client: http.client(),
            meter: http.meter.clone(),
            url,
            auth,
            mailbox: mailbox.to_string(),
            max_body: http.max_body_bytes,
            sync_page: SYNC_PAGE,
        })
    }

    /// Changes per [`CalendarProvider::changes`] page (SyncFolderItems' `MaxChangesReturned`),
    /// clamped to 1..=512; 512 by default. Smaller pages mean more, shorter requests.
    pub fn with_sync_page_size(mut self, changes: u32) -> Self {
        self.sync_page = changes.clamp(1, SYNC_PAGE);
        self
    }

    pub fn mailbox(&self) -> &str {
        &self.mailbox
    }

    fn impersonated(&self) -> Option<&str> {
        matches!(self.auth, EwsAuth::Impersonation { .. }).then_some(self.mailbox.as_str())
    }

    /// Sends one request body and returns the payload inside the answer's SOAP Body, with
    /// HTTP statuses, SOAP faults and non-SOAP answers mapped onto [`ProviderError`].
    async fn call(&self, body: &str) -> Result<Element> {
        let operation = body.trim_start_matches("<m:").split([' ', '>']).next().unwrap_or("");
        let mut req = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("text/xml; charset=utf-8"))
            .header("SOAPAction", format!("\"{M}/{operation}\""))
            .body(soap::envelope(self.impersonated(), body));
        req = match &self.auth {
            EwsAuth::Basic { username, password } => req.basic_auth(username, Some(password)),
            EwsAuth::Impersonation { username, password } => {
                req.basic_auth(username, Some(password)).header("X-AnchorMailbox", &self.mailbox)
            }
            EwsAuth::Bearer { token } => req.bearer_auth(token),
        };
        let resp = http::send(self.meter.as_deref(), req).await?;
        let status = resp.status().as_u16();
        let retry_after = http::retry_after(resp.headers());
        match status {
            401 => {
                return Err(ProviderError::InvalidCredentials(format!(
                    "{} refused the credentials (HTTP 401)",
                    self.url.host_str().unwrap_or("the server")
                )))
            }
            300..=399 => {
                let to = resp.headers().get(reqwest::header::LOCATION).and_then(|l| l.to_str().ok()).unwrap_or("?");
                return Err(ProviderError::InvalidUrl(format!("the server redirects to {to}; not followed")));
            }
            404 => return Err(ProviderError::NotEwsEndpoint(format!("{} answered 404 Not Found", self.url))),
            _ => {}
        }
        let bytes = http::read_body(resp, self.max_body).await?;
        let doc = parse::document(&bytes, self.max_body);
        let payload = match doc {
            Ok(root) => take_payload(root),
            Err(_) if status == 429 || status == 503 => return Err(ProviderError::Throttled { retry_after }),
            Err(NotSoap::Other(what)) if (200..300).contains(&status) => {
                return Err(ProviderError::NotEwsEndpoint(format!("{} answered with {what}", self.url)))
            }
            Err(NotSoap::Malformed(e)) if (200..300).contains(&status) => return Err(ProviderError::Protocol(e)),
            Err(_) => return Err(status_error(status, retry_after, "a non-SOAP answer")),
        };
        let Some(payload) = payload else {
            return Err(status_error(status, retry_after, "an empty SOAP body"));
        };
        if let Some(fault) = parse::fault(&payload) {
            let err = parse::error_for(&fault.code, &fault.message, fault.back_off, status);
            return Err(match err {
                ProviderError::Throttled { retry_after: None } => ProviderError::Throttled { retry_after },
                e => e,
            });
        }
        if !(200..300).contains(&status) {
            return Err(status_error(status, retry_after, &payload.name));
        }
        Ok(payload)
    }

    /// Full events for these ids, in order; each id's own outcome (an item deleted meanwhile
    /// is `Err(NotFound)`).
    async fn get_events(&self, ids: &[String]) -> Result<Vec<Result<ProviderEvent>>> {
        let mut out = Vec::with_capacity(ids.len());
        for batch in ids.chunks(GET_BATCH) {
            let refs: Vec<&str> = batch.iter().map(String::as_str).collect();
            let payload = self.call(&soap::get_items(&refs)).await?;
            let msgs = parse::messages(&payload)?;
            if msgs.len() != batch.len() {
                return Err(ProviderError::Protocol(format!("GetItem answered {} of {} items", msgs.len(), batch.len())));
            }
            for msg in msgs {
                out.push(msg.ok().and_then(|m| {
                    let item = parse::items(m).next().ok_or_else(|| ProviderError::Protocol("GetItem without an item".into()))?;
                    parse::event(item)
                }));
            }
        }
        Ok(out)
    }

    /// Sets `series_id` on occurrences and exceptions: one `RecurringMasterItemId` lookup
    /// per series (occurrences share their master's UID).
    async fn resolve_series(&self, events: &mut [ProviderEvent]) -> Result<()> {
        let mut wanted: Vec<(String, String)> = Vec::new(); // (series key, an occurrence id)
        let key = |e: &ProviderEvent| e.ical_uid.clone().unwrap_or_else(|| e.id.clone());
        let mut seen = HashSet::new();
        for e in events.iter().filter(|e| matches!(e.kind, EventKind::Occurrence | EventKind::Exception) && e.series_id.is_none()) {
            if seen.insert(key(e)) {
                wanted.push((key(e), e.id.clone()));
            }
        }
        let mut masters: HashMap<String, String> = HashMap::new();
        for batch in wanted.chunks(GET_BATCH) {
            let refs: Vec<&str> = batch.iter().map(|(_, id)| id.as_str()).collect();
            let payload = self.call(&soap::get_masters(&refs)).await?;
            for ((series, _), msg) in batch.iter().zip(parse::messages(&payload)?) {
                // A series deleted meanwhile: its occurrences stay without a series id.
                if let Some((id, _)) = msg.ok().ok().and_then(|m| parse::items(m).next()).and_then(parse::item_id) {
                    masters.insert(series.clone(), id);
                }
            }
        }
        for e in events.iter_mut().filter(|e| matches!(e.kind, EventKind::Occurrence | EventKind::Exception)) {
            if e.series_id.is_none() {
                e.series_id = masters.get(&key(e)).cloned();
            }
        }
        Ok(())
    }

    /// Everything a CalendarView shows for `[from, to)`: singles, occurrences, exceptions.
    /// At most [`VIEW_MAX_PAGES`] requests and [`VIEW_MAX_ENTRIES`] entries, else `Protocol`.
    async fn view(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<ViewEntry>> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut pages = 0;
        let mut chunk_start = from;
        while chunk_start < to {
            let chunk_end = (chunk_start + Duration::days(VIEW_SPAN_DAYS)).min(to);
            let mut start = chunk_start;
            let mut max = VIEW_PAGE;
            // Ends when the view is complete, or its start has reached the chunk's end.
            while start < chunk_end {
                if pages == VIEW_MAX_PAGES {
                    return Err(ProviderError::Protocol(format!(
                        "the calendar view of {} to {} was still cut short after {VIEW_MAX_PAGES} requests (at {})",
                        soap::time(from),
                        soap::time(to),
                        soap::time(start)
                    )));
                }
                pages += 1;
                let payload = self.call(&soap::find_calendar_view(&self.mailbox, start, chunk_end, max)).await?;
                let msg = parse::single(&payload)?;
                let mut latest = start;
                let mut count = 0;
                for item in parse::items(msg) {
                    count += 1;
                    let Some((id, _)) = parse::item_id(item) else { continue };
                    if let Some(s) = item.child_text(T, "Start").and_then(parse::time) {
                        // Past the view's end (a server that ignores it): not this chunk's
                        // (the next chunk shows it if it is in the window), and as the view
                        // is in start order, nothing of this chunk can follow.
                        if s >= chunk_end {
                            latest = chunk_end;
                            continue;
                        }
                        latest = latest.max(s);
                    }
                    if seen.insert(id.clone()) {
                        if out.len() == VIEW_MAX_ENTRIES {
                            return Err(ProviderError::Protocol(format!(
                                "the calendar view of {} to {} holds more than {VIEW_MAX_ENTRIES} items",
                                soap::time(from),
                                soap::time(to)
                            )));
                        }
                        out.push(ViewEntry {
                            id,
                            uid: item.child_text(T, "UID").filter(|u| !u.is_empty()).map(str::to_string),
                            kind: item.child_text(T, "CalendarItemType").map(str::to_string),
                        });
                    }
                }
                if parse::view_complete(msg) || count == 0 {
                    break;
                }
                // Cut short: ask again from the last start seen (items starting there come
                // again and are skipped). No progress means a page full of items starting at
                // one instant, or of long items begun earlier: ask for a bigger page.
                if latest > start {
                    start = latest;
                } else if max < VIEW_PAGE_MAX {
                    max *= 2;
                } else {
                    return Err(ProviderError::Protocol(format!(
                        "more than {VIEW_PAGE_MAX} calendar items overlap {}",
                        soap::time(start)
                    )));
                }
            }
            chunk_start = chunk_end;
        }
        Ok(out)
    }

    async fn window_events(&self, from: DateTime<Utc>, to: DateTime<Utc>, keep: impl Fn(&ViewEntry) -> bool) -> Result<Vec<ProviderEvent>> {
        let ids: Vec<String> = self.view(from, to).await?.into_iter().filter(|e| keep(e)).map(|e| e.id).collect();
        // An item deleted between the view and GetItem is simply no longer in the window.
        let mut events = Vec::with_capacity(ids.len());
        for r in self.get_events(&ids).await? {
            match r {
                Ok(e) => events.push(e),
                Err(ProviderError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(events)
    }

    async fn first_item_id(&self, payload: &Element) -> Result<String> {
        let msg = parse::single(payload)?;
        parse::items(msg)
            .next()
            .and_then(parse::item_id)
            .map(|(id, _)| id)
            .ok_or_else(|| ProviderError::Protocol(format!("{} without an item id", payload.name)))
    }

    async fn subscribe_push(&self, callback_url: &str, secret: &str, ttl: Duration) -> Result<Subscription> {
        // Exchange pings the callback every StatusFrequency minutes when nothing happens and
        // drops the subscription when the callback stops answering.
        let frequency = ttl.num_minutes().clamp(1, 30) as u32;
        let payload = self.call(&soap::subscribe_push(&self.mailbox, callback_url, frequency)).await?;
        let msg = parse::single(&payload)?;
        let id = msg
            .child_text(M, "SubscriptionId")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ProviderError::Protocol("Subscribe answer without SubscriptionId".into()))?;
        let watermark = msg.child_text(M, "Watermark").unwrap_or("");
        Ok(Subscription {
            id: id.to_string(),
            resource_id: Some(watermark.to_string()),
            // EWS cannot renew a push subscription in place: renewing subscribes again.
            callback_url: callback_url.to_string(),
            expires_at: Utc::now() + ttl,
            secret: secret.to_string(),
        })
    }
}

fn take_payload(root: Element) -> Option<Element> {
    root.children
        .into_iter()
        .find(|c| c.is(parse::S, "Body") || c.is(parse::S12, "Body"))
        .and_then(|b| b.children.into_iter().next())
}

fn status_error(status: u16, retry_after: Option<std::time::Duration>, what: &str) -> ProviderError {
    match status {
        429 | 503 => ProviderError::Throttled { retry_after },
        403 => ProviderError::AccessDenied(format!("HTTP 403 with {what}")),
        500..=599 => ProviderError::Server { status, message: format!("HTTP {status} with {what}") },
        _ => ProviderError::Rejected { status, code: format!("HTTP {status}"), message: what.to_string() },
    }
}

fn instant(t: &EventTime) -> DateTime<Utc> {
    match t {
        EventTime::At(t) => *t,
        EventTime::Date(d) => d.and_time(chrono::NaiveTime::MIN).and_utc(),
    }
}

fn overlaps(e: &ProviderEvent, w: &Window) -> bool {
    instant(&e.end) > w.from && instant(&e.start) < w.to
}

#[async_trait]
impl CalendarProvider for EwsCalendar {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Ews
    }

    async fn validate(&self) -> Result<MailboxInfo> {
        let payload = self.call(&soap::get_folder(&self.mailbox)).await?;
        if !payload.is(M, "GetFolderResponse") {
            return Err(ProviderError::NotEwsEndpoint(format!("{} answered GetFolder with {}", self.url, payload.name)));
        }
        parse::single(&payload)?;
        // The display name is a nicety: a directory that cannot resolve the address still
        // leaves a working calendar.
        let display_name = match self.call(&soap::resolve_names(&self.mailbox)).await {
            Ok(payload) => parse::messages(&payload).ok().and_then(|msgs| {
                let msg = msgs.into_iter().find(|m| m.success)?;
                let set = msg.element.child(M, "ResolutionSet")?;
                let mut names = set.children_named(T, "Resolution").filter_map(|r| r.child(T, "Mailbox"));
                let exact = names.find(|m| m.child_text(T, "EmailAddress").is_some_and(|e| e.eq_ignore_ascii_case(&self.mailbox)));
                exact.or_else(|| set.children_named(T, "Resolution").filter_map(|r| r.child(T, "Mailbox")).next())?
                    .child_text(T, "Name")
                    .filter(|n| !n.is_empty())
                    .map(str::to_string)
            }),
            Err(_) => None,
        };
        Ok(MailboxInfo { email: self.mailbox.clone(), display_name, time_zone: None })
    }

    async fn list_window(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<ProviderEvent>> {
        if to <= from {
            return Ok(Vec::new());
        }
        let mut events = self.window_events(from, to, |_| true).await?;
        self.resolve_series(&mut events).await?;
        Ok(events)
    }

    async fn changes(&self, cursor: Option<&str>, window: Window) -> Result<ChangePage> {
        let (first_round, state) = match cursor {
            None => (true, None),
            Some(c) => match c.strip_prefix(FIRST_ROUND) {
                Some(state) => (true, Some(state)),
                None => (false, Some(c)),
            },
        };
        let payload = self.call(&soap::sync_folder_items(&self.mailbox, state, self.sync_page)).await?;
        let page = parse::sync_page(parse::single(&payload)?)?;
        // "More to come" from the very state we sent would have the caller ask the same
        // question forever.
        if !page.complete && state == Some(page.state.as_str()) {
            return Err(ProviderError::Protocol(
                "SyncFolderItems answered with the SyncState it was sent and more to come: the round would never end".into(),
            ));
        }
        let mut changes = Vec::new();
        let mut upserts = Vec::new();
        for c in page.changes {
            match c {
                parse::SyncChange::Upsert { id, .. } => upserts.push(id),
                parse::SyncChange::Delete { id } => changes.push(Change::Deleted { id, series_id: None, original_start: None }),
            }
        }
        let mut masters = Vec::new();
        let mut others = Vec::new();
        for (id, result) in upserts.iter().zip(self.get_events(&upserts).await?) {
            match result {
                Ok(e) if e.kind == EventKind::SeriesMaster => masters.push(e),
                Ok(e) if !first_round || overlaps(&e, &window) => others.push(e),
                Ok(_) => {}
                // Changed, then deleted before we looked: report what it is now.
                Err(ProviderError::NotFound) if !first_round => {
                    changes.push(Change::Deleted { id: id.clone(), series_id: None, original_start: None })
                }
                Err(ProviderError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        self.resolve_series(&mut others).await?;
        changes.extend(others.into_iter().map(Change::Upserted));
        if !masters.is_empty() {
            let uids: HashSet<String> = masters.iter().filter_map(|m| m.ical_uid.clone()).collect();
            let mut occurrences = self
                .window_events(window.from, window.to, |e| {
                    e.kind.as_deref() != Some("Single") && e.uid.as_ref().is_none_or(|u| uids.contains(u))
                })
                .await?;
            // Masters without a UID (never seen from Exchange): fall back to asking the server.
            if masters.iter().any(|m| m.ical_uid.is_none()) {
                self.resolve_series(&mut occurrences).await?;
            }
            for master in masters {
                let mine: Vec<ProviderEvent> = occurrences
                    .iter()
                    .filter(|o| matches!(o.kind, EventKind::Occurrence | EventKind::Exception))
                    .filter(|o| match &master.ical_uid {
                        Some(uid) => o.ical_uid.as_ref() == Some(uid),
                        None => o.series_id.as_ref() == Some(&master.id),
                    })
                    .cloned()
                    .map(|mut o| {
                        o.series_id = Some(master.id.clone());
                        o
                    })
                    .collect();
                if first_round && mine.is_empty() {
                    continue;
                }
                changes.push(Change::SeriesReplaced { series_id: master.id, occurrences: mine });
            }
        }
        let more = !page.complete;
        let cursor = if more && first_round { format!("{FIRST_ROUND}{}", page.state) } else { page.state };
        Ok(ChangePage { changes, cursor, more })
    }

    async fn get(&self, id: &str) -> Result<ProviderEvent> {
        let mut event = self
            .get_events(&[id.to_string()])
            .await?
            .pop()
            .ok_or_else(|| ProviderError::Protocol("GetItem answered nothing".into()))??;
        self.resolve_series(std::slice::from_mut(&mut event)).await?;
        Ok(event)
    }

    async fn find_by_crm_id(&self, crm_id: &str) -> Result<Option<ProviderEvent>> {
        let payload = self.call(&soap::find_by_crm_id(&self.mailbox, crm_id)).await?;
        let msg = parse::single(&payload)?;
        let ids: Vec<String> = parse::items(msg).filter_map(parse::item_id).map(|(id, _)| id).collect();
        for id in ids {
            match self.get(&id).await {
                // The server's match is trusted, but re-checked on the full item.
                Ok(e) if e.crm_id.as_deref() == Some(crm_id) => return Ok(Some(e)),
                Ok(_) | Err(ProviderError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    async fn create(&self, draft: &EventDraft, send: SendInvitations) -> Result<ProviderEvent> {
        let payload = self.call(&soap::create_item(&self.mailbox, draft, send)?).await?;
        let id = self.first_item_id(&payload).await?;
        self.get(&id).await
    }

    async fn update_fields(&self, id: &str, etag: Option<&str>, draft: &EventDraft, changed: Changed, send: SendInvitations) -> Result<ProviderEvent> {
        let payload = self.call(&soap::update_item(id, etag, draft, changed, send)?).await?;
        let msg = parse::single(&payload)?;
        let new_id = parse::items(msg).next().and_then(parse::item_id).map(|(id, _)| id);
        self.get(new_id.as_deref().unwrap_or(id)).await
    }

    async fn delete(&self, id: &str, etag: Option<&str>, send: SendInvitations) -> Result<()> {
        let payload = self.call(&soap::delete_item(id, etag, send)).await?;
        parse::single(&payload).map(|_| ())
    }

    async fn free_busy(&self, emails: &[String], from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<FreeBusy>> {
        let mut out: Vec<FreeBusy> =
            emails.iter().map(|e| FreeBusy { email: e.clone(), busy: Vec::new(), error: None }).collect();
        if emails.is_empty() || to <= from {
            return Ok(out);
        }
        let mut start = from;
        while start < to {
            let end = (start + Duration::days(AVAILABILITY_SPAN_DAYS)).min(to);
            let payload = self.call(&soap::get_user_availability(emails, start, end)).await?;
            let answers: Vec<&Element> = payload
                .child(M, "FreeBusyResponseArray")
                .map(|a| a.children_named(M, "FreeBusyResponse").collect())
                .unwrap_or_default();
            if answers.len() != emails.len() {
                // A request-level failure comes as one ResponseMessage without the array.
                if let Some(msg) = payload.child(M, "ResponseMessage").map(parse::message) {
                    msg.ok()?;
                }
                return Err(ProviderError::Protocol(format!(
                    "GetUserAvailability answered for {} of {} mailboxes",
                    answers.len(),
                    emails.len()
                )));
            }
            for (fb, answer) in out.iter_mut().zip(answers) {
                if let Some(msg) = answer.child(M, "ResponseMessage").map(parse::message) {
                    if !msg.success {
                        let text = if msg.text.is_empty() { msg.code.clone() } else { format!("{}: {}", msg.code, msg.text) };
                        fb.error.get_or_insert(text);
                        continue;
                    }
                }
                if let Some(view) = answer.child(M, "FreeBusyView") {
                    fb.busy.extend(parse::busy_intervals(view));
                }
            }
            start = end;
        }
        for fb in &mut out {
            fb.busy.sort_by_key(|b| (b.start, b.end));
            // Events spanning two requests come back twice.
            fb.busy.dedup();
        }
        Ok(out)
    }

    async fn subscribe(&self, callback_url: &str, secret: &str, ttl: Duration) -> Result<Subscription> {
        self.subscribe_push(callback_url, secret, ttl).await
    }

    async fn renew(&self, sub: &Subscription, ttl: Duration) -> Result<Subscription> {
        let new = self.subscribe_push(&sub.callback_url, &sub.secret, ttl).await?;
        match self.unsubscribe(sub).await {
            Ok(()) | Err(ProviderError::NotFound) => Ok(new),
            Err(e) => {
                tracing::warn!(subscription = %sub.id, error = %e, "could not end the old EWS subscription");
                Ok(new)
            }
        }
    }

    async fn unsubscribe(&self, sub: &Subscription) -> Result<()> {
        let payload = self.call(&soap::unsubscribe(&sub.id)).await?;
        parse::single(&payload).map(|_| ())
    }
}

/// Largest notification body accepted (a SendNotification carries ids, not items).
const NOTIFICATION_MAX_BYTES: usize = 1024 * 1024;

/// Parses the server's `SendNotification` POST: one [`Notification`] per subscription in it,
/// `Changed` when it reports created/modified/deleted/moved items, `Hello` for a bare status
/// ping. EWS sends no secret: check the subscription id.
pub fn parse_notification(body: &[u8]) -> Result<Vec<Notification>> {
    if body.len() > NOTIFICATION_MAX_BYTES {
        return Err(ProviderError::TooLarge { limit: NOTIFICATION_MAX_BYTES });
    }
    parse::notifications(body, NOTIFICATION_MAX_BYTES)
}

/// The SOAP answer to a `SendNotification`: `OK` keeps the subscription, otherwise the server
/// ends it.
pub fn notification_answer(keep: bool) -> String {
    soap::send_notification_result(keep)
}
