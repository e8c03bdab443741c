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

/// Benchmarks' data: `total` meetings for `user_ids` (each in one calendar), spread over five
/// years from `origin` (unix seconds) on quarter hours, 30–120 minutes long, one in 200
/// lasting two weeks, one in 20 private. Loaded by one SQL statement per table on either
/// backend (a recursive series on SQLite, `generate_series` on PostgreSQL), then analysed:
/// a million rows take seconds instead of the minutes the row-at-a-time path needs.
pub async fn bulk_meetings(store: &Store, tenant_id: &str, user_ids: &[String], origin: i64, total: usize) -> crate::Result<()> {
    const SPAN: i64 = 5 * 365 * 24 * 3600;
    // Pseudo-random but deterministic (multiplicative hashes of the row number): the same data
    // on every run and backend, and safe from SQLite flattening the subquery, which would draw
    // a `random()` afresh at each mention (an end before its start).
    let series = match store.backend() {
        crate::Backend::Sqlite => "WITH RECURSIVE series(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM series WHERE g < $4) SELECT g FROM series",
        crate::Backend::Postgres => "SELECT g FROM generate_series(1, $4::bigint) g",
    };
    let flag = |cond: &str| match store.backend() {
        crate::Backend::Sqlite => format!("CASE WHEN {cond} THEN 1 ELSE 0 END"),
        crate::Backend::Postgres => format!("({cond})"),
    };
    let sql = format!(
        "INSERT INTO meetings (id, tenant_id, subject, location, start_at, end_at, time_zone, is_private, organiser_user_id, created_at, updated_at) \
         SELECT 'bench-' || g, $1, 'Meeting ' || g, 'Room ' || (r3 % 40), st, st + dur, 'Europe/Copenhagen', {private}, NULL, 0, 0 FROM ( \
           SELECT g, r3, $2 + (r1 % ($3 / 900)) * 900 AS st, \
                  CASE WHEN r2 % 200 = 0 THEN 1209600 ELSE (30 + (r2 % 4) * 30) * 60 END AS dur \
           FROM (SELECT g, (g * 2654435761) % 4294967291 AS r1, (g * 2246822519) % 4294967279 AS r2, (g * 3266489917) % 4294967231 AS r3 \
                 FROM ({series}) s0) s) t",
        private = flag("r3 % 20 = 0")
    );
    sqlx::query::<Any>(&sql).bind(tenant_id).bind(origin).bind(SPAN).bind(total as i64).execute(store.pool()).await?;
    // One copy each, in the calendar of user number (g mod users).
    let mut tx = store.pool().begin().await?;
    sqlx::query::<Any>("CREATE TEMPORARY TABLE bench_users (k BIGINT PRIMARY KEY, id TEXT NOT NULL)").execute(&mut *tx).await?;
    for (k, id) in user_ids.iter().enumerate() {
        sqlx::query::<Any>("INSERT INTO bench_users (k, id) VALUES ($1, $2)").bind(k as i64).bind(id).execute(&mut *tx).await?;
    }
    let number = match store.backend() {
        crate::Backend::Sqlite => "CAST(substr(m.id, 7) AS INTEGER)",
        crate::Backend::Postgres => "CAST(substr(m.id, 7) AS BIGINT)",
    };
    sqlx::query::<Any>(&format!(
        "INSERT INTO meeting_copies (id, tenant_id, meeting_id, user_id, start_at, end_at, long_span) \
         SELECT 'copy-' || m.id, m.tenant_id, m.id, u.id, m.start_at, m.end_at, {long} \
         FROM meetings m JOIN bench_users u ON u.k = {number} % $2 WHERE m.tenant_id = $1 AND m.id LIKE 'bench-%'",
        long = flag(&format!("(m.end_at - m.start_at) > {}", crate::LONG_SPAN_SECS)),
    ))
    .bind(tenant_id)
    .bind(user_ids.len() as i64)
    .execute(&mut *tx)
    .await?;
    sqlx::query::<Any>("DROP TABLE bench_users").execute(&mut *tx).await?;
    tx.commit().await?;
    settle(store).await
}

/// After a bulk load, what autovacuum would do before long: statistics for the planner, and on
/// PostgreSQL the visibility map too (without it an index-only scan reads each row's heap page
/// to check it is visible, which is what the covering calendar indexes exist to avoid).
pub async fn settle(store: &Store) -> crate::Result<()> {
    let sql = match store.backend() {
        crate::Backend::Sqlite => "ANALYZE",
        crate::Backend::Postgres => "VACUUM (ANALYZE)",
    };
    sqlx::query::<Any>(sql).execute(store.pool()).await?;
    Ok(())
}

/// `organisations` organisations and `persons` persons spread over them, with names drawn
/// deterministically from Danish, Swedish and German first and last names (æ/ø/å and all),
/// indexed for search as the store indexes them (benchmarks: F-EDIT-1 at 100,000 persons).
pub async fn bulk_persons(store: &Store, tenant_id: &str, organisations: usize, persons: usize) -> crate::Result<()> {
    const FIRST: &[&str] = &["Anna", "Søren", "Ida", "Mads", "Birgitte", "Jens", "Åse", "Lars", "Mette", "Ærling", "Sofia", "Erik", "Lena", "Jonas", "Kirsten", "Bjørn", "Freja", "Oskar", "Maja", "Henrik"];
    const LAST: &[&str] = &["Hansen", "Ågård", "Østergaard", "Lund", "Krog", "Holm", "Nielsen", "Jørgensen", "Ek", "Nyberg", "Vogel", "Weber", "Bæk", "Sørensen", "Møller", "Dahl", "Berg", "Kjær", "Lindqvist", "Schäfer"];
    const KIND: &[&str] = &["Logistics", "Foods", "Energy", "Shipping", "Consulting", "Retail", "Bygg", "Fisk", "Søfart", "Tømrer"];
    use crate::search::{index_words, person_text, Kind};
    let mix = |i: usize, k: u64| ((i as u64 + 1).wrapping_mul(k) % 4_294_967_291) as usize;
    let orgs: Vec<(String, String, String)> = (0..organisations)
        .map(|i| {
            let name = format!("{} {} {}", LAST[mix(i, 2_654_435_761) % LAST.len()], KIND[mix(i, 2_246_822_519) % KIND.len()], i);
            (format!("bench-org-{i}"), name, format!("org{i}.example"))
        })
        .collect();
    let people: Vec<(String, &str, String, String, &str)> = (0..persons)
        .map(|i| {
            let (org, org_name, domain) = &orgs[mix(i, 3_266_489_917) % orgs.len().max(1)];
            let name = format!("{} {}", FIRST[mix(i, 2_654_435_761) % FIRST.len()], LAST[mix(i, 2_246_822_519) % LAST.len()]);
            (format!("bench-person-{i}"), org.as_str(), name, format!("p{i}@{domain}"), org_name.as_str())
        })
        .collect();
    // Many rows per statement (a row at a time takes a quarter of an hour on PostgreSQL over
    // loopback); the words exactly as the store indexes a record's.
    let mut words: Vec<(&str, &str, String)> = Vec::new();
    for (id, name, domain) in &orgs {
        words.extend(index_words(&format!("{name} {domain}")).into_iter().map(|w| (Kind::Organisation.as_str(), id.as_str(), w)));
    }
    for (id, _, name, email, org_name) in &people {
        words.extend(index_words(&person_text(name, email, org_name)).into_iter().map(|w| (Kind::Person.as_str(), id.as_str(), w)));
    }
    let mut tx = store.begin().await?;
    for chunk in orgs.chunks(500) {
        let sql = format!("INSERT INTO organisations (id, tenant_id, name, domain, created_at) VALUES {}", rows(chunk.len(), 4, ", 0"));
        let mut q = sqlx::query::<Any>(&sql);
        for (id, name, domain) in chunk {
            q = q.bind(id).bind(tenant_id).bind(name).bind(domain);
        }
        q.execute(&mut *tx).await?;
    }
    for chunk in people.chunks(500) {
        let sql = format!("INSERT INTO persons (id, tenant_id, organisation_id, name, email, created_at) VALUES {}", rows(chunk.len(), 5, ", 0"));
        let mut q = sqlx::query::<Any>(&sql);
        for (id, org, name, email, _) in chunk {
            q = q.bind(id).bind(tenant_id).bind(*org).bind(name).bind(email);
        }
        q.execute(&mut *tx).await?;
    }
    for chunk in words.chunks(1_000) {
        let sql = format!("INSERT INTO search_words (tenant_id, kind, record_id, word) VALUES {} ON CONFLICT DO NOTHING", rows(chunk.len(), 4, ""));
        let mut q = sqlx::query::<Any>(&sql);
        for (kind, id, word) in chunk {
            q = q.bind(tenant_id).bind(*kind).bind(*id).bind(word);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    settle(store).await
}

/// `n` rows of `per_row` placeholders each (numbered on), each row ending in `tail`.
fn rows(n: usize, per_row: usize, tail: &str) -> String {
    (0..n).map(|r| format!("({}{tail})", crate::placeholders(1 + r * per_row, per_row))).collect::<Vec<_>>().join(", ")
}
