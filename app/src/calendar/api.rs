//! The calendar's server functions: a period of the shown calendars (redacted for the
//! viewer), the sync state of the shown calendars, Refresh, and the viewer's remembered
//! choices (weekends, who is shown in which colour).

use chrono::{NaiveDate, NaiveDateTime};
use domain::{CalEvent, ConnectionStatus, Nav, ProviderKind, StatusReason};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Colours a calendar can be shown in (`style/main.css`, `.c0` … `.c9`; names in the
/// catalogue under `colours`).
pub const PALETTE: [&str; 10] = ["blue", "green", "orange", "purple", "red", "teal", "pink", "brown", "slate", "olive"];
/// At most this many calendars side by side (bounds the query and the page).
pub const MAX_LANES: usize = 100;

/// One shown calendar: the viewer's own first, then the chosen colleagues'.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Lane {
    pub user_id: String,
    pub name: String,
    pub colour: u8,
    /// When it was last synchronised (unix seconds; F-X-15); None: never, or not connected.
    pub synced_at: Option<i64>,
    pub connected: bool,
}

/// A colleague whose calendar can be shown (connected and synchronised: F-CAL-7).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Colleague {
    pub user_id: String,
    pub name: String,
    pub colour: u8,
    pub shown: bool,
}

/// Everything the calendar page shows, in the viewer's time zone, redacted for the viewer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalendarData {
    pub nav: Nav,
    /// The viewer's wall clock and the UTC instant (unix seconds) when this was read: the page
    /// starts its clock from here (no hydration drift), then follows the browser's.
    #[serde(with = "domain::iso::date_time")]
    pub now: NaiveDateTime,
    pub now_utc: i64,
    pub time_zone: String,
    /// The shown calendars; `CalEvent::calendar` indexes this.
    pub lanes: Vec<Lane>,
    pub colleagues: Vec<Colleague>,
    pub events: Vec<CalEvent>,
    /// The server's live stamp before this was read (see `crate::live`).
    pub as_of: String,
}

impl CalendarData {
    pub fn today(&self) -> NaiveDate {
        self.now.date()
    }
}

/// Loads the period of `view` around `date` (malformed values: the viewer's default view,
/// today) of the viewer's calendar and of the colleagues in `users` (comma-separated ids;
/// none given: the viewer's remembered choice). Starts a sync of every shown calendar that
/// is not fresh (F-CAL-1); the page hears about it live.
#[server(endpoint = "calendar", input = crate::codec::Json, output = crate::codec::Json)]
pub async fn get_calendar(view: Option<String>, date: Option<String>, users: Option<String>, span: Option<String>) -> Result<CalendarData, AppError> {
    crate::error::respond(server::load(view, date, users, span).await)
}

/// The "up to date" indicator (F-CAL-2) of the viewer's calendar.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncIndicator {
    /// None: no calendar connected.
    pub provider: Option<ProviderKind>,
    pub state: ConnectionStatus,
    pub reason: StatusReason,
    /// Last finished sync, on the viewer's wall clock.
    #[serde(default, with = "domain::iso::opt_date_time")]
    pub last_synced: Option<NaiveDateTime>,
    pub syncing: bool,
    /// The company's calendar integration is switched off (F-ADM-1): nothing syncs.
    pub integration_off: bool,
}

/// How fresh a shown calendar is (F-X-15).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Freshness {
    pub user_id: String,
    pub synced_at: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    pub mine: SyncIndicator,
    pub lanes: Vec<Freshness>,
}

/// The viewer's sync indicator and the freshness of the calendars in `users`.
#[server(endpoint = "sync-status", input = crate::codec::Json, output = crate::codec::Json)]
pub async fn get_sync_state(users: Vec<String>) -> Result<SyncState, AppError> {
    crate::error::respond(server::sync_state(users).await)
}

/// The Refresh button (F-CAL-3): synchronise the viewer's calendar, and the shown
/// colleagues', now.
#[server(endpoint = "refresh", input = crate::codec::Json, output = crate::codec::Json)]
pub async fn refresh_calendar(users: Vec<String>) -> Result<(), AppError> {
    crate::error::respond(server::refresh(users).await)
}

/// Show or hide weekends, remembered for the user (F-CAL-6).
#[server(endpoint = "weekends", input = crate::codec::Json, output = crate::codec::Json)]
pub async fn set_show_weekends(show: bool) -> Result<(), AppError> {
    crate::error::respond(
        async {
            let ctx = crate::state::Ctx::signed_in().await?;
            ctx.store.set_show_weekends(ctx.tenant(), &ctx.user.id, show).await?;
            Ok(())
        }
        .await,
    )
}

/// Remembers who is shown and in which colour (F-CAL-7): `shown` replaces the list of
/// colleagues shown when the address names none; `colours` sets colours by user id.
#[server(endpoint = "calendar-prefs", input = crate::codec::Json, output = crate::codec::Json)]
pub async fn save_calendar_prefs(shown: Option<Vec<String>>, colours: Vec<(String, u8)>) -> Result<(), AppError> {
    crate::error::respond(server::save_prefs(shown, colours).await)
}

/// The stored form of the viewer's calendar choices (`users.calendar_prefs`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Prefs {
    #[serde(default)]
    pub shown: Vec<String>,
    #[serde(default)]
    pub colours: std::collections::BTreeMap<String, u8>,
}

/// Colours for the shown calendars: each its chosen one, the others the first colours not
/// taken (in lane order, the viewer first).
pub fn lane_colours(ids: &[String], chosen: &std::collections::BTreeMap<String, u8>) -> Vec<u8> {
    let mut taken: Vec<u8> = ids.iter().filter_map(|id| chosen.get(id).copied()).collect();
    ids.iter()
        .map(|id| match chosen.get(id) {
            Some(c) => *c,
            None => {
                let free = (0..PALETTE.len() as u8).find(|c| !taken.contains(c)).unwrap_or((taken.len() % PALETTE.len()) as u8);
                taken.push(free);
                free
            }
        })
        .collect()
}

#[cfg(feature = "ssr")]
mod server {
    use super::*;
    use crate::routes::CalendarUrl;
    use crate::state::Ctx;
    use chrono::{TimeDelta, Utc, Weekday};
    use domain::tz::{start_of_day, to_local, Tz};
    use domain::{Answer, CalendarView, Problem, SyncNotice};
    use std::collections::BTreeMap;
    use store::CalendarEntry;

    fn prefs(raw: &str) -> Prefs {
        serde_json::from_str(raw).unwrap_or_default()
    }

    pub async fn load(view: Option<String>, date: Option<String>, users: Option<String>, span: Option<String>) -> Result<CalendarData, AppError> {
        let ctx = Ctx::signed_in().await?;
        // Before anything is read: a change announced from here on makes the page read again.
        let as_of = ctx.engine.live_stamp();
        let (me, store, tz) = (&ctx.user, &ctx.store, ctx.tz);
        let now_utc = Utc::now();
        let now = to_local(now_utc, tz);
        let url = CalendarUrl::parse(view.as_deref(), date.as_deref(), users.as_deref(), span.as_deref());
        let nav = Nav {
            view: url.view.or_else(|| CalendarView::parse(Some(&me.default_view))).unwrap_or_default(),
            date: url.date.unwrap_or(now.date()),
            week_start: Weekday::try_from(me.week_start.clamp(0, 6) as u8).unwrap_or(Weekday::Mon),
            show_weekends: me.show_weekends,
            span: url.span,
        };
        let prefs = prefs(&store.calendar_prefs(ctx.tenant(), &me.id).await?);

        // Colleagues come from the viewer's own tenant and must have a synchronised calendar;
        // ids in the address that are not such colleagues are ignored.
        let listable: Vec<store::UserName> = store.users_with_synced_calendars(ctx.tenant()).await?.into_iter().filter(|u| u.id != me.id).collect();
        let wanted = url.users.clone().unwrap_or_else(|| prefs.shown.clone());
        let mut shown: Vec<&store::UserName> = Vec::new();
        for id in &wanted {
            if shown.len() + 1 >= MAX_LANES {
                break;
            }
            if let Some(u) = listable.iter().find(|u| u.id == *id) {
                if !shown.iter().any(|s| s.id == u.id) {
                    shown.push(u);
                }
            }
        }
        let ids: Vec<String> = std::iter::once(me.id.clone()).chain(shown.iter().map(|u| u.id.clone())).collect();
        // Colours by the whole list (not by who is shown now), so each calendar keeps its colour.
        let everyone: Vec<String> = std::iter::once(me.id.clone()).chain(listable.iter().map(|u| u.id.clone())).collect();
        let palette = lane_colours(&everyone, &prefs.colours);
        let colour_of = |id: &str| everyone.iter().position(|e| e == id).map(|i| palette[i]).unwrap_or(0);
        let colours: Vec<u8> = ids.iter().map(|id| colour_of(id)).collect();

        // F-CAL-1: opening the calendar refreshes every shown calendar that is not fresh.
        let conns = store.connections_of_users(ctx.tenant(), &ids).await?;
        if let Err(e) = ctx.engine.sync_stale(&conns).await {
            tracing::warn!(error = %e, "could not queue a sync on page load");
        }
        let lanes: Vec<Lane> = std::iter::once((&me.id, &me.display_name))
            .chain(shown.iter().map(|u| (&u.id, &u.display_name)))
            .zip(&colours)
            .map(|((id, name), colour)| {
                let conn = conns.iter().find(|c| c.user_id == *id);
                Lane {
                    user_id: id.clone(),
                    name: name.clone(),
                    colour: *colour,
                    synced_at: conn.and_then(|c| c.last_synced_at).map(|t| t.timestamp()),
                    connected: conn.is_some(),
                }
            })
            .collect();
        let colleagues = listable
            .iter()
            .zip(&palette[1..])
            .map(|(u, colour)| Colleague { user_id: u.id.clone(), name: u.display_name.clone(), colour: *colour, shown: ids.contains(&u.id) })
            .collect();

        let (first, end) = nav.load_range();
        // All-day meetings are stored as UTC dates; a day's margin on each side catches them
        // whatever the viewer's offset, and `touches` below keeps only the loaded days.
        let entries = store.calendar_entries(ctx.tenant(), &me.id, &ids, start_of_day(first, tz) - TimeDelta::days(1), start_of_day(end, tz) + TimeDelta::days(1)).await?;
        let mut events: Vec<CalEvent> = entries
            .into_iter()
            .map(|e| to_event(e, &ids, &me.id, tz))
            .filter(|ev| first.iter_days().take_while(|d| *d < end).any(|d| ev.touches(d)))
            .collect();
        if nav.view == CalendarView::Agenda {
            add_organisations(store, ctx.tenant(), &mut events).await?;
        }
        Ok(CalendarData { nav, now, now_utc: now_utc.timestamp(), time_zone: tz.name().to_string(), lanes, colleagues, events, as_of })
    }

    /// The agenda's organisation column, for the meetings the viewer may see in full.
    async fn add_organisations(store: &store::Store, tenant: &str, events: &mut [CalEvent]) -> Result<(), AppError> {
        let ids: Vec<String> = events.iter().filter(|e| !e.is_busy_block()).map(|e| e.meeting_id.clone()).collect();
        let mut names: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (meeting, name) in store.organisation_names(tenant, &ids).await? {
            names.entry(meeting).or_default().push(name);
        }
        for e in events.iter_mut().filter(|e| !e.is_busy_block()) {
            e.organisation = names.get(&e.meeting_id).map(|n| n.join(", "));
        }
        Ok(())
    }

    /// Converts to the viewer's wall clock and redacts private meetings of others (F-CAL-10):
    /// their subject and place never leave the server.
    fn to_event(e: CalendarEntry, shown: &[String], viewer: &str, tz: Tz) -> CalEvent {
        let visible = domain::event::may_see_details(e.private, e.viewer_participates);
        let (start, end) = if e.all_day { (e.start.naive_utc(), e.end.naive_utc()) } else { (to_local(e.start, tz), to_local(e.end, tz)) };
        let owner_organises = e.organiser_user_id.as_deref() == Some(e.calendar_user_id.as_str());
        let answer = if owner_organises { Answer::Organiser } else { e.response.as_deref().map(|r| Answer::from_response(Some(r))).unwrap_or(Answer::Accepted) };
        let in_own_calendar = e.calendar_user_id == viewer;
        let movable = visible && in_own_calendar && e.organiser_user_id.as_deref() == Some(viewer) && !e.all_day && end - start < TimeDelta::days(1);
        CalEvent {
            meeting_id: e.meeting_id,
            calendar: shown.iter().position(|u| *u == e.calendar_user_id).unwrap_or(0),
            subject: visible.then_some(e.subject),
            location: visible.then_some(e.location).filter(|l| !l.is_empty()),
            start,
            end,
            all_day: e.all_day,
            private: e.private && visible,
            answer: if visible { answer } else { Answer::Accepted },
            movable,
            version: e.version,
            occurrence: e.occurrence,
            organisation: None,
            notice: if movable { SyncNotice::from_stored(&e.notice) } else { None },
        }
    }

    /// The viewer's own indicator, and the freshness of `users` (ids outside the tenant are
    /// simply not found).
    pub async fn sync_state(users: Vec<String>) -> Result<SyncState, AppError> {
        let ctx = Ctx::signed_in().await?;
        let mut ids: Vec<String> = users.into_iter().take(MAX_LANES).collect();
        if !ids.contains(&ctx.user.id) {
            ids.push(ctx.user.id.clone());
        }
        let conns = ctx.store.connections_of_users(ctx.tenant(), &ids).await?;
        let integration_off = !ctx.store.calendar_integration(ctx.tenant()).await?;
        let mine = match conns.iter().find(|c| c.user_id == ctx.user.id) {
            None => SyncIndicator { provider: None, state: ConnectionStatus::Active, reason: StatusReason::None, last_synced: None, syncing: false, integration_off },
            Some(c) => SyncIndicator {
                provider: Some(c.provider),
                state: c.status,
                reason: c.status_reason.clone(),
                last_synced: c.last_synced_at.map(|t| to_local(t, ctx.tz)),
                syncing: c.syncing_since.is_some() && !integration_off,
                integration_off,
            },
        };
        let lanes = conns.iter().map(|c| Freshness { user_id: c.user_id.clone(), synced_at: c.last_synced_at.map(|t| t.timestamp()) }).collect();
        Ok(SyncState { mine, lanes })
    }

    pub async fn refresh(users: Vec<String>) -> Result<(), AppError> {
        let ctx = Ctx::signed_in().await?;
        let mut ids: Vec<String> = users.into_iter().take(MAX_LANES).collect();
        ids.push(ctx.user.id.clone());
        let conns = ctx.store.connections_of_users(ctx.tenant(), &ids).await?;
        if !conns.iter().any(|c| c.user_id == ctx.user.id) {
            return Err(AppError::invalid(Problem::CalendarNotConnected));
        }
        if !ctx.store.calendar_integration(ctx.tenant()).await? {
            return Err(AppError::invalid(Problem::IntegrationOff));
        }
        for c in conns.iter().filter(|c| c.status != ConnectionStatus::NeedsReconnect) {
            ctx.engine.request_sync(ctx.tenant(), &c.id, false).await?;
        }
        Ok(())
    }

    pub async fn save_prefs(shown: Option<Vec<String>>, colours: Vec<(String, u8)>) -> Result<(), AppError> {
        let ctx = Ctx::signed_in().await?;
        let tenant_users: Vec<String> = ctx.store.users(ctx.tenant()).await?.into_iter().map(|u| u.id).collect();
        let mut p = prefs(&ctx.store.calendar_prefs(ctx.tenant(), &ctx.user.id).await?);
        if let Some(shown) = shown {
            if shown.len() > MAX_LANES || shown.iter().any(|id| !tenant_users.contains(id)) {
                return Err(AppError::field("users", Problem::NotAChoice));
            }
            p.shown = shown;
        }
        for (id, colour) in colours {
            if usize::from(colour) >= PALETTE.len() || !tenant_users.contains(&id) {
                return Err(AppError::field("colour", Problem::NotAChoice));
            }
            p.colours.insert(id, colour);
        }
        ctx.store.set_calendar_prefs(ctx.tenant(), &ctx.user.id, &serde_json::to_string(&p).unwrap_or_default()).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chosen_colours_stay_and_the_others_take_the_first_free_ones() {
        // F-CAL-7
        let ids: Vec<String> = ["me", "ben", "carla"].iter().map(|s| s.to_string()).collect();
        let none = std::collections::BTreeMap::new();
        assert_eq!(lane_colours(&ids, &none), vec![0, 1, 2]);
        let chosen: std::collections::BTreeMap<String, u8> = [("ben".to_string(), 0u8)].into();
        assert_eq!(lane_colours(&ids, &chosen), vec![1, 0, 2]);
    }
}
