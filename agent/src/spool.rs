//! The on-disk spool: every report is written here before it is sent and removed once the
//! server has it, so nothing is lost when the server is away or the agent restarts.
//!
//! One file per report, `<sequence>.pb` (an encoded `ReportRequest`), delivered in sequence
//! order. The spool is bounded in count and bytes; when full, the oldest reports are dropped and
//! a persisted counter says how many. A report the server refuses as malformed is moved to
//! `rejected/` for inspection instead of being retried for ever.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::state::{self, StateError};

/// Sub-folder of the state directory.
pub const DIR: &str = "spool";
const REJECTED_DIR: &str = "rejected";
const DROPPED_FILE: &str = "dropped";
/// Rejected reports kept for inspection; older ones are deleted.
const REJECTED_KEPT: usize = 50;
const EXTENSION: &str = "pb";

/// How much the spool may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_reports: usize,
    pub max_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_reports: 500,
            max_bytes: 50 * 1024 * 1024,
        }
    }
}

/// A spool folder.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    limits: Limits,
}

// === impl Spool ===

impl Spool {
    /// Open (creating) the spool in `dir`, clearing temporaries a crash may have left.
    pub fn open(dir: impl Into<PathBuf>, limits: Limits) -> Result<Self, StateError> {
        let dir = dir.into();
        state::create_private_dir(&dir)?;
        for entry in read_dir(&dir)? {
            let name = entry.file_name();
            if name.to_string_lossy().ends_with(".tmp") {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(Self { dir, limits })
    }

    /// Store the encoded report `sequence`, then drop the oldest reports beyond the limits.
    /// Returns how many were dropped now.
    pub fn push(&self, sequence: u64, report: &[u8]) -> Result<usize, StateError> {
        state::write_atomic(&self.file(sequence), report, 0o600)?;
        let mut entries = self.entries()?;
        let mut bytes: u64 = entries.iter().map(|(_, size)| size).sum();
        let mut dropped = 0;
        while entries.len() > self.limits.max_reports
            || (bytes > self.limits.max_bytes && entries.len() > 1)
        {
            let (oldest, size) = entries.remove(0);
            self.remove(oldest)?;
            bytes -= size;
            dropped += 1;
        }
        if dropped > 0 {
            let total = self.dropped()? + dropped as u64;
            state::write_atomic(
                &self.dir.join(DROPPED_FILE),
                format!("{total}\n").as_bytes(),
                0o600,
            )?;
        }
        Ok(dropped)
    }

    /// The sequence numbers waiting, oldest first.
    pub fn pending(&self) -> Result<Vec<u64>, StateError> {
        Ok(self.entries()?.into_iter().map(|(seq, _)| seq).collect())
    }

    /// The oldest report waiting, with its sequence number.
    pub fn oldest(&self) -> Result<Option<(u64, Vec<u8>)>, StateError> {
        let Some(&(sequence, _)) = self.entries()?.first() else {
            return Ok(None);
        };
        let path = self.file(sequence);
        let bytes = fs::read(&path).map_err(|source| io_error("reading", &path, source))?;
        Ok(Some((sequence, bytes)))
    }

    /// Forget a delivered report.
    pub fn remove(&self, sequence: u64) -> Result<(), StateError> {
        let path = self.file(sequence);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error("removing", &path, e)),
            _ => Ok(()),
        }
    }

    /// Move a report the server refused aside, out of the delivery queue.
    pub fn reject(&self, sequence: u64) -> Result<PathBuf, StateError> {
        let rejected = self.dir.join(REJECTED_DIR);
        state::create_private_dir(&rejected)?;
        let from = self.file(sequence);
        let to = rejected.join(format!("{sequence}.{EXTENSION}"));
        fs::rename(&from, &to).map_err(|source| io_error("moving aside", &from, source))?;
        let mut kept: Vec<u64> = read_dir(&rejected)?
            .iter()
            .filter_map(|e| sequence_of(&e.path()))
            .collect();
        kept.sort_unstable();
        let excess = kept.len().saturating_sub(REJECTED_KEPT);
        for old in &kept[..excess] {
            let _ = fs::remove_file(rejected.join(format!("{old}.{EXTENSION}")));
        }
        Ok(to)
    }

    /// How many reports were dropped for space, over the agent's lifetime.
    pub fn dropped(&self) -> Result<u64, StateError> {
        let path = self.dir.join(DROPPED_FILE);
        match fs::read_to_string(&path) {
            Ok(text) => text.trim().parse().map_err(|e| StateError::Invalid {
                path,
                reason: format!("{e}"),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
            Err(source) => Err(io_error("reading", &path, source)),
        }
    }

    fn file(&self, sequence: u64) -> PathBuf {
        self.dir.join(format!("{sequence}.{EXTENSION}"))
    }

    /// `(sequence, size)` of every complete report, by sequence. Temporaries are dot files and
    /// never match.
    fn entries(&self) -> Result<Vec<(u64, u64)>, StateError> {
        let mut entries = Vec::new();
        for entry in read_dir(&self.dir)? {
            let Some(sequence) = sequence_of(&entry.path()) else {
                continue;
            };
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            entries.push((sequence, size));
        }
        entries.sort_unstable();
        Ok(entries)
    }
}

/// The sequence number of a report file (`<sequence>.pb`); `None` for anything else.
fn sequence_of(path: &Path) -> Option<u64> {
    if path.extension().and_then(|e| e.to_str()) != Some(EXTENSION) {
        return None;
    }
    path.file_stem()?.to_str()?.parse().ok()
}

fn read_dir(dir: &Path) -> Result<Vec<fs::DirEntry>, StateError> {
    fs::read_dir(dir)
        .and_then(|it| it.collect::<io::Result<Vec<_>>>())
        .map_err(|source| io_error("listing", dir, source))
}

fn io_error(action: &'static str, path: &Path, source: io::Error) -> StateError {
    StateError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests;
