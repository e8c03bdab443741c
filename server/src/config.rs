//! Configuration from environment variables, with defaults so `make run` needs none.

use std::net::SocketAddr;

#[derive(Clone, Debug)]
pub struct Config {
    /// CRMCAL_DATABASE_URL: `sqlite:data/crmcal.db` (default) or `postgres://…`.
    pub database_url: String,
    /// CRMCAL_ADDR: listen address; default LEPTOS_SITE_ADDR or 127.0.0.1:3000. Port 0 picks a free port.
    pub addr: Option<SocketAddr>,
    /// CRMCAL_DEMO: seed the demo company into an empty database (default on; `0` to disable).
    pub demo: bool,
    /// CRMCAL_SECURE_COOKIES: mark the session cookie `Secure` (set `1` behind https).
    pub secure_cookies: bool,
    /// CRMCAL_EMULATOR_ADDR: where the embedded provider emulator listens (Google, Graph, EWS
    /// and their OAuth servers). Default `127.0.0.1:3100` in demo mode, off otherwise; `off`
    /// disables it; port 0 picks a free port.
    pub emulator_addr: Option<SocketAddr>,
    /// CRMCAL_SECRET_KEY_FILE: where the key sealing provider secrets lives when
    /// CRMCAL_SECRET_KEY is not set (generated, mode 0600, on first use). Default
    /// `data/secret.key`.
    pub secret_key_file: std::path::PathBuf,
    /// CRMCAL_PROVIDER_HTTP_LOOPBACK: allow plain http to loopback provider URLs (the emulator).
    /// Default on in demo mode, off otherwise; everything else must be https.
    pub provider_http_loopback: bool,
    /// CRMCAL_PUBLIC_URL: the address providers reach this server at, for push notifications
    /// (`https://crm.example.com`). Default: the listen address in demo mode (the emulator is
    /// on this machine), else none — then calendars are polled.
    pub public_url: Option<String>,
    /// CRMCAL_SYNC_WORKERS: sync jobs this process runs at once (default 4; 0: none, e.g. a
    /// web-only process beside worker processes).
    pub sync_workers: usize,
    /// CRMCAL_SYNC_LEASE_SECS: a job whose worker stopped renewing its lease this long is
    /// taken over by another (default 30).
    pub sync_lease: std::time::Duration,
    /// CRMCAL_SYNC_DAYS_BACK / CRMCAL_SYNC_DAYS_AHEAD: the window a full sync covers (90 / 365).
    pub sync_days_back: i64,
    pub sync_days_ahead: i64,
    /// Where the OAuth providers are and who we are to them (see [`ProviderEndpoints`]).
    pub endpoints: ProviderEndpoints,
}

/// CRMCAL_GOOGLE_* and CRMCAL_MICROSOFT_*: the providers' API and sign-in addresses (the real
/// services by default; the embedded emulator in demo mode) and the CRM's OAuth client
/// registrations. Without a client id, that provider cannot be connected through OAuth.
#[derive(Clone, Debug, Default)]
pub struct ProviderEndpoints {
    pub google_api: Option<String>,
    pub google_auth_url: Option<String>,
    pub google_token_url: Option<String>,
    pub google_revoke_url: Option<String>,
    pub google_client_id: Option<String>,
    pub google_client_secret: Option<String>,
    pub graph_api: Option<String>,
    pub microsoft_login_url: Option<String>,
    pub microsoft_tenant: Option<String>,
    pub microsoft_client_id: Option<String>,
    pub microsoft_client_secret: Option<String>,
}

impl ProviderEndpoints {
    fn from_env() -> Self {
        let var = |n: &str| std::env::var(n).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        Self {
            google_api: var("CRMCAL_GOOGLE_API_URL"),
            google_auth_url: var("CRMCAL_GOOGLE_AUTH_URL"),
            google_token_url: var("CRMCAL_GOOGLE_TOKEN_URL"),
            google_revoke_url: var("CRMCAL_GOOGLE_REVOKE_URL"),
            google_client_id: var("CRMCAL_GOOGLE_CLIENT_ID"),
            google_client_secret: var("CRMCAL_GOOGLE_CLIENT_SECRET"),
            graph_api: var("CRMCAL_GRAPH_API_URL"),
            microsoft_login_url: var("CRMCAL_MICROSOFT_LOGIN_URL"),
            microsoft_tenant: var("CRMCAL_MICROSOFT_TENANT"),
            microsoft_client_id: var("CRMCAL_MICROSOFT_CLIENT_ID"),
            microsoft_client_secret: var("CRMCAL_MICROSOFT_CLIENT_SECRET"),
        }
    }

    /// Fills what is unset with the embedded emulator at `addr` (demo mode).
    pub fn or_emulator(&self, addr: SocketAddr) -> Self {
        let base = format!("http://{addr}");
        let or = |v: &Option<String>, d: String| Some(v.clone().unwrap_or(d));
        Self {
            google_api: or(&self.google_api, format!("{base}/google/calendar/v3")),
            google_auth_url: or(&self.google_auth_url, format!("{base}/google/o/oauth2/v2/auth")),
            google_token_url: or(&self.google_token_url, format!("{base}/google/token")),
            google_revoke_url: or(&self.google_revoke_url, format!("{base}/google/revoke")),
            google_client_id: or(&self.google_client_id, "crmcal-demo".into()),
            google_client_secret: self.google_client_secret.clone(),
            graph_api: or(&self.graph_api, format!("{base}/graph/v1.0")),
            microsoft_login_url: or(&self.microsoft_login_url, format!("{base}/microsoft")),
            microsoft_tenant: self.microsoft_tenant.clone(),
            microsoft_client_id: or(&self.microsoft_client_id, "crmcal-demo".into()),
            microsoft_client_secret: self.microsoft_client_secret.clone(),
        }
    }

    /// The sync engine's view, with OAuth callbacks under `public_url`.
    pub fn for_sync(&self, public_url: &str) -> sync::connections::Endpoints {
        use providers::oauth::OAuthConfig;
        let base = public_url.trim_end_matches('/');
        let defaults = sync::connections::Endpoints::default();
        let google_oauth = self.google_client_id.as_ref().map(|id| OAuthConfig {
            revocation_url: Some(self.google_revoke_url.clone().unwrap_or_else(|| "https://oauth2.googleapis.com/revoke".into())),
            ..OAuthConfig::google(
                self.google_auth_url.as_deref().unwrap_or("https://accounts.google.com/o/oauth2/v2/auth"),
                self.google_token_url.as_deref().unwrap_or("https://oauth2.googleapis.com/token"),
                id,
                self.google_client_secret.as_deref(),
                &format!("{base}/connect/google/callback"),
            )
        });
        let microsoft_oauth = self.microsoft_client_id.as_ref().map(|id| {
            OAuthConfig::microsoft(
                self.microsoft_login_url.as_deref().unwrap_or("https://login.microsoftonline.com"),
                self.microsoft_tenant.as_deref().unwrap_or("common"),
                id,
                self.microsoft_client_secret.as_deref(),
                &format!("{base}/connect/microsoft/callback"),
            )
        });
        sync::connections::Endpoints {
            google_api: self.google_api.clone().unwrap_or(defaults.google_api),
            graph_api: self.graph_api.clone().unwrap_or(defaults.graph_api),
            google_oauth,
            microsoft_oauth,
        }
    }
}

fn flag(name: &str, default: bool) -> bool {
    match std::env::var(name).ok().as_deref().map(str::trim) {
        Some("1" | "true" | "yes" | "on") => true,
        Some("0" | "false" | "no" | "off") => false,
        _ => default,
    }
}

fn number(name: &str, default: u64) -> anyhow::Result<u64> {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().map_err(|_| anyhow::anyhow!("{name}={v:?} is not a whole number")),
        Err(_) => Ok(default),
    }
}

impl Config {
    pub fn from_env() -> anyhow::Result<Config> {
        let addr = match std::env::var("CRMCAL_ADDR") {
            Ok(a) => Some(a.parse().map_err(|e| anyhow::anyhow!("CRMCAL_ADDR={a:?} is not an address like 127.0.0.1:3000: {e}"))?),
            Err(_) => None,
        };
        // A build without the `demo` feature (production) seeds nothing unless asked.
        let demo = flag("CRMCAL_DEMO", cfg!(feature = "demo"));
        let emulator_addr = match std::env::var("CRMCAL_EMULATOR_ADDR").ok().as_deref().map(str::trim) {
            Some("off" | "0" | "") => None,
            Some(a) => Some(a.parse().map_err(|e| anyhow::anyhow!("CRMCAL_EMULATOR_ADDR={a:?} is not an address like 127.0.0.1:3100 (or off): {e}"))?),
            None if demo => Some(SocketAddr::from(([127, 0, 0, 1], 3100))),
            None => None,
        };
        Ok(Config {
            database_url: std::env::var("CRMCAL_DATABASE_URL").unwrap_or_else(|_| "sqlite:data/crmcal.db".to_string()),
            addr,
            demo,
            secure_cookies: flag("CRMCAL_SECURE_COOKIES", false),
            emulator_addr,
            secret_key_file: std::env::var("CRMCAL_SECRET_KEY_FILE").unwrap_or_else(|_| "data/secret.key".into()).into(),
            provider_http_loopback: flag("CRMCAL_PROVIDER_HTTP_LOOPBACK", demo),
            public_url: std::env::var("CRMCAL_PUBLIC_URL").ok().map(|u| u.trim().trim_end_matches('/').to_string()).filter(|u| !u.is_empty()),
            sync_workers: number("CRMCAL_SYNC_WORKERS", 4)? as usize,
            sync_lease: std::time::Duration::from_secs(number("CRMCAL_SYNC_LEASE_SECS", 30)?.max(3)),
            sync_days_back: number("CRMCAL_SYNC_DAYS_BACK", 90)? as i64,
            sync_days_ahead: number("CRMCAL_SYNC_DAYS_AHEAD", 365)? as i64,
            endpoints: ProviderEndpoints::from_env(),
        })
    }
}
