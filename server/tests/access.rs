//! Who may see and change what (F-X-1, F-CAL-10), over HTTP on the demo company: every role ×
//! own / colleague's / attended / private / other company's meeting × read / edit / delete.
//! The organiser, whoever booked it for them and administrators change a meeting; attendee
//! users change only its CRM links; everyone else reads it; someone else's private meeting
//! and another company's do not exist to them.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use store::NewUser;

mod common;

use common::{in_process, signed_in, InProcess};

/// A meeting of the demo company by subject (the current week's: each week has one).
async fn meeting(s: &InProcess, subject: &str) -> String {
    use sqlx::Row;
    let now = chrono::Utc::now().timestamp();
    sqlx::query("SELECT id FROM meetings WHERE subject = $1 ORDER BY abs(start_at - $2) LIMIT 1")
        .bind(subject)
        .bind(now)
        .fetch_one(s.store.pool())
        .await
        .unwrap()
        .get::<String, _>(0)
}

async fn post(c: &Client, base: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let r = c.post(format!("{base}/api/{path}")).json(&body).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn subject_of(s: &InProcess, id: &str) -> Option<String> {
    use sqlx::Row;
    sqlx::query("SELECT subject FROM meetings WHERE id = $1 AND deleted_at IS NULL").bind(id).fetch_optional(s.store.pool()).await.unwrap().map(|r| r.get(0))
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Edit {
    /// The change is saved.
    Saved,
    /// Saved, but only the CRM links: the subject stays.
    LinksOnly,
    Forbidden,
    /// The meeting does not exist to them.
    Hidden,
}

#[tokio::test]
async fn every_role_reads_edits_and_deletes_only_what_it_may() {
    let s = in_process(false).await;
    // Another company with a meeting of its own.
    let other = s.store.create_tenant("Other Co").await.unwrap();
    let hash = sessions::hash_password("other-password");
    let olga = s
        .store
        .create_user(&other.id, NewUser { email: "olga@other.example", display_name: "Olga", password_hash: &hash, role: domain::Role::User, time_zone: "UTC", week_start: 0 })
        .await
        .unwrap();
    let admin = signed_in(&s.base, "admin@nordlys.example").await;
    let anna = signed_in(&s.base, "anna@nordlys.example").await;
    let ben = signed_in(&s.base, "ben@nordlys.example").await;
    let carla = signed_in(&s.base, "carla@nordlys.example").await;
    let olga_client = Client::builder().cookie_store(true).build().unwrap();
    let r = olga_client.post(format!("{}/api/login", s.base)).form(&[("email", "olga@other.example"), ("password", "other-password"), ("next", "")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let theirs = {
        let (code, form) = post(&olga_client, &s.base, "meeting-save", json!({ "form": new_form("Olga's planning"), "send": false })).await;
        assert_eq!(code, StatusCode::OK, "{form}");
        form.as_str().unwrap().to_string()
    };

    let own = meeting(&s, "Pipeline review").await; // Anna organises; nobody attends
    let colleagues = meeting(&s, "Contract review with Helios").await; // Ben organises
    let attended = meeting(&s, "Weekly sales stand-up").await; // Anna organises; Ben and Carla attend
    let private = meeting(&s, "Doctor's appointment").await; // Ben's, private

    use Edit::*;
    // (who, client, [own, colleague's, attended, private, other company's])
    let matrix: [(&str, &Client, [Edit; 5]); 5] = [
        ("Anna (user, organiser of own and attended)", &anna, [Saved, Forbidden, Saved, Hidden, Hidden]),
        ("Ben (user, organiser of colleague's and private)", &ben, [Forbidden, Saved, LinksOnly, Saved, Hidden]),
        ("Carla (user, attendee of attended)", &carla, [Forbidden, Forbidden, LinksOnly, Hidden, Hidden]),
        ("the administrator", &admin, [Saved, Saved, Saved, Hidden, Hidden]),
        ("Olga (another company)", &olga_client, [Hidden, Hidden, Hidden, Hidden, Saved]),
    ];
    let ids = [&own, &colleagues, &attended, &private, &theirs];
    for (who, client, row) in &matrix {
        for (id, expected) in ids.iter().zip(row) {
            // Read.
            let (code, form) = post(client, &s.base, "meeting", json!({ "id": id })).await;
            if *expected == Hidden {
                assert_eq!(code, StatusCode::NOT_FOUND, "{who} must not see {id}: {form}");
                // Not even by saving or deleting blindly.
                let mut blind = blind();
                blind["id"] = json!(id);
                blind["version"] = json!(1);
                let (code, _) = post(client, &s.base, "meeting-save", json!({ "form": blind, "send": false })).await;
                assert_eq!(code, StatusCode::NOT_FOUND, "{who} saved a hidden meeting");
                let (code, _) = post(client, &s.base, "meeting-delete", json!({ "id": id, "version": 1, "send": false })).await;
                assert_eq!(code, StatusCode::NOT_FOUND, "{who} deleted a hidden meeting");
                continue;
            }
            assert_eq!(code, StatusCode::OK, "{who} reads {id}");
            let access = form["access"].as_str().unwrap().to_string();
            let before = subject_of(&s, id).await.unwrap();
            // Edit: change the subject.
            let mut changed = form.clone();
            changed["subject"] = json!(format!("{before} (edited by {who})"));
            let (code, body) = post(client, &s.base, "meeting-save", json!({ "form": changed, "send": false })).await;
            let after = subject_of(&s, id).await.unwrap();
            match expected {
                Saved => {
                    assert_eq!(code, StatusCode::OK, "{who} saves {id}: {body}");
                    assert_eq!(access, "Full");
                    assert_ne!(after, before, "{who}'s change was not saved");
                    // Back, for the next row.
                    let (_, form) = post(client, &s.base, "meeting", json!({ "id": id })).await;
                    let mut back = form.clone();
                    back["subject"] = json!(before.clone());
                    assert_eq!(post(client, &s.base, "meeting-save", json!({ "form": back, "send": false })).await.0, StatusCode::OK);
                }
                LinksOnly => {
                    assert_eq!(code, StatusCode::OK, "{who} saves links of {id}: {body}");
                    assert_eq!(access, "Links");
                    assert_eq!(after, before, "{who} changed a meeting only its organiser may");
                }
                Forbidden => {
                    assert_eq!(code, StatusCode::FORBIDDEN, "{who} saved {id}: {body}");
                    assert_eq!(access, "Read");
                    assert_eq!(after, before);
                }
                Hidden => unreachable!(),
            }
            // Delete: only those who may change it; the others are refused and nothing goes.
            if *expected != Saved {
                let version = form["version"].as_i64().unwrap();
                let (code, _) = post(client, &s.base, "meeting-delete", json!({ "id": id, "version": version, "send": false })).await;
                assert_eq!(code, StatusCode::FORBIDDEN, "{who} deleted {id}");
                assert!(subject_of(&s, id).await.is_some());
            }
        }
    }
    // Dragging a meeting into a colleague's lane books it for them (F-EDIT-2), by the same rule:
    // an attendee may not take it into their own calendar, and nobody books into another
    // company's.
    let carla_id = s.store.user_for_sign_in("carla@nordlys.example").await.unwrap().unwrap().0.id;
    let (_, form) = post(&carla, &s.base, "meeting", json!({ "id": &attended })).await;
    let moving = |to: &str| json!({ "id": &attended, "version": form["version"], "start": "2026-12-08T10:00", "end": "2026-12-08T11:00", "send": false, "to": to });
    let (code, body) = post(&carla, &s.base, "meeting-move", moving(&carla_id)).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "an attendee rebooked it: {body}");
    assert!(body.to_string().contains("not_movable"), "refused for not being theirs to move: {body}");
    let (code, body) = post(&anna, &s.base, "meeting-move", moving(&olga.id)).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "booked into another company's calendar: {body}");
    assert!(body.to_string().contains("not_a_choice"), "{body}");
    assert_eq!(subject_of(&s, &attended).await.as_deref(), Some("Weekly sales stand-up"));
    // One occurrence of a series cannot leave it for another calendar: refused before the
    // question is asked, nothing changed (its organiser may still move it in time).
    let occurrence = meeting(&s, "Quote follow-up: Helios").await;
    sqlx::query("UPDATE meetings SET original_start_at = start_at WHERE id = $1").bind(&occurrence).execute(s.store.pool()).await.unwrap();
    let (_, form) = post(&anna, &s.base, "meeting", json!({ "id": &occurrence })).await;
    let ben_id = s.store.user_for_sign_in("ben@nordlys.example").await.unwrap().unwrap().0.id;
    let (code, body) = post(&anna, &s.base, "meeting-move", json!({ "id": &occurrence, "version": form["version"], "start": "2026-12-08T10:00", "end": "2026-12-08T11:00", "send": null, "to": &ben_id })).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "an occurrence left its series: {body}");
    assert!(body.to_string().contains("not_movable"), "{body}");
    assert_eq!(subject_of(&s, &occurrence).await.as_deref(), Some("Quote follow-up: Helios"));

    // Those who may, delete.
    for (client, id) in [(&anna, &own), (&admin, &colleagues), (&ben, &private), (&olga_client, &theirs)] {
        let (_, form) = post(client, &s.base, "meeting", json!({ "id": id })).await;
        let (code, body) = post(client, &s.base, "meeting-delete", json!({ "id": id, "version": form["version"], "send": false })).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        assert!(subject_of(&s, id).await.is_none(), "{id} was not deleted");
    }
}

/// A form that fills every field (for requests made without reading the meeting).
fn blind() -> Value {
    json!({ "calendar_user": "", "subject": "x", "location": "", "description": "", "start_date": "2026-12-08", "start_time": "10:00",
        "end_date": "2026-12-08", "end_time": "11:00", "all_day": false, "private": false, "organisations": [], "persons": [], "users": [],
        "guests": [], "access": "Full", "organiser": "", "organiser_id": null, "booked_by": null, "notice": null, "occurrence": false })
}

fn new_form(subject: &str) -> Value {
    let mut f = blind();
    f["subject"] = json!(subject);
    f["id"] = Value::Null;
    f["version"] = json!(0);
    f
}
