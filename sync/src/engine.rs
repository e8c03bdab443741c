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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use providers::http::CallMeter;
use providers::{CalendarProvider, ProviderError, ProviderKind};
use serde::{Deserialize, Serialize};
use domain::connection::{AuthKind, ConnectionStatus, StatusReason};
use store::{Connection, Job, JobKind, NewJob, Store, StoreError};

use crate::connections::{ConnectError, Connections};
use crate::queue::{JobFailure, JobReport};

/// Job flag: write with invitations / updates / cancellations.
pub const SEND: i64 = 1;
/// Why a job gave way to a newer one of the same kind and subject.
pub const SUPERSEDED: &str = "superseded by a newer request";
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

/// Counters for `/metrics`, per provider.
#[derive(Default, Debug)]
pub struct Metrics {
    calls: [AtomicU64; 3],
    throttled: [AtomicU64; 3],
    changes: [AtomicU64; 3],
    jobs_ok: AtomicU64,
    jobs_failed: AtomicU64,
}

fn slot(kind: ProviderKind) -> usize {
    match kind {
        ProviderKind::Google => 0,
        ProviderKind::Graph => 1,
        ProviderKind::Ews => 2,
    }
}

pub const PROVIDERS: [ProviderKind; 3] = [ProviderKind::Google, ProviderKind::Graph, ProviderKind::Ews];

impl Metrics {
    pub fn provider_calls(&self, p: ProviderKind) -> u64 {
        self.calls[slot(p)].load(Ordering::Relaxed)
    }
    pub fn throttled(&self, p: ProviderKind) -> u64 {
        self.throttled[slot(p)].load(Ordering::Relaxed)
    }
    pub fn changes(&self, p: ProviderKind) -> u64 {
        self.changes[slot(p)].load(Ordering::Relaxed)
    }
    pub fn jobs_ok(&self) -> u64 {
        self.jobs_ok.load(Ordering::Relaxed)
    }
    pub fn jobs_failed(&self) -> u64 {
        self.jobs_failed.load(Ordering::Relaxed)
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
        Engine { inner: Arc::new(Inner { store, conns, config, live, metrics: Metrics::default() }) }
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
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
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
        m.calls[slot(kind)].fetch_add(calls, Ordering::Relaxed);
        m.changes[slot(kind)].fetch_add(run.changes.max(0) as u64, Ordering::Relaxed);
        if !run.touched.is_empty() {
            self.publish(LiveEvent::Calendar { tenant_id: run.conn.tenant_id.clone(), user_ids: run.touched.iter().cloned().collect() });
        }
        let outcome = match result {
            Ok(()) => {
                m.jobs_ok.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            // An OAuth access token refused before it expired (revoked, rotated): refresh it
            // and run the job again at once; only a refused refresh needs the user.
            Err(Fail::Provider(ProviderError::InvalidCredentials(why))) if run.conn.auth_kind == AuthKind::OAuth && job.attempts <= 1 => {
                match self.inner.conns.refresh(&run.conn).await {
                    Ok(()) => Err(JobFailure { retry_after: Some(std::time::Duration::ZERO), ..JobFailure::retry(why) }),
                    Err(e) => {
                        m.jobs_failed.fetch_add(1, Ordering::Relaxed);
                        Err(self.failed(&run.conn, job.kind, e.into()).await)
                    }
                }
            }
            Err(fail) => {
                m.jobs_failed.fetch_add(1, Ordering::Relaxed);
                if matches!(fail, Fail::Provider(ProviderError::Throttled { .. })) {
                    m.throttled[slot(kind)].fetch_add(1, Ordering::Relaxed);
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
    /// must be reconnected first, or has a sync waiting already — one query for the waiting
    /// syncs of all of them, however many colleagues the page shows.
    pub async fn sync_stale(&self, conns: &[Connection]) -> Result<(), StoreError> {
        let now = Utc::now();
        let stale: Vec<&Connection> = conns
            .iter()
            .filter(|c| c.status != ConnectionStatus::NeedsReconnect && !c.last_synced_at.is_some_and(|t| now - t < self.inner.config.fresh_for))
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

    /// A newly made connection: push subscription, then the first full sync (it sends
    /// nothing: a sync never does). Subscribing first leaves no gap: a change made after the
    /// subscription is notified, one made before it is in the sync.
    pub async fn connected(&self, conn: &Connection) -> Result<(), StoreError> {
        if self.inner.config.public_url.is_some() {
            self.request_push(conn, true).await?;
        }
        self.request_sync(&conn.tenant_id, &conn.id, true).await?;
        self.publish(LiveEvent::Status { tenant_id: conn.tenant_id.clone(), user_id: conn.user_id.clone() });
        Ok(())
    }

    /// Connects the user's calendar (F-ADM-3..6), replacing the connection they had —
    /// reconnecting after a revoked token or a changed password, or moving to another
    /// provider. The credentials are checked with the provider first: when they fail, nothing
    /// changes. The meetings already synced stay and are matched again by the first sync.
    pub async fn connect(&self, tenant_id: &str, user_id: &str, mailbox: &str, credentials: crate::connections::Credentials) -> Result<Connection, ConnectError> {
        if let Some(old) = self.inner.store.connection_of_user(tenant_id, user_id).await.map_err(ConnectError::Store)? {
            self.inner.conns.verify(mailbox, &credentials).await?;
            self.disconnect(tenant_id, &old.id).await?;
        }
        let (conn, _) = self.inner.conns.add(tenant_id, user_id, mailbox, credentials).await?;
        self.connected(&conn).await.map_err(ConnectError::Store)?;
        Ok(conn)
    }

    /// Disconnects: stops the push subscription where the provider allows (best effort), then
    /// deletes the connection with its secrets, cursor and queued jobs.
    pub async fn disconnect(&self, tenant_id: &str, connection_id: &str) -> Result<(), ConnectError> {
        let conn = self.inner.store.connection(tenant_id, connection_id).await.map_err(|e| match e {
            StoreError::NotFound => ConnectError::Invalid("no such connection".into()),
            other => ConnectError::Store(other),
        })?;
        if let Some(sub) = self.subscription(&conn) {
            match self.inner.conns.open(&conn, None).await {
                Ok(client) => {
                    if let Err(e) = client.unsubscribe(&sub).await {
                        tracing::info!(connection = %conn.id, error = %e, "could not stop the push subscription");
                    }
                }
                Err(e) => tracing::info!(connection = %conn.id, error = %e, "could not stop the push subscription"),
            }
        }
        self.inner.conns.remove(tenant_id, connection_id).await?;
        self.publish(LiveEvent::Status { tenant_id: conn.tenant_id.clone(), user_id: conn.user_id.clone() });
        Ok(())
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
