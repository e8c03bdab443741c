//! Sign-in page and the sign-in / sign-out server functions (F-X-1).

#[cfg(feature = "ssr")]
pub mod server;

use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[server(endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    crate::error::respond(async {
        server::sign_in(&email, &password).await?;
        leptos_axum::redirect(&server::safe_next(next.as_deref()));
        Ok(())
    }
    .await)
}

#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    crate::error::respond(async {
        server::sign_out().await?;
        leptos_axum::redirect("/login");
        Ok(())
    }
    .await)
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let expired = move || query.with(|q| q.get("expired").is_some());
    let next = move || query.with(|q| q.get("next")).unwrap_or_default();
    let error = move || login.value().get().and_then(Result::err);
    view! {
        <main class="login">
            <h1>"CRM Calendar"</h1>
            <p class="tagline">"Your meetings, your customers, every calendar in sync."</p>
            <ActionForm action=login>
                <Show when=move || expired() && error().is_none()>
                    <p class="notice" role="status">"Your session has expired. Please sign in again."</p>
                </Show>
                {move || error().map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
                <label>
                    "E-mail"
                    <input type="email" name="email" autocomplete="username" required autofocus/>
                </label>
                <label>
                    "Password"
                    <input type="password" name="password" autocomplete="current-password" required/>
                </label>
                <input type="hidden" name="next" prop:value=next/>
                <button type="submit" disabled=move || login.pending().get()>"Sign in"</button>
            </ActionForm>
        </main>
    }
}

/// The sign-out button of the page header.
#[component]
pub fn SignOut() -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    view! {
        <ActionForm action=logout>
            <button type="submit" class="link">"Sign out"</button>
        </ActionForm>
    }
}
