//! Who may see and change a meeting (F-CAL-10, F-X-1) — the one rule the calendar, the editor
//! and the sync engine all apply (the store's calendar query computes [`Relation::involved`]
//! in SQL from the same facts: organiser, booker, a copy in the viewer's calendar, an
//! attendee row linked to the viewer).
//!
//! Providers let only the organiser change an event, so the meeting itself (time, subject,
//! attendees, …) is changed through the organiser's calendar: by the organiser, by the
//! colleague who booked it for them, or by an administrator. Attendee users may change what
//! belongs to the CRM alone (the organisations and persons it is linked to). A private meeting
//! is "Busy" to everyone not involved in it — administrators included.

use serde::{Deserialize, Serialize};

/// How the viewer stands to one meeting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Relation {
    pub private: bool,
    /// The viewer organises it.
    pub organiser: bool,
    /// The viewer booked it on the organiser's behalf (F-EDIT-2).
    pub booker: bool,
    /// The viewer attends it or has it in their calendar.
    pub participant: bool,
    pub administrator: bool,
    /// The organiser is a user of the company (else nobody here can change it at the provider).
    pub organiser_is_user: bool,
}

/// What the viewer may do with a meeting, from least to most (by default the least).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Access {
    /// Only that the time is taken: someone else's private meeting.
    #[default]
    Busy,
    /// Everything shown, nothing changed.
    Read,
    /// The CRM's own parts (linked organisations and persons) may be changed.
    Links,
    /// The meeting itself may be changed, moved and deleted.
    Full,
}

impl Relation {
    /// The viewer takes part in the meeting (sees a private one in full).
    pub fn involved(&self) -> bool {
        self.organiser || self.booker || self.participant
    }

    pub fn access(&self) -> Access {
        if self.private && !self.involved() {
            Access::Busy
        } else if self.organiser || (self.organiser_is_user && (self.booker || self.administrator)) {
            Access::Full
        } else if self.participant {
            Access::Links
        } else {
            Access::Read
        }
    }
}

impl Access {
    pub fn may_see_details(self) -> bool {
        self > Access::Busy
    }
    pub fn may_change_links(self) -> bool {
        self >= Access::Links
    }
    pub fn may_change(self) -> bool {
        self == Access::Full
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> impl Iterator<Item = Relation> {
        (0..64u32).map(|b| Relation {
            private: b & 1 != 0,
            organiser: b & 2 != 0,
            booker: b & 4 != 0,
            participant: b & 8 != 0,
            administrator: b & 16 != 0,
            organiser_is_user: b & 32 != 0 || b & 2 != 0,
        })
    }

    #[test]
    fn private_meetings_are_busy_to_everyone_not_involved_administrators_included() {
        for r in all() {
            let a = r.access();
            assert_eq!(a == Access::Busy, r.private && !r.involved(), "{r:?}");
            if r.private && !r.involved() && r.administrator {
                assert_eq!(a, Access::Busy);
            }
        }
    }

    #[test]
    fn only_organiser_booker_and_administrators_change_the_meeting() {
        for r in all() {
            let full = r.access().may_change();
            assert_eq!(full, r.access() != Access::Busy && (r.organiser || (r.organiser_is_user && (r.booker || r.administrator))), "{r:?}");
        }
        // An external organiser's meeting: its attendees here may only link it.
        let attendee = Relation { participant: true, administrator: true, ..Relation::default() };
        assert_eq!(attendee.access(), Access::Links);
        let colleague = Relation { organiser_is_user: true, ..Relation::default() };
        assert_eq!(colleague.access(), Access::Read);
    }
}
