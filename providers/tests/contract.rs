//! The behavioural contract every provider client meets, written once and run against Google,
//! Microsoft Graph and EWS through the `CalendarProvider` trait: each client talks over real
//! HTTP on loopback to its own emulator (port 0), and the emulator's outbox and calendars are
//! the other side of the truth. Feature ids: F-CAL-1/2/3 (two-way mirror), F-X-2/3/4 (sync
//! without duplicates, invitations only when asked, recovery from faults).

use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use emulator::model::{FaultKind, Fault, MessageKind, Provider};
use emulator::{Config, Emulator};
use providers::ews::{EwsAuth, EwsCalendar};
use providers::google::GoogleCalendar;
use providers::graph::GraphCalendar;
use providers::http::HttpConfig;
use providers::*;
use tokio::sync::mpsc;

// ---- the rig ---------------------------------------------------------------------------------

struct Rig {
    kind: ProviderKind,
    emu: Emulator,
    base: String,
}

fn provider(kind: ProviderKind) -> Provider {
    match kind {
        ProviderKind::Google => Provider::Google,
        ProviderKind::Graph => Provider::Graph,
        ProviderKind::Ews => Provider::Ews,
    }
}

const PASSWORD: &str = "correct horse battery";

impl Rig {
    async fn new(kind: ProviderKind) -> Rig {
        let emu = Emulator::new(Config::default());
        let addr = emu.clone().spawn("127.0.0.1:0".parse().unwrap()).await.expect("emulator binds");
        let rig = Rig { kind, emu, base: format!("http://{addr}") };
        for (who, tz) in [("alice", "Europe/Copenhagen"), ("bob", "Europe/London")] {
            rig.mailbox(&format!("{who}@{}.example", kind.as_str()), tz, false);
        }
        rig
    }

    fn alice(&self) -> String {
        format!("alice@{}.example", self.kind.as_str())
    }
    fn bob(&self) -> String {
        format!("bob@{}.example", self.kind.as_str())
    }

    fn mailbox(&self, email: &str, tz: &str, can_impersonate: bool) {
        let mb = emulator::model::Mailbox {
            email: email.into(),
            display_name: email.split('@').next().unwrap().into(),
            provider: provider(self.kind),
            password: Some(PASSWORD.into()),
            time_zone: tz.into(),
            can_impersonate,
            uid: String::new(),
        };
        self.emu.with_state(|s| s.add_mailbox(mb)).expect("mailbox added");
    }

    fn http(&self) -> HttpConfig {
        HttpConfig::loopback()
    }

    /// A client for `email`, authenticated as its owner.
    fn client(&self, email: &str) -> Box<dyn CalendarProvider> {
        self.client_with(email, self.http())
    }

    fn client_with(&self, email: &str, http: HttpConfig) -> Box<dyn CalendarProvider> {
        let token = || {
            self.emu
                .with_state(|s| s.issue_tokens(email, provider(self.kind), chrono::Duration::hours(1)))
                .expect("token")
                .access_token
        };
        match self.kind {
            ProviderKind::Google => Box::new(
                GoogleCalendar::new(&http, &format!("{}/google/calendar/v3", self.base), token(), "primary").unwrap(),
            ),
            ProviderKind::Graph => {
                Box::new(GraphCalendar::new(&http, &format!("{}/graph/v1.0", self.base), token(), None).unwrap())
            }
            ProviderKind::Ews => Box::new(
                EwsCalendar::new(
                    &http,
                    &self.ews_url(),
                    EwsAuth::Basic { username: email.into(), password: PASSWORD.into() },
                    email,
                )
                .unwrap(),
            ),
        }
    }

    fn ews_url(&self) -> String {
        format!("{}/ews/EWS/Exchange.asmx", self.base)
    }

    fn outbox(&self) -> Vec<(MessageKind, String, String)> {
        self.emu.with_state(|s| s.outbox.iter().map(|m| (m.kind, m.from.clone(), m.to.clone())).collect())
    }

    fn clear_outbox(&self) {
        self.emu.with_state(|s| s.outbox.clear());
    }

    fn fault(&self, kind: FaultKind, count: u32) {
        self.emu.with_state(|s| s.faults.push(Fault { provider: provider(self.kind), kind, remaining: count, only: None }));
    }

    /// The events in a mailbox as stored by the emulator (not through the client).
    fn stored_uids(&self, email: &str) -> Vec<String> {
        self.emu.with_state(|s| s.calendar(email).unwrap().events.values().map(|e| e.ical_uid.clone()).collect())
    }
}

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

/// March 2027 (Europe moves its clocks on the 28th; series in the tests end before that).
fn window() -> Window {
    Window { from: at(2027, 3, 1, 0, 0), to: at(2027, 4, 5, 0, 0) }
}

fn draft(subject: &str, start: DateTime<Utc>, minutes: i64) -> EventDraft {
    let end = EventTime::At(start + chrono::Duration::minutes(minutes));
    EventDraft { location: "Room 4".into(), description: "Agenda".into(), ..EventDraft::new(subject, EventTime::At(start), end, "Europe/Copenhagen") }
}

/// Drains a whole round of changes, following pages.
async fn drain(client: &dyn CalendarProvider, cursor: Option<String>) -> Result<(Vec<Change>, String)> {
    let mut all = Vec::new();
    let mut cursor = cursor;
    loop {
        let page = client.changes(cursor.as_deref(), window()).await?;
        all.extend(page.changes);
        cursor = Some(page.cursor);
        if !page.more {
            return Ok((all, cursor.unwrap()));
        }
    }
}

/// Ids of upserted events (occurrences of replaced series included) and of deletions.
fn summarise(changes: &[Change]) -> (Vec<(String, String)>, Vec<String>) {
    let mut upserts = Vec::new();
    let mut deletes = Vec::new();
    for c in changes {
        match c {
            Change::Upserted(e) => upserts.push((e.id.clone(), e.subject.clone())),
            Change::SeriesReplaced { occurrences, .. } => {
                upserts.extend(occurrences.iter().map(|e| (e.id.clone(), e.subject.clone())))
            }
            Change::Deleted { id, .. } => deletes.push(id.clone()),
        }
    }
    (upserts, deletes)
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod google { $( #[tokio::test] async fn $name() { super::$name(providers::ProviderKind::Google).await } )* }
        mod graph { $( #[tokio::test] async fn $name() { super::$name(providers::ProviderKind::Graph).await } )* }
        mod ews { $( #[tokio::test] async fn $name() { super::$name(providers::ProviderKind::Ews).await } )* }
    };
}

contract!(
    window_lists_singles_and_expanded_series,
    incremental_changes_report_exactly_what_changed,
    expired_cursor_is_its_own_error,
    shortened_or_moved_series_leave_no_stale_occurrence,
    writes_without_sending_mail_nobody,
    writes_with_sending_mail_each_attendee_once,
    stale_etag_is_a_conflict,
    crm_id_is_stored_and_found_again,
    all_day_private_and_time_zone_round_trip,
    free_busy_of_several_mailboxes,
    push_notifications_arrive,
    throttling_is_surfaced_with_the_back_off,
    faults_are_transient_errors,
    wrong_credentials_are_refused,
    unreachable_host,
);

// ---- window listing (F-CAL-1) ----------------------------------------------------------------

async fn window_lists_singles_and_expanded_series(kind: ProviderKind) {
    let rig = Rig::new(kind).await;
    let c = rig.client(&rig.alice());
    let single = c.create(&draft("Kick-off", at(2027, 3, 2, 9, 0), 60), SendInvitations::No).await.unwrap();
    let mut weekly = draft("Weekly review", at(2027, 3, 3, 13, 0), 30);
    // Four Wednesdays, all before Europe moves its clocks on 28 March.
    weekly.recurrence = Some("FREQ=WEEKLY;COUNT=4".into());
    c.create(&weekly, SendInvitations::No).await.unwrap();
    // Outside the window: not listed.
    c.create(&draft("Later", at(2027, 6, 1, 9, 0), 60), SendInvitations::No).await.unwrap();

    let listed = c.list_window(window().from, window().to).await.unwrap();
    let occurrences: Vec<&ProviderEvent> = listed.iter().filter(|e| e.subject == "Weekly review").collect();
    assert_eq!(occurrences.len(), 4, "{listed:#?}");
    assert!(listed.iter().any(|e| e.id == single.id && e.kind == EventKind::Single));
    assert!(!listed.iter().any(|e| e.subject == "Later"));
    let series_id = occurrences[0].series_id.clone().expect("occurrences name their series");
    assert!(occurrences.iter().all(|o| o.series_id.as_deref() == Some(series_id.as_str())));
    assert!(occurrences.iter().all(|o| o.kind == EventKind::Occurrence));
    assert_eq!(
        occurrences.iter().map(|o| o.original_start).collect::<Vec<_>>(),
        (0..4).map(|w| Some(at(2027, 3, 3, 13, 0) + chrono::Duration::weeks(w))).collect::<Vec<_>>()
    );
    assert!(occurrences[0].ical_uid.is_some());

    // Move the second occurrence (an exception) and delete the third.
    let second = occurrences[1].clone();
    let mut moved = draft("Weekly review (moved)", at(2027, 3, 11, 15, 0), 30);
    moved.recurrence = None;
    c.update(&second.id, second.etag.as_deref(), &moved, SendInvitations::No).await.unwrap();
    c.delete(&occurrences[2].id, None, SendInvitations::No).await.unwrap();

    let listed = c.list_window(window().from, window().to).await.unwrap();
    let series: Vec<&ProviderEvent> =
        listed.iter().filter(|e| e.series_id.as_deref() == Some(series_id.as_str())).collect();
    assert_eq!(series.len(), 3, "one occurrence deleted: {series:#?}");
    let exception = series.iter().find(|e| e.kind == EventKind::Exception).expect("an exception");
    assert_eq!(exception.subject, "Weekly review (moved)");
    assert_eq!(exception.start, EventTime::At(at(2027, 3, 11, 15, 0)));
    assert_eq!(exception.original_start, Some(at(2027, 3, 10, 13, 0)));
    assert!(!series.iter().any(|e| e.original_start == Some(at(2027, 3, 17, 13, 0))));
}

// ---- incremental sync (F-CAL-2, F-X-2) --------------------------------------------------------

async fn incremental_changes_report_exactly_what_changed(kind: ProviderKind) {
    let rig = Rig::new(kind).await;
    let c = rig.client(&rig.alice());
    let keep = c.create(&draft("Keep", at(2027, 3, 2, 9, 0), 60), SendInvitations::No).await.unwrap();
    let change = c.create(&draft("Change me", at(2027, 3, 3, 9, 0), 60), SendInvitations::No).await.unwrap();
    let remove = c.create(&draft("Remove me", at(2027, 3, 4, 9, 0), 60), SendInvitations::No).await.unwrap();

    let (first, cursor) = drain(c.as_ref(), None).await.unwrap();
    let (ups, dels) = summarise(&first);
    for e in [&keep, &change, &remove] {
        assert!(ups.iter().any(|(id, _)| id == &e.id), "first round lists {}", e.subject);
    }
    assert!(dels.is_empty());

    // Nothing happened: an empty round.
    let (none, cursor) = drain(c.as_ref(), Some(cursor)).await.unwrap();
    assert_eq!(summarise(&none), (vec![], vec![]), "{none:#?}");

    // The owner edits on the phone (through the provider API): one change, one deletion, one new.
    let phone = rig.client(&rig.alice());
    let current = phone.get(&change.id).await.unwrap();
    phone.update(&change.id, current.etag.as_deref(), &draft("Changed", at(2027, 3, 3, 10, 0), 60), SendInvitations::No).await.unwrap();
    phone.delete(&remove.id, None, SendInvitations::No).await.unwrap();
    let added = phone.create(&draft("Added", at(2027, 3, 5, 9, 0), 30), SendInvitations::No).await.unwrap();

    let (next, cursor) = drain(c.as_ref(), Some(cursor)).await.unwrap();
    let (ups, dels) = summarise(&next);
    assert!(ups.contains(&(change.id.clone(), "Changed".into())), "{next:#?}");
    assert!(ups.contains(&(added.id.clone(), "Added".into())), "{next:#?}");
    assert!(!ups.iter().any(|(id, _)| id == &keep.id), "unchanged event not repeated: {next:#?}");
    assert_eq!(dels, vec![remove.id.clone()]);

    let (after, _) = drain(c.as_ref(), Some(cursor)).await.unwrap();
    assert_eq!(summarise(&after), (vec![], vec![]));
}

async fn expired_cursor_is_its_own_error(kind: ProviderKind) {
    let rig = Rig::new(kind).await;
    let c = rig.client(&rig.alice());
    c.create(&draft("Something", at(2027, 3, 2, 9, 0), 60), SendInvitations::No).await.unwrap();
    let (_, cursor) = drain(c.as_ref(), None).await.unwrap();
    let expired = rig.emu.with_state(|s| s.expire_cursors(provider(kind)));
    assert!(expired > 0);
    let err = c.changes(Some(&cursor), window()).await.unwrap_err();
    assert_eq!(err, ProviderError::CursorExpired);
    // A new round works again.
    let (again, _) = drain(c.as_ref(), None).await.unwrap();
    assert_eq!(summarise(&again).0.len(), 1);
}

/// The duplicate-meetings case: a mirror fed only by change rounds (as the sync engine keeps
/// it) still equals the calendar after the owner shortens a series and then moves it (which
/// gives Google instances new ids).
async fn shortened_or_moved_series_leave_no_stale_occurrence(kind: ProviderKind) {
    fn fold(mirror: &mut std::collections::HashMap<String, ProviderEvent>, changes: &[Change]) {
        for c in changes {
            match c {
                Change::Upserted(e) => {
                    mirror.insert(e.id.clone(), e.clone());
                }
                Change::Deleted { id, .. } => {
                    mirror.remove(id);
                    mirror.retain(|_, e| e.series_id.as_deref() != Some(id.as_str()));
                }
                Change::SeriesReplaced { series_id, occurrences } => {
                    mirror.retain(|_, e| e.series_id.as_deref() != Some(series_id.as_str()));
                    mirror.extend(occurrences.iter().map(|e| (e.id.clone(), e.clone())));
                }
            }
        }
    }
    fn times<'a>(events: impl Iterator<Item = &'a ProviderEvent>) -> Vec<(String, EventTime)> {
        let mut v: Vec<(String, EventTime)> =
            events.filter(|e| e.kind != EventKind::SeriesMaster).map(|e| (e.subject.clone(), e.start)).collect();
        v.sort_by_key(|(s, t)| (s.clone(), format!("{t:?}")));
        v
    }
    let rig = Rig::new(kind).await;
    let c = rig.client(&rig.alice());
    let mut weekly = draft("Weekly sync", at(2027, 3, 3, 13, 0), 30);
    weekly.recurrence = Some("FREQ=WEEKLY;COUNT=4".into());
    let master = c.create(&weekly, SendInvitations::No).await.unwrap();
    c.create(&draft("Single", at(2027, 3, 4, 9, 0), 30), SendInvitations::No).await.unwrap();
    let mut mirror = std::collections::HashMap::new();
    let (first, mut cursor) = drain(c.as_ref(), None).await.unwrap();
    fold(&mut mirror, &first);
    assert_eq!(times(mirror.values()).len(), 5, "{first:#?}");

    let phone = rig.client(&rig.alice());
    let mut shorter = weekly.clone();
    shorter.recurrence = Some("FREQ=WEEKLY;COUNT=2".into());
    let mut moved = shorter.clone();
    moved.start = EventTime::At(at(2027, 3, 4, 13, 0));
    moved.end = EventTime::At(at(2027, 3, 4, 13, 30));
    for (step, d) in [("shortened", &shorter), ("moved", &moved)] {
        let current = phone.get(&master.id).await.unwrap();
        phone.update(&master.id, current.etag.as_deref(), d, SendInvitations::No).await.unwrap();
        let (delta, next) = drain(c.as_ref(), Some(cursor)).await.unwrap();
        cursor = next;
        fold(&mut mirror, &delta);
        let listed = c.list_window(window().from, window().to).await.unwrap();
        assert_eq!(times(mirror.values()), times(listed.iter()), "{step}: {delta:#?}");
        assert_eq!(times(listed.iter()).len(), 3, "{step}: two occurrences and the single");
    }
}

// ---- writes and invitations (F-X-3) ----------------------------------------------------------

fn with_attendees(rig: &Rig, d: EventDraft) -> EventDraft {
    EventDraft { attendees: vec![Attendee::required(&rig.bob()), Attendee::required("carol@elsewhere.example")], ..d }
}

async fn writes_without_sending_mail_nobody(kind: ProviderKind) {
    let rig = Rig::new(kind).await;
    let c = rig.client(&rig.alice());
    let d = with_attendees(&rig, draft("Quiet", at(2027, 3, 2, 9, 0), 60));
    let e = c.create(&d, SendInvitations::No).await.unwrap();
    let d2 = EventDraft { start: EventTime::At(at(2027, 3, 2, 10, 0)), end: EventTime::At(at(2027, 3, 2, 11, 0)), ..d };
    let e = c.update(&e.id, e.etag.as_deref(), &d2, SendInvitations::No).await.unwrap();
    assert_eq!(rig.outbox(), vec![], "no mail without sending");
    assert!(rig.stored_uids(&rig.bob()).is_empty(), "no copy delivered to bob");
    c.delete(&e.id, None, SendInvitations::No).await.unwrap();
    assert_eq!(rig.outbox(), vec![]);
    assert!(c.list_window(window().from, window().to).await.unwrap().is_empty());
}

async fn writes_with_sending_mail_each_attendee_once(kind: ProviderKind) {
    let rig = Rig::new(kind).await;
    let c = rig.client(&rig.alice());
    let (alice, bob, carol) = (rig.alice(), rig.bob(), "carol@elsewhere.example".to_string());
    let d = with_attendees(&rig, draft("Pricing", at(2027, 3, 2, 9, 0), 60));
    let e = c.create(&d, SendInvitations::Yes).await.unwrap();
    assert_eq!(
        rig.outbox(),
        vec![(MessageKind::Invite, alice.clone(), bob.clone()), (MessageKind::Invite, alice.clone(), carol.clone())]
    );
    // Bob is a mailbox of the same provider: the meeting is in his calendar with the same iCalUID.
    let bobs = rig.client(&bob).list_window(window().from, window().to).await.unwrap();
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0].ical_uid, e.ical_uid);
    assert_eq!(bobs[0].organizer.as_ref().map(|o| o.email.to_ascii_lowercase()), Some(alice.clone()));

    rig.clear_outbox();
    let d2 = EventDraft { start: EventTime::At(at(2027, 3, 2, 10, 0)), end: EventTime::At(at(2027, 3, 2, 11, 0)), ..d };
    let e = c.update(&e.id, e.etag.as_deref(), &d2, SendInvitations::Yes).await.unwrap();
    assert_eq!(
        rig.outbox(),
        vec![(MessageKind::Update, alice.clone(), bob.clone()), (MessageKind::Update, alice.clone(), carol.clone())]
    );
    let bobs = rig.client(&bob).list_window(window().from, window().to).await.unwrap();
    assert_eq!(bobs[0].start, EventTime::At(at(2027, 3, 2, 10, 0)), "bob's copy moved too");

    rig.clear_outbox();
    c.delete(&e.id, None, SendInvitations::Yes).await.unwrap();
    assert_eq!(
        rig.outbox(),
        vec![(MessageKind::Cancel, alice.clone(), bob.clone()), (MessageKind::Cancel, alice, carol)]
    );
}

async fn stale_etag_is_a_conflict(kind: ProviderKind) {
    let rig = Rig::new(kind).await;
    let c = rig.client(&rig.alice());
    let d = draft("Draft", at(2027, 3, 2, 9, 0), 60);
    let v1 = c.create(&d, SendInvitations::No).await.unwrap();
    let v2 = c.update(&v1.id, v1.etag.as_deref(), &EventDraft { subject: "Second".into(), ..d.clone() }, SendInvitations::No).await.unwrap();
    assert_ne!(v1.etag, v2.etag, "every write changes the version");
    let err = c.update(&v1.id, v1.etag.as_deref(), &EventDraft { subject: "Third".into(), ..d }, SendInvitations::No).await.unwrap_err();
    assert_eq!(err, ProviderError::Conflict);
    assert_eq!(c.get(&v1.id).await.unwrap().subject, "Second", "the losing write changed nothing");
}

async fn crm_id_is_stored_and_found_again(kind: ProviderKind) {
    let rig = Rig::new(kind).await;
    let c = rig.client(&rig.alice());
    let d = EventDraft { crm_id: Some("MEET-42".into()), ..draft("Tracked", at(2027, 3, 2, 9, 0), 60) };
    let e = c.create(&d, SendInvitations::No).await.unwrap();
    c.create(&EventDraft { crm_id: Some("MEET-43".into()), ..d.clone() }, SendInvitations::No).await.unwrap();
    let found = c.find_by_crm_id("MEET-42").await.unwrap().expect("found by CRM id");
    assert_eq!(found.id, e.id);
    assert_eq!(found.crm_id.as_deref(), Some("MEET-42"));
    assert_eq!(c.get(&e.id).await.unwrap().crm_id.as_deref(), Some("MEET-42"));
    assert_eq!(c.find_by_crm_id("MEET-999").await.unwrap(), None);
}

async fn all_day_private_and_time_zone_round_trip(kind: ProviderKind) {
    let rig = Rig::new(kind).await;
    let c = rig.client(&rig.alice());
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
    let trip = EventDraft {
        start: EventTime::Date(d(2027, 3, 8)),
        end: EventTime::Date(d(2027, 3, 10)),
        private: true,
        time_zone: "America/New_York".into(),
        ..draft("Trade fair", at(2027, 3, 8, 0, 0), 0)
    };
    let e = c.create(&trip, SendInvitations::No).await.unwrap();
    let got = c.get(&e.id).await.unwrap();
    assert_eq!((got.start, got.end), (EventTime::Date(d(2027, 3, 8)), EventTime::Date(d(2027, 3, 10))));
    assert!(got.private);
    assert!(got.all_day());

    let ny = EventDraft { time_zone: "America/New_York".into(), ..draft("Call", at(2027, 3, 3, 14, 0), 45) };
    let e = c.create(&ny, SendInvitations::No).await.unwrap();
    let got = c.get(&e.id).await.unwrap();
    assert_eq!(got.start, EventTime::At(at(2027, 3, 3, 14, 0)));
    assert_eq!(got.end, EventTime::At(at(2027, 3, 3, 14, 45)));
    assert_eq!(got.time_zone.as_deref(), Some("America/New_York"));
    assert!(!got.private);
    let listed = c.list_window(window().from, window().to).await.unwrap();
    assert_eq!(listed.len(), 2, "the multi-day event is listed once");
}

// ---- free/busy -------------------------------------------------------------------------------

async fn free_busy_of_several_mailboxes(kind: ProviderKind) {
    let rig = Rig::new(kind).await;
    rig.client(&rig.alice()).create(&draft("Busy", at(2027, 3, 2, 9, 0), 60), SendInvitations::No).await.unwrap();
    let fb = rig
        .client(&rig.bob())
        .free_busy(&[rig.alice(), rig.bob()], at(2027, 3, 2, 0, 0), at(2027, 3, 3, 0, 0))
        .await
        .unwrap();
    assert_eq!(fb.len(), 2);
    let alice = fb.iter().find(|f| f.email.eq_ignore_ascii_case(&rig.alice())).expect("alice answered");
    assert_eq!(
        alice.busy.iter().map(|b| (b.start, b.end)).collect::<Vec<_>>(),
        vec![(at(2027, 3, 2, 9, 0), at(2027, 3, 2, 10, 0))]
    );
    let bob = fb.iter().find(|f| f.email.eq_ignore_ascii_case(&rig.bob())).expect("bob answered");
    assert!(bob.busy.is_empty());
}

// ---- push ------------------------------------------------------------------------------------

#[derive(Clone)]
struct Hook {
    kind: ProviderKind,
    tx: mpsc::UnboundedSender<Vec<Notification>>,
}

async fn hook(State(h): State<Hook>, Query(q): Query<Vec<(String, String)>>, headers: HeaderMap, body: axum::body::Bytes) -> axum::response::Response {
    let raw_query: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(q.iter()).finish();
    match h.kind {
        ProviderKind::Graph => {
            if let Some(token) = providers::graph::validation_token(&raw_query) {
                return ([("content-type", "text/plain")], token).into_response();
            }
            let _ = h.tx.send(providers::graph::parse_notifications(&body).expect("graph notification parses"));
            axum::http::StatusCode::ACCEPTED.into_response()
        }
        ProviderKind::Google => {
            let _ = h.tx.send(vec![providers::google::parse_notification(&headers).expect("google notification parses")]);
            axum::http::StatusCode::OK.into_response()
        }
        ProviderKind::Ews => {
            let _ = h.tx.send(providers::ews::parse_notification(&body).expect("ews notification parses"));
            ([("content-type", "text/xml; charset=utf-8")], providers::ews::notification_answer(true)).into_response()
        }
    }
}

async fn push_notifications_arrive(kind: ProviderKind) {
    let rig = Rig::new(kind).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route("/hook", axum::routing::post(hook)).with_state(Hook { kind, tx });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let c = rig.client(&rig.alice());
    let sub = c.subscribe(&url, "s3cret-state", chrono::Duration::hours(1)).await.unwrap();
    assert!(sub.expires_at > Utc::now());
    // The owner adds a meeting on the phone; a "changed" notification for our subscription comes.
    rig.client(&rig.alice()).create(&draft("From the phone", at(2027, 3, 2, 9, 0), 60), SendInvitations::No).await.unwrap();
    let changed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let batch = rx.recv().await.expect("hook alive");
            if let Some(n) = batch.into_iter().find(|n| n.event == NotificationEvent::Changed) {
                return n;
            }
        }
    })
    .await
    .expect("a change notification within 10 s");
    assert_eq!(changed.subscription_id, sub.id);
    if kind != ProviderKind::Ews {
        assert_eq!(changed.secret.as_deref(), Some("s3cret-state"), "the secret comes back");
    }

    let renewed = c.renew(&sub, chrono::Duration::hours(2)).await.unwrap();
    assert!(renewed.expires_at >= sub.expires_at);
    c.unsubscribe(&renewed).await.unwrap();
    let live = rig.emu.with_state(|s| s.subscriptions.len());
    assert_eq!(live, 0, "no subscription left after unsubscribe");
}

// ---- throttling and faults (F-X-4) -----------------------------------------------------------

async fn throttling_is_surfaced_with_the_back_off(kind: ProviderKind) {
    let rig = Rig::new(kind).await;
    let c = rig.client(&rig.alice());
    rig.fault(FaultKind::Throttle { retry_after_ms: 3000 }, 1);
    let err = c.list_window(window().from, window().to).await.unwrap_err();
    match err {
        ProviderError::Throttled { retry_after: Some(d) } => assert!(d >= Duration::from_secs(3), "{d:?}"),
        other => panic!("expected throttling with a back-off, got {other:?}"),
    }
    assert!(c.list_window(window().from, window().to).await.is_ok(), "the next call goes through");
}

async fn faults_are_transient_errors(kind: ProviderKind) {
    let rig = Rig::new(kind).await;
    let c = rig.client(&rig.alice());
    rig.fault(FaultKind::Status { status: 503 }, 1);
    let e = c.list_window(window().from, window().to).await.unwrap_err();
    assert!(e.is_transient(), "503: {e:?}");
    rig.fault(FaultKind::Drop, 1);
    let e = c.list_window(window().from, window().to).await.unwrap_err();
    assert!(e.is_transient(), "dropped connection: {e:?}");
    let impatient = HttpConfig { timeout: Duration::from_millis(500), ..HttpConfig::loopback() };
    let c2 = rig.client_with(&rig.alice(), impatient);
    rig.fault(FaultKind::Timeout { ms: 5_000 }, 1);
    assert_eq!(c2.list_window(window().from, window().to).await.unwrap_err(), ProviderError::Timeout);
    assert!(c.list_window(window().from, window().to).await.is_ok());
}

async fn wrong_credentials_are_refused(kind: ProviderKind) {
    let rig = Rig::new(kind).await;
    let http = rig.http();
    let c: Box<dyn CalendarProvider> = match kind {
        ProviderKind::Google => Box::new(GoogleCalendar::new(&http, &format!("{}/google/calendar/v3", rig.base), "ya29.bogus", "primary").unwrap()),
        ProviderKind::Graph => Box::new(GraphCalendar::new(&http, &format!("{}/graph/v1.0", rig.base), "bogus", None).unwrap()),
        ProviderKind::Ews => Box::new(
            EwsCalendar::new(&http, &rig.ews_url(), EwsAuth::Basic { username: rig.alice(), password: "wrong".into() }, &rig.alice()).unwrap(),
        ),
    };
    assert!(matches!(c.validate().await, Err(ProviderError::InvalidCredentials(_))));
    let ok = rig.client(&rig.alice()).validate().await.unwrap();
    assert_eq!(ok.email.to_ascii_lowercase(), rig.alice());
}

async fn unreachable_host(kind: ProviderKind) {
    // A port nobody listens on.
    let port = { std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port() };
    let http = HttpConfig::loopback();
    let c: Box<dyn CalendarProvider> = match kind {
        ProviderKind::Google => Box::new(GoogleCalendar::new(&http, &format!("http://127.0.0.1:{port}/google/calendar/v3"), "t", "primary").unwrap()),
        ProviderKind::Graph => Box::new(GraphCalendar::new(&http, &format!("http://127.0.0.1:{port}/graph/v1.0"), "t", None).unwrap()),
        ProviderKind::Ews => Box::new(
            EwsCalendar::new(&http, &format!("http://127.0.0.1:{port}/EWS/Exchange.asmx"), EwsAuth::Basic { username: "a".into(), password: "b".into() }, "a@x").unwrap(),
        ),
    };
    assert!(matches!(c.validate().await, Err(ProviderError::Unreachable(_))));
}

// ---- EWS connection checks: impersonation, URLs, mailboxes ------------------------------------

#[tokio::test]
async fn ews_impersonation_allowed_and_denied() {
    let rig = Rig::new(ProviderKind::Ews).await;
    rig.mailbox("svc@ews.example", "UTC", true);
    rig.mailbox("intern@ews.example", "UTC", false);
    let http = rig.http();
    let svc = EwsCalendar::new(&http, &rig.ews_url(), EwsAuth::Impersonation { username: "svc@ews.example".into(), password: PASSWORD.into() }, &rig.alice()).unwrap();
    svc.validate().await.unwrap();
    // Acting for alice: the event lands in alice's calendar.
    let e = svc.create(&draft("Booked by the CRM", at(2027, 3, 2, 9, 0), 30), SendInvitations::No).await.unwrap();
    let alices = rig.client(&rig.alice()).list_window(window().from, window().to).await.unwrap();
    assert_eq!(alices.iter().map(|x| x.id.clone()).collect::<Vec<_>>(), vec![e.id]);

    let intern = EwsCalendar::new(&http, &rig.ews_url(), EwsAuth::Impersonation { username: "intern@ews.example".into(), password: PASSWORD.into() }, &rig.alice()).unwrap();
    assert!(matches!(intern.validate().await, Err(ProviderError::ImpersonationDenied(_))));
    let nobody = EwsCalendar::new(&http, &rig.ews_url(), EwsAuth::Impersonation { username: "svc@ews.example".into(), password: PASSWORD.into() }, "nobody@ews.example").unwrap();
    assert!(matches!(nobody.validate().await, Err(ProviderError::MailboxNotFound(_))));
}

#[tokio::test]
async fn ews_urls_are_checked() {
    let rig = Rig::new(ProviderKind::Ews).await;
    let basic = || EwsAuth::Basic { username: rig.alice(), password: PASSWORD.into() };
    let http = rig.http();
    // Not an EWS path.
    let e = EwsCalendar::new(&http, &format!("{}/owa/", rig.base), basic(), &rig.alice()).err().expect("refused");
    assert!(matches!(e, ProviderError::NotEwsEndpoint(_)), "{e:?}");
    // http to a non-loopback host, or http when not allowed at all.
    let e = EwsCalendar::new(&http, "http://mail.example.com/EWS/Exchange.asmx", basic(), &rig.alice()).err().expect("refused");
    assert!(matches!(e, ProviderError::InvalidUrl(_)), "{e:?}");
    let e = EwsCalendar::new(&HttpConfig::default(), &rig.ews_url(), basic(), &rig.alice()).err().expect("refused");
    assert!(matches!(e, ProviderError::InvalidUrl(_)), "{e:?}");
    // The right path on a server that is not Exchange (the emulator's Google side answers 404).
    let c = EwsCalendar::new(&http, &format!("{}/google/EWS/Exchange.asmx", rig.base), basic(), &rig.alice()).unwrap();
    assert!(matches!(c.validate().await, Err(ProviderError::NotEwsEndpoint(_))));
    // TLS to a plain-HTTP port fails as TLS, not as "unreachable".
    let tls = EwsCalendar::new(&HttpConfig::default(), &rig.ews_url().replace("http://", "https://"), basic(), &rig.alice()).unwrap();
    assert!(matches!(tls.validate().await, Err(ProviderError::Tls(_))));
}

#[tokio::test]
async fn ews_redirects_to_another_host_are_not_followed() {
    // An "Exchange server" that sends clients elsewhere (an SSRF attempt into the internal
    // network, here: another port that counts the requests it gets).
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    let target = axum::Router::new().fallback(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async { "internal secrets" }
    });
    let target_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target_url = format!("http://localhost:{}/EWS/Exchange.asmx", target_listener.local_addr().unwrap().port());
    tokio::spawn(async move { axum::serve(target_listener, target).await });
    let redirecting = axum::Router::new().fallback(move || {
        let to = target_url.clone();
        async move { (axum::http::StatusCode::TEMPORARY_REDIRECT, [("location", to)]) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}/EWS/Exchange.asmx", listener.local_addr().unwrap().port());
    tokio::spawn(async move { axum::serve(listener, redirecting).await });

    let c = EwsCalendar::new(&HttpConfig::loopback(), &url, EwsAuth::Basic { username: "a@x".into(), password: "p".into() }, "a@x").unwrap();
    let err = c.validate().await.unwrap_err();
    assert!(matches!(err, ProviderError::InvalidUrl(_)), "{err:?}");
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0, "the other host was never asked");
}

// ---- OAuth (Google and Microsoft identity) ---------------------------------------------------

/// Plays the mailbox owner on the emulator's consent page: returns the redirect's query.
async fn consent(page_url: &str, email: &str, password: &str, decision: &str) -> std::collections::HashMap<String, String> {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = http.get(page_url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Allow") && html.contains("Deny"), "a consent page");
    let url = url::Url::parse(page_url).unwrap();
    let mut form: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    form.push(("email".into(), email.into()));
    form.push(("password".into(), password.into()));
    form.push(("decision".into(), decision.into()));
    let action = format!("{}://{}{}", url.scheme(), url.host_str().unwrap().to_owned() + &format!(":{}", url.port().unwrap()), url.path());
    let resp = http.post(action).form(&form).send().await.unwrap();
    assert!(resp.status().is_redirection(), "consent redirects back: {}", resp.status());
    let location = resp.headers()["location"].to_str().unwrap();
    url::Url::parse(location).unwrap().query_pairs().into_owned().collect()
}

async fn oauth_round_trip(kind: ProviderKind) {
    use providers::oauth::{self, OAuthConfig};
    let rig = Rig::new(kind).await;
    let redirect = "http://127.0.0.1:9/oauth/callback";
    let cfg = match kind {
        ProviderKind::Google => OAuthConfig::google(&format!("{}/google/o/oauth2/v2/auth", rig.base), &format!("{}/google/token", rig.base), "crm-client", None, redirect),
        _ => OAuthConfig::microsoft(&format!("{}/microsoft", rig.base), "common", "crm-client", None, redirect),
    };
    let http = HttpConfig::loopback();

    // Denied: the callback gets access_denied and the state.
    let start = oauth::authorize(&cfg).unwrap();
    let back = consent(&start.url, &rig.alice(), PASSWORD, "deny").await;
    assert_eq!(back["error"], "access_denied");
    assert_eq!(back["state"], start.state);

    // Allowed: code + state; a wrong PKCE verifier is refused, and the code is then spent.
    let start = oauth::authorize(&cfg).unwrap();
    let back = consent(&start.url, &rig.alice(), PASSWORD, "allow").await;
    assert_eq!(back["state"], start.state);
    let wrong = oauth::exchange_code(&cfg, &http, &back["code"], "not-the-verifier-not-the-verifier-not-the-verifier").await;
    assert!(matches!(wrong, Err(ProviderError::ReauthorizationRequired(_))), "{wrong:?}");
    let start = oauth::authorize(&cfg).unwrap();
    let back = consent(&start.url, &rig.alice(), PASSWORD, "allow").await;
    let tokens = oauth::exchange_code(&cfg, &http, &back["code"], &start.pkce_verifier).await.unwrap();
    assert!(tokens.expires_at.is_some());
    let again = oauth::exchange_code(&cfg, &http, &back["code"], &start.pkce_verifier).await;
    assert!(again.is_err(), "codes are single-use");

    // The token works against the calendar API; refreshing gives a working one too.
    let client = |token: &str| -> Box<dyn CalendarProvider> {
        let h = HttpConfig::loopback();
        match kind {
            ProviderKind::Google => Box::new(GoogleCalendar::new(&h, &format!("{}/google/calendar/v3", rig.base), token, "primary").unwrap()),
            _ => Box::new(GraphCalendar::new(&h, &format!("{}/graph/v1.0", rig.base), token, None).unwrap()),
        }
    };
    client(&tokens.access_token).validate().await.unwrap();
    let refresh = tokens.refresh_token.clone().expect("offline access gives a refresh token");
    let fresh = oauth::refresh(&cfg, &http, &refresh).await.unwrap();
    client(&fresh.access_token).validate().await.unwrap();
    let rotated = fresh.refresh_token.clone().unwrap();
    if kind == ProviderKind::Graph {
        assert_ne!(rotated, refresh, "Microsoft rotates refresh tokens");
        assert!(matches!(oauth::refresh(&cfg, &http, &refresh).await, Err(ProviderError::ReauthorizationRequired(_))));
    } else {
        assert_eq!(rotated, refresh, "Google keeps the refresh token");
        // Revoked: refreshing now needs the user again.
        let revoke = reqwest::Client::new().post(format!("{}/google/revoke", rig.base)).form(&[("token", refresh.as_str())]).send().await.unwrap();
        assert_eq!(revoke.status(), 200);
        assert!(matches!(oauth::refresh(&cfg, &http, &refresh).await, Err(ProviderError::ReauthorizationRequired(_))));
    }
}

#[tokio::test]
async fn google_oauth_code_pkce_refresh_revoke() {
    oauth_round_trip(ProviderKind::Google).await
}

#[tokio::test]
async fn microsoft_oauth_code_pkce_refresh_rotation() {
    oauth_round_trip(ProviderKind::Graph).await
}
