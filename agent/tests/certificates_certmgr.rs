//! The CryptoPro store path of the `certificates` collector, through a real process.
//!
//! The real certmgr is proprietary and cannot be installed here, so a shell script stands at
//! `<root>/opt/cprocsp/bin/amd64/certmgr` and prints listings: this runs the collector's real
//! process handling (arguments, no stdin, deadline and kill, UTF-8/CP1251 decoding).
#![cfg(unix)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::gost::{self, Spec};
use tokenwatch_agent::ScanConfig;
use tokenwatch_agent::collect::Collector;
use tokenwatch_agent::collect::certificates::Certificates;
use tokenwatch_agent::inventory::{CollectorOutcome, SourceKind};
use tokenwatch_agent::paths::Paths;
use tokenwatch_agent::scan::scan_with;

/// A host tree with a fake certmgr whose behaviour per store is given as shell snippets.
struct Host {
    dir: tempfile::TempDir,
}

// === impl Host ===

impl Host {
    /// `script` is the body of a `case "$3" in … esac` over store names.
    fn new(script: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = dir.path().join("opt/cprocsp/bin/amd64");
        std::fs::create_dir_all(&bin).expect("mkdir");
        let source = dir.path().join("certmgr.sh");
        let text = format!(
            "#!/bin/sh\necho \"$@\" >> \"{log}\"\ncase \"$3\" in\n{script}\n\
             *) printf 'Список сертификатов пуст\\n\\n[ErrorCode: 0x8010002c]\\n' ;;\nesac\n",
            log = dir.path().join("calls.log").display()
        );
        std::fs::write(&source, text).expect("write script");
        // Installed by another process, so no descriptor of ours is open on the file when it
        // is executed (which would fail with "text file busy").
        let status = Command::new("install")
            .args(["-m", "755"])
            .arg(&source)
            .arg(bin.join("certmgr"))
            .status()
            .expect("install runs");
        assert!(status.success());
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn config(&self, cert_paths: Vec<PathBuf>, timeout: Duration) -> ScanConfig {
        let mut config = ScanConfig::new(Paths::new(self.dir.path()));
        config.cert_paths = cert_paths;
        config.collector_timeout = timeout;
        config.now = "2025-06-01T00:00:00Z".parse().expect("date");
        config
    }

    fn calls(&self) -> String {
        std::fs::read_to_string(self.path("calls.log")).unwrap_or_default()
    }
}

fn listing(sha1: &str, subject: &str, container: &str) -> String {
    format!(
        "Certmgr 1.1 (c) \"КРИПТО-ПРО\", 2007-2021.\n\
         =============================================================================\n\
         1-------\n\
         Издатель            : CN=Тестовый УЦ\n\
         Субъект             : {subject}\n\
         Серийный номер      : 0x1001\n\
         SHA1 отпечаток      : {sha1}\n\
         Выдан               : 01/01/2025  00:00:00 UTC\n\
         Истекает            : 01/01/2026  00:00:00 UTC\n\
         Ссылка на ключ      : Есть\n\
         Контейнер           : {container}\n\
         =============================================================================\n\
         \n[ErrorCode: 0x00000000]\n"
    )
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).expect("write");
}

#[test]
fn stores_are_listed_and_folded_into_file_copies() {
    assert!(
        gost::available(),
        "openssl with the gost engine is required"
    );
    let work = tempfile::tempdir().expect("tempdir");
    let person = gost::issue(
        work.path(),
        &Spec::person("Иванов Иван Иванович", "20250101000000Z", "20260101000000Z"),
        None,
    );
    let sha1 = tokenwatch_agent::collect::certificates::summarize_file_bytes(&person.der, "x")
        .expect("parses")
        .remove(0)
        .expect("summarises")
        .sha1;
    let host = Host::new(&format!(
        "uMy) cat \"{my}\" ;;\nuRoot) cat \"{root}\" ;;",
        my = work.path().join("my.txt").display(),
        root = work.path().join("root.txt").display()
    ));
    write(
        &work.path().join("my.txt"),
        listing(
            &sha1.to_uppercase(),
            "CN=Иванов Иван Иванович, ИНН=770708389301",
            "HDIMAGE\\\\ivanov.000\\1A2B",
        )
        .as_bytes(),
    );
    write(
        &work.path().join("root.txt"),
        listing(
            "00112233445566778899aabbccddeeff00112233",
            "CN=Тестовый УЦ",
            "",
        )
        .as_bytes(),
    );
    let file = host.path("person.cer");
    write(&file, &person.der);

    let section = Certificates
        .collect(&host.config(vec![file.clone()], Duration::from_secs(20)))
        .expect("collects");
    assert!(section.errors.is_empty(), "{:?}", section.errors);
    assert_eq!(
        host.calls(),
        "-list -store uMy\n-list -store uRoot\n-list -store uCA\n\
         -list -store mRoot\n-list -store mCA\n"
    );
    assert_eq!(section.certificates.len(), 2);
    let folded = &section.certificates[0];
    assert_eq!(folded.sha1, sha1);
    assert_eq!(folded.der, person.der, "the file's DER-backed copy is kept");
    assert_eq!(folded.sources.len(), 2);
    assert_eq!(folded.sources[0].kind, SourceKind::File);
    assert_eq!(folded.sources[0].location, file.display().to_string());
    assert_eq!(folded.sources[1].kind, SourceKind::CryptoproStore);
    assert_eq!(
        folded.sources[1].location,
        "uMy (container HDIMAGE\\\\ivanov.000\\1A2B)"
    );
    let root = &section.certificates[1];
    assert_eq!(root.sha256, "sha1:00112233445566778899aabbccddeeff00112233");
    assert_eq!(root.subject_cn.as_deref(), Some("Тестовый УЦ"));
    assert!(root.is_ca && root.self_signed);
    assert_eq!(root.sources[0].location, "uRoot");

    // The scan then finds the person's issuer among the store certificates (by name: certmgr
    // prints no key identifiers for the root here).
    let inventory = scan_with(
        vec![Box::new(Certificates)],
        &host.config(vec![file], Duration::from_secs(20)),
    );
    assert_eq!(inventory.certificates.len(), 2);
    assert_eq!(inventory.collectors[0].status, CollectorOutcome::Ok);
}

#[test]
fn cp1251_output_is_decoded() {
    let work = tempfile::tempdir().expect("tempdir");
    let text = listing(
        "ABCDEF0123456789ABCDEF0123456789ABCDEF01",
        "СНИЛС=12345678901, ИНН ЮЛ=7707083893, CN=Петров Пётр",
        "HDIMAGE\\\\petrov.000\\9E7A",
    );
    let (cp1251, _, lossy) = encoding_rs::WINDOWS_1251.encode(&text);
    assert!(!lossy);
    assert!(std::str::from_utf8(&cp1251).is_err(), "really not UTF-8");
    let file = work.path().join("my-cp1251.txt");
    write(&file, &cp1251);
    let host = Host::new(&format!("uMy) cat \"{}\" ;;", file.display()));
    let section = Certificates
        .collect(&host.config(Vec::new(), Duration::from_secs(20)))
        .expect("collects");
    assert!(section.errors.is_empty(), "{:?}", section.errors);
    assert_eq!(section.certificates.len(), 1);
    let cert = &section.certificates[0];
    assert_eq!(cert.sha1, "abcdef0123456789abcdef0123456789abcdef01");
    assert_eq!(cert.subject_cn.as_deref(), Some("Петров Пётр"));
    assert_eq!(cert.snils.as_deref(), Some("12345678901"));
    assert_eq!(cert.inn_le.as_deref(), Some("7707083893"));
    assert_eq!(cert.not_after.to_rfc3339(), "2026-01-01T00:00:00+00:00");
    assert_eq!(
        cert.sources[0].location,
        "uMy (container HDIMAGE\\\\petrov.000\\9E7A)"
    );
}

#[test]
fn a_hanging_certmgr_is_stopped_and_file_certificates_still_arrive() {
    assert!(
        gost::available(),
        "openssl with the gost engine is required"
    );
    let work = tempfile::tempdir().expect("tempdir");
    let ca = gost::issue(
        work.path(),
        &Spec::ca("Тестовый УЦ", "20240101000000Z", "20340101000000Z"),
        None,
    );
    // The shell's child keeps the output pipe open after the shell is killed: the collector
    // must not wait for it either.
    let host = Host::new("uRoot) sleep 8 ;;");
    let file = host.path("ca.cer");
    write(&file, &ca.der);
    let started = Instant::now();
    let config = host.config(vec![file], Duration::from_secs(2));
    let section = Certificates.collect(&config).expect("collects");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_eq!(section.certificates.len(), 1);
    assert_eq!(
        section.certificates[0].subject_cn.as_deref(),
        Some("Тестовый УЦ")
    );
    assert_eq!(section.errors.len(), 1, "{:?}", section.errors);
    let error = &section.errors[0];
    assert!(
        error.starts_with("certmgr -list -store uRoot: ")
            && error.contains("did not finish within 1.5 s and was stopped")
            && error.ends_with("; uCA, mRoot, mCA not listed"),
        "{error}"
    );
    assert_eq!(host.calls(), "-list -store uMy\n-list -store uRoot\n");

    // Through the scan the collector is partial, not failed: what it read is kept.
    let inventory = scan_with(vec![Box::new(Certificates)], &config);
    assert_eq!(inventory.collectors[0].status, CollectorOutcome::Partial);
    assert_eq!(inventory.certificates.len(), 1);
}

#[test]
fn certmgr_errors_are_reported_per_store() {
    let host = Host::new(
        "uMy) printf 'Certmgr 1.1\\nКонтейнер не выбран\\n[ErrorCode: 0x80090016]\\n'; exit 22 ;;\n\
         uCA) echo 'Segmentation fault' >&2; exit 139 ;;",
    );
    let section = Certificates
        .collect(&host.config(Vec::new(), Duration::from_secs(20)))
        .expect("collects");
    assert!(section.certificates.is_empty());
    assert_eq!(
        section.errors,
        [
            "certmgr -list -store uMy: certmgr reported error 0x80090016: Контейнер не выбран",
            "certmgr -list -store uCA: certmgr printed no certificate list (output: \"Segmentation fault\\n\")",
        ]
    );
    assert!(!section.skipped);
}

#[test]
fn a_personal_certificate_without_its_key_link_is_a_finding() {
    let work = tempfile::tempdir().expect("tempdir");
    let linked = listing(
        "00112233445566778899aabbccddeeff00112233",
        "CN=Иванов Иван Иванович",
        "HDIMAGE\\\\ivanov.000\\1A2B",
    );
    let unlinked = listing(
        "aabbccddeeff0011223344556677889900112233",
        "CN=Петров Пётр Петрович",
        "",
    )
    .replace("Ссылка на ключ      : Есть", "Ссылка на ключ      : Нет")
    .replace("Контейнер           : \n", "");
    let ca_unlinked = listing(
        "99112233445566778899aabbccddeeff00112233",
        "CN=Тестовый УЦ",
        "",
    )
    .replace("Ссылка на ключ      : Есть", "Ссылка на ключ      : Нет");
    write(&work.path().join("my.txt"), linked.as_bytes());
    write(&work.path().join("my2.txt"), unlinked.as_bytes());
    write(&work.path().join("ca.txt"), ca_unlinked.as_bytes());
    // uMy lists the linked and the unlinked certificate; the CA store's entries never link.
    let host = Host::new(&format!(
        "uMy) cat \"{my}\" \"{my2}\" ;;\nuCA) cat \"{ca}\" ;;",
        my = work.path().join("my.txt").display(),
        my2 = work.path().join("my2.txt").display(),
        ca = work.path().join("ca.txt").display(),
    ));
    let section = Certificates
        .collect(&host.config(Vec::new(), Duration::from_secs(20)))
        .expect("collects");
    assert!(section.errors.is_empty(), "{:?}", section.errors);
    assert_eq!(section.certificates.len(), 3, "{:?}", section.certificates);
    let codes: Vec<(String, String)> = section
        .findings
        .iter()
        .map(|f| (f.code.as_str().to_owned(), f.subject.clone()))
        .collect();
    assert_eq!(
        codes,
        vec![(
            "certificate.key_link_missing".to_owned(),
            "certificate \"Петров Пётр Петрович\" (aabbccddeeff0011223344556677889900112233)"
                .to_owned()
        )]
    );
}
