//! A type-ahead over a list (the WAI-ARIA combobox pattern with a list box): type to filter,
//! arrow keys move through the matches, Enter picks, Escape closes; the number of matches is
//! announced. Used for time zones here and for people and organisations in the editor.

use leptos::prelude::*;


/// At most this many matches are listed (type more to narrow them down).
const SHOWN: usize = 50;

pub use domain::search::matches;

/// The keys of the combobox pattern in its input: Down opens the list or moves down it, Up
/// moves up, Escape closes it, and Enter on an open list gives the index of the active option
/// (of `count` listed) to pick. Shared by every type-ahead.
pub fn list_key(ev: &leptos::ev::KeyboardEvent, open: RwSignal<bool>, active: RwSignal<usize>, count: usize) -> Option<usize> {
    match ev.key().as_str() {
        "ArrowDown" => {
            ev.prevent_default();
            if !open.get_untracked() {
                open.set(true);
                active.set(0);
            } else {
                active.update(|a| *a = (*a + 1).min(count.saturating_sub(1)));
            }
        }
        "ArrowUp" => {
            ev.prevent_default();
            active.update(|a| *a = a.saturating_sub(1));
        }
        "Enter" if open.get_untracked() => {
            ev.prevent_default();
            return Some(active.get_untracked());
        }
        "Escape" if open.get_untracked() => {
            ev.prevent_default();
            open.set(false);
        }
        _ => {}
    }
    None
}

#[component]
pub fn Combobox(
    name: &'static str,
    /// The chosen option.
    value: RwSignal<String>,
    #[prop(into)] options: Signal<Vec<String>>,
    #[prop(optional, into)] error: Signal<Option<String>>,
    #[prop(optional, into)] hint: Option<Signal<String>>,
    children: Children,
) -> impl IntoView {
    let l = crate::lang::use_locale();
    let id = format!("f-{name}");
    let list_id = format!("{id}-list");
    let query = RwSignal::new(value.get_untracked());
    let open = RwSignal::new(false);
    let active = RwSignal::new(0usize);
    let found = Memo::new(move |_| {
        let q = query.get();
        options.with(|all| all.iter().filter(|o| q.trim().is_empty() || matches(o, &q)).take(SHOWN).cloned().collect::<Vec<_>>())
    });
    let choose = move |v: String| {
        query.set(v.clone());
        value.set(v);
        open.set(false);
    };
    let option_id = {
        let id = id.clone();
        move |i: usize| format!("{id}-opt-{i}")
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if let Some(i) = list_key(&ev, open, active, found.with_untracked(Vec::len)) {
            if let Some(v) = found.with_untracked(|f| f.get(i).cloned()) {
                choose(v);
            }
        }
    };
    let described = hint.map(|_| format!("{id}-hint"));
    let active_id = {
        let option_id = option_id.clone();
        move || (open.get() && found.with(|f| !f.is_empty())).then(|| option_id(active.get()))
    };
    let list_id2 = list_id.clone();
    view! {
        <div class="field combobox">
            <label for=id.clone() class="label">{children()}</label>
            <input id=id.clone() name=name type="text" role="combobox" autocomplete="off" maxlength="100"
                aria-autocomplete="list" aria-controls=list_id.clone() aria-expanded=move || open.get().to_string()
                aria-activedescendant=active_id aria-describedby=described.clone()
                aria-invalid=move || error.with(|e| e.is_some().then_some("true"))
                prop:value=move || query.get()
                on:input=move |ev| { query.set(event_target_value(&ev)); open.set(true); active.set(0); }
                on:keydown=on_key
                on:blur=move |_| open.set(false)/>
            {hint.map(|h| view! { <span class="hint" id=format!("f-{name}-hint")>{move || h.get()}</span> })}
            <ul id=list_id2 role="listbox" class="listbox" hidden=move || !open.get() || found.with(|f| f.is_empty())>
                {move || found.get().into_iter().enumerate().map(|(i, o)| {
                    let pick = o.clone();
                    view! {
                        <li id=option_id(i) role="option" aria-selected=move || (active.get() == i).to_string()
                            class:active=move || active.get() == i
                            // mousedown, not click: it comes before the input's blur closes the list.
                            on:mousedown=move |ev| { ev.prevent_default(); choose(pick.clone()); }>
                            {o}
                        </li>
                    }
                }).collect_view()}
            </ul>
            <span class="sr-only" role="status" aria-live="polite">
                {move || open.get().then(|| tdf!(l, app.results, count = found.with(Vec::len)))}
            </span>
            {move || error.get().map(|m| view! { <span class="field-error">{m}</span> })}
        </div>
    }
}
