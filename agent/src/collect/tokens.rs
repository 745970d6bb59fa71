//! Placeholder until this collector lands.

use super::{CollectError, Collector, Section};
use crate::config::ScanConfig;

/// The `tokens` collector.
#[derive(Debug)]
pub struct Tokens;

impl Collector for Tokens {
    fn name(&self) -> &'static str {
        "tokens"
    }

    fn collect(&self, _config: &ScanConfig) -> Result<Section, CollectError> {
        Ok(Section {
            skipped: true,
            ..Section::default()
        })
    }
}
