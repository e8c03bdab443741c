//! The demo company seeded into an empty database on first start: an administrator, three
//! users in different time zones, customers with contacts, and four weeks of meetings around
//! the current week (overlapping, all-day, multi-day, private).

use sessions::hash_password;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc, Weekday};
use domain::calendar::start_of_week;
use domain::tz::{local_to_utc, to_local, Tz};
use domain::Role;
use store::{NewPerson, NewUser, Store, User};
use sync::meetings::MeetingInput;

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
    engine: sync::Engine,
    tenant: String,
    monday: NaiveDate,
}

/// A demo meeting before it is booked: what the editor's form would hold.
struct Booking<'a> {
    organiser: &'a User,
    input: MeetingInput,
}

impl Seeder {
    /// A timed meeting on `week`'s `day` (0 = Monday) at local `from`–`to` in `owner`'s zone.
    fn timed<'a>(&self, owner: &'a User, week: i64, day: i64, from: (u32, u32), to: (u32, u32), subject: &str) -> Booking<'a> {
        let tz: Tz = owner.time_zone.parse().unwrap_or(Tz::UTC);
        let date = self.monday + TimeDelta::days(week * 7 + day);
        let at = |(h, m): (u32, u32)| local_to_utc(date.and_time(NaiveTime::from_hms_opt(h, m, 0).expect("valid time")), tz);
        Booking::new(owner, subject, at(from), at(to), false)
    }

    /// An all-day meeting over `days` days from `week`'s `day`.
    fn all_day<'a>(&self, owner: &'a User, week: i64, day: i64, days: i64, subject: &str) -> Booking<'a> {
        let first = self.monday + TimeDelta::days(week * 7 + day);
        let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
        Booking::new(owner, subject, midnight(first), midnight(first + TimeDelta::days(days)), true)
    }

    /// Books it as its organiser would in the editor (without invitations: nobody real is
    /// invited). Returns the meeting's id.
    async fn book(&self, b: Booking<'_>) -> anyhow::Result<String> {
        Ok(self.engine.create_meeting(&self.tenant, b.organiser, b.organiser, &b.input, false).await?)
    }
}

impl<'a> Booking<'a> {
    fn new(organiser: &'a User, subject: &str, start: DateTime<Utc>, end: DateTime<Utc>, all_day: bool) -> Booking<'a> {
        let input = MeetingInput {
            subject: subject.into(),
            location: String::new(),
            description: String::new(),
            keep_html_description: false,
            start,
            end,
            all_day,
            time_zone: organiser.time_zone.clone(),
            private: false,
            attendees: Vec::new(),
            organisations: Vec::new(),
        };
        Booking { organiser, input }
    }

    fn at(mut self, location: &str) -> Self {
        self.input.location = location.into();
        self
    }

    fn private(mut self) -> Self {
        self.input.private = true;
        self
    }

    fn with_users(mut self, others: &[&User]) -> Self {
        self.input.attendees.extend(others.iter().map(|u| u.email.clone()));
        self
    }

    fn with_customer(mut self, org: &store::Organisation, person: &store::Person) -> Self {
        self.input.organisations.push(org.id.clone());
        self.input.attendees.push(person.email.clone());
        self
    }
}

/// The engine the demo books its meetings through — the editor's path, with its checks and
/// links. A new company has no connected calendars yet, so nothing is queued for a provider
/// (and the throw-away key seals nothing).
fn offline_engine(store: &Store) -> anyhow::Result<sync::Engine> {
    let keyring = sync::secrets::Keyring::from_base64(&sync::secrets::generate_key(), &[])?;
    let conns = sync::connections::Connections::new(store.clone(), keyring, providers::http::HttpConfig::default(), sync::connections::Endpoints::default());
    Ok(sync::Engine::new(store.clone(), conns, sync::SyncConfig::default(), std::sync::Arc::new(sync::Silent)))
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
    let s = Seeder { engine: offline_engine(store)?, tenant: tenant.id.clone(), monday: start_of_week(to_local(now, copenhagen).date(), Weekday::Mon) };
    for week in -1..=2 {
        // Every week: the stand-up everyone attends, and a customer call overlapping it.
        s.book(s.timed(anna, week, 0, (9, 0), (9, 45), "Weekly sales stand-up").with_users(&[ben, carla])).await?;
        s.book(s.timed(anna, week, 0, (9, 30), (10, 30), "Call with Fjord Logistics").with_customer(&fjord.0, &fjord.1[0]).at("Phone")).await?;
        s.book(s.timed(anna, week, 0, (10, 0), (11, 0), "Pipeline review")).await?;
        let demo = s.timed(anna, week, 1, (13, 0), (14, 30), "Product demo for Baltic Foods").with_customer(&baltic.0, &baltic.1[0]);
        s.book(demo.at("Baltic Foods, Malmö").with_users(&[ben])).await?;
        s.book(s.timed(anna, week, 3, (15, 0), (16, 0), "Quote follow-up: Helios")).await?;
        // Ben's private appointment: colleagues see only "Busy" (F-CAL-10).
        s.book(s.timed(ben, week, 2, (11, 0), (12, 0), "Doctor's appointment").private().at("Harley Street Clinic")).await?;
        s.book(s.timed(ben, week, 2, (14, 0), (15, 0), "Contract review with Helios").with_customer(&helios.0, &helios.1[1])).await?;
        s.book(s.timed(carla, week, 1, (10, 0), (11, 0), "Onboarding: US accounts")).await?;
        s.book(s.timed(carla, week, 4, (12, 0), (13, 0), "Lunch & learn")).await?;
        // Anna's own private meeting, shown to her with its subject.
        s.book(s.timed(anna, week, 4, (8, 0), (8, 30), "Dentist").private()).await?;
    }
    // All-day and multi-day meetings in the current week.
    s.book(s.all_day(anna, 0, 2, 1, "Trade fair preparation")).await?;
    s.book(s.all_day(anna, 0, 3, 2, "Nordic Sales Summit").with_users(&[ben]).at("Oslo")).await?;
    s.book(s.timed(carla, 0, 1, (9, 0), (17, 0), "Customer workshop, day 1")).await?;
    s.book(s.all_day(ben, 1, 0, 5, "Ben on holiday")).await?;
    s.book(s.all_day(carla, -1, 3, 1, "Thanksgiving (US office closed)")).await?;

    // Colleagues' invitations Anna answered: she declined one and is unsure about the other
    // (the calendar draws them differently: F-X-12). Her answers as her provider would report them.
    let declined = s.book(s.timed(ben, 0, 2, (9, 0), (10, 0), "Pricing workshop").with_users(&[anna])).await?;
    let tentative = s.book(s.timed(ben, 0, 4, (13, 0), (14, 0), "Quarterly forecast").with_users(&[anna])).await?;
    store.set_attendee_response(&s.tenant, &declined, &anna.id, "declined").await?;
    store.set_attendee_response(&s.tenant, &tentative, &anna.id, "tentative").await?;
    Ok(())
}
