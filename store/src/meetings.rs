//! Meetings ("synced meetings"): one row per real meeting, one copy per calendar it sits in,
//! attendees and organisation links.

use crate::{flag, found, new_id, placeholders, secs, time, Result, Store, StoreError};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

/// Meetings longer than this (seconds) are "long span". The range query finds the others by
/// `start_at >= from - LONG_SPAN_SECS`, a bounded index scan, and the rare long ones through
/// their own small index, so the cost follows the size of the window, not of the history.
pub const LONG_SPAN_SECS: i64 = 7 * 24 * 3600;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttendeeKind {
    User,
    Person,
    External,
}

impl AttendeeKind {
    fn as_str(self) -> &'static str {
        match self {
            AttendeeKind::User => "user",
            AttendeeKind::Person => "person",
            AttendeeKind::External => "external",
        }
    }
    fn parse(s: &str) -> AttendeeKind {
        match s {
            "user" => AttendeeKind::User,
            "person" => AttendeeKind::Person,
            _ => AttendeeKind::External,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct NewAttendee {
    pub kind: AttendeeKind,
    pub user_id: Option<String>,
    pub person_id: Option<String>,
    pub email: String,
    pub display_name: String,
    pub is_organiser: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Attendee {
    pub kind: AttendeeKind,
    pub user_id: Option<String>,
    pub person_id: Option<String>,
    pub email: String,
    pub display_name: String,
    pub response: String,
    pub is_organiser: bool,
}

/// Where an occurrence sits in a recurring series (series are created by the providers only:
/// F-CAL-9).
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub master_id: String,
    pub original_start: DateTime<Utc>,
    pub is_exception: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NewMeeting {
    pub subject: String,
    pub location: String,
    pub description: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub all_day: bool,
    pub time_zone: String,
    pub private: bool,
    pub organiser_user_id: Option<String>,
    pub organiser_email: String,
    pub ical_uid: Option<String>,
    pub series: Option<Series>,
    pub recurrence: Option<String>,
    /// JSON object of custom field values.
    pub custom_fields: String,
    /// Users in whose calendars the meeting sits (one copy each).
    pub calendar_user_ids: Vec<String>,
    pub attendees: Vec<NewAttendee>,
    pub organisation_ids: Vec<String>,
}

impl NewMeeting {
    /// A meeting with the given subject and times and nothing else set.
    pub fn new(subject: &str, start: DateTime<Utc>, end: DateTime<Utc>, time_zone: &str) -> NewMeeting {
        NewMeeting {
            subject: subject.to_string(),
            location: String::new(),
            description: String::new(),
            start,
            end,
            all_day: false,
            time_zone: time_zone.to_string(),
            private: false,
            organiser_user_id: None,
            organiser_email: String::new(),
            ical_uid: None,
            series: None,
            recurrence: None,
            custom_fields: "{}".to_string(),
            calendar_user_ids: Vec::new(),
            attendees: Vec::new(),
            organisation_ids: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Meeting {
    pub id: String,
    pub subject: String,
    pub location: String,
    pub description: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub all_day: bool,
    pub time_zone: String,
    pub private: bool,
    pub organiser_user_id: Option<String>,
    pub ical_uid: Option<String>,
    pub series: Option<Series>,
    pub recurrence: Option<String>,
    pub status: String,
    pub custom_fields: String,
    pub version: i64,
    pub calendar_user_ids: Vec<String>,
    pub attendees: Vec<Attendee>,
    pub organisation_ids: Vec<String>,
}

/// One meeting in one user's calendar, as the calendar page needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct CalendarEntry {
    pub calendar_user_id: String,
    pub meeting_id: String,
    pub subject: String,
    pub location: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub all_day: bool,
    pub private: bool,
    /// The viewer organises, attends or has the meeting in their own calendar. Worked out
    /// for private meetings only (the only ones it matters for); true for the others.
    pub viewer_participates: bool,
    pub organiser_user_id: Option<String>,
    pub version: i64,
    /// An occurrence of a recurring series.
    pub occurrence: bool,
    /// The calendar owner's answer as an attendee (`accepted`, `declined`, `tentative`,
    /// `needsAction`); None when they are not listed as an attendee.
    pub response: Option<String>,
    /// What the meeting's last sync left to say (`meetings.sync_notice`).
    pub notice: String,
}

impl Store {
    pub async fn create_meeting(&self, tenant_id: &str, m: &NewMeeting) -> Result<Meeting> {
        let ids = self.insert_meetings(tenant_id, std::slice::from_ref(m)).await?;
        self.meeting(tenant_id, &ids[0]).await
    }

    /// Inserts meetings with their copies, attendees and organisation links in one
    /// transaction; nothing is written if any of them refers to a record of another tenant.
    pub async fn insert_meetings(&self, tenant_id: &str, meetings: &[NewMeeting]) -> Result<Vec<String>> {
        let mut tx = self.begin().await?;
        let mut ids = Vec::with_capacity(meetings.len());
        for m in meetings {
            ids.push(insert_meeting(&mut tx, tenant_id, &new_id(), m).await?);
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Creates a meeting with the given id together with the jobs that push it to the
    /// providers, in one transaction (sync rule 2: a CRM change is the meeting plus its job).
    pub async fn create_meeting_with_jobs(&self, tenant_id: &str, id: &str, m: &NewMeeting, jobs: Vec<crate::NewJob<'_>>) -> Result<()> {
        let mut tx = self.begin().await?;
        insert_meeting(&mut tx, tenant_id, id, m).await?;
        for job in jobs {
            crate::jobs::insert_job(&mut *tx, tenant_id, job).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn meeting(&self, tenant_id: &str, meeting_id: &str) -> Result<Meeting> {
        let row = sqlx::query(
            "SELECT id, subject, location, description, start_at, end_at, all_day, time_zone, is_private, \
             organiser_user_id, ical_uid, series_master_id, original_start_at, is_exception, recurrence, status, \
             custom_fields, version FROM meetings WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(meeting_id)
        .fetch_one(&self.pool)
        .await?;
        let calendar_user_ids = sqlx::query("SELECT user_id FROM meeting_copies WHERE meeting_id = $1 ORDER BY user_id")
            .bind(meeting_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get("user_id"))
            .collect::<Result<_, _>>()?;
        let attendees = sqlx::query(
            "SELECT kind, user_id, person_id, email, display_name, response, is_organiser \
             FROM meeting_attendees WHERE meeting_id = $1 ORDER BY is_organiser DESC, display_name, id",
        )
        .bind(meeting_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(attendee_from_row)
        .collect::<Result<_>>()?;
        let organisation_ids = sqlx::query("SELECT organisation_id FROM meeting_organisations WHERE meeting_id = $1 ORDER BY organisation_id")
            .bind(meeting_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get("organisation_id"))
            .collect::<Result<_, _>>()?;
        let series = match row.try_get::<Option<String>, _>("series_master_id")? {
            Some(master_id) => Some(Series {
                master_id,
                original_start: time(row.try_get::<Option<i64>, _>("original_start_at")?.unwrap_or_default()),
                is_exception: flag(&row, "is_exception")?,
            }),
            None => None,
        };
        Ok(Meeting {
            id: row.try_get("id")?,
            subject: row.try_get("subject")?,
            location: row.try_get("location")?,
            description: row.try_get("description")?,
            start: time(row.try_get("start_at")?),
            end: time(row.try_get("end_at")?),
            all_day: flag(&row, "all_day")?,
            time_zone: row.try_get("time_zone")?,
            private: flag(&row, "is_private")?,
            organiser_user_id: row.try_get("organiser_user_id")?,
            ical_uid: row.try_get("ical_uid")?,
            series,
            recurrence: row.try_get("recurrence")?,
            status: row.try_get("status")?,
            custom_fields: row.try_get("custom_fields")?,
            version: row.try_get("version")?,
            calendar_user_ids,
            attendees,
            organisation_ids,
        })
    }

    /// Moves a meeting (and every calendar copy of it) to new times.
    pub async fn reschedule_meeting(&self, tenant_id: &str, meeting_id: &str, start: DateTime<Utc>, end: DateTime<Utc>, all_day: bool) -> Result<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE meetings SET start_at = $1, end_at = $2, all_day = $3, version = version + 1, updated_at = $4 \
             WHERE tenant_id = $5 AND id = $6",
        )
        .bind(secs(start))
        .bind(secs(end))
        .bind(all_day)
        .bind(Utc::now().timestamp())
        .bind(tenant_id)
        .bind(meeting_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("UPDATE meeting_copies SET start_at = $1, end_at = $2, long_span = $3 WHERE tenant_id = $4 AND meeting_id = $5")
            .bind(secs(start))
            .bind(secs(end))
            .bind(secs(end) - secs(start) > LONG_SPAN_SECS)
            .bind(tenant_id)
            .bind(meeting_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// What the last sync of the meeting left to tell its users (empty: nothing).
    pub async fn meeting_notice(&self, tenant_id: &str, meeting_id: &str) -> Result<String> {
        let row = sqlx::query("SELECT sync_notice FROM meetings WHERE tenant_id = $1 AND id = $2").bind(tenant_id).bind(meeting_id).fetch_one(&self.pool).await?;
        Ok(row.try_get("sync_notice")?)
    }

    pub async fn delete_meeting(&self, tenant_id: &str, meeting_id: &str) -> Result<()> {
        let done = sqlx::query("DELETE FROM meetings WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(meeting_id)
            .execute(&self.pool)
            .await?;
        found(done)
    }

    /// Records a user's answer to a meeting they attend (`accepted`, `declined`, `tentative`,
    /// `needsAction`), as a provider reports it.
    pub async fn set_attendee_response(&self, tenant_id: &str, meeting_id: &str, user_id: &str, response: &str) -> Result<()> {
        let done = sqlx::query("UPDATE meeting_attendees SET response = $1 WHERE tenant_id = $2 AND meeting_id = $3 AND user_id = $4")
            .bind(response)
            .bind(tenant_id)
            .bind(meeting_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        found(done)
    }

    pub async fn meeting_count(&self, tenant_id: &str) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM meetings WHERE tenant_id = $1").bind(tenant_id).fetch_one(&self.pool).await?;
        Ok(row.try_get("n")?)
    }

    /// The meetings in the calendars of `user_ids` that overlap `[from, to)`, one entry per
    /// calendar, ordered by start. Cancelled meetings are left out. `viewer_id` is the signed-in
    /// user, for whom `viewer_participates` is computed (private meetings: F-CAL-10).
    pub async fn calendar_entries(
        &self,
        tenant_id: &str,
        viewer_id: &str,
        user_ids: &[String],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<CalendarEntry>> {
        if user_ids.is_empty() || to <= from {
            return Ok(Vec::new());
        }
        let users = placeholders(6, user_ids.len());
        // Everything shown comes from the copy itself (migration 0008 keeps the meeting's fields
        // on it), so each user's period is one range of a covering index. The participation
        // check (F-CAL-10; domain::access::Relation::involved, the same facts) runs only for private meetings and the notice is read only where
        // there is one: CASE evaluates its subqueries lazily.
        let select = "SELECT c.user_id AS calendar_user_id, c.meeting_id AS id, c.subject AS subject, c.location AS location, \
             c.start_at AS start_at, c.end_at AS end_at, c.all_day AS all_day, c.is_private AS is_private, \
             c.organiser_user_id AS organiser_user_id, c.version AS version, c.occurrence AS occurrence, \
             CASE WHEN c.has_notice THEN (SELECT n.sync_notice FROM meetings n WHERE n.id = c.meeting_id) ELSE '' END AS sync_notice, \
             CAST(CASE WHEN NOT c.is_private THEN 1 WHEN c.organiser_user_id = $2 \
                  OR EXISTS (SELECT 1 FROM meeting_copies v WHERE v.meeting_id = c.meeting_id AND v.user_id = $2) \
                  OR EXISTS (SELECT 1 FROM meeting_attendees a WHERE a.meeting_id = c.meeting_id AND a.user_id = $2) \
                  OR EXISTS (SELECT 1 FROM meetings b WHERE b.id = c.meeting_id AND b.booked_by_user_id = $2) \
             THEN 1 ELSE 0 END AS BIGINT) AS viewer_participates, c.response AS response \
             FROM meeting_copies c";
        // The page's hottest query: its rows come back as one JSON array (see
        // `json_rows_sql`); flags as 0/1 on both backends, in the order of [`EntryRow`].
        let cols = "calendar_user_id, id, subject, location, start_at, end_at, CASE WHEN all_day THEN 1 ELSE 0 END, \
             CASE WHEN is_private THEN 1 ELSE 0 END, organiser_user_id, version, CASE WHEN occurrence THEN 1 ELSE 0 END, sync_notice, viewer_participates, response";
        let inner = format!(
            "{select} WHERE c.tenant_id = $1 AND c.user_id IN ({users}) AND NOT c.long_span \
               AND c.start_at >= $5 AND c.start_at < $4 AND c.end_at > $3 AND NOT c.hidden \
             UNION ALL \
             {select} WHERE c.tenant_id = $1 AND c.user_id IN ({users}) AND c.long_span \
               AND c.start_at < $4 AND c.end_at > $3 AND NOT c.hidden"
        );
        let sql = crate::json_rows_sql(self.backend, cols, &inner);
        let mut q = sqlx::query(&sql)
            .bind(tenant_id)
            .bind(viewer_id)
            .bind(secs(from))
            .bind(secs(to))
            .bind(secs(from) - LONG_SPAN_SECS);
        for u in user_ids {
            q = q.bind(u);
        }
        let rows: Vec<EntryRow> = crate::json_rows(&q.fetch_one(&self.pool).await?)?;
        let mut entries: Vec<CalendarEntry> = rows
            .into_iter()
            .map(|r| CalendarEntry {
                calendar_user_id: r.calendar_user_id,
                meeting_id: r.meeting_id,
                subject: r.subject,
                location: r.location,
                start: time(r.start_at),
                end: time(r.end_at),
                all_day: r.all_day != 0,
                private: r.private != 0,
                organiser_user_id: r.organiser_user_id,
                version: r.version,
                occurrence: r.occurrence != 0,
                notice: r.sync_notice,
                viewer_participates: r.viewer_participates != 0,
                response: r.response,
            })
            .collect();
        entries.sort_by(|a, b| (a.start, &a.meeting_id, &a.calendar_user_id).cmp(&(b.start, &b.meeting_id, &b.calendar_user_id)));
        Ok(entries)
    }
}

/// One row of [`Store::calendar_entries`] as its JSON array holds it (serde reads a struct
/// from an array by field order: keep it in the order of the query's columns).
#[derive(serde::Deserialize)]
struct EntryRow {
    calendar_user_id: String,
    meeting_id: String,
    subject: String,
    location: String,
    start_at: i64,
    end_at: i64,
    all_day: i64,
    private: i64,
    organiser_user_id: Option<String>,
    version: i64,
    occurrence: i64,
    sync_notice: String,
    viewer_participates: i64,
    response: Option<String>,
}

async fn insert_meeting(tx: &mut Transaction<'static, Any>, tenant_id: &str, id: &str, m: &NewMeeting) -> Result<String> {
    let id = id.to_string();
    let now = Utc::now().timestamp();
    let (start, end) = (secs(m.start), secs(m.end));
    // The organiser must belong to the tenant; the INSERT … SELECT checks it in the same statement.
    let done = sqlx::query(
        "INSERT INTO meetings (id, tenant_id, subject, location, description, start_at, end_at, all_day, time_zone, \
         is_private, organiser_user_id, organiser_email, ical_uid, series_master_id, recurrence, original_start_at, \
         is_exception, custom_fields, created_at, updated_at) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19 \
         WHERE ($11 IS NULL OR EXISTS (SELECT 1 FROM users WHERE id = $11 AND tenant_id = $2)) \
           AND ($14 IS NULL OR EXISTS (SELECT 1 FROM meetings WHERE id = $14 AND tenant_id = $2))",
    )
    .bind(&id)
    .bind(tenant_id)
    .bind(&m.subject)
    .bind(&m.location)
    .bind(&m.description)
    .bind(start)
    .bind(end)
    .bind(m.all_day)
    .bind(&m.time_zone)
    .bind(m.private)
    .bind(m.organiser_user_id.as_deref())
    .bind(&m.organiser_email)
    .bind(m.ical_uid.as_deref())
    .bind(m.series.as_ref().map(|s| s.master_id.as_str()))
    .bind(m.recurrence.as_deref())
    .bind(m.series.as_ref().map(|s| secs(s.original_start)))
    .bind(m.series.as_ref().is_some_and(|s| s.is_exception))
    .bind(&m.custom_fields)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::NotFound);
    }
    for user_id in &m.calendar_user_ids {
        let done = sqlx::query(
            "INSERT INTO meeting_copies (id, tenant_id, meeting_id, user_id, start_at, end_at, long_span) \
             SELECT $1, $2, $3, id, $5, $6, $7 FROM users WHERE id = $4 AND tenant_id = $2",
        )
        .bind(new_id())
        .bind(tenant_id)
        .bind(&id)
        .bind(user_id)
        .bind(start)
        .bind(end)
        .bind(end - start > LONG_SPAN_SECS)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
    }
    for a in &m.attendees {
        let done = sqlx::query(
            "INSERT INTO meeting_attendees (id, tenant_id, meeting_id, kind, user_id, person_id, email, display_name, is_organiser) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 \
             WHERE ($5 IS NULL OR EXISTS (SELECT 1 FROM users WHERE id = $5 AND tenant_id = $2)) \
               AND ($6 IS NULL OR EXISTS (SELECT 1 FROM persons WHERE id = $6 AND tenant_id = $2))",
        )
        .bind(new_id())
        .bind(tenant_id)
        .bind(&id)
        .bind(a.kind.as_str())
        .bind(a.user_id.as_deref())
        .bind(a.person_id.as_deref())
        .bind(&a.email)
        .bind(&a.display_name)
        .bind(a.is_organiser)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
    }
    for org in &m.organisation_ids {
        let done = sqlx::query(
            "INSERT INTO meeting_organisations (tenant_id, meeting_id, organisation_id) \
             SELECT $1, $2, id FROM organisations WHERE id = $3 AND tenant_id = $1",
        )
        .bind(tenant_id)
        .bind(&id)
        .bind(org)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
    }
    Ok(id)
}

fn attendee_from_row(r: &AnyRow) -> Result<Attendee> {
    Ok(Attendee {
        kind: AttendeeKind::parse(&r.try_get::<String, _>("kind")?),
        user_id: r.try_get("user_id")?,
        person_id: r.try_get("person_id")?,
        email: r.try_get("email")?,
        display_name: r.try_get("display_name")?,
        response: r.try_get("response")?,
        is_organiser: flag(r, "is_organiser")?,
    })
}
