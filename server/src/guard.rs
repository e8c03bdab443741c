//! The HTTP guard in front of everything: access is denied by default. Only the paths
//! `app::routes::is_public` names are open; every other request is authenticated once, here,
//! and the signed-in user is handed on in the request's extensions (pages, server functions,
//! live updates and the OAuth connect flow read it from there). Also: origin checks for state
//! changes, security headers.

use app::error::AppError;
use app::routes;
use app::state::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use http::{header, HeaderValue, Method, StatusCode};
use sessions::{authenticate, Auth};

pub async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD) && !same_origin(&req) {
        return (StatusCode::FORBIDDEN, "Cross-site request refused.").into_response();
    }
    let path = req.uri().path().to_string();
    let public = routes::is_public(&path);
    // The sign-in page also looks: a signed-in user is sent on to the calendar, and its
    // language follows the user's choice where there is one.
    if !public || path == routes::LOGIN {
        let auth = match authenticate(&state.store, req.headers()).await {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "authentication: database unavailable");
                return (StatusCode::SERVICE_UNAVAILABLE, "The database is not available. Please try again shortly.").into_response();
            }
        };
        match auth {
            Auth::User(_) if path == routes::LOGIN || path == routes::HOME => return Redirect::to(routes::CALENDAR).into_response(),
            Auth::User(user) => {
                req.extensions_mut().insert(user);
            }
            _ if public => {}
            other => return refuse(&req, matches!(other, Auth::Expired)),
        }
    }
    let mut res = next.run(req).await;
    if res.status() == StatusCode::INTERNAL_SERVER_ERROR && res.headers().contains_key(leptos::server_fn::error::SERVER_FN_ERROR_HEADER) {
        res = with_error_status(res).await;
    }
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    res
}

/// Not signed in: pages go to the sign-in page (and come back after it); server functions and
/// other calls get 401 with the app's error, which the page shows as "please sign in".
fn refuse(req: &Request, expired: bool) -> Response {
    let path = req.uri().path();
    let is_page = matches!(*req.method(), Method::GET | Method::HEAD) && !path.starts_with(routes::API);
    if is_page {
        let here = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or(routes::CALENDAR);
        return Redirect::to(&routes::login_href(here, expired)).into_response();
    }
    let error = if expired { AppError::SessionExpired } else { AppError::NotSignedIn };
    let body = serde_json::to_string(&error).unwrap_or_default();
    (StatusCode::UNAUTHORIZED, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A server function that failed before its own code ran (its arguments could not be read)
/// answers 500 by default; the status follows the app's error instead (a malformed request is
/// a 400, never a 500).
async fn with_error_status(res: Response) -> Response {
    let (mut parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = error.status();
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
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
