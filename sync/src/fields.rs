//! The provider-owned fields of a meeting (sync rule 1) and the three-way merge that decides,
//! field by field, whose change wins when the CRM and the provider both changed a meeting
//! (sync rule 5): a field changed on one side only takes that side's value; changed on both
//! sides to different values, the provider wins and the user is told.
//!
//! Each calendar copy keeps a [`Fields`] snapshot of what was last agreed with the provider
//! (`meeting_copies.synced`): the base of the merge. It is state, not a log, so edits that
//! coalesce into one job, retries and crashes between a provider call and its recording all
//! come out the same.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveTime, Utc};
use providers::{Attendee, EventDraft, EventKind, EventTime, ProviderEvent, ProviderKind, Response};
use serde::{Deserialize, Serialize};
use store::{AttendeeData, MeetingData};

/// The fields both sides can change, as compared by the merge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fields {
    pub subject: String,
    pub location: String,
    /// As the provider keeps it; HTML when `description_html` (compared by its text when one
    /// side is HTML and the other text: Outlook turns a text body into an HTML document).
    pub description: String,
    #[serde(default)]
    pub description_html: bool,
    /// Start and end (unix seconds) and the all-day flag move together: one "time" field.
    pub start: i64,
    pub end: i64,
    pub all_day: bool,
    pub private: bool,
    /// Attendees' lower-case e-mail addresses, the organiser left out.
    pub attendees: BTreeSet<String>,
}

impl Fields {
    pub fn of(d: &MeetingData) -> Fields {
        Fields {
            subject: d.subject.clone(),
            location: d.location.clone(),
            description: normalise_text(&d.description),
            description_html: d.description_html,
            start: d.start.timestamp(),
            end: d.end.timestamp(),
            all_day: d.all_day,
            private: d.private,
            attendees: d
                .attendees
                .iter()
                .filter(|a| !a.is_organiser && !a.email.eq_ignore_ascii_case(&d.organiser_email))
                .map(|a| a.email.to_ascii_lowercase())
                .collect(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("fields serialise")
    }

    /// The same description: equal as stored, or — one HTML, the other text — equal as text.
    pub fn same_description(&self, other: &Fields) -> bool {
        if self.description_html == other.description_html {
            return self.description == other.description;
        }
        let words = |f: &Fields| description_text(&f.description, f.description_html).split_whitespace().collect::<Vec<_>>().join(" ");
        words(self) == words(other)
    }

    /// A stored snapshot; an unreadable one counts as none (the next merge treats the
    /// provider's state as the base, which loses no CRM edit).
    pub fn from_json(s: Option<&str>) -> Option<Fields> {
        s.and_then(|s| serde_json::from_str(s).ok())
    }

    /// Equal in what a write can change: attendees only count when the write may carry them
    /// (see [`attendees_writable`]).
    pub fn same_for_write(&self, other: &Fields, with_attendees: bool) -> bool {
        self.subject == other.subject
            && self.location == other.location
            && self.same_description(other)
            && (self.start, self.end, self.all_day) == (other.start, other.end, other.all_day)
            && self.private == other.private
            && (!with_attendees || self.attendees == other.attendees)
    }
}

/// Writes sent to the provider whose outcome is not known yet (set before each call, cleared
/// when an answer is recorded), newest last. Several can pile up when answers keep getting
/// lost; any of them may have landed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlight(pub Vec<Fields>);

impl InFlight {
    /// At most this many are kept (older ones are long overtaken).
    const KEEP: usize = 5;

    pub fn parse(s: Option<&str>) -> InFlight {
        s.and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default()
    }

    pub fn with(mut self, f: Fields) -> InFlight {
        self.0.push(f);
        let excess = self.0.len().saturating_sub(Self::KEEP);
        self.0.drain(..excess);
        self
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("fields serialise")
    }

    /// The one of ours the provider now holds exactly, if any.
    pub fn landed(&self, remote: &Fields) -> Option<&Fields> {
        self.0.iter().rev().find(|w| w.same_for_write(remote, false))
    }

    pub fn newest(&self) -> Option<&Fields> {
        self.0.last()
    }
}

/// The base of a three-way merge for a copy: what was last agreed with the provider — unless
/// the provider now holds exactly what one of our writes whose answer was lost had sent (that
/// write is ours, not a change made at the provider), or nothing was agreed yet but a create
/// went out (what it wrote is the base). None: nothing known (a copy joining the meeting).
pub fn merge_base(synced: Option<&str>, writing: Option<&str>, remote: &Fields) -> Option<Fields> {
    let in_flight = InFlight::parse(writing);
    if let Some(w) = in_flight.landed(remote) {
        return Some(w.clone());
    }
    Fields::from_json(synced).or_else(|| in_flight.newest().cloned())
}

/// Whether a write with this invitation choice carries the attendee list. Graph mails the
/// attendees of any meeting it saves, so its client writes attendees only when sending; the
/// others store them silently.
pub fn attendees_writable(kind: ProviderKind, send: bool) -> bool {
    send || kind != ProviderKind::Graph
}

/// A description as plain text: an HTML body rendered (paragraphs and line breaks kept, links
/// as their text), plain text as it is.
pub fn description_text(description: &str, html: bool) -> String {
    if !html {
        return description.to_string();
    }
    // Undecorated (no `**bold**`), each link's address listed below the text ("[Join][1]" …
    // "[1]: https://…"), so a body rewritten as text keeps where its links (the Teams or Meet
    // join link) pointed.
    match html2text::config::plain_no_decorate().link_footnotes(true).string_from_read(description.as_bytes(), 10_000) {
        Ok(text) => text.lines().map(str::trim_end).collect::<Vec<_>>().join("\n").trim().to_string(),
        // Not readable as HTML: its characters are still better than nothing.
        Err(_) => description.to_string(),
    }
}

/// Providers return descriptions with their own line endings and trailing whitespace.
fn normalise_text(s: &str) -> String {
    s.replace("\r\n", "\n").trim_end().to_string()
}

/// The result of a three-way merge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merged {
    pub fields: Fields,
    /// Fields changed on both sides to different values; the provider's value was kept.
    pub conflicts: Vec<&'static str>,
}

/// Merges the CRM's `local` and the provider's `remote` changes since `base`.
pub fn merge3(base: &Fields, local: &Fields, remote: &Fields) -> Merged {
    let mut conflicts = Vec::new();
    fn pick<T: PartialEq + Clone>(name: &'static str, b: &T, l: &T, r: &T, conflicts: &mut Vec<&'static str>) -> T {
        if l == b || l == r {
            r.clone()
        } else if r == b {
            l.clone()
        } else {
            conflicts.push(name);
            r.clone()
        }
    }
    let subject = pick("subject", &base.subject, &local.subject, &remote.subject, &mut conflicts);
    let location = pick("location", &base.location, &local.location, &remote.location, &mut conflicts);
    // The description by [`Fields::same_description`] (an Outlook body and the text it came from are one).
    let (description, description_html) = {
        let (b, l, r) = (base, local, remote);
        let side = if l.same_description(b) || l.same_description(r) {
            r
        } else if r.same_description(b) {
            l
        } else {
            conflicts.push("description");
            r
        };
        (side.description.clone(), side.description_html)
    };
    let (start, end, all_day) =
        pick("time", &(base.start, base.end, base.all_day), &(local.start, local.end, local.all_day), &(remote.start, remote.end, remote.all_day), &mut conflicts);
    let private = pick("private", &base.private, &local.private, &remote.private, &mut conflicts);
    // Attendees merge as a set: what the CRM added or removed since the base, applied to the
    // provider's list.
    let added: BTreeSet<_> = local.attendees.difference(&base.attendees).cloned().collect();
    let removed: BTreeSet<_> = base.attendees.difference(&local.attendees).cloned().collect();
    let attendees = remote.attendees.union(&added).filter(|a| !removed.contains(*a)).cloned().collect();
    Merged { fields: Fields { subject, location, description, description_html, start, end, all_day, private, attendees }, conflicts }
}

/// `data` with `fields` put in (attendees keep their names and responses where known; the
/// zone follows `zone_from` when the time came from there).
pub fn apply(data: &MeetingData, fields: &Fields, others: &[&MeetingData]) -> MeetingData {
    let mut out = data.clone();
    out.subject = fields.subject.clone();
    out.location = fields.location.clone();
    out.description = fields.description.clone();
    out.description_html = fields.description_html;
    if (out.start.timestamp(), out.end.timestamp(), out.all_day) != (fields.start, fields.end, fields.all_day) {
        out.start = at(fields.start);
        out.end = at(fields.end);
        out.all_day = fields.all_day;
        if let Some(o) = others.iter().find(|o| (o.start.timestamp(), o.end.timestamp()) == (fields.start, fields.end)) {
            out.time_zone = o.time_zone.clone();
        }
    }
    out.private = fields.private;
    let known: BTreeMap<String, &AttendeeData> =
        others.iter().flat_map(|o| o.attendees.iter()).chain(data.attendees.iter()).map(|a| (a.email.to_ascii_lowercase(), a)).collect();
    let organiser: Vec<AttendeeData> = data.attendees.iter().filter(|a| a.is_organiser || a.email.eq_ignore_ascii_case(&data.organiser_email)).cloned().collect();
    out.attendees = organiser
        .into_iter()
        .chain(fields.attendees.iter().filter(|e| !e.eq_ignore_ascii_case(&data.organiser_email)).map(|e| match known.get(e) {
            Some(a) => AttendeeData { is_organiser: false, ..(*a).clone() },
            None => AttendeeData { email: e.clone(), display_name: String::new(), response: "needsAction".into(), is_organiser: false },
        }))
        .collect();
    out
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn instant(t: EventTime) -> DateTime<Utc> {
    match t {
        EventTime::At(t) => t,
        EventTime::Date(d) => d.and_time(NaiveTime::MIN).and_utc(),
    }
}

/// The meeting as the provider has it. `default_zone`: the calendar owner's zone, for events
/// the provider reports without one.
pub fn meeting_data(ev: &ProviderEvent, default_zone: &str) -> MeetingData {
    let organiser_email = ev.organizer.as_ref().map(|p| p.email.to_ascii_lowercase()).unwrap_or_default();
    let occurrence = matches!(ev.kind, EventKind::Occurrence | EventKind::Exception);
    let start = instant(ev.start);
    MeetingData {
        subject: ev.subject.clone(),
        location: ev.location.clone(),
        description: normalise_text(&ev.description),
        description_html: ev.description_html,
        start,
        end: instant(ev.end).max(start),
        all_day: ev.all_day(),
        time_zone: ev.time_zone.clone().filter(|z| !z.is_empty()).unwrap_or_else(|| default_zone.to_string()),
        private: ev.private,
        cancelled: ev.cancelled,
        organiser_email: organiser_email.clone(),
        ical_uid: ev.ical_uid.clone().filter(|u| !u.is_empty()),
        original_start: if occurrence { ev.original_start.or(Some(start)) } else { None },
        is_exception: ev.kind == EventKind::Exception,
        attendees: ev
            .attendees
            .iter()
            .map(|a| {
                let email = a.email.to_ascii_lowercase();
                AttendeeData {
                    is_organiser: a.response == Response::Organizer || (!organiser_email.is_empty() && email == organiser_email),
                    email,
                    display_name: a.name.clone().unwrap_or_default(),
                    response: match a.response {
                        Response::Accepted | Response::Organizer => "accepted",
                        Response::Tentative => "tentative",
                        Response::Declined => "declined",
                        Response::NeedsAction => "needsAction",
                    }
                    .into(),
                }
            })
            .collect(),
    }
}

/// What the CRM writes for a meeting. Occurrences carry no CRM id (the series has one
/// identity at the provider; an occurrence is found by its own id).
pub fn draft(meeting_id: &str, d: &MeetingData) -> EventDraft {
    let time = |t: DateTime<Utc>| if d.all_day { EventTime::Date(t.date_naive()) } else { EventTime::At(t) };
    let mut draft = EventDraft::new(&d.subject, time(d.start), time(d.end), &d.time_zone);
    draft.location = d.location.clone();
    draft.description = d.description.clone();
    draft.description_html = d.description_html;
    draft.private = d.private;
    draft.attendees = d
        .attendees
        .iter()
        .filter(|a| !a.is_organiser && !a.email.eq_ignore_ascii_case(&d.organiser_email))
        .map(|a| Attendee { name: (!a.display_name.is_empty()).then(|| a.display_name.clone()), ..Attendee::required(&a.email) })
        .collect();
    draft.crm_id = d.original_start.is_none().then(|| meeting_id.to_string());
    draft
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_html_body_as_text_keeps_its_paragraphs_and_link_addresses() {
        // F-EDIT-6
        let html = "<html><body><p>Agenda: <b>pricing</b></p><p>Join: <a href=\"https://teams.example/j/1\">Join the meeting</a></p><script>x()</script></body></html>";
        let text = description_text(html, true);
        assert_eq!(text, "Agenda: pricing\n\nJoin: [Join the meeting][1]\n\n[1]: https://teams.example/j/1");
        assert!(!text.contains("x()") && !text.contains('*'), "{text:?}");
        assert_eq!(description_text("a <b> c", false), "a <b> c");
    }

    fn f(subject: &str, start: i64, attendees: &[&str]) -> Fields {
        Fields {
            subject: subject.into(),
            location: String::new(),
            description: String::new(),
            description_html: false,
            start,
            end: start + 3600,
            all_day: false,
            private: false,
            attendees: attendees.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn a_change_on_one_side_wins_and_both_sides_changes_combine() {
        let base = f("Plan", 100, &["a@x"]);
        // CRM renamed, provider moved: both survive, no conflict.
        let m = merge3(&base, &f("Plan Q3", 100, &["a@x"]), &f("Plan", 7300, &["a@x"]));
        assert_eq!(m.fields, f("Plan Q3", 7300, &["a@x"]));
        assert!(m.conflicts.is_empty());
        // Nothing changed anywhere.
        assert_eq!(merge3(&base, &base, &base).fields, base);
    }

    #[test]
    fn the_same_field_changed_on_both_sides_keeps_the_providers_value_and_says_so() {
        let base = f("Plan", 100, &[]);
        let m = merge3(&base, &f("CRM title", 100, &[]), &f("Phone title", 100, &[]));
        assert_eq!(m.fields.subject, "Phone title");
        assert_eq!(m.conflicts, vec!["subject"]);
        // Both made the same change: no conflict.
        let m = merge3(&base, &f("Same", 100, &[]), &f("Same", 100, &[]));
        assert!(m.conflicts.is_empty());
    }

    #[test]
    fn attendees_merge_as_sets() {
        let base = f("P", 0, &["a@x", "b@x"]);
        let local = f("P", 0, &["a@x", "c@x"]); // CRM: -b +c
        let remote = f("P", 0, &["a@x", "b@x", "d@x"]); // provider: +d
        assert_eq!(merge3(&base, &local, &remote).fields.attendees, ["a@x", "c@x", "d@x"].iter().map(|s| s.to_string()).collect());
    }

    #[test]
    fn graph_writes_attendees_only_when_sending() {
        assert!(!attendees_writable(ProviderKind::Graph, false));
        assert!(attendees_writable(ProviderKind::Graph, true));
        assert!(attendees_writable(ProviderKind::Google, false));
        let a = f("P", 0, &["a@x"]);
        let b = f("P", 0, &[]);
        assert!(a.same_for_write(&b, false) && !a.same_for_write(&b, true));
    }
}
