use chrono::Duration;

use super::*;
use crate::findings::Severity;
use crate::inventory::{
    CollectorStatus, CryptoPro, DamagedFile, License, PinState, Pkcs11Module, Reader, ServiceState,
    StartType, UsbToken,
};
use crate::sample;

fn codes(findings: &[Finding]) -> Vec<(Code, Severity)> {
    findings.iter().map(|f| (f.code, f.severity)).collect()
}

fn run(inventory: &Inventory) -> Vec<Finding> {
    diagnose(inventory, Thresholds::default(), sample::now())
}

#[test]
fn certificate_expiry_escalates_at_the_thresholds() {
    let cases = [
        (-1, Some((Code::CertificateExpired, Severity::Critical))),
        (0, Some((Code::CertificateExpired, Severity::Critical))),
        (5, Some((Code::CertificateExpiring, Severity::Critical))),
        (13, Some((Code::CertificateExpiring, Severity::Critical))),
        (14, Some((Code::CertificateExpiring, Severity::Warning))),
        (29, Some((Code::CertificateExpiring, Severity::Warning))),
        (30, None),
        (400, None),
    ];
    for (days, expected) in cases {
        let mut inventory = sample::inventory();
        inventory.certificates.push(sample::certificate("aa", days));
        let found = codes(&run(&inventory));
        assert_eq!(
            found,
            expected.into_iter().collect::<Vec<_>>(),
            "{days} days left"
        );
    }
}

#[test]
fn custom_thresholds_are_honoured() {
    let mut inventory = sample::inventory();
    inventory.certificates.push(sample::certificate("aa", 50));
    let thresholds = Thresholds {
        warning_days: 60,
        critical_days: 55,
    };
    let found = codes(&diagnose(&inventory, thresholds, sample::now()));
    assert_eq!(found, vec![(Code::CertificateExpiring, Severity::Critical)]);
}

#[test]
fn not_yet_valid_and_missing_issuer_are_reported() {
    let mut inventory = sample::inventory();
    let mut cert = sample::certificate("aa", 400);
    cert.not_before = sample::now() + Duration::days(2);
    cert.issuer_present = Some(false);
    inventory.certificates.push(cert);
    let found = codes(&run(&inventory));
    assert!(
        found.contains(&(Code::CertificateNotYetValid, Severity::Warning)),
        "{found:?}"
    );
    assert!(
        found.contains(&(Code::CertificateIssuerMissing, Severity::Warning)),
        "{found:?}"
    );
}

#[test]
fn expired_ca_is_a_warning_and_is_not_counted_down() {
    let mut inventory = sample::inventory();
    let mut ca = sample::certificate("ca", 5);
    ca.is_ca = true;
    inventory.certificates.push(ca.clone());
    assert!(run(&inventory).is_empty());
    ca.not_after = sample::now() - Duration::days(1);
    inventory.certificates = vec![ca];
    assert_eq!(
        codes(&run(&inventory)),
        vec![(Code::CertificateExpired, Severity::Warning)]
    );
}

#[test]
fn private_key_expiry_is_reported_once_on_the_container() {
    let mut inventory = sample::inventory();
    let mut cert = sample::certificate("aa", 200);
    cert.private_key_not_after = Some(sample::now() - Duration::days(3));
    let mut container = sample::container("key", "/keys/key.000");
    container.certificate_sha1 = Some("aa".to_owned());
    inventory.certificates.push(cert);
    inventory.containers.push(container);
    let findings = run(&inventory);
    assert_eq!(
        codes(&findings),
        vec![(Code::PrivateKeyExpired, Severity::Critical)]
    );
    assert!(
        findings[0].subject.contains("/keys/key.000"),
        "{}",
        findings[0].subject
    );
}

#[test]
fn private_key_period_on_a_token_certificate_is_reported_on_the_certificate() {
    let mut inventory = sample::inventory();
    let mut cert = sample::certificate("aa", 200);
    cert.private_key_not_after = Some(sample::now() + Duration::days(20));
    inventory.certificates.push(cert);
    let findings = run(&inventory);
    assert_eq!(
        codes(&findings),
        vec![(Code::PrivateKeyExpiring, Severity::Warning)]
    );
    assert!(
        findings[0].message.contains("in 20 days"),
        "{}",
        findings[0].message
    );
}

#[test]
fn broken_and_duplicate_containers_are_reported() {
    let mut inventory = sample::inventory();
    let mut incomplete = sample::container("dup", "/a/dup.000");
    incomplete.complete = false;
    incomplete.missing_files = vec!["masks2.key".to_owned()];
    let mut damaged = sample::container("dup", "/b/dup.000");
    damaged.complete = false;
    damaged.damaged_files = vec![DamagedFile {
        file: "header.key".to_owned(),
        reason: "truncated".to_owned(),
    }];
    inventory.containers = vec![incomplete, damaged];
    let findings = run(&inventory);
    let found = codes(&findings);
    assert!(found.contains(&(Code::ContainerIncomplete, Severity::Critical)));
    assert!(found.contains(&(Code::ContainerDamaged, Severity::Critical)));
    assert!(found.contains(&(Code::ContainerDuplicateName, Severity::Warning)));
    let incomplete = findings
        .iter()
        .find(|f| f.code == Code::ContainerIncomplete)
        .expect("present");
    assert!(
        incomplete.message.contains("masks2.key"),
        "{}",
        incomplete.message
    );
}

#[test]
fn token_pin_states_map_to_findings() {
    let mut inventory = sample::inventory();
    let token = |pin: PinState| Token {
        label: "t".into(),
        pin,
        ..Token::default()
    };
    inventory.tokens.push(token(PinState {
        locked: true,
        final_try: true,
        ..PinState::default()
    }));
    inventory.tokens.push(token(PinState {
        final_try: true,
        count_low: true,
        ..PinState::default()
    }));
    inventory.tokens.push(token(PinState {
        count_low: true,
        ..PinState::default()
    }));
    inventory.tokens.push(token(PinState {
        must_change: true,
        ..PinState::default()
    }));
    let found = codes(&run(&inventory));
    assert_eq!(
        found,
        vec![
            (Code::TokenPinLocked, Severity::Critical),
            (Code::TokenPinFinalTry, Severity::Critical),
            (Code::TokenPinCountLow, Severity::Warning),
            (Code::TokenPinMustChange, Severity::Info),
        ]
    );
}

#[test]
fn a_token_with_all_memory_free_and_no_certificate_is_empty() {
    let mut inventory = sample::inventory();
    inventory.tokens.push(Token {
        label: "Rutoken".into(),
        total_memory: Some(30_000),
        free_memory: Some(29_800),
        ..Token::default()
    });
    assert_eq!(
        codes(&run(&inventory)),
        vec![(Code::TokenEmpty, Severity::Info)]
    );
    inventory.tokens[0].free_memory = Some(20_000);
    assert!(run(&inventory).is_empty());
}

#[test]
fn service_usb_and_module_problems_are_reported() {
    let mut inventory = sample::inventory();
    inventory.components.smart_card_service = Some(ServiceState::Stopped);
    inventory.components.usb_tokens.push(UsbToken {
        bus_path: "1-2".into(),
        usb_id: "0a89:0030".into(),
        model: "Rutoken ECP".into(),
        family: Some(TokenFamily::Rutoken),
        visible_to_pcsc: Some(false),
        ..UsbToken::default()
    });
    inventory.readers.push(Reader {
        name: "ARDS JaCarta 0".into(),
        card_present: true,
        token_model: Some("JaCarta PKI".into()),
        token_family: Some(TokenFamily::Jacarta),
        ..Reader::default()
    });
    let found = codes(&run(&inventory));
    assert!(
        found.contains(&(Code::SmartCardServiceDown, Severity::Critical)),
        "{found:?}"
    );
    assert!(
        found.contains(&(Code::UsbTokenNotVisible, Severity::Critical)),
        "{found:?}"
    );
    let missing: Vec<_> = found
        .iter()
        .filter(|(c, _)| *c == Code::Pkcs11ModuleMissing)
        .collect();
    assert_eq!(
        missing.len(),
        2,
        "Rutoken ECP and JaCarta need modules: {found:?}"
    );

    inventory.components.pkcs11_modules = vec![
        Pkcs11Module {
            path: "/usr/lib/librtpkcs11ecp.so".into(),
            family: Some(TokenFamily::Rutoken),
        },
        Pkcs11Module {
            path: "/usr/lib/libjcPKCS11-2.so".into(),
            family: Some(TokenFamily::Jacarta),
        },
    ];
    let found = codes(&run(&inventory));
    assert!(
        !found.iter().any(|(c, _)| *c == Code::Pkcs11ModuleMissing),
        "{found:?}"
    );
}

#[test]
fn windows_s_trigger_started_service_is_down_only_when_a_device_waits_for_it() {
    let mut inventory = sample::inventory();
    inventory.host.os = "windows".into();
    let service = |inventory: &Inventory| -> Vec<Finding> {
        run(inventory)
            .into_iter()
            .filter(|f| f.code == Code::SmartCardServiceDown)
            .collect()
    };
    // Stopped on demand start with nothing plugged in: how Windows leaves SCardSvr.
    inventory.components.smart_card_service = Some(ServiceState::Stopped);
    inventory.components.smart_card_service_start = Some(StartType::Manual);
    assert!(service(&inventory).is_empty());
    // A token plugged in and the service still stopped: nothing can use it.
    inventory.components.usb_tokens.push(UsbToken {
        usb_id: "0a89:0030".into(),
        model: "Rutoken ECP".into(),
        family: Some(TokenFamily::Rutoken),
        ..UsbToken::default()
    });
    let down = service(&inventory);
    assert_eq!(down.len(), 1, "{down:?}");
    assert!(down[0].message.contains("SCardSvr"), "{down:?}");
    // Automatic start and stopped is down whatever is plugged in.
    inventory.components.usb_tokens.clear();
    inventory.components.smart_card_service_start = Some(StartType::Automatic);
    assert_eq!(service(&inventory).len(), 1);
    // Disabled is down even while it still runs (it will not start again).
    inventory.components.smart_card_service = Some(ServiceState::Running);
    inventory.components.smart_card_service_start = Some(StartType::Disabled);
    let down = service(&inventory);
    assert_eq!(down.len(), 1);
    assert!(down[0].message.contains("disabled"), "{down:?}");
    inventory.components.smart_card_service_start = Some(StartType::Manual);
    assert!(service(&inventory).is_empty());
}

#[test]
fn a_failed_driver_and_the_generic_driver_are_reported_per_device() {
    let mut inventory = sample::inventory();
    inventory.components.smart_card_service = Some(ServiceState::Running);
    let device = |model: &str, family| UsbToken {
        bus_path: format!(r"USB\VID_24DC&PID_0101\{model}"),
        usb_id: "24dc:0101".into(),
        model: model.into(),
        family,
        visible_to_pcsc: Some(false),
        ..UsbToken::default()
    };
    inventory.components.usb_tokens = vec![
        UsbToken {
            problem_code: Some(10),
            driver: Some("jcccid.inf (Aladdin R.D.)".into()),
            ..device("JaCarta", Some(TokenFamily::Jacarta))
        },
        UsbToken {
            generic_driver: Some(true),
            visible_to_pcsc: Some(true),
            ..device("Rutoken ECP", Some(TokenFamily::Rutoken))
        },
        // A reader with no vendor driver of its own: the generic driver is its driver.
        UsbToken {
            generic_driver: Some(true),
            visible_to_pcsc: Some(true),
            ..device("ESMART Token", Some(TokenFamily::Esmart))
        },
        UsbToken {
            problem_code: Some(0),
            ..device("eToken 5110", Some(TokenFamily::Etoken))
        },
    ];
    let mut found: Vec<Finding> = run(&inventory)
        .into_iter()
        .filter(|f| f.subject.starts_with("USB device"))
        .collect();
    found.sort_by_key(|f| f.code);
    let by: Vec<(Code, &str)> = found
        .iter()
        .map(|f| {
            (
                f.code,
                f.subject
                    .rsplit('\\')
                    .next()
                    .unwrap_or_default()
                    .trim_end_matches(')'),
            )
        })
        .collect();
    assert_eq!(
        by,
        vec![
            (Code::UsbTokenNotVisible, "eToken 5110"),
            (Code::UsbDriverFailed, "JaCarta"),
            (Code::UsbGenericDriver, "Rutoken ECP"),
        ],
        "{found:?}"
    );
    assert!(
        found[1]
            .message
            .contains("problem code 10, driver jcccid.inf"),
        "{found:?}"
    );
    assert_eq!(found[1].severity, Severity::Critical);
    assert_eq!(found[2].severity, Severity::Warning);
}

#[test]
fn passive_tokens_need_no_pkcs11_module() {
    let mut inventory = sample::inventory();
    inventory.readers.push(Reader {
        name: "Aktiv Rutoken lite 00 00".into(),
        card_present: true,
        token_model: Some("Rutoken Lite".into()),
        token_family: Some(TokenFamily::Rutoken),
        ..Reader::default()
    });
    assert!(run(&inventory).is_empty());
}

#[test]
fn licence_states_map_to_findings() {
    let licence = |license: License| {
        let mut inventory = sample::inventory();
        inventory.components.cryptopro = Some(CryptoPro {
            installed: true,
            license: Some(license),
            ..CryptoPro::default()
        });
        codes(&run(&inventory))
    };
    let now = sample::now();
    assert_eq!(
        licence(License {
            expires: Some(now - Duration::days(1)),
            ..License::default()
        }),
        vec![(Code::CspLicenseExpired, Severity::Critical)]
    );
    assert_eq!(
        licence(License {
            expires: Some(now + Duration::days(20)),
            ..License::default()
        }),
        vec![(Code::CspLicenseExpiring, Severity::Warning)]
    );
    assert_eq!(
        licence(License {
            permanent: true,
            ..License::default()
        }),
        vec![]
    );
    assert_eq!(
        licence(License {
            demo: true,
            expires: Some(now + Duration::days(60)),
            ..License::default()
        }),
        vec![(Code::CspLicenseDemo, Severity::Warning)]
    );
    assert_eq!(
        licence(License {
            demo: true,
            expires: Some(now - Duration::days(1)),
            ..License::default()
        }),
        vec![(Code::CspLicenseDemo, Severity::Critical)]
    );
    assert_eq!(
        licence(License {
            error: Some("bad serial".into()),
            permanent: true,
            ..License::default()
        }),
        vec![(Code::CspLicenseInvalid, Severity::Critical)]
    );
}

#[test]
fn failed_collectors_are_findings_and_everything_is_sorted_worst_first() {
    let mut inventory = sample::inventory();
    inventory.collectors.push(CollectorStatus {
        name: "tokens".into(),
        status: CollectorOutcome::Failed,
        errors: vec!["boom".into()],
        duration_ms: 1,
    });
    inventory.certificates.push(sample::certificate("aa", -1));
    inventory.tokens.push(Token {
        pin: PinState {
            must_change: true,
            ..PinState::default()
        },
        ..Token::default()
    });
    let findings = run(&inventory);
    let severities: Vec<Severity> = findings.iter().map(|f| f.severity).collect();
    assert_eq!(
        severities,
        vec![Severity::Critical, Severity::Warning, Severity::Info]
    );
    assert!(findings[1].message.contains("boom"));
}

#[test]
fn every_code_serialises_as_its_name_and_has_a_remediation() {
    for code in Code::ALL {
        let json = serde_json::to_string(&code).expect("serialises");
        assert_eq!(json, format!("\"{}\"", code.as_str()));
        assert!(
            code.remediation().len() > 40,
            "{code:?} needs a real remediation"
        );
    }
}
