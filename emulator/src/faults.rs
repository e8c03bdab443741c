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
    let (req, fault) = if emulator.with_state(|s| s.has_targeted_fault(provider)) {
        // A fault for one operation: look at the call (an EWS operation is in the body).
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
        let method = parts.method.as_str().to_string();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let fault = emulator.with_state(|s| {
            s.take_fault_for(provider, |op| match provider {
                Provider::Ews => text.contains(&format!(":{op}>")) || text.contains(&format!(":{op} ")),
                _ => method.eq_ignore_ascii_case(op),
            })
        });
        (Request::from_parts(parts, Body::from(bytes)), fault)
    } else {
        let fault = emulator.with_state(|s| s.take_fault(provider));
        (req, fault)
    };
    match fault {
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

