//! The calendar's tools in the app bar: previous / today / next, the period's heading, go to a
//! date, the view switch, weekends, a new meeting, and the "up to date" indicator with Refresh
//! (F-CAL-2, F-CAL-3, F-CAL-4, F-CAL-5, F-CAL-6, F-CAL-8). Every link is built from the page's
//! address (not from the data last loaded), so nothing chosen there is lost while a period loads.

use chrono::{Datelike, NaiveDate, TimeDelta, Timelike};
use domain::{CalendarView, ConnectionStatus, Span};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use super::api::{get_sync_state, refresh_calendar, set_show_weekends};
use super::{use_calendar, use_clock, view_name};
use crate::components::MenuState;
use crate::i18n::*;
use crate::lang;
use crate::live::use_live;
use crate::me::use_me;
use crate::meetings::use_editor;
use crate::routes;

#[component]
pub fn Toolbar() -> impl IntoView {
    let l = crate::lang::use_locale();
    let cal = use_calendar();
    let clock = use_clock();
    let href = move |date: NaiveDate| cal.url.with(|u| u.with_date(date).href());
    let is_week = move || cal.nav.with(|n| n.view == CalendarView::Week);
    let title = move || lang::title(l, cal.nav.get().title());
    let week_no = move || {
        let n = cal.nav.get();
        matches!(n.view, CalendarView::Week).then(|| tdf!(l, calendar.week_number, week = domain::calendar::iso_week(n.date)))
    };
    view! {
        <nav class="period" aria-label=td_string!(l, calendar.period)>
            <a class="btn icon" class:desktop-only=is_week href=move || href(cal.nav.get().step(false)) data-nav="prev"
                aria-label=td_string!(l, calendar.previous)>"‹"</a>
            <a class="btn icon phone-only" hidden=move || !is_week() href=move || href(cal.nav.get().phone_step(false)) data-nav="prev-phone"
                aria-label=td_string!(l, calendar.previous)>"‹"</a>
            <a class="btn" href=move || href(clock.today()) data-nav="today">{td_string!(l, calendar.today)}</a>
            <a class="btn icon" class:desktop-only=is_week href=move || href(cal.nav.get().step(true)) data-nav="next"
                aria-label=td_string!(l, calendar.next)>"›"</a>
            <a class="btn icon phone-only" hidden=move || !is_week() href=move || href(cal.nav.get().phone_step(true)) data-nav="next-phone"
                aria-label=td_string!(l, calendar.next)>"›"</a>
            <h1 class="title" aria-live="polite">{title}</h1>
            {move || week_no().map(|w| view! { <span class="week-label">{w}</span> })}
        </nav>
        <GoToDate/>
        <nav class="views folds" aria-label=td_string!(l, calendar.view)>
            {CalendarView::ALL
                .into_iter()
                .map(|v| {
                    let current = move || cal.nav.with(|n| n.view == v);
                    view! {
                        <a href=move || cal.url.with(|u| u.with_view(v).href()) class="seg" class:current=current
                            aria-current=move || current().then_some("page")>
                            {view_name(l, v)}
                        </a>
                    }
                })
                .collect_view()}
        </nav>
        <nav class="views span folds" hidden=move || cal.nav.with(|n| n.view != CalendarView::Schedule) aria-label=td_string!(l, views.span_label)>
            {[Span::Day, Span::Week]
                .into_iter()
                .map(|s| {
                    let current = move || cal.nav.with(|n| n.span == s);
                    view! {
                        <a href=move || cal.url.with(|u| u.with_span(s).href()) class="seg" class:current=current
                            aria-current=move || current().then_some("page")>
                            {if s == Span::Day { td_string!(l, views.span_day) } else { td_string!(l, views.span_week) }}
                        </a>
                    }
                })
                .collect_view()}
        </nav>
        <Weekends/>
        <NewMeeting/>
        <SyncState/>
    }
}

/// Go to a specific date (F-CAL-5), typed in the user's language.
#[component]
fn GoToDate() -> impl IntoView {
    let l = crate::lang::use_locale();
    let cal = use_calendar();
    let navigate = use_navigate();
    let menu = use_context::<MenuState>();
    let on_change = move |ev: leptos::ev::Event| {
        let typed = event_target_value(&ev);
        if let Some(d) = lang::parse_typed_date(&typed, cal.nav.get_untracked().date.year()) {
            navigate(&cal.url.with_untracked(|u| u.with_date(d).href()), Default::default());
            if let Some(m) = menu {
                m.0.set(false);
            }
        }
    };
    view! {
        <label class="date-pick folds">
            <span class="sr-only">{td_string!(l, calendar.go_to_date)}</span>
            <input type="text" name="date" inputmode="numeric" autocomplete="off" maxlength="20" size="10"
                placeholder=td_string!(l, dates.date_example)
                prop:value=move || lang::date_numeric(l, cal.nav.get().date)
                on:change=on_change/>
        </label>
    }
}

/// Show weekends or a work week, remembered for the user (F-CAL-6).
#[component]
fn Weekends() -> impl IntoView {
    let l = crate::lang::use_locale();
    let me = use_me();
    let cal = use_calendar();
    // (Plain calls rather than server actions, here and for Refresh: an action's machinery
    // is several kilobytes of WebAssembly per type, for state these buttons do not need.)
    let on_change = move |ev: leptos::ev::Event| {
        let show = event_target_checked(&ev);
        me.0.update(|m| m.show_weekends = show);
        leptos::task::spawn_local(async move {
            match set_show_weekends(show).await {
                Ok(()) => cal.reload.update(|n| *n += 1),
                // Not stored: the switch goes back, so it never shows what was not kept.
                Err(_) => me.0.update(|m| m.show_weekends = !show),
            }
        });
    };
    view! {
        <label class="weekends check folds">
            <input type="checkbox" name="weekends" prop:checked=move || me.0.with(|m| m.show_weekends) on:change=on_change/>
            <span>{td_string!(l, calendar.weekends)}</span>
        </label>
    }
}

/// The plus button (F-CAL-8): a new meeting at the next whole hour of the day shown.
#[component]
fn NewMeeting() -> impl IntoView {
    let l = crate::lang::use_locale();
    let cal = use_calendar();
    let clock = use_clock();
    let editor = use_editor();
    let on_click = move |_| {
        let nav = cal.nav.get_untracked();
        let now = clock.now.get_untracked();
        let day = if nav.shows(now.date()) { now.date() } else { nav.date };
        let hour = if day == now.date() { (now.hour() + 1).clamp(8, 23) } else { 9 };
        let start = day.and_hms_opt(hour, 0, 0).unwrap_or_default();
        editor.open_new(start, start + TimeDelta::hours(1), "");
    };
    view! {
        <button type="button" class="btn primary new" on:click=on_click aria-label=td_string!(l, calendar.new_meeting)>
            <span aria-hidden="true">"+"</span><span class="label">{td_string!(l, calendar.new_meeting)}</span>
        </button>
    }
}

/// The "up to date" indicator (F-CAL-2) and the Refresh button (F-CAL-3). A calendar that
/// must be connected again links to the settings page, where that is done.
#[component]
fn SyncState() -> impl IntoView {
    let l = crate::lang::use_locale();
    let cal = use_calendar();
    let live = use_live();
    let clock = use_clock();
    let refreshing = RwSignal::new(false);
    let refreshed = RwSignal::new(0u32);
    // Read in the browser only (it fills in as the page wakes up): a resource the server
    // renders costs the first load several kilobytes more, for a line that changes anyway.
    // A plain signal filled by an effect, not a local resource: a resource read under the
    // page's <Suspense> would hold the whole server-rendered page at its fallback. The newest
    // answer wins. (It reads again on what tracks here; the shown calendars are read
    // untracked: the calendar sets them while it renders.)
    let state = RwSignal::new(None);
    let asked = StoredValue::new(0u32);
    Effect::new(move |_| {
        let _ = (live.status.get(), refreshed.get());
        let ask = asked.get_value().wrapping_add(1);
        asked.set_value(ask);
        let users = live.watched.get_untracked();
        leptos::task::spawn_local(async move {
            let answer = get_sync_state(users).await;
            // (The toolbar may be gone by the time the answer comes.)
            if asked.try_get_value() == Some(ask) {
                state.set(Some(answer));
            }
        });
    });
    // Freshness of the shown calendars, for the schedule's lanes.
    Effect::new(move |_| {
        if let Some(Ok(s)) = state.get() {
            cal.fresh.set(s.lanes);
        }
    });
    let shown = move || {
        state.get().map(|r| {
            let l = l;
            match r {
                Ok(s) => {
                    let today = clock.today();
                    let m = s.mine;
                    let (kind, text, fix) = match (m.provider.is_some(), m.syncing, m.state) {
                        _ if m.integration_off => ("off", td_string!(l, sync.integration_off).to_string(), false),
                        (false, _, _) => ("none", td_string!(l, sync.not_connected).to_string(), true),
                        (_, true, _) => ("syncing", td_string!(l, sync.syncing).to_string(), false),
                        (_, _, ConnectionStatus::NeedsReconnect) => ("reconnect", tdf!(l, sync.reconnect, reason = lang::reason_text(l, &m.reason)), true),
                        (_, _, ConnectionStatus::Failing) => ("failed", tdf!(l, sync.failed, reason = lang::reason_text(l, &m.reason)), false),
                        (_, _, ConnectionStatus::Active) => match m.last_synced {
                            Some(t) => {
                                let when = if t.date() == today { lang::time(t) } else { format!("{} {}", lang::date_short(l, t.date()), lang::time(t)) };
                                ("ok", tdf!(l, sync.up_to_date, time = when), false)
                            }
                            None => ("syncing", td_string!(l, sync.syncing).to_string(), false),
                        },
                    };
                    let title = text.clone();
                    view! {
                        <span class="sync-state" data-sync-state=kind title=title>{text}</span>
                        {fix.then(|| view! { <a class="sync-fix" href=routes::SETTINGS>{td_string!(l, sync.reconnect_link)}</a> })}
                    }
                    .into_any()
                }
                Err(e) => view! { <span class="sync-state" data-sync-state="failed">{lang::error_text(l, &e)}</span> }.into_any(),
            }
        })
    };
    let on_refresh = move |_| {
        refreshing.set(true);
        leptos::task::spawn_local(async move {
            // A failure shows in the indicator, which reads the state again either way.
            let _ = refresh_calendar(live.watched.get_untracked()).await;
            refreshing.set(false);
            refreshed.update(|n| *n += 1);
        });
    };
    view! {
        <div class="sync" aria-live="polite">
            {shown}
            <button type="button" class="btn" on:click=on_refresh disabled=move || refreshing.get()>{td_string!(l, sync.refresh)}</button>
        </div>
    }
}

/// Messages about the calendar as a whole: a meeting that could not be opened, a move that
/// was refused or undone, one booked for a colleague, and the "moved … Undo" notice.
#[component]
pub fn Banners() -> impl IntoView {
    let l = crate::lang::use_locale();
    let editor = use_editor();
    let moves = super::manipulate::use_moves();
    view! {
        <div class="banners" aria-live="polite">
            {move || editor.failure.get().map(|e| {
                let text = tdf!(l, editor.could_not_open, reason = lang::error_text(l, &e));
                view! { <p class="error banner" role="alert">{text}</p> }
            })}
            {move || moves.message.get().map(|m| view! { <p class="error banner" role="alert">{m}</p> })}
            {move || moves.info.get().map(|m| view! { <p class="notice banner" role="status">{m}</p> })}
            {move || moves.done.get().map(|d| {
                let text = tdf!(l, calendar.moved, subject = d.subject.clone(), when = lang::when(l, d.to.0));
                view! {
                    <p class="notice banner" role="status">
                        {text}" "
                        <button type="button" class="btn small" on:click=move |_| moves.undo()>{td_string!(l, calendar.undo)}</button>
                    </p>
                }
            })}
        </div>
    }
}
