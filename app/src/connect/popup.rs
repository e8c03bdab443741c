//! OAuth consent in a pop-up (F-ADM-3, F-ADM-4). The pop-up is opened in the click handler
//! itself (browsers block one opened later), at `/connect/{google|microsoft}`, which sends it
//! on to the provider. The server's last page in the pop-up reports on a BroadcastChannel —
//! `window.opener` does not survive the providers' cross-origin-opener policies — and closes
//! it; the connection's live status event updates every open page besides. A pop-up closed
//! before that (or cut off from us by such a policy, which looks the same from here) is said
//! so, and nothing was stored.

use leptos::prelude::*;

use crate::i18n::*;

/// What the server's last pop-up page says.
#[derive(Clone, Debug, serde::Deserialize)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
struct Outcome {
    user: String,
    problem: Option<domain::Refusal>,
}

#[derive(Clone, Debug, PartialEq)]
enum State {
    Idle,
    Waiting,
    Failed(String),
}

/// The button that starts consent for `user_id`'s own calendar at `provider` (`google`,
/// `microsoft`: then for the address `email`).
#[component]
pub fn OAuthButton(user_id: String, provider: &'static str, email: Signal<String>, on_done: Callback<()>, children: Children) -> impl IntoView {
    let l = crate::lang::use_locale();
    let state = RwSignal::new(State::Idle);
    let user_id = StoredValue::new(user_id);
    #[cfg(feature = "hydrate")]
    let popup = listen(user_id, state, on_done, l);
    // (On the server the button only renders.)
    #[cfg(not(feature = "hydrate"))]
    let _ = (user_id, on_done);
    let start = move |_| {
        let address = email.get_untracked().trim().to_string();
        if provider == "microsoft" && !address.contains('@') {
            state.set(State::Failed(super::refusal_text(l, &domain::Refusal::NotAnEmail)));
            return;
        }
        #[cfg(feature = "hydrate")]
        {
            let mut url = format!("/connect/{provider}");
            if !address.is_empty() {
                url.push_str("?email=");
                url.push_str(&String::from(js_sys::encode_uri_component(&address)));
            }
            match window().open_with_url_and_target_and_features(&url, crate::connect::CHANNEL, "popup,width=520,height=720") {
                Ok(Some(w)) => {
                    popup.set_value(Some(send_wrapper::SendWrapper::new(w)));
                    state.set(State::Waiting);
                }
                _ => state.set(State::Failed(td_string!(l, setup.popup_blocked).to_string())),
            }
        }
    };
    view! {
        <div class="oauth">
            <button type="button" class="btn primary" on:click=start disabled=move || state.get() == State::Waiting>{children()}</button>
            <p class="oauth-state" role="status" aria-live="polite">
                {move || match state.get() {
                    State::Idle => None,
                    State::Waiting => Some(view! { <span class="waiting">{td_string!(l, setup.waiting)}</span> }.into_any()),
                    State::Failed(text) => Some(view! { <span class="error">{text}</span> }.into_any()),
                }}
            </p>
        </div>
    }
}

/// Listens for the pop-up's report and watches it close; returns where the open pop-up goes.
#[cfg(feature = "hydrate")]
fn listen(
    user_id: StoredValue<String>,
    state: RwSignal<State>,
    on_done: Callback<()>,
    l: Locale,
) -> StoredValue<Option<send_wrapper::SendWrapper<web_sys::Window>>> {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    let popup: StoredValue<Option<send_wrapper::SendWrapper<web_sys::Window>>> = StoredValue::new(None);
    let Ok(channel) = web_sys::BroadcastChannel::new(crate::connect::CHANNEL) else { return popup };
    let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
        let Some(outcome) = e.data().as_string().or_else(|| js_sys::JSON::stringify(&e.data()).ok().map(String::from)).and_then(|d| serde_json::from_str::<Outcome>(&d).ok()) else {
            return;
        };
        if outcome.user != user_id.get_value() {
            return;
        }
        popup.set_value(None);
        match outcome.problem {
            None => {
                state.set(State::Idle);
                on_done.run(());
            }
            Some(r) => state.set(State::Failed(super::refusal_text(l, &r))),
        }
    });
    channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // A pop-up closed without a report: give a report on its way a moment, then say so.
    let closed_since = StoredValue::new(0u8);
    let watch = set_interval_with_handle(
        move || {
            let closed = popup.with_value(|p| p.as_ref().is_some_and(|w| w.closed().unwrap_or(true)));
            if !closed || state.get_untracked() != State::Waiting {
                closed_since.set_value(0);
                return;
            }
            closed_since.update_value(|n| *n += 1);
            if closed_since.get_value() >= 3 {
                popup.set_value(None);
                state.set(State::Failed(td_string!(l, setup.popup_closed).to_string()));
            }
        },
        std::time::Duration::from_millis(400),
    )
    .ok();
    let channel = send_wrapper::SendWrapper::new((channel, on_message));
    on_cleanup(move || {
        let (channel, _handler) = channel.take();
        channel.close();
        if let Some(w) = watch {
            w.clear();
        }
    });
    popup
}
