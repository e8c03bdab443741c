//! The demo company seeded into an empty database on first start: an administrator, three
//! users in different time zones, customers with contacts, and four weeks of meetings around
//! the current week (overlapping, all-day, multi-day, private).

use sessions::hash_password;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc, Weekday};
use domain::calendar::start_of_week;
use domain::tz::{local_to_utc, to_local, Tz};
use domain::Role;
use store::{AttendeeKind, NewAttendee, NewMeeting, NewPerson, NewUser, Store, User};

pub const DEMO_PASSWORD: &str = "demo-calendar";

/// (e-mail, name, role, time zone, week start 0 = Monday)
pub const DEMO_USERS: [(&str, &str, Role, &str, i64); 4] = [
    ("admin@nordlys.example", "Astrid Holm", Role::Administrator, "Europe/Copenhagen", 0),
    ("anna@nordlys.example", "Anna Berg", Role::User, "Europe/Copenhagen", 0),
    ("ben@nordlys.example", "Ben Carter", Role::User, "Europe/London", 0),
    ("carla@nordlys.example", "Carla Diaz", Role::User, "America/New_York", 6),
];

pub fn print_sign_ins() {
    println!("Demo sign-ins (password for all: {DEMO_PASSWORD}):");
    for (email, name, role, tz, _) in DEMO_USERS {
        println!("  {email:<24} {name:<12} {:<13} {tz}", role.as_str());
    }
}

struct Seeder {
    tenant: String,
    monday: NaiveDate,
}

impl Seeder {
    /// A timed meeting on `week`'s `day` (0 = Monday) at local `from`–`to` in `owner`'s zone.
    fn timed(&self, owner: &User, week: i64, day: i64, from: (u32, u32), to: (u32, u32), subject: &str) -> NewMeeting {
        let tz: Tz = owner.time_zone.parse().unwrap_or(Tz::UTC);
        let date = self.monday + TimeDelta::days(week * 7 + day);
        let at = |(h, m): (u32, u32)| local_to_utc(date.and_time(NaiveTime::from_hms_opt(h, m, 0).expect("valid time")), tz);
        owned_by(NewMeeting::new(subject, at(from), at(to), &owner.time_zone), owner)
    }

    /// An all-day meeting over `days` days from `week`'s `day`.
    fn all_day(&self, owner: &User, week: i64, day: i64, days: i64, subject: &str) -> NewMeeting {
        let first = self.monday + TimeDelta::days(week * 7 + day);
        let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
        let mut m = NewMeeting::new(subject, midnight(first), midnight(first + TimeDelta::days(days)), &owner.time_zone);
        m.all_day = true;
        owned_by(m, owner)
    }
}

/// Organised by `owner`, in their calendar, with an iCalUID as a provider would issue it.
fn owned_by(mut m: NewMeeting, owner: &User) -> NewMeeting {
    m.organiser_user_id = Some(owner.id.clone());
    m.organiser_email = owner.email.clone();
    m.calendar_user_ids = vec![owner.id.clone()];
    m.ical_uid = Some(demo_uid());
    m
}

/// Unique per meeting, like a provider's iCalUID.
fn demo_uid() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!("demo-{}-{}@crmcal", Utc::now().timestamp_micros(), N.fetch_add(1, Ordering::Relaxed))
}

fn with_users(mut m: NewMeeting, others: &[&User]) -> NewMeeting {
    for u in others {
        m.calendar_user_ids.push(u.id.clone());
        m.attendees.push(NewAttendee {
            kind: AttendeeKind::User,
            user_id: Some(u.id.clone()),
            person_id: None,
            email: u.email.clone(),
            display_name: u.display_name.clone(),
            is_organiser: false,
        });
    }
    m
}

fn with_customer(mut m: NewMeeting, org: &store::Organisation, person: &store::Person) -> NewMeeting {
    m.organisation_ids.push(org.id.clone());
    m.attendees.push(NewAttendee {
        kind: AttendeeKind::Person,
        user_id: None,
        person_id: Some(person.id.clone()),
        email: person.email.clone(),
        display_name: person.name.clone(),
        is_organiser: false,
    });
    m
}

/// Seeds the demo company; `now` anchors the weeks (the previous, current and next two).
pub async fn seed(store: &Store, now: DateTime<Utc>) -> anyhow::Result<()> {
    let tenant = store.create_tenant("Nordlys Trading ApS").await?;
    // The demo company syncs from the start (F-ADM-1).
    store.set_calendar_integration(&tenant.id, true, &domain::audit::Actor::operator(), now).await?;
    let hash = tokio::task::spawn_blocking(|| hash_password(DEMO_PASSWORD)).await?;
    let mut users = Vec::new();
    for (email, name, role, tz, week_start) in DEMO_USERS {
        let user = NewUser { email, display_name: name, password_hash: &hash, role, time_zone: tz, week_start };
        users.push(store.create_user(&tenant.id, user).await?);
    }
    let (anna, ben, carla) = (&users[1], &users[2], &users[3]);

    let mut customers = Vec::new();
    for (org, domain, people) in [
        ("Fjord Logistics A/S", "fjord-logistics.example", &[("Ida Lund", "ida@fjord-logistics.example"), ("Mads Krog", "mads@fjord-logistics.example"), ("Søren Ågård", "soren@fjord-logistics.example")][..]),
        ("Baltic Foods AB", "balticfoods.example", &[("Sofia Ek", "sofia@balticfoods.example"), ("Erik Nyberg", "erik@balticfoods.example")][..]),
        ("Helios Energy GmbH", "helios.example", &[("Lena Vogel", "lena@helios.example"), ("Jonas Weber", "jonas@helios.example")][..]),
        ("Ærø Shipping ApS", "aeroe-shipping.example", &[("Birgitte Østergaard", "birgitte@aeroe-shipping.example"), ("Jens Holm", "jens@aeroe-shipping.example")][..]),
    ] {
        let o = store.create_organisation_with_domain(&tenant.id, org, domain).await?;
        let mut persons = Vec::new();
        for &(name, email) in people {
            persons.push(store.create_person(&tenant.id, NewPerson { organisation_id: Some(&o.id), name, email, phone: "" }).await?);
        }
        customers.push((o, persons));
    }
    let (fjord, baltic, helios) = (&customers[0], &customers[1], &customers[2]);

    let copenhagen: Tz = "Europe/Copenhagen".parse().expect("known zone");
    let s = Seeder { tenant: tenant.id.clone(), monday: start_of_week(to_local(now, copenhagen).date(), Weekday::Mon) };
    let mut meetings = Vec::new();
    for week in -1..=2 {
        // Every week: the stand-up everyone attends, and a customer call overlapping it.
        meetings.push(with_users(s.timed(anna, week, 0, (9, 0), (9, 45), "Weekly sales stand-up"), &[ben, carla]));
        let mut call = with_customer(s.timed(anna, week, 0, (9, 30), (10, 30), "Call with Fjord Logistics"), &fjord.0, &fjord.1[0]);
        call.location = "Phone".into();
        meetings.push(call);
        meetings.push(s.timed(anna, week, 0, (10, 0), (11, 0), "Pipeline review"));
        let mut demo = with_customer(s.timed(anna, week, 1, (13, 0), (14, 30), "Product demo for Baltic Foods"), &baltic.0, &baltic.1[0]);
        demo.location = "Baltic Foods, Malmö".into();
        meetings.push(with_users(demo, &[ben]));
        meetings.push(s.timed(anna, week, 3, (15, 0), (16, 0), "Quote follow-up: Helios"));
        // Ben's private appointment: colleagues see only "Busy" (F-CAL-10).
        let mut private = s.timed(ben, week, 2, (11, 0), (12, 0), "Doctor's appointment");
        private.private = true;
        private.location = "Harley Street Clinic".into();
        meetings.push(private);
        meetings.push(with_customer(s.timed(ben, week, 2, (14, 0), (15, 0), "Contract review with Helios"), &helios.0, &helios.1[1]));
        meetings.push(s.timed(carla, week, 1, (10, 0), (11, 0), "Onboarding: US accounts"));
        meetings.push(s.timed(carla, week, 4, (12, 0), (13, 0), "Lunch & learn"));
        // Anna's own private meeting, shown to her with its subject.
        let mut own = s.timed(anna, week, 4, (8, 0), (8, 30), "Dentist");
        own.private = true;
        meetings.push(own);
    }
    // All-day and multi-day meetings in the current week.
    meetings.push(s.all_day(anna, 0, 2, 1, "Trade fair preparation"));
    let mut summit = with_users(s.all_day(anna, 0, 3, 2, "Nordic Sales Summit"), &[ben]);
    summit.location = "Oslo".into();
    meetings.push(summit);
    meetings.push(s.timed(carla, 0, 1, (9, 0), (17, 0), "Customer workshop, day 1"));
    meetings.push(s.all_day(ben, 1, 0, 5, "Ben on holiday"));
    meetings.push(s.all_day(carla, -1, 3, 1, "Thanksgiving (US office closed)"));

    // Colleagues' invitations Anna answered: she declined one and is unsure about the other
    // (the calendar draws them differently: F-X-12).
    meetings.push(with_users(s.timed(ben, 0, 2, (9, 0), (10, 0), "Pricing workshop"), &[anna]));
    meetings.push(with_users(s.timed(ben, 0, 4, (13, 0), (14, 0), "Quarterly forecast"), &[anna]));

    let ids = store.insert_meetings(&s.tenant, &meetings).await?;
    let answered = &ids[ids.len() - 2..];
    store.set_attendee_response(&s.tenant, &answered[0], &anna.id, "declined").await?;
    store.set_attendee_response(&s.tenant, &answered[1], &anna.id, "tentative").await?;
    Ok(())
}
