//! Which calendars are shown, in which colour (F-CAL-7): the viewer's own and each colleague
//! whose calendar is connected and synchronised (the others are not listed). Choices are
//! stored for the user on the server, so they come back on any device; the address still
//! wins when it names colleagues.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use super::api::{save_calendar_prefs, Colleague, PALETTE};
use super::use_calendar;
use crate::i18n::*;
use crate::me::use_me;

pub fn colour_name(l: Locale, index: u8) -> &'static str {
    match PALETTE.get(usize::from(index)).copied().unwrap_or("blue") {
        "green" => td_string!(l, colours.green),
        "orange" => td_string!(l, colours.orange),
        "purple" => td_string!(l, colours.purple),
        "red" => td_string!(l, colours.red),
        "teal" => td_string!(l, colours.teal),
        "pink" => td_string!(l, colours.pink),
        "brown" => td_string!(l, colours.brown),
        "slate" => td_string!(l, colours.slate),
        "olive" => td_string!(l, colours.olive),
        _ => td_string!(l, colours.blue),
    }
}

#[component]
pub fn Picker() -> impl IntoView {
    let l = crate::lang::use_locale();
    let cal = use_calendar();
    let me = use_me();
    let navigate = use_navigate();
    let expanded = RwSignal::new(false);
    // A choice shows once it is stored (the calendar reads itself again); one that could not
    // be stored is not shown as if it were. (A plain call: a server action's machinery is
    // several kilobytes of WebAssembly, for state this does not need.)
    let save = move |shown: Option<Vec<String>>, colours: Vec<(String, u8)>| {
        leptos::task::spawn_local(async move {
            let _ = save_calendar_prefs(shown, colours).await;
            cal.reload.update(|n| *n += 1);
        });
    };
    let shown_ids = move || cal.data.with(|d| d.as_ref().map(|d| d.lanes.iter().skip(1).map(|l| l.user_id.clone()).collect::<Vec<_>>()).unwrap_or_default());
    let toggle = move |id: String, show: bool| {
        let mut ids = shown_ids();
        ids.retain(|u| *u != id);
        if show {
            ids.push(id);
        }
        navigate(&cal.url.with_untracked(|u| u.with_users(ids.clone()).href()), Default::default());
        save(Some(ids), Vec::new());
    };
    let set_colour = move |id: String, colour: u8| {
        save(None, vec![(id, colour)]);
    };
    let colleagues = move || cal.data.with(|d| d.as_ref().map(|d| d.colleagues.clone()).unwrap_or_default());
    // Each row's state (shown, colour) by id, built once per load: a row looks itself up here
    // instead of searching the list (hundreds of rows each searching hundreds was quadratic).
    let states = Memo::new(move |_| cal.data.with(|d| d.as_ref().map(|d| d.colleagues.iter().map(|c| (c.user_id.clone(), (c.shown, c.colour))).collect::<std::collections::HashMap<_, _>>()).unwrap_or_default()));
    let my_colour = move || cal.data.with(|d| d.as_ref().and_then(|d| d.lanes.first().map(|l| l.colour)).unwrap_or(0));
    let my_id = me.0.with_untracked(|m| m.id.clone());
    view! {
        <aside class="picker" class:expanded=move || expanded.get() aria-labelledby="picker-title">
            <h2 id="picker-title">
                <button type="button" class="picker-toggle" aria-expanded=move || expanded.get().to_string() aria-controls="picker-list"
                    on:click=move |_| expanded.update(|e| *e = !*e)>
                    {td_string!(l, calendar.calendars)}
                </button>
                <span class="picker-heading">{td_string!(l, calendar.calendars)}</span>
            </h2>
            <ul id="picker-list">
                <li class=move || format!("pick mine c{}", my_colour())>
                    <span class="swatch" aria-hidden="true"></span>
                    <span class="name">{td_string!(l, calendar.your_calendar)}</span>
                    <ColourSelect id=my_id.clone() name=Signal::derive(move || me.0.with(|m| m.name.clone())) colour=Signal::derive(my_colour) on_pick=set_colour/>
                </li>
                <For each=colleagues key=|c: &Colleague| c.user_id.clone() let:c>
                    {
                        let id = c.user_id.clone();
                        let now = Memo::new({
                            let id = id.clone();
                            move |_| states.with(|s| s.get(&id).copied().unwrap_or((false, 0)))
                        });
                        let shown = move || now.get().0;
                        let colour = Signal::derive(move || now.get().1);
                        let name = c.name.clone();
                        view! {
                            <li class=move || format!("pick c{}", colour.get()) class:on=shown>
                                <label class="check">
                                    <input type="checkbox" prop:checked=shown
                                        on:change={
                                            let id = id.clone();
                                            let toggle = toggle.clone();
                                            move |ev| toggle(id.clone(), event_target_checked(&ev))
                                        }/>
                                    <span class="swatch" aria-hidden="true"></span>
                                    <span class="name">{name.clone()}</span>
                                </label>
                                // Only a shown calendar has a colour to choose: with hundreds of
                                // colleagues listed, a select for each would be most of the page.
                                {
                                    let (id, name) = (id.clone(), name.clone());
                                    move || shown().then(|| view! { <ColourSelect id=id.clone() name=Signal::stored(name.clone()) colour on_pick=set_colour/> })
                                }
                            </li>
                        }
                    }
                </For>
            </ul>
            <p class="hint" hidden=move || cal.data.with(|d| d.as_ref().is_none_or(|d| !d.colleagues.is_empty()))>{td_string!(l, calendar.picker_empty)}</p>
            <p class="tz">{move || cal.data.with(|d| d.as_ref().map(|d| tdf!(l, calendar.times_in, zone = d.time_zone.clone())))}</p>
        </aside>
    }
}

/// A calendar's colour, chosen from the palette by name (a native select: every colour is
/// named, not only shown).
#[component]
fn ColourSelect(id: String, name: Signal<String>, colour: Signal<u8>, on_pick: impl Fn(String, u8) + Copy + 'static) -> impl IntoView {
    let l = crate::lang::use_locale();
    let field = format!("colour-{id}");
    let options = move || {
        let l = l;
        (0..PALETTE.len() as u8)
            .map(|c| view! { <option value=c.to_string() selected=move || colour.get() == c>{colour_name(l, c)}</option> })
            .collect_view()
    };
    view! {
        <label class="sr-only" for=field.clone()>{move || tdf!(l, calendar.colour_of, name = name.get())}</label>
        <select id=field class="colour" title=td_string!(l, calendar.colour).to_string()
            on:change=move |ev| {
                if let Ok(c) = event_target_value(&ev).parse::<u8>() {
                    on_pick(id.clone(), c);
                }
            }>
            {options}
        </select>
    }
}
