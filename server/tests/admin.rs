//! Administration on a running demo server: the company-wide calendar integration switch
//! (F-ADM-1) stops and resumes everything it should, open pages hear of it, and the audit log
//! records who did it.

use chrono::{Duration as TimeDelta, Utc};
use domain::audit::{Action, Actor};
use emulator::model::{Fields, NewEvent, Send, Sensitivity, ShowAs, When};
use futures_util::StreamExt;
use sync::connections::{ConnectError, Credentials};

mod common;

use common::{eventually, settled, signed_in};

/// Reads a live stream until an event satisfies `want` (bounded).
async fn heard<B: AsRef<[u8]>>(stream: &mut (impl futures_util::Stream<Item = reqwest::Result<B>> + Unpin), text: &mut String, want: impl Fn(&str) -> bool) {
    tokio::time::timeout(std::time::Duration::from_secs(30), async {
        loop {
            if let Some(end) = text.find("\n\n") {
                let event: String = text.drain(..end + 2).collect();
                if want(&event) {
                    return;
                }
                continue;
            }
            let chunk = stream.next().await.expect("the live stream ended").unwrap();
            text.push_str(&String::from_utf8_lossy(chunk.as_ref()));
        }
    })
    .await
    .expect("the live stream did not say it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_the_integration_off_stops_sync_and_push_and_on_resumes_from_the_cursor() {
    let s = common::in_process(true).await;
    let conn = settled(&s, "anna@nordlys.example").await;
    let engine = &s.running.engine;
    let (emu, _) = s.running.emulator.clone().unwrap();
    let subscribed = |id: &str| emu.with_state(|st| st.subscriptions.contains_key(id));
    let first_push = conn.push_id.clone().unwrap();
    assert!(subscribed(&first_push));
    let (ben, _) = s.store.user_for_sign_in("ben@nordlys.example").await.unwrap().unwrap();
    let page = signed_in(&s.base, "ben@nordlys.example").await;
    let mut live = page.get(format!("{}/api/live", s.base)).send().await.unwrap().bytes_stream();
    let mut text = String::new();
    heard(&mut live, &mut text, |e| e.contains("event: hello")).await;

    let (admin, _) = s.store.user_for_sign_in("admin@nordlys.example").await.unwrap().unwrap();
    let who = Actor::user(&admin.id, &admin.display_name);
    assert!(engine.set_integration(&conn.tenant_id, false, &who).await.unwrap());
    // A colleague's open page hears that everyone's status changed.
    heard(&mut live, &mut text, |e| e.contains("event: status") && e.contains("data: null")).await;
    // Push stopped at the provider and forgotten here.
    assert!(!subscribed(&first_push));
    let off = s.store.connection(&conn.tenant_id, &conn.id).await.unwrap();
    assert!(off.push_id.is_none());
    // A change made in the calendar meanwhile is not fetched: a requested sync waits.
    let start = Utc::now() + TimeDelta::days(1);
    emu.with_state(|st| {
        let fields = Fields {
            subject: "Booked while the integration was off".into(),
            body: String::new(),
            location: String::new(),
            start: When::At(start),
            end: When::At(start + TimeDelta::minutes(30)),
            time_zone: "Europe/Copenhagen".into(),
            sensitivity: Sensitivity::Normal,
            show_as: ShowAs::Busy,
            attendees: vec![],
        };
        st.create_event("anna@nordlys.example", NewEvent { id: None, ical_uid: None, fields, recurrence: vec![], private_props: Default::default(), shared_props: Default::default() }, Send::None).unwrap();
    });
    engine.request_sync(&conn.tenant_id, &conn.id, false).await.unwrap();
    let now = Utc::now();
    assert!(s.store.claim_jobs("probe", now, now + TimeDelta::seconds(30), 10).await.unwrap().is_empty(), "no job of the company is run");
    assert_eq!(engine.tick(now + TimeDelta::hours(1)).await.unwrap(), 0, "nothing polled or subscribed");
    // Connecting is refused, with the reason.
    let refused = engine.connect(&ben.tenant_id, &ben.id, "ben@nordlys.example", Credentials::EwsBasic { url: "https://x/EWS/Exchange.asmx".into(), username: "ben".into(), password: "p".into() }, &who).await;
    assert!(matches!(refused, Err(ConnectError::IntegrationOff)), "{refused:?}");
    assert!(!engine.set_integration(&conn.tenant_id, false, &who).await.unwrap(), "already off");

    // On again: subscribed anew, and the calendar catches up from where it was.
    assert!(engine.set_integration(&conn.tenant_id, true, &who).await.unwrap());
    heard(&mut live, &mut text, |e| e.contains("event: status") && e.contains("data: null")).await;
    let resumed = eventually("a new subscription and the change made while off", || async {
        let c = s.store.connection(&conn.tenant_id, &conn.id).await.unwrap();
        let n = common::count(&s.store, "SELECT COUNT(*) FROM meetings WHERE subject = 'Booked while the integration was off'").await;
        (c.push_id.is_some() && n == 1).then_some(c)
    })
    .await;
    assert!(subscribed(resumed.push_id.as_deref().unwrap()));
    assert_eq!(resumed.cursor_window, off.cursor_window, "an incremental sync from the stored cursor, not a new full round");

    // The log says who did what, newest first.
    let log = s.store.audit_log(&conn.tenant_id, None, 10).await.unwrap();
    let switched: Vec<_> = log.iter().filter(|e| matches!(e.action, Action::Integration { .. })).map(|e| (e.actor.name.as_str(), e.action.clone())).collect();
    assert_eq!(switched[..2], [(admin.display_name.as_str(), Action::Integration { on: true }), (admin.display_name.as_str(), Action::Integration { on: false })]);
}

/// POSTs a server function's JSON arguments; returns the status and the body.
async fn call(c: &reqwest::Client, base: &str, endpoint: &str, args: serde_json::Value) -> (reqwest::StatusCode, String) {
    let r = c.post(format!("{base}/api/{endpoint}")).json(&args).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configuration_is_for_administrators_and_a_user_manages_only_their_own_calendar() {
    // F-X-1, F-ADM-1, F-ADM-2: denied by default, checked on the server.
    let s = common::in_process(false).await;
    let anna = signed_in(&s.base, "anna@nordlys.example").await;
    let admin = signed_in(&s.base, "admin@nordlys.example").await;
    let (ben, _) = s.store.user_for_sign_in("ben@nordlys.example").await.unwrap().unwrap();
    let (anna_user, _) = s.store.user_for_sign_in("anna@nordlys.example").await.unwrap().unwrap();
    let admin_only = [
        ("config-features", serde_json::json!({})),
        ("config-integration", serde_json::json!({ "on": false })),
        ("config-audit", serde_json::json!({ "older": null })),
        ("config-calendars", serde_json::json!({ "search": "", "page": 0 })),
        ("connect-state", serde_json::json!({ "user_id": ben.id })),
        ("connect-synchronise", serde_json::json!({ "user_id": ben.id })),
        ("connect-disconnect", serde_json::json!({ "user_id": ben.id })),
        (
            "config-connect-many",
            serde_json::json!({ "form": { "user_ids": [ben.id], "ews_url": "https://x/EWS/Exchange.asmx", "account": "svc@nordlys.example", "password": "p" } }),
        ),
        ("config-service-accounts", serde_json::json!({})),
        ("config-service-password", serde_json::json!({ "ews_url": "https://x/EWS/Exchange.asmx", "account": "svc@nordlys.example", "password": "p" })),
        (
            "connect-exchange",
            serde_json::json!({ "form": { "user_id": ben.id, "ews_url": "https://x/EWS/Exchange.asmx", "email": "ben@nordlys.example", "impersonation": false, "account": "", "password": "p" } }),
        ),
    ];
    for (endpoint, args) in &admin_only {
        let (status, body) = call(&anna, &s.base, endpoint, args.clone()).await;
        assert_eq!(status, reqwest::StatusCode::FORBIDDEN, "{endpoint}: {body}");
    }
    assert!(s.store.calendar_integration(&ben.tenant_id).await.unwrap(), "nothing switched");
    // Her own calendar is hers to see.
    let (status, body) = call(&anna, &s.base, "connect-state", serde_json::json!({ "user_id": anna_user.id })).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    // Administrators may; another company's user is not found, not shown.
    let (status, body) = call(&admin, &s.base, "config-features", serde_json::json!({})).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let other = s.store.create_tenant("Other Co").await.unwrap();
    let stranger = s
        .store
        .create_user(&other.id, store::NewUser { email: "eve@other.example", display_name: "Eve", password_hash: "x", role: domain::Role::User, time_zone: "UTC", week_start: 0 })
        .await
        .unwrap();
    let (status, _) = call(&admin, &s.base, "connect-state", serde_json::json!({ "user_id": stranger.id })).await;
    assert_eq!(status, reqwest::StatusCode::NOT_FOUND);
    // Malformed arguments are a 400, an oversized search a field error (422).
    let (status, _) = call(&admin, &s.base, "config-calendars", serde_json::json!({ "search": 5 })).await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST);
    let (status, body) = call(&admin, &s.base, "config-calendars", serde_json::json!({ "search": "x".repeat(101), "page": 0 })).await;
    assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("too_long"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_users_table_searches_and_pages_hundreds_of_users() {
    // F-ADM-2
    let s = common::in_process(false).await;
    let admin = signed_in(&s.base, "admin@nordlys.example").await;
    let (a, _) = s.store.user_for_sign_in("admin@nordlys.example").await.unwrap().unwrap();
    for i in 0..120 {
        let email = format!("seller{i:03}@nordlys.example");
        let name = if i == 77 { "Søren Ærø".to_string() } else { format!("Seller {i:03}") };
        s.store.create_user(&a.tenant_id, store::NewUser { email: &email, display_name: &name, password_hash: "x", role: domain::Role::User, time_zone: "UTC", week_start: 0 }).await.unwrap();
    }
    let page = |search: &str, page: u32| {
        let admin = admin.clone();
        let base = s.base.clone();
        let search = search.to_string();
        async move {
            let (status, body) = call(&admin, &base, "config-calendars", serde_json::json!({ "search": search, "page": page })).await;
            assert_eq!(status, reqwest::StatusCode::OK, "{body}");
            serde_json::from_str::<serde_json::Value>(&body).unwrap()
        }
    };
    let first = page("", 0).await;
    assert_eq!(first["total"], 124);
    assert_eq!(first["rows"].as_array().unwrap().len(), 25);
    let last = page("", 4).await;
    assert_eq!(last["rows"].as_array().unwrap().len(), 24);
    assert_eq!(page("", 99).await["page"], 4, "past the end: the last page");
    // Case and Danish letters folded; several words must all match.
    let found = page("sØREN æ", 0).await;
    assert_eq!(found["total"], 1);
    assert_eq!(found["rows"][0]["email"], "seller077@nordlys.example");
    assert_eq!(found["rows"][0]["status"], "not_connected");
    // Each row says how its calendar stands, and never with what it signs in.
    let anna = page("anna", 0).await;
    assert_eq!(anna["rows"][0]["connection"], serde_json::Value::Null);
    let text = first.to_string();
    assert!(!text.contains("secret") && !text.contains("password"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_and_an_untrusted_certificate_are_told_apart_next_to_the_address() {
    // F-ADM-5: each failure its own reason, for the field it concerns; nothing stored.
    let s = common::in_process(false).await;
    let admin = signed_in(&s.base, "admin@nordlys.example").await;
    let (a, _) = s.store.user_for_sign_in("admin@nordlys.example").await.unwrap().unwrap();
    let (_, emulator) = s.running.emulator.clone().unwrap();
    // A port nobody listens on; a server whose certificate nobody vouches for (self-signed);
    // and TLS spoken to a server that answers plain HTTP.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let self_signed = self_signed_https().await;
    for (url, problem) in [
        (format!("https://{closed}/EWS/Exchange.asmx"), "server_unreachable"),
        (format!("https://localhost:{}/EWS/Exchange.asmx", self_signed.port()), "certificate_problem"),
        (format!("https://{emulator}/ews/EWS/Exchange.asmx"), "certificate_problem"),
        ("https://mail.nordlys.example/owa/".to_string(), "not_an_ews_address"),
    ] {
        let form = serde_json::json!({ "form": { "user_id": a.id, "ews_url": url, "email": "admin@nordlys.example", "impersonation": false, "account": "", "password": "demo-calendar" } });
        let (status, body) = call(&admin, &s.base, "connect-exchange", form).await;
        // A refusal is an outcome of trying, not a malformed request: `Ok(Err(refusal))`.
        assert_eq!(status, reqwest::StatusCode::OK, "{url}: {body}");
        assert_eq!(body, format!(r#"{{"Err":"{problem}"}}"#));
        let refusal: domain::Refusal = serde_json::from_str(&format!(r#""{problem}""#)).unwrap();
        assert_eq!(refusal.field(), Some("ews_url"), "shown next to the address");
        assert!(!body.contains("demo-calendar"), "the password is never sent back: {body}");
    }
    assert!(s.store.connection_of_user(&a.tenant_id, &a.id).await.unwrap().is_none());
}

/// A loopback HTTPS server for `localhost` with a self-signed certificate: the TLS handshake
/// is carried out properly, and the client finds no authority that vouches for it.
async fn self_signed_https() -> std::net::SocketAddr {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            // The client gives up during the handshake; nothing is ever served.
            tokio::spawn(async move {
                let _ = acceptor.accept(tcp).await;
            });
        }
    });
    addr
}
