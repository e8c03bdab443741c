//! The CRM Calendar web app: Leptos components and server functions, grouped by feature.
//! Compiled twice: with `ssr` into the server (rendering + server functions) and with
//! `hydrate` into the browser's WebAssembly. Each area beyond the calendar is a lazily loaded
//! route (its own WebAssembly chunk), and so is the meeting editor.

// A build without `--cfg erase_components` (a plain `cargo build`; cargo-leptos and the Makefile
// always erase) keeps full view types, whose nesting needs more depth.
#![recursion_limit = "256"]

mod catalogue;
pub use catalogue::i18n;

/// A catalogue entry in a language with its `{name}` placeholders filled in:
/// `tdf!(l, calendar.more, count = 3)`. (leptos_i18n fills `{{ name }}` into views itself, and
/// into plain strings only through its build-script code generator, which would bring ICU's
/// data exporter and an HTTP client into every clean build — so strings are filled here.)
macro_rules! tdf {
    ($locale:expr, $($key:ident).+ $(, $name:ident = $value:expr)* $(,)?) => {
        $crate::lang::fill($crate::i18n::td_string!($locale, $($key).+), &[$((stringify!($name), &$value as &dyn std::fmt::Display)),*])
    };
}

pub mod auth;
pub mod calendar;
pub mod codec;
pub mod components;
pub mod configuration;
pub mod connect;
pub mod error;
pub mod lang;
pub mod live;
pub mod me;
pub mod meetings;
pub mod routes;
pub mod settings;
#[cfg(feature = "ssr")]
pub mod state;

use leptos::prelude::*;
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::{path, Lazy, SsrMode};

use crate::i18n::*;

/// The HTML document around the app (server side only), in the page's language.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let lang = lang::request_locale().as_str();
    #[cfg(not(feature = "ssr"))]
    let lang = "en";
    view! {
        <!DOCTYPE html>
        <html lang=lang>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <link rel="stylesheet" id="leptos" href="/pkg/crmcal.css"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <leptos_meta::MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// What the browser does before hydrating the server's page (frontend's entry point).
#[cfg(feature = "hydrate")]
pub async fn before_hydration() {
    calendar::load_rendered_view().await;
}

#[component]
pub fn App() -> impl IntoView {
    // The page's <title> is written by the server (leptos_meta) and kept in step by an
    // effect in the browser (`components::PageTitle`): no leptos_meta in the WebAssembly.
    #[cfg(feature = "ssr")]
    leptos_meta::provide_meta_context();
    lang::provide_language();
    live::provide_live();
    view! {
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/") view=|| view! { <Redirect path=routes::CALENDAR/> }/>
                <Route path=path!("/login") view={Lazy::<auth::LoginRoute>::new()}/>
                // Async: the whole page, meetings included, is rendered before it is sent.
                <Route path=path!("/calendar") view=calendar::CalendarPage ssr=SsrMode::Async/>
                <Route path=path!("/settings") view={Lazy::<settings::SettingsRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/configuration") view={Lazy::<configuration::ConfigurationRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/configuration/:section") view={Lazy::<configuration::ConfigurationRoute>::new()} ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    let l = lang::use_locale();
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <components::PageTitle page=td_string!(l, errors.page_not_found).to_string()/>
        <main class="page-error not-found" id="main">
            <h1>{td_string!(l, errors.page_not_found)}</h1>
            <p>{td_string!(l, errors.page_not_found_text)}</p>
            <a href=routes::CALENDAR>{td_string!(l, errors.go_to_calendar)}</a>
        </main>
        <components::Interactive/>
    }
}
