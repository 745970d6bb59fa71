//! A fleet whose hosts differ as an organisation's do: 1–3 readers, 0–3 tokens, 1–20 key
//! containers, each container's and token's certificate, a few certificate files and the
//! fleet's CA chain, with findings where the content calls for them. Each host's shape follows
//! from its number, so a run is repeatable; its content moves on by one change per `epoch`: a
//! certificate renewed, a token pulled out or put back, a card put into a reader.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use tokenwatch_proto::v1;

use crate::seed::{linux_host, ts};

/// A number from `host` and `what`, the same on every run.
fn number(host: usize, what: &str) -> u64 {
    let digest = Sha256::digest(format!("{host} {what}").as_bytes());
    u64::from_le_bytes(digest[..8].try_into().expect("eight bytes"))
}

fn below(host: usize, what: &str, n: u64) -> usize {
    usize::try_from(number(host, what) % n).expect("small")
}

/// How much of each a host has.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape {
    pub(crate) readers: usize,
    pub(crate) tokens: usize,
    pub(crate) containers: usize,
    pub(crate) files: usize,
}

pub(crate) fn shape(host: usize) -> Shape {
    let tokens = below(host, "tokens", 4);
    Shape {
        // A token is in a reader of its own; a host without tokens still has its card reader.
        readers: (1 + below(host, "readers", 3)).max(tokens.min(3)),
        tokens,
        containers: 1 + below(host, "containers", 20),
        files: below(host, "files", 4),
    }
}

const FAMILIES: [(v1::TokenFamily, &str, &str, &str); 3] = [
    (
        v1::TokenFamily::Rutoken,
        "Rutoken ECP",
        "Aktiv Rutoken ECP",
        "3B 8B 01 52 75 74 6F 6B 65 6E 20 44 53 20 C1",
    ),
    (
        v1::TokenFamily::Jacarta,
        "JaCarta-2 SE",
        "Aladdin R.D. JaCarta",
        "3B DC 18 FF 81 91 FE 1F C3 80 73 C8 21 13 66 01 0B 03 52 00 05 38",
    ),
    (
        v1::TokenFamily::Etoken,
        "eToken PRO Java 72K",
        "SafeNet eToken 5100",
        "3B D5 18 00 81 31 3A 7D 80 73 C8 21 10 30",
    ),
];

/// The fleet's CA chain, on every host: a root and two issuing CAs.
const CAS: [&str; 3] = [
    "Минцифры России",
    "УЦ ФНС России",
    "АО «Аналитический Центр»",
];

fn hashes(seed: &str) -> (String, String) {
    let sha256 = hex::encode(Sha256::digest(seed.as_bytes()));
    let sha1 = hex::encode(Sha256::digest(format!("sha1 {seed}").as_bytes()))[..40].to_owned();
    (sha1, sha256)
}

/// How often container `c`'s certificate was renewed by `epoch` (a renewal is every third
/// change, taking the containers in turn).
fn renewals(epoch: u64, containers: usize, c: usize) -> u64 {
    (1..=epoch)
        .filter(|e| e % 3 == 0 && usize::try_from(e / 3).unwrap_or(0) % containers == c)
        .count() as u64
}

/// Host `host`'s inventory after `epoch` changes, collected at `now`. Validity dates count
/// from `base`, fixed for a run, so that a report without a change has the same content.
pub(crate) fn inventory(
    host: usize,
    epoch: u64,
    base: DateTime<Utc>,
    now: DateTime<Utc>,
) -> v1::Inventory {
    let shape = shape(host);
    let hostname = hostname(host);
    let user = format!("user{}", below(host, "user", 50));
    let mut certificates = Vec::new();
    let mut findings = Vec::new();
    let mut personal = |seed: String, source: v1::CertificateSource, days: i64| {
        let (sha1, sha256) = hashes(&seed);
        let not_after = base + Duration::days(days);
        let cn = format!("Сотрудник {}", number(host, &seed) % 100_000);
        if days < 0 {
            findings.push(finding("certificate.expired", v1::Severity::Critical, &cn));
        } else if days < 30 {
            findings.push(finding("certificate.expiring", v1::Severity::Warning, &cn));
        }
        certificates.push(v1::Certificate {
            sha1: sha1.clone(),
            sha256,
            serial: format!("{:032X}", number(host, &seed)),
            subject: format!("CN={cn},O=ООО Ромашка {}", host % 1000),
            issuer: format!("CN={}", CAS[2]),
            subject_cn: Some(cn),
            issuer_cn: Some(CAS[2].into()),
            organization: Some(format!("ООО Ромашка {}", host % 1000)),
            inn_le: Some(format!("77{:08}", host % 100_000_000)),
            snils: Some(format!("{:011}", number(host, &seed) % 100_000_000_000)),
            not_before: ts(not_after - Duration::days(365)),
            not_after: ts(not_after),
            key_usage: vec!["digitalSignature".into(), "nonRepudiation".into()],
            signature_algorithm: "GOST R 34.11-2012/34.10-2012 256".into(),
            public_key_algorithm: "GOST R 34.10-2012 256".into(),
            qualified: true,
            issuer_present: Some(true),
            sources: vec![source],
            der: seed.as_bytes().to_vec(),
            ..Default::default()
        });
        sha1
    };
    // Certificates end anywhere from a month ago to two years ahead: some have lapsed, some
    // are about to, as in any fleet.
    let lifetime = |seed: &str| i64::try_from(number(host, seed) % 760).expect("small") - 30;

    let pulled = epoch % 3 == 1;
    let mut tokens = Vec::new();
    for t in 0..shape.tokens {
        if t == 0 && pulled {
            continue;
        }
        let (family, model, reader, _) = FAMILIES[below(host, &format!("family {t}"), 3)];
        let serial = format!("{:08x}", number(host, &format!("token {t}")) as u32);
        let seed = format!("{host} token {t}");
        let module = format!(
            "/usr/lib/pkcs11/{}.so",
            model.to_lowercase().replace(' ', "_")
        );
        let sha1 = personal(
            seed.clone(),
            v1::CertificateSource {
                kind: v1::SourceKind::Token.into(),
                location: format!("{module}#{t}"),
            },
            lifetime(&seed),
        );
        tokens.push(v1::Token {
            module,
            slot_id: t as u64,
            slot_description: Some(format!("{reader} 0{t} 00")),
            label: format!("{user} {t}"),
            serial,
            manufacturer: reader.split(' ').next().unwrap_or_default().into(),
            model: model.into(),
            token_family: family.into(),
            total_memory: Some(65_536),
            free_memory: Some(40_000 - 1_000 * t as u64),
            pin: Some(v1::PinState {
                initialized: true,
                user_pin_initialized: true,
                ..Default::default()
            }),
            certificates: vec![sha1],
            ..Default::default()
        });
    }
    let readers = (0..shape.readers)
        .map(|r| {
            let holds = (r < shape.tokens && !(r == 0 && pulled))
                .then(|| FAMILIES[below(host, &format!("family {r}"), 3)]);
            v1::Reader {
                name: match holds {
                    Some((_, _, reader, _)) => format!("{reader} 0{r} 00"),
                    None => format!("Generic Smart Card Reader 0{r} 00"),
                },
                // A reader without a token gets a card put in every other change.
                card_present: holds.is_some() || (epoch % 2 == 1 && r == shape.readers - 1),
                atr: holds.map(|(_, _, _, atr)| atr.into()),
                token_model: holds.map(|(_, model, _, _)| model.into()),
                token_family: holds.map_or(v1::TokenFamily::Unspecified, |h| h.0).into(),
                in_use_exclusively: false,
            }
        })
        .collect();

    let broken = number(host, "broken") % 25 == 0;
    let mut container_findings = Vec::new();
    let mut containers = Vec::new();
    for c in 0..shape.containers {
        let removable = number(host, &format!("media {c}")) % 5 == 0;
        let path = if removable {
            format!(
                "/media/{user}/FLASH/{:08x}.000",
                number(host, &format!("c {c}")) as u32
            )
        } else {
            format!("/var/opt/cprocsp/keys/{user}/le-{c:02}.000")
        };
        let seed = format!(
            "{host} container {c} {}",
            renewals(epoch, shape.containers, c)
        );
        let days = lifetime(&seed);
        let sha1 = personal(
            seed,
            v1::CertificateSource {
                kind: v1::SourceKind::Container.into(),
                location: path.clone(),
            },
            days,
        );
        let incomplete = broken && c == 0;
        if incomplete {
            container_findings.push(finding(
                "container.incomplete",
                v1::Severity::Critical,
                &path,
            ));
        }
        containers.push(v1::Container {
            name: Some(format!("le-{host}-{c}")),
            path,
            media: if removable {
                v1::Media::Removable
            } else {
                v1::Media::Hdimage
            }
            .into(),
            owner: Some(user.clone()),
            complete: !incomplete,
            missing_files: if incomplete {
                vec!["masks2.key".into()]
            } else {
                vec![]
            },
            key_algorithm: Some("GOST R 34.10-2012 256".into()),
            key_algorithm_oid: Some("1.2.643.7.1.1.1.1".into()),
            exportable: Some(false),
            certificate_sha1: Some(sha1),
            private_key_not_before: ts(base - Duration::days(100)),
            private_key_not_after: ts(base + Duration::days(days.max(1) + 90)),
            ..Default::default()
        });
    }
    for f in 0..shape.files {
        let seed = format!("{host} file {f}");
        let days = lifetime(&seed);
        personal(
            seed,
            v1::CertificateSource {
                kind: v1::SourceKind::File.into(),
                location: format!("/home/{user}/certs/{f}.cer"),
            },
            days,
        );
    }
    for (i, ca) in CAS.iter().enumerate() {
        let (sha1, sha256) = hashes(&format!("ca {i}"));
        certificates.push(v1::Certificate {
            sha1,
            sha256,
            serial: format!("{:032X}", i + 1),
            subject: format!("CN={ca}"),
            issuer: format!("CN={}", CAS[i.saturating_sub(1)]),
            subject_cn: Some((*ca).into()),
            issuer_cn: Some(CAS[i.saturating_sub(1)].into()),
            not_before: ts(base - Duration::days(1000)),
            not_after: ts(base + Duration::days(2000)),
            key_usage: vec!["keyCertSign".into(), "cRLSign".into()],
            signature_algorithm: "GOST R 34.11-2012/34.10-2012 256".into(),
            public_key_algorithm: "GOST R 34.10-2012 256".into(),
            is_ca: true,
            self_signed: i == 0,
            issuer_present: (i > 0).then_some(true),
            sources: vec![v1::CertificateSource {
                kind: v1::SourceKind::CryptoproStore.into(),
                location: if i == 0 { "uRoot" } else { "uCA" }.into(),
            }],
            der: format!("ca {i}").into_bytes(),
            ..Default::default()
        });
    }

    findings.extend(container_findings);
    v1::Inventory {
        readers,
        tokens,
        containers,
        certificates,
        findings,
        ..linux_host(&hostname, now)
    }
}

pub(crate) fn hostname(host: usize) -> String {
    format!("ws-{host:06}")
}

fn finding(code: &str, severity: v1::Severity, subject: &str) -> v1::Finding {
    v1::Finding {
        code: code.into(),
        severity: severity.into(),
        subject: subject.into(),
        message: format!("{code} on {subject}"),
        remediation: "See the helpdesk playbook.".into(),
    }
}
