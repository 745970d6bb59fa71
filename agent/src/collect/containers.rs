//! CryptoPro key containers: on disk (HDIMAGE, flash drives and configured folders) and, on
//! Windows, in the registry.
//!
//! A container is a folder `xxxxxxxx.000` holding `header.key`, `name.key` and one or two
//! `primary`/`masks` pairs (domain reference §3). Everything reported here is read without the
//! container's password and without CryptoPro installed; nothing is ever written. The parsers
//! ([`parse_name`], [`parse_header`], [`check_primary`], [`check_masks`]) are pure and total:
//! any input gives a value or a [`FormatError`] that says what is wrong with the file.

use std::collections::BTreeSet;
use std::path::PathBuf;

use x509_parser::asn1_rs::Any;

use super::{CollectError, Collector, Section, der};
use crate::config::ScanConfig;
use crate::findings::{Code, Finding};

mod discover;
#[cfg(windows)]
mod drives;
mod header;
mod keys;
mod name;
mod read;
#[cfg(windows)]
mod registry;

pub use discover::is_container_folder_name;
pub use header::{Header, MAX_HEADER_FILE, algorithm_name, parse_header};
pub use keys::{MAX_KEY_FILE, check_masks, check_primary};
pub use name::{MAX_NAME_FILE, parse_name};
pub use read::{ContainerRead, read_container, read_container_values};

/// Why a container file is not what CryptoPro wrote.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("the file is empty")]
    Empty,
    /// `size` is what was read: a file is read only one byte past `limit`, so the message
    /// does not claim it as the file's size.
    #[error("the file is larger than the {limit} bytes a real one can be")]
    TooLarge { size: usize, limit: usize },
    #[error("malformed DER: {0}")]
    Der(String),
    #[error("{0} bytes follow the DER structure")]
    TrailingBytes(usize),
    #[error("expected {expected}, found {found}")]
    Unexpected {
        expected: &'static str,
        found: String,
    },
    #[error("{0} is missing")]
    Missing(&'static str),
    #[error("the {field} is {found} bytes long")]
    BadLength { field: &'static str, found: usize },
    #[error("more elements than the format has")]
    TooManyElements,
    #[error("malformed object identifier")]
    BadOid,
    #[error("malformed time {0:?}")]
    BadTime(String),
}

impl From<der::DerError> for FormatError {
    fn from(error: der::DerError) -> Self {
        use der::DerError;
        match error {
            DerError::Malformed(reason) => Self::Der(reason),
            DerError::TrailingBytes(count) => Self::TrailingBytes(count),
            DerError::TooManyElements => Self::TooManyElements,
            DerError::BadOid => Self::BadOid,
            DerError::Unexpected { expected, found } => Self::Unexpected { expected, found },
        }
    }
}

/// The elements of the one SEQUENCE a container file holds (`what` names it for errors), once
/// the file is known to be neither empty nor larger than `limit`.
fn file_sequence<'a>(
    bytes: &'a [u8],
    limit: usize,
    what: &'static str,
) -> Result<Vec<Any<'a>>, FormatError> {
    if bytes.is_empty() {
        return Err(FormatError::Empty);
    }
    if bytes.len() > limit {
        return Err(FormatError::TooLarge {
            size: bytes.len(),
            limit,
        });
    }
    let outer = der::single(bytes)?;
    Ok(der::sequence(&outer, what)?)
}

/// What the registry walk gave: the containers read and what could not be read.
#[derive(Debug, Default)]
struct RegistryWalk {
    containers: Vec<ContainerRead>,
    errors: Vec<String>,
}

#[cfg(windows)]
use registry::registry_containers;

/// Only Windows has a registry.
#[cfg(not(windows))]
fn registry_containers() -> RegistryWalk {
    RegistryWalk::default()
}

/// The `containers` collector.
#[derive(Debug)]
pub struct Containers;

impl Collector for Containers {
    fn name(&self) -> &'static str {
        "containers"
    }

    fn collect(&self, config: &ScanConfig) -> Result<Section, CollectError> {
        let walk = discover::discover(config);
        let mut section = Section::default();
        for (folder, error) in &walk.unlistable {
            let path = folder.display();
            section.errors.push(format!("cannot list {path}: {error}"));
            section.findings.push(Finding::new(
                Code::FileUnreadable,
                format!("folder {path}"),
                format!("The folder {path} cannot be listed, so key containers in it are not reported: {error}."),
            ));
        }
        section.errors.extend(walk.notes);

        // The same container can be reached twice (a keys folder inside HDIMAGE, a bind mount).
        let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
        for found in walk.found {
            let key = std::fs::canonicalize(&found.path).unwrap_or_else(|_| found.path.clone());
            if !seen.insert(key) {
                continue;
            }
            let read = read_container(&found.path, found.media, found.owner);
            section.containers.push(read.container);
            section.certificates.extend(read.certificates);
            section.errors.extend(read.errors);
        }
        let registry = registry_containers();
        section.errors.extend(registry.errors);
        for read in registry.containers {
            section.containers.push(read.container);
            section.certificates.extend(read.certificates);
            section.errors.extend(read.errors);
        }
        section.skipped = section.containers.is_empty()
            && section.errors.is_empty()
            && config.keys_dirs.is_empty()
            && !config.paths.hdimage().exists();
        Ok(section)
    }
}
