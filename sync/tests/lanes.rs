//! Colleagues' busy times for the editor's side panel and find a time (F-EDIT-4, F-X-8,
//! F-X-15): from the CRM's copy while it is fresh; a calendar whose last sync is stale is asked
//! for its free/busy at the provider, so a meeting made there since still takes its time.

mod common;

use chrono::Duration;
use common::{at, day, Rig};
use providers::{EventDraft, EventTime, ProviderKind, SendInvitations};

async fn a_stale_calendar_is_asked_at_the_provider_and_a_fresh_one_is_not(kind: ProviderKind) {
    let rig = Rig::new(kind).await;
    rig.drain().await;
    // Bob makes a meeting on his phone; the CRM has not synced it.
    let draft = EventDraft::new("Dentist", EventTime::At(at(12)), EventTime::At(at(13)), "Europe/Copenhagen");
    rig.phone("bob").create(&draft, SendInvitations::No).await.unwrap();
    let (alice, bob) = (rig.user("alice").clone(), rig.user("bob").clone());
    // (Stored in milliseconds.)
    let set_synced = |ago: Duration| {
        let rig = &rig;
        let bob = bob.id.clone();
        async move {
            sqlx::query("UPDATE calendar_connections SET last_synced_at = $1, push_id = NULL WHERE user_id = $2")
                .bind((chrono::Utc::now() - ago).timestamp_millis())
                .bind(bob)
                .execute(rig.store.pool())
                .await
                .unwrap();
        }
    };
    let noon_busy = |lane: &sync::lanes::Lane| lane.busy.iter().any(|b| b.start <= at(12) && b.end >= at(13));

    // Synced a minute ago: the CRM's copy is used as it is.
    set_synced(Duration::minutes(1)).await;
    let lanes = rig.engine.lanes(&alice, std::slice::from_ref(&bob), day(), day() + Duration::days(1), None).await.unwrap();
    assert!(!lanes[0].checked_at_provider);
    assert!(!noon_busy(&lanes[0]), "the CRM does not know the phone's meeting yet");

    // Synced an hour ago, no push: the provider is asked, and the time is Busy (no subject).
    set_synced(Duration::hours(1)).await;
    let lanes = rig.engine.lanes(&alice, std::slice::from_ref(&bob), day(), day() + Duration::days(1), None).await.unwrap();
    assert!(lanes[0].checked_at_provider);
    assert!(noon_busy(&lanes[0]), "the provider's free/busy has the phone's meeting: {:?}", lanes[0].busy);
    let noon = lanes[0].busy.iter().find(|b| b.start <= at(12) && b.end >= at(13)).unwrap();
    assert_eq!(noon.subject, None);
    assert_eq!(lanes[0].synced_at.map(|t| t.timestamp() / 60), Some((chrono::Utc::now() - Duration::hours(1)).timestamp() / 60));
    rig.finish().await;
}

per_provider!(a_stale_calendar_is_asked_at_the_provider_and_a_fresh_one_is_not);
