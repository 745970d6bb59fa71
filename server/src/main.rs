//! `tokenwatch-server`: see `tokenwatch-server --help`.

use clap::Parser;
use tokenwatch_server::cli::Cli;
use tracing_subscriber::EnvFilter;

// Decoding reports, TLS records and HTTP/2 frames allocate and free small buffers at a high
// rate from every worker thread; mimalloc's per-thread heaps take about a fifth off the CPU
// time of a report against glibc's allocator (see the `grpc_ingest` benchmark).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // Log filter from TOKENWATCH_LOG (e.g. `debug`, `tokenwatch_server=debug`), `info` otherwise.
    let filter =
        EnvFilter::try_from_env("TOKENWATCH_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    if let Err(error) = tokenwatch_server::raise_open_file_limit() {
        tracing::warn!(message = "Could not raise the open-file limit.", %error);
    }
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
