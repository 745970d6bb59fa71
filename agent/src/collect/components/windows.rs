//! Components on Windows: CryptoPro CSP as Windows Installer registered it, with the build
//! from its own `csptest.exe` when that runs and its expired-key policy; vendor token software with its version, from the
//! installed programs list; the smart-card service's state and start type; the remote desktop
//! sessions present and the Group Policy that keeps smart cards out of them.
//!
//! Readers and known tokens on the USB bus, with the driver each one is bound to and its problem
//! code, come from SetupAPI (`pnp`).

use std::path::Path;

use windows_registry::{Key, LOCAL_MACHINE};

use super::cryptopro::{from_install_properties, read_banner};
use super::sessions::{count_remote, list_sessions};
use super::smart_card_service::{SMART_CARD_SERVICE, service_state};
use super::vendors::vendor_family;
use super::{modules, program_timeout};
use crate::collect::{Section, registry};
use crate::config::ScanConfig;
use crate::findings::{Code, Finding};
use crate::inventory::{CryptoPro, Middleware};

/// Products Windows Installer installed for the machine.
const PRODUCTS: &str =
    r"SOFTWARE\Microsoft\Windows\CurrentVersion\Installer\UserData\S-1-5-18\Products";
/// Packed product codes of CSP releases (domain reference §2.2), newest first.
const CSP_PRODUCTS: [&str; 4] = [
    "08F19F05793DC7340B8C2621D83E5BE5",
    "7AB5E7046046FB044ACD63458B5F481C",
    "68A52D936E5ACF24C9F8FE4A1C830BC8",
    "05480A45343B0B0429E4860F13549069",
];
/// CSP's provider parameters (domain reference §2.1), 32-bit install on 64-bit Windows first.
const CSP_PARAMETERS: [&str; 2] = [
    r"SOFTWARE\WOW6432Node\Crypto Pro\Cryptography\CurrentVersion\Parameters",
    r"SOFTWARE\Crypto Pro\Cryptography\CurrentVersion\Parameters",
];
/// Installed programs, in the 64-bit view and the 32-bit one.
const UNINSTALL: [&str; 2] = [
    r"SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall",
    r"SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall",
];
/// Remote Desktop Services policies (domain reference §7.1).
const TERMINAL_SERVICES_POLICY: &str = r"SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services";
/// How CSP names itself in `DisplayName`, for a release whose product code is not listed.
const CSP_NAMES: [&str; 3] = ["КриптоПро CSP", "CryptoPro CSP", "Crypto-Pro CSP"];

pub(super) fn collect(config: &ScanConfig, section: &mut Section) {
    section.components.cryptopro = cryptopro(config, &mut section.errors);
    // Modules named in the configuration; vendor folders are a Linux layout.
    section.components.pkcs11_modules = modules::find_modules(config);
    section.components.middleware = middleware(&mut section.errors);
    section.components.usb_tokens = super::pnp::usb_tokens(&mut section.errors);
    if let Some(finding) = smart_card_redirection(&mut section.errors) {
        section.findings.push(finding);
    }
    match service_state(SMART_CARD_SERVICE) {
        Ok((state, start)) => {
            section.components.smart_card_service = Some(state);
            section.components.smart_card_service_start = start;
        }
        Err(error) => section.errors.push(error),
    }
    match list_sessions() {
        Ok(sessions) => section.components.remote_sessions = Some(count_remote(&sessions)),
        Err(error) => section.errors.push(error),
    }
}

/// `fEnableSmartCard` = 0 is the policy "Do not allow smart card device redirection" enabled;
/// without the policy (or with 1) redirection is allowed.
fn smart_card_redirection(errors: &mut Vec<String>) -> Option<Finding> {
    let value = registry::open(LOCAL_MACHINE, "HKLM", TERMINAL_SERVICES_POLICY, errors)?
        .get_u32("fEnableSmartCard")
        .ok()?;
    (value == 0).then(|| {
        Finding::new(
            Code::RdpSmartCardRedirectionOff,
            "Remote Desktop",
            format!(
                "Group Policy forbids smart-card redirection into remote desktop sessions \
                 (HKLM\\{TERMINAL_SERVICES_POLICY}\\fEnableSmartCard = 0): tokens on users' own \
                 computers are not seen in their sessions here."
            ),
        )
    })
}

fn cryptopro(config: &ScanConfig, errors: &mut Vec<String>) -> Option<CryptoPro> {
    let products = registry::open(LOCAL_MACHINE, "HKLM", PRODUCTS, errors)?;
    let install = csp_install_properties(&products)?;
    let text = |name: &str| install.get_string(name).ok();
    let mut csp = from_install_properties(
        text("DisplayVersion").as_deref(),
        text("ProductID").as_deref(),
    );
    // Not set: CSP's default (1) applies, which is reported as unknown rather than guessed.
    csp.control_key_time_validity = CSP_PARAMETERS.iter().find_map(|path| {
        registry::open(LOCAL_MACHINE, "HKLM", path, errors)?
            .get_u32("ControlKeyTimeValidity")
            .ok()
    });
    if let Some(location) = text("InstallLocation") {
        let csptest = Path::new(&location).join("csptest.exe");
        if csptest.is_file() {
            let what = "csptest.exe -enum -info";
            read_banner(&mut csp, &csptest, what, program_timeout(config), errors);
        }
    }
    Some(csp)
}

/// `InstallProperties` of the installed CSP: a known product code first, else the first
/// product that names itself CSP.
fn csp_install_properties(products: &Key) -> Option<Key> {
    let install = |code: &str| {
        products
            .options()
            .read()
            .open(format!(r"{code}\InstallProperties"))
            .ok()
    };
    if let Some(found) = CSP_PRODUCTS.iter().find_map(|code| install(code)) {
        return Some(found);
    }
    products.keys().ok()?.find_map(|code| {
        let properties = install(&code)?;
        let name = properties.get_string("DisplayName").ok()?;
        CSP_NAMES
            .iter()
            .any(|csp| name.contains(csp))
            .then_some(properties)
    })
}

/// Vendor token software among the installed programs, one entry per product name.
fn middleware(errors: &mut Vec<String>) -> Vec<Middleware> {
    let mut found: Vec<Middleware> = Vec::new();
    for list in UNINSTALL {
        let Some(programs) = registry::open(LOCAL_MACHINE, "HKLM", list, errors) else {
            continue;
        };
        for code in registry::subkeys(&programs, &format!(r"HKLM\{list}"), errors) {
            let Ok(program) = programs.options().read().open(&code) else {
                continue;
            };
            let Ok(name) = program.get_string("DisplayName") else {
                continue;
            };
            let Some(family) = vendor_family(&name) else {
                continue;
            };
            if found.iter().any(|m| m.name == name) {
                continue;
            }
            let path = program
                .get_string("InstallLocation")
                .ok()
                .filter(|p| !p.trim().is_empty())
                .unwrap_or_else(|| format!(r"HKLM\{list}\{code}"));
            found.push(Middleware {
                family,
                name,
                path,
                version: program.get_string("DisplayVersion").ok(),
            });
        }
    }
    found
}
