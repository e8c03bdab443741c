//! The sync engine's test rig: an emulator on a loopback port, a fresh database, CRM users
//! Alice and Bob whose calendars are mailboxes of the same provider, connected through the
//! same code as the UI, and helpers to act "from the phone" (the provider API with the owner's
//! credentials) and to run the queue until it is empty.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use emulator::model::{Fault, FaultKind, Mailbox, MessageKind, Provider};
use emulator::{Config, Emulator};
use providers::ews::{EwsAuth, EwsCalendar};
use providers::google::GoogleCalendar;
use providers::graph::GraphCalendar;
use providers::http::HttpConfig;
use providers::oauth::{OAuthConfig, TokenSet};
use providers::{CalendarProvider, ProviderKind};
use store::testing::TestDb;
use store::{NewUser, Store, User};
use sync::connections::{Connections, Credentials, Endpoints, OAuthProvider};
use sync::queue::Worker;
use sync::secrets::{generate_key, Keyring};
use sync::{Engine, Live, LiveEvent, SyncConfig};

pub const PASSWORD: &str = "correct horse battery";

/// Collects what the engine announces.
#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<LiveEvent>>);
impl Live for Recorder {
    fn publish(&self, e: LiveEvent) {
        self.0.lock().unwrap().push(e);
    }
}

pub struct Rig {
    pub kind: ProviderKind,
    pub emu: Emulator,
    pub base: String,
    pub db: TestDb,
    pub store: Store,
    pub engine: Engine,
    pub tenant: String,
    pub users: BTreeMap<&'static str, User>,
    pub live: Arc<Recorder>,
    pub keyring: Keyring,
    http: HttpConfig,
    endpoints: Endpoints,
}

pub fn provider(kind: ProviderKind) -> Provider {
    match kind {
        ProviderKind::Google => Provider::Google,
        ProviderKind::Graph => Provider::Graph,
        ProviderKind::Ews => Provider::Ews,
    }
}

/// A Tuesday far enough ahead to be inside every sync window, with no DST change near.
pub fn day() -> DateTime<Utc> {
    let now = Utc::now() + Duration::days(20);
    Utc.from_utc_datetime(&now.date_naive().and_hms_opt(0, 0, 0).unwrap())
}

pub fn at(hours: i64) -> DateTime<Utc> {
    day() + Duration::hours(hours)
}

impl Rig {
    /// Users `alice` and `bob` on `kind`, both connected; on SQLite, or PostgreSQL via `db`.
    pub async fn with_db(kind: ProviderKind, db: TestDb) -> Rig {
        Rig::build(kind, db, HttpConfig::loopback()).await
    }

    /// With the engine's HTTP limits set (e.g. a short timeout).
    pub async fn build(kind: ProviderKind, db: TestDb, http: HttpConfig) -> Rig {
        let emu = Emulator::new(Config::default());
        let addr = emu.clone().spawn("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let base = format!("http://{addr}");
        let store = db.store.clone();
        let tenant = store.create_tenant("Acme").await.unwrap().id;
        store.set_calendar_integration(&tenant, true, &domain::audit::Actor::operator(), chrono::Utc::now()).await.unwrap();
        let mut users = BTreeMap::new();
        for name in ["alice", "bob"] {
            let email = format!("{name}@{}.example", kind.as_str());
            emu.with_state(|s| {
                s.add_mailbox(Mailbox {
                    email: email.clone(),
                    display_name: name.into(),
                    provider: provider(kind),
                    password: Some(PASSWORD.into()),
                    time_zone: "Europe/Copenhagen".into(),
                    can_impersonate: false,
                    uid: String::new(),
                })
            })
            .unwrap();
            let u = store
                .create_user(&tenant, NewUser { email: &email, display_name: name, password_hash: "x", role: domain::Role::User, time_zone: "Europe/Copenhagen", week_start: 0 })
                .await
                .unwrap();
            users.insert(name, u);
        }
        let endpoints = Endpoints {
            google_api: format!("{base}/google/calendar/v3"),
            graph_api: format!("{base}/graph/v1.0"),
            google_oauth: Some(OAuthConfig::google(&format!("{base}/google/o/oauth2/v2/auth"), &format!("{base}/google/token"), "crm", None, "http://127.0.0.1/cb")),
            microsoft_oauth: Some(OAuthConfig::microsoft(&format!("{base}/microsoft"), "common", "crm", None, "http://127.0.0.1/cb")),
        };
        let keyring = Keyring::from_base64(&generate_key(), &[]).unwrap();
        let conns = Connections::new(store.clone(), keyring.clone(), http.clone(), endpoints.clone());
        let live = Arc::new(Recorder::default());
        let engine = Engine::new(store.clone(), conns, SyncConfig::default(), live.clone());
        let rig = Rig { kind, emu, base, db, store, engine, tenant, users, live, keyring, http, endpoints };
        for name in ["alice", "bob"] {
            rig.connect(name).await;
        }
        rig
    }

    /// On SQLite; on PostgreSQL instead when TEST_ENGINE_POSTGRES is set beside
    /// TEST_POSTGRES_URL (the whole suite on the other backend).
    pub async fn new(kind: ProviderKind) -> Rig {
        let db = match (std::env::var("TEST_POSTGRES_URL"), std::env::var("TEST_ENGINE_POSTGRES")) {
            (Ok(url), Ok(_)) => TestDb::postgres(&url).await,
            _ => TestDb::sqlite().await,
        };
        Rig::with_db(kind, db).await
    }

    /// The CRM process dies and starts again: its database connections are gone (and with
    /// them any transaction or lock they held); a new engine works from what was committed.
    pub async fn restart(&mut self) {
        self.store.close().await;
        self.store = Store::connect(&self.db.url).await.unwrap();
        self.db.store = self.store.clone();
        let conns = Connections::new(self.store.clone(), self.keyring.clone(), self.http.clone(), self.endpoints.clone());
        self.engine = Engine::new(self.store.clone(), conns, SyncConfig::default(), self.live.clone());
    }

    pub async fn finish(self) {
        self.db.finish().await;
    }

    pub fn user(&self, name: &str) -> &User {
        &self.users[name]
    }

    pub fn email(&self, name: &str) -> String {
        self.users[name].email.clone()
    }

    pub async fn connect(&self, name: &str) {
        let email = self.email(name);
        let creds = match self.kind {
            ProviderKind::Ews => Credentials::EwsBasic { url: format!("{}/ews/EWS/Exchange.asmx", self.base), username: email.clone(), password: PASSWORD.into() },
            k => {
                let t = self.emu.with_state(|s| s.issue_tokens(&email, provider(k), Duration::hours(1))).unwrap();
                let tokens = TokenSet { access_token: t.access_token, refresh_token: Some(t.refresh_token), expires_at: Some(Utc::now() + Duration::seconds(t.expires_in)) };
                Credentials::OAuth { provider: if k == ProviderKind::Google { OAuthProvider::Google } else { OAuthProvider::Graph }, tokens }
            }
        };
        let u = self.user(name);
        let (conn, _) = self.engine.connections().add(&self.tenant, &u.id, &email, creds).await.unwrap();
        self.engine.connected(&conn).await.unwrap();
        self.engine.synchronise(&conn).await.unwrap();
    }

    /// The owner's own client: "the phone" (or Outlook), straight to the provider.
    pub fn phone(&self, name: &str) -> Box<dyn CalendarProvider> {
        let email = self.email(name);
        let http = HttpConfig::loopback();
        match self.kind {
            ProviderKind::Ews => Box::new(
                EwsCalendar::new(&http, &format!("{}/ews/EWS/Exchange.asmx", self.base), EwsAuth::Basic { username: email.clone(), password: PASSWORD.into() }, &email).unwrap(),
            ),
            k => {
                let token = self.emu.with_state(|s| s.issue_tokens(&email, provider(k), Duration::hours(1))).unwrap().access_token;
                if k == ProviderKind::Google {
                    Box::new(GoogleCalendar::new(&http, &format!("{}/google/calendar/v3", self.base), token, "primary").unwrap())
                } else {
                    Box::new(GraphCalendar::new(&http, &format!("{}/graph/v1.0", self.base), token, None).unwrap())
                }
            }
        }
    }

    pub fn worker(&self, name: &str) -> Worker {
        Worker { store: self.store.clone(), name: name.into(), lease: std::time::Duration::from_secs(30), batch: 4 }
    }

    /// Runs the queue until it is empty; jobs waiting out a back-off are made due at once
    /// (the back-off itself is tested on its own). Panics if it never empties.
    pub async fn drain(&self) {
        let worker = self.worker("test-worker");
        for _ in 0..200 {
            self.make_jobs_due().await;
            let ran = worker.run_once(|job| self.engine.run(job)).await.unwrap();
            if ran == 0 && self.store.job_count().await.unwrap() == 0 {
                return;
            }
        }
        panic!("the queue did not drain: {:?}", self.store.runs_since(Utc::now() - Duration::minutes(5)).await.unwrap().iter().rev().take(5).collect::<Vec<_>>());
    }

    pub async fn make_jobs_due(&self) {
        sqlx::query("UPDATE sync_jobs SET run_at = 0 WHERE lease_owner IS NULL").execute(self.store.pool()).await.unwrap();
    }

    pub async fn sync(&self, name: &str) {
        let conn = self.store.connection_of_user(&self.tenant, &self.user(name).id).await.unwrap().unwrap();
        self.engine.request_sync(&self.tenant, &conn.id, false).await.unwrap();
        self.drain().await;
    }

    /// (subject, start) of the meetings in `name`'s CRM calendar around [`day`], sorted.
    pub async fn crm(&self, name: &str) -> Vec<(String, DateTime<Utc>)> {
        let u = self.user(name);
        let mut out: Vec<_> = self
            .store
            .calendar_entries(&self.tenant, &u.id, std::slice::from_ref(&u.id), day() - Duration::days(10), day() + Duration::days(30))
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.subject, e.start))
            .collect();
        out.sort();
        out
    }

    /// The same, as the provider has it.
    pub async fn provider_view(&self, name: &str) -> Vec<(String, DateTime<Utc>)> {
        let mut out: Vec<_> = self
            .phone(name)
            .list_window(day() - Duration::days(10), day() + Duration::days(30))
            .await
            .unwrap()
            .into_iter()
            .filter(|e| !e.cancelled)
            .map(|e| {
                let start = match e.start {
                    providers::EventTime::At(t) => t,
                    providers::EventTime::Date(d) => d.and_hms_opt(0, 0, 0).unwrap().and_utc(),
                };
                (e.subject, start)
            })
            .collect();
        out.sort();
        out
    }

    pub fn outbox(&self) -> Vec<(MessageKind, String)> {
        let mut out: Vec<_> = self.emu.with_state(|s| s.outbox.iter().map(|m| (m.kind, m.to.clone())).collect());
        out.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        out
    }

    pub fn clear_outbox(&self) {
        self.emu.with_state(|s| s.outbox.clear());
    }

    pub fn fault(&self, kind: FaultKind, count: u32) {
        self.emu.with_state(|s| s.faults.push(Fault { provider: provider(self.kind), kind, remaining: count, only: None }));
    }

    pub async fn meetings(&self) -> i64 {
        self.store.meeting_count(&self.tenant).await.unwrap()
    }
}

/// Runs a test body once per provider.
#[macro_export]
macro_rules! per_provider {
    ($($name:ident),* $(,)?) => {
        mod google { $( #[tokio::test] async fn $name() { super::$name(providers::ProviderKind::Google).await } )* }
        mod graph { $( #[tokio::test] async fn $name() { super::$name(providers::ProviderKind::Graph).await } )* }
        mod ews { $( #[tokio::test] async fn $name() { super::$name(providers::ProviderKind::Ews).await } )* }
    };
}
