//! The `certificates` collector end to end on real GOST certificates issued by OpenSSL's gost
//! engine: files in DER, PEM and bundles, read through `ScanConfig::cert_paths`, merged and
//! diagnosed by the real scan.
// Unix only: OpenSSL's gost engine issues the certificates, and the Windows tests under Wine
// cannot run it.
#![cfg(unix)]

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use chrono::{DateTime, Utc};
use support::gost::{self, Algorithm, Issued, Spec};
use tokenwatch_agent::ScanConfig;
use tokenwatch_agent::collect::Collector;
use tokenwatch_agent::collect::certificates::Certificates;
use tokenwatch_agent::findings::Code;
use tokenwatch_agent::inventory::{Certificate, CollectorOutcome, SourceKind};
use tokenwatch_agent::paths::Paths;
use tokenwatch_agent::scan::scan_with;

/// The scan's clock: every validity below is relative to it.
fn now() -> DateTime<Utc> {
    "2025-06-01T00:00:00Z".parse().expect("date")
}

/// What OpenSSL itself says about a certificate: the oracle for hashes and identifiers.
struct OpenSsl {
    serial: String,
    sha1: String,
    sha256: String,
    subject_key_id: Option<String>,
    authority_key_id: Option<String>,
}

fn openssl_facts(pem: &Path) -> OpenSsl {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-serial", "-fingerprint", "-sha1", "-in"])
        .arg(pem)
        .args(["-ext", "subjectKeyIdentifier,authorityKeyIdentifier"])
        .output()
        .expect("openssl runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let sha256 = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(pem)
        .output()
        .expect("openssl runs");
    let sha256 = String::from_utf8_lossy(&sha256.stdout).into_owned();
    let after = |label: &str, text: &str| -> Option<String> {
        let at = text.find(label)?;
        let rest = text[at + label.len()..].trim_start_matches([':', ' ', '\n', '=']);
        Some(rest.lines().next()?.trim().to_owned())
    };
    let hex = |s: String| s.replace(':', "").to_lowercase();
    OpenSsl {
        serial: after("serial=", &text).expect("serial"),
        sha1: hex(after("Fingerprint=", &text).expect("sha1")),
        sha256: hex(after("Fingerprint=", &sha256).expect("sha256")),
        subject_key_id: after("Subject Key Identifier", &text).map(hex),
        authority_key_id: after("Authority Key Identifier", &text).map(hex),
    }
}

fn pem_text(issued: &Issued) -> String {
    std::fs::read_to_string(&issued.cert_pem).expect("pem")
}

struct Fixture {
    _dir: tempfile::TempDir,
    certs: std::path::PathBuf,
    ca: Issued,
    person: Issued,
    entrepreneur: Issued,
    expired: Issued,
    expiring: Issued,
}

/// A CA (2012-512), a qualified person (2012-256) with a key usage period, an individual
/// entrepreneur (2001), an expired and an expiring person, written as DER, PEM and bundles.
fn fixture() -> Fixture {
    assert!(
        gost::available(),
        "openssl with the gost engine is required (Debian: libengine-gost-openssl)"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path().join("work");
    let ca = gost::issue(
        &work,
        &Spec::ca("Тестовый УЦ", "20240101000000Z", "20340101000000Z"),
        None,
    );
    let mut spec = Spec::person("Иванов Иван Иванович", "20250101000000Z", "20260101000000Z");
    spec.private_key_usage = Some(("20250101000000Z".into(), "20260301000000Z".into()));
    let person = gost::issue(&work, &spec, Some(&ca));
    let mut spec = Spec::person("ИП Петров Пётр", "20250101000000Z", "20260101000000Z");
    spec.algorithm = Algorithm::Gost2001;
    spec.inn_le = None;
    spec.ogrn = None;
    spec.ogrnip = Some("304500116000157".into());
    spec.organization = None;
    spec.email = Some("petrov@example.ru".into());
    spec.qualified = false;
    let entrepreneur = gost::issue(&work, &spec, Some(&ca));
    let expired = gost::issue(
        &work,
        &Spec::person("Сидоров Истёкший", "20240101000000Z", "20250101000000Z"),
        Some(&ca),
    );
    let expiring = gost::issue(
        &work,
        &Spec::person("Кузнецова Скоро", "20240611000000Z", "20250611000000Z"),
        Some(&ca),
    );

    let certs = dir.path().join("certs");
    std::fs::create_dir_all(certs.join("archive")).expect("mkdir");
    std::fs::write(certs.join("ca.cer"), &ca.der).expect("write");
    std::fs::write(certs.join("person.pem"), pem_text(&person)).expect("write");
    let bundle = format!(
        "{}{}",
        pem_text(&person),
        std::fs::read_to_string(&entrepreneur.key_pem).expect("key")
    ) + &pem_text(&entrepreneur);
    std::fs::write(certs.join("bundle.pem"), bundle).expect("write");
    std::fs::write(certs.join("archive/expired.der"), &expired.der).expect("write");
    std::fs::write(certs.join("archive/expiring.crt"), &expiring.der).expect("write");
    std::fs::write(certs.join("notes.txt"), "not a certificate, not picked up").expect("write");
    Fixture {
        _dir: dir,
        certs,
        ca,
        person,
        entrepreneur,
        expired,
        expiring,
    }
}

fn config(root: &Path, cert_paths: Vec<std::path::PathBuf>) -> ScanConfig {
    let mut config = ScanConfig::new(Paths::new(root));
    config.cert_paths = cert_paths;
    config.now = now();
    config.collector_timeout = Duration::from_secs(20);
    config
}

fn by_sha1<'a>(certs: &'a [Certificate], issued: &Issued) -> &'a Certificate {
    let sha1 = openssl_facts(&issued.cert_pem).sha1;
    certs
        .iter()
        .find(|c| c.sha1 == sha1)
        .unwrap_or_else(|| panic!("certificate {sha1} not collected"))
}

fn locations(cert: &Certificate) -> Vec<String> {
    cert.sources
        .iter()
        .map(|s| {
            assert_eq!(s.kind, SourceKind::File);
            Path::new(&s.location)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn collector_reads_every_field_of_every_file() {
    let fx = fixture();
    let section = Certificates
        .collect(&config(fx.certs.as_path(), vec![fx.certs.clone()]))
        .expect("collects");
    assert!(section.errors.is_empty(), "{:?}", section.errors);
    assert!(section.findings.is_empty(), "{:?}", section.findings);
    assert!(!section.skipped);
    // ca, person twice (person.pem and bundle.pem), entrepreneur, expired, expiring.
    assert_eq!(section.certificates.len(), 6);

    let ca_facts = openssl_facts(&fx.ca.cert_pem);
    let ca = by_sha1(&section.certificates, &fx.ca);
    assert_eq!(ca.sha256, ca_facts.sha256);
    assert_eq!(ca.serial, ca_facts.serial);
    assert!(ca.is_ca);
    assert!(ca.self_signed);
    assert!(!ca.qualified);
    assert_eq!(ca.public_key_algorithm, "GOST R 34.10-2012 512");
    assert_eq!(
        ca.signature_algorithm,
        "GOST R 34.11-2012 512 with GOST R 34.10-2012 512"
    );
    assert_eq!(ca.subject_key_id, ca_facts.subject_key_id);
    assert_eq!(ca.key_usage, ["digitalSignature", "keyCertSign", "cRLSign"]);
    assert_eq!(ca.inn_le.as_deref(), Some("7707083893"));
    assert_eq!(ca.ogrn.as_deref(), Some("1027700132195"));
    assert_eq!(ca.inn, None);
    assert_eq!(
        ca.subject,
        "C=RU, L=Москва, O=Тестовый УЦ, CN=Тестовый УЦ, INNLE=7707083893, OGRN=1027700132195"
    );
    assert_eq!(ca.not_after.to_rfc3339(), "2034-01-01T00:00:00+00:00");

    let facts = openssl_facts(&fx.person.cert_pem);
    let person = by_sha1(&section.certificates, &fx.person);
    assert_eq!(person.sha256, facts.sha256);
    assert_eq!(person.serial, facts.serial);
    assert_eq!(person.subject_cn.as_deref(), Some("Иванов Иван Иванович"));
    assert_eq!(person.issuer_cn.as_deref(), Some("Тестовый УЦ"));
    assert_eq!(person.issuer, ca.subject);
    assert_eq!(person.organization.as_deref(), Some("ООО \"Ромашка\""));
    assert_eq!(person.email.as_deref(), Some("ivanov@example.ru"));
    assert_eq!(person.inn.as_deref(), Some("770708389301"));
    assert_eq!(person.inn_le.as_deref(), Some("7707083893"));
    assert_eq!(person.ogrn.as_deref(), Some("1027700132195"));
    assert_eq!(person.snils.as_deref(), Some("12345678901"));
    assert_eq!(person.ogrnip, None);
    assert_eq!(person.not_before.to_rfc3339(), "2025-01-01T00:00:00+00:00");
    assert_eq!(person.not_after.to_rfc3339(), "2026-01-01T00:00:00+00:00");
    assert_eq!(
        person
            .private_key_not_before
            .map(|t| t.to_rfc3339())
            .as_deref(),
        Some("2025-01-01T00:00:00+00:00")
    );
    assert_eq!(
        person
            .private_key_not_after
            .map(|t| t.to_rfc3339())
            .as_deref(),
        Some("2026-03-01T00:00:00+00:00")
    );
    assert_eq!(person.public_key_algorithm, "GOST R 34.10-2012 256");
    assert_eq!(
        person.signature_algorithm,
        "GOST R 34.11-2012 512 with GOST R 34.10-2012 512"
    );
    assert_eq!(
        person.key_usage,
        [
            "digitalSignature",
            "nonRepudiation",
            "keyEncipherment",
            "keyAgreement"
        ]
    );
    assert_eq!(person.extended_key_usage, ["clientAuth", "emailProtection"]);
    assert!(person.qualified);
    assert!(
        person
            .subject_sign_tool
            .as_deref()
            .is_some_and(|t| t.contains("КриптоПро CSP") && t.contains("5.0")),
        "{:?}",
        person.subject_sign_tool
    );
    assert!(!person.is_ca);
    assert!(!person.self_signed);
    assert_eq!(person.subject_key_id, facts.subject_key_id);
    assert_eq!(person.authority_key_id, facts.authority_key_id);
    assert_eq!(person.authority_key_id, ca.subject_key_id);
    assert_eq!(person.der, fx.person.der);

    let ip = by_sha1(&section.certificates, &fx.entrepreneur);
    assert_eq!(ip.public_key_algorithm, "GOST R 34.10-2001");
    assert_eq!(ip.subject_cn.as_deref(), Some("ИП Петров Пётр"));
    assert_eq!(ip.ogrnip.as_deref(), Some("304500116000157"));
    assert_eq!(ip.email.as_deref(), Some("petrov@example.ru"));
    assert_eq!((ip.inn_le.as_deref(), ip.ogrn.as_deref()), (None, None));
    assert_eq!(ip.organization, None);
    assert!(!ip.qualified);
    assert_eq!(ip.subject_sign_tool, None);
    assert_eq!(ip.private_key_not_after, None);
    assert_eq!(locations(ip), ["bundle.pem"]);
}

#[test]
fn scan_merges_copies_links_issuers_and_reports_expiry() {
    let fx = fixture();
    let config = config(fx.certs.as_path(), vec![fx.certs.clone()]);
    let inventory = scan_with(vec![Box::new(Certificates)], &config);
    assert_eq!(inventory.collectors.len(), 1);
    assert_eq!(inventory.collectors[0].status, CollectorOutcome::Ok);
    // One entry per certificate: the person's two copies are merged.
    assert_eq!(inventory.certificates.len(), 5);
    let person = by_sha1(&inventory.certificates, &fx.person);
    assert_eq!(locations(person), ["bundle.pem", "person.pem"]);
    assert_eq!(person.issuer_present, Some(true));
    assert_eq!(
        by_sha1(&inventory.certificates, &fx.ca).issuer_present,
        None
    );
    assert_eq!(
        by_sha1(&inventory.certificates, &fx.entrepreneur).issuer_present,
        Some(true)
    );

    let codes_for = |issued: &Issued| -> Vec<Code> {
        let sha1 = openssl_facts(&issued.cert_pem).sha1;
        inventory
            .findings
            .iter()
            .filter(|f| f.subject.contains(&sha1))
            .map(|f| f.code)
            .collect()
    };
    assert_eq!(codes_for(&fx.expired), [Code::CertificateExpired]);
    assert_eq!(codes_for(&fx.expiring), [Code::CertificateExpiring]);
    let expiring = inventory
        .findings
        .iter()
        .find(|f| f.code == Code::CertificateExpiring)
        .expect("expiring finding");
    assert!(
        expiring.message.contains("in 10 days"),
        "{}",
        expiring.message
    );
    assert!(
        expiring.subject.contains("Кузнецова Скоро"),
        "{}",
        expiring.subject
    );
    assert!(
        codes_for(&fx.person).is_empty(),
        "{:?}",
        codes_for(&fx.person)
    );
    assert!(
        !inventory
            .findings
            .iter()
            .any(|f| f.code == Code::CertificateIssuerMissing)
    );
}

#[test]
fn issuer_missing_when_the_ca_file_is_absent() {
    let fx = fixture();
    let config = config(fx.certs.as_path(), vec![fx.certs.join("person.pem")]);
    let inventory = scan_with(vec![Box::new(Certificates)], &config);
    assert_eq!(inventory.certificates.len(), 1);
    let person = &inventory.certificates[0];
    assert_eq!(person.issuer_present, Some(false));
    let missing: Vec<_> = inventory
        .findings
        .iter()
        .filter(|f| f.code == Code::CertificateIssuerMissing)
        .collect();
    assert_eq!(missing.len(), 1);
    assert!(missing[0].subject.contains(&person.sha1));
    assert!(
        missing[0].message.contains("Тестовый УЦ"),
        "{}",
        missing[0].message
    );
}

#[test]
fn bad_and_missing_files_become_findings_and_good_ones_still_arrive() {
    let fx = fixture();
    let bad = fx.certs.join("bad");
    std::fs::create_dir_all(&bad).expect("mkdir");
    std::fs::write(bad.join("empty.cer"), b"").expect("write");
    std::fs::write(bad.join("truncated.der"), &fx.person.der[..200]).expect("write");
    std::fs::write(bad.join("huge.pem"), vec![b'A'; 2 * 1024 * 1024]).expect("write");
    std::fs::write(bad.join("garbage.crt"), [0xDE, 0xAD, 0xBE, 0xEF, 0x01]).expect("write");
    std::fs::write(bad.join("good.cer"), &fx.ca.der).expect("write");
    // Well-formed non-certificates beside certificates are skipped in folders…
    std::fs::copy(&fx.ca.key_pem, bad.join("ca-key.pem")).expect("copy");
    let empty_p7 = Command::new("openssl")
        .args(["crl2pkcs7", "-nocrl", "-outform", "DER"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl runs");
    assert!(empty_p7.status.success());
    std::fs::write(bad.join("no-certs.p7b"), &empty_p7.stdout).expect("write");
    let missing = fx.certs.join("no-such-folder");
    let key = bad.join("ca-key.pem");
    let scan_config = config(fx.certs.as_path(), vec![bad, missing.clone()]);
    let section = Certificates.collect(&scan_config).expect("collects");
    assert_eq!(section.certificates.len(), 1);
    assert_eq!(
        section.certificates[0].sha1,
        openssl_facts(&fx.ca.cert_pem).sha1
    );

    let finding = |name: &str| {
        section
            .findings
            .iter()
            .find(|f| f.subject.ends_with(name))
            .unwrap_or_else(|| panic!("no finding for {name}: {:?}", section.findings))
    };
    assert_eq!(finding("empty.cer").code, Code::FileUnparsable);
    assert_eq!(finding("empty.cer").message, "the file is empty (no data)");
    assert_eq!(finding("truncated.der").code, Code::FileUnparsable);
    assert!(
        finding("truncated.der")
            .message
            .starts_with("not a DER X.509 certificate")
    );
    assert_eq!(
        finding("huge.pem").message,
        "file is 2097152 bytes, over the 1048576-byte limit for certificate files: not read"
    );
    assert_eq!(
        finding("garbage.crt").message,
        "neither DER, PEM nor Base64 (starts with DE AD BE EF 01)"
    );
    let gone = finding("no-such-folder");
    assert_eq!(gone.code, Code::FileUnreadable);
    assert_eq!(gone.message, "does not exist");
    assert_eq!(
        section.errors,
        [format!("{}: does not exist", missing.display())]
    );
    assert_eq!(section.findings.len(), 5, "{:?}", section.findings);

    // …but reported when named directly.
    let named = Certificates
        .collect(&config(fx.certs.as_path(), vec![key]))
        .expect("collects");
    assert_eq!(named.findings.len(), 1);
    assert_eq!(named.findings[0].code, Code::FileUnparsable);
    assert_eq!(
        named.findings[0].message,
        "holds only PEM blocks of other kinds (PRIVATE KEY), not a certificate"
    );

    let inventory = scan_with(vec![Box::new(Certificates)], &scan_config);
    assert_eq!(inventory.collectors[0].status, CollectorOutcome::Partial);
    assert!(
        inventory
            .findings
            .iter()
            .any(|f| f.code == Code::FileUnreadable)
    );
}

#[test]
fn pkcs7_bundle_and_base64_files_are_read() {
    let fx = fixture();
    let dir = fx.certs.join("formats");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let status = Command::new("openssl")
        .args(["crl2pkcs7", "-nocrl", "-outform", "DER", "-certfile"])
        .arg(&fx.person.cert_pem)
        .arg("-certfile")
        .arg(&fx.ca.cert_pem)
        .arg("-out")
        .arg(dir.join("chain.p7b"))
        .status()
        .expect("openssl runs");
    assert!(status.success());
    let body: String = pem_text(&fx.expired)
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.join("expired-base64.cer"), body).expect("write");
    let section = Certificates
        .collect(&config(fx.certs.as_path(), vec![dir]))
        .expect("collects");
    assert!(section.findings.is_empty(), "{:?}", section.findings);
    let mut names: Vec<_> = section
        .certificates
        .iter()
        .map(|c| c.subject_cn.clone().unwrap_or_default())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["Иванов Иван Иванович", "Сидоров Истёкший", "Тестовый УЦ"]
    );
}

#[test]
fn nothing_to_look_at_is_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let section = Certificates
        .collect(&config(dir.path(), Vec::new()))
        .expect("collects");
    assert!(section.skipped);
    assert!(section.certificates.is_empty() && section.errors.is_empty());
}

#[cfg(unix)]
#[test]
fn folders_are_read_three_levels_deep_without_following_folder_links() {
    let fx = fixture();
    let root = fx.certs.join("tree");
    let deep = root.join("1/2/3");
    std::fs::create_dir_all(deep.join("4")).expect("mkdir");
    std::fs::write(deep.join("at-depth-3.cer"), &fx.ca.der).expect("write");
    std::fs::write(deep.join("4/too-deep.cer"), &fx.person.der).expect("write");
    // A link loop and a link to a folder elsewhere are not followed; a link to a file is read.
    std::os::unix::fs::symlink(&root, root.join("1/loop")).expect("symlink");
    std::os::unix::fs::symlink(fx.certs.join("archive"), root.join("archive-link"))
        .expect("symlink");
    std::os::unix::fs::symlink(fx.certs.join("person.pem"), root.join("linked.pem"))
        .expect("symlink");
    let section = Certificates
        .collect(&config(fx.certs.as_path(), vec![root]))
        .expect("collects");
    assert!(section.errors.is_empty(), "{:?}", section.errors);
    let mut names: Vec<String> = section.certificates.iter().flat_map(locations).collect();
    names.sort();
    assert_eq!(names, ["at-depth-3.cer", "linked.pem"]);
}
