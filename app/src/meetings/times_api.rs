//! The editor's view of colleagues' time (F-EDIT-4, F-X-8): the day of the meeting lane by
//! lane for the side panel, and "find a time". Busy times come from the sync engine (the
//! CRM's copy, redacted for the viewer, the provider asked where that copy is stale); the
//! search is `domain::slots` on the server, in each person's own zone and working hours.
//! Times travel as the viewer's wall clock.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One time taken, in minutes from the viewer's midnight of the day shown (clipped to it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    pub from: i64,
    pub to: i64,
    /// The subject, when the viewer may see it (None: "Busy").
    pub label: Option<String>,
    pub all_day: bool,
}

/// How fresh a person's busy times are (F-X-15).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Freshness {
    pub user_id: String,
    pub name: String,
    /// Unix seconds of the last sync; None: no synced calendar.
    pub synced_at: Option<i64>,
    /// The provider was asked just now (the synced copy was stale).
    pub checked_now: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lane {
    pub who: Freshness,
    pub blocks: Vec<Block>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Day {
    pub lanes: Vec<Lane>,
    /// The server's clock (Unix seconds), for "synced 2 min ago".
    pub now: i64,
}

/// A suggested time, as the form's fields take it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub start_date: String,
    pub start_time: String,
    pub end_date: String,
    pub end_time: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Times {
    pub slots: Vec<Slot>,
    pub who: Vec<Freshness>,
    pub now: i64,
}

/// Most colleagues looked at at once.
pub const MAX_LANES: usize = 20;

/// `organiser` ("" = the viewer) and `users`, on `date` (`YYYY-MM-DD`, the viewer's day);
/// `leave_out`: the meeting being edited.
#[server(endpoint = "meeting-day", input = crate::codec::Json, output = crate::codec::Json)]
pub async fn day_lanes(organiser: String, users: Vec<String>, date: String, leave_out: Option<String>) -> Result<Day, AppError> {
    crate::error::respond(server::day(&organiser, &users, &date, leave_out.as_deref()).await)
}

/// The next times of `minutes` from `date` `time` (the viewer's wall clock) when the organiser
/// and `users` are all free within their working hours (at least five when there are).
#[server(endpoint = "meeting-find-time", input = crate::codec::Json, output = crate::codec::Json)]
pub async fn find_times(organiser: String, users: Vec<String>, date: String, time: String, minutes: i64, leave_out: Option<String>) -> Result<Times, AppError> {
    crate::error::respond(server::find(&organiser, &users, &date, &time, minutes, leave_out.as_deref()).await)
}

#[cfg(feature = "ssr")]
mod server {
    use super::*;
    use crate::state::Ctx;
    use chrono::{NaiveDate, NaiveTime, TimeDelta, Utc};
    use domain::slots::{Attendee, Search, WorkingHours};
    use domain::tz::{parse_tz, start_of_day, to_local};
    use domain::Problem;
    use store::User;

    /// The organiser first, then the chosen users (each once), all of the viewer's company.
    async fn people(ctx: &Ctx, organiser: &str, users: &[String]) -> Result<Vec<User>, AppError> {
        if users.len() > MAX_LANES || users.iter().any(|u| u.len() > 64) || organiser.len() > 64 {
            return Err(AppError::field("users", Problem::NotAChoice));
        }
        let all = ctx.store.users(ctx.tenant()).await?;
        let organiser = if organiser.is_empty() { ctx.user.id.as_str() } else { organiser };
        let mut out: Vec<User> = Vec::new();
        for id in std::iter::once(organiser).chain(users.iter().map(String::as_str)) {
            let u = all.iter().find(|u| u.id == id).ok_or_else(|| AppError::field("users", Problem::NotAChoice))?;
            if !out.iter().any(|o| o.id == u.id) {
                out.push(u.clone());
            }
        }
        Ok(out)
    }

    fn freshness(u: &User, lane: &sync::lanes::Lane) -> Freshness {
        Freshness { user_id: u.id.clone(), name: u.display_name.clone(), synced_at: lane.synced_at.map(|t| t.timestamp()), checked_now: lane.checked_at_provider }
    }

    fn date(s: &str, field: &str) -> Result<NaiveDate, AppError> {
        s.trim().parse::<NaiveDate>().map_err(|_| AppError::field(field, Problem::NotADate))
    }

    pub async fn day(organiser: &str, users: &[String], day: &str, leave_out: Option<&str>) -> Result<Day, AppError> {
        let ctx = Ctx::signed_in().await?;
        let people = people(&ctx, organiser, users).await?;
        let day = date(day, "start_date")?;
        let (from, to) = (start_of_day(day, ctx.tz), start_of_day(day + TimeDelta::days(1), ctx.tz));
        let lanes = ctx.engine.lanes(&ctx.user, &people, from, to, leave_out).await?;
        let minute = |t: chrono::DateTime<Utc>| (t.max(from).min(to) - from).num_minutes();
        Ok(Day {
            lanes: people
                .iter()
                .zip(&lanes)
                .map(|(u, lane)| Lane {
                    who: freshness(u, lane),
                    blocks: lane.busy.iter().map(|b| Block { from: minute(b.start), to: minute(b.end), label: b.subject.clone(), all_day: b.all_day }).collect(),
                })
                .collect(),
            now: Utc::now().timestamp(),
        })
    }

    /// How far ahead find a time looks.
    const HORIZON_DAYS: i64 = 28;
    /// How many times it suggests.
    const SLOTS: usize = 6;

    pub async fn find(organiser: &str, users: &[String], day: &str, time: &str, minutes: i64, leave_out: Option<&str>) -> Result<Times, AppError> {
        let ctx = Ctx::signed_in().await?;
        let people = people(&ctx, organiser, users).await?;
        if !(5..=24 * 60).contains(&minutes) {
            return Err(AppError::field("end", Problem::EndBeforeStart));
        }
        let day = date(day, "start_date")?;
        let at = NaiveTime::parse_from_str(time.trim(), "%H:%M").unwrap_or(NaiveTime::MIN);
        // From the form's date and time, but never in the past.
        let from = domain::tz::local_to_utc(day.and_time(at), ctx.tz).max(Utc::now());
        let to = from + TimeDelta::days(HORIZON_DAYS);
        let lanes = ctx.engine.lanes(&ctx.user, &people, from, to, leave_out).await?;
        let attendees: Vec<Attendee> = people
            .iter()
            .zip(&lanes)
            .map(|(u, lane)| Attendee {
                hours: working_hours(u),
                busy: lane.busy.iter().map(|b| (b.start, b.end)).collect(),
            })
            .collect();
        let search = Search { from, length: TimeDelta::minutes(minutes), step: TimeDelta::minutes(15), count: SLOTS, horizon: TimeDelta::days(HORIZON_DAYS) };
        let slots = domain::slots::find(&attendees, search)
            .into_iter()
            .map(|(s, e)| {
                let (s, e) = (to_local(s, ctx.tz), to_local(e, ctx.tz));
                Slot { start_date: s.date().to_string(), start_time: domain::calendar::hh_mm(s), end_date: e.date().to_string(), end_time: domain::calendar::hh_mm(e) }
            })
            .collect();
        Ok(Times { slots, who: people.iter().zip(&lanes).map(|(u, l)| freshness(u, l)).collect(), now: Utc::now().timestamp() })
    }

    /// A user's working week from their settings, in their own zone.
    fn working_hours(u: &User) -> WorkingHours {
        let zone = parse_tz(&u.time_zone).unwrap_or(domain::tz::Tz::UTC);
        let minutes = |m: i64| m.clamp(0, 24 * 60) as u32;
        WorkingHours { zone, start: minutes(u.work_start), end: minutes(u.work_end), days: (u.work_days & 0x7f) as u8 }
    }
}
