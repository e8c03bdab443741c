//! A user's calendar connection (F-ADM-3 … F-ADM-7, F-ADM-10): its status, updating live,
//! Synchronise and Disconnect, and the set-up form. The same widget on the user's own
//! settings page and, for any user, in Configuration → Integration → Calendar.

pub mod api;
mod popup;
mod setup;

use domain::Refusal;
use leptos::prelude::*;

use api::{disconnect, get_calendar_state, synchronise, CalendarState, RowStatus};
use crate::components::{Dialog, ErrorLine, Loading};
use crate::error::AppError;
use crate::i18n::*;
use crate::lang;
pub use setup::{field_message, Setup};

/// The styles of the pages other than the calendar (settings with this widget, the
/// configuration area): a stylesheet of their own (`public/pages.css`), linked by those pages,
/// so the calendar's first load does not carry them.
#[component]
pub fn PageStyles() -> impl IntoView {
    view! { <link rel="stylesheet" href=crate::routes::PAGE_STYLES/> }
}

/// The BroadcastChannel the OAuth pop-up reports on (the server's `connect::CHANNEL`).
pub const CHANNEL: &str = "crmcal-connect";

/// The words of the OAuth pop-up's last page (the server's `/connect/…/callback`): its
/// language tag, title, text and the way back.
#[cfg(feature = "ssr")]
pub fn outcome_words(l: Locale, outcome: &Result<(), Refusal>) -> (&'static str, &'static str, String, &'static str) {
    let (title, text) = match outcome {
        Ok(()) => (td_string!(l, connect.connected), td_string!(l, connect.close_window).to_string()),
        Err(r) => (td_string!(l, connect.not_connected), refusal_text(l, r)),
    };
    (l.as_str(), title, text, td_string!(l, connect.back_to_settings))
}

/// Why a calendar was not connected, in the user's language.
pub fn refusal_text(l: Locale, r: &Refusal) -> String {
    match r {
        Refusal::NotAnEwsAddress => td_string!(l, refusals.not_an_ews_address).to_string(),
        Refusal::NotHttps => td_string!(l, refusals.not_https).to_string(),
        Refusal::ServerUnreachable => td_string!(l, refusals.server_unreachable).to_string(),
        Refusal::CertificateProblem => td_string!(l, refusals.certificate_problem).to_string(),
        Refusal::PasswordRefused => td_string!(l, refusals.password_refused).to_string(),
        Refusal::MailboxNotFound => td_string!(l, refusals.mailbox_not_found).to_string(),
        Refusal::ImpersonationRefused => td_string!(l, refusals.impersonation_refused).to_string(),
        Refusal::WrongAccount { signed_in } => tdf!(l, refusals.wrong_account, account = signed_in),
        Refusal::ConsentDenied => td_string!(l, refusals.consent_denied).to_string(),
        Refusal::AuthorisationUnknown => td_string!(l, refusals.authorisation_unknown).to_string(),
        Refusal::ProviderNotSetUp => td_string!(l, refusals.provider_not_set_up).to_string(),
        Refusal::NotAnEmail => td_string!(l, refusals.not_an_email).to_string(),
        Refusal::IntegrationOff => td_string!(l, problems.integration_off).to_string(),
        Refusal::ProviderRefused { detail } => tdf!(l, refusals.provider_refused, detail = detail),
    }
}

/// `user_id`'s calendar: how it stands and what can be done with it. `connected`: whether it
/// was when the page was made (the set-up form is open when it was not). The form lives
/// outside the part that updates live, so a status change elsewhere never resets what is
/// being typed or a consent pop-up being waited for.
#[component]
pub fn CalendarConnection(user_id: String, name: String, email: String, me: bool, connected: bool) -> impl IntoView {
    let live = crate::live::use_live();
    let changed = RwSignal::new(0u64);
    let setting_up = RwSignal::new(!connected);
    let id = StoredValue::new(user_id.clone());
    let data = Resource::new(move || (live.status.get(), changed.get()), move |_| get_calendar_state(id.get_value()));
    live.watched.update(|w| {
        if !w.contains(&user_id) {
            w.push(user_id.clone());
        }
    });
    let on_done = Callback::new(move |_| {
        setting_up.set(false);
        changed.update(|n| *n += 1);
    });
    // Read when the form opens (after the page loaded: a connected calendar's form opens on a
    // click), never while the server renders.
    let current = Signal::derive(move || data.get().and_then(Result::ok).and_then(|s| s.connection));
    // With the company's integration off nothing can be connected: the form stays as typed,
    // its controls disabled (a disabled fieldset), until it is on again (F-ADM-1).
    let integration_off = Signal::derive(move || data.get().and_then(Result::ok).is_some_and(|s| !s.integration_on));
    let l = crate::lang::use_locale();
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let confirm = RwSignal::new(false);
    let act = Callback::new(move |disconnecting: bool| {
        confirm.set(false);
        busy.set(true);
        leptos::task::spawn_local(async move {
            let done = if disconnecting { disconnect(id.get_value()).await } else { synchronise(id.get_value()).await };
            busy.set(false);
            match done {
                Ok(()) => {
                    error.set(None);
                    if disconnecting {
                        setting_up.set(true);
                    }
                    changed.update(|n| *n += 1);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    });
    view! {
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(state) => view! { <Connection state setting_up busy confirm act/> }.into_any(),
                    Err(error) => view! { <ErrorLine error=Some(error)/> }.into_any(),
                }
            })}
        </Transition>
        <ErrorLine error=error/>
        <Show when=move || setting_up.get()>
            <fieldset class="plain" disabled=move || integration_off.get()>
                <Setup user_id=id.get_value() name=name.clone() email=email.clone() me current on_done/>
            </fieldset>
        </Show>
        <Show when=move || confirm.get()>
            <Dialog labelled_by="disconnect-title" class="question" on_close=move |_| confirm.set(false)>
                <h2 id="disconnect-title">{td_string!(l, setup.disconnect_title)}</h2>
                <p>{td_string!(l, config.disconnect_text)}</p>
                <div class="actions">
                    <button type="button" class="btn danger" on:click=move |_| act.run(true)>{td_string!(l, config.disconnect)}</button>
                    <button type="button" class="btn" autofocus on:click=move |_| confirm.set(false)>{td_string!(l, config.cancel)}</button>
                </div>
            </Dialog>
        </Show>
    }
}

#[component]
fn Connection(state: CalendarState, setting_up: RwSignal<bool>, busy: RwSignal<bool>, confirm: RwSignal<bool>, act: Callback<bool>) -> impl IntoView {
    let l = crate::lang::use_locale();
    let syncing = state.status == RowStatus::Syncing;
    let off = !state.integration_on;
    view! {
        {(!state.integration_on).then(|| view! { <p class="notice" role="status">{td_string!(l, problems.integration_off)}</p> })}
        {state.connection.map(|c| view! {
            <dl class="connection">
                <dt>{lang::provider_name(l, c.provider)}</dt>
                <dd>{c.mailbox.clone()}</dd>
                <dt>{td_string!(l, settings.status)}</dt>
                <dd data-connection-status=state.status.as_str()>{status_view(l, &state.status)}</dd>
            </dl>
            <div class="actions">
                <button type="button" class="btn primary" disabled=move || busy.get() || syncing || off on:click=move |_| act.run(false)>{td_string!(l, config.synchronise)}</button>
                <button type="button" class="btn" disabled=off aria-expanded=move || setting_up.get().to_string() on:click=move |_| setting_up.update(|s| *s = !*s)>{td_string!(l, setup.set_up_again)}</button>
                <button type="button" class="btn danger" disabled=move || busy.get() on:click=move |_| confirm.set(true)>{td_string!(l, config.disconnect)}</button>
            </div>
        })}
    }
}

/// A calendar's status in plain words, with what to do when it failed (F-ADM-7).
pub fn status_view(l: Locale, s: &RowStatus) -> AnyView {
    match s {
        RowStatus::NotConnected => view! { <span class="state">{td_string!(l, config.status_not_connected)}</span> }.into_any(),
        RowStatus::Subscribed => view! { <span class="state">{td_string!(l, config.status_subscribed)}</span> }.into_any(),
        RowStatus::Syncing => view! { <span class="state spinning">{td_string!(l, sync.syncing)}</span> }.into_any(),
        RowStatus::Synced { at } => view! { <span class="state ok">{tdf!(l, config.status_synced, time = lang::when(l, *at))}</span> }.into_any(),
        RowStatus::Failed { reason, reconnect } => {
            let todo = if *reconnect { lang::reason_todo(l, reason) } else { td_string!(l, config.todo_retrying) };
            view! {
                <span class="state failed">{tdf!(l, sync.failed, reason = lang::reason_text(l, reason))}</span>
                " "
                <span class="todo">{todo}</span>
            }
            .into_any()
        }
    }
}
