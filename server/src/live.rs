//! Live updates: the engine's announcements ([`LiveEvent`]) reach open calendar pages as
//! server-sent events and wake idle sync workers. With PostgreSQL, several `crmcal` processes
//! share the work, so announcements travel through LISTEN/NOTIFY and every process (this one
//! included) hands them to its own pages and workers; with SQLite they stay in the process.
//!
//! An event names users, never meeting contents: a page that hears its calendar changed reads
//! it again through the same redacting API as always, so private meetings stay private
//! (F-CAL-10) in live updates too.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Extension, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::stream::{Stream, StreamExt};
use store::{Store, User};
use sync::{Live, LiveEvent};
use tokio::sync::{broadcast, Notify};

const CHANNEL: &str = "crmcal_live";

pub struct Hub {
    events: broadcast::Sender<LiveEvent>,
    /// Page-visible announcements heard so far, and this process's name for the stamp
    /// (`sync::Live::stamp`): a page rendered by one process and listening on another reads
    /// again, once.
    heard: AtomicU64,
    process: u64,
    /// Idle workers wait on this.
    pub wake: Arc<Notify>,
    /// PostgreSQL: announce through NOTIFY (every process, this one included, gets it back).
    shared: Option<Store>,
}

impl Hub {
    /// A hub for `store`'s deployment; on PostgreSQL it also starts listening for the other
    /// processes' announcements.
    pub async fn start(store: &Store) -> anyhow::Result<Arc<Hub>> {
        let listener = store.listen(CHANNEL).await?;
        let hub = Arc::new(Hub {
            events: broadcast::channel(1024).0,
            heard: AtomicU64::new(0),
            process: rand_process_id(),
            wake: Arc::new(Notify::new()),
            shared: listener.as_ref().map(|_| store.clone()),
        });
        if let Some(mut listener) = listener {
            let hub = hub.clone();
            tokio::spawn(async move {
                loop {
                    match listener.recv().await {
                        Ok(Some(payload)) => match serde_json::from_str::<LiveEvent>(&payload) {
                            Ok(e) => hub.deliver(e),
                            Err(e) => tracing::warn!(error = %e, "unreadable live notice"),
                        },
                        // Reconnected: notices may have been missed; workers look again.
                        Ok(None) => hub.deliver(LiveEvent::Jobs),
                        Err(e) => {
                            tracing::warn!(error = %e, "live notices: listening failed; retrying");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                }
            });
        }
        Ok(hub)
    }

    /// Hands an event to this process's pages and workers.
    fn deliver(&self, e: LiveEvent) {
        if e == LiveEvent::Jobs {
            self.wake.notify_waiters();
        } else {
            self.heard.fetch_add(1, Ordering::SeqCst);
        }
        let _ = self.events.send(e);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.events.subscribe()
    }
}

/// Distinguishes this process's stamps from another's (not a secret).
fn rand_process_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    h.write_u32(std::process::id());
    h.finish()
}

impl Live for Hub {
    fn stamp(&self) -> String {
        format!("{:x}.{}", self.process, self.heard.load(Ordering::SeqCst))
    }

    fn publish(&self, mut e: LiveEvent) {
        let Some(store) = &self.shared else { return self.deliver(e) };
        let mut payload = serde_json::to_string(&e).expect("events serialise");
        if payload.len() > store::MAX_NOTICE_BYTES {
            // Too many users to name: "everyone in the tenant" (pages refresh).
            if let LiveEvent::Calendar { user_ids, .. } = &mut e {
                user_ids.clear();
            }
            payload = serde_json::to_string(&e).expect("events serialise");
        }
        let store = store.clone();
        tokio::spawn(async move {
            if let Err(err) = store.notify(CHANNEL, &payload).await {
                tracing::warn!(error = %err, "could not send a live notice");
            }
        });
    }
}

pub fn router(hub: Arc<Hub>) -> Router {
    Router::new().route("/api/live", get(live)).with_state(hub)
}

/// `GET /api/live`: the signed-in user's stream. `calendar` events carry the ids of users whose
/// calendars changed (empty: any), `status` events the user whose sync status changed (`null`:
/// everyone's, the integration was switched) — only for users of the viewer's own company. The guard has signed the user in.
async fn live(State(hub): State<Arc<Hub>>, Extension(user): Extension<User>) -> Response {
    // Subscribed before the stamp is read: nothing falls between the two.
    let rx = hub.subscribe();
    let hello = futures_util::stream::once(std::future::ready(Ok(Event::default().event("hello").data(hub.stamp()))));
    Sse::new(hello.chain(events_for(user.tenant_id, rx))).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}

fn events_for(tenant: String, rx: broadcast::Receiver<LiveEvent>) -> impl Stream<Item = Result<Event, Infallible>> {
    futures_util::stream::unfold((tenant, rx), |(tenant, mut rx)| async move {
        loop {
            let event = match rx.recv().await {
                Ok(LiveEvent::Calendar { tenant_id, user_ids }) if tenant_id == tenant => {
                    Event::default().event("calendar").data(serde_json::to_string(&user_ids).unwrap_or_default())
                }
                Ok(LiveEvent::Status { tenant_id, user_id }) if tenant_id == tenant => {
                    Event::default().event("status").data(serde_json::to_string(&user_id).unwrap_or_default())
                }
                // Everyone's status: `null` names no one user.
                Ok(LiveEvent::Integration { tenant_id }) if tenant_id == tenant => Event::default().event("status").data("null"),
                Ok(_) => continue,
                // Fell behind: tell the page to read everything again.
                Err(broadcast::error::RecvError::Lagged(_)) => Event::default().event("calendar").data("[]"),
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            return Some((Ok(event), (tenant, rx)));
        }
    })
}
