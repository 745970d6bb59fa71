//! Installed software and devices that decide whether signing works: CryptoPro CSP and its
//! licence, tokens on the USB bus, PKCS#11 modules, vendor middleware and the CCID driver.
//!
//! On Linux everything is looked up under `config.paths`, so the collector runs unchanged
//! against a prepared tree; on Windows CryptoPro is read from the registry. The smart-card
//! service state belongs to the readers collector, which talks to the service.

use std::time::Duration;

use super::{CollectError, Collector, Section};
use crate::config::ScanConfig;

mod cryptopro;
mod license;
#[cfg(not(windows))]
mod middleware;
pub mod modules;
// The PnP rules are tested on every platform; only Windows has PnP devices to read.
#[cfg_attr(not(windows), allow(dead_code))]
mod pnp;
// The counting rule is tested on every platform; only Windows has sessions to count.
#[cfg_attr(not(windows), allow(dead_code))]
mod sessions;
#[cfg(windows)]
mod smart_card_service;
#[cfg(not(windows))]
mod usb;
mod usb_ids;
mod vendors;

// What is installed is looked up the way each system keeps it: files and programs on Linux,
// the registry on Windows.
#[cfg(not(windows))]
#[path = "components/unix.rs"]
mod platform;
#[cfg(windows)]
#[path = "components/windows.rs"]
mod platform;

/// Longest any one vendor program may run.
const PROGRAM_TIMEOUT: Duration = Duration::from_secs(10);

/// The `components` collector.
#[derive(Debug)]
pub struct ComponentsCollector;

impl Collector for ComponentsCollector {
    fn name(&self) -> &'static str {
        "components"
    }

    fn collect(&self, config: &ScanConfig) -> Result<Section, CollectError> {
        let mut section = Section::default();
        platform::collect(config, &mut section);
        Ok(section)
    }
}

/// Up to two programs run one after the other inside the collector's own deadline: give each a
/// third of it, so an overrun is reported by this collector with what it did find.
fn program_timeout(config: &ScanConfig) -> Duration {
    PROGRAM_TIMEOUT.min(config.collector_timeout / 3)
}
