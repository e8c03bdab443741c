//! What an outbound write job does to one calendar, decided from what is known of it — apart
//! from the provider calls that carry it out ([`crate::outbound`]), so the rules of what is
//! written and who is told are plain to read and to test (and, later, to preview).

use providers::{Changed, ProviderKind, SendInvitations};

use crate::fields::{attendees_writable, Fields};

/// Where the provider stands on this calendar's copy of the meeting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AtProvider {
    /// The copy's provider event is known.
    Known,
    /// Not known, and not yet looked for: an earlier attempt may have created it and lost
    /// the answer (only whole meetings carry the CRM id that finds them).
    NotLookedFor,
    /// Looked for and found: made by an earlier attempt, not yet recorded.
    Found,
    /// Not at the provider.
    Absent,
}

/// What is known when the job decides its next step.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Known<'a> {
    pub kind: ProviderKind,
    /// Deleted in the CRM.
    pub deleted: bool,
    pub at: AtProvider,
    /// The meeting as the CRM has it.
    pub local: &'a Fields,
    /// What the provider last agreed to (None: nothing yet).
    pub agreed: Option<&'a Fields>,
    /// The user asked for invitations with this change.
    pub send_asked: bool,
    /// … and no earlier run of the job sent them already.
    pub send_owed: bool,
    /// A whole meeting (not one occurrence of a series): it carries the CRM id.
    pub whole_meeting: bool,
}

/// The next step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Plan {
    /// The calendar holds the meeting as the CRM has it: nothing to write.
    Nothing,
    /// Look for an event an earlier attempt created (by the CRM id) before creating one.
    Find,
    /// Take in the event an earlier attempt created; the invitations it sent count as sent.
    Adopt { with_attendees: bool },
    Create { send: SendInvitations, with_attendees: bool },
    /// Write only what differs from what the provider last agreed.
    Update { changed: Changed, send: SendInvitations, with_attendees: bool },
    Delete { send: SendInvitations },
    /// Deleted in the CRM and never at the provider: only the CRM's copy goes.
    Forget,
}

fn sending(send: bool) -> SendInvitations {
    if send {
        SendInvitations::Yes
    } else {
        SendInvitations::No
    }
}

/// The next step for what is `known`.
pub(crate) fn plan(k: &Known) -> Plan {
    let send = k.send_owed;
    let with_attendees = attendees_writable(k.kind, send);
    match (k.at, k.deleted) {
        (AtProvider::NotLookedFor, _) => Plan::Find,
        (AtProvider::Found, _) => Plan::Adopt { with_attendees },
        (AtProvider::Absent, true) => Plan::Forget,
        (AtProvider::Known, true) => Plan::Delete { send: sending(send) },
        (AtProvider::Absent, false) => {
            // A send an earlier attempt marked done before its create is still owed: that
            // create never landed.
            let send = k.send_asked;
            Plan::Create { send: sending(send), with_attendees: attendees_writable(k.kind, send) }
        }
        (AtProvider::Known, false) => {
            if !send && k.agreed.is_some_and(|a| k.local.same_for_write(a, with_attendees)) {
                return Plan::Nothing;
            }
            Plan::Update { changed: changed_fields(k.agreed, k.local, with_attendees, send, k.whole_meeting), send: sending(send), with_attendees }
        }
    }
}

/// Which fields an update writes: those where the CRM's meeting differs from what the
/// provider last agreed (all when nothing was agreed yet), the attendee list whenever
/// invitations go out (the provider tells whom it lists), and the CRM id on whole meetings.
fn changed_fields(agreed: Option<&Fields>, local: &Fields, with_attendees: bool, send: bool, whole_meeting: bool) -> Changed {
    let Some(a) = agreed else {
        // Every field the CRM has — but not a whole replacement, which would drop what the
        // CRM does not model (conference data, recurrence).
        return Changed { attendees: with_attendees, crm_id: whole_meeting, everything: false, ..Changed::ALL };
    };
    Changed {
        subject: a.subject != local.subject,
        location: a.location != local.location,
        description: !a.same_description(local),
        time: (a.start, a.end, a.all_day) != (local.start, local.end, local.all_day),
        private: a.private != local.private,
        attendees: with_attendees && (send || a.attendees != local.attendees),
        crm_id: whole_meeting,
        everything: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn f(start: i64) -> Fields {
        Fields {
            subject: "Visit".into(),
            location: "Harbour".into(),
            description: "Agenda".into(),
            description_html: false,
            start,
            end: start + 3600,
            all_day: false,
            private: false,
            attendees: BTreeSet::from(["ida@kunde.example".to_string()]),
        }
    }

    fn known<'a>(kind: ProviderKind, at: AtProvider, local: &'a Fields, agreed: Option<&'a Fields>) -> Known<'a> {
        Known { kind, deleted: false, at, local, agreed, send_asked: false, send_owed: false, whole_meeting: true }
    }

    const ALL: [ProviderKind; 3] = [ProviderKind::Google, ProviderKind::Graph, ProviderKind::Ews];

    #[test]
    fn a_new_meeting_is_looked_for_then_created_and_invitations_go_only_when_asked() {
        // F-EDIT-9, sync rule 6
        let local = f(0);
        for kind in ALL {
            assert_eq!(plan(&known(kind, AtProvider::NotLookedFor, &local, None)), Plan::Find);
            let quiet = plan(&known(kind, AtProvider::Absent, &local, None));
            // Graph mails the attendees it is given: without sending, it is given none.
            assert_eq!(quiet, Plan::Create { send: SendInvitations::No, with_attendees: kind != ProviderKind::Graph });
            let asked = Known { send_asked: true, send_owed: true, ..known(kind, AtProvider::Absent, &local, None) };
            assert_eq!(plan(&asked), Plan::Create { send: SendInvitations::Yes, with_attendees: true });
            // A send marked done by an attempt whose create never landed is still owed.
            let marked = Known { send_owed: false, ..asked };
            assert_eq!(plan(&marked), Plan::Create { send: SendInvitations::Yes, with_attendees: true });
        }
    }

    #[test]
    fn an_event_an_earlier_attempt_made_is_adopted_not_made_twice() {
        let local = f(0);
        let found = Known { send_asked: true, send_owed: true, ..known(ProviderKind::Google, AtProvider::Found, &local, None) };
        assert_eq!(plan(&found), Plan::Adopt { with_attendees: true });
        // Deleted meanwhile: adopted first (its id is needed to delete it).
        assert_eq!(plan(&Known { deleted: true, ..found }), Plan::Adopt { with_attendees: true });
    }

    #[test]
    fn an_unchanged_meeting_is_not_written_and_a_send_is_not_repeated() {
        let (local, agreed) = (f(0), f(0));
        for kind in ALL {
            assert_eq!(plan(&known(kind, AtProvider::Known, &local, Some(&agreed))), Plan::Nothing);
            // Asked, but an earlier run of the job sent them: nobody is told twice.
            let sent = Known { send_asked: true, send_owed: false, ..known(kind, AtProvider::Known, &local, Some(&agreed)) };
            assert_eq!(plan(&sent), Plan::Nothing);
            // Owed: written, with the attendee list, so the provider knows whom to tell.
            let owed = Known { send_owed: true, send_asked: true, ..sent };
            let Plan::Update { changed, send, with_attendees } = plan(&owed) else { panic!("an update") };
            assert_eq!((send, with_attendees, changed.attendees, changed.subject), (SendInvitations::Yes, true, true, false));
        }
    }

    #[test]
    fn a_move_writes_only_the_times() {
        // F-X-10
        let (moved, agreed) = (f(1800), f(0));
        let p = plan(&known(ProviderKind::Google, AtProvider::Known, &moved, Some(&agreed)));
        assert_eq!(p, Plan::Update { changed: Changed { time: true, crm_id: true, ..Default::default() }, send: SendInvitations::No, with_attendees: true });
        // With updates to the attendees: their list goes along.
        let told = Known { send_asked: true, send_owed: true, ..known(ProviderKind::Google, AtProvider::Known, &moved, Some(&agreed)) };
        let Plan::Update { changed, .. } = plan(&told) else { panic!("an update") };
        assert_eq!(changed, Changed { time: true, attendees: true, crm_id: true, ..Default::default() });
        // Graph without sending never writes attendees; an occurrence carries no CRM id.
        let graph = Known { whole_meeting: false, ..known(ProviderKind::Graph, AtProvider::Known, &moved, Some(&agreed)) };
        let Plan::Update { changed, with_attendees, .. } = plan(&graph) else { panic!("an update") };
        assert!(!changed.attendees && !with_attendees && !changed.crm_id);
        // Nothing agreed yet: everything, but not what the provider must keep (recurrence, free/busy).
        let Plan::Update { changed, .. } = plan(&known(ProviderKind::Ews, AtProvider::Known, &moved, None)) else { panic!("an update") };
        assert!(changed.description && changed.time && changed.attendees && !changed.everything);
    }

    #[test]
    fn a_delete_cancels_only_when_asked_and_a_meeting_never_sent_is_only_forgotten() {
        // F-EDIT-11
        let local = f(0);
        let gone = Known { deleted: true, ..known(ProviderKind::Ews, AtProvider::Known, &local, Some(&local)) };
        assert_eq!(plan(&gone), Plan::Delete { send: SendInvitations::No });
        assert_eq!(plan(&Known { send_asked: true, send_owed: true, ..gone }), Plan::Delete { send: SendInvitations::Yes });
        assert_eq!(plan(&Known { at: AtProvider::NotLookedFor, ..gone }), Plan::Find);
        assert_eq!(plan(&Known { at: AtProvider::Absent, ..gone }), Plan::Forget);
    }
}
