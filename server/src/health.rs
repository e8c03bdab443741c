//! Operations endpoints: `/healthz` (the process answers), `/readyz` (it can serve: the
//! database answers) and `/metrics` (Prometheus text format). They carry no tenant data.

use std::fmt::Write;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use store::Store;
use sync::engine::PROVIDERS;
use sync::Engine;

pub fn router(store: Store, engine: Engine) -> Router {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics)).with_state((store, engine))
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State((store, _)): State<(Store, Engine)>) -> Response {
    // A round trip, not a count: the probe runs often and must stay cheap as the queue grows.
    match store.ping().await {
        Ok(()) => "ready\n".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: database");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

async fn metrics(State((store, engine)): State<(Store, Engine)>) -> Response {
    let mut out = String::new();
    let Ok(depth) = store.job_count().await else {
        return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response();
    };
    family(&mut out, "crmcal_sync_queue_depth", "gauge", "Sync jobs pending or running.");
    let _ = writeln!(out, "crmcal_sync_queue_depth {depth}");
    if let Ok(counts) = store.connection_status_counts().await {
        family(&mut out, "crmcal_calendar_connections", "gauge", "Calendar connections by provider and status.");
        for (provider, status, n) in counts {
            let _ = writeln!(out, "crmcal_calendar_connections{{provider=\"{provider}\",status=\"{status}\"}} {n}");
        }
    }
    if let Ok(lag) = store.sync_lag().await {
        family(&mut out, "crmcal_sync_lag_seconds", "gauge", "Age of the oldest last sync among the provider's working connections (+Inf: one never synced).");
        let now = Utc::now();
        for (provider, oldest, _) in lag {
            let value = oldest.map(|t| format!("{:.3}", (now - t).num_milliseconds().max(0) as f64 / 1000.0)).unwrap_or_else(|| "+Inf".into());
            let _ = writeln!(out, "crmcal_sync_lag_seconds{{provider=\"{provider}\"}} {value}");
        }
    }
    let m = engine.metrics();
    family(&mut out, "crmcal_provider_calls_total", "counter", "HTTP calls this process made to the providers.");
    for p in PROVIDERS {
        let _ = writeln!(out, "crmcal_provider_calls_total{{provider=\"{}\"}} {}", p.as_str(), m.provider_calls(p));
    }
    family(&mut out, "crmcal_provider_throttled_total", "counter", "Jobs the providers throttled (429, rateLimitExceeded, ErrorServerBusy).");
    for p in PROVIDERS {
        let _ = writeln!(out, "crmcal_provider_throttled_total{{provider=\"{}\"}} {}", p.as_str(), m.throttled(p));
    }
    family(&mut out, "crmcal_sync_changes_total", "counter", "Meetings changed by sync jobs of this process (both directions).");
    for p in PROVIDERS {
        let _ = writeln!(out, "crmcal_sync_changes_total{{provider=\"{}\"}} {}", p.as_str(), m.changes(p));
    }
    family(&mut out, "crmcal_sync_jobs_total", "counter", "Sync jobs this process ran, by outcome.");
    let _ = writeln!(out, "crmcal_sync_jobs_total{{outcome=\"ok\"}} {}", m.jobs_ok());
    let _ = writeln!(out, "crmcal_sync_jobs_total{{outcome=\"failed\"}} {}", m.jobs_failed());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out).into_response()
}
