//! The one error type of the app's server functions: typed, serialisable, worded in the
//! user's language where it is shown (`crate::i18n::error_text`), never as server prose.

use domain::Problem;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// Wrong password or unknown user: deliberately the same for both.
    #[error("wrong e-mail or password")]
    InvalidCredentials,
    #[error("too many sign-in attempts")]
    RateLimited,
    #[error("not signed in")]
    NotSignedIn,
    #[error("session expired")]
    SessionExpired,
    /// Input the user can correct. `field` names the form field it concerns (the form puts
    /// the message next to it); None: the form as a whole.
    #[error("invalid input ({field:?}): {problem:?}")]
    Invalid { field: Option<String>, problem: Problem },
    #[error("not found")]
    NotFound,
    /// Signed in, but not allowed (e.g. not an administrator).
    #[error("forbidden")]
    Forbidden,
    /// The request could not be read (not what a form of ours sends).
    #[error("malformed request")]
    Malformed,
    /// Details go to the server log, never to the browser.
    #[error("internal error")]
    Internal,
    /// The request did not reach the server or its answer could not be read.
    #[error("transport: {0}")]
    Transport(String),
}

impl FromServerFnError for AppError {
    type Encoder = crate::codec::JsonText;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // A malformed request (bad arguments): the user's input, not a fault of ours.
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::Deserialization(_) => AppError::Malformed,
            other => AppError::Transport(other.to_string()),
        }
    }
}

impl AppError {
    pub fn needs_sign_in(&self) -> bool {
        matches!(self, AppError::NotSignedIn | AppError::SessionExpired)
    }

    /// A problem with one field of a form.
    pub fn field(field: &str, problem: Problem) -> AppError {
        AppError::Invalid { field: Some(field.to_string()), problem }
    }

    /// A problem with the form as a whole.
    pub fn invalid(problem: Problem) -> AppError {
        AppError::Invalid { field: None, problem }
    }

    /// The problem to show next to `name`, if this error concerns that field.
    pub fn for_field(&self, name: &str) -> Option<&Problem> {
        match self {
            AppError::Invalid { field: Some(f), problem } if f == name => Some(problem),
            _ => None,
        }
    }
}

/// Checks a text field's length on the server (every field has a limit).
pub fn check_len(field: &str, value: &str, max: usize) -> Result<(), AppError> {
    if value.chars().count() > max {
        return Err(AppError::field(field, Problem::TooLong { max }));
    }
    Ok(())
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
                AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                AppError::NotFound => StatusCode::NOT_FOUND,
                AppError::Forbidden => StatusCode::FORBIDDEN,
                AppError::Malformed => StatusCode::BAD_REQUEST,
                AppError::Internal | AppError::Transport(_) => StatusCode::INTERNAL_SERVER_ERROR,
            }
        }
    }

    impl From<store::StoreError> for AppError {
        fn from(e: store::StoreError) -> Self {
            match e {
                store::StoreError::NotFound => AppError::NotFound,
                store::StoreError::Stale => AppError::invalid(domain::Problem::Stale),
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
                sync::EditError::Invalid { field, problem } => AppError::Invalid { field: field.map(str::to_string), problem },
                sync::EditError::NotFound => AppError::NotFound,
                sync::EditError::Forbidden => AppError::Forbidden,
                sync::EditError::Stale => AppError::invalid(domain::Problem::Stale),
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
