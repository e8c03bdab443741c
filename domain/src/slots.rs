//! Find a time (F-EDIT-4): the first slots of a given length where every person is free and
//! inside their own working hours, in their own time zone. Pure: the server gathers each
//! person's busy times and working hours, this decides.

use chrono::{DateTime, Datelike, TimeDelta, Timelike, Utc};
use chrono_tz::Tz;

use crate::tz::to_local;

/// Someone's working week: minutes from local midnight and days (bit 0 = Monday), in `zone`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkingHours {
    pub zone: Tz,
    pub start: u32,
    pub end: u32,
    pub days: u8,
}

impl WorkingHours {
    /// Monday to Friday, 08:00–17:00.
    pub fn standard(zone: Tz) -> WorkingHours {
        WorkingHours { zone, start: 8 * 60, end: 17 * 60, days: 0b1_1111 }
    }

    /// Whether `[start, end)` lies within one working day of this week, on the local clock.
    pub fn contains(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        let (from, to) = (to_local(start, self.zone), to_local(end, self.zone));
        let minute = |t: chrono::NaiveDateTime| t.hour() * 60 + t.minute();
        let weekday = from.weekday().num_days_from_monday();
        let end_minute = if to.date() == from.date() {
            minute(to)
        } else if to.date() == from.date().succ_opt().unwrap_or(to.date()) && minute(to) == 0 {
            24 * 60
        } else {
            return false;
        };
        self.days & (1 << weekday) != 0 && minute(from) >= self.start && end_minute <= self.end
    }
}

/// One person's side of the search.
#[derive(Clone, Debug)]
pub struct Attendee {
    pub hours: WorkingHours,
    /// Busy intervals, `[start, end)`, in any order.
    pub busy: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

/// Where and how far to look.
#[derive(Clone, Copy, Debug)]
pub struct Search {
    pub from: DateTime<Utc>,
    pub length: TimeDelta,
    /// Slots start on multiples of this (from the epoch: whole quarter hours in every zone).
    pub step: TimeDelta,
    /// How many slots to find.
    pub count: usize,
    /// Give up looking this long after `from`.
    pub horizon: TimeDelta,
}

/// The first `search.count` slots (start, end) at or after `search.from` where everyone is
/// free and working. Fewer when the horizon runs out first (a meeting longer than anyone's
/// day, say).
pub fn find(people: &[Attendee], search: Search) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let step = search.step.num_seconds().max(60);
    if search.length <= TimeDelta::zero() || people.is_empty() {
        return Vec::new();
    }
    let busy: Vec<Vec<(i64, i64)>> = people.iter().map(|p| merged(&p.busy)).collect();
    let first = search.from.timestamp().div_euclid(step) * step + if search.from.timestamp() % step == 0 { 0 } else { step };
    let last = search.from.timestamp() + search.horizon.num_seconds();
    let length = search.length.num_seconds();
    let mut found = Vec::new();
    let mut at = first;
    while at <= last && found.len() < search.count {
        let (start, end) = (at, at + length);
        // The earliest start past every busy interval this slot hits: no slot before it can
        // be free for that person, so the search jumps there.
        let blocked_until = busy.iter().filter_map(|b| overlapping(b, start, end)).max();
        if let Some(until) = blocked_until {
            at = until.div_euclid(step) * step + if until % step == 0 { 0 } else { step };
            continue;
        }
        let (s, e) = (instant(start), instant(end));
        if people.iter().all(|p| p.hours.contains(s, e)) {
            found.push((s, e));
        }
        at += step;
    }
    found
}

fn instant(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// Busy intervals as sorted, non-overlapping seconds.
fn merged(busy: &[(DateTime<Utc>, DateTime<Utc>)]) -> Vec<(i64, i64)> {
    let mut v: Vec<(i64, i64)> = busy.iter().map(|(s, e)| (s.timestamp(), e.timestamp())).filter(|(s, e)| e > s).collect();
    v.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(v.len());
    for (s, e) in v {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// The end of the busy interval overlapping `[start, end)`, if one does.
fn overlapping(busy: &[(i64, i64)], start: i64, end: i64) -> Option<i64> {
    // The first interval ending after `start`; it overlaps when it begins before `end`.
    let i = busy.partition_point(|&(_, e)| e <= start);
    busy.get(i).filter(|&&(s, _)| s < end).map(|&(_, e)| e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }
    fn search(from: DateTime<Utc>, minutes: i64, count: usize) -> Search {
        Search { from, length: TimeDelta::minutes(minutes), step: TimeDelta::minutes(15), count, horizon: TimeDelta::days(28) }
    }

    #[test]
    fn the_first_free_working_slots_of_everyone() {
        let cph: Tz = "Europe/Copenhagen".parse().unwrap();
        // Monday 7 December 2026; Copenhagen is UTC+1.
        let anna = Attendee { hours: WorkingHours::standard(cph), busy: vec![(utc(2026, 12, 7, 7, 0), utc(2026, 12, 7, 9, 0))] };
        let ben = Attendee { hours: WorkingHours::standard(cph), busy: vec![(utc(2026, 12, 7, 9, 0), utc(2026, 12, 7, 9, 30))] };
        let slots = find(&[anna, ben], search(utc(2026, 12, 7, 0, 0), 60, 3));
        // 08:00–10:30 local is taken by one or the other: the first free hour starts 10:30.
        assert_eq!(slots, vec![(utc(2026, 12, 7, 9, 30), utc(2026, 12, 7, 10, 30)), (utc(2026, 12, 7, 9, 45), utc(2026, 12, 7, 10, 45)), (utc(2026, 12, 7, 10, 0), utc(2026, 12, 7, 11, 0))]);
    }

    #[test]
    fn working_hours_in_each_persons_own_zone() {
        let cph: Tz = "Europe/Copenhagen".parse().unwrap();
        let ny: Tz = "America/New_York".parse().unwrap();
        let a = Attendee { hours: WorkingHours::standard(cph), busy: vec![] };
        let b = Attendee { hours: WorkingHours::standard(ny), busy: vec![] };
        let slots = find(&[a, b], search(utc(2026, 12, 7, 0, 0), 60, 10));
        // Copenhagen works 07:00–16:00 UTC, New York 13:00–22:00 UTC: the overlap is 13–16.
        assert_eq!(slots[0].0, utc(2026, 12, 7, 13, 0));
        assert_eq!(slots[8].1, utc(2026, 12, 7, 16, 0));
        // Then the next day's overlap.
        assert_eq!(slots[9].0, utc(2026, 12, 8, 13, 0));
    }

    #[test]
    fn weekends_and_long_meetings() {
        let cph: Tz = "Europe/Copenhagen".parse().unwrap();
        let a = Attendee { hours: WorkingHours::standard(cph), busy: vec![] };
        // Saturday 12 December: the first slot is Monday 08:00 local.
        let slots = find(std::slice::from_ref(&a), search(utc(2026, 12, 12, 10, 0), 30, 1));
        assert_eq!(slots, vec![(utc(2026, 12, 14, 7, 0), utc(2026, 12, 14, 7, 30))]);
        // Longer than the working day: nothing, and the search ends.
        assert!(find(&[a], search(utc(2026, 12, 7, 0, 0), 10 * 60, 5)).is_empty());
    }

    #[test]
    fn across_the_change_to_summer_time() {
        // Copenhagen moves to UTC+2 on Sunday 28 March 2027: Monday 08:00 local is 06:00 UTC.
        let cph: Tz = "Europe/Copenhagen".parse().unwrap();
        let a = Attendee { hours: WorkingHours::standard(cph), busy: vec![] };
        let slots = find(&[a], search(utc(2027, 3, 26, 16, 0), 60, 1));
        assert_eq!(slots, vec![(utc(2027, 3, 29, 6, 0), utc(2027, 3, 29, 7, 0))]);
        assert_eq!(to_local(slots[0].0, cph).date(), NaiveDate::from_ymd_opt(2027, 3, 29).unwrap());
    }
}
