//! Small, exact inventories for the metrics tests: each certificate, container and date is
//! chosen so that one series of the exposition depends on it.

use chrono::{DateTime, TimeZone, Utc};
use prost::Message;
use prost_types::Timestamp;
use sha2::{Digest, Sha256};
use tokenwatch_proto::v1;

pub(crate) fn ts(at: DateTime<Utc>) -> Option<Timestamp> {
    Some(Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    })
}

pub(crate) fn utc(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
}

/// A certificate as the agent reports it; `seed` makes its hashes.
#[derive(Clone)]
pub(crate) struct Cert {
    pub(crate) seed: &'static str,
    pub(crate) cn: &'static str,
    pub(crate) issuer_cn: &'static str,
    pub(crate) qualified: bool,
    pub(crate) is_ca: bool,
    pub(crate) not_after: DateTime<Utc>,
    pub(crate) key_not_after: Option<DateTime<Utc>>,
}

impl Cert {
    /// SHA-1 thumbprint, lower-case hex.
    pub(crate) fn sha1(&self) -> String {
        hex::encode(Sha256::digest(format!("sha1 {}", self.seed)))[..40].to_owned()
    }

    fn proto(&self) -> v1::Certificate {
        v1::Certificate {
            sha1: self.sha1(),
            sha256: hex::encode(Sha256::digest(format!("sha256 {}", self.seed))),
            serial: "01".into(),
            subject: format!("CN={}", self.cn),
            issuer: format!("CN={}", self.issuer_cn),
            subject_cn: Some(self.cn.into()),
            issuer_cn: Some(self.issuer_cn.into()),
            not_before: ts(utc(2024, 1, 1)),
            not_after: ts(self.not_after),
            private_key_not_after: self.key_not_after.and_then(ts),
            signature_algorithm: "GOST R 34.11-2012/34.10-2012 256".into(),
            public_key_algorithm: "GOST R 34.10-2012 256".into(),
            qualified: self.qualified,
            is_ca: self.is_ca,
            self_signed: self.is_ca,
            ..Default::default()
        }
    }
}

/// What one host reports.
#[derive(Clone, Default)]
pub(crate) struct Host {
    pub(crate) hostname: &'static str,
    pub(crate) readers: usize,
    /// Tokens, each holding the given certificates.
    pub(crate) tokens: Vec<Vec<Cert>>,
    /// Containers: complete or not, the certificate of their key and the key's end.
    pub(crate) containers: Vec<(bool, Option<Cert>, Option<DateTime<Utc>>)>,
    pub(crate) certificates: Vec<Cert>,
    /// The agent's own findings: code and severity.
    pub(crate) findings: Vec<(&'static str, v1::Severity)>,
}

impl Host {
    /// The inventory as the agent would send it.
    pub(crate) fn inventory(&self) -> v1::Inventory {
        v1::Inventory {
            schema: "tokenwatch.inventory/v1".into(),
            collected_at: ts(Utc::now()),
            host: Some(v1::Host {
                hostname: self.hostname.into(),
                os: "linux".into(),
                arch: "x86_64".into(),
                agent_version: "0.1.0".into(),
                ..Default::default()
            }),
            readers: (0..self.readers)
                .map(|i| v1::Reader {
                    name: format!("Aktiv Rutoken ECP 0{i} 00"),
                    card_present: i == 0,
                    ..Default::default()
                })
                .collect(),
            tokens: self
                .tokens
                .iter()
                .enumerate()
                .map(|(i, certs)| v1::Token {
                    module: "/usr/lib/librtpkcs11ecp.so".into(),
                    slot_id: i as u64,
                    label: format!("token {i}"),
                    serial: format!("{}-{i}", self.hostname),
                    manufacturer: "Aktiv Co.".into(),
                    model: "Rutoken ECP".into(),
                    certificates: certs.iter().map(Cert::sha1).collect(),
                    ..Default::default()
                })
                .collect(),
            containers: self
                .containers
                .iter()
                .enumerate()
                .map(|(i, (complete, cert, key_end))| v1::Container {
                    name: Some(format!("le-{i}")),
                    path: format!("/var/opt/cprocsp/keys/user/cont{i}.000"),
                    media: v1::Media::Hdimage.into(),
                    complete: *complete,
                    missing_files: if *complete {
                        vec![]
                    } else {
                        vec!["masks2.key".into()]
                    },
                    certificate_sha1: cert.as_ref().map(Cert::sha1),
                    private_key_not_after: key_end.and_then(ts),
                    ..Default::default()
                })
                .collect(),
            certificates: self.certificates.iter().map(Cert::proto).collect(),
            findings: self
                .findings
                .iter()
                .map(|(code, severity)| v1::Finding {
                    code: (*code).into(),
                    severity: (*severity).into(),
                    subject: "subject".into(),
                    message: "message".into(),
                    remediation: "remediation".into(),
                })
                .collect(),
            ..Default::default()
        }
    }

    /// A report of this host with `sequence`; the content hash ignores the collection time,
    /// as the agent's does, so an unchanged host sends an equal hash.
    pub(crate) fn report(&self, sequence: u64) -> v1::ReportRequest {
        let inventory = self.inventory();
        let mut content = inventory.clone();
        content.collected_at = None;
        v1::ReportRequest {
            sequence,
            content_hash: Sha256::digest(content.encode_to_vec()).to_vec(),
            inventory: Some(inventory),
        }
    }
}
