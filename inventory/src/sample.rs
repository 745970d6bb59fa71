//! Hand-made inventories for unit tests of the pure parts (diagnosis, rendering).

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::inventory::{
    Certificate, CertificateSource, Components, Container, Host, Inventory, SCHEMA, SourceKind,
};

/// The fixed "now" of these tests.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
        .single()
        .expect("valid date")
}

/// An empty inventory of a host called `ws-01`.
pub fn inventory() -> Inventory {
    Inventory {
        schema: SCHEMA.to_owned(),
        collected_at: now(),
        host: Host {
            hostname: "ws-01".to_owned(),
            os: "Debian GNU/Linux".to_owned(),
            os_version: Some("12 (bookworm)".to_owned()),
            arch: "x86_64".to_owned(),
            agent_version: "0.1.0".to_owned(),
        },
        readers: Vec::new(),
        tokens: Vec::new(),
        containers: Vec::new(),
        certificates: Vec::new(),
        components: Components::default(),
        findings: Vec::new(),
        collectors: Vec::new(),
    }
}

/// A person's certificate ending `days_left` days after [`now`].
pub fn certificate(sha1: &str, days_left: i64) -> Certificate {
    Certificate {
        sha1: sha1.to_owned(),
        sha256: format!("{sha1}-256"),
        serial: "01".to_owned(),
        subject: "CN=Иванов Иван Иванович, INN=770708389301".to_owned(),
        issuer: "CN=Тестовый УЦ".to_owned(),
        subject_cn: Some("Иванов Иван Иванович".to_owned()),
        issuer_cn: Some("Тестовый УЦ".to_owned()),
        inn: Some("770708389301".to_owned()),
        not_before: now() - Duration::days(300),
        not_after: now() + Duration::days(days_left),
        sources: vec![CertificateSource {
            kind: SourceKind::File,
            location: format!("/certs/{sha1}.cer"),
        }],
        ..Certificate::default()
    }
}

/// A complete HDIMAGE container called `name`.
pub fn container(name: &str, path: &str) -> Container {
    Container {
        name: Some(name.to_owned()),
        path: path.to_owned(),
        media: crate::inventory::Media::Hdimage,
        owner: Some("user".to_owned()),
        complete: true,
        missing_files: Vec::new(),
        damaged_files: Vec::new(),
        key_algorithm: Some("GOST R 34.10-2012 256".to_owned()),
        key_algorithm_oid: Some("1.2.643.7.1.1.6.1".to_owned()),
        exportable: Some(false),
        certificate_sha1: None,
        private_key_not_before: None,
        private_key_not_after: None,
    }
}
