//! Microsoft Graph `patternedRecurrence` JSON ↔ [`Recurrence`], for the Graph client and the
//! Graph emulator alike. Graph days and positions are lower case (`monday`, `first`); reading
//! accepts any case, like Graph does.

use chrono::{NaiveDate, NaiveDateTime, Weekday};
use chrono_tz::Tz;
use serde_json::{json, Map, Value};

use super::{
    check_count, check_day_of_month, check_interval, check_month, exchange_day, exchange_day_name, index_by_name,
    index_name, unsupported, Pattern, Range, Recurrence, Unsupported,
};
use crate::windows_zones::zone_by_name;

fn day_names(days: &[Weekday]) -> Vec<String> {
    days.iter().map(|d| exchange_day_name(*d).to_ascii_lowercase()).collect()
}

/// The `patternedRecurrence` for `rec`; `zone_name` is the series' zone as the client named it
/// (written as `range.recurrenceTimeZone`).
pub fn to_json(rec: &Recurrence, zone_name: &str) -> Value {
    let mut pattern = Map::new();
    let (kind, interval, first_day) = match &rec.pattern {
        Pattern::Daily { interval } => ("daily", *interval, None),
        Pattern::Weekly { interval, days, first_day } => {
            pattern.insert("daysOfWeek".into(), day_names(days).into());
            ("weekly", *interval, *first_day)
        }
        Pattern::AbsoluteMonthly { interval, day } => {
            pattern.insert("dayOfMonth".into(), (*day).into());
            ("absoluteMonthly", *interval, None)
        }
        Pattern::RelativeMonthly { interval, days, index } => {
            pattern.insert("daysOfWeek".into(), day_names(days).into());
            pattern.insert("index".into(), index_name(*index).unwrap_or("first").to_ascii_lowercase().into());
            ("relativeMonthly", *interval, None)
        }
        Pattern::AbsoluteYearly { interval, day, month } => {
            pattern.insert("dayOfMonth".into(), (*day).into());
            pattern.insert("month".into(), (*month).into());
            ("absoluteYearly", *interval, None)
        }
        Pattern::RelativeYearly { interval, days, index, month } => {
            pattern.insert("daysOfWeek".into(), day_names(days).into());
            pattern.insert("index".into(), index_name(*index).unwrap_or("first").to_ascii_lowercase().into());
            pattern.insert("month".into(), (*month).into());
            ("relativeYearly", *interval, None)
        }
    };
    pattern.insert("type".into(), kind.into());
    pattern.insert("interval".into(), interval.into());
    // Graph's default week start.
    let first_day = exchange_day_name(first_day.unwrap_or(Weekday::Sun)).to_ascii_lowercase();
    pattern.insert("firstDayOfWeek".into(), first_day.into());
    let mut range = Map::new();
    range.insert("startDate".into(), rec.start_date.format("%Y-%m-%d").to_string().into());
    range.insert("recurrenceTimeZone".into(), zone_name.into());
    match rec.range {
        Range::NoEnd => {
            range.insert("type".into(), "noEnd".into());
        }
        Range::Numbered(n) => {
            range.insert("type".into(), "numbered".into());
            range.insert("numberOfOccurrences".into(), n.into());
        }
        Range::EndDate(d) => {
            range.insert("type".into(), "endDate".into());
            range.insert("endDate".into(), d.format("%Y-%m-%d").to_string().into());
        }
    }
    json!({ "pattern": pattern, "range": range })
}

/// Reads a `patternedRecurrence`. `series_start` (the series' first local day) stands in for a
/// missing `range.startDate`. Also gives the zone named by `range.recurrenceTimeZone`, when it
/// names a known one: the end date is a day in that zone.
pub fn from_json(rec: &Value, series_start: NaiveDate) -> Result<(Recurrence, Option<Tz>), Unsupported> {
    let pattern = rec.get("pattern").filter(|p| p.is_object()).ok_or_else(|| unsupported("recurrence.pattern is missing"))?;
    let range = rec.get("range").filter(|r| r.is_object()).ok_or_else(|| unsupported("recurrence.range is missing"))?;
    let kind = pattern
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| unsupported("recurrence.pattern.type is missing"))?;
    let int = |v: Option<&Value>, what: &str| -> Result<Option<u32>, Unsupported> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_i64()
                .map(|n| u32::try_from(n).unwrap_or(0))
                .map(Some)
                .ok_or_else(|| unsupported(format!("recurrence {what} must be a number"))),
        }
    };
    let interval = check_interval(int(pattern.get("interval"), "interval")?.unwrap_or(1))?;
    let days: Vec<Weekday> = match pattern.get("daysOfWeek") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|d| d.as_str().and_then(exchange_day).ok_or_else(|| unsupported(format!("unknown day of week {d}"))))
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(unsupported(format!("recurrence daysOfWeek must be a list, got {other}"))),
    };
    let index = match pattern.get("index").and_then(Value::as_str) {
        None => 1,
        Some(i) => index_by_name(i).ok_or_else(|| unsupported(format!("unknown week index {i}")))?,
    };
    // Graph sends 0 for the properties a pattern type does not use.
    let day_of_month = int(pattern.get("dayOfMonth"), "dayOfMonth")?.filter(|d| *d != 0);
    let month = int(pattern.get("month"), "month")?.filter(|m| *m != 0);
    let need_days = || {
        if days.is_empty() {
            Err(unsupported(format!("a {kind} recurrence needs daysOfWeek")))
        } else {
            Ok(days.clone())
        }
    };
    let need_dom = || check_day_of_month(day_of_month.ok_or_else(|| unsupported(format!("a {kind} recurrence needs dayOfMonth")))?);
    let need_month = || check_month(month.ok_or_else(|| unsupported(format!("a {kind} recurrence needs month")))?);
    let pattern = match kind.to_ascii_lowercase().as_str() {
        "daily" => Pattern::Daily { interval },
        "weekly" => {
            let first_day = pattern.get("firstDayOfWeek").and_then(Value::as_str).and_then(exchange_day);
            Pattern::Weekly { interval, days: need_days()?, first_day }
        }
        "absolutemonthly" => Pattern::AbsoluteMonthly { interval, day: need_dom()? },
        "relativemonthly" => Pattern::RelativeMonthly { interval, days: need_days()?, index },
        "absoluteyearly" => Pattern::AbsoluteYearly { interval, day: need_dom()?, month: need_month()? },
        "relativeyearly" => Pattern::RelativeYearly { interval, days: need_days()?, index, month: need_month()? },
        other => return Err(unsupported(format!("unknown recurrence pattern type {other}"))),
    };
    let date = |what: &str| -> Result<Option<NaiveDate>, Unsupported> {
        match range.get(what).and_then(Value::as_str) {
            None => Ok(None),
            Some(d) => NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
                .map(Some)
                .map_err(|_| unsupported(format!("{what} {d} is not a date"))),
        }
    };
    let range_kind = range.get("type").and_then(Value::as_str).unwrap_or("noEnd").to_ascii_lowercase();
    let range_value = match range_kind.as_str() {
        "noend" => Range::NoEnd,
        "numbered" => Range::Numbered(check_count(int(range.get("numberOfOccurrences"), "numberOfOccurrences")?.unwrap_or(0))?),
        "enddate" => Range::EndDate(date("endDate")?.ok_or_else(|| unsupported("an endDate range needs endDate"))?),
        other => return Err(unsupported(format!("unknown recurrence range type {other}"))),
    };
    let zone = range.get("recurrenceTimeZone").and_then(Value::as_str).and_then(zone_by_name);
    let start_date = date("startDate")?.unwrap_or(series_start);
    Ok((Recurrence { pattern, range: range_value, start_date }, zone))
}

/// A `patternedRecurrence` as an RRULE value (no `RRULE:` prefix) for a series in `tz` (the
/// range's recurrenceTimeZone wins when it names a known zone) whose first occurrence starts
/// at `local_start`.
pub fn to_rrule(rec: &Value, local_start: NaiveDateTime, tz: Tz, all_day: bool) -> Result<String, Unsupported> {
    let (rec, zone) = from_json(rec, local_start.date())?;
    Ok(super::to_rrule(&rec, zone.unwrap_or(tz), all_day))
}

/// An RRULE value (with or without `RRULE:`) as a `patternedRecurrence`, for a series whose
/// first occurrence starts at `local_start` in `tz`, the zone the client calls `zone_name`.
pub fn from_rrule(rule: &str, local_start: NaiveDateTime, tz: Tz, zone_name: &str, all_day: bool) -> Result<Value, Unsupported> {
    Ok(to_json(&super::from_rrule(rule, local_start, tz, all_day)?, zone_name))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{cph, date};
    use super::*;

    fn start() -> NaiveDateTime {
        date(2026, 3, 2).and_hms_opt(9, 0, 0).unwrap() // a Monday
    }

    #[test]
    fn rules_map_to_graph_patterns_and_back() {
        for (rule, pattern_type) in [
            ("FREQ=DAILY;INTERVAL=2;COUNT=10", "daily"),
            ("FREQ=WEEKLY;BYDAY=MO,WE,FR", "weekly"),
            ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;WKST=MO", "weekly"),
            ("FREQ=MONTHLY;BYMONTHDAY=15;COUNT=6", "absoluteMonthly"),
            ("FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=2", "relativeMonthly"),
            ("FREQ=MONTHLY;BYDAY=-1FR", "relativeMonthly"),
            ("FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=2", "absoluteYearly"),
            ("FREQ=YEARLY;INTERVAL=2;BYMONTH=3;BYMONTHDAY=2", "absoluteYearly"),
            ("FREQ=YEARLY;BYMONTH=11;BYDAY=4TH", "relativeYearly"),
        ] {
            let g = from_rrule(rule, start(), cph(), "Europe/Copenhagen", false).unwrap();
            assert_eq!(g["pattern"]["type"], pattern_type, "{rule}");
            assert_eq!(to_rrule(&g, start(), cph(), false).unwrap(), rule, "round trip of {rule}");
        }
        let g = from_rrule("FREQ=YEARLY;INTERVAL=2;BYMONTH=11;BYDAY=4TH;COUNT=3", start(), cph(), "Europe/Copenhagen", false).unwrap();
        assert_eq!(
            g,
            json!({
                "pattern": { "type": "relativeYearly", "interval": 2, "daysOfWeek": ["thursday"], "index": "fourth", "month": 11, "firstDayOfWeek": "sunday" },
                "range": { "type": "numbered", "numberOfOccurrences": 3, "startDate": "2026-03-02", "recurrenceTimeZone": "Europe/Copenhagen" }
            })
        );
    }

    #[test]
    fn end_dates_are_days_in_the_recurrence_zone() {
        let g = from_rrule("FREQ=DAILY;UNTIL=20260331T220000Z", start(), cph(), "Europe/Copenhagen", false).unwrap();
        assert_eq!(g["range"]["endDate"], "2026-03-31", "00:00 on 1 April is before the 09:00 start");
        assert_eq!(to_rrule(&g, start(), cph(), false).unwrap(), "FREQ=DAILY;UNTIL=20260331T215959Z");
        assert_eq!(to_rrule(&g, start(), cph(), true).unwrap(), "FREQ=DAILY;UNTIL=20260331");
        // samples/graph/event_create_recurring_request.json's recurrence: no recurrenceTimeZone,
        // so the event's zone.
        let g = json!({
            "pattern": { "type": "weekly", "interval": 1, "daysOfWeek": ["Monday"] },
            "range": { "type": "endDate", "startDate": "2017-09-04", "endDate": "2017-12-31" }
        });
        let la: Tz = "America/Los_Angeles".parse().unwrap();
        let (rec, zone) = from_json(&g, date(2017, 9, 4)).unwrap();
        assert_eq!((rec.start_date, zone), (date(2017, 9, 4), None));
        assert_eq!(to_rrule(&g, start(), la, false).unwrap(), "FREQ=WEEKLY;BYDAY=MO;UNTIL=20180101T075959Z");
        // A recurrenceTimeZone (Windows names too) wins over the event's zone.
        let mut g = g;
        g["range"]["recurrenceTimeZone"] = json!("Romance Standard Time");
        assert_eq!(to_rrule(&g, start(), la, false).unwrap(), "FREQ=WEEKLY;BYDAY=MO;UNTIL=20171231T225959Z");
    }

    #[test]
    fn graph_reads_liberally() {
        let g = json!({
            "pattern": { "type": "RelativeMonthly", "interval": 2, "daysOfWeek": ["Thursday"], "index": "Last", "dayOfMonth": 0, "month": 0, "firstDayOfWeek": "sunday" },
            "range": { "type": "EndDate", "startDate": "2026-01-29", "endDate": "2026-12-31", "numberOfOccurrences": 0 }
        });
        let (rec, _) = from_json(&g, date(2026, 1, 1)).unwrap();
        assert_eq!(rec.pattern, Pattern::RelativeMonthly { interval: 2, days: vec![Weekday::Thu], index: -1 });
        assert_eq!(rec.range, Range::EndDate(date(2026, 12, 31)));
        assert_eq!(rec.start_date, date(2026, 1, 29));
        let bare = json!({ "pattern": { "type": "daily", "interval": null }, "range": {} });
        assert_eq!(from_json(&bare, date(2026, 1, 1)).unwrap().0.range, Range::NoEnd);
    }

    #[test]
    fn malformed_patterns_are_refused_clearly() {
        for bad in [
            json!({}),
            json!({ "pattern": { "type": "hourly" }, "range": {} }),
            json!({ "pattern": { "type": "weekly" }, "range": { "type": "noEnd" } }),
            json!({ "pattern": { "type": "weekly", "daysOfWeek": ["someday"] }, "range": { "type": "noEnd" } }),
            json!({ "pattern": { "type": "weekly", "daysOfWeek": "monday" }, "range": { "type": "noEnd" } }),
            json!({ "pattern": { "type": "absoluteMonthly", "dayOfMonth": 32 }, "range": { "type": "noEnd" } }),
            json!({ "pattern": { "type": "absoluteYearly", "dayOfMonth": 1 }, "range": { "type": "noEnd" } }),
            json!({ "pattern": { "type": "relativeMonthly", "daysOfWeek": ["monday"], "index": "fifth" }, "range": { "type": "noEnd" } }),
            json!({ "pattern": { "type": "daily", "interval": 0 }, "range": { "type": "noEnd" } }),
            json!({ "pattern": { "type": "daily", "interval": -1 }, "range": { "type": "noEnd" } }),
            json!({ "pattern": { "type": "daily" }, "range": { "type": "numbered", "numberOfOccurrences": 0 } }),
            json!({ "pattern": { "type": "daily" }, "range": { "type": "endDate" } }),
            json!({ "pattern": { "type": "daily" }, "range": { "type": "endDate", "endDate": "31/12/2026" } }),
            json!({ "pattern": { "type": "daily" }, "range": { "type": "sometimes" } }),
            json!({ "pattern": { "type": "daily", "interval": "two" }, "range": { "type": "noEnd" } }),
        ] {
            let err = to_rrule(&bad, start(), cph(), false).unwrap_err();
            assert!(!err.0.is_empty(), "{bad}");
        }
        let bad = json!({ "pattern": { "type": "weekly", "daysOfWeek": ["someday"] }, "range": { "type": "noEnd" } });
        assert!(to_rrule(&bad, start(), cph(), false).unwrap_err().0.contains("someday"));
    }
}
