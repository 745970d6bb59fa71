//! Where the agent looks on the filesystem.
//!
//! Every system location is resolved under one root (default `/`), so that tests and containers
//! can point the real collectors at a prepared tree with a single setting (`--root` or
//! `TOKENWATCH_ROOT`).

use std::path::{Path, PathBuf};

/// System locations, all under one root.
#[derive(Clone, Debug)]
pub struct Paths {
    root: PathBuf,
}

// === impl Paths ===

impl Paths {
    /// Paths under `root` (`/` on a real host).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The root everything else is resolved under.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Resolve an absolute system path (`/etc/opt/cprocsp`) under the root.
    pub fn resolve(&self, absolute: &str) -> PathBuf {
        self.root.join(absolute.trim_start_matches('/'))
    }

    /// sysfs (`/sys`).
    pub fn sys(&self) -> PathBuf {
        self.resolve("/sys")
    }

    /// CryptoPro configuration (`/etc/opt/cprocsp`).
    pub fn cprocsp_etc(&self) -> PathBuf {
        self.resolve("/etc/opt/cprocsp")
    }

    /// CryptoPro state: HDIMAGE keys and user stores (`/var/opt/cprocsp`).
    pub fn cprocsp_var(&self) -> PathBuf {
        self.resolve("/var/opt/cprocsp")
    }

    /// CryptoPro programs (`/opt/cprocsp`).
    pub fn cprocsp_opt(&self) -> PathBuf {
        self.resolve("/opt/cprocsp")
    }

    /// HDIMAGE key store: one folder per user.
    pub fn hdimage(&self) -> PathBuf {
        self.cprocsp_var().join("keys")
    }

    /// Where removable media are mounted; a container sits in a medium's root folder.
    pub fn media_roots(&self) -> Vec<PathBuf> {
        ["/media", "/run/media", "/mnt"]
            .iter()
            .map(|p| self.resolve(p))
            .collect()
    }

    /// Folders where vendor PKCS#11 modules and middleware are installed.
    pub fn library_dirs(&self) -> Vec<PathBuf> {
        [
            "/usr/lib",
            "/usr/lib64",
            "/usr/lib/x86_64-linux-gnu",
            "/usr/lib/aarch64-linux-gnu",
            "/usr/lib/pkcs11",
            "/usr/lib64/pkcs11",
            "/usr/lib/x86_64-linux-gnu/pkcs11",
            "/usr/local/lib",
            "/opt/aktivco/rutokenecp/amd64",
            "/usr/lib/3rdparty/ru.rutoken.librtpkcs11ecp",
            "/opt/cprocsp/lib/amd64",
        ]
        .iter()
        .map(|p| self.resolve(p))
        .collect()
    }

    /// pcscd driver bundles (`ifd-ccid.bundle`, `ifd-rutokens.bundle`).
    pub fn pcsc_driver_dirs(&self) -> Vec<PathBuf> {
        [
            "/usr/lib/pcsc/drivers",
            "/usr/local/pcsc/drivers",
            "/usr/lib64/pcsc/drivers",
        ]
        .iter()
        .map(|p| self.resolve(p))
        .collect()
    }
}

impl Default for Paths {
    fn default() -> Self {
        Self::new("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_paths_are_resolved_under_the_root() {
        let paths = Paths::new("/tmp/tree");
        assert_eq!(paths.sys(), PathBuf::from("/tmp/tree/sys"));
        assert_eq!(
            paths.hdimage(),
            PathBuf::from("/tmp/tree/var/opt/cprocsp/keys")
        );
        assert_eq!(
            Paths::default().cprocsp_etc(),
            PathBuf::from("/etc/opt/cprocsp")
        );
    }
}
