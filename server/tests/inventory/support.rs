//! Realistic reports and database helpers for the inventory tests.

use chrono::{DateTime, Duration, TimeZone, Utc};
use sha2::{Digest, Sha256};
use sqlx::{AssertSqlSafe, PgPool};
use tokenwatch_proto::v1;
use uuid::Uuid;

/// The moment the sample inventories are collected at.
pub(crate) fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap()
}

fn hex_of(seed: &str) -> String {
    hex::encode(Sha256::digest(seed.as_bytes()))
}

/// SHA-1 (40 hex) and SHA-256 (64 hex) of the sample certificate `i`.
pub(crate) fn cert_hashes(i: usize) -> (String, String) {
    (
        hex_of(&format!("sha1 {i}"))[..40].to_owned(),
        hex_of(&format!("cert {i}")),
    )
}

pub(crate) const TOKEN_MODEL: &str = "Rutoken ECP";
pub(crate) const TOKEN_SERIAL: &str = "3a6b0f21";

/// The workstation's Rutoken holding certificates 0 and 1.
pub(crate) fn rutoken() -> v1::Token {
    v1::Token {
        module: "/usr/lib/librtpkcs11ecp.so".into(),
        slot_id: 0,
        slot_description: Some("Aktiv Rutoken ECP 00 00".into()),
        label: "Бухгалтерия".into(),
        // Padding as PKCS#11 pads: the identity uses the trimmed serial.
        serial: format!("{TOKEN_SERIAL}        "),
        manufacturer: "Aktiv Co.".into(),
        model: format!("{TOKEN_MODEL} "),
        token_family: v1::TokenFamily::Rutoken.into(),
        hardware_version: Some("20.0".into()),
        firmware_version: Some("23.2".into()),
        total_memory: Some(65_536),
        free_memory: Some(40_000),
        pin: Some(v1::PinState {
            initialized: true,
            user_pin_initialized: true,
            count_low: true,
            ..Default::default()
        }),
        certificates: vec![cert_hashes(0).0, cert_hashes(1).0],
    }
}

/// A workstation: 2 readers, a Rutoken with 2 certificates, 10 containers, 50 certificates
/// (0–1 on the token, 2–11 in the containers, 45–49 CA certificates in the CryptoPro store,
/// 44 a certmgr-only store entry), a CSP licence and findings.
pub(crate) fn workstation(hostname: &str) -> v1::Inventory {
    let base = base();
    let readers = vec![
        v1::Reader {
            name: "Aktiv Rutoken ECP 00 00".into(),
            card_present: true,
            atr: Some("3B 8B 01 52 75 74 6F 6B 65 6E 20 44 53 20 C1".into()),
            token_model: Some(TOKEN_MODEL.into()),
            token_family: v1::TokenFamily::Rutoken.into(),
            in_use_exclusively: false,
        },
        v1::Reader {
            name: "Generic Smart Card Reader 01 00".into(),
            ..Default::default()
        },
    ];
    let containers = (0..10)
        .map(|i| v1::Container {
            name: Some(format!("le-{i:04}")),
            path: format!("/var/opt/cprocsp/keys/buh/cont{i:02}.000"),
            media: v1::Media::Hdimage.into(),
            owner: Some("buh".into()),
            complete: i != 9,
            missing_files: if i == 9 {
                vec!["masks2.key".into()]
            } else {
                vec![]
            },
            damaged_files: if i == 9 {
                vec![v1::DamagedFile {
                    file: "primary2.key".into(),
                    reason: "truncated".into(),
                }]
            } else {
                vec![]
            },
            key_algorithm: Some("GOST R 34.10-2012 256".into()),
            key_algorithm_oid: Some("1.2.643.7.1.1.1.1".into()),
            exportable: Some(false),
            certificate_sha1: Some(cert_hashes(2 + i).0),
            private_key_not_before: ts(base - Duration::days(100)),
            private_key_not_after: ts(base + Duration::days(400 + i as i64)),
        })
        .collect();
    let certificates = (0..50).map(certificate).collect();
    v1::Inventory {
        readers,
        tokens: vec![rutoken()],
        containers,
        certificates,
        components: Some(v1::Components {
            cryptopro: Some(v1::CryptoPro {
                installed: true,
                version: Some("5.0".into()),
                build: Some("5.0.12455".into()),
                control_key_time_validity: None,
                license: Some(v1::License {
                    serial_prefix: Some("5050N".into()),
                    for_version: Some("5.0".into()),
                    kind: Some("Client".into()),
                    expires: ts(base + Duration::days(500)),
                    ..Default::default()
                }),
            }),
            smart_card_service: v1::ServiceState::Running.into(),
            ccid_driver: Some("libccid 1.5.2".into()),
            pkcs11_modules: vec![v1::Pkcs11Module {
                path: "/usr/lib/librtpkcs11ecp.so".into(),
                family: v1::TokenFamily::Rutoken.into(),
            }],
            ..Default::default()
        }),
        findings: vec![
            v1::Finding {
                code: "token.pin_count_low".into(),
                severity: v1::Severity::Warning.into(),
                subject: "token \"Бухгалтерия\" Rutoken ECP (serial 3a6b0f21)".into(),
                message: "A wrong user PIN was entered; tries are running out.".into(),
                remediation: "Confirm the correct PIN with the user.".into(),
            },
            v1::Finding {
                code: "certificate.expiring".into(),
                severity: v1::Severity::Critical.into(),
                subject: "certificate \"old\"".into(),
                message: "The certificate expires in 3 days.".into(),
                remediation: "Re-issue.".into(),
            },
        ],
        collectors: vec![
            v1::CollectorStatus {
                name: "pcsc".into(),
                status: v1::CollectorOutcome::Ok.into(),
                errors: vec![],
                duration_ms: 12,
            },
            v1::CollectorStatus {
                name: "certificates".into(),
                status: v1::CollectorOutcome::Partial.into(),
                errors: vec!["/home/buh/certs: permission denied".into()],
                duration_ms: 340,
            },
        ],
        ..crate::seed::linux_host(hostname, base)
    }
}

fn certificate(i: usize) -> v1::Certificate {
    let base = base();
    let (sha1, sha256) = cert_hashes(i);
    let is_ca = i >= 45;
    let (kind, location) = match i {
        0 | 1 => (
            v1::SourceKind::Token,
            "/usr/lib/librtpkcs11ecp.so#0".to_owned(),
        ),
        2..=11 => (
            v1::SourceKind::Container,
            format!("/var/opt/cprocsp/keys/buh/cont{:02}.000", i - 2),
        ),
        44.. => (v1::SourceKind::CryptoproStore, "uRoot".to_owned()),
        _ => (v1::SourceKind::File, format!("/home/buh/certs/{i}.cer")),
    };
    v1::Certificate {
        sha256: if i == 44 {
            format!("sha1:{sha1}")
        } else {
            sha256
        },
        sha1,
        serial: format!("{:032X}", i + 1),
        subject: format!("CN=Сотрудник {i},O=ООО Ромашка"),
        issuer: "CN=УЦ Тест,O=Тест".into(),
        subject_cn: Some(format!("Сотрудник {i}")),
        issuer_cn: Some("УЦ Тест".into()),
        organization: Some("ООО Ромашка".into()),
        inn_le: Some("7701234567".into()),
        snils: Some("12345678901".into()),
        not_before: ts(base - Duration::days(300)),
        not_after: ts(base + Duration::days(400 + i as i64)),
        key_usage: vec!["digitalSignature".into(), "nonRepudiation".into()],
        extended_key_usage: vec!["1.3.6.1.5.5.7.3.2".into()],
        signature_algorithm: "GOST R 34.11-2012/34.10-2012 256".into(),
        public_key_algorithm: "GOST R 34.10-2012 256".into(),
        qualified: !is_ca,
        is_ca,
        self_signed: i == 49,
        issuer_present: if i == 49 { None } else { Some(true) },
        sources: vec![v1::CertificateSource {
            kind: kind.into(),
            location,
        }],
        der: if i == 44 {
            vec![]
        } else {
            vec![0x30, 0x82, i as u8, 0x01]
        },
        ..Default::default()
    }
}

pub(crate) use crate::seed::{office, request, ts};

/// An agent of `office` whose certificate runs a year past [`base`].
pub(crate) async fn agent(pool: &PgPool, office: i64, hostname: &str) -> Uuid {
    crate::seed::agent(pool, office, hostname, base() + Duration::days(365)).await
}

/// Every row of every table the ingest writes, as text, for before/after comparisons.
pub(crate) async fn snapshot(pool: &PgPool) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for table in [
        "agents",
        "hosts",
        "host_readers",
        "host_tokens",
        "host_containers",
        "host_findings",
        "host_collectors",
        "tokens",
        "token_sightings",
        "certificates",
        "certificate_sightings",
        "containers",
        "container_sightings",
    ] {
        let rows: String = sqlx::query_scalar(AssertSqlSafe(format!(
            "select coalesce(string_agg(t::text, E'\\n' order by t::text), '') from {table} t"
        )))
        .fetch_one(pool)
        .await
        .unwrap();
        out.push((table.to_owned(), rows));
    }
    out
}

pub(crate) async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// One delivery round at `now`, waiting for the lock a dropped deliverer held: its session,
/// and with it the lock, ends a moment after its connection is closed.
pub(crate) async fn deliver_round(
    deliverer: &mut tokenwatch_server::notify::Deliverer,
    now: DateTime<Utc>,
) -> tokenwatch_server::notify::Round {
    for _ in 0..100 {
        if let Some(round) = deliverer.step(now).await.unwrap() {
            return round;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the deliverer lock stays taken");
}
