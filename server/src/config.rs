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
}

fn flag(name: &str, default: bool) -> bool {
    match std::env::var(name).ok().as_deref().map(str::trim) {
        Some("1" | "true" | "yes" | "on") => true,
        Some("0" | "false" | "no" | "off") => false,
        _ => default,
    }
}

impl Config {
    pub fn from_env() -> anyhow::Result<Config> {
        let addr = match std::env::var("CRMCAL_ADDR") {
            Ok(a) => Some(a.parse().map_err(|e| anyhow::anyhow!("CRMCAL_ADDR={a:?} is not an address like 127.0.0.1:3000: {e}"))?),
            Err(_) => None,
        };
        let demo = flag("CRMCAL_DEMO", true);
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
        })
    }
}
