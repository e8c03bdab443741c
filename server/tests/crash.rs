//! `kill -9` of the server in the middle of syncs, again and again, loses nothing and
//! duplicates nothing (issue 4): the real `crmcal` binary, its SQLite database, and the
//! provider emulator in this test process (it outlives the killed servers, as Google would).
//! F-X-3, F-EDIT-9.

use std::process::{Child, Command};
use std::time::Duration;

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
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    Command::new(env!("CARGO_BIN_EXE_crmcal"))
        .current_dir(root)
        .env("CRMCAL_DATABASE_URL", &s.db_url)
        .env("CRMCAL_DEMO", "0")
        .env("CRMCAL_EMULATOR_ADDR", "off")
        .env("CRMCAL_ADDR", "127.0.0.1:0")
        .env("CRMCAL_SECRET_KEY", &s.key)
        .env("CRMCAL_PROVIDER_HTTP_LOOPBACK", "1")
        .env("CRMCAL_GOOGLE_API_URL", format!("http://{}/google/calendar/v3", s.emu_addr))
        .env("CRMCAL_GOOGLE_TOKEN_URL", format!("http://{}/google/token", s.emu_addr))
        .env("CRMCAL_GOOGLE_CLIENT_ID", "crmcal-test")
        .env("CRMCAL_SYNC_LEASE_SECS", "3")
        .env("LEPTOS_OUTPUT_NAME", "crmcal")
        .env("RUST_LOG", "warn")
        .env_remove("CRMCAL_PUBLIC_URL")
        .stdout(log(s))
        .stderr(log(s))
        .spawn()
        .expect("crmcal starts")
}

fn log(s: &Setup) -> std::fs::File {
    std::fs::OpenOptions::new().create(true).append(true).open(s.dir.path().join("server.log")).unwrap()
}

/// SIGKILL: no shutdown, no cleanup, transactions cut off where they are.
fn kill_9(child: &mut Child) {
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    child.wait().unwrap();
}

/// Waits (bounded: a hang fails the test, showing what the servers logged) until `cond` holds.
async fn until<F, Fut>(s: &Setup, what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while !cond().await {
        if std::time::Instant::now() > deadline {
            let log = std::fs::read_to_string(s.dir.path().join("server.log")).unwrap_or_default();
            panic!("gave up waiting for {what}; the servers said:\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
    engine.connect(&anna.tenant_id, &anna.id, ANNA, Credentials::OAuth { provider: OAuthProvider::Google, tokens }).await.unwrap();
    for n in 0..CRM_MEETINGS {
        let start = Utc::now().date_naive().and_hms_opt(6, 0, 0).unwrap().and_utc() + TimeDelta::days(2 + n as i64);
        let input = MeetingInput {
            subject: format!("Booked in the CRM {n}"),
            location: String::new(),
            description: String::new(),
            start,
            end: start + TimeDelta::hours(1),
            all_day: false,
            time_zone: "Europe/Copenhagen".into(),
            private: false,
            attendees: vec![CUSTOMER.into()],
        };
        engine.create_meeting(&anna.tenant_id, &anna, &input, true).await.unwrap();
    }
    (setup, store, anna.tenant_id)
}

fn engine(s: &Setup, store: &Store) -> Engine {
    let endpoints = crmcal::config::ProviderEndpoints::default().or_emulator(s.emu_addr).for_sync("http://127.0.0.1:1");
    let conns = Connections::new(store.clone(), Keyring::from_base64(&s.key, &[]).unwrap(), HttpConfig::loopback(), endpoints);
    Engine::new(store.clone(), conns, SyncConfig::default(), std::sync::Arc::new(Silent))
}

async fn count(store: &Store, sql: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(sql).fetch_one(store.pool()).await.unwrap().get::<i64, _>(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_in_the_middle_of_syncs_loses_nothing_and_duplicates_nothing() {
    let (s, store, _tenant) = setup().await;
    let meetings_sql = "SELECT COUNT(*) FROM meeting_copies c JOIN users u ON u.id = c.user_id WHERE u.email = 'anna@nordlys.example' AND c.provider_event_id IS NOT NULL";

    // Round 1: killed as soon as the first sync has stored anything.
    let mut server = start_server(&s);
    until(&s, "the first page of the first sync", || async { count(&store, meetings_sql).await > 0 }).await;
    kill_9(&mut server);
    // Round 2: killed as soon as the first invitation has gone out.
    let mut server = start_server(&s);
    until(&s, "a CRM meeting written", || async { s.emu.with_state(|e| !e.outbox.is_empty()) }).await;
    kill_9(&mut server);
    // Round 3: killed again the moment another write lands.
    let sent = s.emu.with_state(|e| e.outbox.len());
    let mut server = start_server(&s);
    until(&s, "another write", || async { s.emu.with_state(|e| e.outbox.len()) > sent }).await;
    kill_9(&mut server);

    // Then left to finish.
    let mut server = start_server(&s);
    until(&s, "the queue to drain", || async { count(&store, "SELECT COUNT(*) FROM sync_jobs WHERE kind <> 'push'").await == 0 }).await;
    kill_9(&mut server);

    // The CRM holds Anna's calendar exactly: every provider event once, nothing else.
    let at_provider = s.emu.with_state(|e| e.calendar(ANNA).unwrap().events.len());
    assert_eq!(at_provider, EVENTS + CRM_MEETINGS, "each CRM meeting made once at the provider");
    assert_eq!(count(&store, meetings_sql).await as usize, EVENTS + CRM_MEETINGS);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM (SELECT ical_uid FROM meetings GROUP BY ical_uid HAVING COUNT(*) > 1) d").await, 0);
    // Each CRM meeting carries its CRM id at the provider, and the customer was invited to
    // each exactly once — however often the server died around the writes.
    let crm_ids: Vec<String> = s.emu.with_state(|e| e.calendar(ANNA).unwrap().events.values().filter_map(|ev| ev.private_props.get("crmId").cloned()).collect());
    assert_eq!(crm_ids.len(), CRM_MEETINGS);
    let invites = s.emu.with_state(|e| e.outbox.iter().filter(|m| m.kind == MessageKind::Invite && m.to == CUSTOMER).count());
    assert_eq!(invites, CRM_MEETINGS, "{:?}", s.emu.with_state(|e| e.outbox.clone()));
    assert_eq!(s.emu.with_state(|e| e.outbox.len()), CRM_MEETINGS, "and nothing else was mailed");
    drop(s.dir);
}
