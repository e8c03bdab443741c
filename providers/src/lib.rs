//! Calendar provider clients. One trait, [`CalendarProvider`], with three implementations:
//! [`google::GoogleCalendar`] (Calendar API v3, JSON), [`graph::GraphCalendar`] (Microsoft Graph
//! v1.0, JSON) and [`ews::EwsCalendar`] (Exchange Web Services, SOAP 1.1).
//!
//! The types here are provider-neutral: the sync engine sees one event shape, one change feed and
//! one error enum whatever the calendar behind it, and each client maps them onto its provider's
//! own mechanisms (etag vs ChangeKey, sendUpdates vs SendMeetingInvitations, …).

pub mod error;
pub mod ews;
pub mod google;
pub mod graph;
pub mod http;
pub mod oauth;
pub mod types;

pub use error::ProviderError;
pub use types::*;

pub type Result<T, E = ProviderError> = std::result::Result<T, E>;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// One user's calendar at one provider.
///
/// Every call has a timeout and a response-size limit; failures come back as a
/// [`ProviderError`] the caller can act on (retry after the server's back-off, re-sync from
/// scratch, ask the user to reconnect, …).
#[async_trait]
pub trait CalendarProvider: Send + Sync {
    fn kind(&self) -> ProviderKind;

    /// Checks that the connection works (credentials, endpoint, mailbox, impersonation right)
    /// and returns what the provider says about the mailbox.
    async fn validate(&self) -> Result<MailboxInfo>;

    /// Events in `[from, to)` (an event is in the window when it ends after `from` and starts
    /// before `to`), recurring series expanded to occurrences. Pages internally.
    async fn list_window(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<ProviderEvent>>;

    /// One page of changes. `cursor: None` starts a new round over `window` (every event in it
    /// comes back as `Upserted`); then pass the returned cursor back. `ChangePage::more` says
    /// whether to call again right away. A cursor the provider no longer knows gives
    /// [`ProviderError::CursorExpired`]: start again with `None` and reconcile.
    async fn changes(&self, cursor: Option<&str>, window: Window) -> Result<ChangePage>;

    /// The event with this provider id (a series master, single event or occurrence id).
    async fn get(&self, id: &str) -> Result<ProviderEvent>;

    /// The event carrying this CRM meeting id in its extended property, if any (idempotent
    /// retries: look before creating again).
    async fn find_by_crm_id(&self, crm_id: &str) -> Result<Option<ProviderEvent>>;

    /// Creates the event (with `draft.crm_id` stored on it). `send` decides whether attendees
    /// get invitations.
    async fn create(&self, draft: &EventDraft, send: SendInvitations) -> Result<ProviderEvent>;

    /// Replaces the event's fields with `draft` (all of them). `etag` (Google etag, Graph
    /// changeKey, EWS ChangeKey) makes the write conditional: a stale one gives
    /// [`ProviderError::Conflict`].
    async fn update(
        &self,
        id: &str,
        etag: Option<&str>,
        draft: &EventDraft,
        send: SendInvitations,
    ) -> Result<ProviderEvent> {
        self.update_fields(id, etag, draft, Changed::ALL, send).await
    }

    /// Writes only the fields `changed` names, taking their values from `draft`; everything
    /// else of the event stays as the provider has it. Conditional on `etag` like `update`.
    async fn update_fields(
        &self,
        id: &str,
        etag: Option<&str>,
        draft: &EventDraft,
        changed: Changed,
        send: SendInvitations,
    ) -> Result<ProviderEvent>;

    /// Deletes the event (or one occurrence, given an occurrence id). Deleting what is already
    /// gone gives [`ProviderError::NotFound`].
    async fn delete(&self, id: &str, etag: Option<&str>, send: SendInvitations) -> Result<()>;

    /// Busy intervals of each mailbox in `[from, to)`.
    async fn free_busy(
        &self,
        emails: &[String],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<FreeBusy>>;

    /// Asks the provider to POST change notifications for this calendar to `callback_url`.
    /// `secret` comes back with every notification (Google channel token, Graph clientState;
    /// EWS push has no secret, so the subscription id is what is checked).
    async fn subscribe(&self, callback_url: &str, secret: &str, ttl: chrono::Duration)
        -> Result<Subscription>;

    /// Extends a subscription (Graph PATCH; Google and EWS cannot extend, so they open a new one
    /// and stop the old one).
    async fn renew(&self, sub: &Subscription, ttl: chrono::Duration) -> Result<Subscription>;

    async fn unsubscribe(&self, sub: &Subscription) -> Result<()>;
}
