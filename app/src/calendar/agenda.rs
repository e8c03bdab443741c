//! Agenda view (F-CAL-4): the period's meetings in order, grouped by day — time, subject,
//! place, organisation and whose calendar; empty days are left out, and an empty period says
//! so plainly.

use domain::CalEvent;
use leptos::prelude::*;

use super::api::CalendarData;
use super::event::{text, EventBox};
use crate::i18n::*;
use crate::lang;

#[component]
pub fn AgendaView(data: CalendarData) -> impl IntoView {
    let l = crate::lang::use_locale();
    let days: Vec<_> = data
        .nav
        .visible_days()
        .into_iter()
        .filter_map(|d| {
            let mut todays: Vec<&CalEvent> = data.events.iter().filter(|e| e.touches(d)).collect();
            todays.sort_by_key(|e| (!e.in_all_day_row(), e.start, e.calendar));
            (!todays.is_empty()).then(|| (d, todays.into_iter().cloned().collect::<Vec<_>>()))
        })
        .collect();
    if days.is_empty() {
        return view! { <p class="agenda-empty">{td_string!(l, calendar.agenda_empty)}</p> }.into_any();
    }
    let lanes = data.lanes.clone();
    days.into_iter()
        .map(|(d, events)| {
            let items = events
                .into_iter()
                .map(|e| {
                    let (name, colour) = lanes.get(e.calendar).map(|l| (l.name.clone(), l.colour)).unwrap_or_default();
                    let when = if e.in_all_day_row() { None } else { Some(format!("{}–{}", lang::time(e.start), lang::time(e.end))) };
                    let whose = name.clone();
                    let location = e.location.clone();
                    let organisation = e.organisation.clone();
                    view! {
                        <li>
                            <EventBox e=e.clone() colour owner=name extra_class="agenda-item">
                                <span class="when">{match when { Some(w) => w.into_any(), None => view! { {td_string!(l, calendar.all_day)} }.into_any() }}</span>
                                <span class="subject">{text(&e)}</span>
                                {location.map(|l| view! { <span class="where">{l}</span> })}
                                {organisation.map(|o| view! { <span class="org">{o}</span> })}
                                <span class="whose">{whose}</span>
                            </EventBox>
                        </li>
                    }
                })
                .collect_view();
            view! {
                <section class="agenda-day">
                    <h2><time datetime=d.to_string()>{lang::date_long(l, d)}</time></h2>
                    <ul>{items}</ul>
                </section>
            }
        })
        .collect_view()
        .into_any()
}
