//! The two-way sync engine against each provider's emulator over loopback HTTP, through the
//! real queue: what a user of the CRM and of their phone calendar would notice. F-CAL-1,
//! F-CAL-9, F-EDIT-9, F-EDIT-11, F-X-2, F-X-3, F-ADM-7.

mod common;

use domain::connection::{ConnectionStatus, StatusReason};
use chrono::Duration;
use common::{at, day, Rig};
use emulator::model::{FaultKind, MessageKind};
use providers::{Attendee, EventDraft, EventKind, EventTime, ProviderKind, SendInvitations};
use sqlx::Row;
use sync::{EditError, MeetingInput};

fn phone_draft(subject: &str, start: chrono::DateTime<chrono::Utc>, minutes: i64) -> EventDraft {
    EventDraft::new(subject, EventTime::At(start), EventTime::At(start + Duration::minutes(minutes)), "Europe/Copenhagen")
}

fn input(subject: &str, start: chrono::DateTime<chrono::Utc>, attendees: &[String]) -> MeetingInput {
    MeetingInput {
        subject: subject.into(),
        location: "Room 4".into(),
        description: "Agenda".into(),
        keep_html_description: false,
        start,
        end: start + Duration::hours(1),
        all_day: false,
        time_zone: "Europe/Copenhagen".into(),
        private: false,
        attendees: attendees.to_vec(),
        organisations: Vec::new(),
    }
}

/// A weekly series of four from the phone, its second occurrence moved an hour, its third
/// cancelled.
async fn phone_series(rig: &Rig, who: &str, subject: &str) {
    let phone = rig.phone(who);
    let series = EventDraft { recurrence: Some("FREQ=WEEKLY;COUNT=4".into()), ..phone_draft(subject, at(8), 30) };
    phone.create(&series, SendInvitations::No).await.unwrap();
    let mut occ: Vec<_> = phone
        .list_window(day() - Duration::days(1), day() + Duration::days(30))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.subject == subject)
        .collect();
    occ.sort_by_key(|e| e.original_start);
    assert_eq!(occ.len(), 4);
    let moved = EventDraft { ..phone_draft(subject, at(24 * 7 + 9), 30) };
    phone.update(&occ[1].id, occ[1].etag.as_deref(), &moved, SendInvitations::No).await.unwrap();
    phone.delete(&occ[2].id, None, SendInvitations::No).await.unwrap();
}

async fn a_first_sync_brings_the_calendar_in_and_sends_nothing(kind: ProviderKind) {
    let rig = Rig::new(kind).await;
    let phone = rig.phone("alice");
    let bob = rig.email("bob");
    phone.create(&EventDraft { attendees: vec![Attendee::required(&bob)], ..phone_draft("Kick-off", at(9), 60) }, SendInvitations::No).await.unwrap();
    phone.create(&EventDraft { private: true, ..phone_draft("Dentist", at(13), 45) }, SendInvitations::No).await.unwrap();
    let d = day().date_naive() + Duration::days(2);
    phone.create(&EventDraft::new("Trade fair", EventTime::Date(d), EventTime::Date(d + Duration::days(2)), "Europe/Copenhagen"), SendInvitations::No).await.unwrap();
    phone_series(&rig, "alice", "Stand-up").await;
    rig.clear_outbox();

    rig.drain().await;
    let crm = rig.crm("alice").await;
    assert_eq!(crm, rig.provider_view("alice").await);
    assert_eq!(crm.iter().filter(|(s, _)| s == "Stand-up").count(), 3, "{crm:?}");
    assert!(crm.contains(&("Stand-up".into(), at(24 * 7 + 9))), "the moved occurrence at its new time: {crm:?}");
    assert_eq!(rig.outbox(), vec![], "a first sync sends no mail");
    let status = rig.engine.status(&rig.tenant, &rig.user("alice").id).await.unwrap().unwrap();
    assert_eq!((status.state, status.syncing), (ConnectionStatus::Active, false));
    assert!(status.last_synced_at.is_some());
    // Private stays private in the store: the meeting is flagged.
    let private: i64 = sqlx::query("SELECT COUNT(*) AS n FROM meetings WHERE subject = 'Dentist' AND is_private = TRUE").fetch_one(rig.store.pool()).await.unwrap().get("n");
    assert_eq!(private, 1);
    rig.finish().await;
}

async fn phone_edits_and_deletions_arrive_incrementally(kind: ProviderKind) {
    let rig = Rig::new(kind).await;
    let phone = rig.phone("alice");
    let lunch = phone.create(&phone_draft("Lunch", at(12), 60), SendInvitations::No).await.unwrap();
    let call = phone.create(&phone_draft("Call", at(15), 30), SendInvitations::No).await.unwrap();
    phone_series(&rig, "alice", "Stand-up").await;
    rig.drain().await;
    let before = rig.meetings().await;

    phone.update(&lunch.id, lunch.etag.as_deref(), &phone_draft("Lunch with Fjord", at(12), 90), SendInvitations::No).await.unwrap();
    phone.delete(&call.id, None, SendInvitations::No).await.unwrap();
    let last = phone
        .list_window(day(), day() + Duration::days(30))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.subject == "Stand-up")
        .max_by_key(|e| e.original_start)
        .unwrap();
    phone.delete(&last.id, None, SendInvitations::No).await.unwrap();
    rig.sync("alice").await;

    let crm = rig.crm("alice").await;
    assert_eq!(crm, rig.provider_view("alice").await);
    assert!(crm.contains(&("Lunch with Fjord".into(), at(12))));
    assert!(!crm.iter().any(|(s, _)| s == "Call"));
    assert_eq!(crm.iter().filter(|(s, _)| s == "Stand-up").count(), 2);
    assert_eq!(rig.meetings().await, before - 2, "deleted at the provider, deleted in the CRM");
    rig.finish().await;
}

async fn a_crm_meeting_reaches_the_calendar_and_save_sends_nothing(kind: ProviderKind) {
    let rig = Rig::new(kind).await;
    rig.drain().await;
    let alice = rig.user("alice").clone();
    let bob = rig.email("bob");
    let id = rig.engine.create_meeting(&rig.tenant, &alice, &alice, &input("Pricing with Fjord", at(10), std::slice::from_ref(&bob)), false).await.unwrap();
    rig.drain().await;
    let found = rig.phone("alice").find_by_crm_id(&id).await.unwrap().expect("the event carries the CRM id");
    assert_eq!((found.subject.as_str(), found.location.as_str()), ("Pricing with Fjord", "Room 4"));
    assert_eq!(rig.outbox(), vec![], "Save sends no invitation");
    assert_eq!(rig.crm("alice").await, rig.provider_view("alice").await);

    // Save and send: exactly one message to the attendee.
    let m = rig.store.sync_meeting(&rig.tenant, &id).await.unwrap().unwrap();
    rig.engine.update_meeting(&rig.tenant, &alice, &id, m.version, &input("Pricing with Fjord (moved)", at(11), std::slice::from_ref(&bob)), true).await.unwrap();
    rig.drain().await;
    let sent = rig.outbox();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].1, bob);
    assert!(matches!(sent[0].0, MessageKind::Update | MessageKind::Invite), "{sent:?}");
    assert_eq!(rig.provider_view("alice").await, vec![("Pricing with Fjord (moved)".to_string(), at(11))]);

    // Delete and send cancellations: one cancellation, gone on both sides.
    rig.clear_outbox();
    let m = rig.store.sync_meeting(&rig.tenant, &id).await.unwrap().unwrap();
    rig.engine.delete_meeting(&rig.tenant, &alice, &id, m.version, true).await.unwrap();
    assert_eq!(rig.crm("alice").await, vec![], "hidden in the CRM at once");
    rig.drain().await;
    assert_eq!(rig.outbox(), vec![(MessageKind::Cancel, bob)]);
    assert_eq!(rig.provider_view("alice").await, vec![]);
    assert!(rig.store.sync_meeting(&rig.tenant, &id).await.unwrap().is_none());
    rig.finish().await;
}

async fn save_and_send_invites_once_and_the_invitees_copy_is_the_same_meeting(kind: ProviderKind) {
    let rig = Rig::new(kind).await;
    rig.drain().await;
    let alice = rig.user("alice").clone();
    let bob = rig.email("bob");
    let id = rig.engine.create_meeting(&rig.tenant, &alice, &alice, &input("Quarterly review", at(14), std::slice::from_ref(&bob)), true).await.unwrap();
    rig.drain().await;
    assert_eq!(rig.outbox(), vec![(MessageKind::Invite, bob.clone())]);
    // Bob's calendar got the invitation from the provider: after his sync it is the same CRM
    // meeting in both calendars, not two.
    rig.sync("bob").await;
    assert_eq!(rig.crm("bob").await, vec![("Quarterly review".to_string(), at(14))]);
    assert_eq!(rig.meetings().await, 1);
    let copies: i64 = sqlx::query("SELECT COUNT(*) AS n FROM meeting_copies WHERE meeting_id = $1").bind(&id).fetch_one(rig.store.pool()).await.unwrap().get("n");
    assert_eq!(copies, 2);
    // Syncing again changes nothing and sends nothing.
    rig.sync("alice").await;
    rig.sync("bob").await;
    assert_eq!(rig.meetings().await, 1);
    assert_eq!(rig.outbox().len(), 1);
    rig.finish().await;
}

async fn an_expired_cursor_reconciles_without_losing_crm_data(kind: ProviderKind) {
    let rig = Rig::new(kind).await;
    let phone = rig.phone("alice");
    let ev = phone.create(&phone_draft("Pipeline review", at(9), 60), SendInvitations::No).await.unwrap();
    phone.create(&phone_draft("Gone soon", at(11), 60), SendInvitations::No).await.unwrap();
    rig.drain().await;
    let id: String = sqlx::query("SELECT id FROM meetings WHERE subject = 'Pipeline review'").fetch_one(rig.store.pool()).await.unwrap().get("id");
    sqlx::query("UPDATE meetings SET custom_fields = '{\"deal\":\"42\"}' WHERE id = $1").bind(&id).execute(rig.store.pool()).await.unwrap();

    rig.emu.with_state(|s| s.expire_cursors(common::provider(kind)));
    phone.update(&ev.id, ev.etag.as_deref(), &phone_draft("Pipeline review (Q3)", at(9), 60), SendInvitations::No).await.unwrap();
    let gone = phone.list_window(day(), day() + Duration::days(1)).await.unwrap().into_iter().find(|e| e.subject == "Gone soon").unwrap();
    phone.delete(&gone.id, None, SendInvitations::No).await.unwrap();
    rig.sync("alice").await;

    assert_eq!(rig.crm("alice").await, vec![("Pipeline review (Q3)".to_string(), at(9))]);
    let row = sqlx::query("SELECT id, custom_fields FROM meetings WHERE subject = 'Pipeline review (Q3)'").fetch_one(rig.store.pool()).await.unwrap();
    assert_eq!(row.get::<String, _>("id"), id, "reconciled, not re-created");
    assert_eq!(row.get::<String, _>("custom_fields"), "{\"deal\":\"42\"}");
    rig.finish().await;
}

async fn edits_on_both_sides_merge_and_the_provider_wins_a_clash(kind: ProviderKind) {
    let rig = Rig::new(kind).await;
    rig.drain().await;
    let alice = rig.user("alice").clone();
    let id = rig.engine.create_meeting(&rig.tenant, &alice, &alice, &input("Plan", at(10), &[]), false).await.unwrap();
    rig.drain().await;
    let phone = rig.phone("alice");

    // Different fields: both changes survive.
    let ev = phone.find_by_crm_id(&id).await.unwrap().unwrap();
    phone.update(&ev.id, ev.etag.as_deref(), &EventDraft { location: "Harbour office".into(), description: "Agenda".into(), crm_id: Some(id.clone()), ..phone_draft("Plan", at(10), 60) }, SendInvitations::No).await.unwrap();
    let m = rig.store.sync_meeting(&rig.tenant, &id).await.unwrap().unwrap();
    rig.engine.update_meeting(&rig.tenant, &alice, &id, m.version, &input("Plan Q3", at(10), &[]), false).await.unwrap();
    rig.drain().await;
    let ev = phone.find_by_crm_id(&id).await.unwrap().unwrap();
    assert_eq!((ev.subject.as_str(), ev.location.as_str()), ("Plan Q3", "Harbour office"));
    let m = rig.store.sync_meeting(&rig.tenant, &id).await.unwrap().unwrap();
    assert_eq!((m.data.subject.as_str(), m.data.location.as_str()), ("Plan Q3", "Harbour office"));

    // The same field: the provider's value stays, and the user is told.
    phone.update(&ev.id, ev.etag.as_deref(), &EventDraft { location: "Harbour office".into(), description: "Agenda".into(), crm_id: Some(id.clone()), ..phone_draft("Plan (phone)", at(10), 60) }, SendInvitations::No).await.unwrap();
    let crm_edit = MeetingInput { location: "Harbour office".into(), ..input("Plan (CRM)", at(10), &[]) };
    rig.engine.update_meeting(&rig.tenant, &alice, &id, m.version, &crm_edit, false).await.unwrap();
    rig.drain().await;
    assert_eq!(phone.find_by_crm_id(&id).await.unwrap().unwrap().subject, "Plan (phone)");
    assert_eq!(rig.crm("alice").await, vec![("Plan (phone)".to_string(), at(10))]);
    let notice: String = sqlx::query("SELECT sync_notice FROM meetings WHERE id = $1").bind(&id).fetch_one(rig.store.pool()).await.unwrap().get("sync_notice");
    assert_eq!(domain::SyncNotice::from_stored(&notice), Some(domain::SyncNotice::Conflict { fields: vec!["subject".into()] }));
    rig.finish().await;
}

async fn a_create_retried_after_a_lost_answer_is_not_made_twice(kind: ProviderKind) {
    let rig = Rig::new(kind).await;
    rig.drain().await;
    let alice = rig.user("alice").clone();
    let bob = rig.email("bob");
    let id = rig.engine.create_meeting(&rig.tenant, &alice, &alice, &input("Board meeting", at(16), std::slice::from_ref(&bob)), true).await.unwrap();
    // An earlier attempt made the event and mailed Bob, then its answer was lost (the worker
    // crashed, the network broke): the provider has it, the CRM does not know.
    let first = EventDraft { attendees: vec![Attendee::required(&bob)], crm_id: Some(id.clone()), location: "Room 4".into(), description: "Agenda".into(), ..phone_draft("Board meeting", at(16), 60) };
    rig.phone("alice").create(&first, SendInvitations::Yes).await.unwrap();
    rig.drain().await;
    assert_eq!(rig.provider_view("alice").await, vec![("Board meeting".to_string(), at(16))], "found by its CRM id, not created again");
    assert_eq!(rig.outbox(), vec![(MessageKind::Invite, bob)], "and not invited twice");
    assert_eq!(rig.meetings().await, 1);
    rig.finish().await;
}

async fn a_lost_answer_on_any_call_converges_without_duplicates(kind: ProviderKind) {
    let rig = Rig::new(kind).await;
    rig.drain().await;
    let alice = rig.user("alice").clone();
    for n in 0..3 {
        rig.fault(FaultKind::LostAnswer, 1);
        rig.engine.create_meeting(&rig.tenant, &alice, &alice, &input(&format!("Visit {n}"), at(9 + n), &[]), false).await.unwrap();
        rig.drain().await;
    }
    let crm = rig.crm("alice").await;
    assert_eq!(crm.len(), 3, "{crm:?}");
    assert_eq!(crm, rig.provider_view("alice").await);
    rig.finish().await;
}

async fn throttling_is_waited_out_and_shown(kind: ProviderKind) {
    let rig = Rig::new(kind).await;
    rig.drain().await;
    rig.fault(FaultKind::Throttle { retry_after_ms: 5000 }, 1);
    let conn = rig.store.connection_of_user(&rig.tenant, &rig.user("alice").id).await.unwrap().unwrap();
    rig.engine.request_sync(&rig.tenant, &conn.id, false).await.unwrap();
    let started = chrono::Utc::now();
    let ran = rig.worker("w").run_once(|job| rig.engine.run(job)).await.unwrap();
    assert_eq!(ran, 1);
    let waiting = rig.store.jobs_of_connection(&rig.tenant, &conn.id).await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert!(waiting[0].run_at >= started + Duration::milliseconds(4900), "waits the provider's 5 s: {:?}", waiting[0].run_at - started);
    let status = rig.engine.status(&rig.tenant, &rig.user("alice").id).await.unwrap().unwrap();
    assert_eq!(status.state, ConnectionStatus::Failing);
    assert_eq!(status.reason, StatusReason::Throttled { retry_secs: Some(5) }, "says why and for how long");
    // Bob's calendar is not held up meanwhile.
    rig.sync("bob").await;
    let status = rig.engine.status(&rig.tenant, &rig.user("alice").id).await.unwrap().unwrap();
    assert_eq!(status.state, ConnectionStatus::Active, "drained after the back-off: {status:?}");
    rig.finish().await;
}

async fn refused_credentials_ask_for_a_reconnect_instead_of_stopping_silently(kind: ProviderKind) {
    let rig = Rig::new(kind).await;
    rig.drain().await;
    let email = rig.email("alice");
    rig.emu.with_state(|s| {
        // The password changed on the server / the user revoked the CRM's access.
        if let Some(mb) = s.mailboxes.values_mut().find(|m| m.email == email) {
            mb.password = Some("a new password".into());
        }
        s.refresh_tokens.retain(|_, (e, _)| *e != email);
        s.tokens.retain(|_, t| t.email != email);
    });
    rig.sync("alice").await;
    let status = rig.engine.status(&rig.tenant, &rig.user("alice").id).await.unwrap().unwrap();
    assert_eq!(status.state, ConnectionStatus::NeedsReconnect, "{status:?}");
    assert!(
        matches!(status.reason, StatusReason::AccessRevoked { .. } | StatusReason::PasswordRefused { .. } | StatusReason::Reconnect { .. }),
        "says what to do: {:?}",
        status.reason
    );
    assert_eq!(rig.store.job_count().await.unwrap(), 0, "no endless retries");
    // Bob's connection is unaffected.
    let bob = rig.engine.status(&rig.tenant, &rig.user("bob").id).await.unwrap().unwrap();
    assert_eq!(bob.state, ConnectionStatus::Active);
    rig.finish().await;
}

async fn occurrence_edits_go_both_ways(kind: ProviderKind) {
    let rig = Rig::new(kind).await;
    phone_series(&rig, "alice", "Stand-up").await;
    rig.drain().await;
    let alice = rig.user("alice").clone();
    // The CRM renames the first occurrence only.
    let first: String = sqlx::query("SELECT id FROM meetings WHERE subject = 'Stand-up' ORDER BY start_at LIMIT 1").fetch_one(rig.store.pool()).await.unwrap().get("id");
    let m = rig.store.sync_meeting(&rig.tenant, &first).await.unwrap().unwrap();
    let edit = MeetingInput { start: m.data.start, end: m.data.end, location: String::new(), description: String::new(), ..input("Stand-up (demo day)", m.data.start, &[]) };
    rig.engine.update_meeting(&rig.tenant, &alice, &first, m.version, &edit, false).await.unwrap();
    rig.drain().await;
    let at_provider = rig.phone("alice").list_window(day() - Duration::days(1), day() + Duration::days(30)).await.unwrap();
    let renamed: Vec<_> = at_provider.iter().filter(|e| e.subject == "Stand-up (demo day)").collect();
    assert_eq!(renamed.len(), 1);
    assert!(matches!(renamed[0].kind, EventKind::Exception | EventKind::Occurrence), "still part of the series: {:?}", renamed[0].kind);
    assert_eq!(at_provider.iter().filter(|e| e.subject == "Stand-up").count(), 2);
    assert_eq!(rig.crm("alice").await, rig.provider_view("alice").await);

    // And back: the phone renames the same occurrence again.
    let phone = rig.phone("alice");
    let occ = renamed[0];
    let again = EventDraft { ..phone_draft("Stand-up (moved agenda)", at(8), 30) };
    phone.update(&occ.id, occ.etag.as_deref(), &again, SendInvitations::No).await.unwrap();
    rig.sync("alice").await;
    assert!(rig.crm("alice").await.contains(&("Stand-up (moved agenda)".to_string(), at(8))), "{:?}", rig.crm("alice").await);
    assert_eq!(rig.crm("alice").await, rig.provider_view("alice").await);
    rig.finish().await;
}

/// An Outlook-style body: HTML with a Teams link, which the CRM does not model.
const OUTLOOK_BODY: &str = r#"<html><body><p>Agenda: <b>pricing</b> &amp; delivery</p><p><a href="https://teams.microsoft.com/l/meetup-join/19%3ameeting_NzQ%40thread.v2/0">Join Microsoft Teams Meeting</a></p></body></html>"#;

async fn meeting_id(rig: &Rig, subject: &str) -> String {
    sqlx::query("SELECT id FROM meetings WHERE subject = $1").bind(subject).fetch_one(rig.store.pool()).await.unwrap().get("id")
}

/// F-X-10: moving a meeting on the calendar writes only its times at the provider — the body
/// (HTML, Teams link) stays as Outlook made it — with updates only when asked for.
async fn a_move_writes_only_the_times_and_keeps_the_body(kind: ProviderKind) {
    let rig = Rig::new(kind).await;
    let phone = rig.phone("alice");
    let (alice_email, bob) = (rig.email("alice"), rig.email("bob"));
    // (Sent, as Outlook does: the Graph client writes attendees only when sending.)
    let ev = phone.create(&EventDraft { attendees: vec![Attendee::required(&bob)], ..phone_draft("Customer visit", at(10), 60) }, SendInvitations::Yes).await.unwrap();
    // Outlook wrote the body (the invitee's copy carries the same).
    rig.emu.with_state(|s| {
        for e in s.calendars.values_mut().flat_map(|c| c.events.values_mut()).filter(|e| e.ical_uid == ev.ical_uid.clone().unwrap_or_default()) {
            e.fields.body = OUTLOOK_BODY.into();
        }
    });
    rig.drain().await;
    rig.clear_outbox();
    let alice = rig.user("alice").clone();
    let id = meeting_id(&rig, "Customer visit").await;
    let question = rig.engine.move_question(&rig.tenant, &alice, &id).await.unwrap();
    assert_eq!(question.attendees, 1);
    // Microsoft Graph mails the attendees it knows of every move: it cannot keep quiet.
    assert_eq!(question.can_keep_quiet, kind != ProviderKind::Graph);
    let send = !question.can_keep_quiet;
    let m = rig.store.sync_meeting(&rig.tenant, &id).await.unwrap().unwrap();
    rig.engine.move_meeting(&rig.tenant, &alice, &id, m.version, at(14), at(15), send).await.unwrap();
    rig.drain().await;
    let held = |rig: &Rig| rig.emu.with_state(|s| s.calendars[&alice_email].events.values().find(|e| e.fields.subject == "Customer visit").unwrap().clone());
    let now = held(&rig);
    assert_eq!(now.fields.body, OUTLOOK_BODY, "the body is untouched");
    assert_eq!(now.fields.start_utc(), at(14));
    let expected = if send { vec![(MessageKind::Update, bob.clone())] } else { vec![] };
    assert_eq!(rig.outbox(), expected, "updates only when asked for");
    // And with updates: the attendee hears once; the body is still untouched.
    rig.clear_outbox();
    let m = rig.store.sync_meeting(&rig.tenant, &id).await.unwrap().unwrap();
    rig.engine.move_meeting(&rig.tenant, &alice, &id, m.version, at(15), at(16), true).await.unwrap();
    rig.drain().await;
    let now = held(&rig);
    assert_eq!((now.fields.body.as_str(), now.fields.start_utc()), (OUTLOOK_BODY, at(15)));
    assert_eq!(rig.outbox(), vec![(MessageKind::Update, bob)]);
    assert_eq!(rig.crm("alice").await, vec![("Customer visit".to_string(), at(15))]);
    rig.finish().await;
}

/// F-X-10, F-EDIT-12: a change the provider refuses goes back to the provider's version, the
/// meeting says why, and the job is not retried for ever.
async fn a_move_the_provider_refuses_goes_back_and_says_why(kind: ProviderKind) {
    let rig = Rig::new(kind).await;
    rig.phone("alice").create(&phone_draft("Board meeting", at(9), 60), SendInvitations::No).await.unwrap();
    rig.drain().await;
    let alice = rig.user("alice").clone();
    let id = meeting_id(&rig, "Board meeting").await;
    let only = match kind {
        ProviderKind::Google => "PATCH",
        ProviderKind::Graph => "PATCH",
        ProviderKind::Ews => "UpdateItem",
    };
    rig.emu.with_state(|s| s.faults.push(emulator::model::Fault { provider: common::provider(kind), kind: FaultKind::Status { status: 400 }, remaining: 1, only: Some(only.into()) }));
    let m = rig.store.sync_meeting(&rig.tenant, &id).await.unwrap().unwrap();
    rig.engine.move_meeting(&rig.tenant, &alice, &id, m.version, at(13), at(14), false).await.unwrap();
    assert_eq!(rig.crm("alice").await, vec![("Board meeting".to_string(), at(13))], "moved at once in the CRM");
    rig.drain().await;
    assert_eq!(rig.crm("alice").await, vec![("Board meeting".to_string(), at(9))], "back where the calendar has it");
    assert_eq!(rig.provider_view("alice").await, vec![("Board meeting".to_string(), at(9))]);
    let notice = rig.store.meeting_notice(&rig.tenant, &id).await.unwrap();
    assert!(matches!(domain::SyncNotice::from_stored(&notice), Some(domain::SyncNotice::Refused { .. })), "says why: {notice}");
    assert_eq!(rig.store.job_count().await.unwrap(), 0, "not retried for ever");
    rig.finish().await;
}

async fn a_meeting_dragged_to_a_colleagues_lane_is_booked_for_them(kind: ProviderKind) {
    // F-EDIT-2: a new meeting in Bob's calendar, organised by him, booked by Alice; hers is gone.
    let rig = Rig::new(kind).await;
    rig.drain().await;
    let (alice, bob) = (rig.user("alice").clone(), rig.user("bob").clone());
    let guest = "ida@fjord.example".to_string();
    let id = rig.engine.create_meeting(&rig.tenant, &alice, &alice, &input("Fjord visit", at(10), std::slice::from_ref(&guest)), false).await.unwrap();
    rig.drain().await;
    let m = rig.store.sync_meeting(&rig.tenant, &id).await.unwrap().unwrap();
    let moved = rig.engine.rebook_meeting(&rig.tenant, &alice, &id, m.version, &bob, at(11), at(12), false).await.unwrap();
    rig.drain().await;
    let n = rig.store.sync_meeting(&rig.tenant, &moved).await.unwrap().unwrap();
    assert_eq!((n.organiser_user_id.as_deref(), n.booked_by_user_id.as_deref()), (Some(bob.id.as_str()), Some(alice.id.as_str())));
    assert_eq!((n.data.subject.as_str(), n.data.location.as_str(), n.data.start), ("Fjord visit", "Room 4", at(11)));
    let ev = rig.phone("bob").find_by_crm_id(&moved).await.unwrap().expect("in Bob's calendar at the provider");
    assert_eq!(ev.subject, "Fjord visit");
    if kind != ProviderKind::Graph {
        // (Graph is given attendees only with invitations: it mails whomever it lists.)
        assert!(ev.attendees.iter().any(|a| a.email == guest), "{:?}", ev.attendees);
    }
    assert!(rig.phone("alice").find_by_crm_id(&id).await.unwrap().is_none(), "gone from Alice's calendar");
    assert!(rig.store.sync_meeting(&rig.tenant, &id).await.unwrap().is_none());
    assert_eq!(rig.crm("bob").await, vec![("Fjord visit".to_string(), at(11))]);
    assert_eq!(rig.outbox(), vec![], "without sending, nobody hears of it");

    // Back into Alice's calendar, telling the guest: the new invitation and the cancellation.
    let back = rig.engine.rebook_meeting(&rig.tenant, &bob, &moved, n.version, &alice, at(11), at(12), true).await.unwrap();
    rig.drain().await;
    let mut told: Vec<MessageKind> = rig.outbox().into_iter().filter(|(_, to)| *to == guest).map(|(k, _)| k).collect();
    told.sort_by_key(|k| format!("{k:?}"));
    // (Bob's event was made without invitations: Graph never had the guest to cancel for.)
    let expected = if kind == ProviderKind::Graph { vec![MessageKind::Invite] } else { vec![MessageKind::Cancel, MessageKind::Invite] };
    assert_eq!(told, expected);
    assert!(rig.phone("alice").find_by_crm_id(&back).await.unwrap().is_some());
    // An occurrence of a series, or a meeting into its own organiser's calendar, is not rebooked.
    let m = rig.store.sync_meeting(&rig.tenant, &back).await.unwrap().unwrap();
    let err = rig.engine.rebook_meeting(&rig.tenant, &alice, &back, m.version, &alice, at(11), at(12), false).await.unwrap_err();
    assert!(matches!(err, EditError::Invalid { .. }), "{err:?}");
    rig.finish().await;
}

per_provider!(
    a_move_writes_only_the_times_and_keeps_the_body,
    a_meeting_dragged_to_a_colleagues_lane_is_booked_for_them,
    a_move_the_provider_refuses_goes_back_and_says_why,
    a_first_sync_brings_the_calendar_in_and_sends_nothing,
    phone_edits_and_deletions_arrive_incrementally,
    a_crm_meeting_reaches_the_calendar_and_save_sends_nothing,
    save_and_send_invites_once_and_the_invitees_copy_is_the_same_meeting,
    an_expired_cursor_reconciles_without_losing_crm_data,
    edits_on_both_sides_merge_and_the_provider_wins_a_clash,
    a_create_retried_after_a_lost_answer_is_not_made_twice,
    a_lost_answer_on_any_call_converges_without_duplicates,
    throttling_is_waited_out_and_shown,
    refused_credentials_ask_for_a_reconnect_instead_of_stopping_silently,
    occurrence_edits_go_both_ways,
);


/// OAuth connections: an access token about to expire is refreshed before use and the new
/// tokens stored (sealed); the sync goes on without the user noticing.
async fn an_expiring_access_token_is_refreshed_before_use(kind: ProviderKind) {
    let rig = Rig::new(kind).await;
    rig.drain().await;
    let email = rig.email("alice");
    let t = rig.emu.with_state(|s| s.issue_tokens(&email, common::provider(kind), Duration::hours(1))).unwrap();
    // The stored access token is dead and said to expire in a minute; the refresh token works.
    let tokens = providers::oauth::TokenSet { access_token: "expired-token".into(), refresh_token: Some(t.refresh_token), expires_at: Some(chrono::Utc::now() + Duration::minutes(1)) };
    let sealed = rig.keyring.seal(&serde_json::json!({ "kind": "o_auth", "tokens": tokens }).to_string());
    let conn = rig.store.connection_of_user(&rig.tenant, &rig.user("alice").id).await.unwrap().unwrap();
    rig.store.set_connection_secret(&rig.tenant, &conn.id, &sealed).await.unwrap();
    rig.phone("alice").create(&phone_draft("After the refresh", at(9), 30), SendInvitations::No).await.unwrap();
    rig.sync("alice").await;
    assert_eq!(rig.crm("alice").await, vec![("After the refresh".to_string(), at(9))]);
    let after = rig.store.connection(&rig.tenant, &conn.id).await.unwrap();
    assert_ne!(after.sealed_secret, sealed, "the new tokens were stored");
    assert!(!rig.keyring.open(&after.sealed_secret).unwrap().contains("expired-token"));
    assert_eq!(after.status, ConnectionStatus::Active);
    rig.finish().await;
}

mod oauth {
    #[tokio::test]
    async fn google_token_refresh() {
        super::an_expiring_access_token_is_refreshed_before_use(providers::ProviderKind::Google).await
    }
    #[tokio::test]
    async fn graph_token_refresh() {
        super::an_expiring_access_token_is_refreshed_before_use(providers::ProviderKind::Graph).await
    }
}

/// F-CAL-1: opening the calendar refreshes every shown calendar whose last sync is stale —
/// colleagues' too — and no other: not one synced moments ago, not one that must be
/// reconnected first, and never twice while a sync is waiting. The page hears the result.
#[tokio::test]
async fn a_page_load_refreshes_the_shown_calendars_that_are_stale_and_no_others() {
    let rig = Rig::new(ProviderKind::Google).await;
    rig.drain().await;
    let conn = |name: &'static str| {
        let rig = &rig;
        async move { rig.store.connection_of_user(&rig.tenant, &rig.user(name).id).await.unwrap().unwrap() }
    };
    let (alice, bob) = (conn("alice").await, conn("bob").await);
    let key = |c: &store::Connection| format!("sync:{}", c.id);
    let keys = vec![key(&alice), key(&bob)];
    let make_stale = |c: &store::Connection| {
        let id = c.id.clone();
        let pool = rig.store.pool().clone();
        async move {
            let hour_ago = (chrono::Utc::now() - Duration::hours(1)).timestamp_millis();
            sqlx::query("UPDATE calendar_connections SET last_synced_at = $1 WHERE id = $2").bind(hour_ago).bind(id).execute(&pool).await.unwrap();
        }
    };

    // Bob (the viewer's colleague) was synced an hour ago, Alice just now.
    rig.phone("bob").create(&phone_draft("Made on Bob's phone", at(10), 30), SendInvitations::No).await.unwrap();
    make_stale(&bob).await;
    let shown = vec![conn("alice").await, conn("bob").await];
    rig.engine.sync_stale(&shown).await.unwrap();
    assert_eq!(rig.store.jobs_pending(&keys).await.unwrap(), [key(&bob)].into(), "only the stale calendar is refreshed");
    // Reloading the page while that sync waits adds nothing.
    rig.engine.sync_stale(&shown).await.unwrap();
    assert_eq!(rig.store.job_count().await.unwrap(), 1);

    rig.live.0.lock().unwrap().clear();
    rig.drain().await;
    assert_eq!(rig.crm("bob").await, vec![("Made on Bob's phone".to_string(), at(10))]);
    let heard = rig.live.0.lock().unwrap().iter().any(|e| matches!(e, sync::LiveEvent::Calendar { user_ids, .. } if user_ids.contains(&rig.user("bob").id)));
    assert!(heard, "the open pages are told Bob's calendar changed");

    // Both stale, but Bob's must be reconnected first: a sync could only fail again.
    make_stale(&alice).await;
    make_stale(&bob).await;
    rig.store.set_connection_status(&rig.tenant, &bob.id, ConnectionStatus::NeedsReconnect, &StatusReason::Reconnect { detail: "revoked".into() }).await.unwrap();
    rig.engine.sync_stale(&[conn("alice").await, conn("bob").await]).await.unwrap();
    assert_eq!(rig.store.jobs_pending(&keys).await.unwrap(), [key(&alice)].into());
    rig.finish().await;
}
