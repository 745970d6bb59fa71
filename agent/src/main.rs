//! `tokenwatch-agent` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;
use tokenwatch_agent::cli::{self, Cli};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_filter = cli.command.default_log_filter();
    let filter = tracing_subscriber::EnvFilter::try_from_env("TOKENWATCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let log_file = cli.command.log_file().and_then(|path| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()
    });
    // The event log, when there is one, sees only what the filter lets through.
    let logs = tracing_subscriber::registry()
        .with(cli.command.event_log())
        .with(filter);
    match log_file {
        Some(file) => logs
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(std::sync::Mutex::new(file)),
            )
            .init(),
        // Logs go to stderr so that `scan --json` stays a clean document on stdout.
        None => logs
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .init(),
    }
    match cli::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("tokenwatch-agent: {error:#}");
            ExitCode::FAILURE
        }
    }
}
