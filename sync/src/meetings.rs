//! CRM edits of meetings (F-EDIT-9, F-EDIT-11): each is one transaction — the meeting plus
//! the job that pushes it to the provider calendar it sits in (sync rule 2) — and a sync of
//! that calendar (F-CAL-1: changing a meeting refreshes). "Save" and "Save and send
//! invitations" differ only in the job's [`SEND`] flag.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use domain::access::{Access, Relation};
use domain::Role;
use store::{Connection, JobKind, LinkedAttendee, MeetingData, NewJob, OrganisationLink, StoreError, SyncMeeting, SyncTx, User};

use crate::engine::{Engine, LiveEvent, WritePayload, SEND};
use crate::fields::{apply, Fields};
use domain::Problem;

/// Limits on what the editor may send (checked on the server; providers have their own,
/// larger ones).
pub const MAX_SUBJECT: usize = 255;
pub const MAX_LOCATION: usize = 255;
pub const MAX_DESCRIPTION: usize = 32_000;
pub const MAX_ATTENDEES: usize = 200;
pub const MAX_ORGANISATIONS: usize = 50;

/// What the meeting editor submits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeetingInput {
    pub subject: String,
    pub location: String,
    pub description: String,
    /// The meeting's HTML body stays as it is (`description` is then not looked at): the
    /// editor shows an HTML body sanitised and keeps it unless the user rewrites it as text.
    /// Nobody writes HTML through the CRM; an unchanged body is never written back.
    pub keep_html_description: bool,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub all_day: bool,
    /// IANA zone the times were entered in.
    pub time_zone: String,
    pub private: bool,
    /// Attendees' e-mail addresses (CRM users and persons are linked by address).
    pub attendees: Vec<String>,
    /// Organisations the meeting is linked to in the CRM (never sent to a provider).
    pub organisations: Vec<String>,
}

/// A meeting as one user may see it, and what they may do with it.
#[derive(Clone, Debug)]
pub struct ViewedMeeting {
    pub meeting: SyncMeeting,
    pub access: Access,
    pub attendees: Vec<LinkedAttendee>,
    pub organisations: Vec<OrganisationLink>,
    /// What the meeting's last sync left to say.
    pub notice: String,
}

/// See [`Engine::move_question`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MoveQuestion {
    pub attendees: usize,
    pub can_keep_quiet: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// Input the user can correct; `field` names the editor's field it concerns.
    #[error("invalid {field:?}: {problem:?}")]
    Invalid { field: Option<&'static str>, problem: Problem },
    #[error("this meeting does not exist (any more)")]
    NotFound,
    /// The user may see the meeting but not make this change (F-X-1).
    #[error("not allowed to change this meeting")]
    Forbidden,
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
        let invalid = |field, problem| Err(EditError::Invalid { field: Some(field), problem });
        if self.subject.trim().is_empty() {
            return invalid("subject", Problem::SubjectMissing);
        }
        for (field, value, max) in [("subject", self.subject.as_str(), MAX_SUBJECT), ("location", self.location.as_str(), MAX_LOCATION), ("description", self.description.as_str(), MAX_DESCRIPTION)] {
            if value.chars().count() > max {
                return invalid(field, Problem::TooLong { max });
            }
        }
        if self.end < self.start || (!self.all_day && self.end == self.start) {
            return invalid("end", Problem::EndBeforeStart);
        }
        if self.organisations.len() > MAX_ORGANISATIONS {
            return invalid("organisations", Problem::TooManyAttendees { max: MAX_ORGANISATIONS });
        }
        if self.attendees.len() > MAX_ATTENDEES {
            return invalid("attendees", Problem::TooManyAttendees { max: MAX_ATTENDEES });
        }
        for a in &self.attendees {
            let a = a.trim();
            if a.len() > 254 || !a.contains('@') || a.starts_with('@') || a.ends_with('@') || a.contains(char::is_whitespace) {
                return invalid("attendees", Problem::NotAnEmail { value: a.chars().take(254).collect() });
            }
        }
        Ok(())
    }

    fn fields(&self, organiser_email: &str) -> Fields {
        Fields {
            subject: self.subject.trim().to_string(),
            location: self.location.trim().to_string(),
            description: self.description.replace("\r\n", "\n").trim_end().to_string(),
            description_html: false,
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
    /// A new meeting in `calendar`'s calendar, organised by them: the booker's own, or a
    /// colleague's when booking on their behalf (F-EDIT-2; the meeting records who booked it,
    /// and the booker attends only when chosen as an attendee). Returns its id.
    pub async fn create_meeting(&self, tenant_id: &str, booker: &User, calendar: &User, input: &MeetingInput, send: bool) -> Result<String, EditError> {
        input.check()?;
        if input.keep_html_description {
            return Err(EditError::Invalid { field: Some("description"), problem: Problem::NotAChoice });
        }
        if booker.tenant_id != calendar.tenant_id || calendar.tenant_id != tenant_id {
            return Err(EditError::NotFound);
        }
        let organiser = calendar.email.to_ascii_lowercase();
        let blank = MeetingData {
            subject: String::new(),
            location: String::new(),
            description: String::new(),
            description_html: false,
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
        tx.set_organisation_links(&id, &input.organisations).await.map_err(|e| organisation_error(e.into()))?;
        if booker.id != calendar.id {
            tx.set_booked_by(&id, &booker.id).await?;
        }
        if let Some(conn) = &conn {
            queue_write(&mut tx, conn, &id, &calendar.id, send).await?;
        }
        let mut users = vec![calendar.id.clone()];
        users.extend(self.crm_only_copies(&mut tx, tenant_id, &id, &calendar.id).await?);
        tx.commit().await?;
        self.edited(tenant_id, &users);
        Ok(id)
    }

    /// The meeting as `viewer` may see it (F-CAL-10, F-X-1): NotFound for someone else's
    /// private meeting (to them it is only "Busy") and for another company's.
    pub async fn meeting_for(&self, tenant_id: &str, viewer: &User, meeting_id: &str) -> Result<ViewedMeeting, EditError> {
        let mut tx = self.store().begin_sync(tenant_id).await?;
        let (meeting, access) = with_access(&mut tx, viewer, meeting_id, Access::Read).await?;
        let attendees = tx.linked_attendees(meeting_id).await?;
        let organisations = tx.organisation_links(meeting_id).await?;
        tx.commit().await?;
        let notice = self.store().meeting_notice(tenant_id, meeting_id).await?;
        Ok(ViewedMeeting { meeting, access, attendees, organisations, notice })
    }

    /// Changes a meeting: all of it for those who may ([`Access::Full`]), only its
    /// organisation links for its attendees ([`Access::Links`]; the rest of `input` is then
    /// not looked at). `version` is the one the editor loaded: a meeting changed since gives
    /// [`EditError::Stale`] (nothing is overwritten blindly).
    pub async fn update_meeting(&self, tenant_id: &str, editor: &User, meeting_id: &str, version: i64, input: &MeetingInput, send: bool) -> Result<(), EditError> {
        let mut tx = self.store().begin_sync(tenant_id).await?;
        let (m, access) = with_access(&mut tx, editor, meeting_id, Access::Links).await?;
        if m.version != version {
            return Err(EditError::Stale);
        }
        if access < Access::Full {
            if input.organisations.len() > MAX_ORGANISATIONS {
                return Err(EditError::Invalid { field: Some("organisations"), problem: Problem::TooManyAttendees { max: MAX_ORGANISATIONS } });
            }
            tx.set_organisation_links(meeting_id, &input.organisations).await.map_err(|e| organisation_error(e.into()))?;
            tx.commit().await?;
            self.edited(tenant_id, &[]);
            return Ok(());
        }
        input.check()?;
        let mut fields = input.fields(&m.data.organiser_email);
        if input.keep_html_description {
            if !m.data.description_html {
                return Err(EditError::Invalid { field: Some("description"), problem: Problem::NotAChoice });
            }
            let stored = Fields::of(&m.data);
            (fields.description, fields.description_html) = (stored.description, true);
        }
        let mut data = apply(&m.data, &fields, &[]);
        data.time_zone = input.time_zone.clone();
        if !tx.update_meeting(meeting_id, version, &data).await? {
            return Err(EditError::Stale);
        }
        tx.set_sync_notice(meeting_id, "").await?;
        tx.set_organisation_links(meeting_id, &input.organisations).await.map_err(|e| organisation_error(e.into()))?;
        let mut users = self.queue_for_writer(&mut tx, tenant_id, editor, &m, send).await?;
        let organiser = m.organiser_user_id.as_deref().unwrap_or(editor.id.as_str());
        users.extend(self.crm_only_copies(&mut tx, tenant_id, meeting_id, organiser).await?);
        tx.commit().await?;
        self.edited(tenant_id, &users);
        Ok(())
    }

    /// Moves or resizes a meeting on the calendar (F-X-10): only its time changes, and only
    /// its time is written to the provider (nothing else of the event is touched, so an
    /// Outlook meeting keeps its HTML description and its Teams link). For now only the
    /// organiser moves a meeting, in their own calendar. Returns the meeting's new version.
    pub async fn move_meeting(
        &self,
        tenant_id: &str,
        editor: &User,
        meeting_id: &str,
        version: i64,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        send: bool,
    ) -> Result<i64, EditError> {
        let mut tx = self.store().begin_sync(tenant_id).await?;
        let m = movable(&mut tx, editor, meeting_id).await?;
        if m.version != version {
            return Err(EditError::Stale);
        }
        if end < start || (!m.data.all_day && end == start) {
            return Err(EditError::Invalid { field: Some("end"), problem: Problem::EndBeforeStart });
        }
        let data = MeetingData { start, end, ..m.data.clone() };
        if !tx.update_meeting(meeting_id, version, &data).await? {
            return Err(EditError::Stale);
        }
        tx.set_sync_notice(meeting_id, "").await?;
        let users = self.queue_for_writer(&mut tx, tenant_id, editor, &m, send).await?;
        tx.commit().await?;
        self.edited(tenant_id, &users);
        Ok(version + 1)
    }

    /// Books a meeting into a colleague's calendar instead (F-EDIT-2: a meeting dragged to
    /// their lane in the schedule), at `start`–`end`: they organise it, `editor` booked it,
    /// with the same content, attendees and chosen organisations. Providers cannot hand an
    /// event to another organiser, so it is a new meeting in their calendar and the old one
    /// is deleted — with `send`, the attendees get the new invitation and the cancellation;
    /// without, nobody hears of it. Returns the new meeting's id.
    #[allow(clippy::too_many_arguments)]
    pub async fn rebook_meeting(
        &self,
        tenant_id: &str,
        editor: &User,
        meeting_id: &str,
        version: i64,
        to: &User,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        send: bool,
    ) -> Result<String, EditError> {
        if to.tenant_id != tenant_id {
            return Err(EditError::NotFound);
        }
        let mut tx = self.store().begin_sync(tenant_id).await?;
        let old = movable(&mut tx, editor, meeting_id).await?;
        if old.version != version {
            return Err(EditError::Stale);
        }
        if old.data.original_start.is_some() || old.organiser_user_id.as_deref() == Some(to.id.as_str()) {
            // One occurrence cannot leave its series; their own meeting is simply moved.
            return Err(EditError::Invalid { field: None, problem: Problem::NotMovable });
        }
        if end < start || (!old.data.all_day && end == start) {
            return Err(EditError::Invalid { field: Some("end"), problem: Problem::EndBeforeStart });
        }
        let organiser = to.email.to_ascii_lowercase();
        let mut data = MeetingData {
            start,
            end,
            organiser_email: organiser.clone(),
            ical_uid: None,
            cancelled: false,
            original_start: None,
            is_exception: false,
            ..old.data.clone()
        };
        // The attendees stay (answers start again: it is a new invitation); the old organiser
        // and the new one are not attendees of it.
        data.attendees.retain(|a| !a.is_organiser && !a.email.eq_ignore_ascii_case(&old.data.organiser_email) && !a.email.eq_ignore_ascii_case(&organiser));
        for a in &mut data.attendees {
            a.response = "needsAction".into();
        }
        let chosen: Vec<String> = tx.organisation_links(meeting_id).await?.into_iter().filter(|l| !l.auto).map(|l| l.organisation_id).collect();
        let id = tx.insert_meeting(&data).await?;
        tx.add_local_copy(&id, &to.id).await?;
        tx.set_organisation_links(&id, &chosen).await?;
        if editor.id != to.id {
            tx.set_booked_by(&id, &editor.id).await?;
        }
        if let Some(conn) = self.store().connection_of_user(tenant_id, &to.id).await? {
            queue_write(&mut tx, &conn, &id, &to.id, send).await?;
        }
        let mut users = vec![to.id.clone()];
        users.extend(self.crm_only_copies(&mut tx, tenant_id, &id, &to.id).await?);
        // The old one goes as a delete does.
        users.extend(tx.copies_of_meeting(meeting_id).await?.into_iter().map(|c| c.user_id));
        if !tx.mark_deleted(meeting_id, version).await? {
            return Err(EditError::Stale);
        }
        if self.queue_for_writer(&mut tx, tenant_id, editor, &old, send).await?.is_empty() {
            tx.delete_meeting(meeting_id).await?;
        }
        tx.commit().await?;
        self.edited(tenant_id, &users);
        Ok(id)
    }

    /// What to ask before moving this meeting (the calendar asks when anyone would hear of
    /// it): how many attendees it has (the organiser left out), and whether the move can be
    /// made without telling them — Microsoft Graph mails the attendees it knows of every time
    /// change of a meeting, and has no switch to keep quiet.
    pub async fn move_question(&self, tenant_id: &str, editor: &User, meeting_id: &str) -> Result<MoveQuestion, EditError> {
        let mut tx = self.store().begin_sync(tenant_id).await?;
        let m = movable(&mut tx, editor, meeting_id).await?;
        let copy = tx.copy_of(meeting_id, &editor.id).await?;
        tx.commit().await?;
        let conn = self.store().connection_of_user(tenant_id, &editor.id).await?;
        let graph_knows_attendees = conn.is_some_and(|c| c.provider == providers::ProviderKind::Graph)
            && copy.and_then(|c| Fields::from_json(c.synced.as_deref())).is_some_and(|agreed| !agreed.attendees.is_empty());
        Ok(MoveQuestion { attendees: Fields::of(&m.data).attendees.len(), can_keep_quiet: !graph_knows_attendees })
    }

    /// Deletes a meeting (F-EDIT-11), with or without cancellations to the attendees.
    pub async fn delete_meeting(&self, tenant_id: &str, editor: &User, meeting_id: &str, version: i64, send: bool) -> Result<(), EditError> {
        let mut tx = self.store().begin_sync(tenant_id).await?;
        let (m, _) = with_access(&mut tx, editor, meeting_id, Access::Full).await?;
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

    /// Colleagues invited in the CRM whose calendars are not connected have the meeting in
    /// their CRM calendar all the same; one dropped from the attendees no longer has it. (A
    /// connected calendar gets it from its provider with the invitation, and the sync files
    /// it under this meeting: a copy made here would only be overwritten.) Returns the users
    /// whose calendars changed.
    async fn crm_only_copies(&self, tx: &mut SyncTx, tenant_id: &str, meeting_id: &str, organiser: &str) -> Result<Vec<String>, EditError> {
        let invited: BTreeSet<String> = tx.linked_attendees(meeting_id).await?.into_iter().filter_map(|a| a.user_id).filter(|u| u != organiser).collect();
        let copies = tx.copies_of_meeting(meeting_id).await?;
        let mut changed = Vec::new();
        for user in &invited {
            if !copies.iter().any(|c| &c.user_id == user) && self.store().connection_of_user(tenant_id, user).await?.is_none() {
                tx.add_local_copy(meeting_id, user).await?;
                changed.push(user.clone());
            }
        }
        for c in copies.iter().filter(|c| c.provider_event_id.is_none() && c.user_id != organiser && !invited.contains(&c.user_id)) {
            if self.store().connection_of_user(tenant_id, &c.user_id).await?.is_none() {
                tx.remove_local_copy(meeting_id, &c.user_id).await?;
                changed.push(c.user_id.clone());
            }
        }
        Ok(changed)
    }

    fn edited(&self, tenant_id: &str, users: &[String]) {
        self.publish(LiveEvent::Calendar { tenant_id: tenant_id.to_string(), user_ids: users.to_vec() });
        self.publish(LiveEvent::Jobs);
    }
}

/// How `viewer` stands to the meeting (the one rule: [`domain::access`]).
async fn relation(tx: &mut SyncTx, viewer: &User, m: &SyncMeeting) -> Result<Relation, EditError> {
    let participants = tx.participant_users(&m.id).await?;
    Ok(Relation {
        private: m.data.private,
        organiser: m.organiser_user_id.as_deref() == Some(viewer.id.as_str()),
        booker: m.booked_by_user_id.as_deref() == Some(viewer.id.as_str()),
        participant: participants.contains(&viewer.id),
        administrator: viewer.role == Role::Administrator,
        organiser_is_user: m.organiser_user_id.is_some(),
    })
}

/// The meeting (not deleted) and the viewer's access to it, if it is at least `needed`.
/// Someone else's private meeting does not exist as a meeting to them (NotFound); a meeting
/// they may see but not change this way is Forbidden.
async fn with_access(tx: &mut SyncTx, viewer: &User, meeting_id: &str, needed: Access) -> Result<(SyncMeeting, Access), EditError> {
    let m = tx.meeting(meeting_id).await?.filter(|m| !m.deleted).ok_or(EditError::NotFound)?;
    let access = relation(tx, viewer, &m).await?.access();
    match access {
        Access::Busy => Err(EditError::NotFound),
        a if a < needed => Err(EditError::Forbidden),
        a => Ok((m, a)),
    }
}

/// The meeting, if the editor may move it on the calendar: who may change it, in their own
/// calendar (moving a meeting into a colleague's lane books it for them: F-EDIT-2).
async fn movable(tx: &mut SyncTx, editor: &User, meeting_id: &str) -> Result<SyncMeeting, EditError> {
    let (m, _) = with_access(tx, editor, meeting_id, Access::Full).await.map_err(|e| match e {
        EditError::Forbidden => EditError::Invalid { field: None, problem: Problem::NotMovable },
        e => e,
    })?;
    Ok(m)
}

/// A chosen organisation that is not the company's is a wrong choice, not a missing meeting.
fn organisation_error(e: EditError) -> EditError {
    match e {
        EditError::NotFound => EditError::Invalid { field: Some("organisations"), problem: Problem::NotAChoice },
        e => e,
    }
}

async fn queue_write(tx: &mut SyncTx, conn: &Connection, meeting_id: &str, user_id: &str, send: bool) -> Result<(), StoreError> {
    let send_version = match send {
        true => tx.meeting(meeting_id).await?.map(|m| m.version),
        false => None,
    };
    let payload = serde_json::to_string(&WritePayload { meeting_id: meeting_id.to_string(), user_id: user_id.to_string(), send_version }).expect("payload serialises");
    let key = format!("write:{meeting_id}:{user_id}");
    let now = Utc::now();
    tx.enqueue(NewJob { connection_id: Some(&conn.id), kind: JobKind::Write, coalesce_key: Some(&key), payload: &payload, run_at: now, flags: if send { SEND } else { 0 } }).await?;
    let sync_key = format!("sync:{}", conn.id);
    tx.enqueue(NewJob { connection_id: Some(&conn.id), kind: JobKind::Sync, coalesce_key: Some(&sync_key), payload: "{}", run_at: now, flags: 0 }).await?;
    Ok(())
}
