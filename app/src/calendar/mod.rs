//! The calendar page (F-CAL-4/5/6, first cut of F-CAL-7): month, week and day views of the
//! signed-in user's calendar and chosen colleagues'. The URL holds view, date and colleagues;
//! moving around is client-side routing, so nothing reloads.

pub mod api;

use crate::auth::SignOut;
use crate::error::AppError;
use api::{get_calendar, CalendarData, SetShowWeekends};
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

#[component]
pub fn CalendarPage() -> impl IntoView {
    let query = use_query_map();
    let weekends = ServerAction::<SetShowWeekends>::new();
    let data = Resource::new(
        move || (query.with(|q| (q.get("view"), q.get("date"), q.get("users"))), weekends.version().get()),
        |((view, date, users), _)| get_calendar(view, date, users),
    );
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading calendar…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <Calendar data=d weekends/> }.into_any(),
                    Err(e) => view! { <CalendarError error=e/> }.into_any(),
                }
            })}
        </Transition>
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
fn Calendar(data: CalendarData, weekends: ServerAction<SetShowWeekends>) -> impl IntoView {
    let nav = data.nav;
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
            <div class="me">
                <span class="who">{data.shown[0].name.clone()}</span>
                <SignOut/>
            </div>
        </header>
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
            view! {
                <div class=class style=style title=e.label() aria-label=e.label() data-meeting=e.meeting_id.clone()>
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
                    view! {
                        <div class=event_class(e) style=style title=e.label() aria-label=e.label() data-meeting=e.meeting_id.clone()>
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
                    view! {
                        <li class=event_class(e) title=e.label() aria-label=e.label() data-meeting=e.meeting_id.clone()>
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

