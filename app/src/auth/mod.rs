//! The sign-in page (in the browser's language) and the sign-out button (F-X-1).

pub mod api;

use api::{Login, Logout};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::use_query_map;
use leptos_router::{lazy_route, LazyRoute};

use crate::components::{ErrorLine, Interactive, PageTitle};
use crate::i18n::*;

/// The sign-in page as a route of its own WebAssembly chunk: the calendar's first load does
/// not carry it.
pub struct LoginRoute;

#[lazy_route]
impl LazyRoute for LoginRoute {
    fn data() -> Self {
        LoginRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <LoginPage/> }.into_any()
    }
}

#[component]
fn LoginPage() -> impl IntoView {
    let l = crate::lang::use_locale();
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let expired = move || query.with(|q| q.get("expired").is_some());
    let next = move || query.with(|q| q.get("next")).unwrap_or_default();
    let error = Signal::derive(move || login.value().get().and_then(Result::err));
    view! {
        <PageTitle page=td_string!(l, auth.title).to_string()/>
        <crate::connect::PageStyles/>
        <main class="login" id="main">
            <h1>{td_string!(l, app.name)}</h1>
            <p class="tagline">{td_string!(l, app.tagline)}</p>
            <ActionForm action=login>
                <Show when=move || expired() && error.get().is_none()>
                    <p class="notice" role="status">{td_string!(l, auth.expired)}</p>
                </Show>
                <ErrorLine error/>
                <label>
                    {td_string!(l, auth.email)}
                    <input type="email" name="email" autocomplete="username" maxlength="254" required autofocus/>
                </label>
                <label>
                    {td_string!(l, auth.password)}
                    <input type="password" name="password" autocomplete="current-password" maxlength="1024" required/>
                </label>
                // An attribute, not a property: the server writes it, so a form sent before
                // the page is interactive still comes back to where the user was going.
                <input type="hidden" name="next" value=next/>
                <button type="submit" disabled=move || login.pending().get()>
                    {move || if login.pending().get() { td_string!(l, auth.signing_in) } else { td_string!(l, auth.sign_in) }}
                </button>
            </ActionForm>
        </main>
        <Interactive/>
    }
}

/// The sign-out button of the app bar: a plain form, so signing out is a whole new page (the
/// server answers with the sign-in page, and nothing of the session stays in the browser).
#[component]
pub fn SignOut() -> impl IntoView {
    let l = crate::lang::use_locale();
    view! {
        <form method="post" action=Logout::PATH class="signout">
            <button type="submit" class="link">{td_string!(l, app.sign_out)}</button>
        </form>
    }
}
