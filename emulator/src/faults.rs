//! Injected faults (control API `POST /_emulator/faults`): the next N API calls to a provider
//! answer with an error status, the provider's own throttling answer, a stall, or a connection
//! that breaks mid-answer. The error bodies come from each front-end, in its own envelope.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::extract::State;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::stream;

use crate::model::{FaultKind, Provider};
use crate::{ews, google, graph, Emulator};

/// Middleware (`from_fn_with_state((emulator, provider), inject)`) that consumes one pending
/// fault for `provider` per request.
pub async fn inject(State((emulator, provider)): State<(Emulator, Provider)>, req: Request, next: Next) -> Response {
    match emulator.with_state(|s| s.take_fault(provider)) {
        None => next.run(req).await,
        Some(FaultKind::LostAnswer) => {
            let _ = next.run(req).await;
            answer(provider, FaultKind::Drop).await
        }
        Some(kind) => answer(provider, kind).await,
    }
}

async fn answer(provider: Provider, kind: FaultKind) -> Response {
    match kind {
        FaultKind::Timeout { ms } => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        FaultKind::Drop => {
            // Promise a body, send a little of it, then fail the stream: hyper closes the
            // connection, and the client sees the answer broken off.
            let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
                Ok(Bytes::from_static(b"{\"partial\":")),
                Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "emulated dropped connection")),
            ];
            Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::CONTENT_LENGTH, "4096")
                .body(Body::from_stream(stream::iter(chunks)))
                .expect("static response")
        }
        other => match provider {
            Provider::Google => google::fault_response(&other),
            Provider::Graph => graph::fault_response(&other),
            Provider::Ews => ews::fault_response(&other),
        },
    }
}

