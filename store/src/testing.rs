//! Test databases for this workspace's test suites (feature `testing`): a fresh SQLite file
//! per test, and a fresh PostgreSQL database per test when TEST_POSTGRES_URL is set (dropped
//! afterwards), so tests run in parallel without shared state.

use sqlx::{Any, Connection};
use std::future::Future;

use crate::Store;

pub struct TestDb {
    pub store: Store,
    pub name: &'static str,
    /// Where it is (to connect again, e.g. as a restarted process would).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_drop: Option<(String, String)>, // (admin url, database name)
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("test.db").display());
        TestDb { store: Store::connect(&url).await.unwrap(), name: "sqlite", url, _dir: Some(dir), pg_drop: None }
    }

    pub async fn postgres(admin_url: &str) -> TestDb {
        let url = create_postgres_database(admin_url).await;
        let db = url.rsplit('/').next().unwrap_or_default().split('?').next().unwrap_or_default().to_string();
        let store = Store::connect(&url).await.unwrap();
        TestDb { store, name: "postgres", url, _dir: None, pg_drop: Some((admin_url.to_string(), db)) }
    }

    /// Both when TEST_POSTGRES_URL is set, else SQLite only.
    pub async fn each() -> Vec<TestDb> {
        let mut out = vec![TestDb::sqlite().await];
        if let Ok(url) = std::env::var("TEST_POSTGRES_URL") {
            out.push(TestDb::postgres(&url).await);
        }
        out
    }

    pub async fn finish(self) {
        self.store.close().await;
        if let Some((admin_url, db)) = self.pg_drop {
            drop_postgres_database(&admin_url, &db).await;
        }
    }
}

/// A new, empty PostgreSQL database beside `admin_url`'s (migrated), and what drops it.
pub async fn fresh_postgres(admin_url: &str) -> (Store, (String, String)) {
    let url = create_postgres_database(admin_url).await;
    let db = url.rsplit('/').next().unwrap_or_default().split('?').next().unwrap_or_default().to_string();
    (Store::connect(&url).await.unwrap(), (admin_url.to_string(), db))
}

/// Creates an empty database beside `admin_url`'s; returns its URL.
pub async fn create_postgres_database(admin_url: &str) -> String {
    sqlx::any::install_default_drivers();
    let db = format!("crmcal_t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::AnyConnection::connect(admin_url).await.expect("connect TEST_POSTGRES_URL");
    sqlx::query::<Any>(&format!("CREATE DATABASE {db}")).execute(&mut admin).await.unwrap();
    admin.close().await.unwrap();
    with_database(admin_url, &db)
}

/// Drops a database made by [`create_postgres_database`].
pub async fn drop_postgres_database(admin_url: &str, db: &str) {
    if let Ok(mut admin) = sqlx::AnyConnection::connect(admin_url).await {
        let _ = sqlx::query::<Any>(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).execute(&mut admin).await;
    }
}

/// `postgres://u@h:p/anything?x` → `postgres://u@h:p/<db>?x`
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url.split_once('?').map(|(b, q)| (b, format!("?{q}"))).unwrap_or((url, String::new()));
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[scheme_end..].find('/').map(|i| scheme_end + i).unwrap_or(base.len());
    format!("{}/{db}{query}", &base[..host_end])
}

/// Runs the same test body against SQLite and, when TEST_POSTGRES_URL is set, PostgreSQL.
pub async fn on_each_backend<F, Fut>(body: F)
where
    F: Fn(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let sqlite = TestDb::sqlite().await;
    body(sqlite.store.clone()).await;
    sqlite.finish().await;
    if let Ok(url) = std::env::var("TEST_POSTGRES_URL") {
        let pg = TestDb::postgres(&url).await;
        body(pg.store.clone()).await;
        pg.finish().await;
    } else {
        eprintln!("TEST_POSTGRES_URL not set: PostgreSQL run skipped");
    }
}
