//! Inbound: the provider's changes into the CRM (sync rule 3).
//!
//! A round without a cursor lists the whole window; at its end every copy in the window the
//! round did not see is gone at the provider. That is also how an expired cursor is handled:
//! a full round that **reconciles** — events are matched to what the CRM has by provider id,
//! CRM id and iCalUID, so nothing is wiped and re-created and no CRM link is lost. Later
//! rounds continue from the cursor. Each page is applied in one transaction together with the
//! cursor that follows it, so a crash repeats at most one page.
//!
//! The same meeting in several users' calendars (the provider delivered the invitation) is
//! one CRM meeting with one copy per calendar (F-X-3): matched by iCalUID (and, for an
//! occurrence, its slot in the series).

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use providers::{Change, ProviderError, ProviderEvent, Window};
use store::{Copy, CopyUpdate, StoreError, SyncTx};

use crate::engine::{Engine, Fail, LiveEvent, Run};
use crate::fields::{apply, meeting_data, merge3, merge_base, Fields};

/// Changes applied per transaction.
const CHUNK: usize = 100;

/// Full rounds at most this many times per job (a cursor that expires during the round that
/// replaces it means the provider is in trouble; retry later).
const MAX_ROUNDS: usize = 2;

/// Copies this close to the window's edges are not reconciled: providers disagree on how an
/// all-day event at the edge overlaps a UTC window.
const EDGE: Duration = Duration::days(1);

impl Engine {
    pub(crate) async fn sync_calendar(&self, run: &mut Run, mut full: bool) -> Result<(), Fail> {
        let store = self.store().clone();
        let conn = run.conn.clone();
        if conn.status == domain::connection::ConnectionStatus::NeedsReconnect {
            return Err(Fail::Provider(ProviderError::ReauthorizationRequired(conn.status_reason.detail().to_string())));
        }
        store.set_syncing(&conn.tenant_id, &conn.id, Some(Utc::now())).await?;
        self.publish(LiveEvent::Status { tenant_id: conn.tenant_id.clone(), user_id: conn.user_id.clone() });
        let zone = store.user(&conn.tenant_id, &conn.user_id).await?.time_zone;

        let window = self.window(Utc::now());
        let cfg = self.config();
        let stale = conn.cursor_window.is_none_or(|(from, _)| from < window.from - cfg.window_slide);
        full |= conn.sync_cursor.is_none() || stale;
        let client = self.client(run).await?;
        let mut rounds = 0;
        'rounds: loop {
            rounds += 1;
            let mut cursor = if full { None } else { conn.sync_cursor.clone() };
            // A full round's window is the one it started with; an incremental round keeps its cursor's.
            let round_window = if full { window } else { conn.cursor_window.map(|(from, to)| Window { from, to }).unwrap_or(window) };
            let mut seen: HashSet<String> = HashSet::new();
            loop {
                let page = match client.changes(cursor.as_deref(), round_window).await {
                    Ok(p) => p,
                    Err(ProviderError::CursorExpired) if rounds < MAX_ROUNDS => {
                        tracing::info!(connection = %conn.id, "sync cursor expired: full sync to reconcile");
                        full = true;
                        continue 'rounds;
                    }
                    Err(e) => return Err(e.into()),
                };
                let last = !page.more;
                // A page, and the cursor after it, land together. A full round's page
                // cursors are only good within the round; its final cursor is stored with
                // the reconciliation at the end.
                // Applied in short transactions (a big page would hold SQLite's write lock for
                // seconds, starving everyone else); re-applying a chunk is harmless, so only the
                // last one carries the cursor — a crash repeats the page, loses nothing.
                let chunks: Vec<&[Change]> = if page.changes.is_empty() { vec![&[]] } else { page.changes.chunks(CHUNK).collect() };
                let count = chunks.len();
                for (i, chunk) in chunks.into_iter().enumerate() {
                    let final_chunk = i + 1 == count;
                    let mut attempt = 0;
                    loop {
                        attempt += 1;
                        let mut tx = store.begin_sync(&conn.tenant_id).await?;
                        let mut touched = Vec::new();
                        let applied = async {
                            let mut changes = 0;
                            for change in chunk {
                                changes += apply_change(&mut tx, &conn.user_id, &zone, change, &mut seen, &mut touched).await?;
                            }
                            if final_chunk && last && full {
                                changes += reconcile(&mut tx, &conn.user_id, round_window, &seen, &mut touched).await?;
                            }
                            if final_chunk && (!full || last) {
                                tx.set_cursor(&conn.id, Some(&page.cursor), Some((round_window.from, round_window.to))).await?;
                            }
                            Ok::<i64, StoreError>(changes)
                        }
                        .await;
                        match applied {
                            Ok(n) => {
                                tx.commit().await?;
                                run.changes += n;
                                run.touched.extend(touched);
                                break;
                            }
                            // Another calendar's sync added the same meeting meanwhile, or the
                            // user edited it: read again and re-apply.
                            Err(StoreError::Conflict(_) | StoreError::Stale) if attempt < 3 => continue,
                            Err(e) => return Err(e.into()),
                        }
                    }
                }
                if last {
                    break 'rounds;
                }
                cursor = Some(page.cursor);
            }
        }
        self.confirm_own_writes(run, client.as_ref(), &zone).await?;
        store.finish_sync(&conn.tenant_id, &conn.id, Utc::now(), Ok(())).await?;
        self.publish(LiveEvent::Status { tenant_id: conn.tenant_id.clone(), user_id: conn.user_id.clone() });
        Ok(())
    }

    /// Copies the CRM created at the provider that no round has reported yet are asked for by
    /// id: a cursor issued before they existed may never mention them, not even when they are
    /// deleted at the provider before the next sync (EWS and Graph report nothing for an item
    /// created and deleted between two syncs).
    async fn confirm_own_writes(&self, run: &mut Run, client: &dyn providers::CalendarProvider, zone: &str) -> Result<(), Fail> {
        let store = self.store();
        let conn = &run.conn;
        let mut tx = store.begin_sync(&conn.tenant_id).await?;
        let pending = tx.unconfirmed_copies(&conn.user_id, 50).await?;
        tx.commit().await?;
        for copy in pending {
            let Some(pid) = copy.provider_event_id.clone() else { continue };
            let change = match client.get(&pid).await {
                Ok(ev) if !ev.cancelled => Change::Upserted(ev),
                Ok(_) | Err(ProviderError::NotFound) => Change::Deleted { id: pid.clone(), series_id: None, original_start: None },
                Err(e) => return Err(e.into()),
            };
            let mut tx = store.begin_sync(&conn.tenant_id).await?;
            let mut touched = Vec::new();
            run.changes += apply_change(&mut tx, &conn.user_id, zone, &change, &mut HashSet::new(), &mut touched).await?;
            tx.commit().await?;
            run.touched.extend(touched);
        }
        Ok(())
    }

    /// The window a full round covers now (whole days).
    pub fn window(&self, now: DateTime<Utc>) -> Window {
        let day = |t: DateTime<Utc>| t.date_naive().and_hms_opt(0, 0, 0).expect("midnight").and_utc();
        Window { from: day(now - self.config().window_back), to: day(now + self.config().window_ahead) }
    }
}

/// Applies one change for `user_id`'s calendar; returns how many meetings it changed.
async fn apply_change(
    tx: &mut SyncTx,
    user_id: &str,
    zone: &str,
    change: &Change,
    seen: &mut HashSet<String>,
    touched: &mut Vec<String>,
) -> Result<i64, StoreError> {
    match change {
        Change::Upserted(ev) => upsert(tx, user_id, zone, ev, None, seen, touched).await,
        Change::Deleted { id, series_id, original_start } => {
            if let Some(copy) = tx.copy_by_provider_id(user_id, id).await? {
                return remove(tx, &copy, touched).await;
            }
            // A series master: all its occurrences go.
            let mut n = 0;
            for (copy, _) in tx.copies_of_series(user_id, id).await? {
                n += remove(tx, &copy, touched).await?;
            }
            // A cancelled occurrence known only by its slot.
            if let (Some(series), Some(slot)) = (series_id, original_start) {
                for (copy, start) in tx.copies_of_series(user_id, series).await? {
                    if start == Some(*slot) {
                        n += remove(tx, &copy, touched).await?;
                    }
                }
            }
            Ok(n)
        }
        Change::SeriesReplaced { series_id, occurrences } => {
            let mut n = 0;
            let mut current = HashSet::new();
            for occ in occurrences {
                current.insert(occ.id.clone());
                n += upsert(tx, user_id, zone, occ, Some(series_id), seen, touched).await?;
            }
            for (copy, _) in tx.copies_of_series(user_id, series_id).await? {
                if copy.provider_event_id.as_ref().is_some_and(|id| !current.contains(id)) {
                    n += remove(tx, &copy, touched).await?;
                }
            }
            Ok(n)
        }
    }
}

async fn upsert(
    tx: &mut SyncTx,
    user_id: &str,
    zone: &str,
    ev: &ProviderEvent,
    series: Option<&String>,
    seen: &mut HashSet<String>,
    touched: &mut Vec<String>,
) -> Result<i64, StoreError> {
    if ev.kind == providers::EventKind::SeriesMaster {
        // Series are stored as their occurrences.
        return Ok(0);
    }
    seen.insert(ev.id.clone());
    let remote = meeting_data(ev, zone);
    let remote_fields = Fields::of(&remote);
    let synced = remote_fields.to_json();
    let series_id = ev.series_id.as_deref().or(series.map(String::as_str));
    let record = CopyUpdate { provider_event_id: &ev.id, etag: ev.etag.as_deref(), provider_series_id: series_id, synced: &synced, confirmed: Some(true), sent_version: None };

    // Which CRM meeting is this? By provider id, then CRM id, then iCalUID (+ slot).
    let mut copy = tx.copy_by_provider_id(user_id, &ev.id).await?;
    let crm_meeting = match &ev.crm_id {
        Some(id) => tx.meeting(id).await?.map(|m| m.id),
        None => None,
    };
    if let (Some(c), Some(crm)) = (&copy, &crm_meeting) {
        if c.meeting_id != *crm {
            // First seen without its CRM id (Graph's delta does not carry it), now known.
            tx.absorb(crm, &c.meeting_id.clone()).await?;
            copy = tx.copy_of(crm, user_id).await?;
        }
    }
    let mut meeting_id = copy.as_ref().map(|c| c.meeting_id.clone()).or(crm_meeting);
    if meeting_id.is_none() {
        if let Some(uid) = &remote.ical_uid {
            meeting_id = tx.meeting_id_by_uid(uid, remote.original_start).await?;
        }
    }
    let Some(meeting_id) = meeting_id else {
        let id = tx.insert_meeting(&remote).await?;
        // No copy holds this provider id (looked up above, in this transaction).
        tx.put_new_copy(&id, user_id, record).await?;
        touched.push(user_id.to_string());
        return Ok(1);
    };
    let copy = match copy {
        Some(c) if c.meeting_id == meeting_id => Some(c),
        _ => tx.copy_of(&meeting_id, user_id).await?,
    };
    let Some(m) = tx.meeting(&meeting_id).await? else { return Err(StoreError::Stale) };
    if let Some(uid) = &remote.ical_uid {
        if m.data.ical_uid.as_deref() != Some(uid) {
            tx.claim_uid(&meeting_id, uid, remote.original_start).await?;
        }
    }
    if m.deleted {
        // Deleted in the CRM, the provider delete still queued: keep the id it needs.
        tx.put_copy(&meeting_id, user_id, record).await?;
        return Ok(0);
    }
    // A copy joining the meeting (or one not yet agreed) takes the provider's state as base:
    // it brings nothing the CRM has not decided on, and loses no CRM edit.
    let base = copy.as_ref().and_then(|c| merge_base(c.synced.as_deref(), c.writing.as_deref(), &remote_fields)).unwrap_or_else(|| remote_fields.clone());
    let local = Fields::of(&m.data);
    let merged = merge3(&base, &local, &remote_fields);
    let mut data = apply(&remote, &merged.fields, &[&m.data]);
    if data.ical_uid.is_none() {
        data.ical_uid = m.data.ical_uid.clone();
    }
    let mut changed = 0;
    if data != m.data {
        if !tx.update_meeting(&meeting_id, m.version, &data).await? {
            return Err(StoreError::Stale);
        }
        changed = 1;
        for c in tx.copies_of_meeting(&meeting_id).await? {
            touched.push(c.user_id);
        }
        touched.push(user_id.to_string());
    }
    if !merged.conflicts.is_empty() {
        tx.set_sync_notice(&meeting_id, &conflict_notice(&merged.conflicts)).await?;
    }
    tx.put_copy(&meeting_id, user_id, record).await?;
    Ok(changed)
}

/// The stored notice for a merge that kept the calendar's value of these fields.
pub(crate) fn conflict_notice(fields: &[&str]) -> String {
    domain::SyncNotice::Conflict { fields: fields.iter().map(|f| f.to_string()).collect() }.to_stored()
}

/// The copy left the user's calendar.
async fn remove(tx: &mut SyncTx, copy: &Copy, touched: &mut Vec<String>) -> Result<i64, StoreError> {
    for c in tx.copies_of_meeting(&copy.meeting_id).await? {
        touched.push(c.user_id);
    }
    tx.delete_copy(copy).await?;
    Ok(1)
}

/// End of a full round: copies in the window the round did not list are gone.
async fn reconcile(tx: &mut SyncTx, user_id: &str, window: Window, seen: &HashSet<String>, touched: &mut Vec<String>) -> Result<i64, StoreError> {
    let mut n = 0;
    for copy in tx.provider_copies_in_window(user_id, window.from + EDGE, window.to - EDGE).await? {
        if copy.provider_event_id.as_ref().is_some_and(|id| !seen.contains(id)) {
            n += remove(tx, &copy, touched).await?;
        }
    }
    Ok(n)
}
