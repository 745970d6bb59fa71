use chrono::Duration;
use prost_types::Timestamp;
use sqlx::PgPool;
use tokenwatch_proto::v1;
use tokenwatch_server::ingest::{IngestError, apply_report};

use crate::support::*;

type Edit = fn(&mut v1::Inventory);

/// Each refused report and the start of the reason it must give.
fn violations() -> Vec<(Edit, &'static str)> {
    vec![
        (|i| i.schema = "tokenwatch.inventory/v0".into(), "schema is"),
        (
            |i| i.certificates[3].subject = "CN=Иван\0Иванов".into(),
            "certificates[3].subject contains a NUL byte",
        ),
        (
            |i| i.tokens[0].label = "x".repeat(5_000),
            "tokens[0].label is longer than 4096 bytes",
        ),
        (
            |i| i.certificates[0].der = vec![0; 70_000],
            "certificates[0].der is longer than 65536 bytes",
        ),
        (
            |i| {
                // Past 9999-12-31, which no certificate can state.
                i.certificates[5].not_after = Some(Timestamp {
                    seconds: 253_402_300_800,
                    nanos: 0,
                })
            },
            "certificates[5].not_after is not a date between the years 1 and 9999",
        ),
        (
            |i| {
                i.containers[0].private_key_not_after = Some(Timestamp {
                    seconds: 1,
                    nanos: -5,
                })
            },
            "containers[0].private_key_not_after has invalid nanoseconds",
        ),
        (
            |i| {
                i.collected_at = Some(Timestamp {
                    seconds: 253_402_300_800,
                    nanos: 0,
                })
            },
            "collected_at is not a date between the years 1 and 9999",
        ),
        (
            |i| {
                let reader = i.readers[0].clone();
                i.readers = vec![reader; 1_001];
            },
            "readers has 1001 entries",
        ),
        (
            |i| {
                let finding = i.findings[0].clone();
                i.findings = vec![finding; 10_001];
            },
            "findings has 10001 entries",
        ),
        (
            |i| i.certificates[2].sha1 = "not-a-thumbprint".into(),
            "certificates[2].sha1 is not 40 hexadecimal digits",
        ),
        (
            |i| i.certificates[2].sha256 = "sha1:1234".into(),
            "certificates[2].sha256 is not 40 hexadecimal digits",
        ),
        (
            |i| i.tokens[0].certificates.push("g".repeat(40)),
            "tokens[0].certificates[2] is not 40 hexadecimal digits",
        ),
        (
            |i| i.containers[1].media = 17,
            "containers[1].media has the unknown value 17",
        ),
        (
            |i| i.host.as_mut().unwrap().hostname = String::new(),
            "host.hostname is empty",
        ),
        (|i| i.host = None, "host is missing"),
        (
            |i| i.tokens[0].total_memory = Some(u64::MAX),
            "tokens[0].total_memory is out of range",
        ),
    ]
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn refused_reports_write_nothing(pool: PgPool) {
    let office = office(&pool, "Головной офис").await;
    let agent = agent(&pool, office, "buh-01").await;
    apply_report(&pool, agent, &request(1, &workstation("buh-01")), base())
        .await
        .unwrap();
    let before = snapshot(&pool).await;

    for (edit, reason) in violations() {
        let mut inventory = workstation("buh-01");
        inventory.tokens.clear();
        inventory.tokens.push(rutoken());
        edit(&mut inventory);
        let result = apply_report(&pool, agent, &request(2, &inventory), base()).await;
        match result {
            Err(IngestError::Invalid(why)) => {
                assert!(
                    why.starts_with(reason),
                    "{why:?} should start with {reason:?}"
                )
            }
            other => panic!("{reason}: expected a refusal, got {other:?}"),
        }
        assert_eq!(snapshot(&pool).await, before, "{reason}");
    }

    let mut report = request(2, &workstation("buh-01"));
    report.inventory = None;
    let missing = apply_report(&pool, agent, &report, base()).await;
    assert!(
        matches!(missing, Err(IngestError::Invalid(ref why)) if why == "the report has no inventory")
    );
    assert_eq!(snapshot(&pool).await, before);
}

/// RFC 5280's "no well-defined expiration date" (99991231235959Z) and a root made before 1970
/// are dates a certificate can state: stored as they are, with the rest of the report.
#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn certificates_without_expiry_are_stored(pool: PgPool) {
    let office = office(&pool, "Головной офис").await;
    let agent = agent(&pool, office, "buh-01").await;
    let mut inventory = workstation("buh-01");
    let certificate = &mut inventory.certificates[0];
    certificate.not_after = Some(Timestamp {
        seconds: 253_402_300_799,
        nanos: 0,
    });
    certificate.not_before = Some(Timestamp {
        seconds: -86_400,
        nanos: 0,
    });
    let sha1 = certificate.sha1.clone();
    apply_report(&pool, agent, &request(1, &inventory), base())
        .await
        .unwrap();
    let (not_before, not_after): (String, String) = sqlx::query_as(
        "select to_char(not_before at time zone 'UTC', 'YYYY-MM-DD'), \
             to_char(not_after at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') \
         from certificates where sha1 = $1",
    )
    .bind(&sha1)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (not_before.as_str(), not_after.as_str()),
        ("1969-12-31", "9999-12-31 23:59:59")
    );
    let stored: i64 =
        sqlx::query_scalar("select count(*) from certificate_sightings where agent_id = $1")
            .bind(agent)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(stored, i64::try_from(inventory.certificates.len()).unwrap());
}

/// The host's `host.clock_ahead` findings and its stored collection time.
async fn clock_state(
    pool: &PgPool,
    agent: uuid::Uuid,
) -> (i64, Option<chrono::DateTime<chrono::Utc>>) {
    let findings: i64 = sqlx::query_scalar(
        "select count(*) from host_findings where agent_id = $1 and code = 'host.clock_ahead'",
    )
    .bind(agent)
    .fetch_one(pool)
    .await
    .unwrap();
    let collected: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("select collected_at from hosts where agent_id = $1")
            .bind(agent)
            .fetch_one(pool)
            .await
            .unwrap();
    (findings, collected)
}

/// An agent whose clock runs days ahead, then is reset to last year, then is right: every
/// report is stored in order, the clock's lead shows as a finding while it lasts, and a
/// re-sent report still counts once.
#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_skewed_agent_clock_loses_no_report(pool: PgPool) {
    let office = office(&pool, "Головной офис").await;
    let agent = agent(&pool, office, "buh-01").await;
    let received = base();
    let mut sequence = 0;
    for (lead, changed_certificate, finding) in [
        (Duration::days(3), 0, 1),
        (Duration::days(-365), 1, 0),
        (Duration::zero(), 2, 0),
        (Duration::hours(5), 3, 1),
    ] {
        sequence += 1;
        let mut inventory = workstation("buh-01");
        inventory.collected_at = ts(received + lead);
        // Something changed each time, so that each report is stored.
        inventory.certificates[10].subject = format!("CN=Изменение {changed_certificate}");
        let report = request(sequence, &inventory);
        let applied = apply_report(&pool, agent, &report, received)
            .await
            .unwrap_or_else(|e| panic!("a clock {lead} off: {e}"));
        assert!(applied.changed, "stored with a clock {lead} off");
        let (findings, collected) = clock_state(&pool, agent).await;
        assert_eq!(findings, finding, "clock {lead} off");
        assert_eq!(collected, Some(received + lead), "as the host said");
        // The same report again is recognised, not applied twice.
        let again = apply_report(&pool, agent, &report, received).await.unwrap();
        assert!(!again.changed);
    }
    let last: i64 = sqlx::query_scalar("select last_sequence from agents where id = $1")
        .bind(agent)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(last, sequence as i64);
}
