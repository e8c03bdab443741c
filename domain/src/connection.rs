//! What a calendar connection is, as types: which provider, how it signs in, how it is doing
//! and why. Stored as short strings (or JSON, for reasons); the UI, the engine and the
//! operator tools match on these types instead of on strings.

use serde::{Deserialize, Serialize};

/// The calendar service behind a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    Google,
    /// Microsoft 365 through Microsoft Graph.
    Graph,
    /// An Exchange server through Exchange Web Services.
    Ews,
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 3] = [ProviderKind::Google, ProviderKind::Graph, ProviderKind::Ews];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Google => "google",
            Self::Graph => "graph",
            Self::Ews => "ews",
        }
    }

    pub fn parse(s: &str) -> Option<ProviderKind> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// How a connection signs in to its provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// Google or Microsoft OAuth tokens.
    OAuth,
    /// An Exchange user's own password.
    Basic,
    /// An Exchange service account acting for the mailbox.
    Impersonation,
    /// An Exchange OAuth bearer token (operators only).
    Bearer,
}

impl AuthKind {
    pub const ALL: [AuthKind; 4] = [AuthKind::OAuth, AuthKind::Basic, AuthKind::Impersonation, AuthKind::Bearer];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OAuth => "oauth",
            Self::Basic => "basic",
            Self::Impersonation => "impersonation",
            Self::Bearer => "bearer",
        }
    }

    pub fn parse(s: &str) -> Option<AuthKind> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// How a connection is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    Active,
    /// Retrying after a failure (outage, throttling).
    Failing,
    /// Stopped until the user connects again (revoked access, changed password).
    NeedsReconnect,
}

impl ConnectionStatus {
    pub const ALL: [ConnectionStatus; 3] = [ConnectionStatus::Active, ConnectionStatus::Failing, ConnectionStatus::NeedsReconnect];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Failing => "failing",
            Self::NeedsReconnect => "needs_reconnect",
        }
    }

    pub fn parse(s: &str) -> Option<ConnectionStatus> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Why a connection is not active, as a code with its details; the app says it in the user's
/// language. `detail` is what the provider itself said (technical, not translated).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
// Externally tagged (`{"refused":{"detail":…}}`): the form serde reads cheapest, which
// matters in the WebAssembly (an internally tagged enum buffers every value it reads).
#[serde(rename_all = "snake_case")]
pub enum StatusReason {
    #[default]
    None,
    /// The provider wants the calendar connected again.
    Reconnect { detail: String },
    /// The provider no longer accepts the CRM's OAuth access.
    AccessRevoked { detail: String },
    /// The Exchange server refused the password.
    PasswordRefused { detail: String },
    MailboxNotFound { detail: String },
    ImpersonationDenied { detail: String },
    AccessDenied { detail: String },
    /// The provider asked us to slow down; retrying after this many seconds (when it said).
    Throttled { retry_secs: Option<u64> },
    /// A passing failure (outage, timeout); retrying.
    Retrying { detail: String },
    /// Any other failure; retrying.
    Failed { detail: String },
    /// Written before reasons were codes.
    Text { text: String },
}

impl StatusReason {
    /// JSON for the database (empty for none).
    pub fn to_stored(&self) -> String {
        match self {
            StatusReason::None => String::new(),
            other => serde_json::to_string(other).unwrap_or_default(),
        }
    }

    /// From the database; text stored before reasons were codes is kept as it is.
    pub fn from_stored(s: &str) -> StatusReason {
        if s.trim().is_empty() {
            return StatusReason::None;
        }
        serde_json::from_str(s).unwrap_or_else(|_| StatusReason::Text { text: s.to_string() })
    }

    /// The provider's own words, when there are any.
    pub fn detail(&self) -> &str {
        match self {
            StatusReason::Reconnect { detail }
            | StatusReason::AccessRevoked { detail }
            | StatusReason::PasswordRefused { detail }
            | StatusReason::MailboxNotFound { detail }
            | StatusReason::ImpersonationDenied { detail }
            | StatusReason::AccessDenied { detail }
            | StatusReason::Retrying { detail }
            | StatusReason::Failed { detail } => detail,
            StatusReason::Text { text } => text,
            StatusReason::None | StatusReason::Throttled { .. } => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in ProviderKind::ALL {
            assert_eq!(ProviderKind::parse(p.as_str()), Some(p));
        }
        for a in AuthKind::ALL {
            assert_eq!(AuthKind::parse(a.as_str()), Some(a));
        }
        for c in ConnectionStatus::ALL {
            assert_eq!(ConnectionStatus::parse(c.as_str()), Some(c));
        }
        assert_eq!(ProviderKind::parse("outlook"), None);
    }

    #[test]
    fn reasons_are_stored_as_codes_and_old_text_survives() {
        let r = StatusReason::Throttled { retry_secs: Some(30) };
        assert_eq!(StatusReason::from_stored(&r.to_stored()), r);
        assert_eq!(StatusReason::from_stored(""), StatusReason::None);
        assert_eq!(StatusReason::None.to_stored(), "");
        let old = StatusReason::from_stored("The provider asked us to slow down; retrying in 3 s.");
        assert_eq!(old.detail(), "The provider asked us to slow down; retrying in 3 s.");
        assert_eq!(StatusReason::from_stored(&StatusReason::PasswordRefused { detail: "401".into() }.to_stored()).detail(), "401");
    }
}

/// Why connecting a calendar did not happen (F-ADM-3 … F-ADM-6): what the provider, the
/// consent screen or the company's switch said. An outcome of trying to connect, shown by the
/// connect widget (and the OAuth pop-up's last page) next to the field it concerns — kept apart
/// from the app-wide form `Problem`s, so its words travel only with the pages that connect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// The address is not an Exchange Web Services one (it must end in EWS/Exchange.asmx) …
    NotAnEwsAddress,
    /// … is not https (plain http is allowed only to this machine) …
    NotHttps,
    /// … cannot be reached, or its certificate is not trusted.
    ServerUnreachable,
    CertificateProblem,
    /// The server refused the password (or the account).
    PasswordRefused,
    /// There is no such mailbox on the server.
    MailboxNotFound,
    /// The service account may not act for this mailbox.
    ImpersonationRefused,
    /// OAuth: the account that gave consent is not the one asked for.
    WrongAccount { signed_in: String },
    /// OAuth: access was not given on the consent screen.
    ConsentDenied,
    /// OAuth: the authorisation is unknown, was used already, or has expired.
    AuthorisationUnknown,
    /// This server is not registered with the provider (no OAuth client configured).
    ProviderNotSetUp,
    /// The address to connect is not an e-mail address.
    NotAnEmail,
    /// The company's calendar integration is switched off (F-ADM-1).
    IntegrationOff,
    /// The provider said no, in its own words.
    ProviderRefused { detail: String },
}

impl Refusal {
    /// The form field it concerns (None: the form as a whole).
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Refusal::NotAnEwsAddress | Refusal::NotHttps | Refusal::ServerUnreachable | Refusal::CertificateProblem => Some("ews_url"),
            Refusal::PasswordRefused => Some("password"),
            Refusal::MailboxNotFound | Refusal::WrongAccount { .. } | Refusal::NotAnEmail => Some("email"),
            Refusal::ImpersonationRefused => Some("account"),
            _ => None,
        }
    }
}
