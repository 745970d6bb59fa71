//! The `tokens` collector against real SoftHSM2 tokens holding real GOST certificates.
// Unix only: SoftHSM2 and OpenSSL's gost engine, which the Windows tests under Wine cannot run.
#![cfg(unix)]

mod support;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use support::gost::{self, Issued, Spec};
use support::softhsm::{self, ShownToken};
use tokenwatch_agent::ScanConfig;
use tokenwatch_agent::collect::tokens::Tokens;
use tokenwatch_agent::collect::{Collector, Section};
use tokenwatch_agent::findings::Code;
use tokenwatch_agent::inventory::{CollectorOutcome, PinState, SourceKind, Token};
use tokenwatch_agent::paths::Paths;
use tokenwatch_agent::scan::scan_with;

/// The instant the tests' scans are taken at.
fn now() -> DateTime<Utc> {
    "2026-06-01T12:00:00Z".parse().expect("instant")
}

/// A scan of an empty root (no vendor modules on disk) with only `modules` to load.
fn config(root: &Path, modules: Vec<PathBuf>) -> ScanConfig {
    let mut config = ScanConfig::new(Paths::new(root));
    config.pkcs11_modules = modules;
    config.now = now();
    config
}

fn collect(config: &ScanConfig) -> Section {
    Tokens.collect(config).expect("the tokens collector runs")
}

#[track_caller]
fn token<'a>(tokens: &'a [Token], label: &str) -> &'a Token {
    tokens
        .iter()
        .find(|t| t.label == label)
        .unwrap_or_else(|| panic!("token {label:?} not reported: {tokens:#?}"))
}

/// A certificate for Иванов, issued by a test CA, valid from `not_before` to `not_after`.
fn person_certificate(dir: &Path, not_before: &str, not_after: &str) -> Issued {
    assert!(
        gost::available(),
        "openssl with the gost engine is required (libengine-gost-openssl)"
    );
    let ca = gost::issue(
        dir,
        &Spec::ca("Тестовый УЦ", "20190101000000Z", "20340101000000Z"),
        None,
    );
    gost::issue(
        dir,
        &Spec::person("Иванов Иван Иванович", not_before, not_after),
        Some(&ca),
    )
}

#[track_caller]
fn assert_softhsm_identity(token: &Token, shown: &ShownToken, module: &Path) {
    assert_eq!(token.module, module.display().to_string());
    assert_eq!(token.serial, shown.serial);
    assert_eq!(token.manufacturer, "SoftHSM project");
    assert_eq!(token.manufacturer, shown.manufacturer);
    assert_eq!(token.model, "SoftHSM v2");
    assert_eq!(token.model, shown.model);
    assert_eq!(
        token.hardware_version.as_deref(),
        Some(shown.hardware_version.as_str())
    );
    assert_eq!(
        token.firmware_version.as_deref(),
        Some(shown.firmware_version.as_str())
    );
    assert_eq!(token.token_family, None, "SoftHSM is no vendor token");
    // SoftHSM reports CK_UNAVAILABLE_INFORMATION for memory.
    assert_eq!(token.total_memory, None);
    assert_eq!(token.free_memory, None);
    let description = token.slot_description.as_deref().unwrap_or_default();
    assert!(
        description.starts_with("SoftHSM slot ID"),
        "slot description {description:?}"
    );
}

#[test]
fn tokens_are_reported_with_their_certificates() {
    let turn = softhsm::turn();
    let hsm = turn.hsm;
    let dir = tempfile::tempdir().expect("tempdir");
    let expired = person_certificate(dir.path(), "20200101000000Z", "20210101000000Z");
    let valid = person_certificate(dir.path(), "20260101000000Z", "20270101000000Z");

    let rutoken = hsm.init_token("Rutoken ECP");
    hsm.import_certificate("Rutoken ECP", &expired.der, "01", "Иванов 2020");
    let backup = hsm.init_token("Backup Token");
    hsm.import_certificate("Backup Token", &valid.der, "a1", "Иванов 2026");
    let expired_sha1 = softhsm::sha1_hex(dir.path(), &expired.der);
    let valid_sha1 = softhsm::sha1_hex(dir.path(), &valid.der);

    let root = tempfile::tempdir().expect("root");
    let config = config(root.path(), vec![hsm.module.clone()]);
    let section = collect(&config);
    assert!(section.errors.is_empty(), "errors: {:?}", section.errors);
    assert!(!section.skipped);

    let first = token(&section.tokens, "Rutoken ECP");
    assert_softhsm_identity(first, &rutoken, &hsm.module);
    assert_eq!(
        first.pin,
        PinState {
            initialized: true,
            user_pin_initialized: true,
            ..PinState::default()
        }
    );
    assert_eq!(first.certificates, vec![expired_sha1.clone()]);

    let second = token(&section.tokens, "Backup Token");
    assert_softhsm_identity(second, &backup, &hsm.module);
    assert_eq!(second.pin, first.pin);
    assert_eq!(second.certificates, vec![valid_sha1.clone()]);
    assert_ne!(first.slot_id, second.slot_id);

    // SoftHSM always offers one more slot with an uninitialised token.
    assert_eq!(section.tokens.len(), 3, "{:#?}", section.tokens);
    assert!(
        section
            .tokens
            .iter()
            .any(|t| !t.pin.initialized && t.serial.is_empty() && t.certificates.is_empty()),
        "{:#?}",
        section.tokens
    );

    let summary = section
        .certificates
        .iter()
        .find(|c| c.sha1 == expired_sha1)
        .expect("expired certificate summarised");
    assert_eq!(summary.der, expired.der);
    assert_eq!(summary.not_after.to_rfc3339(), "2021-01-01T00:00:00+00:00");
    assert!(
        summary.subject.contains("Иванов Иван Иванович"),
        "{}",
        summary.subject
    );
    assert_eq!(summary.sources.len(), 1);
    assert_eq!(summary.sources[0].kind, SourceKind::Token);
    assert_eq!(
        summary.sources[0].location,
        format!("{}#{}", hsm.module.display(), rutoken.serial)
    );

    // The whole scan: token certificates carry their source and are diagnosed.
    let inventory = scan_with(vec![Box::new(Tokens)], &config);
    let status = &inventory.collectors[0];
    assert_eq!(
        (status.name.as_str(), status.status),
        ("tokens", CollectorOutcome::Ok),
        "{status:?}"
    );
    for (sha1, serial) in [
        (&expired_sha1, &rutoken.serial),
        (&valid_sha1, &backup.serial),
    ] {
        let cert = inventory
            .certificates
            .iter()
            .find(|c| &c.sha1 == sha1)
            .expect("certificate in the inventory");
        assert!(
            cert.sources.iter().any(|s| s.kind == SourceKind::Token
                && s.location == format!("{}#{serial}", hsm.module.display())),
            "{:?}",
            cert.sources
        );
    }
    let expired_findings: Vec<_> = inventory
        .findings
        .iter()
        .filter(|f| f.code == Code::CertificateExpired)
        .collect();
    assert!(
        expired_findings
            .iter()
            .any(|f| f.subject.contains(&expired_sha1)),
        "{:#?}",
        inventory.findings
    );
    assert!(
        !expired_findings
            .iter()
            .any(|f| f.subject.contains(&valid_sha1)),
        "{:#?}",
        inventory.findings
    );
}

/// SoftHSM 2.6 never locks a PIN: a wrong PIN raises `CKF_USER_PIN_COUNT_LOW` and further wrong
/// PINs keep returning `CKR_PIN_INCORRECT`. That is the PIN trouble a real token can show here.
#[test]
fn wrong_pin_tries_are_reported() {
    let turn = softhsm::turn();
    let hsm = turn.hsm;
    let shown = hsm.init_token("Tried PIN");
    for _ in 0..5 {
        let said = hsm.log_in_with_wrong_pin("Tried PIN");
        assert!(said.contains("CKR_PIN_INCORRECT"), "{said}");
    }

    let root = tempfile::tempdir().expect("root");
    let config = config(root.path(), vec![hsm.module.clone()]);
    let section = collect(&config);
    let tried = token(&section.tokens, "Tried PIN");
    assert_eq!(tried.serial, shown.serial);
    assert_eq!(
        tried.pin,
        PinState {
            initialized: true,
            user_pin_initialized: true,
            count_low: true,
            ..PinState::default()
        }
    );

    let inventory = scan_with(vec![Box::new(Tokens)], &config);
    let subject = format!("token \"Tried PIN\" SoftHSM v2 (serial {})", shown.serial);
    let codes: Vec<Code> = inventory
        .findings
        .iter()
        .filter(|f| f.subject == subject)
        .map(|f| f.code)
        .collect();
    assert_eq!(
        codes,
        vec![Code::TokenPinCountLow],
        "{:#?}",
        inventory.findings
    );
}

#[test]
fn unusable_modules_are_reported_beside_working_ones() {
    let turn = softhsm::turn();
    let hsm = turn.hsm;
    let shown = hsm.init_token("Beside Broken");
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("librtpkcs11ecp.so");
    let text = dir.path().join("libjcPKCS11-2.so");
    std::fs::write(&text, "this is not a library\n").expect("text file");
    let program = dir.path().join("libeToken.so");
    std::fs::copy("/bin/true", &program).expect("copy /bin/true");
    let not_pkcs11 = dir.path().join("libisbc_pkcs11_main.so");
    std::fs::copy(zlib(), &not_pkcs11).expect("copy zlib");

    let root = tempfile::tempdir().expect("root");
    let config = config(
        root.path(),
        vec![
            missing.clone(),
            text.clone(),
            hsm.module.clone(),
            program.clone(),
            not_pkcs11.clone(),
        ],
    );
    let section = collect(&config);
    assert_eq!(token(&section.tokens, "Beside Broken").serial, shown.serial);
    assert_eq!(section.errors.len(), 4, "{:#?}", section.errors);
    // Existing modules are loaded in the order given; a path that does not exist comes last.
    let expected = [
        (&text, "cannot load: not a loadable library"),
        (&program, "cannot load: not a loadable library"),
        (
            &not_pkcs11,
            "cannot load: not a PKCS#11 library (no C_GetFunctionList)",
        ),
        (&missing, "file not found"),
    ];
    for ((path, reason), error) in expected.iter().zip(&section.errors) {
        let prefix = format!("PKCS#11 module {}: {reason}", path.display());
        assert!(
            error.starts_with(&prefix),
            "{error:?} should start with {prefix:?}"
        );
    }

    let inventory = scan_with(vec![Box::new(Tokens)], &config);
    let status = &inventory.collectors[0];
    assert_eq!(status.status, CollectorOutcome::Partial);
    assert_eq!(status.errors, section.errors);
    assert!(inventory.tokens.iter().any(|t| t.label == "Beside Broken"));
}

#[test]
fn an_unparsable_certificate_object_is_reported_and_the_token_still_read() {
    let turn = softhsm::turn();
    let hsm = turn.hsm;
    let dir = tempfile::tempdir().expect("tempdir");
    let valid = person_certificate(dir.path(), "20260101000000Z", "20270101000000Z");
    let shown = hsm.init_token("Broken Enrolment");
    hsm.store_raw_certificate("Broken Enrolment", b"not a certificate", "обрывок");
    hsm.import_certificate("Broken Enrolment", &valid.der, "02", "Иванов 2026");
    let valid_sha1 = softhsm::sha1_hex(dir.path(), &valid.der);

    let root = tempfile::tempdir().expect("root");
    let config = config(root.path(), vec![hsm.module.clone()]);
    let section = collect(&config);
    let broken = token(&section.tokens, "Broken Enrolment");
    assert_eq!(broken.serial, shown.serial);
    assert_eq!(broken.certificates, vec![valid_sha1]);
    assert_eq!(section.errors.len(), 1, "{:#?}", section.errors);
    let error = &section.errors[0];
    assert!(
        error.contains("token \"Broken Enrolment\"")
            && error.contains(&shown.serial)
            && error.contains("certificate object \"обрывок\"")
            && error.contains("not a DER X.509 certificate"),
        "{error}"
    );
    assert_eq!(section.findings.len(), 1, "{:#?}", section.findings);
    let finding = &section.findings[0];
    assert_eq!(finding.code, Code::FileUnparsable);
    assert_eq!(
        finding.subject,
        format!(
            "token \"Broken Enrolment\" SoftHSM v2 (serial {}), object \"обрывок\"",
            shown.serial
        )
    );

    let inventory = scan_with(vec![Box::new(Tokens)], &config);
    assert_eq!(inventory.collectors[0].status, CollectorOutcome::Partial);
    assert!(
        inventory
            .findings
            .iter()
            .any(|f| f.code == Code::FileUnparsable && f.subject == finding.subject),
        "{:#?}",
        inventory.findings
    );
}

/// A real shared library that is no PKCS#11 module.
fn zlib() -> PathBuf {
    [
        "/usr/lib/x86_64-linux-gnu/libz.so.1",
        "/lib/x86_64-linux-gnu/libz.so.1",
        "/usr/lib64/libz.so.1",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
    .expect("zlib is installed")
}
