//! `crmcal`: the CRM Calendar server.

use app::state::AppState;
use crmcal::config::Config;
use leptos::prelude::get_configuration;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")))
        .init();
    let config = Config::from_env()?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("connections") {
        // Operator commands: same code path as the UI, then exit.
        let mut stdin = std::io::stdin().lock();
        match crmcal::cli::connections(&args[1..], &config, &mut stdin).await {
            Ok(out) => {
                print!("{out}");
                return Ok(());
            }
            Err(e) => {
                eprintln!("crmcal connections: {e}");
                std::process::exit(1);
            }
        }
    }
    let mut leptos_options = get_configuration(None)?.leptos_options;
    if let Some(addr) = config.addr {
        leptos_options.site_addr = addr;
    }
    let store = crmcal::open_store(&config.database_url).await?;
    if config.demo {
        if store.tenant_count().await? == 0 {
            crmcal::demo::seed(&store, chrono::Utc::now()).await?;
            println!("Seeded the demo company.");
        }
        crmcal::demo::print_sign_ins();
    }
    // Bound first: push callbacks and OAuth redirects need the real address (port 0 in tests).
    let listener = tokio::net::TcpListener::bind(leptos_options.site_addr).await?;
    let local = listener.local_addr()?;

    let mut endpoints = config.endpoints.clone();
    let mut emulator = None;
    if let Some(addr) = config.emulator_addr {
        // The demo's stand-in for Google, Microsoft 365 and Exchange. A taken port is not fatal:
        // the CRM itself works without it.
        match crmcal::demo_emulator::start(addr, chrono::Utc::now()).await {
            Ok((emu, bound)) => {
                println!("Provider emulator (Google, Graph, EWS) on http://{bound}");
                endpoints = endpoints.or_emulator(bound);
                emulator = Some((emu, bound));
            }
            Err(e) => eprintln!("Provider emulator not started on {addr}: {e}"),
        }
    }
    let public_url = config.public_url.clone().or_else(|| config.demo.then(|| format!("http://{local}")));
    let keyring = sync::secrets::Keyring::load(&config.secret_key_file)?;
    let hub = crmcal::live::Hub::start(&store).await?;
    let callback_base = public_url.clone().unwrap_or_else(|| format!("http://{local}"));
    let engine = crmcal::engine(&config, &store, keyring, endpoints.for_sync(&callback_base), public_url, hub.clone());
    if let (true, Some((emu, bound))) = (config.demo, &emulator) {
        match crmcal::demo_emulator::connect_demo_users(&engine, emu, *bound).await {
            Ok(n) => println!("Connected {n} demo users to their emulator calendars."),
            Err(e) => eprintln!("Demo calendar connections failed: {e}"),
        }
    }
    crmcal::workers::spawn_workers(engine.clone(), hub.clone(), config.sync_workers, config.sync_lease);
    if config.sync_workers > 0 {
        crmcal::workers::spawn_scheduler(engine.clone());
    }
    crmcal::spawn_housekeeping(store.clone());
    let state = AppState { store, secure_cookies: config.secure_cookies, sync: engine };
    crmcal::serve(crmcal::router(state, leptos_options, hub), listener).await
}
