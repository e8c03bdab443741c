//! Dates, wall-clock times and weekdays in the one ISO 8601 form the app writes them
//! (`2026-12-03`, `2026-12-03T09:30:00`, `Mon`), read without chrono's general parser.
//!
//! Why: chrono's `FromStr` and serde impls go through its format-item parser (with RFC 2822
//! and RFC 3339 support, time-zone offsets, month and weekday names), about 5 KB of compressed
//! WebAssembly on the calendar's first load, to read three fixed shapes. The `serde` modules
//! write exactly what chrono writes and read it back with the small readers below; use them on
//! every field the browser reads (`#[serde(with = "domain::iso::date_time")]`).

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Weekday};

/// The value of a run of ASCII digits (None for an empty run or any other byte).
fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 {
        return None;
    }
    s.iter().try_fold(0u32, |n, &b| b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0')))
}

/// `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::try_from(digits(&b[..4])?).ok()?, digits(&b[5..7])?, digits(&b[8..])?)
}

/// `YYYY-MM-DDTHH:MM`, optionally with `:SS` and a fraction of up to nine digits (chrono's
/// form); a space in place of the `T` is taken too.
pub fn parse_date_time(s: &str) -> Option<NaiveDateTime> {
    let (date, time) = (s.get(..10)?, s.get(11..)?);
    if !matches!(s.as_bytes()[10], b'T' | b' ') {
        return None;
    }
    let t = time.as_bytes();
    if t.len() < 5 || t[2] != b':' {
        return None;
    }
    let (hour, minute) = (digits(&t[..2])?, digits(&t[3..5])?);
    let (second, nano) = match t.get(5) {
        None => (0, 0),
        Some(b':') => {
            let rest = &t[6..];
            let (whole, fraction) = match rest.iter().position(|&b| b == b'.') {
                Some(dot) => (&rest[..dot], Some(&rest[dot + 1..])),
                None => (rest, None),
            };
            if whole.len() != 2 {
                return None;
            }
            let nano = match fraction {
                None => 0,
                Some(f) => digits(f)? * 10u32.pow(9 - f.len() as u32),
            };
            (digits(whole)?, nano)
        }
        Some(_) => return None,
    };
    Some(parse_date(date)?.and_time(NaiveTime::from_hms_nano_opt(hour, minute, second, nano)?))
}

/// `Mon` … `Sun` (what chrono writes for a weekday).
pub fn parse_weekday(s: &str) -> Option<Weekday> {
    const NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    NAMES.iter().position(|n| *n == s).and_then(|i| Weekday::try_from(i as u8).ok())
}

fn read<'de, D, T>(d: D, parse: fn(&str) -> Option<T>, what: &'static str) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let s = <String as serde::Deserialize>::deserialize(d)?;
    parse(&s).ok_or_else(|| <D::Error as serde::de::Error>::custom(what))
}

/// `#[serde(with = "domain::iso::date")]` for a `NaiveDate`.
pub mod date {
    use chrono::NaiveDate;
    use serde::{Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
        super::read(d, super::parse_date, "expected a date, YYYY-MM-DD")
    }
}

/// `#[serde(with = "domain::iso::date_time")]` for a `NaiveDateTime`.
pub mod date_time {
    use chrono::NaiveDateTime;
    use serde::{Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
        super::read(d, super::parse_date_time, "expected a date and time, YYYY-MM-DDTHH:MM:SS")
    }
}

/// `#[serde(with = "domain::iso::opt_date_time")]` for an `Option<NaiveDateTime>`.
pub mod opt_date_time {
    use chrono::NaiveDateTime;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDateTime>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => super::parse_date_time(&s).map(Some).ok_or_else(|| serde::de::Error::custom("expected a date and time, YYYY-MM-DDTHH:MM:SS")),
        }
    }
}

/// `#[serde(with = "domain::iso::weekday")]` for a `Weekday`.
pub mod weekday {
    use chrono::Weekday;
    use serde::{Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &Weekday, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Weekday, D::Error> {
        super::read(d, super::parse_weekday, "expected a weekday, Mon to Sun")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, TimeDelta};

    #[test]
    fn reads_back_what_chrono_writes() {
        // Every day over several years, at times with and without seconds and fractions.
        let mut d = NaiveDate::from_ymd_opt(1999, 12, 25).unwrap();
        let times = [(0, 0, 0, 0), (9, 30, 0, 0), (23, 59, 59, 0), (12, 0, 5, 250_000_000), (7, 45, 1, 123_456_789)];
        while d.year() < 2031 {
            assert_eq!(parse_date(&d.to_string()), Some(d));
            assert_eq!(serde_json::from_str::<NaiveDate>(&serde_json::to_string(&d).unwrap()).unwrap(), d);
            for (i, (h, m, s, n)) in times.iter().enumerate() {
                let t = d.and_hms_nano_opt(*h, *m, *s, *n).unwrap();
                let json = serde_json::to_string(&t).unwrap();
                assert_eq!(parse_date_time(json.trim_matches('"')), Some(t), "{json}");
                if i == 1 {
                    assert_eq!(parse_date_time(&t.format("%Y-%m-%dT%H:%M").to_string()), Some(t));
                    assert_eq!(parse_date_time(&t.format("%Y-%m-%d %H:%M").to_string()), Some(t));
                }
            }
            d += TimeDelta::days(1);
        }
        for w in [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun] {
            assert_eq!(parse_weekday(serde_json::to_string(&w).unwrap().trim_matches('"')), Some(w));
        }
    }

    #[test]
    fn refuses_anything_else() {
        for s in ["", "2026-12-3", "2026-13-01", "2026-02-30", "26-12-03", "2026/12/03", "2026-12-03 ", "+2026-12-03", "2026-1a-03"] {
            assert_eq!(parse_date(s), None, "{s:?}");
        }
        for s in [
            "2026-12-03",
            "2026-12-03T",
            "2026-12-03T9:30",
            "2026-12-03T24:00",
            "2026-12-03T09:60",
            "2026-12-03T09:30:",
            "2026-12-03T09:30:5",
            "2026-12-03T09:30:00.1234567890",
            "2026-12-03T09:30Z",
            "2026-12-03X09:30",
            "2026-12-03T09:30:00+01:00",
            "2026-12-03T09:30:00.",
            "2026-12-03T09:3é",
        ] {
            assert_eq!(parse_date_time(s), None, "{s:?}");
        }
        for s in ["", "mon", "Monday", "Sat "] {
            assert_eq!(parse_weekday(s), None, "{s:?}");
        }
    }

    #[test]
    fn fields_read_through_the_serde_modules() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct Row {
            #[serde(with = "date")]
            d: NaiveDate,
            #[serde(with = "date_time")]
            t: NaiveDateTime,
            #[serde(with = "opt_date_time")]
            o: Option<NaiveDateTime>,
            #[serde(with = "weekday")]
            w: Weekday,
        }
        let d = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        let row = Row { d, t: d.and_hms_opt(9, 30, 0).unwrap(), o: None, w: Weekday::Sun };
        let json = serde_json::to_string(&row).unwrap();
        assert_eq!(json, r#"{"d":"2026-12-03","t":"2026-12-03T09:30:00","o":null,"w":"Sun"}"#);
        assert_eq!(serde_json::from_str::<Row>(&json).unwrap(), row);
        let some = Row { o: Some(d.and_hms_opt(23, 0, 0).unwrap()), ..row };
        assert_eq!(serde_json::from_str::<Row>(&serde_json::to_string(&some).unwrap()).unwrap(), some);
        let bad = serde_json::from_str::<Row>(r#"{"d":"2026-12-3","t":"2026-12-03T09:30:00","o":null,"w":"Sun"}"#).unwrap_err();
        assert!(bad.to_string().contains("expected a date, YYYY-MM-DD"), "{bad}");
    }
}
