//! Range-query benchmark: "meetings of users U1..Un overlapping [from, to)" at a million
//! meetings. `make bench`; BENCH_MEETINGS sets the size, BENCH_POSTGRES_URL (or
//! TEST_POSTGRES_URL) adds a PostgreSQL run in a throw-away database, BENCH_ONLY=sqlite|postgres
//! runs one of the two.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use domain::Role;
use sqlx::{Any, Connection};
use std::time::{Duration, Instant};
use store::{NewUser, Store};

const USERS: usize = 200;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Loaded by `store::testing::bulk_meetings` (one statement per table on either backend; the
/// row-at-a-time path would take half an hour for a million on PostgreSQL), then settled as
/// autovacuum would. The measured query is the repository's.
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
    let started = Instant::now();
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    store::testing::bulk_meetings(store, &tenant.id, &ids, origin.timestamp(), total).await.unwrap();
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
