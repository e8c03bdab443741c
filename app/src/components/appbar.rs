//! The bar at the top of every signed-in page: the product's name, the page's own tools (the
//! children), the main navigation and the user's account. On a phone-sized screen everything
//! marked `folds` (the navigation, the account, and what a page marks so) folds into a menu
//! behind one button (F-X-7).

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::auth::SignOut;
use crate::i18n::*;
use crate::me::use_me;
use crate::routes;

/// Whether the phone menu is open (pages close it after acting on a folded control).
#[derive(Clone, Copy)]
pub struct MenuState(pub RwSignal<bool>);

#[component]
pub fn AppBar(children: Children) -> impl IntoView {
    let l = crate::lang::use_locale();
    let me = use_me();
    let open = RwSignal::new(false);
    provide_context(MenuState(open));
    let location = use_location();
    let path = location.pathname;
    // Navigating (to another page, view or period) closes the menu.
    Effect::new(move |_| {
        path.track();
        location.search.track();
        open.set(false);
    });
    // A page is current when the address is in it (the configuration area has sections).
    let current = move |p: &'static str| move || path.with(|at| at.starts_with(p)).then_some("page");
    // (The role is fixed for the page's life: no reactive part for it.)
    let admin = me.0.with_untracked(|m| m.admin);
    view! {
        <header class="appbar" class:menu-open=move || open.get()>
            <a class="skip" href="#main">{td_string!(l, app.skip_to_content)}</a>
            <a class="brand" href=routes::CALENDAR>{td_string!(l, app.name)}</a>
            {children()}
            <button type="button" class="btn menu-button" aria-controls="appmenu" aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)>
                <span aria-hidden="true">"☰ "</span>{td_string!(l, app.menu)}
            </button>
            <nav id="appmenu" class="appmenu folds" aria-label=td_string!(l, app.main_nav)>
                <a href=routes::CALENDAR aria-current=current(routes::CALENDAR)>{td_string!(l, app.nav_calendar)}</a>
                <a href=routes::SETTINGS aria-current=current(routes::SETTINGS)>{td_string!(l, app.nav_settings)}</a>
                // Administrators only (the area's server functions refuse everyone else).
                {admin.then(|| view! {
                    <a href=routes::CONFIGURATION aria-current=current(routes::CONFIGURATION)>{td_string!(l, app.nav_configuration)}</a>
                })}
                <span class="who">{move || me.0.with(|m| m.name.clone())}</span>
                <SignOut/>
            </nav>
        </header>
    }
}
