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
//! Which step comes next is decided by [`crate::plan`], apart from the calls that carry it out.

use providers::{ProviderError, ProviderEvent, SendInvitations};
use store::{CopyUpdate, StoreError, SyncMeeting};

use crate::engine::{Engine, Fail, Run};
use crate::fields::{apply, draft, meeting_data, merge3, Fields, InFlight};
use crate::inbound::conflict_notice;
use crate::plan::{plan, AtProvider, Known, Plan};

/// Conflicting writes in a row before the job backs off (someone keeps changing the event).
const MAX_CONFLICTS: usize = 3;

impl Engine {
    /// `send`: the meeting version the user asked to send (None: a plain save). Each step is
    /// decided by [`plan`] from what is known so far, then carried out here.
    pub(crate) async fn write_meeting(&self, run: &mut Run, meeting_id: &str, user_id: &str, send: Option<i64>) -> Result<(), Fail> {
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
        // Occurrences are found by their own id; only whole meetings carry the CRM id.
        let whole_meeting = m.data.original_start.is_none();
        let mut pid = copy.provider_event_id.clone();
        let mut etag = copy.etag.clone();
        // What was last agreed with the provider, and what a write whose answer never came
        // back had sent (so our own write is not taken for someone else's change).
        let mut agreed = Fields::from_json(copy.synced.as_deref());
        let mut in_flight = InFlight::parse(copy.writing.as_deref());
        let mut at = match (&pid, whole_meeting) {
            (Some(_), _) => AtProvider::Known,
            (None, true) => AtProvider::NotLookedFor,
            (None, false) => AtProvider::Absent,
        };
        let mut found: Option<ProviderEvent> = None;
        let mut conflicts = 0;
        loop {
            let local = Fields::of(&m.data);
            let known = Known {
                kind: run.kind,
                deleted: m.deleted,
                at,
                local: &local,
                agreed: agreed.as_ref(),
                send_asked: send.is_some(),
                // A send already fulfilled (by an earlier run that died before the job was
                // done) is not repeated.
                send_owed: send.is_some_and(|version| copy.sent_version.is_none_or(|sent| sent < version)),
                whole_meeting,
            };
            match plan(&known) {
                Plan::Nothing => return Ok(()),
                Plan::Find => {
                    found = client.find_by_crm_id(meeting_id).await?;
                    at = if found.is_some() { AtProvider::Found } else { AtProvider::Absent };
                }
                Plan::Adopt { with_attendees } => {
                    // Made by an earlier attempt of this job whose answer was lost. What that
                    // attempt wrote is the base: the provider's differences from it are changes
                    // made there since (the phone), the CRM's are edits made here since.
                    let Some(event) = found.take() else { return Err(Fail::Store(StoreError::Stale)) };
                    pid = Some(event.id.clone());
                    etag = event.etag.clone();
                    at = AtProvider::Known;
                    let found_fields = Fields::of(&meeting_data(&event, &zone));
                    let wrote = in_flight.landed(&found_fields).or(in_flight.newest()).cloned().unwrap_or_else(|| Fields::of(&m.data));
                    if m.deleted {
                        self.record(run, &m, user_id, &event, &zone).await?;
                        agreed = Some(wrote);
                    } else {
                        let (now, needs_write) = self.absorb(run, m, user_id, &wrote, &event, &zone, with_attendees, Some(false), None).await?;
                        m = now;
                        agreed = Some(found_fields);
                        if !needs_write {
                            // The attempt did the whole job — invitations included: not sent twice.
                            return Ok(());
                        }
                    }
                }
                Plan::Forget => return self.forget(run, meeting_id, user_id).await,
                Plan::Delete { send: sending } => {
                    let id = pid.clone().unwrap_or_default();
                    match client.delete(&id, etag.as_deref(), sending).await {
                        Ok(()) | Err(ProviderError::NotFound) => {}
                        Err(ProviderError::Conflict) => {
                            let remote = client.get(&id).await?;
                            let remote_fields = Fields::of(&meeting_data(&remote, &zone));
                            // Changed at the provider since we last agreed — by someone else, not
                            // by a write of ours whose answer was lost?
                            let ours = in_flight.landed(&remote_fields).is_some();
                            if ours || agreed.as_ref().is_some_and(|b| b.same_for_write(&remote_fields, true)) {
                                // Only the version moved (e.g. an attendee answered): delete it.
                                match client.delete(&id, None, sending).await {
                                    Ok(()) | Err(ProviderError::NotFound) => {}
                                    Err(e) => return Err(e.into()),
                                }
                            } else {
                                return self.undelete(run, &m, user_id, &remote, &zone).await;
                            }
                        }
                        Err(e) => return Err(e.into()),
                    }
                    return self.forget(run, meeting_id, user_id).await;
                }
                Plan::Create { send: sending, with_attendees } => {
                    let sent = (sending == SendInvitations::Yes).then_some(m.version);
                    let wrote = written(&m, None, with_attendees);
                    self.note_writing(&tenant, meeting_id, user_id, &in_flight, &wrote, sent).await?;
                    let created = client.create(&draft(meeting_id, &m.data), sending).await?;
                    // The provider answers with the event as it now is. Anything in it we did
                    // not write was changed there in between (read-after-write is not atomic at
                    // every provider) or normalised by it: merged in as a change made at the
                    // provider, not taken as agreed.
                    self.absorb(run, m, user_id, &wrote, &created, &zone, with_attendees, Some(false), sent).await?;
                    run.changes += 1;
                    return Ok(());
                }
                Plan::Update { changed, send: sending, with_attendees } => {
                    conflicts += 1;
                    if conflicts > MAX_CONFLICTS {
                        return Err(Fail::Provider(ProviderError::Conflict));
                    }
                    let id = pid.clone().unwrap_or_default();
                    let sent = (sending == SendInvitations::Yes).then_some(m.version);
                    let wrote = written(&m, agreed.as_ref(), with_attendees);
                    self.note_writing(&tenant, meeting_id, user_id, &in_flight, &wrote, None).await?;
                    match client.update_fields(&id, etag.as_deref(), &draft(meeting_id, &m.data), changed, sending).await {
                        Ok(updated) => {
                            // A save made meanwhile has its own job queued.
                            self.absorb(run, m, user_id, &wrote, &updated, &zone, with_attendees, None, sent).await?;
                            run.changes += 1;
                            return Ok(());
                        }
                        Err(ProviderError::Conflict) => {
                            let remote = client.get(&id).await?;
                            let remote_fields = Fields::of(&meeting_data(&remote, &zone));
                            // Holding exactly what one of our writes sent (this one's or an earlier
                            // one whose answer was lost): it landed, and is the base.
                            let base = match in_flight.clone().with(wrote.clone()).landed(&remote_fields) {
                                Some(w) => w.clone(),
                                None => agreed.clone().unwrap_or_else(|| remote_fields.clone()),
                            };
                            let (now, needs_write) = self.absorb(run, m, user_id, &base, &remote, &zone, with_attendees, None, None).await?;
                            m = now;
                            agreed = Some(remote_fields);
                            etag = remote.etag.clone();
                            in_flight = InFlight::default(); // settled: the copy records the provider's state
                            if m.deleted {
                                return Err(Fail::Store(StoreError::Stale)); // deleted meanwhile: the job runs again as a delete
                            }
                            if !needs_write {
                                return Ok(());
                            }
                        }
                        Err(e @ ProviderError::Rejected { .. }) => {
                            // The provider refused this change (not a passing failure: asking
                            // again gets the same answer). Its version stays, and the user is told.
                            return self.refused(run, m, user_id, &id, &zone, &e).await;
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
            }
        }
    }

    /// After a CRM delete: the user's copy goes, and with it the meeting when no provider has
    /// it any more. Attendees who were not told (or whose provider keeps cancelled meetings)
    /// still have it in their calendars: it stays there, and so in the CRM.
    async fn forget(&self, run: &mut Run, meeting_id: &str, user_id: &str) -> Result<(), Fail> {
        let mut tx = self.store().begin_sync(&run.conn.tenant_id).await?;
        for c in tx.copies_of_meeting(meeting_id).await? {
            run.touched.insert(c.user_id);
        }
        match tx.copy_of(meeting_id, user_id).await? {
            Some(c) => {
                if !tx.delete_copy(&c).await? {
                    tx.restore_meeting(meeting_id).await?;
                }
            }
            None => tx.delete_meeting(meeting_id).await?,
        }
        tx.commit().await?;
        run.changes += 1;
        Ok(())
    }

    /// A change the provider refused: the meeting takes the provider's version again, the
    /// user reads why on the meeting (and the calendar moves it back), and the job is done.
    async fn refused(&self, run: &mut Run, m: SyncMeeting, user_id: &str, id: &str, zone: &str, why: &ProviderError) -> Result<(), Fail> {
        tracing::info!(meeting = %m.id, error = %why, "the provider refused a change");
        let remote = self.client(run).await?.get(id).await?;
        let remote_data = meeting_data(&remote, zone);
        let data = apply(&m.data, &Fields::of(&remote_data), &[&remote_data]);
        let mut tx = self.store().begin_sync(&run.conn.tenant_id).await?;
        if data != m.data && !tx.update_meeting(&m.id, m.version, &data).await? {
            // Saved again meanwhile: that newer edit has its own job.
            return Ok(());
        }
        let detail = match why {
            ProviderError::Rejected { message, .. } if !message.is_empty() => message.clone(),
            other => other.to_string(),
        };
        tx.set_sync_notice(&m.id, &domain::SyncNotice::Refused { detail }.to_stored()).await?;
        let synced = Fields::of(&remote_data).to_json();
        let update = CopyUpdate { provider_event_id: &remote.id, etag: remote.etag.as_deref(), provider_series_id: remote.series_id.as_deref(), synced: &synced, confirmed: None, sent_version: None };
        tx.put_copy(&m.id, user_id, update).await?;
        for c in tx.copies_of_meeting(&m.id).await? {
            run.touched.insert(c.user_id);
        }
        tx.commit().await?;
        run.changes += 1;
        Ok(())
    }

    /// Records, before a provider call, what it is about to write, beside earlier writes whose
    /// outcome is still unknown (see `SyncTx::set_writing`); `creating_sent`: a create that
    /// sends invitations at this version.
    async fn note_writing(&self, tenant: &str, meeting_id: &str, user_id: &str, earlier: &InFlight, fields: &Fields, creating_sent: Option<i64>) -> Result<(), Fail> {
        let mut tx = self.store().begin_sync(tenant).await?;
        tx.set_writing(meeting_id, user_id, &earlier.clone().with(fields.clone()).to_json(), creating_sent).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes in the provider's version of the meeting: merged with the CRM's against `base`,
    /// the meeting updated (the user told of clashes), the copy recorded as the provider has
    /// it (`sent_version`: written with invitations at that version). Returns the meeting as
    /// it is now and whether the provider still needs a write.
    #[allow(clippy::too_many_arguments)]
    async fn absorb(
        &self,
        run: &mut Run,
        m: SyncMeeting,
        user_id: &str,
        base: &Fields,
        remote: &ProviderEvent,
        zone: &str,
        with_attendees: bool,
        confirmed: Option<bool>,
        sent_version: Option<i64>,
    ) -> Result<(SyncMeeting, bool), Fail> {
        let store = self.store();
        let tenant = run.conn.tenant_id.clone();
        let remote_data = meeting_data(remote, zone);
        let remote_fields = Fields::of(&remote_data);
        let merged = merge3(base, &Fields::of(&m.data), &remote_fields);
        let data = apply(&m.data, &merged.fields, &[&remote_data]);
        let mut tx = store.begin_sync(&tenant).await?;
        let mut stale = false;
        if data != m.data {
            stale = !tx.update_meeting(&m.id, m.version, &data).await?;
            if !stale {
                run.touched.insert(user_id.to_string());
                run.changes += 1;
            }
        }
        if !merged.conflicts.is_empty() && !stale {
            tx.set_sync_notice(&m.id, &conflict_notice(&merged.conflicts)).await?;
        }
        let synced = remote_fields.to_json();
        if let Some(uid) = &remote_data.ical_uid {
            tx.claim_uid(&m.id, uid, m.data.original_start.or(remote_data.original_start)).await?;
        }
        let update = CopyUpdate { provider_event_id: &remote.id, etag: remote.etag.as_deref(), provider_series_id: remote.series_id.as_deref(), synced: &synced, confirmed, sent_version };
        tx.put_copy(&m.id, user_id, update).await?;
        for c in tx.copies_of_meeting(&m.id).await? {
            run.touched.insert(c.user_id);
        }
        tx.commit().await?;
        let now = store.sync_meeting(&tenant, &m.id).await?.ok_or(StoreError::NotFound)?;
        // Saved again meanwhile: that newer state still has to go out.
        let needs_write = stale || !Fields::of(&now.data).same_for_write(&remote_fields, with_attendees);
        Ok((now, needs_write))
    }

    /// Records what the provider holds for the user's copy of a meeting being deleted (made by
    /// an earlier attempt whose answer was lost), and the meeting's iCalUID.
    async fn record(&self, run: &mut Run, m: &SyncMeeting, user_id: &str, ev: &ProviderEvent, zone: &str) -> Result<(), Fail> {
        let data = meeting_data(ev, zone);
        let synced = Fields::of(&data).to_json();
        let mut tx = self.store().begin_sync(&run.conn.tenant_id).await?;
        if let Some(uid) = &data.ical_uid {
            tx.claim_uid(&m.id, uid, m.data.original_start.or(data.original_start)).await?;
        }
        let update = CopyUpdate { provider_event_id: &ev.id, etag: ev.etag.as_deref(), provider_series_id: ev.series_id.as_deref(), synced: &synced, confirmed: Some(false), sent_version: None };
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
        tx.set_sync_notice(&m.id, &domain::SyncNotice::NotDeleted.to_stored()).await?;
        let update = CopyUpdate { provider_event_id: &remote.id, etag: remote.etag.as_deref(), provider_series_id: remote.series_id.as_deref(), synced: &synced, confirmed: None, sent_version: None };
        tx.put_copy(&m.id, user_id, update).await?;
        for c in tx.copies_of_meeting(&m.id).await? {
            run.touched.insert(c.user_id);
        }
        tx.commit().await?;
        run.changes += 1;
        Ok(())
    }
}

/// What a write puts at the provider: the CRM's fields — but the attendee list only when the
/// write may carry it (otherwise the provider keeps its own).
fn written(m: &SyncMeeting, agreed: Option<&Fields>, with_attendees: bool) -> Fields {
    let mut f = Fields::of(&m.data);
    if !with_attendees {
        f.attendees = agreed.map(|a| a.attendees.clone()).unwrap_or_default();
    }
    f
}
