//! Certificates from files, folders and the CryptoPro stores, summarised GOST-aware.
//!
//! Files give the DER, so they carry every field, and so do Windows' stores. The CryptoPro
//! stores on Linux are read through `certmgr`, which prints a summary only: a store entry whose certificate is also in a file, a
//! container or on a token is folded into that DER-backed copy (which gains the store as a
//! source), so the inventory lists it once.

use std::time::Instant;

use super::{CollectError, Collector, Section};
use crate::config::ScanConfig;
use crate::findings::{Code, Finding, rules};
use crate::inventory::Certificate;

mod certmgr;
mod error;
mod extensions;
mod file;
mod files;
mod names;
mod oids;
mod pem;
pub mod serialized;
#[cfg(not(windows))]
mod store;
pub mod summary;

// The system's certificate stores: CryptoPro's, listed by certmgr, on Linux; Windows' own, read
// from the registry and the profiles, on Windows. `collect` says whether the host has any.
#[cfg(not(windows))]
#[path = "certificates/unix.rs"]
mod system_stores;
#[cfg(windows)]
#[path = "certificates/windows.rs"]
mod system_stores;

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
        let mut section = Section::default();
        files::collect(&config.cert_paths, &mut section);
        // Leave a quarter of the collector's time for the rest, so a hanging certmgr or a
        // terminal server's thousands of profiles are reported by this collector rather than
        // the whole collector timing out.
        let deadline = started + config.collector_timeout * 3 / 4;
        let stores = system_stores::collect(config, deadline, &mut section);
        section.certificates = fold_store_copies(std::mem::take(&mut section.certificates));
        section.skipped = config.cert_paths.is_empty() && !stores;
        Ok(section)
    }
}

/// Fold every store-only entry (no DER, `sha1:` placeholder identity; see `certmgr`) into a
/// DER-backed copy of the same certificate, which gains the store as a source. Store entries
/// seen nowhere else are kept as they are. The scan calls this across all collectors, so a
/// certificate listed by certmgr and found in a container or on a token is reported once.
pub fn fold_store_copies(certificates: Vec<Certificate>) -> Vec<Certificate> {
    let (mut backed, store_only): (Vec<_>, Vec<_>) = certificates
        .into_iter()
        .partition(|c| !(c.der.is_empty() && c.sha256.starts_with(certmgr::PLACEHOLDER_PREFIX)));
    for entry in store_only {
        match backed
            .iter_mut()
            .find(|c| c.sha1 == entry.sha1 && !c.der.is_empty())
        {
            Some(copy) => copy.sources.extend(entry.sources),
            None => backed.push(entry),
        }
    }
    backed
}

/// `certificate.key_link_missing` for a personal certificate found in `store` without a link to
/// its private key (Windows' Personal store, CryptoPro's `uMy`).
fn key_link_missing(certificate: &Certificate, store: &str) -> Finding {
    Finding::new(
        Code::CertificateKeyLinkMissing,
        rules::certificate_subject(
            &certificate.subject,
            certificate.subject_cn.as_deref(),
            &certificate.sha1,
        ),
        format!(
            "The certificate is in the personal store {store} without a link to its private key."
        ),
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{CertificateSource, SourceKind};

    fn cert(sha1: &str, der: &[u8], sha256: &str, kind: SourceKind) -> Certificate {
        Certificate {
            sha1: sha1.to_owned(),
            sha256: sha256.to_owned(),
            der: der.to_vec(),
            sources: vec![CertificateSource {
                kind,
                location: format!("{kind:?}"),
            }],
            ..Certificate::default()
        }
    }

    #[test]
    fn store_entries_fold_into_der_backed_copies_only() {
        let folded = fold_store_copies(vec![
            cert("aa", b"", "sha1:aa", SourceKind::CryptoproStore),
            cert("aa", &[0x30], "f00d", SourceKind::Container),
            cert("bb", b"", "sha1:bb", SourceKind::CryptoproStore),
            cert("cc", &[0x30], "c0de", SourceKind::File),
        ]);
        assert_eq!(folded.len(), 3);
        let kinds = |c: &Certificate| c.sources.iter().map(|s| s.kind).collect::<Vec<_>>();
        assert_eq!(folded[0].sha1, "aa");
        assert_eq!(
            kinds(&folded[0]),
            [SourceKind::Container, SourceKind::CryptoproStore]
        );
        assert_eq!(folded[1].sha1, "cc");
        assert_eq!(
            (folded[2].sha1.as_str(), folded[2].sha256.as_str()),
            ("bb", "sha1:bb")
        );
    }
}
