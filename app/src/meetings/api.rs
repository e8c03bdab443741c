//! The meeting editor's server functions (F-EDIT-5/6/9/11/12): load a meeting the viewer may
//! change, save it ("Save" or "Save and send invitations"), delete it. Times travel as the
//! viewer's wall clock (dates and times as typed) and are converted on the server in the
//! viewer's zone; every save goes through the sync engine (meeting + job in one transaction).

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The editor's fields, as the user sees and types them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingForm {
    /// None: a new meeting.
    pub id: Option<String>,
    /// The version loaded (a save of an older one is refused, not silently applied).
    pub version: i64,
    pub subject: String,
    pub location: String,
    pub description: String,
    /// `YYYY-MM-DD` and `HH:MM` in the viewer's zone.
    pub start_date: String,
    pub start_time: String,
    pub end_date: String,
    pub end_time: String,
    pub all_day: bool,
    pub private: bool,
    /// Attendees' e-mail addresses, separated by commas, semicolons or new lines.
    pub attendees: String,
    /// What the last sync of this meeting left to say (read-only).
    pub notice: String,
    /// An occurrence of a recurring series (read-only): changes apply to this occurrence.
    pub occurrence: bool,
}

impl MeetingForm {
    pub fn attendee_list(&self) -> Vec<String> {
        self.attendees.split([',', ';', '\n', ' ']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
    }
}

#[server(endpoint = "meeting")]
pub async fn get_meeting(id: String) -> Result<MeetingForm, AppError> {
    crate::error::respond(server::load(&id).await)
}

/// Saves the form; `send`: "Save and send invitations". Returns the meeting's id.
#[server(endpoint = "meeting-save")]
pub async fn save_meeting(form: MeetingForm, send: bool) -> Result<String, AppError> {
    crate::error::respond(server::save(form, send).await)
}

#[server(endpoint = "meeting-delete")]
pub async fn delete_meeting(id: String, version: i64, send: bool) -> Result<(), AppError> {
    crate::error::respond(server::delete(&id, version, send).await)
}

#[cfg(feature = "ssr")]
mod server {
    use super::*;
    use crate::auth::server::current_user;
    use crate::state::app_state;
    use chrono::{NaiveDate, NaiveTime, TimeDelta};
    use domain::tz::{local_to_utc, parse_tz, to_local, Tz};
    use sync::MeetingInput;

    fn zone(name: &str) -> Tz {
        parse_tz(name).unwrap_or(Tz::UTC)
    }

    pub async fn load(id: &str) -> Result<MeetingForm, AppError> {
        let me = current_user().await?;
        let engine = app_state()?.sync;
        let m = engine.store().sync_meeting(&me.tenant_id, id).await?.filter(|m| !m.deleted).ok_or(AppError::NotFound)?;
        let mut tx = engine.store().begin_sync(&me.tenant_id).await?;
        let copies = tx.copies_of_meeting(id).await?;
        tx.commit().await?;
        let involved = m.organiser_user_id.as_deref() == Some(me.id.as_str())
            || copies.iter().any(|c| c.user_id == me.id)
            || m.data.attendees.iter().any(|a| a.email.eq_ignore_ascii_case(&me.email));
        if !domain::event::may_see_details(m.data.private, involved) {
            // F-CAL-10: someone else's private meeting is only "Busy", never its details.
            return Err(AppError::NotFound);
        }
        let tz = zone(&me.time_zone);
        let (start, end) = if m.data.all_day {
            (m.data.start.naive_utc(), (m.data.end - TimeDelta::days(1)).naive_utc())
        } else {
            (to_local(m.data.start, tz), to_local(m.data.end, tz))
        };
        let notice = engine.store().meeting_notice(&me.tenant_id, id).await?;
        Ok(MeetingForm {
            id: Some(m.id.clone()),
            version: m.version,
            subject: m.data.subject.clone(),
            location: m.data.location.clone(),
            description: m.data.description.clone(),
            start_date: start.format("%Y-%m-%d").to_string(),
            start_time: start.format("%H:%M").to_string(),
            end_date: end.format("%Y-%m-%d").to_string(),
            end_time: end.format("%H:%M").to_string(),
            all_day: m.data.all_day,
            private: m.data.private,
            attendees: m
                .data
                .attendees
                .iter()
                .filter(|a| !a.is_organiser && !a.email.eq_ignore_ascii_case(&m.data.organiser_email))
                .map(|a| a.email.clone())
                .collect::<Vec<_>>()
                .join(", "),
            notice,
            occurrence: m.data.original_start.is_some(),
        })
    }

    /// The form's times as UTC instants, in the viewer's zone; clear messages for what cannot be read.
    fn times(form: &MeetingForm, tz: Tz) -> Result<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>), AppError> {
        let date = |s: &str, what: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| AppError::Invalid(format!("The {what} date is missing or not a date.")));
        let time = |s: &str, what: &str| NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| AppError::Invalid(format!("The {what} time is missing or not a time (HH:MM).")));
        let start_date = date(&form.start_date, "start")?;
        let end_date = if form.end_date.trim().is_empty() { start_date } else { date(&form.end_date, "end")? };
        if form.all_day {
            if end_date < start_date {
                return Err(AppError::Invalid("The meeting must end after it starts.".into()));
            }
            let midnight = |d: NaiveDate| d.and_time(NaiveTime::MIN).and_utc();
            return Ok((midnight(start_date), midnight(end_date + TimeDelta::days(1))));
        }
        let start = local_to_utc(start_date.and_time(time(&form.start_time, "start")?), tz);
        let end = local_to_utc(end_date.and_time(time(&form.end_time, "end")?), tz);
        Ok((start, end))
    }

    fn input(form: &MeetingForm, tz: Tz) -> Result<MeetingInput, AppError> {
        let (start, end) = times(form, tz)?;
        Ok(MeetingInput {
            subject: form.subject.clone(),
            location: form.location.clone(),
            description: form.description.clone(),
            start,
            end,
            all_day: form.all_day,
            time_zone: tz.name().to_string(),
            private: form.private,
            attendees: form.attendee_list(),
        })
    }

    pub async fn save(form: MeetingForm, send: bool) -> Result<String, AppError> {
        let me = current_user().await?;
        let engine = app_state()?.sync;
        let input = input(&form, zone(&me.time_zone))?;
        match &form.id {
            None => Ok(engine.create_meeting(&me.tenant_id, &me, &input, send).await?),
            Some(id) => {
                engine.update_meeting(&me.tenant_id, &me, id, form.version, &input, send).await?;
                Ok(id.clone())
            }
        }
    }

    pub async fn delete(id: &str, version: i64, send: bool) -> Result<(), AppError> {
        let me = current_user().await?;
        Ok(app_state()?.sync.delete_meeting(&me.tenant_id, &me, id, version, send).await?)
    }
}
