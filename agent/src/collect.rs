//! Collectors: each looks at one part of the host and reports what it saw as a [`Section`].
//!
//! Collectors run side by side, each on its own thread with a deadline, and are isolated: an
//! error, a panic inside a vendor library binding or a hang is recorded in the inventory's
//! `collectors` list and never hides what the other collectors found.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::config::ScanConfig;
use crate::findings::Finding;
use crate::inventory::{
    Certificate, CollectorOutcome, CollectorStatus, Components, Container, Reader, Token,
};

pub mod certificates;
pub mod components;
pub mod containers;
mod der;
mod program;
pub mod readers;
#[cfg(windows)]
pub(crate) mod registry;
// Tested on every platform; the terminal server's profile walk (Windows) is its user.
#[cfg_attr(not(windows), allow(dead_code))]
mod throttle;
#[cfg(windows)]
pub use throttle::thread_cpu;
pub mod tokens;

/// What one collector saw.
#[derive(Debug, Default)]
pub struct Section {
    pub readers: Vec<Reader>,
    pub tokens: Vec<Token>,
    pub containers: Vec<Container>,
    /// Certificates with their sources; the scan merges copies of the same certificate.
    pub certificates: Vec<Certificate>,
    /// Parts of [`Components`] this collector fills in; the others stay at their default.
    pub components: Components,
    /// Problems found while collecting (an unparsable file, a damaged container).
    pub findings: Vec<Finding>,
    /// Things this collector could not read; the collector is then reported as partial.
    pub errors: Vec<String>,
    /// The collector's subject is absent here (no CryptoPro, no PC/SC library).
    pub skipped: bool,
}

/// Why a collector could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("{0}")]
    Unavailable(String),
    #[error("I/O error at {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// One source of inventory.
pub trait Collector: Send + Sync {
    /// Stable name, used in `collectors` and in `disabled_collectors`.
    fn name(&self) -> &'static str;

    /// Look at the host. Blocking: may call into PC/SC, PKCS#11 modules or programs.
    fn collect(&self, config: &ScanConfig) -> Result<Section, CollectError>;
}

/// The collectors of a full scan, in report order.
pub fn all() -> Vec<Box<dyn Collector>> {
    vec![
        Box::new(readers::Readers),
        Box::new(tokens::Tokens),
        Box::new(containers::Containers),
        Box::new(certificates::Certificates),
        Box::new(components::ComponentsCollector),
    ]
}

/// Run `collectors` concurrently, each bounded by `config.collector_timeout`.
///
/// Returns each collector's section (empty for one that failed) with its status, in the order
/// given. A collector that overruns keeps its thread: the thread cannot be stopped safely while
/// inside a vendor library, and the process exits once the scan is reported.
pub fn run_all(
    collectors: Vec<Box<dyn Collector>>,
    config: &ScanConfig,
) -> Vec<(Section, CollectorStatus)> {
    let (sender, receiver) = mpsc::channel();
    let started = Instant::now();
    let mut names = Vec::new();
    for (index, collector) in collectors.into_iter().enumerate() {
        names.push(collector.name());
        if !config.is_enabled(collector.name()) {
            continue;
        }
        let worker_sender = sender.clone();
        let config = config.clone();
        let spawned = thread::Builder::new()
            .name(format!("collect-{}", collector.name()))
            .spawn(move || {
                let begun = Instant::now();
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    collector.collect(&config)
                }));
                // The receiver may be gone after a timeout; nothing is waiting for us then.
                let _ = worker_sender.send((index, result, begun.elapsed()));
            });
        if let Err(error) = spawned {
            let _ = sender.send((
                index,
                Ok(Err(CollectError::Unavailable(format!(
                    "cannot start thread: {error}"
                )))),
                Duration::ZERO,
            ));
        }
    }
    drop(sender);

    let mut results: Vec<Option<(Section, CollectorStatus)>> = names.iter().map(|_| None).collect();
    let deadline = started + config.collector_timeout;
    while results
        .iter()
        .zip(&names)
        .any(|(r, n)| r.is_none() && config.is_enabled(n))
    {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok((index, result, elapsed)) = receiver.recv_timeout(left) else {
            break;
        };
        results[index] = Some(finish(names[index], result, elapsed));
    }

    names
        .iter()
        .zip(results)
        .filter(|(name, _)| config.is_enabled(name))
        .map(|(name, result)| {
            result.unwrap_or_else(|| {
                let error = format!(
                    "did not finish within {} s (a driver or vendor library may be hanging)",
                    config.collector_timeout.as_secs()
                );
                (
                    Section::default(),
                    status(
                        name,
                        CollectorOutcome::Failed,
                        vec![error],
                        elapsed_ms(config.collector_timeout),
                    ),
                )
            })
        })
        .collect()
}

type Outcome = std::thread::Result<Result<Section, CollectError>>;

fn finish(name: &str, result: Outcome, elapsed: Duration) -> (Section, CollectorStatus) {
    let ms = elapsed_ms(elapsed);
    match result {
        Ok(Ok(section)) => {
            let outcome = if section.skipped {
                CollectorOutcome::Skipped
            } else if section.errors.is_empty() {
                CollectorOutcome::Ok
            } else {
                CollectorOutcome::Partial
            };
            let errors = section.errors.clone();
            (section, status(name, outcome, errors, ms))
        }
        Ok(Err(error)) => {
            tracing::warn!(message = "Collector failed.", collector = name, %error);
            (
                Section::default(),
                status(name, CollectorOutcome::Failed, vec![error.to_string()], ms),
            )
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            tracing::error!(message = "Collector panicked.", collector = name, error = %what);
            let error = format!("internal error: {what}");
            (
                Section::default(),
                status(name, CollectorOutcome::Failed, vec![error], ms),
            )
        }
    }
}

fn status(
    name: &str,
    status: CollectorOutcome,
    errors: Vec<String>,
    duration_ms: u64,
) -> CollectorStatus {
    CollectorStatus {
        name: name.to_owned(),
        status,
        errors,
        duration_ms,
    }
}

fn elapsed_ms(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}
