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

/// How the owner of a calendar answered a meeting in it (F-X-12). The calendar draws
/// declined and tentative meetings differently from accepted ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Answer {
    /// They organise it.
    #[default]
    Organiser,
    Accepted,
    Tentative,
    Declined,
    /// Invited, no answer yet.
    None,
}

impl Answer {
    /// From the stored attendee response (`accepted`, `tentative`, `declined`,
    /// `needsAction`); no attendee row means the calendar owner organises it.
    pub fn from_response(r: Option<&str>) -> Answer {
        match r {
            None => Answer::Organiser,
            Some("accepted") => Answer::Accepted,
            Some("tentative") => Answer::Tentative,
            Some("declined") => Answer::Declined,
            Some(_) => Answer::None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Answer::Organiser => "organiser",
            Answer::Accepted => "accepted",
            Answer::Tentative => "tentative",
            Answer::Declined => "declined",
            Answer::None => "none",
        }
    }
}

/// One meeting as one calendar shows it. Empty and false fields are left out of its JSON (a
/// page carries hundreds of these in its hydration data, escaped once more as a string).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalEvent {
    pub meeting_id: String,
    /// Index of the calendar (shown user) this entry belongs to; picks the colour and lane.
    pub calendar: usize,
    /// `None` when the viewer may only see that the time is booked ("Busy").
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Local wall-clock time in the viewer's zone. All-day meetings: midnight of their first day.
    #[serde(with = "crate::iso::date_time")]
    pub start: NaiveDateTime,
    /// Exclusive end. All-day meetings: midnight after their last day.
    #[serde(with = "crate::iso::date_time")]
    pub end: NaiveDateTime,
    #[serde(default, skip_serializing_if = "is_false")]
    pub all_day: bool,
    /// A private meeting the viewer may read (their own): shown with a lock.
    #[serde(default, skip_serializing_if = "is_false")]
    pub private: bool,
    /// The calendar owner's answer.
    pub answer: Answer,
    /// The viewer may move and resize it on the calendar (F-X-10): they organise it and it is
    /// in their own calendar.
    #[serde(default, skip_serializing_if = "is_false")]
    pub movable: bool,
    /// The version shown (a move made on an older one is refused, not applied blindly).
    pub version: i64,
    /// One occurrence of a recurring series (a move moves this occurrence only).
    #[serde(default, skip_serializing_if = "is_false")]
    pub occurrence: bool,
    /// The organisations it is linked to (the agenda lists them; empty elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    /// What its last sync left to say (only for meetings the viewer moves).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<crate::message::SyncNotice>,
}

fn is_false(b: &bool) -> bool {
    !*b
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

    /// The last day it occupies (all-day meetings: the day before their exclusive end).
    pub fn last_day(&self) -> NaiveDate {
        if self.end > self.start {
            (self.end - TimeDelta::nanoseconds(1)).date()
        } else {
            self.start.date()
        }
    }
}

/// Whether the viewer may see a meeting's details (F-CAL-10): everyone may see a public
/// meeting; a private one only its participants (organiser, attendee users, calendar owners).
pub fn may_see_details(private: bool, viewer_participates: bool) -> bool {
    !private || viewer_participates
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    pub fn ev(start: &str, end: &str, all_day: bool) -> CalEvent {
        CalEvent {
            meeting_id: start.to_string(),
            calendar: 0,
            subject: Some("s".into()),
            location: None,
            start: dt(start),
            end: dt(end),
            all_day,
            private: false,
            answer: Answer::Organiser,
            movable: true,
            version: 1,
            occurrence: false,
            organisation: None,
            notice: None,
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
        assert_eq!(e.last_day(), NaiveDate::from_ymd_opt(2026, 11, 23).unwrap());
        let zero = ev("2026-11-23 10:00", "2026-11-23 10:00", false);
        assert!(zero.touches(NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()));
        assert_eq!(zero.last_day(), NaiveDate::from_ymd_opt(2026, 11, 23).unwrap());
    }

    #[test]
    fn json_leaves_out_empty_fields_and_reads_back_the_same() {
        // The page's hydration data: defaults are not written, and read back as defaults.
        let plain = ev("2026-11-23 09:00", "2026-11-23 10:00", false);
        let json = serde_json::to_string(&CalEvent { movable: false, ..plain.clone() }).unwrap();
        for absent in ["location", "all_day", "private", "movable", "occurrence", "organisation", "notice"] {
            assert!(!json.contains(&format!("\"{absent}\"")), "{absent} in {json}");
        }
        let full = CalEvent { location: Some("Room 1".into()), all_day: true, private: true, occurrence: true, organisation: Some("Helios".into()), ..plain };
        for e in [full.clone(), CalEvent { subject: None, ..full }] {
            assert_eq!(serde_json::from_str::<CalEvent>(&serde_json::to_string(&e).unwrap()).unwrap(), e);
        }
    }

    #[test]
    fn answers_from_stored_responses() {
        // F-X-12
        assert_eq!(Answer::from_response(None), Answer::Organiser);
        assert_eq!(Answer::from_response(Some("declined")), Answer::Declined);
        assert_eq!(Answer::from_response(Some("tentative")), Answer::Tentative);
        assert_eq!(Answer::from_response(Some("needsAction")), Answer::None);
    }

    #[test]
    fn private_details_only_for_participants() {
        // F-CAL-10
        assert!(may_see_details(false, false));
        assert!(may_see_details(true, true));
        assert!(!may_see_details(true, false));
    }
}
