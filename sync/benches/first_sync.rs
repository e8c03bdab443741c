//! First sync of a 10,000-event calendar from the emulator (issue 4's performance figures):
//! events per second, peak memory, provider calls per synced change — per provider, on SQLite
//! (and PostgreSQL with BENCH_POSTGRES_URL). `make bench` runs it; BENCH_EVENTS changes the size.

use std::time::Instant;

use chrono::{Duration, Utc};
use emulator::model::{Fields, Mailbox, NewEvent, Provider, Send, Sensitivity, ShowAs, When};
use emulator::{Config, Emulator};
use providers::http::HttpConfig;
use providers::oauth::TokenSet;
use store::{NewUser, Store};
use sync::connections::{Connections, Credentials, Endpoints, OAuthProvider};
use sync::queue::Worker;
use sync::secrets::{generate_key, Keyring};
use sync::{Engine, Silent, SyncConfig};

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

async fn run(provider: Provider, events: usize, db_url: &str) {
    let emu = Emulator::new(Config { token_lifetime: chrono::Duration::hours(4), ..Config::default() });
    let addr = emu.clone().spawn("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let email = format!("bench@{}.example", provider.as_str());
    emu.with_state(|s| {
        s.add_mailbox(Mailbox { email: email.clone(), display_name: "Bench".into(), provider, password: Some("pw".into()), time_zone: "Europe/Copenhagen".into(), can_impersonate: false, uid: String::new() }).unwrap();
        let first = Utc::now().date_naive().and_hms_opt(6, 0, 0).unwrap().and_utc() - Duration::days(60);
        for i in 0..events {
            // 10 a day, spread over the sync window (60 days back, 300 ahead).
            let start = first + Duration::hours((i % 10) as i64) + Duration::days((i / 10) as i64 % 360);
            let fields = Fields {
                subject: format!("Meeting {i}"),
                body: "Agenda: pricing, delivery, next steps.".into(),
                location: "Harbour office".into(),
                start: When::At(start),
                end: When::At(start + Duration::minutes(45)),
                time_zone: "Europe/Copenhagen".into(),
                sensitivity: Sensitivity::Normal,
                show_as: ShowAs::Busy,
                attendees: vec![],
            };
            s.create_event(&email, NewEvent { id: None, ical_uid: None, fields, recurrence: vec![], private_props: Default::default(), shared_props: Default::default() }, Send::None).unwrap();
        }
    });
    let store = Store::connect(db_url).await.unwrap();
    let tenant = store.create_tenant("Bench").await.unwrap().id;
    store.set_calendar_integration(&tenant, true, &domain::audit::Actor::operator(), chrono::Utc::now()).await.unwrap();
    let user = store
        .create_user(&tenant, NewUser { email: &email, display_name: "Bench", password_hash: "x", role: domain::Role::User, time_zone: "Europe/Copenhagen", week_start: 0 })
        .await
        .unwrap();
    let base = format!("http://{addr}");
    let endpoints = Endpoints { google_api: format!("{base}/google/calendar/v3"), graph_api: format!("{base}/graph/v1.0"), google_oauth: None, microsoft_oauth: None };
    let conns = Connections::new(store.clone(), Keyring::from_base64(&generate_key(), &[]).unwrap(), HttpConfig::loopback(), endpoints);
    let engine = Engine::new(store.clone(), conns, SyncConfig::default(), std::sync::Arc::new(Silent));
    let creds = match provider {
        Provider::Ews => Credentials::EwsBasic { url: format!("{base}/ews/EWS/Exchange.asmx"), username: email.clone(), password: "pw".into() },
        p => {
            let t = emu.with_state(|s| s.issue_tokens(&email, p, Duration::hours(4))).unwrap();
            let tokens = TokenSet { access_token: t.access_token, refresh_token: None, expires_at: None };
            Credentials::OAuth { provider: if p == Provider::Google { OAuthProvider::Google } else { OAuthProvider::Graph }, tokens }
        }
    };
    let conn = engine.connect(&tenant, &user.id, &email, creds, &domain::audit::Actor::operator()).await.unwrap();
    engine.synchronise(&conn).await.unwrap();
    let worker = Worker { store: store.clone(), name: "bench".into(), lease: std::time::Duration::from_secs(600), batch: 1 };
    let started = Instant::now();
    while worker.run_once(|job| engine.run(job)).await.unwrap() > 0 {}
    let secs = started.elapsed().as_secs_f64();
    let stored = store.meeting_count(&tenant).await.unwrap();
    let runs = store.runs_since(Utc::now() - Duration::hours(1)).await.unwrap();
    let calls: i64 = runs.iter().map(|r| r.provider_calls).sum();
    let changes: i64 = runs.iter().map(|r| r.changes).sum();
    assert_eq!(stored as usize, events, "every event synced");
    println!(
        "{:<6} {:<8} {events:>6} events  {secs:>6.2} s  {:>7.0} events/s  {} provider calls ({:.4} per synced change)  peak RSS {:.0} MiB",
        provider.as_str(),
        if db_url.starts_with("sqlite") { "sqlite" } else { "postgres" },
        events as f64 / secs,
        calls,
        calls as f64 / changes.max(1) as f64,
        peak_rss_mib()
    );
    store.close().await;
}

/// Each run in a process of its own, so the peak memory is that run's. (The emulator, holding
/// the whole calendar and building its answers, lives in the same process and is counted.)
#[tokio::main]
async fn main() {
    let events: usize = std::env::var("BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    if let Ok(one) = std::env::var("BENCH_ONE") {
        let (provider, db) = one.split_once(' ').expect("BENCH_ONE=<provider> <database url>");
        let provider = match provider {
            "google" => Provider::Google,
            "graph" => Provider::Graph,
            _ => Provider::Ews,
        };
        return run(provider, events, db).await;
    }
    let only = std::env::var("BENCH_PROVIDER").ok();
    let me = std::env::current_exe().unwrap();
    for provider in ["google", "graph", "ews"] {
        if only.as_deref().is_some_and(|o| o != provider) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let mut dbs = vec![(format!("sqlite:{}", dir.path().join("bench.db").display()), None)];
        if let Ok(pg) = std::env::var("BENCH_POSTGRES_URL") {
            let url = store::testing::create_postgres_database(&pg).await;
            dbs.push((url, Some(pg)));
        }
        for (db, admin) in dbs {
            let status = std::process::Command::new(&me).env("BENCH_ONE", format!("{provider} {db}")).status().unwrap();
            assert!(status.success());
            if let Some(admin) = admin {
                store::testing::drop_postgres_database(&admin, db.rsplit('/').next().unwrap()).await;
            }
        }
    }
}
