//! The seed inputs of each target, made the way the agent's own tests make their fixtures
//! (container files encoded as CryptoPro writes them, GOST certificates from OpenSSL's gost
//! engine): each must be read as what it is, and pass its target's checks. With
//! `TOKENWATCH_FUZZ_SEEDS=write` they are also written to `fuzz/corpus/<target>/seed-*`, where
//! fuzzing starts from them.

#[path = "../../agent/tests/support/containers.rs"]
#[allow(dead_code, unreachable_pub)]
mod containers;
#[path = "../../agent/tests/support/gost.rs"]
#[allow(dead_code, unreachable_pub)]
mod gost;

use std::path::Path;

use containers::{HeaderSpec, KeyAlgorithm, KeyPeriod, NameEncoding};
use prost::Message;
use tokenwatch_agent::collect::certificates::{parse_certmgr_list, summarize_file_bytes};
use tokenwatch_agent::collect::containers::{parse_header, parse_name};
use tokenwatch_agent::uplink::convert;
use tokenwatch_inventory::sample;
use tokenwatch_proto::v1;

/// What separates strings in the CSV and HTML targets' inputs.
const SPLIT: &str = "\u{1f}";

struct Seeds(Vec<(&'static str, String, Vec<u8>)>);

impl Seeds {
    fn add(&mut self, target: &'static str, label: &str, data: Vec<u8>) {
        self.0.push((target, label.to_owned(), data));
    }
}

#[test]
fn seeds_are_read_as_what_they_are_and_pass_their_checks() {
    assert!(
        gost::available(),
        "openssl with the gost engine (scripts/install-deps)"
    );
    let work = tempfile::tempdir().expect("a temporary folder");
    let mut seeds = Seeds(Vec::new());
    let person = gost::issue(
        work.path(),
        &gost::Spec::person("Иванов Иван Иванович", "20250101000000Z", "20270101000000Z"),
        None,
    );
    let ca = gost::issue(
        work.path(),
        &gost::Spec::ca("Тестовый УЦ", "20200101000000Z", "99991231235959Z"),
        None,
    );

    certificates(&mut seeds, &person, &ca);
    headers(&mut seeds, &person);
    names(&mut seeds);
    certmgr(&mut seeds);
    report(&mut seeds, &person, &ca);
    strings(&mut seeds);

    for (target, label, data) in &seeds.0 {
        let (_, check) = tokenwatch_fuzz::TARGETS
            .iter()
            .find(|(name, _)| name == target)
            .expect("a target");
        check(data);
        if std::env::var("TOKENWATCH_FUZZ_SEEDS").as_deref() == Ok("write") {
            let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("corpus")
                .join(target);
            std::fs::create_dir_all(&folder).expect("the corpus folder");
            std::fs::write(folder.join(format!("seed-{label}")), data).expect("a seed");
        }
    }
}

fn certificates(seeds: &mut Seeds, person: &gost::Issued, ca: &gost::Issued) {
    let pem = std::fs::read(&person.cert_pem).expect("the PEM");
    for (label, bytes) in [
        ("person.der", &person.der),
        ("person.pem", &pem),
        ("ca.der", &ca.der),
    ] {
        let read = summarize_file_bytes(bytes, label).expect("a certificate file");
        let certificate = read[0].as_ref().expect("summarised");
        assert!(
            certificate.subject.contains("Иван") || certificate.is_ca,
            "{certificate:?}"
        );
        seeds.add("certificate", label, bytes.clone());
    }
    // RFC 5280's "does not expire": the end of time a report can carry.
    let ca_read = summarize_file_bytes(&ca.der, "ca").expect("read");
    let end = ca_read[0].as_ref().expect("summarised").not_after;
    assert_eq!(end.format("%Y-%m-%d").to_string(), "9999-12-31");
}

fn headers(seeds: &mut Seeds, person: &gost::Issued) {
    let mut with_certificate = HeaderSpec::new(KeyAlgorithm::Gost2012_256, false);
    with_certificate.certificate = Some(person.der.clone());
    with_certificate.periods = vec![KeyPeriod {
        oid: "1.2.643.2.2.37.3.9",
        not_before: Some("20250101000000Z".to_owned()),
        not_after: Some("20260401000000Z".to_owned()),
    }];
    for (label, spec) in [
        ("gost2012-256-certificate", with_certificate),
        (
            "gost2012-512-exportable",
            HeaderSpec::new(KeyAlgorithm::Gost2012_512, true),
        ),
        ("gost2001", HeaderSpec::new(KeyAlgorithm::Gost2001, false)),
    ] {
        let bytes = containers::header_key(&spec);
        let header = parse_header(&bytes).expect("a header");
        assert_eq!(
            header.key_algorithm_oid.as_deref(),
            Some(spec.algorithm.oid())
        );
        assert_eq!(header.primary_certificate, spec.certificate);
        seeds.add("container_header", label, bytes);
    }
}

fn names(seeds: &mut Seeds) {
    for (label, name, encoding) in [
        ("utf8", "le-22951", NameEncoding::Utf8),
        ("cp1251", "Иванов ЭП 2026", NameEncoding::Cp1251),
        ("utf8-cyrillic", "Бухгалтерия", NameEncoding::Utf8),
    ] {
        let bytes = containers::name_key(name, encoding);
        assert_eq!(parse_name(&bytes).expect("a name"), name);
        seeds.add("container_name", label, bytes);
    }
}

fn certmgr(seeds: &mut Seeds) {
    let english = "\
Certmgr Ver:5.0.12455 OS:Linux CPU:AMD64 (c) \"CRYPTO-PRO\", 2007-2023.
=============================================================================
1-------
Issuer              : CN=Тестовый УЦ, OGRN=1027700132195, INN=007707083893
Subject             : SNILS=12345678901, INN=770708389301, O=ООО Ромашка,
                      CN=Иванов Иван Иванович
Serial              : 0x01F2
SHA1 Thumbprint     : 0123456789abcdef0123456789abcdef01234567
Not valid before    : 01/02/2025  10:00:00 UTC
Not valid after     : 01/02/2026  10:00:00 UTC
PrivateKey Link     : Yes
Container           : HDIMAGE\\\\ivanov.000\\1A2B
Extended Key Usage  : 1.3.6.1.5.5.7.3.2
=============================================================================

[ErrorCode: 0x00000000]
";
    let russian = "\
Certmgr 1.1 (c) \"КРИПТО-ПРО\", 2007-2021.
=============================================================================
1-------
Издатель            : CN=Тестовый УЦ
Субъект             : СНИЛС=12345678901, ИНН=770708389301, CN=Петров Пётр
Серийный номер      : 0x1001
SHA1 отпечаток      : abcdef0123456789abcdef0123456789abcdef01
Выдан               : 12/05/2025  10:42:00 UTC
Истекает            : 19/03/2026  10:42:00 UTC
Ссылка на ключ      : Есть
=============================================================================

[ErrorCode: 0x00000000]
";
    let empty = "\
Certmgr 1.1 (c) \"КРИПТО-ПРО\", 2007-2021.
[ErrorCode: 0x8010002c]
";
    for (label, text, count) in [("en", english, 1), ("ru", russian, 1), ("empty", empty, 0)] {
        let entries = parse_certmgr_list(text).expect("a listing");
        assert_eq!(entries.len(), count, "{label}");
        for entry in &entries {
            entry.to_certificate("uMy").expect("a whole entry");
        }
        seeds.add("certmgr", label, text.as_bytes().to_vec());
    }
}

fn report(seeds: &mut Seeds, person: &gost::Issued, ca: &gost::Issued) {
    let summary = |der: &[u8]| {
        summarize_file_bytes(der, "/home/user/cert.cer")
            .expect("read")
            .remove(0)
            .expect("summarised")
    };
    let mut host = sample::inventory();
    host.certificates = vec![summary(&person.der)];
    host.containers = vec![sample::container(
        "ivanov",
        "/var/opt/cprocsp/keys/u/ivanov.000",
    )];
    let mut root = sample::inventory();
    root.certificates = vec![summary(&ca.der)];
    for (label, inventory) in [
        ("host", host),
        ("root", root),
        ("empty", sample::inventory()),
    ] {
        let request = v1::ReportRequest {
            sequence: 1,
            content_hash: vec![7; 32],
            inventory: Some(convert::inventory(&inventory)),
        };
        let bytes = request.encode_to_vec();
        let stored = tokenwatch_server::fuzzing::report(&bytes, sample::now()).expect("taken");
        assert_eq!(stored.certificates.len(), inventory.certificates.len());
        seeds.add("report", label, bytes);
    }
}

fn strings(seeds: &mut Seeds) {
    let hostile = [
        "Иванов Иван Иванович",
        "=HYPERLINK(\"http://evil\",\"x\")",
        "+7 (495) 000-00-00",
        "-1",
        "@SUM(A1)",
        "a,b;c\"d\r\ne",
        "2026-12-01T00:00:00Z",
        "<script>alert(1)</script>",
        "\" onmouseover=\"alert(1)",
        "javascript:alert(1)",
        "critical",
        "",
    ]
    .join(SPLIT);
    seeds.add("csv", "hostile", hostile.clone().into_bytes());
    seeds.add("csv", "semicolon", format!("\u{1}{hostile}").into_bytes());
    seeds.add("csv", "plain", b"CN=Test".to_vec());
    seeds.add("html", "hostile", hostile.clone().into_bytes());
    seeds.add("html", "russian", format!("\u{1}{hostile}").into_bytes());
    seeds.add(
        "html",
        "document",
        br#"{"hostname": "<b>x</b>", "findings": [{"code": "x", "severity": "<i>", "remediation": "\" onclick=\""}], "components": {"<p>": "<p>"}}"#.to_vec(),
    );
}
