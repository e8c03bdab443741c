//! Time from a change made at the provider ("on the phone") to an open calendar page hearing
//! of it over server-sent events, and to the page's next read containing it — 100 changes,
//! median and p95, per provider of the demo (Anna: Google, Ben: Microsoft 365, Carla:
//! Exchange). The whole path is real: the provider's push notification to the server's
//! webhook, the queued sync, the change applied, the live notice, the page's read.

use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::StreamExt;
#[path = "../tests/common/mod.rs"]
mod common;

const CHANGES: usize = 100;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let server = common::in_process(true).await;
    let (store, running, base) = (server.store.clone(), &server.running, server.base.clone());
    let (emu, _) = running.emulator.clone().expect("embedded emulator");
    // Let the first syncs finish.
    while store.connections(&store.tenants().await.unwrap()[0].id).await.unwrap().iter().any(|c| c.last_synced_at.is_none()) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let http = providers::http::HttpConfig::loopback();
    for (email, provider) in [("anna@nordlys.example", emulator::model::Provider::Google), ("ben@nordlys.example", emulator::model::Provider::Graph), ("carla@nordlys.example", emulator::model::Provider::Ews)] {
        let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
        client.post(format!("{base}/api/login")).form(&[("email", email), ("password", crmcal::demo::DEMO_PASSWORD), ("next", "")]).send().await.unwrap();
        let mut live = client.get(format!("{base}/api/live")).send().await.unwrap().bytes_stream();
        let phone: Box<dyn providers::CalendarProvider> = match provider {
            emulator::model::Provider::Ews => Box::new(
                providers::ews::EwsCalendar::new(&http, &format!("http://{}/ews/EWS/Exchange.asmx", running.emulator.as_ref().unwrap().1), providers::ews::EwsAuth::Basic { username: email.into(), password: crmcal::demo::DEMO_PASSWORD.into() }, email).unwrap(),
            ),
            p => {
                let token = emu.with_state(|s| s.issue_tokens(email, p, chrono::Duration::hours(2))).unwrap().access_token;
                let emu_base = format!("http://{}", running.emulator.as_ref().unwrap().1);
                if p == emulator::model::Provider::Google {
                    Box::new(providers::google::GoogleCalendar::new(&http, &format!("{emu_base}/google/calendar/v3"), token, "primary").unwrap())
                } else {
                    Box::new(providers::graph::GraphCalendar::new(&http, &format!("{emu_base}/graph/v1.0"), token, None).unwrap())
                }
            }
        };
        let (mut notice, mut shown) = (Vec::new(), Vec::new());
        let since = Utc::now();
        let (user, _) = store.user_for_sign_in(email).await.unwrap().unwrap();
        let conn = store.connection_of_user(&user.tenant_id, &user.id).await.unwrap().unwrap();
        let mut buffer = String::new();
        for i in 0..CHANGES {
            let start = Utc::now().date_naive().and_hms_opt(9, 0, 0).unwrap().and_utc() + chrono::Duration::days(1 + (i % 20) as i64);
            let subject = format!("Phone change {i}");
            let draft = providers::EventDraft::new(&subject, providers::EventTime::At(start), providers::EventTime::At(start + chrono::Duration::minutes(30)), "Europe/Copenhagen");
            let t0 = Instant::now();
            phone.create(&draft, providers::SendInvitations::No).await.unwrap();
            // The page hears of it ...
            loop {
                if let Some(end) = buffer.find("\n\n") {
                    let event: String = buffer.drain(..end + 2).collect();
                    if event.contains("event: calendar") {
                        break;
                    }
                    continue;
                }
                let chunk = tokio::time::timeout(Duration::from_secs(30), live.next()).await.expect("a live notice within 30 s").unwrap().unwrap();
                buffer.push_str(&String::from_utf8_lossy(&chunk));
            }
            notice.push(t0.elapsed().as_secs_f64() * 1000.0);
            // ... and reads the week again (what the page does), which now holds it.
            let week = client.post(format!("{base}/api/calendar")).json(&serde_json::json!({"view": "week", "date": start.date_naive().to_string()})).send().await.unwrap().text().await.unwrap();
            assert!(week.contains(&subject), "the page's read holds the change");
            shown.push(t0.elapsed().as_secs_f64() * 1000.0);
            // A calm moment between changes, as on a real phone.
            buffer.clear();
        }
        let runs: Vec<_> = store.runs_since(since).await.unwrap().into_iter().filter(|r| r.connection_id.as_deref() == Some(conn.id.as_str())).collect();
        let (calls, changes) = runs.iter().fold((0, 0), |(c, n), r| (c + r.provider_calls, n + r.changes));
        println!("{:<6} {} sync runs for {CHANGES} changes, {calls} provider calls: {:.2} per synced change", provider.as_str(), runs.len(), calls as f64 / changes.max(1) as f64);
        for (what, v) in [("live notice", &mut notice), ("on the page", &mut shown)] {
            v.sort_by(|a, b| a.partial_cmp(b).unwrap());
            println!("{:<6} {what:<12} median {:>6.1} ms  p95 {:>6.1} ms  max {:>6.1} ms  ({CHANGES} changes)", provider.as_str(), percentile(v, 0.5), percentile(v, 0.95), v[v.len() - 1]);
        }
    }
}
