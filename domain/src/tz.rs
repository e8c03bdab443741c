//! Conversions between UTC instants and the viewer's wall clock (F-X-5). Server side only.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};
pub use chrono_tz::Tz;

/// The instant a local date starts in `tz`. Where midnight does not exist (a DST gap at
/// midnight, as in some American zones), the day starts at the first instant after the gap.
pub fn start_of_day(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    local_to_utc(date.and_hms_opt(0, 0, 0).expect("midnight exists"), tz)
}

/// A local wall-clock time to UTC: ambiguous times (DST fall-back) take the earlier instant;
/// times in a gap (DST spring-forward) move forward past the gap.
pub fn local_to_utc(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    let mut probe = local;
    for _ in 0..4 {
        match tz.from_local_datetime(&probe) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(a, _) => return a.with_timezone(&Utc),
            LocalResult::None => probe += TimeDelta::minutes(30),
        }
    }
    // No zone has a gap longer than two hours; treat the time as UTC rather than fail.
    Utc.from_utc_datetime(&local)
}

pub fn to_local(t: DateTime<Utc>, tz: Tz) -> NaiveDateTime {
    t.with_timezone(&tz).naive_local()
}

pub fn parse_tz(name: &str) -> Option<Tz> {
    name.parse::<Tz>().ok()
}

/// The zones a user chooses from: IANA names of the Region/City form, and UTC (the database's
/// old aliases such as `EST5EDT` or `Cuba` are left out).
pub fn zone_names() -> impl Iterator<Item = &'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).filter(|n| (n.contains('/') && !n.starts_with("Etc/")) || *n == "UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copenhagen_day_bounds_across_dst_change() {
        let tz: Tz = "Europe/Copenhagen".parse().unwrap();
        // 2026-10-25: clocks go back; the day is 25 hours long.
        let a = start_of_day(NaiveDate::from_ymd_opt(2026, 10, 25).unwrap(), tz);
        let b = start_of_day(NaiveDate::from_ymd_opt(2026, 10, 26).unwrap(), tz);
        assert_eq!((b - a).num_hours(), 25);
        assert_eq!(a.to_rfc3339(), "2026-10-24T22:00:00+00:00");
    }

    #[test]
    fn gap_and_overlap() {
        let tz: Tz = "Europe/Copenhagen".parse().unwrap();
        let gap = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap().and_hms_opt(2, 30, 0).unwrap();
        assert_eq!(local_to_utc(gap, tz).to_rfc3339(), "2026-03-29T01:00:00+00:00");
        let twice = NaiveDate::from_ymd_opt(2026, 10, 25).unwrap().and_hms_opt(2, 30, 0).unwrap();
        assert_eq!(local_to_utc(twice, tz).to_rfc3339(), "2026-10-25T00:30:00+00:00");
        let utc = local_to_utc(twice, tz);
        assert_eq!(to_local(utc, tz), twice);
    }

    #[test]
    fn midnight_gap_zone() {
        // America/Santiago springs forward at midnight (2026-09-06 00:00 does not exist).
        let tz: Tz = "America/Santiago".parse().unwrap();
        let s = start_of_day(NaiveDate::from_ymd_opt(2026, 9, 6).unwrap(), tz);
        assert_eq!(to_local(s, tz).format("%H:%M").to_string(), "01:00");
    }
}
