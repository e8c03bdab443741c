//! The provider emulator embedded in the demo (`make run`): one mailbox per provider for the
//! demo users — Anna on Google, Ben on Microsoft 365 (Graph), Carla on an Exchange server (EWS)
//! with a service account allowed to impersonate — holding realistic calendars of their own,
//! including a recurring series with a moved and a cancelled occurrence; and the
//! administrator's Exchange mailbox, empty and not connected, to connect from the browser.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc};
use domain::tz::{local_to_utc, Tz};
use emulator::model::{Fields, Mailbox, NewEvent, Provider, Send, Sensitivity, ShowAs, State, When};
use emulator::{Config, Emulator};

use crate::demo::DEMO_PASSWORD;

pub const SERVICE_ACCOUNT: &str = "crm-service@nordlys.example";

/// (e-mail, provider, time zone)
const MAILBOXES: [(&str, Provider, &str); 3] = [
    ("anna@nordlys.example", Provider::Google, "Europe/Copenhagen"),
    ("ben@nordlys.example", Provider::Graph, "Europe/London"),
    ("carla@nordlys.example", Provider::Ews, "America/New_York"),
];

/// A demo user with a mailbox on the emulator that the demo does not connect: (e-mail,
/// provider, time zone).
pub const UNCONNECTED: (&str, Provider, &str) = ("admin@nordlys.example", Provider::Ews, "Europe/Copenhagen");

/// Starts the emulator on `addr` and fills it. Returns it with its bound address.
pub async fn start(addr: SocketAddr, now: DateTime<Utc>) -> std::io::Result<(Emulator, SocketAddr)> {
    let emu = Emulator::new(Config::default());
    let bound = emu.clone().spawn(addr).await?;
    emu.with_state(|s| seed(s, now));
    Ok((emu, bound))
}

/// Connects the demo users to their emulator mailboxes — Anna through Google OAuth, Ben
/// through Microsoft OAuth (tokens as if they had consented), Carla with her Exchange
/// password — through the engine, as the UI and the CLI do: the first sync and the push
/// subscription are queued. The emulator keeps nothing across restarts, so earlier demo
/// connections are replaced (the meetings they brought are matched again by iCalUID).
pub async fn connect_demo_users(engine: &sync::Engine, emu: &Emulator, addr: SocketAddr) -> anyhow::Result<usize> {
    use sync::connections::{Credentials, OAuthProvider};
    let store = engine.store();
    let mut connected = 0;
    for (email, provider, _) in MAILBOXES {
        let Some((user, _)) = store.user_for_sign_in(email).await? else { continue };
        let oauth = |p: OAuthProvider| -> anyhow::Result<Credentials> {
            let t = emu.with_state(|s| s.issue_tokens(email, provider, chrono::Duration::hours(12)))?;
            let expires_at = Some(Utc::now() + Duration::seconds(t.expires_in));
            Ok(Credentials::OAuth { provider: p, tokens: providers::oauth::TokenSet { access_token: t.access_token, refresh_token: Some(t.refresh_token), expires_at } })
        };
        let credentials = match provider {
            Provider::Google => oauth(OAuthProvider::Google)?,
            Provider::Graph => oauth(OAuthProvider::Graph)?,
            Provider::Ews => Credentials::EwsBasic {
                url: format!("http://{addr}/ews/EWS/Exchange.asmx"),
                username: email.into(),
                password: DEMO_PASSWORD.into(),
            },
        };
        let conn = engine.connect(&user.tenant_id, &user.id, email, credentials, &domain::audit::Actor::operator()).await?;
        // The demo's calendars are synchronised from the start.
        engine.synchronise(&conn).await?;
        connected += 1;
    }
    Ok(connected)
}

fn seed(s: &mut State, now: DateTime<Utc>) {
    for (email, provider, tz) in MAILBOXES {
        let name = email.split('@').next().unwrap_or(email);
        let _ = s.add_mailbox(mailbox(email, name, provider, tz, false));
    }
    let _ = s.add_mailbox(mailbox(SERVICE_ACCOUNT, "CRM service account", Provider::Ews, "UTC", true));
    // The administrator's Exchange mailbox, left for connecting from the browser
    // (Configuration → Integration → Calendar, or Settings).
    let _ = s.add_mailbox(mailbox(UNCONNECTED.0, "Astrid Holm", UNCONNECTED.1, UNCONNECTED.2, false));

    let monday = {
        let d = now.date_naive();
        d - Duration::days(d.weekday().num_days_from_monday() as i64)
    };
    for (email, provider, tz) in MAILBOXES {
        let zone: Tz = tz.parse().unwrap_or(Tz::UTC);
        let at = |day: i64, h: u32, m: u32| {
            local_to_utc((monday + Duration::days(day)).and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default()), zone)
        };
        let timed = |subject: &str, day: i64, (h, m): (u32, u32), minutes: i64| Fields {
            subject: subject.into(),
            body: String::new(),
            location: String::new(),
            start: When::At(at(day, h, m)),
            end: When::At(at(day, h, m) + Duration::minutes(minutes)),
            time_zone: tz.into(),
            sensitivity: Sensitivity::Normal,
            show_as: ShowAs::Busy,
            attendees: vec![],
        };
        // Stable iCalUIDs: after a restart (a fresh emulator), the first sync finds the same
        // CRM meetings again instead of making new ones.
        let new = |fields: Fields, rule: Option<&str>| NewEvent {
            id: None,
            ical_uid: Some(format!("demo-{}-{}@nordlys.example", email.split('@').next().unwrap_or(email), fields.subject.to_ascii_lowercase().replace(' ', "-"))),
            fields,
            recurrence: rule.map(|r| vec![format!("RRULE:{r}")]).into_iter().flatten().collect(),
            private_props: BTreeMap::new(),
            shared_props: BTreeMap::new(),
        };
        let _ = s.create_event(email, new(timed("Focus time", 1, (8, 0), 90), None), Send::None);
        let _ = s.create_event(email, new(timed("Lunch with a supplier", 3, (12, 0), 60), None), Send::None);
        let private = Fields { sensitivity: Sensitivity::Private, ..timed("Physiotherapy", 2, (16, 30), 45) };
        let _ = s.create_event(email, new(private, None), Send::None);
        let all_day = Fields {
            start: When::Date(monday + Duration::days(4)),
            end: When::Date(monday + Duration::days(5)),
            show_as: ShowAs::Free,
            ..timed("Office closed early", 4, (0, 0), 0)
        };
        let _ = s.create_event(email, new(all_day, None), Send::None);
        // A weekly team call over six weeks from last week: next week's is moved to Tuesday,
        // the one after is cancelled.
        // Made in Outlook / Google Calendar: a formatted body with the join link (F-EDIT-6).
        let join = match provider {
            Provider::Google => r#"<a href="https://meet.google.com/nrd-lys-tms">Join with Google Meet</a>"#,
            _ => r#"<a href="https://teams.microsoft.com/l/meetup-join/19%3ameeting_bm9yZGx5cw%40thread.v2/0">Join Microsoft Teams Meeting</a>"#,
        };
        let weekly = Fields {
            body: format!("<html><body><p><b>Agenda</b></p><ul><li>Pipeline, deal by deal</li><li>Blockers</li></ul><p>{join}</p></body></html>"),
            ..timed("Weekly team call", -7, (9, 30), 30)
        };
        if let Ok(series) = s.create_event(email, new(weekly, Some("FREQ=WEEKLY;BYDAY=MO;COUNT=6")), Send::None) {
            let next_week = at(7, 9, 30);
            let _ = s.update_occurrence(email, &series.id, next_week, None, Send::None, |f| {
                f.start = When::At(at(8, 10, 0));
                f.end = When::At(at(8, 10, 30));
                f.subject = "Weekly team call (moved to Tuesday)".into();
                Ok(())
            });
            let _ = s.cancel_occurrence(email, &series.id, at(14, 9, 30), Send::None);
        }
    }
}

fn mailbox(email: &str, name: &str, provider: Provider, tz: &str, can_impersonate: bool) -> Mailbox {
    let mut display = name.to_string();
    if let Some(first) = display.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    Mailbox {
        email: email.into(),
        display_name: display,
        provider,
        password: Some(DEMO_PASSWORD.into()),
        time_zone: tz.into(),
        can_impersonate,
        uid: String::new(),
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn demo_users_are_connected_one_per_provider_and_their_connections_work() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::open_store(&format!("sqlite:{}", dir.path().join("demo.db").display())).await.unwrap();
        crate::demo::seed(&store, Utc::now()).await.unwrap();
        let (emu, addr) = start("127.0.0.1:0".parse().unwrap(), Utc::now()).await.unwrap();
        let keyring = sync::secrets::Keyring::from_base64(&sync::secrets::generate_key(), &[]).unwrap();
        let endpoints = crate::config::ProviderEndpoints::default().or_emulator(addr).for_sync("http://127.0.0.1:1");
        let http = providers::http::HttpConfig::loopback();
        let engine = sync::Engine::new(store.clone(), sync::connections::Connections::new(store.clone(), keyring, http, endpoints), sync::SyncConfig::default(), std::sync::Arc::new(sync::Silent));
        assert_eq!(connect_demo_users(&engine, &emu, addr).await.unwrap(), 3);
        // Every start connects them again (the emulator forgets its tokens): replaced, not refused.
        assert_eq!(connect_demo_users(&engine, &emu, addr).await.unwrap(), 3);
        let tenant = store.user_for_sign_in("anna@nordlys.example").await.unwrap().unwrap().0.tenant_id;
        let conns = store.connections(&tenant).await.unwrap();
        let mut kinds: Vec<_> = conns.iter().map(|c| (c.provider.as_str(), c.auth_kind.as_str())).collect();
        kinds.sort();
        assert_eq!(kinds, [("ews", "basic"), ("google", "oauth"), ("graph", "oauth")]);
        for c in &conns {
            let client = engine.connections().open(c, None).await.unwrap();
            let week = client.list_window(Utc::now() - Duration::days(7), Utc::now() + Duration::days(21)).await.unwrap();
            assert!(week.iter().any(|e| e.subject.starts_with("Weekly team call")), "{}: {week:?}", c.provider.as_str());
            // The first sync is queued for each.
            assert_eq!(store.jobs_of_connection(&tenant, &c.id).await.unwrap().len(), 1, "{}", c.provider.as_str());
        }
    }

    #[test]
    fn demo_mailboxes_hold_a_realistic_week() {
        let mut s = State::default();
        let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 26, 12, 0, 0).unwrap();
        seed(&mut s, now);
        assert!(s.mailbox(SERVICE_ACCOUNT).is_some_and(|m| m.can_impersonate));
        for (email, provider, _) in MAILBOXES {
            assert_eq!(s.mailbox(email).map(|m| m.provider), Some(provider));
            // This week and the next three: singles, the all-day event and the series' slots.
            let week = s.instances(email, now - Duration::days(4), now + Duration::days(24), false).unwrap();
            let calls: Vec<_> = week.iter().filter(|i| i.fields.subject.starts_with("Weekly team call")).collect();
            assert_eq!(calls.len(), 3, "{email}: this week, the moved one, the one after the cancelled");
            assert_eq!(calls.iter().filter(|i| i.kind == emulator::model::InstanceKind::Exception).count(), 1);
            assert!(week.iter().any(|i| i.fields.is_private()));
            assert!(week.iter().any(|i| i.fields.is_all_day()));
        }
    }
}
