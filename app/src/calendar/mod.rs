//! The calendar page (F-CAL-1 … F-CAL-8, F-X-10, F-X-11, F-X-15): month, week, schedule, day
//! and agenda views of the signed-in user's calendar and chosen colleagues'. The address holds
//! view, date, colleagues and span; moving around is client-side routing, so nothing reloads.
//!
//! Parts: [`toolbar`] (period, views, weekends, new meeting, sync state), [`picker`] (who is
//! shown, in which colour), the views ([`timegrid`] for week and day, [`schedule`], [`month`],
//! [`agenda`]), [`event`] (one meeting on screen), [`manipulate`] (create by click or drag,
//! move and resize by mouse or keyboard) and [`clock`] (now line, today).

pub mod api;
mod agenda;
mod clock;
mod event;
mod manipulate;
mod month;
mod picker;
pub(crate) mod schedule;
mod timegrid;
mod toolbar;

use api::{get_calendar, CalendarData};
use chrono::Weekday;
use domain::{CalendarView, Nav};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::{AppBar, ErrorView, Interactive, Loading, PageTitle};
use crate::i18n::*;
use crate::live::use_live;
use crate::me::{use_me, SignedIn};
use crate::meetings::{provide_editor, MeetingEditor};
use crate::routes::CalendarUrl;

pub use clock::{use_clock, Clock};

/// The view's name in the user's language.
pub fn view_name(l: Locale, v: CalendarView) -> &'static str {
    match v {
        CalendarView::Month => td_string!(l, views.month),
        CalendarView::Week => td_string!(l, views.week),
        CalendarView::Schedule => td_string!(l, views.schedule),
        CalendarView::Day => td_string!(l, views.day),
        CalendarView::Agenda => td_string!(l, views.agenda),
    }
}

#[component]
pub fn CalendarPage() -> impl IntoView {
    view! {
        <SignedIn>
            <Calendar/>
        </SignedIn>
    }
}

/// What the calendar's parts share: where the page stands (from the address, the user's
/// settings and the clock — so links and headings are right while data loads) and the
/// calendars last loaded.
#[derive(Clone, Copy)]
pub struct CalendarCtx {
    pub url: Memo<CalendarUrl>,
    pub nav: Memo<Nav>,
    /// The last data that arrived (the picker and the toolbar keep showing it while the next
    /// period loads).
    pub data: RwSignal<Option<CalendarData>>,
    /// Bump to read the calendar again (after a move, a colour change, …).
    pub reload: RwSignal<u64>,
    /// How fresh each shown calendar is, as last heard (F-X-15).
    pub fresh: RwSignal<Vec<api::Freshness>>,
    /// Where the user scrolled the view to, by period: a live update (which draws the view
    /// anew) keeps it; a new period opens at the start of the working day.
    pub scrolled: StoredValue<Option<(String, i32)>>,
}

impl CalendarCtx {
    /// When `user_id`'s calendar was last synchronised (unix seconds), as last heard.
    pub fn synced_at(self, user_id: &str) -> Option<i64> {
        let heard = self.fresh.with(|f| f.iter().find(|x| x.user_id == user_id).map(|x| x.synced_at));
        heard.unwrap_or_else(|| self.data.with(|d| d.as_ref().and_then(|d| d.lanes.iter().find(|l| l.user_id == user_id).and_then(|l| l.synced_at))))
    }
}

pub fn use_calendar() -> CalendarCtx {
    expect_context::<CalendarCtx>()
}

/// Keeps a view's scrolling across redraws of the same period (see [`CalendarCtx::scrolled`]):
/// call with the view's scroll container, the period and where a new period starts; returns
/// the handler for the container's `scroll` event.
pub fn keep_scroll(cal: CalendarCtx, node: NodeRef<leptos::html::Div>, selector: &'static str, period: String, vertical: bool, start: impl Fn(&leptos::web_sys::Element) -> i32 + Clone + 'static) -> impl Fn(leptos::ev::Event) + 'static {
    let key = period.clone();
    Effect::new(move |_| {
        let period = period.clone();
        let saved = cal.scrolled.get_value().filter(|(p, _)| *p == period).map(|(_, at)| at);
        let start = start.clone();
        // Effects can run before the view is in the page and laid out (a Transition swaps it
        // in): act on a later frame, on the element in the page then.
        fn place(node: NodeRef<leptos::html::Div>, selector: &'static str, vertical: bool, at: std::rc::Rc<dyn Fn(&leptos::web_sys::Element) -> i32>, tries: u8) {
            request_animation_frame(move || {
                // A live update may have replaced the view (and disposed its node) before this
                // frame: then the new view places itself.
                let Some(mine) = node.try_get_untracked() else { return };
                let found = mine.map(Into::into).or_else(|| document().query_selector(selector).ok().flatten());
                let laid_out = found.as_ref().is_some_and(|el: &leptos::web_sys::Element| el.is_connected() && el.client_height() > 0);
                match found {
                    Some(el) if laid_out => {
                        let to = at(&el);
                        if vertical {
                            el.set_scroll_top(to);
                        } else {
                            el.set_scroll_left(to);
                        }
                        // (The end-to-end tests wait for this before pointing at times.)
                        let _ = el.set_attribute("data-scrolled", "true");
                    }
                    _ if tries > 0 => place(node, selector, vertical, at, tries - 1),
                    _ => {}
                }
            });
        }
        let at: std::rc::Rc<dyn Fn(&leptos::web_sys::Element) -> i32> = std::rc::Rc::new(move |el| saved.unwrap_or_else(|| start(el)));
        place(node, selector, vertical, at, 60);
    });
    move |ev: leptos::ev::Event| {
        use leptos::wasm_bindgen::JsCast;
        if let Some(el) = ev.target().and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok()) {
            let at = if vertical { el.scroll_top() } else { el.scroll_left() };
            cal.scrolled.set_value(Some((key.clone(), at)));
        }
    }
}

#[component]
fn Calendar() -> impl IntoView {
    let l = crate::lang::use_locale();
    let me = use_me();
    let live = use_live();
    let editor = provide_editor();
    let clock = clock::provide_clock(me.0.with_untracked(|m| m.time_zone.clone()));
    let query = use_query_map();
    let url = Memo::new(move |_| query.with(|q| CalendarUrl::parse(q.get_str("view"), q.get_str("date"), q.get_str("users"), q.get_str("span"))));
    let nav = Memo::new(move |_| {
        let u = url.get();
        me.0.with(|m| Nav {
            view: u.view.unwrap_or(m.default_view),
            date: u.date.unwrap_or_else(|| clock.today()),
            week_start: Weekday::try_from(m.week_start).unwrap_or(Weekday::Mon),
            show_weekends: m.show_weekends,
            span: u.span,
        })
    });
    let ctx = CalendarCtx { url, nav, data: RwSignal::new(None), reload: RwSignal::new(0), fresh: RwSignal::new(Vec::new()), scrolled: StoredValue::new(None) };
    provide_context(ctx);
    let moves = manipulate::provide_moves(ctx.reload);
    let resource = Resource::new(
        move || (url.get(), ctx.reload.get(), editor.changed.get(), live.calendar.get()),
        |(u, ..)| get_calendar(u.view.map(|v| v.as_str().to_string()), u.date.map(|d| d.to_string()), u.users.map(|x| x.join(",")), Some(u.span.as_str().to_string())),
    );
    let title = Signal::derive(move || crate::lang::title(l, nav.get().title()));
    let my_id = me.0.with_untracked(|m| m.id.clone());
    view! {
        <PageTitle page=title/>
        <div class="calendar-page">
            <AppBar>
                <toolbar::Toolbar/>
            </AppBar>
            <toolbar::Banners/>
            <div class="workspace">
                <picker::Picker/>
                <Transition fallback=Loading>
                    {move || {
                        let my_id = my_id.clone();
                        Suspend::new(async move {
                            match resource.await {
                                Ok(d) => {
                                    live.watched.set(d.lanes.iter().map(|l| l.user_id.clone()).collect());
                                    editor.calendars.set(d.lanes.iter().filter(|l| l.connected || l.user_id == my_id).map(|l| (l.user_id.clone(), l.name.clone())).collect());
                                    moves.settle(&d);
                                    live.rendered.set_value(Some(d.as_of.clone()));
                                    ctx.data.set(Some(d.clone()));
                                    view! { <Body data=d/> }.into_any()
                                }
                                Err(error) => view! { <ErrorView error/> }.into_any(),
                            }
                        })
                    }}
                </Transition>
            </div>
        </div>
        <span id=event::MOVE_HINT_ID class="sr-only">{td_string!(l, calendar.movable_hint)}</span>
        <manipulate::MoveQuestion/>
        <MeetingEditor/>
    }
}

/// The period's meetings in the chosen view.
#[component]
fn Body(data: CalendarData) -> impl IntoView {
    let l = crate::lang::use_locale();
    let me = use_me();
    // The weekends switch applies at once (the loaded period covers whole weeks).
    let nav = Nav { show_weekends: me.0.with_untracked(|m| m.show_weekends), ..data.nav };
    let data = CalendarData { nav, ..data };
    let label = crate::lang::title(l, nav.title());
    // Week and day are what most pages open on; the other views are chunks of their own,
    // loaded when first shown (the server renders them in full either way).
    let view = match nav.view {
        CalendarView::Week | CalendarView::Day => view! { <timegrid::TimeGrid data/> <Interactive/> }.into_any(),
        other => view! {
            <Suspense fallback=Loading>
                {move || {
                    let data = data.clone();
                    Suspend::new(async move {
                        let view = other_view(other, data).await;
                        view! { {view} <Interactive/> }
                    })
                }}
            </Suspense>
        }
        .into_any(),
    };
    view! {
        <main class="calendar" id="main" data-view=nav.view.as_str() data-date=nav.date.to_string() aria-label=label>
            {view}
        </main>
    }
}

async fn other_view(view: CalendarView, data: CalendarData) -> AnyView {
    match view {
        CalendarView::Month => month_view(data).await,
        CalendarView::Schedule => schedule_view(data).await,
        _ => agenda_view(data).await,
    }
}

/// Before the page hydrates: when the server rendered a view that lives in a chunk of its own,
/// that chunk is fetched first. Hydration reads the page synchronously; a view still loading
/// at that moment would not match what the server sent. (The view is read off the page, since
/// an address without one means the user's default view.)
#[cfg(feature = "hydrate")]
pub async fn load_rendered_view() {
    let rendered = document().query_selector("main.calendar").ok().flatten().and_then(|main| main.get_attribute("data-view"));
    match CalendarView::parse(rendered.as_deref()) {
        Some(CalendarView::Month) => __preload_month_view().await,
        Some(CalendarView::Schedule) => __preload_schedule_view().await,
        Some(CalendarView::Agenda) => __preload_agenda_view().await,
        _ => {}
    }
}

#[leptos::lazy]
fn month_view(data: CalendarData) -> AnyView {
    view! { <month::MonthView data/> }.into_any()
}

#[leptos::lazy]
fn schedule_view(data: CalendarData) -> AnyView {
    view! { <schedule::ScheduleView data/> }.into_any()
}

#[leptos::lazy]
fn agenda_view(data: CalendarData) -> AnyView {
    view! { <agenda::AgendaView data/> }.into_any()
}
