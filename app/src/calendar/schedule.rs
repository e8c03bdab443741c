//! The schedule view (F-CAL-4): the shown users side by side, one lane each (the viewer
//! first), for a day or a week, time running across; meetings in each lane laid out with the
//! same overlap maths as the day columns, in the lane's colour; each lane says how fresh its
//! data is (F-X-15). The now line crosses every lane (F-X-11). Click or drag in a lane to book
//! into that user's calendar; drag your own meetings to move them (F-CAL-8, F-X-10).

use chrono::Timelike;
use domain::layout::{all_day_bars, lane_boxes, MINUTES_PER_DAY};
use leptos::prelude::*;

use super::api::CalendarData;
use super::event::{text, EventBox};
use super::manipulate::{pointer, targets, use_moves, MoveTarget, Surface};
use super::{use_calendar, use_clock};
use crate::i18n::*;
use crate::lang;
use crate::me::use_me;

/// "synced 2 min ago" (F-X-15).
pub fn freshness(l: Locale, synced_at: Option<i64>, now_utc: i64) -> String {
    match synced_at {
        None => td_string!(l, calendar.never_synced).to_string(),
        Some(t) => {
            let minutes = (now_utc - t).max(0) / 60;
            match minutes {
                0 => td_string!(l, calendar.synced_just_now).to_string(),
                1..=59 => tdf!(l, calendar.synced_minutes, minutes = minutes),
                60..=2879 => tdf!(l, calendar.synced_hours, hours = minutes / 60),
                _ => tdf!(l, calendar.synced_days, days = minutes / 1440),
            }
        }
    }
}

#[component]
pub fn ScheduleView(data: CalendarData) -> impl IntoView {
    let l = crate::lang::use_locale();
    let clock = use_clock();
    let cal = use_calendar();
    let moves = use_moves();
    let me = use_me();
    let days = data.nav.visible_days();
    let n = days.len() as i64;
    let span_minutes = n * MINUTES_PER_DAY;
    let pct = move |minute: i64| minute as f64 * 100.0 / span_minutes as f64;
    let heads = days
        .iter()
        .map(|d| {
            let d = *d;
            let ticks = (0..24).step_by(2).map(|h| view! { <span class="tick">{format!("{h:02}")}</span> }).collect_view();
            view! {
                <div class="sday" class:today=move || clock.today() == d>
                    <time datetime=d.to_string()>{lang::day_head(l, d)}</time>
                    <div class="ticks" aria-hidden="true">{ticks}</div>
                </div>
            }
        })
        .collect_view();
    let lanes = data
        .lanes
        .iter()
        .enumerate()
        .map(|(index, lane)| {
            let picked: Vec<usize> = (0..data.events.len()).filter(|&i| data.events[i].calendar == index).collect();
            let lane_events: Vec<_> = picked.iter().map(|&i| data.events[i].clone()).collect();
            let boxes = lane_boxes(&days, &data.events, &picked)
                .into_iter()
                .map(|b| {
                    let e = data.events[b.event].clone();
                    let style = format!(
                        "left: {:.4}%; width: {:.4}%; top: {:.4}%; height: {:.4}%",
                        pct(b.from_minute),
                        (pct(b.to_minute) - pct(b.from_minute)).max(0.4),
                        b.rows.column as f64 * 100.0 / b.rows.columns as f64,
                        100.0 / b.rows.columns as f64
                    );
                    view! {
                        <EventBox e=e.clone() colour=lane.colour owner=lane.name.clone() style resizable=true>
                            <span class="subject">{text(&e)}</span>
                        </EventBox>
                    }
                })
                .collect_view();
            let bars = all_day_bars(&days, &lane_events)
                .into_iter()
                .map(|b| {
                    let e = lane_events[b.event].clone();
                    let style = format!("left: {:.4}%; width: {:.4}%; top: {}rem", b.first_day as f64 * 100.0 / n as f64, b.span as f64 * 100.0 / n as f64, b.lane as f64 * 1.3);
                    view! { <EventBox e=e.clone() colour=lane.colour owner=lane.name.clone() extra_class="bar" style>{text(&e)}</EventBox> }
                })
                .collect_view();
            let bar_rows = all_day_bars(&days, &lane_events).iter().map(|b| b.lane + 1).max().unwrap_or(0);
            let user = lane.user_id.clone();
            let fresh_user = user.clone();
            let fresh = move || freshness(l, cal.synced_at(&fresh_user), clock.now_utc.get());
            let is_me = index == 0;
            let name = lane.name.clone();
            let ghost_days = days.clone();
            // A meeting being moved, in the lane it is over (a colleague's: booked for them),
            // and one being drawn.
            let ghost_user = user.clone();
            let ghost = move || {
                moves.preview.get().filter(|p| p.lane.as_ref().map_or(is_me, |l| *l == ghost_user)).and_then(|p| {
                    let day = ghost_days.iter().position(|d| *d == p.to.0.date())? as i64;
                    let from = day * MINUTES_PER_DAY + i64::from(p.to.0.hour() * 60 + p.to.0.minute());
                    let to = from + (p.to.1 - p.to.0).num_minutes();
                    Some(view! { <div class="ghost" style=format!("left: {:.4}%; width: {:.4}%", pct(from), pct(to) - pct(from)) aria-hidden="true"></div> })
                })
            };
            let draw_user = user.clone();
            let drawing = move || {
                moves.drawing.get().filter(|dr| dr.lane.as_deref() == Some(draw_user.as_str())).map(|dr| {
                    let from = dr.day as i64 * MINUTES_PER_DAY + dr.from_minute;
                    let to = dr.day as i64 * MINUTES_PER_DAY + dr.to_minute;
                    view! { <div class="ghost new" style=format!("left: {:.4}%; width: {:.4}%", pct(from), pct(to) - pct(from)) aria-hidden="true"></div> }
                })
            };
            let now_days = days.clone();
            let now_line = move || {
                let now = clock.now.get();
                now_days.iter().position(|d| *d == now.date()).map(|day| {
                    let minute = day as i64 * MINUTES_PER_DAY + i64::from(now.hour() * 60 + now.minute());
                    view! {
                        <div class="now-line across" style=format!("left: {:.4}%", pct(minute))>
                            <span class="sr-only">{tdf!(l, calendar.now_line, time = lang::time(now))}</span>
                        </div>
                    }
                })
            };
            view! {
                <section class=format!("lane c{}", lane.colour) data-lane=user.clone() aria-label=lang::calendar_of(l, &name)>
                    <div class="lane-name">
                        <span class="swatch" aria-hidden="true"></span>
                        <span class="who">{name.clone()}</span>
                        <small class="fresh" data-fresh=user.clone()>{fresh}</small>
                    </div>
                    <div class="lane-track" data-lane-track=user.clone() style=format!("--bar-rows: {bar_rows}")>
                        <div class="lane-bars">{bars}</div>
                        <div class="lane-timed">{boxes}{ghost}{drawing}</div>
                        {now_line}
                    </div>
                </section>
            }
        })
        .collect_view();
    let movable = targets(&data);
    let on_keydown = lane_keys(movable.clone(), data.lanes.iter().map(|l| l.user_id.clone()).collect());
    let p = pointer(Surface { days: days.clone(), across: true }, movable);
    // Opens at the start of the user's working day; a redraw keeps the user's scrolling.
    let scroller = NodeRef::<leptos::html::Div>::new();
    let period = format!("schedule:{}:{}", data.nav.span.as_str(), data.nav.date);
    let first_hour = me.0.with_untracked(|m| m.work.start_minute / 60).saturating_sub(1) as i32;
    let days_shown = n as i32;
    let on_scroll = super::keep_scroll(cal, scroller, ".schedule", period, false, move |el| {
        let names = el.query_selector(".lane-name").ok().flatten().map(|n| n.client_width()).unwrap_or(0);
        (el.scroll_width() - names) * first_hour / (24 * days_shown)
    });
    view! {
        <div class="schedule" class:week={n > 1} style=format!("--days: {n}") node_ref=scroller on:scroll=on_scroll
            role="region" aria-label=td_string!(l, calendar.lanes) tabindex="0">
            <div class="schedule-head">
                <div class="lane-name"></div>
                <div class="timeline">{heads}</div>
            </div>
            <div class="lanes" on:keydown=on_keydown on:pointerdown=p.down on:pointermove=p.moved on:pointerup=p.up on:pointercancel=p.cancel>
                {lanes}
            </div>
        </div>
    }
}

/// Alt + up/down on a focused meeting the viewer may move: into the lane above or below (a
/// colleague's books it for them once saved with Enter; F-EDIT-2). `lanes`: the users, top
/// down, the viewer first.
fn lane_keys(movable: Vec<MoveTarget>, lanes: Vec<String>) -> impl Fn(leptos::ev::KeyboardEvent) + 'static {
    let moves = use_moves();
    move |ev: leptos::ev::KeyboardEvent| {
        let down = match ev.key().as_str() {
            "ArrowDown" => true,
            "ArrowUp" => false,
            _ => return,
        };
        if !ev.alt_key() {
            return;
        }
        let Some(id) = meeting_of(&ev) else { return };
        let Some(base) = movable.iter().find(|t| t.id == id && !t.occurrence) else { return };
        let current = moves.shown(base);
        let at = current.lane.as_ref().and_then(|l| lanes.iter().position(|u| u == l)).unwrap_or(0);
        let next = if down { at + 1 } else { at.wrapping_sub(1) };
        if next >= lanes.len() {
            return;
        }
        ev.prevent_default();
        // Back in the viewer's own lane (the first) it is a plain move again.
        moves.preview.set(Some(MoveTarget { lane: (next > 0).then(|| lanes[next].clone()), ..current }));
    }
}

/// The meeting a key went to (its box has the focus).
fn meeting_of(ev: &leptos::ev::KeyboardEvent) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let el = ev.target()?.dyn_into::<leptos::web_sys::Element>().ok()?;
        return el.closest("[data-meeting]").ok()??.get_attribute("data-meeting");
    }
    #[allow(unreachable_code)]
    {
        let _ = ev;
        None
    }
}
