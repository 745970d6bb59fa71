use super::*;
use crate::inventory::SourceKind;

const PERSON: &[u8] = include_bytes!("../testdata/person-2012-256.der");
const CA: &[u8] = include_bytes!("../testdata/ca-2012-512.der");
const SELF_2001: &[u8] = include_bytes!("../testdata/self-2001.der");

fn source() -> CertificateSource {
    CertificateSource {
        kind: SourceKind::File,
        location: "/tmp/x.cer".to_owned(),
    }
}

#[test]
fn qualified_person_certificate_is_summarised_completely() {
    let cert = summarize(PERSON, source()).unwrap();
    assert_eq!(cert.sha1, "b100d3d45eab100f6e118379a0cdbfcdb2e52d99");
    assert_eq!(
        cert.sha256,
        "4d2d2efecb8011a89fd2a22e4379b4a746d293e915e42763e6d9bf9e090aed6c"
    );
    assert_eq!(cert.serial, "1001");
    assert_eq!(
        cert.subject,
        "C=RU, L=Москва, O=\"ООО \"\"Ромашка\"\"\", CN=Иванов Иван Иванович, \
         E=ivanov@example.ru, INN=770708389301, INNLE=7707083893, OGRN=1027700132195, \
         SNILS=12345678901"
    );
    assert_eq!(
        cert.issuer,
        "C=RU, L=Москва, O=Тестовый УЦ, CN=Тестовый УЦ, INNLE=7707083893, OGRN=1027700132195"
    );
    assert_eq!(cert.subject_cn.as_deref(), Some("Иванов Иван Иванович"));
    assert_eq!(cert.issuer_cn.as_deref(), Some("Тестовый УЦ"));
    assert_eq!(cert.organization.as_deref(), Some("ООО \"Ромашка\""));
    assert_eq!(cert.email.as_deref(), Some("ivanov@example.ru"));
    assert_eq!(cert.inn.as_deref(), Some("770708389301"));
    assert_eq!(cert.inn_le.as_deref(), Some("7707083893"));
    assert_eq!(cert.ogrn.as_deref(), Some("1027700132195"));
    assert_eq!(cert.ogrnip, None);
    assert_eq!(cert.snils.as_deref(), Some("12345678901"));
    assert_eq!(cert.not_before.to_rfc3339(), "2025-01-01T00:00:00+00:00");
    assert_eq!(cert.not_after.to_rfc3339(), "2026-04-01T00:00:00+00:00");
    assert_eq!(
        cert.private_key_not_before
            .map(|t| t.to_rfc3339())
            .as_deref(),
        Some("2025-01-01T00:00:00+00:00")
    );
    assert_eq!(
        cert.private_key_not_after
            .map(|t| t.to_rfc3339())
            .as_deref(),
        Some("2026-03-01T00:00:00+00:00")
    );
    assert_eq!(
        cert.key_usage,
        [
            "digitalSignature",
            "nonRepudiation",
            "keyEncipherment",
            "keyAgreement"
        ]
    );
    assert_eq!(cert.extended_key_usage, ["clientAuth", "emailProtection"]);
    assert_eq!(
        cert.signature_algorithm,
        "GOST R 34.11-2012 512 with GOST R 34.10-2012 512"
    );
    assert_eq!(cert.public_key_algorithm, "GOST R 34.10-2012 256");
    assert!(cert.qualified);
    assert_eq!(
        cert.subject_sign_tool.as_deref(),
        Some("СКЗИ КриптоПро CSP (версия 5.0)")
    );
    assert!(!cert.is_ca);
    assert!(!cert.self_signed);
    assert_eq!(cert.issuer_present, None);
    assert_eq!(
        cert.subject_key_id.as_deref(),
        Some("c519c65f997e9d1ba20afc993911fe7cc9ed4900")
    );
    assert_eq!(
        cert.authority_key_id.as_deref(),
        Some("20318a898b058187fa2b610dd5cdfc5e918080bf")
    );
    assert_eq!(cert.sources, [source()]);
    assert_eq!(cert.der, PERSON);
}

#[test]
fn ca_and_self_signed_2001_certificates() {
    let ca = summarize(CA, source()).unwrap();
    assert!(ca.is_ca);
    assert!(ca.self_signed);
    assert!(!ca.qualified);
    assert_eq!(ca.key_usage, ["digitalSignature", "keyCertSign", "cRLSign"]);
    assert_eq!(ca.public_key_algorithm, "GOST R 34.10-2012 512");
    assert_eq!(
        ca.subject_key_id,
        summarize(PERSON, source()).unwrap().authority_key_id
    );
    assert_eq!(ca.subject, summarize(PERSON, source()).unwrap().issuer);

    let own = summarize(SELF_2001, source()).unwrap();
    assert_eq!(own.sha1, "54560d5865e8adee84e1bc203de1ecabd9a8f53b");
    assert_eq!(
        own.signature_algorithm,
        "GOST R 34.11-94 with GOST R 34.10-2001"
    );
    assert_eq!(own.public_key_algorithm, "GOST R 34.10-2001");
    assert_eq!(own.ogrnip.as_deref(), Some("304500116000157"));
    assert_eq!(own.subject_cn.as_deref(), Some("Петров Пётр"));
    assert!(own.self_signed);
    assert!(!own.qualified);
    assert_eq!(own.private_key_not_after, None);
}

#[test]
fn bad_input_gives_typed_errors() {
    assert_eq!(summarize(&[], source()).unwrap_err(), CertError::Empty);
    assert!(matches!(
        summarize(&PERSON[..50], source()),
        Err(CertError::Der(_))
    ));
    let mut trailing = PERSON.to_vec();
    trailing.push(0);
    assert_eq!(
        summarize(&trailing, source()).unwrap_err(),
        CertError::TrailingData(1)
    );
    for len in 0..PERSON.len() {
        assert!(summarize(&PERSON[..len], source()).is_err(), "length {len}");
    }
}

#[test]
fn serial_drops_only_sign_padding() {
    assert_eq!(serial_hex(&[0x00, 0xFD, 0x5F]), "FD5F");
    assert_eq!(serial_hex(&[0x00, 0x12]), "0012");
    assert_eq!(serial_hex(&[0x84, 0x10]), "8410");
    assert_eq!(serial_hex(&[0x00]), "00");
    assert_eq!(serial_hex(&[]), "00");
}

#[test]
fn modulus_bits() {
    assert_eq!(significant_bits(&[0x00, 0x80, 0x00]), 16);
    assert_eq!(significant_bits(&[0x01, 0x00]), 9);
    assert_eq!(significant_bits(&[0x00]), 0);
}
