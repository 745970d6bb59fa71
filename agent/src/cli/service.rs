//! Command line of `enroll` and `run`, and the service configuration file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

use super::{ScanArgs, Sources};
use crate::enroll::{self, EnrollConfig};
use crate::findings::Thresholds;
use crate::service::{self, RunConfig};
use crate::spool;
use crate::state::DEFAULT_DIR;

/// How long a stopping service waits for a scan still running on a blocking thread.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Options of `enroll`. Its `Debug` leaves the secret out.
#[derive(clap::Args)]
pub struct EnrollArgs {
    /// The tokenwatch server, `https://HOST:PORT`.
    #[arg(long, value_name = "URL")]
    pub server: String,
    /// The enrolment secret of the office. Prefer TOKENWATCH_ENROLL_SECRET or --secret-file:
    /// a command-line argument is visible to every user in `ps`.
    #[arg(long, env = "TOKENWATCH_ENROLL_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// Read the enrolment secret from FILE (first line).
    #[arg(long, value_name = "FILE", conflicts_with = "secret")]
    pub secret_file: Option<PathBuf>,
    /// Trust the server's certificate if it chains to this CA (PEM); default: the system roots.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Where the agent keeps its key, certificate, spool and sequence.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DIR)]
    pub state_dir: PathBuf,
}

/// Options of `run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Where enrolment left the agent's identity; the spool lives here too.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DIR)]
    pub state_dir: PathBuf,
    /// Time between scans, e.g. 15m, 1h, 90s (jittered by ±10 %). Default 15m.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub interval: Option<Duration>,
    /// Service settings (TOML, see agent.example.toml); command-line options add to it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Do not watch for cards and tokens coming and going; scan on the interval only.
    #[arg(long)]
    pub no_hotplug: bool,
    /// Where to look, as for `scan`; the service file's lists come first.
    #[command(flatten)]
    pub sources: Sources,
}

/// The service configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceFile {
    /// `15m`, `1h`, …
    pub interval: Option<String>,
    #[serde(default)]
    pub keys_dirs: Vec<PathBuf>,
    #[serde(default)]
    pub cert_paths: Vec<PathBuf>,
    #[serde(default)]
    pub pkcs11_modules: Vec<PathBuf>,
    #[serde(default)]
    pub skip: Vec<String>,
    pub hotplug: Option<bool>,
    pub spool_max_reports: Option<usize>,
    pub spool_max_mib: Option<u64>,
}

// === impl EnrollArgs ===

impl std::fmt::Debug for EnrollArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrollArgs")
            .field("server", &self.server)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("secret_file", &self.secret_file)
            .field("ca_file", &self.ca_file)
            .field("state_dir", &self.state_dir)
            .finish()
    }
}

impl EnrollArgs {
    /// The enrolment these arguments describe.
    pub fn to_config(&self) -> anyhow::Result<EnrollConfig> {
        let secret = match (&self.secret, &self.secret_file) {
            (Some(secret), _) => secret.clone(),
            (None, Some(path)) => std::fs::read_to_string(path)
                .with_context(|| format!("reading the secret from {}", path.display()))?
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned(),
            (None, None) => anyhow::bail!(
                "no enrolment secret: give --secret-file, TOKENWATCH_ENROLL_SECRET or --secret"
            ),
        };
        anyhow::ensure!(!secret.trim().is_empty(), "the enrolment secret is empty");
        let ca_pem = match &self.ca_file {
            Some(path) => {
                Some(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?)
            }
            None => None,
        };
        Ok(EnrollConfig {
            server: self.server.clone(),
            secret: secret.trim().to_owned(),
            ca_pem,
            state_dir: self.state_dir.clone(),
            hostname: crate::host::facts().hostname,
        })
    }
}

// === impl RunArgs ===

impl RunArgs {
    /// The service configuration: the file (if any), then the command line.
    pub fn to_config(&self) -> anyhow::Result<RunConfig> {
        let file = match &self.config {
            Some(path) => read_service_file(path)?,
            None => ServiceFile::default(),
        };
        let given = &self.sources;
        let scan = ScanArgs {
            json: false,
            sources: Sources {
                keys_dirs: [file.keys_dirs.as_slice(), &given.keys_dirs].concat(),
                cert_paths: [file.cert_paths.as_slice(), &given.cert_paths].concat(),
                pkcs11_modules: [file.pkcs11_modules.as_slice(), &given.pkcs11_modules].concat(),
                skip: [file.skip.as_slice(), &given.skip].concat(),
                root: given.root.clone(),
            },
            fail_on: None,
            warn_days: Thresholds::default().warning_days,
            critical_days: Thresholds::default().critical_days,
            timeout: 20,
        }
        .to_config()?;
        let mut config = RunConfig::new(&self.state_dir, scan);
        if let Some(text) = &file.interval {
            config.interval = parse_duration(text).map_err(anyhow::Error::msg)?;
        }
        if let Some(interval) = self.interval {
            config.interval = interval;
        }
        config.hotplug = file.hotplug.unwrap_or(true) && !self.no_hotplug;
        let defaults = spool::Limits::default();
        config.spool = spool::Limits {
            max_reports: file.spool_max_reports.unwrap_or(defaults.max_reports),
            max_bytes: file
                .spool_max_mib
                .map_or(defaults.max_bytes, |mib| mib.saturating_mul(1024 * 1024)),
        };
        Ok(config)
    }
}

fn read_service_file(path: &Path) -> anyhow::Result<ServiceFile> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("{} is not valid", path.display()))
}

/// `90s`, `15m`, `1h`, or plain seconds; at least one second.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 90s, 15m or 1h"))?;
    let seconds = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => return Err(format!("{text:?}: the unit must be s, m or h")),
    };
    if seconds == 0 {
        return Err("the interval must be at least one second".to_owned());
    }
    Ok(Duration::from_secs(seconds))
}

/// `enroll`: print the identity obtained, or the server's refusal.
pub(super) fn enroll(args: &EnrollArgs) -> anyhow::Result<ExitCode> {
    enroll_with(args)?;
    Ok(ExitCode::SUCCESS)
}

/// Enrol as `args` say and print the identity obtained.
pub(super) fn enroll_with(args: &EnrollArgs) -> anyhow::Result<()> {
    let config = args.to_config()?;
    let state_dir = config.state_dir.clone();
    let runtime = runtime()?;
    let agent = runtime.block_on(enroll::enroll(config))?;
    println!(
        "enrolled as {} (office {:?}); identity written to {}",
        agent.agent_id,
        agent.office,
        state_dir.display()
    );
    Ok(())
}

/// `run`: the service, until SIGTERM or SIGINT.
pub(super) fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    run_until(args, shutdown_signal)
}

/// The service loop as `args` configure it, until the future `shutdown` makes (inside the
/// runtime, as signal handlers need) completes.
pub(super) fn run_until<F: std::future::Future<Output = ()>>(
    args: &RunArgs,
    shutdown: impl FnOnce() -> anyhow::Result<F>,
) -> anyhow::Result<ExitCode> {
    let config = args.to_config()?;
    let runtime = runtime()?;
    let result = runtime.block_on(async {
        service::run(config, shutdown()?)
            .await
            .map_err(anyhow::Error::from)
    });
    // A scan stuck in a driver must not keep the process alive after it was asked to stop.
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    result.map(|()| ExitCode::SUCCESS)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    // One thread is plenty for one connection and a timer; scans run on blocking threads,
    // which exit soon after a scan so an idle service holds only what it needs.
    tokio::runtime::Builder::new_current_thread()
        .thread_keep_alive(Duration::from_secs(1))
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Completes on SIGTERM or SIGINT (Ctrl-C elsewhere).
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM received"),
                _ = int.recv() => tracing::info!("SIGINT received"),
            }
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert!(parse_duration("0m").is_err());
        assert!(parse_duration("5d").is_err());
        assert!(parse_duration("m").is_err());
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from([
            "tokenwatch-agent",
            "enroll",
            "--server",
            "https://tw:8443",
            "--secret",
            "hunter2",
        ])
        .expect("parses");
        assert!(!format!("{cli:?}").contains("hunter2"));
    }

    #[test]
    fn the_secret_comes_from_a_file_or_not_at_all() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("secret");
        std::fs::write(&file, "s3cret\n").expect("write");
        let args = |secret_file: Option<PathBuf>| EnrollArgs {
            server: "https://tw:8443".into(),
            secret: None,
            secret_file,
            ca_file: None,
            state_dir: dir.path().into(),
        };
        let config = args(Some(file)).to_config().expect("reads the file");
        assert_eq!(config.secret, "s3cret");
        let error = args(None).to_config().expect_err("no secret");
        assert!(error.to_string().contains("no enrolment secret"), "{error}");
    }

    #[test]
    fn the_example_configuration_parses() {
        let text = include_str!("../../../deploy/agent.example.toml");
        let file: ServiceFile = toml::from_str(text).expect("parses");
        assert_eq!(file.interval.as_deref(), Some("15m"));
    }
}
