//! Placeholder until this collector lands.

use super::{CollectError, Collector, Section};
use crate::config::ScanConfig;

/// The `components` collector.
#[derive(Debug)]
pub struct ComponentsCollector;

impl Collector for ComponentsCollector {
    fn name(&self) -> &'static str {
        "components"
    }

    fn collect(&self, _config: &ScanConfig) -> Result<Section, CollectError> {
        Ok(Section {
            skipped: true,
            ..Section::default()
        })
    }
}
