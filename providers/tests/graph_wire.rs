//! The Graph client against the Graph emulator over loopback HTTP: every test starts its own
//! emulator on port 0 and drives it only through the client (plus the emulator's state for
//! seeding and for asserting what was mailed).

use std::net::SocketAddr;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use emulator::model::{Fault, FaultKind, Mailbox, MessageKind, Provider};
use emulator::{Config, Emulator};
use providers::graph::{self, GraphCalendar};
use providers::http::HttpConfig;
use providers::{
    Attendee, CalendarProvider, Change, EventDraft, EventKind, EventTime, NotificationEvent, ProviderError, SendInvitations, Window,
};

const ANN: &str = "ann@contoso.test";
const BOB: &str = "bob@contoso.test";
const CAROL: &str = "carol@fabrikam.test";

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

struct Env {
    emu: Emulator,
    addr: SocketAddr,
    ann: GraphCalendar,
}

impl Env {
    fn base(&self) -> String {
        format!("http://{}/graph/v1.0", self.addr)
    }

    fn client(&self, email: &str) -> GraphCalendar {
        let token = self.emu.with_state(|s| s.issue_tokens(email, Provider::Graph, chrono::Duration::hours(1))).unwrap().access_token;
        GraphCalendar::new(&HttpConfig::loopback(), &self.base(), token, None).unwrap()
    }

    fn outbox(&self) -> Vec<emulator::model::OutboxMessage> {
        self.emu.with_state(|s| s.outbox.clone())
    }
}

async fn env() -> Env {
    let emu = Emulator::new(Config::default());
    let addr = emu.clone().spawn("127.0.0.1:0".parse().unwrap()).await.unwrap();
    emu.with_state(|s| {
        for (email, name, zone) in [(ANN, "Ann Smith", "America/New_York"), (BOB, "Bob Jones", "Europe/Copenhagen")] {
            s.add_mailbox(Mailbox {
                email: email.into(),
                display_name: name.into(),
                provider: Provider::Graph,
                password: None,
                time_zone: zone.into(),
                can_impersonate: false,
                uid: String::new(),
            })
            .unwrap();
        }
    });
    let token = emu.with_state(|s| s.issue_tokens(ANN, Provider::Graph, chrono::Duration::hours(1))).unwrap().access_token;
    let ann = GraphCalendar::new(&HttpConfig::loopback(), &format!("http://{addr}/graph/v1.0"), token, None).unwrap();
    Env { emu, addr, ann }
}

fn draft(subject: &str, start: DateTime<Utc>, minutes: i64) -> EventDraft {
    let end = EventTime::At(start + chrono::Duration::minutes(minutes));
    EventDraft { location: "Room 1".into(), description: "Agenda:\n1. numbers".into(), ..EventDraft::new(subject, EventTime::At(start), end, "Europe/Copenhagen") }
}

#[tokio::test]
async fn validate_reports_mailbox_and_zone() {
    let env = env().await;
    let info = env.ann.validate().await.unwrap();
    assert_eq!(info.email, ANN);
    assert_eq!(info.display_name.as_deref(), Some("Ann Smith"));
    // Graph reports Windows zone names ("Eastern Standard Time"); the client gives IANA.
    assert_eq!(info.time_zone.as_deref(), Some("America/New_York"));

    // Addressing the same mailbox as /users/{upn} works too.
    let token = env.emu.with_state(|s| s.issue_tokens(ANN, Provider::Graph, chrono::Duration::hours(1))).unwrap().access_token;
    let by_upn = GraphCalendar::new(&HttpConfig::loopback(), &env.base(), token.clone(), Some(ANN)).unwrap();
    assert_eq!(by_upn.validate().await.unwrap().email, ANN);
    // Another user's mailbox is out of reach for Ann's token; an unknown one does not exist.
    let other = GraphCalendar::new(&HttpConfig::loopback(), &env.base(), token.clone(), Some(BOB)).unwrap();
    assert!(matches!(other.validate().await, Err(ProviderError::AccessDenied(_))), "{:?}", other.validate().await);
    let nobody = GraphCalendar::new(&HttpConfig::loopback(), &env.base(), token, Some("nobody@contoso.test")).unwrap();
    assert!(matches!(nobody.validate().await, Err(ProviderError::MailboxNotFound(_))));
}

#[tokio::test]
async fn wrong_token_is_invalid_credentials() {
    let env = env().await;
    let bad = GraphCalendar::new(&HttpConfig::loopback(), &env.base(), "eyJ0eXAiOiJKV1Qi.forged", None).unwrap();
    assert!(matches!(bad.validate().await, Err(ProviderError::InvalidCredentials(_))));
    assert!(matches!(bad.list_window(utc(2026, 1, 1, 0, 0), utc(2026, 2, 1, 0, 0)).await, Err(ProviderError::InvalidCredentials(_))));
    // Plain http to another host is refused before any request.
    assert!(matches!(
        GraphCalendar::new(&HttpConfig::loopback(), "http://graph.example.com/v1.0", "t", None),
        Err(ProviderError::InvalidUrl(_))
    ));
}

#[tokio::test]
async fn window_lists_expanded_series_with_exception() {
    let env = env().await;
    // Mondays 09:00 Copenhagen (08:00 UTC before the DST change on 29 March), five times.
    let mut weekly = draft("Stand-up", utc(2026, 3, 2, 8, 0), 30);
    weekly.recurrence = Some("FREQ=WEEKLY;BYDAY=MO;COUNT=5".into());
    weekly.crm_id = Some("MEET-7".into());
    let master = env.ann.create(&weekly, SendInvitations::No).await.unwrap();
    assert_eq!(master.kind, EventKind::SeriesMaster);
    assert_eq!(master.recurrence.as_deref(), Some("FREQ=WEEKLY;BYDAY=MO;COUNT=5"));
    let single = env.ann.create(&draft("Lunch", utc(2026, 3, 4, 11, 0), 60), SendInvitations::No).await.unwrap();

    let from = utc(2026, 3, 1, 0, 0);
    let to = utc(2026, 4, 1, 0, 0);
    let listed = env.ann.list_window(from, to).await.unwrap();
    let occurrences: Vec<_> = listed.iter().filter(|e| e.series_id.as_deref() == Some(master.id.as_str())).collect();
    assert_eq!(occurrences.len(), 5);
    // Across the DST change (29 March) the meeting stays at 09:00 local.
    let starts: Vec<_> = occurrences.iter().map(|o| o.start).collect();
    assert_eq!(
        starts,
        [utc(2026, 3, 2, 8, 0), utc(2026, 3, 9, 8, 0), utc(2026, 3, 16, 8, 0), utc(2026, 3, 23, 8, 0), utc(2026, 3, 30, 7, 0)].map(EventTime::At).to_vec()
    );
    for o in &occurrences {
        assert_eq!(o.kind, EventKind::Occurrence);
        assert_eq!(o.crm_id.as_deref(), Some("MEET-7"));
        assert_eq!(o.ical_uid, master.ical_uid, "occurrences carry the series UID");
        assert_eq!(o.original_start.map(EventTime::At), Some(o.start));
    }
    assert!(listed.iter().any(|e| e.id == single.id && e.kind == EventKind::Single));

    // Move the second occurrence (it becomes an exception) and delete the third.
    let second = occurrences[1].clone();
    let mut moved = draft("Stand-up (moved)", utc(2026, 3, 10, 13, 0), 30);
    moved.description = second.description.clone();
    let exception = env.ann.update(&second.id, second.etag.as_deref(), &moved, SendInvitations::No).await.unwrap();
    assert_eq!(exception.kind, EventKind::Exception);
    assert_eq!(exception.id, second.id, "an exception keeps its occurrence id");
    env.ann.delete(&occurrences[2].id, None, SendInvitations::No).await.unwrap();

    let listed = env.ann.list_window(from, to).await.unwrap();
    let series: Vec<_> = listed.iter().filter(|e| e.series_id.as_deref() == Some(master.id.as_str())).collect();
    assert_eq!(series.len(), 4);
    let exc = series.iter().find(|e| e.kind == EventKind::Exception).expect("the exception is listed");
    assert_eq!(exc.subject, "Stand-up (moved)");
    assert_eq!(exc.start, EventTime::At(utc(2026, 3, 10, 13, 0)));
    assert_eq!(exc.original_start, Some(utc(2026, 3, 9, 8, 0)));
    assert!(!series.iter().any(|e| e.original_start == Some(utc(2026, 3, 16, 8, 0))), "the deleted occurrence is gone");
    assert!(matches!(env.ann.get(&occurrences[2].id).await, Err(ProviderError::NotFound)));

    // The master reads back with its rule, crm id and body — as Outlook keeps it: the text
    // written became an HTML document (read as it is, not asked for as text).
    let got = env.ann.get(&master.id).await.unwrap();
    assert_eq!(got.recurrence.as_deref(), Some("FREQ=WEEKLY;BYDAY=MO;COUNT=5"));
    assert_eq!(got.crm_id.as_deref(), Some("MEET-7"));
    assert!(got.description_html && got.description.contains("Agenda:<br>\r\n1. numbers"), "{:?}", got.description);
    assert_eq!(got.time_zone.as_deref(), Some("Europe/Copenhagen"));
}

#[tokio::test]
async fn all_day_private_and_free_round_trip() {
    let env = env().await;
    let mut d = draft("Offsite", utc(2026, 5, 4, 0, 0), 0);
    d.start = EventTime::Date(NaiveDate::from_ymd_opt(2026, 5, 4).unwrap());
    d.end = EventTime::Date(NaiveDate::from_ymd_opt(2026, 5, 6).unwrap());
    d.private = true;
    d.busy = false;
    let ev = env.ann.create(&d, SendInvitations::No).await.unwrap();
    assert_eq!(ev.start, d.start);
    assert_eq!(ev.end, d.end);
    assert!(ev.private && !ev.busy && ev.all_day());
    let listed = env.ann.list_window(utc(2026, 5, 5, 0, 0), utc(2026, 5, 5, 12, 0)).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].end, EventTime::Date(NaiveDate::from_ymd_opt(2026, 5, 6).unwrap()));
}

#[tokio::test]
async fn delta_rounds_report_changes_deletions_and_expiry() {
    let env = env().await;
    let window = Window { from: utc(2026, 6, 1, 0, 0), to: utc(2026, 7, 1, 0, 0) };
    // More events than one page holds (the client asks for 100 per page).
    let mut ids = Vec::new();
    for i in 0..105 {
        let ev = env.ann.create(&draft(&format!("Call {i}"), utc(2026, 6, 2, 8, 0) + chrono::Duration::hours(i), 30), SendInvitations::No).await.unwrap();
        ids.push(ev);
    }
    let outside = env.ann.create(&draft("Later", utc(2026, 9, 1, 8, 0), 30), SendInvitations::No).await.unwrap();

    let first = env.ann.changes(None, window).await.unwrap();
    assert!(first.more);
    assert_eq!(first.changes.len(), 100);
    let second = env.ann.changes(Some(&first.cursor), window).await.unwrap();
    assert!(!second.more);
    assert_eq!(second.changes.len(), 5);
    let all: Vec<_> = first.changes.iter().chain(&second.changes).collect();
    assert!(all.iter().all(|c| matches!(c, Change::Upserted(e) if e.id != outside.id)));

    // Nothing changed: an empty round.
    let quiet = env.ann.changes(Some(&second.cursor), window).await.unwrap();
    assert!(quiet.changes.is_empty() && !quiet.more);

    // One update, one deletion, one creation: exactly those come back.
    let mut changed = draft("Call 3 (renamed)", utc(2026, 6, 2, 11, 0), 30);
    changed.description = "new".into();
    env.ann.update(&ids[3].id, ids[3].etag.as_deref(), &changed, SendInvitations::No).await.unwrap();
    env.ann.delete(&ids[4].id, None, SendInvitations::No).await.unwrap();
    let created = env.ann.create(&draft("New", utc(2026, 6, 20, 8, 0), 30), SendInvitations::No).await.unwrap();
    env.ann.update(&outside.id, None, &draft("Later (moved)", utc(2026, 9, 2, 8, 0), 30), SendInvitations::No).await.unwrap();

    let round = env.ann.changes(Some(&quiet.cursor), window).await.unwrap();
    assert!(!round.more);
    assert_eq!(round.changes.len(), 3, "{:#?}", round.changes);
    assert!(round.changes.iter().any(|c| matches!(c, Change::Deleted { id, .. } if *id == ids[4].id)));
    assert!(round.changes.iter().any(|c| matches!(c, Change::Upserted(e) if e.id == ids[3].id && e.subject == "Call 3 (renamed)")));
    assert!(round.changes.iter().any(|c| matches!(c, Change::Upserted(e) if e.id == created.id)));

    // A cursor the server dropped: CursorExpired, and a fresh round works.
    env.emu.with_state(|s| s.expire_cursors(Provider::Graph));
    assert_eq!(env.ann.changes(Some(&round.cursor), window).await.unwrap_err(), ProviderError::CursorExpired);
    let again = env.ann.changes(None, window).await.unwrap();
    assert!(again.more);
}

#[tokio::test]
async fn delta_reports_occurrence_changes_of_a_series() {
    let env = env().await;
    let window = Window { from: utc(2026, 3, 1, 0, 0), to: utc(2026, 4, 1, 0, 0) };
    let mut weekly = draft("Weekly", utc(2026, 3, 2, 8, 0), 30);
    weekly.recurrence = Some("FREQ=WEEKLY;COUNT=3".into());
    env.ann.create(&weekly, SendInvitations::No).await.unwrap();
    let round = env.ann.changes(None, window).await.unwrap();
    assert_eq!(round.changes.len(), 3);
    let third = match &round.changes[2] {
        Change::Upserted(e) => e.clone(),
        other => panic!("{other:?}"),
    };
    env.ann.delete(&third.id, None, SendInvitations::No).await.unwrap();
    let next = env.ann.changes(Some(&round.cursor), window).await.unwrap();
    assert!(next.changes.iter().any(|c| matches!(c, Change::Deleted { id, .. } if *id == third.id)), "{:#?}", next.changes);
}

#[tokio::test]
async fn create_update_delete_with_and_without_sending() {
    let env = env().await;
    let mut meeting = draft("Budget review", utc(2026, 4, 14, 9, 0), 60);
    meeting.attendees = vec![Attendee::required(BOB), Attendee::required(CAROL)];
    meeting.crm_id = Some("MEET-42".into());

    // Not sending: Graph would mail any attendee, so none are written and nothing is mailed.
    let quiet = env.ann.create(&meeting, SendInvitations::No).await.unwrap();
    assert!(quiet.attendees.is_empty());
    assert!(env.outbox().is_empty());
    env.ann.delete(&quiet.id, quiet.etag.as_deref(), SendInvitations::No).await.unwrap();
    assert!(env.outbox().is_empty(), "deleting a meeting without attendees mails nobody");

    // Sending: one invitation each; Bob (same tenant) gets the meeting with the same iCalUID.
    let ev = env.ann.create(&meeting, SendInvitations::Yes).await.unwrap();
    assert_eq!(ev.attendees.len(), 2);
    assert_eq!(ev.organizer.as_ref().map(|o| o.email.as_str()), Some(ANN));
    let out = env.outbox();
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|m| m.kind == MessageKind::Invite && m.from == ANN && Some(&m.ical_uid) == ev.ical_uid.as_ref()));
    let mut to: Vec<_> = out.iter().map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(to, [BOB, CAROL]);
    let bob = env.client(BOB);
    let bobs = bob.list_window(utc(2026, 4, 14, 0, 0), utc(2026, 4, 15, 0, 0)).await.unwrap();
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0].ical_uid, ev.ical_uid);
    assert_eq!(bobs[0].organizer.as_ref().map(|o| o.email.as_str()), Some(ANN));
    assert_ne!(bobs[0].id, ev.id);

    // A stale etag is a conflict; nothing is written or mailed.
    let mut moved = meeting.clone();
    moved.start = EventTime::At(utc(2026, 4, 14, 10, 0));
    moved.end = EventTime::At(utc(2026, 4, 14, 11, 0));
    let updated = env.ann.update(&ev.id, ev.etag.as_deref(), &moved, SendInvitations::Yes).await.unwrap();
    assert_ne!(updated.etag, ev.etag, "every write changes the changeKey");
    assert_eq!(updated.start, EventTime::At(utc(2026, 4, 14, 10, 0)));
    let updates: Vec<_> = env.outbox().into_iter().filter(|m| m.kind == MessageKind::Update).collect();
    assert_eq!(updates.len(), 2);
    assert_eq!(env.ann.update(&ev.id, ev.etag.as_deref(), &moved, SendInvitations::Yes).await.unwrap_err(), ProviderError::Conflict);
    assert_eq!(env.outbox().len(), 4);

    // Not sending, and nothing an invitation shows changed (just the privacy flag): no mail.
    let mut private = moved.clone();
    private.private = true;
    let now_private = env.ann.update(&ev.id, updated.etag.as_deref(), &private, SendInvitations::No).await.unwrap();
    assert!(now_private.private);
    assert_eq!(now_private.attendees.len(), 2, "a no-send update leaves the attendees alone");
    assert_eq!(env.outbox().len(), 4);

    // Delete: stale etag conflicts; then the organiser's delete cancels for both.
    assert_eq!(env.ann.delete(&ev.id, ev.etag.as_deref(), SendInvitations::Yes).await.unwrap_err(), ProviderError::Conflict);
    env.ann.delete(&ev.id, now_private.etag.as_deref(), SendInvitations::Yes).await.unwrap();
    let cancels: Vec<_> = env.outbox().into_iter().filter(|m| m.kind == MessageKind::Cancel).collect();
    assert_eq!(cancels.len(), 2);
    assert_eq!(env.ann.delete(&ev.id, None, SendInvitations::Yes).await.unwrap_err(), ProviderError::NotFound);
    assert!(matches!(env.ann.get(&ev.id).await, Err(ProviderError::NotFound)));
    // Exchange keeps the cancelled meeting in the attendee's calendar, flagged.
    let bobs = bob.list_window(utc(2026, 4, 14, 0, 0), utc(2026, 4, 15, 0, 0)).await.unwrap();
    assert!(bobs.len() == 1 && bobs[0].cancelled, "{bobs:#?}");
}

#[tokio::test]
async fn find_by_crm_id_finds_only_the_tagged_event() {
    let env = env().await;
    let mut a = draft("Tagged", utc(2026, 2, 2, 9, 0), 30);
    a.crm_id = Some("MEET-1".into());
    let tagged = env.ann.create(&a, SendInvitations::No).await.unwrap();
    let mut b = draft("Other", utc(2026, 2, 3, 9, 0), 30);
    b.crm_id = Some("MEET-2".into());
    env.ann.create(&b, SendInvitations::No).await.unwrap();
    env.ann.create(&draft("Untagged", utc(2026, 2, 4, 9, 0), 30), SendInvitations::No).await.unwrap();

    let found = env.ann.find_by_crm_id("MEET-1").await.unwrap().expect("found");
    assert_eq!(found.id, tagged.id);
    assert_eq!(found.crm_id.as_deref(), Some("MEET-1"));
    assert!(env.ann.find_by_crm_id("MEET-3").await.unwrap().is_none());
    assert!(env.ann.find_by_crm_id("it's").await.unwrap().is_none(), "quotes are escaped");
}

#[tokio::test]
async fn free_busy_via_get_schedule() {
    let env = env().await;
    env.ann.create(&draft("Busy", utc(2026, 3, 3, 9, 0), 60), SendInvitations::No).await.unwrap();
    let mut free = draft("Free", utc(2026, 3, 3, 12, 0), 60);
    free.busy = false;
    env.ann.create(&free, SendInvitations::No).await.unwrap();
    let bob = env.client(BOB);
    let mut secret = draft("Doctor", utc(2026, 3, 3, 14, 0), 30);
    secret.private = true;
    bob.create(&secret, SendInvitations::No).await.unwrap();

    let emails = vec![ANN.to_string(), BOB.to_string(), "ghost@contoso.test".to_string()];
    let fb = env.ann.free_busy(&emails, utc(2026, 3, 3, 0, 0), utc(2026, 3, 4, 0, 0)).await.unwrap();
    assert_eq!(fb.len(), 3);
    assert_eq!(fb[0].busy.len(), 1, "free time is not busy");
    assert_eq!((fb[0].busy[0].start, fb[0].busy[0].end), (utc(2026, 3, 3, 9, 0), utc(2026, 3, 3, 10, 0)));
    assert_eq!(fb[1].busy.len(), 1);
    assert_eq!(fb[1].busy[0].start, utc(2026, 3, 3, 14, 0));
    assert!(fb[2].error.is_some() && fb[2].busy.is_empty());
}

/// A webhook receiver on port 0 that answers Graph's validation handshake (or a wrong token
/// when `echo_wrong`) and forwards every notification it gets.
async fn receiver(echo_wrong: bool) -> (String, tokio::sync::mpsc::UnboundedReceiver<Vec<providers::Notification>>) {
    use axum::extract::RawQuery;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |RawQuery(query): RawQuery, body: axum::body::Bytes| {
            let tx = tx.clone();
            async move {
                if let Some(token) = query.as_deref().and_then(graph::validation_token) {
                    let text = if echo_wrong { "nope".to_string() } else { token };
                    return ([(axum::http::header::CONTENT_TYPE, "text/plain")], text).into_response();
                }
                let _ = tx.send(graph::parse_notifications(&body).unwrap());
                axum::http::StatusCode::ACCEPTED.into_response()
            }
        }),
    );
    use axum::response::IntoResponse;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), rx)
}

#[tokio::test]
async fn subscription_handshake_and_notification() {
    let env = env().await;
    let (url, mut rx) = receiver(false).await;
    let sub = env.ann.subscribe(&url, "s3cret", chrono::Duration::hours(2)).await.unwrap();
    assert_eq!(sub.secret, "s3cret");
    assert!(sub.expires_at > Utc::now() + chrono::Duration::minutes(110));
    assert_eq!(env.emu.with_state(|s| s.subscriptions.len()), 1);

    env.ann.create(&draft("Ping", utc(2026, 3, 3, 9, 0), 30), SendInvitations::No).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("a notification within 10 s").unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].subscription_id, sub.id);
    assert_eq!(got[0].secret.as_deref(), Some("s3cret"));
    assert_eq!(got[0].event, NotificationEvent::Changed);

    // Short lifetimes are bumped to 45 minutes; renewal moves the expiry.
    let renewed = env.ann.renew(&sub, chrono::Duration::minutes(10)).await.unwrap();
    assert!(renewed.expires_at > Utc::now() + chrono::Duration::minutes(44));
    env.ann.unsubscribe(&renewed).await.unwrap();
    assert_eq!(env.emu.with_state(|s| s.subscriptions.len()), 0);
    env.ann.unsubscribe(&renewed).await.unwrap();
}

#[tokio::test]
async fn subscription_refused_when_the_handshake_fails() {
    let env = env().await;
    let (url, _rx) = receiver(true).await;
    let err = env.ann.subscribe(&url, "s3cret", chrono::Duration::hours(1)).await.unwrap_err();
    assert!(matches!(&err, ProviderError::Rejected { status: 400, code, .. } if code == "ValidationError"), "{err:?}");
    assert_eq!(env.emu.with_state(|s| s.subscriptions.len()), 0);
}

#[tokio::test]
async fn throttling_and_faults_are_surfaced() {
    let env = env().await;
    env.emu.with_state(|s| s.faults.push(Fault { provider: Provider::Graph, kind: FaultKind::Throttle { retry_after_ms: 2500 }, remaining: 1, only: None }));
    let err = env.ann.list_window(utc(2026, 1, 1, 0, 0), utc(2026, 2, 1, 0, 0)).await.unwrap_err();
    assert_eq!(err, ProviderError::Throttled { retry_after: Some(Duration::from_secs(3)) });
    assert!(err.is_transient());

    env.emu.with_state(|s| s.faults.push(Fault { provider: Provider::Graph, kind: FaultKind::Status { status: 503 }, remaining: 1, only: None }));
    assert!(matches!(env.ann.validate().await, Err(ProviderError::Server { status: 503, .. })));
    env.emu.with_state(|s| s.faults.push(Fault { provider: Provider::Graph, kind: FaultKind::Drop, remaining: 1, only: None }));
    assert!(env.ann.validate().await.unwrap_err().is_transient());
    // The faults are used up: the next call works.
    env.ann.validate().await.unwrap();
}

#[tokio::test]
async fn links_to_another_origin_are_not_followed() {
    // A server whose next link points elsewhere (where our token would go).
    let app = axum::Router::new()
        .route(
            "/graph/v1.0/me/calendarView",
            axum::routing::get(|| async {
                axum::Json(serde_json::json!({ "value": [], "@odata.nextLink": "http://127.0.0.2:9/graph/v1.0/me/calendarView?$skip=10" }))
            }),
        )
        .route(
            "/graph/v1.0/me/calendarView/delta",
            axum::routing::get(|| async {
                axum::Json(serde_json::json!({ "value": [], "@odata.deltaLink": "http://127.0.0.1:1/elsewhere?$deltatoken=x" }))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = GraphCalendar::new(&HttpConfig::loopback(), &format!("http://{addr}/graph/v1.0"), "t", None).unwrap();
    assert!(matches!(client.list_window(utc(2026, 1, 1, 0, 0), utc(2026, 2, 1, 0, 0)).await, Err(ProviderError::Protocol(_))));
    let window = Window { from: utc(2026, 1, 1, 0, 0), to: utc(2026, 2, 1, 0, 0) };
    assert!(matches!(client.changes(None, window).await, Err(ProviderError::Protocol(_))));
    // A stored cursor outside the base URL is not used either.
    assert_eq!(client.changes(Some("http://evil.example/x?$deltatoken=1"), window).await.unwrap_err(), ProviderError::CursorExpired);
}

#[tokio::test]
async fn a_delta_round_whose_next_link_repeats_ends_in_a_protocol_error() {
    // A server whose delta pages always point at the same next page.
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/graph/v1.0/me/calendarView/delta",
        axum::routing::get(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                axum::Json(serde_json::json!({
                    "value": [],
                    "@odata.nextLink": format!("http://{addr}/graph/v1.0/me/calendarView/delta?$skiptoken=same")
                }))
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = GraphCalendar::new(&HttpConfig::loopback(), &format!("http://{addr}/graph/v1.0"), "t", None).unwrap();
    let window = Window { from: utc(2026, 1, 1, 0, 0), to: utc(2026, 2, 1, 0, 0) };
    // As a sync engine drives it: follow the cursor while there is more.
    let mut cursor: Option<String> = None;
    let mut outcome = None;
    for _ in 0..10 {
        match client.changes(cursor.as_deref(), window).await {
            Ok(page) if page.more => cursor = Some(page.cursor),
            other => {
                outcome = Some(other);
                break;
            }
        }
    }
    let err = outcome.expect("the round ends").unwrap_err();
    assert!(matches!(&err, ProviderError::Protocol(m) if m.contains("same page link")), "{err:?}");
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 2, "the first page is fine, the repeat is caught");
}
