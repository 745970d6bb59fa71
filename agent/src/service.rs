//! `tokenwatch-agent run`: the service loop.
//!
//! Scan on start, then every interval (±10 % so a fleet does not stampede) and soon after a card
//! or token comes or goes; spool every report, then deliver the spool in order with capped
//! exponential backoff while the server is away. Shutdown abandons a send in flight; the spool
//! keeps the report and the server ignores a sequence number it already has.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

use crate::backoff::jittered;
use crate::config::ScanConfig;
use crate::inventory::Inventory;
use crate::spool::{self, Spool};
use crate::state::{StateDir, StateError};
use crate::uplink::UplinkError;

mod deliver;
pub mod event_log;
pub mod hotplug;
#[cfg(windows)]
pub mod windows;

use deliver::Uplink;

/// Everything `run` needs.
#[derive(Clone, Debug)]
pub struct RunConfig {
    pub state_dir: PathBuf,
    /// Time between scheduled scans (jittered by ±10 %).
    pub interval: Duration,
    pub scan: ScanConfig,
    pub spool: spool::Limits,
    /// Watch PC/SC (or, failing that, USB) for cards and tokens coming and going.
    pub hotplug: bool,
    /// Quiet time after the last card or token event before rescanning.
    pub debounce: Duration,
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Uplink(#[from] UplinkError),
}

// === impl RunConfig ===

impl RunConfig {
    /// Defaults for `state_dir` on a real host: 15 minutes, bounded spool, hotplug on.
    pub fn new(state_dir: impl Into<PathBuf>, scan: ScanConfig) -> Self {
        Self {
            state_dir: state_dir.into(),
            interval: Duration::from_secs(15 * 60),
            scan,
            spool: spool::Limits::default(),
            hotplug: true,
            debounce: Duration::from_secs(2),
        }
    }
}

/// Run the service until `shutdown` completes. Fails only when it cannot start (not enrolled,
/// unreadable state); later failures are logged and retried.
pub async fn run(
    config: RunConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServiceError> {
    let state = StateDir::open_enrolled(&config.state_dir)?;
    let spool = Spool::open(state.path(spool::DIR), config.spool)?;
    let mut uplink = Uplink::start(state, spool)?;

    let stop = Arc::new(AtomicBool::new(false));
    let (events_tx, mut events) = mpsc::channel(16);
    let watcher = config
        .hotplug
        .then(|| hotplug::spawn(config.scan.paths.clone(), events_tx, Arc::clone(&stop)));

    tokio::pin!(shutdown);
    let mut next_scan = Instant::now();
    let mut next_delivery = uplink.has_pending().then(Instant::now);
    loop {
        let delivery_due = next_delivery.unwrap_or_else(far_future);
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            () = sleep_until(next_scan) => {
                let inventory = tokio::select! {
                    () = &mut shutdown => break,
                    inventory = scan(&config.scan) => inventory,
                };
                next_scan = Instant::now() + jittered(config.interval);
                if let Some(inventory) = inventory {
                    uplink.enqueue(&inventory);
                }
                crate::memory::release_free_memory();
                // Send now, unless a retry is already scheduled: a new report does not cut a
                // backoff short.
                next_delivery.get_or_insert_with(Instant::now);
            }
            Some(()) = events.recv() => {
                tracing::debug!("card or token event; rescanning shortly");
                next_scan = Instant::now() + config.debounce;
            }
            () = sleep_until(delivery_due), if next_delivery.is_some() => {
                next_delivery = tokio::select! {
                    () = &mut shutdown => break,
                    retry = uplink.deliver() => retry.map(|delay| Instant::now() + delay),
                };
                crate::memory::release_free_memory();
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    if let Some(Some(watcher)) = watcher {
        // The watcher wakes twice a second to see `stop`; should a PC/SC call hang instead,
        // the process exits without it.
        let joined = tokio::task::spawn_blocking(move || watcher.join());
        let _ = tokio::time::timeout(Duration::from_secs(2), joined).await;
    }
    tracing::info!(
        pending = uplink.pending_count(),
        "shutting down; undelivered reports stay spooled"
    );
    Ok(())
}

/// One scan on a blocking thread, timed now.
async fn scan(config: &ScanConfig) -> Option<Inventory> {
    let mut config = config.clone();
    let task = tokio::task::spawn_blocking(move || {
        config.now = chrono::Utc::now();
        crate::scan(&config)
    });
    match task.await {
        Ok(inventory) => Some(inventory),
        Err(error) => {
            tracing::error!(%error, "the scan failed");
            None
        }
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(365 * 24 * 3600)
}
