//! Adding, listing and removing calendar connections — one code path for the command line and
//! the web UI. A connection is validated against the provider before anything is stored; its
//! secret (password or OAuth tokens) is sealed with the keyring and only ever opened to build a
//! provider client.

use providers::ews::{EwsAuth, EwsCalendar};
use providers::google::GoogleCalendar;
use providers::graph::GraphCalendar;
use providers::http::HttpConfig;
use providers::oauth::{OAuthConfig, TokenSet};
use domain::connection::AuthKind;
use providers::{CalendarProvider, MailboxInfo, ProviderError, ProviderKind};
use serde::{Deserialize, Serialize};
use store::{Connection, NewConnection, Store, StoreError};

use crate::secrets::{Keyring, SecretError};

/// Where the OAuth providers' APIs and token servers are (the real services, or the emulator
/// in development), and who we are to them. Without an OAuth configuration, tokens cannot be
/// refreshed (or connected) for that provider.
#[derive(Clone, Debug)]
pub struct Endpoints {
    pub google_api: String,
    pub graph_api: String,
    pub google_oauth: Option<OAuthConfig>,
    pub microsoft_oauth: Option<OAuthConfig>,
}

impl Default for Endpoints {
    fn default() -> Self {
        Self {
            google_api: "https://www.googleapis.com/calendar/v3".into(),
            graph_api: "https://graph.microsoft.com/v1.0".into(),
            google_oauth: None,
            microsoft_oauth: None,
        }
    }
}

impl Endpoints {
    pub fn oauth(&self, provider: OAuthProvider) -> Option<&OAuthConfig> {
        match provider {
            OAuthProvider::Google => self.google_oauth.as_ref(),
            OAuthProvider::Graph => self.microsoft_oauth.as_ref(),
        }
    }
}

/// Access tokens are refreshed when they have less than this left.
const REFRESH_MARGIN: chrono::Duration = chrono::Duration::minutes(5);

/// How the CRM signs in to the user's calendar.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// EWS with the user's own name and password.
    EwsBasic { url: String, username: String, password: String },
    /// EWS as a service account with the ApplicationImpersonation role, acting for the mailbox.
    EwsImpersonation { url: String, service_account: String, password: String },
    /// EWS with an OAuth bearer token (Exchange with modern auth).
    EwsBearer { url: String, token: String },
    /// Google or Microsoft 365 through OAuth.
    OAuth { provider: OAuthProvider, tokens: TokenSet },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Credentials::EwsBasic { .. } => "EwsBasic { <redacted> }",
            Credentials::EwsImpersonation { .. } => "EwsImpersonation { <redacted> }",
            Credentials::EwsBearer { .. } => "EwsBearer { <redacted> }",
            Credentials::OAuth { .. } => "OAuth { <redacted> }",
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OAuthProvider {
    Google,
    Graph,
}

impl OAuthProvider {
    pub fn of(provider: ProviderKind) -> Option<OAuthProvider> {
        match provider {
            ProviderKind::Google => Some(OAuthProvider::Google),
            ProviderKind::Graph => Some(OAuthProvider::Graph),
            ProviderKind::Ews => None,
        }
    }

    pub fn kind(self) -> ProviderKind {
        match self {
            OAuthProvider::Google => ProviderKind::Google,
            OAuthProvider::Graph => ProviderKind::Graph,
        }
    }
}

/// Credentials the provider accepted, ready to store.
pub(crate) struct Checked {
    provider: ProviderKind,
    auth_kind: AuthKind,
    mailbox: String,
    account: String,
    url: String,
    secret: Secret,
    info: MailboxInfo,
}

/// The sealed part of a connection.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Secret {
    Password { password: String },
    Bearer { token: String },
    OAuth { tokens: TokenSet },
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The provider refused or could not be reached; the message says which (wrong password,
    /// not an EWS URL, unreachable host, TLS, mailbox not found, impersonation not allowed …).
    #[error("{0}")]
    Provider(#[from] ProviderError),
    #[error("no such user")]
    NoSuchUser,
    #[error("this user already has a calendar connection; remove it first")]
    AlreadyConnected,
    /// OAuth consent was given by another account than the one asked for.
    #[error("signed in as {signed_in}, not with the address that was to be connected")]
    WrongAccount { signed_in: String },
    #[error("the calendar integration is switched off for this company (an administrator switches it on under Configuration → Main settings)")]
    IntegrationOff,
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Secret(#[from] SecretError),
    #[error("database: {0}")]
    Store(StoreError),
}

impl From<StoreError> for ConnectError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(_) => ConnectError::AlreadyConnected,
            StoreError::NotFound => ConnectError::NoSuchUser,
            other => ConnectError::Store(other),
        }
    }
}

/// Connection management over the store, the keyring and the HTTP limits.
#[derive(Clone)]
pub struct Connections {
    store: Store,
    keyring: Keyring,
    http: HttpConfig,
    endpoints: Endpoints,
}

impl Connections {
    pub fn new(store: Store, keyring: Keyring, http: HttpConfig, endpoints: Endpoints) -> Self {
        Self { store, keyring, http, endpoints }
    }

    /// Validates `credentials` for `mailbox` with the provider, then stores the connection for
    /// the user. Nothing is stored when validation fails.
    pub async fn add(&self, tenant_id: &str, user_id: &str, mailbox: &str, credentials: Credentials) -> Result<(Connection, MailboxInfo), ConnectError> {
        if self.store.connection_of_user(tenant_id, user_id).await?.is_some() {
            return Err(ConnectError::AlreadyConnected);
        }
        let checked = self.verify(mailbox, &credentials).await?;
        let sealed = self.keyring.seal(&serde_json::to_string(&checked.secret).expect("secrets serialise"));
        let conn = self
            .store
            .create_connection(
                tenant_id,
                NewConnection {
                    user_id,
                    provider: checked.provider,
                    auth_kind: checked.auth_kind,
                    mailbox: &checked.mailbox,
                    account: &checked.account,
                    ews_url: &checked.url,
                    sealed_secret: &sealed,
                },
            )
            .await?;
        Ok((conn, checked.info))
    }

    /// Checks `credentials` for `mailbox` with the provider without storing anything.
    ///
    /// With OAuth the account that gave consent is the mailbox: `mailbox` empty takes it as it
    /// is; otherwise it must be that address ([`ConnectError::WrongAccount`]).
    pub(crate) async fn verify(&self, mailbox: &str, credentials: &Credentials) -> Result<Checked, ConnectError> {
        let mut mailbox = mailbox.trim().to_lowercase();
        let oauth = matches!(credentials, Credentials::OAuth { .. });
        if !mailbox.contains('@') && !(oauth && mailbox.is_empty()) {
            return Err(ConnectError::Invalid(format!("{mailbox:?} is not an e-mail address")));
        }
        let (provider, auth_kind, account, url, secret) = match credentials {
            Credentials::EwsBasic { url, username, password } => {
                (ProviderKind::Ews, AuthKind::Basic, username.clone(), url.clone(), Secret::Password { password: password.clone() })
            }
            Credentials::EwsImpersonation { url, service_account, password } => {
                (ProviderKind::Ews, AuthKind::Impersonation, service_account.clone(), url.clone(), Secret::Password { password: password.clone() })
            }
            Credentials::EwsBearer { url, token } => (ProviderKind::Ews, AuthKind::Bearer, String::new(), url.clone(), Secret::Bearer { token: token.clone() }),
            Credentials::OAuth { provider, tokens } => (provider.kind(), AuthKind::OAuth, String::new(), String::new(), Secret::OAuth { tokens: tokens.clone() }),
        };
        let client = build(&self.http, &self.endpoints, provider, auth_kind, &mailbox, &account, &url, &secret)?;
        let info = client.validate().await?;
        if oauth {
            let signed_in = info.email.trim().to_lowercase();
            if mailbox.is_empty() {
                mailbox = signed_in;
            } else if signed_in != mailbox {
                return Err(ConnectError::WrongAccount { signed_in });
            }
        }
        Ok(Checked { provider, auth_kind, mailbox, account, url, secret, info })
    }

    pub async fn list(&self, tenant_id: &str) -> Result<Vec<Connection>, ConnectError> {
        Ok(self.store.connections(tenant_id).await?)
    }

    /// Replaces the password an Exchange connection signs in with (sealed as always).
    pub async fn set_password(&self, conn: &Connection, password: &str) -> Result<(), ConnectError> {
        if conn.provider != ProviderKind::Ews || !matches!(conn.auth_kind, AuthKind::Basic | AuthKind::Impersonation) {
            return Err(ConnectError::Invalid("not an Exchange connection with a password".into()));
        }
        let sealed = self.keyring.seal(&serde_json::to_string(&Secret::Password { password: password.to_string() }).expect("secrets serialise"));
        Ok(self.store.set_connection_secret(&conn.tenant_id, &conn.id, &sealed).await?)
    }

    /// Withdraws an OAuth connection's grant at the provider where the provider allows it
    /// (Google); Ok(false) where it does not (Microsoft: the user or their administrator
    /// removes the app's consent; Exchange: a password is not a grant — it is deleted here).
    pub async fn revoke(&self, conn: &Connection) -> Result<bool, ConnectError> {
        let (Secret::OAuth { tokens }, Some(provider)) = (self.secret(conn)?, OAuthProvider::of(conn.provider)) else { return Ok(false) };
        let Some(cfg) = self.endpoints.oauth(provider) else { return Ok(false) };
        Ok(providers::oauth::revoke(cfg, &self.http, &tokens).await?)
    }

    pub async fn remove(&self, tenant_id: &str, id: &str) -> Result<(), ConnectError> {
        self.store.delete_connection(tenant_id, id).await.map_err(|e| match e {
            StoreError::NotFound => ConnectError::Invalid("no such connection".into()),
            other => other.into(),
        })
    }

    /// A provider client for a stored connection (the secret is opened only here), its HTTP
    /// calls counted by `meter`. OAuth access tokens about to expire are refreshed first and
    /// the new tokens stored (Microsoft rotates the refresh token too); a dead refresh token
    /// gives [`ProviderError::ReauthorizationRequired`].
    pub async fn open(&self, conn: &Connection, meter: Option<std::sync::Arc<providers::http::CallMeter>>) -> Result<Box<dyn CalendarProvider>, ConnectError> {
        let mut secret = self.secret(conn)?;
        if let (Secret::OAuth { tokens }, Some(provider)) = (&secret, OAuthProvider::of(conn.provider)) {
            let expiring = tokens.expires_at.is_some_and(|t| t - REFRESH_MARGIN < chrono::Utc::now());
            if expiring {
                secret = Secret::OAuth { tokens: self.refresh_tokens(conn, provider, tokens).await? };
            }
        }
        let http = providers::http::HttpConfig { meter, ..self.http.clone() };
        build(&http, &self.endpoints, conn.provider, conn.auth_kind, &conn.mailbox, &conn.account, &conn.ews_url, &secret)
    }

    /// Refreshes an OAuth connection's access token now (the provider refused the one we had).
    pub async fn refresh(&self, conn: &Connection) -> Result<(), ConnectError> {
        match (self.secret(conn)?, OAuthProvider::of(conn.provider)) {
            (Secret::OAuth { tokens }, Some(provider)) => self.refresh_tokens(conn, provider, &tokens).await.map(|_| ()),
            _ => Err(ConnectError::Invalid("not an OAuth connection".into())),
        }
    }

    async fn refresh_tokens(&self, conn: &Connection, provider: OAuthProvider, tokens: &TokenSet) -> Result<TokenSet, ConnectError> {
        let refresh_token = tokens
            .refresh_token
            .as_deref()
            .ok_or_else(|| ProviderError::ReauthorizationRequired("the provider gave no refresh token; connect the calendar again".into()))?;
        let cfg = self.endpoints.oauth(provider).ok_or_else(|| ConnectError::Invalid(format!("no OAuth configuration for {}", conn.provider.as_str())))?;
        let fresh = providers::oauth::refresh(cfg, &self.http, refresh_token).await?;
        let sealed = self.keyring.seal(&serde_json::to_string(&Secret::OAuth { tokens: fresh.clone() }).expect("secrets serialise"));
        self.store.set_connection_secret(&conn.tenant_id, &conn.id, &sealed).await?;
        Ok(fresh)
    }

    fn secret(&self, conn: &Connection) -> Result<Secret, ConnectError> {
        Ok(serde_json::from_str(&self.keyring.open(&conn.sealed_secret)?).map_err(|_| SecretError::Corrupt)?)
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    pub fn http(&self) -> &HttpConfig {
        &self.http
    }

    /// The keyring (push subscriptions are sealed with it too).
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Re-seals every secret sealed with an older key; returns how many.
    pub async fn rekey(&self) -> Result<usize, ConnectError> {
        let mut n = 0;
        for conn in self.store.all_connections().await? {
            if self.keyring.is_stale(&conn.sealed_secret) {
                let plain = self.keyring.open(&conn.sealed_secret)?;
                self.store.set_connection_secret(&conn.tenant_id, &conn.id, &self.keyring.seal(&plain)).await?;
                n += 1;
            }
        }
        Ok(n)
    }
}

#[allow(clippy::too_many_arguments)]
fn build(
    http: &HttpConfig,
    endpoints: &Endpoints,
    provider: ProviderKind,
    auth_kind: AuthKind,
    mailbox: &str,
    account: &str,
    url: &str,
    secret: &Secret,
) -> Result<Box<dyn CalendarProvider>, ConnectError> {
    Ok(match (provider, auth_kind, secret) {
        (ProviderKind::Ews, AuthKind::Basic, Secret::Password { password }) => Box::new(EwsCalendar::new(
            http,
            url,
            EwsAuth::Basic { username: if account.is_empty() { mailbox.into() } else { account.into() }, password: password.clone() },
            mailbox,
        )?),
        (ProviderKind::Ews, AuthKind::Impersonation, Secret::Password { password }) => Box::new(EwsCalendar::new(
            http,
            url,
            EwsAuth::Impersonation { username: account.into(), password: password.clone() },
            mailbox,
        )?),
        (ProviderKind::Ews, AuthKind::Bearer, Secret::Bearer { token }) => Box::new(EwsCalendar::new(http, url, EwsAuth::Bearer { token: token.clone() }, mailbox)?),
        (ProviderKind::Google, AuthKind::OAuth, Secret::OAuth { tokens }) => {
            Box::new(GoogleCalendar::new(http, &endpoints.google_api, tokens.access_token.clone(), "primary")?)
        }
        (ProviderKind::Graph, AuthKind::OAuth, Secret::OAuth { tokens }) => {
            Box::new(GraphCalendar::new(http, &endpoints.graph_api, tokens.access_token.clone(), None)?)
        }
        _ => return Err(ConnectError::Invalid(format!("unsupported connection kind {}/{}", provider.as_str(), auth_kind.as_str()))),
    })
}
