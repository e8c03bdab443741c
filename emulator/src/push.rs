//! Push delivery: after every change, each live subscription on the changed calendar that has a
//! URL gets a POST in its provider's format (Google watch headers, Graph change-notification
//! JSON, EWS SendNotification SOAP). Failed deliveries are retried a few times with back-off,
//! as the real services do (for far shorter than their hours).

use std::time::Duration;

use chrono::Utc;

use crate::model::{ChangeNote, Provider, State, Subscription};
use crate::{ews, google, graph, Emulator};

/// A notification ready to POST.
pub struct PushRequest {
    pub content_type: &'static str,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Subscriptions that should hear about these changes (message numbers counted up).
pub(crate) fn due(state: &mut State, notes: &[ChangeNote]) -> Vec<(Subscription, ChangeNote)> {
    let now = Utc::now();
    let mut out = Vec::new();
    for note in notes {
        for sub in state.subscriptions.values_mut() {
            if sub.provider == note.provider && sub.mailbox == note.mailbox && sub.expires > now && sub.url.is_some() {
                sub.message_number += 1;
                out.push((sub.clone(), note.clone()));
            }
        }
    }
    out
}

pub(crate) fn spawn_delivery(emulator: Emulator, sub: Subscription, note: ChangeNote) {
    let request = match sub.provider {
        Provider::Google => google::notification(&sub, &note),
        Provider::Graph => graph::notification(&sub, &note),
        Provider::Ews => ews::notification(&sub, &note),
    };
    let Some(request) = request else { return };
    tokio::spawn(async move { deliver(&emulator, &sub, request).await });
}

/// POSTs `request` to the subscription's URL, retrying 5xx and network failures.
pub async fn deliver(emulator: &Emulator, sub: &Subscription, request: PushRequest) -> bool {
    let Some(url) = sub.url.clone() else { return false };
    for attempt in 0..4u32 {
        let mut req = emulator.http().post(&url).header("content-type", request.content_type).body(request.body.clone());
        for (k, v) in &request.headers {
            req = req.header(k, v);
        }
        match req.send().await {
            Ok(resp) if resp.status().is_success() => {
                if sub.provider == Provider::Ews {
                    let body = resp.bytes().await.unwrap_or_default();
                    if ews::push_answer_unsubscribes(&body) {
                        emulator.with_state(|s| s.subscriptions.remove(&sub.id));
                    }
                }
                return true;
            }
            Ok(resp) if resp.status().is_client_error() => {
                tracing::debug!("push to {url} refused: {}", resp.status());
                return false;
            }
            Ok(_) | Err(_) => tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt))).await,
        }
    }
    false
}
