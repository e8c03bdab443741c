//! `crmcal`: the CRM Calendar server and its operator commands.

use clap::Parser;
use crmcal::cli::{Cli, Command};
use crmcal::config::Config;
use leptos::prelude::get_configuration;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Help, version and usage errors are answered here, before anything is opened.
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")))
        .with_writer(std::io::stderr)
        .init();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => fail(&e),
    };
    match cli.command {
        Some(Command::Connections(command)) => {
            let mut stdin = std::io::stdin().lock();
            match crmcal::cli::connections(command, &config, &mut stdin).await {
                Ok(out) => {
                    print!("{out}");
                    Ok(())
                }
                Err(e) => fail(&e),
            }
        }
        None | Some(Command::Serve) => serve(config).await,
    }
}

/// An error as operators expect one: on standard error, and a non-zero exit.
fn fail(e: &anyhow::Error) -> ! {
    eprintln!("crmcal: {e:#}");
    std::process::exit(1)
}

async fn serve(config: Config) -> anyhow::Result<()> {
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
