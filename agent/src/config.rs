//! Scan settings: where to look and when to warn.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::findings::Thresholds;
use crate::paths::Paths;

/// Everything one scan needs. Built from the command line (and later the service config).
#[derive(Clone, Debug)]
pub struct ScanConfig {
    pub paths: Paths,
    /// Extra folders holding key containers (or a container folder itself).
    pub keys_dirs: Vec<PathBuf>,
    /// Extra certificate files or folders (DER, PEM, bundles).
    pub cert_paths: Vec<PathBuf>,
    /// Extra PKCS#11 modules to load besides the vendor modules found on disk.
    pub pkcs11_modules: Vec<PathBuf>,
    pub thresholds: Thresholds,
    /// A collector that has not finished by then is reported as failed, so a hung driver or
    /// vendor library never blocks the scan.
    pub collector_timeout: Duration,
    /// Collectors to leave out, by name.
    pub disabled_collectors: Vec<String>,
    /// The instant expiry is measured against (the scan start on a real host).
    pub now: DateTime<Utc>,
}

// === impl ScanConfig ===

impl ScanConfig {
    /// Defaults for a real host: system paths, no extra locations.
    pub fn new(paths: Paths) -> Self {
        Self {
            paths,
            keys_dirs: Vec::new(),
            cert_paths: Vec::new(),
            pkcs11_modules: Vec::new(),
            thresholds: Thresholds::default(),
            collector_timeout: Duration::from_secs(20),
            disabled_collectors: Vec::new(),
            now: Utc::now(),
        }
    }

    /// Whether the collector called `name` should run.
    pub fn is_enabled(&self, name: &str) -> bool {
        !self.disabled_collectors.iter().any(|d| d == name)
    }
}

impl Default for ScanConfig {
    fn default() -> Self {
        Self::new(Paths::default())
    }
}
