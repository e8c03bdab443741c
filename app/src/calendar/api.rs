//! The calendar's server functions: load a period of the shown calendars, remember settings.

use crate::error::AppError;
use chrono::NaiveDate;
use domain::{CalEvent, Nav};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A user whose calendar can be shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalendarOwner {
    pub user_id: String,
    pub name: String,
}

/// Everything the calendar page shows, in the viewer's time zone, redacted for the viewer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalendarData {
    pub nav: Nav,
    /// Today in the viewer's zone (the browser's clock is never asked: no hydration drift).
    pub today: NaiveDate,
    pub time_zone: String,
    /// The shown calendars; index 0 is the viewer's own. `CalEvent::calendar` indexes this.
    pub shown: Vec<CalendarOwner>,
    /// Colleagues of the viewer that can be added to the view.
    pub colleagues: Vec<CalendarOwner>,
    pub events: Vec<CalEvent>,
}

impl CalendarData {
    /// The `users` query value for the shown colleagues (the viewer is always shown).
    pub fn shown_colleague_ids(&self) -> Vec<String> {
        self.shown.iter().skip(1).map(|o| o.user_id.clone()).collect()
    }
}

/// Loads the period around `date` for `view` (malformed values fall back to today / week) of
/// the viewer's calendar and of the colleagues listed in `users` (comma-separated ids).
#[server(endpoint = "calendar")]
pub async fn get_calendar(view: Option<String>, date: Option<String>, users: Option<String>) -> Result<CalendarData, AppError> {
    crate::error::respond(server::load(view, date, users).await)
}

/// The "up to date" indicator (F-CAL-2): the viewer's calendar connection and its last sync.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncIndicator {
    /// `google`, `graph` or `ews`; None: no calendar connected.
    pub provider: Option<String>,
    /// `active`, `failing` or `needs_reconnect`.
    pub state: String,
    pub reason: String,
    /// Last finished sync, as the viewer's wall clock (`14:05`, or `3 Dec 14:05` on another day).
    pub last_synced: Option<String>,
    pub syncing: bool,
}

#[server(endpoint = "sync-status")]
pub async fn get_sync_status() -> Result<SyncIndicator, AppError> {
    crate::error::respond(server::sync_status().await)
}

/// The Refresh button (F-CAL-3): sync the viewer's calendar now.
#[server(endpoint = "refresh")]
pub async fn refresh_calendar() -> Result<(), AppError> {
    crate::error::respond(
        async {
            let user = crate::auth::server::current_user().await?;
            let engine = crate::state::app_state()?.sync;
            match engine.store().connection_of_user(&user.tenant_id, &user.id).await? {
                Some(conn) => {
                    engine.request_sync(&user.tenant_id, &conn.id, false).await?;
                    Ok(())
                }
                None => Err(AppError::Invalid("Your calendar is not connected yet.".into())),
            }
        }
        .await,
    )
}

/// Show or hide weekends, remembered for the user (F-CAL-6).
#[server(endpoint = "weekends")]
pub async fn set_show_weekends(show: bool) -> Result<(), AppError> {
    crate::error::respond(
        async {
            let user = crate::auth::server::current_user().await?;
            crate::state::app_state()?.store.set_show_weekends(&user.tenant_id, &user.id, show).await?;
            Ok(())
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
mod server {
    use super::*;
    use crate::auth::server::current_user;
    use crate::state::app_state;
    use chrono::{TimeDelta, Utc, Weekday};
    use domain::calendar::parse_date_or;
    use domain::tz::{parse_tz, start_of_day, to_local, Tz};
    use domain::CalendarView;
    use store::CalendarEntry;

    /// At most this many colleagues' calendars at once (bounds the query and the page).
    const MAX_SHOWN: usize = 20;

    pub async fn sync_status() -> Result<SyncIndicator, AppError> {
        let me = current_user().await?;
        let status = app_state()?.sync.status(&me.tenant_id, &me.id).await?;
        let tz: Tz = parse_tz(&me.time_zone).unwrap_or(Tz::UTC);
        Ok(match status {
            None => SyncIndicator { provider: None, state: "none".into(), reason: String::new(), last_synced: None, syncing: false },
            Some(s) => SyncIndicator {
                provider: Some(s.provider),
                state: s.state,
                reason: s.reason,
                last_synced: s.last_synced_at.map(|t| {
                    let local = to_local(t, tz);
                    if local.date() == to_local(Utc::now(), tz).date() {
                        local.format("%H:%M").to_string()
                    } else {
                        local.format("%-d %b %H:%M").to_string()
                    }
                }),
                syncing: s.syncing,
            },
        })
    }

    pub async fn load(view: Option<String>, date: Option<String>, users: Option<String>) -> Result<CalendarData, AppError> {
        let me = current_user().await?;
        let state = app_state()?;
        let store = state.store;
        // F-CAL-1: opening the calendar refreshes it from the provider (unless it just did);
        // the page hears about the result live.
        if let Err(e) = state.sync.sync_if_stale(&me.tenant_id, &me.id).await {
            tracing::warn!(error = %e, "could not queue a sync on page load");
        }
        let tz: Tz = parse_tz(&me.time_zone).unwrap_or(Tz::UTC);
        let today = to_local(Utc::now(), tz).date();
        let nav = Nav {
            view: CalendarView::parse_or_default(view.as_deref()),
            date: parse_date_or(date.as_deref(), today),
            week_start: Weekday::try_from(me.week_start.clamp(0, 6) as u8).unwrap_or(Weekday::Mon),
            show_weekends: me.show_weekends,
        };

        // Colleagues come from the viewer's own tenant; unknown ids in the URL are ignored.
        let tenant_users = store.users(&me.tenant_id).await?;
        let owner = |u: &store::User| CalendarOwner { user_id: u.id.clone(), name: u.display_name.clone() };
        let mut shown = vec![owner(&me)];
        for id in users.as_deref().unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if shown.len() > MAX_SHOWN {
                break;
            }
            if let Some(u) = tenant_users.iter().find(|u| u.id == id) {
                if !shown.iter().any(|s| s.user_id == u.id) {
                    shown.push(owner(u));
                }
            }
        }
        let colleagues = tenant_users.iter().filter(|u| u.id != me.id).map(owner).collect();

        let (first, end) = nav.load_range();
        // All-day meetings are stored as UTC dates; a day's margin on each side catches them
        // whatever the viewer's offset, and `touches` below keeps only the shown days.
        let ids: Vec<String> = shown.iter().map(|o| o.user_id.clone()).collect();
        let entries = store
            .calendar_entries(
                &me.tenant_id,
                &me.id,
                &ids,
                start_of_day(first, tz) - TimeDelta::days(1),
                start_of_day(end, tz) + TimeDelta::days(1),
            )
            .await?;
        let events = entries
            .into_iter()
            .map(|e| to_event(e, &ids, tz))
            .filter(|ev| first.iter_days().take_while(|d| *d < end).any(|d| ev.touches(d)))
            .collect();
        Ok(CalendarData { nav, today, time_zone: tz.name().to_string(), shown, colleagues, events })
    }

    /// Converts to the viewer's wall clock and redacts private meetings of others (F-CAL-10):
    /// their subject and place never leave the server.
    fn to_event(e: CalendarEntry, shown: &[String], tz: Tz) -> CalEvent {
        let visible = domain::event::may_see_details(e.private, e.viewer_participates);
        let (start, end) = if e.all_day { (e.start.naive_utc(), e.end.naive_utc()) } else { (to_local(e.start, tz), to_local(e.end, tz)) };
        CalEvent {
            meeting_id: e.meeting_id,
            calendar: shown.iter().position(|u| *u == e.calendar_user_id).unwrap_or(0),
            subject: visible.then_some(e.subject),
            location: visible.then_some(e.location).filter(|l| !l.is_empty()),
            start,
            end,
            all_day: e.all_day,
            private: e.private && visible,
        }
    }
}
