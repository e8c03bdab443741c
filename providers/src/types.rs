//! Provider-neutral shapes of events, changes, free/busy and subscriptions.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Which provider (shared with the rest of the product through `domain`).
pub use domain::connection::ProviderKind;

/// What `validate()` learnt about the mailbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxInfo {
    pub email: String,
    pub display_name: Option<String>,
    /// The calendar's own zone, IANA name, when the provider reports one.
    pub time_zone: Option<String>,
}

/// Start or end of an event: an instant, or a calendar date for all-day events (the end date
/// is exclusive: a one-day event on 3 May ends on 4 May).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventTime {
    At(DateTime<Utc>),
    Date(NaiveDate),
}

impl EventTime {
    pub fn is_date(&self) -> bool {
        matches!(self, Self::Date(_))
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    #[default]
    Single,
    /// An unchanged occurrence of a series.
    Occurrence,
    /// An occurrence changed on its own (moved, renamed, …).
    Exception,
    SeriesMaster,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    #[default]
    NeedsAction,
    Accepted,
    Tentative,
    Declined,
    Organizer,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub email: String,
    pub name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attendee {
    pub email: String,
    pub name: Option<String>,
    pub response: Response,
    pub optional: bool,
}

impl Attendee {
    pub fn required(email: &str) -> Self {
        Self { email: email.to_string(), name: None, response: Response::NeedsAction, optional: false }
    }
}

/// An event as it sits in the provider calendar.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProviderEvent {
    /// The provider's id of this event or occurrence (Google id, Graph id, EWS ItemId).
    pub id: String,
    /// The iCalendar UID: the same in every attendee's copy, so it ties copies together.
    pub ical_uid: Option<String>,
    /// Version token for conditional writes (Google etag, Graph changeKey, EWS ChangeKey).
    pub etag: Option<String>,
    pub kind: EventKind,
    /// For occurrences and exceptions: the id of the series master.
    pub series_id: Option<String>,
    /// For occurrences and exceptions: the start the occurrence has in the series pattern
    /// (identifies the slot even after the occurrence was moved).
    pub original_start: Option<DateTime<Utc>>,
    pub subject: String,
    pub location: String,
    /// The body as the provider keeps it: plain text, or HTML when `description_html`.
    pub description: String,
    pub description_html: bool,
    pub start: EventTime,
    pub end: EventTime,
    /// IANA zone the event was entered in, when known.
    pub time_zone: Option<String>,
    pub private: bool,
    /// Shows as busy (false: free / transparent).
    pub busy: bool,
    pub organizer: Option<Person>,
    pub attendees: Vec<Attendee>,
    /// The CRM meeting id stored in the provider's extended property.
    pub crm_id: Option<String>,
    /// For series masters: the RFC 5545 rule, e.g. `FREQ=WEEKLY;BYDAY=MO;COUNT=10`.
    pub recurrence: Option<String>,
    /// The organiser cancelled the meeting but it is still in this calendar.
    pub cancelled: bool,
    pub updated: Option<DateTime<Utc>>,
}

impl ProviderEvent {
    pub fn all_day(&self) -> bool {
        self.start.is_date()
    }
}

/// What the CRM writes to a provider.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventDraft {
    pub subject: String,
    pub location: String,
    pub description: String,
    /// The description is HTML (an unchanged Outlook or Google body written back as it was).
    #[serde(default)]
    pub description_html: bool,
    pub start: EventTime,
    pub end: EventTime,
    /// IANA zone the meeting was entered in (Google `timeZone`, Graph/EWS start/end zone).
    pub time_zone: String,
    pub private: bool,
    pub busy: bool,
    pub attendees: Vec<Attendee>,
    pub crm_id: Option<String>,
    /// RFC 5545 RRULE (without the `RRULE:` prefix) for a series.
    pub recurrence: Option<String>,
}

impl EventDraft {
    /// A busy, public meeting with only a subject and times; set the rest with struct update
    /// syntax (`EventDraft { location, ..EventDraft::new(…) }`).
    pub fn new(subject: &str, start: EventTime, end: EventTime, time_zone: &str) -> Self {
        Self {
            subject: subject.into(),
            location: String::new(),
            description: String::new(),
            description_html: false,
            start,
            end,
            time_zone: time_zone.into(),
            private: false,
            busy: true,
            attendees: Vec::new(),
            crm_id: None,
            recurrence: None,
        }
    }
}

/// Which fields of an event an update writes. The CRM names only what changed, so what it
/// does not model is left alone at the provider: an Outlook meeting's HTML description and its
/// Teams link, Google's conference data, a series' recurrence, attachments. (F-X-10: a move
/// changes only the times.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changed {
    pub subject: bool,
    pub location: bool,
    pub description: bool,
    /// Start, end, all-day and their zone, together.
    pub time: bool,
    pub private: bool,
    pub attendees: bool,
    /// Stamp the CRM id on the event.
    pub crm_id: bool,
    /// The draft is the whole event: replace everything (also free/busy and recurrence).
    pub everything: bool,
}

impl Changed {
    pub const ALL: Changed = Changed { subject: true, location: true, description: true, time: true, private: true, attendees: true, crm_id: true, everything: true };

    pub fn is_empty(&self) -> bool {
        *self == Changed::default()
    }
}

/// Whether a write mails the attendees (invitations, updates, cancellations). Each client
/// maps it onto its provider: Google `sendUpdates=all|none`, EWS
/// `SendMeetingInvitations…=SendToAllAndSaveCopy|SendToNone`, Graph (which always mails
/// attendees of a meeting) by writing attendees only when sending.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SendInvitations {
    Yes,
    No,
}

/// The time window a change feed covers (Graph and the first full round of all providers are
/// windowed; Google and EWS cursors cover the whole calendar once issued).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Change {
    /// A single event, occurrence or exception, new or changed.
    Upserted(ProviderEvent),
    /// This event or occurrence is gone. When `id` is a series master, the whole series is.
    Deleted {
        id: String,
        series_id: Option<String>,
        original_start: Option<DateTime<Utc>>,
    },
    /// A series changed as a whole (EWS reports series masters, not occurrences): these are
    /// now all its occurrences in the window; any other stored occurrence of it is gone.
    SeriesReplaced { series_id: String, occurrences: Vec<ProviderEvent> },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangePage {
    pub changes: Vec<Change>,
    /// Pass this back on the next call (a page token while `more`, else the next round's).
    pub cursor: String,
    /// More pages follow in this round; call again with `cursor` right away.
    pub more: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BusyInterval {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Tentative rather than busy.
    pub tentative: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FreeBusy {
    pub email: String,
    pub busy: Vec<BusyInterval>,
    /// The provider could not answer for this mailbox (unknown, no permission, …).
    pub error: Option<String>,
}

/// (`Debug` leaves the secret out.)
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub id: String,
    /// Google's resourceId (needed to stop a channel); EWS watermark; unused by Graph.
    pub resource_id: Option<String>,
    /// Where notifications go. Google channels and EWS push subscriptions cannot be extended,
    /// so renewing them subscribes this address again.
    pub callback_url: String,
    pub expires_at: DateTime<Utc>,
    /// Google channel token / Graph clientState; checked on every notification.
    pub secret: String,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("resource_id", &self.resource_id)
            .field("callback_url", &self.callback_url)
            .field("expires_at", &self.expires_at)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// A parsed incoming push notification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub subscription_id: String,
    /// The secret the provider sent back (compare with `Subscription::secret`).
    pub secret: Option<String>,
    pub event: NotificationEvent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationEvent {
    /// The subscription was just set up (Google `sync`); nothing changed yet.
    Hello,
    /// Something in the calendar changed: run an incremental sync.
    Changed,
    /// The provider dropped the subscription or needs it re-authorised: subscribe again.
    SubscriptionEnded,
    /// Notifications were lost: run an incremental sync.
    Missed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subscription_prints_without_its_secret() {
        let sub = Subscription {
            id: "ch-1".into(),
            resource_id: Some("res".into()),
            callback_url: "https://crm.example.com/hooks/google".into(),
            expires_at: Utc::now(),
            secret: "client-state-secret".into(),
        };
        let shown = format!("{sub:?}");
        assert!(shown.contains("ch-1") && !shown.contains("client-state-secret"), "{shown}");
    }
}
