//! The repository suite: every test runs unchanged on SQLite and PostgreSQL.

mod common;

use chrono::{DateTime, Utc};
use common::on_each_backend;
use domain::audit::{Action, Actor};
use domain::Role;
use store::{AttendeeData, MeetingData, NewPerson, NewUser, SessionLookup, Store, StoreError, User};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn user(store: &Store, tenant: &str, email: &str) -> User {
    store
        .create_user(tenant, NewUser { email, display_name: email, password_hash: "x", role: Role::User, time_zone: "Europe/Copenhagen", week_start: 0 })
        .await
        .unwrap()
}

/// A meeting's data as a sync or the editor hands it to the store.
fn meeting(subject: &str, start: &str, end: &str) -> MeetingData {
    MeetingData {
        subject: subject.into(),
        location: String::new(),
        description: String::new(),
        description_html: false,
        start: at(start),
        end: at(end),
        all_day: false,
        time_zone: "Europe/Copenhagen".into(),
        private: false,
        cancelled: false,
        organiser_email: String::new(),
        ical_uid: None,
        original_start: None,
        is_exception: false,
        attendees: Vec::new(),
    }
}

fn attendee(email: &str) -> AttendeeData {
    AttendeeData { email: email.into(), display_name: String::new(), response: "needsAction".into(), is_organiser: false }
}

/// Writes a meeting the one way meetings are written (the sync transaction): its record, then
/// the calendars it sits in.
async fn add(s: &Store, tenant: &str, m: &MeetingData, calendars: &[&User]) -> Result<String, StoreError> {
    let mut tx = s.begin_sync(tenant).await?;
    let id = tx.insert_meeting(m).await?;
    for u in calendars {
        tx.add_local_copy(&id, &u.id).await?;
    }
    tx.commit().await?;
    Ok(id)
}

async fn subjects_in(store: &Store, tenant: &str, viewer: &User, users: &[&User], from: &str, to: &str) -> Vec<String> {
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    store.calendar_entries(tenant, &viewer.id, &ids, at(from), at(to)).await.unwrap().into_iter().map(|e| e.subject).collect()
}

#[tokio::test]
async fn users_are_unique_by_email_and_kept_per_tenant() {
    // F-X-1
    on_each_backend(|s| async move {
        let a = s.create_tenant("Acme").await.unwrap();
        let b = s.create_tenant("Beta").await.unwrap();
        let alice = user(&s, &a.id, "Alice@Acme.example").await;
        assert_eq!(alice.email, "alice@acme.example");
        assert_eq!(alice.role, Role::User);
        assert!(alice.show_weekends);
        let dup = s
            .create_user(&b.id, NewUser { email: "ALICE@acme.example", display_name: "x", password_hash: "x", role: Role::User, time_zone: "UTC", week_start: 0 })
            .await;
        assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
        user(&s, &b.id, "bob@beta.example").await;

        let (found, hash) = s.user_for_sign_in(" ALICE@acme.example ").await.unwrap().unwrap();
        assert_eq!((found.id.as_str(), hash.as_str()), (alice.id.as_str(), "x"));
        assert!(s.user_for_sign_in("nobody@acme.example").await.unwrap().is_none());

        let acme_users: Vec<String> = s.users(&a.id).await.unwrap().into_iter().map(|u| u.email).collect();
        assert_eq!(acme_users, vec!["alice@acme.example"]);
        // Another tenant's id never finds the user.
        assert!(matches!(s.user(&b.id, &alice.id).await, Err(StoreError::NotFound)));

        s.set_show_weekends(&a.id, &alice.id, false).await.unwrap();
        assert!(!s.user(&a.id, &alice.id).await.unwrap().show_weekends);
        assert!(matches!(s.set_show_weekends(&b.id, &alice.id, true).await, Err(StoreError::NotFound)));
    })
    .await;
}

#[tokio::test]
async fn sessions_valid_expired_unknown() {
    on_each_backend(|s| async move {
        let t = s.create_tenant("Acme").await.unwrap();
        let alice = user(&s, &t.id, "alice@acme.example").await;
        let now = at("2026-11-26T10:00:00Z");
        s.create_session("h1", &alice, now).await.unwrap();
        assert_eq!(s.session("h1", now).await.unwrap(), SessionLookup::Valid(alice.clone()));
        assert_eq!(s.session("nope", now).await.unwrap(), SessionLookup::Unknown);
        let later = now + chrono::TimeDelta::seconds(store::SESSION_LIFETIME_SECS);
        assert_eq!(s.session("h1", later).await.unwrap(), SessionLookup::Expired);
        s.delete_session("h1").await.unwrap();
        assert_eq!(s.session("h1", now).await.unwrap(), SessionLookup::Unknown);
    })
    .await;
}

#[tokio::test]
async fn login_failures_counted_in_window() {
    on_each_backend(|s| async move {
        let t0 = at("2026-11-26T10:00:00Z");
        for i in 0..3 {
            s.record_login_failure("email:a@b", t0 + chrono::TimeDelta::minutes(i * 10)).await.unwrap();
        }
        assert_eq!(s.login_failures_since("email:a@b", t0).await.unwrap(), 3);
        assert_eq!(s.login_failures_since("email:a@b", t0 + chrono::TimeDelta::minutes(15)).await.unwrap(), 1);
        assert_eq!(s.login_failures_since("email:other", t0).await.unwrap(), 0);
        s.clear_login_failures("email:a@b").await.unwrap();
        assert_eq!(s.login_failures_since("email:a@b", t0).await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn meeting_round_trip_with_attendees_and_links() {
    on_each_backend(|s| async move {
        let t = s.create_tenant("Acme").await.unwrap();
        let alice = user(&s, &t.id, "alice@acme.example").await;
        let bob = user(&s, &t.id, "bob@acme.example").await;
        let org = s.create_organisation(&t.id, "Nordic Shipping").await.unwrap();
        let person = s
            .create_person(&t.id, NewPerson { organisation_id: Some(&org.id), name: "Ida", email: "ida@nordic.example", phone: "" })
            .await
            .unwrap();
        let mut m = meeting("Kick-off", "2026-11-23T09:00:00Z", "2026-11-23T10:00:00Z");
        m.location = "Room 1".into();
        m.private = true;
        m.organiser_email = "Alice@acme.example".into();
        m.ical_uid = Some("uid-1@acme".into());
        m.attendees = vec![attendee("bob@acme.example"), attendee("ida@nordic.example"), attendee("guest@elsewhere.example")];
        let id = add(&s, &t.id, &m, &[&alice, &bob]).await.unwrap();

        let mut tx = s.begin_sync(&t.id).await.unwrap();
        let saved = tx.meeting(&id).await.unwrap().unwrap();
        assert_eq!((saved.data.subject.as_str(), saved.data.location.as_str()), ("Kick-off", "Room 1"));
        assert_eq!((saved.data.start, saved.data.end), (m.start, m.end));
        assert!(saved.data.private && !saved.data.all_day);
        assert_eq!(saved.data.time_zone, "Europe/Copenhagen");
        assert_eq!(saved.data.ical_uid.as_deref(), Some("uid-1@acme"));
        // The organiser and the attendees are linked to the company's users and persons by address.
        assert_eq!(saved.organiser_user_id.as_deref(), Some(alice.id.as_str()));
        let linked = tx.linked_attendees(&id).await.unwrap();
        let link = |email: &str| linked.iter().find(|a| a.email == email).map(|a| (a.user_id.clone(), a.person_id.clone()));
        assert_eq!(link("bob@acme.example"), Some((Some(bob.id.clone()), None)));
        assert_eq!(link("ida@nordic.example"), Some((None, Some(person.id.clone()))));
        assert_eq!(link("guest@elsewhere.example"), Some((None, None)));
        assert!(linked.iter().all(|a| a.response == "needsAction"));
        // The person's organisation is linked through her (F-X-13).
        assert_eq!(tx.organisation_links(&id).await.unwrap().iter().map(|o| o.organisation_id.clone()).collect::<Vec<_>>(), vec![org.id.clone()]);
        let mut cals: Vec<String> = tx.copies_of_meeting(&id).await.unwrap().into_iter().map(|c| c.user_id).collect();
        cals.sort();
        let mut expected = vec![alice.id.clone(), bob.id.clone()];
        expected.sort();
        assert_eq!(cals, expected);
        tx.commit().await.unwrap();
        assert_eq!(s.meeting_count(&t.id).await.unwrap(), 1);

        // The same iCalUID again in this tenant is refused (one meeting, several copies: F-X-3) …
        let mut again = meeting("Copy", "2026-11-23T09:00:00Z", "2026-11-23T10:00:00Z");
        again.ical_uid = Some("uid-1@acme".into());
        assert!(matches!(add(&s, &t.id, &again, &[&bob]).await, Err(StoreError::Conflict(_))));
        // … but another tenant may have its own meeting with that iCalUID.
        let other = s.create_tenant("Other").await.unwrap();
        let carol = user(&s, &other.id, "carol@other.example").await;
        let mut theirs = meeting("Theirs", "2026-11-23T09:00:00Z", "2026-11-23T10:00:00Z");
        theirs.ical_uid = Some("uid-1@acme".into());
        add(&s, &other.id, &theirs, &[&carol]).await.unwrap();

        // Other tenants can neither read it nor delete it.
        let mut theirs_tx = s.begin_sync(&other.id).await.unwrap();
        assert!(theirs_tx.meeting(&id).await.unwrap().is_none());
        theirs_tx.delete_meeting(&id).await.unwrap();
        theirs_tx.commit().await.unwrap();
        assert!(s.sync_meeting(&t.id, &id).await.unwrap().is_some());
        let mut tx = s.begin_sync(&t.id).await.unwrap();
        tx.delete_meeting(&id).await.unwrap();
        tx.commit().await.unwrap();
        assert!(s.sync_meeting(&t.id, &id).await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn records_of_another_tenant_cannot_be_attached() {
    // F-X-1: another company's user, person or organisation is never linked to a meeting.
    on_each_backend(|s| async move {
        let a = s.create_tenant("A").await.unwrap();
        let b = s.create_tenant("B").await.unwrap();
        let alice = user(&s, &a.id, "alice@a.example").await;
        let bert = user(&s, &b.id, "bert@b.example").await;
        let b_org = s.create_organisation(&b.id, "B Org").await.unwrap();
        s.create_person(&b.id, NewPerson { organisation_id: Some(&b_org.id), name: "Bea", email: "bea@b.example", phone: "" }).await.unwrap();

        // Not into their calendar, and the transaction is refused whole.
        let x = meeting("x", "2026-11-23T09:00:00Z", "2026-11-23T10:00:00Z");
        assert!(matches!(add(&s, &a.id, &x, &[&alice, &bert]).await, Err(StoreError::NotFound)));
        assert_eq!(s.meeting_count(&a.id).await.unwrap(), 0);
        // Not to their organisation.
        let id = add(&s, &a.id, &x, &[&alice]).await.unwrap();
        let mut tx = s.begin_sync(&a.id).await.unwrap();
        assert!(tx.set_organisation_links(&id, std::slice::from_ref(&b_org.id)).await.is_err());
        drop(tx);
        // Their users' and persons' addresses stay plain addresses here (organiser included).
        let mut m = meeting("y", "2026-11-23T09:00:00Z", "2026-11-23T10:00:00Z");
        m.organiser_email = "bert@b.example".into();
        m.attendees = vec![attendee("bea@b.example"), attendee("bert@b.example")];
        let id = add(&s, &a.id, &m, &[&alice]).await.unwrap();
        let mut tx = s.begin_sync(&a.id).await.unwrap();
        assert_eq!(tx.meeting(&id).await.unwrap().unwrap().organiser_user_id, None);
        assert!(tx.linked_attendees(&id).await.unwrap().iter().all(|l| l.user_id.is_none() && l.person_id.is_none()));
        assert!(tx.organisation_links(&id).await.unwrap().is_empty());
        tx.commit().await.unwrap();
        let b_person = s.create_person(&a.id, NewPerson { organisation_id: Some(&b_org.id), name: "p", email: "", phone: "" }).await;
        assert!(matches!(b_person, Err(StoreError::NotFound)));
        assert!(s.persons(&a.id, None).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn calendar_entries_overlap_window_per_user() {
    // F-CAL-4: the calendar loads meetings overlapping the shown range, per shown user.
    on_each_backend(|s| async move {
        let t = s.create_tenant("Acme").await.unwrap();
        let alice = user(&s, &t.id, "alice@acme.example").await;
        let bob = user(&s, &t.id, "bob@acme.example").await;
        let meetings: [(&str, &str, &str, &[&User]); 10] = [
            ("before", "2026-11-22T09:00:00Z", "2026-11-23T00:00:00Z", &[&alice]), // ends at window start: out
            ("crosses-start", "2026-11-22T23:00:00Z", "2026-11-23T01:00:00Z", &[&alice]),
            ("inside", "2026-11-24T09:00:00Z", "2026-11-24T10:00:00Z", &[&alice, &bob]),
            ("bob-only", "2026-11-24T11:00:00Z", "2026-11-24T12:00:00Z", &[&bob]),
            ("at-end", "2026-11-30T00:00:00Z", "2026-11-30T01:00:00Z", &[&alice]), // starts at window end: out
            ("six-day trip", "2026-11-18T00:00:00Z", "2026-11-24T00:00:00Z", &[&alice]),
            ("sabbatical", "2026-09-01T00:00:00Z", "2027-01-01T00:00:00Z", &[&alice]), // long span
            // Long spans are found by their end (migration 0007): one over before the window
            // and one starting at its end stay out.
            ("summer holiday", "2026-07-01T00:00:00Z", "2026-07-22T00:00:00Z", &[&alice]),
            ("winter course", "2026-11-30T00:00:00Z", "2026-12-14T00:00:00Z", &[&alice]),
            ("old", "2026-01-01T09:00:00Z", "2026-01-01T10:00:00Z", &[&alice]),
        ];
        for (subject, start, end, calendars) in meetings {
            add(&s, &t.id, &meeting(subject, start, end), calendars).await.unwrap();
        }
        let (from, to) = ("2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z");
        let mut got = subjects_in(&s, &t.id, &alice, &[&alice], from, to).await;
        got.sort();
        assert_eq!(got, vec!["crosses-start", "inside", "sabbatical", "six-day trip"]);
        // Two calendars: the shared meeting appears once per calendar, ordered by start.
        let both = subjects_in(&s, &t.id, &alice, &[&alice, &bob], "2026-11-24T00:00:00Z", "2026-11-25T00:00:00Z").await;
        assert_eq!(both, vec!["sabbatical", "inside", "inside", "bob-only"]);
        // Another tenant sees nothing of these users.
        let other = s.create_tenant("Other").await.unwrap();
        assert!(subjects_in(&s, &other.id, &alice, &[&alice], from, to).await.is_empty());
        // Empty or reversed windows are empty, not errors.
        assert!(subjects_in(&s, &t.id, &alice, &[&alice], to, from).await.is_empty());
        assert!(subjects_in(&s, &t.id, &alice, &[], from, to).await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn private_meetings_flag_who_participates() {
    // F-CAL-10: the store tells whether the viewer takes part; the app redacts the rest.
    on_each_backend(|s| async move {
        let t = s.create_tenant("Acme").await.unwrap();
        let alice = user(&s, &t.id, "alice@acme.example").await;
        let bob = user(&s, &t.id, "bob@acme.example").await;
        let carol = user(&s, &t.id, "carol@acme.example").await;
        let mut m = meeting("Doctor", "2026-11-24T09:00:00Z", "2026-11-24T10:00:00Z");
        m.private = true;
        m.attendees = vec![attendee("carol@acme.example")];
        add(&s, &t.id, &m, &[&bob]).await.unwrap();
        let ids = vec![bob.id.clone()];
        let (from, to) = (at("2026-11-24T00:00:00Z"), at("2026-11-25T00:00:00Z"));
        for (viewer, participates) in [(&alice, false), (&bob, true), (&carol, true)] {
            let entries = s.calendar_entries(&t.id, &viewer.id, &ids, from, to).await.unwrap();
            assert_eq!(entries.len(), 1);
            assert!(entries[0].private);
            assert_eq!(entries[0].viewer_participates, participates, "viewer {}", viewer.email);
        }
    })
    .await;
}

#[tokio::test]
async fn an_update_moves_every_calendar_copy() {
    on_each_backend(|s| async move {
        let t = s.create_tenant("Acme").await.unwrap();
        let alice = user(&s, &t.id, "alice@acme.example").await;
        let bob = user(&s, &t.id, "bob@acme.example").await;
        let m = meeting("Review", "2026-11-24T09:00:00Z", "2026-11-24T10:00:00Z");
        let id = add(&s, &t.id, &m, &[&alice, &bob]).await.unwrap();
        // Move it two weeks on and make it a ten-day (long-span) all-day event.
        let moved = MeetingData { start: at("2026-12-07T00:00:00Z"), end: at("2026-12-17T00:00:00Z"), all_day: true, ..m.clone() };
        let mut tx = s.begin_sync(&t.id).await.unwrap();
        assert!(tx.update_meeting(&id, 1, &moved).await.unwrap());
        // A second writer holding version 1 is refused.
        assert!(!tx.update_meeting(&id, 1, &m).await.unwrap());
        tx.commit().await.unwrap();
        assert!(subjects_in(&s, &t.id, &alice, &[&alice, &bob], "2026-11-24T00:00:00Z", "2026-11-25T00:00:00Z").await.is_empty());
        let later = subjects_in(&s, &t.id, &alice, &[&alice, &bob], "2026-12-15T00:00:00Z", "2026-12-16T00:00:00Z").await;
        assert_eq!(later, vec!["Review", "Review"]);
        let reread = s.sync_meeting(&t.id, &id).await.unwrap().unwrap();
        assert!(reread.data.all_day);
        assert_eq!(reread.version, 2);
        // Another company's transaction does not reach it.
        let other = s.create_tenant("Other").await.unwrap();
        let mut tx = s.begin_sync(&other.id).await.unwrap();
        assert!(!tx.update_meeting(&id, 2, &m).await.unwrap());
        tx.commit().await.unwrap();
        assert_eq!(s.sync_meeting(&t.id, &id).await.unwrap().unwrap().version, 2);
    })
    .await;
}

#[tokio::test]
async fn persons_by_organisation() {
    // F-CRM-1
    on_each_backend(|s| async move {
        let t = s.create_tenant("Acme").await.unwrap();
        let org = s.create_organisation(&t.id, "Nordic").await.unwrap();
        s.create_person(&t.id, NewPerson { organisation_id: Some(&org.id), name: "Ida", email: "ida@n.example", phone: "" }).await.unwrap();
        s.create_person(&t.id, NewPerson { organisation_id: None, name: "Solo", email: "", phone: "" }).await.unwrap();
        let of_org: Vec<String> = s.persons(&t.id, Some(&org.id)).await.unwrap().into_iter().map(|p| p.name).collect();
        assert_eq!(of_org, vec!["Ida"]);
        assert_eq!(s.persons(&t.id, None).await.unwrap().len(), 2);
        assert_eq!(s.organisations(&t.id).await.unwrap(), vec![org]);
    })
    .await;
}

#[test]
fn postgres_url_rewriting() {
    assert_eq!(common::with_database("postgres://postgres@127.0.0.1:5432/ci_1", "x"), "postgres://postgres@127.0.0.1:5432/x");
    assert_eq!(common::with_database("postgres://u@h/db?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
}

#[tokio::test]
async fn calendar_connections_one_per_user_and_kept_per_tenant() {
    // F-ADM-5 (calendar connections), F-X-1 (tenants apart)
    on_each_backend(|s| async move {
        let a = s.create_tenant("Acme").await.unwrap();
        let b = s.create_tenant("Beta").await.unwrap();
        let alice = user(&s, &a.id, "alice@acme.example").await;
        let new = |sealed: &'static str| store::NewConnection {
            user_id: "",
            provider: domain::ProviderKind::Ews,
            auth_kind: domain::AuthKind::Basic,
            mailbox: "Alice@Acme.example",
            account: "alice@acme.example",
            ews_url: "https://mail.acme.example/EWS/Exchange.asmx",
            sealed_secret: sealed,
        };
        let c = s.create_connection(&a.id, store::NewConnection { user_id: &alice.id, ..new("v1.k.sealed") }).await.unwrap();
        assert_eq!((c.mailbox.as_str(), c.status.as_str(), c.sealed_secret.as_str()), ("alice@acme.example", "active", "v1.k.sealed"));
        assert!(matches!(
            s.create_connection(&a.id, store::NewConnection { user_id: &alice.id, ..new("v1.k.other") }).await,
            Err(StoreError::Conflict(_))
        ));
        // Another tenant can neither attach a connection to Alice nor see hers.
        assert!(matches!(s.create_connection(&b.id, store::NewConnection { user_id: &alice.id, ..new("x") }).await, Err(StoreError::NotFound)));
        assert!(s.connections(&b.id).await.unwrap().is_empty());
        assert!(matches!(s.delete_connection(&b.id, &c.id).await, Err(StoreError::NotFound)));

        let reason = domain::StatusReason::PasswordRefused { detail: "401 Unauthorized".into() };
        s.set_connection_status(&a.id, &c.id, domain::ConnectionStatus::NeedsReconnect, &reason).await.unwrap();
        s.set_connection_secret(&a.id, &c.id, "v1.k2.resealed").await.unwrap();
        let got = s.connection_of_user(&a.id, &alice.id).await.unwrap().unwrap();
        assert_eq!((got.status, &got.status_reason, got.sealed_secret.as_str()), (domain::ConnectionStatus::NeedsReconnect, &reason, "v1.k2.resealed"));
        assert_eq!(s.all_connections().await.unwrap().len(), 1);
        s.delete_connection(&a.id, &c.id).await.unwrap();
        assert_eq!(s.connection_of_user(&a.id, &alice.id).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn colleagues_listed_are_the_synchronised_ones_by_name() {
    // F-CAL-7: the picker lists users whose calendar is connected and has synchronised, by
    // name; users without a connection, or never synchronised, and other tenants are not listed.
    on_each_backend(|s| async move {
        let a = s.create_tenant("Acme").await.unwrap();
        let b = s.create_tenant("Beta").await.unwrap();
        let mut synced = Vec::new();
        for (tenant, email, name) in [(&a.id, "zoe@acme.example", "Zoë Ørsted"), (&a.id, "ann@acme.example", "Ann Berg"), (&b.id, "bo@beta.example", "Bo Beta")] {
            let u = s.create_user(tenant, NewUser { email, display_name: name, password_hash: "x", role: Role::User, time_zone: "UTC", week_start: 0 }).await.unwrap();
            let c = store::NewConnection { user_id: &u.id, provider: domain::ProviderKind::Google, auth_kind: domain::AuthKind::OAuth, mailbox: email, account: "", ews_url: "", sealed_secret: "v1.k.s" };
            let c = s.create_connection(tenant, c).await.unwrap();
            s.finish_sync(tenant, &c.id, Utc::now(), Ok(())).await.unwrap();
            synced.push(u.id);
        }
        user(&s, &a.id, "nils@acme.example").await; // no calendar
        connection_for(&s, &a.id, "never@acme.example").await; // connected, never synchronised
        let listed: Vec<(String, String)> = s.users_with_synced_calendars(&a.id).await.unwrap().into_iter().map(|u| (u.id, u.display_name)).collect();
        assert_eq!(listed, vec![(synced[1].clone(), "Ann Berg".to_string()), (synced[0].clone(), "Zoë Ørsted".to_string())]);
    })
    .await;
}

#[tokio::test]
async fn calendar_copies_are_read_from_covering_indexes_on_sqlite() {
    // Page speed (issue 9, migrations 0007 and 0008): the bundled SQLite finds the period's copies in
    // the indexes alone — short meetings by start, long ones by end — without reading the
    // copies table (a partial index counts as covering only when it holds `long_span` too).
    let db = store::testing::TestDb::sqlite().await;
    let plan = |sql: &'static str| {
        let pool = db.store.pool().clone();
        async move {
            let rows = sqlx::query(&format!("EXPLAIN QUERY PLAN {sql}")).fetch_all(&pool).await.unwrap();
            rows.iter().map(|r| sqlx::Row::try_get::<String, _>(r, "detail").unwrap()).collect::<Vec<_>>().join("\n")
        }
    };
    // (The columns the calendar query reads: everything it shows comes from the copy.)
    let short = plan("SELECT c.meeting_id, c.subject, c.location, c.all_day, c.is_private, c.organiser_user_id, c.version, c.occurrence, c.has_notice, c.response FROM meeting_copies c WHERE c.tenant_id = 't' AND c.user_id IN ('a', 'b') AND NOT c.long_span AND c.start_at >= 1 AND c.start_at < 9 AND c.end_at > 2 AND NOT c.hidden").await;
    assert!(short.contains("COVERING INDEX meeting_copies_range"), "{short}");
    let long = plan("SELECT c.meeting_id, c.subject, c.location, c.all_day, c.is_private, c.organiser_user_id, c.version, c.occurrence, c.has_notice, c.response FROM meeting_copies c WHERE c.tenant_id = 't' AND c.user_id IN ('a', 'b') AND c.long_span AND c.start_at < 9 AND c.end_at > 2 AND NOT c.hidden").await;
    assert!(long.contains("COVERING INDEX meeting_copies_long") && long.contains("end_at>?"), "{long}");
    db.finish().await;
}

/// What the calendar shows of one meeting in `user`'s calendar: subject, location, private,
/// version, response, notice — or None when it is not shown.
async fn shown(s: &Store, tenant: &str, user: &User, meeting: &str) -> Option<(String, String, bool, i64, Option<String>, String)> {
    let entries = s.calendar_entries(tenant, &user.id, std::slice::from_ref(&user.id), at("2027-03-01T00:00:00Z"), at("2027-03-08T00:00:00Z")).await.unwrap();
    entries.into_iter().find(|e| e.meeting_id == meeting).map(|e| (e.subject, e.location, e.private, e.version, e.response, e.notice))
}

#[tokio::test]
async fn the_calendar_follows_every_change_to_a_meeting_its_copies_and_its_answers() {
    // F-CAL-1, F-CAL-10 (issue 9, migration 0008): the calendar reads what it shows from the
    // meeting's copies; whatever code changes the meeting, its attendees or its copies, the
    // calendar shows the change at once.
    on_each_backend(|s| async move {
        let t = s.create_tenant("Acme").await.unwrap().id;
        let (ann, bo) = (user(&s, &t, "ann@acme.example").await, user(&s, &t, "bo@acme.example").await);
        let answer = |email: &str, response: &str| store::AttendeeData { email: email.into(), display_name: String::new(), response: response.into(), is_organiser: false };
        let mut data = store::MeetingData {
            subject: "Pricing".into(),
            location: "Room 1".into(),
            description: String::new(),
            description_html: false,
            start: at("2027-03-02T09:00:00Z"),
            end: at("2027-03-02T10:00:00Z"),
            all_day: false,
            time_zone: "Europe/Copenhagen".into(),
            private: false,
            cancelled: false,
            organiser_email: "someone@else.example".into(),
            ical_uid: None,
            original_start: None,
            is_exception: false,
            attendees: vec![answer("bo@acme.example", "tentative")],
        };
        let mut tx = s.begin_sync(&t).await.unwrap();
        let id = tx.insert_meeting(&data).await.unwrap();
        tx.add_local_copy(&id, &ann.id).await.unwrap();
        tx.add_local_copy(&id, &bo.id).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(shown(&s, &t, &ann, &id).await, Some(("Pricing".into(), "Room 1".into(), false, 1, None, String::new())));
        assert_eq!(shown(&s, &t, &bo, &id).await, Some(("Pricing".into(), "Room 1".into(), false, 1, Some("tentative".into()), String::new())));

        // A sync changes subject, place, privacy and answers (Ann now attends, Bo declines).
        data.subject = "Pricing, round two".into();
        data.location = "Room 2".into();
        data.private = true;
        data.attendees = vec![answer("ann@acme.example", "accepted"), answer("bo@acme.example", "declined")];
        let mut tx = s.begin_sync(&t).await.unwrap();
        assert!(tx.update_meeting(&id, 1, &data).await.unwrap());
        tx.set_sync_notice(&id, "{\"code\":\"write_failed\"}").await.unwrap();
        tx.commit().await.unwrap();
        let now = shown(&s, &t, &ann, &id).await.unwrap();
        assert_eq!((now.0.as_str(), now.1.as_str(), now.2, now.3, now.4.as_deref(), now.5.as_str()), ("Pricing, round two", "Room 2", true, 2, Some("accepted"), "{\"code\":\"write_failed\"}"));
        assert_eq!(shown(&s, &t, &bo, &id).await.unwrap().4.as_deref(), Some("declined"));
        // An answer given in the CRM.
        s.set_attendee_response(&t, &id, &bo.id, "accepted").await.unwrap();
        assert_eq!(shown(&s, &t, &bo, &id).await.unwrap().4.as_deref(), Some("accepted"));
        // Bo is taken off the attendees: no answer any more.
        data.attendees = vec![answer("ann@acme.example", "accepted")];
        let mut tx = s.begin_sync(&t).await.unwrap();
        assert!(tx.update_meeting(&id, 2, &data).await.unwrap());
        tx.commit().await.unwrap();
        assert_eq!(shown(&s, &t, &bo, &id).await.unwrap().4, None);

        // Deleted in the CRM (waiting for the provider): gone from the calendar; restored: back.
        let version = shown(&s, &t, &ann, &id).await.unwrap().3;
        let mut tx = s.begin_sync(&t).await.unwrap();
        assert!(tx.mark_deleted(&id, version).await.unwrap());
        tx.commit().await.unwrap();
        assert_eq!(shown(&s, &t, &ann, &id).await, None);
        let mut tx = s.begin_sync(&t).await.unwrap();
        tx.restore_meeting(&id).await.unwrap();
        tx.commit().await.unwrap();
        assert!(shown(&s, &t, &ann, &id).await.is_some());
        // Cancelled by its organiser: kept, not shown.
        data.cancelled = true;
        let version = shown(&s, &t, &ann, &id).await.unwrap().3;
        let mut tx = s.begin_sync(&t).await.unwrap();
        assert!(tx.update_meeting(&id, version, &data).await.unwrap());
        tx.commit().await.unwrap();
        assert_eq!(shown(&s, &t, &ann, &id).await, None);

        // Two meetings found to be one: the copy moved over shows the meeting it now belongs to.
        let other = store::MeetingData { subject: "x".repeat(300), cancelled: false, attendees: Vec::new(), ..data.clone() };
        let mut tx = s.begin_sync(&t).await.unwrap();
        let keep = tx.insert_meeting(&other).await.unwrap();
        let dup = tx.insert_meeting(&store::MeetingData { subject: "Pricing (dup)".into(), ..other.clone() }).await.unwrap();
        tx.add_local_copy(&dup, &bo.id).await.unwrap();
        tx.absorb(&keep, &dup).await.unwrap();
        tx.commit().await.unwrap();
        // (A subject longer than the editor allows is shown up to its limit.)
        assert_eq!(shown(&s, &t, &bo, &keep).await.unwrap().0, "x".repeat(255));
    })
    .await;
}

async fn connection_for(s: &Store, tenant: &str, email: &str) -> String {
    let u = user(s, tenant, email).await;
    let c = store::NewConnection { user_id: &u.id, provider: domain::ProviderKind::Ews, auth_kind: domain::AuthKind::Basic, mailbox: email, account: email, ews_url: "https://x/EWS/Exchange.asmx", sealed_secret: "v1.k.s" };
    s.create_connection(tenant, c).await.unwrap().id
}

#[tokio::test]
async fn a_company_with_the_integration_off_is_neither_run_nor_polled_and_the_switch_is_logged() {
    // F-ADM-1: with the switch off, nothing syncs (jobs wait, nothing is lost); every switch
    // is in the company's audit log (and only there).
    on_each_backend(|s| async move {
        let on = s.create_tenant("On").await.unwrap().id;
        let off = s.create_tenant("Off").await.unwrap().id;
        assert!(!s.calendar_integration(&off).await.unwrap(), "new companies start with it off");
        let admin = Actor::user("u1", "Ada Admin");
        assert!(s.set_calendar_integration(&on, true, &admin, at("2027-03-01T08:00:00Z")).await.unwrap());
        assert!(!s.set_calendar_integration(&on, true, &admin, at("2027-03-01T08:01:00Z")).await.unwrap(), "already on: no change, no entry");
        let (a, b) = (connection_for(&s, &on, "a@on.example").await, connection_for(&s, &off, "b@off.example").await);
        let now = at("2027-03-01T09:00:00Z");
        // Both past their first sync (before it, a calendar waits for Synchronise, not polling).
        s.finish_sync(&on, &a, now - chrono::Duration::hours(1), Ok(())).await.unwrap();
        s.finish_sync(&off, &b, now - chrono::Duration::hours(1), Ok(())).await.unwrap();
        s.enqueue_job(&on, job(&a, Some("sync:a"), now)).await.unwrap();
        s.enqueue_job(&off, job(&b, Some("write:m:b"), now)).await.unwrap();
        let lease = now + chrono::Duration::seconds(30);
        let claimed: Vec<_> = s.claim_jobs("w", now, lease, 10).await.unwrap().into_iter().map(|j| j.connection_id.unwrap()).collect();
        assert_eq!(claimed, vec![a.clone()]);
        let polled: Vec<_> = s.connections_synced_before(now, 10).await.unwrap().into_iter().map(|c| c.id).collect();
        assert_eq!(polled, vec![a.clone()]);
        let renewed: Vec<_> = s.connections_push_due(now, 10).await.unwrap().into_iter().map(|c| c.id).collect();
        assert_eq!(renewed, vec![a.clone()]);

        // Switched on: the waiting write runs.
        assert!(s.set_calendar_integration(&off, true, &admin, at("2027-03-01T09:30:00Z")).await.unwrap());
        let claimed: Vec<_> = s.claim_jobs("w", now, lease, 10).await.unwrap().into_iter().map(|j| j.coalesce_key.unwrap()).collect();
        assert_eq!(claimed, vec!["write:m:b".to_string()]);
        let operator = Actor::operator();
        assert!(s.set_calendar_integration(&off, false, &operator, at("2027-03-01T10:00:00Z")).await.unwrap());
        assert!(!s.calendar_integration(&off).await.unwrap());
        assert!(matches!(s.calendar_integration("nope").await, Err(StoreError::NotFound)));

        // The log: newest first, a page at a time, each company its own.
        let disconnected = Action::CalendarDisconnected { user: "Bo".into(), mailbox: "b@off.example".into(), provider: domain::ProviderKind::Ews };
        s.record_audit(&off, &admin, &disconnected, at("2027-03-01T10:00:00Z")).await.unwrap();
        let log = s.audit_log(&off, None, 10).await.unwrap();
        let actions: Vec<_> = log.iter().map(|e| (e.actor.name.as_str(), e.action.clone())).collect();
        assert_eq!(
            actions,
            vec![("Ada Admin", disconnected.clone()), ("", Action::Integration { on: false }), ("Ada Admin", Action::Integration { on: true })],
            "same millisecond: the later entry first"
        );
        assert_eq!(log[0].at, at("2027-03-01T10:00:00Z").timestamp_millis());
        assert_eq!(log[0].actor.user_id.as_deref(), Some("u1"));
        let page1 = s.audit_log(&off, None, 2).await.unwrap();
        let page2 = s.audit_log(&off, Some((page1[1].at, &page1[1].id)), 2).await.unwrap();
        assert_eq!(page2, log[2..].to_vec());
        assert_eq!(s.audit_log(&on, None, 10).await.unwrap().len(), 1, "the other company's log has its own switch only");
    })
    .await;
}

fn job<'a>(connection: &'a str, key: Option<&'a str>, run_at: DateTime<Utc>) -> store::NewJob<'a> {
    store::NewJob { connection_id: Some(connection), kind: store::JobKind::Sync, coalesce_key: key, payload: "{}", run_at, flags: 0 }
}

#[tokio::test]
async fn jobs_coalesce_lease_and_run_one_per_connection() {
    // F-X-4: durable queue (coalescing, leases taken over after a crash, one job per connection)
    on_each_backend(|s| async move {
        let t = s.create_tenant("Acme").await.unwrap().id;
        s.set_calendar_integration(&t, true, &Actor::operator(), Utc::now()).await.unwrap();
        let (a, b) = (connection_for(&s, &t, "a@acme.example").await, connection_for(&s, &t, "b@acme.example").await);
        let now = at("2027-03-01T09:00:00Z");
        let later = now + chrono::Duration::minutes(5);
        let key_a = format!("sync:{a}");
        // Ten requests to sync A are one job, due at the earliest time asked.
        assert!(s.enqueue_job(&t, job(&a, Some(&key_a), later)).await.unwrap());
        for _ in 0..9 {
            assert!(!s.enqueue_job(&t, job(&a, Some(&key_a), now)).await.unwrap());
        }
        assert!(s.enqueue_job(&t, job(&a, Some("write:1"), now)).await.unwrap());
        assert!(s.enqueue_job(&t, job(&b, Some(&format!("sync:{b}")), now)).await.unwrap());
        assert!(s.enqueue_job(&t, job(&b, None, later)).await.unwrap());
        assert_eq!(s.job_count().await.unwrap(), 4);
        // The calendar page asks in one query which of its calendars have a sync waiting.
        let key_b = format!("sync:{b}");
        let asked = [key_a.clone(), key_b.clone(), "sync:nobody".to_string()];
        let waiting = s.jobs_pending(&asked).await.unwrap();
        assert_eq!(waiting, [key_a.clone(), key_b.clone()].into_iter().collect());

        // One job per connection at a time; the not-yet-due one waits.
        let lease = now + chrono::Duration::seconds(30);
        let got = s.claim_jobs("w1", now, lease, 10).await.unwrap();
        let mut conns: Vec<_> = got.iter().map(|j| j.connection_id.clone().unwrap()).collect();
        conns.sort();
        let mut want = vec![a.clone(), b.clone()];
        want.sort();
        assert_eq!(conns, want, "{got:?}");
        assert!(s.claim_jobs("w2", now, lease, 10).await.unwrap().is_empty(), "both connections busy");
        // A job being run is no longer waiting (both syncs were due and are taken): a page load
        // may queue the next sync.
        assert!(conns.len() == 2 && got.iter().filter(|j| j.coalesce_key.as_deref().is_some_and(|k| k.starts_with("sync:"))).count() == 2, "{got:?}");
        assert!(s.jobs_pending(&asked).await.unwrap().is_empty());

        // A worker dies: after its lease, another takes the job over (attempt 2).
        let a_job = got.iter().find(|j| j.connection_id.as_deref() == Some(&a)).unwrap().clone();
        let b_job = got.iter().find(|j| j.connection_id.as_deref() == Some(&b)).unwrap().clone();
        assert!(s.complete_job(&b_job.id, "w1").await.unwrap());
        let after = lease + chrono::Duration::seconds(1);
        let taken = s.claim_jobs("w2", after, after + chrono::Duration::seconds(30), 10).await.unwrap();
        let retaken = taken.iter().find(|j| j.id == a_job.id).expect("expired lease taken over");
        assert_eq!(retaken.attempts, 2);
        assert!(!s.complete_job(&a_job.id, "w1").await.unwrap(), "the old worker no longer owns it");

        // While it runs, a new sync request queues a successor; a failure then merges into it.
        assert!(s.enqueue_job(&t, job(&a, Some(retaken.coalesce_key.as_deref().unwrap()), after)).await.unwrap());
        let back_in_queue = s.release_job(&retaken.id, "w2", after + chrono::Duration::seconds(10), "throttled").await.unwrap();
        assert!(!back_in_queue, "dropped in favour of the pending successor");
        let pending: Vec<_> = s.jobs_of_connection(&t, &a).await.unwrap().into_iter().filter(|j| j.coalesce_key == retaken.coalesce_key).collect();
        assert_eq!(pending.len(), 1, "merged into the pending successor: {pending:?}");
    })
    .await;
}

#[tokio::test]
async fn concurrent_workers_never_take_the_same_job() {
    // F-X-4 (several processes on one database)
    on_each_backend(|s| async move {
        let t = s.create_tenant("Acme").await.unwrap().id;
        s.set_calendar_integration(&t, true, &Actor::operator(), Utc::now()).await.unwrap();
        let now = at("2027-03-01T09:00:00Z");
        let mut conns = Vec::new();
        for i in 0..12 {
            let c = connection_for(&s, &t, &format!("u{i}@acme.example")).await;
            s.enqueue_job(&t, job(&c, Some(&format!("sync:{c}")), now)).await.unwrap();
            conns.push(c);
        }
        let worker = |name: &'static str| {
            let s = s.clone();
            async move {
                let mut mine = Vec::new();
                loop {
                    let got = s.claim_jobs(name, now, now + chrono::Duration::minutes(1), 2).await.unwrap();
                    if got.is_empty() {
                        return mine;
                    }
                    for j in got {
                        assert!(s.complete_job(&j.id, name).await.unwrap());
                        mine.push(j.id);
                    }
                }
            }
        };
        let (a, b, c) = tokio::join!(worker("w1"), worker("w2"), worker("w3"));
        let mut all: Vec<String> = a.into_iter().chain(b).chain(c).collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!((n, all.len()), (12, 12), "every job ran exactly once");
        assert_eq!(s.job_count().await.unwrap(), 0);
    })
    .await;
}
