//! Main settings → Main features: the company-wide calendar integration switch (F-ADM-1).
//! Switching it off asks first (nobody's calendar syncs until it is on again); either way
//! nothing is lost.

use leptos::prelude::*;

use super::api::{get_features, set_calendar_integration, Features};
use crate::components::{Dialog, ErrorLine, Interactive, Loading};
use crate::error::AppError;
use crate::i18n::*;

#[component]
pub fn MainFeatures() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_features());
    view! {
        <h2>{td_string!(crate::lang::use_locale(), config.features)}</h2>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(f) => view! { <IntegrationSwitch features=f/> <Interactive/> }.into_any(),
                    Err(error) => view! { <ErrorLine error=Some(error)/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn IntegrationSwitch(features: Features) -> impl IntoView {
    let l = crate::lang::use_locale();
    let features = RwSignal::new(features);
    let confirming = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let saving = RwSignal::new(false);
    let switch = move |on: bool| {
        confirming.set(false);
        saving.set(true);
        leptos::task::spawn_local(async move {
            match set_calendar_integration(on).await {
                Ok(f) => {
                    features.set(f);
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
            saving.set(false);
        });
    };
    let on = move || features.with(|f| f.calendar_integration);
    let on_change = move |ev: leptos::ev::Event| {
        let wanted = event_target_checked(&ev);
        if wanted {
            switch(true);
        } else {
            // Not yet: the box shows on again (its state is the server's) until the
            // administrator confirms.
            features.update(|_| ());
            confirming.set(true);
        }
    };
    let summary = move || {
        let f = features.get();
        tdf!(l, config.connected_count, connected = f.connected, users = f.users)
    };
    view! {
        <section class="feature" aria-labelledby="f-integration-name">
            <h3 id="f-integration-name">{td_string!(l, config.integration)}</h3>
            <p class="hint" id="f-integration-hint">{td_string!(l, config.integration_hint)}</p>
            <label class="switch">
                <input type="checkbox" role="switch" name="calendar_integration" prop:checked=on aria-describedby="f-integration-hint f-integration-state"
                    disabled=move || saving.get() on:change=on_change/>
                <span>{td_string!(l, config.integration_switch)}</span>
            </label>
            <p id="f-integration-state" class="state" role="status" data-integration=move || if on() { "on" } else { "off" }>
                {move || if on() { td_string!(l, config.integration_on) } else { td_string!(l, config.integration_off) }}
                " "{summary}
            </p>
            <ErrorLine error=error/>
        </section>
        <Show when=move || confirming.get()>
            <Dialog labelled_by="off-title" on_close=move |_| confirming.set(false)>
                <h2 id="off-title">{td_string!(l, config.off_title)}</h2>
                <p>{td_string!(l, config.off_text)}</p>
                <div class="actions">
                    <button type="button" class="btn danger" on:click=move |_| switch(false)>{td_string!(l, config.off_confirm)}</button>
                    <button type="button" class="btn" autofocus on:click=move |_| confirming.set(false)>{td_string!(l, config.cancel)}</button>
                </div>
            </Dialog>
        </Show>
    }
}
