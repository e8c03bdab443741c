//! HTTP guards in front of the app: sign-in redirects for pages, origin checks for state
//! changes, security headers.

use app::auth::server::{authenticate, Auth};
use app::state::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use http::{header, HeaderValue, Method, StatusCode};

/// Pages that need a signed-in user.
fn is_private_page(path: &str) -> bool {
    matches!(path, "/" | "/calendar")
}

pub async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD) && !same_origin(&req) {
        return (StatusCode::FORBIDDEN, "Cross-site request refused.").into_response();
    }
    let path = req.uri().path().to_string();
    if req.method() == Method::GET && (is_private_page(&path) || path == "/login") {
        let auth = match authenticate(&state.store, req.headers()).await {
            Ok(a) => a,
            Err(_) => return (StatusCode::SERVICE_UNAVAILABLE, "The database is not available. Please try again shortly.").into_response(),
        };
        match (auth, path.as_str()) {
            (Auth::User(_), "/" | "/login") => return Redirect::to("/calendar").into_response(),
            // The page render reads the user from here instead of looking the session up again.
            (Auth::User(user), _) => {
                req.extensions_mut().insert(user);
            }
            (_, "/login") => {}
            (auth, _) => {
                let here = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/calendar");
                let next: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
                let expired = if matches!(auth, Auth::Expired) { "expired=1&" } else { "" };
                return Redirect::to(&format!("/login?{expired}next={next}")).into_response();
            }
        }
    }
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    res
}

/// A state-changing request must come from our own pages: the browser's `Sec-Fetch-Site`
/// and `Origin` headers must not name another site (defence in depth beside SameSite cookies).
fn same_origin(req: &Request) -> bool {
    let headers = req.headers();
    if headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).is_some_and(|v| v == "cross-site") {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
    origin != "null" && origin_host.eq_ignore_ascii_case(host)
}
