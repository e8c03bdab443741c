//! Colleagues' busy times for the editor (F-EDIT-4, F-X-8): the side panel's lanes and find a
//! time. From the CRM's copy of each calendar, redacted for the viewer (someone else's
//! private meeting is only "Busy"), with how fresh that copy is (F-X-15). A calendar whose
//! last sync is older than [`STALE`] is asked for its free/busy at the provider as well, so a
//! meeting made there since still counts.

use chrono::{DateTime, Duration, Utc};
use domain::access::Relation;
use store::{StoreError, User};

use crate::engine::Engine;

/// A calendar without push synced longer ago than this is asked at the provider …
pub const STALE: Duration = Duration::minutes(10);
/// … and one with push (which tells of every change: a quiet calendar is simply not synced)
/// when its last sync is older than this, in case a notification was lost.
pub const STALE_WITH_PUSH: Duration = Duration::minutes(45);
/// How long the provider may take to answer before the CRM's copy is used alone.
const ASK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(4);

/// One time taken in a lane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Busy {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub all_day: bool,
    /// The meeting's subject when the viewer may see it (None: "Busy" — a private meeting,
    /// or a time only the provider's free/busy knows of).
    pub subject: Option<String>,
    pub meeting_id: Option<String>,
}

/// One user's calendar over a period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lane {
    pub user_id: String,
    pub busy: Vec<Busy>,
    /// The CRM's copy of their calendar was last synced then (None: no synced calendar).
    pub synced_at: Option<DateTime<Utc>>,
    /// The provider was asked for free/busy just now and answered.
    pub checked_at_provider: bool,
}

impl Engine {
    /// The lanes of `users` over `[from, to)` as `viewer` may see them; `leave_out`: the
    /// meeting being edited (drawn by the editor itself). Meetings the lane's user declined
    /// do not take their time.
    pub async fn lanes(&self, viewer: &User, users: &[User], from: DateTime<Utc>, to: DateTime<Utc>, leave_out: Option<&str>) -> Result<Vec<Lane>, StoreError> {
        let tenant = viewer.tenant_id.as_str();
        let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
        let entries = self.store().calendar_entries(tenant, &viewer.id, &ids, from, to).await?;
        let now = Utc::now();
        let entries = &entries;
        let lanes = users.iter().map(|user| async move {
            let mut busy: Vec<Busy> = entries
                .iter()
                .filter(|e| e.calendar_user_id == user.id && Some(e.meeting_id.as_str()) != leave_out && e.response.as_deref() != Some("declined"))
                .map(|e| {
                    let visible = Relation { private: e.private, participant: e.viewer_participates, ..Relation::default() }.access().may_see_details();
                    Busy { start: e.start, end: e.end, all_day: e.all_day, subject: visible.then(|| e.subject.clone()), meeting_id: visible.then(|| e.meeting_id.clone()) }
                })
                .collect();
            let conn = self.store().connection_of_user(tenant, &user.id).await?;
            let synced_at = conn.as_ref().and_then(|c| c.last_synced_at);
            let mut checked = false;
            if let Some(conn) = conn.filter(|c| is_stale(c, now)) {
                // Times the provider knows and the CRM's copy does not (yet) are "Busy".
                if let Some(extra) = self.ask_provider(&conn, &user.email, from, to).await {
                    checked = true;
                    for (start, end) in extra {
                        if !busy.iter().any(|b| b.start <= start && b.end >= end) {
                            busy.push(Busy { start, end, all_day: false, subject: None, meeting_id: None });
                        }
                    }
                    busy.sort_by_key(|b| (b.start, b.end));
                }
            }
            Ok::<Lane, StoreError>(Lane { user_id: user.id.clone(), busy, synced_at, checked_at_provider: checked })
        });
        futures_util::future::join_all(lanes).await.into_iter().collect()
    }

    /// The mailbox's busy intervals at its provider, or None when it cannot tell in time.
    async fn ask_provider(&self, conn: &store::Connection, email: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
        let ask = async {
            let client = self.connections().open(conn, None).await.ok()?;
            let answer = client.free_busy(&[email.to_string()], from, to).await.ok()?;
            let mine = answer.into_iter().find(|f| f.email.eq_ignore_ascii_case(email)).filter(|f| f.error.is_none())?;
            Some(mine.busy.into_iter().map(|b| (b.start, b.end)).collect())
        };
        match tokio::time::timeout(ASK_TIMEOUT, ask).await {
            Ok(answer) => answer,
            Err(_) => {
                tracing::info!(connection = %conn.id, "free/busy did not answer in time; using the synced copy");
                None
            }
        }
    }
}

/// Whether the CRM's copy of this calendar may be missing changes.
fn is_stale(conn: &store::Connection, now: DateTime<Utc>) -> bool {
    let pushing = conn.push_id.is_some() && conn.push_expires_at.is_some_and(|t| t > now) && conn.push_error.is_empty();
    match conn.last_synced_at {
        None => true,
        Some(t) => now - t > if pushing { STALE_WITH_PUSH } else { STALE },
    }
}
