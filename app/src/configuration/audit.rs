//! The audit log: who changed what in the company's administration, and when — newest first,
//! a page at a time.

use domain::audit::Action;
use leptos::prelude::*;

use super::api::{get_audit_log, AuditCursor, AuditRow};
use crate::components::{ErrorLine, Interactive, Loading};
use crate::error::AppError;
use crate::i18n::*;
use crate::lang;

#[component]
pub fn AuditLog() -> impl IntoView {
    let l = crate::lang::use_locale();
    let first = Resource::new(|| (), |_| get_audit_log(None));
    view! {
        <h2>{td_string!(l, config.audit)}</h2>
        <p class="hint">{td_string!(l, config.audit_hint)}</p>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match first.await {
                    Ok(page) => view! { <AuditTable rows=page.rows older=page.older/> <Interactive/> }.into_any(),
                    Err(error) => view! { <ErrorLine error=Some(error)/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AuditTable(rows: Vec<AuditRow>, older: Option<AuditCursor>) -> impl IntoView {
    let l = crate::lang::use_locale();
    if rows.is_empty() {
        return view! { <p class="empty">{td_string!(l, config.audit_empty)}</p> }.into_any();
    }
    let rows = RwSignal::new(rows);
    let older = RwSignal::new(older);
    let loading = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let more = move |_| {
        let Some(from) = older.get_untracked() else { return };
        loading.set(true);
        leptos::task::spawn_local(async move {
            match get_audit_log(Some(from)).await {
                Ok(page) => {
                    rows.update(|r| r.extend(page.rows));
                    older.set(page.older);
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
            loading.set(false);
        });
    };
    view! {
        <table class="audit">
            <thead>
                <tr>
                    <th scope="col">{td_string!(l, config.audit_when)}</th>
                    <th scope="col">{td_string!(l, config.audit_who)}</th>
                    <th scope="col">{td_string!(l, config.audit_what)}</th>
                </tr>
            </thead>
            <tbody>
                <For each=move || rows.get() key=|r| r.id.clone() let:row>
                    <tr>
                        <td>{lang::when(l, row.at)}</td>
                        <td>{if row.actor.is_empty() { td_string!(l, config.audit_operator).to_string() } else { row.actor.clone() }}</td>
                        <td>{action_text(l, &row.action)}</td>
                    </tr>
                </For>
            </tbody>
        </table>
        <ErrorLine error=error/>
        <Show when=move || older.with(Option::is_some)>
            <button type="button" class="btn" on:click=more disabled=move || loading.get()>{td_string!(l, config.audit_more)}</button>
        </Show>
    }
    .into_any()
}

/// An entry's action in the viewer's language.
fn action_text(l: Locale, a: &Action) -> String {
    match a {
        Action::Integration { on: true } => td_string!(l, config.audit_integration_on).to_string(),
        Action::Integration { on: false } => td_string!(l, config.audit_integration_off).to_string(),
        Action::CalendarConnected { user, mailbox, provider, auth } => {
            tdf!(l, config.audit_connected, user = user, mailbox = mailbox, provider = lang::provider_name(l, *provider), how = lang::auth_name(l, *auth))
        }
        Action::CalendarDisconnected { user, mailbox, provider } => {
            tdf!(l, config.audit_disconnected, user = user, mailbox = mailbox, provider = lang::provider_name(l, *provider))
        }
        Action::ServiceAccountPassword { account, calendars } => tdf!(l, config.audit_service_password, account = account, count = calendars),
    }
}
