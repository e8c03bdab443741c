//! `crmcal`: the CRM Calendar server.

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
    let leptos_options = get_configuration(None)?.leptos_options;
    let store = crmcal::open_store(&config.database_url).await?;
    if config.demo {
        if store.tenant_count().await? == 0 {
            crmcal::demo::seed(&store, chrono::Utc::now()).await?;
            println!("Seeded the demo company.");
        }
        crmcal::demo::print_sign_ins();
    }
    let running = crmcal::start(&config, store, leptos_options).await?;
    running.serving.await?
}
