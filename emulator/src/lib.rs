//! Faithful local emulators of Google Calendar v3, Microsoft Graph and Exchange EWS, with their
//! OAuth servers, on one address:
//!
//! | path | what |
//! |---|---|
//! | `/google/calendar/v3/…`, `/google/o/oauth2/v2/auth`, `/google/token`, `/google/revoke` | Google |
//! | `/graph/v1.0/…`, `/microsoft/{tenant}/oauth2/v2.0/…` | Microsoft Graph and identity |
//! | `/ews/EWS/Exchange.asmx` | EWS (SOAP 1.1) |
//! | `/_emulator/…` | control API for tests and the demo (see README.md) |
//!
//! All three protocols share one [`model::State`]: per-mailbox calendars with change sequence
//! numbers, tombstones, recurring series, an outbox and push subscriptions.

pub mod body;
pub mod control;
pub mod ews;
pub mod faults;
pub mod google;
pub mod graph;
pub mod model;
pub mod oauth;
pub mod push;
pub mod recurrence;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::{middleware, Router};
use tokio::net::TcpListener;
use tokio::sync::broadcast;

use model::{ChangeNote, State};

/// Settings a test or the demo may change.
#[derive(Clone, Debug)]
pub struct Config {
    /// Lifetime of issued access tokens.
    pub token_lifetime: chrono::Duration,
    /// Longest Graph subscription (Outlook events: 4,230 minutes in the stored docs).
    pub graph_max_subscription_minutes: i64,
    /// Longest Google watch channel.
    pub google_max_channel_hours: i64,
    /// Microsoft rotates refresh tokens on every refresh; Google does not.
    pub microsoft_rotates_refresh_tokens: bool,
    /// How long a push delivery may take before it counts as failed.
    pub push_timeout: std::time::Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            token_lifetime: chrono::Duration::hours(1),
            graph_max_subscription_minutes: 4230,
            google_max_channel_hours: 24 * 7,
            microsoft_rotates_refresh_tokens: true,
            push_timeout: std::time::Duration::from_secs(10),
        }
    }
}

/// The emulator: shared state plus the push deliverer. Cheap to clone (an `Arc`).
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    changes: broadcast::Sender<ChangeNote>,
    http: reqwest::Client,
    config: Config,
}

impl Emulator {
    pub fn new(config: Config) -> Self {
        let (changes, _) = broadcast::channel(4096);
        let http = reqwest::Client::builder()
            .timeout(config.push_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("static reqwest settings");
        Self { inner: Arc::new(Inner { state: Mutex::new(State::default()), changes, http, config }) }
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// An HTTP client for calls the emulator makes (push delivery, Graph's validation POST).
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// Runs `f` on the state, then announces the changes it made (broadcast to streaming
    /// subscribers, POSTed to push subscribers). Never hold the result across an await.
    pub fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let (result, notes, subs) = {
            let mut state = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
            let result = f(&mut state);
            let notes = std::mem::take(&mut state.pending_notes);
            let subs = if notes.is_empty() { Vec::new() } else { push::due(&mut state, &notes) };
            (result, notes, subs)
        };
        for note in notes {
            let _ = self.inner.changes.send(note);
        }
        for (sub, note) in subs {
            push::spawn_delivery(self.clone(), sub, note);
        }
        result
    }

    /// Every change in every calendar, as it happens (EWS streaming/pull subscriptions).
    pub fn changes(&self) -> broadcast::Receiver<ChangeNote> {
        self.inner.changes.subscribe()
    }

    /// All routes on one address.
    pub fn router(&self) -> Router {
        Router::new()
            .nest("/google/calendar/v3", google::router().layer(middleware::from_fn_with_state((self.clone(), model::Provider::Google), faults::inject)))
            .merge(oauth::google_router())
            .nest("/graph/v1.0", graph::router().layer(middleware::from_fn_with_state((self.clone(), model::Provider::Graph), faults::inject)))
            .merge(oauth::microsoft_router())
            .nest("/ews", ews::router().layer(middleware::from_fn_with_state((self.clone(), model::Provider::Ews), faults::inject)))
            .nest("/_emulator", control::router())
            .with_state(self.clone())
    }

    /// Serves on `listener` until the task is dropped.
    pub async fn serve(self, listener: TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.router()).await
    }

    /// Binds `addr` (port 0: any free port) and serves in a background task; returns the
    /// bound address. For tests and the demo.
    pub async fn spawn(self, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        let listener = TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        tokio::spawn(async move {
            if let Err(e) = self.serve(listener).await {
                tracing::error!("emulator stopped: {e}");
            }
        });
        Ok(bound)
    }
}
