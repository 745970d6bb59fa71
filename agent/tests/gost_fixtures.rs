//! The GOST certificate factory itself: what it makes must parse with the agent's summary.
// Unix only: OpenSSL's gost engine issues the certificates, and the Windows tests under Wine
// cannot run it.
#![cfg(unix)]

mod support;

use support::gost::{self, Spec};
use tokenwatch_agent::collect::certificates::summarize;
use tokenwatch_agent::inventory::{CertificateSource, SourceKind};

#[test]
fn issued_chain_parses_with_requested_dates() {
    assert!(
        gost::available(),
        "openssl with the gost engine is required (libengine-gost-openssl)"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = gost::issue(
        dir.path(),
        &Spec::ca("Тестовый УЦ", "20240101000000Z", "20340101000000Z"),
        None,
    );
    let mut spec = Spec::person("Иванов Иван Иванович", "20200101000000Z", "20210101000000Z");
    spec.private_key_usage = Some(("20200101000000Z".into(), "20210401000000Z".into()));
    let person = gost::issue(dir.path(), &spec, Some(&ca));
    let source = CertificateSource {
        kind: SourceKind::File,
        location: "test".into(),
    };
    let cert = summarize(&person.der, source).expect("parses");
    assert_eq!(cert.not_after.to_rfc3339(), "2021-01-01T00:00:00+00:00");
    assert!(
        cert.subject.contains("Иванов Иван Иванович"),
        "{}",
        cert.subject
    );
    assert!(!cert.self_signed);
    let ca_cert = summarize(
        &ca.der,
        CertificateSource {
            kind: SourceKind::File,
            location: "ca".into(),
        },
    )
    .expect("ca parses");
    assert!(ca_cert.self_signed);
    assert_eq!(ca_cert.subject, cert.issuer);
}
