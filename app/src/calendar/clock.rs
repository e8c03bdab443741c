//! The page's clock in the user's time zone (F-X-11): the now line and "today" follow it, past
//! midnight too, in a tab left open. The server starts it (the page renders with the server's
//! time in the user's zone); in the browser it then follows the browser's clock, converted to
//! the user's zone by the browser's own `Intl` (no time-zone data in the WebAssembly).

use chrono::{NaiveDate, NaiveDateTime};
use leptos::prelude::*;

/// How often the clock moves on (the now line moves a pixel every few minutes).
#[cfg(feature = "hydrate")]
const TICK_MS: u32 = 20_000;

#[derive(Clone, Copy)]
pub struct Clock {
    /// The user's wall clock.
    pub now: RwSignal<NaiveDateTime>,
    /// Unix seconds (freshness of shown calendars: "synced 2 min ago").
    pub now_utc: RwSignal<i64>,
}

impl Clock {
    pub fn today(self) -> NaiveDate {
        self.now.get().date()
    }
}

pub fn use_clock() -> Clock {
    expect_context::<Clock>()
}

/// Starts the clock for a user in `zone` (an IANA name).
pub fn provide_clock(zone: String) -> Clock {
    let (now, now_utc) = read(&zone);
    let clock = Clock { now: RwSignal::new(now), now_utc: RwSignal::new(now_utc) };
    provide_context(clock);
    #[cfg(feature = "hydrate")]
    {
        let zone = StoredValue::new(zone);
        let handle = set_interval_with_handle(
            move || {
                let (now, utc) = read(&zone.get_value());
                // Only real changes wake the page (a minute, not a second, matters here).
                if minute(clock.now.get_untracked()) != minute(now) {
                    clock.now.set(now);
                }
                clock.now_utc.set(utc);
            },
            std::time::Duration::from_millis(u64::from(TICK_MS)),
        );
        if let Ok(h) = handle {
            on_cleanup(move || h.clear());
        }
    }
    clock
}

#[cfg(feature = "ssr")]
fn read(zone: &str) -> (NaiveDateTime, i64) {
    let tz = domain::tz::parse_tz(zone).unwrap_or(domain::tz::Tz::UTC);
    let now = chrono::Utc::now();
    (domain::tz::to_local(now, tz), now.timestamp())
}

#[cfg(not(feature = "ssr"))]
fn read(zone: &str) -> (NaiveDateTime, i64) {
    let ms = js_now_ms();
    let utc = chrono::DateTime::from_timestamp_millis(ms as i64).unwrap_or_default();
    (wall_clock(zone, ms).unwrap_or(utc.naive_utc()), utc.timestamp())
}

#[cfg(feature = "hydrate")]
fn js_now_ms() -> f64 {
    js_sys::Date::now()
}

#[cfg(not(any(feature = "hydrate", feature = "ssr")))]
fn js_now_ms() -> f64 {
    0.0
}

/// The wall clock in `zone` at `ms`, through `Intl.DateTimeFormat(…, {timeZone})`.
#[cfg(feature = "hydrate")]
fn wall_clock(zone: &str, ms: f64) -> Option<NaiveDateTime> {
    use wasm_bindgen::JsValue;
    let options = js_sys::Object::new();
    let set = |k: &str, v: &str| js_sys::Reflect::set(&options, &JsValue::from_str(k), &JsValue::from_str(v));
    set("timeZone", zone).ok()?;
    set("hourCycle", "h23").ok()?;
    for part in ["year", "month", "day", "hour", "minute", "second"] {
        set(part, "numeric").ok()?;
    }
    let locales = js_sys::Array::of1(&JsValue::from_str("en-GB"));
    let format = js_sys::Intl::DateTimeFormat::new(&locales, &options);
    let parts = format.format_to_parts(&js_sys::Date::new(&JsValue::from_f64(ms)));
    let mut v = [0u32; 6];
    for p in parts.iter() {
        let kind = js_sys::Reflect::get(&p, &JsValue::from_str("type")).ok()?.as_string()?;
        let value: u32 = js_sys::Reflect::get(&p, &JsValue::from_str("value")).ok()?.as_string()?.parse().ok().unwrap_or(0);
        let slot = ["year", "month", "day", "hour", "minute", "second"].iter().position(|k| *k == kind);
        if let Some(i) = slot {
            v[i] = value;
        }
    }
    NaiveDate::from_ymd_opt(v[0] as i32, v[1], v[2])?.and_hms_opt(v[3] % 24, v[4], v[5])
}

#[cfg(not(feature = "hydrate"))]
#[allow(dead_code)]
fn wall_clock(_zone: &str, _ms: f64) -> Option<NaiveDateTime> {
    None
}

/// The minute a time falls in (what the page shows of the clock).
#[cfg(feature = "hydrate")]
fn minute(t: NaiveDateTime) -> (NaiveDate, u32, u32) {
    use chrono::Timelike;
    (t.date(), t.hour(), t.minute())
}
