//! The editor's three type-aheads (F-EDIT-1): organisations, persons and colleagues, each
//! searching the company's records on the server as one types (the WAI-ARIA combobox
//! pattern: arrow keys, Enter, Escape, the number of results announced). What is chosen is
//! listed under the box, with the attendee's answer and a button to remove it. In the persons
//! box an e-mail address that matches no one can be added as an external guest.

use leptos::prelude::*;

use super::api::{search_people, Choice, PeopleKind};
use crate::components::list_key;
use crate::i18n::*;

/// Whether `s` reads as one e-mail address.
fn is_email(s: &str) -> bool {
    let s = s.trim();
    match s.split_once('@') {
        Some((local, domain)) => !local.is_empty() && domain.contains('.') && !domain.ends_with('.') && !s.contains(char::is_whitespace) && s.len() <= 254,
        None => false,
    }
}

/// An option of the list: a record, or "add this address as a guest".
#[derive(Clone, Debug, PartialEq)]
enum Offer {
    Record(Choice),
    Guest(String),
}

#[component]
pub fn PeopleBox(
    name: &'static str,
    kind: PeopleKind,
    chosen: RwSignal<Vec<Choice>>,
    /// External guests (the persons box adds them).
    #[prop(optional)]
    guests: Option<RwSignal<Vec<Choice>>>,
    /// Organisations whose persons are offered first.
    #[prop(optional, into)]
    preferred: Signal<Vec<String>>,
    #[prop(into)] disabled: Signal<bool>,
    #[prop(optional, into)] error: Signal<Option<String>>,
    label: String,
) -> impl IntoView {
    let l = crate::lang::use_locale();
    let id = format!("f-{name}");
    let list_id = format!("{id}-list");
    let query = RwSignal::new(String::new());
    let open = RwSignal::new(false);
    let active = RwSignal::new(0usize);
    let results = RwSignal::new(Vec::<Choice>::new());
    // Answers arrive out of order; only the latest query's is shown.
    let asked = StoredValue::new(0u64);
    let offers = Memo::new(move |_| {
        let taken = |c: &Choice| chosen.with(|all| all.iter().any(|x| (!c.id.is_empty() && x.id == c.id) || (c.id.is_empty() && x.email == c.email)));
        let mut v: Vec<Offer> = results.with(|r| r.iter().filter(|c| !taken(c)).cloned().map(Offer::Record).collect());
        let q = query.get();
        if guests.is_some() && is_email(&q) && !results.with(|r| r.iter().any(|c| c.email.eq_ignore_ascii_case(q.trim()))) {
            v.push(Offer::Guest(q.trim().to_ascii_lowercase()));
        }
        v
    });
    let search = move |q: String| {
        let n = asked.get_value() + 1;
        asked.set_value(n);
        if q.trim().is_empty() {
            results.set(Vec::new());
            return;
        }
        let preferred = preferred.get_untracked();
        leptos::task::spawn_local(async move {
            let found = search_people(kind, q, preferred).await.unwrap_or_default();
            // (The dialog may have closed meanwhile: then nothing is set.)
            if asked.try_get_value() == Some(n) {
                results.try_set(found);
                active.try_set(0);
            }
        });
    };
    let pick = move |o: Offer| {
        match o {
            Offer::Record(c) => chosen.update(|v| v.push(c)),
            Offer::Guest(email) => {
                if let Some(g) = guests {
                    g.update(|v| {
                        if !v.iter().any(|c| c.email == email) {
                            v.push(Choice { name: email.clone(), email, ..Choice::default() })
                        }
                    });
                }
            }
        }
        query.set(String::new());
        results.set(Vec::new());
        open.set(false);
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" {
            // Enter in the box never submits the form.
            ev.prevent_default();
        }
        if let Some(i) = list_key(&ev, open, active, offers.with_untracked(Vec::len)) {
            if let Some(o) = offers.with_untracked(|f| f.get(i).cloned()) {
                pick(o);
            }
        }
    };
    let option_id = {
        let id = id.clone();
        move |i: usize| format!("{id}-opt-{i}")
    };
    let active_id = {
        let option_id = option_id.clone();
        move || (open.get() && offers.with(|f| !f.is_empty())).then(|| option_id(active.get()))
    };
    let hint_id = format!("{id}-hint");
    let hint = if guests.is_some() { format!("{} {}", td_string!(l, editor.people_hint), td_string!(l, editor.guest_hint)) } else { td_string!(l, editor.people_hint).to_string() };
    view! {
        <div class="field people">
            <label for=id.clone() class="label">{label}</label>
            <div class="anchor">
            <input id=id.clone() name=name type="text" role="combobox" autocomplete="off" maxlength="100"
                aria-autocomplete="list" aria-controls=list_id.clone() aria-expanded=move || open.get().to_string()
                aria-activedescendant=active_id aria-describedby=hint_id.clone()
                aria-invalid=move || error.with(|e| e.is_some().then_some("true"))
                disabled=disabled
                prop:value=move || query.get()
                on:input=move |ev| { let q = event_target_value(&ev); query.set(q.clone()); open.set(true); active.set(0); search(q); }
                on:keydown=on_key
                on:blur=move |_| open.set(false)/>
            <ul id=list_id role="listbox" class="listbox" hidden=move || !open.get() || offers.with(|f| f.is_empty())>
                {move || offers.get().into_iter().enumerate().map(|(i, o)| {
                    let text = match &o {
                        Offer::Record(c) => line(c),
                        Offer::Guest(email) => tdf!(l, editor.add_guest, email = email.clone()),
                    };
                    view! {
                        <li id=option_id(i) role="option" aria-selected=move || (active.get() == i).to_string()
                            class:active=move || active.get() == i
                            // mousedown, not click: it comes before the input's blur closes the list.
                            on:mousedown=move |ev| { ev.prevent_default(); pick(o.clone()); }>
                            {text}
                        </li>
                    }
                }).collect_view()}
            </ul>
            </div>
            <span class="hint" id=hint_id>{hint}</span>
            <span class="sr-only" role="status" aria-live="polite">
                {move || open.get().then(|| tdf!(l, app.results, count = offers.with(Vec::len)))}
            </span>
            {move || error.get().map(|m| view! { <span class="field-error">{m}</span> })}
            <Chosen list=chosen disabled/>
            {guests.map(|g| view! { <Chosen list=g disabled/> })}
        </div>
    }
}

/// A record as the list shows it: name, then what tells namesakes apart.
fn line(c: &Choice) -> String {
    [c.name.as_str(), c.email.as_str(), c.detail.as_str()].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" · ")
}

/// The chosen ones, each with its answer and a remove button.
#[component]
fn Chosen(list: RwSignal<Vec<Choice>>, #[prop(into)] disabled: Signal<bool>) -> impl IntoView {
    let l = crate::lang::use_locale();
    view! {
        <ul class="chosen" hidden=move || list.with(Vec::is_empty)>
            {move || list.get().into_iter().map(|c| {
                let key = (c.id.clone(), c.email.clone());
                let remove = tdf!(l, editor.remove, name = c.name.clone());
                let detail = [c.email.as_str(), c.detail.as_str()].into_iter().filter(|s| !s.is_empty() && *s != c.name).collect::<Vec<_>>().join(" · ");
                view! {
                    <li>
                        <span class="what">
                            <span class="who">{c.name.clone()}</span>
                            {(!detail.is_empty()).then(|| view! { <span class="detail">{detail}</span> })}
                            {c.answer.and_then(|a| answer_text(l, a)).map(|(text, class)| view! { <span class=format!("answer {class}")>{text}</span> })}
                            {c.auto.then(|| view! { <span class="auto">{td_string!(l, editor.linked_auto)}</span> })}
                        </span>
                        <button type="button" class="remove" aria-label=remove.clone() title=remove disabled=disabled
                            on:click=move |_| list.update(|v| v.retain(|x| (x.id.clone(), x.email.clone()) != key))>"×"</button>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

/// An attendee's answer as shown beside them, and its class.
fn answer_text(l: Locale, a: domain::Answer) -> Option<(String, &'static str)> {
    use domain::Answer;
    Some(match a {
        Answer::Organiser => return None,
        Answer::Accepted => (td_string!(l, editor.answer_accepted).to_string(), "accepted"),
        Answer::Tentative => (td_string!(l, editor.answer_tentative).to_string(), "tentative"),
        Answer::Declined => (td_string!(l, editor.answer_declined).to_string(), "declined"),
        Answer::None => (td_string!(l, editor.answer_none).to_string(), "none"),
    })
}

#[cfg(test)]
mod tests {
    use super::is_email;

    #[test]
    fn guest_addresses() {
        assert!(is_email("kim@example.org"));
        assert!(is_email(" kim@example.org "));
        assert!(!is_email("kim@example"));
        assert!(!is_email("kim"));
        assert!(!is_email("@example.org"));
        assert!(!is_email("kim @example.org"));
    }
}
