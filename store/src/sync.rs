//! What the sync engine reads and writes: meetings as provider data, their per-calendar copies
//! (provider id, version, the fields last agreed with the provider), inside transactions, so a
//! page of provider changes — or a CRM edit and the job that pushes it — lands whole or not at
//! all. The store keeps the engine's "agreed fields" snapshot as opaque text; the merge rules
//! live in the `sync` crate.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::jobs::{insert_job, NewJob};
use crate::meetings::LONG_SPAN_SECS;
use crate::{flag, new_id, secs, time, Result, Store, StoreError};

/// The provider-owned part of a meeting (sync rule 1), as the engine exchanges it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeetingData {
    pub subject: String,
    pub location: String,
    /// As the provider keeps it: plain text, or HTML when `description_html` (F-EDIT-6).
    pub description: String,
    pub description_html: bool,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub all_day: bool,
    /// IANA zone the meeting was entered in.
    pub time_zone: String,
    pub private: bool,
    /// The organiser cancelled it (kept, but not shown).
    pub cancelled: bool,
    pub organiser_email: String,
    pub ical_uid: Option<String>,
    /// For occurrences of a series: the slot in the series pattern.
    pub original_start: Option<DateTime<Utc>>,
    pub is_exception: bool,
    pub attendees: Vec<AttendeeData>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttendeeData {
    /// Lower-case.
    pub email: String,
    pub display_name: String,
    /// `needsAction`, `accepted`, `declined` or `tentative`.
    pub response: String,
    pub is_organiser: bool,
}

/// A meeting as the engine sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncMeeting {
    pub id: String,
    pub version: i64,
    /// Deleted in the CRM; the provider delete is pending.
    pub deleted: bool,
    pub organiser_user_id: Option<String>,
    /// The colleague who booked it into the organiser's calendar (F-EDIT-2).
    pub booked_by_user_id: Option<String>,
    pub data: MeetingData,
}

/// An attendee as the CRM links them: to a user or person of the company by e-mail, or
/// neither (an external guest).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkedAttendee {
    pub email: String,
    pub display_name: String,
    pub response: String,
    pub is_organiser: bool,
    pub user_id: Option<String>,
    pub person_id: Option<String>,
}

/// An organisation a meeting is linked to; `auto`: linked by the CRM itself, through an
/// attendee (F-X-13), not chosen by a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrganisationLink {
    pub organisation_id: String,
    pub name: String,
    pub auto: bool,
}

/// Addresses at these domains are people's own, not their company's: they never link a
/// meeting to an organisation by domain.
const FREE_MAIL: &[&str] = &[
    "gmail.com", "googlemail.com", "outlook.com", "outlook.dk", "hotmail.com", "hotmail.dk", "live.com", "live.dk", "msn.com",
    "yahoo.com", "yahoo.dk", "icloud.com", "me.com", "mac.com", "aol.com", "gmx.com", "gmx.de", "gmx.net", "web.de", "proton.me",
    "protonmail.com", "pm.me", "mail.dk", "jubii.dk", "ofir.dk", "email.dk", "tdcadsl.dk", "yandex.com", "zoho.com", "fastmail.com",
];

/// A meeting in one user's calendar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Copy {
    pub id: String,
    pub meeting_id: String,
    pub user_id: String,
    pub provider_event_id: Option<String>,
    pub etag: Option<String>,
    pub provider_series_id: Option<String>,
    /// The engine's snapshot of the fields last agreed with the provider (None: not on the
    /// provider yet).
    pub synced: Option<String>,
    /// The fields of a write in flight or whose answer was lost (see `set_writing`).
    pub writing: Option<String>,
    /// A sync has reported this copy (false: only our own write knows it).
    pub confirmed: bool,
    /// The meeting version last written here with invitations.
    pub sent_version: Option<i64>,
}

/// What to record about a copy after talking to the provider.
pub struct CopyUpdate<'a> {
    pub provider_event_id: &'a str,
    pub etag: Option<&'a str>,
    pub provider_series_id: Option<&'a str>,
    pub synced: &'a str,
    /// Reported by a sync (`Some(true)`), made by our own write (`Some(false)`), or unchanged.
    pub confirmed: Option<bool>,
    /// Written with invitations at this meeting version (None: unchanged).
    pub sent_version: Option<i64>,
}

const COPY_COLUMNS: &str = "c.id AS id, c.meeting_id AS meeting_id, c.user_id AS user_id, c.provider_event_id AS provider_event_id, \
     c.etag AS etag, c.provider_series_id AS provider_series_id, c.synced AS synced, c.writing AS writing, c.confirmed AS confirmed, \
     c.sent_version AS sent_version";

fn copy_row(r: &AnyRow) -> Result<Copy> {
    Ok(Copy {
        id: r.try_get("id")?,
        meeting_id: r.try_get("meeting_id")?,
        user_id: r.try_get("user_id")?,
        provider_event_id: r.try_get("provider_event_id")?,
        etag: r.try_get("etag")?,
        provider_series_id: r.try_get("provider_series_id")?,
        synced: r.try_get("synced")?,
        writing: r.try_get("writing")?,
        confirmed: flag(r, "confirmed")?,
        sent_version: r.try_get("sent_version")?,
    })
}

/// A transaction of the sync engine, scoped to one tenant.
pub struct SyncTx {
    tx: Transaction<'static, Any>,
    tenant_id: String,
}

impl Store {
    pub async fn begin_sync(&self, tenant_id: &str) -> Result<SyncTx> {
        Ok(SyncTx { tx: self.begin().await?, tenant_id: tenant_id.to_string() })
    }

    /// The meeting as the engine sees it (deleted ones included).
    pub async fn sync_meeting(&self, tenant_id: &str, id: &str) -> Result<Option<SyncMeeting>> {
        let mut tx = self.begin_sync(tenant_id).await?;
        let m = tx.meeting(id).await?;
        tx.commit().await?;
        Ok(m)
    }
}

impl SyncTx {
    pub async fn commit(self) -> Result<()> {
        Ok(self.tx.commit().await?)
    }

    pub async fn enqueue(&mut self, job: NewJob<'_>) -> Result<bool> {
        insert_job(&mut *self.tx, &self.tenant_id, job).await
    }

    pub async fn copy_by_provider_id(&mut self, user_id: &str, provider_event_id: &str) -> Result<Option<Copy>> {
        let row = sqlx::query(&format!(
            "SELECT {COPY_COLUMNS} FROM meeting_copies c WHERE c.user_id = $1 AND c.provider_event_id = $2 AND c.tenant_id = $3"
        ))
        .bind(user_id)
        .bind(provider_event_id)
        .bind(&self.tenant_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.as_ref().map(copy_row).transpose()
    }

    pub async fn copy_of(&mut self, meeting_id: &str, user_id: &str) -> Result<Option<Copy>> {
        let row = sqlx::query(&format!("SELECT {COPY_COLUMNS} FROM meeting_copies c WHERE c.meeting_id = $1 AND c.user_id = $2 AND c.tenant_id = $3"))
            .bind(meeting_id)
            .bind(user_id)
            .bind(&self.tenant_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(copy_row).transpose()
    }

    pub async fn copies_of_meeting(&mut self, meeting_id: &str) -> Result<Vec<Copy>> {
        let rows = sqlx::query(&format!("SELECT {COPY_COLUMNS} FROM meeting_copies c WHERE c.meeting_id = $1 AND c.tenant_id = $2 ORDER BY c.user_id"))
            .bind(meeting_id)
            .bind(&self.tenant_id)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(copy_row).collect()
    }

    /// The user's copies of occurrences of a provider series.
    pub async fn copies_of_series(&mut self, user_id: &str, series_id: &str) -> Result<Vec<(Copy, Option<DateTime<Utc>>)>> {
        let rows = sqlx::query(&format!(
            "SELECT {COPY_COLUMNS}, m.original_start_at AS original_start_at FROM meeting_copies c JOIN meetings m ON m.id = c.meeting_id \
             WHERE c.user_id = $1 AND c.provider_series_id = $2 AND c.tenant_id = $3"
        ))
        .bind(user_id)
        .bind(series_id)
        .bind(&self.tenant_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(|r| Ok((copy_row(r)?, r.try_get::<Option<i64>, _>("original_start_at")?.map(time)))).collect()
    }

    /// The user's copies on the provider (with a provider id) of meetings overlapping
    /// `[from, to)`: what a full sync of that window must find again, or they are gone.
    pub async fn provider_copies_in_window(&mut self, user_id: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Copy>> {
        let rows = sqlx::query(&format!(
            "SELECT {COPY_COLUMNS} FROM meeting_copies c WHERE c.tenant_id = $1 AND c.user_id = $2 \
             AND c.provider_event_id IS NOT NULL AND c.start_at < $3 AND c.end_at > $4"
        ))
        .bind(&self.tenant_id)
        .bind(user_id)
        .bind(secs(to))
        .bind(secs(from))
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(copy_row).collect()
    }

    /// The meeting with this iCalUID (and, for an occurrence, this slot in its series).
    pub async fn meeting_id_by_uid(&mut self, ical_uid: &str, original_start: Option<DateTime<Utc>>) -> Result<Option<String>> {
        let row = sqlx::query("SELECT id FROM meetings WHERE tenant_id = $1 AND ical_uid = $2 AND COALESCE(original_start_at, 0) = $3")
            .bind(&self.tenant_id)
            .bind(ical_uid)
            .bind(original_start.map(secs).unwrap_or(0))
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.map(|r| r.try_get("id")).transpose()?)
    }

    pub async fn meeting(&mut self, id: &str) -> Result<Option<SyncMeeting>> {
        let Some(r) = sqlx::query(
            "SELECT id, version, deleted_at, organiser_user_id, booked_by_user_id, subject, location, description, description_html, start_at, end_at, all_day, time_zone, \
             is_private, status, organiser_email, ical_uid, original_start_at, is_exception FROM meetings WHERE tenant_id = $1 AND id = $2",
        )
        .bind(&self.tenant_id)
        .bind(id)
        .fetch_optional(&mut *self.tx)
        .await?
        else {
            return Ok(None);
        };
        let attendees = sqlx::query(
            "SELECT email, display_name, response, is_organiser FROM meeting_attendees WHERE meeting_id = $1 AND email <> '' ORDER BY email",
        )
        .bind(id)
        .fetch_all(&mut *self.tx)
        .await?
        .iter()
        .map(|a| {
            Ok(AttendeeData {
                email: a.try_get("email")?,
                display_name: a.try_get("display_name")?,
                response: a.try_get("response")?,
                is_organiser: flag(a, "is_organiser")?,
            })
        })
        .collect::<Result<_>>()?;
        Ok(Some(SyncMeeting {
            id: r.try_get("id")?,
            version: r.try_get("version")?,
            deleted: r.try_get::<Option<i64>, _>("deleted_at")?.is_some(),
            organiser_user_id: r.try_get("organiser_user_id")?,
            booked_by_user_id: r.try_get("booked_by_user_id")?,
            data: MeetingData {
                subject: r.try_get("subject")?,
                location: r.try_get("location")?,
                description: r.try_get("description")?,
                description_html: flag(&r, "description_html")?,
                start: time(r.try_get("start_at")?),
                end: time(r.try_get("end_at")?),
                all_day: flag(&r, "all_day")?,
                time_zone: r.try_get("time_zone")?,
                private: flag(&r, "is_private")?,
                cancelled: r.try_get::<String, _>("status")? == "cancelled",
                organiser_email: r.try_get("organiser_email")?,
                ical_uid: r.try_get("ical_uid")?,
                original_start: r.try_get::<Option<i64>, _>("original_start_at")?.map(time),
                is_exception: flag(&r, "is_exception")?,
                attendees,
            },
        }))
    }

    /// A meeting first seen at a provider. The organiser is linked to the CRM user with that
    /// e-mail, attendees to CRM users and persons by e-mail.
    pub async fn insert_meeting(&mut self, d: &MeetingData) -> Result<String> {
        let id = new_id();
        let now = Utc::now().timestamp();
        sqlx::query(
            "INSERT INTO meetings (id, tenant_id, subject, location, description, start_at, end_at, all_day, time_zone, is_private, \
             organiser_user_id, organiser_email, ical_uid, original_start_at, is_exception, status, created_at, updated_at, description_html) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             (SELECT id FROM users WHERE tenant_id = $2 AND email = $11 AND $11 <> ''), $11, $12, $13, $14, $15, $16, $16, $17)",
        )
        .bind(&id)
        .bind(&self.tenant_id)
        .bind(&d.subject)
        .bind(&d.location)
        .bind(&d.description)
        .bind(secs(d.start))
        .bind(secs(d.end.max(d.start)))
        .bind(d.all_day)
        .bind(&d.time_zone)
        .bind(d.private)
        .bind(d.organiser_email.to_ascii_lowercase())
        .bind(d.ical_uid.as_deref())
        .bind(d.original_start.map(secs))
        .bind(d.is_exception)
        .bind(status(d))
        .bind(now)
        .bind(d.description_html)
        .execute(&mut *self.tx)
        .await?;
        if !d.attendees.is_empty() {
            self.replace_attendees(&id, &d.attendees, false).await?;
            self.link_organisations_of_attendees(&id).await?;
        }
        Ok(id)
    }

    /// Writes the provider-owned fields if the meeting is still at `expected_version` (returns
    /// false otherwise: someone changed it meanwhile; re-read and merge again). Calendar copies
    /// follow the new times; attendees keep their CRM links.
    pub async fn update_meeting(&mut self, id: &str, expected_version: i64, d: &MeetingData) -> Result<bool> {
        let now = Utc::now().timestamp();
        let (start, end) = (secs(d.start), secs(d.end.max(d.start)));
        let done = sqlx::query(
            "UPDATE meetings SET subject = $1, location = $2, description = $3, start_at = $4, end_at = $5, all_day = $6, \
             time_zone = $7, is_private = $8, status = $9, organiser_email = $10, \
             organiser_user_id = COALESCE((SELECT id FROM users WHERE tenant_id = $11 AND email = $10 AND $10 <> ''), organiser_user_id), \
             ical_uid = COALESCE($12, ical_uid), original_start_at = $13, is_exception = $14, version = version + 1, updated_at = $15, \
             description_html = $18 WHERE tenant_id = $11 AND id = $16 AND version = $17",
        )
        .bind(&d.subject)
        .bind(&d.location)
        .bind(&d.description)
        .bind(start)
        .bind(end)
        .bind(d.all_day)
        .bind(&d.time_zone)
        .bind(d.private)
        .bind(status(d))
        .bind(d.organiser_email.to_ascii_lowercase())
        .bind(&self.tenant_id)
        .bind(d.ical_uid.as_deref())
        .bind(d.original_start.map(secs))
        .bind(d.is_exception)
        .bind(now)
        .bind(id)
        .bind(expected_version)
        .bind(d.description_html)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("UPDATE meeting_copies SET start_at = $1, end_at = $2, long_span = $3 WHERE tenant_id = $4 AND meeting_id = $5")
            .bind(start)
            .bind(end)
            .bind(end - start > LONG_SPAN_SECS)
            .bind(&self.tenant_id)
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        self.replace_attendees(id, &d.attendees, true).await?;
        self.link_organisations_of_attendees(id).await?;
        Ok(true)
    }

    /// The users taking part in a meeting: those with it in their calendar and those linked
    /// to an attendee (with the organiser and the booker, what [`domain::access::Relation`]
    /// needs to know).
    pub async fn participant_users(&mut self, meeting_id: &str) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT user_id FROM meeting_copies WHERE tenant_id = $1 AND meeting_id = $2 \
             UNION SELECT user_id FROM meeting_attendees WHERE tenant_id = $1 AND meeting_id = $2 AND user_id IS NOT NULL",
        )
        .bind(&self.tenant_id)
        .bind(meeting_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("user_id")?)).collect()
    }

    /// The attendees with their CRM links, the organiser first.
    pub async fn linked_attendees(&mut self, meeting_id: &str) -> Result<Vec<LinkedAttendee>> {
        let rows = sqlx::query(
            "SELECT email, display_name, response, is_organiser, user_id, person_id FROM meeting_attendees \
             WHERE tenant_id = $1 AND meeting_id = $2 ORDER BY is_organiser DESC, display_name, email",
        )
        .bind(&self.tenant_id)
        .bind(meeting_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LinkedAttendee {
                    email: r.try_get("email")?,
                    display_name: r.try_get("display_name")?,
                    response: r.try_get("response")?,
                    is_organiser: flag(r, "is_organiser")?,
                    user_id: r.try_get("user_id")?,
                    person_id: r.try_get("person_id")?,
                })
            })
            .collect()
    }

    pub async fn organisation_links(&mut self, meeting_id: &str) -> Result<Vec<OrganisationLink>> {
        let rows = sqlx::query(
            "SELECT mo.organisation_id AS organisation_id, o.name AS name, mo.auto AS auto FROM meeting_organisations mo \
             JOIN organisations o ON o.id = mo.organisation_id WHERE mo.tenant_id = $1 AND mo.meeting_id = $2 ORDER BY o.name, o.id",
        )
        .bind(&self.tenant_id)
        .bind(meeting_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(|r| Ok(OrganisationLink { organisation_id: r.try_get("organisation_id")?, name: r.try_get("name")?, auto: flag(r, "auto")? })).collect()
    }

    /// Sets the organisations a user linked the meeting to; links the CRM made itself stay
    /// (a chosen one that was automatic becomes chosen). Fails with NotFound when one is not
    /// the company's.
    pub async fn set_organisation_links(&mut self, meeting_id: &str, chosen: &[String]) -> Result<()> {
        let current = self.organisation_links(meeting_id).await?;
        for link in current.iter().filter(|l| !l.auto && !chosen.contains(&l.organisation_id)) {
            sqlx::query("DELETE FROM meeting_organisations WHERE tenant_id = $1 AND meeting_id = $2 AND organisation_id = $3")
                .bind(&self.tenant_id)
                .bind(meeting_id)
                .bind(&link.organisation_id)
                .execute(&mut *self.tx)
                .await?;
        }
        for org in chosen {
            let done = sqlx::query(
                "INSERT INTO meeting_organisations (tenant_id, meeting_id, organisation_id, auto) \
                 SELECT $1, $2, id, FALSE FROM organisations WHERE id = $3 AND tenant_id = $1 \
                 ON CONFLICT (meeting_id, organisation_id) DO UPDATE SET auto = FALSE",
            )
            .bind(&self.tenant_id)
            .bind(meeting_id)
            .bind(org)
            .execute(&mut *self.tx)
            .await?;
            if done.rows_affected() != 1 {
                return Err(StoreError::NotFound);
            }
        }
        Ok(())
    }

    /// Links the meeting to its attendees' organisations (F-X-13): a person's own, and for an
    /// address no person or user has, the one organisation with that e-mail domain — never the
    /// company's own domain (its users') nor a free-mail one. Links the CRM made earlier that
    /// no attendee gives any more go.
    async fn link_organisations_of_attendees(&mut self, meeting_id: &str) -> Result<()> {
        let rows = sqlx::query(
            "SELECT a.email AS email, a.user_id AS user_id, p.organisation_id AS organisation_id FROM meeting_attendees a \
             LEFT JOIN persons p ON p.id = a.person_id WHERE a.tenant_id = $1 AND a.meeting_id = $2",
        )
        .bind(&self.tenant_id)
        .bind(meeting_id)
        .fetch_all(&mut *self.tx)
        .await?;
        let mut orgs: Vec<String> = Vec::new();
        let mut domains: Vec<String> = Vec::new();
        for r in &rows {
            let (email, user, org): (String, Option<String>, Option<String>) = (r.try_get("email")?, r.try_get("user_id")?, r.try_get("organisation_id")?);
            match (user, org) {
                (Some(_), _) => {}
                (None, Some(org)) => orgs.push(org),
                (None, None) => {
                    if let Some((_, domain)) = email.to_ascii_lowercase().rsplit_once('@') {
                        if !domain.is_empty() && !FREE_MAIL.contains(&domain) && !domains.iter().any(|d| d == domain) {
                            domains.push(domain.to_string());
                        }
                    }
                }
            }
        }
        for domain in domains {
            // The organisation first (an index lookup; most outside domains are no one's),
            // then whether the domain is the company's own.
            let matching = sqlx::query("SELECT id FROM organisations WHERE tenant_id = $1 AND domain = $2 LIMIT 2")
                .bind(&self.tenant_id)
                .bind(&domain)
                .fetch_all(&mut *self.tx)
                .await?;
            let [one] = matching.as_slice() else { continue };
            let own = sqlx::query("SELECT 1 AS one FROM users WHERE tenant_id = $1 AND email LIKE $2 LIMIT 1")
                .bind(&self.tenant_id)
                .bind(format!("%@{}", domain.replace(['%', '_'], "")))
                .fetch_optional(&mut *self.tx)
                .await?;
            if own.is_none() {
                orgs.push(one.try_get("id")?);
            }
        }
        orgs.sort();
        orgs.dedup();
        for link in self.organisation_links(meeting_id).await?.into_iter().filter(|l| l.auto && !orgs.contains(&l.organisation_id)) {
            sqlx::query("DELETE FROM meeting_organisations WHERE tenant_id = $1 AND meeting_id = $2 AND organisation_id = $3 AND auto")
                .bind(&self.tenant_id)
                .bind(meeting_id)
                .bind(&link.organisation_id)
                .execute(&mut *self.tx)
                .await?;
        }
        for org in orgs {
            sqlx::query(
                "INSERT INTO meeting_organisations (tenant_id, meeting_id, organisation_id, auto) VALUES ($1, $2, $3, TRUE) \
                 ON CONFLICT (meeting_id, organisation_id) DO NOTHING",
            )
            .bind(&self.tenant_id)
            .bind(meeting_id)
            .bind(&org)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    /// Records who booked the meeting on the organiser's behalf.
    pub async fn set_booked_by(&mut self, meeting_id: &str, user_id: &str) -> Result<()> {
        sqlx::query("UPDATE meetings SET booked_by_user_id = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(user_id)
            .bind(&self.tenant_id)
            .bind(meeting_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Sets the attendee list by e-mail: rows of addresses still present keep their CRM links
    /// (person, user) and get the new name/response; new addresses are linked to a CRM user or
    /// person with that e-mail; rows without an address (CRM-only) stay.
    /// (`existing`: false for a meeting just inserted, which has none.)
    async fn replace_attendees(&mut self, meeting_id: &str, attendees: &[AttendeeData], existing: bool) -> Result<()> {
        let existing: Vec<(String, String)> = if !existing {
            Vec::new()
        } else {
            sqlx::query("SELECT id, email FROM meeting_attendees WHERE meeting_id = $1 AND email <> ''")
                .bind(meeting_id)
                .fetch_all(&mut *self.tx)
                .await?
                .iter()
                .map(|r| Ok((r.try_get("id")?, r.try_get::<String, _>("email")?.to_ascii_lowercase())))
                .collect::<Result<_>>()?
        };
        let mut seen = std::collections::HashSet::new();
        for a in attendees {
            let email = a.email.trim().to_ascii_lowercase();
            if email.is_empty() || !seen.insert(email.clone()) {
                continue;
            }
            match existing.iter().find(|(_, e)| *e == email) {
                Some((row_id, _)) => {
                    sqlx::query("UPDATE meeting_attendees SET display_name = $1, response = $2, is_organiser = $3 WHERE id = $4")
                        .bind(&a.display_name)
                        .bind(response(&a.response))
                        .bind(a.is_organiser)
                        .bind(row_id)
                        .execute(&mut *self.tx)
                        .await?;
                }
                None => {
                    sqlx::query(
                        "INSERT INTO meeting_attendees (id, tenant_id, meeting_id, kind, user_id, person_id, email, display_name, response, is_organiser) \
                         SELECT $1, $2, $3, CASE WHEN u.id IS NOT NULL THEN 'user' WHEN p.id IS NOT NULL THEN 'person' ELSE 'external' END, \
                         u.id, p.id, $4, $5, $6, $7 \
                         FROM (SELECT 1 AS one) x \
                         LEFT JOIN (SELECT id FROM users WHERE tenant_id = $2 AND email = $4 LIMIT 1) u ON 1 = 1 \
                         LEFT JOIN (SELECT id FROM persons WHERE tenant_id = $2 AND lower(email) = $4 AND email <> '' ORDER BY id LIMIT 1) p ON 1 = 1",
                    )
                    .bind(new_id())
                    .bind(&self.tenant_id)
                    .bind(meeting_id)
                    .bind(&email)
                    .bind(&a.display_name)
                    .bind(response(&a.response))
                    .bind(a.is_organiser)
                    .execute(&mut *self.tx)
                    .await?;
                }
            }
        }
        for (row_id, email) in existing {
            if !seen.contains(&email) {
                sqlx::query("DELETE FROM meeting_attendees WHERE id = $1").bind(row_id).execute(&mut *self.tx).await?;
            }
        }
        Ok(())
    }

    /// Records the meeting's copy in the user's calendar as the provider has it (creating the
    /// copy when the user did not have one).
    pub async fn put_copy(&mut self, meeting_id: &str, user_id: &str, c: CopyUpdate<'_>) -> Result<()> {
        // The same provider event already stands for another meeting of this user (it was
        // first seen without the CRM id or iCalUID that ties it to this one): one meeting.
        let other = sqlx::query("SELECT meeting_id FROM meeting_copies WHERE tenant_id = $1 AND user_id = $2 AND provider_event_id = $3 AND meeting_id <> $4")
            .bind(&self.tenant_id)
            .bind(user_id)
            .bind(c.provider_event_id)
            .bind(meeting_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        if let Some(row) = other {
            let other: String = row.try_get("meeting_id")?;
            Box::pin(self.absorb(meeting_id, &other)).await?;
        }
        self.upsert_copy(meeting_id, user_id, c).await
    }

    /// [`put_copy`](Self::put_copy) for a provider event no copy of this user holds yet (the
    /// caller looked it up in this transaction): one statement.
    pub async fn put_new_copy(&mut self, meeting_id: &str, user_id: &str, c: CopyUpdate<'_>) -> Result<()> {
        self.upsert_copy(meeting_id, user_id, c).await
    }

    async fn upsert_copy(&mut self, meeting_id: &str, user_id: &str, c: CopyUpdate<'_>) -> Result<()> {
        let done = sqlx::query(
            "INSERT INTO meeting_copies (id, tenant_id, meeting_id, user_id, provider_event_id, etag, provider_series_id, synced, start_at, end_at, long_span, confirmed, sent_version) \
             SELECT $1, m.tenant_id, m.id, u.id, $2, $3, $4, $5, m.start_at, m.end_at, m.end_at - m.start_at > $6, COALESCE($10, TRUE), $11 \
             FROM meetings m JOIN users u ON u.tenant_id = m.tenant_id AND u.id = $7 WHERE m.tenant_id = $8 AND m.id = $9 \
             ON CONFLICT (meeting_id, user_id) DO UPDATE SET provider_event_id = excluded.provider_event_id, etag = excluded.etag, \
             provider_series_id = excluded.provider_series_id, synced = excluded.synced, writing = NULL, \
             confirmed = COALESCE($10, meeting_copies.confirmed), sent_version = COALESCE($11, meeting_copies.sent_version)",
        )
        .bind(new_id())
        .bind(c.provider_event_id)
        .bind(c.etag)
        .bind(c.provider_series_id)
        .bind(c.synced)
        .bind(LONG_SPAN_SECS)
        .bind(user_id)
        .bind(&self.tenant_id)
        .bind(meeting_id)
        .bind(c.confirmed)
        .bind(c.sent_version)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// The user's copies made by the CRM at the provider that no sync has reported yet.
    pub async fn unconfirmed_copies(&mut self, user_id: &str, limit: i64) -> Result<Vec<Copy>> {
        let rows = sqlx::query(&format!(
            "SELECT {COPY_COLUMNS} FROM meeting_copies c WHERE c.user_id = $1 AND c.tenant_id = $2 AND NOT c.confirmed \
             AND c.provider_event_id IS NOT NULL ORDER BY c.id LIMIT $3"
        ))
        .bind(user_id)
        .bind(&self.tenant_id)
        .bind(limit)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(copy_row).collect()
    }

    /// Puts the meeting in the user's calendar in the CRM before it is on the provider (a new
    /// CRM meeting: its write job gives it the provider id).
    pub async fn add_local_copy(&mut self, meeting_id: &str, user_id: &str) -> Result<()> {
        let done = sqlx::query(
            "INSERT INTO meeting_copies (id, tenant_id, meeting_id, user_id, start_at, end_at, long_span) \
             SELECT $1, m.tenant_id, m.id, u.id, m.start_at, m.end_at, m.end_at - m.start_at > $2 \
             FROM meetings m JOIN users u ON u.tenant_id = m.tenant_id AND u.id = $3 WHERE m.tenant_id = $4 AND m.id = $5",
        )
        .bind(new_id())
        .bind(LONG_SPAN_SECS)
        .bind(user_id)
        .bind(&self.tenant_id)
        .bind(meeting_id)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Notes the fields about to be written to the provider for the user's copy (before the
    /// call, in a transaction of its own), so a lost answer cannot make our own write look
    /// like someone else's change. `sending`: the write is a create that sends invitations at
    /// this meeting version; recorded now, because once the event exists someone (the inbound
    /// sync, after a crash) may record it without knowing its invitations went out with it.
    pub async fn set_writing(&mut self, meeting_id: &str, user_id: &str, fields: &str, sending: Option<i64>) -> Result<()> {
        sqlx::query("UPDATE meeting_copies SET writing = $1, sent_version = COALESCE($2, sent_version) WHERE tenant_id = $3 AND meeting_id = $4 AND user_id = $5")
            .bind(fields)
            .bind(sending)
            .bind(&self.tenant_id)
            .bind(meeting_id)
            .bind(user_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Takes the meeting out of a user's calendar in the CRM where no provider has it (a
    /// colleague without a connected calendar dropped from the attendees); the meeting stays.
    pub async fn remove_local_copy(&mut self, meeting_id: &str, user_id: &str) -> Result<()> {
        sqlx::query("DELETE FROM meeting_copies WHERE tenant_id = $1 AND meeting_id = $2 AND user_id = $3 AND provider_event_id IS NULL")
            .bind(&self.tenant_id)
            .bind(meeting_id)
            .bind(user_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Removes a copy that left the user's calendar. When no copy of the meeting is on a
    /// provider any more, the meeting is gone everywhere and is deleted (CRM-only copies with
    /// it); returns whether it was.
    pub async fn delete_copy(&mut self, copy: &Copy) -> Result<bool> {
        sqlx::query("DELETE FROM meeting_copies WHERE tenant_id = $1 AND id = $2").bind(&self.tenant_id).bind(&copy.id).execute(&mut *self.tx).await?;
        let left = sqlx::query("SELECT COUNT(*) AS n FROM meeting_copies WHERE meeting_id = $1 AND provider_event_id IS NOT NULL")
            .bind(&copy.meeting_id)
            .fetch_one(&mut *self.tx)
            .await?
            .try_get::<i64, _>("n")?;
        if left == 0 {
            self.delete_meeting(&copy.meeting_id).await?;
            return Ok(true);
        }
        Ok(false)
    }

    pub async fn delete_meeting(&mut self, meeting_id: &str) -> Result<()> {
        sqlx::query("DELETE FROM meetings WHERE tenant_id = $1 AND id = $2").bind(&self.tenant_id).bind(meeting_id).execute(&mut *self.tx).await?;
        Ok(())
    }

    /// Deletes the meeting in the CRM (hidden at once; the row goes when the provider delete is
    /// done) if it is still at `expected_version`.
    pub async fn mark_deleted(&mut self, meeting_id: &str, expected_version: i64) -> Result<bool> {
        let now = Utc::now().timestamp();
        let done = sqlx::query("UPDATE meetings SET deleted_at = $1, version = version + 1, updated_at = $1 WHERE tenant_id = $2 AND id = $3 AND version = $4")
            .bind(now)
            .bind(&self.tenant_id)
            .bind(meeting_id)
            .bind(expected_version)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Un-deletes a meeting whose provider delete lost to a change made at the provider.
    pub async fn restore_meeting(&mut self, meeting_id: &str) -> Result<()> {
        sqlx::query("UPDATE meetings SET deleted_at = NULL, version = version + 1 WHERE tenant_id = $1 AND id = $2")
            .bind(&self.tenant_id)
            .bind(meeting_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Gives the meeting its iCalUID. When another meeting already holds it — the same
    /// meeting, first seen in an attendee's calendar before this one's provider id was known —
    /// that one's copies join this meeting and it goes: one meeting, not two (F-X-3).
    pub async fn claim_uid(&mut self, meeting_id: &str, ical_uid: &str, original_start: Option<DateTime<Utc>>) -> Result<()> {
        if let Some(other) = self.meeting_id_by_uid(ical_uid, original_start).await? {
            if other == meeting_id {
                return Ok(());
            }
            self.absorb(meeting_id, &other).await?;
        }
        sqlx::query("UPDATE meetings SET ical_uid = $1, original_start_at = $2 WHERE tenant_id = $3 AND id = $4")
            .bind(ical_uid)
            .bind(original_start.map(secs))
            .bind(&self.tenant_id)
            .bind(meeting_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Moves `other`'s calendar copies into `keep` (a copy `keep` already has for the same user
    /// takes over the provider identity when it has none), then deletes `other`.
    pub async fn absorb(&mut self, keep: &str, other: &str) -> Result<()> {
        for c in self.copies_of_meeting(other).await? {
            match self.copy_of(keep, &c.user_id).await? {
                Some(mine) => {
                    sqlx::query("DELETE FROM meeting_copies WHERE id = $1").bind(&c.id).execute(&mut *self.tx).await?;
                    if mine.provider_event_id.is_none() {
                        if let (Some(pid), Some(synced)) = (c.provider_event_id.as_deref(), c.synced.as_deref()) {
                            let update = CopyUpdate { provider_event_id: pid, etag: c.etag.as_deref(), provider_series_id: c.provider_series_id.as_deref(), synced, confirmed: Some(c.confirmed), sent_version: c.sent_version };
                            self.put_copy(keep, &c.user_id, update).await?;
                        }
                    }
                }
                None => {
                    sqlx::query("UPDATE meeting_copies SET meeting_id = $1 WHERE id = $2").bind(keep).bind(&c.id).execute(&mut *self.tx).await?;
                }
            }
        }
        self.delete_meeting(other).await
    }

    pub async fn set_sync_notice(&mut self, meeting_id: &str, notice: &str) -> Result<()> {
        sqlx::query("UPDATE meetings SET sync_notice = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(notice)
            .bind(&self.tenant_id)
            .bind(meeting_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Stores the connection's sync cursor and the window it covers.
    pub async fn set_cursor(&mut self, connection_id: &str, cursor: Option<&str>, window: Option<(DateTime<Utc>, DateTime<Utc>)>) -> Result<()> {
        sqlx::query("UPDATE calendar_connections SET sync_cursor = $1, cursor_from = $2, cursor_to = $3 WHERE tenant_id = $4 AND id = $5")
            .bind(cursor)
            .bind(window.map(|w| secs(w.0)))
            .bind(window.map(|w| secs(w.1)))
            .bind(&self.tenant_id)
            .bind(connection_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}

fn status(d: &MeetingData) -> &'static str {
    if d.cancelled {
        "cancelled"
    } else {
        "confirmed"
    }
}

fn response(r: &str) -> &'static str {
    match r {
        "accepted" => "accepted",
        "declined" => "declined",
        "tentative" => "tentative",
        _ => "needsAction",
    }
}
