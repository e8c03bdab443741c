//! Push delivery retries a listener that fails for a moment, and gives up on one that refuses.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::http::StatusCode;
use emulator::model::{Provider, Subscription};
use emulator::push::{deliver, PushRequest};
use emulator::{Config, Emulator};

/// A listener answering the given statuses in turn (then 200); returns its URL and hit counter.
async fn listener(statuses: Vec<StatusCode>) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let status = statuses.get(n).copied().unwrap_or(StatusCode::OK);
        async move { status }
    });
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    (url, hits)
}

fn subscription(url: &str) -> Subscription {
    Subscription {
        id: "sub-1".into(),
        provider: Provider::Graph,
        mailbox: "a@x.example".into(),
        url: Some(url.into()),
        secret: None,
        resource_id: String::new(),
        expires: chrono::Utc::now() + chrono::Duration::hours(1),
        message_number: 1,
        data: serde_json::Value::Null,
    }
}

fn request() -> PushRequest {
    PushRequest { content_type: "application/json", headers: vec![], body: b"{}".to_vec() }
}

#[tokio::test]
async fn a_listener_that_fails_for_a_moment_still_gets_the_notification() {
    let emu = Emulator::new(Config::default());
    let (url, hits) = listener(vec![StatusCode::SERVICE_UNAVAILABLE, StatusCode::INTERNAL_SERVER_ERROR]).await;
    assert!(deliver(&emu, &subscription(&url), request()).await);
    assert_eq!(hits.load(Ordering::SeqCst), 3, "two failures, then delivered");
}

#[tokio::test]
async fn a_listener_that_refuses_is_not_retried() {
    let emu = Emulator::new(Config::default());
    let (url, hits) = listener(vec![StatusCode::FORBIDDEN]).await;
    assert!(!deliver(&emu, &subscription(&url), request()).await);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}
