//! Calendar connections against the emulator over loopback (F-ADM-5): validated before they are
//! stored, secrets sealed at rest, clear errors for what users get wrong.

use emulator::model::{Mailbox, Provider};
use emulator::{Config, Emulator};
use providers::http::HttpConfig;
use providers::ProviderError;
use store::{NewUser, Store};
use sync::connections::{ConnectError, Connections, Credentials, Endpoints};
use sync::secrets::{generate_key, Keyring};

const PASSWORD: &str = "Spring-2027!";

struct Rig {
    _dir: tempfile::TempDir,
    db_path: std::path::PathBuf,
    store: Store,
    tenant: String,
    user: String,
    ews_url: String,
    key: String,
}

async fn rig() -> Rig {
    let emu = Emulator::new(Config::default());
    let addr = emu.clone().spawn("127.0.0.1:0".parse().unwrap()).await.unwrap();
    for (email, can_impersonate) in [("alice@corp.example", false), ("svc@corp.example", true), ("intern@corp.example", false)] {
        emu.with_state(|s| {
            s.add_mailbox(Mailbox {
                email: email.into(),
                display_name: email.into(),
                provider: Provider::Ews,
                password: Some(PASSWORD.into()),
                time_zone: "Europe/Copenhagen".into(),
                can_impersonate,
                uid: String::new(),
            })
        })
        .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("crm.db");
    let store = Store::connect(&format!("sqlite:{}", db_path.display())).await.unwrap();
    let tenant = store.create_tenant("Corp").await.unwrap();
    store.set_calendar_integration(&tenant.id, true, &domain::audit::Actor::operator(), chrono::Utc::now()).await.unwrap();
    let user = store
        .create_user(&tenant.id, NewUser { email: "alice@corp.example", display_name: "Alice", password_hash: "x", role: domain::Role::User, time_zone: "Europe/Copenhagen", week_start: 0 })
        .await
        .unwrap();
    Rig { _dir: dir, db_path, store, tenant: tenant.id, user: user.id, ews_url: format!("http://{addr}/ews/EWS/Exchange.asmx"), key: generate_key() }
}

impl Rig {
    fn connections(&self, keyring: Keyring) -> Connections {
        Connections::new(self.store.clone(), keyring, HttpConfig::loopback(), Endpoints::default())
    }
    fn keyring(&self) -> Keyring {
        Keyring::from_base64(&self.key, &[]).unwrap()
    }
    fn basic(&self, password: &str) -> Credentials {
        Credentials::EwsBasic { url: self.ews_url.clone(), username: "alice@corp.example".into(), password: password.into() }
    }
}

#[tokio::test]
async fn an_ews_connection_is_validated_then_stored_with_its_password_sealed() {
    let rig = rig().await;
    let conns = rig.connections(rig.keyring());
    let (conn, info) = conns.add(&rig.tenant, &rig.user, "Alice@Corp.example", rig.basic(PASSWORD)).await.unwrap();
    assert_eq!(info.email.to_ascii_lowercase(), "alice@corp.example");
    assert_eq!((conn.provider.as_str(), conn.auth_kind.as_str(), conn.status.as_str()), ("ews", "basic", "active"));
    // The password is nowhere in the database file, in any form a grep would find.
    rig.store.close().await;
    let bytes = std::fs::read(&rig.db_path).unwrap();
    let wal = std::fs::read(rig.db_path.with_extension("db-wal")).unwrap_or_default();
    for hay in [&bytes, &wal] {
        assert!(!hay.windows(PASSWORD.len()).any(|w| w == PASSWORD.as_bytes()), "password stored in the clear");
    }
    let store = Store::connect(&format!("sqlite:{}", rig.db_path.display())).await.unwrap();
    let conns = Connections::new(store.clone(), rig.keyring(), HttpConfig::loopback(), Endpoints::default());
    let stored = conns.list(&rig.tenant).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(!format!("{stored:?}").contains(&stored[0].sealed_secret), "Debug leaves the sealed secret out");
    // The stored connection gives a working client.
    conns.open(&stored[0], None).await.unwrap().validate().await.unwrap();
    // One per user.
    assert!(matches!(conns.add(&rig.tenant, &rig.user, "alice@corp.example", rig.basic(PASSWORD)).await, Err(ConnectError::AlreadyConnected)));
    conns.remove(&rig.tenant, &stored[0].id).await.unwrap();
    assert!(conns.list(&rig.tenant).await.unwrap().is_empty());
}

#[tokio::test]
async fn failures_are_told_apart_and_store_nothing() {
    let rig = rig().await;
    let conns = rig.connections(rig.keyring());
    let add = |c: Credentials, mailbox: &'static str| {
        let conns = conns.clone();
        let (tenant, user) = (rig.tenant.clone(), rig.user.clone());
        async move { conns.add(&tenant, &user, mailbox, c).await.map(|_| ()) }
    };
    let err = add(rig.basic("wrong"), "alice@corp.example").await.unwrap_err();
    assert!(matches!(err, ConnectError::Provider(ProviderError::InvalidCredentials(_))), "{err:?}");
    let not_ews = Credentials::EwsBasic { url: rig.ews_url.replace("/EWS/Exchange.asmx", "/owa/"), username: "alice@corp.example".into(), password: PASSWORD.into() };
    let err = add(not_ews, "alice@corp.example").await.unwrap_err();
    assert!(matches!(err, ConnectError::Provider(ProviderError::NotEwsEndpoint(_))), "{err:?}");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let unreachable = Credentials::EwsBasic { url: format!("http://127.0.0.1:{port}/EWS/Exchange.asmx"), username: "a".into(), password: "b".into() };
    let err = add(unreachable, "alice@corp.example").await.unwrap_err();
    assert!(matches!(err, ConnectError::Provider(ProviderError::Unreachable(_))), "{err:?}");
    let denied = Credentials::EwsImpersonation { url: rig.ews_url.clone(), service_account: "intern@corp.example".into(), password: PASSWORD.into() };
    let err = add(denied, "alice@corp.example").await.unwrap_err();
    assert!(matches!(err, ConnectError::Provider(ProviderError::ImpersonationDenied(_))), "{err:?}");
    assert!(conns.list(&rig.tenant).await.unwrap().is_empty(), "nothing stored after failures");

    let allowed = Credentials::EwsImpersonation { url: rig.ews_url.clone(), service_account: "svc@corp.example".into(), password: PASSWORD.into() };
    let (conn, _) = conns.add(&rig.tenant, &rig.user, "alice@corp.example", allowed).await.unwrap();
    assert_eq!((conn.auth_kind.as_str(), conn.account.as_str()), ("impersonation", "svc@corp.example"));
}

#[tokio::test]
async fn rotating_the_key_reseals_every_secret() {
    let rig = rig().await;
    rig.connections(rig.keyring()).add(&rig.tenant, &rig.user, "alice@corp.example", rig.basic(PASSWORD)).await.unwrap();
    let new_key = generate_key();
    let rotated = rig.connections(Keyring::from_base64(&new_key, &[&rig.key]).unwrap());
    assert_eq!(rotated.rekey().await.unwrap(), 1);
    assert_eq!(rotated.rekey().await.unwrap(), 0, "nothing left to re-seal");
    // Only the new key is needed from now on.
    let only_new = rig.connections(Keyring::from_base64(&new_key, &[]).unwrap());
    let conn = only_new.list(&rig.tenant).await.unwrap().remove(0);
    only_new.open(&conn, None).await.unwrap().validate().await.unwrap();
}
