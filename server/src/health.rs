//! Operations endpoints: `/healthz` (the process answers), `/readyz` (it can serve: the
//! database answers) and `/metrics` (Prometheus text format). They carry no tenant data.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use store::Store;

pub fn router(store: Store) -> Router {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics)).with_state(store)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(store): State<Store>) -> Response {
    // A round trip, not a count: the probe runs often and must stay cheap as the queue grows.
    match store.ping().await {
        Ok(()) => "ready\n".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: database");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

async fn metrics(State(store): State<Store>) -> Response {
    let mut out = String::new();
    match store.job_count().await {
        Ok(n) => {
            out.push_str("# HELP crmcal_sync_queue_depth Sync jobs pending or running.\n# TYPE crmcal_sync_queue_depth gauge\n");
            out.push_str(&format!("crmcal_sync_queue_depth {n}\n"));
        }
        Err(_) => return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response(),
    }
    if let Ok(counts) = store.connection_status_counts().await {
        out.push_str("# HELP crmcal_calendar_connections Calendar connections by provider and status.\n# TYPE crmcal_calendar_connections gauge\n");
        for (provider, status, n) in counts {
            out.push_str(&format!("crmcal_calendar_connections{{provider=\"{provider}\",status=\"{status}\"}} {n}\n"));
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out).into_response()
}
