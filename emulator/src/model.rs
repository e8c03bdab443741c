//! The emulated providers' shared state: mailboxes, their calendars, change sequence numbers and
//! tombstones (so sync cursors return exactly what changed since they were issued), recurring
//! series with exceptions, invitations (outbox messages plus copies in the calendars of
//! attendees who are mailboxes of the same provider), tokens, cursors and faults.
//!
//! Protocol front-ends (`google`, `graph`, `ews`) translate between their wire formats and
//! this model; they never keep state of their own, so what one protocol writes another reads.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::recurrence;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Google,
    Graph,
    Ews,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Google => "google",
            Self::Graph => "graph",
            Self::Ews => "ews",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Mailbox {
    pub email: String,
    pub display_name: String,
    pub provider: Provider,
    /// For EWS Basic auth (and the OAuth consent page's sign-in).
    pub password: Option<String>,
    /// IANA name of the mailbox's own zone.
    pub time_zone: String,
    /// EWS service account holding the ApplicationImpersonation role.
    pub can_impersonate: bool,
    /// Stable directory id (Graph user id, EWS SID-ish).
    pub uid: String,
}

/// Start or end: an instant, or a date for all-day events (end exclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    At(DateTime<Utc>),
    Date(NaiveDate),
}

impl When {
    /// The instant, with dates read as midnight in `tz` (all-day events are floating: the
    /// same dates in every zone).
    pub fn instant(&self, tz: &str) -> DateTime<Utc> {
        match *self {
            When::At(t) => t,
            When::Date(d) => {
                let tz: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::UTC);
                domain::tz::start_of_day(d, tz)
            }
        }
    }

    pub fn is_date(&self) -> bool {
        matches!(self, When::Date(_))
    }

    pub fn shifted(&self, by: Duration) -> When {
        match *self {
            When::At(t) => When::At(t + by),
            When::Date(d) => When::Date(d + Duration::days(by.num_days())),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    #[default]
    Normal,
    Personal,
    Private,
    Confidential,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShowAs {
    Free,
    Tentative,
    #[default]
    Busy,
    Oof,
    WorkingElsewhere,
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
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attendee {
    pub email: String,
    pub name: String,
    pub response: Response,
    pub optional: bool,
}

/// The editable content of an event, or of one occurrence that was changed (an exception).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fields {
    pub subject: String,
    pub body: String,
    pub location: String,
    pub start: When,
    pub end: When,
    /// IANA zone the event was entered in.
    pub time_zone: String,
    pub sensitivity: Sensitivity,
    pub show_as: ShowAs,
    pub attendees: Vec<Attendee>,
}

impl Fields {
    pub fn start_utc(&self) -> DateTime<Utc> {
        self.start.instant(&self.time_zone)
    }
    pub fn end_utc(&self) -> DateTime<Utc> {
        self.end.instant(&self.time_zone)
    }
    pub fn is_all_day(&self) -> bool {
        self.start.is_date()
    }
    pub fn is_private(&self) -> bool {
        matches!(self.sensitivity, Sensitivity::Private | Sensitivity::Confidential)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Override {
    /// This occurrence was changed (moved, renamed, …).
    Changed { fields: Fields, change_key: String, seq: u64 },
    /// This occurrence was deleted.
    Cancelled { seq: u64 },
}

impl Override {
    pub fn seq(&self) -> u64 {
        match self {
            Override::Changed { seq, .. } | Override::Cancelled { seq } => *seq,
        }
    }
}

/// A calendar item: a single event or a series master.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub ical_uid: String,
    /// Changes on every write (Google etag, Graph changeKey, EWS ChangeKey derive from it).
    pub change_key: String,
    pub fields: Fields,
    pub organizer: Person,
    /// RFC 5545 lines (`RRULE:…`, `EXDATE…`, `RDATE…`); empty for a single event.
    pub recurrence: Vec<String>,
    /// Changed or deleted occurrences, by their original start (UTC).
    pub overrides: BTreeMap<DateTime<Utc>, Override>,
    /// Visible only in this calendar (Google private extended properties, Graph/EWS named
    /// properties).
    pub private_props: BTreeMap<String, String>,
    /// Copied to attendees' copies (Google shared extended properties).
    pub shared_props: BTreeMap<String, String>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    /// The calendar's change sequence number at this event's last change.
    pub seq: u64,
    /// The organiser cancelled the meeting; this attendee copy stays until removed.
    pub cancelled: bool,
}

impl Event {
    pub fn is_series(&self) -> bool {
        !self.recurrence.is_empty()
    }
}

/// A deleted event, kept so that cursors issued before the deletion report it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Tombstone {
    pub id: String,
    pub ical_uid: String,
    pub seq: u64,
    pub was_series: bool,
    pub deleted: DateTime<Utc>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Calendar {
    pub events: BTreeMap<String, Event>,
    pub tombstones: BTreeMap<String, Tombstone>,
    /// Last change sequence number handed out in this calendar.
    pub seq: u64,
}

/// One occurrence (or a single event) as a window listing shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    pub event_id: String,
    pub kind: InstanceKind,
    /// For occurrences: the slot's start in the pattern.
    pub original_start: Option<DateTime<Utc>>,
    /// 1-based position in the series (EWS InstanceIndex).
    pub index: usize,
    pub fields: Fields,
    /// Occurrence deleted from its series (only listed where deletions are asked for).
    pub cancelled: bool,
    /// Change sequence number of this instance's last change.
    pub seq: u64,
    pub change_key: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstanceKind {
    Single,
    Occurrence,
    Exception,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Invite,
    Update,
    Cancel,
}

/// A message the provider would have mailed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxMessage {
    pub provider: Provider,
    pub kind: MessageKind,
    pub from: String,
    pub to: String,
    pub subject: String,
    pub ical_uid: String,
    /// For a message about one occurrence: its original start.
    pub occurrence: Option<DateTime<Utc>>,
    pub sent_at: DateTime<Utc>,
}

/// A change, as told to push subscribers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangeNote {
    pub provider: Provider,
    pub mailbox: String,
    pub event_id: String,
    pub change: ChangeType,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeType {
    Created,
    Updated,
    Deleted,
}

/// Opaque server-side state behind a sync cursor or page token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Cursor {
    pub provider: Provider,
    pub mailbox: String,
    /// Changes with a higher sequence number are "since" this cursor.
    pub seq: u64,
    /// Whatever the front-end needs to continue (window, page offset, options).
    pub data: serde_json::Value,
    pub expired: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer with this HTTP status and the provider's error envelope.
    Status { status: u16 },
    /// The provider's throttling answer with this back-off.
    Throttle { retry_after_ms: u64 },
    /// Hold the request this long before answering 504 (the client should give up first).
    Timeout { ms: u64 },
    /// Send headers, then break the connection mid-body.
    Drop,
    /// Carry the request out, then break the connection before the answer: the client cannot
    /// tell whether its write happened (a crash or network failure after the provider acted).
    LostAnswer,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    pub provider: Provider,
    #[serde(flatten)]
    pub kind: FaultKind,
    pub remaining: u32,
    /// Only calls of this operation: an HTTP method for Google and Graph (`PATCH`), an EWS
    /// operation (`UpdateItem`). None: any call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<String>,
}

#[derive(Clone, Debug)]
pub struct TokenInfo {
    pub email: String,
    pub provider: Provider,
    pub expires: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct AuthCode {
    pub email: String,
    pub provider: Provider,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub scope: String,
    pub expires: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
}

/// A push subscription (Google channel, Graph subscription, EWS push/pull/streaming).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Subscription {
    pub id: String,
    pub provider: Provider,
    pub mailbox: String,
    /// Where notifications are POSTed (none for EWS pull/streaming).
    pub url: Option<String>,
    /// Google channel token / Graph clientState.
    pub secret: Option<String>,
    pub resource_id: String,
    pub expires: DateTime<Utc>,
    pub message_number: u64,
    /// Front-end specific (Graph changeType, EWS watermark and subscription kind, …).
    pub data: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("no such mailbox: {0}")]
    NoMailbox(String),
    #[error("mailbox already exists: {0}")]
    MailboxExists(String),
    #[error("event not found")]
    NotFound,
    #[error("the event changed since the given version")]
    Conflict,
    #[error("no such occurrence in the series")]
    NoOccurrence,
    #[error("occurrence was deleted from the series")]
    OccurrenceDeleted,
    #[error("an event with this id already exists")]
    Duplicate,
    #[error("invalid: {0}")]
    Invalid(String),
}

/// How a write mails attendees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Send {
    None,
    /// Everyone on the (new) attendee list; removed attendees get a cancellation.
    All,
    /// Only attendees added or removed (EWS SendOnlyToChanged).
    Changed,
}

/// A new event to store.
#[derive(Clone, Debug)]
pub struct NewEvent {
    /// A client-chosen id (Google allows one); else generated.
    pub id: Option<String>,
    pub ical_uid: Option<String>,
    pub fields: Fields,
    pub recurrence: Vec<String>,
    pub private_props: BTreeMap<String, String>,
    pub shared_props: BTreeMap<String, String>,
}

#[derive(Default)]
pub struct State {
    pub mailboxes: BTreeMap<String, Mailbox>,
    pub calendars: HashMap<String, Calendar>,
    pub outbox: Vec<OutboxMessage>,
    pub tokens: HashMap<String, TokenInfo>,
    pub refresh_tokens: HashMap<String, (String, Provider)>,
    pub auth_codes: HashMap<String, AuthCode>,
    pub cursors: HashMap<String, Cursor>,
    pub faults: Vec<Fault>,
    pub subscriptions: BTreeMap<String, Subscription>,
    /// Changes not yet handed to the push deliverer.
    pub pending_notes: Vec<ChangeNote>,
}

/// Random token text (URL-safe).
pub fn random_token(len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len).map(|_| CHARS[rng.random_range(0..CHARS.len())] as char).collect()
}

fn random_from(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len).map(|_| alphabet[rng.random_range(0..alphabet.len())] as char).collect()
}

/// An id in the shape the provider uses.
pub fn new_event_id(provider: Provider) -> String {
    match provider {
        // base32hex, lower case, as Google's generated ids.
        Provider::Google => random_from(b"0123456789abcdefghijklmnopqrstuv", 26),
        // Exchange ItemIds are base64 of a binary entry id: "AAMkA…=".
        Provider::Graph | Provider::Ews => {
            format!("AAMkAG{}AAA=", random_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 100))
        }
    }
}

/// An iCalendar UID in the shape the provider generates.
pub fn new_ical_uid(provider: Provider, id: &str) -> String {
    match provider {
        Provider::Google => format!("{id}@google.com"),
        // Exchange's global object id, hex.
        Provider::Graph | Provider::Ews => {
            // Bytes 16..20 are the instance date, zero for a series or single event (Graph
            // writes the occurrence date there in occurrences' iCalUIds).
            format!("040000008200E00074C5B7101A82E00800000000{}", random_from(b"0123456789ABCDEF", 72))
        }
    }
}

pub fn new_change_key() -> String {
    // Exchange ChangeKeys are base64 ("DwAAABYAAAA…"); Google etags are numeric strings in
    // quotes (made from this by the front-end).
    format!("DwAAABYAAA{}", random_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 24))
}

impl State {
    pub fn reset(&mut self) {
        *self = State::default();
    }

    // ---- mailboxes and credentials -------------------------------------------------------

    pub fn add_mailbox(&mut self, mut mb: Mailbox) -> Result<Mailbox, ModelError> {
        mb.email = mb.email.trim().to_ascii_lowercase();
        if !mb.email.contains('@') {
            return Err(ModelError::Invalid("email must be an address".into()));
        }
        if mb.time_zone.parse::<chrono_tz::Tz>().is_err() {
            return Err(ModelError::Invalid(format!("unknown time zone {}", mb.time_zone)));
        }
        if self.mailboxes.contains_key(&mb.email) {
            return Err(ModelError::MailboxExists(mb.email));
        }
        if mb.uid.is_empty() {
            mb.uid = uuid::Uuid::new_v4().to_string();
        }
        self.calendars.insert(mb.email.clone(), Calendar::default());
        self.mailboxes.insert(mb.email.clone(), mb.clone());
        Ok(mb)
    }

    pub fn mailbox(&self, email: &str) -> Option<&Mailbox> {
        self.mailboxes.get(&email.trim().to_ascii_lowercase())
    }

    /// Mailbox by address or directory id (Graph `/users/{id|upn}`).
    pub fn mailbox_by_id_or_email(&self, key: &str) -> Option<&Mailbox> {
        self.mailbox(key).or_else(|| self.mailboxes.values().find(|m| m.uid.eq_ignore_ascii_case(key)))
    }

    pub fn check_password(&self, provider: Provider, email: &str, password: &str) -> Option<&Mailbox> {
        self.mailbox(email)
            .filter(|m| m.provider == provider && m.password.as_deref() == Some(password))
    }

    /// Access + refresh token for the mailbox, as if its owner had consented.
    pub fn issue_tokens(&mut self, email: &str, provider: Provider, lifetime: Duration) -> Result<Tokens, ModelError> {
        let mb = self.mailbox(email).ok_or_else(|| ModelError::NoMailbox(email.into()))?;
        if mb.provider != provider {
            return Err(ModelError::Invalid(format!("{email} is not a {} mailbox", provider.as_str())));
        }
        let email = mb.email.clone();
        let access = format!("{}.{}", provider_prefix(provider), random_token(48));
        let refresh = format!("{}r.{}", provider_prefix(provider), random_token(48));
        self.tokens.insert(access.clone(), TokenInfo { email: email.clone(), provider, expires: Utc::now() + lifetime });
        self.refresh_tokens.insert(refresh.clone(), (email, provider));
        Ok(Tokens { access_token: access, refresh_token: refresh, expires_in: lifetime.num_seconds() })
    }

    /// The mailbox a bearer token speaks for, if the token is live and for this provider.
    pub fn bearer(&self, provider: Provider, token: &str) -> Option<&Mailbox> {
        let info = self.tokens.get(token)?;
        if info.provider != provider || info.expires <= Utc::now() {
            return None;
        }
        self.mailbox(&info.email)
    }

    /// Refresh: a new access token (and a rotated refresh token when `rotate`).
    pub fn refresh(&mut self, provider: Provider, refresh_token: &str, rotate: bool, lifetime: Duration) -> Option<Tokens> {
        let (email, p) = self.refresh_tokens.get(refresh_token)?.clone();
        if p != provider {
            return None;
        }
        let mut tokens = self.issue_tokens(&email, provider, lifetime).ok()?;
        if rotate {
            self.refresh_tokens.remove(refresh_token);
        } else {
            self.refresh_tokens.remove(&tokens.refresh_token);
            tokens.refresh_token = refresh_token.to_string();
        }
        Some(tokens)
    }

    /// Revokes an access or refresh token (and, for a refresh token, its access tokens).
    pub fn revoke(&mut self, token: &str) -> bool {
        if let Some((email, provider)) = self.refresh_tokens.remove(token) {
            self.tokens.retain(|_, t| !(t.email == email && t.provider == provider));
            return true;
        }
        self.tokens.remove(token).is_some()
    }

    // ---- calendars -----------------------------------------------------------------------

    pub fn calendar(&self, email: &str) -> Result<&Calendar, ModelError> {
        self.calendars.get(&email.to_ascii_lowercase()).ok_or_else(|| ModelError::NoMailbox(email.into()))
    }

    fn calendar_mut(&mut self, email: &str) -> Result<&mut Calendar, ModelError> {
        self.calendars.get_mut(&email.to_ascii_lowercase()).ok_or_else(|| ModelError::NoMailbox(email.into()))
    }

    pub fn event(&self, email: &str, id: &str) -> Result<&Event, ModelError> {
        self.calendar(email)?.events.get(id).ok_or(ModelError::NotFound)
    }

    /// Events carrying this private extended property value.
    pub fn find_by_private_prop(&self, email: &str, name: &str, value: &str) -> Result<Vec<&Event>, ModelError> {
        Ok(self
            .calendar(email)?
            .events
            .values()
            .filter(|e| e.private_props.get(name).map(String::as_str) == Some(value))
            .collect())
    }

    /// Every instance overlapping `[from, to)`: singles, occurrences and exceptions (masters
    /// expanded). Deleted occurrences are listed, flagged, only with `include_cancelled`.
    pub fn instances(&self, email: &str, from: DateTime<Utc>, to: DateTime<Utc>, include_cancelled: bool) -> Result<Vec<Instance>, ModelError> {
        let cal = self.calendar(email)?;
        let mut out = Vec::new();
        for ev in cal.events.values() {
            out.extend(recurrence::instances(ev, from, to, include_cancelled));
        }
        out.sort_by(|a, b| a.fields.start_utc().cmp(&b.fields.start_utc()).then(a.event_id.cmp(&b.event_id)));
        Ok(out)
    }

    /// What changed after `seq`: live events changed since, and tombstones since.
    pub fn changed_since(&self, email: &str, seq: u64) -> Result<(Vec<&Event>, Vec<&Tombstone>), ModelError> {
        let cal = self.calendar(email)?;
        let mut events: Vec<&Event> = cal.events.values().filter(|e| e.seq > seq).collect();
        events.sort_by_key(|e| e.seq);
        let mut gone: Vec<&Tombstone> = cal.tombstones.values().filter(|t| t.seq > seq).collect();
        gone.sort_by_key(|t| t.seq);
        Ok((events, gone))
    }

    fn next_seq(&mut self, email: &str) -> Result<u64, ModelError> {
        let cal = self.calendar_mut(email)?;
        cal.seq += 1;
        Ok(cal.seq)
    }

    fn note(&mut self, email: &str, event_id: &str, change: ChangeType) {
        if let Some(mb) = self.mailbox(email) {
            let provider = mb.provider;
            self.pending_notes.push(ChangeNote {
                provider,
                mailbox: email.to_ascii_lowercase(),
                event_id: event_id.to_string(),
                change,
            });
        }
    }

    /// Stores a new event in `email`'s calendar; `email` is the organiser. With `send`, every
    /// attendee gets an invitation.
    pub fn create_event(&mut self, email: &str, new: NewEvent, send: Send) -> Result<Event, ModelError> {
        let mb = self.mailbox(email).ok_or_else(|| ModelError::NoMailbox(email.into()))?.clone();
        validate_fields(&new.fields)?;
        if !new.recurrence.is_empty() {
            recurrence::check(&new.recurrence, &new.fields)?;
        }
        let id = new.id.unwrap_or_else(|| new_event_id(mb.provider));
        let cal = self.calendar(&mb.email)?;
        if cal.events.contains_key(&id) || cal.tombstones.contains_key(&id) {
            return Err(ModelError::Duplicate);
        }
        let ical_uid = new.ical_uid.unwrap_or_else(|| new_ical_uid(mb.provider, &id));
        let seq = self.next_seq(&mb.email)?;
        let now = Utc::now();
        let ev = Event {
            id: id.clone(),
            ical_uid,
            change_key: new_change_key(),
            fields: new.fields,
            organizer: Person { email: mb.email.clone(), name: mb.display_name.clone() },
            recurrence: new.recurrence,
            overrides: BTreeMap::new(),
            private_props: new.private_props,
            shared_props: new.shared_props,
            created: now,
            updated: now,
            seq,
            cancelled: false,
        };
        self.calendar_mut(&mb.email)?.events.insert(id.clone(), ev.clone());
        self.note(&mb.email, &id, ChangeType::Created);
        if send != Send::None {
            let to: Vec<String> = attendee_emails(&ev, &mb.email);
            self.deliver(&mb, &ev, MessageKind::Invite, &to, None);
        }
        Ok(ev)
    }

    /// Changes an event. `if_match` is the change key the writer last saw (stale → Conflict).
    /// With `send`, attendees get updates, new attendees invitations, removed ones
    /// cancellations — but only when the writer organises the meeting.
    pub fn update_event(
        &mut self,
        email: &str,
        id: &str,
        if_match: Option<&str>,
        send: Send,
        change: impl FnOnce(&mut Event) -> Result<(), ModelError>,
    ) -> Result<Event, ModelError> {
        let mb = self.mailbox(email).ok_or_else(|| ModelError::NoMailbox(email.into()))?.clone();
        let before = self.event(&mb.email, id)?.clone();
        if let Some(key) = if_match {
            if key != before.change_key {
                return Err(ModelError::Conflict);
            }
        }
        let mut ev = before.clone();
        change(&mut ev)?;
        validate_fields(&ev.fields)?;
        if !ev.recurrence.is_empty() {
            recurrence::check(&ev.recurrence, &ev.fields)?;
        }
        if ev.recurrence != before.recurrence {
            // A new pattern: exceptions of the old slots no longer apply.
            ev.overrides.clear();
        }
        ev.id = before.id.clone();
        ev.ical_uid = before.ical_uid.clone();
        ev.change_key = new_change_key();
        ev.updated = Utc::now();
        ev.seq = self.next_seq(&mb.email)?;
        self.calendar_mut(&mb.email)?.events.insert(id.to_string(), ev.clone());
        self.note(&mb.email, id, ChangeType::Updated);
        if send != Send::None && ev.organizer.email == mb.email {
            let old: Vec<String> = attendee_emails(&before, &mb.email);
            let new: Vec<String> = attendee_emails(&ev, &mb.email);
            let added: Vec<String> = new.iter().filter(|e| !old.contains(e)).cloned().collect();
            let removed: Vec<String> = old.iter().filter(|e| !new.contains(e)).cloned().collect();
            let kept: Vec<String> = new.iter().filter(|e| old.contains(e)).cloned().collect();
            self.deliver(&mb, &ev, MessageKind::Invite, &added, None);
            self.deliver(&mb, &before, MessageKind::Cancel, &removed, None);
            if send == Send::All {
                self.deliver(&mb, &ev, MessageKind::Update, &kept, None);
            }
        }
        Ok(ev)
    }

    /// Changes one occurrence of a series (it becomes an exception).
    pub fn update_occurrence(
        &mut self,
        email: &str,
        master_id: &str,
        original_start: DateTime<Utc>,
        if_match: Option<&str>,
        send: Send,
        change: impl FnOnce(&mut Fields) -> Result<(), ModelError>,
    ) -> Result<Instance, ModelError> {
        let mb = self.mailbox(email).ok_or_else(|| ModelError::NoMailbox(email.into()))?.clone();
        let master = self.event(&mb.email, master_id)?.clone();
        let current = recurrence::occurrence(&master, original_start)?;
        if let Some(key) = if_match {
            if key != current.change_key {
                return Err(ModelError::Conflict);
            }
        }
        let mut fields = current.fields.clone();
        change(&mut fields)?;
        validate_fields(&fields)?;
        let change_key = new_change_key();
        let ev = self.set_override(&mb, master_id, original_start, |seq| Override::Changed { fields, change_key, seq }, MessageKind::Update, send)?;
        recurrence::occurrence(&ev, original_start)
    }

    /// Deletes one occurrence of a series.
    pub fn cancel_occurrence(&mut self, email: &str, master_id: &str, original_start: DateTime<Utc>, send: Send) -> Result<(), ModelError> {
        let mb = self.mailbox(email).ok_or_else(|| ModelError::NoMailbox(email.into()))?.clone();
        let master = self.event(&mb.email, master_id)?.clone();
        recurrence::occurrence(&master, original_start)?;
        self.set_override(&mb, master_id, original_start, |seq| Override::Cancelled { seq }, MessageKind::Cancel, send)?;
        Ok(())
    }

    /// Records a changed or deleted occurrence on its series and tells the attendees when the
    /// writer organises it. The series' own version changes too: a writer holding the master's
    /// old version must not overwrite (and with a new rule, discard) this exception unseen.
    fn set_override(
        &mut self,
        mb: &Mailbox,
        master_id: &str,
        original_start: DateTime<Utc>,
        make: impl FnOnce(u64) -> Override,
        message: MessageKind,
        send: Send,
    ) -> Result<Event, ModelError> {
        let seq = self.next_seq(&mb.email)?;
        let cal = self.calendar_mut(&mb.email)?;
        let ev = cal.events.get_mut(master_id).ok_or(ModelError::NotFound)?;
        ev.overrides.insert(original_start, make(seq));
        ev.seq = seq;
        ev.change_key = new_change_key();
        ev.updated = Utc::now();
        let ev = ev.clone();
        self.note(&mb.email, master_id, ChangeType::Updated);
        if send != Send::None && ev.organizer.email == mb.email {
            let to = attendee_emails(&ev, &mb.email);
            self.deliver(mb, &ev, message, &to, Some(original_start));
        }
        Ok(ev)
    }

    /// Deletes an event (a whole series when it is a master). With `send`, the organiser's
    /// attendees get cancellations.
    pub fn delete_event(&mut self, email: &str, id: &str, if_match: Option<&str>, send: Send) -> Result<Event, ModelError> {
        let mb = self.mailbox(email).ok_or_else(|| ModelError::NoMailbox(email.into()))?.clone();
        let ev = self.event(&mb.email, id)?.clone();
        if let Some(key) = if_match {
            if key != ev.change_key {
                return Err(ModelError::Conflict);
            }
        }
        let seq = self.next_seq(&mb.email)?;
        let cal = self.calendar_mut(&mb.email)?;
        cal.events.remove(id);
        cal.tombstones.insert(
            id.to_string(),
            Tombstone { id: id.to_string(), ical_uid: ev.ical_uid.clone(), seq, was_series: ev.is_series(), deleted: Utc::now() },
        );
        self.note(&mb.email, id, ChangeType::Deleted);
        if send != Send::None && ev.organizer.email == mb.email {
            let to = attendee_emails(&ev, &mb.email);
            self.deliver(&mb, &ev, MessageKind::Cancel, &to, None);
        }
        Ok(ev)
    }

    /// Mails `to` and mirrors the meeting into recipients who are mailboxes of the same
    /// provider (the same iCalUID in their calendar, as a real server delivers invitations).
    fn deliver(&mut self, from: &Mailbox, ev: &Event, kind: MessageKind, to: &[String], occurrence: Option<DateTime<Utc>>) {
        let now = Utc::now();
        for rcpt in to {
            self.outbox.push(OutboxMessage {
                provider: from.provider,
                kind,
                from: from.email.clone(),
                to: rcpt.clone(),
                subject: ev.fields.subject.clone(),
                ical_uid: ev.ical_uid.clone(),
                occurrence,
                sent_at: now,
            });
            let Some(target) = self.mailbox(rcpt).filter(|m| m.provider == from.provider).cloned() else {
                continue;
            };
            let existing = self
                .calendar(&target.email)
                .ok()
                .and_then(|c| c.events.values().find(|e| e.ical_uid == ev.ical_uid).map(|e| e.id.clone()));
            match (kind, existing) {
                (MessageKind::Cancel, Some(copy_id)) if occurrence.is_none() => {
                    if from.provider == Provider::Google {
                        let _ = self.delete_event(&target.email, &copy_id, None, Send::None);
                    } else {
                        // Exchange keeps the cancelled meeting in the attendee's calendar.
                        let _ = self.update_event(&target.email, &copy_id, None, Send::None, |e| {
                            e.cancelled = true;
                            if !e.fields.subject.starts_with("Canceled: ") {
                                e.fields.subject = format!("Canceled: {}", e.fields.subject);
                            }
                            Ok(())
                        });
                    }
                }
                (MessageKind::Cancel, Some(copy_id)) => {
                    let _ = self.cancel_occurrence(&target.email, &copy_id, occurrence.expect("checked"), Send::None);
                }
                (MessageKind::Cancel, None) => {}
                (_, Some(copy_id)) => {
                    let source = ev.clone();
                    let _ = self.update_event(&target.email, &copy_id, None, Send::None, |copy| {
                        let responses: HashMap<String, Response> =
                            copy.fields.attendees.iter().map(|a| (a.email.clone(), a.response)).collect();
                        copy.fields = source.fields.clone();
                        for a in &mut copy.fields.attendees {
                            if let Some(r) = responses.get(&a.email) {
                                a.response = *r;
                            }
                        }
                        copy.recurrence = source.recurrence.clone();
                        copy.overrides = source.overrides.clone();
                        copy.shared_props = source.shared_props.clone();
                        copy.cancelled = false;
                        Ok(())
                    });
                }
                (_, None) => {
                    let mut fields = ev.fields.clone();
                    for a in &mut fields.attendees {
                        if a.email == target.email {
                            a.response = Response::NeedsAction;
                        }
                    }
                    let copy = NewEvent {
                        id: None,
                        ical_uid: Some(ev.ical_uid.clone()),
                        fields,
                        recurrence: ev.recurrence.clone(),
                        private_props: BTreeMap::new(),
                        shared_props: ev.shared_props.clone(),
                    };
                    if let Ok(created) = self.create_event(&target.email, copy, Send::None) {
                        let organizer = ev.organizer.clone();
                        let overrides = ev.overrides.clone();
                        if let Some(c) = self.calendars.get_mut(&target.email).and_then(|c| c.events.get_mut(&created.id)) {
                            c.organizer = organizer;
                            c.overrides = overrides;
                        }
                    }
                }
            }
        }
    }

    // ---- cursors and page tokens ---------------------------------------------------------

    /// Stores front-end state behind a new opaque token.
    pub fn issue_cursor(&mut self, provider: Provider, mailbox: &str, seq: u64, data: serde_json::Value) -> String {
        let token = random_token(40);
        self.cursors.insert(
            token.clone(),
            Cursor { provider, mailbox: mailbox.to_ascii_lowercase(), seq, data, expired: false },
        );
        token
    }

    /// The state behind a token: Err(true) when it was expired, Err(false) when unknown.
    pub fn cursor(&self, provider: Provider, token: &str) -> Result<&Cursor, bool> {
        match self.cursors.get(token) {
            Some(c) if c.provider != provider => Err(false),
            Some(c) if c.expired => Err(true),
            Some(c) => Ok(c),
            None => Err(false),
        }
    }

    /// Expires every cursor of `provider` (control API: as after a server-side state loss).
    pub fn expire_cursors(&mut self, provider: Provider) -> usize {
        let mut n = 0;
        for c in self.cursors.values_mut().filter(|c| c.provider == provider && !c.expired) {
            c.expired = true;
            n += 1;
        }
        n
    }

    // ---- faults --------------------------------------------------------------------------

    /// Whether a fault waits that only applies to some operations (its calls must be looked into).
    pub fn has_targeted_fault(&self, provider: Provider) -> bool {
        self.faults.iter().any(|f| f.provider == provider && f.only.is_some())
    }

    /// The next injected fault for a call to `provider`, if any.
    pub fn take_fault(&mut self, provider: Provider) -> Option<FaultKind> {
        self.take_fault_for(provider, |_| true)
    }

    /// The next injected fault for a call of `provider` whose operation `is` (see
    /// [`Fault::only`]) answers to.
    pub fn take_fault_for(&mut self, provider: Provider, is: impl Fn(&str) -> bool) -> Option<FaultKind> {
        let i = self.faults.iter().position(|f| f.provider == provider && f.remaining > 0 && f.only.as_deref().is_none_or(&is))?;
        let f = &mut self.faults[i];
        f.remaining -= 1;
        let kind = f.kind.clone();
        if f.remaining == 0 {
            self.faults.remove(i);
        }
        Some(kind)
    }
}

fn provider_prefix(p: Provider) -> &'static str {
    match p {
        Provider::Google => "ya29",
        Provider::Graph => "eyJ0eXAiOiJKV1Qi",
        Provider::Ews => "ews",
    }
}

fn attendee_emails(ev: &Event, except: &str) -> Vec<String> {
    let mut v: Vec<String> = ev
        .fields
        .attendees
        .iter()
        .map(|a| a.email.to_ascii_lowercase())
        .filter(|e| e != except)
        .collect();
    // One message per person, however often (or in whatever case) the address is listed.
    let mut seen = std::collections::HashSet::new();
    v.retain(|e| seen.insert(e.clone()));
    v
}

fn validate_fields(f: &Fields) -> Result<(), ModelError> {
    if f.time_zone.parse::<chrono_tz::Tz>().is_err() {
        return Err(ModelError::Invalid(format!("unknown time zone {}", f.time_zone)));
    }
    match (f.start, f.end) {
        (When::Date(a), When::Date(b)) if b <= a => Err(ModelError::Invalid("the end date must be after the start date".into())),
        (When::At(a), When::At(b)) if b < a => Err(ModelError::Invalid("the end must not be before the start".into())),
        (When::At(_), When::Date(_)) | (When::Date(_), When::At(_)) => {
            Err(ModelError::Invalid("start and end must both be dates or both be times".into()))
        }
        _ => Ok(()),
    }
}

/// Helper for front-ends and tests: a UTC instant from parts.
pub fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).single().expect("valid date")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        let mut s = State::default();
        for who in ["alice", "bob"] {
            s.add_mailbox(Mailbox {
                email: format!("{who}@x.example"),
                display_name: who.into(),
                provider: Provider::Ews,
                password: None,
                time_zone: "UTC".into(),
                can_impersonate: false,
                uid: String::new(),
            })
            .unwrap();
        }
        s
    }

    fn meeting(attendees: &[&str], rule: Option<&str>) -> NewEvent {
        let at = |email: &&str| Attendee { email: email.to_string(), name: String::new(), response: Response::NeedsAction, optional: false };
        NewEvent {
            id: None,
            ical_uid: None,
            fields: Fields {
                subject: "Review".into(),
                body: String::new(),
                location: String::new(),
                start: When::At(utc(2027, 3, 1, 9, 0)),
                end: When::At(utc(2027, 3, 1, 10, 0)),
                time_zone: "UTC".into(),
                sensitivity: Sensitivity::Normal,
                show_as: ShowAs::Busy,
                attendees: attendees.iter().map(at).collect(),
            },
            recurrence: rule.map(|r| vec![format!("RRULE:{r}")]).unwrap_or_default(),
            private_props: BTreeMap::new(),
            shared_props: BTreeMap::new(),
        }
    }

    #[test]
    fn an_attendee_listed_twice_gets_one_invitation() {
        let mut s = state();
        s.create_event("alice@x.example", meeting(&["bob@x.example", "carol@y.example", "Bob@X.example"], None), Send::All).unwrap();
        let to: Vec<_> = s.outbox.iter().map(|m| m.to.as_str()).collect();
        assert_eq!(to, ["bob@x.example", "carol@y.example"]);
        assert_eq!(s.calendar("bob@x.example").unwrap().events.len(), 1);
    }

    #[test]
    fn editing_an_occurrence_changes_the_series_version() {
        let mut s = state();
        let series = s.create_event("alice@x.example", meeting(&[], Some("FREQ=DAILY;COUNT=3")), Send::None).unwrap();
        s.update_occurrence("alice@x.example", &series.id, utc(2027, 3, 2, 9, 0), None, Send::None, |f| {
            f.subject = "Moved".into();
            Ok(())
        })
        .unwrap();
        // A writer still holding the series' old version would wipe the exception with a new rule.
        let stale = s.update_event("alice@x.example", &series.id, Some(&series.change_key), Send::None, |e| {
            e.recurrence = vec!["RRULE:FREQ=DAILY;COUNT=5".into()];
            Ok(())
        });
        assert_eq!(stale.unwrap_err(), ModelError::Conflict);
        assert_eq!(s.event("alice@x.example", &series.id).unwrap().overrides.len(), 1);
    }
}
