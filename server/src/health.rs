//! Operations endpoints: `/healthz` (the process answers), `/readyz` (it can serve: the
//! database answers) and `/metrics` (Prometheus text format). They carry no tenant data.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use domain::{ConnectionStatus, ProviderKind};
use metrics::{Key, Label, Level, Metadata, Recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};
use store::Store;

pub fn router(store: Store, exporter: Exporter) -> Router {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics)).with_state((store, exporter))
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State((store, _)): State<(Store, Exporter)>) -> Response {
    // A round trip, not a count: the probe runs often and must stay cheap as the queue grows.
    match store.ping().await {
        Ok(()) => "ready\n".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: database");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

/// The process's metrics: the Prometheus recorder the sync engine counts on (aggregates only)
/// and `/metrics` renders, with the database's figures set as gauges at each scrape. One per
/// server, not a global: servers started side by side (tests) count apart.
#[derive(Clone)]
pub struct Exporter(Arc<PrometheusRecorder>);

impl Default for Exporter {
    fn default() -> Self {
        let recorder = PrometheusBuilder::new().build_recorder();
        let describe = |name: &'static str, help: &'static str| recorder.describe_gauge(name.into(), None, help.into());
        describe("crmcal_sync_queue_depth", "Sync jobs pending or running.");
        describe("crmcal_calendar_connections", "Calendar connections by provider and status.");
        describe("crmcal_sync_lag_seconds", "Age of the oldest last sync among the provider's working connections (+Inf: one never synced).");
        Exporter(Arc::new(recorder))
    }
}

impl Exporter {
    /// The engine's counters, on this exporter.
    pub fn engine_metrics(&self) -> sync::engine::Metrics {
        sync::engine::Metrics::register(self.0.as_ref())
    }

    fn gauge(&self, name: &'static str, labels: &[(&'static str, &str)]) -> metrics::Gauge {
        let labels: Vec<Label> = labels.iter().map(|(k, v)| Label::new(*k, v.to_string())).collect();
        self.0.register_gauge(&Key::from_parts(name, labels), &Metadata::new(module_path!(), Level::INFO, Some(module_path!())))
    }

    /// Sets the gauges the database knows (every provider × status, so a count that fell to
    /// zero reads zero) and renders everything.
    async fn scrape(&self, store: &Store) -> Result<String, store::StoreError> {
        self.gauge("crmcal_sync_queue_depth", &[]).set(store.job_count().await? as f64);
        let counts = store.connection_status_counts().await?;
        for p in ProviderKind::ALL {
            for s in ConnectionStatus::ALL {
                let n = counts.iter().find(|(provider, status, _)| provider == p.as_str() && status == s.as_str()).map_or(0, |c| c.2);
                self.gauge("crmcal_calendar_connections", &[("provider", p.as_str()), ("status", s.as_str())]).set(n as f64);
            }
        }
        let lag = store.sync_lag().await?;
        let now = Utc::now();
        for p in ProviderKind::ALL {
            let seconds = match lag.iter().find(|(provider, _, _)| provider == p.as_str()) {
                Some((_, Some(oldest), _)) => (now - *oldest).num_milliseconds().max(0) as f64 / 1000.0,
                Some((_, None, _)) => f64::INFINITY,
                // No working connection: nothing lags.
                None => 0.0,
            };
            self.gauge("crmcal_sync_lag_seconds", &[("provider", p.as_str())]).set(seconds);
        }
        Ok(self.0.handle().render())
    }
}

async fn metrics(State((store, exporter)): State<(Store, Exporter)>) -> Response {
    match exporter.scrape(&store).await {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: database");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}
