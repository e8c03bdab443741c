//! Push webhooks and operations metrics of a running demo server (F-X-2, F-ADM-7): what a
//! notification can prove is checked, a forged one changes nothing, Graph's validation
//! handshake is answered, and /metrics reports the sync.

use chrono::Utc;
use reqwest::{Client, StatusCode};

mod common;


use common::settled;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_or_unknown_notifications_change_nothing() {
    let s = common::in_process(true).await;
    let conn = settled(&s, "anna@nordlys.example").await;
    let c = Client::new();
    let google = |channel: &str, token: &str| {
        c.post(format!("{}/hooks/google", s.base))
            .header("X-Goog-Channel-ID", channel)
            .header("X-Goog-Channel-Token", token)
            .header("X-Goog-Resource-State", "exists")
            .header("X-Goog-Resource-ID", "r")
            .send()
    };
    let push_id = conn.push_id.clone().unwrap();
    // Our channel, the wrong token: refused, nothing queued.
    assert_eq!(google(&push_id, "guessed").await.unwrap().status(), StatusCode::FORBIDDEN);
    assert!(s.store.jobs_of_connection(&conn.tenant_id, &conn.id).await.unwrap().is_empty());
    // A channel that is not ours: Google is told to stop.
    assert_eq!(google("not-a-channel", "x").await.unwrap().status(), StatusCode::NOT_FOUND);
    // Not a Google notification at all.
    let bare = c.post(format!("{}/hooks/google", s.base)).send().await.unwrap();
    assert_eq!(bare.status(), StatusCode::BAD_REQUEST);

    // Graph: the validation handshake echoes the token as plain text …
    let v = c.post(format!("{}/hooks/graph?validationToken=Validation%3A%20Testing%20client", s.base)).send().await.unwrap();
    assert_eq!(v.status(), StatusCode::OK);
    assert!(v.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert_eq!(v.text().await.unwrap(), "Validation: Testing client");
    // … and a notification with a subscription of ours but not our clientState queues nothing.
    let ben_conn = settled(&s, "ben@nordlys.example").await;
    let ben = s.store.user(&ben_conn.tenant_id, &ben_conn.user_id).await.unwrap();
    let forged = serde_json::json!({ "value": [{ "subscriptionId": ben_conn.push_id, "clientState": "guessed", "changeType": "updated", "resource": "me/events/1" }] });
    let r = c.post(format!("{}/hooks/graph", s.base)).json(&forged).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert!(s.store.jobs_of_connection(&ben.tenant_id, &ben_conn.id).await.unwrap().iter().all(|j| j.kind != store::JobKind::Sync));
    // EWS: not SOAP at all.
    let r = c.post(format!("{}/hooks/ews", s.base)).body("<not-soap/>").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Oversized bodies are refused before they are read.
    let huge = "x".repeat(2 * 1024 * 1024);
    let r = c.post(format!("{}/hooks/graph", s.base)).body(huge).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_report_the_sync() {
    let s = common::in_process(true).await;
    settled(&s, "anna@nordlys.example").await;
    let text = Client::new().get(format!("{}/metrics", s.base)).send().await.unwrap().text().await.unwrap();
    for family in ["crmcal_sync_lag_seconds", "crmcal_provider_calls_total", "crmcal_provider_throttled_total", "crmcal_sync_changes_total", "crmcal_sync_jobs_total"] {
        assert!(text.contains(&format!("# TYPE {family} ")), "{family} missing:\n{text}");
    }
    assert!(text.contains("crmcal_calendar_connections{provider=\"google\",status=\"active\"} 1"), "{text}");
    let calls: u64 = text
        .lines()
        .find(|l| l.starts_with("crmcal_provider_calls_total{provider=\"google\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(calls > 0, "the first sync called Google: {text}");
    let lag = text.lines().find(|l| l.starts_with("crmcal_sync_lag_seconds{provider=\"google\"}")).unwrap();
    assert!(!lag.ends_with("+Inf"), "Google has synced: {lag}");
    // Aggregates only: no label names a company or a user (that would leak customers and
    // grow without bound).
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let labels = line.split_once('{').map(|(_, rest)| rest.split('}').next().unwrap_or_default()).unwrap_or_default();
        for label in labels.split(',').filter(|l| !l.is_empty()) {
            let name = label.split('=').next().unwrap();
            assert!(["provider", "status", "outcome"].contains(&name), "unexpected label {name} in {line}");
        }
        assert!(!line.contains("nordlys"), "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_are_renewed_before_they_expire_and_stopped_on_disconnect() {
    let s = common::in_process(true).await;
    let conn = settled(&s, "anna@nordlys.example").await;
    let engine = &s.running.engine;
    let (emu, _) = s.running.emulator.clone().unwrap();
    let live = |id: &str| emu.with_state(|st| st.subscriptions.contains_key(id));
    let first = conn.push_id.clone().unwrap();
    assert!(live(&first));

    // An hour before it runs out, the scheduler renews it (Google: a new channel, the old one
    // stopped).
    let soon = Utc::now() + chrono::Duration::hours(1);
    sqlx::query("UPDATE calendar_connections SET push_expires_at = $1 WHERE id = $2").bind(soon.timestamp()).bind(&conn.id).execute(s.store.pool()).await.unwrap();
    engine.tick(Utc::now()).await.unwrap();
    let renewed = common::eventually("a renewed subscription", || async {
        let c = s.store.connection(&conn.tenant_id, &conn.id).await.unwrap();
        c.push_id.as_ref().is_some_and(|id| *id != first).then_some(c)
    })
    .await;
    assert!(renewed.push_expires_at.unwrap() > soon);
    let second = renewed.push_id.clone().unwrap();
    assert!(live(&second) && !live(&first), "the old channel is stopped");

    // Disconnecting stops it at the provider and forgets the connection.
    engine.disconnect(&conn.tenant_id, &conn.id, &domain::audit::Actor::operator()).await.unwrap();
    assert!(!live(&second));
    assert!(s.store.connection_of_user(&conn.tenant_id, &conn.user_id).await.unwrap().is_none());
}
