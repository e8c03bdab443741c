//! The one error type of the app's server functions: typed, serialisable, shown in the page.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// Wrong password or unknown user: deliberately the same message for both.
    #[error("Wrong e-mail or password.")]
    InvalidCredentials,
    #[error("Too many sign-in attempts. Please wait a few minutes and try again.")]
    RateLimited,
    #[error("Please sign in.")]
    NotSignedIn,
    #[error("Your session has expired. Please sign in again.")]
    SessionExpired,
    /// Input the user can correct; the message says how.
    #[error("{0}")]
    Invalid(String),
    #[error("Not found.")]
    NotFound,
    /// Details go to the server log, never to the browser.
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    /// The request did not reach the server or its answer could not be read.
    #[error("Could not reach the server ({0}). Please try again.")]
    Transport(String),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}

impl AppError {
    pub fn needs_sign_in(&self) -> bool {
        matches!(self, AppError::NotSignedIn | AppError::SessionExpired)
    }
}

#[cfg(feature = "ssr")]
mod server {
    use super::AppError;
    use http::StatusCode;

    impl AppError {
        pub fn status(&self) -> StatusCode {
            match self {
                AppError::InvalidCredentials | AppError::NotSignedIn | AppError::SessionExpired => StatusCode::UNAUTHORIZED,
                AppError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
                AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
                AppError::NotFound => StatusCode::NOT_FOUND,
                AppError::Internal | AppError::Transport(_) => StatusCode::INTERNAL_SERVER_ERROR,
            }
        }
    }

    impl From<store::StoreError> for AppError {
        fn from(e: store::StoreError) -> Self {
            match e {
                store::StoreError::NotFound => AppError::NotFound,
                other => {
                    tracing::error!(error = %other, "store error");
                    AppError::Internal
                }
            }
        }
    }

    impl From<sync::EditError> for AppError {
        fn from(e: sync::EditError) -> Self {
            match e {
                sync::EditError::Invalid(m) => AppError::Invalid(m),
                sync::EditError::NotFound => AppError::NotFound,
                e @ sync::EditError::Stale => AppError::Invalid(format!("{}{}", e.to_string()[..1].to_uppercase(), &e.to_string()[1..])),
                sync::EditError::Store(s) => s.into(),
            }
        }
    }

    /// Sets the HTTP status of a failed server function from its error.
    pub fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
        if let Err(e) = &result {
            if let Some(res) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
                res.set_status(e.status());
            }
        }
        result
    }
}

#[cfg(feature = "ssr")]
pub use server::respond;
