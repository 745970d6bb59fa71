//! Certificates from files, folders and the CryptoPro user store, summarised GOST-aware.

use super::{CollectError, Collector, Section};
use crate::config::ScanConfig;

mod certmgr;
mod der;
mod error;
mod extensions;
mod file;
mod names;
mod oids;
mod pem;
pub mod summary;

pub use certmgr::{CertmgrEntry, CertmgrError, parse_certmgr_list};
pub use file::{MAX_FILE_SIZE, parse_certificate_file};
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
