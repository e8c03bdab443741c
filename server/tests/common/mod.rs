//! What the server's suites share: a server started in this process (as `main` does), the real
//! binary started as another process, bounded waits, counting queries.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use chrono::Utc;
use leptos::prelude::LeptosOptions;

/// A server in this process on a fresh SQLite database seeded with the demo company; with
/// `demo` its emulator's calendars are connected (push on, the listen address as public URL),
/// without it the emulator only stands in for the providers' OAuth and APIs.
pub struct InProcess {
    pub base: String,
    pub store: store::Store,
    pub running: crmcal::Running,
    _dir: tempfile::TempDir,
}

pub async fn in_process(demo: bool) -> InProcess {
    let dir = tempfile::tempdir().unwrap();
    let store = crmcal::open_store(&format!("sqlite:{}", dir.path().join("t.db").display())).await.unwrap();
    crmcal::demo::seed(&store, Utc::now()).await.unwrap();
    let mut config = crmcal::config::Config::from_env().unwrap();
    config.demo = demo;
    config.addr = Some("127.0.0.1:0".parse().unwrap());
    config.emulator_addr = Some("127.0.0.1:0".parse().unwrap());
    config.secret_key_file = dir.path().join("secret.key");
    config.provider_http_loopback = true;
    config.public_url = None;
    let running = crmcal::start(&config, store.clone(), LeptosOptions::builder().output_name("crmcal").build()).await.unwrap();
    InProcess { base: format!("http://{}", running.addr), store, running, _dir: dir }
}

/// The `crmcal` binary with `env` (on top of: no demo, no embedded emulator, plain http to
/// loopback allowed), its output appended to `log`.
pub fn spawn_crmcal(env: &[(&str, String)], log: &Path) -> Child {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let out = || std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crmcal"));
    cmd.current_dir(root)
        .env("CRMCAL_DEMO", "0")
        .env("CRMCAL_EMULATOR_ADDR", "off")
        .env("CRMCAL_PROVIDER_HTTP_LOOPBACK", "1")
        .env("LEPTOS_OUTPUT_NAME", "crmcal")
        .env("RUST_LOG", "warn")
        .env_remove("CRMCAL_PUBLIC_URL")
        .stdout(out())
        .stderr(out());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("crmcal starts")
}

/// Polls `probe` every 20 ms until it yields a value; None after two minutes.
async fn poll<T, F, Fut>(mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(v) = probe().await {
            return Some(v);
        }
        if std::time::Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What `probe` yields once it yields something (bounded: a hang fails the test).
pub async fn eventually<T, F, Fut>(what: &str, probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    poll(probe).await.unwrap_or_else(|| panic!("gave up waiting for {what}"))
}

/// Waits (bounded: a hang fails the test, showing what the servers logged) until `cond` holds.
pub async fn until<F, Fut>(what: &str, log: &Path, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    if poll(|| {
        let holds = cond();
        async move { holds.await.then_some(()) }
    })
    .await
    .is_none()
    {
        panic!("gave up waiting for {what}; the servers said:\n{}", std::fs::read_to_string(log).unwrap_or_default());
    }
}

/// The one number a `SELECT COUNT(*) …` returns.
pub async fn count(store: &store::Store, sql: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(sql).fetch_one(store.pool()).await.unwrap().get::<i64, _>(0)
}

/// A client signed in as a demo user (cookies kept, redirects not followed).
pub async fn signed_in(base: &str, email: &str) -> reqwest::Client {
    let c = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = c.post(format!("{base}/api/login")).form(&[("email", email), ("password", crmcal::demo::DEMO_PASSWORD), ("next", "")]).send().await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    c
}

/// A demo user's connection once its first sync and push subscription are done.
pub async fn settled(s: &InProcess, email: &str) -> store::Connection {
    let (u, _) = s.store.user_for_sign_in(email).await.unwrap().unwrap();
    eventually(&format!("{email}'s first sync and subscription"), || async {
        let c = s.store.connection_of_user(&u.tenant_id, &u.id).await.unwrap().unwrap();
        let done = c.push_id.is_some() && c.last_synced_at.is_some() && s.store.jobs_of_connection(&u.tenant_id, &c.id).await.unwrap().is_empty();
        done.then_some(c)
    })
    .await
}
