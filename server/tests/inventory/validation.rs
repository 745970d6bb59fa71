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
                i.certificates[5].not_after = Some(Timestamp {
                    seconds: 8_000_000_000,
                    nanos: 0,
                })
            },
            "certificates[5].not_after is not a date between 1970 and 2200",
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
            |i| i.collected_at = ts(base() + Duration::days(3)),
            "collected_at",
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
