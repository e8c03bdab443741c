//! RFC 5545 RRULE ↔ EWS `t:Recurrence`: a thin adapter over `domain::recurrence` (the shared
//! Exchange model, its RRULE conversion and its EWS XML form), mapping refusals onto
//! `ProviderError`.

use chrono::{NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use domain::recurrence::{self as shared, ews};
use domain::xml::Element;

use crate::{EventTime, ProviderError, Result};

fn unsupported(e: shared::Unsupported) -> ProviderError {
    ProviderError::Rejected { status: 0, code: "UnsupportedRecurrence".into(), message: e.0 }
}

/// The `t:Recurrence` XML for an RRULE of a series starting at `local_start` in `tz`; rules EWS
/// cannot express are refused.
pub fn rrule_to_xml(rule: &str, local_start: NaiveDateTime, tz: Tz, all_day: bool) -> Result<String> {
    ews::to_xml(&shared::from_rrule(rule, local_start, tz, all_day).map_err(unsupported)?).map_err(unsupported)
}

/// The RRULE of a `t:Recurrence` element; None for patterns that are not calendar ones (task
/// regeneration) or malformed.
pub fn xml_to_rrule(el: &Element, tz: Tz, all_day: bool) -> Option<String> {
    ews::from_xml(el).ok().map(|r| shared::to_rrule(&r, tz, all_day))
}

/// The series' local start in `tz` (midnight of the date for all-day series).
pub fn local_start(start: &EventTime, tz: Tz) -> NaiveDateTime {
    match start {
        EventTime::At(t) => t.with_timezone(&tz).naive_local(),
        EventTime::Date(d) => d.and_time(NaiveTime::MIN),
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    #[test]
    fn rules_go_to_ews_xml_and_back_and_refusals_are_rejections() {
        let tz: Tz = "Europe/Copenhagen".parse().unwrap();
        let start = NaiveDate::from_ymd_opt(2025, 3, 3).unwrap().and_hms_opt(9, 0, 0).unwrap();
        let xml = rrule_to_xml("FREQ=WEEKLY;BYDAY=MO,TH;COUNT=10", start, tz, false).unwrap();
        let wrapped = format!(r#"<r xmlns:t="{}">{xml}</r>"#, ews::T);
        let root = domain::xml::parse(wrapped.as_bytes(), Default::default()).unwrap();
        let el = root.child(ews::T, "Recurrence").unwrap();
        assert_eq!(xml_to_rrule(el, tz, false).as_deref(), Some("FREQ=WEEKLY;BYDAY=MO,TH;COUNT=10"));
        for rule in ["FREQ=HOURLY", "FREQ=YEARLY;INTERVAL=2"] {
            assert!(
                matches!(rrule_to_xml(rule, start, tz, false), Err(ProviderError::Rejected { code, .. }) if code == "UnsupportedRecurrence"),
                "{rule}"
            );
        }
    }
}
