//! The meeting editor (first cut of F-EDIT-5/6/9/11/12): subject, time (or all day, over one
//! or several days), place, description, attendees, private; "Save" writes to the organiser's
//! calendar only, "Save and send invitations" also tells the attendees; delete with or without
//! cancellations. A failed save keeps everything typed and says why, next to the field. The
//! dialog's code is a WebAssembly chunk of its own, loaded when it first opens.

pub mod api;
pub mod times_api;
mod editor;
mod panel;
mod people;

use api::{get_meeting, MeetingForm};
use leptos::prelude::*;

use crate::error::AppError;

/// What the editor opens: a new meeting at a slot (in `calendar_user`'s calendar; "" = the
/// viewer's), or an existing meeting by its id. The form itself is built and read once the
/// dialog's code has loaded, so it stays out of the calendar's first load.
#[derive(Clone, Debug, PartialEq)]
pub enum Opening {
    New { start: chrono::NaiveDateTime, end: chrono::NaiveDateTime, calendar_user: String },
    Meeting(String),
}

/// What the calendar shares with the editor: the meeting being edited, a counter the
/// calendar watches to read itself again after a change, a failure outside the dialog (a
/// meeting that could not be opened), and the calendars a new meeting can go into.
#[derive(Clone, Copy)]
pub struct Editor {
    pub open: RwSignal<Option<Opening>>,
    pub changed: RwSignal<u64>,
    pub failure: RwSignal<Option<AppError>>,
    /// (user id, name): the viewer first, then the shown colleagues with calendars.
    pub calendars: RwSignal<Vec<(String, String)>>,
}

pub fn provide_editor() -> Editor {
    let editor = Editor { open: RwSignal::new(None), changed: RwSignal::new(0), failure: RwSignal::new(None), calendars: RwSignal::new(Vec::new()) };
    provide_context(editor);
    editor
}

pub fn use_editor() -> Editor {
    expect_context::<Editor>()
}

impl Editor {
    /// Opens an existing meeting (loaded from the server: what the viewer may see of it).
    pub fn open_meeting(self, id: String) {
        self.failure.set(None);
        self.open.set(Some(Opening::Meeting(id)));
    }

    /// A new meeting from `start` to `end` (the viewer's wall clock) in `calendar_user`'s
    /// calendar ("" = the viewer's).
    pub fn open_new(self, start: chrono::NaiveDateTime, end: chrono::NaiveDateTime, calendar_user: &str) {
        self.failure.set(None);
        self.open.set(Some(Opening::New { start, end, calendar_user: calendar_user.to_string() }));
    }
}

/// The dialog's code, in its own chunk. A meeting that cannot be read closes it again and
/// says why on the calendar.
#[leptos::lazy]
async fn editor_view(opening: Opening, editor: Editor) -> AnyView {
    let form = match opening {
        Opening::New { start, end, calendar_user } => MeetingForm::new_at(start, end, &calendar_user),
        Opening::Meeting(id) => match get_meeting(id).await {
            Ok(form) => form,
            Err(e) => {
                editor.failure.set(Some(e));
                editor.open.set(None);
                return ().into_any();
            }
        },
    };
    view! { <editor::EditorDialog form editor/> }.into_any()
}

/// The editor while a meeting is open (browser only: it is never open on the server).
#[component]
pub fn MeetingEditor() -> impl IntoView {
    let editor = use_editor();
    move || {
        editor.open.get().map(|opening| {
            view! { <Suspense fallback=|| ()>{move || Suspend::new(editor_view(opening.clone(), editor))}</Suspense> }
        })
    }
}
