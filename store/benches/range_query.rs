//! Range-query benchmark: "meetings of users U1..Un overlapping [from, to)" at a million
//! meetings. `make bench`; BENCH_MEETINGS sets the size, BENCH_POSTGRES_URL (or
//! TEST_POSTGRES_URL) adds a PostgreSQL run in a throw-away database, BENCH_ONLY=sqlite|postgres
//! runs one of the two.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use domain::Role;
use sqlx::{Any, Connection};
use std::time::{Duration, Instant};
use store::{NewMeeting, NewUser, Store};

const USERS: usize = 200;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// SQLite loads through the repository (`insert_meetings`); PostgreSQL in one `generate_series`
/// statement (the row-at-a-time path runs at ~700 rows/s over loopback and would take half an
/// hour), then settled as autovacuum would (`store::testing::settle`). The measured query is
/// the repository's in both cases.
async fn run(store: &Store, label: &str, total: usize) {
    let tenant = store.create_tenant("Bench").await.unwrap();
    let mut users = Vec::new();
    for i in 0..USERS {
        let email = format!("u{i}@bench.example");
        let u = NewUser { email: &email, display_name: &email, password_hash: "x", role: Role::User, time_zone: "UTC", week_start: 0 };
        users.push(store.create_user(&tenant.id, u).await.unwrap());
    }
    // Meetings spread over five years, 30–120 minutes long, one in 200 lasting two weeks.
    let origin: DateTime<Utc> = Utc.with_ymd_and_hms(2023, 1, 1, 8, 0, 0).unwrap();
    let span_secs: i64 = 5 * 365 * 24 * 3600;
    let mut rng: u64 = 0x9E3779B97F4A7C15;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let started = Instant::now();
    if store.backend() == store::Backend::Postgres {
        bulk_load_postgres(store, &tenant.id, origin.timestamp(), span_secs, total).await;
    }
    let chunk = 10_000;
    let mut done = if store.backend() == store::Backend::Postgres { total } else { 0 };
    while done < total {
        let batch: Vec<NewMeeting> = (0..chunk.min(total - done))
            .map(|_| {
                let start = origin + TimeDelta::seconds((next() % span_secs as u64) as i64 / 900 * 900);
                let minutes = if next() % 200 == 0 { 14 * 24 * 60 } else { 30 + (next() % 4) as i64 * 30 };
                let mut m = NewMeeting::new("Bench meeting", start, start + TimeDelta::minutes(minutes), "UTC");
                m.calendar_user_ids = vec![users[(next() % USERS as u64) as usize].id.clone()];
                m
            })
            .collect();
        store.insert_meetings(&tenant.id, &batch).await.unwrap();
        done += batch.len();
    }
    let load = started.elapsed();
    println!("[{label}] loaded {total} meetings for {USERS} users in {:.1}s ({:.0}/s)", load.as_secs_f64(), total as f64 / load.as_secs_f64());

    for (what, n_users, days) in [("1 user, 1 week", 1usize, 7i64), ("5 users, 1 month", 5, 35), ("20 users, 1 week", 20, 7)] {
        let mut times = Vec::new();
        let mut rows = 0;
        for i in 0..200 {
            let ids: Vec<String> = (0..n_users).map(|k| users[(i * 7 + k) % USERS].id.clone()).collect();
            let from = origin + TimeDelta::days(200 + (i as i64 * 3) % 1400);
            let t = Instant::now();
            let entries = store.calendar_entries(&tenant.id, &ids[0], &ids, from, from + TimeDelta::days(days)).await.unwrap();
            times.push(t.elapsed());
            rows += entries.len();
        }
        times.sort();
        println!(
            "[{label}] {what}: median {:.2} ms, p95 {:.2} ms ({:.1} meetings per query)",
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.95).as_secs_f64() * 1e3,
            rows as f64 / times.len() as f64
        );
    }
}

async fn bulk_load_postgres(store: &Store, tenant: &str, origin: i64, span_secs: i64, total: usize) {
    sqlx::query::<Any>(
        "INSERT INTO meetings (id, tenant_id, subject, start_at, end_at, time_zone, created_at, updated_at) \
         SELECT 'bench-' || g, $1, 'Bench meeting', st, st + dur, 'UTC', 0, 0 FROM ( \
           SELECT g, $2::bigint + floor(random() * ($3::bigint / 900))::bigint * 900 AS st, \
                  CASE WHEN random() < 0.005 THEN 1209600 ELSE (30 + floor(random() * 4)::bigint * 30) * 60 END AS dur \
           FROM generate_series(1, $4::bigint) g) s",
    )
    .bind(tenant)
    .bind(origin)
    .bind(span_secs)
    .bind(total as i64)
    .execute(store.pool())
    .await
    .unwrap();
    sqlx::query::<Any>(
        "INSERT INTO meeting_copies (id, tenant_id, meeting_id, user_id, start_at, end_at, long_span) \
         SELECT 'copy-' || m.id, m.tenant_id, m.id, u.id, m.start_at, m.end_at, (m.end_at - m.start_at) > $2 \
         FROM meetings m JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM users WHERE tenant_id = $1) u \
           ON u.k = abs(hashtext(m.id)) % $3 WHERE m.tenant_id = $1",
    )
    .bind(tenant)
    .bind(store::LONG_SPAN_SECS)
    .bind(USERS as i64)
    .execute(store.pool())
    .await
    .unwrap();
    store::testing::settle(store).await.unwrap();
}

#[tokio::main]
async fn main() {
    let total: usize = std::env::var("BENCH_MEETINGS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    sqlx::any::install_default_drivers();
    let only = std::env::var("BENCH_ONLY").unwrap_or_default(); // "sqlite" | "postgres" | both
    if only != "postgres" {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = Store::connect(&format!("sqlite:{}", dir.path().join("bench.db").display())).await.unwrap();
        run(&sqlite, "sqlite", total).await;
        sqlite.close().await;
    }
    if only == "sqlite" {
        return;
    }

    let Ok(url) = std::env::var("BENCH_POSTGRES_URL").or_else(|_| std::env::var("TEST_POSTGRES_URL")) else {
        println!("[postgres] skipped: set BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres");
        return;
    };
    let db = format!("crmcal_bench_{}", std::process::id());
    let mut admin = sqlx::AnyConnection::connect(&url).await.unwrap();
    sqlx::query::<Any>(&format!("CREATE DATABASE {db}")).execute(&mut admin).await.unwrap();
    let base = url.rsplit_once('/').map(|(b, _)| b).unwrap_or(&url);
    let pg = Store::connect(&format!("{base}/{db}")).await.unwrap();
    run(&pg, "postgres", total).await;
    pg.close().await;
    sqlx::query::<Any>(&format!("DROP DATABASE {db} WITH (FORCE)")).execute(&mut admin).await.unwrap();
}
