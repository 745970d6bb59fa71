//! Tokens as their vendors' PKCS#11 modules see them: identity, memory, PIN state and the
//! public certificates stored on them.
//!
//! Every module is loaded in this process, one after another. A module that cannot be loaded or
//! initialised is reported and skipped; the collector's deadline in [`super::run_all`] covers a
//! module that hangs on broken hardware.

use std::path::PathBuf;

use super::components::modules::find_modules;
use super::{CollectError, Collector, Section};
use crate::config::ScanConfig;
use crate::inventory::Pkcs11Module;

mod identify;
mod module;

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

/// The modules to read: vendor modules found on disk and the configured ones, each file once,
/// plus configured paths that do not exist, so that loading them reports the mistake.
fn modules_to_load(config: &ScanConfig) -> Vec<Pkcs11Module> {
    let mut modules = find_modules(config);
    for path in &config.pkcs11_modules {
        if !path.is_file() {
            modules.push(Pkcs11Module {
                path: path.display().to_string(),
                family: None,
            });
        }
    }
    modules
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(unix)] // only the Unix test uses it
    use crate::inventory::TokenFamily;
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
                (jacarta.as_str(), Some(TokenFamily::Jacarta)),
                (rutoken.as_str(), Some(TokenFamily::Rutoken)),
                ("/nonexistent/libmissing.so", None),
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
