//! Certificates from files, folders and the CryptoPro user store, summarised GOST-aware.

use super::{CollectError, Collector, Section};
use crate::config::ScanConfig;

pub mod summary;

pub use summary::{CertError, summarize};

/// The `certificates` collector.
#[derive(Debug)]
pub struct Certificates;

impl Collector for Certificates {
    fn name(&self) -> &'static str {
        "certificates"
    }

    fn collect(&self, _config: &ScanConfig) -> Result<Section, CollectError> {
        Ok(Section {
            skipped: true,
            ..Section::default()
        })
    }
}
