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
    if let Some(addr) = config.emulator_addr {
        // The demo's stand-in for Google, Microsoft 365 and Exchange. A taken port is not fatal:
        // the CRM itself works without it.
        match crmcal::demo_emulator::start(addr, chrono::Utc::now()).await {
            Ok((emu, bound)) => {
                println!("Provider emulator (Google, Graph, EWS) on http://{bound}");
                if config.demo {
                    let connected = match sync::secrets::Keyring::load(&config.secret_key_file) {
                        Ok(keyring) => crmcal::demo_emulator::connect_demo_users(&store, keyring, &emu, bound).await,
                        Err(e) => Err(e.into()),
                    };
                    match connected {
                        Ok(n) => println!("Connected {n} demo users to their emulator calendars."),
                        Err(e) => eprintln!("Demo calendar connections failed: {e}"),
                    }
                }
            }
            Err(e) => eprintln!("Provider emulator not started on {addr}: {e}"),
        }
    }
    crmcal::spawn_housekeeping(store.clone());
    let state = AppState { store, secure_cookies: config.secure_cookies };
    let addr = leptos_options.site_addr;
    crmcal::serve(crmcal::router(state, leptos_options), addr).await
}
