//! Find a time (F-EDIT-4), property-tested: whatever the calendars, zones and working hours,
//! a suggested slot never overlaps anyone's busy time, always lies in everyone's working
//! hours on their own clock (across the changes to and from summer time), and none is
//! missed: the slots are exactly the first ones a brute-force walk over the grid finds.

#![cfg(feature = "tz")]

use chrono::{DateTime, Datelike, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use domain::slots::{find, Attendee, Search, WorkingHours};
use proptest::prelude::*;

const ZONES: &[&str] = &["Europe/Copenhagen", "America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Sydney", "UTC"];

/// Around the changes of summer time in Europe and America (March and late October/November
/// 2027) and an ordinary week.
const STARTS: &[(i32, u32, u32)] = &[(2027, 3, 10), (2027, 3, 25), (2027, 10, 28), (2027, 11, 4), (2026, 12, 7)];

fn in_working_hours(h: &WorkingHours, tz: Tz, s: DateTime<Utc>, e: DateTime<Utc>) -> bool {
    let (ls, le) = (s.with_timezone(&tz).naive_local(), e.with_timezone(&tz).naive_local());
    let midnight = ls.date().and_hms_opt(0, 0, 0).unwrap();
    h.days & (1 << ls.weekday().num_days_from_monday()) != 0
        && ls >= midnight + TimeDelta::minutes(h.start.into())
        && le <= midnight + TimeDelta::minutes(h.end.into())
}

fn person() -> impl Strategy<Value = (usize, u32, u32, u8, Vec<(i64, i64)>)> {
    (
        0..ZONES.len(),
        0u32..12 * 60,
        1u32..12 * 60,
        1u8..128,
        proptest::collection::vec((0i64..14 * 24 * 4, 1i64..16), 0..40),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn slots_are_free_working_and_none_is_missed(
        people in proptest::collection::vec(person(), 1..5),
        start in 0..STARTS.len(),
        offset_quarters in 0i64..96,
        length_quarters in 1i64..20,
        count in 1usize..8,
    ) {
        let (y, m, d) = STARTS[start];
        let base = Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap();
        let attendees: Vec<(Attendee, Tz)> = people.iter().map(|(z, ws, len, days, busy)| {
            let tz: Tz = ZONES[*z].parse().unwrap();
            let hours = WorkingHours { zone: tz, start: *ws, end: (*ws + *len).min(24 * 60), days: *days };
            let busy = busy.iter().map(|(q, n)| (base + TimeDelta::minutes(q * 15), base + TimeDelta::minutes((q + n) * 15))).collect();
            (Attendee { hours, busy }, tz)
        }).collect();
        let from = base + TimeDelta::minutes(offset_quarters * 15 + 7);
        let search = Search { from, length: TimeDelta::minutes(length_quarters * 15), step: TimeDelta::minutes(15), count, horizon: TimeDelta::days(14) };
        let only: Vec<Attendee> = attendees.iter().map(|(a, _)| a.clone()).collect();
        let slots = find(&only, search);

        prop_assert!(slots.len() <= count);
        for (s, e) in &slots {
            prop_assert!(*s >= from);
            prop_assert_eq!(*e - *s, search.length);
            for (a, tz) in &attendees {
                prop_assert!(a.busy.iter().all(|(bs, be)| !(bs < e && be > s)), "overlaps busy time: {s}");
                prop_assert!(in_working_hours(&a.hours, *tz, *s, *e), "outside working hours in {tz}: {s}");
            }
        }
        // The oracle: every quarter hour from `from` on, tested directly.
        let mut expected = Vec::new();
        let mut at = Utc.timestamp_opt((from.timestamp() + 899) / 900 * 900, 0).unwrap();
        while at <= from + search.horizon && expected.len() < count {
            let end = at + search.length;
            if attendees.iter().all(|(a, tz)| a.busy.iter().all(|(bs, be)| !(*bs < end && *be > at)) && in_working_hours(&a.hours, *tz, at, end)) {
                expected.push((at, end));
            }
            at += TimeDelta::minutes(15);
        }
        prop_assert_eq!(slots, expected);
    }
}
