//! Reading EWS SOAP answers with [`domain::xml`]: elements are matched by namespace and local
//! name (any prefix — Exchange writes `s:`/`m:`/`t:`, others `soap:` or default namespaces),
//! unknown elements are ignored and optional ones may be missing.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use domain::xml::{Element, Limits, XmlError};

use super::recurrence;
use crate::{
    Attendee, BusyInterval, EventKind, EventTime, Notification, NotificationEvent, Person, ProviderError,
    ProviderEvent, Response, Result,
};

pub const S: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// SOAP 1.2, accepted when reading (a proxy or another server may answer with it).
pub const S12: &str = "http://www.w3.org/2003/05/soap-envelope";
pub const M: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";
pub const T: &str = "http://schemas.microsoft.com/exchange/services/2006/types";
pub const E: &str = "http://schemas.microsoft.com/exchange/services/2006/errors";

pub fn limits(max_bytes: usize) -> Limits {
    Limits { max_bytes, ..Limits::default() }
}

/// What a body looked like when it was not a SOAP envelope.
#[derive(Debug, PartialEq, Eq)]
pub enum NotSoap {
    /// Well-formed XML, or HTML, that is not a SOAP envelope: some other web page or service.
    Other(String),
    /// Not parseable at all.
    Malformed(String),
}

/// Parses a SOAP document, returning its root (the Envelope).
pub fn document(body: &[u8], max_bytes: usize) -> std::result::Result<Element, NotSoap> {
    let head = String::from_utf8_lossy(&body[..body.len().min(512)]).to_ascii_lowercase();
    let head = head.trim_start_matches('\u{feff}').trim_start();
    if head.starts_with("<!doctype html") || head.starts_with("<html") {
        return Err(NotSoap::Other("an HTML page".into()));
    }
    match domain::xml::parse(body, limits(max_bytes)) {
        Ok(root) if root.is(S, "Envelope") || root.is(S12, "Envelope") => Ok(root),
        Ok(root) => Err(NotSoap::Other(format!("an XML document with root <{}>", root.name))),
        Err(XmlError::Empty) if body.iter().all(u8::is_ascii_whitespace) => Err(NotSoap::Other("an empty answer".into())),
        Err(e) => Err(NotSoap::Malformed(e.to_string())),
    }
}

/// The first element inside the envelope's Body.
pub fn body_payload(envelope: &Element) -> Option<&Element> {
    envelope
        .children
        .iter()
        .find(|c| c.is(S, "Body") || c.is(S12, "Body"))
        .and_then(|b| b.children.first())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub code: String,
    pub message: String,
    pub back_off: Option<Duration>,
}

/// A SOAP Fault: `detail/e:ResponseCode` (else the faultcode's local part), the message and
/// the server's `BackOffMilliseconds`.
pub fn fault(payload: &Element) -> Option<Fault> {
    if !(payload.is(S, "Fault") || payload.is(S12, "Fault")) {
        return None;
    }
    let child = |name: &str| payload.children.iter().find(|c| c.name == name);
    let detail = child("detail").or_else(|| child("Detail"));
    let code = detail
        .and_then(|d| d.find(E, "ResponseCode"))
        .map(|c| c.text.trim().to_string())
        .filter(|c| !c.is_empty())
        .or_else(|| {
            child("faultcode").map(|c| {
                let t = c.text.trim();
                t.rsplit(':').next().unwrap_or(t).to_string()
            })
        })
        .unwrap_or_else(|| "Fault".into());
    let message = detail
        .and_then(|d| d.find(E, "Message"))
        .map(|m| m.text.trim().to_string())
        .or_else(|| child("faultstring").map(|s| s.text.trim().to_string()))
        .or_else(|| child("Reason").map(|r| r.children.iter().map(|t| t.text.trim()).collect::<Vec<_>>().join(" ")))
        .unwrap_or_default();
    Some(Fault { code, message, back_off: detail.and_then(back_off) })
}

/// `<t:MessageXml><t:Value Name="BackOffMilliseconds">n</t:Value>` anywhere below `el`.
pub fn back_off(el: &Element) -> Option<Duration> {
    if el.name == "Value" && el.attr("Name") == Some("BackOffMilliseconds") {
        return el.text.trim().parse::<u64>().ok().map(Duration::from_millis);
    }
    el.children.iter().find_map(back_off)
}

/// Maps an EWS ResponseCode onto the error the caller acts on.
pub fn error_for(code: &str, message: &str, back_off: Option<Duration>, status: u16) -> ProviderError {
    let detail = || if message.is_empty() { code.to_string() } else { format!("{code}: {message}") };
    match code {
        "ErrorItemNotFound"
        | "ErrorInvalidIdMalformed"
        | "ErrorInvalidIdEmpty"
        | "ErrorInvalidIdNotAnItemAttachmentId"
        | "ErrorCalendarOccurrenceIsDeletedFromRecurrence"
        | "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange"
        | "ErrorSubscriptionNotFound"
        | "ErrorInvalidSubscription"
        | "ErrorExpiredSubscription" => ProviderError::NotFound,
        "ErrorNonExistentMailbox" | "ErrorMailboxNotFound" | "ErrorInvalidSmtpAddress" => {
            ProviderError::MailboxNotFound(detail())
        }
        "ErrorImpersonateUserDenied" | "ErrorImpersonationDenied" | "ErrorImpersonationFailed" => {
            ProviderError::ImpersonationDenied(detail())
        }
        "ErrorAccessDenied" | "ErrorDelegateNoUser" => ProviderError::AccessDenied(detail()),
        "ErrorInvalidSyncStateData" => ProviderError::CursorExpired,
        "ErrorIrresolvableConflict" | "ErrorStaleObject" | "ErrorInvalidChangeKey" | "ErrorChangeKeyRequiredForWriteOperations" => {
            ProviderError::Conflict
        }
        "ErrorServerBusy" | "ErrorExceededConnectionCount" | "ErrorTooManyObjectsOpened" => {
            ProviderError::Throttled { retry_after: back_off }
        }
        "ErrorTimeoutExpired" => ProviderError::Timeout,
        "ErrorInternalServerTransientError"
        | "ErrorInternalServerError"
        | "ErrorMailboxStoreUnavailable"
        | "ErrorMailboxMoveInProgress"
        | "ErrorConnectionFailed" => ProviderError::Server { status: status.max(500), message: detail() },
        _ => ProviderError::Rejected { status, code: code.to_string(), message: message.to_string() },
    }
}

/// One `*ResponseMessage` of an answer.
#[derive(Debug)]
pub struct Msg<'a> {
    pub element: &'a Element,
    pub success: bool,
    pub code: String,
    pub text: String,
    pub back_off: Option<Duration>,
}

impl<'a> Msg<'a> {
    pub fn error(&self) -> ProviderError {
        error_for(&self.code, &self.text, self.back_off, 200)
    }

    /// Ok(element) for Success/Warning, the mapped error for Error.
    pub fn ok(&self) -> Result<&'a Element> {
        if self.success {
            Ok(self.element)
        } else {
            Err(self.error())
        }
    }
}

pub fn message(el: &Element) -> Msg<'_> {
    let code = el.child_text(M, "ResponseCode").unwrap_or("").to_string();
    let class = el.attr("ResponseClass").unwrap_or("");
    // A missing class with NoError (some servers) is a success; Warning carries results too.
    let success = match class {
        "Error" => false,
        "Success" | "Warning" => true,
        _ => code.is_empty() || code == "NoError",
    };
    Msg {
        element: el,
        success,
        code: if code.is_empty() && !success { "Error".into() } else { code },
        text: el.child_text(M, "MessageText").unwrap_or("").to_string(),
        back_off: el.child(M, "MessageXml").and_then(back_off),
    }
}

/// The `m:ResponseMessages/*` of a `*Response` payload, in order.
pub fn messages(payload: &Element) -> Result<Vec<Msg<'_>>> {
    let list = payload
        .child(M, "ResponseMessages")
        .ok_or_else(|| ProviderError::Protocol(format!("{} without ResponseMessages", payload.name)))?;
    Ok(list.children.iter().filter(|c| c.ns.as_deref() == Some(M)).map(message).collect())
}

/// The single response message of a one-item request, as a result.
pub fn single(payload: &Element) -> Result<&Element> {
    let msgs = messages(payload)?;
    let first = msgs.first().ok_or_else(|| ProviderError::Protocol(format!("{} with no response message", payload.name)))?;
    first.ok()
}

/// `xs:dateTime` as EWS writes it: with `Z` or an offset, or none (then UTC, the zone every
/// request here works in).
pub fn time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|t| t.and_utc())
}

fn flag(el: &Element, name: &str) -> Option<bool> {
    el.child_text(T, name).map(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// A Windows zone id (EWS) or, leniently, an IANA name → the IANA zone.
pub fn zone(id: &str) -> Option<Tz> {
    let id = id.trim();
    domain::windows_zones::windows_to_iana(id)
        .and_then(|iana| iana.parse().ok())
        .or_else(|| id.parse().ok())
}

fn person(mailbox: &Element) -> Option<(String, Option<String>)> {
    let email = mailbox.child_text(T, "EmailAddress").filter(|e| !e.is_empty())?.to_string();
    let name = mailbox.child_text(T, "Name").filter(|n| !n.is_empty()).map(str::to_string);
    Some((email, name))
}

fn attendees(list: Option<&Element>, optional: bool, out: &mut Vec<Attendee>) {
    for a in list.into_iter().flat_map(|l| l.children_named(T, "Attendee")) {
        let Some((email, name)) = a.child(T, "Mailbox").and_then(person) else { continue };
        let response = match a.child_text(T, "ResponseType").unwrap_or("") {
            "Organizer" => Response::Organizer,
            "Accept" => Response::Accepted,
            "Tentative" => Response::Tentative,
            "Decline" => Response::Declined,
            _ => Response::NeedsAction,
        };
        out.push(Attendee { email, name, response, optional });
    }
}

/// The CRM id from the item's `ExtendedProperty` list (PublicStrings `crmId`).
fn crm_id(item: &Element) -> Option<String> {
    item.children_named(T, "ExtendedProperty").find_map(|p| {
        let uri = p.child(T, "ExtendedFieldURI")?;
        let named = uri.attr("PropertyName").is_some_and(|n| n.eq_ignore_ascii_case("crmId"));
        let public = uri.attr("DistinguishedPropertySetId").is_none_or(|s| s == "PublicStrings");
        (named && public).then(|| p.child_text(T, "Value").unwrap_or("").to_string())
    })
}

/// The item's ItemId (Id, ChangeKey).
pub fn item_id(item: &Element) -> Option<(String, Option<String>)> {
    let id = item.child(T, "ItemId")?;
    Some((id.attr("Id")?.to_string(), id.attr("ChangeKey").map(str::to_string)))
}

/// A `t:CalendarItem` → the neutral event. Only the ItemId and Start/End are required.
pub fn event(item: &Element) -> Result<ProviderEvent> {
    let (id, etag) = item_id(item).ok_or_else(|| ProviderError::Protocol("calendar item without ItemId".into()))?;
    let when = |name: &str| {
        item.child_text(T, name)
            .and_then(time)
            .ok_or_else(|| ProviderError::Protocol(format!("calendar item {id} without a valid {name}")))
    };
    let (start, end) = (when("Start")?, when("End")?);
    let tz = item
        .child_text(T, "StartTimeZoneId")
        .or_else(|| item.child(T, "StartTimeZone").and_then(|z| z.attr("Id")))
        .and_then(zone);
    let kind = match item.child_text(T, "CalendarItemType") {
        Some("Occurrence") => EventKind::Occurrence,
        Some("Exception") => EventKind::Exception,
        Some("RecurringMaster") => EventKind::SeriesMaster,
        Some(_) => EventKind::Single,
        None if item.child(T, "Recurrence").is_some() => EventKind::SeriesMaster,
        None => EventKind::Single,
    };
    let all_day = flag(item, "IsAllDayEvent").unwrap_or(false);
    let local_zone = tz.unwrap_or(Tz::UTC);
    let (start_t, end_t) = if all_day {
        let s = start.with_timezone(&local_zone).date_naive();
        let e = end.with_timezone(&local_zone).date_naive();
        (EventTime::Date(s), EventTime::Date(if e > s { e } else { s + chrono::Duration::days(1) }))
    } else {
        (EventTime::At(start), EventTime::At(end))
    };
    let original_start = match kind {
        EventKind::Occurrence | EventKind::Exception => {
            item.child_text(T, "OriginalStart").or_else(|| item.child_text(T, "RecurrenceId")).and_then(time)
        }
        _ => None,
    };
    let recurrence = match kind {
        EventKind::SeriesMaster => {
            item.child(T, "Recurrence").and_then(|r| recurrence::xml_to_rrule(r, local_zone, all_day))
        }
        _ => None,
    };
    let mut list = Vec::new();
    attendees(item.child(T, "RequiredAttendees"), false, &mut list);
    attendees(item.child(T, "OptionalAttendees"), true, &mut list);
    let text = |name: &str| item.child(T, name).map(|e| e.text.clone()).unwrap_or_default();
    Ok(ProviderEvent {
        id,
        ical_uid: item.child_text(T, "UID").filter(|u| !u.is_empty()).map(str::to_string),
        etag,
        kind,
        series_id: None,
        original_start,
        subject: text("Subject"),
        location: text("Location"),
        description: text("Body"),
        description_html: item.child(T, "Body").and_then(|b| b.attr("BodyType")).is_some_and(|t| t.eq_ignore_ascii_case("HTML")),
        start: start_t,
        end: end_t,
        time_zone: tz.map(|z| z.name().to_string()),
        private: matches!(item.child_text(T, "Sensitivity"), Some("Private" | "Confidential")),
        busy: !matches!(item.child_text(T, "LegacyFreeBusyStatus"), Some("Free")),
        organizer: item
            .path(&[(T, "Organizer"), (T, "Mailbox")])
            .and_then(person)
            .map(|(email, name)| Person { email, name }),
        attendees: list,
        crm_id: crm_id(item),
        recurrence,
        cancelled: flag(item, "IsCancelled").unwrap_or(false),
        updated: item.child_text(T, "LastModifiedTime").and_then(time),
    })
}

/// The items of a `FindItem`/`GetItem` message: `RootFolder/Items/*` or `Items/*`.
pub fn items(msg: &Element) -> impl Iterator<Item = &Element> {
    let list = msg.path(&[(M, "RootFolder"), (T, "Items")]).or_else(|| msg.child(M, "Items"));
    list.into_iter().flat_map(|l| l.children.iter().filter(|c| c.ns.as_deref() == Some(T)))
}

/// `RootFolder IncludesLastItemInRange` (true when missing: nothing more to ask for).
pub fn view_complete(msg: &Element) -> bool {
    msg.child(M, "RootFolder")
        .and_then(|r| r.attr("IncludesLastItemInRange"))
        .is_none_or(|v| !v.eq_ignore_ascii_case("false"))
}

/// One change of a SyncFolderItems answer.
#[derive(Debug, PartialEq, Eq)]
pub enum SyncChange {
    /// Created or updated item; `kind` when the answer says (CalendarItemType).
    Upsert { id: String, kind: Option<String> },
    Delete { id: String },
}

pub struct SyncPage {
    pub state: String,
    pub complete: bool,
    pub changes: Vec<SyncChange>,
}

pub fn sync_page(msg: &Element) -> Result<SyncPage> {
    let state = msg
        .child_text(M, "SyncState")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ProviderError::Protocol("SyncFolderItems answer without SyncState".into()))?
        .to_string();
    let complete = msg.child_text(M, "IncludesLastItemInRange").is_none_or(|v| !v.eq_ignore_ascii_case("false"));
    let mut changes = Vec::new();
    for c in msg.child(M, "Changes").into_iter().flat_map(|c| c.children.iter()) {
        if c.ns.as_deref() != Some(T) {
            continue;
        }
        match c.name.as_str() {
            "Create" | "Update" => {
                // Only calendar items matter; a calendar folder may hold others (rare).
                let Some(item) = c.children.iter().find(|i| i.ns.as_deref() == Some(T)) else { continue };
                if item.name != "CalendarItem" && item.name != "Item" {
                    continue;
                }
                if let Some((id, _)) = item_id(item) {
                    changes.push(SyncChange::Upsert { id, kind: item.child_text(T, "CalendarItemType").map(str::to_string) });
                }
            }
            "Delete" => {
                if let Some(id) = c.child(T, "ItemId").and_then(|i| i.attr("Id")) {
                    changes.push(SyncChange::Delete { id: id.to_string() });
                }
            }
            _ => {}
        }
    }
    Ok(SyncPage { state, complete, changes })
}

/// Busy intervals of one `FreeBusyView` (Detailed: `CalendarEventArray`).
pub fn busy_intervals(view: &Element) -> Vec<BusyInterval> {
    let mut out = Vec::new();
    for ev in view.child(T, "CalendarEventArray").into_iter().flat_map(|a| a.children_named(T, "CalendarEvent")) {
        let (Some(start), Some(end)) =
            (ev.child_text(T, "StartTime").and_then(time), ev.child_text(T, "EndTime").and_then(time))
        else {
            continue;
        };
        let tentative = match ev.child_text(T, "BusyType").unwrap_or("Busy") {
            "Free" | "NoData" => continue,
            "Tentative" => true,
            _ => false,
        };
        out.push(BusyInterval { start, end, tentative });
    }
    out
}

/// The server's `SendNotification` POST → one notification per subscription in it.
pub fn notifications(body: &[u8], max_bytes: usize) -> Result<Vec<Notification>> {
    let root = document(body, max_bytes).map_err(|e| match e {
        NotSoap::Other(what) => ProviderError::Protocol(format!("not an EWS notification: {what}")),
        NotSoap::Malformed(e) => ProviderError::Protocol(e),
    })?;
    let payload = body_payload(&root)
        .filter(|p| p.is(M, "SendNotification"))
        .ok_or_else(|| ProviderError::Protocol("not an EWS SendNotification".into()))?;
    let mut out = Vec::new();
    for msg in messages(payload)? {
        let msg = msg.ok()?;
        for n in msg.children_named(M, "Notification") {
            let id = n
                .child_text(T, "SubscriptionId")
                .filter(|s| !s.is_empty())
                .ok_or_else(|| ProviderError::Protocol("notification without SubscriptionId".into()))?;
            let changed = n.children.iter().any(|e| {
                e.ns.as_deref() == Some(T)
                    && matches!(
                        e.name.as_str(),
                        "CreatedEvent" | "ModifiedEvent" | "DeletedEvent" | "MovedEvent" | "CopiedEvent" | "NewMailEvent"
                    )
            });
            let event = if changed { NotificationEvent::Changed } else { NotificationEvent::Hello };
            out.push(Notification { subscription_id: id.to_string(), secret: None, event });
        }
    }
    if out.is_empty() {
        return Err(ProviderError::Protocol("SendNotification without a notification".into()));
    }
    Ok(out)
}
