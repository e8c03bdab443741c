//! The meeting editor's server functions (F-EDIT-5/6/9/11/12): load a meeting the viewer may
//! change, save it ("Save" or "Save and send invitations"), delete it, and move it on the
//! calendar (F-X-10). Times travel as the viewer's wall clock (dates and times as typed) and
//! are converted on the server in the viewer's zone; every change goes through the sync
//! engine (meeting + job in one transaction).

use crate::error::AppError;
pub use domain::access::Access;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Someone or something chosen in the editor: an organisation, a person, a CRM user, or an
/// external guest (no id).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    /// The record's id; empty for an external guest.
    pub id: String,
    pub name: String,
    /// The e-mail address (an organisation's: its domain).
    pub email: String,
    /// Persons: their organisation's name.
    pub detail: String,
    /// Persons: their organisation's id (offered first once it is chosen).
    pub organisation_id: Option<String>,
    /// Attendees: their answer as the provider has it (None: not asked yet, a new choice).
    pub answer: Option<domain::Answer>,
    /// Linked by the CRM itself, through an attendee (F-X-13).
    pub auto: bool,
}

/// What a type-ahead searches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PeopleKind {
    Organisations,
    Persons,
    Users,
}

/// The editor's fields, as the user sees and types them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingForm {
    /// None: a new meeting.
    pub id: Option<String>,
    /// The version loaded (a save of an older one is refused, not silently applied).
    pub version: i64,
    /// New meetings: the user whose calendar it goes into (empty: the viewer's own).
    pub calendar_user: String,
    pub subject: String,
    pub location: String,
    /// As text: a plain description, or the text of an HTML body (what "Edit as text" starts from).
    pub description: String,
    /// The meeting's HTML body (Outlook's, Google's), sanitised on the server for showing:
    /// links work, scripts, styles and remote images are gone. Output only.
    #[serde(default)]
    pub rich_description: Option<String>,
    /// Keep that HTML body as it is (true until the user rewrites the description as text).
    #[serde(default)]
    pub keep_rich_description: bool,
    /// `YYYY-MM-DD` and `HH:MM` in the viewer's zone.
    pub start_date: String,
    pub start_time: String,
    pub end_date: String,
    pub end_time: String,
    pub all_day: bool,
    pub private: bool,
    /// Linked organisations (CRM only: never sent to the provider).
    pub organisations: Vec<Choice>,
    /// Attendees: persons, CRM users and external guests (F-EDIT-1).
    pub persons: Vec<Choice>,
    pub users: Vec<Choice>,
    pub guests: Vec<Choice>,
    /// What the viewer may do (read-only; a new meeting: everything).
    pub access: Access,
    /// Who organises it and, when a colleague booked it for them, who (read-only).
    pub organiser: String,
    /// The organiser's user id, when they are a user of the company.
    pub organiser_id: Option<String>,
    pub booked_by: Option<String>,
    /// What the last sync of this meeting left to say (read-only).
    pub notice: Option<domain::SyncNotice>,
    /// An occurrence of a recurring series (read-only): changes apply to this occurrence.
    pub occurrence: bool,
}

impl MeetingForm {
    /// A date and a time of the form as one wall-clock instant; None while either does not
    /// read as one (being typed, or wrong).
    pub fn instant(date: &str, time: &str) -> Option<chrono::NaiveDateTime> {
        domain::iso::parse_date_time(&format!("{date}T{time}"))
    }

    /// The attendees' addresses: persons, users and guests.
    pub fn attendee_list(&self) -> Vec<String> {
        self.persons.iter().chain(&self.users).chain(&self.guests).map(|c| c.email.trim().to_string()).filter(|e| !e.is_empty()).collect()
    }

    /// A new meeting from `start` to `end` (the viewer's wall clock) in `calendar_user`'s
    /// calendar ("" = the viewer's).
    pub fn new_at(start: chrono::NaiveDateTime, end: chrono::NaiveDateTime, calendar_user: &str) -> MeetingForm {
        MeetingForm {
            calendar_user: calendar_user.to_string(),
            start_date: start.date().to_string(),
            start_time: domain::calendar::hh_mm(start),
            end_date: end.date().to_string(),
            end_time: domain::calendar::hh_mm(end),
            access: Access::Full,
            ..MeetingForm::default()
        }
    }
}


#[server(endpoint = "meeting", input = crate::codec::Json, output = crate::codec::Json)]
pub async fn get_meeting(id: String) -> Result<MeetingForm, AppError> {
    crate::error::respond(server::load(&id).await)
}

/// Saves the form; `send`: "Save and send invitations". Returns the meeting's id.
#[server(endpoint = "meeting-save", input = crate::codec::Json, output = crate::codec::Json)]
pub async fn save_meeting(form: MeetingForm, send: bool) -> Result<String, AppError> {
    crate::error::respond(server::save(form, send).await)
}

/// Organisations, persons or users matching `query` (word prefixes, any case or accent);
/// persons of the chosen `organisations` first (F-EDIT-1).
#[server(endpoint = "people-search", input = crate::codec::Json, output = crate::codec::Json)]
pub async fn search_people(kind: PeopleKind, query: String, organisations: Vec<String>) -> Result<Vec<Choice>, AppError> {
    crate::error::respond(server::search(kind, &query, &organisations).await)
}

/// The calendars a new meeting can go into: the viewer's, then those of colleagues with a
/// synchronised calendar (booking on their behalf: F-EDIT-2), as (user id, name).
#[server(endpoint = "meeting-calendars", input = crate::codec::Json, output = crate::codec::Json)]
pub async fn bookable_calendars() -> Result<Vec<(String, String)>, AppError> {
    crate::error::respond(server::bookable().await)
}

#[server(endpoint = "meeting-delete", input = crate::codec::Json, output = crate::codec::Json)]
pub async fn delete_meeting(id: String, version: i64, send: bool) -> Result<(), AppError> {
    crate::error::respond(server::delete(&id, version, send).await)
}

/// What a move on the calendar came to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MoveOutcome {
    /// Nothing saved yet: the meeting has attendees, so the user is asked first whether
    /// they get updates (F-X-10), or it goes into a colleague's calendar, which the user
    /// confirms first (attendees or not). `can_keep_quiet`: false when the provider mails
    /// them anyway (Microsoft 365), so "don't send" is not offered.
    Ask { attendees: usize, can_keep_quiet: bool },
    /// Moved; the meeting's new version (for an undo).
    Moved { version: i64 },
    /// Booked into the calendar of the colleague `name` (dragged to their lane).
    Booked { name: String },
}

/// Moves (or resizes) a meeting to `start`–`end` (`YYYY-MM-DDTHH:MM`, the viewer's wall
/// clock); `to`: into that colleague's calendar (dragged to their lane in the schedule).
/// `send`: None asks first when there are attendees; Some(answer) saves with or without
/// updates to them.
#[server(endpoint = "meeting-move", input = crate::codec::Json, output = crate::codec::Json)]
pub async fn move_meeting(id: String, version: i64, start: String, end: String, send: Option<bool>, to: Option<String>) -> Result<MoveOutcome, AppError> {
    crate::error::respond(server::move_to(&id, version, &start, &end, send, to.as_deref()).await)
}

#[cfg(feature = "ssr")]
mod server {
    use super::*;
    use crate::error::check_len;
    use crate::state::Ctx;
    use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
    use super::Choice;
    use domain::tz::{local_to_utc, to_local, Tz};
    use domain::Problem;
    use sync::MeetingInput;

    pub async fn load(id: &str) -> Result<MeetingForm, AppError> {
        let ctx = Ctx::signed_in().await?;
        check_len("id", id, 64)?;
        let v = ctx.engine.meeting_for(ctx.tenant(), &ctx.user, id).await?;
        let m = &v.meeting;
        let (start, end) = if m.data.all_day {
            (m.data.start.naive_utc(), (m.data.end - TimeDelta::days(1)).naive_utc())
        } else {
            (to_local(m.data.start, ctx.tz), to_local(m.data.end, ctx.tz))
        };
        // Names (and persons' organisations) of the linked persons and users: one read each.
        let persons = ctx.store.found_by_id(ctx.tenant(), store::SearchKind::Person, &v.attendees.iter().filter_map(|a| a.person_id.clone()).collect::<Vec<_>>()).await?;
        let user_ids: Vec<String> = v.attendees.iter().filter_map(|a| a.user_id.clone()).chain(m.organiser_user_id.clone()).chain(m.booked_by_user_id.clone()).collect();
        let names = ctx.store.found_by_id(ctx.tenant(), store::SearchKind::User, &user_ids).await?;
        let name_of = |id: &Option<String>| id.as_ref().and_then(|id| names.iter().find(|u| &u.id == id)).map(|u| u.name.clone());
        let (mut form_persons, mut users, mut guests) = (Vec::new(), Vec::new(), Vec::new());
        for a in v.attendees.iter().filter(|a| !a.is_organiser && !a.email.eq_ignore_ascii_case(&m.data.organiser_email)) {
            let mut c = Choice { id: String::new(), name: a.display_name.clone(), email: a.email.clone(), answer: Some(domain::Answer::from_response(Some(&a.response))), ..Choice::default() };
            if let Some(name) = name_of(&a.user_id) {
                users.push(Choice { id: a.user_id.clone().unwrap_or_default(), name, ..c });
            } else if let Some(p) = a.person_id.as_ref().and_then(|id| persons.iter().find(|p| &p.id == id)) {
                form_persons.push(Choice { id: p.id.clone(), name: p.name.clone(), detail: p.organisation.clone(), organisation_id: p.organisation_id.clone(), ..c });
            } else {
                if c.name.is_empty() {
                    c.name = a.email.clone();
                }
                guests.push(c);
            }
        }
        let organiser = name_of(&m.organiser_user_id).unwrap_or_else(|| m.data.organiser_email.clone());
        Ok(MeetingForm {
            id: Some(m.id.clone()),
            version: m.version,
            calendar_user: String::new(),
            subject: m.data.subject.clone(),
            location: m.data.location.clone(),
            description: sync::fields::description_text(&m.data.description, m.data.description_html),
            rich_description: m.data.description_html.then(|| sanitised(&m.data.description)),
            keep_rich_description: m.data.description_html,
            start_date: start.date().to_string(),
            start_time: domain::calendar::hh_mm(start),
            end_date: end.date().to_string(),
            end_time: domain::calendar::hh_mm(end),
            all_day: m.data.all_day,
            private: m.data.private,
            organisations: v.organisations.iter().map(|o| Choice { id: o.organisation_id.clone(), name: o.name.clone(), auto: o.auto, ..Choice::default() }).collect(),
            persons: form_persons,
            users,
            guests,
            access: v.access,
            organiser,
            organiser_id: m.organiser_user_id.clone(),
            booked_by: name_of(&m.booked_by_user_id),
            notice: domain::SyncNotice::from_stored(&v.notice),
            occurrence: m.data.original_start.is_some(),
        })
    }

    pub async fn bookable() -> Result<Vec<(String, String)>, AppError> {
        let ctx = Ctx::signed_in().await?;
        let colleagues = ctx.store.users_with_synced_calendars(ctx.tenant()).await?;
        Ok(std::iter::once((ctx.user.id.clone(), ctx.user.display_name.clone()))
            .chain(colleagues.into_iter().filter(|u| u.id != ctx.user.id).map(|u| (u.id, u.display_name)))
            .collect())
    }

    pub async fn search(kind: PeopleKind, query: &str, organisations: &[String]) -> Result<Vec<Choice>, AppError> {
        let ctx = Ctx::signed_in().await?;
        check_len("query", query, 100)?;
        if organisations.len() > sync::meetings::MAX_ORGANISATIONS || organisations.iter().any(|o| o.len() > 64) {
            return Err(AppError::field("organisations", Problem::NotAChoice));
        }
        let kind = match kind {
            PeopleKind::Organisations => store::SearchKind::Organisation,
            PeopleKind::Persons => store::SearchKind::Person,
            PeopleKind::Users => store::SearchKind::User,
        };
        let found = ctx.store.search(ctx.tenant(), kind, query, organisations, 20).await?;
        Ok(found
            .into_iter()
            .map(|f| Choice { id: f.id, name: f.name, email: f.email, detail: f.organisation, organisation_id: f.organisation_id, ..Choice::default() })
            .collect())
    }

    /// An HTML body as the editor may show it: the tags of formatted text and links (opening
    /// in a new tab, without the referrer), nothing that runs, styles the page or loads from
    /// elsewhere (images would tell the sender the meeting was opened).
    fn sanitised(html: &str) -> String {
        ammonia::Builder::default()
            .rm_tags(["img"])
            .set_tag_attribute_value("a", "target", "_blank")
            .clean(html)
            .to_string()
    }

    /// The form's times as UTC instants, in the viewer's zone; each unreadable part is named.
    fn times(form: &MeetingForm, tz: Tz) -> Result<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>), AppError> {
        let date = |s: &str, field: &str| s.trim().parse::<NaiveDate>().map_err(|_| AppError::field(field, Problem::NotADate));
        let time = |s: &str, field: &str| NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| AppError::field(field, Problem::NotATime));
        let start_date = date(&form.start_date, "start_date")?;
        let end_date = if form.end_date.trim().is_empty() { start_date } else { date(&form.end_date, "end_date")? };
        if form.all_day {
            if end_date < start_date {
                return Err(AppError::field("end", Problem::EndBeforeStart));
            }
            let midnight = |d: NaiveDate| d.and_time(NaiveTime::MIN).and_utc();
            return Ok((midnight(start_date), midnight(end_date + TimeDelta::days(1))));
        }
        let start = local_to_utc(start_date.and_time(time(&form.start_time, "start_time")?), tz);
        let end = local_to_utc(end_date.and_time(time(&form.end_time, "end_time")?), tz);
        Ok((start, end))
    }

    fn input(form: &MeetingForm, tz: Tz) -> Result<MeetingInput, AppError> {
        let (start, end) = times(form, tz)?;
        Ok(MeetingInput {
            subject: form.subject.clone(),
            location: form.location.clone(),
            description: form.description.clone(),
            keep_html_description: form.keep_rich_description,
            start,
            end,
            all_day: form.all_day,
            time_zone: tz.name().to_string(),
            private: form.private,
            attendees: form.attendee_list(),
            organisations: form.organisations.iter().map(|o| o.id.clone()).collect(),
        })
    }

    pub async fn save(form: MeetingForm, send: bool) -> Result<String, AppError> {
        let ctx = Ctx::signed_in().await?;
        let too_many = |list: &[Choice], max: usize| list.len() > max || list.iter().any(|c| c.id.len() > 64 || c.email.len() > 254);
        if too_many(&form.organisations, sync::meetings::MAX_ORGANISATIONS) {
            return Err(AppError::field("organisations", Problem::TooManyAttendees { max: sync::meetings::MAX_ORGANISATIONS }));
        }
        for (field, list) in [("persons", &form.persons), ("users", &form.users), ("guests", &form.guests)] {
            if too_many(list, sync::meetings::MAX_ATTENDEES) {
                return Err(AppError::field(field, Problem::TooManyAttendees { max: sync::meetings::MAX_ATTENDEES }));
            }
        }
        let input = input(&form, ctx.tz)?;
        match &form.id {
            None => {
                // Into the viewer's calendar, or a colleague's whose calendar is connected
                // (booking on their behalf: F-EDIT-2).
                let calendar = bookable_calendar(&ctx, &form.calendar_user, "calendar").await?;
                Ok(ctx.engine.create_meeting(ctx.tenant(), &ctx.user, &calendar, &input, send).await?)
            }
            Some(id) => {
                ctx.engine.update_meeting(ctx.tenant(), &ctx.user, id, form.version, &input, send).await?;
                Ok(id.clone())
            }
        }
    }

    /// The calendar a meeting may be booked into: the viewer's own ("" or their id), or a
    /// colleague's whose calendar is connected (booking on their behalf: F-EDIT-2).
    async fn bookable_calendar(ctx: &Ctx, user_id: &str, field: &'static str) -> Result<store::User, AppError> {
        if user_id.is_empty() || user_id == ctx.user.id {
            return Ok(ctx.user.clone());
        }
        check_len(field, user_id, 64)?;
        let u = ctx.store.user(ctx.tenant(), user_id).await.map_err(|_| AppError::field(field, Problem::NotAChoice))?;
        if ctx.store.connection_of_user(ctx.tenant(), &u.id).await?.is_none() {
            return Err(AppError::field(field, Problem::NotAChoice));
        }
        Ok(u)
    }

    pub async fn delete(id: &str, version: i64, send: bool) -> Result<(), AppError> {
        let ctx = Ctx::signed_in().await?;
        Ok(ctx.engine.delete_meeting(ctx.tenant(), &ctx.user, id, version, send).await?)
    }

    pub async fn move_to(id: &str, version: i64, start: &str, end: &str, send: Option<bool>, to: Option<&str>) -> Result<MoveOutcome, AppError> {
        let ctx = Ctx::signed_in().await?;
        check_len("id", id, 64)?;
        let at = |s: &str, field: &str| NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%dT%H:%M").map_err(|_| AppError::field(field, Problem::NotATime));
        let (start, end) = (local_to_utc(at(start, "start")?, ctx.tz), local_to_utc(at(end, "end")?, ctx.tz));
        // Into another colleague's lane: booked for them (F-EDIT-2), unless it is theirs already.
        // (The meeting is read for its organiser only then: a plain move does not need it.)
        let to = match to {
            Some(user) => {
                let m = ctx.engine.meeting_for(ctx.tenant(), &ctx.user, id).await?.meeting;
                // One occurrence cannot leave its series (refused before the question is asked).
                if m.data.original_start.is_some() {
                    return Err(AppError::field("to", Problem::NotMovable));
                }
                let to = bookable_calendar(&ctx, user, "to").await?;
                (m.organiser_user_id.as_deref() != Some(to.id.as_str())).then_some(to)
            }
            None => None,
        };
        if send.is_none() {
            let q = ctx.engine.move_question(ctx.tenant(), &ctx.user, id).await?;
            // A new organiser is always confirmed, attendees or not.
            if q.attendees > 0 || to.is_some() {
                return Ok(MoveOutcome::Ask { attendees: q.attendees, can_keep_quiet: q.can_keep_quiet });
            }
        }
        if let Some(to) = to {
            ctx.engine.rebook_meeting(ctx.tenant(), &ctx.user, id, version, &to, start, end, send.unwrap_or(false)).await?;
            return Ok(MoveOutcome::Booked { name: to.display_name });
        }
        let version = ctx.engine.move_meeting(ctx.tenant(), &ctx.user, id, version, start, end, send.unwrap_or(false)).await?;
        Ok(MoveOutcome::Moved { version })
    }
}
