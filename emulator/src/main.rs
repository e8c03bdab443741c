//! `crmcal-emulator --addr 127.0.0.1:3100`: the provider emulators as a stand-alone server.

use std::net::SocketAddr;

use emulator::{Config, Emulator};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let mut addr: SocketAddr = "127.0.0.1:3100".parse().expect("static address");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => {
                let value = args.next().unwrap_or_default();
                addr = value.parse().unwrap_or_else(|_| {
                    eprintln!("--addr needs HOST:PORT, got {value:?}");
                    std::process::exit(2)
                });
            }
            "-h" | "--help" => {
                println!("crmcal-emulator [--addr HOST:PORT]   (default 127.0.0.1:3100; see emulator/README.md)");
                return Ok(());
            }
            other => {
                eprintln!("unknown argument {other:?} (try --help)");
                std::process::exit(2);
            }
        }
    }
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("crmcal-emulator listening on http://{}", listener.local_addr()?);
    Emulator::new(Config::default()).serve(listener).await
}
