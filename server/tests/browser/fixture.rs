//! What the dashboard shows in these tests: two offices with Cyrillic names, three hosts,
//! certificates ending soon and far away, a finding with a remediation, the alerts they fire,
//! and two accounts. Everything is dated from the real clock, since the server renders its
//! pages against `Utc::now()`.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokenwatch_proto::v1;
use tokenwatch_server::access::Role;
use tokenwatch_server::alerts::{self, Settings};
use tokenwatch_server::config::AlertsConfig;
use tokenwatch_server::ingest::apply_report;
use uuid::Uuid;

pub(crate) const ACCOUNTING: &str = "Бухгалтерия";
pub(crate) const WAREHOUSE: &str = "Склад";

/// Accounting's hosts; the viewer of the warehouse must never see them.
pub(crate) const BUH_1: &str = "buh-ws-01";
pub(crate) const BUH_2: &str = "buh-ws-02";
/// The warehouse's host.
pub(crate) const SKLAD_1: &str = "sklad-ws-01";

/// The certificate on `BUH_1` that ends in 12 days (an alert fires for it)…
pub(crate) const SOON_CN: &str = "Иванова Анна Сергеевна";
/// …and the one on `BUH_2` that ends in 400 days.
pub(crate) const FAR_CN: &str = "Петров Пётр Петрович";
/// The warehouse's certificate, 200 days.
pub(crate) const SKLAD_CN: &str = "Складской учёт";

/// `BUH_1`'s finding: its remediation is shown in `pre.remediation` on the host's page.
pub(crate) const FINDING_CODE: &str = "token.pin_count_low";
pub(crate) const REMEDIATION: &str =
    "Уточните у пользователя правильный PIN-код.\nПосле трёх ошибок токен блокируется.";

/// An operator of every office, and a viewer of the warehouse only.
pub(crate) const OPERATOR: &str = "operator";
pub(crate) const VIEWER: &str = "sklad-viewer";
pub(crate) const PASSWORD: &str = "long enough passphrase";

/// The agent ids of the hosts, and the soon-ending certificate's SHA-256.
#[derive(Clone, Debug)]
pub(crate) struct Fixture {
    pub(crate) buh_1: Uuid,
    pub(crate) soon_sha256: String,
}

/// Store everything through the server's own ingest, then evaluate alerts as the server would.
pub(crate) async fn load(pool: &PgPool) -> Fixture {
    let now = Utc::now();
    let accounting = office(pool, ACCOUNTING).await;
    let warehouse = office(pool, WAREHOUSE).await;

    let soon = certificate(1, SOON_CN, now + Duration::days(12));
    let soon_sha256 = soon.sha256.clone();
    let mut buh_1 = inventory(BUH_1, now, vec![soon]);
    buh_1.findings.push(v1::Finding {
        code: FINDING_CODE.into(),
        severity: v1::Severity::Warning.into(),
        subject: "token \"Бухгалтерия\" Rutoken ECP (serial 3a6b0f21)".into(),
        message: "Был введён неверный PIN-код; попытки заканчиваются.".into(),
        remediation: REMEDIATION.into(),
    });
    let buh_2 = inventory(
        BUH_2,
        now,
        vec![certificate(2, FAR_CN, now + Duration::days(400))],
    );
    let sklad_1 = inventory(
        SKLAD_1,
        now,
        vec![certificate(3, SKLAD_CN, now + Duration::days(200))],
    );

    let mut ids = Vec::new();
    for (office, inventory) in [
        (accounting, &buh_1),
        (accounting, &buh_2),
        (warehouse, &sklad_1),
    ] {
        let hostname = &inventory.host.as_ref().expect("host").hostname;
        let id = agent(pool, office, hostname, now).await;
        apply_report(pool, id, &request(1, inventory), now)
            .await
            .expect("the report is stored");
        ids.push(id);
    }

    // The defaults, as the server's own evaluation uses them: the soon-ending certificate
    // (12 days < 30) and the finding fire.
    let settings = Settings::from_config(&AlertsConfig::default());
    alerts::evaluate(pool, now, &settings)
        .await
        .expect("alerts are evaluated");

    for (name, role, offices) in [
        (OPERATOR, Role::Operator, None),
        (VIEWER, Role::Viewer, Some(&[WAREHOUSE][..])),
    ] {
        crate::seed::user(pool, name, PASSWORD, role, offices).await;
    }

    Fixture {
        buh_1: ids[0],
        soon_sha256,
    }
}

fn hex_of(seed: &str) -> String {
    hex::encode(Sha256::digest(seed.as_bytes()))
}

/// An inventory of `hostname` collected at `now` holding `certificates` (no devices).
fn inventory(
    hostname: &str,
    now: DateTime<Utc>,
    certificates: Vec<v1::Certificate>,
) -> v1::Inventory {
    v1::Inventory {
        certificates,
        ..crate::seed::linux_host(hostname, now)
    }
}

/// A qualified certificate of `cn` (seed `i` for its hashes) ending at `not_after`, in a file.
fn certificate(i: usize, cn: &str, not_after: DateTime<Utc>) -> v1::Certificate {
    v1::Certificate {
        sha256: hex_of(&format!("cert {i}")),
        sha1: hex_of(&format!("sha1 {i}"))[..40].to_owned(),
        serial: format!("{i:032X}"),
        subject: format!("CN={cn},O=ООО Ромашка"),
        issuer: "CN=УЦ Тест,O=Тест".into(),
        subject_cn: Some(cn.into()),
        issuer_cn: Some("УЦ Тест".into()),
        organization: Some("ООО Ромашка".into()),
        not_before: ts(not_after - Duration::days(365)),
        not_after: ts(not_after),
        key_usage: vec!["digitalSignature".into(), "nonRepudiation".into()],
        signature_algorithm: "GOST R 34.11-2012/34.10-2012 256".into(),
        public_key_algorithm: "GOST R 34.10-2012 256".into(),
        qualified: true,
        issuer_present: Some(true),
        sources: vec![v1::CertificateSource {
            kind: v1::SourceKind::File.into(),
            location: format!("/home/buh/certs/{i}.cer"),
        }],
        der: vec![0x30, 0x82, i as u8, 0x01],
        ..Default::default()
    }
}

use crate::seed::{office, request, ts};

/// An enrolled agent of `office`, its certificate valid for a year from `now`.
async fn agent(pool: &PgPool, office: i64, hostname: &str, now: DateTime<Utc>) -> Uuid {
    crate::seed::agent(pool, office, hostname, now + Duration::days(365)).await
}
