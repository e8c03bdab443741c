//! One meeting on screen, in any view: its colour (the calendar's), how the calendar's owner
//! answered (declined and tentative look different: F-X-12), what a screen reader says of it
//! (day, time, subject or "Busy", whose calendar), and what a click or a key does — open it in
//! the editor, or move it (F-X-10).

use domain::{Answer, CalEvent};
use leptos::prelude::*;

use super::manipulate::{on_key, use_moves, MoveTarget};
use crate::i18n::*;
use crate::lang;
use crate::meetings::use_editor;

/// The id of the hidden text that tells keyboard users how to move a meeting.
pub const MOVE_HINT_ID: &str = "move-hint";

/// What a screen reader says of the meeting: "Budget review, 09:00 to 10:30, Anna Berg’s
/// calendar, declined".
pub fn label(l: Locale, e: &CalEvent, owner: &str) -> String {
    let mut what = e.subject.clone().unwrap_or_else(|| td_string!(l, calendar.busy).to_string());
    if e.private {
        what = format!("{what} ({})", td_string!(l, calendar.private));
    }
    let whose = lang::calendar_of(l, owner);
    let mut text = if e.all_day || e.in_all_day_row() {
        if e.last_day() > e.start.date() {
            tdf!(l, calendar.label_days, what = what, first = lang::date_short(l, e.start.date()), last = lang::date_short(l, e.last_day()), whose = whose)
        } else {
            tdf!(l, calendar.label_all_day, what = what, whose = whose)
        }
    } else {
        tdf!(l, calendar.label_timed, what = what, from = lang::time(e.start), to = lang::time(e.end), whose = whose)
    };
    if let Some(a) = lang::answer(l, e.answer) {
        text.push_str(", ");
        text.push_str(a);
    }
    text
}

pub fn class(e: &CalEvent, colour: u8) -> String {
    let mut class = format!("event c{colour}");
    if e.is_busy_block() {
        class.push_str(" busy");
    }
    if e.private {
        class.push_str(" private");
    }
    if e.movable {
        class.push_str(" movable");
    }
    match e.answer {
        Answer::Declined => class.push_str(" declined"),
        Answer::Tentative => class.push_str(" tentative"),
        Answer::None => class.push_str(" unanswered"),
        Answer::Organiser | Answer::Accepted => {}
    }
    class
}

/// The subject (or "Busy"), with a lock for the viewer's own private meetings.
pub fn text(e: &CalEvent) -> impl IntoView {
    let l = crate::lang::use_locale();
    let lock = e.private.then(|| {
        view! {
            <svg class="lock" viewBox="0 0 16 16" aria-hidden="true">
                <rect x="3" y="7" width="10" height="8" rx="1.5"></rect>
                <path d="M5.2 7V5.2a2.8 2.8 0 0 1 5.6 0V7" fill="none" stroke="currentColor" stroke-width="1.6"></path>
            </svg>
        }
    });
    let subject = e.subject.clone();
    (lock, move || subject.clone().unwrap_or_else(|| td_string!(l, calendar.busy).to_string()))
}

/// A meeting's box: opens on click or Enter (busy blocks of others are not meetings the viewer
/// can open); a movable one moves with the arrow keys.
#[component]
pub fn EventBox(
    e: CalEvent,
    colour: u8,
    #[prop(into)] owner: String,
    #[prop(optional, into)] extra_class: String,
    #[prop(optional, into)] style: String,
    /// Draw a handle to change the length (the lower edge, or the right one in the schedule).
    #[prop(optional)]
    resizable: bool,
    children: Children,
) -> impl IntoView {
    let l = crate::lang::use_locale();
    let editor = use_editor();
    let moves = use_moves();
    let openable = !e.is_busy_block();
    let id = e.meeting_id.clone();
    let target = e.movable.then(|| MoveTarget::of(&e));
    let moving = {
        let id = id.clone();
        move || moves.preview.with(|p| p.as_ref().is_some_and(|p| p.id == id))
    };
    let click_id = id.clone();
    let on_click = move |_: leptos::ev::MouseEvent| {
        if moves.dragged.get_value() {
            moves.dragged.set_value(false);
            return;
        }
        if openable {
            editor.open_meeting(click_id.clone());
        }
    };
    let key_id = id.clone();
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        // (Alt + up/down is the schedule's: into the colleague's lane above or below.)
        if let Some(t) = target.as_ref().filter(|_| !ev.alt_key()) {
            if on_key(moves, t, &ev.key(), ev.shift_key()) {
                ev.prevent_default();
                return;
            }
        }
        if openable && (ev.key() == "Enter" || ev.key() == " ") {
            ev.prevent_default();
            editor.open_meeting(key_id.clone());
        }
    };
    let label = label(l, &e, &owner);
    let class = format!("{} {extra_class}", class(&e, colour));
    let movable = e.movable;
    view! {
        <div class=class class:moving=moving style=style data-meeting=id title=label.clone() aria-label=label
            role=openable.then_some("button") tabindex=openable.then_some("0")
            aria-describedby=movable.then_some(MOVE_HINT_ID)
            on:click=on_click on:keydown=on_keydown>
            {children()}
            {(resizable && movable).then(|| view! { <span class="resize" aria-hidden="true"></span> })}
        </div>
    }
}
