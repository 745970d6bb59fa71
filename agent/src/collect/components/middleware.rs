//! Vendor middleware and the pcscd driver bundle: software a token needs besides its PKCS#11
//! module.

use std::path::PathBuf;

use crate::inventory::{Middleware, TokenFamily};
use crate::paths::Paths;

/// `(family, name, path)`: where each vendor's package installs. Only `/opt/aktivco` is backed
/// by a public source (the Rutoken module folder `/opt/aktivco/rutokenecp`); the other paths are
/// guesses from the vendors' package names and have not been seen on a live system.
const KNOWN: &[(TokenFamily, &str, &str)] = &[
    (
        TokenFamily::Rutoken,
        "Rutoken drivers (Aktiv)",
        "/opt/aktivco",
    ),
    (
        TokenFamily::Jacarta,
        "JaCarta Unified Client",
        "/opt/jacartauc",
    ),
    (
        TokenFamily::Jacarta,
        "JaCarta Unified Client",
        "/usr/share/jacarta",
    ),
    (
        TokenFamily::Etoken,
        "SafeNet Authentication Client",
        "/usr/share/SafenetAuthenticationClient",
    ),
    (
        TokenFamily::Etoken,
        "SafeNet Authentication Client",
        "/etc/eToken.conf",
    ),
    (TokenFamily::Esmart, "ESMART PKI Client", "/opt/esmart"),
];

/// pcscd driver bundles, preferred first: the generic CCID driver, then Aktiv's driver for
/// Rutoken S, which is not a CCID device.
const DRIVER_BUNDLES: &[&str] = &["ifd-ccid.bundle", "ifd-rutokens.bundle"];

/// Vendor software present under `paths`, one entry per vendor product.
pub(crate) fn middleware(paths: &Paths) -> Vec<Middleware> {
    let mut found: Vec<Middleware> = Vec::new();
    for &(family, name, path) in KNOWN {
        let resolved = paths.resolve(path);
        let already = found.iter().any(|m| m.family == family && m.name == name);
        if !already && resolved.exists() {
            found.push(Middleware {
                family,
                name: name.to_owned(),
                path: resolved.display().to_string(),
                // Linux packages leave no version beside their files that is worth trusting.
                version: None,
            });
        }
    }
    found
}

/// The first pcscd driver bundle installed, by preference.
pub(crate) fn ccid_driver(paths: &Paths) -> Option<PathBuf> {
    let dirs = paths.pcsc_driver_dirs();
    DRIVER_BUNDLES
        .iter()
        .flat_map(|bundle| dirs.iter().map(move |dir| dir.join(bundle)))
        .find(|path| path.is_dir())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_folders_are_found_once_per_product() {
        let root = tempfile::tempdir().expect("tempdir");
        let paths = Paths::new(root.path());
        for dir in [
            "/opt/aktivco/rutokenecp",
            "/opt/jacartauc",
            "/usr/share/jacarta",
        ] {
            std::fs::create_dir_all(paths.resolve(dir)).expect("dir");
        }
        let found = middleware(&paths);
        let names: Vec<(TokenFamily, &str)> =
            found.iter().map(|m| (m.family, m.name.as_str())).collect();
        assert_eq!(
            names,
            vec![
                (TokenFamily::Rutoken, "Rutoken drivers (Aktiv)"),
                (TokenFamily::Jacarta, "JaCarta Unified Client"),
            ]
        );
        assert!(found[1].path.ends_with("/opt/jacartauc"));
    }

    #[test]
    fn ccid_bundle_is_preferred_over_rutoken_s_driver() {
        let root = tempfile::tempdir().expect("tempdir");
        let paths = Paths::new(root.path());
        assert_eq!(ccid_driver(&paths), None);
        let rutokens = paths.resolve("/usr/lib/pcsc/drivers/ifd-rutokens.bundle");
        std::fs::create_dir_all(&rutokens).expect("dir");
        assert_eq!(ccid_driver(&paths), Some(rutokens));
        let ccid = paths.resolve("/usr/local/pcsc/drivers/ifd-ccid.bundle");
        std::fs::create_dir_all(&ccid).expect("dir");
        assert_eq!(ccid_driver(&paths), Some(ccid));
    }
}
