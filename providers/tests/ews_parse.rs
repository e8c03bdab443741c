//! EWS client: answer parsing on hand-made fixtures (tests/fixtures/ews, see its README for the
//! shapes' origin), request writing checked against the schema's element order, hostile inputs,
//! and error mapping against tiny local servers that answer canned SOAP.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::Router;
use chrono::{NaiveDate, TimeZone, Utc};
use domain::xml::{self, Element};
use providers::ews::{self, parse, soap, EwsAuth, EwsCalendar};
use providers::http::HttpConfig;
use providers::{
    Attendee, CalendarProvider, EventDraft, EventKind, EventTime, NotificationEvent, ProviderError, Response, SendInvitations,
};

/// A guard against hangs, far above the milliseconds these take: not a performance claim.
const HANG: Duration = Duration::from_secs(60);

const S: &str = parse::S;
const M: &str = parse::M;
const T: &str = parse::T;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/ews/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn payload_of(bytes: &[u8]) -> Element {
    let root = parse::document(bytes, 1 << 20).expect("a SOAP envelope");
    parse::body_payload(&root).expect("a body payload").clone()
}

// ---------------------------------------------------------------------------------------------
// Parsing answers

#[test]
fn master_item_with_exchange_prefixes_and_unknown_elements() {
    let payload = payload_of(&fixture("getitem_master_smt.xml"));
    assert!(payload.is(M, "GetItemResponse"));
    let msgs = parse::messages(&payload).unwrap();
    assert_eq!(msgs.len(), 1);
    let item = parse::items(msgs[0].ok().unwrap()).next().unwrap();
    let ev = parse::event(item).unwrap();
    assert_eq!(ev.id, "AAMkMASTER1=");
    assert_eq!(ev.etag.as_deref(), Some("DwAAABYAAAA1"));
    assert_eq!(ev.kind, EventKind::SeriesMaster);
    assert_eq!(ev.subject, "Weekly review & plan");
    assert_eq!(ev.description, "Agenda:\n1. numbers <draft>");
    assert_eq!(ev.location, "Room 4");
    assert_eq!(ev.crm_id.as_deref(), Some("MEET-42"));
    assert_eq!(ev.ical_uid.as_deref(), Some("040000008200E00074C5B7101A82E0080000000012345"));
    assert_eq!(ev.time_zone.as_deref(), Some("Europe/Paris"), "Romance Standard Time → CLDR default zone");
    assert_eq!(ev.start, EventTime::At(Utc.with_ymd_and_hms(2025, 3, 3, 8, 0, 0).unwrap()));
    assert_eq!(ev.recurrence.as_deref(), Some("FREQ=WEEKLY;BYDAY=MO,TH;COUNT=10"), "WKST only matters for multi-week intervals");
    assert!(ev.busy && !ev.private && !ev.cancelled);
    assert_eq!(ev.organizer.as_ref().map(|o| o.email.as_str()), Some("anna@example.com"));
    assert_eq!(ev.organizer.as_ref().and_then(|o| o.name.as_deref()), Some("Anna Berg"));
    let people: Vec<_> = ev.attendees.iter().map(|a| (a.email.as_str(), a.response, a.optional)).collect();
    assert_eq!(
        people,
        [
            ("bo@example.com", Response::Accepted, false),
            ("cy@example.com", Response::NeedsAction, false),
            ("di@example.com", Response::Tentative, true)
        ]
    );
    assert_eq!(ev.updated, Some(Utc.with_ymd_and_hms(2025, 2, 20, 8, 15, 0).unwrap()));
}

#[test]
fn default_namespaces_missing_optional_elements_and_per_item_errors() {
    let payload = payload_of(&fixture("getitem_default_ns.xml"));
    let msgs = parse::messages(&payload).unwrap();
    assert_eq!(msgs.len(), 3);

    let single = parse::event(parse::items(msgs[0].ok().unwrap()).next().unwrap()).unwrap();
    assert_eq!(single.kind, EventKind::Single);
    assert!(single.private && !single.busy);
    assert_eq!(single.etag, None);
    // All-day: 22:00Z is midnight in Berlin (CEST); the end date is exclusive.
    assert_eq!(single.time_zone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(single.start, EventTime::Date(NaiveDate::from_ymd_opt(2025, 5, 2).unwrap()));
    assert_eq!(single.end, EventTime::Date(NaiveDate::from_ymd_opt(2025, 5, 4).unwrap()));
    assert_eq!((single.location.as_str(), single.description.as_str()), ("", ""));
    assert!(single.attendees.is_empty() && single.organizer.is_none() && single.crm_id.is_none());

    let exception = parse::event(parse::items(msgs[1].ok().unwrap()).next().unwrap()).unwrap();
    assert_eq!(exception.kind, EventKind::Exception);
    assert!(exception.cancelled);
    assert_eq!(exception.start, EventTime::At(Utc.with_ymd_and_hms(2025, 3, 10, 8, 30, 0).unwrap()));
    assert_eq!(exception.original_start, Some(Utc.with_ymd_and_hms(2025, 3, 10, 8, 0, 0).unwrap()));
    assert_eq!(exception.time_zone, None);

    assert!(!msgs[2].success);
    assert_eq!(msgs[2].ok().unwrap_err(), ProviderError::NotFound);
}

#[test]
fn server_busy_fault_carries_the_back_off() {
    let payload = payload_of(&fixture("fault_server_busy.xml"));
    let fault = parse::fault(&payload).unwrap();
    assert_eq!(fault.code, "ErrorServerBusy");
    assert_eq!(fault.back_off, Some(Duration::from_millis(29750)));
    assert_eq!(
        parse::error_for(&fault.code, &fault.message, fault.back_off, 500),
        ProviderError::Throttled { retry_after: Some(Duration::from_millis(29750)) }
    );
}

#[test]
fn response_codes_map_to_distinct_errors() {
    let cases = [
        ("ErrorItemNotFound", ProviderError::NotFound),
        ("ErrorInvalidSyncStateData", ProviderError::CursorExpired),
        ("ErrorIrresolvableConflict", ProviderError::Conflict),
        ("ErrorStaleObject", ProviderError::Conflict),
    ];
    for (code, want) in cases {
        assert_eq!(parse::error_for(code, "m", None, 200), want, "{code}");
    }
    assert!(matches!(parse::error_for("ErrorNonExistentMailbox", "m", None, 200), ProviderError::MailboxNotFound(_)));
    assert!(matches!(parse::error_for("ErrorImpersonateUserDenied", "m", None, 500), ProviderError::ImpersonationDenied(_)));
    assert!(matches!(parse::error_for("ErrorImpersonationDenied", "m", None, 500), ProviderError::ImpersonationDenied(_)));
    assert!(matches!(parse::error_for("ErrorAccessDenied", "m", None, 200), ProviderError::AccessDenied(_)));
    assert!(matches!(
        parse::error_for("ErrorSchemaValidation", "line 1", None, 500),
        ProviderError::Rejected { status: 500, ref code, .. } if code == "ErrorSchemaValidation"
    ));
    // A fault with only a faultcode (no detail) still names its code.
    let bare = format!(r#"<s:Envelope xmlns:s="{S}"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>bad</faultstring></s:Fault></s:Body></s:Envelope>"#);
    let fault = parse::fault(&payload_of(bare.as_bytes())).unwrap();
    assert_eq!((fault.code.as_str(), fault.message.as_str(), fault.back_off), ("Client", "bad", None));
}

#[test]
fn calendar_view_cut_short() {
    let payload = payload_of(&fixture("finditem_view_cut.xml"));
    let msg = parse::single(&payload).unwrap();
    assert!(!parse::view_complete(msg));
    let ids: Vec<_> = parse::items(msg).filter_map(parse::item_id).map(|(id, _)| id).collect();
    assert_eq!(ids, ["A1", "A2"]);
    let empty = std::fs::read_to_string(format!(
        "{}/tests/fixtures/ews/finditem_view_cut.xml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .replace(r#"IncludesLastItemInRange="false""#, r#"IncludesLastItemInRange="true""#);
    assert!(parse::view_complete(parse::single(&payload_of(empty.as_bytes())).unwrap()));
}

#[test]
fn sync_folder_items_page() {
    let payload = payload_of(&fixture("syncfolderitems.xml"));
    let page = parse::sync_page(parse::single(&payload).unwrap()).unwrap();
    assert_eq!(page.state, "H4sIAAAAAAAEAO29B2AcSZY=");
    assert!(!page.complete);
    assert_eq!(
        page.changes,
        [
            parse::SyncChange::Upsert { id: "NEW1".into(), kind: Some("Single".into()) },
            parse::SyncChange::Upsert { id: "MASTER1".into(), kind: None },
            parse::SyncChange::Delete { id: "GONE1".into() },
        ],
        "read-flag changes and non-calendar items are skipped"
    );
    // An expired state comes back as a per-message error.
    let expired = format!(
        r#"<s:Envelope xmlns:s="{S}"><s:Body><m:SyncFolderItemsResponse xmlns:m="{M}"><m:ResponseMessages><m:SyncFolderItemsResponseMessage ResponseClass="Error"><m:MessageText>Synchronization state data is corrupt or otherwise invalid.</m:MessageText><m:ResponseCode>ErrorInvalidSyncStateData</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:SyncFolderItemsResponseMessage></m:ResponseMessages></m:SyncFolderItemsResponse></s:Body></s:Envelope>"#
    );
    assert_eq!(parse::single(&payload_of(expired.as_bytes())).unwrap_err(), ProviderError::CursorExpired);
}

#[test]
fn free_busy_view_and_per_mailbox_errors() {
    let payload = payload_of(&fixture("getuseravailability.xml"));
    let answers: Vec<&Element> = payload.child(M, "FreeBusyResponseArray").unwrap().children_named(M, "FreeBusyResponse").collect();
    assert_eq!(answers.len(), 2);
    let busy = parse::busy_intervals(answers[0].child(M, "FreeBusyView").unwrap());
    let spans: Vec<_> = busy.iter().map(|b| (b.start.format("%H:%M").to_string(), b.tentative)).collect();
    assert_eq!(spans, [("08:00".to_string(), false), ("12:00".to_string(), true)], "Free entries are not busy");
    let second = parse::message(answers[1].child(M, "ResponseMessage").unwrap());
    assert!(!second.success);
    assert_eq!(second.code, "ErrorMailRecipientNotFound");
}

#[test]
fn push_notifications_and_the_answer() {
    let notes = ews::parse_notification(&fixture("sendnotification.xml")).unwrap();
    let got: Vec<_> = notes.iter().map(|n| (n.subscription_id.as_str(), n.event, n.secret.clone())).collect();
    assert_eq!(got, [("SUB-A", NotificationEvent::Hello, None), ("SUB-B", NotificationEvent::Changed, None)]);

    for (keep, status) in [(true, "OK"), (false, "Unsubscribe")] {
        let answer = ews::notification_answer(keep);
        let root = xml::parse(answer.as_bytes(), Default::default()).unwrap();
        let result = parse::body_payload(&root).unwrap();
        assert!(result.is(M, "SendNotificationResult"));
        assert_eq!(result.child_text(M, "SubscriptionStatus"), Some(status));
    }
    assert!(matches!(ews::parse_notification(b"<a/>"), Err(ProviderError::Protocol(_))));
    assert!(matches!(ews::parse_notification(b""), Err(ProviderError::Protocol(_))));
}

// ---------------------------------------------------------------------------------------------
// Hostile and broken input

fn hostile_documents() -> Vec<(&'static str, Vec<u8>)> {
    let bomb = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>&lol3;</s:Body></s:Envelope>"#;
    let external = r#"<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>&xxe;</s:Body></s:Envelope>"#;
    let undeclared = format!(r#"<s:Envelope xmlns:s="{S}"><s:Body>&xxe;</s:Body></s:Envelope>"#);
    let mut deep = format!(r#"<s:Envelope xmlns:s="{S}"><s:Body>"#);
    deep.push_str(&"<a>".repeat(100_000));
    deep.push_str(&"</a>".repeat(100_000));
    deep.push_str("</s:Body></s:Envelope>");
    vec![
        ("entity bomb", bomb.as_bytes().to_vec()),
        ("external entity", external.as_bytes().to_vec()),
        ("undeclared entity", undeclared.into_bytes()),
        ("100k-deep nesting", deep.into_bytes()),
        ("truncated", format!(r#"<s:Envelope xmlns:s="{S}"><s:Body><m:GetItemResponse xmlns:m="{M}">"#).into_bytes()),
        ("binary garbage", (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect()),
        ("json", br#"{"error":"nope"}"#.to_vec()),
        ("unbalanced", b"<a><b></a></b>".to_vec()),
    ]
}

#[test]
fn hostile_documents_give_clear_errors() {
    for (what, doc) in hostile_documents() {
        let started = Instant::now();
        assert!(parse::document(&doc, 16 << 20).is_err(), "{what} was accepted");
        let err = ews::parse_notification(&doc).unwrap_err();
        assert!(matches!(err, ProviderError::Protocol(_)), "{what}: {err:?}");
        assert!(started.elapsed() < HANG, "{what} took {:?}", started.elapsed());
    }
    let big = vec![b' '; 2 << 20];
    assert!(matches!(ews::parse_notification(&big), Err(ProviderError::TooLarge { .. })));
}

// ---------------------------------------------------------------------------------------------
// Writing requests

/// `t:CalendarItem` children in types.xsd order (ItemType's sequence, then CalendarItemType's),
/// the part this client writes.
const CALENDAR_ITEM_ORDER: &[&str] = &[
    "ItemId", "Subject", "Sensitivity", "Body", "ExtendedProperty", "LastModifiedTime", "UID", "Start", "End",
    "OriginalStart", "IsAllDayEvent", "LegacyFreeBusyStatus", "Location", "IsCancelled", "CalendarItemType",
    "Organizer", "RequiredAttendees", "OptionalAttendees", "Recurrence", "StartTimeZone", "EndTimeZone",
    "StartTimeZoneId", "EndTimeZoneId",
];

fn draft() -> EventDraft {
    EventDraft {
        subject: "Kick-off <Q2> & \"more\"".into(),
        location: "Room ]]> 1".into(),
        description: "line 1\nline 2 &amp;".into(),
        description_html: false,
        start: EventTime::At(Utc.with_ymd_and_hms(2025, 4, 7, 7, 0, 0).unwrap()),
        end: EventTime::At(Utc.with_ymd_and_hms(2025, 4, 7, 8, 0, 0).unwrap()),
        time_zone: "Europe/Copenhagen".into(),
        private: true,
        busy: true,
        attendees: vec![
            Attendee::required("bo@example.com"),
            Attendee { email: "di@example.com".into(), name: Some("Di & Co".into()), response: Response::NeedsAction, optional: true },
        ],
        crm_id: Some("MEET-7".into()),
        recurrence: Some("FREQ=WEEKLY;BYDAY=MO;COUNT=4".into()),
    }
}

fn request_body(body: &str) -> Element {
    let envelope = soap::envelope(None, body);
    let root = xml::parse(envelope.as_bytes(), Default::default()).expect("our request is well-formed XML");
    let version = root.path(&[(S, "Header"), (T, "RequestServerVersion")]).unwrap();
    assert_eq!(version.attr("Version"), Some("Exchange2013"));
    parse::body_payload(&root).unwrap().clone()
}

fn assert_schema_order(item: &Element) {
    let mut last = 0;
    for c in &item.children {
        assert_eq!(c.ns.as_deref(), Some(T), "{} in the types namespace", c.name);
        let pos = CALENDAR_ITEM_ORDER
            .iter()
            .position(|n| *n == c.name)
            .unwrap_or_else(|| panic!("{} is not an element this client should write", c.name));
        assert!(pos >= last, "{} out of schema order", c.name);
        last = pos;
    }
}

#[test]
fn create_item_follows_the_schema() {
    let create = request_body(&soap::create_item("ann@example.com", &draft(), SendInvitations::Yes).unwrap());
    assert!(create.is(M, "CreateItem"));
    assert_eq!(create.attr("SendMeetingInvitations"), Some("SendToAllAndSaveCopy"));
    let names: Vec<_> = create.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["SavedItemFolderId", "Items"]);
    let item = create.path(&[(M, "Items"), (T, "CalendarItem")]).unwrap();
    assert_schema_order(item);
    let names: Vec<_> = item.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Subject", "Sensitivity", "Body", "ExtendedProperty", "Start", "End", "IsAllDayEvent", "LegacyFreeBusyStatus",
            "Location", "RequiredAttendees", "OptionalAttendees", "Recurrence", "StartTimeZoneId", "EndTimeZoneId"
        ]
    );
    assert_eq!(item.child_text(T, "Subject"), Some("Kick-off <Q2> & \"more\""), "text survives escaping");
    assert_eq!(item.child(T, "Body").unwrap().text, "line 1\nline 2 &amp;");
    assert_eq!(item.child_text(T, "Sensitivity"), Some("Private"));
    assert_eq!(item.child_text(T, "Start"), Some("2025-04-07T07:00:00Z"));
    assert_eq!(item.child_text(T, "StartTimeZoneId"), Some("Romance Standard Time"));
    let prop = item.child(T, "ExtendedProperty").unwrap();
    let uri = prop.child(T, "ExtendedFieldURI").unwrap();
    assert_eq!(
        (uri.attr("DistinguishedPropertySetId"), uri.attr("PropertyName"), uri.attr("PropertyType")),
        (Some("PublicStrings"), Some("crmId"), Some("String"))
    );
    assert_eq!(prop.child_text(T, "Value"), Some("MEET-7"));
    let optional = item.path(&[(T, "OptionalAttendees"), (T, "Attendee"), (T, "Mailbox")]).unwrap();
    assert_eq!(optional.child_text(T, "Name"), Some("Di & Co"));
    let rec = item.child(T, "Recurrence").unwrap();
    let weekly = rec.child(T, "WeeklyRecurrence").unwrap();
    assert_eq!(weekly.child_text(T, "DaysOfWeek"), Some("Monday"));
    let range = rec.child(T, "NumberedRecurrence").unwrap();
    assert_eq!(range.child_text(T, "StartDate"), Some("2025-04-07"));
    assert_eq!(range.child_text(T, "NumberOfOccurrences"), Some("4"));

    // All-day: midnights of the event's zone, flagged.
    let mut all_day = draft();
    all_day.start = EventTime::Date(NaiveDate::from_ymd_opt(2025, 5, 2).unwrap());
    all_day.end = EventTime::Date(NaiveDate::from_ymd_opt(2025, 5, 3).unwrap());
    all_day.recurrence = None;
    let create = request_body(&soap::create_item("ann@example.com", &all_day, SendInvitations::No).unwrap());
    assert_eq!(create.attr("SendMeetingInvitations"), Some("SendToNone"));
    let item = create.path(&[(M, "Items"), (T, "CalendarItem")]).unwrap();
    assert_eq!(item.child_text(T, "Start"), Some("2025-05-01T22:00:00Z"));
    assert_eq!(item.child_text(T, "End"), Some("2025-05-02T22:00:00Z"));
    assert_eq!(item.child_text(T, "IsAllDayEvent"), Some("true"));

    let mut bad = draft();
    bad.recurrence = Some("FREQ=MINUTELY".into());
    assert!(matches!(soap::create_item("a@b.c", &bad, SendInvitations::No), Err(ProviderError::Rejected { .. })));
    bad.recurrence = None;
    bad.time_zone = "Mars/Olympus".into();
    assert!(matches!(soap::create_item("a@b.c", &bad, SendInvitations::No), Err(ProviderError::Rejected { .. })));
}

#[test]
fn update_item_sets_each_field_conditionally() {
    let mut d = draft();
    d.attendees.retain(|a| !a.optional);
    d.crm_id = None;
    let update = request_body(&soap::update_item("ID1", Some("CK1"), &d, providers::Changed::ALL, SendInvitations::No).unwrap());
    assert!(update.is(M, "UpdateItem"));
    assert_eq!(update.attr("ConflictResolution"), Some("NeverOverwrite"));
    assert_eq!(update.attr("SendMeetingInvitationsOrCancellations"), Some("SendToNone"));
    let change = update.path(&[(M, "ItemChanges"), (T, "ItemChange")]).unwrap();
    let id = change.child(T, "ItemId").unwrap();
    assert_eq!((id.attr("Id"), id.attr("ChangeKey")), (Some("ID1"), Some("CK1")));
    let mut set = Vec::new();
    let mut deleted = Vec::new();
    for u in &change.child(T, "Updates").unwrap().children {
        let path = &u.children[0];
        let name = path.attr("FieldURI").or(path.attr("PropertyName")).unwrap().to_string();
        match u.name.as_str() {
            "SetItemField" => {
                assert_eq!(u.children.len(), 2);
                let item = &u.children[1];
                assert!(item.is(T, "CalendarItem"));
                assert_eq!(item.children.len(), 1, "one field per SetItemField");
                assert_schema_order(item);
                set.push(name);
            }
            "DeleteItemField" => deleted.push(name),
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(&set[..2], ["calendar:StartTimeZoneId", "calendar:EndTimeZoneId"], "zones before times");
    for f in ["item:Subject", "item:Sensitivity", "item:Body", "calendar:Start", "calendar:End", "calendar:IsAllDayEvent",
        "calendar:LegacyFreeBusyStatus", "calendar:Location", "calendar:RequiredAttendees", "calendar:Recurrence"]
    {
        assert!(set.iter().any(|s| s == f), "{f} is set");
    }
    assert_eq!(deleted, ["calendar:OptionalAttendees"], "a draft without a CRM id keeps the stored one");

    let blind = request_body(&soap::update_item("ID1", None, &d, providers::Changed::ALL, SendInvitations::Yes).unwrap());
    assert_eq!(blind.attr("ConflictResolution"), Some("AlwaysOverwrite"));
    assert_eq!(blind.attr("SendMeetingInvitationsOrCancellations"), Some("SendToAllAndSaveCopy"));
}

#[test]
fn other_requests_are_well_formed() {
    let del = request_body(&soap::delete_item("ID&1", None, SendInvitations::Yes));
    assert_eq!(del.attr("DeleteType"), Some("MoveToDeletedItems"));
    assert_eq!(del.attr("SendMeetingCancellations"), Some("SendToAllAndSaveCopy"));
    assert_eq!(del.path(&[(M, "ItemIds"), (T, "ItemId")]).unwrap().attr("Id"), Some("ID&1"));

    let sync = request_body(&soap::sync_folder_items("a@b.c", None, 512));
    let names: Vec<_> = sync.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["ItemShape", "SyncFolderId", "MaxChangesReturned", "SyncScope"], "no SyncState on the first call");
    let sync = request_body(&soap::sync_folder_items("a@b.c", Some("H4s"), 512));
    assert_eq!(sync.child_text(M, "SyncState"), Some("H4s"));

    let from = Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).unwrap();
    let view = request_body(&soap::find_calendar_view("a@b.c", from, from + chrono::Duration::days(7), 250));
    let names: Vec<_> = view.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["ItemShape", "CalendarView", "ParentFolderIds"]);
    let cv = view.child(M, "CalendarView").unwrap();
    assert_eq!(cv.attr("StartDate"), Some("2025-03-01T00:00:00Z"));
    let folder = view.path(&[(M, "ParentFolderIds"), (T, "DistinguishedFolderId")]).unwrap();
    assert_eq!(folder.attr("Id"), Some("calendar"));
    assert_eq!(folder.path(&[(T, "Mailbox"), (T, "EmailAddress")]).unwrap().text, "a@b.c");

    let find = request_body(&soap::find_by_crm_id("a@b.c", "MEET-\"1\""));
    let names: Vec<_> = find.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["ItemShape", "Restriction", "ParentFolderIds"]);
    let constant = find.find(T, "Constant").unwrap();
    assert_eq!(constant.attr("Value"), Some("MEET-\"1\""));

    let fb = request_body(&soap::get_user_availability(&["x@y.z".into()], from, from + chrono::Duration::days(1)));
    let names: Vec<_> = fb.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["TimeZone", "MailboxDataArray", "FreeBusyViewOptions"]);
    assert_eq!(fb.find(T, "RequestedView").unwrap().text, "Detailed");

    let sub = request_body(&soap::subscribe_push("a@b.c", "https://crm.example.com/hook?x=1&y=2", 30));
    let push = sub.child(M, "PushSubscriptionRequest").unwrap();
    let names: Vec<_> = push.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["FolderIds", "EventTypes", "StatusFrequency", "URL"]);
    assert_eq!(push.child_text(T, "URL"), Some("https://crm.example.com/hook?x=1&y=2"));

    let imp = soap::envelope(Some("ann@example.com"), "<m:GetFolder/>");
    let root = xml::parse(imp.as_bytes(), Default::default()).unwrap();
    let sid = root.path(&[(S, "Header"), (T, "ExchangeImpersonation"), (T, "ConnectingSID"), (T, "PrimarySmtpAddress")]);
    assert_eq!(sid.unwrap().text, "ann@example.com");
}

// ---------------------------------------------------------------------------------------------
// Against local servers

type Seen = Arc<Mutex<Vec<(HeaderMap, String)>>>;

/// A server on a free loopback port answering every request with `answer(headers, body)`.
async fn serve<F>(answer: F) -> (SocketAddr, Seen)
where
    F: Fn(&HeaderMap, &str) -> HttpResponse + Send + Sync + 'static,
{
    let answer = Arc::new(answer);
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let app = Router::new().fallback(move |headers: HeaderMap, body: String| {
        let answer = answer.clone();
        let log = log.clone();
        async move {
            let resp = answer(&headers, &body);
            log.lock().unwrap().push((headers, body));
            resp
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, seen)
}

fn soap_answer(status: u16, payload: &str) -> HttpResponse {
    let body = format!(r#"<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{S}"><s:Body xmlns:m="{M}" xmlns:t="{T}">{payload}</s:Body></s:Envelope>"#);
    (StatusCode::from_u16(status).unwrap(), [("content-type", "text/xml; charset=utf-8")], body).into_response()
}

fn fault_answer(code: &str) -> HttpResponse {
    soap_answer(
        500,
        &format!(r#"<s:Fault><faultcode xmlns:a="{T}">a:{code}</faultcode><faultstring>{code}</faultstring><detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">{code}</e:ResponseCode><e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">says no</e:Message></detail></s:Fault>"#),
    )
}

fn folder_answer(class: &str, code: &str) -> HttpResponse {
    soap_answer(
        200,
        &format!(r#"<m:GetFolderResponse><m:ResponseMessages><m:GetFolderResponseMessage ResponseClass="{class}"><m:MessageText>text</m:MessageText><m:ResponseCode>{code}</m:ResponseCode><m:Folders><t:CalendarFolder><t:FolderId Id="CAL"/><t:DisplayName>Calendar</t:DisplayName></t:CalendarFolder></m:Folders></m:GetFolderResponseMessage></m:ResponseMessages></m:GetFolderResponse>"#),
    )
}

fn url(addr: SocketAddr) -> String {
    format!("http://{addr}/ews/EWS/Exchange.asmx")
}

fn basic() -> EwsAuth {
    EwsAuth::Basic { username: "ann@example.com".into(), password: "pw".into() }
}

fn client(addr: SocketAddr, auth: EwsAuth) -> EwsCalendar {
    EwsCalendar::new(&HttpConfig::loopback(), &url(addr), auth, "ann@example.com").unwrap()
}

#[test]
fn urls_that_are_not_ews_endpoints_are_refused() {
    let cfg = HttpConfig::loopback();
    for bad in ["http://127.0.0.1:1/", "http://127.0.0.1:1/owa/", "http://127.0.0.1:1/EWS/Exchange.asmx/extra", "http://127.0.0.1:1/EWS/Services.wsdl"] {
        assert!(matches!(EwsCalendar::new(&cfg, bad, basic(), "a@b.c"), Err(ProviderError::NotEwsEndpoint(_))), "{bad}");
    }
    assert!(EwsCalendar::new(&cfg, "http://127.0.0.1:1/ews/EWS/exchange.ASMX", basic(), "a@b.c").is_ok());
    assert!(matches!(
        EwsCalendar::new(&HttpConfig::default(), "http://mail.example.com/EWS/Exchange.asmx", basic(), "a@b.c"),
        Err(ProviderError::InvalidUrl(_))
    ));
    assert!(matches!(
        EwsCalendar::new(&cfg, "http://192.168.1.5/EWS/Exchange.asmx", basic(), "a@b.c"),
        Err(ProviderError::InvalidUrl(_))
    ));
}

#[tokio::test]
async fn validate_tells_failures_apart() {
    // Wrong password: a bare 401, no SOAP.
    let (addr, _) = serve(|_, _| (StatusCode::UNAUTHORIZED, [("www-authenticate", "Basic realm=\"x\"")], "").into_response()).await;
    assert!(matches!(client(addr, basic()).validate().await, Err(ProviderError::InvalidCredentials(_))));

    // Some web site: 404 page, or a 200 HTML page.
    let (addr, _) = serve(|_, _| (StatusCode::NOT_FOUND, [("content-type", "text/html")], "<!DOCTYPE html><html><body>Not here</body></html>").into_response()).await;
    assert!(matches!(client(addr, basic()).validate().await, Err(ProviderError::NotEwsEndpoint(_))));
    let (addr, _) = serve(|_, _| (StatusCode::OK, [("content-type", "text/html")], "<!DOCTYPE html><html><body>Welcome</body></html>").into_response()).await;
    assert!(matches!(client(addr, basic()).validate().await, Err(ProviderError::NotEwsEndpoint(_))));
    let (addr, _) = serve(|_, _| (StatusCode::OK, [("content-type", "application/xml")], "<rss><channel/></rss>").into_response()).await;
    assert!(matches!(client(addr, basic()).validate().await, Err(ProviderError::NotEwsEndpoint(_))));

    // Nothing listening.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dead: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    assert!(matches!(client(dead, basic()).validate().await, Err(ProviderError::Unreachable(_))));

    // TLS to a plain-HTTP port.
    let (addr, _) = serve(|_, _| folder_answer("Success", "NoError")).await;
    let tls = EwsCalendar::new(&HttpConfig::loopback(), &format!("https://{addr}/EWS/Exchange.asmx"), basic(), "ann@example.com").unwrap();
    let err = tls.validate().await.unwrap_err();
    assert!(matches!(err, ProviderError::Tls(_)), "{err:?}");

    // Exchange's own refusals.
    let (addr, _) = serve(|_, _| fault_answer("ErrorImpersonateUserDenied")).await;
    let imp = EwsAuth::Impersonation { username: "svc@example.com".into(), password: "pw".into() };
    assert!(matches!(client(addr, imp).validate().await, Err(ProviderError::ImpersonationDenied(_))));
    let (addr, _) = serve(|_, _| folder_answer("Error", "ErrorNonExistentMailbox")).await;
    assert!(matches!(client(addr, basic()).validate().await, Err(ProviderError::MailboxNotFound(_))));
    let (addr, _) = serve(|_, _| fault_answer("ErrorNonExistentMailbox")).await;
    assert!(matches!(client(addr, basic()).validate().await, Err(ProviderError::MailboxNotFound(_))));
    let (addr, _) = serve(|_, _| folder_answer("Error", "ErrorAccessDenied")).await;
    assert!(matches!(client(addr, basic()).validate().await, Err(ProviderError::AccessDenied(_))));
}

#[tokio::test]
async fn validate_sends_impersonation_and_reads_the_display_name() {
    let (addr, seen) = serve(|_, body| {
        if body.contains("ResolveNames") {
            soap_answer(200, r#"<m:ResolveNamesResponse><m:ResponseMessages><m:ResolveNamesResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:ResolutionSet TotalItemsInView="1" IncludesLastItemInRange="true"><t:Resolution><t:Mailbox><t:Name>Ann Aa</t:Name><t:EmailAddress>ann@example.com</t:EmailAddress></t:Mailbox></t:Resolution></m:ResolutionSet></m:ResolveNamesResponseMessage></m:ResponseMessages></m:ResolveNamesResponse>"#)
        } else {
            folder_answer("Success", "NoError")
        }
    })
    .await;
    let imp = EwsAuth::Impersonation { username: "svc@example.com".into(), password: "secret".into() };
    let info = client(addr, imp).validate().await.unwrap();
    assert_eq!(info.email, "ann@example.com");
    assert_eq!(info.display_name.as_deref(), Some("Ann Aa"));
    let seen = seen.lock().unwrap();
    let (headers, body) = &seen[0];
    assert_eq!(headers["content-type"], "text/xml; charset=utf-8");
    assert_eq!(headers["x-anchormailbox"], "ann@example.com");
    use base64::Engine as _;
    let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("svc@example.com:secret"));
    assert_eq!(headers["authorization"], expected.as_str());
    let root = xml::parse(body.as_bytes(), Default::default()).unwrap();
    assert_eq!(
        root.path(&[(S, "Header"), (T, "ExchangeImpersonation"), (T, "ConnectingSID"), (T, "PrimarySmtpAddress")]).unwrap().text,
        "ann@example.com"
    );
    assert!(parse::body_payload(&root).unwrap().is(M, "GetFolder"));
}

#[tokio::test]
async fn throttling_carries_the_servers_back_off() {
    let (addr, _) = serve(|_, _| (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "7")], "busy").into_response()).await;
    assert_eq!(
        client(addr, basic()).validate().await.unwrap_err(),
        ProviderError::Throttled { retry_after: Some(Duration::from_secs(7)) }
    );
    let (addr, _) = serve(|_, _| (StatusCode::TOO_MANY_REQUESTS, "slow down").into_response()).await;
    assert_eq!(client(addr, basic()).validate().await.unwrap_err(), ProviderError::Throttled { retry_after: None });
    let busy = String::from_utf8(fixture("fault_server_busy.xml")).unwrap();
    let (addr, _) = serve(move |_, _| (StatusCode::INTERNAL_SERVER_ERROR, [("content-type", "text/xml")], busy.clone()).into_response()).await;
    assert_eq!(
        client(addr, basic()).validate().await.unwrap_err(),
        ProviderError::Throttled { retry_after: Some(Duration::from_millis(29750)) }
    );
    let (addr, _) = serve(|_, _| (StatusCode::INTERNAL_SERVER_ERROR, "<html>oops</html>").into_response()).await;
    assert!(matches!(client(addr, basic()).validate().await, Err(ProviderError::Server { status: 500, .. })));
}

#[tokio::test]
async fn a_100_mb_answer_is_cut_off_without_buffering_it() {
    // Streamed without a Content-Length, so only the running count can stop it.
    let (addr, _) = serve(|_, _| {
        let chunk = bytes::Bytes::from(vec![b' '; 1 << 20]);
        let stream = futures_util::stream::iter((0..100).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
        (StatusCode::OK, [("content-type", "text/xml")], Body::from_stream(stream)).into_response()
    })
    .await;
    let started = Instant::now();
    let err = client(addr, basic()).validate().await.unwrap_err();
    assert!(matches!(err, ProviderError::TooLarge { .. }), "{err:?}");
    assert!(started.elapsed() < HANG, "took {:?}", started.elapsed());
    // With a declared length it is refused before reading.
    let (addr, _) = serve(|_, _| {
        (StatusCode::OK, [("content-type", "text/xml"), ("content-length", "104857600")], Body::from_stream(futures_util::stream::pending::<Result<bytes::Bytes, std::io::Error>>())).into_response()
    })
    .await;
    let started = Instant::now();
    assert!(matches!(client(addr, basic()).validate().await, Err(ProviderError::TooLarge { .. })));
    assert!(started.elapsed() < HANG);
}

#[tokio::test]
async fn hostile_answers_from_a_server_are_errors_not_hangs() {
    for (what, doc) in hostile_documents() {
        let (addr, _) = serve(move |_, _| (StatusCode::OK, [("content-type", "text/xml")], doc.clone()).into_response()).await;
        let started = Instant::now();
        let err = client(addr, basic()).validate().await.unwrap_err();
        assert!(matches!(err, ProviderError::Protocol(_) | ProviderError::NotEwsEndpoint(_)), "{what}: {err:?}");
        assert!(started.elapsed() < HANG, "{what} took {:?}", started.elapsed());
    }
}

fn view_item(id: &str, start: &str) -> String {
    format!(r#"<t:CalendarItem><t:ItemId Id="{id}" ChangeKey="k"/><t:Start>{start}</t:Start><t:End>{start}</t:End><t:CalendarItemType>Single</t:CalendarItemType></t:CalendarItem>"#)
}

#[tokio::test]
async fn list_window_moves_the_view_start_when_cut_short() {
    // Three items; the server returns at most two per view and says when it cut the list.
    let items = [("A", "2025-03-03T08:00:00Z"), ("B", "2025-03-03T10:00:00Z"), ("C", "2025-03-03T12:00:00Z")];
    let (addr, seen) = serve(move |_, body| {
        let root = xml::parse(body.as_bytes(), Default::default()).unwrap();
        let req = parse::body_payload(&root).unwrap();
        if req.is(M, "FindItem") {
            let start = parse::time(req.child(M, "CalendarView").unwrap().attr("StartDate").unwrap()).unwrap();
            let rest: Vec<_> = items.iter().filter(|(_, s)| parse::time(s).unwrap() >= start).collect();
            let shown: String = rest.iter().take(2).map(|(id, s)| view_item(id, s)).collect();
            let complete = rest.len() <= 2;
            soap_answer(200, &format!(r#"<m:FindItemResponse><m:ResponseMessages><m:FindItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:RootFolder TotalItemsInView="3" IncludesLastItemInRange="{complete}"><t:Items>{shown}</t:Items></m:RootFolder></m:FindItemResponseMessage></m:ResponseMessages></m:FindItemResponse>"#))
        } else {
            let ids: Vec<String> = req.find(M, "ItemIds").unwrap().children.iter().map(|i| i.attr("Id").unwrap().to_string()).collect();
            let msgs: String = ids
                .iter()
                .map(|id| {
                    let start = items.iter().find(|(i, _)| i == id).unwrap().1;
                    format!(r#"<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items>{}</m:Items></m:GetItemResponseMessage>"#, view_item(id, start))
                })
                .collect();
            soap_answer(200, &format!("<m:GetItemResponse><m:ResponseMessages>{msgs}</m:ResponseMessages></m:GetItemResponse>"))
        }
    })
    .await;
    let from = Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).unwrap();
    let events = client(addr, basic()).list_window(from, from + chrono::Duration::days(30)).await.unwrap();
    let ids: Vec<_> = events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["A", "B", "C"], "each item once");
    let seen = seen.lock().unwrap();
    let starts: Vec<String> = seen
        .iter()
        .filter(|(_, b)| b.contains("CalendarView"))
        .map(|(_, b)| {
            let root = xml::parse(b.as_bytes(), Default::default()).unwrap();
            parse::body_payload(&root).unwrap().child(M, "CalendarView").unwrap().attr("StartDate").unwrap().to_string()
        })
        .collect();
    assert_eq!(starts, ["2025-03-01T00:00:00Z", "2025-03-03T10:00:00Z"]);
}

#[tokio::test]
async fn per_item_errors_map_for_writes() {
    let (addr, _) = serve(|_, body| {
        let (op, code) = if body.contains("UpdateItem") {
            ("UpdateItem", "ErrorIrresolvableConflict")
        } else if body.contains("DeleteItem") {
            ("DeleteItem", "ErrorItemNotFound")
        } else {
            ("SyncFolderItems", "ErrorInvalidSyncStateData")
        };
        soap_answer(200, &format!(r#"<m:{op}Response><m:ResponseMessages><m:{op}ResponseMessage ResponseClass="Error"><m:MessageText>x</m:MessageText><m:ResponseCode>{code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:{op}ResponseMessage></m:ResponseMessages></m:{op}Response>"#))
    })
    .await;
    let c = client(addr, basic());
    assert_eq!(c.update("ID", Some("old"), &draft(), SendInvitations::No).await.unwrap_err(), ProviderError::Conflict);
    assert_eq!(c.delete("ID", None, SendInvitations::No).await.unwrap_err(), ProviderError::NotFound);
    let w = providers::Window { from: Utc::now(), to: Utc::now() + chrono::Duration::days(1) };
    assert_eq!(c.changes(Some("stale"), w).await.unwrap_err(), ProviderError::CursorExpired);
}

fn view_answer(items: &str, complete: bool) -> HttpResponse {
    soap_answer(200, &format!(r#"<m:FindItemResponse><m:ResponseMessages><m:FindItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:RootFolder TotalItemsInView="99999" IncludesLastItemInRange="{complete}"><t:Items>{items}</t:Items></m:RootFolder></m:FindItemResponseMessage></m:ResponseMessages></m:FindItemResponse>"#))
}

fn view_start(body: &str) -> chrono::DateTime<Utc> {
    let root = xml::parse(body.as_bytes(), Default::default()).unwrap();
    parse::time(parse::body_payload(&root).unwrap().child(M, "CalendarView").unwrap().attr("StartDate").unwrap()).unwrap()
}

#[tokio::test]
async fn a_view_that_is_always_cut_short_ends_in_a_protocol_error() {
    // Each answer: one new item a minute after the view's start, "more to come". Over 30
    // days that would be 43,200 requests; the client gives up after a bounded number.
    let (addr, seen) = serve(|_, body| {
        let next = view_start(body) + chrono::Duration::minutes(1);
        let id = format!("ID-{}", next.timestamp());
        view_answer(&view_item(&id, &soap::time(next)), false)
    })
    .await;
    let from = Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).unwrap();
    let started = Instant::now();
    let err = client(addr, basic()).list_window(from, from + chrono::Duration::days(30)).await.unwrap_err();
    assert!(matches!(&err, ProviderError::Protocol(m) if m.contains("cut short")), "{err:?}");
    let requests = seen.lock().unwrap().len();
    assert!((100..=500).contains(&requests), "{requests} requests");
    assert!(started.elapsed() < HANG, "took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_view_stops_at_the_window_end_and_drops_items_past_it() {
    // The server ignores the view's end: each answer has an item ten days after the start
    // and says more is to come. Items from the window's end on are not the window's.
    let (addr, seen) = serve(|_, body| {
        if body.contains("<m:GetItem") {
            let root = xml::parse(body.as_bytes(), Default::default()).unwrap();
            let req = parse::body_payload(&root).unwrap();
            let msgs: String = req
                .find(M, "ItemIds")
                .unwrap()
                .children
                .iter()
                .map(|i| {
                    let id = i.attr("Id").unwrap();
                    let start = chrono::DateTime::from_timestamp(id.trim_start_matches("ID-").parse().unwrap(), 0).unwrap();
                    format!(r#"<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items>{}</m:Items></m:GetItemResponseMessage>"#, view_item(id, &soap::time(start)))
                })
                .collect();
            return soap_answer(200, &format!("<m:GetItemResponse><m:ResponseMessages>{msgs}</m:ResponseMessages></m:GetItemResponse>"));
        }
        let next = view_start(body) + chrono::Duration::days(10);
        view_answer(&view_item(&format!("ID-{}", next.timestamp()), &soap::time(next)), false)
    })
    .await;
    let from = Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).unwrap();
    let events = client(addr, basic()).list_window(from, from + chrono::Duration::days(25)).await.unwrap();
    let starts: Vec<_> = events.iter().map(|e| e.start).collect();
    assert_eq!(
        starts,
        [EventTime::At(from + chrono::Duration::days(10)), EventTime::At(from + chrono::Duration::days(20))]
    );
    let views = seen.lock().unwrap().iter().filter(|(_, b)| b.contains("CalendarView")).count();
    // From the 1st, the 11th, the 21st, whose answer (the 31st) is past the end.
    assert_eq!(views, 3);
}

#[tokio::test]
async fn a_sync_round_that_repeats_its_state_ends_in_a_protocol_error() {
    // Whatever it is asked, the server answers "no changes, more to come" with one state.
    let (addr, seen) = serve(|_, _| {
        soap_answer(200, r#"<m:SyncFolderItemsResponse><m:ResponseMessages><m:SyncFolderItemsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:SyncState>STUCK</m:SyncState><m:IncludesLastItemInRange>false</m:IncludesLastItemInRange><m:Changes/></m:SyncFolderItemsResponseMessage></m:ResponseMessages></m:SyncFolderItemsResponse>"#)
    })
    .await;
    let c = client(addr, basic());
    let w = providers::Window { from: Utc::now(), to: Utc::now() + chrono::Duration::days(1) };
    // As a sync engine drives it: follow the cursor while there is more.
    let mut cursor: Option<String> = None;
    let mut outcome = None;
    for _ in 0..10 {
        match c.changes(cursor.as_deref(), w).await {
            Ok(page) if page.more => cursor = Some(page.cursor),
            other => {
                outcome = Some(other);
                break;
            }
        }
    }
    let err = outcome.expect("the round ends").unwrap_err();
    assert!(matches!(&err, ProviderError::Protocol(m) if m.contains("SyncState")), "{err:?}");
    assert_eq!(seen.lock().unwrap().len(), 2, "the first answer is fine, the repeat is caught");
    // A later round's cursor repeated is caught the same way.
    let err = c.changes(Some("STUCK"), w).await.unwrap_err();
    assert!(matches!(err, ProviderError::Protocol(_)), "{err:?}");
}

#[test]
fn update_item_of_some_fields_sets_only_those() {
    // F-X-10: a move writes the times (and their zones), nothing else — the body, with its
    // HTML and Teams link, is not touched.
    let d = draft();
    let changed = providers::Changed { time: true, ..Default::default() };
    let update = request_body(&soap::update_item("ID1", Some("CK1"), &d, changed, SendInvitations::No).unwrap());
    let change = update.path(&[(M, "ItemChanges"), (T, "ItemChange")]).unwrap();
    let names: Vec<String> = change
        .child(T, "Updates")
        .unwrap()
        .children
        .iter()
        .map(|u| {
            assert_eq!(u.name, "SetItemField", "nothing deleted");
            u.children[0].attr("FieldURI").unwrap().to_string()
        })
        .collect();
    assert_eq!(names, ["calendar:StartTimeZoneId", "calendar:EndTimeZoneId", "calendar:Start", "calendar:End", "calendar:IsAllDayEvent"]);
}
