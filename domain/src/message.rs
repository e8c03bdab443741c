//! What the server has to tell a user, as codes with parameters: the app words them in the
//! user's language (F-X-6). Nothing user-visible is written as prose on the server.

use serde::{Deserialize, Serialize};

/// Input the user can correct (F-EDIT-12); the form shows it next to the field it concerns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
// Externally tagged (`{"refused":{"detail":…}}`): the form serde reads cheapest, which
// matters in the WebAssembly (an internally tagged enum buffers every value it reads).
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// Sign-in without an e-mail address or password.
    SignInIncomplete,
    Required,
    /// Longer than this many characters.
    TooLong { max: usize },
    SubjectMissing,
    EndBeforeStart,
    NotAnEmail { value: String },
    TooManyAttendees { max: usize },
    NotADate,
    NotATime,
    UnknownTimeZone,
    /// Not one of the choices offered.
    NotAChoice,
    /// Working hours that end before they start, or no working day.
    WorkingHours,
    /// The record changed since the form was loaded.
    Stale,
    CalendarNotConnected,
    /// Only the organiser may move a meeting on the calendar (for now: in their own calendar).
    NotMovable,
    /// The company's calendar integration is switched off (F-ADM-1).
    IntegrationOff,
}

/// What the last sync of a meeting left to say (stored in `meetings.sync_notice`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
// Externally tagged (`{"refused":{"detail":…}}`): the form serde reads cheapest, which
// matters in the WebAssembly (an internally tagged enum buffers every value it reads).
#[serde(rename_all = "snake_case")]
pub enum SyncNotice {
    /// Changed in the calendar while the user edited these fields (`subject`, `location`,
    /// `description`, `time`, `private`); the calendar's version was kept.
    Conflict { fields: Vec<String> },
    /// A delete lost to a change made in the calendar meanwhile: the meeting is back.
    NotDeleted,
    /// The provider refused the change; the calendar's version was kept. `detail`: its words.
    Refused { detail: String },
    /// Written before notices were codes.
    Text { text: String },
}

impl SyncNotice {
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// None for an empty column; text stored before notices were codes is kept as it is.
    pub fn from_stored(s: &str) -> Option<SyncNotice> {
        if s.trim().is_empty() {
            return None;
        }
        Some(serde_json::from_str(s).unwrap_or_else(|_| SyncNotice::Text { text: s.to_string() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_round_trip_and_old_text_survives() {
        let n = SyncNotice::Conflict { fields: vec!["subject".into(), "time".into()] };
        assert_eq!(SyncNotice::from_stored(&n.to_stored()), Some(n));
        assert_eq!(SyncNotice::from_stored(""), None);
        assert_eq!(SyncNotice::from_stored("Not deleted: …"), Some(SyncNotice::Text { text: "Not deleted: …".into() }));
    }
}
