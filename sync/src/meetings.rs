//! CRM edits of meetings (F-EDIT-9, F-EDIT-11): each is one transaction — the meeting plus
//! the job that pushes it to the provider calendar it sits in (sync rule 2) — and a sync of
//! that calendar (F-CAL-1: changing a meeting refreshes). "Save" and "Save and send
//! invitations" differ only in the job's [`SEND`] flag.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use store::{Connection, MeetingData, NewJob, StoreError, SyncMeeting, SyncTx, User};

use crate::engine::{Engine, LiveEvent, WritePayload, SEND};
use crate::fields::{apply, Fields};

/// What the meeting editor submits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeetingInput {
    pub subject: String,
    pub location: String,
    pub description: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub all_day: bool,
    /// IANA zone the times were entered in.
    pub time_zone: String,
    pub private: bool,
    /// Attendees' e-mail addresses (CRM users and persons are linked by address).
    pub attendees: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("{0}")]
    Invalid(String),
    #[error("this meeting does not exist (any more)")]
    NotFound,
    #[error("the meeting was changed meanwhile; reload it and make your change again")]
    Stale,
    #[error("database: {0}")]
    Store(StoreError),
}

impl From<StoreError> for EditError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => EditError::NotFound,
            StoreError::Stale => EditError::Stale,
            other => EditError::Store(other),
        }
    }
}

impl MeetingInput {
    fn check(&self) -> Result<(), EditError> {
        if self.subject.trim().is_empty() {
            return Err(EditError::Invalid("The meeting needs a subject.".into()));
        }
        if self.end < self.start || (!self.all_day && self.end == self.start) {
            return Err(EditError::Invalid("The meeting must end after it starts.".into()));
        }
        for a in &self.attendees {
            let a = a.trim();
            if a.len() > 254 || !a.contains('@') || a.starts_with('@') || a.ends_with('@') || a.contains(char::is_whitespace) {
                return Err(EditError::Invalid(format!("{a:?} is not an e-mail address.")));
            }
        }
        Ok(())
    }

    fn fields(&self, organiser_email: &str) -> Fields {
        Fields {
            subject: self.subject.trim().to_string(),
            location: self.location.trim().to_string(),
            description: self.description.replace("\r\n", "\n").trim_end().to_string(),
            start: self.start.timestamp(),
            end: self.end.timestamp(),
            all_day: self.all_day,
            private: self.private,
            attendees: self
                .attendees
                .iter()
                .map(|a| a.trim().to_ascii_lowercase())
                .filter(|a| !a.eq_ignore_ascii_case(organiser_email))
                .collect::<BTreeSet<_>>(),
        }
    }
}

impl Engine {
    /// A new meeting in `calendar`'s calendar (theirs, or a colleague's when booking on their
    /// behalf), organised by them. Returns its id.
    pub async fn create_meeting(&self, tenant_id: &str, calendar: &User, input: &MeetingInput, send: bool) -> Result<String, EditError> {
        input.check()?;
        let organiser = calendar.email.to_ascii_lowercase();
        let blank = MeetingData {
            subject: String::new(),
            location: String::new(),
            description: String::new(),
            start: input.start,
            end: input.end,
            all_day: input.all_day,
            time_zone: input.time_zone.clone(),
            private: false,
            cancelled: false,
            organiser_email: organiser.clone(),
            ical_uid: None,
            original_start: None,
            is_exception: false,
            attendees: Vec::new(),
        };
        let mut data = apply(&blank, &input.fields(&organiser), &[]);
        data.time_zone = input.time_zone.clone();
        let conn = self.store().connection_of_user(tenant_id, &calendar.id).await?;
        let mut tx = self.store().begin_sync(tenant_id).await?;
        let id = tx.insert_meeting(&data).await?;
        tx.add_local_copy(&id, &calendar.id).await?;
        if let Some(conn) = &conn {
            queue_write(&mut tx, conn, &id, &calendar.id, send).await?;
        }
        tx.commit().await?;
        self.edited(tenant_id, &[calendar.id.clone()]);
        Ok(id)
    }

    /// Changes a meeting the editor can see in full. `version` is the one the editor loaded:
    /// a meeting changed since gives [`EditError::Stale`] (nothing is overwritten blindly).
    pub async fn update_meeting(&self, tenant_id: &str, editor: &User, meeting_id: &str, version: i64, input: &MeetingInput, send: bool) -> Result<(), EditError> {
        input.check()?;
        let mut tx = self.store().begin_sync(tenant_id).await?;
        let m = editable(&mut tx, editor, meeting_id).await?;
        if m.version != version {
            return Err(EditError::Stale);
        }
        let mut data = apply(&m.data, &input.fields(&m.data.organiser_email), &[]);
        data.time_zone = input.time_zone.clone();
        if !tx.update_meeting(meeting_id, version, &data).await? {
            return Err(EditError::Stale);
        }
        tx.set_sync_notice(meeting_id, "").await?;
        let users = self.queue_for_writer(&mut tx, tenant_id, editor, &m, send).await?;
        tx.commit().await?;
        self.edited(tenant_id, &users);
        Ok(())
    }

    /// Deletes a meeting (F-EDIT-11), with or without cancellations to the attendees.
    pub async fn delete_meeting(&self, tenant_id: &str, editor: &User, meeting_id: &str, version: i64, send: bool) -> Result<(), EditError> {
        let mut tx = self.store().begin_sync(tenant_id).await?;
        let m = editable(&mut tx, editor, meeting_id).await?;
        if m.version != version {
            return Err(EditError::Stale);
        }
        let users: Vec<String> = tx.copies_of_meeting(meeting_id).await?.into_iter().map(|c| c.user_id).collect();
        if !tx.mark_deleted(meeting_id, version).await? {
            return Err(EditError::Stale);
        }
        let queued = self.queue_for_writer(&mut tx, tenant_id, editor, &m, send).await?;
        if queued.is_empty() {
            // In no connected calendar: nothing to tell a provider.
            tx.delete_meeting(meeting_id).await?;
        }
        tx.commit().await?;
        self.edited(tenant_id, &users);
        Ok(())
    }

    /// Queues the write to the calendar the CRM writes this meeting to: the organiser's when
    /// they are connected and have it, else the editor's own copy. Returns the users whose
    /// calendars show it (empty when no connected calendar has it).
    async fn queue_for_writer(&self, tx: &mut SyncTx, tenant_id: &str, editor: &User, m: &SyncMeeting, send: bool) -> Result<Vec<String>, EditError> {
        let copies = tx.copies_of_meeting(&m.id).await?;
        let users: Vec<String> = copies.iter().map(|c| c.user_id.clone()).collect();
        let mut candidates: Vec<&str> = Vec::new();
        if let Some(o) = &m.organiser_user_id {
            candidates.push(o);
        }
        candidates.push(&editor.id);
        for user in candidates {
            if !users.iter().any(|u| u == user) {
                continue;
            }
            if let Some(conn) = self.store().connection_of_user(tenant_id, user).await? {
                queue_write(tx, &conn, &m.id, user, send).await?;
                return Ok(users);
            }
        }
        Ok(Vec::new())
    }

    fn edited(&self, tenant_id: &str, users: &[String]) {
        self.publish(LiveEvent::Calendar { tenant_id: tenant_id.to_string(), user_ids: users.to_vec() });
        self.publish(LiveEvent::Jobs);
    }
}

/// The meeting, if the editor may change it: not deleted, and if private, theirs.
async fn editable(tx: &mut SyncTx, editor: &User, meeting_id: &str) -> Result<SyncMeeting, EditError> {
    let m = tx.meeting(meeting_id).await?.filter(|m| !m.deleted).ok_or(EditError::NotFound)?;
    if m.data.private {
        let copies = tx.copies_of_meeting(meeting_id).await?;
        let involved = m.organiser_user_id.as_deref() == Some(editor.id.as_str())
            || copies.iter().any(|c| c.user_id == editor.id)
            || m.data.attendees.iter().any(|a| a.email.eq_ignore_ascii_case(&editor.email));
        if !involved {
            // Other users only see "Busy": to them it does not exist as a meeting.
            return Err(EditError::NotFound);
        }
    }
    Ok(m)
}

async fn queue_write(tx: &mut SyncTx, conn: &Connection, meeting_id: &str, user_id: &str, send: bool) -> Result<(), StoreError> {
    let send_version = match send {
        true => tx.meeting(meeting_id).await?.map(|m| m.version),
        false => None,
    };
    let payload = serde_json::to_string(&WritePayload { meeting_id: meeting_id.to_string(), user_id: user_id.to_string(), send_version }).expect("payload serialises");
    let key = format!("write:{meeting_id}:{user_id}");
    let now = Utc::now();
    tx.enqueue(NewJob { connection_id: Some(&conn.id), kind: "write", coalesce_key: Some(&key), payload: &payload, run_at: now, flags: if send { SEND } else { 0 } }).await?;
    let sync_key = format!("sync:{}", conn.id);
    tx.enqueue(NewJob { connection_id: Some(&conn.id), kind: "sync", coalesce_key: Some(&sync_key), payload: "{}", run_at: now, flags: 0 }).await?;
    Ok(())
}
