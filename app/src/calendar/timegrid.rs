//! Week and day views (F-CAL-4): an all-day row above a 24-hour grid of timed meetings, laid
//! out with `domain::layout`; the now line in today's column (F-X-11); click or drag to create,
//! drag to move or resize (F-CAL-8, F-X-10). On a phone-sized screen the week view shows three
//! days from the date (CSS picks them; both sets are rendered, so no script is needed).

use chrono::{NaiveDate, Timelike};
use domain::layout::{all_day_bars, day_column, MINUTES_PER_DAY};
use domain::CalEvent;
use leptos::prelude::*;

use super::api::CalendarData;
use super::event::{text, EventBox};
use super::manipulate::{pointer, targets, use_moves, Surface};
use super::{use_calendar, use_clock};
use crate::i18n::*;
use crate::lang;
use crate::me::use_me;

/// `top`/`height` of a stretch of a day's column, in per cent of the column.
fn vertical(from_minute: i64, to_minute: i64) -> String {
    let height = (to_minute - from_minute).max(20);
    format!("top: {:.4}%; height: {:.4}%", from_minute as f64 * 100.0 / MINUTES_PER_DAY as f64, height as f64 * 100.0 / MINUTES_PER_DAY as f64)
}

#[component]
pub fn TimeGrid(data: CalendarData) -> impl IntoView {
    let l = crate::lang::use_locale();
    let clock = use_clock();
    let cal = use_calendar();
    let moves = use_moves();
    let me = use_me();
    let desktop = data.nav.visible_days();
    let phone = data.nav.phone_days();
    // Every day either screen shows, in order; each marked with where it is shown.
    let mut days: Vec<NaiveDate> = desktop.iter().chain(phone.iter()).copied().collect();
    days.sort();
    days.dedup();
    let where_shown = |d: &NaiveDate| match (desktop.contains(d), phone.contains(d)) {
        (true, true) => "",
        (true, false) => "desktop-only",
        _ => "phone-only",
    };
    let events = data.events.clone();
    let lanes = data.lanes.clone();
    let owner = move |e: &CalEvent| lanes.get(e.calendar).map(|l| (l.name.clone(), l.colour)).unwrap_or_default();
    let heads = days
        .iter()
        .map(|d| {
            let d = *d;
            view! {
                <div class=format!("day-head {}", where_shown(&d)) class:today=move || clock.today() == d>
                    <time datetime=d.to_string()>{lang::day_head(l, d)}</time>
                </div>
            }
        })
        .collect_view();

    // The all-day row, once for each screen's days (its bars span columns).
    let bars_for = |shown: &[NaiveDate], class: &'static str| {
        let lanes_needed = all_day_bars(shown, &events).iter().map(|b| b.lane + 1).max().unwrap_or(1);
        let bars = all_day_bars(shown, &events)
            .into_iter()
            .map(|b| {
                let e = events[b.event].clone();
                let (name, colour) = owner(&e);
                let style = format!("grid-column: {} / span {}; grid-row: {}", b.first_day + 2, b.span, b.lane + 1);
                let mut extra = String::from("bar");
                if b.continues_before {
                    extra.push_str(" from-before");
                }
                if b.continues_after {
                    extra.push_str(" goes-on");
                }
                view! { <EventBox e=e.clone() colour owner=name extra_class=extra style>{text(&e)}</EventBox> }
            })
            .collect_view();
        view! {
            <div class=format!("allday-row {class}") style=format!("--lanes: {lanes_needed}; --n: {}", shown.len())
                role="group" aria-label=td_string!(l, calendar.all_day_meetings)>
                <div class="gutter">{td_string!(l, calendar.all_day)}</div>
                {bars}
            </div>
        }
    };
    let all_day = if desktop == phone {
        bars_for(&desktop, "").into_any()
    } else {
        view! { {bars_for(&desktop, "desktop-only")} {bars_for(&phone, "phone-only")} }.into_any()
    };

    let hours = (0..24).map(|h| view! { <div class="hour">{format!("{h:02}:00")}</div> }).collect_view();
    let cols = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let d = *d;
            let boxes = day_column(d, &events)
                .into_iter()
                .map(|b| {
                    let e = events[b.event].clone();
                    let (name, colour) = owner(&e);
                    let style = format!(
                        "{}; left: {:.4}%; width: {:.4}%",
                        vertical(b.top_minute, b.bottom_minute),
                        b.columns.column as f64 * 100.0 / b.columns.columns as f64,
                        100.0 / b.columns.columns as f64,
                    );
                    let location = e.location.clone();
                    view! {
                        <EventBox e=e.clone() colour owner=name style resizable=true>
                            <span class="time">{lang::time(e.start)}</span>
                            " "
                            <span class="subject">{text(&e)}</span>
                            {location.map(|l| view! { <span class="where">{l}</span> })}
                        </EventBox>
                    }
                })
                .collect_view();
            // Where a meeting being moved would go, and a new one being drawn.
            let ghost = move || {
                moves.preview.get().filter(|p| p.to.0.date() == d).map(|p| {
                    let top = i64::from(p.to.0.hour() * 60 + p.to.0.minute());
                    let bottom = if p.to.1.date() == d { i64::from(p.to.1.hour() * 60 + p.to.1.minute()) } else { MINUTES_PER_DAY };
                    view! {
                        <div class="ghost" style=vertical(top, bottom) aria-hidden="true">
                            {format!("{} – {} {}", lang::time(p.to.0), lang::time(p.to.1), p.subject)}
                        </div>
                    }
                })
            };
            let drawing = move || {
                moves.drawing.get().filter(|dr| dr.day == i).map(|dr| view! { <div class="ghost new" style=vertical(dr.from_minute, dr.to_minute) aria-hidden="true"></div> })
            };
            let now_line = move || {
                let now = clock.now.get();
                (now.date() == d).then(|| {
                    let minute = i64::from(now.hour() * 60 + now.minute());
                    view! {
                        <div class="now-line" style=format!("top: {:.4}%", minute as f64 * 100.0 / MINUTES_PER_DAY as f64)>
                            <span class="sr-only">{tdf!(l, calendar.now_line, time = lang::time(now))}</span>
                        </div>
                    }
                })
            };
            view! {
                <div class=format!("day-col {}", where_shown(&d)) class:today=move || clock.today() == d data-day=i.to_string()>
                    {boxes}
                    {ghost}
                    {drawing}
                    {now_line}
                </div>
            }
        })
        .collect_view();

    let p = pointer(Surface { days: days.clone(), across: false }, targets(&data));
    // Open at the start of the user's working day instead of midnight — once per period, so
    // a live update keeps the user's own scrolling (browser only: effects do not run on the
    // server).
    let timed = NodeRef::<leptos::html::Div>::new();
    let period = format!("{}:{}", data.nav.view.as_str(), data.nav.date);
    let first_hour = me.0.with_untracked(|m| m.work.start_minute / 60).saturating_sub(1) as i32;
    let on_scroll = super::keep_scroll(cal, timed, ".timed", period, true, move |el| el.scroll_height() * first_hour / 24);
    view! {
        <div class="timegrid" style=format!("--days: {}; --phone-days: {}", desktop.len(), phone.len())>
            <div class="grid-head">
                <div class="gutter"></div>
                {heads}
            </div>
            {all_day}
            // Focusable, so a keyboard can scroll the hours even on a day with no meeting in it.
            <div class="timed" node_ref=timed on:scroll=on_scroll role="region" aria-label=td_string!(l, calendar.hours_of_day) tabindex="0"
                on:pointerdown=p.down on:pointermove=p.moved on:pointerup=p.up on:pointercancel=p.cancel>
                <div class="hours" aria-hidden="true">{hours}</div>
                {cols}
            </div>
        </div>
    }
}
