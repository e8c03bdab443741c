//! The CRM Calendar web app: Leptos components and server functions, grouped by feature.
//! Compiled twice: with `ssr` into the server (rendering + server functions) and with
//! `hydrate` into the browser's WebAssembly.

// Release builds keep full view types (debug builds erase them); their nesting needs more depth.
#![recursion_limit = "256"]

pub mod auth;
pub mod calendar;
pub mod error;
pub mod meetings;
#[cfg(feature = "ssr")]
pub mod state;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::{path, SsrMode};

/// The HTML document around the app (server side only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser, after hydration: mark the page as interactive (the
    // end-to-end tests wait for this instead of sleeping).
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Stylesheet id="leptos" href="/pkg/crmcal.css"/>
        <Title text="CRM Calendar"/>
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/") view=|| view! { <Redirect path="/calendar"/> }/>
                <Route path=path!("/login") view=auth::LoginPage/>
                // Async: the whole page, meetings included, is rendered before it is sent.
                <Route path=path!("/calendar") view=calendar::CalendarPage ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found · CRM Calendar"/>
        <main class="page-error not-found">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. It may have moved, or the link may be mistyped."</p>
            <a href="/calendar">"Go to your calendar"</a>
        </main>
    }
}
