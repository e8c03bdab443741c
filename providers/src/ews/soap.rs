//! Writing EWS SOAP 1.1 requests. Every element is written in the order types.xsd /
//! messages.xsd give (real Exchange validates requests against the schema and answers
//! `ErrorSchemaValidation` otherwise); every piece of text goes through [`escape`].

use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use domain::xml::escape;

use super::parse::{M, S, T};
use super::recurrence;
use crate::{Changed, EventDraft, EventTime, ProviderError, Result, SendInvitations};

/// Version written in every request header; the first one with `StartTimeZoneId`.
pub const SERVER_VERSION: &str = "Exchange2013";

/// The CRM meeting id's extended property (PublicStrings, name `crmId`, a string).
pub const CRM_ID_URI: &str =
    r#"<t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyName="crmId" PropertyType="String"/>"#;

/// The whole envelope: header (server version, and impersonation of `impersonate` when set)
/// around one body element.
pub fn envelope(impersonate: Option<&str>, body: &str) -> String {
    let mut x = String::with_capacity(body.len() + 600);
    x.push_str(r#"<?xml version="1.0" encoding="utf-8"?>"#);
    x.push_str(&format!(r#"<s:Envelope xmlns:s="{S}" xmlns:m="{M}" xmlns:t="{T}"><s:Header>"#));
    x.push_str(&format!(r#"<t:RequestServerVersion Version="{SERVER_VERSION}"/>"#));
    if let Some(mailbox) = impersonate {
        x.push_str(&format!(
            "<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>{}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>",
            escape(mailbox)
        ));
    }
    x.push_str("</s:Header><s:Body>");
    x.push_str(body);
    x.push_str("</s:Body></s:Envelope>");
    x
}

pub fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The mailbox's calendar folder, named with its mailbox (works for the user's own mailbox,
/// for delegates and under impersonation).
pub fn calendar_folder(mailbox: &str) -> String {
    format!(
        r#"<t:DistinguishedFolderId Id="calendar"><t:Mailbox><t:EmailAddress>{}</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId>"#,
        escape(mailbox)
    )
}

fn send_value(send: SendInvitations) -> &'static str {
    match send {
        SendInvitations::Yes => "SendToAllAndSaveCopy",
        SendInvitations::No => "SendToNone",
    }
}

fn item_id(id: &str, change_key: Option<&str>) -> String {
    match change_key {
        Some(ck) => format!(r#"<t:ItemId Id="{}" ChangeKey="{}"/>"#, escape(id), escape(ck)),
        None => format!(r#"<t:ItemId Id="{}"/>"#, escape(id)),
    }
}

pub fn get_folder(mailbox: &str) -> String {
    format!(
        "<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:FolderIds>{}</m:FolderIds></m:GetFolder>",
        calendar_folder(mailbox)
    )
}

pub fn resolve_names(mailbox: &str) -> String {
    format!(
        r#"<m:ResolveNames ReturnFullContactData="false" SearchScope="ActiveDirectory"><m:UnresolvedEntry>{}</m:UnresolvedEntry></m:ResolveNames>"#,
        escape(mailbox)
    )
}

/// Properties read for every event (GetItem): everything [`super::parse::event`] maps.
const FULL_PROPERTIES: &[&str] = &[
    "item:Subject",
    "item:Sensitivity",
    "item:Body",
    "item:LastModifiedTime",
    "calendar:UID",
    "calendar:Start",
    "calendar:End",
    "calendar:OriginalStart",
    "calendar:IsAllDayEvent",
    "calendar:LegacyFreeBusyStatus",
    "calendar:Location",
    "calendar:IsCancelled",
    "calendar:CalendarItemType",
    "calendar:Organizer",
    "calendar:RequiredAttendees",
    "calendar:OptionalAttendees",
    "calendar:Recurrence",
    "calendar:StartTimeZoneId",
];

/// Properties a calendar view needs to page and to tie occurrences to their series.
const VIEW_PROPERTIES: &[&str] = &["calendar:Start", "calendar:End", "calendar:CalendarItemType", "calendar:UID"];

fn shape(props: &[&str], crm_id: bool, body: bool) -> String {
    let mut x = String::from("<m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>");
    if body {
        // The body as Exchange keeps it (HTML for Outlook's meetings, with their links and
        // the Teams join link); the answer's Body says which.
        x.push_str("<t:BodyType>Best</t:BodyType>");
    }
    x.push_str("<t:AdditionalProperties>");
    for p in props {
        x.push_str(&format!(r#"<t:FieldURI FieldURI="{p}"/>"#));
    }
    if crm_id {
        x.push_str(CRM_ID_URI);
    }
    x.push_str("</t:AdditionalProperties></m:ItemShape>");
    x
}

pub fn find_calendar_view(mailbox: &str, from: DateTime<Utc>, to: DateTime<Utc>, max: usize) -> String {
    format!(
        r#"<m:FindItem Traversal="Shallow">{}<m:CalendarView MaxEntriesReturned="{max}" StartDate="{}" EndDate="{}"/><m:ParentFolderIds>{}</m:ParentFolderIds></m:FindItem>"#,
        shape(VIEW_PROPERTIES, false, false),
        time(from),
        time(to),
        calendar_folder(mailbox)
    )
}

/// Singles and series masters (no CalendarView: nothing expanded) carrying this CRM id.
pub fn find_by_crm_id(mailbox: &str, crm_id: &str) -> String {
    format!(
        r#"<m:FindItem Traversal="Shallow">{}<m:Restriction><t:IsEqualTo>{CRM_ID_URI}<t:FieldURIOrConstant><t:Constant Value="{}"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction><m:ParentFolderIds>{}</m:ParentFolderIds></m:FindItem>"#,
        shape(&["calendar:CalendarItemType"], false, false),
        escape(crm_id),
        calendar_folder(mailbox)
    )
}

pub fn get_items(ids: &[&str]) -> String {
    let mut x = format!("<m:GetItem>{}<m:ItemIds>", shape(FULL_PROPERTIES, true, true));
    for id in ids {
        x.push_str(&item_id(id, None));
    }
    x.push_str("</m:ItemIds></m:GetItem>");
    x
}

/// The series masters of these occurrences (ids only).
pub fn get_masters(occurrence_ids: &[&str]) -> String {
    let mut x = format!("<m:GetItem>{}<m:ItemIds>", shape(&["calendar:UID"], false, false));
    for id in occurrence_ids {
        x.push_str(&format!(r#"<t:RecurringMasterItemId OccurrenceId="{}"/>"#, escape(id)));
    }
    x.push_str("</m:ItemIds></m:GetItem>");
    x
}

pub fn sync_folder_items(mailbox: &str, state: Option<&str>, max: u32) -> String {
    let state = state.map(|s| format!("<m:SyncState>{}</m:SyncState>", escape(s))).unwrap_or_default();
    format!(
        "<m:SyncFolderItems>{}<m:SyncFolderId>{}</m:SyncFolderId>{state}<m:MaxChangesReturned>{max}</m:MaxChangesReturned><m:SyncScope>NormalItems</m:SyncScope></m:SyncFolderItems>",
        shape(&["calendar:CalendarItemType"], false, false),
        calendar_folder(mailbox)
    )
}

/// One settable field of a calendar item: its path and its element inside `t:CalendarItem`.
/// `value: None` means "clear it" (an update deletes the field; a create leaves it out).
pub struct Field {
    pub uri: String,
    pub value: Option<String>,
}

fn field(uri: &str, value: Option<String>) -> Field {
    Field { uri: format!(r#"<t:FieldURI FieldURI="{uri}"/>"#), value }
}

fn zone(draft: &EventDraft) -> Result<Tz> {
    let name = if draft.time_zone.trim().is_empty() { "UTC" } else { draft.time_zone.trim() };
    name.parse::<Tz>().map_err(|_| ProviderError::Rejected {
        status: 0,
        code: "UnknownTimeZone".into(),
        message: format!("unknown time zone {name:?}"),
    })
}

/// An all-day date as the instant of its local midnight in the event's zone (how Exchange
/// stores all-day items; it reads them back in the same zone).
fn instant(t: &EventTime, tz: Tz) -> DateTime<Utc> {
    match t {
        EventTime::At(at) => *at,
        EventTime::Date(d) => {
            let midnight = d.and_time(NaiveTime::MIN);
            tz.from_local_datetime(&midnight)
                .earliest()
                // Midnight skipped by a DST change (a few zones): the first instant of that day.
                .or_else(|| tz.from_local_datetime(&(midnight + chrono::Duration::hours(1))).earliest())
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
        }
    }
}

fn mailboxes(attendees: &[&crate::Attendee], element: &str) -> Option<String> {
    if attendees.is_empty() {
        return None;
    }
    let mut x = format!("<t:{element}>");
    for a in attendees {
        x.push_str("<t:Attendee><t:Mailbox>");
        if let Some(name) = a.name.as_deref().filter(|n| !n.is_empty()) {
            x.push_str(&format!("<t:Name>{}</t:Name>", escape(name)));
        }
        x.push_str(&format!("<t:EmailAddress>{}</t:EmailAddress></t:Mailbox></t:Attendee>", escape(&a.email)));
    }
    x.push_str(&format!("</t:{element}>"));
    Some(x)
}

/// The draft's fields in `t:CalendarItem` schema order (ItemType's part, then
/// CalendarItemType's).
pub fn fields(draft: &EventDraft) -> Result<Vec<Field>> {
    let tz = zone(draft)?;
    let all_day = draft.start.is_date();
    let start = instant(&draft.start, tz);
    let end = instant(&draft.end, tz);
    if end < start {
        return Err(ProviderError::Rejected { status: 0, code: "InvalidTimes".into(), message: "the end is before the start".into() });
    }
    let windows = domain::windows_zones::iana_to_windows(tz.name());
    let required: Vec<_> = draft.attendees.iter().filter(|a| !a.optional).collect();
    let optional: Vec<_> = draft.attendees.iter().filter(|a| a.optional).collect();
    let recurrence = match draft.recurrence.as_deref().filter(|r| !r.trim().is_empty()) {
        Some(rule) => {
            let local = recurrence::local_start(&draft.start, tz);
            Some(recurrence::rrule_to_xml(rule, local, tz, all_day)?)
        }
        None => None,
    };
    let text = |name: &str, v: &str| Some(format!("<t:{name}>{}</t:{name}>", escape(v)));
    Ok(vec![
        field("item:Subject", text("Subject", &draft.subject)),
        field("item:Sensitivity", text("Sensitivity", if draft.private { "Private" } else { "Normal" })),
        field("item:Body", Some(format!(r#"<t:Body BodyType="{}">{}</t:Body>"#, if draft.description_html { "HTML" } else { "Text" }, escape(&draft.description)))),
        Field {
            uri: CRM_ID_URI.to_string(),
            value: draft.crm_id.as_deref().map(|id| {
                format!("<t:ExtendedProperty>{CRM_ID_URI}<t:Value>{}</t:Value></t:ExtendedProperty>", escape(id))
            }),
        },
        field("calendar:Start", text("Start", &time(start))),
        field("calendar:End", text("End", &time(end))),
        field("calendar:IsAllDayEvent", text("IsAllDayEvent", if all_day { "true" } else { "false" })),
        field("calendar:LegacyFreeBusyStatus", text("LegacyFreeBusyStatus", if draft.busy { "Busy" } else { "Free" })),
        field("calendar:Location", text("Location", &draft.location)),
        field("calendar:RequiredAttendees", mailboxes(&required, "RequiredAttendees")),
        field("calendar:OptionalAttendees", mailboxes(&optional, "OptionalAttendees")),
        field("calendar:Recurrence", recurrence),
        field("calendar:StartTimeZoneId", windows.and_then(|w| text("StartTimeZoneId", w))),
        field("calendar:EndTimeZoneId", windows.and_then(|w| text("EndTimeZoneId", w))),
    ])
}

pub fn create_item(mailbox: &str, draft: &EventDraft, send: SendInvitations) -> Result<String> {
    let mut item = String::from("<t:CalendarItem>");
    for f in fields(draft)? {
        if let Some(v) = f.value {
            item.push_str(&v);
        }
    }
    item.push_str("</t:CalendarItem>");
    Ok(format!(
        r#"<m:CreateItem SendMeetingInvitations="{}"><m:SavedItemFolderId>{}</m:SavedItemFolderId><m:Items>{item}</m:Items></m:CreateItem>"#,
        send_value(send),
        calendar_folder(mailbox)
    ))
}

/// Sets every field of the draft on the item. With a ChangeKey the write only succeeds when
/// the item has not changed since (`NeverOverwrite`); without, it overwrites.
pub fn update_item(id: &str, change_key: Option<&str>, draft: &EventDraft, changed: Changed, send: SendInvitations) -> Result<String> {
    // Only the fields that changed: an untouched body keeps its HTML (and a Teams link in it).
    // (A field's `uri` is its whole FieldURI element; the name is its attribute value.)
    let name = |uri: &str| uri.split('"').nth(1).unwrap_or_default().to_string();
    let wanted = |uri: &str| {
        changed.everything
            || uri == CRM_ID_URI && changed.crm_id
            || match name(uri).as_str() {
                "item:Subject" => changed.subject,
                "item:Sensitivity" => changed.private,
                "item:Body" => changed.description,
                "calendar:Start" | "calendar:End" | "calendar:IsAllDayEvent" | "calendar:StartTimeZoneId" | "calendar:EndTimeZoneId" => changed.time,
                "calendar:Location" => changed.location,
                "calendar:RequiredAttendees" | "calendar:OptionalAttendees" => changed.attendees,
                _ => false,
            }
    };
    let mut fields: Vec<Field> = fields(draft)?.into_iter().filter(|f| wanted(&f.uri)).collect();
    // Zones first: Exchange places an all-day item's midnights in the item's zone.
    fields.sort_by_key(|f| !name(&f.uri).ends_with("TimeZoneId"));
    let mut updates = String::new();
    for f in fields {
        match f.value {
            Some(v) => updates.push_str(&format!("<t:SetItemField>{}<t:CalendarItem>{v}</t:CalendarItem></t:SetItemField>", f.uri)),
            // Clearing a recurrence would turn a series into a single event: an update without
            // a rule leaves the pattern alone (occurrences cannot carry one anyway). A zone
            // without a Windows name leaves the item's zone as it was. A draft without a CRM id
            // leaves the stored one: erasing it would break finding the event again.
            None if f.uri.contains("calendar:Recurrence") || f.uri.contains("TimeZoneId") || f.uri == CRM_ID_URI => {}
            None => updates.push_str(&format!("<t:DeleteItemField>{}</t:DeleteItemField>", f.uri)),
        }
    }
    let resolution = if change_key.is_some() { "NeverOverwrite" } else { "AlwaysOverwrite" };
    Ok(format!(
        r#"<m:UpdateItem ConflictResolution="{resolution}" SendMeetingInvitationsOrCancellations="{}"><m:ItemChanges><t:ItemChange>{}<t:Updates>{updates}</t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>"#,
        send_value(send),
        item_id(id, change_key)
    ))
}

pub fn delete_item(id: &str, change_key: Option<&str>, send: SendInvitations) -> String {
    format!(
        r#"<m:DeleteItem DeleteType="MoveToDeletedItems" SendMeetingCancellations="{}"><m:ItemIds>{}</m:ItemIds></m:DeleteItem>"#,
        send_value(send),
        item_id(id, change_key)
    )
}

/// Free/busy in UTC: the legacy `t:TimeZone` with no bias and no daylight saving (both
/// transitions identical), so the window and the answer's times are UTC wall-clock times.
pub fn get_user_availability(emails: &[String], from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let utc_time = |name: &str| {
        format!("<t:{name}><t:Bias>0</t:Bias><t:Time>00:00:00</t:Time><t:DayOrder>1</t:DayOrder><t:Month>1</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek></t:{name}>")
    };
    let mut x = format!(
        "<m:GetUserAvailabilityRequest><t:TimeZone><t:Bias>0</t:Bias>{}{}</t:TimeZone><m:MailboxDataArray>",
        utc_time("StandardTime"),
        utc_time("DaylightTime")
    );
    for email in emails {
        x.push_str(&format!(
            "<t:MailboxData><t:Email><t:Address>{}</t:Address></t:Email><t:AttendeeType>Required</t:AttendeeType><t:ExcludeConflicts>false</t:ExcludeConflicts></t:MailboxData>",
            escape(email)
        ));
    }
    let naive = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S").to_string();
    x.push_str(&format!(
        "</m:MailboxDataArray><t:FreeBusyViewOptions><t:TimeWindow><t:StartTime>{}</t:StartTime><t:EndTime>{}</t:EndTime></t:TimeWindow><t:MergedFreeBusyIntervalInMinutes>30</t:MergedFreeBusyIntervalInMinutes><t:RequestedView>Detailed</t:RequestedView></t:FreeBusyViewOptions></m:GetUserAvailabilityRequest>",
        naive(from),
        naive(to)
    ));
    x
}

pub fn subscribe_push(mailbox: &str, url: &str, status_frequency_minutes: u32) -> String {
    format!(
        "<m:Subscribe><m:PushSubscriptionRequest><t:FolderIds>{}</t:FolderIds><t:EventTypes><t:EventType>CreatedEvent</t:EventType><t:EventType>ModifiedEvent</t:EventType><t:EventType>DeletedEvent</t:EventType><t:EventType>MovedEvent</t:EventType></t:EventTypes><t:StatusFrequency>{}</t:StatusFrequency><t:URL>{}</t:URL></m:PushSubscriptionRequest></m:Subscribe>",
        calendar_folder(mailbox),
        status_frequency_minutes.clamp(1, 1440),
        escape(url)
    )
}

pub fn unsubscribe(subscription_id: &str) -> String {
    format!("<m:Unsubscribe><m:SubscriptionId>{}</m:SubscriptionId></m:Unsubscribe>", escape(subscription_id))
}

/// The answer to the server's `SendNotification` POST: keep the subscription or end it.
pub fn send_notification_result(keep: bool) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{S}" xmlns:m="{M}"><s:Body><m:SendNotificationResult><m:SubscriptionStatus>{}</m:SubscriptionStatus></m:SendNotificationResult></s:Body></s:Envelope>"#,
        if keep { "OK" } else { "Unsubscribe" }
    )
}
