//! The editor's side panel (F-EDIT-4, F-X-8): the meeting's day for the organiser and each
//! chosen colleague, lane by lane (someone else's private meetings as "Busy"), the meeting
//! drawn in; what it overlaps is flagged here and in the form. A time in the panel moves the
//! meeting there, keeping its length (the rows are buttons: keyboard too). Each lane says how
//! fresh its data is (F-X-15). "Find a time" suggests the next times everyone is free within
//! their working hours.

use leptos::prelude::*;

use super::api::MeetingForm;
use super::times_api::{day_lanes, find_times, Day, Freshness, Slot, Times};
use crate::error::AppError;
use crate::calendar::schedule::freshness;
use crate::i18n::*;
use crate::lang;

/// The meeting as the panel sees the form.
#[derive(Clone, Copy)]
pub struct When {
    pub start_date: RwSignal<String>,
    pub start_time: RwSignal<String>,
    pub end_date: RwSignal<String>,
    pub end_time: RwSignal<String>,
    pub all_day: RwSignal<bool>,
}

impl When {
    /// Start and end as minutes from the start date's midnight, while both read as times.
    fn minutes(&self) -> Option<(i64, i64)> {
        let start = self.start_date.with(|d| self.start_time.with(|t| MeetingForm::instant(d, t)))?;
        let end = self.end_date.with(|d| self.end_time.with(|t| MeetingForm::instant(d, t)))?;
        let midnight = start.date().and_hms_opt(0, 0, 0)?;
        Some(((start - midnight).num_minutes(), (end - midnight).num_minutes()))
    }

    /// Moves the start to `minute` of its day; the form moves the end with it (same length).
    fn move_to(&self, minute: i64) {
        self.start_time.set(format!("{:02}:{:02}", minute / 60, minute % 60));
    }

    fn apply(&self, s: &Slot) {
        self.start_date.set(s.start_date.clone());
        self.start_time.set(s.start_time.clone());
    }
}

/// The panel's hours: 07–19, widened to show the meeting.
fn hours(meeting: Option<(i64, i64)>) -> (i64, i64) {
    let (mut from, mut to) = (7 * 60, 19 * 60);
    if let Some((s, e)) = meeting {
        from = from.min(s / 60 * 60).max(0);
        to = to.max((e + 59) / 60 * 60).min(24 * 60);
    }
    (from, to)
}

#[component]
pub fn TimePanel(
    /// The organiser's user id ("" = the viewer).
    #[prop(into)]
    organiser: Signal<String>,
    #[prop(into)] users: Signal<Vec<String>>,
    when: When,
    /// The meeting being edited (left out of the lanes: it is drawn from the form).
    leave_out: Option<String>,
    #[prop(into)] disabled: Signal<bool>,
    /// What the meeting overlaps, for the form to say too.
    clashes: RwSignal<Vec<String>>,
) -> impl IntoView {
    let l = crate::lang::use_locale();
    // The day's lanes, read again when the organiser, the colleagues or the day change (an
    // answer to an older question is dropped).
    let day = RwSignal::new(None::<Result<Day, AppError>>);
    let asked = StoredValue::new(0u64);
    let leave = leave_out.clone();
    Effect::new(move |_| {
        let (organiser, users, date, leave) = (organiser.get(), users.get(), when.start_date.get(), leave.clone());
        let n = asked.get_value() + 1;
        asked.set_value(n);
        leptos::task::spawn_local(async move {
            let answer = day_lanes(organiser, users, date, leave).await;
            // (The dialog may have closed meanwhile: then nothing is set.)
            if asked.try_get_value() == Some(n) {
                day.try_set(Some(answer));
            }
        });
    });
    let meeting = Memo::new(move |_| if when.all_day.get() { None } else { when.minutes() });
    // Flag what the meeting overlaps (F-X-8).
    Effect::new(move |_| {
        let found = day.with(|d| match (meeting.get(), d) {
            (Some((s, e)), Some(Ok(d))) => d
                .lanes
                .iter()
                .flat_map(|lane| {
                    lane.blocks.iter().filter(move |b| !b.all_day && b.from < e && b.to > s).map(move |b| {
                        format!("{} ({})", lane.who.name, b.label.clone().unwrap_or_else(|| td_string!(l, editor.busy).to_string()))
                    })
                })
                .collect(),
            _ => Vec::new(),
        });
        clashes.set(found);
    });
    view! {
        <section class="time-panel" aria-labelledby="time-panel-title">
            <h3 id="time-panel-title">{td_string!(l, editor.panel_title)}</h3>
            {move || match day.get() {
                None => view! { <p class="hint">{td_string!(l, editor.panel_loading)}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">{lang::error_text(l, &e)}</p> }.into_any(),
                Some(Ok(d)) => lanes_view(l, d, meeting, when, disabled).into_any(),
            }}
            <FindTime organiser users when leave_out disabled/>
        </section>
    }
}

/// The lanes side by side over the panel's hours, the time rows under them as buttons.
fn lanes_view(l: Locale, d: Day, meeting: Memo<Option<(i64, i64)>>, when: When, disabled: Signal<bool>) -> impl IntoView {
    let (from, to) = hours(meeting.get_untracked());
    let span = (to - from) as f64;
    let pct = move |m: i64| (m.clamp(from, to) - from) as f64 * 100.0 / span;
    let now = d.now;
    view! {
        <div class="panel-grid" style=format!("--rows: {}", (to - from) / 30)>
            <div class="panel-heads">
                {d.lanes.iter().map(|lane| view! {
                    <div class="lane-head">
                        <span class="who">{lane.who.name.clone()}</span>
                        <span class="fresh">{fresh_text(l, &lane.who, now)}</span>
                    </div>
                }).collect_view()}
            </div>
            <div class="panel-body">
                <div class="panel-rows">
                    {(from..to).step_by(30).map(|m| {
                        let label = format!("{:02}:{:02}", m / 60, m % 60);
                        view! {
                            <button type="button" class="row" disabled=disabled
                                aria-label=tdf!(l, editor.move_to, time = label.clone())
                                on:click=move |_| when.move_to(m)>
                                <span aria-hidden="true">{(m % 60 == 0).then(|| label.clone())}</span>
                            </button>
                        }
                    }).collect_view()}
                </div>
                <div class="panel-lanes" aria-hidden="true">
                    {d.lanes.into_iter().map(|lane| {
                        let shown: Vec<_> = lane.blocks.into_iter().filter(|b| !b.all_day && b.to > from && b.from < to).collect();
                        // Overlapping times side by side, as in the day view.
                        let columns = domain::layout::overlap_columns(&shown.iter().map(|b| (b.from, b.to)).collect::<Vec<_>>());
                        view! {
                        <div class="lane">
                            {shown.iter().zip(columns).map(|(b, c)| {
                                let (bf, bt) = (b.from, b.to);
                                let clash = move || meeting.get().is_some_and(|(s, e)| bf < e && bt > s);
                                let width = 100.0 / c.columns.max(1) as f64;
                                view! {
                                    <div class="block" class:clash=clash class:busy=b.label.is_none()
                                        style=format!("top: {:.3}%; height: {:.3}%; left: {:.3}%; width: {:.3}%", pct(bf), pct(bt) - pct(bf), width * c.column as f64, width)>
                                        {b.label.clone().unwrap_or_else(|| td_string!(l, editor.busy).to_string())}
                                    </div>
                                }
                            }).collect_view()}
                            {move || meeting.get().map(|(s, e)| view! {
                                <div class="block this" style=format!("top: {:.3}%; height: {:.3}%", pct(s), pct(e) - pct(s))></div>
                            })}
                        </div>
                    }}).collect_view()}
                </div>
            </div>
        </div>
    }
}

fn fresh_text(l: Locale, who: &Freshness, now: i64) -> String {
    match who.synced_at {
        _ if who.checked_now => freshness(l, Some(now), now),
        Some(t) => freshness(l, Some(t), now),
        None => td_string!(l, calendar.never_synced).to_string(),
    }
}

/// "Find a time": the next free times for everyone, one click to use one.
#[component]
fn FindTime(organiser: Signal<String>, users: Signal<Vec<String>>, when: When, leave_out: Option<String>, disabled: Signal<bool>) -> impl IntoView {
    let l = crate::lang::use_locale();
    let leave = StoredValue::new(leave_out);
    let found = RwSignal::new(None::<Result<Times, AppError>>);
    let pending = RwSignal::new(false);
    let search = move || {
        let minutes = when.minutes().map(|(s, e)| e - s).filter(|m| *m > 0).unwrap_or(60);
        let args = (organiser.get_untracked(), users.get_untracked(), when.start_date.get_untracked(), when.start_time.get_untracked(), leave.get_value());
        pending.set(true);
        leptos::task::spawn_local(async move {
            let answer = find_times(args.0, args.1, args.2, args.3, minutes, args.4).await;
            found.try_set(Some(answer));
            pending.try_set(false);
        });
    };
    view! {
        <div class="find-time">
            <button type="button" class="btn" disabled=move || disabled.get() || pending.get() on:click=move |_| search()>
                {td_string!(l, editor.find_time)}
            </button>
            <p class="hint">{td_string!(l, editor.find_time_hint)}</p>
            {move || found.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{lang::error_text(l, &e)}</p> }.into_any(),
                Ok(t) if t.slots.is_empty() => view! { <p role="status">{td_string!(l, editor.no_slots)}</p> }.into_any(),
                Ok(t) => {
                    let now = t.now;
                    view! {
                        <ul class="slots" role="list">
                            {t.slots.into_iter().map(|s| {
                                let text = slot_text(l, &s);
                                view! { <li><button type="button" class="btn slot" on:click=move |_| when.apply(&s)>{text}</button></li> }
                            }).collect_view()}
                        </ul>
                        <p class="fresh">{t.who.iter().map(|w| fresh_line(l, w, now)).collect::<Vec<_>>().join(" · ")}</p>
                    }.into_any()
                }
            })}
        </div>
    }
}

fn slot_text(l: Locale, s: &Slot) -> String {
    let date = domain::iso::parse_date(&s.start_date).map(|d| lang::date_long(l, d)).unwrap_or_else(|| s.start_date.clone());
    tdf!(l, editor.slot, date = date, from = s.start_time.clone(), to = s.end_time.clone())
}

fn fresh_line(l: Locale, w: &Freshness, now: i64) -> String {
    if w.synced_at.is_none() && !w.checked_now {
        return tdf!(l, editor.not_synced, name = w.name.clone());
    }
    tdf!(l, editor.synced_ago, name = w.name.clone(), ago = fresh_text(l, w, now))
}
