//! The worker side of the job queue over a real database: a throttled connection waits out the
//! provider's back-off without holding up another connection (F-X-4).

use std::time::Duration;

use chrono::Utc;
use store::{NewConnection, NewJob, NewUser, Store};
use sync::queue::{JobFailure, Worker};

#[tokio::test]
async fn a_throttled_connection_waits_its_back_off_and_delays_no_one_else() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite:{}", dir.path().join("q.db").display())).await.unwrap();
    let t = store.create_tenant("Acme").await.unwrap().id;
    store.set_calendar_integration(&t, true, &domain::audit::Actor::operator(), chrono::Utc::now()).await.unwrap();
    let mut conns = Vec::new();
    for email in ["slow@acme.example", "fine@acme.example"] {
        let u = store
            .create_user(&t, NewUser { email, display_name: email, password_hash: "x", role: domain::Role::User, time_zone: "UTC", week_start: 0 })
            .await
            .unwrap();
        let c = NewConnection { user_id: &u.id, provider: domain::ProviderKind::Ews, auth_kind: domain::AuthKind::Basic, mailbox: email, account: email, ews_url: "https://x/EWS/Exchange.asmx", sealed_secret: "v1.k.s" };
        conns.push(store.create_connection(&t, c).await.unwrap().id);
    }
    let (slow, fine) = (conns[0].clone(), conns[1].clone());
    let enqueue = |c: String| {
        let store = store.clone();
        let t = t.clone();
        async move {
            let key = format!("sync:{c}");
            store.enqueue_job(&t, NewJob { connection_id: Some(&c), kind: store::JobKind::Sync, coalesce_key: Some(&key), payload: "{}", run_at: Utc::now(), flags: 0 }).await.unwrap()
        }
    };
    enqueue(slow.clone()).await;
    enqueue(fine.clone()).await;

    let worker = Worker { store: store.clone(), name: "w1".into(), lease: Duration::from_secs(60), batch: 10 };
    let slow_id = slow.clone();
    let handler = move |job: store::Job| {
        let throttled = job.connection_id.as_deref() == Some(slow_id.as_str());
        async move {
            if throttled {
                Err(JobFailure { retry_after: Some(Duration::from_secs(120)), ..JobFailure::retry("ErrorServerBusy") })
            } else {
                Ok(())
            }
        }
    };
    // The queue keeps times to the millisecond; compare at that precision.
    let started = chrono::DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap();
    assert_eq!(worker.run_once(&handler).await.unwrap(), 2);
    // The fine connection's job is done; the slow one waits at least the server's two minutes.
    assert!(store.jobs_of_connection(&t, &fine).await.unwrap().is_empty());
    let waiting = store.jobs_of_connection(&t, &slow).await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert!(waiting[0].run_at >= started + chrono::Duration::seconds(120), "{:?}", waiting[0].run_at);
    assert_eq!(waiting[0].last_error, "ErrorServerBusy");
    // Meanwhile the fine connection keeps syncing; the slow one is not retried early.
    enqueue(fine.clone()).await;
    assert_eq!(worker.run_once(&handler).await.unwrap(), 1);
    assert!(store.jobs_of_connection(&t, &fine).await.unwrap().is_empty());
    assert_eq!(store.jobs_of_connection(&t, &slow).await.unwrap().len(), 1);
}
