//! Widgets every page uses: the error view, the loading line, the modal dialog, form fields
//! and the app bar. Accessible by construction: native elements first (`<dialog>`, `<label>`,
//! `<select>`), every control named, errors tied to their fields.

mod appbar;
mod combobox;
mod dialog;
mod fields;

pub use appbar::{AppBar, MenuState};
pub use combobox::{list_key, Combobox};
pub use dialog::Dialog;
pub use fields::{field_error, CheckField, DateField, SelectField, TextArea, TextField, TimeField};

use leptos::prelude::*;

use crate::error::AppError;
use crate::i18n::*;
use crate::routes;

#[component]
pub fn Loading() -> impl IntoView {
    let l = crate::lang::use_locale();
    view! { <p class="loading" role="status">{td_string!(l, app.loading)}</p> }
}

/// The one error view of every page: what went wrong in the user's language, and the way on
/// (sign in again, or back to the calendar).
#[component]
pub fn ErrorView(error: AppError) -> impl IntoView {
    let l = crate::lang::use_locale();
    let sign_in = error.needs_sign_in();
    let text = crate::lang::error_text(l, &error);
    let next = StoredValue::new(current_path());
    view! {
        <Interactive/>
        <main class="page-error" id="main" role="alert">
            <p>{text}</p>
            {if sign_in {
                view! { <a href=move || routes::login_href(&next.get_value(), false)>{td_string!(l, errors.sign_in)}</a> }.into_any()
            } else {
                view! { <a href=routes::CALENDAR>{td_string!(l, errors.back_to_calendar)}</a> }.into_any()
            }}
        </main>
    }
}

/// The page's own address (to come back to after signing in).
fn current_path() -> String {
    leptos_router::hooks::use_location().pathname.get_untracked()
}

/// A failed action's message, in the user's language, as an alert.
#[component]
pub fn ErrorLine(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    let l = crate::lang::use_locale();
    move || error.get().map(|e| view! { <p class="error" role="alert">{crate::lang::error_text(l, &e)}</p> })
}

/// Marks the page interactive (`<body data-hydrated="true">`) once the part rendering this has
/// hydrated: an effect runs only in the browser, after its component is hydrated. Called by the
/// part of each page that hydrates last (a lazily loaded route or view hydrates after the
/// chunk arrives, later than the app around it); the end-to-end tests wait for it instead of
/// sleeping.
#[component]
pub fn Interactive() -> impl IntoView {
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}

/// The page title in the user's language ("Calendar · CRM Calendar").
#[component]
pub fn PageTitle(#[prop(into)] page: Signal<String>) -> impl IntoView {
    let l = crate::lang::use_locale();
    let text = move || tdf!(l, app.page_title, page = page.get());
    // Both sides render `()` (one marker), so the server's page and the browser's hydrate
    // alike: the server registers the title with leptos_meta when the component is made and
    // drops its (empty) view; the browser sets it from an effect. The server registers the
    // text itself, not a closure over the page's signals: leptos_meta reads it after the body
    // is rendered, when a part rendered twice (a suspense resolving) has disposed of the
    // signals of its first rendering.
    #[cfg(feature = "ssr")]
    drop(view! { <leptos_meta::Title text=text()/> });
    #[cfg(not(feature = "ssr"))]
    Effect::new(move |_| document().set_title(&text()));
}
