//! Findings derived from the merged inventory.
//!
//! This is a pure function of the inventory and a clock, so the server can run the same rules on
//! stored inventories and a silent agent's certificates still age.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::rules::{self, CERTIFICATE, CSP_LICENSE, CSP_SUBJECT, PRIVATE_KEY};
use super::{Code, Finding};
use crate::inventory::{
    Certificate, CollectorOutcome, Inventory, ServiceDown, Token, TokenFamily,
    smart_card_service_down,
};

/// When expiry findings start and when they become critical.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// Days before a date at which an `*.expiring` warning appears.
    pub warning_days: i64,
    /// Days before a date at which the warning becomes critical.
    pub critical_days: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            warning_days: 30,
            critical_days: 14,
        }
    }
}

/// Share of free token memory above which a token is taken to hold no container.
const EMPTY_TOKEN_FREE_SHARE: f64 = 0.95;

/// All findings that follow from `inventory` at `now`, worst first. Findings the collectors
/// already recorded (unparsable files, unreadable folders) are kept and come first in each
/// severity.
pub fn diagnose(inventory: &Inventory, thresholds: Thresholds, now: DateTime<Utc>) -> Vec<Finding> {
    let mut findings = inventory.findings.clone();
    let keys_in_containers: BTreeSet<&str> = inventory
        .containers
        .iter()
        .filter_map(|c| c.certificate_sha1.as_deref())
        .collect();

    for cert in &inventory.certificates {
        certificate_findings(cert, thresholds, now, &mut findings);
        // A container's own key period is reported on the container; report the certificate's
        // PrivateKeyUsagePeriod only where no container speaks for the key.
        if !keys_in_containers.contains(cert.sha1.as_str()) {
            if let Some(end) = cert.private_key_not_after {
                let subject = certificate_subject(cert);
                findings.extend(rules::expiry(PRIVATE_KEY, &subject, end, thresholds, now));
            }
        }
    }

    container_findings(inventory, thresholds, now, &mut findings);
    for token in &inventory.tokens {
        token_findings(token, &mut findings);
    }
    component_findings(inventory, thresholds, now, &mut findings);

    for status in &inventory.collectors {
        if status.status == CollectorOutcome::Failed {
            findings.push(Finding::new(
                Code::CollectorFailed,
                format!("collector {}", status.name),
                format!(
                    "The {} collector failed: {}",
                    status.name,
                    status.errors.join("; ")
                ),
            ));
        }
    }

    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.code.cmp(&b.code))
            .then_with(|| a.subject.cmp(&b.subject))
    });
    findings.dedup();
    findings
}

/// How a certificate is named in findings: its owner, then its thumbprint.
fn certificate_subject(cert: &Certificate) -> String {
    rules::certificate_subject(&cert.subject, cert.subject_cn.as_deref(), &cert.sha1)
}

fn certificate_findings(
    cert: &Certificate,
    thresholds: Thresholds,
    now: DateTime<Utc>,
    out: &mut Vec<Finding>,
) {
    let subject = certificate_subject(cert);
    out.extend(rules::not_yet_valid(&subject, cert.not_before, now));
    if cert.is_ca {
        out.extend(rules::ca_expired(&subject, cert.not_after, now));
    } else {
        out.extend(rules::expiry(
            CERTIFICATE,
            &subject,
            cert.not_after,
            thresholds,
            now,
        ));
    }
    if cert.issuer_present == Some(false) {
        let issuer = cert.issuer_cn.as_deref().unwrap_or(&cert.issuer);
        out.push(Finding::new(
            Code::CertificateIssuerMissing,
            &subject,
            format!("The issuer \"{issuer}\" is not among the certificates on this computer, so the chain cannot be built."),
        ));
    }
}

fn container_findings(
    inventory: &Inventory,
    thresholds: Thresholds,
    now: DateTime<Utc>,
    out: &mut Vec<Finding>,
) {
    let mut by_name: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for container in &inventory.containers {
        let subject = rules::container_subject(container.name.as_deref(), &container.path);
        if let Some(name) = &container.name {
            by_name
                .entry(name.as_str())
                .or_default()
                .push(container.path.as_str());
        }
        if !container.missing_files.is_empty() {
            out.push(Finding::new(
                Code::ContainerIncomplete,
                &subject,
                format!(
                    "The container is missing {}.",
                    container.missing_files.join(", ")
                ),
            ));
        }
        if !container.damaged_files.is_empty() {
            let detail: Vec<String> = container
                .damaged_files
                .iter()
                .map(|d| format!("{} ({})", d.file, d.reason))
                .collect();
            out.push(Finding::new(
                Code::ContainerDamaged,
                &subject,
                format!("Container files are unreadable: {}.", detail.join("; ")),
            ));
        }
        let linked_key_end = container
            .certificate_sha1
            .as_deref()
            .and_then(|sha1| inventory.certificates.iter().find(|c| c.sha1 == sha1))
            .and_then(|c| c.private_key_not_after);
        if let Some(end) = container.private_key_not_after.or(linked_key_end) {
            out.extend(rules::expiry(PRIVATE_KEY, &subject, end, thresholds, now));
        }
    }
    for (name, paths) in by_name {
        if paths.len() > 1 {
            out.push(Finding::new(
                Code::ContainerDuplicateName,
                format!("container \"{name}\""),
                format!(
                    "{} containers are named \"{name}\": {}.",
                    paths.len(),
                    paths.join(", ")
                ),
            ));
        }
    }
}

fn token_findings(token: &Token, out: &mut Vec<Finding>) {
    let subject = format!(
        "token \"{}\" {} (serial {})",
        token.label, token.model, token.serial
    );
    let pin = &token.pin;
    if pin.locked {
        out.push(Finding::new(
            Code::TokenPinLocked,
            &subject,
            "The user PIN is blocked.",
        ));
    } else if pin.final_try {
        out.push(Finding::new(
            Code::TokenPinFinalTry,
            &subject,
            "One more wrong user PIN blocks the token.",
        ));
    } else if pin.count_low {
        out.push(Finding::new(
            Code::TokenPinCountLow,
            &subject,
            "A wrong user PIN was entered; tries are running out.",
        ));
    }
    if pin.must_change {
        out.push(Finding::new(
            Code::TokenPinMustChange,
            &subject,
            "The user PIN must be changed before use.",
        ));
    }
    if let (Some(total), Some(free)) = (token.total_memory, token.free_memory) {
        #[allow(clippy::cast_precision_loss)] // byte counts of a token fit an f64 exactly
        let free_share = free as f64 / total.max(1) as f64;
        if total > 0 && free_share > EMPTY_TOKEN_FREE_SHARE && token.certificates.is_empty() {
            out.push(Finding::new(
                Code::TokenEmpty,
                &subject,
                format!("{free} of {total} bytes are free and no certificate is stored: the token holds no key."),
            ));
        }
    }
}

/// The smart-card service down as [`smart_card_service_down`] decides, named as on this host.
fn smart_card_service(inventory: &Inventory) -> Option<Finding> {
    let components = &inventory.components;
    let name = if inventory
        .host
        .os
        .to_ascii_lowercase()
        .starts_with("windows")
    {
        "Smart Card (SCardSvr)"
    } else {
        "pcscd"
    };
    let state = match smart_card_service_down(
        components.smart_card_service,
        components.smart_card_service_start,
        !components.usb_tokens.is_empty(),
    )? {
        ServiceDown::Disabled => "disabled",
        ServiceDown::NotRunning => "not running",
    };
    Some(Finding::new(
        Code::SmartCardServiceDown,
        "smart-card service",
        format!("The smart-card service {name} is {state}: no reader or token can be used."),
    ))
}

/// Token families whose vendor ships its own Windows driver, which their tools expect.
fn has_vendor_driver(family: TokenFamily) -> bool {
    matches!(
        family,
        TokenFamily::Jacarta | TokenFamily::Rutoken | TokenFamily::Etoken
    )
}

fn component_findings(
    inventory: &Inventory,
    thresholds: Thresholds,
    now: DateTime<Utc>,
    out: &mut Vec<Finding>,
) {
    let components = &inventory.components;
    if let Some(finding) = smart_card_service(inventory) {
        out.push(finding);
    }

    for usb in &components.usb_tokens {
        let subject = format!("USB device {} {} ({})", usb.usb_id, usb.model, usb.bus_path);
        match usb.problem_code.filter(|code| *code != 0) {
            // A failed driver is why PC/SC does not show it: one finding, the cause.
            Some(code) => out.push(Finding::new(
                Code::UsbDriverFailed,
                &subject,
                format!(
                    "{} is plugged in but its driver does not work (Device Manager problem code {code}{}).",
                    usb.model,
                    usb.driver.as_ref().map(|d| format!(", driver {d}")).unwrap_or_default()
                ),
            )),
            None if usb.visible_to_pcsc == Some(false) => out.push(Finding::new(
                Code::UsbTokenNotVisible,
                &subject,
                format!(
                    "{} is plugged in but no smart-card reader shows it.",
                    usb.model
                ),
            )),
            None => {}
        }
        if usb.generic_driver == Some(true) && usb.family.is_some_and(has_vendor_driver) {
            out.push(Finding::new(
                Code::UsbGenericDriver,
                &subject,
                format!(
                    "{} runs on Microsoft's generic Usbccid (WUDF) driver instead of its vendor's.",
                    usb.model
                ),
            ));
        }
    }

    let module_families: BTreeSet<TokenFamily> = components
        .pkcs11_modules
        .iter()
        .filter_map(|m| m.family)
        .collect();
    let mut needing: BTreeMap<TokenFamily, String> = BTreeMap::new();
    for reader in &inventory.readers {
        if let (Some(family), Some(model)) = (reader.token_family, &reader.token_model) {
            if model_needs_pkcs11(model) {
                needing
                    .entry(family)
                    .or_insert_with(|| format!("{model} in \"{}\"", reader.name));
            }
        }
    }
    for usb in &components.usb_tokens {
        if let Some(family) = usb.family {
            if model_needs_pkcs11(&usb.model) {
                needing
                    .entry(family)
                    .or_insert_with(|| format!("{} on USB {}", usb.model, usb.bus_path));
            }
        }
    }
    for (family, seen) in needing {
        if !module_families.contains(&family) {
            out.push(Finding::new(
                Code::Pkcs11ModuleMissing,
                format!("{} PKCS#11 module", family_name(family)),
                format!("{seen} needs the vendor PKCS#11 library, which is not installed."),
            ));
        }
    }

    if let Some(license) = components
        .cryptopro
        .as_ref()
        .and_then(|c| c.license.as_ref())
    {
        if let Some(error) = &license.error {
            out.push(Finding::new(
                Code::CspLicenseInvalid,
                CSP_SUBJECT,
                format!("CryptoPro CSP reports: {error}"),
            ));
        }
        if license.demo {
            out.push(rules::csp_demo(license.expires, now));
        } else if let Some(end) = license.expires {
            out.extend(rules::expiry(
                CSP_LICENSE,
                CSP_SUBJECT,
                end,
                thresholds,
                now,
            ));
        }
    }
}

/// Active tokens keep keys on the chip and are reached through their vendor's PKCS#11 library;
/// passive ones (Rutoken Lite and S) only carry CryptoPro containers and need none.
fn model_needs_pkcs11(model: &str) -> bool {
    let lower = model.to_lowercase();
    !(lower.contains("lite") || lower.ends_with("rutoken s") || lower.contains("rutoken s "))
}

fn family_name(family: TokenFamily) -> &'static str {
    match family {
        TokenFamily::Bifit => "BIFIT",
        TokenFamily::Esmart => "ESMART",
        TokenFamily::Etoken => "SafeNet eToken",
        TokenFamily::Jacarta => "JaCarta",
        TokenFamily::Rutoken => "Rutoken",
    }
}

#[cfg(test)]
mod tests;
