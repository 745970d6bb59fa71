//! `tokenwatch-agent` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;
use tokenwatch_agent::cli::{self, Cli};

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
    match log_file {
        Some(file) => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file))
            .init(),
        // Logs go to stderr so that `scan --json` stays a clean document on stdout.
        None => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
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
