//! Several `crmcal` processes on one PostgreSQL database (issue 4, design "scale-out"): two
//! processes share the sync jobs — no job ever runs in both at once — and a third, serving pages
//! only, hears about their syncs through LISTEN/NOTIFY and tells its open pages live.
//! Needs TEST_POSTGRES_URL (`.ci/run` sets it). F-X-2, F-X-3.

use std::collections::BTreeMap;
mod common;

use std::process::Child;
use std::time::Duration;

use chrono::{Duration as TimeDelta, Utc};
use emulator::model::{Fields, Mailbox, MessageKind, NewEvent, Provider, Send, Sensitivity, ShowAs, When};
use emulator::{Config, Emulator};
use futures_util::StreamExt;
use providers::http::HttpConfig;
use sync::connections::{Connections, Credentials, OAuthProvider};
use sync::secrets::{generate_key, Keyring};
use sync::{Engine, MeetingInput, Silent, SyncConfig};

const USERS: [&str; 3] = ["anna@nordlys.example", "ben@nordlys.example", "carla@nordlys.example"];
const EVENTS_EACH: usize = 300;
const MEETINGS_EACH: usize = 10;
const CUSTOMER: &str = "buyer@fjord.example";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Proc {
    child: Child,
    base: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(db_url: &str, key: &str, emu: std::net::SocketAddr, workers: usize, log: &std::path::Path) -> Proc {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let child = common::spawn_crmcal(
        &[
            ("CRMCAL_DATABASE_URL", db_url.into()),
            ("CRMCAL_ADDR", format!("127.0.0.1:{port}")),
            ("CRMCAL_PUBLIC_URL", base.clone()),
            ("CRMCAL_SECRET_KEY", key.into()),
            ("CRMCAL_GOOGLE_API_URL", format!("http://{emu}/google/calendar/v3")),
            ("CRMCAL_GOOGLE_TOKEN_URL", format!("http://{emu}/google/token")),
            ("CRMCAL_GOOGLE_CLIENT_ID", "crmcal-test".into()),
            ("CRMCAL_SYNC_WORKERS", workers.to_string()),
        ],
        log,
    );
    Proc { child, base }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_the_jobs_and_a_third_sees_their_syncs_live() {
    let Ok(admin) = std::env::var("TEST_POSTGRES_URL") else {
        eprintln!("TEST_POSTGRES_URL not set: the multi-process PostgreSQL test is skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("servers.log");
    let db_url = store::testing::create_postgres_database(&admin).await;
    let emu = Emulator::new(Config::default());
    let emu_addr = emu.clone().spawn("127.0.0.1:0".parse().unwrap()).await.unwrap();
    emu.with_state(|s| {
        for email in USERS {
            s.add_mailbox(Mailbox { email: email.into(), display_name: email.into(), provider: Provider::Google, password: None, time_zone: "Europe/Copenhagen".into(), can_impersonate: false, uid: String::new() })
                .unwrap();
            let first = Utc::now().date_naive().and_hms_opt(7, 0, 0).unwrap().and_utc() + TimeDelta::days(1);
            for i in 0..EVENTS_EACH {
                let start = first + TimeDelta::hours((i % 8) as i64) + TimeDelta::days((i / 8) as i64);
                let fields = Fields {
                    subject: format!("{email} call {i}"),
                    body: String::new(),
                    location: String::new(),
                    start: When::At(start),
                    end: When::At(start + TimeDelta::minutes(30)),
                    time_zone: "Europe/Copenhagen".into(),
                    sensitivity: Sensitivity::Normal,
                    show_as: ShowAs::Busy,
                    attendees: vec![],
                };
                s.create_event(email, NewEvent { id: None, ical_uid: None, fields, recurrence: vec![], private_props: Default::default(), shared_props: Default::default() }, Send::None).unwrap();
            }
        }
    });
    let store = crmcal::open_store(&db_url).await.unwrap();
    crmcal::demo::seed(&store, Utc::now()).await.unwrap();
    let key = generate_key();
    let endpoints = crmcal::config::ProviderEndpoints::default().or_emulator(emu_addr).for_sync("http://127.0.0.1:1");
    let conns = Connections::new(store.clone(), Keyring::from_base64(&key, &[]).unwrap(), HttpConfig::loopback(), endpoints);
    let engine = Engine::new(store.clone(), conns, SyncConfig::default(), std::sync::Arc::new(Silent));
    let mut users = BTreeMap::new();
    for email in USERS {
        let (u, _) = store.user_for_sign_in(email).await.unwrap().unwrap();
        let t = emu.with_state(|s| s.issue_tokens(email, Provider::Google, chrono::Duration::hours(2))).unwrap();
        let tokens = providers::oauth::TokenSet { access_token: t.access_token, refresh_token: Some(t.refresh_token), expires_at: Some(Utc::now() + TimeDelta::hours(2)) };
        let conn = engine.connect(&u.tenant_id, &u.id, email, Credentials::OAuth { provider: OAuthProvider::Google, tokens }, &domain::audit::Actor::operator()).await.unwrap();
        engine.synchronise(&conn).await.unwrap();
        users.insert(email, u);
    }

    // Two worker processes and one that only serves pages.
    let a = start(&db_url, &key, emu_addr, 4, &log);
    let b = start(&db_url, &key, emu_addr, 4, &log);
    let web = start(&db_url, &key, emu_addr, 0, &log);
    common::until("the first syncs", &log, || async {
        common::count(&store, "SELECT COUNT(*) FROM calendar_connections WHERE last_synced_at IS NOT NULL").await == USERS.len() as i64
            && common::count(&store, "SELECT COUNT(*) FROM sync_jobs WHERE kind <> 'push'").await == 0
    })
    .await;
    // Thirty meetings booked with a customer, "Save and send".
    let started = Utc::now() - TimeDelta::seconds(1);
    for (i, email) in USERS.iter().cycle().take(USERS.len() * MEETINGS_EACH).enumerate() {
        let u = &users[email];
        let start = Utc::now().date_naive().and_hms_opt(5, 0, 0).unwrap().and_utc() + TimeDelta::days(60 + i as i64);
        let input = MeetingInput {
            subject: format!("Quote review {i}"),
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
        engine.create_meeting(&u.tenant_id, u, u, &input, true).await.unwrap();
    }
    common::until("the writes", &log, || async { common::count(&store, "SELECT COUNT(*) FROM sync_jobs WHERE kind <> 'push'").await == 0 }).await;

    // No job ran twice at the same time; both worker processes took part.
    let runs = store.runs_since(started - TimeDelta::minutes(5)).await.unwrap();
    let mut by_job: BTreeMap<&str, Vec<&store::JobRun>> = BTreeMap::new();
    for r in &runs {
        by_job.entry(&r.job_id).or_default().push(r);
    }
    for (job, runs) in &by_job {
        for (i, x) in runs.iter().enumerate() {
            for y in &runs[i + 1..] {
                assert!(x.finished_at <= y.started_at || y.finished_at <= x.started_at, "job {job} ran twice at once: {x:?} / {y:?}");
            }
        }
    }
    let processes: std::collections::BTreeSet<&str> = runs.iter().map(|r| r.worker.split('-').next().unwrap()).collect();
    assert_eq!(processes.len(), 2, "both worker processes ran jobs: {processes:?}");
    // Each meeting made once at the provider, each customer invitation sent once.
    let made: usize = emu.with_state(|s| USERS.iter().map(|e| s.calendar(e).unwrap().events.values().filter(|ev| ev.private_props.contains_key("crmId")).count()).sum());
    assert_eq!(made, USERS.len() * MEETINGS_EACH);
    let invites = emu.with_state(|s| s.outbox.iter().filter(|m| m.kind == MessageKind::Invite && m.to == CUSTOMER).count());
    assert_eq!(invites, USERS.len() * MEETINGS_EACH);

    // Live across processes: Anna's page is served by the page-only process; a change on her
    // phone is synced by one of the workers, and her page hears of it.
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let login = client.post(format!("{}/api/login", web.base)).form(&[("email", USERS[0]), ("password", crmcal::demo::DEMO_PASSWORD), ("next", "")]).send().await.unwrap();
    assert!(login.status().is_success());
    let live = client.get(format!("{}/api/live", web.base)).send().await.unwrap();
    assert!(live.status().is_success());
    let mut stream = live.bytes_stream();
    let anna_id = users[USERS[0]].id.clone();
    let phone_start = Utc::now().date_naive().and_hms_opt(12, 0, 0).unwrap().and_utc() + TimeDelta::days(2);
    emu.with_state(|s| {
        let fields = Fields {
            subject: "Booked on the phone".into(),
            body: String::new(),
            location: String::new(),
            start: When::At(phone_start),
            end: When::At(phone_start + TimeDelta::minutes(30)),
            time_zone: "Europe/Copenhagen".into(),
            sensitivity: Sensitivity::Normal,
            show_as: ShowAs::Busy,
            attendees: vec![],
        };
        s.create_event(USERS[0], NewEvent { id: None, ical_uid: None, fields, recurrence: vec![], private_props: Default::default(), shared_props: Default::default() }, Send::None).unwrap();
    });
    let heard = tokio::time::timeout(Duration::from_secs(30), async {
        let mut text = String::new();
        while let Some(chunk) = stream.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            if text.split("\n\n").any(|e| e.contains("event: calendar") && e.contains(&anna_id)) {
                return text;
            }
        }
        text
    })
    .await
    .unwrap_or_else(|_| panic!("no live event in 30 s; servers said:\n{}", std::fs::read_to_string(&log).unwrap_or_default()));
    assert!(heard.contains(&anna_id));
    assert_eq!(common::count(&store, "SELECT COUNT(*) FROM meetings WHERE subject = 'Booked on the phone'").await, 1);

    drop((a, b, web));
    store.close().await;
    let db = db_url.rsplit('/').next().unwrap().to_string();
    store::testing::drop_postgres_database(&admin, &db).await;
}
