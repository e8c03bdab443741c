//! Month view (F-CAL-4): whole weeks, each with its ISO week number, each day listing its
//! meetings; a day's number opens that day.

use chrono::{Datelike, NaiveDate};
use domain::calendar::{iso_week, start_of_week};
use domain::layout::month_cell;
use domain::CalendarView;
use leptos::prelude::*;

use super::api::CalendarData;
use super::event::{text, EventBox};
use super::{use_calendar, use_clock};
use crate::lang;

/// Meetings listed per day before "+N more".
const PER_DAY: usize = 4;

#[component]
pub fn MonthView(data: CalendarData) -> impl IntoView {
    let l = crate::lang::use_locale();
    let clock = use_clock();
    let cal = use_calendar();
    let month = data.nav.date.month();
    let days = data.nav.visible_days();
    // Days shown per week row: 7, or 5 when weekends are hidden.
    let first_week = start_of_week(days[0], data.nav.week_start);
    let per_week = days.iter().take_while(|d| start_of_week(**d, data.nav.week_start) == first_week).count().max(1);
    let heads = days
        .iter()
        .take(per_week)
        .map(|d| {
            let n = d.weekday().number_from_monday();
            view! { <div class="day-head">{lang::weekday_short(l, n)}</div> }
        })
        .collect_view();
    let events = data.events.clone();
    let lanes = data.lanes.clone();
    let cell = move |d: NaiveDate| {
        let items = month_cell(d, &events);
        let more = items.len().saturating_sub(PER_DAY);
        let list = items
            .into_iter()
            .take(PER_DAY)
            .map(|i| {
                let e = events[i].clone();
                let (name, colour) = lanes.get(e.calendar).map(|l| (l.name.clone(), l.colour)).unwrap_or_default();
                let time = (!e.in_all_day_row()).then(|| format!("{} ", lang::time(e.start)));
                view! { <li><EventBox e=e.clone() colour owner=name>{time}{text(&e)}</EventBox></li> }
            })
            .collect_view();
        let day_href = move || cal.url.with(|u| u.with_view(CalendarView::Day).with_date(d).href());
        view! {
            <div class="month-day" class:today=move || clock.today() == d class:other-month=d.month() != month>
                <a href=day_href class="day-num" aria-label=lang::long_date(l, d)>{d.day().to_string()}</a>
                <ul>{list}</ul>
                {(more > 0).then(|| view! { <p class="more">{tdf!(l, calendar.more, count = more)}</p> })}
            </div>
        }
    };
    let weeks = days
        .chunks(per_week)
        .map(|week| {
            let number = iso_week(week[0]);
            let cells = week.iter().map(|d| cell(*d)).collect_view();
            view! {
                <div class="month-week">
                    <div class="week-no" title=tdf!(l, calendar.week_number, week = number)>
                        <span aria-hidden="true">{number}</span>
                        <span class="sr-only">{tdf!(l, calendar.week_number, week = number)}</span>
                    </div>
                    {cells}
                </div>
            }
        })
        .collect_view();
    view! {
        <div class="month" style=format!("--days: {per_week}")>
            <div class="month-head"><div class="week-no" aria-hidden="true"></div>{heads}</div>
            <div class="month-grid">{weeks}</div>
        </div>
    }
}
