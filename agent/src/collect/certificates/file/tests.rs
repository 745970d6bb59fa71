use super::*;

const PERSON: &[u8] = include_bytes!("../testdata/person-2012-256.der");
const CA: &[u8] = include_bytes!("../testdata/ca-2012-512.der");
const CHAIN_P7B: &[u8] = include_bytes!("../testdata/chain.p7b");

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = data_encoding::BASE64.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|l| std::str::from_utf8(l).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

#[test]
fn der_file_is_one_certificate() {
    assert_eq!(
        parse_certificate_file(PERSON).unwrap(),
        vec![PERSON.to_vec()]
    );
    let mut padded = PERSON.to_vec();
    padded.extend_from_slice(b"\r\n\0");
    assert_eq!(
        parse_certificate_file(&padded).unwrap(),
        vec![PERSON.to_vec()]
    );
}

#[test]
fn pem_bundle_keeps_order_and_skips_other_blocks() {
    let text = format!(
        "subject=CN = Иванов\n{}{}{}{}",
        pem("PRIVATE KEY", b"not a key at all"),
        pem("CERTIFICATE", PERSON),
        pem("X509 CRL", b"crl"),
        pem("CERTIFICATE", CA)
    );
    let certs = parse_certificate_file(text.as_bytes()).unwrap();
    assert_eq!(certs, vec![PERSON.to_vec(), CA.to_vec()]);
    let crlf = text.replace('\n', "\r\n");
    assert_eq!(parse_certificate_file(crlf.as_bytes()).unwrap().len(), 2);
    let bom = format!("\u{FEFF}{}", pem("CERTIFICATE", CA));
    assert_eq!(
        parse_certificate_file(bom.as_bytes()).unwrap(),
        vec![CA.to_vec()]
    );
}

#[test]
fn base64_without_armour_and_pkcs7_bundles() {
    let text = pem("CERTIFICATE", CA);
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(
        parse_certificate_file(body.as_bytes()).unwrap(),
        vec![CA.to_vec()]
    );
    assert_eq!(
        parse_certificate_file(CHAIN_P7B).unwrap(),
        vec![PERSON.to_vec(), CA.to_vec()]
    );
    let armoured = pem("PKCS7", CHAIN_P7B);
    assert_eq!(
        parse_certificate_file(armoured.as_bytes()).unwrap().len(),
        2
    );
}

#[test]
fn files_without_certificates_say_what_they_hold() {
    assert_eq!(parse_certificate_file(b""), Err(CertError::Empty));
    assert_eq!(parse_certificate_file(b" \r\n\t\0"), Err(CertError::Empty));
    let only_key = pem("PRIVATE KEY", b"k");
    assert_eq!(
        parse_certificate_file(only_key.as_bytes())
            .unwrap_err()
            .to_string(),
        "holds only PEM blocks of other kinds (PRIVATE KEY), not a certificate"
    );
    assert_eq!(
        parse_certificate_file(b"MZ\x90\x00\x03\x00\x00\x00\x04")
            .unwrap_err()
            .to_string(),
        "neither DER, PEM nor Base64 (starts with 4D 5A 90 00 03 00 00 00)"
    );
    let big = vec![b'A'; 1024 * 1024 + 1];
    assert_eq!(
        parse_certificate_file(&big),
        Err(CertError::TooLarge {
            size: 1024 * 1024 + 1,
            limit: MAX_FILE_SIZE
        })
    );
}

#[test]
fn damaged_certificates_fail_with_a_reason() {
    let truncated = &PERSON[..PERSON.len() - 10];
    assert!(matches!(
        parse_certificate_file(truncated),
        Err(CertError::Der(_))
    ));
    let mut trailing = PERSON.to_vec();
    trailing.extend_from_slice(b"garbage");
    assert_eq!(
        parse_certificate_file(&trailing),
        Err(CertError::TrailingData(7))
    );
    let bad_block = format!(
        "{}{}",
        pem("CERTIFICATE", CA),
        pem("CERTIFICATE", &PERSON[..100])
    );
    let error = parse_certificate_file(bad_block.as_bytes()).unwrap_err();
    assert!(
        matches!(&error, CertError::Pem { index: 2, label, .. } if label == "CERTIFICATE"),
        "{error}"
    );
    let unterminated = pem("CERTIFICATE", CA).replace("-----END CERTIFICATE-----", "");
    assert!(
        parse_certificate_file(unterminated.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("no matching \"-----END CERTIFICATE-----\"")
    );
}

#[test]
fn every_truncation_of_a_certificate_is_an_error_not_a_panic() {
    for len in 0..PERSON.len() {
        assert!(
            parse_certificate_file(&PERSON[..len]).is_err(),
            "length {len}"
        );
    }
    for len in 0..CHAIN_P7B.len() {
        let _ = parse_certificate_file(&CHAIN_P7B[..len]);
    }
}
