// Full (unerased) view types nest deeply, in a build without `--cfg erase_components`.
#![recursion_limit = "512"]

//! The CRM Calendar server: wires configuration, the database, the Leptos app and the HTTP
//! guards together. `main.rs` only starts it.

pub mod cli;
pub mod config;
pub mod connect;
pub mod demo;
#[cfg(feature = "demo")]
pub mod demo_emulator;
mod guard;
pub mod health;
pub mod hooks;
pub mod live;
pub mod workers;

use std::net::SocketAddr;
use std::sync::Arc;

use app::state::AppState;
use app::{shell, App};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use store::Store;
use sync::connections::{Connections, Endpoints};
use sync::secrets::Keyring;
use sync::{Engine, SyncConfig};

use crate::config::Config;
use crate::live::Hub;

/// The HTTP application: pages, server functions, static files, guards; push webhooks, live
/// updates, calendar connection (OAuth) and operations endpoints.
pub fn router(state: AppState, leptos_options: LeptosOptions, hub: Arc<Hub>, exporter: health::Exporter) -> Router {
    let routes = generate_route_list(App);
    let context_state = state.clone();
    let probes = health::router(state.store.clone(), exporter);
    let hooks = hooks::router(state.sync.clone());
    let live = live::router(hub);
    let connect = connect::router(state.clone());
    // The compiled front end, precompressed by `make release` (scripts/bundle.mjs): brotli or
    // gzip to browsers that take them, as built otherwise (a debug build has no .gz / .br).
    let pkg = tower_http::services::ServeDir::new(format!("{}/{}", leptos_options.site_root, leptos_options.site_pkg_dir)).precompressed_br().precompressed_gzip();
    Router::new()
        .nest_service(&format!("/{}", leptos_options.site_pkg_dir), pkg)
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
        .with_state(leptos_options)
        .merge(probes)
        .merge(hooks)
        .merge(live)
        .merge(connect)
        // In front of everything: only the public routes are open (app::routes::is_public).
        .layer(axum::middleware::from_fn_with_state(state, guard::guard))
}

/// The sync engine for this process: connections with the provider endpoints and the secret
/// key, the window and push settings, announcing through `hub`.
pub fn engine(config: &Config, store: &Store, keyring: Keyring, endpoints: Endpoints, public_url: Option<String>, live: Arc<dyn sync::Live>, metrics: sync::engine::Metrics) -> Engine {
    let http = providers::http::HttpConfig { allow_http_loopback: config.provider_http_loopback, ..Default::default() };
    let conns = Connections::new(store.clone(), keyring, http, endpoints);
    let sync_config = SyncConfig {
        window_back: chrono::Duration::days(config.sync_days_back),
        window_ahead: chrono::Duration::days(config.sync_days_ahead),
        public_url,
        ..SyncConfig::default()
    };
    Engine::metered(store.clone(), conns, sync_config, live, metrics)
}

/// A started server: where it listens, its engine, and the embedded emulator if any.
pub struct Running {
    pub addr: SocketAddr,
    pub engine: Engine,
    #[cfg(feature = "demo")]
    pub emulator: Option<(emulator::Emulator, SocketAddr)>,
    pub serving: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Everything `crmcal` does after its configuration is read: binds, starts the embedded
/// emulator (demo) and connects the demo users, the sync engine with its workers and
/// scheduler, housekeeping, and serves in a task. Tests start servers the same way.
pub async fn start(config: &Config, store: Store, mut leptos_options: LeptosOptions) -> anyhow::Result<Running> {
    if let Some(addr) = config.addr {
        leptos_options.site_addr = addr;
    }
    // Bound first: push callbacks and OAuth redirects need the real address (port 0 in tests).
    let listener = tokio::net::TcpListener::bind(leptos_options.site_addr).await?;
    let local = listener.local_addr()?;
    #[allow(unused_mut)]
    let mut endpoints = config.endpoints.clone();
    #[cfg(feature = "demo")]
    let mut emulator = None;
    #[cfg(feature = "demo")]
    if let Some(addr) = config.emulator_addr {
        // The demo's stand-in for Google, Microsoft 365 and Exchange. A taken port is not fatal:
        // the CRM itself works without it.
        match demo_emulator::start(addr, chrono::Utc::now()).await {
            Ok((emu, bound)) => {
                println!("Provider emulator (Google, Graph, EWS) on http://{bound}");
                endpoints = endpoints.or_emulator(bound);
                emulator = Some((emu, bound));
            }
            Err(e) => eprintln!("Provider emulator not started on {addr}: {e}"),
        }
    }
    let public_url = config.public_url.clone().or_else(|| config.demo.then(|| format!("http://{local}")));
    // CRMCAL_SECRET_KEY (+ _OLD) or the key file.
    let keyring = Keyring::load(&config.secret_key_file)?;
    let hub = Hub::start(&store).await?;
    let callback_base = public_url.clone().unwrap_or_else(|| format!("http://{local}"));
    let exporter = health::Exporter::default();
    let engine = engine(config, &store, keyring, endpoints.for_sync(&callback_base), public_url, hub.clone(), exporter.engine_metrics());
    #[cfg(not(feature = "demo"))]
    if config.emulator_addr.is_some() {
        eprintln!("CRMCAL_EMULATOR_ADDR is set, but this build has no provider emulator (built without the `demo` feature).");
    }
    #[cfg(feature = "demo")]
    if let (true, Some((emu, bound))) = (config.demo, &emulator) {
        match demo_emulator::connect_demo_users(&engine, emu, *bound).await {
            Ok(n) => println!("Connected {n} demo users to their emulator calendars."),
            Err(e) => eprintln!("Demo calendar connections failed: {e}"),
        }
    }
    workers::spawn_workers(engine.clone(), hub.clone(), config.sync_workers, config.sync_lease);
    if config.sync_workers > 0 {
        workers::spawn_scheduler(engine.clone());
    }
    spawn_housekeeping(store.clone());
    let state = AppState { store, secure_cookies: config.secure_cookies, sync: engine.clone() };
    let app = router(state, leptos_options, hub, exporter);
    let serving = tokio::spawn(serve(app, listener));
    Ok(Running {
        addr: local,
        engine,
        #[cfg(feature = "demo")]
        emulator,
        serving,
    })
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

/// Hourly clean-up of expired sessions, old login failures, the sync run log beyond a week
/// and OAuth authorisations never finished.
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
            if let Err(e) = store.purge_runs(now - chrono::TimeDelta::days(7)).await {
                tracing::warn!(error = %e, "purging the sync run log failed");
            }
            if let Err(e) = store.purge_oauth_flows(now - chrono::TimeDelta::minutes(10)).await {
                tracing::warn!(error = %e, "purging OAuth authorisations failed");
            }
        }
    });
}

/// Serves until Ctrl-C / SIGTERM. Prints the bound address first (tests read it).
pub async fn serve(app: Router, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let local: SocketAddr = listener.local_addr()?;
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
