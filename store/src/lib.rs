//! Persistence for CRM Calendar: repositories over SQLite (embedded default) and PostgreSQL.
//!
//! One code path serves both backends through `sqlx::Any`: every query is written once, in the
//! SQL both understand (`$n` placeholders, TEXT ids, BIGINT unix seconds, BOOLEAN flags), and
//! each backend has its own migration folder. Every method that reads or writes tenant data
//! takes the tenant id, which callers take from the signed-in session, never from request input.

mod admin;
mod auth;
mod connections;
mod crm;
mod jobs;
mod meetings;
mod notify;
mod search;
mod sync;
mod tenants;
#[cfg(feature = "testing")]
pub mod testing;

pub use auth::{SessionLookup, SESSION_LIFETIME_SECS};
pub use connections::{Connection, NewConnection, OAuthFlow};
pub use jobs::{Job, JobKind, JobRun, NewJob};
pub use notify::{Listener, MAX_NOTICE_BYTES};
pub use crm::{NewPerson, Organisation, Person};
pub use search::{Found, Kind as SearchKind};
pub use meetings::{CalendarEntry, LONG_SPAN_SECS};
pub use sync::{AttendeeData, Copy, CopyUpdate, LinkedAttendee, MeetingData, OrganisationLink, SyncMeeting, SyncTx};
pub use tenants::{NewUser, Tenant, User, UserName, UserSettings};

use chrono::{DateTime, TimeZone, Utc};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::AnyPool;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("already exists: {0}")]
    Conflict(String),
    /// The record changed since it was read (optimistic concurrency): read it again.
    #[error("changed meanwhile; read it again")]
    Stale,
    #[error("unsupported database URL (use sqlite:… or postgres://…)")]
    UnsupportedUrl,
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Db(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(d.message().to_string()),
            _ => StoreError::Db(e),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database: a connection pool and which backend it talks to.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// PostgreSQL's URL, for LISTEN connections (notify.rs).
    url: Option<std::sync::Arc<str>>,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

impl Store {
    /// Connects and brings the schema up to date. SQLite files are created when missing
    /// (`sqlite:data/crmcal.db`); PostgreSQL databases must exist.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.trim_start_matches("//");
            let sep = if path.contains('?') { '&' } else { '?' };
            let url = if path.contains("mode=") { format!("sqlite://{path}") } else { format!("sqlite://{path}{sep}mode=rwc") };
            (Backend::Sqlite, url)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_string())
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        let max = match backend {
            // SQLite has one writer; a few connections serve concurrent readers (WAL).
            Backend::Sqlite => 8,
            Backend::Postgres => 16,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            // An embedded SQLite connection cannot drop like a network one: pinging it before
            // every use only adds a round trip to its worker thread (a third of a query's cost
            // on the calendar page's profile).
            .test_before_acquire(backend == Backend::Postgres)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        use sqlx::Executor;
                        // WAL lets readers run beside the writer; foreign keys on per connection.
                        // Reads through a memory map (shared by all connections, no read() copy
                        // per page) and a larger page cache: at a million meetings the calendar
                        // page's profile spent a fifth of its time re-reading evicted pages.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL; \
                             PRAGMA mmap_size = 268435456; PRAGMA cache_size = -8192",
                        )
                        .await?;
                    } else {
                        use sqlx::Executor;
                        // The CRM's reads are short index ranges with a LIMIT: parallel workers
                        // cost more CPU than they save and keep scanning after enough rows are
                        // found (the type-ahead's two-word search: 56 ms with them, 13 without).
                        conn.execute("SET max_parallel_workers_per_gather = 0").await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&pool).await?;
        let url = (backend == Backend::Postgres).then(|| std::sync::Arc::from(url.as_str()));
        let store = Store { pool, backend, url };
        store.index_unindexed().await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`): a
    /// transaction that reads first and writes later could otherwise fail with "database is
    /// locked" when another writer got in between (busy_timeout cannot help a lock upgrade).
    pub(crate) async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// One round trip to the database (readiness probes).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A new record id (UUID v7: unique, and ordered by creation time).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

pub(crate) fn secs(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

pub(crate) fn time(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or(DateTime::<Utc>::MIN_UTC)
}

pub(crate) fn time_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// An UPDATE or DELETE that matched no row (in this tenant) is NotFound.
pub(crate) fn found(done: sqlx::any::AnyQueryResult) -> Result<()> {
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Reads a BOOLEAN column the same way on both backends (SQLite hands back 0/1 integers).
pub(crate) fn flag(row: &AnyRow, col: &str) -> Result<bool> {
    use sqlx::Row;
    match row.try_get::<bool, _>(col) {
        Ok(b) => Ok(b),
        Err(_) => Ok(row.try_get::<i64, _>(col)? != 0),
    }
}

/// A query whose rows come back as one JSON array in one row: `SELECT <array of arrays of
/// cols> FROM (inner)`. sqlx's SQLite driver hands each row across threads (a wake-up per row)
/// and copies each value twice, which costs more than the query itself at a few hundred rows
/// (page benchmark profiles); the calendar page's multi-row queries use this. Decode with
/// [`json_rows`] into a struct whose fields are in the order of `cols`. Row order is not kept:
/// sort after decoding.
pub(crate) fn json_rows_sql(backend: Backend, cols: &str, inner: &str) -> String {
    match backend {
        Backend::Sqlite => format!("SELECT json_group_array(json_array({cols})) AS json_rows FROM ({inner}) e"),
        Backend::Postgres => format!("SELECT CAST(COALESCE(json_agg(json_build_array({cols})), CAST('[]' AS json)) AS TEXT) AS json_rows FROM ({inner}) e"),
    }
}

/// The rows of a [`json_rows_sql`] query (serde reads a struct from an array by field order).
pub(crate) fn json_rows<T: serde::de::DeserializeOwned>(row: &AnyRow) -> Result<Vec<T>> {
    use sqlx::Row;
    let json: String = row.try_get("json_rows")?;
    serde_json::from_str(&json).map_err(|e| StoreError::Db(sqlx::Error::Decode(Box::new(e))))
}

/// `$from, $from+1, …` placeholders for an IN list.
pub(crate) fn placeholders(from: usize, count: usize) -> String {
    (from..from + count).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}
