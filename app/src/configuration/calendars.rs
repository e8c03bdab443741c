//! Integration → Calendar (F-ADM-2 … F-ADM-7, F-ADM-10): every user with their calendar
//! connection and its status, updating live as syncs start, finish and fail (the page hears
//! the users it shows through the live stream and reads their rows again). Searchable and
//! paged: companies have hundreds of users.

use leptos::prelude::*;

use super::calendars_api::{get_calendar_users, CalendarUsers, UserRow, MAX_SEARCH, PAGE_SIZE};
use crate::connect::api::RowStatus;
use crate::connect::api::{disconnect, synchronise};
use super::service_accounts::{ConnectMany, ServiceAccounts};
use crate::components::{Dialog, ErrorLine, Interactive, Loading};
use crate::error::AppError;
use crate::i18n::*;
use crate::lang;
use crate::routes;

#[component]
pub fn Calendars() -> impl IntoView {
    let l = crate::lang::use_locale();
    let live = crate::live::use_live();
    let search = RwSignal::new(String::new());
    let page = RwSignal::new(0u32);
    // Bumped after an action of this page (its own change may have no live event, e.g. a
    // disconnect of a calendar nobody watches).
    let acted = RwSignal::new(0u64);
    let data = Resource::new(move || (search.get(), page.get(), live.status.get(), acted.get()), |(s, p, _, _)| get_calendar_users(s, p));
    // The page hears the users it shows.
    Effect::new(move |_| {
        if let Some(Ok(d)) = data.get() {
            live.watched.set(d.rows.iter().map(|r| r.user_id.clone()).collect());
        }
    });
    let on_search = move |ev: leptos::ev::Event| {
        search.set(event_target_value(&ev));
        page.set(0);
    };
    let actions = Actions::new(acted);
    view! {
        <h2>{td_string!(l, config.calendars)}</h2>
        <p class="hint">{td_string!(l, config.calendars_hint)}</p>
        <div class="table-tools">
            <div role="search">
                <label class="field search">
                    <span class="label">{td_string!(l, config.search)}</span>
                    <input type="search" name="search" maxlength=MAX_SEARCH on:input=on_search prop:value=move || search.get()
                        placeholder=td_string!(l, config.search_placeholder)/>
                </label>
            </div>
            <button type="button" class="btn" disabled=move || actions.chosen.with(Vec::is_empty) on:click=move |_| actions.many.set(true)>
                {move || tdf!(l, config.connect_selected, count = actions.chosen.with(Vec::len))}
            </button>
        </div>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <UserTable data=d page actions/> <Interactive/> }.into_any(),
                    Err(error) => view! { <ErrorLine error=Some(error)/> }.into_any(),
                }
            })}
        </Transition>
        <ServiceAccounts acted/>
        <ActionDialogs actions/>
    }
}

/// What the table's rows act on. It lives outside the part of the page that updates live, so
/// a status change elsewhere (a colleague's sync finishing) never closes a dialog or resets
/// what is being typed in it.
#[derive(Clone, Copy)]
struct Actions {
    setup_for: RwSignal<Option<UserRow>>,
    confirm_for: RwSignal<Option<UserRow>>,
    /// The user acted on, while the server works.
    busy: RwSignal<Option<String>>,
    /// The last action's failure, with whose row it concerns.
    error: RwSignal<Option<(String, AppError)>>,
    acted: RwSignal<u64>,
    /// Users chosen to connect through a service account: (id, name).
    chosen: RwSignal<Vec<(String, String)>>,
    many: RwSignal<bool>,
}

impl Actions {
    fn new(acted: RwSignal<u64>) -> Actions {
        Actions {
            setup_for: RwSignal::new(None),
            confirm_for: RwSignal::new(None),
            busy: RwSignal::new(None),
            error: RwSignal::new(None),
            acted,
            chosen: RwSignal::new(Vec::new()),
            many: RwSignal::new(false),
        }
    }

    /// Synchronise, or (`disconnecting`) disconnect, `user_id`'s calendar.
    fn run(self, user_id: String, disconnecting: bool) {
        self.confirm_for.set(None);
        self.busy.set(Some(user_id.clone()));
        leptos::task::spawn_local(async move {
            let done = if disconnecting { disconnect(user_id.clone()).await } else { synchronise(user_id.clone()).await };
            self.busy.set(None);
            match done {
                Ok(()) => {
                    self.error.set(None);
                    self.acted.update(|n| *n += 1);
                }
                Err(e) => self.error.set(Some((user_id, e))),
            }
        });
    }
}

#[component]
fn ActionDialogs(actions: Actions) -> impl IntoView {
    let l = crate::lang::use_locale();
    let on_done = Callback::new(move |_| {
        actions.setup_for.set(None);
        actions.acted.update(|n| *n += 1);
    });
    let many_done = Callback::new(move |_| {
        actions.chosen.set(Vec::new());
        actions.acted.update(|n| *n += 1);
    });
    view! {
        <Show when=move || actions.many.get()>
            <ConnectMany users=actions.chosen.get_untracked() open=actions.many on_done=many_done/>
        </Show>
        {move || actions.setup_for.get().map(|row| view! {
            <Dialog labelled_by="setup-title" on_close=move |_| actions.setup_for.set(None)>
                <h2 id="setup-title">{tdf!(l, setup.title_for, name = row.name.clone())}</h2>
                <crate::connect::Setup user_id=row.user_id.clone() name=row.name.clone() email=row.email.clone() me=row.me current=row.connection.clone() on_done/>
                <div class="actions">
                    <button type="button" class="btn" on:click=move |_| actions.setup_for.set(None)>{td_string!(l, config.cancel)}</button>
                </div>
            </Dialog>
        })}
        {move || actions.confirm_for.get().map(|row| {
            let id = row.user_id.clone();
            view! {
                <Dialog labelled_by="disconnect-title" class="question" on_close=move |_| actions.confirm_for.set(None)>
                    <h2 id="disconnect-title">{tdf!(l, config.disconnect_title, name = row.name.clone())}</h2>
                    <p>{td_string!(l, config.disconnect_text)}</p>
                    <div class="actions">
                        <button type="button" class="btn danger" on:click=move |_| actions.run(id.clone(), true)>{td_string!(l, config.disconnect)}</button>
                        <button type="button" class="btn" autofocus on:click=move |_| actions.confirm_for.set(None)>{td_string!(l, config.cancel)}</button>
                    </div>
                </Dialog>
            }
        })}
    }
}

#[component]
fn UserTable(data: CalendarUsers, page: RwSignal<u32>, actions: Actions) -> impl IntoView {
    let l = crate::lang::use_locale();
    let pages = (data.total as usize).div_ceil(PAGE_SIZE).max(1) as u32;
    let shown = tdf!(l, config.users_shown, from = data.page as usize * PAGE_SIZE + 1.min(data.rows.len()), to = data.page as usize * PAGE_SIZE + data.rows.len(), total = data.total);
    let off = (!data.integration_on).then(|| {
        view! {
            <p class="notice" role="status">
                {td_string!(l, problems.integration_off)}" "
                <a href=format!("{}/features", routes::CONFIGURATION)>{td_string!(l, config.features)}</a>
            </p>
        }
    });
    let rows = data.rows.into_iter().map(|row| view! { <Row row actions/> }).collect_view();
    let current = data.page;
    view! {
        {off}
        <table class="users">
            <caption class="visually-hidden">{td_string!(l, config.calendars)}</caption>
            <thead>
                <tr>
                    <th scope="col"><span class="visually-hidden">{td_string!(l, config.col_choose)}</span></th>
                    <th scope="col">{td_string!(l, config.col_user)}</th>
                    <th scope="col">{td_string!(l, config.col_calendar)}</th>
                    <th scope="col">{td_string!(l, config.col_status)}</th>
                    <th scope="col">{td_string!(l, config.col_actions)}</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        <nav class="pager" aria-label=td_string!(l, config.pages)>
            <button type="button" class="btn" disabled={current == 0} on:click=move |_| page.set(current.saturating_sub(1))>{td_string!(l, config.previous_page)}</button>
            <span role="status">{shown}" · "{tdf!(l, config.page_of, page = current + 1, pages = pages)}</span>
            <button type="button" class="btn" disabled={current + 1 >= pages} on:click=move |_| page.set(current + 1)>{td_string!(l, config.next_page)}</button>
        </nav>
    }
}

#[component]
fn Row(row: UserRow, actions: Actions) -> impl IntoView {
    let l = crate::lang::use_locale();
    let user_id = row.user_id.clone();
    let busy = {
        let id = user_id.clone();
        move || actions.busy.with(|b| b.as_deref() == Some(id.as_str()))
    };
    let error = {
        let id = user_id.clone();
        Signal::derive(move || actions.error.with(|e| e.as_ref().filter(|(who, _)| *who == id).map(|(_, e)| e.clone())))
    };
    let calendar = match &row.connection {
        None => view! { <span class="muted">"—"</span> }.into_any(),
        Some(c) => {
            let how = if c.account.is_empty() || c.account == c.mailbox {
                lang::auth_name(l, c.auth).to_string()
            } else {
                format!("{} · {}", lang::auth_name(l, c.auth), c.account)
            };
            view! {
                <span class="provider">{lang::provider_name(l, c.provider)}</span>
                <span class="mailbox">{c.mailbox.clone()}</span>
                <span class="how">{how}</span>
            }
            .into_any()
        }
    };
    let status = crate::connect::status_view(l, &row.status);
    let syncing = row.status == RowStatus::Syncing;
    let connected = row.connection.is_some();
    let this = StoredValue::new(row.clone());
    let actions_view = view! {
        {connected.then(|| {
            let (busy, id) = (busy.clone(), user_id.clone());
            view! {
                <button type="button" class="btn" disabled=move || busy() || syncing on:click=move |_| actions.run(id.clone(), false)>{td_string!(l, config.synchronise)}</button>
            }
        })}
        <button type="button" class="btn" on:click=move |_| actions.setup_for.set(Some(this.get_value()))>
            {if connected { td_string!(l, setup.set_up_again) } else { td_string!(l, setup.set_up) }}
        </button>
        {connected.then(|| view! {
            <button type="button" class="btn danger" disabled=busy on:click=move |_| actions.confirm_for.set(Some(this.get_value()))>{td_string!(l, config.disconnect)}</button>
        })}
        // OAuth consent is the mailbox owner's to give, signed in as themselves (F-ADM-3,
        // F-ADM-4): the viewer's own row leads to their settings page, another's says who.
        {if row.me {
            Some(view! { <a class="btn link" href=crate::routes::SETTINGS>{td_string!(l, settings.title)}</a> }.into_any())
        } else if row.connection.as_ref().is_some_and(|c| c.auth == domain::AuthKind::OAuth) {
            Some(view! { <small class="hint owner">{tdf!(l, config.owner_connects, name = row.name.clone())}</small> }.into_any())
        } else {
            None
        }}
    };
    view! {
        <tr data-user=row.email.clone() data-status=row.status.as_str()>
            <td class="choose">
                <input type="checkbox" name="choose" aria-label=tdf!(l, config.select_user, name = row.name.clone())
                    prop:checked=move || actions.chosen.with(|c| c.iter().any(|(id, _)| *id == this.with_value(|r| r.user_id.clone())))
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        let (id, name) = this.with_value(|r| (r.user_id.clone(), r.name.clone()));
                        actions.chosen.update(|c| {
                            c.retain(|(i, _)| *i != id);
                            if on {
                                c.push((id, name));
                            }
                        });
                    }/>
            </td>
            <td data-label=td_string!(l, config.col_user)>
                <span class="name">{row.name.clone()}</span>
                <span class="email">{row.email.clone()}</span>
            </td>
            <td data-label=td_string!(l, config.col_calendar)>{calendar}</td>
            <td data-label=td_string!(l, config.col_status) class="status">{status}</td>
            <td data-label=td_string!(l, config.col_actions) class="actions">
                {actions_view}
                <ErrorLine error=error/>
            </td>
        </tr>
    }
}
