//! Certificate files and folders named in `cert_paths`: the I/O half of the file loader.
//!
//! Folders are read a few levels deep (certificate folders are flat in practice, but users keep
//! `chain/` or per-year subfolders) without following symlinked folders, so a link loop or a
//! link to `/` cannot run away. Only certificate extensions are picked up from folders; a file
//! named directly is read whatever its name.
//!
//! A file that holds no certificate but is a well-formed something else (a key, a CRL, a
//! request) is reported when it was named directly (someone meant it to be a certificate) and
//! only logged when it was met in a folder: keys and CRLs kept beside certificates are normal,
//! and a warning for each would bury the real problems.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::file::{MAX_FILE_SIZE, parse_certificate_file};
use super::summary::{CertError, summarize};
use crate::collect::Section;
use crate::findings::{Code, Finding};
use crate::inventory::{CertificateSource, SourceKind};

/// Subfolder levels read below a configured folder.
const MAX_DEPTH: usize = 3;
/// Files read from one configured folder before giving up (a mis-set path such as `/`).
const MAX_FILES: usize = 5000;
/// Extensions picked up from folders (compared case-insensitively).
const EXTENSIONS: [&str; 6] = ["cer", "crt", "der", "pem", "p7b", "p7c"];

/// Read every configured path into `section`.
pub(crate) fn collect(paths: &[PathBuf], section: &mut Section) {
    for path in paths {
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                let mut budget = MAX_FILES;
                walk(path, 0, &mut budget, section);
                if budget == 0 {
                    section.errors.push(format!(
                        "{}: stopped after {MAX_FILES} files; name a narrower folder",
                        path.display()
                    ));
                }
            }
            Ok(_) => read_file(path, Origin::Named, section),
            Err(error) => unreadable(path, &error, section),
        }
    }
}

fn walk(dir: &Path, depth: usize, budget: &mut usize, section: &mut Section) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => return unreadable(dir, &error, section),
    };
    let mut children: Vec<(PathBuf, fs::FileType)> = Vec::new();
    for entry in entries {
        match entry.and_then(|e| Ok((e.path(), e.file_type()?))) {
            Ok(child) => children.push(child),
            Err(error) => return unreadable(dir, &error, section),
        }
    }
    children.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, kind) in children {
        if *budget == 0 {
            return;
        }
        if kind.is_dir() {
            if depth < MAX_DEPTH {
                walk(&path, depth + 1, budget, section);
            }
            continue;
        }
        // A symlink counts when it points at a file; links to folders are not followed.
        let is_file = kind.is_file() || fs::metadata(&path).is_ok_and(|m| m.is_file());
        if is_file && has_certificate_extension(&path) {
            *budget -= 1;
            read_file(&path, Origin::Folder, section);
        }
    }
}

fn has_certificate_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// How a file came to be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    /// Named in `cert_paths` itself.
    Named,
    /// Found while reading a configured folder.
    Folder,
}

/// Read one file and summarise every certificate in it.
fn read_file(path: &Path, origin: Origin, section: &mut Section) {
    let location = path.display().to_string();
    let bytes = match read_capped(path, MAX_FILE_SIZE) {
        Ok(bytes) => bytes,
        Err(ReadError::Io(error)) => return unreadable(path, &error, section),
        Err(ReadError::TooLarge(size)) => {
            let error = CertError::TooLarge {
                size,
                limit: MAX_FILE_SIZE,
            };
            return unparsable(&location, &error.to_string(), section);
        }
    };
    let ders = match parse_certificate_file(&bytes) {
        Ok(ders) => ders,
        Err(error @ CertError::NotCertificate(_)) if origin == Origin::Folder => {
            tracing::info!(message = "Skipped a file without certificates.", path = %location, %error);
            return;
        }
        Err(CertError::Empty) => {
            return unparsable(&location, "the file is empty (no data)", section);
        }
        Err(error) => return unparsable(&location, &error.to_string(), section),
    };
    let count = ders.len();
    for (index, der) in ders.iter().enumerate() {
        let source = CertificateSource {
            kind: SourceKind::File,
            location: location.clone(),
        };
        match summarize(der, source) {
            Ok(cert) => section.certificates.push(cert),
            Err(error) => {
                let message = format!("certificate {} of {count}: {error}", index + 1);
                unparsable(&location, &message, section);
            }
        }
    }
}

/// Why a file's bytes were not read.
pub(super) enum ReadError {
    Io(std::io::Error),
    /// Its size, over the limit.
    TooLarge(u64),
}

/// The file's bytes, refusing (unread) anything over `limit` bytes, even a file that grows
/// while it is read.
pub(super) fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = fs::File::open(path).map_err(ReadError::Io)?;
    let size = file.metadata().map_err(ReadError::Io)?.len();
    if size > limit {
        return Err(ReadError::TooLarge(size));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    let read = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if read > limit {
        return Err(ReadError::TooLarge(read));
    }
    Ok(bytes)
}

fn unparsable(location: &str, message: &str, section: &mut Section) {
    section
        .findings
        .push(Finding::new(Code::FileUnparsable, location, message));
}

fn unreadable(path: &Path, error: &std::io::Error, section: &mut Section) {
    let location = path.display().to_string();
    let message = match error.kind() {
        std::io::ErrorKind::NotFound => "does not exist".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => error.to_string(),
    };
    section.errors.push(format!("{location}: {message}"));
    section
        .findings
        .push(Finding::new(Code::FileUnreadable, location, message));
}
