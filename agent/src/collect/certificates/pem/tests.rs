use super::*;

#[test]
fn base64_round_trips_known_vectors() {
    assert_eq!(decode_base64("TWFu").unwrap(), b"Man");
    assert_eq!(decode_base64("TWE=").unwrap(), b"Ma");
    assert_eq!(decode_base64("TQ==").unwrap(), b"M");
    assert_eq!(decode_base64("TQ").unwrap(), b"M");
    assert_eq!(decode_base64("TW\r\nFu\n").unwrap(), b"Man");
    assert_eq!(
        decode_base64("MIIB+/8=").unwrap(),
        [0x30, 0x82, 0x01, 0xFB, 0xFF]
    );
}

#[test]
fn base64_errors_say_why() {
    assert!(decode_base64("TWF").is_ok());
    assert!(
        decode_base64("TWFuT")
            .unwrap_err()
            .contains("ends mid-character")
    );
    assert!(decode_base64("TW*u").unwrap_err().contains("'*'"));
    assert!(
        decode_base64("TQ==TQ")
            .unwrap_err()
            .contains("after padding")
    );
    assert!(decode_base64("").unwrap_err().contains("no Base64"));
}

#[test]
fn blocks_are_found_with_labels_and_surrounding_text_ignored() {
    let text = "Bag Attributes\n    friendlyName: Иванов\nsubject=CN = x\n\
                -----BEGIN CERTIFICATE-----\nTWFu\n-----END CERTIFICATE-----\n\
                junk\n-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
                DEK-Info: DES-EDE3-CBC,00\n\nTWE=\n-----END RSA PRIVATE KEY-----\n\
                -----BEGIN X509 CRL-----\nTQ==\n";
    let found = blocks(text);
    assert_eq!(found.len(), 3);
    assert_eq!(found[0].label, "CERTIFICATE");
    assert_eq!(found[0].contents.as_deref(), Ok(&b"Man"[..]));
    assert_eq!(found[1].label, "RSA PRIVATE KEY");
    assert_eq!(found[1].contents.as_deref(), Ok(&b"Ma"[..]));
    assert_eq!(found[2].index, 3);
    assert!(
        found[2]
            .contents
            .as_ref()
            .unwrap_err()
            .contains("no matching")
    );
}

#[test]
fn base64_without_armour_is_recognised() {
    assert!(looks_like_base64(b"MIIB6zCCAZagAwIBAgIJ\nAP4M5JfbZ4OJ\n"));
    assert!(!looks_like_base64(b"MIIB"));
    assert!(!looks_like_base64(b"-----BEGIN CERTIFICATE-----"));
    assert!(!looks_like_base64(&[0x30, 0x82, 0x01]));
}
