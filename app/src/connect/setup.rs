//! Setting a calendar up (F-ADM-3 … F-ADM-6): choose Google or Exchange; for Exchange, Office
//! 365 (OAuth) or the company's own server (user name and password, or a service account
//! with impersonation). OAuth runs in a pop-up, and only for the signed-in user's own
//! calendar (only the mailbox owner can give consent); Exchange can be set up by the user or
//! by an administrator for anyone. What was typed stays when the server says no, except the
//! password; each error shows next to its field.

use leptos::prelude::*;

use domain::{AuthKind, ProviderKind, Refusal};

use super::api::{connect_exchange, ExchangeForm, RowConnection, MAX_EMAIL, MAX_PASSWORD, MAX_URL};
use super::popup::OAuthButton;
use crate::components::{field_error, CheckField, ErrorLine, TextField};
use crate::error::AppError;
use crate::i18n::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Choice {
    Google,
    Office365,
    ExchangeServer,
}

/// The set-up form for `user_id`'s calendar. `me`: it is the signed-in user's own (OAuth is
/// offered); `current`: the connection it has, whose choices the form starts from (setting
/// up again after a password change needs only the new password); `on_done` runs once a
/// connection is made.
#[component]
pub fn Setup(
    user_id: String,
    name: String,
    email: String,
    me: bool,
    #[prop(optional, into)] current: Signal<Option<RowConnection>>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let l = crate::lang::use_locale();
    let current = current.get_untracked();
    let first = match current.as_ref().map(|c| c.provider) {
        Some(ProviderKind::Ews) => Choice::ExchangeServer,
        Some(ProviderKind::Graph) if me => Choice::Office365,
        Some(ProviderKind::Google) if me => Choice::Google,
        _ if me => Choice::Google,
        _ => Choice::ExchangeServer,
    };
    let choice = RwSignal::new(first);
    let exchange = StoredValue::new(current.filter(|c| c.provider == ProviderKind::Ews));
    let radio = move |value: Choice, label: &'static str, hint: Option<String>| {
        let disabled = !me && value != Choice::ExchangeServer;
        // The hint describes the choice; it is not part of its name.
        let hint_id = hint.as_ref().map(|_| format!("setup-hint-{value:?}"));
        view! {
            <div class="radio">
                <label>
                    <input type="radio" name="provider" prop:checked=move || choice.get() == value disabled=disabled
                        aria-describedby=hint_id.clone() on:change=move |_| choice.set(value)/>
                    <span>{label}</span>
                </label>
                {hint.map(|h| view! { <span class="hint" id=hint_id.clone()>{h}</span> })}
            </div>
        }
    };
    let owner_only = (!me).then(|| tdf!(l, config.owner_connects, name = name.clone()));
    let user_id = StoredValue::new(user_id);
    let email = StoredValue::new(email);
    view! {
        <div class="setup">
            <fieldset class="choices">
                <legend>{td_string!(l, setup.provider)}</legend>
                {radio(Choice::Google, td_string!(l, setup.google), None)}
                {radio(Choice::Office365, td_string!(l, setup.office365), None)}
                {radio(Choice::ExchangeServer, td_string!(l, setup.exchange_server), Some(td_string!(l, setup.exchange_server_hint).to_string()))}
                {owner_only.map(|t| view! { <p class="hint">{t}</p> })}
            </fieldset>
            {move || match choice.get() {
                Choice::Google => view! {
                    <p class="hint">{td_string!(l, setup.google_hint)}</p>
                    <OAuthButton user_id=user_id.get_value() provider="google" email=Signal::stored(String::new()) on_done>
                        {td_string!(l, setup.authorise)}
                    </OAuthButton>
                }
                .into_any(),
                Choice::Office365 => view! { <Office365 user_id=user_id.get_value() email=email.get_value() on_done/> }.into_any(),
                Choice::ExchangeServer => view! { <ExchangeServer user_id=user_id.get_value() email=email.get_value() current=exchange.get_value() on_done/> }.into_any(),
            }}
        </div>
    }
}

#[component]
fn Office365(user_id: String, email: String, on_done: Callback<()>) -> impl IntoView {
    let l = crate::lang::use_locale();
    let address = RwSignal::new(email);
    view! {
        <p class="hint">{td_string!(l, setup.office365_hint)}</p>
        <TextField name="o365_email" value=address kind="email" autocomplete="email" max=MAX_EMAIL required=true>{td_string!(l, setup.email)}</TextField>
        <OAuthButton user_id provider="microsoft" email=address.into() on_done>{td_string!(l, setup.save_subscribe)}</OAuthButton>
    }
}

/// The company's own Exchange server (F-ADM-5), with impersonation (F-ADM-6).
#[component]
fn ExchangeServer(user_id: String, email: String, current: Option<RowConnection>, on_done: Callback<()>) -> impl IntoView {
    let l = crate::lang::use_locale();
    let impersonated = current.as_ref().is_some_and(|c| c.auth == AuthKind::Impersonation);
    let ews_url = RwSignal::new(current.as_ref().map(|c| c.ews_url.clone()).unwrap_or_default());
    let address = RwSignal::new(current.as_ref().map(|c| c.mailbox.clone()).unwrap_or(email));
    let impersonation = RwSignal::new(impersonated);
    let account = RwSignal::new(current.filter(|_| impersonated).map(|c| c.account).unwrap_or_default());
    let password = RwSignal::new(String::new());
    let saving = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let refused = RwSignal::new(None::<Refusal>);
    let user_id = StoredValue::new(user_id);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saving.set(true);
        let form = ExchangeForm {
            user_id: user_id.get_value(),
            ews_url: ews_url.get_untracked(),
            email: address.get_untracked(),
            impersonation: impersonation.get_untracked(),
            account: account.get_untracked(),
            password: password.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            let result = connect_exchange(form).await;
            saving.set(false);
            // Never kept in the page longer than needed, whatever the answer.
            password.set(String::new());
            error.set(result.as_ref().err().cloned());
            refused.set(result.as_ref().ok().and_then(|r| r.as_ref().err()).cloned());
            if matches!(result, Ok(Ok(()))) {
                on_done.run(());
            }
        });
    };
    let message = move |field: &'static str| field_message(l, error, refused, field);
    // What concerns no one field (the form's own line).
    let general = Signal::derive(move || error.get().filter(|e| !FIELDS.iter().any(|f| e.for_field(f).is_some())));
    let general_refusal = move || refused.get().filter(|r| r.field().is_none()).map(|r| view! { <p class="error" role="alert">{super::refusal_text(l, &r)}</p> });
    view! {
        <form class="exchange" on:submit=save novalidate>
            <TextField name="ews_url" value=ews_url kind="url" max=MAX_URL required=true error=message("ews_url")>
                {td_string!(l, setup.ews_url)}
            </TextField>
            <p class="hint">{td_string!(l, setup.ews_url_hint)}</p>
            <TextField name="email" value=address kind="email" autocomplete="off" max=MAX_EMAIL required=true error=message("email")>
                {td_string!(l, setup.email)}
            </TextField>
            <CheckField name="impersonation" value=impersonation>{td_string!(l, setup.impersonation)}</CheckField>
            <Show when=move || impersonation.get()>
                <p class="hint">{td_string!(l, setup.impersonation_hint)}</p>
                <TextField name="account" value=account kind="email" autocomplete="off" max=MAX_EMAIL required=true error=message("account")>
                    {td_string!(l, setup.service_account)}
                </TextField>
            </Show>
            <TextField name="password" value=password kind="password" autocomplete="new-password" max=MAX_PASSWORD required=true error=message("password")>
                {move || if impersonation.get() { td_string!(l, setup.service_password) } else { td_string!(l, setup.password) }}
            </TextField>
            <ErrorLine error=general/>
            {general_refusal}
            <div class="actions">
                <button type="submit" class="btn primary" disabled=move || saving.get()>
                    {move || if saving.get() { td_string!(l, setup.checking) } else { td_string!(l, setup.save_subscribe) }}
                </button>
            </div>
        </form>
    }
}

/// The Exchange form's fields (errors and refusals name them).
const FIELDS: [&str; 4] = ["ews_url", "email", "account", "password"];

/// What to show next to `field`: the server's check of the form, or the refusal that
/// concerns it.
pub fn field_message(l: Locale, error: RwSignal<Option<AppError>>, refused: RwSignal<Option<Refusal>>, field: &'static str) -> Signal<Option<String>> {
    let checked = field_error(Signal::derive(move || error.get()), field);
    Signal::derive(move || checked.get().or_else(|| refused.with(|r| r.as_ref().filter(|r| r.field() == Some(field)).map(|r| super::refusal_text(l, r)))))
}
