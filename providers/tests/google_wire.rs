//! The Google Calendar client against the emulator over loopback HTTP: what the sync engine
//! and a user would notice (listings, sync rounds, invitations sent or not, conflicts, push,
//! throttling).

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::HeaderMap;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use emulator::model::{Fault, FaultKind, Mailbox, MessageKind, Provider};
use emulator::{Config, Emulator};
use providers::google::{parse_notification, GoogleCalendar};
use providers::http::HttpConfig;
use providers::{
    Attendee, CalendarProvider, Change, EventDraft, EventKind, EventTime, NotificationEvent, ProviderError, ProviderEvent, SendInvitations,
    Window,
};
use tokio::sync::mpsc;

const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";
/// Not a mailbox of the emulator: only the outbox sees mail to her.
const CAROL: &str = "carol@elsewhere.example";

struct World {
    emu: Emulator,
    addr: SocketAddr,
    alice: GoogleCalendar,
}

fn mailbox(email: &str, name: &str) -> Mailbox {
    Mailbox {
        email: email.into(),
        display_name: name.into(),
        provider: Provider::Google,
        password: None,
        time_zone: "Europe/Berlin".into(),
        can_impersonate: false,
        uid: String::new(),
    }
}

fn base(addr: SocketAddr) -> String {
    format!("http://{addr}/google/calendar/v3")
}

async fn world() -> World {
    let emu = Emulator::new(Config::default());
    let addr = emu.clone().spawn("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let token = emu.with_state(|s| {
        s.add_mailbox(mailbox(ALICE, "Alice Archer")).unwrap();
        s.add_mailbox(mailbox(BOB, "Bob Baker")).unwrap();
        s.issue_tokens(ALICE, Provider::Google, chrono::Duration::hours(1)).unwrap().access_token
    });
    let alice = GoogleCalendar::new(&HttpConfig::loopback(), &base(addr), token, "primary").unwrap();
    World { emu, addr, alice }
}

impl World {
    fn client_for(&self, email: &str) -> GoogleCalendar {
        let token = self.emu.with_state(|s| s.issue_tokens(email, Provider::Google, chrono::Duration::hours(1)).unwrap().access_token);
        GoogleCalendar::new(&HttpConfig::loopback(), &base(self.addr), token, email).unwrap()
    }

    /// (kind, from, to, subject, iCalUID) of every message sent so far.
    fn outbox(&self) -> Vec<(MessageKind, String, String, String, String)> {
        self.emu.with_state(|s| s.outbox.clone()).into_iter().map(|m| (m.kind, m.from, m.to, m.subject, m.ical_uid)).collect()
    }
}

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

fn draft(subject: &str, start: DateTime<Utc>, minutes: i64) -> EventDraft {
    let end = EventTime::At(start + chrono::Duration::minutes(minutes));
    EventDraft { location: "Room 1".into(), description: "Agenda".into(), ..EventDraft::new(subject, EventTime::At(start), end, "Europe/Berlin") }
}

fn window(from: DateTime<Utc>, to: DateTime<Utc>) -> Window {
    Window { from, to }
}

/// Runs a change round to its end: (all changes, the cursor for the next round).
async fn round(cal: &GoogleCalendar, cursor: Option<String>, w: Window) -> Result<(Vec<Change>, String), ProviderError> {
    let mut cursor = cursor;
    let mut all = Vec::new();
    loop {
        let page = cal.changes(cursor.as_deref(), w).await?;
        all.extend(page.changes);
        cursor = Some(page.cursor);
        if !page.more {
            return Ok((all, cursor.unwrap()));
        }
    }
}

fn upserted(changes: &[Change]) -> Vec<&ProviderEvent> {
    changes.iter().filter_map(|c| if let Change::Upserted(e) = c { Some(e) } else { None }).collect()
}

fn deleted_ids(changes: &[Change]) -> Vec<String> {
    changes.iter().filter_map(|c| if let Change::Deleted { id, .. } = c { Some(id.clone()) } else { None }).collect()
}

#[tokio::test]
async fn validate_reports_the_calendar_and_a_wrong_token_is_refused() {
    let w = world().await;
    let info = w.alice.validate().await.unwrap();
    assert_eq!(info.email, ALICE);
    assert_eq!(info.display_name.as_deref(), Some("Alice Archer"));
    assert_eq!(info.time_zone.as_deref(), Some("Europe/Berlin"));

    let wrong = GoogleCalendar::new(&HttpConfig::loopback(), &base(w.addr), "ya29.not-a-token", "primary").unwrap();
    assert!(matches!(wrong.validate().await, Err(ProviderError::InvalidCredentials(_))));
    assert!(matches!(wrong.list_window(at(2026, 1, 1, 0, 0), at(2026, 2, 1, 0, 0)).await, Err(ProviderError::InvalidCredentials(_))));

    // Someone else's calendar is not visible with Alice's token.
    let token = w.emu.with_state(|s| s.issue_tokens(ALICE, Provider::Google, chrono::Duration::hours(1)).unwrap().access_token);
    let other = GoogleCalendar::new(&HttpConfig::loopback(), &base(w.addr), token, BOB).unwrap();
    assert!(matches!(other.validate().await, Err(ProviderError::MailboxNotFound(_))));

    // Plain http is only for loopback, and only when allowed.
    assert!(matches!(
        GoogleCalendar::new(&HttpConfig::default(), &base(w.addr), "t", "primary"),
        Err(ProviderError::InvalidUrl(_))
    ));
}

#[tokio::test]
async fn window_lists_series_expanded_with_exceptions_and_without_cancelled_occurrences() {
    let w = world().await;
    // Mondays 09:00 Berlin (08:00 UTC in winter), five times from 5 Jan 2026.
    let mut weekly = draft("Stand-up", at(2026, 1, 5, 8, 0), 30);
    weekly.recurrence = Some("FREQ=WEEKLY;COUNT=5".into());
    weekly.crm_id = Some("MEET-7".into());
    let master = w.alice.create(&weekly, SendInvitations::No).await.unwrap();
    assert_eq!(master.kind, EventKind::SeriesMaster);
    assert_eq!(master.recurrence.as_deref(), Some("FREQ=WEEKLY;COUNT=5"));

    let single = w.alice.create(&draft("Review", at(2026, 1, 7, 13, 0), 60), SendInvitations::No).await.unwrap();
    let mut allday = draft("Offsite", at(2026, 1, 20, 0, 0), 0);
    allday.start = EventTime::Date(NaiveDate::from_ymd_opt(2026, 1, 20).unwrap());
    allday.end = EventTime::Date(NaiveDate::from_ymd_opt(2026, 1, 22).unwrap());
    allday.busy = false;
    allday.private = true;
    w.alice.create(&allday, SendInvitations::No).await.unwrap();

    let listed = w.alice.list_window(at(2026, 1, 1, 0, 0), at(2026, 2, 1, 0, 0)).await.unwrap();
    let occurrences: Vec<&ProviderEvent> = listed.iter().filter(|e| e.series_id.as_deref() == Some(master.id.as_str())).collect();
    assert_eq!(occurrences.len(), 4, "four Mondays of the series fall in January: {listed:#?}");
    assert!(occurrences.iter().all(|o| o.kind == EventKind::Occurrence && o.crm_id.as_deref() == Some("MEET-7")));
    assert_eq!(occurrences[1].id, format!("{}_20260112T080000Z", master.id));
    assert_eq!(occurrences[1].original_start, Some(at(2026, 1, 12, 8, 0)));
    assert_eq!(occurrences[1].ical_uid, master.ical_uid);

    // Move the second occurrence by an hour and cancel the third.
    let second = occurrences[1].clone();
    let mut moved = weekly.clone();
    moved.recurrence = None;
    moved.start = EventTime::At(at(2026, 1, 12, 9, 0));
    moved.end = EventTime::At(at(2026, 1, 12, 9, 30));
    let exception = w.alice.update(&second.id, second.etag.as_deref(), &moved, SendInvitations::No).await.unwrap();
    assert_eq!(exception.kind, EventKind::Exception);
    let third = occurrences[2].id.clone();
    w.alice.delete(&third, None, SendInvitations::No).await.unwrap();
    assert!(matches!(w.alice.delete(&third, None, SendInvitations::No).await, Err(ProviderError::NotFound)));
    assert!(matches!(w.alice.get(&third).await, Err(ProviderError::NotFound)));

    let listed = w.alice.list_window(at(2026, 1, 1, 0, 0), at(2026, 2, 1, 0, 0)).await.unwrap();
    let series: Vec<(String, EventKind, EventTime)> = listed
        .iter()
        .filter(|e| e.series_id.as_deref() == Some(master.id.as_str()))
        .map(|e| (e.id.clone(), e.kind, e.start))
        .collect();
    assert_eq!(
        series,
        vec![
            (format!("{}_20260105T080000Z", master.id), EventKind::Occurrence, EventTime::At(at(2026, 1, 5, 8, 0))),
            (format!("{}_20260112T080000Z", master.id), EventKind::Exception, EventTime::At(at(2026, 1, 12, 9, 0))),
            (format!("{}_20260126T080000Z", master.id), EventKind::Occurrence, EventTime::At(at(2026, 1, 26, 8, 0))),
        ]
    );
    let review = listed.iter().find(|e| e.id == single.id).unwrap();
    assert_eq!(review.kind, EventKind::Single);
    assert_eq!(review.time_zone.as_deref(), Some("Europe/Berlin"));
    let offsite = listed.iter().find(|e| e.subject == "Offsite").unwrap();
    assert!(offsite.all_day() && offsite.private && !offsite.busy);
    assert_eq!(offsite.end, EventTime::Date(NaiveDate::from_ymd_opt(2026, 1, 22).unwrap()), "all-day end stays exclusive");

    // The window bounds: an event ending exactly at the window start is outside.
    let listed = w.alice.list_window(at(2026, 1, 7, 14, 0), at(2026, 1, 7, 15, 0)).await.unwrap();
    assert!(listed.is_empty(), "{listed:#?}");
}

#[tokio::test]
async fn incremental_sync_returns_exactly_the_changes_and_expired_tokens_say_so() {
    let w = world().await;
    let win = window(at(2026, 3, 1, 0, 0), at(2026, 4, 1, 0, 0));
    let keep = w.alice.create(&draft("Keep", at(2026, 3, 2, 9, 0), 30), SendInvitations::No).await.unwrap();
    let change = w.alice.create(&draft("Change", at(2026, 3, 3, 9, 0), 30), SendInvitations::No).await.unwrap();
    let remove = w.alice.create(&draft("Remove", at(2026, 3, 4, 9, 0), 30), SendInvitations::No).await.unwrap();
    let mut series = draft("Weekly", at(2026, 3, 9, 9, 0), 30);
    series.recurrence = Some("FREQ=WEEKLY;COUNT=3".into());
    let series = w.alice.create(&series, SendInvitations::No).await.unwrap();

    let (first, cursor) = round(&w.alice, None, win).await.unwrap();
    let ids: Vec<&str> = upserted(&first).iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), 6, "three singles and three occurrences: {ids:?}");
    assert!(ids.contains(&keep.id.as_str()));

    // Nothing changed: the next round is empty.
    let (none, cursor) = round(&w.alice, Some(cursor), win).await.unwrap();
    assert!(none.is_empty(), "{none:#?}");

    let mut changed = draft("Changed", at(2026, 3, 3, 10, 0), 30);
    changed.description = "new".into();
    w.alice.update(&change.id, change.etag.as_deref(), &changed, SendInvitations::No).await.unwrap();
    w.alice.delete(&remove.id, remove.etag.as_deref(), SendInvitations::No).await.unwrap();
    let occurrence = format!("{}_20260316T090000Z", series.id);
    w.alice.delete(&occurrence, None, SendInvitations::No).await.unwrap();
    // A change far outside the first window still comes through: sync covers the calendar.
    let later = w.alice.create(&draft("Later", at(2026, 9, 1, 9, 0), 30), SendInvitations::No).await.unwrap();

    let (delta, cursor) = round(&w.alice, Some(cursor), win).await.unwrap();
    let up: Vec<&str> = upserted(&delta).iter().map(|e| e.subject.as_str()).collect();
    assert!(up.contains(&"Changed") && up.contains(&"Later"), "{delta:#?}");
    assert!(!up.contains(&"Keep"), "unchanged events are not repeated: {delta:#?}");
    let gone = deleted_ids(&delta);
    assert!(gone.contains(&remove.id), "{delta:#?}");
    let cancelled = delta.iter().find_map(|c| match c {
        Change::Deleted { id, series_id, original_start } if *id == occurrence => Some((series_id.clone(), *original_start)),
        _ => None,
    });
    assert_eq!(cancelled, Some((Some(series.id.clone()), Some(at(2026, 3, 16, 9, 0)))));
    assert!(upserted(&delta).iter().any(|e| e.id == later.id));

    // Expired tokens (as after a server-side reset) ask for a full sync.
    let n = w.emu.with_state(|s| s.expire_cursors(Provider::Google));
    assert!(n > 0);
    assert!(matches!(w.alice.changes(Some(&cursor), win).await, Err(ProviderError::CursorExpired)));
    // A cursor we never issued is treated the same way.
    assert!(matches!(w.alice.changes(Some("garbage"), win).await, Err(ProviderError::CursorExpired)));
    let (again, _) = round(&w.alice, None, win).await.unwrap();
    assert_eq!(upserted(&again).len(), 4, "Keep, Changed and two occurrences: {again:#?}");
}

#[tokio::test]
async fn writes_with_sending_mail_each_attendee_and_copy_the_meeting_to_invitees() {
    let w = world().await;
    let mut d = draft("Kick-off", at(2026, 5, 4, 9, 0), 60);
    d.attendees = vec![Attendee::required(BOB), Attendee::required(CAROL)];
    d.crm_id = Some("MEET-1".into());
    let ev = w.alice.create(&d, SendInvitations::Yes).await.unwrap();
    let uid = ev.ical_uid.clone().unwrap();
    assert_eq!(
        w.outbox(),
        vec![
            (MessageKind::Invite, ALICE.into(), BOB.into(), "Kick-off".into(), uid.clone()),
            (MessageKind::Invite, ALICE.into(), CAROL.into(), "Kick-off".into(), uid.clone()),
        ]
    );
    // Bob, a mailbox of the same provider, has the meeting in his own calendar: same iCalUID,
    // another id, Alice as organiser, and no CRM id (private properties stay with Alice).
    let bob = w.client_for(BOB);
    let bobs = bob.list_window(at(2026, 5, 4, 0, 0), at(2026, 5, 5, 0, 0)).await.unwrap();
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0].ical_uid.as_deref(), Some(uid.as_str()));
    assert_ne!(bobs[0].id, ev.id);
    assert_eq!(bobs[0].organizer.as_ref().map(|o| o.email.as_str()), Some(ALICE));
    assert_eq!(bobs[0].crm_id, None);

    let mut moved = d.clone();
    moved.subject = "Kick-off (moved)".into();
    moved.start = EventTime::At(at(2026, 5, 4, 10, 0));
    moved.end = EventTime::At(at(2026, 5, 4, 11, 0));
    let ev = w.alice.update(&ev.id, ev.etag.as_deref(), &moved, SendInvitations::Yes).await.unwrap();
    assert_eq!(ev.subject, "Kick-off (moved)");
    let updates: Vec<_> = w.outbox().into_iter().skip(2).collect();
    assert_eq!(
        updates,
        vec![
            (MessageKind::Update, ALICE.into(), BOB.into(), "Kick-off (moved)".into(), uid.clone()),
            (MessageKind::Update, ALICE.into(), CAROL.into(), "Kick-off (moved)".into(), uid.clone()),
        ]
    );
    let bobs = bob.list_window(at(2026, 5, 4, 0, 0), at(2026, 5, 5, 0, 0)).await.unwrap();
    assert_eq!(bobs[0].start, EventTime::At(at(2026, 5, 4, 10, 0)));

    w.alice.delete(&ev.id, ev.etag.as_deref(), SendInvitations::Yes).await.unwrap();
    let cancels: Vec<_> = w.outbox().into_iter().skip(4).collect();
    assert_eq!(
        cancels,
        vec![
            (MessageKind::Cancel, ALICE.into(), BOB.into(), "Kick-off (moved)".into(), uid.clone()),
            (MessageKind::Cancel, ALICE.into(), CAROL.into(), "Kick-off (moved)".into(), uid.clone()),
        ]
    );
    assert!(bob.list_window(at(2026, 5, 4, 0, 0), at(2026, 5, 5, 0, 0)).await.unwrap().is_empty());
}

#[tokio::test]
async fn writes_without_sending_mail_nobody() {
    let w = world().await;
    let mut d = draft("Quiet", at(2026, 5, 6, 9, 0), 30);
    d.attendees = vec![Attendee::required(BOB), Attendee::required(CAROL)];
    let ev = w.alice.create(&d, SendInvitations::No).await.unwrap();
    assert_eq!(ev.attendees.len(), 2);
    d.subject = "Quiet (renamed)".into();
    let ev = w.alice.update(&ev.id, ev.etag.as_deref(), &d, SendInvitations::No).await.unwrap();
    w.alice.delete(&ev.id, None, SendInvitations::No).await.unwrap();
    assert!(w.outbox().is_empty());
    let bob = w.client_for(BOB);
    assert!(bob.list_window(at(2026, 5, 6, 0, 0), at(2026, 5, 7, 0, 0)).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_stale_etag_is_a_conflict() {
    let w = world().await;
    let ev = w.alice.create(&draft("Draft", at(2026, 6, 1, 9, 0), 30), SendInvitations::No).await.unwrap();
    // The owner edits on the phone.
    let first = w.alice.update(&ev.id, ev.etag.as_deref(), &draft("Phone edit", at(2026, 6, 1, 9, 0), 30), SendInvitations::No).await.unwrap();
    assert_ne!(first.etag, ev.etag, "every write changes the etag");
    let stale = w.alice.update(&ev.id, ev.etag.as_deref(), &draft("CRM edit", at(2026, 6, 1, 9, 0), 30), SendInvitations::No).await;
    assert!(matches!(stale, Err(ProviderError::Conflict)), "{stale:?}");
    assert!(matches!(w.alice.delete(&ev.id, ev.etag.as_deref(), SendInvitations::No).await, Err(ProviderError::Conflict)));
    assert_eq!(w.alice.get(&ev.id).await.unwrap().subject, "Phone edit");
    // Without an etag the write is unconditional.
    w.alice.update(&ev.id, None, &draft("CRM edit", at(2026, 6, 1, 9, 0), 30), SendInvitations::No).await.unwrap();
}

#[tokio::test]
async fn the_crm_id_finds_the_event_again() {
    let w = world().await;
    assert_eq!(w.alice.find_by_crm_id("MEET-42").await.unwrap(), None);
    let mut d = draft("Demo", at(2026, 6, 2, 9, 0), 30);
    d.crm_id = Some("MEET-42".into());
    let ev = w.alice.create(&d, SendInvitations::No).await.unwrap();
    let mut other = draft("Other", at(2026, 6, 2, 11, 0), 30);
    other.crm_id = Some("MEET-43".into());
    w.alice.create(&other, SendInvitations::No).await.unwrap();
    let found = w.alice.find_by_crm_id("MEET-42").await.unwrap().unwrap();
    assert_eq!((found.id.as_str(), found.crm_id.as_deref()), (ev.id.as_str(), Some("MEET-42")));
    w.alice.delete(&ev.id, None, SendInvitations::No).await.unwrap();
    assert_eq!(w.alice.find_by_crm_id("MEET-42").await.unwrap(), None);

    // A series is found as its master, even when an exception was moved before its start.
    let mut series = draft("Series", at(2026, 6, 8, 9, 0), 30);
    series.recurrence = Some("FREQ=DAILY;COUNT=3".into());
    series.crm_id = Some("MEET-44".into());
    let master = w.alice.create(&series, SendInvitations::No).await.unwrap();
    let mut early = draft("Series (early)", at(2026, 6, 1, 9, 0), 30);
    early.crm_id = Some("MEET-44".into());
    w.alice.update(&format!("{}_20260609T090000Z", master.id), None, &early, SendInvitations::No).await.unwrap();
    let found = w.alice.find_by_crm_id("MEET-44").await.unwrap().unwrap();
    assert_eq!((found.id.as_str(), found.kind), (master.id.as_str(), EventKind::SeriesMaster));
}

#[tokio::test]
async fn free_busy_reports_busy_time_per_mailbox() {
    let w = world().await;
    w.alice.create(&draft("A", at(2026, 7, 1, 9, 0), 60), SendInvitations::No).await.unwrap();
    w.alice.create(&draft("B", at(2026, 7, 1, 9, 30), 60), SendInvitations::No).await.unwrap();
    let mut free = draft("Free", at(2026, 7, 1, 14, 0), 60);
    free.busy = false;
    w.alice.create(&free, SendInvitations::No).await.unwrap();
    let bob = w.client_for(BOB);
    bob.create(&draft("Bob", at(2026, 7, 1, 12, 0), 30), SendInvitations::No).await.unwrap();

    let emails = vec![ALICE.to_string(), BOB.to_string(), CAROL.to_string()];
    let fb = w.alice.free_busy(&emails, at(2026, 7, 1, 0, 0), at(2026, 7, 2, 0, 0)).await.unwrap();
    assert_eq!(fb.len(), 3);
    let spans = |i: usize| fb[i].busy.iter().map(|b| (b.start, b.end)).collect::<Vec<_>>();
    assert_eq!(spans(0), vec![(at(2026, 7, 1, 9, 0), at(2026, 7, 1, 10, 30))], "overlaps merge, free time is not busy");
    assert_eq!(spans(1), vec![(at(2026, 7, 1, 12, 0), at(2026, 7, 1, 12, 30))]);
    assert!(fb[2].error.is_some() && fb[2].busy.is_empty());
}

async fn receiver() -> (String, mpsc::UnboundedReceiver<HeaderMap>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(headers);
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<HeaderMap>) -> HeaderMap {
    tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("a notification in time").expect("receiver open")
}

#[tokio::test]
async fn push_channels_deliver_sync_then_changes_and_can_be_renewed_and_stopped() {
    let w = world().await;
    let (url, mut rx) = receiver().await;
    let sub = w.alice.subscribe(&url, "s3cret", chrono::Duration::hours(2)).await.unwrap();
    let hours = (sub.expires_at - Utc::now()).num_minutes();
    assert!((115..=120).contains(&hours), "expiry honours the ttl: {hours} min");

    let hello = parse_notification(&next(&mut rx).await).unwrap();
    assert_eq!((hello.subscription_id.as_str(), hello.secret.as_deref(), hello.event), (sub.id.as_str(), Some("s3cret"), NotificationEvent::Hello));

    w.alice.create(&draft("Ping", at(2026, 8, 1, 9, 0), 30), SendInvitations::No).await.unwrap();
    let headers = next(&mut rx).await;
    assert_eq!(headers.get("x-goog-message-number").unwrap(), "2");
    let changed = parse_notification(&headers).unwrap();
    assert_eq!((changed.subscription_id.as_str(), changed.event), (sub.id.as_str(), NotificationEvent::Changed));

    // Renewing opens a new channel (with its own sync message) and stops the old one.
    let renewed = w.alice.renew(&sub, chrono::Duration::hours(3)).await.unwrap();
    assert_ne!(renewed.id, sub.id);
    assert_eq!(parse_notification(&next(&mut rx).await).unwrap().event, NotificationEvent::Hello);
    assert!(matches!(w.alice.unsubscribe(&sub).await, Err(ProviderError::NotFound)), "the old channel is gone");
    w.alice.create(&draft("Pong", at(2026, 8, 1, 10, 0), 30), SendInvitations::No).await.unwrap();
    let n = parse_notification(&next(&mut rx).await).unwrap();
    assert_eq!((n.subscription_id.as_str(), n.event), (renewed.id.as_str(), NotificationEvent::Changed));

    w.alice.unsubscribe(&renewed).await.unwrap();
    assert!(w.emu.with_state(|s| s.subscriptions.is_empty()));
}

#[tokio::test]
async fn throttling_is_surfaced_with_the_servers_back_off() {
    let w = world().await;
    w.emu.with_state(|s| {
        s.faults.push(Fault { provider: Provider::Google, kind: FaultKind::Throttle { retry_after_ms: 1500 }, remaining: 1, only: None })
    });
    let err = w.alice.list_window(at(2026, 1, 1, 0, 0), at(2026, 2, 1, 0, 0)).await.unwrap_err();
    assert_eq!(err, ProviderError::Throttled { retry_after: Some(Duration::from_secs(2)) });
    assert!(err.is_transient());
    // The fault was for one call only.
    w.alice.list_window(at(2026, 1, 1, 0, 0), at(2026, 2, 1, 0, 0)).await.unwrap();

    w.emu.with_state(|s| s.faults.push(Fault { provider: Provider::Google, kind: FaultKind::Status { status: 503 }, remaining: 1, only: None }));
    assert!(matches!(w.alice.validate().await, Err(ProviderError::Server { status: 503, .. })));
}

#[tokio::test]
async fn oversized_answers_and_stalled_calls_end_in_clear_errors() {
    let w = world().await;
    for i in 0..5 {
        w.alice.create(&draft(&format!("E{i}"), at(2026, 9, 1, 9 + i, 0), 30), SendInvitations::No).await.unwrap();
    }
    let token = w.emu.with_state(|s| s.issue_tokens(ALICE, Provider::Google, chrono::Duration::hours(1)).unwrap().access_token);
    let small = HttpConfig { max_body_bytes: 512, ..HttpConfig::loopback() };
    let capped = GoogleCalendar::new(&small, &base(w.addr), token.clone(), "primary").unwrap();
    assert_eq!(capped.list_window(at(2026, 9, 1, 0, 0), at(2026, 9, 2, 0, 0)).await, Err(ProviderError::TooLarge { limit: 512 }));

    let impatient = HttpConfig { timeout: Duration::from_millis(300), ..HttpConfig::loopback() };
    let cal = GoogleCalendar::new(&impatient, &base(w.addr), token, "primary").unwrap();
    w.emu.with_state(|s| s.faults.push(Fault { provider: Provider::Google, kind: FaultKind::Timeout { ms: 3000 }, remaining: 1, only: None }));
    assert_eq!(cal.validate().await, Err(ProviderError::Timeout));
    w.emu.with_state(|s| s.faults.push(Fault { provider: Provider::Google, kind: FaultKind::Drop, remaining: 1, only: None }));
    assert!(matches!(cal.validate().await, Err(ProviderError::Server { .. })));
}

/// What the sync engine keeps of a calendar: changes folded into a map by id.
#[derive(Default)]
struct Mirror(std::collections::BTreeMap<String, ProviderEvent>);

impl Mirror {
    fn apply(&mut self, changes: &[Change]) {
        for c in changes {
            match c {
                Change::Upserted(e) => {
                    self.0.insert(e.id.clone(), e.clone());
                }
                Change::Deleted { id, .. } => {
                    self.0.remove(id);
                    self.0.retain(|_, e| e.series_id.as_deref() != Some(id.as_str()));
                }
                Change::SeriesReplaced { series_id, occurrences } => {
                    self.0.retain(|_, e| e.series_id.as_deref() != Some(series_id.as_str()));
                    self.0.extend(occurrences.iter().map(|e| (e.id.clone(), e.clone())));
                }
            }
        }
    }

    fn ids(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }
}

async fn listed_ids(cal: &GoogleCalendar, w: Window) -> Vec<String> {
    let mut ids: Vec<String> = cal.list_window(w.from, w.to).await.unwrap().into_iter().map(|e| e.id).collect();
    ids.sort();
    ids
}

/// The series changes of a round: (series id, ids and starts of its occurrences).
fn replaced(changes: &[Change]) -> Vec<(String, Vec<(String, EventTime)>)> {
    changes
        .iter()
        .filter_map(|c| match c {
            Change::SeriesReplaced { series_id, occurrences } => {
                Some((series_id.clone(), occurrences.iter().map(|o| (o.id.clone(), o.start)).collect()))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_shortened_or_moved_series_is_replaced_whole_so_no_stale_occurrence_stays() {
    let w = world().await;
    let win = window(at(2026, 3, 1, 0, 0), at(2026, 4, 1, 0, 0));
    // Mondays 10:00 Berlin (09:00 UTC), four of them, all before the clocks move on 29 March.
    let mut weekly = draft("Weekly", at(2026, 3, 2, 9, 0), 30);
    weekly.recurrence = Some("FREQ=WEEKLY;COUNT=4".into());
    let series = w.alice.create(&weekly, SendInvitations::No).await.unwrap();
    let single = w.alice.create(&draft("Single", at(2026, 3, 5, 9, 0), 30), SendInvitations::No).await.unwrap();
    let slot = |d: u32| format!("{}_202603{d:02}T090000Z", series.id);

    let mut mirror = Mirror::default();
    let (first, cursor) = round(&w.alice, None, win).await.unwrap();
    mirror.apply(&first);
    assert_eq!(mirror.ids(), listed_ids(&w.alice, win).await);
    assert_eq!(mirror.0.values().filter(|e| e.series_id.as_deref() == Some(series.id.as_str())).count(), 4);

    // The owner shortens the series on the phone: the last two Mondays vanish.
    let phone = w.client_for(ALICE);
    let current = phone.get(&series.id).await.unwrap();
    let mut shorter = weekly.clone();
    shorter.recurrence = Some("FREQ=WEEKLY;COUNT=2".into());
    phone.update(&series.id, current.etag.as_deref(), &shorter, SendInvitations::No).await.unwrap();

    let (delta, cursor) = round(&w.alice, Some(cursor), win).await.unwrap();
    assert_eq!(
        replaced(&delta),
        vec![(series.id.clone(), vec![(slot(2), EventTime::At(at(2026, 3, 2, 9, 0))), (slot(9), EventTime::At(at(2026, 3, 9, 9, 0)))])],
        "{delta:#?}"
    );
    assert!(upserted(&delta).iter().all(|e| e.series_id.is_none()), "no loose occurrences of a replaced series: {delta:#?}");
    mirror.apply(&delta);
    assert_eq!(mirror.ids(), listed_ids(&w.alice, win).await, "the mirror holds exactly what the calendar holds");
    assert!(!mirror.0.contains_key(&slot(16)) && !mirror.0.contains_key(&slot(23)));

    // Separately, the owner moves the series a day later: every instance gets a new id.
    let current = phone.get(&series.id).await.unwrap();
    let mut moved = shorter.clone();
    moved.start = EventTime::At(at(2026, 3, 3, 9, 0));
    moved.end = EventTime::At(at(2026, 3, 3, 9, 30));
    phone.update(&series.id, current.etag.as_deref(), &moved, SendInvitations::No).await.unwrap();

    let (delta, cursor) = round(&w.alice, Some(cursor), win).await.unwrap();
    assert_eq!(
        replaced(&delta),
        vec![(series.id.clone(), vec![(slot(3), EventTime::At(at(2026, 3, 3, 9, 0))), (slot(10), EventTime::At(at(2026, 3, 10, 9, 0)))])],
        "{delta:#?}"
    );
    mirror.apply(&delta);
    assert_eq!(mirror.ids(), listed_ids(&w.alice, win).await, "no duplicate meetings at the old times");
    assert!(mirror.0.contains_key(&single.id));
    assert!(!mirror.0.contains_key(&slot(2)) && !mirror.0.contains_key(&slot(9)));

    // Deleting the series is still one deletion of the master.
    phone.delete(&series.id, None, SendInvitations::No).await.unwrap();
    let (delta, _) = round(&w.alice, Some(cursor), win).await.unwrap();
    assert!(deleted_ids(&delta).contains(&series.id), "{delta:#?}");
    assert!(replaced(&delta).is_empty(), "{delta:#?}");
    mirror.apply(&delta);
    assert_eq!(mirror.ids(), vec![single.id.clone()]);
}

/// Every page of a round, as (changes of the page) in order; the cursor for the next round.
async fn paged_round(cal: &GoogleCalendar, cursor: Option<String>, w: Window) -> (Vec<Vec<Change>>, String) {
    let mut cursor = cursor;
    let mut pages = Vec::new();
    loop {
        let page = cal.changes(cursor.as_deref(), w).await.unwrap();
        pages.push(page.changes);
        cursor = Some(page.cursor);
        if !page.more {
            return (pages, cursor.unwrap());
        }
    }
}

fn sorted_unique(ids: Vec<String>) -> Vec<String> {
    let n = ids.len();
    let mut ids = ids;
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "no id twice in a round: {ids:?}");
    ids
}

#[tokio::test]
async fn small_pages_lose_and_repeat_nothing_and_changes_during_a_round_come_next_round() {
    let w = world().await;
    let win = window(at(2026, 4, 1, 0, 0), at(2026, 5, 1, 0, 0));
    let token = w.emu.with_state(|s| s.issue_tokens(ALICE, Provider::Google, chrono::Duration::hours(1)).unwrap().access_token);
    let cal = GoogleCalendar::new(&HttpConfig::loopback(), &base(w.addr), token, "primary").unwrap().with_page_size(2);
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(w.alice.create(&draft(&format!("E{i}"), at(2026, 4, 6 + i, 9, 0), 30), SendInvitations::No).await.unwrap());
    }
    let mut all_ids: Vec<String> = made.iter().map(|e| e.id.clone()).collect();
    all_ids.sort();

    // First round: 5 events in pages of 2.
    let (pages, cursor) = paged_round(&cal, None, win).await;
    assert_eq!(pages.len(), 3, "{pages:#?}");
    assert!(pages.iter().all(|p| p.len() <= 2));
    let first: Vec<Change> = pages.concat();
    assert_eq!(sorted_unique(upserted(&first).iter().map(|e| e.id.clone()).collect()), all_ids);

    // Five changes: three edits, a deletion, a new event.
    for (i, e) in made.iter().take(3).enumerate() {
        w.alice.update(&e.id, None, &draft(&format!("E{i} (edited)"), at(2026, 4, 6 + i as u32, 10, 0), 30), SendInvitations::No).await.unwrap();
    }
    w.alice.delete(&made[3].id, None, SendInvitations::No).await.unwrap();
    let added = w.alice.create(&draft("Added", at(2026, 4, 20, 9, 0), 30), SendInvitations::No).await.unwrap();

    let (pages, cursor) = paged_round(&cal, Some(cursor), win).await;
    assert_eq!(pages.len(), 3, "{pages:#?}");
    let delta: Vec<Change> = pages.concat();
    let mut expected: Vec<String> = made.iter().take(3).map(|e| e.id.clone()).chain([added.id.clone()]).collect();
    expected.sort();
    assert_eq!(sorted_unique(upserted(&delta).iter().map(|e| e.id.clone()).collect()), expected);
    assert!(upserted(&delta).iter().filter(|e| e.id != added.id).all(|e| e.subject.ends_with("(edited)")));
    assert_eq!(deleted_ids(&delta), vec![made[3].id.clone()]);

    // A change made while a round is under way: the round goes on undisturbed and the
    // change comes in the next round (a full round as well as an incremental one).
    let first_page = cal.changes(None, win).await.unwrap();
    assert!(first_page.more);
    let seen = upserted(&first_page.changes)[0].clone();
    w.alice.update(&seen.id, None, &draft("Edited mid-round", at(2026, 4, 25, 9, 0), 30), SendInvitations::No).await.unwrap();
    let (rest, full_cursor) = paged_round(&cal, Some(first_page.cursor), win).await;
    let mut full: Vec<Change> = first_page.changes;
    full.extend(rest.concat());
    let mut now_ids: Vec<String> = made.iter().take(3).chain(made.iter().skip(4)).map(|e| e.id.clone()).chain([added.id.clone()]).collect();
    now_ids.sort();
    assert_eq!(sorted_unique(upserted(&full).iter().map(|e| e.id.clone()).collect()), now_ids);
    let (next, _) = paged_round(&cal, Some(full_cursor), win).await;
    let next = next.concat();
    assert!(upserted(&next).iter().any(|e| e.id == seen.id && e.subject == "Edited mid-round"), "{next:#?}");

    w.alice.update(&made[0].id, None, &draft("One", at(2026, 4, 6, 11, 0), 30), SendInvitations::No).await.unwrap();
    w.alice.update(&made[1].id, None, &draft("Two", at(2026, 4, 7, 11, 0), 30), SendInvitations::No).await.unwrap();
    w.alice.update(&made[2].id, None, &draft("Three", at(2026, 4, 8, 11, 0), 30), SendInvitations::No).await.unwrap();
    let first_page = cal.changes(Some(&cursor), win).await.unwrap();
    assert!(first_page.more);
    let late = w.alice.create(&draft("Late", at(2026, 4, 28, 9, 0), 30), SendInvitations::No).await.unwrap();
    let (rest, cursor) = paged_round(&cal, Some(first_page.cursor), win).await;
    let mut round_ids: Vec<String> = upserted(&first_page.changes).iter().chain(upserted(&rest.concat()).iter()).map(|e| e.id.clone()).collect();
    round_ids.retain(|id| *id != late.id);
    assert_eq!(sorted_unique(round_ids), sorted_unique(made.iter().take(3).map(|e| e.id.clone()).collect()));
    let (next, _) = paged_round(&cal, Some(cursor), win).await;
    assert!(upserted(&next.concat()).iter().any(|e| e.id == late.id), "{next:#?}");
}

/// A fake Google that never ends its listings: calendar `same` answers every page token with
/// itself, calendar `endless` with ever new ones.
async fn endless_google() -> String {
    use axum::extract::{Path, Query};
    use std::collections::HashMap;
    let app = axum::Router::new().route(
        "/calendar/v3/calendars/{cal}/events",
        axum::routing::get(|Path(cal): Path<String>, Query(q): Query<HashMap<String, String>>| async move {
            let given = q.get("pageToken").cloned();
            let next = match (cal.as_str(), given) {
                ("same", Some(p)) => p,
                (_, Some(p)) => format!("{p}x"),
                (_, None) => "p".to_string(),
            };
            axum::Json(serde_json::json!({ "kind": "calendar#events", "items": [], "nextPageToken": next }))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/calendar/v3")
}

#[tokio::test]
async fn a_server_that_never_ends_a_round_is_a_protocol_error() {
    let base = endless_google().await;
    let win = window(at(2026, 1, 1, 0, 0), at(2026, 2, 1, 0, 0));
    let same = GoogleCalendar::new(&HttpConfig::loopback(), &base, "t", "same").unwrap();
    let page = same.changes(None, win).await.unwrap();
    assert!(page.more);
    assert!(matches!(same.changes(Some(&page.cursor), win).await, Err(ProviderError::Protocol(_))));
    assert!(matches!(same.list_window(win.from, win.to).await, Err(ProviderError::Protocol(_))));

    // Ever new page tokens: the round is cut off after a bounded number of pages.
    let endless = GoogleCalendar::new(&HttpConfig::loopback(), &base, "t", "endless").unwrap();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    let err = loop {
        match endless.changes(cursor.as_deref(), win).await {
            Ok(p) => {
                assert!(p.more);
                pages += 1;
                assert!(pages < 5000, "the round never ends");
                cursor = Some(p.cursor);
            }
            Err(e) => break e,
        }
    };
    assert!(matches!(err, ProviderError::Protocol(_)), "{err:?}");
    assert!(pages >= 100, "a long but finite round is fine: {pages} pages");
    assert!(matches!(endless.list_window(win.from, win.to).await, Err(ProviderError::Protocol(_))));
}
