//! TODO(helper): graph front-end.

use axum::response::Response;
use axum::Router;

use crate::model::{ChangeNote, FaultKind, Subscription};
use crate::push::PushRequest;
use crate::Emulator;

pub fn router() -> Router<Emulator> {
    Router::new()
}

/// The provider's answer for an injected error status or throttling fault.
pub fn fault_response(_kind: &FaultKind) -> Response {
    todo!()
}

/// The push notification for a change, in this provider's format (None: nothing to send).
pub fn notification(_sub: &Subscription, _note: &ChangeNote) -> Option<PushRequest> {
    todo!()
}
