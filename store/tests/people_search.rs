//! Finding people and organisations as one types (F-EDIT-1), and meetings linked to their
//! attendees' organisations (F-X-13), on SQLite and PostgreSQL alike.

mod common;

use common::on_each_backend;
use domain::Role;
use store::{AttendeeData, MeetingData, NewPerson, NewUser, SearchKind, Store};

fn names(found: &[store::Found]) -> Vec<&str> {
    found.iter().map(|f| f.name.as_str()).collect()
}

async fn user(s: &Store, tenant: &str, email: &str, name: &str) -> store::User {
    s.create_user(tenant, NewUser { email, display_name: name, password_hash: "x", role: Role::User, time_zone: "UTC", week_start: 0 }).await.unwrap()
}

#[tokio::test]
async fn word_prefixes_find_people_whatever_the_case_or_danish_letters() {
    // F-EDIT-1
    on_each_backend(|s| async move {
        let t = s.create_tenant("Nordlys").await.unwrap();
        let other = s.create_tenant("Other").await.unwrap();
        let fjord = s.create_organisation_with_domain(&t.id, "Fjord Logistics A/S", "fjord-logistics.example").await.unwrap();
        let aero = s.create_organisation(&t.id, "Ærø Shipping").await.unwrap();
        for (org, name, email) in [
            (&fjord.id, "Søren Ågård", "soren@fjord-logistics.example"),
            (&fjord.id, "Ida Lund", "ida@fjord-logistics.example"),
            (&aero.id, "Anna Østergaard", "anna@aero.example"),
            (&aero.id, "Sørine Holm", "sorine@aero.example"),
        ] {
            s.create_person(&t.id, NewPerson { organisation_id: Some(org), name, email, phone: "" }).await.unwrap();
        }
        let secret = s.create_person(&other.id, NewPerson { organisation_id: None, name: "Søren Secret", email: "s@other.example", phone: "" }).await.unwrap();
        user(&s, &t.id, "ben@nordlys.example", "Ben Carter").await;

        let find = |q: &'static str, preferred: Vec<String>| {
            let s = s.clone();
            let t = t.id.clone();
            async move { s.search(&t, SearchKind::Person, q, &preferred, 20).await.unwrap() }
        };
        // Case and æ/ø/å folded both ways; a word prefix, not any substring; only this company.
        assert_eq!(names(&find("sør", vec![]).await), ["Søren Ågård", "Sørine Holm"]);
        assert_eq!(names(&find("SOR", vec![]).await), ["Søren Ågård", "Sørine Holm"]);
        assert_eq!(names(&find("aga", vec![]).await), ["Søren Ågård"]);
        assert!(find("ren", vec![]).await.is_empty());
        // Another company's record is not found by its id either (an id sent by a browser).
        assert!(s.found_by_id(&t.id, SearchKind::Person, &[secret.id.clone()]).await.unwrap().is_empty());
        assert_eq!(s.found_by_id(&other.id, SearchKind::Person, &[secret.id.clone()]).await.unwrap().len(), 1);
        // By e-mail and by organisation; several words narrow.
        assert_eq!(names(&find("ida@fjord", vec![]).await), ["Ida Lund"]);
        assert_eq!(names(&find("aero ship", vec![]).await), ["Anna Østergaard", "Sørine Holm"]);
        assert_eq!(names(&find("fjord so", vec![]).await), ["Søren Ågård"]);
        // The chosen organisation's persons first.
        assert_eq!(names(&find("sø", vec![]).await), ["Søren Ågård", "Sørine Holm"]);
        assert_eq!(names(&find("sø", vec![aero.id.clone()]).await), ["Sørine Holm", "Søren Ågård"]);
        let f = &find("lund", vec![]).await[0];
        assert_eq!((f.email.as_str(), f.organisation.as_str(), f.organisation_id.as_deref()), ("ida@fjord-logistics.example", "Fjord Logistics A/S", Some(fjord.id.as_str())));

        // Danish letters spelled out find them too.
        let orgs = s.search(&t.id, SearchKind::Organisation, "aer", &[], 20).await.unwrap();
        assert_eq!(names(&orgs), ["Ærø Shipping"]);
        assert_eq!(names(&find("soeren aagaard", vec![]).await), ["Søren Ågård"]);
        let by_domain = s.search(&t.id, SearchKind::Organisation, "fjord-log", &[], 20).await.unwrap();
        assert_eq!(by_domain[0].email, "fjord-logistics.example");
        let users = s.search(&t.id, SearchKind::User, "car", &[], 20).await.unwrap();
        assert_eq!(names(&users), ["Ben Carter"]);
        assert!(s.search(&other.id, SearchKind::User, "ben", &[], 20).await.unwrap().is_empty());
    })
    .await;
}

fn incoming(attendees: &[&str]) -> MeetingData {
    let start = chrono::Utc::now();
    MeetingData {
        subject: "From the phone".into(),
        location: String::new(),
        description: String::new(),
        description_html: false,
        start,
        end: start + chrono::TimeDelta::hours(1),
        all_day: false,
        time_zone: "UTC".into(),
        private: false,
        cancelled: false,
        organiser_email: "ben@nordlys.example".into(),
        ical_uid: None,
        original_start: None,
        is_exception: false,
        attendees: attendees.iter().map(|e| AttendeeData { email: e.to_string(), display_name: String::new(), response: "needsAction".into(), is_organiser: false }).collect(),
    }
}

#[tokio::test]
async fn incoming_meetings_are_linked_to_their_attendees_organisations() {
    // F-X-13
    on_each_backend(|s| async move {
        let t = s.create_tenant("Nordlys").await.unwrap();
        let ben = user(&s, &t.id, "ben@nordlys.example", "Ben Carter").await;
        let fjord = s.create_organisation_with_domain(&t.id, "Fjord Logistics", "fjord.example").await.unwrap();
        let helios = s.create_organisation(&t.id, "Helios").await.unwrap();
        s.create_person(&t.id, NewPerson { organisation_id: Some(&helios.id), name: "Lena", email: "lena@helios.example", phone: "" }).await.unwrap();
        // Two organisations share a domain: it says nothing about which.
        s.create_organisation_with_domain(&t.id, "Twin A", "twins.example").await.unwrap();
        s.create_organisation_with_domain(&t.id, "Twin B", "twins.example").await.unwrap();
        // Free-mail and the company's own domain link nothing, even where an organisation has it.
        s.create_organisation_with_domain(&t.id, "Mail", "gmail.com").await.unwrap();
        s.create_organisation_with_domain(&t.id, "Us", "nordlys.example").await.unwrap();

        let mut tx = s.begin_sync(&t.id).await.unwrap();
        let id = tx
            .insert_meeting(&incoming(&["ben@nordlys.example", "lena@helios.example", "new.person@fjord.example", "x@twins.example", "y@gmail.com", "z@nordlys.example"]))
            .await
            .unwrap();
        let links = tx.organisation_links(&id).await.unwrap();
        tx.commit().await.unwrap();
        let linked: Vec<(&str, bool)> = links.iter().map(|l| (l.name.as_str(), l.auto)).collect();
        assert_eq!(linked, [("Fjord Logistics", true), ("Helios", true)]);

        // A user's own choice stays when the attendees change; automatic links follow them.
        let mut tx = s.begin_sync(&t.id).await.unwrap();
        tx.set_organisation_links(&id, &[helios.id.clone()]).await.unwrap();
        let m = tx.meeting(&id).await.unwrap().unwrap();
        assert!(tx.update_meeting(&id, m.version, &incoming(&["ben@nordlys.example"])).await.unwrap());
        let links = tx.organisation_links(&id).await.unwrap();
        tx.commit().await.unwrap();
        let linked: Vec<(&str, bool)> = links.iter().map(|l| (l.name.as_str(), l.auto)).collect();
        assert_eq!(linked, [("Helios", false)]);
        let _ = (ben, fjord);
    })
    .await;
}

#[tokio::test]
async fn the_benchmarks_bulk_persons_are_found_as_records_written_one_by_one() {
    // F-EDIT-1: the page benchmark's 100,000 persons come from this loader.
    on_each_backend(|s| async move {
        let t = s.create_tenant("Bench").await.unwrap();
        store::testing::bulk_persons(&s, &t.id, 10, 400).await.unwrap();
        let found = s.search(&t.id, SearchKind::Person, "soren", &[], 20).await.unwrap();
        assert_eq!(found.len(), 20, "{found:?}");
        assert!(found.iter().all(|f| domain::search::matches(&format!("{} {} {}", f.name, f.email, f.organisation), "soren")), "{found:?}");
        assert!(found.iter().all(|f| !f.organisation.is_empty() && f.email.ends_with(".example")));
        let orgs = s.search(&t.id, SearchKind::Organisation, "org3", &[], 20).await.unwrap();
        assert_eq!(orgs.len(), 1, "{orgs:?}");
    })
    .await;
}
