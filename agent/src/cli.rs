//! Command line: `tokenwatch-agent scan`, `enroll` and `run`, and `service` on Windows.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use crate::config::ScanConfig;
use crate::findings::{Severity, Thresholds};
use crate::paths::Paths;
use crate::render;

mod service;
#[cfg(windows)]
pub mod windows_service;

pub use service::{EnrollArgs, RunArgs, ServiceFile, parse_duration};

/// Exit code when `--fail-on` is met, distinct from 1 (the scan itself failed).
const EXIT_FINDINGS: u8 = 2;

/// tokenwatch agent: what decides whether this computer can sign today.
#[derive(Debug, Parser)]
#[command(name = "tokenwatch-agent", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Agent commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inventory readers, tokens, key containers, certificates and components, and report problems.
    Scan(ScanArgs),
    /// Obtain this agent's identity from the server with the office's enrolment secret.
    Enroll(EnrollArgs),
    /// Run as a service: scan periodically and on card events, and report to the server.
    Run(RunArgs),
    /// Install, remove or run the Windows service.
    #[cfg(windows)]
    Service(windows_service::ServiceArgs),
}

// === impl Command ===

impl Command {
    /// The log level when TOKENWATCH_LOG does not say: a service logs what it does, `scan`
    /// keeps quiet around its report.
    pub fn default_log_filter(&self) -> &'static str {
        match self {
            Self::Scan(_) => "warn",
            Self::Enroll(_) | Self::Run(_) => "info",
            #[cfg(windows)]
            Self::Service(_) => "info",
        }
    }

    /// Where logs go instead of stderr: the Windows service has no console.
    pub fn log_file(&self) -> Option<std::path::PathBuf> {
        #[cfg(windows)]
        if let Self::Service(windows_service::ServiceArgs {
            action: windows_service::ServiceAction::Run(_),
        }) = self
        {
            return Some(crate::service::windows::log_file());
        }
        None
    }

    /// Where warnings, errors and the service's start and stop are written too: the Windows
    /// event log, for the Windows service only (see `service::event_log`).
    pub fn event_log<S>(&self) -> Option<Box<dyn tracing_subscriber::Layer<S> + Send + Sync>>
    where
        S: tracing::Subscriber,
    {
        #[cfg(windows)]
        if let Self::Service(windows_service::ServiceArgs {
            action: windows_service::ServiceAction::Run(_),
        }) = self
        {
            use crate::service::event_log::{EventLogLayer, EventSource};
            return Some(Box::new(EventLogLayer::new(EventSource::open())));
        }
        None
    }
}

/// Options of `scan`.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Print one JSON document (schema tokenwatch.inventory/v1) instead of the report.
    #[arg(long)]
    pub json: bool,
    /// Where to look, shared with `run`.
    #[command(flatten)]
    pub sources: Sources,
    /// Exit with code 2 when a finding of this severity or worse is present.
    #[arg(long = "fail-on", value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,
    /// Warn this many days before a certificate, key or licence expires.
    #[arg(long, value_name = "DAYS", default_value_t = Thresholds::default().warning_days)]
    pub warn_days: i64,
    /// Make expiry findings critical this many days before the date.
    #[arg(long, value_name = "DAYS", default_value_t = Thresholds::default().critical_days)]
    pub critical_days: i64,
    /// Give up on a collector (a hanging driver) after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 20)]
    pub timeout: u64,
}

/// Where a scan looks besides the defaults: the options `scan` and `run` share.
#[derive(Clone, Debug, clap::Args)]
pub struct Sources {
    /// Also look for key containers in DIR (repeatable). DIR may be a container folder itself.
    #[arg(long = "keys-dir", value_name = "DIR")]
    pub keys_dirs: Vec<PathBuf>,
    /// Also read certificates from PATH, a file (DER, PEM, bundle) or a folder (repeatable).
    #[arg(long = "cert-path", value_name = "PATH")]
    pub cert_paths: Vec<PathBuf>,
    /// Also load this PKCS#11 module (repeatable).
    #[arg(long = "pkcs11-module", value_name = "PATH")]
    pub pkcs11_modules: Vec<PathBuf>,
    /// Leave out a collector: readers, tokens, containers, certificates, components (repeatable).
    #[arg(long = "skip", value_name = "COLLECTOR")]
    pub skip: Vec<String>,
    /// Resolve every system path (/sys, /etc/opt/cprocsp, /var/opt/cprocsp, /media, …) under DIR.
    #[arg(long, env = "TOKENWATCH_ROOT", value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
}

/// `--fail-on` levels.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FailOn {
    Warning,
    Critical,
}

// === impl ScanArgs ===

impl ScanArgs {
    /// The scan configuration these arguments describe.
    pub fn to_config(&self) -> anyhow::Result<ScanConfig> {
        anyhow::ensure!(
            self.critical_days <= self.warn_days,
            "--critical-days ({}) must not exceed --warn-days ({})",
            self.critical_days,
            self.warn_days
        );
        let known = crate::collect::all()
            .iter()
            .map(|c| c.name())
            .collect::<Vec<_>>();
        let sources = &self.sources;
        for name in &sources.skip {
            anyhow::ensure!(
                known.contains(&name.as_str()),
                "unknown collector {name:?}; known: {}",
                known.join(", ")
            );
        }
        let mut config = ScanConfig::new(Paths::new(&sources.root));
        config.keys_dirs.clone_from(&sources.keys_dirs);
        config.cert_paths.clone_from(&sources.cert_paths);
        config.pkcs11_modules.clone_from(&sources.pkcs11_modules);
        config.thresholds = Thresholds {
            warning_days: self.warn_days,
            critical_days: self.critical_days,
        };
        config.collector_timeout = Duration::from_secs(self.timeout.max(1));
        config.disabled_collectors.clone_from(&sources.skip);
        Ok(config)
    }
}

/// Run the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Scan(args) => scan(&args),
        Command::Enroll(args) => service::enroll(&args),
        Command::Run(args) => service::run(&args),
        #[cfg(windows)]
        Command::Service(args) => windows_service::service(args),
    }
}

fn scan(args: &ScanArgs) -> anyhow::Result<ExitCode> {
    let config = args.to_config()?;
    let inventory = crate::scan(&config);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &inventory).context("writing the JSON document")?;
        writeln!(out)?;
    } else {
        let colour = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none();
        render::report(&mut out, &inventory, colour).context("writing the report")?;
    }
    out.flush()?;
    let threshold = args.fail_on.map(|f| match f {
        FailOn::Warning => Severity::Warning,
        FailOn::Critical => Severity::Critical,
    });
    let met = threshold.is_some_and(|t| inventory.findings.iter().any(|f| f.severity >= t));
    Ok(if met {
        ExitCode::from(EXIT_FINDINGS)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn unknown_collector_is_refused() {
        let cli =
            Cli::try_parse_from(["tokenwatch-agent", "scan", "--skip", "nope"]).expect("parses");
        let Command::Scan(args) = cli.command else {
            panic!("scan parses as scan")
        };
        let error = args.to_config().expect_err("unknown collector");
        assert!(
            error.to_string().contains("unknown collector \"nope\""),
            "{error}"
        );
    }

    #[test]
    fn thresholds_must_be_ordered() {
        let cli = Cli::try_parse_from([
            "tokenwatch-agent",
            "scan",
            "--warn-days",
            "5",
            "--critical-days",
            "10",
        ])
        .expect("parses");
        let Command::Scan(args) = cli.command else {
            panic!("scan parses as scan")
        };
        assert!(args.to_config().is_err());
    }
}
