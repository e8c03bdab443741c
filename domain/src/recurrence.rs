//! Outlook/Exchange recurrence patterns ↔ RFC 5545 RRULE. Server side only (feature
//! `recurrence`).
//!
//! Microsoft Graph's `patternedRecurrence` and EWS's `t:Recurrence` are the same Exchange model
//! — a pattern (daily, weekly, absolute/relative monthly, absolute/relative yearly) plus a range
//! (no end, end date, number of occurrences) — in JSON and in XML. [`Recurrence`] is that model;
//! [`from_rrule`] and [`to_rrule`] convert it to and from RRULE, and the [`graph`] and [`ews`]
//! submodules read and write the two wire forms.
//!
//! Exchange is less expressive than RRULE: one rule, no BYHOUR/BYMINUTE/…, relative rules with
//! one position (first…fourth or last). Rules outside that subset are refused with a clear
//! [`Unsupported`] error instead of being silently approximated. The two wire forms differ a
//! little (EWS yearly patterns have no interval; EWS relative patterns take one weekday or one
//! day group where Graph takes any set of weekdays); [`ews::check`] refuses what only Graph
//! can hold.
//!
//! The range's start and end dates are calendar dates in the series' own zone, while an RRULE
//! `UNTIL` on a timed series is a UTC instant. Reading, an UNTIL becomes the date of the last
//! occurrence that may start (an UNTIL earlier in the day than the series' start time ends the
//! series the day before); writing, an end date becomes the last second of that day in the
//! series' zone, so that a later change to the start time keeps the last occurrence.

pub mod ews;
pub mod graph;

use std::fmt;

use chrono::{Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pattern {
    Daily { interval: u32 },
    /// `first_day` (RRULE `WKST`) only matters when `interval` > 1.
    Weekly { interval: u32, days: Vec<Weekday>, first_day: Option<Weekday> },
    AbsoluteMonthly { interval: u32, day: u32 },
    /// The `index`th (1..=4, or -1 for the last) of the days in `days` in the month.
    RelativeMonthly { interval: u32, days: Vec<Weekday>, index: i32 },
    /// `interval` is in years; always 1 for EWS, which has no yearly interval.
    AbsoluteYearly { interval: u32, day: u32, month: u32 },
    RelativeYearly { interval: u32, days: Vec<Weekday>, index: i32, month: u32 },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Range {
    NoEnd,
    /// Last day (inclusive) on which an occurrence may start, in the series' zone.
    EndDate(NaiveDate),
    Numbered(u32),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recurrence {
    pub pattern: Pattern,
    pub range: Range,
    /// The range's start date: the series' first day in its own zone.
    pub start_date: NaiveDate,
}

/// A rule (or wire pattern) that Exchange cannot express, or a malformed one; the text says
/// which part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported(pub String);

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unsupported {}

fn unsupported(msg: impl Into<String>) -> Unsupported {
    Unsupported(msg.into())
}

/// Exchange's limits: intervals up to 999, and we accept up to 10,000 occurrences.
pub const MAX_INTERVAL: u32 = 999;
pub const MAX_COUNT: u32 = 10_000;

/// Weekdays Monday first, with their iCalendar code and their Exchange name (EWS writes
/// `Monday`, Graph `monday`).
const DAYS: [(Weekday, &str, &str); 7] = [
    (Weekday::Mon, "MO", "Monday"),
    (Weekday::Tue, "TU", "Tuesday"),
    (Weekday::Wed, "WE", "Wednesday"),
    (Weekday::Thu, "TH", "Thursday"),
    (Weekday::Fri, "FR", "Friday"),
    (Weekday::Sat, "SA", "Saturday"),
    (Weekday::Sun, "SU", "Sunday"),
];

const ALL_DAYS: [Weekday; 7] =
    [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];

/// Relative positions and their Exchange names (EWS `First`, Graph `first`).
const INDEXES: [(i32, &str); 5] = [(1, "First"), (2, "Second"), (3, "Third"), (4, "Fourth"), (-1, "Last")];

const MONTHS: [&str; 12] = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December",
];

fn ical_day(code: &str) -> Option<Weekday> {
    DAYS.iter().find(|d| d.1.eq_ignore_ascii_case(code)).map(|d| d.0)
}

fn ical_code(day: Weekday) -> &'static str {
    DAYS[day.num_days_from_monday() as usize].1
}

/// A weekday by its Exchange name, any case (`Monday`, `monday`).
fn exchange_day(name: &str) -> Option<Weekday> {
    DAYS.iter().find(|d| d.2.eq_ignore_ascii_case(name.trim())).map(|d| d.0)
}

fn exchange_day_name(day: Weekday) -> &'static str {
    DAYS[day.num_days_from_monday() as usize].2
}

fn index_by_name(name: &str) -> Option<i32> {
    INDEXES.iter().find(|(_, n)| n.eq_ignore_ascii_case(name.trim())).map(|(i, _)| *i)
}

fn index_name(index: i32) -> Option<&'static str> {
    INDEXES.iter().find(|(i, _)| *i == index).map(|(_, n)| *n)
}

fn valid_index(index: i32) -> bool {
    index_name(index).is_some()
}

fn check_interval(interval: u32) -> Result<u32, Unsupported> {
    if (1..=MAX_INTERVAL).contains(&interval) {
        Ok(interval)
    } else {
        Err(unsupported(format!("interval {interval} is out of range (1-{MAX_INTERVAL})")))
    }
}

fn check_count(count: u32) -> Result<u32, Unsupported> {
    if (1..=MAX_COUNT).contains(&count) {
        Ok(count)
    } else {
        Err(unsupported(format!("{count} occurrences is out of range (1-{MAX_COUNT})")))
    }
}

fn check_day_of_month(day: u32) -> Result<u32, Unsupported> {
    if (1..=31).contains(&day) {
        Ok(day)
    } else {
        Err(unsupported(format!("day of month {day} is out of range")))
    }
}

fn check_month(month: u32) -> Result<u32, Unsupported> {
    if (1..=12).contains(&month) {
        Ok(month)
    } else {
        Err(unsupported(format!("month {month} is out of range")))
    }
}

/// Parses an RRULE value like `FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10` (an `RRULE:` prefix is
/// allowed) for a series whose first occurrence starts at `local_start` in `tz` (midnight of
/// the first day for all-day series).
pub fn from_rrule(rule: &str, local_start: NaiveDateTime, tz: Tz, all_day: bool) -> Result<Recurrence, Unsupported> {
    let rule = rule.trim();
    let rule = match rule.get(..6) {
        Some(prefix) if prefix.eq_ignore_ascii_case("RRULE:") => &rule[6..],
        _ => rule,
    };
    if rule.contains(['\n', '\r']) {
        return Err(unsupported("only one RRULE line has an Exchange equivalent"));
    }
    let mut freq = None;
    let mut interval = 1u32;
    let mut byday: Vec<(Option<i32>, Weekday)> = Vec::new();
    let mut bymonthday = None;
    let mut bymonth = None;
    let mut bysetpos = None;
    let mut count = None;
    let mut until = None;
    let mut wkst = None;
    for part in rule.split(';').filter(|p| !p.trim().is_empty()) {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| unsupported(format!("malformed RRULE part {part:?}")))?;
        let (key, value) = (key.trim().to_ascii_uppercase(), value.trim());
        let bad = || unsupported(format!("bad RRULE value {part:?}"));
        let number = |v: &str| -> Result<i64, Unsupported> {
            if v.contains(',') {
                return Err(unsupported(format!("{key} with several values has no Exchange equivalent")));
            }
            v.parse::<i64>().map_err(|_| bad())
        };
        let unsigned = |v: &str| number(v).and_then(|n| u32::try_from(n).map_err(|_| bad()));
        match key.as_str() {
            "FREQ" => freq = Some(value.to_ascii_uppercase()),
            "INTERVAL" => interval = check_interval(unsigned(value)?)?,
            "BYDAY" => {
                for d in value.split(',') {
                    let d = d.trim();
                    let split = d.len().checked_sub(2).filter(|i| d.is_char_boundary(*i)).ok_or_else(bad)?;
                    let (num, name) = d.split_at(split);
                    let day = ical_day(name).ok_or_else(bad)?;
                    let n = if num.is_empty() { None } else { Some(num.trim_start_matches('+').parse::<i32>().map_err(|_| bad())?) };
                    byday.push((n, day));
                }
            }
            "BYMONTHDAY" => {
                let d = number(value)?;
                bymonthday = Some(u32::try_from(d).ok().filter(|d| (1..=31).contains(d)).ok_or_else(|| {
                    unsupported(format!("BYMONTHDAY={d} has no Exchange equivalent (1-31 only)"))
                })?)
            }
            "BYMONTH" => bymonth = Some(check_month(unsigned(value)?)?),
            "BYSETPOS" => bysetpos = Some(i32::try_from(number(value)?).map_err(|_| bad())?),
            "COUNT" => count = Some(check_count(unsigned(value)?)?),
            "UNTIL" => until = Some(value.to_string()),
            "WKST" => wkst = Some(ical_day(value).ok_or_else(bad)?),
            other => return Err(unsupported(format!("RRULE part {other} has no Exchange equivalent"))),
        }
    }
    let freq = freq.ok_or_else(|| unsupported("RRULE without FREQ"))?;
    let start = local_start.date();
    let plain_days = || -> Result<Vec<Weekday>, Unsupported> {
        if byday.iter().any(|(n, _)| n.is_some()) {
            return Err(unsupported(format!("positions in BYDAY with FREQ={freq} have no Exchange equivalent")));
        }
        Ok(byday.iter().map(|(_, d)| *d).collect())
    };
    // A relative rule has one position: `BYDAY=2TU`, or `BYDAY=MO,TU;BYSETPOS=2`. (`BYDAY=2MO,2TU`
    // means two days a month, which no Exchange pattern holds.)
    let relative = || -> Result<(Vec<Weekday>, i32), Unsupported> {
        let index = match (byday.as_slice(), bysetpos) {
            ([(Some(n), _)], None) => *n,
            (_, Some(p)) if byday.iter().all(|(n, _)| n.is_none()) => p,
            _ => return Err(unsupported("this BYDAY/BYSETPOS combination has no Exchange equivalent")),
        };
        if !valid_index(index) {
            return Err(unsupported(format!("position {index} has no Exchange equivalent (1-4 or -1 only)")));
        }
        Ok((byday.iter().map(|(_, d)| *d).collect(), index))
    };
    let refuse = |what: &str| Err(unsupported(format!("{what} with FREQ={freq} has no Exchange equivalent")));
    if bysetpos.is_some() && byday.is_empty() {
        return refuse("BYSETPOS without BYDAY");
    }
    if bymonth.is_some() && freq != "YEARLY" {
        return refuse("BYMONTH");
    }
    let pattern = match freq.as_str() {
        "DAILY" | "WEEKLY" if bymonthday.is_some() => return refuse("BYMONTHDAY"),
        "DAILY" | "WEEKLY" if bysetpos.is_some() => return refuse("BYSETPOS"),
        "DAILY" if byday.is_empty() => Pattern::Daily { interval },
        // A daily rule limited to some weekdays is a weekly rule in Exchange.
        "DAILY" if interval == 1 => Pattern::Weekly { interval: 1, days: plain_days()?, first_day: wkst },
        "DAILY" => return refuse("INTERVAL together with BYDAY"),
        "WEEKLY" => {
            let mut days = plain_days()?;
            if days.is_empty() {
                days.push(start.weekday());
            }
            Pattern::Weekly { interval, days, first_day: wkst }
        }
        "MONTHLY" => match (byday.is_empty(), bymonthday) {
            (false, None) => {
                let (days, index) = relative()?;
                Pattern::RelativeMonthly { interval, days, index }
            }
            (true, day) => Pattern::AbsoluteMonthly { interval, day: day.unwrap_or(start.day()) },
            (false, Some(_)) => return refuse("BYDAY together with BYMONTHDAY"),
        },
        "YEARLY" => {
            let month = bymonth.unwrap_or(start.month());
            match (byday.is_empty(), bymonthday) {
                (false, None) => {
                    let (days, index) = relative()?;
                    Pattern::RelativeYearly { interval, days, index, month }
                }
                (true, day) => Pattern::AbsoluteYearly { interval, day: day.unwrap_or(start.day()), month },
                (false, Some(_)) => return refuse("BYDAY together with BYMONTHDAY"),
            }
        }
        other => return Err(unsupported(format!("FREQ={other} has no Exchange equivalent"))),
    };
    let range = match (count, until) {
        (Some(_), Some(_)) => return Err(unsupported("COUNT and UNTIL together")),
        (Some(n), None) => Range::Numbered(n),
        (None, Some(u)) => Range::EndDate(until_to_end_date(&u, local_start, tz, all_day)?),
        (None, None) => Range::NoEnd,
    };
    Ok(Recurrence { pattern, range, start_date: start })
}

/// RRULE `UNTIL` (UTC instant, floating date-time or date) → the last local start date.
fn until_to_end_date(until: &str, local_start: NaiveDateTime, tz: Tz, all_day: bool) -> Result<NaiveDate, Unsupported> {
    let bad = || unsupported(format!("UNTIL={until} is not a date or date-time"));
    let last_start_date = |until_local: NaiveDateTime| {
        if all_day || until_local.time() >= local_start.time() {
            until_local.date()
        } else {
            until_local.date().pred_opt().unwrap_or(until_local.date())
        }
    };
    if let Some(utc) = until.strip_suffix('Z').or_else(|| until.strip_suffix('z')) {
        let at = NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S").map_err(|_| bad())?;
        return Ok(last_start_date(Utc.from_utc_datetime(&at).with_timezone(&tz).naive_local()));
    }
    if let Ok(at) = NaiveDateTime::parse_from_str(until, "%Y%m%dT%H%M%S") {
        return Ok(last_start_date(at));
    }
    NaiveDate::parse_from_str(until, "%Y%m%d").map_err(|_| bad())
}

/// The RRULE value (no `RRULE:` prefix) of a recurrence whose series is in `tz`: INTERVAL only
/// when not 1, a single relative day as `BYDAY=-1FR`, a day group with BYSETPOS, WKST only where
/// it matters, and UNTIL as a date for all-day series or as the last second of the end date in
/// `tz` (as UTC) for timed ones.
pub fn to_rrule(rec: &Recurrence, tz: Tz, all_day: bool) -> String {
    let list = |days: &[Weekday]| days.iter().map(|d| ical_code(*d)).collect::<Vec<_>>().join(",");
    let (freq, interval) = match &rec.pattern {
        Pattern::Daily { interval } => ("DAILY", *interval),
        Pattern::Weekly { interval, .. } => ("WEEKLY", *interval),
        Pattern::AbsoluteMonthly { interval, .. } | Pattern::RelativeMonthly { interval, .. } => ("MONTHLY", *interval),
        Pattern::AbsoluteYearly { interval, .. } | Pattern::RelativeYearly { interval, .. } => ("YEARLY", *interval),
    };
    let mut parts = vec![format!("FREQ={freq}")];
    if interval > 1 {
        parts.push(format!("INTERVAL={interval}"));
    }
    let relative = |parts: &mut Vec<String>, days: &[Weekday], index: i32| match days {
        [one] => parts.push(format!("BYDAY={index}{}", ical_code(*one))),
        _ => parts.push(format!("BYDAY={};BYSETPOS={index}", list(days))),
    };
    match &rec.pattern {
        Pattern::Daily { .. } => {}
        Pattern::Weekly { interval, days, first_day } => {
            parts.push(format!("BYDAY={}", list(days)));
            // The week start only matters for multi-week intervals.
            if let (Some(w), true) = (first_day, *interval > 1) {
                parts.push(format!("WKST={}", ical_code(*w)));
            }
        }
        Pattern::AbsoluteMonthly { day, .. } => parts.push(format!("BYMONTHDAY={day}")),
        Pattern::RelativeMonthly { days, index, .. } => relative(&mut parts, days, *index),
        Pattern::AbsoluteYearly { day, month, .. } => parts.push(format!("BYMONTH={month};BYMONTHDAY={day}")),
        Pattern::RelativeYearly { days, index, month, .. } => {
            parts.push(format!("BYMONTH={month}"));
            relative(&mut parts, days, *index);
        }
    }
    match rec.range {
        Range::NoEnd => {}
        Range::Numbered(n) => parts.push(format!("COUNT={n}")),
        Range::EndDate(d) if all_day => parts.push(format!("UNTIL={}", d.format("%Y%m%d"))),
        Range::EndDate(d) => parts.push(format!("UNTIL={}", end_of_day(d, tz).format("%Y%m%dT%H%M%SZ"))),
    }
    parts.join(";")
}

/// The last second of `date` in `tz`: where 23:59:59 happens twice (a zone falling back at
/// midnight) the later one, where it does not exist the first instant after the gap.
fn end_of_day(date: NaiveDate, tz: Tz) -> chrono::DateTime<Utc> {
    let last = date.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN));
    match tz.from_local_datetime(&last) {
        LocalResult::Single(t) | LocalResult::Ambiguous(_, t) => t.with_timezone(&Utc),
        LocalResult::None => crate::tz::local_to_utc(last, tz),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn cph() -> Tz {
        "Europe/Copenhagen".parse().unwrap()
    }

    pub(super) fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// A Monday, 09:00 local.
    pub(super) fn start() -> NaiveDateTime {
        date(2025, 3, 3).and_hms_opt(9, 0, 0).unwrap()
    }

    fn parse(rule: &str) -> Recurrence {
        from_rrule(rule, start(), cph(), false).unwrap_or_else(|e| panic!("{rule}: {e}"))
    }

    fn normal(rule: &str) -> String {
        to_rrule(&parse(rule), cph(), false)
    }

    #[test]
    fn rules_map_to_patterns() {
        use Pattern::*;
        let cases: [(&str, Pattern); 12] = [
            ("FREQ=DAILY;COUNT=5", Daily { interval: 1 }),
            ("FREQ=WEEKLY;BYDAY=MO,WE;INTERVAL=2", Weekly { interval: 2, days: vec![Weekday::Mon, Weekday::Wed], first_day: None }),
            ("FREQ=WEEKLY", Weekly { interval: 1, days: vec![Weekday::Mon], first_day: None }),
            ("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;WKST=MO", Weekly { interval: 1, days: ALL_DAYS[..5].to_vec(), first_day: Some(Weekday::Mon) }),
            ("FREQ=MONTHLY", AbsoluteMonthly { interval: 1, day: 3 }),
            ("FREQ=MONTHLY;BYMONTHDAY=15;INTERVAL=3", AbsoluteMonthly { interval: 3, day: 15 }),
            ("FREQ=MONTHLY;BYDAY=-1FR", RelativeMonthly { interval: 1, days: vec![Weekday::Fri], index: -1 }),
            ("FREQ=MONTHLY;BYDAY=+2TU", RelativeMonthly { interval: 1, days: vec![Weekday::Tue], index: 2 }),
            ("FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=2", RelativeMonthly { interval: 1, days: vec![Weekday::Mon, Weekday::Tue], index: 2 }),
            ("FREQ=YEARLY", AbsoluteYearly { interval: 1, day: 3, month: 3 }),
            ("FREQ=YEARLY;INTERVAL=2;BYMONTH=6;BYMONTHDAY=1", AbsoluteYearly { interval: 2, day: 1, month: 6 }),
            ("rrule:freq=yearly;bymonth=11;byday=4th", RelativeYearly { interval: 1, days: vec![Weekday::Thu], index: 4, month: 11 }),
        ];
        for (rule, pattern) in cases {
            let rec = parse(rule);
            assert_eq!(rec.pattern, pattern, "{rule}");
            assert_eq!(rec.start_date, date(2025, 3, 3));
        }
        assert_eq!(parse("FREQ=DAILY").range, Range::NoEnd);
        assert_eq!(parse("FREQ=DAILY;COUNT=7").range, Range::Numbered(7));
    }

    #[test]
    fn rules_come_back_in_one_normal_form() {
        for (rule, normal_form) in [
            ("FREQ=DAILY;INTERVAL=1;COUNT=5", "FREQ=DAILY;COUNT=5"),
            ("RRULE:FREQ=WEEKLY;BYDAY=MO,WE;INTERVAL=2", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE"),
            ("FREQ=WEEKLY", "FREQ=WEEKLY;BYDAY=MO"),
            ("FREQ=WEEKLY;BYDAY=MO;WKST=MO", "FREQ=WEEKLY;BYDAY=MO"),
            ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;WKST=MO", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;WKST=MO"),
            ("FREQ=MONTHLY", "FREQ=MONTHLY;BYMONTHDAY=3"),
            ("FREQ=MONTHLY;BYDAY=FR;BYSETPOS=-1", "FREQ=MONTHLY;BYDAY=-1FR"),
            ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1"),
            ("FREQ=YEARLY", "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=3"),
            ("FREQ=YEARLY;INTERVAL=2;BYMONTH=11;BYDAY=TH;BYSETPOS=4", "FREQ=YEARLY;INTERVAL=2;BYMONTH=11;BYDAY=4TH"),
        ] {
            assert_eq!(normal(rule), normal_form, "{rule}");
            assert_eq!(normal(normal_form), normal_form, "{normal_form} is stable");
        }
    }

    #[test]
    fn until_becomes_the_last_local_start_date_and_back() {
        // The last start 2025-03-31 09:00 Copenhagen (CEST from 30 March) is 07:00Z.
        let rec = parse("FREQ=DAILY;UNTIL=20250331T070000Z");
        assert_eq!(rec.range, Range::EndDate(date(2025, 3, 31)));
        // Written back as the end of that day in the zone, so a later start time still fits.
        assert_eq!(to_rrule(&rec, cph(), false), "FREQ=DAILY;UNTIL=20250331T215959Z");
        // An UNTIL before that day's start time ends the series the day before: 23:59:59Z on
        // 31 December is 00:59:59 on 1 January in Copenhagen, before the 09:00 start.
        assert_eq!(parse("FREQ=DAILY;UNTIL=20250331T060000Z").range, Range::EndDate(date(2025, 3, 30)));
        assert_eq!(parse("FREQ=DAILY;UNTIL=20251231T235959Z").range, Range::EndDate(date(2025, 12, 31)));
        // Floating date-times and dates are local already.
        assert_eq!(parse("FREQ=DAILY;UNTIL=20250405T083000").range, Range::EndDate(date(2025, 4, 4)));
        assert_eq!(parse("FREQ=DAILY;UNTIL=20250405").range, Range::EndDate(date(2025, 4, 5)));
        // All-day series: dates both ways, whatever the time of an UNTIL instant.
        let midnight = date(2025, 3, 3).and_time(NaiveTime::MIN);
        let rec = from_rrule("FREQ=DAILY;UNTIL=20250405", midnight, cph(), true).unwrap();
        assert_eq!(to_rrule(&rec, cph(), true), "FREQ=DAILY;UNTIL=20250405");
        let rec = from_rrule("FREQ=DAILY;UNTIL=20250405T000000Z", midnight, cph(), true).unwrap();
        assert_eq!(rec.range, Range::EndDate(date(2025, 4, 5)));
    }

    #[test]
    fn until_near_daylight_saving_changes() {
        // 26 October 2025: Copenhagen falls back at 03:00; the day's last second is 22:59:59Z.
        let rec = Recurrence { pattern: Pattern::Daily { interval: 1 }, range: Range::EndDate(date(2025, 10, 26)), start_date: date(2025, 3, 3) };
        assert_eq!(to_rrule(&rec, cph(), false), "FREQ=DAILY;UNTIL=20251026T225959Z");
        // America/Santiago falls back at midnight (6 April 2025): 23:59:59 on the 5th happens
        // twice; the later one keeps an occurrence in the repeated hour.
        let santiago: Tz = "America/Santiago".parse().unwrap();
        let rec = Recurrence { range: Range::EndDate(date(2025, 4, 5)), ..rec };
        assert_eq!(to_rrule(&rec, santiago, false), "FREQ=DAILY;UNTIL=20250406T035959Z");
        // A series starting at 02:30 in Auckland, where 28 September 2025 has no 02:30 (clocks
        // jump from 02:00 to 03:00, the occurrence is at 14:30Z the day before): the series
        // ends on the 28th, and the UNTIL written back lies between that occurrence and the
        // next one (13:30Z on the 28th).
        let auckland: Tz = "Pacific/Auckland".parse().unwrap();
        let start = date(2025, 9, 1).and_hms_opt(2, 30, 0).unwrap();
        let rec = from_rrule("FREQ=DAILY;UNTIL=20250927T143000Z", start, auckland, false).unwrap();
        assert_eq!(rec.range, Range::EndDate(date(2025, 9, 28)));
        assert_eq!(to_rrule(&rec, auckland, false), "FREQ=DAILY;UNTIL=20250928T105959Z");
    }

    #[test]
    fn rules_without_an_exchange_equivalent_are_refused() {
        for rule in [
            "FREQ=HOURLY",
            "FREQ=MINUTELY;COUNT=3",
            "FREQ=WEEKLY;BYHOUR=9",
            "FREQ=MONTHLY;BYMONTHDAY=1,15",
            "FREQ=MONTHLY;BYMONTHDAY=-1",
            "FREQ=MONTHLY;BYDAY=1MO,2TU",
            "FREQ=MONTHLY;BYDAY=2MO,2TU",
            "FREQ=MONTHLY;BYDAY=5MO",
            "FREQ=MONTHLY;BYDAY=MO,WE;BYSETPOS=5",
            "FREQ=MONTHLY;BYDAY=MO;BYMONTHDAY=3",
            "FREQ=MONTHLY;BYMONTHDAY=3;BYSETPOS=1",
            "FREQ=MONTHLY;BYMONTH=3",
            "FREQ=DAILY;INTERVAL=2;BYDAY=MO",
            "FREQ=WEEKLY;BYDAY=1MO",
            "FREQ=WEEKLY;BYMONTHDAY=1",
            "FREQ=DAILY;BYSETPOS=1",
            "FREQ=DAILY;COUNT=2;UNTIL=20250101",
            "FREQ=DAILY;COUNT=0",
            "FREQ=DAILY;COUNT=10001",
            "FREQ=DAILY;INTERVAL=0",
            "FREQ=DAILY;INTERVAL=1000",
            "FREQ=DAILY;UNTIL=soon",
            "FREQ=WEEKLY;WKST=XX",
            "FREQ=WEEKLY;BYDAY=MÅ",
            "FREQ=YEARLY;BYMONTH=13",
            "INTERVAL=2",
            "FREQ=DAILY;garbage",
            "RRULE:FREQ=DAILY\nRRULE:FREQ=WEEKLY",
            "",
        ] {
            let err = from_rrule(rule, start(), cph(), false).unwrap_err();
            assert!(!err.0.is_empty(), "{rule}");
        }
    }
}
