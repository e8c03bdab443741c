//! The editor dialog itself: the form, its buttons and its messages.

use leptos::prelude::*;

use super::api::{Access, DeleteMeeting, MeetingForm, PeopleKind, SaveMeeting};
use super::panel::{TimePanel, When};
use super::people::PeopleBox;
use super::Editor;
use crate::components::{field_error, CheckField, DateField, Dialog, ErrorLine, SelectField, TextArea, TextField, TimeField};
use crate::error::AppError;
use crate::i18n::*;
use crate::lang;

#[component]
pub fn EditorDialog(form: MeetingForm, editor: Editor) -> impl IntoView {
    let l = crate::lang::use_locale();
    let save = ServerAction::<SaveMeeting>::new();
    let delete = ServerAction::<DeleteMeeting>::new();
    let is_new = form.id.is_none();
    let calendar_user = RwSignal::new(form.calendar_user.clone());
    let subject = RwSignal::new(form.subject.clone());
    let location = RwSignal::new(form.location.clone());
    let description = RwSignal::new(form.description.clone());
    // An HTML body is shown as it is and kept, until the user rewrites it as text.
    let keep_rich = RwSignal::new(form.keep_rich_description && form.rich_description.is_some());
    let rich = StoredValue::new(form.rich_description.clone());
    // The text takes the body's place, and the focus (the button that had it is gone).
    let rewrite_as_text = move || {
        keep_rich.set(false);
        #[cfg(feature = "hydrate")]
        request_animation_frame(|| {
            use wasm_bindgen::JsCast;
            if let Some(text) = document().get_element_by_id("f-description").and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
                let _ = text.focus();
            }
        });
    };
    let start_date = RwSignal::new(form.start_date.clone());
    let start_time = RwSignal::new(form.start_time.clone());
    let end_date = RwSignal::new(form.end_date.clone());
    let end_time = RwSignal::new(form.end_time.clone());
    let all_day = RwSignal::new(form.all_day);
    let private = RwSignal::new(form.private);
    let organisations = RwSignal::new(form.organisations.clone());
    let persons = RwSignal::new(form.persons.clone());
    let users = RwSignal::new(form.users.clone());
    let guests = RwSignal::new(form.guests.clone());
    // What the viewer may change (F-X-1; the server checks it again).
    let access = form.access;
    let fixed = Signal::stored(access < Access::Full);
    let links_fixed = Signal::stored(access < Access::Links);
    let preferred = Signal::derive(move || organisations.with(|o| o.iter().map(|c| c.id.clone()).collect::<Vec<_>>()));
    let base = StoredValue::new(form.clone());
    let current = move || MeetingForm {
        calendar_user: calendar_user.get_untracked(),
        subject: subject.get_untracked(),
        location: location.get_untracked(),
        description: description.get_untracked(),
        keep_rich_description: keep_rich.get_untracked(),
        // Shown only; the server keeps the body itself.
        rich_description: None,
        start_date: start_date.get_untracked(),
        start_time: start_time.get_untracked(),
        end_date: end_date.get_untracked(),
        end_time: end_time.get_untracked(),
        all_day: all_day.get_untracked(),
        private: private.get_untracked(),
        organisations: organisations.get_untracked(),
        persons: persons.get_untracked(),
        users: users.get_untracked(),
        guests: guests.get_untracked(),
        ..base.get_value()
    };
    // Moving the start moves the end with it, keeping the meeting's length, as calendars do
    // (a start typed past the end would otherwise leave a meeting that ends before it starts,
    // or one that runs into the next day). Measured from the last start that read as a time.
    Effect::new(move |last: Option<Option<chrono::NaiveDateTime>>| {
        let start = start_date.with(|d| start_time.with(|t| MeetingForm::instant(d, t)));
        let last = last.flatten();
        if let (Some(from), Some(to)) = (last, start) {
            let end = end_date.with_untracked(|d| end_time.with_untracked(|t| MeetingForm::instant(d, t)));
            if let (true, Some(end)) = (from != to, end) {
                let end = end + (to - from);
                end_date.set(end.date().to_string());
                end_time.set(domain::calendar::hh_mm(end));
            }
        }
        start.or(last)
    });
    let close = move || editor.open.set(None);
    // Done: close and let the calendar read itself again. Failed: stay, with everything typed.
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            editor.changed.update(|n| *n += 1);
            close();
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            editor.changed.update(|n| *n += 1);
            close();
        }
    });
    let error: Signal<Option<AppError>> = Signal::derive(move || {
        let failed = |v: Option<Result<(), AppError>>| v.and_then(Result::err);
        failed(save.value().get().map(|r| r.map(|_| ()))).or_else(|| failed(delete.value().get()))
    });
    // Errors that belong to no field are shown at the top.
    let general = Signal::derive(move || error.get().filter(|e| !matches!(e, AppError::Invalid { field: Some(_), .. })));
    let busy = move || save.pending().get() || delete.pending().get();
    let has_attendees = move || persons.with(|p| !p.is_empty()) || users.with(|u| !u.is_empty()) || guests.with(|g| !g.is_empty());
    let on_save = move |send: bool| {
        save.dispatch(SaveMeeting { form: current(), send });
    };
    let on_delete = move |send: bool| {
        let f = base.get_value();
        if let Some(id) = f.id {
            delete.dispatch(DeleteMeeting { id, version: f.version, send });
        }
    };
    let notice = form.notice.clone();
    let occurrence = form.occurrence;
    // Every colleague with a synchronised calendar can be booked for, not only those shown.
    let calendars = RwSignal::new(editor.calendars.get_untracked());
    if is_new {
        leptos::task::spawn_local(async move {
            if let Ok(all) = super::api::bookable_calendars().await {
                // (The dialog may have closed meanwhile.)
                calendars.try_set(all);
            }
        });
    }
    let end_error = field_error(error, "end");
    let organiser = (!is_new).then(|| form.organiser.clone());
    // The side panel: the organiser's lane and the chosen colleagues' (F-EDIT-4).
    let organiser_id = form.organiser_id.clone();
    let panel_organiser = Signal::derive(move || if is_new { calendar_user.get() } else { organiser_id.clone().unwrap_or_default() });
    let panel_users = Signal::derive(move || users.with(|u| u.iter().map(|c| c.id.clone()).collect::<Vec<_>>()));
    let when = When { start_date, start_time, end_date, end_time, all_day };
    let clashes = RwSignal::new(Vec::<String>::new());
    let leave_out = form.id.clone();
    let booked_by = form.booked_by.clone();
    view! {
        <Dialog labelled_by="editor-title" on_close=move |_| close() class="editor-dialog">
            <div class="editor-layout" class:with-panel=move || users.with(|u| !u.is_empty())>
            <div class="editor-main">
            <h2 id="editor-title">{move || if is_new { td_string!(l, editor.new_title) } else { td_string!(l, editor.edit_title) }}</h2>
            {notice.map(|n| view! { <p class="notice" role="status">{lang::notice_text(l, &n)}</p> })}
            {occurrence.then(|| view! { <p class="hint">{td_string!(l, editor.occurrence)}</p> })}
            <link rel="stylesheet" href="/editor.css"/>
            {organiser.map(|o| view! { <p class="organiser"><strong>{td_string!(l, editor.organiser)}":"</strong>" "{o}</p> })}
            {booked_by.map(|b| view! { <p class="hint">{tdf!(l, editor.booked_by, name = b)}</p> })}
            {(access == Access::Read).then(|| view! { <p class="notice" role="status">{td_string!(l, editor.read_only)}</p> })}
            {(access == Access::Links).then(|| view! { <p class="notice" role="status">{td_string!(l, editor.links_only)}</p> })}
            <ErrorLine error=general/>
            <form class="editor" on:submit=move |ev| { ev.prevent_default(); on_save(false); }>
                <fieldset class="wide people-boxes" disabled=links_fixed>
                    <legend class="sr-only">{td_string!(l, editor.people)}</legend>
                    <PeopleBox name="organisations" kind=PeopleKind::Organisations chosen=organisations disabled=links_fixed
                        error=field_error(error, "organisations") label=td_string!(l, editor.organisations).to_string()/>
                    <PeopleBox name="persons" kind=PeopleKind::Persons chosen=persons guests=guests preferred disabled=fixed
                        error=Signal::derive(move || field_error(error, "persons").get().or_else(|| field_error(error, "guests").get()).or_else(|| field_error(error, "attendees").get()))
                        label=td_string!(l, editor.persons).to_string()/>
                    <PeopleBox name="users" kind=PeopleKind::Users chosen=users disabled=fixed
                        error=field_error(error, "users") label=td_string!(l, editor.users).to_string()/>
                </fieldset>
                <fieldset class="wide plain" disabled=fixed>
                <TextField name="subject" value=subject class="wide" required=true autofocus=true error=field_error(error, "subject")>{td_string!(l, editor.subject)}</TextField>
                <Show when=move || is_new && calendars.with(|c| c.len() > 1)>
                    <SelectField name="calendar" value=calendar_user class="wide" options=calendars error=field_error(error, "calendar")>{td_string!(l, editor.book_for)}</SelectField>
                </Show>
                <CheckField name="all_day" value=all_day class="wide">{td_string!(l, editor.all_day)}</CheckField>
                <fieldset class="when">
                    <legend>{td_string!(l, editor.starts)}</legend>
                    <DateField name="start_date" value=start_date error=field_error(error, "start_date")>{td_string!(l, editor.date)}</DateField>
                    <Show when=move || !all_day.get()>
                        <TimeField name="start_time" value=start_time error=field_error(error, "start_time")>{td_string!(l, editor.time)}</TimeField>
                    </Show>
                </fieldset>
                <fieldset class="when">
                    <legend>{td_string!(l, editor.ends)}</legend>
                    <DateField name="end_date" value=end_date error=field_error(error, "end_date")>{td_string!(l, editor.date)}</DateField>
                    <Show when=move || !all_day.get()>
                        <TimeField name="end_time" value=end_time error=field_error(error, "end_time")>{td_string!(l, editor.time)}</TimeField>
                    </Show>
                </fieldset>
                {move || end_error.get().map(|m| view! { <p class="field-error wide" role="alert">{m}</p> })}
                {move || clashes.with(|c| (!c.is_empty() && users.with(|u| !u.is_empty())).then(|| view! { <p class="clash-note wide" role="status">{tdf!(l, editor.overlaps, what = c.join(", "))}</p> }))}
                <TextField name="location" value=location class="wide" error=field_error(error, "location")>{td_string!(l, editor.location)}</TextField>
                {move || match rich.get_value().filter(|_| keep_rich.get()) {
                    Some(html) => view! {
                        <div class="rich-description wide" role="group" aria-labelledby="f-description-label">
                            <span class="label" id="f-description-label">{td_string!(l, editor.description)}</span>
                            <div class="rich" inner_html=html></div>
                            <p class="hint">{td_string!(l, editor.rich_kept)}</p>
                            {(!fixed.get_untracked()).then(|| view! {
                                <button type="button" class="btn" on:click=move |_| rewrite_as_text()>{td_string!(l, editor.edit_as_text)}</button>
                            })}
                        </div>
                    }
                    .into_any(),
                    None => view! {
                        <TextArea name="description" value=description class="wide" rows=4 error=field_error(error, "description")>{td_string!(l, editor.description)}</TextArea>
                    }
                    .into_any(),
                }}
                <CheckField name="private" value=private class="wide">{td_string!(l, editor.private)}</CheckField>
                </fieldset>
                <Show when=has_attendees>
                    <p class="hint wide">{td_string!(l, editor.save_hint)}</p>
                </Show>
                <div class="actions wide">
                    {(access >= Access::Links).then(|| view! {
                        <button type="submit" class="btn" disabled=busy>{td_string!(l, editor.save)}</button>
                    })}
                    {(access == Access::Full).then(|| view! {
                        <button type="button" class="btn primary" disabled=busy on:click=move |_| on_save(true)>{td_string!(l, editor.save_send)}</button>
                    })}
                    {(!is_new && access == Access::Full).then(|| view! {
                        <button type="button" class="btn danger" disabled=busy on:click=move |_| on_delete(false)>{td_string!(l, editor.delete)}</button>
                        <button type="button" class="btn danger" disabled=busy on:click=move |_| on_delete(true)>{td_string!(l, editor.delete_send)}</button>
                    })}
                    <button type="button" class="btn link" on:click=move |_| close()>
                        {if access == Access::Read { td_string!(l, editor.close) } else { td_string!(l, editor.cancel) }}
                    </button>
                </div>
            </form>
            </div>
            <Show when=move || users.with(|u| !u.is_empty())>
                <TimePanel organiser=panel_organiser users=panel_users when leave_out=leave_out.clone() disabled=fixed clashes/>
            </Show>
            </div>
        </Dialog>
    }
}
