//! Outbound: a meeting's CRM state into one user's provider calendar (sync rules 2, 5, 6).
//!
//! The job says "make this calendar hold the meeting as the CRM has it now", not "apply this
//! edit", so edits that coalesced, retries and crashes all end the same way:
//! - **create** looks for the CRM id on the provider first: a create whose answer was lost (a
//!   crash between the provider call and recording it) is found, not made twice — and its
//!   invitations are not sent twice;
//! - **update** is conditional on the etag / ChangeKey; on a conflict the provider's event is
//!   read again and merged field by field with the CRM's change ([`crate::fields::merge3`]);
//! - **delete** of an event changed at the provider meanwhile loses: the meeting comes back
//!   with the provider's changes and the user is told.
//!
//! Invitations go only when the job carries [`crate::engine::SEND`] (F-EDIT-9, sync rule 6).

use providers::{ProviderError, ProviderEvent, SendInvitations};
use store::{CopyUpdate, StoreError, SyncMeeting};

use crate::engine::{Engine, Fail, Run};
use crate::fields::{apply, attendees_writable, draft, meeting_data, merge3, Fields};
use crate::inbound::conflict_notice;

/// Conflicting writes in a row before the job backs off (someone keeps changing the event).
const MAX_CONFLICTS: usize = 3;

impl Engine {
    pub(crate) async fn write_meeting(&self, run: &mut Run, meeting_id: &str, user_id: &str, send: bool) -> Result<(), Fail> {
        let store = self.store().clone();
        let tenant = run.conn.tenant_id.clone();
        let Some(mut m) = store.sync_meeting(&tenant, meeting_id).await? else {
            return Ok(()); // gone already (deleted at the provider, or a later job did it)
        };
        let mut tx = store.begin_sync(&tenant).await?;
        let copy = tx.copy_of(meeting_id, user_id).await?;
        tx.commit().await?;
        let Some(copy) = copy else { return Ok(()) };
        let client = self.client(run).await?;
        let zone = m.data.time_zone.clone();
        let sending = if send { SendInvitations::Yes } else { SendInvitations::No };
        let with_attendees = attendees_writable(run.kind, send);
        // Occurrences are found by their own id; only whole meetings carry the CRM id.
        let findable = m.data.original_start.is_none();

        let mut pid = copy.provider_event_id.clone();
        let mut etag = copy.etag.clone();
        let mut base = Fields::from_json(copy.synced.as_deref());
        if pid.is_none() && findable {
            if let Some(found) = client.find_by_crm_id(meeting_id).await? {
                // Made by an earlier attempt of this job whose answer never came back. If it
                // holds what the CRM has, that attempt did the whole job — invitations
                // included, when the job sends: they are not sent twice.
                self.record(run, &m, user_id, &found, &zone).await?;
                let found_fields = Fields::of(&meeting_data(&found, &zone));
                if !m.deleted && Fields::of(&m.data).same_for_write(&found_fields, with_attendees) {
                    return Ok(());
                }
                pid = Some(found.id.clone());
                etag = found.etag.clone();
                base = Some(found_fields);
            }
        }

        if m.deleted {
            if let Some(id) = &pid {
                match client.delete(id, etag.as_deref(), sending).await {
                    Ok(()) | Err(ProviderError::NotFound) => {}
                    Err(ProviderError::Conflict) => {
                        let remote = client.get(id).await?;
                        let remote_fields = Fields::of(&meeting_data(&remote, &zone));
                        if base.as_ref().is_some_and(|b| b.same_for_write(&remote_fields, true)) {
                            // Only the version moved (e.g. an attendee answered): delete it.
                            match client.delete(id, None, sending).await {
                                Ok(()) | Err(ProviderError::NotFound) => {}
                                Err(e) => return Err(e.into()),
                            }
                        } else {
                            return self.undelete(run, &m, user_id, &remote, &zone).await;
                        }
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            let mut tx = store.begin_sync(&tenant).await?;
            for c in tx.copies_of_meeting(meeting_id).await? {
                run.touched.insert(c.user_id);
            }
            tx.delete_meeting(meeting_id).await?;
            tx.commit().await?;
            run.changes += 1;
            return Ok(());
        }

        let Some(id) = pid else {
            let created = client.create(&draft(meeting_id, &m.data), sending).await?;
            self.record(run, &m, user_id, &created, &zone).await?;
            run.changes += 1;
            return Ok(());
        };

        for _ in 0..MAX_CONFLICTS {
            let local = Fields::of(&m.data);
            if !send && base.as_ref().is_some_and(|b| local.same_for_write(b, with_attendees)) {
                return Ok(()); // the calendar already holds it
            }
            match client.update(&id, etag.as_deref(), &draft(meeting_id, &m.data), sending).await {
                Ok(updated) => {
                    self.record(run, &m, user_id, &updated, &zone).await?;
                    run.changes += 1;
                    return Ok(());
                }
                Err(ProviderError::Conflict) => {
                    let remote = client.get(&id).await?;
                    let remote_data = meeting_data(&remote, &zone);
                    let remote_fields = Fields::of(&remote_data);
                    let merged = merge3(base.as_ref().unwrap_or(&remote_fields), &local, &remote_fields);
                    let data = apply(&m.data, &merged.fields, &[&remote_data]);
                    let mut tx = store.begin_sync(&tenant).await?;
                    if data != m.data && !tx.update_meeting(meeting_id, m.version, &data).await? {
                        // The user saved again meanwhile: their newer state is merged next round.
                        tx.commit().await?;
                    } else {
                        if !merged.conflicts.is_empty() {
                            tx.set_sync_notice(meeting_id, &conflict_notice(&merged.conflicts)).await?;
                        }
                        let synced = remote_fields.to_json();
                        let update = CopyUpdate { provider_event_id: &remote.id, etag: remote.etag.as_deref(), provider_series_id: remote.series_id.as_deref(), synced: &synced };
                        tx.put_copy(meeting_id, user_id, update).await?;
                        tx.commit().await?;
                        run.touched.insert(user_id.to_string());
                    }
                    m = store.sync_meeting(&tenant, meeting_id).await?.ok_or(StoreError::NotFound)?;
                    base = Some(remote_fields);
                    etag = remote.etag.clone();
                    if m.deleted {
                        return Err(Fail::Store(StoreError::Stale)); // deleted meanwhile: the job runs again as a delete
                    }
                }
                Err(ProviderError::NotFound) => {
                    // Deleted at the provider meanwhile: the provider owns existence.
                    let mut tx = store.begin_sync(&tenant).await?;
                    if let Some(c) = tx.copy_of(meeting_id, user_id).await? {
                        for other in tx.copies_of_meeting(meeting_id).await? {
                            run.touched.insert(other.user_id);
                        }
                        tx.delete_copy(&c).await?;
                    }
                    tx.commit().await?;
                    return Ok(());
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(Fail::Provider(ProviderError::Conflict))
    }

    /// Records what the provider now holds for the user's copy, and the meeting's iCalUID
    /// (joining a duplicate first seen in an attendee's calendar).
    async fn record(&self, run: &mut Run, m: &SyncMeeting, user_id: &str, ev: &ProviderEvent, zone: &str) -> Result<(), Fail> {
        let data = meeting_data(ev, zone);
        let synced = Fields::of(&data).to_json();
        let mut tx = self.store().begin_sync(&run.conn.tenant_id).await?;
        if let Some(uid) = &data.ical_uid {
            tx.claim_uid(&m.id, uid, m.data.original_start.or(data.original_start)).await?;
        }
        let update = CopyUpdate { provider_event_id: &ev.id, etag: ev.etag.as_deref(), provider_series_id: ev.series_id.as_deref(), synced: &synced };
        tx.put_copy(&m.id, user_id, update).await?;
        for c in tx.copies_of_meeting(&m.id).await? {
            run.touched.insert(c.user_id);
        }
        tx.commit().await?;
        Ok(())
    }

    /// A CRM delete lost to a change at the provider: the meeting is back, as the provider
    /// has it, and the user is told.
    async fn undelete(&self, run: &mut Run, m: &SyncMeeting, user_id: &str, remote: &ProviderEvent, zone: &str) -> Result<(), Fail> {
        let data = meeting_data(remote, zone);
        let synced = Fields::of(&data).to_json();
        let mut tx = self.store().begin_sync(&run.conn.tenant_id).await?;
        tx.restore_meeting(&m.id).await?;
        let restored = tx.meeting(&m.id).await?.ok_or(StoreError::NotFound)?;
        let mut data = apply(&restored.data, &Fields::of(&data), &[&data]);
        data.cancelled = restored.data.cancelled;
        tx.update_meeting(&m.id, restored.version, &data).await?;
        tx.set_sync_notice(&m.id, "Not deleted: it was changed in the calendar meanwhile. Delete it again if it should go.").await?;
        let update = CopyUpdate { provider_event_id: &remote.id, etag: remote.etag.as_deref(), provider_series_id: remote.series_id.as_deref(), synced: &synced };
        tx.put_copy(&m.id, user_id, update).await?;
        for c in tx.copies_of_meeting(&m.id).await? {
            run.touched.insert(c.user_id);
        }
        tx.commit().await?;
        run.changes += 1;
        Ok(())
    }
}
