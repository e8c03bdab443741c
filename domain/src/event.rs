//! What the calendar page shows of a meeting, already converted to the viewer's time zone and
//! already redacted for the viewer (F-CAL-10).

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use serde::{Deserialize, Serialize};

/// A user's role within their company (F-X-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Administrator,
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::User => "user",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "administrator" => Some(Role::Administrator),
            "user" => Some(Role::User),
            _ => None,
        }
    }
}

/// One meeting as one calendar shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalEvent {
    pub meeting_id: String,
    /// Index of the calendar (shown user) this entry belongs to; picks the colour.
    pub calendar: usize,
    /// `None` when the viewer may only see that the time is booked ("Busy").
    pub subject: Option<String>,
    pub location: Option<String>,
    /// Local wall-clock time in the viewer's zone. All-day meetings: midnight of their first day.
    pub start: NaiveDateTime,
    /// Exclusive end. All-day meetings: midnight after their last day.
    pub end: NaiveDateTime,
    pub all_day: bool,
    /// A private meeting the viewer may read (their own): shown with a lock.
    pub private: bool,
}

impl CalEvent {
    pub fn is_busy_block(&self) -> bool {
        self.subject.is_none()
    }

    /// All-day and multi-day (24 hours or more) meetings go to the all-day row; shorter ones
    /// crossing midnight are drawn in each day's column, as Google and Outlook do.
    pub fn in_all_day_row(&self) -> bool {
        self.all_day || self.end - self.start >= TimeDelta::days(1)
    }

    /// Does the meeting occupy any part of `date`?
    pub fn touches(&self, date: NaiveDate) -> bool {
        let day_start = date.and_hms_opt(0, 0, 0).expect("midnight exists");
        let day_end = day_start + TimeDelta::days(1);
        self.start < day_end && (self.end > day_start || (self.end == self.start && self.start >= day_start))
    }

    /// Text for screen readers and tooltips.
    pub fn label(&self) -> String {
        let mut what = self.subject.clone().unwrap_or_else(|| "Busy".to_string());
        if self.private {
            what.push_str(" (private)");
        }
        if self.all_day {
            let last = (self.end - TimeDelta::days(1)).date();
            if last > self.start.date() {
                format!("{what}, all day, {} to {}", self.start.format("%-d %b"), last.format("%-d %b"))
            } else {
                format!("{what}, all day")
            }
        } else {
            format!("{what}, {} to {}", self.start.format("%H:%M"), self.end.format("%H:%M"))
        }
    }
}

/// Whether the viewer may see a meeting's details (F-CAL-10): everyone may see a public
/// meeting; a private one only its participants (organiser, attendee users, calendar owners).
pub fn may_see_details(private: bool, viewer_participates: bool) -> bool {
    !private || viewer_participates
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn ev(start: &str, end: &str, all_day: bool) -> CalEvent {
        CalEvent {
            meeting_id: "m".into(),
            calendar: 0,
            subject: Some("s".into()),
            location: None,
            start: dt(start),
            end: dt(end),
            all_day,
            private: false,
        }
    }

    #[test]
    fn multi_day_and_all_day_go_to_all_day_row() {
        assert!(ev("2026-11-23 00:00", "2026-11-24 00:00", true).in_all_day_row());
        assert!(ev("2026-11-23 09:00", "2026-11-25 17:00", false).in_all_day_row());
        assert!(!ev("2026-11-23 23:00", "2026-11-24 01:00", false).in_all_day_row());
    }

    #[test]
    fn touches_uses_exclusive_end() {
        let e = ev("2026-11-23 00:00", "2026-11-24 00:00", true);
        assert!(e.touches(NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()));
        assert!(!e.touches(NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()));
        let zero = ev("2026-11-23 10:00", "2026-11-23 10:00", false);
        assert!(zero.touches(NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()));
    }

    #[test]
    fn labels_for_screen_readers() {
        let mut e = ev("2026-11-23 09:00", "2026-11-23 10:30", false);
        assert_eq!(e.label(), "s, 09:00 to 10:30");
        e.private = true;
        assert_eq!(e.label(), "s (private), 09:00 to 10:30");
        e.subject = None;
        e.private = false;
        assert_eq!(e.label(), "Busy, 09:00 to 10:30");
        let trip = ev("2026-11-23 00:00", "2026-11-26 00:00", true);
        assert_eq!(trip.label(), "s, all day, 23 Nov to 25 Nov");
    }

    #[test]
    fn private_details_only_for_participants() {
        // F-CAL-10
        assert!(may_see_details(false, false));
        assert!(may_see_details(true, true));
        assert!(!may_see_details(true, false));
    }
}
