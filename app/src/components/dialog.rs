//! A modal dialog on the native `<dialog>` element (WAI-ARIA dialog pattern, F-X-7): opened
//! with `showModal()`, so the browser keeps focus inside it and makes the page behind inert;
//! Escape closes it; focus goes back to what opened it.

use leptos::prelude::*;

/// Shown while mounted. `on_close` runs on Escape (and when the caller's own buttons call it).
#[component]
pub fn Dialog(
    /// The id of the element that names the dialog (its heading).
    labelled_by: &'static str,
    #[prop(into)] on_close: Callback<()>,
    #[prop(optional)] class: &'static str,
    children: Children,
) -> impl IntoView {
    let node = NodeRef::<leptos::html::Dialog>::new();
    #[cfg(feature = "hydrate")]
    {
        // What had focus before, to give it back when the dialog goes away.
        let opener = send_wrapper::SendWrapper::new(document().active_element());
        // Opened once the element is in the page (`showModal` refuses a detached one, and a
        // Suspense may build the view before inserting it).
        fn open_when_attached(node: NodeRef<leptos::html::Dialog>, tries: u8) {
            request_animation_frame(move || match node.try_get_untracked().flatten() {
                Some(d) if d.is_connected() => {
                    if !d.open() {
                        let _ = d.show_modal();
                    }
                }
                _ if tries > 0 => open_when_attached(node, tries - 1),
                _ => {}
            });
        }
        Effect::new(move |_| open_when_attached(node, 30));
        on_cleanup(move || {
            // Closed first: while a modal dialog is open the page behind it is inert and
            // cannot take focus.
            if let Some(d) = node.try_get_untracked().flatten() {
                d.close();
            }
            if let Some(el) = opener.take() {
                use wasm_bindgen::JsCast;
                if el.is_connected() {
                    if let Some(el) = el.dyn_ref::<web_sys::HtmlElement>() {
                        // Without scrolling: the page stays where the user left it (a
                        // scrolled calendar would otherwise jump under the pointer).
                        let options = web_sys::FocusOptions::new();
                        options.set_prevent_scroll(true);
                        let _ = el.focus_with_options(&options);
                    }
                }
            }
        });
    }
    // The browser's own Escape handling closes the dialog; keep our state in step instead.
    let on_cancel = move |ev: leptos::ev::Event| {
        ev.prevent_default();
        on_close.run(());
    };
    view! {
        <dialog node_ref=node class=format!("dialog {class}") aria-labelledby=labelled_by aria-modal="true" on:cancel=on_cancel>
            {children()}
        </dialog>
    }
}
