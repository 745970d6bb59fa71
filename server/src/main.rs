//! `tokenwatch-server`: see `tokenwatch-server --help`.

use clap::Parser;
use tokenwatch_server::cli::Cli;
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // Log filter from TOKENWATCH_LOG (e.g. `debug`, `tokenwatch_server=debug`), `info` otherwise.
    let filter =
        EnvFilter::try_from_env("TOKENWATCH_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    // One TLS crypto provider for the whole process, chosen here rather than by feature luck.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| runtime.block_on(cli.execute()));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("Error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
