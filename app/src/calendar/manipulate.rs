//! Creating and moving meetings by hand (F-CAL-8, F-X-10), by mouse, touch or keyboard:
//! - a click on an empty slot of the week, day or schedule view opens the editor with that
//!   slot's time (30 minutes); a drag over slots opens it with that range; in the schedule view
//!   the lane's user is the calendar it goes into;
//! - a meeting the viewer organises can be dragged to another time or day, and its lower (or,
//!   in the schedule, right) edge dragged to change its length; a focused one moves with the
//!   arrow keys (Shift + up/down: its length), Enter saves, Escape cancels;
//! - in the schedule, one dragged into a colleague's lane (or taken there with Alt + up/down)
//!   is booked for them once the user confirms (F-EDIT-2): a new meeting in their calendar,
//!   organised by them, booked by the viewer, the old one gone;
//! - when it has attendees, the user is asked "Send updates to N attendees?" first; a move
//!   that fails (or that the provider refuses later) goes back on screen with a message; a
//!   saved one can be undone once.
//!
//! The times come from `domain::moves` (pure, tested); this module turns pointers and keys
//! into them and talks to the server.

use chrono::{NaiveDate, NaiveDateTime};
use leptos::prelude::*;

use super::api::CalendarData;
use crate::components::Dialog;
use crate::i18n::*;
use crate::lang;
use crate::meetings::api::{move_meeting, MoveOutcome};
use crate::meetings::use_editor;

/// A meeting on its way somewhere.
#[derive(Clone, Debug, PartialEq)]
pub struct MoveTarget {
    pub id: String,
    pub version: i64,
    pub subject: String,
    pub from: (NaiveDateTime, NaiveDateTime),
    pub to: (NaiveDateTime, NaiveDateTime),
    /// Schedule view: the colleague whose lane it is over, when not the viewer's own — saved,
    /// it is booked for them (F-EDIT-2).
    pub lane: Option<String>,
    /// One occurrence of a series: it moves in time, but cannot leave its series for another
    /// calendar.
    pub occurrence: bool,
}

impl MoveTarget {
    /// A meeting on screen, where it is.
    pub fn of(e: &domain::CalEvent) -> Self {
        MoveTarget { id: e.meeting_id.clone(), version: e.version, subject: e.subject.clone().unwrap_or_default(), from: (e.start, e.end), to: (e.start, e.end), lane: None, occurrence: e.occurrence }
    }
}

/// A move that was saved (it can be undone once).
#[derive(Clone, Debug, PartialEq)]
pub struct Done {
    pub id: String,
    pub version: i64,
    pub subject: String,
    pub from: (NaiveDateTime, NaiveDateTime),
    pub to: (NaiveDateTime, NaiveDateTime),
    pub sent: bool,
}

/// A new meeting being drawn with the pointer: shown day index, minutes, and the lane's user.
#[derive(Clone, Debug, PartialEq)]
pub struct Drawing {
    pub day: usize,
    pub from_minute: i64,
    pub to_minute: i64,
    pub lane: Option<String>,
}

#[derive(Clone, Copy)]
pub struct Moves {
    /// Where the meeting being moved is shown meanwhile (while dragging, moving by keys,
    /// asking and saving); the page draws it there instead.
    pub preview: RwSignal<Option<MoveTarget>>,
    pub drawing: RwSignal<Option<Drawing>>,
    /// Waiting for the answer to "send updates to N attendees?" (and whether "no" is possible).
    pub asking: RwSignal<Option<(MoveTarget, usize, bool)>>,
    pub done: RwSignal<Option<Done>>,
    pub message: RwSignal<Option<String>>,
    /// What went well and is worth saying (booked for a colleague, a move undone).
    pub info: RwSignal<Option<String>>,
    /// A saved move waits for the calendar to read itself again before its preview goes.
    awaiting: StoredValue<bool>,
    /// A drag just ended on a meeting: the click that follows is not an "open".
    pub dragged: StoredValue<bool>,
    /// (Captured at the start: event handlers run outside the components' context.)
    l: Locale,
    reload: RwSignal<u64>,
}

/// `reload`: bumped to read the calendar again after a move.
pub fn provide_moves(reload: RwSignal<u64>) -> Moves {
    let moves = Moves {
        preview: RwSignal::new(None),
        drawing: RwSignal::new(None),
        asking: RwSignal::new(None),
        done: RwSignal::new(None),
        message: RwSignal::new(None),
        info: RwSignal::new(None),
        awaiting: StoredValue::new(false),
        dragged: StoredValue::new(false),
        l: lang::use_locale(),
        reload,
    };
    provide_context(moves);
    moves
}

pub fn use_moves() -> Moves {
    expect_context::<Moves>()
}

fn wire(t: NaiveDateTime) -> String {
    format!("{}T{}", t.date(), domain::calendar::hh_mm(t))
}

impl Moves {
    /// Where `base` is now: its preview while it is being moved, else where it is.
    pub fn shown(self, base: &MoveTarget) -> MoveTarget {
        self.preview.get_untracked().filter(|p| p.id == base.id).unwrap_or_else(|| base.clone())
    }

    /// Saves the previewed move (asking first about updates when there are attendees).
    pub fn commit(self, t: MoveTarget) {
        if t.to == t.from && t.lane.is_none() {
            self.preview.set(None);
            return;
        }
        self.preview.set(Some(t.clone()));
        self.message.set(None);
        self.info.set(None);
        self.send(t, None);
    }

    /// The answer to the question: Some(send) saves, None cancels (the meeting goes back).
    pub fn answer(self, send: Option<bool>) {
        let Some((t, _, _)) = self.asking.get_untracked() else { return };
        self.asking.set(None);
        match send {
            Some(send) => self.send(t, Some(send)),
            None => self.preview.set(None),
        }
    }

    fn send(self, t: MoveTarget, send: Option<bool>) {
        let l = self.l;
        leptos::task::spawn_local(async move {
            match move_meeting(t.id.clone(), t.version, wire(t.to.0), wire(t.to.1), send, t.lane.clone()).await {
                Ok(MoveOutcome::Ask { attendees, can_keep_quiet }) => self.asking.set(Some((t, attendees, can_keep_quiet))),
                Ok(MoveOutcome::Booked { name }) => {
                    // A new meeting in their calendar, so no undo (the booker changes it in
                    // the editor).
                    self.info.set(Some(tdf!(l, calendar.booked_for, subject = t.subject, calendar = lang::calendar_of(l, &name))));
                    self.awaiting.set_value(true);
                    self.reload.update(|n| *n += 1);
                }
                Ok(MoveOutcome::Moved { version }) => {
                    self.done.set(Some(Done { id: t.id, version, subject: t.subject, from: t.from, to: t.to, sent: send.unwrap_or(false) }));
                    self.awaiting.set_value(true);
                    self.reload.update(|n| *n += 1);
                }
                Err(e) => {
                    self.preview.set(None);
                    let reason = lang::error_text(l, &e);
                    self.message.set(Some(tdf!(l, calendar.move_failed, subject = t.subject, reason = reason)));
                }
            }
        });
    }

    /// Puts the last move back (with updates again, if the first one sent them).
    pub fn undo(self) {
        let Some(d) = self.done.get_untracked() else { return };
        self.done.set(None);
        let back = MoveTarget { id: d.id, version: d.version, subject: d.subject, from: d.to, to: d.from, lane: None, occurrence: false };
        self.preview.set(Some(back.clone()));
        let l = self.l;
        self.info.set(Some(td_string!(l, calendar.undone).to_string()));
        self.send(back, Some(d.sent));
        // An undo cannot itself be undone.
        self.done.set(None);
    }

    /// New data arrived: a saved move's preview gives way to the meeting where it now is; a
    /// move the provider refused (the engine kept the calendar's version and said why) is
    /// reported and cannot be undone.
    pub fn settle(self, data: &CalendarData) {
        if self.awaiting.get_value() {
            self.awaiting.set_value(false);
            self.preview.set(None);
        }
        let Some(done) = self.done.get_untracked() else { return };
        let refused = data.events.iter().find(|e| e.meeting_id == done.id).and_then(|e| match &e.notice {
            Some(domain::SyncNotice::Refused { detail }) => Some(detail.clone()),
            _ => None,
        });
        if let Some(detail) = refused {
            let l = self.l;
            self.done.set(None);
            self.message.set(Some(tdf!(l, calendar.move_refused, subject = done.subject, reason = detail)));
        }
    }
}

/// "Send updates to N attendees?" — yes / no / cancel (F-X-10, F-EDIT-9); for a meeting taken
/// into a colleague's lane, "Book it for them?" first.
/// (The dialog is a WebAssembly chunk of its own, loaded when first asked.)
#[component]
pub fn MoveQuestion() -> impl IntoView {
    let moves = use_moves();
    move || {
        moves.asking.get().map(|asking| view! { <Suspense fallback=|| ()>{move || Suspend::new(question_view(asking.clone(), moves))}</Suspense> })
    }
}

#[leptos::lazy]
fn question_view(asking: (MoveTarget, usize, bool), moves: Moves) -> AnyView {
    let l = moves.l;
    let (t, n, can_keep_quiet) = asking;
    // Into a colleague's calendar (F-EDIT-2; always asked, attendees or not): whose, and what
    // that means. (Their name is in the calendar's lanes; the id will do if it is not.)
    let colleague = t.lane.as_ref().map(|user| {
        use_context::<super::CalendarCtx>()
            .and_then(|c| c.data.with_untracked(|d| d.as_ref().and_then(|d| d.lanes.iter().find(|x| x.user_id == *user).map(|x| x.name.clone()))))
            .unwrap_or_else(|| user.clone())
    });
    let title = match &colleague {
        Some(name) => tdf!(l, calendar.rebook_title, name = name),
        None => td_string!(l, calendar.send_updates_title).to_string(),
    };
    let question = match n {
        0 => None,
        _ if !can_keep_quiet => Some(tdf!(l, calendar.send_updates_always, count = n)),
        1 => Some(td_string!(l, calendar.send_updates_one).to_string()),
        _ => Some(tdf!(l, calendar.send_updates_many, count = n)),
    };
    let when = lang::when(l, t.to.0);
    view! {
        <Dialog labelled_by="move-question-title" on_close=move |_| moves.answer(None) class="question">
            <h2 id="move-question-title">{title}</h2>
            <p>{format!("{} → {when}", t.subject)}</p>
            {colleague.map(|name| view! { <p>{tdf!(l, calendar.rebook_what, calendar = lang::calendar_of(l, &name), name = name)}</p> })}
            {question.map(|q| view! { <p>{q}</p> })}
            <div class="actions">
                {if n == 0 {
                    view! { <button type="button" class="btn primary" on:click=move |_| moves.answer(Some(false))>{td_string!(l, calendar.rebook_yes)}</button> }.into_any()
                } else {
                    view! {
                        <button type="button" class="btn primary" on:click=move |_| moves.answer(Some(true))>{td_string!(l, calendar.send_updates_yes)}</button>
                        {can_keep_quiet.then(|| view! {
                            <button type="button" class="btn" on:click=move |_| moves.answer(Some(false))>{td_string!(l, calendar.send_updates_no)}</button>
                        })}
                    }
                    .into_any()
                }}
                <button type="button" class="btn link" on:click=move |_| moves.answer(None)>{td_string!(l, calendar.cancel)}</button>
            </div>
        </Dialog>
    }
    .into_any()
}

/// How pointer positions map to times on a view.
#[derive(Clone, Debug, PartialEq)]
pub struct Surface {
    pub days: Vec<NaiveDate>,
    /// Week and day views: time runs down each day's column. Schedule: time runs across the
    /// lanes, day after day.
    pub across: bool,
}

/// What the pointer grabbed.
#[derive(Clone, Debug)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum Grab {
    Slot { lane: Option<String> },
    Meeting(MoveTarget),
    Edge(MoveTarget),
}

#[derive(Clone, Debug)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
struct Drag {
    grab: Grab,
    x0: f64,
    y0: f64,
    day0: usize,
    minute0: i64,
    /// The lane it started in (schedule view).
    lane0: Option<String>,
    moved: bool,
}

/// Keys on a focused meeting the viewer may move: arrows move it (up/down a quarter of an
/// hour, left/right a day), Shift + up/down changes its length, Enter saves, Escape cancels.
/// Returns true when the key was used.
pub fn on_key(moves: Moves, base: &MoveTarget, key: &str, shift: bool) -> bool {
    let current = moves.shown(base);
    let (s, e) = current.to;
    let to = match (key, shift) {
        ("ArrowUp", false) => domain::moves::moved(s, e, 0, -domain::moves::STEP_MINUTES),
        ("ArrowDown", false) => domain::moves::moved(s, e, 0, domain::moves::STEP_MINUTES),
        ("ArrowLeft", _) => domain::moves::moved(s, e, -1, 0),
        ("ArrowRight", _) => domain::moves::moved(s, e, 1, 0),
        ("ArrowUp", true) => domain::moves::resized(s, e, -domain::moves::STEP_MINUTES),
        ("ArrowDown", true) => domain::moves::resized(s, e, domain::moves::STEP_MINUTES),
        ("Enter", _) if moves.preview.get_untracked().is_some_and(|p| p.id == base.id) => {
            moves.commit(current);
            return true;
        }
        ("Escape", _) if moves.preview.get_untracked().is_some_and(|p| p.id == base.id) => {
            moves.preview.set(None);
            return true;
        }
        _ => return false,
    };
    moves.preview.set(Some(MoveTarget { to, ..current }));
    true
}

/// Pointer handling of a view's surface (browser only; on the server the handlers do nothing).
pub struct Pointer {
    pub down: Box<dyn Fn(leptos::ev::PointerEvent) + 'static>,
    pub moved: Box<dyn Fn(leptos::ev::PointerEvent) + 'static>,
    pub up: Box<dyn Fn(leptos::ev::PointerEvent) + 'static>,
    pub cancel: Box<dyn Fn(leptos::ev::PointerEvent) + 'static>,
}

/// The meetings of `data` the viewer may move, as move targets.
/// (A list, not a map: a period holds few of them, and a map type costs WebAssembly size.)
pub fn targets(data: &CalendarData) -> Vec<MoveTarget> {
    data.events
        .iter()
        .filter(|e| e.movable)
        .map(MoveTarget::of)
        .collect()
}

pub fn pointer(surface: Surface, movable: Vec<MoveTarget>) -> Pointer {
    let moves = use_moves();
    let editor = use_editor();
    let drag: StoredValue<Option<Drag>> = StoredValue::new(None);
    let surface = StoredValue::new(surface);
    let movable = StoredValue::new(movable);
    let _ = (&moves, &editor, &drag, &surface, &movable);

    #[cfg(feature = "hydrate")]
    {
        use chrono::TimeDelta;
        use wasm_bindgen::JsCast;

        /// Shown day index and minute of that day under the pointer, and the lane there.
        fn locate(surface: &Surface, ev: &web_sys::PointerEvent) -> Option<(usize, i64, Option<String>)> {
            let (x, y) = (f64::from(ev.client_x()), f64::from(ev.client_y()));
            let doc = document();
            if surface.across {
                let el = doc.element_from_point(x as f32, y as f32)?.closest("[data-lane-track]").ok()??;
                let r = el.get_bounding_client_rect();
                let total = surface.days.len() as f64 * 1440.0;
                let m = (((x - r.left()) / r.width()).clamp(0.0, 0.99999) * total) as i64;
                Some(((m / 1440) as usize, m % 1440, el.get_attribute("data-lane-track")))
            } else {
                let cols = doc.query_selector_all(".timed .day-col").ok()?;
                for i in 0..cols.length() {
                    let col = cols.item(i)?.dyn_into::<web_sys::Element>().ok()?;
                    let r = col.get_bounding_client_rect();
                    if r.width() > 0.0 && x >= r.left() && x < r.right() {
                        let day = col.get_attribute("data-day")?.parse().ok()?;
                        let m = (((y - r.top()) / r.height()).clamp(0.0, 0.99999) * 1440.0) as i64;
                        return Some((day, m, None));
                    }
                }
                None
            }
        }

        let down = move |ev: web_sys::PointerEvent| {
            if ev.button() != 0 || !ev.is_primary() {
                return;
            }
            let Some(target) = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else { return };
            let Some((day, minute, lane)) = surface.with_value(|s| locate(s, &ev)) else { return };
            let meeting = target.closest("[data-meeting]").ok().flatten();
            let grab = match meeting {
                Some(el) => {
                    let id = el.get_attribute("data-meeting").unwrap_or_default();
                    let Some(t) = movable.with_value(|m| m.iter().find(|t| t.id == id).cloned()) else { return };
                    if target.closest(".resize").ok().flatten().is_some() {
                        Grab::Edge(t)
                    } else {
                        Grab::Meeting(t)
                    }
                }
                None => Grab::Slot { lane: lane.clone() },
            };
            drag.set_value(Some(Drag { grab, x0: f64::from(ev.client_x()), y0: f64::from(ev.client_y()), day0: day, minute0: minute, lane0: lane, moved: false }));
        };

        let track = move |ev: web_sys::PointerEvent| {
            let Some(mut d) = drag.get_value() else { return };
            if !d.moved {
                let far = (f64::from(ev.client_x()) - d.x0).abs() + (f64::from(ev.client_y()) - d.y0).abs() > 6.0;
                if !far {
                    return;
                }
                d.moved = true;
                // Captured only once it is a drag: a capture from the start would send the
                // click that follows a plain press to the surface instead of the meeting.
                if let Some(el) = ev.current_target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) {
                    let _ = el.set_pointer_capture(ev.pointer_id());
                }
            }
            let Some((day, minute, over)) = surface.with_value(|s| locate(s, &ev)) else { return };
            let days = day as i64 - d.day0 as i64;
            let minutes = minute - d.minute0;
            match &d.grab {
                Grab::Slot { lane } => {
                    let (from, to) = domain::moves::slot_range(d.minute0, minute);
                    moves.drawing.set(Some(Drawing { day: d.day0, from_minute: from, to_minute: to, lane: lane.clone() }));
                }
                Grab::Meeting(t) => {
                    let shown = surface.with_value(|s| s.days.clone());
                    // Whole shown days (hidden weekends skipped), then the minutes.
                    let to_day = shown.get(day).copied().unwrap_or(t.from.0.date());
                    let from_day = shown.get(d.day0).copied().unwrap_or(t.from.0.date());
                    let _ = days;
                    let to = domain::moves::moved(t.from.0, t.from.1, (to_day - from_day).num_days(), minutes);
                    let lane = over.filter(|o| !t.occurrence && d.lane0.as_ref() != Some(o));
                    moves.preview.set(Some(MoveTarget { to, lane, ..t.clone() }));
                }
                Grab::Edge(t) => {
                    let to = domain::moves::resized(t.from.0, t.from.1, minutes + days * 1440);
                    moves.preview.set(Some(MoveTarget { to, ..t.clone() }));
                }
            }
            drag.set_value(Some(d));
        };

        let finish = move |ev: web_sys::PointerEvent| {
            let Some(d) = drag.get_value() else { return };
            drag.set_value(None);
            match d.grab {
                Grab::Slot { lane } => {
                    moves.drawing.set(None);
                    let Some((_, minute, _)) = surface.with_value(|s| locate(s, &ev)) else { return };
                    let (from, to) = domain::moves::slot_range(d.minute0, if d.moved { minute } else { d.minute0 });
                    let Some(day) = surface.with_value(|s| s.days.get(d.day0).copied()) else { return };
                    let at = |m: i64| day.and_hms_opt(0, 0, 0).unwrap_or_default() + TimeDelta::minutes(m);
                    editor.open_new(at(from), at(to), lane.as_deref().unwrap_or(""));
                }
                Grab::Meeting(_) | Grab::Edge(_) if d.moved => {
                    moves.dragged.set_value(true);
                    if let Some(t) = moves.preview.get_untracked() {
                        moves.commit(t);
                    }
                }
                // A click on a meeting: its own handler opens it.
                _ => {}
            }
        };

        let cancel = move |_: web_sys::PointerEvent| {
            if let Some(d) = drag.get_value() {
                drag.set_value(None);
                moves.drawing.set(None);
                if d.moved && matches!(d.grab, Grab::Meeting(_) | Grab::Edge(_)) {
                    moves.preview.set(None);
                }
            }
        };

        return Pointer { down: Box::new(down), moved: Box::new(track), up: Box::new(finish), cancel: Box::new(cancel) };
    }
    #[allow(unreachable_code)]
    Pointer { down: Box::new(|_| {}), moved: Box::new(|_| {}), up: Box::new(|_| {}), cancel: Box::new(|_| {}) }
}
