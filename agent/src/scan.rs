//! One scan: run the collectors, merge what they saw, and diagnose it.

use std::collections::BTreeMap;

use crate::collect::{self, Collector, Section};
use crate::config::ScanConfig;
use crate::findings::diagnose;
use crate::host;
use crate::inventory::{Certificate, Components, Inventory, SCHEMA};

/// Scan this host with every collector.
pub fn scan(config: &ScanConfig) -> Inventory {
    scan_with(collect::all(), config)
}

/// Scan with the given collectors (tests pass a subset or a failing one).
pub fn scan_with(collectors: Vec<Box<dyn Collector>>, config: &ScanConfig) -> Inventory {
    let results = collect::run_all(collectors, config);
    let mut inventory = Inventory {
        schema: SCHEMA.to_owned(),
        collected_at: config.now,
        host: host::facts(),
        readers: Vec::new(),
        tokens: Vec::new(),
        containers: Vec::new(),
        certificates: Vec::new(),
        components: Components::default(),
        findings: Vec::new(),
        collectors: Vec::new(),
    };
    let mut certificates = Vec::new();
    for (section, status) in results {
        let Section {
            readers,
            tokens,
            containers,
            certificates: certs,
            components,
            findings,
            ..
        } = section;
        inventory.readers.extend(readers);
        inventory.tokens.extend(tokens);
        inventory.containers.extend(containers);
        certificates.extend(certs);
        merge_components(&mut inventory.components, components);
        inventory.findings.extend(findings);
        inventory.collectors.push(status);
    }
    inventory.certificates =
        merge_certificates(collect::certificates::fold_store_copies(certificates));
    mark_issuers(&mut inventory.certificates);
    link_usb_to_readers(&mut inventory);
    inventory.findings = diagnose(&inventory, config.thresholds, config.now);
    inventory
}

/// One entry per certificate (by SHA-256), with the sources of every copy.
pub fn merge_certificates(certificates: Vec<Certificate>) -> Vec<Certificate> {
    let mut by_sha256: BTreeMap<String, Certificate> = BTreeMap::new();
    for cert in certificates {
        match by_sha256.get_mut(&cert.sha256) {
            Some(seen) => {
                seen.sources.extend(cert.sources);
                // A container's own key period beats a missing one from a plain file copy.
                seen.private_key_not_before =
                    seen.private_key_not_before.or(cert.private_key_not_before);
                seen.private_key_not_after =
                    seen.private_key_not_after.or(cert.private_key_not_after);
            }
            None => {
                by_sha256.insert(cert.sha256.clone(), cert);
            }
        }
    }
    let mut merged: Vec<Certificate> = by_sha256.into_values().collect();
    for cert in &mut merged {
        cert.sources.sort();
        cert.sources.dedup();
    }
    merged.sort_by(|a, b| {
        a.not_after
            .cmp(&b.not_after)
            .then_with(|| a.sha1.cmp(&b.sha1))
    });
    merged
}

/// Set `issuer_present` on every certificate that is not self-signed: is a certificate whose
/// subject is this one's issuer (and, when both carry key identifiers, whose key matches) here?
pub fn mark_issuers(certificates: &mut [Certificate]) {
    let issuers: Vec<(String, Option<String>)> = certificates
        .iter()
        .map(|c| (c.subject.clone(), c.subject_key_id.clone()))
        .collect();
    for cert in certificates.iter_mut() {
        if cert.self_signed {
            cert.issuer_present = None;
            continue;
        }
        let found = issuers.iter().any(|(subject, key_id)| {
            *subject == cert.issuer
                && match (&cert.authority_key_id, key_id) {
                    (Some(aki), Some(ski)) => aki == ski,
                    _ => true,
                }
        });
        cert.issuer_present = Some(found);
    }
}

/// Decide for every USB token whether a PC/SC reader of the same family is there. Devices are
/// matched by family and count: with two Rutokens plugged in and one Rutoken reader listed, one
/// of them is not seen.
fn link_usb_to_readers(inventory: &mut Inventory) {
    let mut readers_left: BTreeMap<_, usize> = BTreeMap::new();
    for reader in &inventory.readers {
        if let Some(family) = reader
            .token_family
            .or_else(|| crate::collect::readers::family_from_reader_name(&reader.name))
        {
            *readers_left.entry(family).or_default() += 1;
        }
    }
    let pcsc_known = inventory.components.smart_card_service.is_some();
    for usb in &mut inventory.components.usb_tokens {
        let Some(family) = usb.family else { continue };
        if !pcsc_known {
            continue;
        }
        let left = readers_left.entry(family).or_default();
        if *left > 0 {
            *left -= 1;
            usb.visible_to_pcsc = Some(true);
        } else {
            usb.visible_to_pcsc = Some(false);
        }
    }
}

fn merge_components(into: &mut Components, from: Components) {
    into.cryptopro = into.cryptopro.take().or(from.cryptopro);
    into.smart_card_service = into.smart_card_service.or(from.smart_card_service);
    into.smart_card_service_start = into
        .smart_card_service_start
        .or(from.smart_card_service_start);
    into.remote_sessions = into.remote_sessions.or(from.remote_sessions);
    into.ccid_driver = into.ccid_driver.take().or(from.ccid_driver);
    into.middleware.extend(from.middleware);
    into.pkcs11_modules.extend(from.pkcs11_modules);
    into.usb_tokens.extend(from.usb_tokens);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{CertificateSource, SourceKind};
    use crate::sample;

    #[test]
    fn copies_of_one_certificate_become_one_entry_with_every_source() {
        let mut file = sample::certificate("aa", 100);
        file.sources = vec![CertificateSource {
            kind: SourceKind::File,
            location: "/c/a.cer".into(),
        }];
        let mut in_container = file.clone();
        in_container.sources = vec![CertificateSource {
            kind: SourceKind::Container,
            location: "/k/a.000".into(),
        }];
        in_container.private_key_not_after = Some(sample::now());
        let other = sample::certificate("bb", 50);
        let merged = merge_certificates(vec![file, other, in_container]);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].sha1, "bb", "soonest expiry first");
        let kinds: Vec<SourceKind> = merged[1].sources.iter().map(|s| s.kind).collect();
        assert_eq!(kinds, vec![SourceKind::Container, SourceKind::File]);
        assert_eq!(
            merged[1].private_key_not_after,
            Some(sample::now()),
            "the container's key period is kept"
        );
    }

    #[test]
    fn issuer_is_found_by_subject_and_key_identifier() {
        let mut ca = sample::certificate("ca", 1000);
        ca.subject = "CN=Тестовый УЦ".into();
        ca.issuer = ca.subject.clone();
        ca.self_signed = true;
        ca.subject_key_id = Some("01".into());
        let mut person = sample::certificate("aa", 100);
        person.authority_key_id = Some("01".into());
        let mut stranger = sample::certificate("bb", 100);
        stranger.authority_key_id = Some("02".into());
        let mut certs = vec![ca, person, stranger];
        mark_issuers(&mut certs);
        assert_eq!(certs[0].issuer_present, None, "self-signed");
        assert_eq!(certs[1].issuer_present, Some(true));
        assert_eq!(
            certs[2].issuer_present,
            Some(false),
            "same issuer name, other key"
        );
    }
}
