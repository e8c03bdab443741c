//! Reading meetings for the calendar: one row per real meeting, one copy per calendar it sits
//! in. Meetings are written through the sync transaction ([`crate::SyncTx`]) only, by the
//! engine's edit path and by the syncs: one meeting record (`MeetingData`), one way in.

use crate::{found, placeholders, secs, time, Result, Store};
use chrono::{DateTime, Utc};
use sqlx::Row;

/// Meetings longer than this (seconds) are "long span". The range query finds the others by
/// `start_at >= from - LONG_SPAN_SECS`, a bounded index scan, and the rare long ones through
/// their own small index, so the cost follows the size of the window, not of the history.
pub const LONG_SPAN_SECS: i64 = 7 * 24 * 3600;

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
    /// What the last sync of the meeting left to tell its users (empty: nothing).
    pub async fn meeting_notice(&self, tenant_id: &str, meeting_id: &str) -> Result<String> {
        let row = sqlx::query("SELECT sync_notice FROM meetings WHERE tenant_id = $1 AND id = $2").bind(tenant_id).bind(meeting_id).fetch_one(&self.pool).await?;
        Ok(row.try_get("sync_notice")?)
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
