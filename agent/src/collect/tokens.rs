//! Tokens as their vendors' PKCS#11 modules see them: identity, memory, PIN state and the
//! public certificates stored on them.
//!
//! Every module is loaded in this process, one after another. A module that cannot be loaded or
//! initialised is reported and skipped; the collector's deadline in [`super::run_all`] covers a
//! module that hangs on broken hardware.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::{CollectError, Collector, Section};
use crate::config::ScanConfig;
use crate::inventory::{Pkcs11Module, TokenFamily};

mod identify;
mod module;

/// Vendor PKCS#11 module file names and the token family each serves.
const VENDOR_MODULES: [(&str, TokenFamily); 5] = [
    ("librtpkcs11ecp.so", TokenFamily::Rutoken),
    ("libjcPKCS11-2.so", TokenFamily::Jacarta),
    ("libeToken.so", TokenFamily::Etoken),
    ("libeTPKCS11.so", TokenFamily::Etoken),
    ("libisbc_pkcs11_main.so", TokenFamily::Esmart),
];

/// The `tokens` collector.
#[derive(Debug)]
pub struct Tokens;

impl Collector for Tokens {
    fn name(&self) -> &'static str {
        "tokens"
    }

    fn collect(&self, config: &ScanConfig) -> Result<Section, CollectError> {
        let modules = modules_to_load(config);
        let mut section = Section {
            skipped: modules.is_empty(),
            ..Section::default()
        };
        for module in modules {
            match module::read(&PathBuf::from(&module.path)) {
                Ok(report) => {
                    section.tokens.extend(report.tokens);
                    section.certificates.extend(report.certificates);
                    section.findings.extend(report.findings);
                    section.errors.extend(report.errors);
                }
                Err(error) => {
                    tracing::warn!(message = "PKCS#11 module unusable.", module = module.path, %error);
                    section.errors.push(error);
                }
            }
        }
        Ok(section)
    }
}

/// The modules to read: those named in the configuration, then vendor modules found on disk,
/// each file once.
// Will defer to `crate::collect::components::modules::find_modules` once that lands.
fn modules_to_load(config: &ScanConfig) -> Vec<Pkcs11Module> {
    let configured = config.pkcs11_modules.iter().map(|path| Pkcs11Module {
        path: path.display().to_string(),
        family: path.file_name().and_then(|name| {
            VENDOR_MODULES
                .iter()
                .find(|(vendor, _)| name == *vendor)
                .map(|(_, family)| *family)
        }),
    });
    let found = config.paths.library_dirs().into_iter().flat_map(|dir| {
        VENDOR_MODULES.iter().filter_map(move |(name, family)| {
            let path = dir.join(name);
            path.is_file().then(|| Pkcs11Module {
                path: path.display().to_string(),
                family: Some(*family),
            })
        })
    });
    let mut seen = BTreeSet::new();
    configured
        .chain(found)
        .filter(|module| {
            // A missing configured module keeps its own path, so it is still reported.
            let key =
                std::fs::canonicalize(&module.path).unwrap_or_else(|_| PathBuf::from(&module.path));
            seen.insert(key)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::Paths;

    #[cfg(unix)]
    #[test]
    fn configured_and_vendor_modules_are_listed_once_each() {
        let root = tempfile::tempdir().expect("tempdir");
        let lib = root.path().join("usr/lib");
        let lib64 = root.path().join("usr/lib64");
        std::fs::create_dir_all(&lib).expect("lib");
        std::fs::write(lib.join("librtpkcs11ecp.so"), b"").expect("module");
        std::fs::write(lib.join("libjcPKCS11-2.so"), b"").expect("module");
        std::fs::write(lib.join("libunrelated.so"), b"").expect("other");
        // The same Rutoken module reached a second way (as /usr/lib64 -> /usr/lib on some systems).
        std::os::unix::fs::symlink(&lib, &lib64).expect("symlink");

        let mut config = ScanConfig::new(Paths::new(root.path()));
        config.pkcs11_modules = vec![
            PathBuf::from("/nonexistent/libmissing.so"),
            lib.join("libjcPKCS11-2.so"),
        ];
        let modules = modules_to_load(&config);
        let listed: Vec<(&str, Option<TokenFamily>)> = modules
            .iter()
            .map(|m| (m.path.as_str(), m.family))
            .collect();
        let rutoken = lib.join("librtpkcs11ecp.so").display().to_string();
        let jacarta = lib.join("libjcPKCS11-2.so").display().to_string();
        assert_eq!(
            listed,
            vec![
                ("/nonexistent/libmissing.so", None),
                (jacarta.as_str(), Some(TokenFamily::Jacarta)),
                (rutoken.as_str(), Some(TokenFamily::Rutoken)),
            ]
        );
    }

    #[test]
    fn no_modules_means_the_collector_is_skipped() {
        let root = tempfile::tempdir().expect("tempdir");
        let config = ScanConfig::new(Paths::new(root.path()));
        let section = Tokens.collect(&config).expect("collects");
        assert!(section.skipped);
        assert!(section.tokens.is_empty() && section.errors.is_empty());
    }
}
