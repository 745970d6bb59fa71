//! Placeholder until this collector lands.

use super::{CollectError, Collector, Section};
use crate::config::ScanConfig;

/// The `readers` collector.
#[derive(Debug)]
pub struct Readers;

impl Collector for Readers {
    fn name(&self) -> &'static str {
        "readers"
    }

    fn collect(&self, _config: &ScanConfig) -> Result<Section, CollectError> {
        Ok(Section {
            skipped: true,
            ..Section::default()
        })
    }
}

/// Token family from a PC/SC reader name (`Aktiv Rutoken ECP 00 00` → Rutoken).
pub fn family_from_reader_name(_name: &str) -> Option<crate::inventory::TokenFamily> {
    None
}
