//! The HTTP plumbing every client shares: one configured reqwest client (timeouts, no
//! cross-host redirects), sending with errors mapped onto [`ProviderError`], bodies read with a
//! size cap, and the server's back-off read from `Retry-After`.

use std::error::Error as _;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, Response};
use url::Url;

use crate::{ProviderError, Result};

/// Limits and policies for talking to a provider.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Whole-request timeout (connect, send, wait, read).
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Largest response body accepted; bigger ones give [`ProviderError::TooLarge`].
    pub max_body_bytes: usize,
    /// Allow plain `http://` to loopback addresses (development, tests, the demo emulator).
    /// Everything else must be https.
    pub allow_http_loopback: bool,
    /// Counts the HTTP calls of the clients built with this configuration (metrics, cost per
    /// synced change).
    pub meter: Option<std::sync::Arc<CallMeter>>,
}

/// A count of HTTP calls made to a provider.
#[derive(Debug, Default)]
pub struct CallMeter {
    calls: std::sync::atomic::AtomicU64,
}

impl CallMeter {
    pub fn calls(&self) -> u64 {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_body_bytes: 16 * 1024 * 1024,
            allow_http_loopback: false,
            meter: None,
        }
    }
}

impl HttpConfig {
    /// For tests and the demo: loopback http allowed, short timeouts.
    pub fn loopback() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            allow_http_loopback: true,
            ..Self::default()
        }
    }

    /// A reqwest client with these limits. Redirects are followed only to the same scheme,
    /// host and port (an attacker-chosen URL must not bounce us into the internal network).
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                let same_origin = attempt.previous().first().is_some_and(|first| {
                    first.scheme() == attempt.url().scheme()
                        && first.host_str() == attempt.url().host_str()
                        && first.port_or_known_default() == attempt.url().port_or_known_default()
                });
                if same_origin && attempt.previous().len() < 5 {
                    attempt.follow()
                } else {
                    attempt.stop()
                }
            }))
            .user_agent(concat!("crmcal/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("reqwest client builds with static settings")
    }

    /// Checks a user-supplied base URL: absolute, https (or http to loopback when allowed),
    /// no credentials in it.
    pub fn check_url(&self, raw: &str) -> Result<Url> {
        let url = Url::parse(raw.trim())
            .map_err(|e| ProviderError::InvalidUrl(format!("{raw}: {e}")))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ProviderError::InvalidUrl("the URL must not contain credentials".into()));
        }
        match url.scheme() {
            "https" => Ok(url),
            "http" if self.allow_http_loopback && is_loopback(&url) => Ok(url),
            "http" => Err(ProviderError::InvalidUrl(format!(
                "{raw}: only https is allowed (plain http only to this machine, when enabled)"
            ))),
            other => Err(ProviderError::InvalidUrl(format!("{raw}: unsupported scheme {other}"))),
        }
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Sends the request (counted by `meter`); transport failures become Timeout / Tls /
/// Unreachable / Server.
pub async fn send(meter: Option<&CallMeter>, req: RequestBuilder) -> Result<Response> {
    if let Some(m) = meter {
        m.calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    req.send().await.map_err(transport_error)
}

/// Maps a reqwest transport error onto what the user can be told.
pub fn transport_error(e: reqwest::Error) -> ProviderError {
    if e.is_timeout() {
        return ProviderError::Timeout;
    }
    let chain = error_chain(&e);
    if e.is_redirect() {
        return ProviderError::InvalidUrl(format!("redirected to another host: {chain}"));
    }
    let lower = chain.to_ascii_lowercase();
    if lower.contains("certificate")
        || lower.contains("tls")
        || lower.contains("handshake")
        || lower.contains("invalidcontenttype")
        || lower.contains("corrupt message")
    {
        return ProviderError::Tls(chain);
    }
    if e.is_connect() {
        return ProviderError::Unreachable(chain);
    }
    if e.is_builder() {
        return ProviderError::InvalidUrl(chain);
    }
    // The connection broke after it was made (dropped mid-answer): transient.
    ProviderError::Server { status: 0, message: chain }
}

fn error_chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Reads the whole body, refusing to buffer more than `limit` bytes (checked as it streams,
/// so a 100 MB answer costs at most `limit` of memory).
pub async fn read_body(resp: Response, limit: usize) -> Result<Bytes> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(ProviderError::TooLarge { limit });
    }
    let mut body = BytesMut::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(transport_error)?;
        if body.len() + chunk.len() > limit {
            return Err(ProviderError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// `Retry-After` as seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let strict = HttpConfig::default();
        assert!(strict.check_url("https://mail.example.com/EWS/Exchange.asmx").is_ok());
        assert!(matches!(
            strict.check_url("http://127.0.0.1:3100/ews/EWS/Exchange.asmx"),
            Err(ProviderError::InvalidUrl(_))
        ));
        assert!(matches!(strict.check_url("ftp://x/"), Err(ProviderError::InvalidUrl(_))));
        assert!(matches!(strict.check_url("https://u:p@x/"), Err(ProviderError::InvalidUrl(_))));
        let dev = HttpConfig::loopback();
        assert!(dev.check_url("http://127.0.0.1:3100/ews/EWS/Exchange.asmx").is_ok());
        assert!(dev.check_url("http://localhost:3100/").is_ok());
        assert!(dev.check_url("http://[::1]:3100/").is_ok());
        assert!(matches!(dev.check_url("http://10.0.0.1/"), Err(ProviderError::InvalidUrl(_))));
    }

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }
}
