//! Noticing cards and tokens coming and going, so the inventory follows within seconds.
//!
//! A blocking thread waits on PC/SC `SCardGetStatusChange` with the `\\?PnP?\Notification`
//! pseudo-reader (reader added or removed) plus every current reader (card inserted or removed).
//! Without a smart-card service it polls the USB device list in sysfs instead. It wakes at
//! least twice a second to see whether the service is stopping, so it never holds up shutdown.

use std::collections::BTreeSet;
use std::ffi::CString;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use pcsc::{Context, Error as PcscError, PNP_NOTIFICATION, ReaderState, Scope, State};
use tokio::sync::mpsc;

use crate::paths::Paths;

/// How long one wait may block before checking whether to stop.
const TICK: Duration = Duration::from_millis(500);
/// How often the USB device list is polled when PC/SC is unavailable.
const USB_POLL: Duration = Duration::from_secs(2);

/// Start the watcher thread. Each event sends `()`; the receiver debounces.
pub fn spawn(
    paths: Paths,
    events: mpsc::Sender<()>,
    stop: Arc<AtomicBool>,
) -> Option<JoinHandle<()>> {
    let spawned = thread::Builder::new()
        .name("hotplug".into())
        .spawn(move || watch(&paths, &events, &stop));
    match spawned {
        Ok(handle) => Some(handle),
        Err(error) => {
            tracing::warn!(%error, "no card watcher; rescans follow the interval only");
            None
        }
    }
}

fn watch(paths: &Paths, events: &mpsc::Sender<()>, stop: &AtomicBool) {
    let mut usb = UsbPoll::new(paths);
    while !stop.load(Ordering::Relaxed) {
        match Context::establish(Scope::User) {
            Ok(context) => {
                tracing::debug!("watching PC/SC for cards and readers");
                watch_pcsc(&context, events, stop);
            }
            Err(error) => {
                tracing::debug!(%error, "PC/SC unavailable; polling USB devices");
                if usb.changed() {
                    notify(events);
                }
                sleep_unless_stopped(USB_POLL, stop);
            }
        }
    }
}

/// Wait for changes until the service stops or PC/SC goes away.
fn watch_pcsc(context: &Context, events: &mpsc::Sender<()>, stop: &AtomicBool) {
    let mut states = vec![ReaderState::new(PNP_NOTIFICATION(), State::UNAWARE)];
    let mut primed = false;
    while !stop.load(Ordering::Relaxed) {
        let readers_changed = sync_readers(context, &mut states);
        if readers_changed && primed {
            notify(events);
        }
        match context.get_status_change(TICK, &mut states) {
            Ok(()) => {
                let changed = states
                    .iter()
                    .any(|s| s.event_state().contains(State::CHANGED));
                for state in &mut states {
                    state.sync_current_state();
                }
                // The first answer only tells the current state of every reader.
                if changed && primed {
                    notify(events);
                }
                primed = true;
            }
            Err(PcscError::Timeout) => primed = true,
            Err(PcscError::NoService | PcscError::ServiceStopped | PcscError::InvalidHandle) => {
                return;
            }
            Err(error) => {
                tracing::debug!(%error, "PC/SC wait failed; re-establishing");
                sleep_unless_stopped(TICK, stop);
                return;
            }
        }
    }
}

/// Make `states` the notification pseudo-reader plus the readers there now. True when the
/// reader list changed.
fn sync_readers(context: &Context, states: &mut Vec<ReaderState>) -> bool {
    let names: BTreeSet<CString> = match context.list_readers_owned() {
        Ok(names) => names.into_iter().collect(),
        Err(_) => BTreeSet::new(),
    };
    let pnp = PNP_NOTIFICATION();
    let before = states.len();
    states.retain(|s| s.name() == pnp || names.contains(s.name()));
    let mut changed = states.len() != before;
    for name in names {
        if !states.iter().any(|s| s.name() == name.as_c_str()) {
            states.push(ReaderState::new(name, State::UNAWARE));
            changed = true;
        }
    }
    changed
}

fn notify(events: &mpsc::Sender<()>) {
    // A full channel already holds a pending rescan; nothing is lost by dropping this one.
    let _ = events.try_send(());
}

fn sleep_unless_stopped(duration: Duration, stop: &AtomicBool) {
    let mut left = duration;
    while !left.is_zero() && !stop.load(Ordering::Relaxed) {
        let step = left.min(TICK);
        thread::sleep(step);
        left -= step;
    }
}

/// The USB device names in sysfs, compared between polls.
struct UsbPoll {
    dir: std::path::PathBuf,
    seen: Option<BTreeSet<String>>,
}

impl UsbPoll {
    fn new(paths: &Paths) -> Self {
        Self {
            dir: paths.sys().join("bus/usb/devices"),
            seen: None,
        }
    }

    /// Whether the device list differs from the last poll (never on the first).
    fn changed(&mut self) -> bool {
        let now: BTreeSet<String> = std::fs::read_dir(&self.dir)
            .map(|it| {
                it.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let changed = self.seen.as_ref().is_some_and(|seen| *seen != now);
        self.seen = Some(now);
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usb_poll_reports_a_device_coming_and_going() {
        let root = tempfile::tempdir().expect("tempdir");
        let devices = root.path().join("sys/bus/usb/devices");
        std::fs::create_dir_all(devices.join("1-1")).expect("mkdir");
        let mut poll = UsbPoll::new(&Paths::new(root.path()));
        assert!(!poll.changed(), "the first poll is the baseline");
        assert!(!poll.changed());
        std::fs::create_dir(devices.join("1-2")).expect("plug");
        assert!(poll.changed());
        assert!(!poll.changed());
        std::fs::remove_dir(devices.join("1-2")).expect("unplug");
        assert!(poll.changed());
    }

    #[test]
    fn the_watcher_stops_promptly() {
        let root = tempfile::tempdir().expect("tempdir");
        let (tx, _rx) = mpsc::channel(1);
        let stop = Arc::new(AtomicBool::new(false));
        let handle = spawn(Paths::new(root.path()), tx, Arc::clone(&stop)).expect("spawns");
        thread::sleep(Duration::from_millis(300));
        let asked = std::time::Instant::now();
        stop.store(true, Ordering::Relaxed);
        handle.join().expect("joins");
        assert!(
            asked.elapsed() < Duration::from_secs(3),
            "{:?}",
            asked.elapsed()
        );
    }
}
