//! Live updates for the whole app (F-X-2): one `/api/live` stream per page, opened the first
//! time a component asks for it (`use_live()`), shared through context. Events name users,
//! never meeting contents: a page that hears its calendars changed reads them again through
//! the redacting API.
//!
//! A change announced between a page's render and its stream's opening (the sync a page load
//! starts can finish in that gap) is not missed: the page records the server's stamp with
//! what it rendered (`sync::Live::stamp`), the stream says the stamp again when it opens (and
//! after every reconnect), and a page whose stamp differs reads again.

use leptos::prelude::*;

#[derive(Clone, Copy)]
pub struct Live {
    /// Bumped when a watched user's calendar changed.
    pub calendar: RwSignal<u64>,
    /// Bumped when a watched user's sync status changed (or everyone's).
    pub status: RwSignal<u64>,
    /// Users whose calendars the page shows (the viewer first); the page keeps it current.
    pub watched: RwSignal<Vec<String>>,
    /// The server's stamp when what the page shows was read.
    pub rendered: StoredValue<Option<String>>,
    started: StoredValue<bool>,
}

pub fn provide_live() -> Live {
    let live = Live {
        calendar: RwSignal::new(0),
        status: RwSignal::new(0),
        watched: RwSignal::new(Vec::new()),
        rendered: StoredValue::new(None),
        started: StoredValue::new(false),
    };
    provide_context(live);
    live
}

/// The app's live updates, started on first use (browser only).
pub fn use_live() -> Live {
    let live = expect_context::<Live>();
    Effect::new(move |_| {
        if !live.started.get_value() {
            live.started.set_value(true);
            open(live);
        }
    });
    live
}

#[cfg(not(feature = "hydrate"))]
fn open(_: Live) {}

#[cfg(feature = "hydrate")]
fn open(live: Live) {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    let Ok(source) = web_sys::EventSource::new("/api/live") else { return };
    let on_calendar = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
        let changed: Vec<String> = e.data().as_string().and_then(|d| serde_json::from_str(&d).ok()).unwrap_or_default();
        let hit = changed.is_empty() || live.watched.with_untracked(|w| changed.iter().any(|u| w.contains(u)));
        if hit {
            live.calendar.update(|n| *n += 1);
        }
    });
    let on_status = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
        // `null`: everyone's (the company's calendar integration was switched).
        let who: Option<String> = e.data().as_string().and_then(|d| serde_json::from_str(&d).ok());
        if who.is_none_or(|w| live.watched.with_untracked(|s| s.contains(&w))) {
            live.status.update(|n| *n += 1);
        }
    });
    let on_hello = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
        let now = e.data().as_string().unwrap_or_default();
        if live.rendered.get_value().is_some_and(|r| r != now) {
            live.calendar.update(|n| *n += 1);
            live.status.update(|n| *n += 1);
        }
        // Tests wait for this instead of sleeping.
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-live", "open");
        }
    });
    let _ = source.add_event_listener_with_callback("hello", on_hello.as_ref().unchecked_ref());
    let _ = source.add_event_listener_with_callback("calendar", on_calendar.as_ref().unchecked_ref());
    let _ = source.add_event_listener_with_callback("status", on_status.as_ref().unchecked_ref());
    // The listeners live as long as the stream, the stream as long as the page.
    on_hello.forget();
    on_calendar.forget();
    on_status.forget();
}
