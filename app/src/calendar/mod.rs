//! The calendar page (F-CAL-4/5/6, first cut of F-CAL-7): month, week and day views of the
//! signed-in user's calendar and chosen colleagues'. The URL holds view, date and colleagues;
//! moving around is client-side routing, so nothing reloads.

pub mod api;

use crate::auth::SignOut;
use crate::error::AppError;
use crate::meetings::api::MeetingForm;
use crate::meetings::{Editor, MeetingEditor};
use api::{get_calendar, get_sync_status, CalendarData, RefreshCalendar, SetShowWeekends, SyncIndicator};
use chrono::{Datelike, NaiveDate};
use domain::calendar::start_of_week;
use domain::layout::{all_day_bars, day_column, month_cell};
use domain::{CalEvent, CalendarView};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

/// Colours cycle after this many calendars (see style/main.css `.cal-N`).
const PALETTE: usize = 6;
/// The week and day grids open scrolled to this hour.
const FIRST_VISIBLE_HOUR: i32 = 7;

/// `/calendar?view=…&date=…[&users=…]`
fn calendar_href(view: CalendarView, date: NaiveDate, users: &[String]) -> String {
    let mut href = format!("/calendar?view={}&date={}", view.as_str(), date.format("%Y-%m-%d"));
    if !users.is_empty() {
        href.push_str("&users=");
        href.push_str(&users.join(","));
    }
    href
}

/// What the page hears over `/api/live` (browser only): changes to the shown calendars and to
/// the viewer's sync status. The page then reads again through the usual (redacting) API.
#[derive(Clone, Copy)]
struct LiveSignals {
    calendar: RwSignal<u64>,
    status: RwSignal<u64>,
    /// Users whose calendars are on screen (the viewer first).
    shown: RwSignal<Vec<String>>,
}

#[component]
pub fn CalendarPage() -> impl IntoView {
    let query = use_query_map();
    let weekends = ServerAction::<SetShowWeekends>::new();
    let refresh = ServerAction::<RefreshCalendar>::new();
    let editor = Editor::new();
    let live = LiveSignals { calendar: RwSignal::new(0), status: RwSignal::new(0), shown: RwSignal::new(Vec::new()) };
    let data = Resource::new(
        move || (query.with(|q| (q.get("view"), q.get("date"), q.get("users"))), weekends.version().get(), editor.changed.get(), live.calendar.get()),
        |((view, date, users), ..)| get_calendar(view, date, users),
    );
    let status = Resource::new(move || (live.status.get(), refresh.version().get()), |_| get_sync_status());
    listen(live);
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading calendar…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => {
                        live.shown.set(d.shown.iter().map(|o| o.user_id.clone()).collect());
                        view! { <Calendar data=d weekends refresh status editor/> }.into_any()
                    }
                    Err(e) => view! { <CalendarError error=e/> }.into_any(),
                }
            })}
        </Transition>
        <MeetingEditor editor/>
    }
}

/// Subscribes to `/api/live` once the page runs in the browser (effects never run on the
/// server); the browser's EventSource reconnects by itself after a network hiccup.
fn listen(live: LiveSignals) {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;
        let Ok(source) = web_sys::EventSource::new("/api/live") else { return };
        let ids = |e: &web_sys::MessageEvent| -> Vec<String> { e.data().as_string().and_then(|d| serde_json_lite(&d)).unwrap_or_default() };
        let on_calendar = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            let changed = ids(&e);
            let shown = live.shown.get_untracked();
            if changed.is_empty() || changed.iter().any(|u| shown.contains(u)) {
                live.calendar.update(|n| *n += 1);
            }
        });
        let on_status = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            let who: Option<String> = e.data().as_string().map(|d| d.trim_matches('"').to_string());
            if who.is_some_and(|w| live.shown.with_untracked(|s| s.first() == Some(&w))) {
                live.status.update(|n| *n += 1);
            }
        });
        // Marks the page once live updates flow (tests wait for this instead of sleeping).
        let on_open = Closure::<dyn FnMut()>::new(move || {
            if let Some(body) = document().body() {
                let _ = body.set_attribute("data-live", "open");
            }
        });
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        on_open.forget();
        let _ = source.add_event_listener_with_callback("calendar", on_calendar.as_ref().unchecked_ref());
        let _ = source.add_event_listener_with_callback("status", on_status.as_ref().unchecked_ref());
        // The listeners live as long as the source; the source as long as the page.
        on_calendar.forget();
        on_status.forget();
        let source = send_wrapper::SendWrapper::new(source);
        on_cleanup(move || source.close());
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = live;
}

/// `["a","b"]` → the strings (user ids are plain: no escapes to undo).
#[cfg(feature = "hydrate")]
fn serde_json_lite(s: &str) -> Option<Vec<String>> {
    let inner = s.trim().strip_prefix('[')?.strip_suffix(']')?;
    Some(inner.split(',').map(|p| p.trim().trim_matches('"').to_string()).filter(|p| !p.is_empty()).collect())
}

/// The "up to date" indicator (F-CAL-2) and the Refresh button (F-CAL-3).
#[component]
fn SyncState(status: Resource<Result<SyncIndicator, AppError>>, refresh: ServerAction<RefreshCalendar>) -> impl IntoView {
    let shown = move || {
        status.get().map(|r| match r {
            Ok(s) => {
                let (state, text) = match (s.provider.is_some(), s.syncing, s.state.as_str()) {
                    (false, _, _) => ("none", "Calendar not connected".to_string()),
                    (_, true, _) => ("syncing", "Syncing…".to_string()),
                    (_, _, "needs_reconnect") => ("reconnect", format!("Connect your calendar again: {}", s.reason)),
                    (_, _, "failing") => ("failed", format!("Sync failed: {}", s.reason)),
                    _ => match &s.last_synced {
                        Some(t) => ("ok", format!("Up to date · synced {t}")),
                        None => ("syncing", "Syncing…".to_string()),
                    },
                };
                view! { <span class="sync-state" data-sync-state=state title=text.clone()>{text.clone()}</span> }.into_any()
            }
            Err(e) => view! { <span class="sync-state" data-sync-state="failed">{e.to_string()}</span> }.into_any(),
        })
    };
    let on_refresh = move |_| {
        refresh.dispatch(RefreshCalendar {});
    };
    view! {
        <div class="sync" aria-live="polite">
            <Transition fallback=|| ()>{shown}</Transition>
            <button type="button" class="btn" on:click=on_refresh disabled=move || refresh.pending().get()>"Refresh"</button>
        </div>
    }
}

#[component]
fn CalendarError(error: AppError) -> impl IntoView {
    let sign_in = error.needs_sign_in();
    view! {
        <main class="page-error" role="alert">
            <p>{error.to_string()}</p>
            {sign_in.then(|| view! { <a href="/login?next=/calendar">"Sign in"</a> })}
            {(!sign_in).then(|| view! { <a href="/calendar">"Back to today"</a> })}
        </main>
    }
}

#[component]
fn Calendar(
    data: CalendarData,
    weekends: ServerAction<SetShowWeekends>,
    refresh: ServerAction<RefreshCalendar>,
    status: Resource<Result<SyncIndicator, AppError>>,
    editor: Editor,
) -> impl IntoView {
    let nav = data.nav;
    provide_context(editor);
    let new_day = if data.nav.visible_days().contains(&data.today) { data.today } else { nav.date };
    let new_meeting = move |_| {
        let day = new_day.format("%Y-%m-%d").to_string();
        editor.open.set(Some(MeetingForm {
            start_date: day.clone(),
            start_time: "09:00".into(),
            end_date: day,
            end_time: "10:00".into(),
            ..MeetingForm::default()
        }));
    };
    let users = data.shown_colleague_ids();
    let navigate = use_navigate();
    let picker_users = users.clone();
    let on_date = move |ev: leptos::ev::Event| {
        if let Ok(d) = NaiveDate::parse_from_str(&event_target_value(&ev), "%Y-%m-%d") {
            navigate(&calendar_href(nav.view, d, &picker_users), Default::default());
        }
    };
    let on_weekends = move |ev: leptos::ev::Event| {
        weekends.dispatch(SetShowWeekends { show: event_target_checked(&ev) });
    };
    let days = nav.visible_days();
    let body = match nav.view {
        CalendarView::Month => view! { <MonthView data=data.clone() days/> }.into_any(),
        CalendarView::Week | CalendarView::Day => view! { <TimeGrid data=data.clone() days/> }.into_any(),
    };
    let view_links = CalendarView::ALL
        .into_iter()
        .map(|v| {
            let current = v == nav.view;
            view! {
                <A href=calendar_href(v, nav.date, &users) attr:class=if current { "seg current" } else { "seg" }
                    attr:aria-current=if current { "page" } else { "false" }>
                    {v.label()}
                </A>
            }
        })
        .collect_view();
    view! {
        <header class="topbar">
            <h1 class="brand">"CRM Calendar"</h1>
            <nav class="period" aria-label="Period">
                <A href=calendar_href(nav.view, nav.step(false), &users) attr:class="btn" attr:aria-label="Previous" attr:data-nav="prev">"‹"</A>
                <A href=calendar_href(nav.view, data.today, &users) attr:class="btn" attr:data-nav="today">"Today"</A>
                <A href=calendar_href(nav.view, nav.step(true), &users) attr:class="btn" attr:aria-label="Next" attr:data-nav="next">"›"</A>
                <h2 class="title" aria-live="polite">{nav.title()}</h2>
                <label class="date-pick">
                    <span class="sr-only">"Go to date"</span>
                    <input type="date" name="date" prop:value=nav.date.format("%Y-%m-%d").to_string() on:change=on_date/>
                </label>
            </nav>
            <nav class="views" aria-label="View">{view_links}</nav>
            <label class="weekends">
                <input type="checkbox" name="weekends" prop:checked=nav.show_weekends on:change=on_weekends/>
                " Weekends"
            </label>
            <button type="button" class="btn primary new" on:click=new_meeting aria-label="New meeting">"+ New meeting"</button>
            <SyncState status refresh/>
            <div class="me">
                <span class="who">{data.shown[0].name.clone()}</span>
                <SignOut/>
            </div>
        </header>
        {move || editor.message.get().map(|m| view! { <p class="error banner" role="alert">{m}</p> })}
        <div class="workspace">
            <UserPicker data=data.clone()/>
            <main class="calendar" data-view=nav.view.as_str() data-date=nav.date.format("%Y-%m-%d").to_string()
                aria-label=format!("Calendar, {}", nav.title())>
                {body}
            </main>
        </div>
    }
}

/// Which calendars are shown; each colleague toggles in and out through the URL.
#[component]
fn UserPicker(data: CalendarData) -> impl IntoView {
    let nav = data.nav;
    let shown = data.shown_colleague_ids();
    let items = data
        .colleagues
        .iter()
        .map(|c| {
            let position = data.shown.iter().position(|s| s.user_id == c.user_id);
            let users: Vec<String> = match position {
                Some(_) => shown.iter().filter(|id| **id != c.user_id).cloned().collect(),
                None => shown.iter().cloned().chain([c.user_id.clone()]).collect(),
            };
            let class = match position {
                Some(i) => format!("pick on cal-{}", i % PALETTE),
                None => "pick".to_string(),
            };
            let name = c.name.clone();
            let action = format!("{} {}'s calendar", if position.is_some() { "Hide" } else { "Show" }, c.name);
            view! {
                <li>
                    <A href=calendar_href(nav.view, nav.date, &users) attr:class=class attr:title=action.clone() attr:aria-label=action>
                        <span class="swatch" aria-hidden="true"></span>
                        {name}
                    </A>
                </li>
            }
        })
        .collect_view();
    view! {
        <aside class="picker" aria-label="Calendars">
            <h3>"Calendars"</h3>
            <p class="mine cal-0"><span class="swatch" aria-hidden="true"></span>{data.shown[0].name.clone()}</p>
            <ul>{items}</ul>
            <p class="tz">{format!("Times in {}", data.time_zone)}</p>
        </aside>
    }
}

fn event_class(e: &CalEvent) -> String {
    let mut class = format!("event cal-{}", e.calendar % PALETTE);
    if e.is_busy_block() {
        class.push_str(" busy");
    }
    if e.private {
        class.push_str(" private");
    }
    class
}

/// Opens the meeting in the editor on click or Enter (busy blocks of others are not meetings
/// the viewer can open).
fn open_handlers(e: &CalEvent) -> (Option<&'static str>, Option<&'static str>, impl Fn(leptos::ev::MouseEvent) + Clone + 'static, impl Fn(leptos::ev::KeyboardEvent) + Clone + 'static) {
    let id = (!e.is_busy_block()).then(|| e.meeting_id.clone());
    let (click_id, key_id) = (id.clone(), id.clone());
    let click = move |_: leptos::ev::MouseEvent| {
        if let (Some(id), Some(editor)) = (click_id.clone(), use_context::<Editor>()) {
            editor.open_meeting(id);
        }
    };
    let key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" {
            if let (Some(id), Some(editor)) = (key_id.clone(), use_context::<Editor>()) {
                editor.open_meeting(id);
            }
        }
    };
    (id.is_some().then_some("button"), id.is_some().then_some("0"), click, key)
}

/// Subject (or "Busy"), with a lock for the viewer's own private meetings.
fn event_text(e: &CalEvent) -> impl IntoView {
    let lock = e.private.then(|| {
        view! {
            <svg class="lock" viewBox="0 0 16 16" aria-hidden="true">
                <rect x="3" y="7" width="10" height="8" rx="1.5"></rect>
                <path d="M5.2 7V5.2a2.8 2.8 0 0 1 5.6 0V7" fill="none" stroke="currentColor" stroke-width="1.6"></path>
            </svg>
        }
    });
    (lock, e.subject.clone().unwrap_or_else(|| "Busy".to_string()))
}

fn day_heading(d: NaiveDate) -> String {
    d.format("%a %-d").to_string()
}

/// Week and day views: an all-day row above a 24-hour grid of timed meetings.
#[component]
fn TimeGrid(data: CalendarData, days: Vec<NaiveDate>) -> impl IntoView {
    let events = data.events;
    let bars = all_day_bars(&days, &events);
    let lanes = bars.iter().map(|b| b.lane + 1).max().unwrap_or(1);
    let columns = format!("--days: {}; --lanes: {}", days.len(), lanes);
    let heads = days
        .iter()
        .map(|d| {
            let today = *d == data.today;
            view! {
                <div class="day-head" class:today=today>
                    <time datetime=d.format("%Y-%m-%d").to_string()>{day_heading(*d)}</time>
                </div>
            }
        })
        .collect_view();
    let bar_views = bars
        .iter()
        .map(|b| {
            let e = &events[b.event];
            let style = format!("grid-column: {} / span {}; grid-row: {}", b.first_day + 2, b.span, b.lane + 1);
            let mut class = event_class(e);
            class.push_str(" bar");
            if b.continues_before {
                class.push_str(" from-before");
            }
            if b.continues_after {
                class.push_str(" goes-on");
            }
            let (role, tab, click, key) = open_handlers(e);
            view! {
                <div class=class style=style title=e.label() aria-label=e.label() data-meeting=e.meeting_id.clone()
                    role=role tabindex=tab on:click=click on:keydown=key>
                    {event_text(e)}
                </div>
            }
        })
        .collect_view();
    let hours = (0..24).map(|h| view! { <div class="hour">{format!("{h:02}:00")}</div> }).collect_view();
    let cols = days
        .iter()
        .map(|d| {
            let boxes = day_column(*d, &events)
                .into_iter()
                .map(|b| {
                    let e = &events[b.event];
                    let height = (b.bottom_minute - b.top_minute).max(20);
                    let style = format!(
                        "top: {:.4}%; height: {:.4}%; left: {:.4}%; width: {:.4}%",
                        b.top_minute as f64 / 14.4,
                        height as f64 / 14.4,
                        b.columns.column as f64 * 100.0 / b.columns.columns as f64,
                        100.0 / b.columns.columns as f64,
                    );
                    let (role, tab, click, key) = open_handlers(e);
                    view! {
                        <div class=event_class(e) style=style title=e.label() aria-label=e.label() data-meeting=e.meeting_id.clone()
                            role=role tabindex=tab on:click=click on:keydown=key>
                            <span class="time">{e.start.format("%H:%M").to_string()}</span>
                            " "
                            <span class="subject">{event_text(e)}</span>
                            {e.location.clone().map(|l| view! { <span class="where">{l}</span> })}
                        </div>
                    }
                })
                .collect_view();
            view! { <div class="day-col" class:today=*d == data.today>{boxes}</div> }
        })
        .collect_view();
    // Open at the start of the working day instead of midnight (browser only: effects do not
    // run on the server).
    let timed = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        // On the first (hydrated) load the effect can run before layout; wait for a frame.
        request_animation_frame(move || {
            let grid = timed.get_untracked().map(Into::into).or_else(|| document().query_selector(".timed").ok().flatten());
            if let Some(el) = grid {
                let el: leptos::web_sys::Element = el;
                el.set_scroll_top(el.scroll_height() * FIRST_VISIBLE_HOUR / 24);
            }
        });
    });
    view! {
        <div class="timegrid" style=columns>
            <div class="grid-head">
                <div class="gutter"></div>
                {heads}
            </div>
            <div class="allday-row" aria-label="All-day meetings">
                <div class="gutter">"all day"</div>
                {bar_views}
            </div>
            <div class="timed" node_ref=timed>
                <div class="hours">{hours}</div>
                {cols}
            </div>
        </div>
    }
}

/// Month view: whole weeks, each day listing its meetings.
#[component]
fn MonthView(data: CalendarData, days: Vec<NaiveDate>) -> impl IntoView {
    let month = data.nav.date.month();
    // Days shown per week row: 7, or 5 when weekends are hidden.
    let first_week = start_of_week(days[0], data.nav.week_start);
    let per_week = days.iter().take_while(|d| start_of_week(**d, data.nav.week_start) == first_week).count();
    let heads = days.iter().take(per_week).map(|d| view! { <div class="day-head">{d.format("%a").to_string()}</div> }).collect_view();
    let colleagues = data.shown_colleague_ids();
    let events = data.events;
    let cells = days
        .into_iter()
        .map(|d| {
            let items = month_cell(d, &events);
            let more = items.len().saturating_sub(4);
            let list = items
                .into_iter()
                .take(4)
                .map(|i| {
                    let e = &events[i];
                    let time = (!e.in_all_day_row()).then(|| e.start.format("%H:%M ").to_string());
                    let (role, tab, click, key) = open_handlers(e);
                    view! {
                        <li class=event_class(e) title=e.label() aria-label=e.label() data-meeting=e.meeting_id.clone()
                            role=role tabindex=tab on:click=click on:keydown=key>
                            {time}{event_text(e)}
                        </li>
                    }
                })
                .collect_view();
            let day_href = calendar_href(CalendarView::Day, d, &colleagues);
            view! {
                <div class="month-day" class:today=d == data.today class:other-month=d.month() != month>
                    <A href=day_href attr:class="day-num">{d.day().to_string()}</A>
                    <ul>{list}</ul>
                    {(more > 0).then(|| view! { <p class="more">{format!("+{more} more")}</p> })}
                </div>
            }
        })
        .collect_view();
    view! {
        <div class="month" style=format!("--days: {per_week}")>
            <div class="month-head">{heads}</div>
            <div class="month-grid">{cells}</div>
        </div>
    }
}

