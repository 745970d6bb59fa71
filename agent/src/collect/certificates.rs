//! Certificates from files, folders and the CryptoPro stores, summarised GOST-aware.
//!
//! Files give the DER, so they carry every field. The CryptoPro stores are read through
//! `certmgr`, which prints a summary only: a store entry whose certificate is also in a file is
//! folded into the file's copy (it gains the store as a source), so the inventory lists it once.

use std::time::Instant;

use super::{CollectError, Collector, Section};
use crate::config::ScanConfig;
use crate::inventory::Certificate;

mod certmgr;
mod der;
mod error;
mod extensions;
mod file;
mod files;
mod names;
mod oids;
mod pem;
mod process;
mod store;
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

    fn collect(&self, config: &ScanConfig) -> Result<Section, CollectError> {
        let started = Instant::now();
        let certmgr = store::certmgr(&config.paths);
        let has_certmgr = certmgr.is_file();
        if config.cert_paths.is_empty() && !has_certmgr {
            return Ok(Section {
                skipped: true,
                ..Section::default()
            });
        }
        let mut section = Section::default();
        files::collect(&config.cert_paths, &mut section);
        if has_certmgr {
            // Leave a quarter of the collector's time for the rest, so a hanging certmgr is
            // reported by this collector rather than the whole collector timing out.
            let deadline = started + config.collector_timeout * 3 / 4;
            let (listed, errors) = store::collect(&certmgr, deadline);
            fold_store_entries(&mut section.certificates, listed);
            section.errors.extend(errors);
        }
        Ok(section)
    }
}

/// Add store entries, folding each into a DER-backed copy with the same SHA-1 when there is one.
fn fold_store_entries(certificates: &mut Vec<Certificate>, listed: Vec<Certificate>) {
    for entry in listed {
        match certificates
            .iter_mut()
            .find(|c| c.sha1 == entry.sha1 && !c.der.is_empty())
        {
            Some(copy) => copy.sources.extend(entry.sources),
            None => certificates.push(entry),
        }
    }
}

/// Parse a certificate file's bytes and summarise every certificate in it, for callers (and
/// benchmarks) that have the bytes already. Each result stands for one certificate in file order.
pub fn summarize_file_bytes(
    bytes: &[u8],
    location: &str,
) -> Result<Vec<Result<Certificate, CertError>>, CertError> {
    let source = || crate::inventory::CertificateSource {
        kind: crate::inventory::SourceKind::File,
        location: location.to_owned(),
    };
    Ok(parse_certificate_file(bytes)?
        .iter()
        .map(|der| summarize(der, source()))
        .collect())
}
