//! The real-world layer: public GOST certificates and real `certmgr -list` output from
//! `shared/fixtures` beside the repository. Expected values were read with
//! `openssl x509 [-inform DER] -noout -text -fingerprint -sha1` (gost engine loaded).
//!
//! Without that folder these tests fail with a message saying so; set
//! `TOKENWATCH_NO_SHARED_FIXTURES=1` to skip them knowingly. `TOKENWATCH_SHARED_FIXTURES` points
//! them at another copy of the folder.

use std::path::PathBuf;

use tokenwatch_agent::collect::certificates::{
    CertError, parse_certificate_file, parse_certmgr_list, summarize,
};
use tokenwatch_agent::inventory::{Certificate, CertificateSource, SourceKind};

/// The shared fixtures folder, or `None` when it is absent and skipping was asked for.
fn fixtures() -> Option<PathBuf> {
    let dir = std::env::var_os("TOKENWATCH_SHARED_FIXTURES").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures"),
        PathBuf::from,
    );
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("TOKENWATCH_NO_SHARED_FIXTURES").as_deref() == Ok("1") {
        eprintln!(
            "SKIPPED: shared fixtures not found at {} (TOKENWATCH_NO_SHARED_FIXTURES=1)",
            dir.display()
        );
        return None;
    }
    panic!(
        "shared fixtures not found at {}: these real-world tests need the shared/ folder beside \
         the repository (set TOKENWATCH_NO_SHARED_FIXTURES=1 to skip them knowingly)",
        dir.display()
    );
}

fn load(name: &str) -> Option<Result<Vec<Certificate>, CertError>> {
    let path = fixtures()?.join("certs").join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Some(parse_certificate_file(&bytes).and_then(|ders| {
        ders.iter()
            .map(|der| {
                summarize(
                    der,
                    CertificateSource {
                        kind: SourceKind::File,
                        location: path.display().to_string(),
                    },
                )
            })
            .collect()
    }))
}

/// The one certificate in `name`.
fn one(name: &str) -> Option<Certificate> {
    let mut certs = load(name)?.unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(certs.len(), 1, "{name}");
    certs.pop()
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339()
}

#[test]
fn cryptopro_test_root_with_russian_attributes() {
    let Some(cert) = one("root2012.cer") else {
        return;
    };
    assert_eq!(cert.sha1, "927c1e1eb2b397cbc5d11712e2e3bbedc876bd7e");
    assert_eq!(
        cert.sha256,
        "150f14dd8966f708996536069681fd604973e38d149f9fd6751113dc73555e1a"
    );
    assert_eq!(cert.serial, "3B208AE5FD46688649A050FAAFA88393");
    assert_eq!(
        cert.subject,
        "OGRN=1234567890123, INN=001234567890, STREET=ул. Сущёвский вал д. 18, C=RU, \
         S=г. Москва, L=Москва, O=\"ООО \"\"КРИПТО-ПРО\"\"\", \
         CN=\"Тестовый УЦ ООО \"\"КРИПТО-ПРО\"\"\""
    );
    assert_eq!(cert.issuer, cert.subject);
    assert_eq!(
        cert.subject_cn.as_deref(),
        Some("Тестовый УЦ ООО \"КРИПТО-ПРО\"")
    );
    assert_eq!(cert.organization.as_deref(), Some("ООО \"КРИПТО-ПРО\""));
    assert_eq!(cert.ogrn.as_deref(), Some("1234567890123"));
    assert_eq!(cert.inn.as_deref(), Some("001234567890"));
    assert_eq!(rfc3339(cert.not_before), "2018-09-12T10:19:30+00:00");
    assert_eq!(rfc3339(cert.not_after), "2023-09-12T10:28:55+00:00");
    assert_eq!(
        cert.signature_algorithm,
        "GOST R 34.11-2012 256 with GOST R 34.10-2012 256"
    );
    assert_eq!(cert.public_key_algorithm, "GOST R 34.10-2012 256");
    assert!(cert.qualified);
    assert_eq!(
        cert.subject_sign_tool.as_deref(),
        Some("\"КриптоПро CSP\" (версия 4.0)")
    );
    assert!(cert.is_ca);
    assert!(cert.self_signed);
    assert_eq!(
        cert.key_usage,
        ["digitalSignature", "keyCertSign", "cRLSign"]
    );
    assert_eq!(
        cert.subject_key_id.as_deref(),
        Some("9b855efb81dc4d59075163cfbedfda2c7fc9443c")
    );
    assert_eq!(cert.authority_key_id, None);
    assert_eq!(cert.private_key_not_after, None);
}

#[test]
fn test_ca_in_pem() {
    let Some(cert) = one("cacert2012.cer") else {
        return;
    };
    assert_eq!(cert.sha1, "b25fe48d5014519868e6496979e82b1702a2883a");
    assert_eq!(cert.serial, "FD5F3F8FBBC746F5");
    assert_eq!(cert.subject, "C=RU, S=RME, L=Y-Ola, O=CT, CN=CA2012-256");
    assert_eq!(cert.subject_cn.as_deref(), Some("CA2012-256"));
    assert_eq!(rfc3339(cert.not_before), "2019-09-04T13:14:07+00:00");
    assert_eq!(rfc3339(cert.not_after), "2029-09-01T13:14:07+00:00");
    assert_eq!(cert.public_key_algorithm, "GOST R 34.10-2012 256");
    assert!(cert.is_ca && cert.self_signed && !cert.qualified);
    assert_eq!(
        cert.subject_key_id.as_deref(),
        Some("05fb968c0c5495494509740daad55e33425cf300")
    );
    assert_eq!(cert.authority_key_id, cert.subject_key_id);
}

#[test]
fn self_signed_2001_version_1_certificate() {
    let Some(cert) = one("certificate2001.cer") else {
        return;
    };
    assert_eq!(cert.sha1, "1135423af7b90c135890c93a67729f7a7350df3d");
    assert_eq!(cert.serial, "F41696F71D5693F7");
    assert_eq!(cert.subject_cn.as_deref(), Some("certificate2001"));
    assert_eq!(
        cert.organization.as_deref(),
        Some("Internet Widgits Pty Ltd")
    );
    assert_eq!(rfc3339(cert.not_before), "2020-05-27T05:03:08+00:00");
    assert_eq!(rfc3339(cert.not_after), "2021-05-27T05:03:08+00:00");
    assert_eq!(
        cert.signature_algorithm,
        "GOST R 34.11-94 with GOST R 34.10-2001"
    );
    assert_eq!(cert.public_key_algorithm, "GOST R 34.10-2001");
    assert!(cert.self_signed && !cert.is_ca && !cert.qualified);
    assert!(cert.key_usage.is_empty() && cert.extended_key_usage.is_empty());
}

#[test]
fn gost_2012_certificates_with_sign_tool() {
    let Some(cert) = one("certificate2012-256.cer") else {
        return;
    };
    assert_eq!(cert.sha1, "4622f7f67395dca858744d967d706b7678b92d52");
    // A negative serial (OpenSSL shows -0x7BEF7C7EDDE96B70) is kept as stored.
    assert_eq!(cert.serial, "8410838122169490");
    assert_eq!(cert.subject, "CN=\" certificate2012-256\"");
    assert_eq!(cert.subject_cn.as_deref(), Some("certificate2012-256"));
    assert_eq!(rfc3339(cert.not_before), "2020-05-26T13:23:38+00:00");
    assert_eq!(rfc3339(cert.not_after), "2021-05-26T13:23:38+00:00");
    assert_eq!(cert.public_key_algorithm, "GOST R 34.10-2012 256");
    assert!(cert.qualified);
    assert_eq!(
        cert.subject_sign_tool.as_deref(),
        Some("КриптоПро CSP (версия 5.0)")
    );
    assert_eq!(
        cert.key_usage,
        [
            "digitalSignature",
            "nonRepudiation",
            "keyEncipherment",
            "dataEncipherment",
            "keyCertSign"
        ]
    );
    assert_eq!(cert.extended_key_usage, ["clientAuth", "emailProtection"]);

    // Despite its name this one holds a 256-bit key: the OID says so, and so does OpenSSL.
    let Some(cert) = one("certificate2012-512.cer") else {
        return;
    };
    assert_eq!(cert.sha1, "a7fd617f11084cf09e0c6863ab6355d0a3008348");
    assert_eq!(cert.serial, "335838");
    assert_eq!(cert.subject_cn.as_deref(), Some("certificate2012-512"));
    assert_eq!(rfc3339(cert.not_after), "2021-05-26T13:38:52+00:00");
    assert_eq!(cert.public_key_algorithm, "GOST R 34.10-2012 256");
    assert_eq!(
        cert.signature_algorithm,
        "GOST R 34.11-2012 256 with GOST R 34.10-2012 256"
    );
}

#[test]
fn broken_files_and_a_crl_give_clear_errors() {
    let Some(empty) = load("empty.cer") else {
        return;
    };
    assert_eq!(empty.unwrap_err(), CertError::Empty);
    let Some(crl) = load("crl2012.crl") else {
        return;
    };
    assert_eq!(
        crl.unwrap_err().to_string(),
        "holds a certificate revocation list (CRL), not a certificate"
    );
    let Some(invalid) = load("invalid_cert_file.cer") else {
        return;
    };
    let message = invalid.unwrap_err().to_string();
    // Its Base64 was cut mid-line: the block is named and so is the damage.
    assert_eq!(
        message,
        "PEM block 1 (CERTIFICATE): invalid Base64: the data ends mid-character (truncated?)"
    );
}

#[test]
fn certmgr_listing_in_russian() {
    let Some(dir) = fixtures() else { return };
    let text = std::fs::read_to_string(dir.join("cli-output/certmgr-list-ru.txt")).expect("read");
    let entries = parse_certmgr_list(&text).expect("parses");
    assert_eq!(entries.len(), 2);
    let first = &entries[0];
    assert_eq!(first.issuer.as_deref(), Some("Я издатель"));
    assert_eq!(first.subject.as_deref(), Some("Информация о субъекте"));
    assert_eq!(
        first.serial.as_deref(),
        Some("1111111111111111111111111111111111111")
    );
    assert_eq!(
        first.sha1.as_deref(),
        Some("111111111111111111111111111111111111111")
    );
    assert_eq!(
        first.not_before.map(rfc3339).as_deref(),
        Some("2022-05-12T10:42:00+00:00")
    );
    assert_eq!(
        first.not_after.map(rfc3339).as_deref(),
        Some("2023-03-19T10:42:00+00:00")
    );
    assert_eq!(first.private_key_link, Some(true));
    assert_eq!(
        first.container.as_deref(),
        Some("HDIMAGE\\\\secret.000\\9E7A")
    );
    assert_eq!(
        first.provider.as_deref(),
        Some("Crypto-Pro GOST R 34.10-2012 KC1 CSP")
    );
    assert_eq!(
        first.extended_key_usage,
        ["1.3.6.1.5.5.7.3.2 Проверка подлинности клиента"]
    );
    let second = &entries[1];
    assert_eq!(second.issuer.as_deref(), Some("Я 2 издатель"));
    assert_eq!(
        second.sha1.as_deref(),
        Some("2222222222222222222222223333333333333333")
    );
    assert_eq!(
        second.not_after.map(rfc3339).as_deref(),
        Some("2022-06-25T04:07:13+00:00")
    );
    assert_eq!(
        second.container.as_deref(),
        Some("HDIMAGE\\\\trololo.000\\2C90")
    );

    let cert = second.to_certificate("uMy").expect("maps");
    assert_eq!(cert.sha256, "sha1:2222222222222222222222223333333333333333");
    assert_eq!(cert.serial, "1231231231231231231321231231231231231231");
    assert_eq!(cert.subject, "Информация о 2 субъекте");
    assert_eq!(cert.subject_cn, None);
    assert_eq!(
        cert.signature_algorithm,
        "GOST R 34.11-2012 256 with GOST R 34.10-2012 256"
    );
    assert_eq!(cert.public_key_algorithm, "GOST R 34.10-2012 256");
    // "jjjj…" is not a key identifier: dropped rather than used for issuer matching.
    assert_eq!(cert.subject_key_id, None);
    assert_eq!(cert.sources[0].kind, SourceKind::CryptoproStore);
    assert_eq!(
        cert.sources[0].location,
        "uMy (container HDIMAGE\\\\trololo.000\\2C90)"
    );
}

#[test]
fn certmgr_empty_store_in_russian() {
    let Some(dir) = fixtures() else { return };
    let text =
        std::fs::read_to_string(dir.join("cli-output/certmgr-list-empty-ru.txt")).expect("read");
    assert_eq!(parse_certmgr_list(&text), Ok(Vec::new()));
}
