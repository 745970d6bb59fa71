//! The CryptoPro certificate stores, listed with `certmgr -list -store …`.
//!
//! certmgr runs in the agent's own environment and locale: forcing `C` could turn Cyrillic names
//! into `?`, and the parser reads both the Russian and the English labels anyway. The `u` stores
//! are those of the user the agent runs as (root's, for the service); other users' personal
//! stores are not listed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::certmgr::parse_certmgr_list;
use super::key_link_missing;
use crate::collect::{Section, program};
use crate::paths::Paths;

/// The personal store, then the stores where issuers live (so chains can be checked).
pub(crate) const STORES: [&str; 5] = [PERSONAL, "uRoot", "uCA", "mRoot", "mCA"];
const PERSONAL: &str = "uMy";
/// No single listing may take longer than this, whatever the collector's budget.
const MAX_RUN: Duration = Duration::from_secs(10);

/// Where certmgr is installed under `paths`.
pub(crate) fn certmgr(paths: &Paths) -> PathBuf {
    paths.cprocsp_opt().join("bin/amd64/certmgr")
}

/// List every store into `section` until `deadline`: the certificates, a personal certificate
/// certmgr shows without its key link (`PrivateKey Link: No`), and what went wrong.
pub(crate) fn collect(certmgr: &Path, deadline: Instant, section: &mut Section) {
    let errors = &mut section.errors;
    for (index, store) in STORES.iter().enumerate() {
        let left = deadline.saturating_duration_since(Instant::now());
        let command = format!("certmgr -list -store {store}");
        if left.is_zero() {
            errors.push(format!(
                "{command}: not run, no time left ({} not listed)",
                STORES[index..].join(", ")
            ));
            break;
        }
        // No locale override: see the module documentation.
        let mut run = Command::new(certmgr);
        run.args(["-list", "-store", store]);
        let output = match program::run(run, left.min(MAX_RUN)) {
            Ok(output) => output,
            Err(error @ program::RunError::TimedOut { .. }) => {
                // A certmgr that hangs on one store hangs on the next: do not wait again.
                let rest = STORES.get(index + 1..).unwrap_or_default();
                let skipped = if rest.is_empty() {
                    String::new()
                } else {
                    format!("; {} not listed", rest.join(", "))
                };
                errors.push(format!("{command}: {error}{skipped}"));
                break;
            }
            Err(error) => {
                errors.push(format!("{command}: {error}"));
                break;
            }
        };
        let text = if output.stdout.trim().is_empty() {
            &output.stderr
        } else {
            &output.stdout
        };
        match parse_certmgr_list(text) {
            Ok(entries) => {
                for entry in entries {
                    let cert = match entry.to_certificate(store) {
                        Ok(cert) => cert,
                        Err(error) => {
                            errors.push(format!("{command}: {error}"));
                            continue;
                        }
                    };
                    if *store == PERSONAL && entry.private_key_link == Some(false) {
                        section.findings.push(key_link_missing(&cert, store));
                    }
                    section.certificates.push(cert);
                }
            }
            Err(error) => errors.push(format!("{command}: {error}")),
        }
    }
}
