//! `kill -9` of the server in the middle of syncs, again and again, loses nothing and
//! duplicates nothing (issue 4): the real `crmcal` binary, its SQLite database, and the
//! provider emulator in this test process (it outlives the killed servers, as Google would).
//! F-X-3, F-EDIT-9.

mod common;

use std::process::Child;

use chrono::{Duration as TimeDelta, Utc};
use emulator::model::{Fields as EmuFields, Mailbox, MessageKind, NewEvent, Provider, Send, Sensitivity, ShowAs, When};
use emulator::{Config, Emulator};
use providers::http::HttpConfig;
use store::Store;
use sync::connections::{Connections, Credentials, OAuthProvider};
use sync::secrets::{generate_key, Keyring};
use sync::{Engine, MeetingInput, Silent, SyncConfig};

const ANNA: &str = "anna@nordlys.example";
const CUSTOMER: &str = "buyer@fjord.example";
const EVENTS: usize = 3000;
const CRM_MEETINGS: usize = 20;

struct Setup {
    dir: tempfile::TempDir,
    db_url: String,
    key: String,
    emu: Emulator,
    emu_addr: std::net::SocketAddr,
}

fn start_server(s: &Setup) -> Child {
    let emu = s.emu_addr;
    common::spawn_crmcal(
        &[
            ("CRMCAL_DATABASE_URL", s.db_url.clone()),
            ("CRMCAL_ADDR", "127.0.0.1:0".into()),
            ("CRMCAL_SECRET_KEY", s.key.clone()),
            ("CRMCAL_GOOGLE_API_URL", format!("http://{emu}/google/calendar/v3")),
            ("CRMCAL_GOOGLE_TOKEN_URL", format!("http://{emu}/google/token")),
            ("CRMCAL_GOOGLE_CLIENT_ID", "crmcal-test".into()),
            ("CRMCAL_SYNC_LEASE_SECS", "3".into()),
        ],
        &s.dir.path().join("server.log"),
    )
}

/// SIGKILL: no shutdown, no cleanup, transactions cut off where they are.
fn kill_9(child: &mut Child) {
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    child.wait().unwrap();
}

async fn setup() -> (Setup, Store, String) {
    let emu = Emulator::new(Config::default());
    let emu_addr = emu.clone().spawn("127.0.0.1:0".parse().unwrap()).await.unwrap();
    // Anna's Google calendar: 3,000 meetings over the coming months.
    emu.with_state(|s| {
        s.add_mailbox(Mailbox {
            email: ANNA.into(),
            display_name: "Anna".into(),
            provider: Provider::Google,
            password: None,
            time_zone: "Europe/Copenhagen".into(),
            can_impersonate: false,
            uid: String::new(),
        })
        .unwrap();
        let first = Utc::now().date_naive().and_hms_opt(7, 0, 0).unwrap().and_utc() + TimeDelta::days(1);
        for i in 0..EVENTS {
            let start = first + TimeDelta::hours((i % 10) as i64) + TimeDelta::days((i / 10) as i64 % 200);
            let fields = EmuFields {
                subject: format!("Customer call {i}"),
                body: String::new(),
                location: String::new(),
                start: When::At(start),
                end: When::At(start + TimeDelta::minutes(30)),
                time_zone: "Europe/Copenhagen".into(),
                sensitivity: Sensitivity::Normal,
                show_as: ShowAs::Busy,
                attendees: vec![],
            };
            let new = NewEvent { id: None, ical_uid: None, fields, recurrence: vec![], private_props: Default::default(), shared_props: Default::default() };
            s.create_event(ANNA, new, Send::None).unwrap();
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite:{}", dir.path().join("crm.db").display());
    let store = crmcal::open_store(&db_url).await.unwrap();
    crmcal::demo::seed(&store, Utc::now()).await.unwrap();
    let key = generate_key();
    let setup = Setup { dir, db_url, key, emu, emu_addr };
    // Anna connects (as through the UI) and books 20 meetings with a customer, "Save and
    // send": all of it queued, nothing done yet.
    let engine = engine(&setup, &store);
    let (anna, _) = store.user_for_sign_in(ANNA).await.unwrap().unwrap();
    let t = setup.emu.with_state(|s| s.issue_tokens(ANNA, Provider::Google, chrono::Duration::hours(2))).unwrap();
    let tokens = providers::oauth::TokenSet { access_token: t.access_token, refresh_token: Some(t.refresh_token), expires_at: Some(Utc::now() + TimeDelta::hours(2)) };
    let conn = engine.connect(&anna.tenant_id, &anna.id, ANNA, Credentials::OAuth { provider: OAuthProvider::Google, tokens }, &domain::audit::Actor::operator()).await.unwrap();
    engine.synchronise(&conn).await.unwrap();
    for n in 0..CRM_MEETINGS {
        let start = Utc::now().date_naive().and_hms_opt(6, 0, 0).unwrap().and_utc() + TimeDelta::days(2 + n as i64);
        let input = MeetingInput {
            subject: format!("Booked in the CRM {n}"),
            location: String::new(),
            description: String::new(),
            keep_html_description: false,
            start,
            end: start + TimeDelta::hours(1),
            all_day: false,
            time_zone: "Europe/Copenhagen".into(),
            private: false,
            attendees: vec![CUSTOMER.into()],
            organisations: Vec::new(),
        };
        engine.create_meeting(&anna.tenant_id, &anna, &anna, &input, true).await.unwrap();
    }
    (setup, store, anna.tenant_id)
}

fn engine(s: &Setup, store: &Store) -> Engine {
    let endpoints = crmcal::config::ProviderEndpoints::default().or_emulator(s.emu_addr).for_sync("http://127.0.0.1:1");
    let conns = Connections::new(store.clone(), Keyring::from_base64(&s.key, &[]).unwrap(), HttpConfig::loopback(), endpoints);
    Engine::new(store.clone(), conns, SyncConfig::default(), std::sync::Arc::new(Silent))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_in_the_middle_of_syncs_loses_nothing_and_duplicates_nothing() {
    let (s, store, _tenant) = setup().await;
    let log = s.dir.path().join("server.log");
    let meetings_sql = "SELECT COUNT(*) FROM meeting_copies c JOIN users u ON u.id = c.user_id WHERE u.email = 'anna@nordlys.example' AND c.provider_event_id IS NOT NULL";

    // Round 1: killed as soon as the first sync has stored anything.
    let mut server = start_server(&s);
    common::until("the first page of the first sync", &log, || async { common::count(&store, meetings_sql).await > 0 }).await;
    kill_9(&mut server);
    // Round 2: killed as soon as the first invitation has gone out.
    let mut server = start_server(&s);
    common::until("a CRM meeting written", &log, || async { s.emu.with_state(|e| !e.outbox.is_empty()) }).await;
    kill_9(&mut server);
    // Round 3: killed again the moment another write lands.
    let sent = s.emu.with_state(|e| e.outbox.len());
    let mut server = start_server(&s);
    common::until("another write", &log, || async { s.emu.with_state(|e| e.outbox.len()) > sent }).await;
    kill_9(&mut server);

    // Then left to finish.
    let mut server = start_server(&s);
    common::until("the queue to drain", &log, || async { common::count(&store, "SELECT COUNT(*) FROM sync_jobs WHERE kind <> 'push'").await == 0 }).await;
    kill_9(&mut server);

    // The CRM holds Anna's calendar exactly: every provider event once, nothing else.
    let at_provider = s.emu.with_state(|e| e.calendar(ANNA).unwrap().events.len());
    assert_eq!(at_provider, EVENTS + CRM_MEETINGS, "each CRM meeting made once at the provider");
    assert_eq!(common::count(&store, meetings_sql).await as usize, EVENTS + CRM_MEETINGS);
    assert_eq!(common::count(&store, "SELECT COUNT(*) FROM (SELECT ical_uid FROM meetings WHERE ical_uid IS NOT NULL GROUP BY ical_uid HAVING COUNT(*) > 1) d").await, 0);
    // Each CRM meeting carries its CRM id at the provider, and the customer was invited to
    // each exactly once — however often the server died around the writes.
    let crm_ids: Vec<String> = s.emu.with_state(|e| e.calendar(ANNA).unwrap().events.values().filter_map(|ev| ev.private_props.get("crmId").cloned()).collect());
    assert_eq!(crm_ids.len(), CRM_MEETINGS);
    let invites = s.emu.with_state(|e| e.outbox.iter().filter(|m| m.kind == MessageKind::Invite && m.to == CUSTOMER).count());
    assert_eq!(invites, CRM_MEETINGS, "{:?}", s.emu.with_state(|e| e.outbox.clone()));
    assert_eq!(s.emu.with_state(|e| e.outbox.len()), CRM_MEETINGS, "and nothing else was mailed");
    drop(s.dir);
}
