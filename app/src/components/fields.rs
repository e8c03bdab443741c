//! Form fields: a label (the children), the control bound to a signal, and the field's error
//! next to it (`aria-invalid`, `aria-describedby`; beside the label, not in it, so the field's
//! name stays its name when an error shows). Dates and times are typed in the app's
//! language on the 24-hour clock — not the browser's native pickers, which follow the
//! browser's language (AM/PM in an English browser) instead of the user's (F-X-6).

use chrono::Datelike;
use leptos::prelude::*;

use crate::error::AppError;
use crate::i18n::*;
use crate::lang;

/// The message for field `name` out of the last failed save, in the user's language.
pub fn field_error(error: Signal<Option<AppError>>, name: &'static str) -> Signal<Option<String>> {
    let l = crate::lang::use_locale();
    Signal::derive(move || error.with(|e| e.as_ref().and_then(|e| e.for_field(name)).map(|p| lang::problem_text(l, p))))
}

fn described(error: Signal<Option<String>>, id: String) -> impl IntoView {
    move || error.get().map(|m| view! { <span class="field-error" id=id.clone()>{m}</span> })
}

#[component]
pub fn TextField(
    name: &'static str,
    value: RwSignal<String>,
    #[prop(optional, into)] error: Signal<Option<String>>,
    #[prop(optional)] class: &'static str,
    #[prop(default = 255)] max: usize,
    #[prop(optional)] required: bool,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: &'static str,
    /// Takes the focus when its dialog opens.
    #[prop(optional)]
    autofocus: bool,
    children: Children,
) -> impl IntoView {
    let id = format!("f-{name}");
    let label_for = id.clone();
    let err_id = format!("{id}-error");
    view! {
        <div class=format!("field {class}")>
            <label class="label" for=label_for>{children()}</label>
            // aria-required, not required: the server's message (in the app's language, next to
            // the field) says what is missing, not the browser's bubble.
            <input id=id type=kind name=name maxlength=max aria-required=required.then_some("true") autocomplete=(!autocomplete.is_empty()).then_some(autocomplete) autofocus=autofocus
                bind:value=value
                aria-invalid=move || error.with(|e| e.is_some().then_some("true"))
                aria-describedby=move || error.with(|e| e.is_some().then(|| err_id.clone()))/>
            {described(error, format!("f-{name}-error"))}
        </div>
    }
}

#[component]
pub fn TextArea(
    name: &'static str,
    value: RwSignal<String>,
    #[prop(optional, into)] error: Signal<Option<String>>,
    #[prop(optional)] class: &'static str,
    #[prop(default = 4)] rows: u32,
    #[prop(default = 32_000)] max: usize,
    children: Children,
) -> impl IntoView {
    let id = format!("f-{name}");
    let label_for = id.clone();
    let err_id = format!("{id}-error");
    view! {
        <div class=format!("field {class}")>
            <label class="label" for=label_for>{children()}</label>
            <textarea id=id name=name rows=rows maxlength=max
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
                aria-invalid=move || error.with(|e| e.is_some().then_some("true"))
                aria-describedby=move || error.with(|e| e.is_some().then(|| err_id.clone()))></textarea>
            {described(error, format!("f-{name}-error"))}
        </div>
    }
}

#[component]
pub fn CheckField(name: &'static str, value: RwSignal<bool>, #[prop(optional)] class: &'static str, children: Children) -> impl IntoView {
    view! {
        <label class=format!("check {class}")>
            <input type="checkbox" name=name bind:checked=value/>
            <span>{children()}</span>
        </label>
    }
}

/// A native `<select>` over `(value, label)` options.
#[component]
pub fn SelectField(
    name: &'static str,
    value: RwSignal<String>,
    #[prop(into)] options: Signal<Vec<(String, String)>>,
    #[prop(optional, into)] error: Signal<Option<String>>,
    #[prop(optional)] class: &'static str,
    children: Children,
) -> impl IntoView {
    let id = format!("f-{name}");
    let label_for = id.clone();
    let err_id = format!("{id}-error");
    // (The label does not wrap the select: its name would take in every option's text.)
    view! {
        <div class=format!("field {class}")>
            <label class="label" for=label_for>{children()}</label>
            <select id=id name=name on:change=move |ev| value.set(event_target_value(&ev))
                aria-invalid=move || error.with(|e| e.is_some().then_some("true"))
                aria-describedby=move || error.with(|e| e.is_some().then(|| err_id.clone()))>
                {move || options.get().into_iter().map(|(v, label)| {
                    let selected = value.with_untracked(|cur| *cur == v);
                    view! { <option value=v.clone() selected=selected>{label}</option> }
                }).collect_view()}
            </select>
            {described(error, format!("f-{name}-error"))}
        </div>
    }
}

/// A date typed day first in the app's language (`26.11.2026` / `26/11/2026`); `value` holds
/// it as `YYYY-MM-DD` once it reads as a date, else what was typed (the server then says what
/// is wrong, next to the field).
#[component]
pub fn DateField(
    name: &'static str,
    value: RwSignal<String>,
    #[prop(optional, into)] error: Signal<Option<String>>,
    #[prop(optional)] class: &'static str,
    children: Children,
) -> impl IntoView {
    let l = crate::lang::use_locale();
    let id = format!("f-{name}");
    let label_for = id.clone();
    let err_id = format!("{id}-error");
    let shown = move || {
        let v = value.get();
        match domain::iso::parse_date(&v) {
            Some(d) => lang::date_numeric(l, d),
            None => v,
        }
    };
    let on_change = move |ev: leptos::ev::Event| {
        let typed = event_target_value(&ev);
        let this_year = domain::iso::parse_date(&value.get_untracked()).map(|d| d.year()).unwrap_or(2026);
        value.set(match lang::parse_typed_date(&typed, this_year) {
            Some(d) => d.to_string(),
            None => typed,
        });
    };
    view! {
        <div class=format!("field date {class}")>
            <label class="label" for=label_for>{children()}</label>
            <input id=id type="text" name=name inputmode="numeric" autocomplete="off" maxlength="20"
                placeholder=td_string!(l, dates.date_example)
                prop:value=shown on:change=on_change
                aria-invalid=move || error.with(|e| e.is_some().then_some("true"))
                aria-describedby=move || error.with(|e| e.is_some().then(|| err_id.clone()))/>
            {described(error, format!("f-{name}-error"))}
        </div>
    }
}

/// A time of day on the 24-hour clock (`9`, `930`, `9.30` and `09:30` all read as 09:30);
/// `value` holds `HH:MM` once it reads as a time, else what was typed.
#[component]
pub fn TimeField(
    name: &'static str,
    value: RwSignal<String>,
    #[prop(optional, into)] error: Signal<Option<String>>,
    #[prop(optional)] class: &'static str,
    children: Children,
) -> impl IntoView {
    let id = format!("f-{name}");
    let label_for = id.clone();
    let err_id = format!("{id}-error");
    let on_change = move |ev: leptos::ev::Event| {
        let typed = event_target_value(&ev);
        value.set(match lang::parse_typed_time(&typed) {
            Some((h, m)) => format!("{h:02}:{m:02}"),
            None => typed,
        });
    };
    view! {
        <div class=format!("field time {class}")>
            <label class="label" for=label_for>{children()}</label>
            <input id=id type="text" name=name inputmode="numeric" autocomplete="off" maxlength="8" placeholder="14:30"
                prop:value=move || value.get() on:change=on_change
                aria-invalid=move || error.with(|e| e.is_some().then_some("true"))
                aria-describedby=move || error.with(|e| e.is_some().then(|| err_id.clone()))/>
            {described(error, format!("f-{name}-error"))}
        </div>
    }
}
