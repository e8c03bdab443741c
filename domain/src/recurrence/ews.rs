//! EWS `t:Recurrence` XML (types.xsd `RecurrenceType`: one of `RecurrencePatternTypes`, then
//! one of `RecurrenceRangeTypes`) ↔ [`Recurrence`], for the EWS client and the EWS emulator.
//!
//! EWS is narrower than Graph: yearly patterns have no Interval, and a relative pattern's
//! `DaysOfWeek` is one weekday or one of the groups `Day`, `Weekday`, `WeekendDay`.

use chrono::{NaiveDate, Weekday};

use super::{
    check_count, check_day_of_month, check_interval, exchange_day, exchange_day_name, index_by_name, index_name,
    unsupported, Pattern, Range, Recurrence, Unsupported, ALL_DAYS, MONTHS,
};
use crate::xml::Element;

/// The EWS types namespace.
pub const T: &str = "http://schemas.microsoft.com/exchange/services/2006/types";

/// One EWS `DayOfWeekType` value → the weekdays it stands for.
fn days_of(name: &str) -> Option<Vec<Weekday>> {
    Some(match name {
        "Day" => ALL_DAYS.to_vec(),
        "Weekday" => ALL_DAYS[..5].to_vec(),
        "WeekendDay" => ALL_DAYS[5..].to_vec(),
        other => vec![exchange_day(other).filter(|_| other.chars().next().is_some_and(char::is_uppercase))?],
    })
}

/// The single EWS `DayOfWeekType` value for the days of a relative pattern.
fn day_group(days: &[Weekday]) -> Option<&'static str> {
    let mut sorted: Vec<u32> = days.iter().map(|d| d.num_days_from_monday()).collect();
    sorted.sort_unstable();
    sorted.dedup();
    match sorted.as_slice() {
        [one] => Some(exchange_day_name(ALL_DAYS[*one as usize])),
        [0, 1, 2, 3, 4, 5, 6] => Some("Day"),
        [0, 1, 2, 3, 4] => Some("Weekday"),
        [5, 6] => Some("WeekendDay"),
        _ => None,
    }
}

fn month_name(month: u32) -> &'static str {
    MONTHS[(month as usize).clamp(1, 12) - 1]
}

/// Refuses what EWS cannot hold although Graph can.
pub fn check(rec: &Recurrence) -> Result<(), Unsupported> {
    match &rec.pattern {
        Pattern::AbsoluteYearly { interval, .. } | Pattern::RelativeYearly { interval, .. } if *interval != 1 => {
            Err(unsupported("EWS yearly patterns have no interval"))
        }
        Pattern::RelativeMonthly { days, .. } | Pattern::RelativeYearly { days, .. } if day_group(days).is_none() => Err(
            unsupported("EWS relative patterns take one weekday, every day, weekdays or weekend days"),
        ),
        _ => Ok(()),
    }
}

/// Writes `<t:Recurrence>…</t:Recurrence>` in schema order, or refuses (see [`check`]).
pub fn to_xml(rec: &Recurrence) -> Result<String, Unsupported> {
    check(rec)?;
    let group = |d: &[Weekday]| day_group(d).unwrap_or("Day");
    let index = |i: i32| index_name(i).unwrap_or("First");
    let mut x = String::from("<t:Recurrence>");
    x.push_str(&match &rec.pattern {
        Pattern::Daily { interval } => format!("<t:DailyRecurrence><t:Interval>{interval}</t:Interval></t:DailyRecurrence>"),
        Pattern::Weekly { interval, days, first_day } => {
            let list = days.iter().map(|d| exchange_day_name(*d)).collect::<Vec<_>>().join(" ");
            let first = first_day.map(|f| format!("<t:FirstDayOfWeek>{}</t:FirstDayOfWeek>", exchange_day_name(f)));
            format!(
                "<t:WeeklyRecurrence><t:Interval>{interval}</t:Interval><t:DaysOfWeek>{list}</t:DaysOfWeek>{}</t:WeeklyRecurrence>",
                first.unwrap_or_default()
            )
        }
        Pattern::AbsoluteMonthly { interval, day } => format!(
            "<t:AbsoluteMonthlyRecurrence><t:Interval>{interval}</t:Interval><t:DayOfMonth>{day}</t:DayOfMonth></t:AbsoluteMonthlyRecurrence>"
        ),
        Pattern::RelativeMonthly { interval, days, index: i } => format!(
            "<t:RelativeMonthlyRecurrence><t:Interval>{interval}</t:Interval><t:DaysOfWeek>{}</t:DaysOfWeek><t:DayOfWeekIndex>{}</t:DayOfWeekIndex></t:RelativeMonthlyRecurrence>",
            group(days),
            index(*i)
        ),
        Pattern::AbsoluteYearly { day, month, .. } => format!(
            "<t:AbsoluteYearlyRecurrence><t:DayOfMonth>{day}</t:DayOfMonth><t:Month>{}</t:Month></t:AbsoluteYearlyRecurrence>",
            month_name(*month)
        ),
        Pattern::RelativeYearly { days, index: i, month, .. } => format!(
            "<t:RelativeYearlyRecurrence><t:DaysOfWeek>{}</t:DaysOfWeek><t:DayOfWeekIndex>{}</t:DayOfWeekIndex><t:Month>{}</t:Month></t:RelativeYearlyRecurrence>",
            group(days),
            index(*i),
            month_name(*month)
        ),
    });
    let start = rec.start_date.format("%Y-%m-%d");
    x.push_str(&match rec.range {
        Range::NoEnd => format!("<t:NoEndRecurrence><t:StartDate>{start}</t:StartDate></t:NoEndRecurrence>"),
        Range::EndDate(d) => format!(
            "<t:EndDateRecurrence><t:StartDate>{start}</t:StartDate><t:EndDate>{}</t:EndDate></t:EndDateRecurrence>",
            d.format("%Y-%m-%d")
        ),
        Range::Numbered(n) => format!(
            "<t:NumberedRecurrence><t:StartDate>{start}</t:StartDate><t:NumberOfOccurrences>{n}</t:NumberOfOccurrences></t:NumberedRecurrence>"
        ),
    });
    x.push_str("</t:Recurrence>");
    Ok(x)
}

/// `xs:date` as EWS writes it: `2025-03-01`, sometimes with a zone suffix (`2025-03-01Z`,
/// `2025-03-01+01:00`), which is ignored: the date is the series' local date.
fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim().get(..10)?, "%Y-%m-%d").ok()
}

fn text<'a>(e: &'a Element, name: &str) -> &'a str {
    e.child_text(T, name).map(str::trim).unwrap_or("")
}

/// Reads a `t:Recurrence` element (any prefix). Patterns EWS uses for tasks only
/// (`DailyRegeneration`, …) and malformed values are refused with the element they concern.
pub fn from_xml(el: &Element) -> Result<Recurrence, Unsupported> {
    let number = |e: &Element, name: &str| -> Result<u32, Unsupported> {
        text(e, name).parse().map_err(|_| unsupported(format!("{} needs a numeric {name}", e.name)))
    };
    let interval = |e: &Element| check_interval(number(e, "Interval")?);
    let days = |e: &Element| -> Result<Vec<Weekday>, Unsupported> {
        let mut all = Vec::new();
        for name in text(e, "DaysOfWeek").split_whitespace() {
            all.extend(days_of(name).ok_or_else(|| unsupported(format!("unknown day of week {name}")))?);
        }
        if all.is_empty() {
            return Err(unsupported(format!("{} needs DaysOfWeek", e.name)));
        }
        Ok(all)
    };
    let index = |e: &Element| {
        let t = text(e, "DayOfWeekIndex");
        index_by_name(t).filter(|_| t.starts_with(char::is_uppercase)).ok_or_else(|| unsupported(format!("unknown DayOfWeekIndex {t:?}")))
    };
    let month = |e: &Element| {
        let t = text(e, "Month");
        MONTHS.iter().position(|m| *m == t).map(|i| i as u32 + 1).ok_or_else(|| unsupported(format!("unknown Month {t:?}")))
    };
    let day_of_month = |e: &Element| check_day_of_month(number(e, "DayOfMonth")?);
    let date = |e: &Element, name: &str| {
        parse_date(text(e, name)).ok_or_else(|| unsupported(format!("{} needs a date {name}", e.name)))
    };

    let mut pattern = None;
    let mut range = None;
    for c in el.children.iter().filter(|c| c.ns.as_deref() == Some(T)) {
        match c.name.as_str() {
            "DailyRecurrence" => pattern = Some(Pattern::Daily { interval: interval(c)? }),
            "WeeklyRecurrence" => {
                let first_day = match c.child_text(T, "FirstDayOfWeek").map(str::trim) {
                    None => None,
                    Some(f) => Some(
                        days_of(f)
                            .filter(|d| d.len() == 1)
                            .and_then(|d| d.first().copied())
                            .ok_or_else(|| unsupported(format!("unknown FirstDayOfWeek {f}")))?,
                    ),
                };
                pattern = Some(Pattern::Weekly { interval: interval(c)?, days: days(c)?, first_day });
            }
            "AbsoluteMonthlyRecurrence" => {
                pattern = Some(Pattern::AbsoluteMonthly { interval: interval(c)?, day: day_of_month(c)? })
            }
            "RelativeMonthlyRecurrence" => {
                pattern = Some(Pattern::RelativeMonthly { interval: interval(c)?, days: days(c)?, index: index(c)? })
            }
            "AbsoluteYearlyRecurrence" => {
                pattern = Some(Pattern::AbsoluteYearly { interval: 1, day: day_of_month(c)?, month: month(c)? })
            }
            "RelativeYearlyRecurrence" => {
                pattern = Some(Pattern::RelativeYearly { interval: 1, days: days(c)?, index: index(c)?, month: month(c)? })
            }
            "NoEndRecurrence" => range = Some((Range::NoEnd, date(c, "StartDate")?)),
            "EndDateRecurrence" => range = Some((Range::EndDate(date(c, "EndDate")?), date(c, "StartDate")?)),
            "NumberedRecurrence" => {
                range = Some((Range::Numbered(check_count(number(c, "NumberOfOccurrences")?)?), date(c, "StartDate")?))
            }
            other if other.ends_with("Regeneration") => {
                return Err(unsupported(format!("{other} is a task pattern, not a calendar one")))
            }
            _ => {}
        }
    }
    let pattern = pattern.ok_or_else(|| unsupported("a recurrence pattern is required"))?;
    let (range, start_date) = range.ok_or_else(|| unsupported("a recurrence range is required"))?;
    Ok(Recurrence { pattern, range, start_date })
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDateTime;

    use super::super::tests::{cph, date, start};
    use super::super::{from_rrule, to_rrule};
    use super::*;

    fn parse(xml: &str) -> Result<Recurrence, Unsupported> {
        let wrapped = format!(r#"<r xmlns:t="{T}">{xml}</r>"#);
        let root = crate::xml::parse(wrapped.as_bytes(), Default::default()).unwrap();
        from_xml(root.child(T, "Recurrence").unwrap())
    }

    fn round_trip(rule: &str, local_start: NaiveDateTime) -> String {
        let rec = from_rrule(rule, local_start, cph(), false).unwrap();
        let xml = to_xml(&rec).unwrap();
        assert_eq!(parse(&xml).unwrap(), rec, "{rule} → {xml}");
        to_rrule(&rec, cph(), false)
    }

    #[test]
    fn rules_round_trip_through_ews_patterns() {
        for (rule, back) in [
            ("FREQ=DAILY;COUNT=5", "FREQ=DAILY;COUNT=5"),
            ("FREQ=DAILY;INTERVAL=2;COUNT=5", "FREQ=DAILY;INTERVAL=2;COUNT=5"),
            ("RRULE:FREQ=WEEKLY;BYDAY=MO,WE;INTERVAL=2;WKST=MO", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;WKST=MO"),
            ("FREQ=WEEKLY", "FREQ=WEEKLY;BYDAY=MO"),
            ("FREQ=MONTHLY;BYMONTHDAY=15;INTERVAL=3", "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=15"),
            ("FREQ=MONTHLY;BYDAY=-1FR;COUNT=3", "FREQ=MONTHLY;BYDAY=-1FR;COUNT=3"),
            ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1"),
            ("FREQ=MONTHLY;BYDAY=SA,SU;BYSETPOS=-1", "FREQ=MONTHLY;BYDAY=SA,SU;BYSETPOS=-1"),
            ("FREQ=YEARLY", "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=3"),
            ("FREQ=YEARLY;BYMONTH=11;BYDAY=4TH", "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH"),
            ("FREQ=DAILY;UNTIL=20250331T070000Z", "FREQ=DAILY;UNTIL=20250331T215959Z"),
        ] {
            assert_eq!(round_trip(rule, start()), back, "{rule}");
        }
        let xml = to_xml(&from_rrule("FREQ=MONTHLY;BYDAY=SA,SU;BYSETPOS=-1;UNTIL=20250601", start(), cph(), false).unwrap()).unwrap();
        assert_eq!(
            xml,
            "<t:Recurrence><t:RelativeMonthlyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>WeekendDay</t:DaysOfWeek>\
             <t:DayOfWeekIndex>Last</t:DayOfWeekIndex></t:RelativeMonthlyRecurrence><t:EndDateRecurrence>\
             <t:StartDate>2025-03-03</t:StartDate><t:EndDate>2025-06-01</t:EndDate></t:EndDateRecurrence></t:Recurrence>"
        );
    }

    #[test]
    fn what_only_graph_holds_is_refused() {
        for rule in ["FREQ=YEARLY;INTERVAL=2", "FREQ=YEARLY;INTERVAL=3;BYMONTH=11;BYDAY=4TH", "FREQ=MONTHLY;BYDAY=MO,WE;BYSETPOS=2"] {
            let rec = from_rrule(rule, start(), cph(), false).unwrap();
            assert!(to_xml(&rec).is_err(), "{rule}");
        }
    }

    #[test]
    fn reads_day_groups_zoned_dates_and_any_prefix() {
        let xml = r#"<t:Recurrence><t:RelativeYearlyRecurrence><t:DaysOfWeek>Weekday</t:DaysOfWeek><t:DayOfWeekIndex>Second</t:DayOfWeekIndex><t:Month>March</t:Month></t:RelativeYearlyRecurrence><t:EndDateRecurrence><t:StartDate>2026-03-02Z</t:StartDate><t:EndDate>2027-03-01+01:00</t:EndDate></t:EndDateRecurrence></t:Recurrence>"#;
        let rec = parse(xml).unwrap();
        assert_eq!(rec.pattern, Pattern::RelativeYearly { interval: 1, days: ALL_DAYS[..5].to_vec(), index: 2, month: 3 });
        assert_eq!((rec.range, rec.start_date), (Range::EndDate(date(2027, 3, 1)), date(2026, 3, 2)));
        let other_prefix = format!(
            r#"<x:Recurrence xmlns:x="{T}"><x:WeeklyRecurrence><x:Interval>1</x:Interval><x:DaysOfWeek>Monday Thursday</x:DaysOfWeek><x:FirstDayOfWeek>Monday</x:FirstDayOfWeek></x:WeeklyRecurrence><x:NumberedRecurrence><x:StartDate>2026-03-02</x:StartDate><x:NumberOfOccurrences>10</x:NumberOfOccurrences></x:NumberedRecurrence></x:Recurrence>"#
        );
        let root = crate::xml::parse(other_prefix.as_bytes(), Default::default()).unwrap();
        let rec = from_xml(&root).unwrap();
        assert_eq!(rec.pattern, Pattern::Weekly { interval: 1, days: vec![Weekday::Mon, Weekday::Thu], first_day: Some(Weekday::Mon) });
        assert_eq!(rec.range, Range::Numbered(10));
    }

    #[test]
    fn malformed_patterns_are_refused() {
        let range = "<t:NoEndRecurrence><t:StartDate>2026-03-02</t:StartDate></t:NoEndRecurrence>";
        for pattern in [
            "",
            "<t:DailyRecurrence><t:Interval>0</t:Interval></t:DailyRecurrence>",
            "<t:DailyRecurrence/>",
            "<t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek></t:DaysOfWeek></t:WeeklyRecurrence>",
            "<t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Someday</t:DaysOfWeek></t:WeeklyRecurrence>",
            "<t:AbsoluteMonthlyRecurrence><t:Interval>1</t:Interval><t:DayOfMonth>32</t:DayOfMonth></t:AbsoluteMonthlyRecurrence>",
            "<t:RelativeMonthlyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Monday</t:DaysOfWeek><t:DayOfWeekIndex>Fifth</t:DayOfWeekIndex></t:RelativeMonthlyRecurrence>",
            "<t:AbsoluteYearlyRecurrence><t:DayOfMonth>1</t:DayOfMonth><t:Month>Smarch</t:Month></t:AbsoluteYearlyRecurrence>",
            "<t:DailyRegeneration><t:Interval>1</t:Interval></t:DailyRegeneration>",
        ] {
            assert!(parse(&format!("<t:Recurrence>{pattern}{range}</t:Recurrence>")).is_err(), "{pattern}");
        }
        let daily = "<t:DailyRecurrence><t:Interval>1</t:Interval></t:DailyRecurrence>";
        for range in [
            "",
            "<t:NoEndRecurrence/>",
            "<t:EndDateRecurrence><t:StartDate>2026-03-02</t:StartDate></t:EndDateRecurrence>",
            "<t:NumberedRecurrence><t:StartDate>2026-03-02</t:StartDate><t:NumberOfOccurrences>0</t:NumberOfOccurrences></t:NumberedRecurrence>",
        ] {
            assert!(parse(&format!("<t:Recurrence>{daily}{range}</t:Recurrence>")).is_err(), "{range}");
        }
    }
}
