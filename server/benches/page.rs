//! Page benchmark (`make bench`): the server-rendered calendar page — week view and schedule
//! view — with 1,000,000 meetings in the database, on SQLite and PostgreSQL, measured with a
//! real HTTP load generator on loopback (Debian's `wrk`): p50 / p99 latency and requests per
//! second. The server is the real router (guard, session lookup, Leptos rendering, the
//! calendar's server functions), in this process on two worker threads; `wrk` runs beside it
//! on the same two cores.
//!
//! Then the editor's type-ahead (F-EDIT-1): the persons search over 100,000 persons in 5,000
//! organisations, through its server function, for a short prefix, a name, two words and a
//! chosen organisation.
//!
//! BENCH_MEETINGS (default 1,000,000), BENCH_PERSONS (default 100,000), BENCH_POSTGRES_URL (or
//! TEST_POSTGRES_URL) for the PostgreSQL run, BENCH_ONLY=sqlite|postgres, BENCH_SECONDS per
//! measurement (default 10).

use std::process::Command;

use app::state::AppState;
use chrono::{TimeZone, Utc};
use domain::Role;
use leptos::prelude::LeptosOptions;
use store::{NewConnection, NewUser, Store};

const USERS: usize = 200;
const PASSWORD: &str = "bench-password";

struct Shape {
    what: &'static str,
    lanes: usize,
    query: &'static str,
}

const SHAPES: [Shape; 4] = [
    Shape { what: "week, 1 user", lanes: 1, query: "view=week" },
    Shape { what: "week, 5 users", lanes: 5, query: "view=week" },
    Shape { what: "schedule week, 5 users", lanes: 5, query: "view=schedule&span=week" },
    Shape { what: "week, 20 users", lanes: 20, query: "view=week" },
];

/// What wrk measured.
struct Run {
    p50_ms: f64,
    p99_ms: f64,
    rps: f64,
    meetings: usize,
}

fn ms(text: &str) -> f64 {
    let t = text.trim();
    let (num, unit) = t.split_at(t.find(|c: char| c.is_alphabetic()).unwrap_or(t.len()));
    let v: f64 = num.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => v / 1000.0,
        "ms" => v,
        "s" => v * 1000.0,
        _ => f64::NAN,
    }
}

fn wrk(url: &str, cookie: &str, seconds: u64) -> (f64, f64, f64) {
    wrk_with(url, cookie, seconds, None)
}

/// `wrk`, POSTing `body` as JSON when given (a server function).
fn wrk_with(url: &str, cookie: &str, seconds: u64, body: Option<&str>) -> (f64, f64, f64) {
    let script = body.map(|b| {
        let file = tempfile::Builder::new().suffix(".lua").tempfile().unwrap();
        let lua = format!("wrk.method = \"POST\"\nwrk.body = [[{b}]]\nwrk.headers[\"Content-Type\"] = \"application/json\"\n");
        std::fs::write(file.path(), lua).unwrap();
        file
    });
    let mut args: Vec<String> = ["-t2", "-c8", &format!("-d{seconds}s"), "--latency", "-H", &format!("Cookie: {cookie}")].map(String::from).to_vec();
    if let Some(f) = &script {
        args.push("-s".into());
        args.push(f.path().display().to_string());
    }
    args.push(url.to_string());
    let out = Command::new("wrk")
        .args(&args)
        .output()
        .expect("wrk (Debian package `wrk`; `make bench` installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    let pick = |label: &str| text.lines().find(|l| l.trim_start().starts_with(label)).and_then(|l| l.split_whitespace().nth(1)).map(ms).unwrap_or(f64::NAN);
    let rps = text.lines().find(|l| l.starts_with("Requests/sec:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN);
    if text.contains("Non-2xx") {
        panic!("wrk saw failed requests:\n{text}");
    }
    (pick("50%"), pick("99%"), rps)
}

/// A server function's answer to a JSON body.
async fn call(client: &reqwest::Client, url: &str, cookie: &str, body: &str) -> serde_json::Value {
    client.post(url).header("cookie", cookie).header("content-type", "application/json").body(body.to_string()).send().await.unwrap().json().await.unwrap()
}

async fn seed(store: &Store, total: usize) -> (String, Vec<String>) {
    let tenant = store.create_tenant("Bench Trading").await.unwrap();
    store.set_calendar_integration(&tenant.id, true, &domain::audit::Actor::operator(), chrono::Utc::now()).await.unwrap();
    let hash = sessions::hash_password(PASSWORD);
    let mut ids = Vec::new();
    for i in 0..USERS {
        let email = format!("user{i}@bench.example");
        let name = format!("User {i:03}");
        let u = NewUser { email: &email, display_name: &name, password_hash: &hash, role: Role::User, time_zone: "Europe/Copenhagen", week_start: 0 };
        let u = store.create_user(&tenant.id, u).await.unwrap();
        // A synchronised calendar connection, so colleagues can be shown (F-CAL-7).
        let c = NewConnection { user_id: &u.id, provider: domain::ProviderKind::Google, auth_kind: domain::AuthKind::OAuth, mailbox: &email, account: "", ews_url: "", sealed_secret: "v1.bench.sealed" };
        let c = store.create_connection(&tenant.id, c).await.unwrap();
        store.finish_sync(&tenant.id, &c.id, Utc::now(), Ok(())).await.unwrap();
        ids.push(u.id);
    }
    let origin = Utc.with_ymd_and_hms(2023, 1, 2, 7, 0, 0).unwrap().timestamp();
    store::testing::bulk_meetings(store, &tenant.id, &ids, origin, total).await.unwrap();
    (tenant.id, ids)
}

async fn run(store: Store, label: &str, total: usize, seconds: u64) -> Vec<(String, Run)> {
    let started = std::time::Instant::now();
    let (_tenant, ids) = seed(&store, total).await;
    println!("[{label}] seeded {USERS} users and {total} meetings in {:.1}s", started.elapsed().as_secs_f64());

    let hub = crmcal::live::Hub::start(&store).await.unwrap();
    let keyring = sync::secrets::Keyring::from_base64(&sync::secrets::generate_key(), &[]).unwrap();
    let conns = sync::connections::Connections::new(store.clone(), keyring, providers::http::HttpConfig::default(), Default::default());
    let engine = sync::Engine::new(store.clone(), conns, sync::SyncConfig::default(), hub.clone());
    let options = LeptosOptions::builder().output_name("crmcal").build();
    let app = crmcal::router(AppState { store: store.clone(), secure_cookies: false, sync: engine }, options, hub, crmcal::health::Exporter::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await.unwrap();
    });

    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let login = client.post(format!("{base}/api/login")).form(&[("email", "user0@bench.example"), ("password", PASSWORD), ("next", "")]).send().await.unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();

    let mut out = Vec::new();
    for shape in SHAPES {
        let users = ids[1..shape.lanes].join(",");
        let url = format!("{base}/calendar?{}&date=2025-06-11&users={users}", shape.query);
        // How many meetings the page shows (its calendar data).
        let body = serde_json::json!({
            "view": shape.query.split('&').next().unwrap().trim_start_matches("view="),
            "date": "2025-06-11",
            "users": users,
            "span": if shape.query.contains("span=week") { "week" } else { "day" },
        });
        let data = call(&client, &format!("{base}/api/calendar"), &cookie, &body.to_string()).await;
        let meetings = data["events"].as_array().map(Vec::len).unwrap_or(0);
        let page = client.get(&url).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(page.status(), 200, "{url}");
        let url2 = url.clone();
        let cookie2 = cookie.clone();
        let (p50_ms, p99_ms, rps) = tokio::task::spawn_blocking(move || wrk(&url2, &cookie2, seconds)).await.unwrap();
        println!("[{label}] {}: p50 {p50_ms:.2} ms, p99 {p99_ms:.2} ms, {rps:.0} requests/s ({meetings} meetings shown)", shape.what);
        out.push((shape.what.to_string(), Run { p50_ms, p99_ms, rps, meetings }));
    }
    // The editor's type-ahead over 100,000 persons (F-EDIT-1).
    let persons: usize = std::env::var("BENCH_PERSONS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let started = std::time::Instant::now();
    store::testing::bulk_persons(&store, &_tenant, persons / 20, persons).await.unwrap();
    println!("[{label}] seeded {persons} persons in {} organisations in {:.1}s", persons / 20, started.elapsed().as_secs_f64());
    let search = format!("{base}/api/people-search");
    let org = call(&client, &search, &cookie, &serde_json::json!({ "kind": "Organisations", "query": "hansen", "organisations": [] }).to_string()).await;
    let chosen = org[0]["id"].as_str().unwrap_or_default().to_string();
    for (what, query, orgs) in [
        ("persons, one letter \"s\"", "s", vec![]),
        ("persons, \"søren\"", "søren", vec![]),
        ("persons, \"soren aga\"", "soren aga", vec![]),
        ("persons, \"m\" with an organisation chosen", "m", vec![chosen.clone()]),
    ] {
        let body = serde_json::json!({ "kind": "Persons", "query": query, "organisations": orgs }).to_string();
        let found = call(&client, &search, &cookie, &body).await;
        let shown = found.as_array().map(Vec::len).unwrap_or(0);
        assert!(shown > 0, "{what}: nothing found");
        let (url, cookie2) = (search.clone(), cookie.clone());
        let (p50_ms, p99_ms, rps) = tokio::task::spawn_blocking(move || wrk_with(&url, &cookie2, seconds, Some(&body))).await.unwrap();
        println!("[{label}] search {what} at {persons} persons: p50 {p50_ms:.2} ms, p99 {p99_ms:.2} ms, {rps:.0} requests/s ({shown} shown)");
        out.push((format!("search {what}"), Run { p50_ms, p99_ms, rps, meetings: shown }));
    }

    // The CPU cost of a page is about two cores / (requests/s) (wrk keeps the cores busy; its
    // p50 is mostly queueing), and of a shown meeting the slope of that between the smallest
    // and the largest page.
    let cpu_ms = |r: &Run| 2000.0 / r.rps;
    let (a, b) = (&out[0].1, &out[SHAPES.len() - 1].1);
    for (what, r) in &out {
        println!("[{label}] {what}: about {:.1} ms of CPU per page", cpu_ms(r));
    }
    if b.meetings > a.meetings {
        println!("[{label}] CPU per shown meeting (1 → 20 users; with the extra lanes): {:.1} µs", (cpu_ms(b) - cpu_ms(a)) * 1000.0 / (b.meetings - a.meetings) as f64);
    }
    println!("[{label}] | page | p50 | p99 | requests/s | meetings (persons) shown |");
    for (what, r) in &out {
        println!("[{label}] | {what} | {:.2} ms | {:.2} ms | {:.0} | {} |", r.p50_ms, r.p99_ms, r.rps, r.meetings);
    }
    store.close().await;
    out
}

#[tokio::main(worker_threads = 2)]
async fn main() {
    let total: usize = std::env::var("BENCH_MEETINGS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let seconds: u64 = std::env::var("BENCH_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("wrk is not installed (apt-get install wrk; `make bench` does it)");
        std::process::exit(1);
    }
    if only != "postgres" {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = crmcal::open_store(&format!("sqlite:{}", dir.path().join("bench.db").display())).await.unwrap();
        run(sqlite, "sqlite", total, seconds).await;
    }
    if only == "sqlite" {
        return;
    }
    let Ok(url) = std::env::var("BENCH_POSTGRES_URL").or_else(|_| std::env::var("TEST_POSTGRES_URL")) else {
        println!("[postgres] skipped: set BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres");
        return;
    };
    let (pg, (admin, db)) = store::testing::fresh_postgres(&url).await;
    run(pg, "postgres", total, seconds).await;
    store::testing::drop_postgres_database(&admin, &db).await;
}
