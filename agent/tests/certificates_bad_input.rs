//! Hostile and broken input: the summary, the file loader and the certmgr parser return errors,
//! never panic.
// Unix only: OpenSSL's gost engine issues the certificates, and the Windows tests under Wine
// cannot run it.
#![cfg(unix)]

use proptest::prelude::*;
use tokenwatch_agent::collect::certificates::{
    CertError, MAX_FILE_SIZE, parse_certificate_file, parse_certmgr_list, summarize,
};
use tokenwatch_agent::inventory::{CertificateSource, SourceKind};

/// A qualified GOST 2012-256 certificate issued by the test factory (with every extension the
/// summary decodes by hand), and its CA (2012-512).
const PERSON: &[u8] = include_bytes!("../src/collect/certificates/testdata/person-2012-256.der");
const CA: &[u8] = include_bytes!("../src/collect/certificates/testdata/ca-2012-512.der");
const CHAIN_P7B: &[u8] = include_bytes!("../src/collect/certificates/testdata/chain.p7b");

fn source() -> CertificateSource {
    CertificateSource {
        kind: SourceKind::File,
        location: "fuzz".to_owned(),
    }
}

/// Both entry points on `bytes`; whatever they return, they return.
fn exercise(bytes: &[u8]) {
    let _ = summarize(bytes, source());
    if let Ok(ders) = parse_certificate_file(bytes) {
        for der in ders {
            let _ = summarize(&der, source());
        }
    }
}

fn pem(der: &[u8]) -> Vec<u8> {
    let text = std::process::Command::new("openssl")
        .args(["base64", "-e"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().expect("stdin").write_all(der)?;
            child.wait_with_output()
        })
        .expect("openssl base64");
    let mut out = b"-----BEGIN CERTIFICATE-----\n".to_vec();
    out.extend(text.stdout);
    out.extend(b"-----END CERTIFICATE-----\n");
    out
}

/// The person and CA certificates as one PEM bundle, made once.
fn pem_bundle() -> &'static [u8] {
    static BUNDLE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BUNDLE.get_or_init(|| [pem(PERSON), pem(CA)].concat())
}

#[test]
fn every_truncation_of_a_real_certificate_is_an_error() {
    for len in 0..PERSON.len() {
        let cut = &PERSON[..len];
        assert!(summarize(cut, source()).is_err(), "summarize at {len}");
        assert!(parse_certificate_file(cut).is_err(), "file at {len}");
    }
    let armoured = pem(PERSON);
    assert_eq!(parse_certificate_file(&armoured), Ok(vec![PERSON.to_vec()]));
    for len in 0..armoured.len() {
        // Cut PEM either fails or, cut inside the END line, still holds the whole certificate.
        match parse_certificate_file(&armoured[..len]) {
            Ok(certs) => assert_eq!(certs, vec![PERSON.to_vec()], "PEM at {len}"),
            Err(error) => assert!(!error.to_string().is_empty()),
        }
    }
}

#[test]
fn empty_random_and_oversized_inputs_are_errors() {
    assert_eq!(summarize(&[], source()), Err(CertError::Empty));
    assert_eq!(parse_certificate_file(&[]), Err(CertError::Empty));
    // A fixed xorshift stream, so a failure reproduces.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for round in 0..2000 {
        let len = (round % 300) + 1;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()[0]
            })
            .collect();
        exercise(&bytes);
        let mut sequence = bytes.clone();
        sequence[0] = 0x30;
        exercise(&sequence);
    }
    let limit = usize::try_from(MAX_FILE_SIZE).expect("fits");
    let mut oversized = PERSON.to_vec();
    oversized.resize(limit + 1, b'\n');
    assert_eq!(
        parse_certificate_file(&oversized),
        Err(CertError::TooLarge {
            size: MAX_FILE_SIZE + 1,
            limit: MAX_FILE_SIZE
        })
    );
}

/// A mutation of real DER: overwrite, insert or delete bytes at chosen places.
#[derive(Clone, Debug)]
enum Edit {
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
}

fn apply(base: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut out = base.to_vec();
    for edit in edits {
        match *edit {
            Edit::Set(at, byte) if !out.is_empty() => {
                let at = at % out.len();
                out[at] = byte;
            }
            Edit::Insert(at, byte) => out.insert(at % (out.len() + 1), byte),
            Edit::Delete(at) if !out.is_empty() => {
                let at = at % out.len();
                out.remove(at);
            }
            _ => {}
        }
    }
    out
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Set(at, b)),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Insert(at, b)),
        1 => any::<usize>().prop_map(Edit::Delete),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        exercise(&bytes);
    }

    #[test]
    fn mutated_real_der_never_panics(
        which in 0..3_usize,
        edits in proptest::collection::vec(edit(), 1..8),
    ) {
        let base = [PERSON, CA, CHAIN_P7B][which];
        let mutated = apply(base, &edits);
        exercise(&mutated);
    }

    #[test]
    fn any_text_as_certmgr_output_never_panics(text in "\\PC{0,400}") {
        if let Ok(entries) = parse_certmgr_list(&text) {
            for entry in entries {
                let _ = entry.to_certificate("uMy");
            }
        }
    }

    #[test]
    fn certmgr_like_lines_never_panic(
        lines in proptest::collection::vec(
            (
                prop_oneof![
                    Just("1-------"), Just("22-------"), Just("Субъект"), Just("Issuer"),
                    Just("SHA1 Hash"), Just("Выдан"), Just("Not valid after"),
                    Just("Контейнер"), Just("Назначение/EKU"), Just("   "), Just("[ErrorCode"),
                    Just("====="),
                ],
                "[ 0-9A-Za-zА-я:/.,=\"x\\]]{0,40}",
            ),
            0..30,
        )
    ) {
        let text: String = lines
            .iter()
            .map(|(label, value)| format!("{label} : {value}\n"))
            .collect();
        if let Ok(entries) = parse_certmgr_list(&text) {
            for entry in entries {
                let _ = entry.to_certificate("mRoot");
            }
        }
    }

    #[test]
    fn mutated_pem_bundle_never_panics(
        edits in proptest::collection::vec(edit(), 1..8),
    ) {
        exercise(&apply(pem_bundle(), &edits));
    }
}
