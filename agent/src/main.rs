//! `tokenwatch-agent` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;
use tokenwatch_agent::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_filter = cli.command.default_log_filter();
    // Logs go to stderr so that `scan --json` stays a clean document on stdout.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TOKENWATCH_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("tokenwatch-agent: {error:#}");
            ExitCode::FAILURE
        }
    }
}
