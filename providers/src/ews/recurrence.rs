//! RFC 5545 RRULE ↔ EWS `t:Recurrence` (a pattern plus a range, types.xsd
//! `RecurrencePatternTypes` / `RecurrenceRangeTypes`).
//!
//! EWS patterns are less expressive than RRULE: one rule, no BYHOUR/BYMINUTE/…, yearly rules
//! without an interval, relative monthly/yearly rules with one position. Rules outside that
//! subset are refused with a clear error instead of being silently approximated.
//!
//! The range's `StartDate` and `EndDate` are calendar dates in the series' own zone, while an
//! RRULE `UNTIL` on a timed series is a UTC instant; both directions convert through the zone
//! and the series' local start time so that the last occurrence is the same on both sides.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use domain::xml::{escape, Element};

use super::parse::T;
use crate::{ProviderError, Result};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pattern {
    Daily { interval: u32 },
    Weekly { interval: u32, days: Vec<Weekday>, first_day: Option<Weekday> },
    AbsoluteMonthly { interval: u32, day: u32 },
    /// `days` is one weekday, or the EWS groups Day / Weekday / WeekendDay; `index` 1..=4 or -1.
    RelativeMonthly { interval: u32, days: Vec<Weekday>, index: i32 },
    AbsoluteYearly { day: u32, month: u32 },
    RelativeYearly { days: Vec<Weekday>, index: i32, month: u32 },
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
    pub start_date: NaiveDate,
}

fn unsupported(msg: impl Into<String>) -> ProviderError {
    ProviderError::Rejected { status: 0, code: "UnsupportedRecurrence".into(), message: msg.into() }
}

const WEEKDAYS: [Weekday; 7] =
    [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];

fn ical_day(s: &str) -> Option<Weekday> {
    Some(match s {
        "MO" => Weekday::Mon,
        "TU" => Weekday::Tue,
        "WE" => Weekday::Wed,
        "TH" => Weekday::Thu,
        "FR" => Weekday::Fri,
        "SA" => Weekday::Sat,
        "SU" => Weekday::Sun,
        _ => return None,
    })
}

fn ical_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}

fn ews_day(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// One EWS `DayOfWeekType` value → the weekdays it stands for.
fn ews_days(s: &str) -> Option<Vec<Weekday>> {
    Some(match s {
        "Monday" => vec![Weekday::Mon],
        "Tuesday" => vec![Weekday::Tue],
        "Wednesday" => vec![Weekday::Wed],
        "Thursday" => vec![Weekday::Thu],
        "Friday" => vec![Weekday::Fri],
        "Saturday" => vec![Weekday::Sat],
        "Sunday" => vec![Weekday::Sun],
        "Day" => WEEKDAYS.to_vec(),
        "Weekday" => WEEKDAYS[..5].to_vec(),
        "WeekendDay" => vec![Weekday::Sat, Weekday::Sun],
        _ => return None,
    })
}

/// The single EWS `DayOfWeekType` value for a set of days in a relative pattern.
fn ews_day_group(days: &[Weekday]) -> Option<&'static str> {
    let mut sorted: Vec<u32> = days.iter().map(|d| d.num_days_from_monday()).collect();
    sorted.sort_unstable();
    sorted.dedup();
    match sorted.as_slice() {
        [one] => Some(ews_day(WEEKDAYS[*one as usize])),
        [0, 1, 2, 3, 4, 5, 6] => Some("Day"),
        [0, 1, 2, 3, 4] => Some("Weekday"),
        [5, 6] => Some("WeekendDay"),
        _ => None,
    }
}

const MONTHS: [&str; 12] = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December",
];

fn index_name(i: i32) -> Option<&'static str> {
    Some(match i {
        1 => "First",
        2 => "Second",
        3 => "Third",
        4 => "Fourth",
        -1 => "Last",
        _ => return None,
    })
}

fn index_value(s: &str) -> Option<i32> {
    Some(match s {
        "First" => 1,
        "Second" => 2,
        "Third" => 3,
        "Fourth" => 4,
        "Last" => -1,
        _ => return None,
    })
}

/// Parses an RRULE value like `FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10` (an `RRULE:` prefix is
/// allowed) for a series whose first occurrence starts at `local_start` in `tz`.
pub fn from_rrule(rule: &str, local_start: NaiveDateTime, tz: Tz, all_day: bool) -> Result<Recurrence> {
    let rule = rule.trim();
    let rule = rule.strip_prefix("RRULE:").or_else(|| rule.strip_prefix("rrule:")).unwrap_or(rule);
    let mut freq = None;
    let mut interval = 1u32;
    let mut byday: Vec<(i32, Weekday)> = Vec::new();
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
        let value = value.trim();
        let bad = || unsupported(format!("bad RRULE value {part:?}"));
        match key.trim().to_ascii_uppercase().as_str() {
            "FREQ" => freq = Some(value.to_ascii_uppercase()),
            "INTERVAL" => interval = value.parse().ok().filter(|n| *n >= 1).ok_or_else(bad)?,
            "BYDAY" => {
                for d in value.split(',') {
                    let d = d.trim().to_ascii_uppercase();
                    let split = d.len().checked_sub(2).ok_or_else(bad)?;
                    let (num, name) = d.split_at(split);
                    let day = ical_day(name).ok_or_else(bad)?;
                    let n = if num.is_empty() { 0 } else { num.trim_start_matches('+').parse().map_err(|_| bad())? };
                    byday.push((n, day));
                }
            }
            "BYMONTHDAY" => {
                bymonthday = Some(value.parse::<u32>().ok().filter(|d| (1..=31).contains(d)).ok_or_else(bad)?)
            }
            "BYMONTH" => bymonth = Some(value.parse::<u32>().ok().filter(|m| (1..=12).contains(m)).ok_or_else(bad)?),
            "BYSETPOS" => bysetpos = Some(value.parse::<i32>().map_err(|_| bad())?),
            "COUNT" => count = Some(value.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(bad)?),
            "UNTIL" => until = Some(value.to_string()),
            "WKST" => wkst = Some(ical_day(&value.to_ascii_uppercase()).ok_or_else(bad)?),
            other => return Err(unsupported(format!("RRULE part {other} has no Exchange equivalent"))),
        }
    }
    let freq = freq.ok_or_else(|| unsupported("RRULE without FREQ"))?;
    let start = local_start.date();
    // A relative rule: one position, from `BYDAY=2TU` or from `BYDAY=…;BYSETPOS=n`.
    let relative = || -> Result<Option<(Vec<Weekday>, i32)>> {
        if byday.is_empty() {
            return Ok(None);
        }
        let positions: Vec<i32> = byday.iter().map(|(n, _)| *n).collect();
        let days: Vec<Weekday> = byday.iter().map(|(_, d)| *d).collect();
        let index = match (bysetpos, positions.iter().all(|n| *n == 0)) {
            (Some(p), true) => p,
            (None, false) if positions.len() == 1 => positions[0],
            _ => return Err(unsupported("this BYDAY/BYSETPOS combination has no Exchange equivalent")),
        };
        if index_name(index).is_none() || ews_day_group(&days).is_none() {
            return Err(unsupported("Exchange supports positions 1-4 and last of one day or day group"));
        }
        Ok(Some((days, index)))
    };
    let pattern = match freq.as_str() {
        "DAILY" if byday.is_empty() && bymonthday.is_none() && bymonth.is_none() => Pattern::Daily { interval },
        // A daily rule limited to some weekdays is a weekly rule in Exchange.
        "DAILY" if interval == 1 && bymonthday.is_none() && bymonth.is_none() && byday.iter().all(|(n, _)| *n == 0) => {
            Pattern::Weekly { interval: 1, days: byday.iter().map(|(_, d)| *d).collect(), first_day: wkst }
        }
        "WEEKLY" if bymonthday.is_none() && bymonth.is_none() && bysetpos.is_none() => {
            if byday.iter().any(|(n, _)| *n != 0) {
                return Err(unsupported("positions in a weekly BYDAY"));
            }
            let mut days: Vec<Weekday> = byday.iter().map(|(_, d)| *d).collect();
            if days.is_empty() {
                days.push(start.weekday());
            }
            Pattern::Weekly { interval, days, first_day: wkst }
        }
        "MONTHLY" if bymonth.is_none() => match (relative()?, bymonthday) {
            (Some((days, index)), None) => Pattern::RelativeMonthly { interval, days, index },
            (None, Some(day)) => Pattern::AbsoluteMonthly { interval, day },
            (None, None) => Pattern::AbsoluteMonthly { interval, day: start.day() },
            _ => return Err(unsupported("BYDAY together with BYMONTHDAY")),
        },
        "YEARLY" => {
            if interval != 1 {
                return Err(unsupported("Exchange yearly patterns have no interval"));
            }
            let month = bymonth.unwrap_or(start.month());
            match (relative()?, bymonthday) {
                (Some((days, index)), None) => Pattern::RelativeYearly { days, index, month },
                (None, Some(day)) => Pattern::AbsoluteYearly { day, month },
                (None, None) => Pattern::AbsoluteYearly { day: start.day(), month },
                _ => return Err(unsupported("BYDAY together with BYMONTHDAY")),
            }
        }
        other => return Err(unsupported(format!("FREQ={other} with these parts has no Exchange equivalent"))),
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
fn until_to_end_date(until: &str, local_start: NaiveDateTime, tz: Tz, all_day: bool) -> Result<NaiveDate> {
    let bad = || unsupported(format!("bad UNTIL {until:?}"));
    if let Some(utc) = until.strip_suffix('Z').or_else(|| until.strip_suffix('z')) {
        let at = NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S").map_err(|_| bad())?;
        let local = Utc.from_utc_datetime(&at).with_timezone(&tz).naive_local();
        return Ok(last_start_date(local, local_start, all_day));
    }
    if let Ok(at) = NaiveDateTime::parse_from_str(until, "%Y%m%dT%H%M%S") {
        return Ok(last_start_date(at, local_start, all_day));
    }
    NaiveDate::parse_from_str(until, "%Y%m%d").map_err(|_| bad())
}

fn last_start_date(until_local: NaiveDateTime, local_start: NaiveDateTime, all_day: bool) -> NaiveDate {
    if all_day || until_local.time() >= local_start.time() {
        until_local.date()
    } else {
        until_local.date() - Duration::days(1)
    }
}

/// The RRULE for an EWS recurrence of a series starting at `local_start` in `tz`.
pub fn to_rrule(rec: &Recurrence, local_start: NaiveDateTime, tz: Tz, all_day: bool) -> String {
    let days = |d: &[Weekday]| d.iter().map(|d| ical_name(*d)).collect::<Vec<_>>().join(",");
    let mut out = match &rec.pattern {
        Pattern::Daily { interval } => format!("FREQ=DAILY;INTERVAL={interval}"),
        Pattern::Weekly { interval, days: d, first_day } => {
            let mut s = format!("FREQ=WEEKLY;INTERVAL={interval};BYDAY={}", days(d));
            if let Some(w) = first_day {
                s.push_str(&format!(";WKST={}", ical_name(*w)));
            }
            s
        }
        Pattern::AbsoluteMonthly { interval, day } => format!("FREQ=MONTHLY;INTERVAL={interval};BYMONTHDAY={day}"),
        Pattern::RelativeMonthly { interval, days: d, index } => relative("MONTHLY", *interval, d, *index, None),
        Pattern::AbsoluteYearly { day, month } => format!("FREQ=YEARLY;BYMONTH={month};BYMONTHDAY={day}"),
        Pattern::RelativeYearly { days: d, index, month } => relative("YEARLY", 1, d, *index, Some(*month)),
    };
    match rec.range {
        Range::NoEnd => {}
        Range::Numbered(n) => out.push_str(&format!(";COUNT={n}")),
        Range::EndDate(d) if all_day => out.push_str(&format!(";UNTIL={}", d.format("%Y%m%d"))),
        Range::EndDate(d) => {
            let local = d.and_time(local_start.time());
            let utc = tz
                .from_local_datetime(&local)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                // A start time skipped by a DST change that day: the end of the day is late enough.
                .unwrap_or_else(|| Utc.from_utc_datetime(&d.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default())));
            out.push_str(&format!(";UNTIL={}", utc.format("%Y%m%dT%H%M%SZ")));
        }
    }
    out
}

fn relative(freq: &str, interval: u32, days: &[Weekday], index: i32, month: Option<u32>) -> String {
    let list = days.iter().map(|d| ical_name(*d)).collect::<Vec<_>>().join(",");
    let mut s = format!("FREQ={freq}");
    if interval != 1 || freq == "MONTHLY" {
        s.push_str(&format!(";INTERVAL={interval}"));
    }
    if let Some(m) = month {
        s.push_str(&format!(";BYMONTH={m}"));
    }
    if days.len() == 1 {
        s.push_str(&format!(";BYDAY={index}{list}"));
    } else {
        s.push_str(&format!(";BYDAY={list};BYSETPOS={index}"));
    }
    s
}

/// Writes `<t:Recurrence>…</t:Recurrence>` in schema order.
pub fn to_xml(rec: &Recurrence) -> String {
    let mut x = String::from("<t:Recurrence>");
    let group = |d: &[Weekday]| ews_day_group(d).unwrap_or("Day");
    match &rec.pattern {
        Pattern::Daily { interval } => {
            x.push_str(&format!("<t:DailyRecurrence><t:Interval>{interval}</t:Interval></t:DailyRecurrence>"))
        }
        Pattern::Weekly { interval, days, first_day } => {
            let list = days.iter().map(|d| ews_day(*d)).collect::<Vec<_>>().join(" ");
            x.push_str(&format!(
                "<t:WeeklyRecurrence><t:Interval>{interval}</t:Interval><t:DaysOfWeek>{}</t:DaysOfWeek>",
                escape(&list)
            ));
            if let Some(f) = first_day {
                x.push_str(&format!("<t:FirstDayOfWeek>{}</t:FirstDayOfWeek>", ews_day(*f)));
            }
            x.push_str("</t:WeeklyRecurrence>");
        }
        Pattern::AbsoluteMonthly { interval, day } => x.push_str(&format!(
            "<t:AbsoluteMonthlyRecurrence><t:Interval>{interval}</t:Interval><t:DayOfMonth>{day}</t:DayOfMonth></t:AbsoluteMonthlyRecurrence>"
        )),
        Pattern::RelativeMonthly { interval, days, index } => x.push_str(&format!(
            "<t:RelativeMonthlyRecurrence><t:Interval>{interval}</t:Interval><t:DaysOfWeek>{}</t:DaysOfWeek><t:DayOfWeekIndex>{}</t:DayOfWeekIndex></t:RelativeMonthlyRecurrence>",
            group(days),
            index_name(*index).unwrap_or("First")
        )),
        Pattern::AbsoluteYearly { day, month } => x.push_str(&format!(
            "<t:AbsoluteYearlyRecurrence><t:DayOfMonth>{day}</t:DayOfMonth><t:Month>{}</t:Month></t:AbsoluteYearlyRecurrence>",
            MONTHS[(*month as usize).clamp(1, 12) - 1]
        )),
        Pattern::RelativeYearly { days, index, month } => x.push_str(&format!(
            "<t:RelativeYearlyRecurrence><t:DaysOfWeek>{}</t:DaysOfWeek><t:DayOfWeekIndex>{}</t:DayOfWeekIndex><t:Month>{}</t:Month></t:RelativeYearlyRecurrence>",
            group(days),
            index_name(*index).unwrap_or("First"),
            MONTHS[(*month as usize).clamp(1, 12) - 1]
        )),
    }
    let start = rec.start_date.format("%Y-%m-%d");
    match rec.range {
        Range::NoEnd => x.push_str(&format!("<t:NoEndRecurrence><t:StartDate>{start}</t:StartDate></t:NoEndRecurrence>")),
        Range::EndDate(d) => x.push_str(&format!(
            "<t:EndDateRecurrence><t:StartDate>{start}</t:StartDate><t:EndDate>{}</t:EndDate></t:EndDateRecurrence>",
            d.format("%Y-%m-%d")
        )),
        Range::Numbered(n) => x.push_str(&format!(
            "<t:NumberedRecurrence><t:StartDate>{start}</t:StartDate><t:NumberOfOccurrences>{n}</t:NumberOfOccurrences></t:NumberedRecurrence>"
        )),
    }
    x.push_str("</t:Recurrence>");
    x
}

/// `xs:date` as EWS writes it: `2025-03-01`, sometimes with a zone suffix (`2025-03-01Z`,
/// `2025-03-01+01:00`), which is ignored: the date is the series' local date.
fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

/// Reads a `t:Recurrence` element. Unknown patterns (task regeneration) give None.
pub fn from_xml(el: &Element) -> Option<Recurrence> {
    let num = |e: &Element, name: &str| e.child_text(T, name).and_then(|t| t.parse::<u32>().ok());
    let month = |e: &Element| {
        e.child_text(T, "Month")
            .and_then(|m| MONTHS.iter().position(|n| *n == m).map(|i| i as u32 + 1))
    };
    let mut pattern = None;
    let mut range = None;
    let mut start_date = None;
    for c in &el.children {
        if c.ns.as_deref() != Some(T) {
            continue;
        }
        let interval = num(c, "Interval").unwrap_or(1).max(1);
        match c.name.as_str() {
            "DailyRecurrence" => pattern = Some(Pattern::Daily { interval }),
            "WeeklyRecurrence" => {
                let days: Vec<Weekday> = c
                    .child_text(T, "DaysOfWeek")
                    .unwrap_or("")
                    .split_whitespace()
                    .filter_map(ews_days)
                    .flatten()
                    .collect();
                let first_day = c.child_text(T, "FirstDayOfWeek").and_then(ews_days).and_then(|d| d.first().copied());
                pattern = Some(Pattern::Weekly { interval, days, first_day });
            }
            "AbsoluteMonthlyRecurrence" => pattern = Some(Pattern::AbsoluteMonthly { interval, day: num(c, "DayOfMonth")? }),
            "RelativeMonthlyRecurrence" => {
                pattern = Some(Pattern::RelativeMonthly {
                    interval,
                    days: ews_days(c.child_text(T, "DaysOfWeek")?)?,
                    index: index_value(c.child_text(T, "DayOfWeekIndex")?)?,
                })
            }
            "AbsoluteYearlyRecurrence" => {
                pattern = Some(Pattern::AbsoluteYearly { day: num(c, "DayOfMonth")?, month: month(c)? })
            }
            "RelativeYearlyRecurrence" => {
                pattern = Some(Pattern::RelativeYearly {
                    days: ews_days(c.child_text(T, "DaysOfWeek")?)?,
                    index: index_value(c.child_text(T, "DayOfWeekIndex")?)?,
                    month: month(c)?,
                })
            }
            "NoEndRecurrence" | "EndDateRecurrence" | "NumberedRecurrence" => {
                start_date = c.child_text(T, "StartDate").and_then(parse_date);
                range = Some(match c.name.as_str() {
                    "NoEndRecurrence" => Range::NoEnd,
                    "EndDateRecurrence" => Range::EndDate(c.child_text(T, "EndDate").and_then(parse_date)?),
                    _ => Range::Numbered(num(c, "NumberOfOccurrences")?),
                });
            }
            _ => {}
        }
    }
    Some(Recurrence { pattern: pattern?, range: range?, start_date: start_date? })
}

/// The series' local start in `tz` (midnight of the date for all-day series).
pub fn local_start(start: &crate::EventTime, tz: Tz) -> NaiveDateTime {
    match start {
        crate::EventTime::At(t) => t.with_timezone(&tz).naive_local(),
        crate::EventTime::Date(d) => d.and_time(NaiveTime::MIN),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> NaiveDateTime {
        // A Monday, 09:00 local.
        NaiveDate::from_ymd_opt(2025, 3, 3).unwrap().and_hms_opt(9, 0, 0).unwrap()
    }

    fn round_trip(rule: &str) -> String {
        let tz: Tz = "Europe/Copenhagen".parse().unwrap();
        let rec = from_rrule(rule, start(), tz, false).unwrap();
        let xml = to_xml(&rec);
        let wrapped = format!(r#"<r xmlns:t="{T}">{xml}</r>"#);
        let root = domain::xml::parse(wrapped.as_bytes(), Default::default()).unwrap();
        let back = from_xml(root.child(T, "Recurrence").unwrap()).unwrap();
        assert_eq!(back, rec, "{rule} → {xml}");
        to_rrule(&back, start(), tz, false)
    }

    #[test]
    fn rules_round_trip_through_ews_patterns() {
        assert_eq!(round_trip("FREQ=DAILY;COUNT=5"), "FREQ=DAILY;INTERVAL=1;COUNT=5");
        assert_eq!(round_trip("RRULE:FREQ=WEEKLY;BYDAY=MO,WE;INTERVAL=2"), "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE");
        assert_eq!(round_trip("FREQ=WEEKLY"), "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO");
        assert_eq!(round_trip("FREQ=MONTHLY;BYMONTHDAY=15"), "FREQ=MONTHLY;INTERVAL=1;BYMONTHDAY=15");
        assert_eq!(round_trip("FREQ=MONTHLY;BYDAY=-1FR"), "FREQ=MONTHLY;INTERVAL=1;BYDAY=-1FR");
        assert_eq!(
            round_trip("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1"),
            "FREQ=MONTHLY;INTERVAL=1;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1"
        );
        assert_eq!(round_trip("FREQ=YEARLY"), "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=3");
        assert_eq!(round_trip("FREQ=YEARLY;BYMONTH=11;BYDAY=4TH"), "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH");
        // UNTIL: the last start 2025-03-31 09:00 Copenhagen (CEST from 30 March) is 07:00Z.
        assert_eq!(
            round_trip("FREQ=DAILY;UNTIL=20250331T070000Z"),
            "FREQ=DAILY;INTERVAL=1;UNTIL=20250331T070000Z"
        );
        // An UNTIL before that day's start time ends the series the day before.
        let tz: Tz = "Europe/Copenhagen".parse().unwrap();
        let rec = from_rrule("FREQ=DAILY;UNTIL=20250331T060000Z", start(), tz, false).unwrap();
        assert_eq!(rec.range, Range::EndDate(NaiveDate::from_ymd_opt(2025, 3, 30).unwrap()));
    }

    #[test]
    fn rules_without_an_exchange_equivalent_are_refused() {
        let tz: Tz = "UTC".parse().unwrap();
        for rule in [
            "FREQ=HOURLY",
            "FREQ=WEEKLY;BYHOUR=9",
            "FREQ=YEARLY;INTERVAL=2",
            "FREQ=MONTHLY;BYDAY=MO,WE;BYSETPOS=2",
            "FREQ=DAILY;COUNT=2;UNTIL=20250101",
            "INTERVAL=2",
            "garbage",
        ] {
            assert!(
                matches!(from_rrule(rule, start(), tz, false), Err(ProviderError::Rejected { .. })),
                "{rule}"
            );
        }
    }
}
