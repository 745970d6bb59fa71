//! The container file parsers on hostile input: they return an error with a reason and never
//! panic, whatever the bytes.

mod support;

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use support::containers::{self as build, HeaderSpec, KeyAlgorithm, KeyPeriod, NameEncoding};
use tokenwatch_agent::collect::containers::{
    FormatError, MAX_HEADER_FILE, MAX_KEY_FILE, MAX_NAME_FILE, check_masks, check_primary,
    parse_header, parse_name,
};

type Parser = fn(&[u8]) -> Result<(), FormatError>;

fn header(bytes: &[u8]) -> Result<(), FormatError> {
    parse_header(bytes).map(|_| ())
}

fn name(bytes: &[u8]) -> Result<(), FormatError> {
    parse_name(bytes).map(|_| ())
}

const PARSERS: [(&str, Parser, usize); 4] = [
    ("header", header, MAX_HEADER_FILE),
    ("name", name, MAX_NAME_FILE),
    ("primary", check_primary, MAX_KEY_FILE),
    ("masks", check_masks, MAX_KEY_FILE),
];

/// A header as built for the collector tests, with an embedded certificate-sized blob and
/// key periods, so every branch of the parser has something to chew on.
fn built_header() -> Vec<u8> {
    let mut spec = HeaderSpec::new(KeyAlgorithm::Gost2012_256, true);
    spec.certificate = Some(build::tlv(0x30, &[0x5a; 600]));
    spec.periods = vec![KeyPeriod {
        oid: build::SIGNATURE_PERIOD,
        not_before: Some("20250101000000Z".into()),
        not_after: Some("20260101000000Z".into()),
    }];
    build::header_key(&spec)
}

fn real_dir() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/containers");
    if path.is_dir() {
        return Some(path);
    }
    assert!(
        std::env::var("TOKENWATCH_NO_SHARED_FIXTURES").as_deref() == Ok("1"),
        "shared fixtures not found at {}: put shared/ beside the repository, or set \
         TOKENWATCH_NO_SHARED_FIXTURES=1",
        path.display()
    );
    None
}

/// Every real file of `kind` (`header.key`, …) among the shared fixtures.
fn real_files(file: &str) -> Vec<Vec<u8>> {
    let Some(dir) = real_dir() else {
        return Vec::new();
    };
    [
        "dbfun-cosign/e4ac4ef8.000",
        "dbfun-no-pin/le-22951.000",
        "dbfun-pin/le-09650.000",
    ]
    .iter()
    .map(|c| std::fs::read(dir.join(c).join(file)).expect("fixture file"))
    .collect()
}

#[test]
fn empty_input_is_reported_as_empty() {
    for (what, parse, _) in PARSERS {
        assert_eq!(parse(&[]), Err(FormatError::Empty), "{what}");
    }
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    for (what, parse, limit) in PARSERS {
        let mut bytes = build::tlv(0x30, &vec![0x04; limit]);
        bytes.truncate(limit + 1);
        assert!(
            matches!(parse(&bytes), Err(FormatError::TooLarge { size, .. }) if size == limit + 1),
            "{what}"
        );
    }
}

#[test]
fn random_bytes_are_an_error() {
    for length in [1, 2, 3, 36, 56, 110, 1033, 5000] {
        for (what, parse, _) in PARSERS {
            let mut bytes = build::random_bytes(length);
            // A random first byte could be a SEQUENCE tag; 0xff never starts a valid file.
            bytes[0] = 0xff;
            assert!(
                parse(&bytes).is_err(),
                "{what} accepted {length} random bytes"
            );
        }
    }
}

#[test]
fn every_truncation_of_a_real_header_is_an_error() {
    let mut headers = real_files("header.key");
    headers.push(built_header());
    for full in &headers {
        assert!(parse_header(full).is_ok());
        for cut in 0..full.len() {
            assert!(
                parse_header(&full[..cut]).is_err(),
                "accepted {cut} of {} bytes",
                full.len()
            );
        }
    }
}

#[test]
fn every_truncation_of_real_name_and_key_files_is_an_error() {
    for (file, parse) in [
        ("name.key", name as Parser),
        ("primary.key", check_primary),
        ("primary2.key", check_primary),
        ("masks.key", check_masks),
        ("masks2.key", check_masks),
    ] {
        for full in real_files(file) {
            assert!(parse(&full).is_ok(), "{file}");
            for cut in 0..full.len() {
                assert!(parse(&full[..cut]).is_err(), "{file} cut at {cut}");
            }
        }
    }
}

#[test]
fn bytes_after_the_structure_are_an_error() {
    let mut bytes = built_header();
    bytes.push(0);
    assert_eq!(parse_header(&bytes), Err(FormatError::TrailingBytes(1)));
    let mut bytes = build::name_key("x", NameEncoding::Utf8);
    bytes.extend([0x04, 0x00]);
    assert_eq!(parse_name(&bytes), Err(FormatError::TrailingBytes(2)));
}

#[test]
fn a_header_of_the_wrong_file_is_an_error_with_a_reason() {
    let masks = build::masks_key(32);
    let error = parse_header(&masks).expect_err("masks is not a header");
    assert!(error.to_string().contains("expected"), "{error}");
    assert!(check_primary(&masks).is_err());
    assert!(check_masks(&build::primary_key(32)).is_err());
    assert!(parse_name(&build::primary_key(32)).is_err());
}

fn mutated(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let length = base.len();
    prop::collection::vec((0..length, any::<u8>()), 1..8).prop_map(move |edits| {
        let mut bytes = base.clone();
        for (index, value) in edits {
            bytes[index] = value;
        }
        bytes
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        for (_, parse, _) in PARSERS {
            let _ = parse(&bytes);
        }
    }

    #[test]
    fn parsers_never_panic_on_der_like_bytes(
        tag in prop::sample::select(vec![0x30_u8, 0x04, 0x16, 0xa0, 0xac, 0x85]),
        body in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let bytes = build::tlv(tag, &body);
        for (_, parse, _) in PARSERS {
            let _ = parse(&bytes);
        }
    }

    #[test]
    fn header_parser_never_panics_on_mutated_headers(bytes in mutated(built_header())) {
        let _ = parse_header(&bytes);
    }

    #[test]
    fn name_parser_never_panics_on_mutated_names(
        bytes in mutated(build::name_key("Иванов Иван", NameEncoding::Cp1251)),
    ) {
        let _ = parse_name(&bytes);
    }
}

#[test]
fn header_parser_never_panics_on_mutated_real_headers() {
    let headers = real_files("header.key");
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(2000));
    for real in headers {
        runner
            .run(&mutated(real), |bytes| {
                let _ = parse_header(&bytes);
                Ok(())
            })
            .expect("no panic");
    }
}
