//! Vendor PKCS#11 modules: which files they are, which token family each serves, and where
//! they are installed. The tokens collector loads what [`find_modules`] returns.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::config::ScanConfig;
use crate::inventory::{Pkcs11Module, TokenFamily};

/// Vendor module file names and their families (domain reference §4.4). The JaCarta and
/// eToken names besides the first of each are less well attested.
const MODULES: &[(&str, TokenFamily)] = &[
    ("librtpkcs11ecp.so", TokenFamily::Rutoken),
    ("libjcPKCS11-2.so", TokenFamily::Jacarta),
    ("libjcPKCS11.so", TokenFamily::Jacarta),
    ("libeToken.so", TokenFamily::Etoken),
    ("libeTPKCS11.so", TokenFamily::Etoken),
    ("libIDPrimePKCS11.so", TokenFamily::Etoken),
    ("libisbc_pkcs11_main.so", TokenFamily::Esmart),
];

/// File names of the vendor PKCS#11 modules the agent looks for.
pub fn vendor_module_names() -> &'static [&'static str] {
    const NAMES: &[&str] = &[
        "librtpkcs11ecp.so",
        "libjcPKCS11-2.so",
        "libjcPKCS11.so",
        "libeToken.so",
        "libeTPKCS11.so",
        "libIDPrimePKCS11.so",
        "libisbc_pkcs11_main.so",
    ];
    NAMES
}

/// The token family a module file serves, from its name. A versioned name (`libeToken.so.10`)
/// counts as its base name; a generic module (OpenSC, SoftHSM) has no family.
pub fn module_family(file_name: &str) -> Option<TokenFamily> {
    MODULES
        .iter()
        .find(|(name, _)| {
            file_name == *name
                || file_name
                    .strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix('.'))
                    .is_some_and(|v| {
                        !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.')
                    })
        })
        .map(|(_, family)| *family)
}

/// PKCS#11 modules to load: vendor modules installed in the library folders, then the modules
/// named in the configuration that exist. Each file appears once, even when reached through
/// several folders (`/usr/lib64` linked to `/usr/lib`, multiarch copies). Configured modules
/// that do not exist are left out; the components collector reports them.
pub fn find_modules(config: &ScanConfig) -> Vec<Pkcs11Module> {
    let mut seen = BTreeSet::new();
    let mut modules = Vec::new();
    for dir in config.paths.library_dirs() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        let mut found: Vec<(String, PathBuf)> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_str()?.to_owned();
                module_family(&name)?;
                Some((name, e.path()))
            })
            .collect();
        found.sort();
        for (name, path) in found {
            if path.is_file() && seen.insert(identity(&path)) {
                modules.push(Pkcs11Module {
                    path: path.display().to_string(),
                    family: module_family(&name),
                });
            }
        }
    }
    for path in &config.pkcs11_modules {
        if path.is_file() && seen.insert(identity(path)) {
            modules.push(Pkcs11Module {
                path: path.display().to_string(),
                family: path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(module_family),
            });
        }
    }
    modules
}

/// One key per file, whichever link or folder it was reached by.
fn identity(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(unix)] // only the tests with symbolic links use it
    use crate::paths::Paths;

    #[test]
    fn vendor_names_have_families() {
        assert_eq!(
            module_family("librtpkcs11ecp.so"),
            Some(TokenFamily::Rutoken)
        );
        assert_eq!(
            module_family("libjcPKCS11-2.so"),
            Some(TokenFamily::Jacarta)
        );
        assert_eq!(module_family("libeToken.so"), Some(TokenFamily::Etoken));
        assert_eq!(module_family("libeTPKCS11.so"), Some(TokenFamily::Etoken));
        assert_eq!(
            module_family("libisbc_pkcs11_main.so"),
            Some(TokenFamily::Esmart)
        );
        assert_eq!(
            module_family("libeToken.so.10.8"),
            Some(TokenFamily::Etoken)
        );
        for name in vendor_module_names() {
            assert!(module_family(name).is_some(), "{name}");
        }
        assert_eq!(vendor_module_names().len(), MODULES.len());
    }

    #[test]
    fn other_names_have_none() {
        for name in [
            "opensc-pkcs11.so",
            "libsofthsm2.so",
            "librtpkcs11ecp.so.bak",
            "librtpkcs11ecp.so.",
            "xlibeToken.so",
            "",
        ] {
            assert_eq!(module_family(name), None, "{name}");
        }
    }

    #[cfg(unix)] // symlinks
    #[test]
    fn modules_are_found_once_and_configured_ones_added() {
        let root = tempfile::tempdir().expect("tempdir");
        let paths = Paths::new(root.path());
        let lib = paths.resolve("/usr/lib");
        fs::create_dir_all(&lib).expect("lib dir");
        fs::write(lib.join("librtpkcs11ecp.so"), b"\x7fELF").expect("module");
        fs::write(lib.join("libunrelated.so"), b"\x7fELF").expect("other");
        // /usr/lib64 linked to /usr/lib, as on some distributions.
        std::os::unix::fs::symlink(&lib, paths.resolve("/usr/lib64")).expect("symlink");
        let extra = root.path().join("softhsm/libsofthsm2.so");
        fs::create_dir_all(extra.parent().expect("parent")).expect("dir");
        fs::write(&extra, b"\x7fELF").expect("extra");
        let mut config = ScanConfig::new(paths);
        config.pkcs11_modules = vec![extra.clone(), root.path().join("missing.so")];

        let modules = find_modules(&config);
        assert_eq!(
            modules,
            vec![
                Pkcs11Module {
                    path: lib.join("librtpkcs11ecp.so").display().to_string(),
                    family: Some(TokenFamily::Rutoken),
                },
                Pkcs11Module {
                    path: extra.display().to_string(),
                    family: None,
                },
            ]
        );
    }
}
