//! One error enum for all providers: each variant is something the sync engine or the UI acts
//! on differently, so provider-specific codes are mapped onto these, not passed through.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Wrong user name or password, or an access token the provider refused.
    #[error("the provider refused the credentials: {0}")]
    InvalidCredentials(String),
    /// The refresh token is dead (revoked, expired): the user must connect again.
    #[error("the calendar must be connected again: {0}")]
    ReauthorizationRequired(String),
    /// The URL is not acceptable (not https, not an absolute URL, a redirect elsewhere, …).
    #[error("unacceptable URL: {0}")]
    InvalidUrl(String),
    /// The URL does not point at an Exchange Web Services endpoint.
    #[error("not an Exchange Web Services endpoint (the URL must end in /EWS/Exchange.asmx): {0}")]
    NotEwsEndpoint(String),
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    #[error("secure connection failed: {0}")]
    Tls(String),
    #[error("mailbox not found: {0}")]
    MailboxNotFound(String),
    #[error("the service account may not act for this mailbox: {0}")]
    ImpersonationDenied(String),
    #[error("access denied: {0}")]
    AccessDenied(String),
    /// The sync cursor is no longer valid (Google 410, Graph 410, EWS ErrorInvalidSyncStateData):
    /// start a full sync and reconcile.
    #[error("the sync cursor expired; a full sync is needed")]
    CursorExpired,
    /// The event changed since the etag / ChangeKey we sent.
    #[error("the event was changed by someone else")]
    Conflict,
    #[error("not found")]
    NotFound,
    /// The provider asks us to slow down; wait `retry_after` when it said how long.
    #[error("throttled by the provider (retry after {retry_after:?})")]
    Throttled { retry_after: Option<Duration> },
    #[error("the provider did not answer in time")]
    Timeout,
    /// A 5xx or a dropped connection: worth retrying.
    #[error("provider error {status}: {message}")]
    Server { status: u16, message: String },
    /// The provider rejected the request as invalid (a bug on our side or bad data).
    #[error("the provider rejected the request ({status} {code}): {message}")]
    Rejected { status: u16, code: String, message: String },
    #[error("response larger than {limit} bytes")]
    TooLarge { limit: usize },
    /// The answer could not be understood (malformed JSON/XML, missing required parts).
    #[error("unexpected answer from the provider: {0}")]
    Protocol(String),
}

impl ProviderError {
    /// Worth trying again later without anyone changing anything.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Throttled { .. } | Self::Timeout | Self::Server { .. } | Self::Unreachable(_)
        )
    }

    /// The back-off the provider asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Throttled { retry_after } => *retry_after,
            _ => None,
        }
    }
}
