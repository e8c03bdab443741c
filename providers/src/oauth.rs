//! OAuth 2.0 authorisation code + PKCE (S256) and token refresh for Google and Microsoft, with
//! the `oauth2` crate. Endpoints are configuration, so development points them at the emulator.

use chrono::{DateTime, Utc};
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

use crate::http::{read_body, transport_error, HttpConfig};
use crate::{ProviderError, Result};

/// Where an OAuth provider lives and who we are to it. (`Debug` leaves the secret out.)
#[derive(Clone, Serialize, Deserialize)]
pub struct OAuthConfig {
    pub authorize_url: String,
    pub token_url: String,
    pub client_id: String,
    /// Confidential web clients have one; PKCE protects the code either way.
    pub client_secret: Option<String>,
    pub redirect_url: String,
    pub scopes: Vec<String>,
    /// Extra authorise parameters (Google: `access_type=offline`, `prompt=consent`).
    pub extra_params: Vec<(String, String)>,
    /// Where a grant is withdrawn (RFC 7009; Google has one, Microsoft's identity platform
    /// has none: there an administrator or the user removes the app's consent).
    pub revocation_url: Option<String>,
}

impl OAuthConfig {
    /// Google's endpoints under `base` (`https://accounts.google.com` / `…oauth2.googleapis.com`
    /// in production; the emulator serves both under `http://127.0.0.1:3100/google`).
    pub fn google(authorize_url: &str, token_url: &str, client_id: &str, client_secret: Option<&str>, redirect_url: &str) -> Self {
        Self {
            authorize_url: authorize_url.into(),
            token_url: token_url.into(),
            client_id: client_id.into(),
            client_secret: client_secret.map(Into::into),
            redirect_url: redirect_url.into(),
            scopes: vec!["https://www.googleapis.com/auth/calendar.events".into(), "openid".into(), "email".into()],
            extra_params: vec![("access_type".into(), "offline".into()), ("prompt".into(), "consent".into())],
            revocation_url: None,
        }
    }

    /// Microsoft identity platform v2 for `tenant` (`common`, `organizations` or a tenant id)
    /// under `base` (`https://login.microsoftonline.com`, or the emulator's `…/microsoft`).
    pub fn microsoft(base: &str, tenant: &str, client_id: &str, client_secret: Option<&str>, redirect_url: &str) -> Self {
        let base = base.trim_end_matches('/');
        Self {
            authorize_url: format!("{base}/{tenant}/oauth2/v2.0/authorize"),
            token_url: format!("{base}/{tenant}/oauth2/v2.0/token"),
            client_id: client_id.into(),
            client_secret: client_secret.map(Into::into),
            redirect_url: redirect_url.into(),
            scopes: vec![
                "offline_access".into(),
                "https://graph.microsoft.com/Calendars.ReadWrite".into(),
                "https://graph.microsoft.com/User.Read".into(),
            ],
            extra_params: vec![],
            revocation_url: None,
        }
    }
}

/// A started authorisation: send the browser to `url`; keep `state` and `pkce_verifier`
/// (bound to the user's session) for the callback. (`Debug` leaves the verifier out.)
#[derive(Clone)]
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub pkce_verifier: String,
}

/// (`Debug` leaves the tokens out.)
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSet {
    pub access_token: String,
    /// Microsoft rotates refresh tokens: store the new one whenever it comes.
    pub refresh_token: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

// Secrets must not reach logs through `{:?}`: these print everything but them.
const HIDDEN: &str = "<redacted>";

impl std::fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthConfig")
            .field("authorize_url", &self.authorize_url)
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| HIDDEN))
            .field("redirect_url", &self.redirect_url)
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl std::fmt::Debug for Authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorization").field("url", &self.url).field("state", &self.state).field("pkce_verifier", &HIDDEN).finish()
    }
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &HIDDEN)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| HIDDEN))
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

fn client(cfg: &OAuthConfig) -> Result<Client> {
    let bad = |what: &str, e: oauth2::url::ParseError| ProviderError::InvalidUrl(format!("{what}: {e}"));
    let mut c = BasicClient::new(ClientId::new(cfg.client_id.clone()))
        .set_auth_uri(AuthUrl::new(cfg.authorize_url.clone()).map_err(|e| bad("authorize URL", e))?)
        .set_token_uri(TokenUrl::new(cfg.token_url.clone()).map_err(|e| bad("token URL", e))?)
        .set_redirect_uri(RedirectUrl::new(cfg.redirect_url.clone()).map_err(|e| bad("redirect URL", e))?);
    if let Some(secret) = &cfg.client_secret {
        c = c.set_client_secret(ClientSecret::new(secret.clone()));
    }
    Ok(c)
}

/// Starts an authorisation code + PKCE (S256) flow.
pub fn authorize(cfg: &OAuthConfig) -> Result<Authorization> {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let c = client(cfg)?;
    let mut req = c.authorize_url(CsrfToken::new_random).set_pkce_challenge(challenge);
    for s in &cfg.scopes {
        req = req.add_scope(Scope::new(s.clone()));
    }
    for (k, v) in &cfg.extra_params {
        req = req.add_extra_param(k.clone(), v.clone());
    }
    let (url, state) = req.url();
    Ok(Authorization {
        url: url.to_string(),
        state: state.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
    })
}

/// The callback's code (with the verifier kept from [`authorize`]) for tokens.
pub async fn exchange_code(cfg: &OAuthConfig, http: &HttpConfig, code: &str, pkce_verifier: &str) -> Result<TokenSet> {
    http.check_url(&cfg.token_url)?;
    let call = token_endpoint(http);
    let resp = client(cfg)?
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string()))
        .request_async(&call)
        .await
        .map_err(token_error)?;
    Ok(token_set(&resp, None))
}

/// New tokens from a refresh token. A dead refresh token gives
/// [`ProviderError::ReauthorizationRequired`]. If the provider does not rotate the refresh
/// token, the old one is kept in the result.
pub async fn refresh(cfg: &OAuthConfig, http: &HttpConfig, refresh_token: &str) -> Result<TokenSet> {
    http.check_url(&cfg.token_url)?;
    let call = token_endpoint(http);
    let resp = client(cfg)?
        .exchange_refresh_token(&RefreshToken::new(refresh_token.to_string()))
        .request_async(&call)
        .await
        .map_err(token_error)?;
    Ok(token_set(&resp, Some(refresh_token)))
}

/// Withdraws the grant behind `tokens` at the provider (RFC 7009): the refresh token when there
/// is one (Google then revokes its access tokens too), else the access token. Ok(false): the
/// provider has no revocation endpoint. A token the provider no longer knows counts as done.
/// (Sent here rather than through the `oauth2` crate, which refuses a plain-http endpoint even
/// where the rest of the flow allows loopback for development.)
pub async fn revoke(cfg: &OAuthConfig, http: &HttpConfig, tokens: &TokenSet) -> Result<bool> {
    let Some(url) = &cfg.revocation_url else { return Ok(false) };
    let url = http.check_url(url)?;
    let (token, hint) = match &tokens.refresh_token {
        Some(r) => (r.as_str(), "refresh_token"),
        None => (tokens.access_token.as_str(), "access_token"),
    };
    let body = {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("token", token).append_pair("token_type_hint", hint).append_pair("client_id", &cfg.client_id);
        if let Some(secret) = &cfg.client_secret {
            form.append_pair("client_secret", secret);
        }
        form.finish()
    };
    let req = http::Request::builder()
        .method(http::Method::POST)
        .uri(url.as_str())
        .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body.into_bytes())
        .map_err(|e| ProviderError::InvalidUrl(e.to_string()))?;
    let resp = token_endpoint(http)(req).await?;
    let status = resp.status().as_u16();
    if resp.status().is_success() {
        return Ok(true);
    }
    #[derive(Deserialize)]
    struct Refusal {
        error: String,
        #[serde(default)]
        error_description: String,
    }
    match serde_json::from_slice::<Refusal>(resp.body()) {
        // Already revoked or expired: the grant is gone, which is what was asked.
        Ok(r) if r.error == "invalid_token" => Ok(true),
        Ok(r) => Err(ProviderError::Rejected { status, code: r.error, message: r.error_description }),
        Err(_) => Err(ProviderError::Server { status, message: String::from_utf8_lossy(resp.body()).chars().take(200).collect() }),
    }
}

/// The HTTP side of token requests, with the same limits as every provider call: timeouts,
/// a size cap on the answer, and no redirects at all (a token endpoint has no reason to
/// redirect, and following one would send the code or refresh token elsewhere).
fn token_endpoint(
    http: &HttpConfig,
) -> impl Fn(oauth2::HttpRequest) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<oauth2::HttpResponse>> + Send>> {
    let client = reqwest::Client::builder()
        .timeout(http.timeout)
        .connect_timeout(http.connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("reqwest client builds with static settings");
    let limit = http.max_body_bytes;
    move |req: oauth2::HttpRequest| {
        let client = client.clone();
        Box::pin(async move {
            let req = reqwest::Request::try_from(req).map_err(|e| ProviderError::InvalidUrl(e.to_string()))?;
            let resp = client.execute(req).await.map_err(transport_error)?;
            let mut builder = http::Response::builder().status(resp.status());
            for (name, value) in resp.headers() {
                builder = builder.header(name, value);
            }
            let body = read_body(resp, limit).await?;
            builder.body(body.to_vec()).map_err(|e| ProviderError::Protocol(e.to_string()))
        })
    }
}

fn token_set(resp: &oauth2::basic::BasicTokenResponse, old_refresh: Option<&str>) -> TokenSet {
    TokenSet {
        access_token: resp.access_token().secret().clone(),
        refresh_token: resp
            .refresh_token()
            .map(|t| t.secret().clone())
            .or_else(|| old_refresh.map(str::to_string)),
        expires_at: resp
            .expires_in()
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .map(|d| Utc::now() + d),
    }
}

fn token_error(e: RequestTokenError<ProviderError, oauth2::StandardErrorResponse<BasicErrorResponseType>>) -> ProviderError {
    match e {
        RequestTokenError::ServerResponse(resp) => {
            let detail = resp.error_description().cloned().unwrap_or_else(|| resp.error().to_string());
            match resp.error() {
                BasicErrorResponseType::InvalidGrant => ProviderError::ReauthorizationRequired(detail),
                BasicErrorResponseType::InvalidClient | BasicErrorResponseType::UnauthorizedClient => {
                    ProviderError::InvalidCredentials(detail)
                }
                other => ProviderError::Rejected { status: 400, code: other.to_string(), message: detail },
            }
        }
        RequestTokenError::Request(e) => e,
        RequestTokenError::Parse(e, _) => ProviderError::Protocol(e.to_string()),
        RequestTokenError::Other(e) => ProviderError::Protocol(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorize_url_carries_pkce_state_and_scopes() {
        let cfg = OAuthConfig::microsoft("http://127.0.0.1:3100/microsoft", "common", "crm", None, "http://127.0.0.1:3000/oauth/callback");
        let a = authorize(&cfg).unwrap();
        let url = url::Url::parse(&a.url).unwrap();
        assert_eq!(url.path(), "/microsoft/common/oauth2/v2.0/authorize");
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["state"], a.state);
        assert!(q["scope"].contains("offline_access"));
        assert!(a.pkce_verifier.len() >= 43);
        assert!(!format!("{a:?}").contains(&a.pkce_verifier), "the verifier stays out of logs");
        let tokens = TokenSet { access_token: "ya29.secret".into(), refresh_token: Some("1//refresh".into()), expires_at: None };
        let shown = format!("{tokens:?} {:?}", OAuthConfig { client_secret: Some("client-secret".into()), ..cfg });
        assert!(!shown.contains("ya29.secret") && !shown.contains("1//refresh") && !shown.contains("client-secret"), "{shown}");
    }
}
