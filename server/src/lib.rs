//! The CRM Calendar server: wires configuration, the database, the Leptos app and the HTTP
//! guards together. `main.rs` only starts it.

pub mod cli;
pub mod config;
pub mod demo;
pub mod demo_emulator;
mod guard;
pub mod health;

use app::state::AppState;
use app::{shell, App};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::net::SocketAddr;
use store::Store;

/// The HTTP application: pages, server functions, static files, guards.
pub fn router(state: AppState, leptos_options: LeptosOptions) -> Router {
    let routes = generate_route_list(App);
    let context_state = state.clone();
    let probes = health::router(state.store.clone());
    Router::new()
        .leptos_routes_with_context(
            &leptos_options,
            routes,
            move || provide_context(context_state.clone()),
            {
                let options = leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler(shell))
        .layer(axum::middleware::from_fn_with_state(state, guard::guard))
        .with_state(leptos_options)
        .merge(probes)
}

/// Creates the SQLite file's folder when needed, connects, migrates.
pub async fn open_store(url: &str) -> anyhow::Result<Store> {
    if let Some(path) = url.strip_prefix("sqlite:") {
        let path = path.trim_start_matches("//").split('?').next().unwrap_or_default();
        if let Some(dir) = std::path::Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
    }
    Ok(Store::connect(url).await?)
}

/// Hourly clean-up of expired sessions and old login failures.
pub fn spawn_housekeeping(store: Store) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let now = chrono::Utc::now();
            if let Err(e) = store.purge_sessions(now).await {
                tracing::warn!(error = %e, "purging sessions failed");
            }
            if let Err(e) = store.purge_login_failures(now - chrono::TimeDelta::days(1)).await {
                tracing::warn!(error = %e, "purging login failures failed");
            }
        }
    });
}

/// Serves until Ctrl-C / SIGTERM. Prints the bound address first (tests read it).
pub async fn serve(app: Router, addr: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    println!("crmcal listening on http://{local}");
    tracing::info!("listening on http://{local}");
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
