//! Placeholder until this collector lands.

use super::{CollectError, Collector, Section};
use crate::config::ScanConfig;

/// The `containers` collector.
#[derive(Debug)]
pub struct Containers;

impl Collector for Containers {
    fn name(&self) -> &'static str {
        "containers"
    }

    fn collect(&self, _config: &ScanConfig) -> Result<Section, CollectError> {
        Ok(Section {
            skipped: true,
            ..Section::default()
        })
    }
}
