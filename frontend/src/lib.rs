//! Browser entry point: hydrates the server-rendered page.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Panics carry their message to the console in debug builds; release builds abort at once
    // (`panic=immediate-abort`, README "Production build"), so the hook would be dead weight.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    // Lazy routes and components (their own WebAssembly chunks) need the lazy-aware hydration,
    // after the chunk of a lazily loaded part the server rendered is in.
    wasm_bindgen_futures::spawn_local(async {
        app::before_hydration().await;
        leptos::mount::hydrate_lazy(app::App);
    });
}
