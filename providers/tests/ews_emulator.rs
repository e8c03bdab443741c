//! EWS-specific behaviour against the EWS emulator, beyond the cross-provider contract suite:
//! series changes (SyncFolderItems reports masters, the client turns them into
//! `SeriesReplaced`), the CalendarView cut-off on a busy calendar, the change feed over
//! several SyncFolderItems pages (small page size), bearer tokens.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use emulator::model::{Fields, Mailbox, NewEvent, Provider, Send, Sensitivity, ShowAs, When};
use emulator::{Config, Emulator};
use providers::ews::{EwsAuth, EwsCalendar};
use providers::http::HttpConfig;
use providers::*;

const PASSWORD: &str = "pw-123456";
const ALICE: &str = "alice@ews.example";

async fn rig() -> (Emulator, String) {
    let emu = Emulator::new(Config::default());
    let addr = emu.clone().spawn("127.0.0.1:0".parse().unwrap()).await.expect("emulator binds");
    let mb = Mailbox {
        email: ALICE.into(),
        display_name: "Alice".into(),
        provider: Provider::Ews,
        password: Some(PASSWORD.into()),
        time_zone: "Europe/Copenhagen".into(),
        can_impersonate: false,
        uid: String::new(),
    };
    emu.with_state(|s| s.add_mailbox(mb)).expect("mailbox added");
    (emu, format!("http://{addr}/ews/EWS/Exchange.asmx"))
}

fn client(url: &str) -> EwsCalendar {
    EwsCalendar::new(
        &HttpConfig::loopback(),
        url,
        EwsAuth::Basic { username: ALICE.into(), password: PASSWORD.into() },
        ALICE,
    )
    .unwrap()
}

fn at(d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, d, h, min, 0).unwrap()
}

fn window() -> Window {
    Window { from: at(1, 0, 0), to: at(29, 0, 0) }
}

fn draft(subject: &str, start: DateTime<Utc>) -> EventDraft {
    EventDraft::new(subject, EventTime::At(start), EventTime::At(start + chrono::Duration::minutes(30)), "Europe/Copenhagen")
}

async fn drain(c: &EwsCalendar, cursor: Option<String>) -> (Vec<Change>, String) {
    let mut all = Vec::new();
    let mut cursor = cursor;
    loop {
        let page = c.changes(cursor.as_deref(), window()).await.unwrap();
        all.extend(page.changes);
        cursor = Some(page.cursor);
        if !page.more {
            return (all, cursor.unwrap());
        }
    }
}

#[tokio::test]
async fn series_changes_come_as_replaced_occurrences() {
    let (_emu, url) = rig().await;
    let c = client(&url);
    let mut weekly = draft("Weekly review", at(3, 13, 0));
    weekly.recurrence = Some("FREQ=WEEKLY;COUNT=3".into());
    weekly.crm_id = Some("S-1".into());
    let master = c.create(&weekly, SendInvitations::No).await.unwrap();
    assert_eq!(master.kind, EventKind::SeriesMaster);
    assert_eq!(master.recurrence.as_deref(), Some("FREQ=WEEKLY;BYDAY=WE;COUNT=3"));

    // First round: the series as its occurrences in the window.
    let (first, cursor) = drain(&c, None).await;
    match &first[..] {
        [Change::SeriesReplaced { series_id, occurrences }] => {
            assert_eq!(series_id, &master.id);
            assert_eq!(occurrences.len(), 3);
            assert!(occurrences.iter().all(|o| o.series_id.as_deref() == Some(master.id.as_str())));
        }
        other => panic!("{other:#?}"),
    }

    // One occurrence moved: the series is reported again, with the exception in it.
    let listed = c.list_window(window().from, window().to).await.unwrap();
    let second = listed.iter().find(|e| e.original_start == Some(at(10, 13, 0))).expect("second occurrence");
    c.update(&second.id, second.etag.as_deref(), &draft("Moved", at(11, 15, 0)), SendInvitations::No).await.unwrap();
    let (next, cursor) = drain(&c, Some(cursor)).await;
    match &next[..] {
        [Change::SeriesReplaced { occurrences, .. }] => {
            assert_eq!(occurrences.len(), 3);
            let moved = occurrences.iter().find(|o| o.kind == EventKind::Exception).expect("an exception");
            assert_eq!((moved.subject.as_str(), moved.original_start), ("Moved", Some(at(10, 13, 0))));
        }
        other => panic!("{other:#?}"),
    }
    // An occurrence update without a CRM id keeps the series' id.
    assert_eq!(c.find_by_crm_id("S-1").await.unwrap().map(|e| e.id), Some(master.id.clone()));
    assert_eq!(c.get(&second.id).await.unwrap().series_id.as_deref(), Some(master.id.as_str()));

    // The whole series deleted: one deletion of the master.
    c.delete(&master.id, None, SendInvitations::No).await.unwrap();
    let (last, _) = drain(&c, Some(cursor)).await;
    assert!(matches!(&last[..], [Change::Deleted { id, .. }] if *id == master.id), "{last:#?}");
    assert_eq!(c.delete(&master.id, None, SendInvitations::No).await.unwrap_err(), ProviderError::NotFound);
    assert_eq!(c.get(&master.id).await.unwrap_err(), ProviderError::NotFound);
}

#[tokio::test]
async fn a_busy_calendar_is_listed_whole_across_view_cut_offs() {
    let (emu, url) = rig().await;
    // More items than one CalendarView returns, several starting at the same instant.
    emu.with_state(|s| {
        for i in 0..600u32 {
            let start = at(1 + i / 24, 6 + (i % 24) / 2, 0);
            let fields = Fields {
                subject: format!("E{i}"),
                body: String::new(),
                location: String::new(),
                start: When::At(start),
                end: When::At(start + chrono::Duration::minutes(45)),
                time_zone: "UTC".into(),
                sensitivity: Sensitivity::Normal,
                show_as: ShowAs::Busy,
                attendees: vec![],
            };
            let new = NewEvent { id: None, ical_uid: None, fields, recurrence: vec![], private_props: BTreeMap::new(), shared_props: BTreeMap::new() };
            s.create_event(ALICE, new, Send::None).expect("event stored");
        }
    });
    let listed = client(&url).list_window(window().from, window().to).await.unwrap();
    assert_eq!(listed.len(), 600);
    let mut subjects: Vec<&str> = listed.iter().map(|e| e.subject.as_str()).collect();
    subjects.sort_unstable();
    subjects.dedup();
    assert_eq!(subjects.len(), 600, "each event once");
}

#[tokio::test]
async fn bearer_tokens_work_and_bad_ones_are_refused() {
    let (emu, url) = rig().await;
    let token = emu.with_state(|s| s.issue_tokens(ALICE, Provider::Ews, chrono::Duration::hours(1))).unwrap().access_token;
    let c = EwsCalendar::new(&HttpConfig::loopback(), &url, EwsAuth::Bearer { token }, ALICE).unwrap();
    let info = c.validate().await.unwrap();
    assert_eq!((info.email.as_str(), info.display_name.as_deref()), (ALICE, Some("Alice")));
    let bad = EwsCalendar::new(&HttpConfig::loopback(), &url, EwsAuth::Bearer { token: "nope".into() }, ALICE).unwrap();
    assert!(matches!(bad.validate().await, Err(ProviderError::InvalidCredentials(_))));
}

/// One round of changes as a sync engine drives it; also how many pages it took.
async fn round(c: &EwsCalendar, cursor: Option<String>) -> (Vec<Change>, String, usize) {
    let mut all = Vec::new();
    let mut cursor = cursor;
    let mut pages = 0;
    loop {
        let page = c.changes(cursor.as_deref(), window()).await.unwrap();
        pages += 1;
        all.extend(page.changes);
        cursor = Some(page.cursor);
        if !page.more {
            return (all, cursor.unwrap(), pages);
        }
    }
}

/// Applies changes to a mirror (id → subject) as the sync engine would.
fn apply(mirror: &mut BTreeMap<String, String>, changes: &[Change]) {
    for c in changes {
        match c {
            Change::Upserted(e) => {
                mirror.insert(e.id.clone(), e.subject.clone());
            }
            Change::Deleted { id, .. } => {
                mirror.remove(id);
            }
            other => panic!("no series here: {other:#?}"),
        }
    }
}

/// Ids of upserts and deletions, each sorted; panics on an id reported twice.
fn ids_once(changes: &[Change]) -> (Vec<String>, Vec<String>) {
    let (mut up, mut del) = (Vec::new(), Vec::new());
    for c in changes {
        match c {
            Change::Upserted(e) => up.push(e.id.clone()),
            Change::Deleted { id, .. } => del.push(id.clone()),
            other => panic!("no series here: {other:#?}"),
        }
    }
    up.sort();
    del.sort();
    let mut all: Vec<&String> = up.iter().chain(&del).collect();
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "an id reported twice in one round: {changes:#?}");
    (up, del)
}

async fn server_view(c: &EwsCalendar) -> BTreeMap<String, String> {
    c.list_window(window().from, window().to).await.unwrap().into_iter().map(|e| (e.id, e.subject)).collect()
}

#[tokio::test]
async fn the_change_feed_pages_with_a_small_page_size() {
    let (_emu, url) = rig().await;
    let writer = client(&url);
    let sync = client(&url).with_sync_page_size(2);
    let mut ids = Vec::new();
    for (i, day) in [2, 4, 6, 8, 10].into_iter().enumerate() {
        ids.push(writer.create(&draft(&format!("E{i}"), at(day, 9, 0)), SendInvitations::No).await.unwrap().id);
        if i == 1 {
            // Outside the window, and on the round's second page: the first round (over the
            // window) leaves it out on every page, not just the first.
            writer.create(&draft("April", at(29, 9, 0) + chrono::Duration::days(10)), SendInvitations::No).await.unwrap();
        }
    }

    // First round: six items, three pages, the five in the window each once.
    let (first, cursor, pages) = round(&sync, None).await;
    assert_eq!(pages, 3);
    let (up, del) = ids_once(&first);
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!((up, del), (expected, vec![]));
    let mut mirror = BTreeMap::new();
    apply(&mut mirror, &first);
    assert_eq!(mirror, server_view(&writer).await);

    // Incremental round: two updates, a deletion, a creation; two pages.
    for id in &ids[0..2] {
        writer.update(id, None, &draft("Updated", at(12, 9, 0)), SendInvitations::No).await.unwrap();
    }
    writer.delete(&ids[2], None, SendInvitations::No).await.unwrap();
    let new = writer.create(&draft("New", at(14, 9, 0)), SendInvitations::No).await.unwrap().id;
    let (next, cursor, pages) = round(&sync, Some(cursor)).await;
    assert_eq!(pages, 2);
    let mut expected = vec![ids[0].clone(), ids[1].clone(), new.clone()];
    expected.sort();
    assert_eq!(ids_once(&next), (expected, vec![ids[2].clone()]));
    apply(&mut mirror, &next);
    assert_eq!(mirror, server_view(&writer).await);

    // A change made while a round is paging is not lost: it comes in this round's later
    // pages or in the next round.
    for id in &ids[3..5] {
        writer.update(id, None, &draft("Again", at(16, 9, 0)), SendInvitations::No).await.unwrap();
    }
    writer.create(&draft("Newer", at(18, 9, 0)), SendInvitations::No).await.unwrap();
    let page = sync.changes(Some(&cursor), window()).await.unwrap();
    assert!(page.more, "three changes need two pages");
    apply(&mut mirror, &page.changes);
    writer.update(&ids[0], None, &draft("Changed mid-round", at(20, 9, 0)), SendInvitations::No).await.unwrap();
    let (rest, cursor, _) = round(&sync, Some(page.cursor)).await;
    apply(&mut mirror, &rest);
    let (after, _, _) = round(&sync, Some(cursor)).await;
    apply(&mut mirror, &after);
    assert_eq!(mirror.get(&ids[0]).map(String::as_str), Some("Changed mid-round"));
    assert_eq!(mirror, server_view(&writer).await);
}
