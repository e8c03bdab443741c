//! The sync engine: runs the queue's jobs (inbound sync of a calendar, outbound write of a
//! meeting, push subscription upkeep), turns provider failures into connection status the user
//! sees, and announces what changed to open pages.
//!
//! Job kinds (`sync_jobs.kind`), all tied to one connection so one connection's jobs never run
//! at the same time:
//! - `sync`: bring the calendar's changes in (incremental from the cursor, or a full round over
//!   the window that reconciles); coalescing key `sync:<connection>`, flag [`FULL`].
//! - `write`: push a meeting's CRM state to this calendar; key `write:<meeting>:<user>`, flag
//!   [`SEND`] (OR-ed when edits coalesce: one Save-and-send among several saves still sends).
//! - `push`: create or renew the push subscription; key `push:<connection>`.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use providers::http::CallMeter;
use providers::{CalendarProvider, ProviderError, ProviderKind};
use serde::{Deserialize, Serialize};
use domain::audit::{Action, Actor};
use domain::connection::{AuthKind, ConnectionStatus, StatusReason};
use store::{Connection, Job, JobKind, NewJob, Store, StoreError};

use crate::connections::{ConnectError, Connections};
use crate::queue::{JobFailure, JobReport};

/// Job flag: write with invitations / updates / cancellations.
pub const SEND: i64 = 1;
/// Why a job gave way to a newer one of the same kind and subject.
pub const SUPERSEDED: &str = "superseded by a newer request";
/// Push subscriptions stopped at once when a company's integration is switched off.
const PARALLEL_STOPS: usize = 8;
/// Job flag: start a new full round (reconcile) instead of continuing from the cursor.
pub const FULL: i64 = 2;

#[derive(Clone, Debug)]
pub struct SyncConfig {
    /// The window a full sync covers: this far back …
    pub window_back: Duration,
    /// … and this far ahead.
    pub window_ahead: Duration,
    /// A new full round when the cursor's window started this much before today's (Graph's
    /// delta is windowed, so the window must move on).
    pub window_slide: Duration,
    /// The server's public base URL (`https://crm.example.com`); push notifications go to
    /// `<base>/hooks/<provider>`. None: no push, polling only.
    pub public_url: Option<String>,
    pub push_ttl: Duration,
    /// Renew a push subscription when it has less than this left.
    pub push_renew_before: Duration,
    /// Poll a calendar this often when it has a live push subscription (a safety net) …
    pub poll_with_push: Duration,
    /// … and this often when it has none.
    pub poll_without_push: Duration,
    /// Opening the calendar syncs when the last sync is older than this.
    pub fresh_for: Duration,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            window_back: Duration::days(90),
            window_ahead: Duration::days(365),
            window_slide: Duration::days(30),
            public_url: None,
            push_ttl: Duration::days(2),
            push_renew_before: Duration::hours(12),
            poll_with_push: Duration::minutes(15),
            poll_without_push: Duration::minutes(1),
            fresh_for: Duration::seconds(5),
        }
    }
}

/// A change open pages should hear about. Carries ids only, never meeting contents, so
/// nothing private can leak through it: pages re-read through the redacting API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    /// Meetings in these users' calendars changed.
    Calendar { tenant_id: String, user_ids: Vec<String> },
    /// The sync status of this user's connection changed.
    Status { tenant_id: String, user_id: String },
    /// The company's calendar integration was switched (every user's status changed).
    Integration { tenant_id: String },
    /// Jobs were queued: idle workers should look.
    Jobs,
}

/// Where the engine announces changes (the server fans them out to pages and, on PostgreSQL,
/// to the other processes).
pub trait Live: Send + Sync + 'static {
    fn publish(&self, event: LiveEvent);

    /// Where this process's stream of page-visible announcements stands (calendar and status
    /// changes heard so far), as an opaque token. A page records it with what it rendered;
    /// the live stream says it again when it opens, and a page whose token differs reads
    /// again — so a change announced before the page's stream opened is not missed.
    fn stamp(&self) -> String {
        String::new()
    }
}

/// Announces nothing (command line, tests that do not watch).
pub struct Silent;
impl Live for Silent {
    fn publish(&self, _: LiveEvent) {}
}

/// The engine's counters for `/metrics`, registered with the process's metrics recorder
/// (the server's Prometheus exporter; none on the command line and in tests). Aggregates
/// only: labelled by provider or outcome, never by company or user.
pub struct Metrics {
    calls: [metrics::Counter; 3],
    throttled: [metrics::Counter; 3],
    changes: [metrics::Counter; 3],
    jobs_ok: metrics::Counter,
    jobs_failed: metrics::Counter,
}

fn slot(kind: ProviderKind) -> usize {
    match kind {
        ProviderKind::Google => 0,
        ProviderKind::Graph => 1,
        ProviderKind::Ews => 2,
    }
}

impl Metrics {
    /// The engine's counters on `recorder`, described (HELP) once.
    pub fn register(recorder: &dyn metrics::Recorder) -> Metrics {
        let describe = |name: &'static str, help: &'static str| recorder.describe_counter(name.into(), None, help.into());
        describe("crmcal_provider_calls_total", "HTTP calls this process made to the providers.");
        describe("crmcal_provider_throttled_total", "Jobs the providers throttled (429, rateLimitExceeded, ErrorServerBusy).");
        describe("crmcal_sync_changes_total", "Meetings changed by sync jobs of this process (both directions).");
        describe("crmcal_sync_jobs_total", "Sync jobs this process ran, by outcome.");
        let meta = metrics::Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));
        let counter = |name: &'static str, label: (&'static str, &'static str)| {
            recorder.register_counter(&metrics::Key::from_parts(name, vec![metrics::Label::new(label.0, label.1)]), &meta)
        };
        let per_provider = |name: &'static str| ProviderKind::ALL.map(|p| counter(name, ("provider", p.as_str())));
        Metrics {
            calls: per_provider("crmcal_provider_calls_total"),
            throttled: per_provider("crmcal_provider_throttled_total"),
            changes: per_provider("crmcal_sync_changes_total"),
            jobs_ok: counter("crmcal_sync_jobs_total", ("outcome", "ok")),
            jobs_failed: counter("crmcal_sync_jobs_total", ("outcome", "failed")),
        }
    }

    /// Counters that count nowhere.
    pub fn none() -> Metrics {
        Metrics::register(&metrics::NoopRecorder)
    }
}

/// The engine; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub store: Store,
    pub conns: Connections,
    pub config: SyncConfig,
    pub live: Arc<dyn Live>,
    pub metrics: Metrics,
}

/// One job's run: the provider client (counted) and what changed.
pub(crate) struct Run {
    pub conn: Connection,
    pub kind: ProviderKind,
    pub meter: Arc<CallMeter>,
    /// Users whose calendars changed.
    pub touched: BTreeSet<String>,
    pub changes: i64,
}

/// A failure during a run, before it is turned into connection status.
#[derive(Debug)]
pub(crate) enum Fail {
    Provider(ProviderError),
    Connect(ConnectError),
    Store(StoreError),
}

impl From<ProviderError> for Fail {
    fn from(e: ProviderError) -> Self {
        Fail::Provider(e)
    }
}
impl From<ConnectError> for Fail {
    fn from(e: ConnectError) -> Self {
        match e {
            ConnectError::Provider(p) => Fail::Provider(p),
            ConnectError::Store(s) => Fail::Store(s),
            other => Fail::Connect(other),
        }
    }
}
impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

/// What the calendar page shows in its "up to date" indicator (F-CAL-2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncStatus {
    pub provider: ProviderKind,
    pub mailbox: String,
    pub state: ConnectionStatus,
    pub reason: StatusReason,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub syncing: bool,
}

impl Engine {
    pub fn new(store: Store, conns: Connections, config: SyncConfig, live: Arc<dyn Live>) -> Engine {
        Engine::metered(store, conns, config, live, Metrics::none())
    }

    /// An engine whose runs are counted in `metrics`.
    pub fn metered(store: Store, conns: Connections, config: SyncConfig, live: Arc<dyn Live>, metrics: Metrics) -> Engine {
        Engine { inner: Arc::new(Inner { store, conns, config, live, metrics }) }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }
    pub fn connections(&self) -> &Connections {
        &self.inner.conns
    }
    pub fn config(&self) -> &SyncConfig {
        &self.inner.config
    }
    pub(crate) fn publish(&self, e: LiveEvent) {
        self.inner.live.publish(e);
    }
    /// See [`Live::stamp`].
    pub fn live_stamp(&self) -> String {
        self.inner.live.stamp()
    }

    /// Runs one claimed job.
    pub async fn run(&self, job: Job) -> JobReport {
        let Some(conn_id) = job.connection_id.clone() else {
            return Err(JobFailure::permanent(format!("job {} has no connection", job.id))).into();
        };
        let conn = match self.inner.store.connection(&job.tenant_id, &conn_id).await {
            Ok(c) => c,
            // Disconnected meanwhile (its jobs go with it, but one may be running).
            Err(StoreError::NotFound) => return Ok(()).into(),
            Err(e) => return Err(JobFailure::retry(e.to_string())).into(),
        };
        let kind = conn.provider;
        let mut run = Run { conn, kind, meter: Arc::new(CallMeter::default()), touched: BTreeSet::new(), changes: 0 };
        let result = match job.kind {
            JobKind::Sync => self.sync_calendar(&mut run, job.flags & FULL != 0).await,
            JobKind::Write => match serde_json::from_str::<WritePayload>(&job.payload) {
                Ok(p) => {
                    // A newer request for this meeting arrived while this one was claimed: it
                    // takes over (with this one's flags), so a delete is never carried out by
                    // an older plain save that happened to run first.
                    match self.inner.store.job_pending(job.coalesce_key.as_deref().unwrap_or_default()).await {
                        Ok(true) => return JobReport::from(Err(JobFailure { retry_after: Some(std::time::Duration::ZERO), ..JobFailure::retry(SUPERSEDED) })),
                        Ok(false) => {}
                        Err(e) => return Err(JobFailure::retry(e.to_string())).into(),
                    }
                    let send = (job.flags & SEND != 0).then_some(p.send_version.unwrap_or(0));
                    self.write_meeting(&mut run, &p.meeting_id, &p.user_id, send).await
                }
                Err(e) => return Err(JobFailure::permanent(format!("bad write job payload: {e}"))).into(),
            },
            JobKind::Push => self.keep_subscription(&mut run).await,
        };
        let calls = run.meter.calls();
        tracing::debug!(job = %job.id, kind = job.kind.as_str(), connection = %run.conn.id, ok = result.is_ok(), changes = run.changes, calls, touched = run.touched.len(), "job ran");
        let m = &self.inner.metrics;
        m.calls[slot(kind)].increment(calls);
        m.changes[slot(kind)].increment(run.changes.max(0) as u64);
        if !run.touched.is_empty() {
            self.publish(LiveEvent::Calendar { tenant_id: run.conn.tenant_id.clone(), user_ids: run.touched.iter().cloned().collect() });
        }
        let outcome = match result {
            Ok(()) => {
                m.jobs_ok.increment(1);
                Ok(())
            }
            // An OAuth access token refused before it expired (revoked, rotated): refresh it
            // and run the job again at once; only a refused refresh needs the user.
            Err(Fail::Provider(ProviderError::InvalidCredentials(why))) if run.conn.auth_kind == AuthKind::OAuth && job.attempts <= 1 => {
                match self.inner.conns.refresh(&run.conn).await {
                    Ok(()) => Err(JobFailure { retry_after: Some(std::time::Duration::ZERO), ..JobFailure::retry(why) }),
                    Err(e) => {
                        m.jobs_failed.increment(1);
                        Err(self.failed(&run.conn, job.kind, e.into()).await)
                    }
                }
            }
            Err(fail) => {
                m.jobs_failed.increment(1);
                if matches!(fail, Fail::Provider(ProviderError::Throttled { .. })) {
                    m.throttled[slot(kind)].increment(1);
                }
                Err(self.failed(&run.conn, job.kind, fail).await)
            }
        };
        JobReport { outcome, changes: run.changes, provider_calls: calls as i64 }
    }

    /// Turns a failure into the connection's status (what the user reads) and the queue's
    /// decision (retry after a back-off, or stop until the user acts).
    async fn failed(&self, conn: &Connection, kind: JobKind, fail: Fail) -> JobFailure {
        use ConnectionStatus::{Failing, NeedsReconnect};
        let oauth = conn.auth_kind == AuthKind::OAuth;
        let (status, reason, failure) = match fail {
            Fail::Provider(ProviderError::ReauthorizationRequired(why)) => (NeedsReconnect, StatusReason::Reconnect { detail: why.clone() }, JobFailure::permanent(why)),
            Fail::Provider(ProviderError::InvalidCredentials(why)) => {
                let reason = if oauth { StatusReason::AccessRevoked { detail: why.clone() } } else { StatusReason::PasswordRefused { detail: why.clone() } };
                (NeedsReconnect, reason, JobFailure::permanent(why))
            }
            Fail::Provider(ProviderError::MailboxNotFound(why)) => (NeedsReconnect, StatusReason::MailboxNotFound { detail: why.clone() }, JobFailure::permanent(why)),
            Fail::Provider(ProviderError::ImpersonationDenied(why)) => {
                (NeedsReconnect, StatusReason::ImpersonationDenied { detail: why.clone() }, JobFailure::permanent(why))
            }
            Fail::Provider(ProviderError::AccessDenied(why)) => (NeedsReconnect, StatusReason::AccessDenied { detail: why.clone() }, JobFailure::permanent(why)),
            Fail::Provider(e @ ProviderError::Throttled { .. }) => {
                let wait = e.retry_after();
                let reason = StatusReason::Throttled { retry_secs: wait.map(|w| w.as_secs().max(1)) };
                (Failing, reason, JobFailure { retry_after: wait, ..JobFailure::retry(e.to_string()) })
            }
            Fail::Provider(e) if e.is_transient() => (Failing, StatusReason::Retrying { detail: e.to_string() }, JobFailure::retry(e.to_string())),
            Fail::Provider(e) => (Failing, StatusReason::Failed { detail: e.to_string() }, JobFailure::retry(e.to_string())),
            Fail::Connect(e) => (Failing, StatusReason::Failed { detail: e.to_string() }, JobFailure::retry(e.to_string())),
            Fail::Store(e) => {
                // Ours, not the calendar's: retry without blaming the connection.
                tracing::warn!(connection = %conn.id, error = %e, "sync job hit a database error");
                return JobFailure::retry(e.to_string());
            }
        };
        tracing::info!(connection = %conn.id, job = kind.as_str(), status = status.as_str(), reason = ?reason, "sync job failed");
        // A failed write of one meeting is reported on the meeting; the calendar's own status
        // changes only for failures that stop the whole connection.
        if kind != JobKind::Write || status == NeedsReconnect {
            if let Err(e) = self.inner.store.finish_sync(&conn.tenant_id, &conn.id, Utc::now(), Err((status, &reason))).await {
                tracing::warn!(connection = %conn.id, error = %e, "could not record the sync status");
            }
            self.publish(LiveEvent::Status { tenant_id: conn.tenant_id.clone(), user_id: conn.user_id.clone() });
        }
        failure
    }

    /// A provider client for the run's connection (tokens refreshed when due).
    pub(crate) async fn client(&self, run: &Run) -> Result<Box<dyn CalendarProvider>, Fail> {
        Ok(self.inner.conns.open(&run.conn, Some(run.meter.clone())).await?)
    }

    /// Queues a sync of the connection to run now (coalesced with one already waiting) and
    /// wakes the workers.
    pub async fn request_sync(&self, tenant_id: &str, connection_id: &str, full: bool) -> Result<bool, StoreError> {
        let key = format!("sync:{connection_id}");
        let created = self
            .inner
            .store
            .enqueue_job(tenant_id, NewJob { connection_id: Some(connection_id), kind: JobKind::Sync, coalesce_key: Some(&key), payload: "{}", run_at: Utc::now(), flags: if full { FULL } else { 0 } })
            .await?;
        self.publish(LiveEvent::Jobs);
        Ok(created)
    }

    /// Page loads (F-CAL-1): syncs each of these calendars unless it was synced moments ago,
    /// must be reconnected first, waits for its first Synchronise, or has a sync waiting already — one query for the waiting
    /// syncs of all of them, however many colleagues the page shows.
    pub async fn sync_stale(&self, conns: &[Connection]) -> Result<(), StoreError> {
        let now = Utc::now();
        let stale: Vec<&Connection> = conns
            .iter()
            .filter(|c| c.status != ConnectionStatus::NeedsReconnect && c.last_synced_at.is_some_and(|t| now - t >= self.inner.config.fresh_for))
            .collect();
        self.sync_unless_waiting(&stale).await.map(drop)
    }

    /// Queues a sync of each of these calendars that has none waiting yet (one query for
    /// all of them); returns how many it queued. (A running sync does not count: its process
    /// may have died; its lease tells.)
    async fn sync_unless_waiting(&self, conns: &[&Connection]) -> Result<usize, StoreError> {
        let keys: Vec<String> = conns.iter().map(|c| format!("sync:{}", c.id)).collect();
        let waiting = self.inner.store.jobs_pending(&keys).await?;
        let mut queued = 0;
        for (conn, key) in conns.iter().zip(&keys) {
            if !waiting.contains(key) {
                self.request_sync(&conn.tenant_id, &conn.id, false).await?;
                queued += 1;
            }
        }
        Ok(queued)
    }

    /// The "up to date" indicator of a user's calendar; None when it is not connected.
    pub async fn status(&self, tenant_id: &str, user_id: &str) -> Result<Option<SyncStatus>, StoreError> {
        Ok(self.inner.store.connection_of_user(tenant_id, user_id).await?.map(|c| SyncStatus {
            provider: c.provider,
            mailbox: c.mailbox,
            state: c.status,
            reason: c.status_reason,
            last_synced_at: c.last_synced_at,
            syncing: c.syncing_since.is_some(),
        }))
    }

    /// Periodic upkeep (every few seconds from the server): polls calendars that push does not
    /// cover (or that have been quiet too long), and subscribes / renews push subscriptions.
    /// Returns how many jobs it queued.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let cfg = &self.inner.config;
        let store = &self.inner.store;
        let quiet = store.connections_synced_before(now - cfg.poll_without_push, 500).await?;
        let due: Vec<&Connection> = quiet
            .iter()
            .filter(|conn| {
                let pushed = cfg.public_url.is_some() && conn.push_expires_at.is_some_and(|t| t > now);
                !(pushed && conn.last_synced_at.is_some_and(|t| now - t < cfg.poll_with_push))
            })
            .collect();
        let mut queued = self.sync_unless_waiting(&due).await?;
        if cfg.public_url.is_some() {
            for conn in store.connections_push_due(now + cfg.push_renew_before, 500).await? {
                if self.request_push(&conn, false).await? {
                    queued += 1;
                }
            }
        }
        Ok(queued)
    }

    /// Queues push upkeep for the connection (unless it is already waiting, so a failing
    /// provider's back-off is kept).
    pub async fn request_push(&self, conn: &Connection, now: bool) -> Result<bool, StoreError> {
        let key = format!("push:{}", conn.id);
        if !now && self.inner.store.job_pending(&key).await? {
            return Ok(false);
        }
        let created = self
            .inner
            .store
            .enqueue_job(&conn.tenant_id, NewJob { connection_id: Some(&conn.id), kind: JobKind::Push, coalesce_key: Some(&key), payload: "{}", run_at: Utc::now(), flags: 0 })
            .await?;
        self.publish(LiveEvent::Jobs);
        Ok(created)
    }

    /// A newly made connection: its push subscription. Its first sync waits for
    /// [`Engine::synchronise`] (the Synchronise button, F-ADM-3 … 6): until then it is
    /// "subscribed", and neither polled nor synced by page loads. Subscribing first leaves no
    /// gap: a change made after the subscription is notified, one made before it is in the
    /// first sync.
    pub async fn connected(&self, conn: &Connection) -> Result<(), StoreError> {
        if self.inner.config.public_url.is_some() {
            self.request_push(conn, true).await?;
        }
        self.publish(LiveEvent::Status { tenant_id: conn.tenant_id.clone(), user_id: conn.user_id.clone() });
        Ok(())
    }

    /// Synchronise (F-ADM-3 … 6): the first sync of a connection (a full round over the
    /// window; it sends nothing, a sync never does), or a sync now from where the last ended.
    pub async fn synchronise(&self, conn: &Connection) -> Result<(), StoreError> {
        self.request_sync(&conn.tenant_id, &conn.id, conn.sync_cursor.is_none()).await?;
        Ok(())
    }

    /// Connects the user's calendar (F-ADM-3..6), replacing the connection they had —
    /// reconnecting after a revoked token or a changed password, or moving to another
    /// provider. The credentials are checked with the provider first: when they fail, nothing
    /// changes. The meetings already synced stay and are matched again by the first sync.
    /// Refused while the company's calendar integration is switched off. Logged for `actor`.
    pub async fn connect(&self, tenant_id: &str, user_id: &str, mailbox: &str, credentials: crate::connections::Credentials, actor: &Actor) -> Result<Connection, ConnectError> {
        let store = &self.inner.store;
        if !store.calendar_integration(tenant_id).await? {
            return Err(ConnectError::IntegrationOff);
        }
        if let Some(old) = store.connection_of_user(tenant_id, user_id).await.map_err(ConnectError::Store)? {
            self.inner.conns.verify(mailbox, &credentials).await?;
            self.remove(&old, false).await?;
        }
        let (conn, _) = self.inner.conns.add(tenant_id, user_id, mailbox, credentials).await?;
        self.connected(&conn).await.map_err(ConnectError::Store)?;
        let user = store.user(tenant_id, user_id).await?;
        let action = Action::CalendarConnected { user: user.display_name, mailbox: conn.mailbox.clone(), provider: conn.provider, auth: conn.auth_kind };
        store.record_audit(tenant_id, actor, &action, Utc::now()).await?;
        Ok(conn)
    }

    /// Disconnects (F-ADM-10): stops the push subscription where the provider allows (best
    /// effort), then deletes the connection with its secrets, cursor and queued jobs. The
    /// user's meetings stay. Logged for `actor`.
    pub async fn disconnect(&self, tenant_id: &str, connection_id: &str, actor: &Actor) -> Result<(), ConnectError> {
        let store = &self.inner.store;
        let conn = store.connection(tenant_id, connection_id).await.map_err(|e| match e {
            StoreError::NotFound => ConnectError::Invalid("no such connection".into()),
            other => ConnectError::Store(other),
        })?;
        self.remove(&conn, true).await?;
        let user = store.user(tenant_id, &conn.user_id).await?;
        let action = Action::CalendarDisconnected { user: user.display_name, mailbox: conn.mailbox.clone(), provider: conn.provider };
        store.record_audit(tenant_id, actor, &action, Utc::now()).await?;
        Ok(())
    }

    /// Stops push, with `revoke` withdraws the OAuth grant where the provider allows it (best
    /// effort: the connection goes either way, and a grant the provider still holds gives
    /// access to nothing without the tokens deleted here), and deletes the connection. Not
    /// when it is replaced: Google withdraws the whole grant of the user to the CRM, the new
    /// tokens' included.
    async fn remove(&self, conn: &Connection, revoke: bool) -> Result<(), ConnectError> {
        self.stop_push(conn).await;
        if revoke {
            match self.inner.conns.revoke(conn).await {
                Ok(revoked) => tracing::info!(connection = %conn.id, revoked, "calendar disconnected"),
                Err(e) => tracing::warn!(connection = %conn.id, error = %e, "could not withdraw the OAuth grant at the provider"),
            }
        }
        self.inner.conns.remove(&conn.tenant_id, &conn.id).await?;
        self.publish(LiveEvent::Status { tenant_id: conn.tenant_id.clone(), user_id: conn.user_id.clone() });
        Ok(())
    }

    /// Stops the connection's push subscription at the provider, if it has one (best effort:
    /// one the provider no longer knows, or cannot be reached for, runs out by itself).
    async fn stop_push(&self, conn: &Connection) {
        let Some(sub) = self.subscription(conn) else { return };
        match self.inner.conns.open(conn, None).await {
            Ok(client) => {
                if let Err(e) = client.unsubscribe(&sub).await {
                    tracing::info!(connection = %conn.id, error = %e, "could not stop the push subscription");
                }
            }
            Err(e) => tracing::info!(connection = %conn.id, error = %e, "could not stop the push subscription"),
        }
    }

    /// The calendars of the company that sign in as this Exchange service account (F-ADM-6).
    pub async fn service_account_calendars(&self, tenant_id: &str, ews_url: &str, account: &str) -> Result<Vec<Connection>, StoreError> {
        let account = account.trim().to_lowercase();
        Ok(self
            .inner
            .store
            .connections(tenant_id)
            .await?
            .into_iter()
            .filter(|c| c.auth_kind == AuthKind::Impersonation && c.ews_url == ews_url && c.account.to_lowercase() == account)
            .collect())
    }

    /// Changes an Exchange service account's password in one place for every calendar of the
    /// company that signs in with it (F-ADM-6). The new password is checked with the server
    /// first (on one of them); calendars stopped by the old one's refusal start again. Returns
    /// how many calendars now use it.
    pub async fn change_service_password(&self, tenant_id: &str, ews_url: &str, account: &str, password: &str, actor: &Actor) -> Result<usize, ConnectError> {
        let calendars = self.service_account_calendars(tenant_id, ews_url, account).await?;
        let Some(first) = calendars.first() else { return Err(ConnectError::Invalid(format!("no calendar signs in as {account}"))) };
        let credentials = crate::connections::Credentials::EwsImpersonation { url: ews_url.to_string(), service_account: first.account.clone(), password: password.to_string() };
        self.inner.conns.verify(&first.mailbox, &credentials).await?;
        for conn in &calendars {
            self.inner.conns.set_password(conn, password).await?;
            if conn.status == ConnectionStatus::NeedsReconnect && matches!(conn.status_reason, StatusReason::PasswordRefused { .. }) {
                self.inner.store.set_connection_status(tenant_id, &conn.id, ConnectionStatus::Active, &StatusReason::None).await?;
                self.synchronise(conn).await?;
            }
            self.publish(LiveEvent::Status { tenant_id: tenant_id.to_string(), user_id: conn.user_id.clone() });
        }
        let action = Action::ServiceAccountPassword { account: first.account.clone(), calendars: calendars.len() as u32 };
        self.inner.store.record_audit(tenant_id, actor, &action, Utc::now()).await?;
        Ok(calendars.len())
    }

    /// Stops the connection's push subscription and forgets it.
    async fn unsubscribe(&self, conn: &Connection) -> Result<(), StoreError> {
        self.stop_push(conn).await;
        self.inner.store.set_push(&conn.tenant_id, &conn.id, None, "").await
    }

    /// Switches the company's calendar integration (F-ADM-1); returns false when it already
    /// was so. Off: its jobs stop being run (they wait in the queue), its push subscriptions are
    /// stopped, and it is no longer polled; the meetings and each calendar's cursor stay. On:
    /// the subscriptions are made again and every calendar syncs from its cursor. Open pages of
    /// the company hear of it.
    pub async fn set_integration(&self, tenant_id: &str, on: bool, actor: &Actor) -> Result<bool, StoreError> {
        let store = &self.inner.store;
        if !store.set_calendar_integration(tenant_id, on, actor, Utc::now()).await? {
            return Ok(false);
        }
        let conns = store.connections(tenant_id).await?;
        if on {
            for conn in conns.iter().filter(|c| c.status != ConnectionStatus::NeedsReconnect) {
                if self.inner.config.public_url.is_some() {
                    self.request_push(conn, true).await?;
                }
                self.request_sync(tenant_id, &conn.id, false).await?;
            }
        } else {
            // Each stop is a call to the provider: several at once, so a company of hundreds
            // is switched off in seconds.
            let pushed: Vec<Connection> = conns.into_iter().filter(|c| c.push_id.is_some()).collect();
            for batch in pushed.chunks(PARALLEL_STOPS) {
                for stopped in futures_util::future::join_all(batch.iter().map(|conn| self.unsubscribe(conn))).await {
                    stopped?;
                }
            }
        }
        self.publish(LiveEvent::Integration { tenant_id: tenant_id.to_string() });
        Ok(true)
    }
}

/// The payload of a `write` job.
#[derive(Serialize, Deserialize)]
pub(crate) struct WritePayload {
    pub meeting_id: String,
    pub user_id: String,
    /// With [`SEND`]: the meeting version the user saved with "send". Once the calendar got a
    /// write with invitations at that version or later, the request is fulfilled (a job run
    /// again after a crash, or joined by later plain saves, mails nobody twice).
    #[serde(default)]
    pub send_version: Option<i64>,
}
