//! Recurring series: expanding a master's RFC 5545 rule (with the `rrule` crate) into
//! occurrences, in the series' own zone so that a weekly 09:00 meeting stays at 09:00 across
//! daylight-saving changes, and applying changed or deleted occurrences (overrides).
//! All-day series are expanded as floating dates.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use rrule::RRuleSet;

use crate::model::{Event, Fields, Instance, InstanceKind, ModelError, Override, When};

/// Most occurrences one expansion produces (a daily series over 50 years is ~18,000).
const LIMIT: u16 = 20_000;

fn rule_set(ev: &Event) -> Result<RRuleSet, ModelError> {
    rule_set_for(&ev.recurrence, &ev.fields)
}

fn rule_set_for(lines: &[String], fields: &Fields) -> Result<RRuleSet, ModelError> {
    let dtstart = match fields.start {
        When::Date(d) => format!("DTSTART:{}T000000Z", d.format("%Y%m%d")),
        When::At(t) => {
            let tz: chrono_tz::Tz = fields.time_zone.parse().map_err(|_| ModelError::Invalid("bad time zone".into()))?;
            format!("DTSTART;TZID={}:{}", fields.time_zone, t.with_timezone(&tz).format("%Y%m%dT%H%M%S"))
        }
    };
    let mut text = dtstart;
    for line in lines {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let upper = line.to_ascii_uppercase();
        if !(upper.starts_with("RRULE:") || upper.starts_with("EXDATE") || upper.starts_with("RDATE") || upper.starts_with("EXRULE:")) {
            return Err(ModelError::Invalid(format!("unsupported recurrence line: {line}")));
        }
        text.push('\n');
        text.push_str(line);
    }
    text.parse::<RRuleSet>().map_err(|e| ModelError::Invalid(format!("invalid recurrence: {e}")))
}

/// The first RRULE line of a series' recurrence lines.
pub fn rrule_line(lines: &[String]) -> Option<&str> {
    lines.iter().map(|l| l.trim()).find(|l| l.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("RRULE:")))
}

/// The zone a series' RRULE is read in, with the series' first local start in it: the
/// event's zone for timed series; UTC for all-day ones, which are expanded as floating dates
/// (see `rule_set_for`), so that an UNTIL on the end date's last second stays on that date.
pub fn rule_zone(f: &Fields) -> (chrono_tz::Tz, chrono::NaiveDateTime) {
    match f.start {
        When::Date(d) => (chrono_tz::UTC, d.and_time(NaiveTime::MIN)),
        When::At(t) => {
            let tz = f.time_zone.parse::<chrono_tz::Tz>().unwrap_or(chrono_tz::UTC);
            (tz, t.with_timezone(&tz).naive_local())
        }
    }
}

/// Checks that a rule parses and is bounded enough to expand.
pub fn check(lines: &[String], fields: &Fields) -> Result<(), ModelError> {
    if !lines.iter().any(|l| l.trim().to_ascii_uppercase().starts_with("RRULE:")) {
        return Err(ModelError::Invalid("a recurrence needs an RRULE".into()));
    }
    rule_set_for(lines, fields).map(|_| ())
}

/// Pattern starts (UTC) in `[from, to)`, each with its 1-based index in the series.
fn pattern_starts(ev: &Event, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(usize, DateTime<Utc>)> {
    let Ok(set) = rule_set(ev) else { return Vec::new() };
    let all = set.before(to_tz(to)).all(LIMIT).dates;
    all.into_iter()
        .enumerate()
        .map(|(i, d)| (i + 1, d.with_timezone(&Utc)))
        .filter(|(_, d)| *d >= from && *d < to)
        .collect()
}

fn to_tz(t: DateTime<Utc>) -> DateTime<rrule::Tz> {
    t.with_timezone(&rrule::Tz::UTC)
}

fn duration(f: &Fields) -> Duration {
    f.end_utc() - f.start_utc()
}

/// The master's fields moved to the slot starting at `slot` (UTC; midnight UTC for all-day).
fn fields_at(master: &Fields, slot: DateTime<Utc>) -> Fields {
    let mut f = master.clone();
    match (master.start, master.end) {
        (When::Date(s), When::Date(e)) => {
            let d = slot.date_naive();
            f.start = When::Date(d);
            f.end = When::Date(d + (e - s));
        }
        _ => {
            let len = duration(master);
            f.start = When::At(slot);
            f.end = When::At(slot + len);
        }
    }
    f
}

/// The key an occurrence slot is stored under: its UTC start (all-day: the date at 00:00 UTC).
pub fn slot_key(when: When) -> DateTime<Utc> {
    match when {
        When::At(t) => t,
        When::Date(d) => Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN)),
    }
}

fn overlaps(f: &Fields, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
    let (s, e) = (f.start_utc(), f.end_utc());
    // Zero-length events are in the window when they start inside it.
    (e > from || (s == e && s >= from)) && s < to
}

fn single(ev: &Event) -> Instance {
    Instance {
        event_id: ev.id.clone(),
        kind: InstanceKind::Single,
        original_start: None,
        index: 0,
        fields: ev.fields.clone(),
        cancelled: false,
        seq: ev.seq,
        change_key: ev.change_key.clone(),
    }
}

/// An unchanged occurrence of `ev` in `slot`, with the fields it has there.
fn unchanged(ev: &Event, slot: DateTime<Utc>, index: usize, fields: Fields) -> Instance {
    Instance {
        event_id: ev.id.clone(),
        kind: InstanceKind::Occurrence,
        original_start: Some(slot),
        index,
        fields,
        cancelled: false,
        seq: ev.seq,
        change_key: ev.change_key.clone(),
    }
}

/// The occurrence in `slot` as changed on its own.
fn exception(ev: &Event, slot: DateTime<Utc>, index: usize, fields: &Fields, change_key: &str, seq: u64) -> Instance {
    Instance {
        kind: InstanceKind::Exception,
        change_key: change_key.to_string(),
        seq,
        ..unchanged(ev, slot, index, fields.clone())
    }
}

/// Instances of `ev` overlapping `[from, to)`.
pub fn instances(ev: &Event, from: DateTime<Utc>, to: DateTime<Utc>, include_cancelled: bool) -> Vec<Instance> {
    if !ev.is_series() {
        return if overlaps(&ev.fields, from, to) { vec![single(ev)] } else { Vec::new() };
    }
    let len = duration(&ev.fields);
    // Slots that start up to one event length (plus a day for floating dates) before the
    // window can still overlap it.
    let widened_from = from - len - Duration::days(1);
    let mut out = Vec::new();
    for (index, slot) in pattern_starts(ev, widened_from, to + Duration::days(1)) {
        let fields = fields_at(&ev.fields, slot);
        match ev.overrides.get(&slot) {
            Some(Override::Cancelled { seq }) => {
                if include_cancelled && overlaps(&fields, from, to) {
                    out.push(Instance { cancelled: true, seq: *seq, ..unchanged(ev, slot, index, fields) });
                }
            }
            Some(Override::Changed { .. }) => {} // listed below, where it now is
            None => {
                if overlaps(&fields, from, to) {
                    out.push(unchanged(ev, slot, index, fields));
                }
            }
        }
    }
    for (slot, ov) in &ev.overrides {
        if let Override::Changed { fields, change_key, seq } = ov {
            if overlaps(fields, from, to) {
                out.push(exception(ev, *slot, index_of(ev, *slot).unwrap_or(0), fields, change_key, *seq));
            }
        }
    }
    out
}

/// 1-based position of a slot in the series.
pub fn index_of(ev: &Event, slot: DateTime<Utc>) -> Option<usize> {
    let set = rule_set(ev).ok()?;
    let dates = set.before(to_tz(slot + Duration::seconds(1))).all(LIMIT).dates;
    dates.iter().position(|d| d.with_timezone(&Utc) == slot).map(|i| i + 1)
}

/// The slot with this 1-based index.
pub fn slot_at_index(ev: &Event, index: usize) -> Option<DateTime<Utc>> {
    if index == 0 || index > LIMIT as usize {
        return None;
    }
    let set = rule_set(ev).ok()?;
    set.all(index as u16).dates.get(index - 1).map(|d| d.with_timezone(&Utc))
}

/// The occurrence in the slot `original_start`, as it is now (changed or not).
pub fn occurrence(ev: &Event, original_start: DateTime<Utc>) -> Result<Instance, ModelError> {
    if !ev.is_series() {
        return Err(ModelError::NoOccurrence);
    }
    let index = index_of(ev, original_start).ok_or(ModelError::NoOccurrence)?;
    match ev.overrides.get(&original_start) {
        Some(Override::Cancelled { .. }) => Err(ModelError::OccurrenceDeleted),
        Some(Override::Changed { fields, change_key, seq }) => Ok(exception(ev, original_start, index, fields, change_key, *seq)),
        None => Ok(unchanged(ev, original_start, index, fields_at(&ev.fields, original_start))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{utc, Person, Sensitivity, ShowAs};
    use std::collections::BTreeMap;

    fn weekly(start: DateTime<Utc>, tz: &str) -> Event {
        Event {
            id: "m".into(),
            ical_uid: "u".into(),
            change_key: "k".into(),
            fields: Fields {
                subject: "Stand-up".into(),
                body: String::new(),
                location: String::new(),
                start: When::At(start),
                end: When::At(start + Duration::minutes(30)),
                time_zone: tz.into(),
                sensitivity: Sensitivity::Normal,
                show_as: ShowAs::Busy,
                attendees: vec![],
            },
            organizer: Person { email: "a@x".into(), name: "A".into() },
            recurrence: vec!["RRULE:FREQ=WEEKLY;COUNT=10".into()],
            overrides: BTreeMap::new(),
            private_props: BTreeMap::new(),
            shared_props: BTreeMap::new(),
            created: start,
            updated: start,
            seq: 1,
            cancelled: false,
        }
    }

    #[test]
    fn weekly_keeps_local_time_across_dst() {
        // Mondays 09:00 Copenhagen from 19 Oct 2026; clocks go back on 25 Oct.
        let ev = weekly(utc(2026, 10, 19, 7, 0), "Europe/Copenhagen");
        let got = instances(&ev, utc(2026, 10, 1, 0, 0), utc(2026, 11, 10, 0, 0), false);
        let starts: Vec<_> = got.iter().map(|i| i.fields.start_utc()).collect();
        assert_eq!(starts, vec![utc(2026, 10, 19, 7, 0), utc(2026, 10, 26, 8, 0), utc(2026, 11, 2, 8, 0), utc(2026, 11, 9, 8, 0)]);
        assert_eq!(got[1].index, 2);
    }

    #[test]
    fn exceptions_and_cancellations() {
        let mut ev = weekly(utc(2026, 1, 5, 9, 0), "UTC");
        let mut moved = fields_at(&ev.fields, utc(2026, 1, 12, 9, 0));
        moved.start = When::At(utc(2026, 1, 13, 14, 0));
        moved.end = When::At(utc(2026, 1, 13, 15, 0));
        ev.overrides.insert(utc(2026, 1, 12, 9, 0), Override::Changed { fields: moved, change_key: "k2".into(), seq: 2 });
        ev.overrides.insert(utc(2026, 1, 19, 9, 0), Override::Cancelled { seq: 3 });
        let got = instances(&ev, utc(2026, 1, 1, 0, 0), utc(2026, 1, 27, 0, 0), false);
        let starts: Vec<_> = got.iter().map(|i| (i.fields.start_utc(), i.kind)).collect();
        assert_eq!(
            starts,
            vec![
                (utc(2026, 1, 5, 9, 0), InstanceKind::Occurrence),
                (utc(2026, 1, 26, 9, 0), InstanceKind::Occurrence),
                (utc(2026, 1, 13, 14, 0), InstanceKind::Exception),
            ]
        );
        assert_eq!(got[2].index, 2);
        let with_deleted = instances(&ev, utc(2026, 1, 1, 0, 0), utc(2026, 1, 27, 0, 0), true);
        assert!(with_deleted.iter().any(|i| i.cancelled && i.index == 3));
        assert_eq!(occurrence(&ev, utc(2026, 1, 19, 9, 0)), Err(ModelError::OccurrenceDeleted));
        assert_eq!(occurrence(&ev, utc(2026, 1, 20, 9, 0)), Err(ModelError::NoOccurrence));
        assert_eq!(slot_at_index(&ev, 4), Some(utc(2026, 1, 26, 9, 0)));
        assert_eq!(slot_at_index(&ev, 11), None);
    }

    #[test]
    fn all_day_series_are_floating_dates() {
        let mut ev = weekly(utc(2026, 1, 5, 0, 0), "America/New_York");
        ev.fields.start = When::Date(chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap());
        ev.fields.end = When::Date(chrono::NaiveDate::from_ymd_opt(2026, 1, 6).unwrap());
        let got = instances(&ev, utc(2026, 1, 10, 0, 0), utc(2026, 1, 20, 0, 0), false);
        let dates: Vec<_> = got.iter().map(|i| i.fields.start).collect();
        assert_eq!(
            dates,
            vec![
                When::Date(chrono::NaiveDate::from_ymd_opt(2026, 1, 12).unwrap()),
                When::Date(chrono::NaiveDate::from_ymd_opt(2026, 1, 19).unwrap())
            ]
        );
    }
}
