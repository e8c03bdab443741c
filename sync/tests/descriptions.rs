//! Rich descriptions (F-EDIT-6): an Outlook or Google body with its links and join link is
//! kept as the provider has it — read as HTML, never written back unless the user rewrites it
//! (then as text), and never lost to an edit of anything else.

mod common;

use common::{at, Rig};
use providers::{EventDraft, EventTime, ProviderKind, SendInvitations};
use sync::fields::description_text;
use sync::MeetingInput;

const JOIN: &str = "https://teams.example/l/meetup-join/19%3ameeting_abc";
fn body() -> String {
    format!("<html><body><p>Agenda: <b>pricing</b> for 2027</p><p>Join: <a href=\"{JOIN}\">Join the meeting</a></p></body></html>")
}

fn words(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

async fn an_unchanged_rich_body_survives_crm_edits_and_a_rewritten_one_goes_out_as_text(kind: ProviderKind) {
    let rig = Rig::new(kind).await;
    rig.drain().await;
    // Alice's meeting, made in Outlook / Google with a formatted body and a join link.
    let draft = EventDraft { description: body(), description_html: true, ..EventDraft::new("Pricing", EventTime::At(at(10)), EventTime::At(at(11)), "Europe/Copenhagen") };
    let phone = rig.phone("alice");
    let made = phone.create(&draft, SendInvitations::No).await.unwrap();
    let at_provider = phone.get(&made.id).await.unwrap();
    rig.sync("alice").await;
    rig.drain().await;

    // The CRM has it as the provider keeps it: HTML, link and all.
    let id: String = sqlx::query_scalar("SELECT id FROM meetings WHERE subject = 'Pricing'").fetch_one(rig.store.pool()).await.unwrap();
    let m = rig.store.sync_meeting(&rig.tenant, &id).await.unwrap().unwrap();
    assert!(m.data.description_html, "{kind:?}: {:?}", m.data.description);
    assert!(m.data.description.contains(JOIN), "{kind:?}: {:?}", m.data.description);
    assert_eq!(words(&description_text(&m.data.description, true)), format!("Agenda: pricing for 2027 Join: [Join the meeting][1] [1]: {JOIN}"));

    // Alice renames it in the CRM and leaves the description alone: the body is not written.
    let alice = rig.user("alice").clone();
    let rename = MeetingInput {
        subject: "Pricing (final)".into(),
        location: m.data.location.clone(),
        description: String::new(),
        keep_html_description: true,
        start: m.data.start,
        end: m.data.end,
        all_day: false,
        time_zone: m.data.time_zone.clone(),
        private: false,
        attendees: Vec::new(),
        organisations: Vec::new(),
    };
    rig.engine.update_meeting(&rig.tenant, &alice, &id, m.version, &rename, false).await.unwrap();
    rig.drain().await;
    let renamed = phone.get(&made.id).await.unwrap();
    assert_eq!(renamed.subject, "Pricing (final)");
    assert_eq!((renamed.description.as_str(), renamed.description_html), (at_provider.description.as_str(), true), "{kind:?}: the body is as it was");
    let m = rig.store.sync_meeting(&rig.tenant, &id).await.unwrap().unwrap();
    assert!(m.data.description_html && m.data.description.contains(JOIN));
    assert_eq!(rig.store.meeting_notice(&rig.tenant, &id).await.unwrap(), "", "{kind:?}: no conflict");

    // Rewritten as text in the CRM: that text goes out (the link with the old text).
    let rewrite = MeetingInput { description: "New agenda\nSecond line".into(), keep_html_description: false, ..rename.clone() };
    rig.engine.update_meeting(&rig.tenant, &alice, &id, m.version, &rewrite, false).await.unwrap();
    rig.drain().await;
    let rewritten = phone.get(&made.id).await.unwrap();
    assert_eq!(words(&description_text(&rewritten.description, rewritten.description_html)), "New agenda Second line", "{kind:?}");
    assert!(!rewritten.description.contains(JOIN));
    assert_eq!(rig.store.meeting_notice(&rig.tenant, &id).await.unwrap(), "", "{kind:?}: no conflict");

    // A body kept as HTML is only ever the meeting's own: asking to keep one it does not have
    // (or to make a new meeting with one) is refused.
    let m = rig.store.sync_meeting(&rig.tenant, &id).await.unwrap().unwrap();
    if !m.data.description_html {
        let err = rig.engine.update_meeting(&rig.tenant, &alice, &id, m.version, &rename, false).await.unwrap_err();
        assert!(matches!(err, sync::EditError::Invalid { field: Some("description"), .. }), "{err:?}");
    }
    let err = rig.engine.create_meeting(&rig.tenant, &alice, &alice, &rename, false).await.unwrap_err();
    assert!(matches!(err, sync::EditError::Invalid { field: Some("description"), .. }), "{err:?}");
    rig.finish().await;
}

per_provider!(an_unchanged_rich_body_survives_crm_edits_and_a_rewritten_one_goes_out_as_text);
