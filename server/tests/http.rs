//! The server over real HTTP on loopback: sign-in statuses and messages, rate limiting,
//! sessions, redirects, tenant separation, cross-site refusal. Each test has its own SQLite
//! database and port. (F-X-1, F-CAL-5, F-CAL-10)

use app::state::AppState;
use chrono::Utc;
use leptos::prelude::LeptosOptions;
use reqwest::{redirect::Policy, Client, StatusCode};
use store::{NewUser, Store};

struct TestServer {
    base: String,
    store: Store,
    _dir: tempfile::TempDir,
}

async fn start() -> TestServer {
    start_with(LeptosOptions::builder().output_name("crmcal").build()).await
}

async fn start_with(options: LeptosOptions) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let store = crmcal::open_store(&format!("sqlite:{}", dir.path().join("t.db").display())).await.unwrap();
    crmcal::demo::seed(&store, Utc::now()).await.unwrap();
    let hub = crmcal::live::Hub::start(&store).await.unwrap();
    let keyring = sync::secrets::Keyring::from_base64(&sync::secrets::generate_key(), &[]).unwrap();
    let conns = sync::connections::Connections::new(store.clone(), keyring, providers::http::HttpConfig::loopback(), Default::default());
    let engine = sync::Engine::new(store.clone(), conns, sync::SyncConfig::default(), hub.clone());
    let app = crmcal::router(AppState { store: store.clone(), secure_cookies: false, sync: engine }, options, hub, crmcal::health::Exporter::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await.unwrap();
    });
    TestServer { base, store, _dir: dir }
}

fn client() -> Client {
    Client::builder().cookie_store(true).redirect(Policy::none()).build().unwrap()
}

async fn login(c: &Client, base: &str, email: &str, password: &str) -> reqwest::Response {
    c.post(format!("{base}/api/login")).form(&[("email", email), ("password", password), ("next", "")]).send().await.unwrap()
}

#[tokio::test]
async fn sign_in_statuses_and_messages() {
    let s = start().await;
    let c = client();
    let wrong = login(&c, &s.base, "anna@nordlys.example", "nope").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.text().await.unwrap(), "\"InvalidCredentials\"");
    let unknown = login(&c, &s.base, "nobody@nordlys.example", "nope").await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.text().await.unwrap(), "\"InvalidCredentials\"", "unknown users look exactly like wrong passwords");
    let empty = login(&c, &s.base, "", "").await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let ok = login(&c, &s.base, "ANNA@nordlys.example", crmcal::demo::DEMO_PASSWORD).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let cookie = ok.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(cookie.starts_with("crmcal_session=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    let page = c.get(format!("{}/calendar", s.base)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Weekly sales stand-up"), "meetings are in the server-rendered HTML");

    // Server functions take JSON; anything else is a 400 saying so, never a 500.
    for body in ["view=week", "{\"view\": 7}", "{not json"] {
        let r = c.post(format!("{}/api/calendar", s.base)).header("content-type", "application/json").body(body).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.text().await.unwrap(), "\"Malformed\"", "{body}");
    }
    let ok = c.post(format!("{}/api/calendar", s.base)).json(&serde_json::json!({ "view": "week" })).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
}

/// The compiled front end is public (the sign-in page needs it) and goes out precompressed to
/// browsers that accept it: brotli first, then gzip, else as built.
#[tokio::test]
async fn front_end_files_are_served_precompressed() {
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir(&pkg).unwrap();
    std::fs::write(pkg.join("crmcal.js"), b"plain").unwrap();
    std::fs::write(pkg.join("crmcal.js.gz"), b"gzipped").unwrap();
    std::fs::write(pkg.join("crmcal.js.br"), b"brotli").unwrap();
    let s = start_with(LeptosOptions::builder().output_name("crmcal").site_root(site.path().display().to_string()).build()).await;
    let get = |accept: &'static str| {
        let url = format!("{}/pkg/crmcal.js", s.base);
        async move {
            let r = client().get(url).header("accept-encoding", accept).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{accept}");
            let encoding = r.headers().get("content-encoding").map(|v| v.to_str().unwrap().to_string());
            (encoding, r.text().await.unwrap())
        }
    };
    assert_eq!(get("gzip, deflate, br").await, (Some("br".into()), "brotli".into()));
    assert_eq!(get("gzip").await, (Some("gzip".into()), "gzipped".into()));
    assert_eq!(get("identity").await, (None, "plain".into()));
}

#[tokio::test]
async fn sign_in_attempts_are_rate_limited() {
    let s = start().await;
    let c = client();
    for _ in 0..5 {
        assert_eq!(login(&c, &s.base, "ben@nordlys.example", "guess").await.status(), StatusCode::UNAUTHORIZED);
    }
    // Locked for a while, even with the right password …
    let locked = login(&c, &s.base, "ben@nordlys.example", crmcal::demo::DEMO_PASSWORD).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(locked.text().await.unwrap(), "\"RateLimited\"");
    // … while other people can still sign in.
    assert_eq!(login(&c, &s.base, "carla@nordlys.example", crmcal::demo::DEMO_PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn signed_out_and_expired_sessions_are_sent_to_sign_in() {
    let s = start().await;
    let c = client();
    let r = c.get(format!("{}/calendar?view=day&date=2026-11-26", s.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login?next=%2Fcalendar%3Fview%3Dday%26date%3D2026-11-26");
    // The calendar's server function refuses too, with its typed error.
    let api = c.post(format!("{}/api/calendar", s.base)).json(&serde_json::json!({"view": "week"})).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(api.text().await.unwrap(), "\"NotSignedIn\"");

    let ok = login(&c, &s.base, "anna@nordlys.example", crmcal::demo::DEMO_PASSWORD).await;
    let cookie = ok.headers()["set-cookie"].to_str().unwrap();
    let token = cookie.split(';').next().unwrap().trim_start_matches("crmcal_session=");
    // Expire it in the database (the hash, as stored) and come back.
    let hash = {
        use sha2::Digest;
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, sha2::Sha256::digest(token.as_bytes()))
    };
    s.store.expire_session(&hash, Utc::now()).await.unwrap();
    let r = c.get(format!("{}/calendar", s.base)).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/login?expired=1&next=%2Fcalendar");
    let api = c.post(format!("{}/api/calendar", s.base)).json(&serde_json::json!({"view": "week"})).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(api.text().await.unwrap(), "\"SessionExpired\"");
}

#[tokio::test]
async fn another_company_is_invisible() {
    let s = start().await;
    // A second tenant whose user knows a demo user's id.
    let other = s.store.create_tenant("Other Co").await.unwrap();
    let hash = sessions::hash_password("other-password");
    s.store
        .create_user(&other.id, NewUser { email: "olga@other.example", display_name: "Olga", password_hash: &hash, role: domain::Role::User, time_zone: "UTC", week_start: 0 })
        .await
        .unwrap();
    let demo_tenant = s.store.user_for_sign_in("anna@nordlys.example").await.unwrap().unwrap().0.tenant_id;
    let anna_id = s.store.user_for_sign_in("anna@nordlys.example").await.unwrap().unwrap().0.id;
    assert_ne!(demo_tenant, other.id);

    let c = client();
    assert_eq!(login(&c, &s.base, "olga@other.example", "other-password").await.status(), StatusCode::OK);
    let html = c.get(format!("{}/calendar?users={anna_id}", s.base)).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains("Weekly sales stand-up"), "another tenant's meetings leaked");
    assert!(!html.contains("Anna Berg"), "another tenant's users leaked");
    assert!(html.contains("Olga"));
}

#[tokio::test]
async fn cross_site_posts_are_refused_and_pages_have_security_headers() {
    let s = start().await;
    let c = client();
    let r = c
        .post(format!("{}/api/login", s.base))
        .header("Origin", "https://evil.example")
        .form(&[("email", "anna@nordlys.example"), ("password", crmcal::demo::DEMO_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = c.get(format!("{}/login", s.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    // Access is denied by default: an unknown address asks a stranger to sign in first …
    let missing = c.get(format!("{}/no/such/page", s.base)).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::SEE_OTHER);
    assert_eq!(missing.headers()["location"], "/login?next=%2Fno%2Fsuch%2Fpage");
    // … and is a proper 404 page for a signed-in user, in their language.
    assert_eq!(login(&c, &s.base, "anna@nordlys.example", crmcal::demo::DEMO_PASSWORD).await.status(), StatusCode::OK);
    let missing = c.get(format!("{}/no/such/page", s.base)).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.text().await.unwrap().contains("Page not found"));
    let danish = c.get(format!("{}/no/such/page", s.base)).header("accept-language", "da-DK,da;q=0.9").send().await.unwrap();
    assert_eq!(danish.status(), StatusCode::NOT_FOUND);
    let html = danish.text().await.unwrap();
    assert!(html.contains("<html lang=\"da\"") && html.contains("Siden findes ikke"), "Danish from the browser's language: {html}");
}

#[tokio::test]
async fn every_route_but_the_public_ones_needs_a_session() {
    // F-X-1: the guard denies by default — server functions, live updates and the connect
    // flow included; only sign-in, assets, probes and webhooks are open.
    let s = start().await;
    let c = client();
    for path in ["/api/me", "/api/settings", "/api/meeting", "/api/sync-status", "/api/calendar-prefs"] {
        let r = c.post(format!("{}{path}", s.base)).form(&[("x", "1")]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(r.text().await.unwrap(), "\"NotSignedIn\"", "{path}");
    }
    assert_eq!(c.get(format!("{}/api/live", s.base)).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    for page in ["/settings", "/connect/google", "/"] {
        let r = c.get(format!("{}{page}", s.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{page}");
        assert!(r.headers()["location"].to_str().unwrap().starts_with("/login?next="), "{page}");
    }
    for open in ["/login", "/healthz", "/favicon.svg"] {
        let r = c.get(format!("{}{open}", s.base)).send().await.unwrap();
        assert_ne!(r.status(), StatusCode::SEE_OTHER, "{open}");
        assert_ne!(r.status(), StatusCode::UNAUTHORIZED, "{open}");
    }
}

async fn page(c: &Client, base: &str, path: &str) -> String {
    let r = c.get(format!("{base}{path}")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.text().await.unwrap()
}

#[tokio::test]
async fn each_user_sees_their_own_time_zone_and_week_start() {
    // F-X-5, F-CAL-4: times in the viewer's zone, weeks from the viewer's week start.
    let s = start().await;
    let ben_id = s.store.user_for_sign_in("ben@nordlys.example").await.unwrap().unwrap().0.id;
    let (anna, ben, carla) = (client(), client(), client());
    for (c, email) in [(&anna, "anna@nordlys.example"), (&ben, "ben@nordlys.example"), (&carla, "carla@nordlys.example")] {
        assert_eq!(login(c, &s.base, email, crmcal::demo::DEMO_PASSWORD).await.status(), StatusCode::OK);
    }
    // Colleagues' calendars are shown once connected and synchronised (F-CAL-7).
    let tenant = s.store.user_for_sign_in("ben@nordlys.example").await.unwrap().unwrap().0.tenant_id;
    let conn = s
        .store
        .create_connection(
            &tenant,
            store::NewConnection {
                user_id: &ben_id,
                provider: domain::ProviderKind::Graph,
                auth_kind: domain::AuthKind::OAuth,
                mailbox: "ben@nordlys.example",
                account: "",
                ews_url: "",
                sealed_secret: "v1.test.sealed",
            },
        )
        .await
        .unwrap();
    s.store.finish_sync(&tenant, &conn.id, Utc::now(), Ok(())).await.unwrap();
    // Ben's 14:00 (London) contract review is 15:00 for Anna in Copenhagen, this week.
    let for_ben = page(&ben, &s.base, "/calendar?view=week").await;
    assert!(for_ben.contains("Contract review with Helios, 14:00 to 15:00"));
    let for_anna = page(&anna, &s.base, &format!("/calendar?view=week&users={ben_id}")).await;
    assert!(for_anna.contains("Contract review with Helios, 15:00 to 16:00"));
    // Anna's weeks start on Monday, Carla's on Sunday.
    assert!(page(&anna, &s.base, "/calendar?view=week&date=2026-11-26").await.contains(">23 – 29 Nov 2026<"));
    assert!(page(&carla, &s.base, "/calendar?view=week&date=2026-11-26").await.contains(">22 – 28 Nov 2026<"));
}

#[tokio::test]
async fn health_readiness_and_metrics_for_operators() {
    // F-ADM-7 (operations): probes answer without a session; metrics are Prometheus text.
    let s = start().await;
    let c = client();
    let health = c.get(format!("{}/healthz", s.base)).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(c.get(format!("{}/readyz", s.base)).send().await.unwrap().status(), StatusCode::OK);
    let metrics = c.get(format!("{}/metrics", s.base)).send().await.unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    assert!(metrics.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = metrics.text().await.unwrap();
    assert!(text.contains("# TYPE crmcal_sync_queue_depth gauge\ncrmcal_sync_queue_depth 0\n"), "{text}");
    // A database that is gone makes the process not ready (but still alive).
    s.store.close().await;
    assert_eq!(c.get(format!("{}/readyz", s.base)).send().await.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(c.get(format!("{}/healthz", s.base)).send().await.unwrap().status(), StatusCode::OK);
}
