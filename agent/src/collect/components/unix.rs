//! Components on Linux: sysfs for USB tokens, CryptoPro's programs and files, vendor folders.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::cryptopro::{parse_release, read_banner, run, unrecognised};
use super::license::parse_license;
use super::{middleware, modules, program_timeout, usb};
use crate::collect::Section;
use crate::config::ScanConfig;
use crate::inventory::CryptoPro;
use crate::paths::Paths;

pub(super) fn collect(config: &ScanConfig, section: &mut Section) {
    let paths = &config.paths;
    let components = &mut section.components;

    let devices = paths.sys().join("bus/usb/devices");
    match usb::usb_tokens(&devices) {
        Ok(tokens) => components.usb_tokens = tokens,
        Err(error) => section.errors.push(format!(
            "cannot list USB devices in {}: {error}",
            devices.display()
        )),
    }

    components.cryptopro = cryptopro(
        paths,
        program_timeout(config),
        config.now,
        &mut section.errors,
    );
    components.ccid_driver = middleware::ccid_driver(paths).map(|p| p.display().to_string());
    components.middleware = middleware::middleware(paths);
    // A configured module that does not exist is reported by the tokens collector, which
    // is the one that tries to load it.
    components.pkcs11_modules = modules::find_modules(config);
}

/// Architecture folders CSP installs programs under: `amd64` and `ia32` are seen; `aarch64`
/// is a guess for ARM builds.
const ARCH_DIRS: &[&str] = &["amd64", "ia32", "aarch64"];

/// What CSP's tools and files say about it, with what could not be read in `errors`.
fn cryptopro(
    paths: &Paths,
    timeout: Duration,
    now: DateTime<Utc>,
    errors: &mut Vec<String>,
) -> Option<CryptoPro> {
    let opt = paths.cprocsp_opt();
    let etc = paths.cprocsp_etc();
    if !opt.exists() && !etc.exists() {
        return None;
    }
    let mut csp = CryptoPro {
        installed: true,
        ..CryptoPro::default()
    };

    if let Ok(text) = std::fs::read_to_string(etc.join("release")) {
        if let Some((version, build)) = parse_release(&text) {
            csp.version = Some(version);
            csp.build = build;
        }
    }

    if let Some(csptest) = program(&opt, "bin", "csptest") {
        read_banner(&mut csp, &csptest, "csptest -enum -info", timeout, errors);
    }

    if let Some(cpconfig) = program(&opt, "sbin", "cpconfig") {
        let what = "cpconfig -license -view";
        match run(&cpconfig, &["-license", "-view"], timeout) {
            Ok(output) => match parse_license(&output.text(), now) {
                Some(license) => csp.license = Some(license),
                None => errors.push(unrecognised(what, &output)),
            },
            Err(error) => errors.push(format!("{what}: {error}")),
        }
    }
    Some(csp)
}

/// `<opt>/<bin|sbin>/<arch>/<name>` when installed.
fn program(opt: &Path, folder: &str, name: &str) -> Option<PathBuf> {
    ARCH_DIRS
        .iter()
        .map(|arch| opt.join(folder).join(arch).join(name))
        .find(|p| p.is_file())
}
