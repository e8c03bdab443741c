//! Exchange service accounts (F-ADM-6): companies let one service account act for many
//! mailboxes. Connect the users chosen in the table through it in one go, and change its
//! password in one place for every calendar that signs in with it.

use leptos::prelude::*;

use super::calendars_api::{change_service_password, connect_many, get_service_accounts, ManyForm, ManyOutcome, ServiceAccount};
use crate::components::{field_error, Dialog, ErrorLine, TextField};
use crate::connect::api::{MAX_EMAIL, MAX_PASSWORD, MAX_URL};
use crate::connect::{field_message, refusal_text};
use domain::Refusal;
use crate::error::AppError;
use crate::i18n::*;

/// The service accounts in use, each with a way to change its password.
#[component]
pub fn ServiceAccounts(acted: RwSignal<u64>) -> impl IntoView {
    let l = crate::lang::use_locale();
    let data = Resource::new(move || acted.get(), |_| get_service_accounts());
    let changing = RwSignal::new(None::<ServiceAccount>);
    view! {
        <section class="service-accounts" aria-labelledby="sa-title">
            <h3 id="sa-title">{td_string!(l, service.title)}</h3>
            <p class="hint">{td_string!(l, service.hint)}</p>
            <Transition>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(list) if list.is_empty() => view! { <p class="empty">{td_string!(l, service.none)}</p> }.into_any(),
                        Ok(list) => view! {
                            <ul class="accounts">
                                {list.into_iter().map(|a| {
                                    let text = tdf!(l, service.account, account = a.account.clone(), url = a.ews_url.clone(), count = a.calendars);
                                    let name = a.account.clone();
                                    view! {
                                        <li data-account=name>
                                            <span>{text}</span>
                                            <button type="button" class="btn" on:click=move |_| changing.set(Some(a.clone()))>{td_string!(l, service.change_password)}</button>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }
                        .into_any(),
                        Err(e) => view! { <ErrorLine error=Some(e)/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
        {move || changing.get().map(|a| view! { <ChangePassword account=a changing acted/> })}
    }
}

#[component]
fn ChangePassword(account: ServiceAccount, changing: RwSignal<Option<ServiceAccount>>, acted: RwSignal<u64>) -> impl IntoView {
    let l = crate::lang::use_locale();
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let refused = RwSignal::new(None::<Refusal>);
    let saving = RwSignal::new(false);
    let done = RwSignal::new(None::<u32>);
    let target = StoredValue::new(account.clone());
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saving.set(true);
        let a = target.get_value();
        let pw = password.get_untracked();
        leptos::task::spawn_local(async move {
            let result = change_service_password(a.ews_url, a.account, pw).await;
            saving.set(false);
            password.set(String::new());
            error.set(result.as_ref().err().cloned());
            refused.set(result.as_ref().ok().and_then(|r| r.as_ref().err()).cloned());
            if let Ok(Ok(n)) = result {
                done.set(Some(n));
                acted.update(|x| *x += 1);
            }
        });
    };
    let general = Signal::derive(move || error.get().filter(|e| e.for_field("password").is_none()));
    let general_refusal = move || refused.get().filter(|r| r.field() != Some("password")).map(|r| view! { <p class="error" role="alert">{refusal_text(l, &r)}</p> });
    view! {
        <Dialog labelled_by="sa-change-title" class="question" on_close=move |_| changing.set(None)>
            <h2 id="sa-change-title">{tdf!(l, service.change_title, account = account.account.clone())}</h2>
            <form class="exchange" on:submit=save novalidate>
                <TextField name="service_password" value=password kind="password" autocomplete="new-password" max=MAX_PASSWORD required=true error=field_message(l, error, refused, "password")>
                    {td_string!(l, service.new_password)}
                </TextField>
                <ErrorLine error=general/>
                {general_refusal}
                <p role="status">{move || done.get().map(|n| tdf!(l, service.changed, count = n))}</p>
                <div class="actions">
                    <button type="submit" class="btn primary" disabled=move || saving.get()>{td_string!(l, service.save_password)}</button>
                    <button type="button" class="btn" on:click=move |_| changing.set(None)>{td_string!(l, config.close)}</button>
                </div>
            </form>
        </Dialog>
    }
}

/// Connects the users chosen in the table through one service account, each with their own
/// e-mail address as the mailbox; says how it went for each.
#[component]
pub fn ConnectMany(users: Vec<(String, String)>, open: RwSignal<bool>, #[prop(into)] on_done: Callback<()>) -> impl IntoView {
    let l = crate::lang::use_locale();
    let ews_url = RwSignal::new(String::new());
    let account = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let saving = RwSignal::new(false);
    let outcomes = RwSignal::new(Vec::<ManyOutcome>::new());
    let ids: Vec<String> = users.iter().map(|(id, _)| id.clone()).collect();
    let names = users.iter().map(|(_, n)| n.clone()).collect::<Vec<_>>().join(", ");
    let ids = StoredValue::new(ids);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saving.set(true);
        let form = ManyForm { user_ids: ids.get_value(), ews_url: ews_url.get_untracked(), account: account.get_untracked(), password: password.get_untracked() };
        leptos::task::spawn_local(async move {
            let result = connect_many(form).await;
            saving.set(false);
            password.set(String::new());
            match result {
                Ok(list) => {
                    error.set(None);
                    outcomes.set(list);
                    on_done.run(());
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let errors = Signal::derive(move || error.get());
    let general = Signal::derive(move || error.get().filter(|e| !["ews_url", "account", "password"].iter().any(|f| e.for_field(f).is_some())));
    view! {
        <Dialog labelled_by="many-title" on_close=move |_| open.set(false)>
            <h2 id="many-title">{td_string!(l, service.many_title)}</h2>
            <p class="hint">{tdf!(l, service.many_for, names = names)}</p>
            <form class="exchange" on:submit=save novalidate>
                <TextField name="many_ews_url" value=ews_url kind="url" max=MAX_URL required=true error=field_error(errors, "ews_url")>{td_string!(l, setup.ews_url)}</TextField>
                <TextField name="many_account" value=account kind="email" autocomplete="off" max=MAX_EMAIL required=true error=field_error(errors, "account")>{td_string!(l, setup.service_account)}</TextField>
                <TextField name="many_password" value=password kind="password" autocomplete="new-password" max=MAX_PASSWORD required=true error=field_error(errors, "password")>{td_string!(l, setup.service_password)}</TextField>
                <ErrorLine error=general/>
                <ul class="outcomes" role="status">
                    {move || outcomes.get().into_iter().map(|o| {
                        let (class, text) = match &o.problem {
                            None => ("ok", tdf!(l, service.connected_one, name = o.name.clone())),
                            Some(r) => ("failed", tdf!(l, service.failed_one, name = o.name.clone(), reason = refusal_text(l, r))),
                        };
                        view! { <li class=class>{text}</li> }
                    }).collect_view()}
                </ul>
                <div class="actions">
                    <button type="submit" class="btn primary" disabled=move || saving.get()>{td_string!(l, setup.save_subscribe)}</button>
                    <button type="button" class="btn" on:click=move |_| open.set(false)>{td_string!(l, config.close)}</button>
                </div>
            </form>
        </Dialog>
    }
}
