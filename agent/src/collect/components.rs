//! Installed software and devices that decide whether signing works: CryptoPro CSP and its
//! licence, tokens on the USB bus, PKCS#11 modules, vendor middleware and the CCID driver.
//!
//! Everything is looked up under `config.paths`, so the collector runs unchanged against a
//! prepared tree. The smart-card service state belongs to the readers collector, which talks to
//! the service.

use std::time::Duration;

use super::{CollectError, Collector, Section};
use crate::config::ScanConfig;

mod cryptopro;
mod license;
mod middleware;
pub mod modules;
mod usb;

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
        let paths = &config.paths;
        let components = &mut section.components;

        let devices = paths.sys().join("bus/usb/devices");
        match usb::usb_tokens(&devices) {
            Ok(tokens) => components.usb_tokens = tokens,
            Err(error) => section.errors.push(format!(
                "cannot list USB devices in {}: {error}",
                devices.display()
            )),
        }

        components.cryptopro = cryptopro::cryptopro(
            paths,
            program_timeout(config),
            config.now,
            &mut section.errors,
        );
        components.ccid_driver = middleware::ccid_driver(paths).map(|p| p.display().to_string());
        components.middleware = middleware::middleware(paths);
        // A configured module that does not exist is reported by the tokens collector, which
        // is the one that tries to load it.
        components.pkcs11_modules = modules::find_modules(config);
        Ok(section)
    }
}

/// Up to two programs run one after the other inside the collector's own deadline: give each a
/// third of it, so an overrun is reported by this collector with what it did find.
fn program_timeout(config: &ScanConfig) -> Duration {
    PROGRAM_TIMEOUT.min(config.collector_timeout / 3)
}
