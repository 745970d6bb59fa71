//! One container folder → [`Container`] and the certificates embedded in it.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha1::Digest;

use super::{FormatError, MAX_HEADER_FILE, MAX_KEY_FILE, MAX_NAME_FILE, header, keys, name};
use crate::collect::certificates::summarize;
use crate::inventory::{Certificate, CertificateSource, Container, DamagedFile, Media, SourceKind};

const HEADER: &str = "header.key";
const NAME: &str = "name.key";
/// The `primary`/`masks` pairs; either one makes a usable container.
const PAIRS: [(&str, &str); 2] = [("primary.key", "masks.key"), ("primary2.key", "masks2.key")];

/// What reading one container folder gave.
#[derive(Clone, Debug)]
pub struct ContainerRead {
    pub container: Container,
    /// Certificates embedded in `header.key`, with the container as their source.
    pub certificates: Vec<Certificate>,
    /// Things that could not be read at all, for the collector's error list.
    pub errors: Vec<String>,
}

/// Where one of a container's files is kept.
#[derive(Clone, Debug)]
pub(crate) enum Stored {
    /// A file in the container folder, read when needed.
    File(PathBuf),
    /// A value already read (a binary value of a registry container's key).
    Bytes(Vec<u8>),
}

/// Read the container folder at `path`. Never fails: what cannot be read is reported in the
/// container's `damaged_files` (and, for an unlistable folder, in `errors`).
pub fn read_container(path: &Path, media: Media, owner: Option<String>) -> ContainerRead {
    let location = path.display().to_string();
    match list(path) {
        Ok(files) => read_stored(location, media, owner, &files),
        Err(error) => {
            let folder = path
                .file_name()
                .map_or_else(|| location.clone(), |n| n.to_string_lossy().into_owned());
            let errors = vec![format!("cannot list container {location}: {error}")];
            let mut container = empty(location, media, owner);
            container.damaged_files.push(DamagedFile {
                file: folder,
                reason: format!("cannot list the container folder: {error}"),
            });
            ContainerRead {
                container,
                certificates: Vec::new(),
                errors,
            }
        }
    }
}

/// Read a container whose files are values already in memory, by name (the registry reader's
/// binary values `header.key`, `name.key`, …); `location` names where they were found.
/// Names are matched without regard to case, as CSP does.
pub fn read_container_values(
    location: String,
    media: Media,
    owner: Option<String>,
    values: impl IntoIterator<Item = (String, Vec<u8>)>,
) -> ContainerRead {
    let files = values
        .into_iter()
        .map(|(name, bytes)| (name.to_lowercase(), Stored::Bytes(bytes)))
        .filter(|(name, _)| name.ends_with(".key"))
        .collect();
    read_stored(location, media, owner, &files)
}

fn empty(location: String, media: Media, owner: Option<String>) -> Container {
    Container {
        name: None,
        path: location,
        media,
        owner,
        complete: false,
        missing_files: Vec::new(),
        damaged_files: Vec::new(),
        key_algorithm: None,
        key_algorithm_oid: None,
        exportable: None,
        certificate_sha1: None,
        private_key_not_before: None,
        private_key_not_after: None,
    }
}

fn read_stored(
    location: String,
    media: Media,
    owner: Option<String>,
    files: &BTreeMap<String, Stored>,
) -> ContainerRead {
    let mut container = empty(location, media, owner);
    let mut certificates = Vec::new();
    let present = |wanted: &str| files.contains_key(wanted);
    container.missing_files = missing_files(present);

    if let Some(bytes) = load(files, NAME, MAX_NAME_FILE, &mut container.damaged_files) {
        match name::parse_name(&bytes) {
            Ok(name) => container.name = Some(name),
            Err(error) => damaged(&mut container.damaged_files, NAME, &error),
        }
    }
    if let Some(bytes) = load(files, HEADER, MAX_HEADER_FILE, &mut container.damaged_files) {
        match header::parse_header(&bytes) {
            Ok(parsed) => apply_header(&mut container, parsed, &mut certificates),
            Err(error) => damaged(&mut container.damaged_files, HEADER, &error),
        }
    }
    let mut usable_pair = false;
    for (primary, masks) in PAIRS {
        let mut pair_ok = present(primary) && present(masks);
        for (file, check) in [
            (
                primary,
                keys::check_primary as fn(&[u8]) -> Result<(), FormatError>,
            ),
            (masks, keys::check_masks),
        ] {
            if let Some(bytes) = load(files, file, MAX_KEY_FILE, &mut container.damaged_files) {
                if let Err(error) = check(&bytes) {
                    damaged(&mut container.damaged_files, file, &error);
                    pair_ok = false;
                }
            }
        }
        usable_pair |= pair_ok;
    }
    container.complete =
        present(HEADER) && present(NAME) && usable_pair && container.damaged_files.is_empty();
    ContainerRead {
        container,
        certificates,
        errors: Vec::new(),
    }
}

/// The files a complete container lacks: the header, the name, and the other half of any pair
/// that is half there; with no pair file at all, the first pair.
fn missing_files(present: impl Fn(&str) -> bool) -> Vec<String> {
    let mut missing: Vec<String> = [HEADER, NAME]
        .into_iter()
        .filter(|f| !present(f))
        .map(str::to_owned)
        .collect();
    if PAIRS.iter().all(|(p, m)| !present(p) && !present(m)) {
        missing.extend([PAIRS[0].0.to_owned(), PAIRS[0].1.to_owned()]);
        return missing;
    }
    for (primary, masks) in PAIRS {
        match (present(primary), present(masks)) {
            (true, false) => missing.push(masks.to_owned()),
            (false, true) => missing.push(primary.to_owned()),
            _ => {}
        }
    }
    missing
}

fn apply_header(container: &mut Container, parsed: header::Header, out: &mut Vec<Certificate>) {
    container.key_algorithm = parsed
        .key_algorithm_oid
        .as_deref()
        .and_then(header::algorithm_name)
        .map(str::to_owned);
    container.key_algorithm_oid = parsed.key_algorithm_oid;
    container.exportable = parsed.exportable;
    container.private_key_not_before = parsed.private_key_not_before;
    container.private_key_not_after = parsed.private_key_not_after;
    if let Some(der) = &parsed.primary_certificate {
        container.certificate_sha1 = Some(hex::encode(sha1::Sha1::digest(der)));
    }
    let embedded = [
        ("[5] primary", parsed.primary_certificate),
        ("[6] secondary", parsed.secondary_certificate),
    ];
    for (field, der) in embedded {
        let Some(der) = der else { continue };
        let source = CertificateSource {
            kind: SourceKind::Container,
            location: container.path.clone(),
        };
        match summarize(&der, source) {
            Ok(mut cert) => {
                // The container's own period is what CSP enforces for this key.
                if container.private_key_not_before.is_some() {
                    cert.private_key_not_before = container.private_key_not_before;
                }
                if container.private_key_not_after.is_some() {
                    cert.private_key_not_after = container.private_key_not_after;
                }
                out.push(cert);
            }
            Err(error) => container.damaged_files.push(DamagedFile {
                file: HEADER.to_owned(),
                reason: format!("the {field} certificate cannot be read: {error}"),
            }),
        }
    }
}

fn damaged(list: &mut Vec<DamagedFile>, file: &str, error: &FormatError) {
    list.push(DamagedFile {
        file: file.to_owned(),
        reason: error.to_string(),
    });
}

/// The container's files by lower-case name. Copies made on Windows FAT media can carry
/// upper-case names, which CSP accepts.
fn list(path: &Path) -> std::io::Result<BTreeMap<String, Stored>> {
    let mut files = BTreeMap::new();
    for entry in fs::read_dir(path)?.take(super::discover::MAX_ENTRIES) {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().to_lowercase();
        if name.ends_with(".key") {
            files.insert(name, Stored::File(entry.path()));
        }
    }
    Ok(files)
}

/// Read `file` from the listing, at most `limit + 1` bytes so the parser can see it is too
/// large without the whole file being read. A read failure is recorded as damage.
fn load(
    files: &BTreeMap<String, Stored>,
    file: &str,
    limit: usize,
    damaged_files: &mut Vec<DamagedFile>,
) -> Option<Vec<u8>> {
    let path = match files.get(file)? {
        Stored::File(path) => path,
        Stored::Bytes(bytes) => {
            return Some(bytes[..bytes.len().min(limit.saturating_add(1))].to_vec());
        }
    };
    let result = fs::metadata(path).and_then(|meta| {
        if !meta.is_file() {
            return Err(std::io::Error::other("not a regular file"));
        }
        let mut bytes = Vec::new();
        fs::File::open(path)?
            .take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
            .read_to_end(&mut bytes)?;
        Ok(bytes)
    });
    match result {
        Ok(bytes) => Some(bytes),
        Err(error) => {
            damaged_files.push(DamagedFile {
                file: file.to_owned(),
                reason: format!("cannot read: {error}"),
            });
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn missing(present: &[&str]) -> Vec<String> {
        missing_files(|f| present.contains(&f))
    }

    #[test]
    fn missing_files_name_what_a_complete_container_lacks() {
        let all = [
            HEADER,
            NAME,
            "primary.key",
            "masks.key",
            "primary2.key",
            "masks2.key",
        ];
        assert!(missing(&all).is_empty());
        assert_eq!(
            missing(&[HEADER, NAME, "primary.key", "masks.key"]),
            Vec::<String>::new()
        );
        assert_eq!(
            missing(&[HEADER, NAME, "primary.key", "masks.key", "primary2.key"]),
            vec!["masks2.key"]
        );
        assert_eq!(missing(&[NAME, "masks2.key"]), vec![HEADER, "primary2.key"]);
        assert_eq!(missing(&[]), vec![HEADER, NAME, "primary.key", "masks.key"]);
    }
}
