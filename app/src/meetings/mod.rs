//! The meeting editor (first cut of F-EDIT-5/6/9/11/12): subject, time (or all-day, over one
//! or several days), place, description, attendees, private; "Save" writes to the organiser's
//! calendar only, "Save and send invitations" also tells the attendees; delete with or without
//! cancellations. A failed save keeps everything typed and says why.

pub mod api;

use api::{get_meeting, DeleteMeeting, MeetingForm, SaveMeeting};
use leptos::prelude::*;

/// What the calendar page shares with the editor: the meeting being edited, a counter the
/// calendar watches to read itself again after a change, and a message for failures outside
/// the dialog (e.g. a meeting that could not be opened).
#[derive(Clone, Copy)]
pub struct Editor {
    pub open: RwSignal<Option<MeetingForm>>,
    pub changed: RwSignal<u64>,
    pub message: RwSignal<Option<String>>,
}

impl Editor {
    pub fn new() -> Self {
        Self { open: RwSignal::new(None), changed: RwSignal::new(0), message: RwSignal::new(None) }
    }

    /// Opens an existing meeting (loaded from the server: what the viewer may see of it).
    pub fn open_meeting(self, id: String) {
        leptos::task::spawn_local(async move {
            match get_meeting(id).await {
                Ok(form) => {
                    self.message.set(None);
                    self.open.set(Some(form));
                }
                Err(e) => self.message.set(Some(e.to_string())),
            }
        });
    }
}

impl Default for Editor {
    fn default() -> Self {
        Self::new()
    }
}

#[component]
pub fn MeetingEditor(editor: Editor) -> impl IntoView {
    move || editor.open.get().map(|form| view! { <EditorDialog form editor/> })
}

#[component]
fn EditorDialog(form: MeetingForm, editor: Editor) -> impl IntoView {
    let save = ServerAction::<SaveMeeting>::new();
    let delete = ServerAction::<DeleteMeeting>::new();
    let is_new = form.id.is_none();
    let title = if is_new { "New meeting" } else { "Edit meeting" };
    let subject = RwSignal::new(form.subject.clone());
    let location = RwSignal::new(form.location.clone());
    let description = RwSignal::new(form.description.clone());
    let start_date = RwSignal::new(form.start_date.clone());
    let start_time = RwSignal::new(form.start_time.clone());
    let end_date = RwSignal::new(form.end_date.clone());
    let end_time = RwSignal::new(form.end_time.clone());
    let all_day = RwSignal::new(form.all_day);
    let private = RwSignal::new(form.private);
    let attendees = RwSignal::new(form.attendees.clone());
    let base = StoredValue::new(form.clone());
    let current = move || MeetingForm {
        subject: subject.get_untracked(),
        location: location.get_untracked(),
        description: description.get_untracked(),
        start_date: start_date.get_untracked(),
        start_time: start_time.get_untracked(),
        end_date: end_date.get_untracked(),
        end_time: end_time.get_untracked(),
        all_day: all_day.get_untracked(),
        private: private.get_untracked(),
        attendees: attendees.get_untracked(),
        ..base.get_value()
    };
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
    let error = move || {
        let failed = |v: Option<Result<_, crate::error::AppError>>| v.and_then(Result::err);
        failed(save.value().get().map(|r| r.map(|_| ()))).or_else(|| failed(delete.value().get()))
    };
    let busy = move || save.pending().get() || delete.pending().get();
    let has_attendees = move || attendees.with(|a| a.split([',', ';', '\n', ' ']).any(|s| !s.trim().is_empty()));
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
    view! {
        <div class="dialog-backdrop">
            <section class="dialog" role="dialog" aria-modal="true" aria-labelledby="editor-title">
                <h2 id="editor-title">{title}</h2>
                {(!notice.is_empty()).then(|| view! { <p class="notice" role="status">{notice.clone()}</p> })}
                {occurrence.then(|| view! { <p class="hint">"This is one occurrence of a recurring meeting: changes apply to this occurrence only."</p> })}
                {move || error().map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
                <form class="editor" on:submit=move |ev| { ev.prevent_default(); on_save(false); }>
                    <label class="wide">"Subject"
                        <input name="subject" required prop:value=subject on:input=move |ev| subject.set(event_target_value(&ev))/>
                    </label>
                    <label class="check wide">
                        <input type="checkbox" name="all_day" prop:checked=all_day on:change=move |ev| all_day.set(event_target_checked(&ev))/>
                        " All day"
                    </label>
                    <label>"Starts"
                        <input type="date" name="start_date" prop:value=start_date on:input=move |ev| start_date.set(event_target_value(&ev))/>
                    </label>
                    <label class:hidden=move || all_day.get()>"Start time"
                        <input type="time" name="start_time" prop:value=start_time on:input=move |ev| start_time.set(event_target_value(&ev))/>
                    </label>
                    <label>"Ends"
                        <input type="date" name="end_date" prop:value=end_date on:input=move |ev| end_date.set(event_target_value(&ev))/>
                    </label>
                    <label class:hidden=move || all_day.get()>"End time"
                        <input type="time" name="end_time" prop:value=end_time on:input=move |ev| end_time.set(event_target_value(&ev))/>
                    </label>
                    <label class="wide">"Location"
                        <input name="location" prop:value=location on:input=move |ev| location.set(event_target_value(&ev))/>
                    </label>
                    <label class="wide">"Attendees (e-mail addresses)"
                        <textarea name="attendees" rows="2" prop:value=attendees on:input=move |ev| attendees.set(event_target_value(&ev))></textarea>
                    </label>
                    <label class="wide">"Description"
                        <textarea name="description" rows="4" prop:value=description on:input=move |ev| description.set(event_target_value(&ev))></textarea>
                    </label>
                    <label class="check wide">
                        <input type="checkbox" name="private" prop:checked=private on:change=move |ev| private.set(event_target_checked(&ev))/>
                        " Private (colleagues see only that you are busy)"
                    </label>
                    <Show when=has_attendees>
                        <p class="hint wide">"“Save” puts the meeting in your calendar only; the attendees hear nothing until you use “Save and send invitations”."</p>
                    </Show>
                    <div class="actions wide">
                        <button type="submit" class="btn" disabled=busy>"Save"</button>
                        <button type="button" class="btn primary" disabled=busy on:click=move |_| { on_save(true); }>"Save and send invitations"</button>
                        {(!is_new).then(|| view! {
                            <button type="button" class="btn danger" disabled=busy on:click=move |_| on_delete(false)>"Delete"</button>
                            <button type="button" class="btn danger" disabled=busy on:click=move |_| on_delete(true)>"Delete and send cancellations"</button>
                        })}
                        <button type="button" class="btn link" on:click=move |_| close()>"Cancel"</button>
                    </div>
                </form>
            </section>
        </div>
    }
}
