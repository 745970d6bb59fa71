//! `container.gone`: a key container that no host lists any more, while its key could still
//! sign, alerts once it has been missing for `gone_after_days`; the same container (name and
//! certificate) on another host counts as present, and a container cleared out after its key
//! lapsed is not a loss.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use tokenwatch_proto::v1;
use tokenwatch_server::alerts::{self, OfficeOverrides};
use tokenwatch_server::ingest::apply_report;
use uuid::Uuid;

use crate::alerts::{alerts_like, note, outbox, patient, row};
use crate::support::*;

/// A workstation whose containers keep only those named in `keep`.
fn keeping(hostname: &str, keep: &[&str]) -> v1::Inventory {
    let mut inventory = workstation(hostname);
    inventory
        .containers
        .retain(|c| c.name.as_deref().is_some_and(|n| keep.contains(&n)));
    inventory
}

async fn report(
    pool: &PgPool,
    agent: Uuid,
    sequence: u64,
    inventory: &v1::Inventory,
    at: DateTime<Utc>,
) {
    apply_report(pool, agent, &request(sequence, inventory), at)
        .await
        .unwrap();
}

async fn key_of(pool: &PgPool, name: &str) -> String {
    let id: i64 = sqlx::query_scalar("select min(id) from containers where name = $1")
        .bind(name)
        .fetch_one(pool)
        .await
        .unwrap();
    format!("container.gone:{id}")
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_container_gone_from_every_host_with_a_usable_key_fires_until_it_is_back(pool: PgPool) {
    let office = office(&pool, "Касса").await;
    let one = agent(&pool, office, "kassa-01").await;
    let two = agent(&pool, office, "kassa-02").await;
    let settings = patient();
    // le-0001 is on both hosts (copied), le-0002 on one.
    report(&pool, one, 1, &workstation("kassa-01"), base()).await;
    report(&pool, two, 1, &keeping("kassa-02", &["le-0001"]), base()).await;

    // kassa-01 loses le-0001 and le-0002: le-0001 is still on kassa-02.
    let left = base() + Duration::hours(2);
    let without = keeping(
        "kassa-01",
        &[
            "le-0000", "le-0003", "le-0004", "le-0005", "le-0006", "le-0007", "le-0008", "le-0009",
        ],
    );
    report(&pool, one, 2, &without, left).await;
    // Last seen in the report before, at base(): 7 days from then is not more than 7.
    alerts::evaluate(&pool, base() + Duration::days(7), &settings)
        .await
        .unwrap();
    assert_eq!(alerts_like(&pool, "container.gone:").await, []);

    let later = left + Duration::days(7);
    alerts::evaluate(&pool, later, &settings).await.unwrap();
    let key = key_of(&pool, "le-0002").await;
    assert_eq!(
        alerts_like(&pool, "container.gone:").await,
        [row(&key, "container.gone", "warning", "firing", "kassa-01")]
    );
    let (summary, subject): (String, String) =
        sqlx::query_as("select summary, subject from alerts where key = $1")
            .bind(&key)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        subject,
        "container \"le-0002\" (/var/opt/cprocsp/keys/buh/cont02.000)"
    );
    let key_end = base() + Duration::days(402);
    assert_eq!(
        summary,
        format!(
            "No host has listed the container since {}; its key can sign until {}.",
            base().format("%Y-%m-%d %H:%M UTC"),
            key_end.format("%Y-%m-%d %H:%M UTC")
        )
    );

    // Now le-0001 leaves kassa-02 too: one alert listing both hosts that had it.
    report(&pool, two, 2, &keeping("kassa-02", &[]), later).await;
    let much_later = later + Duration::days(8);
    alerts::evaluate(&pool, much_later, &settings)
        .await
        .unwrap();
    let copied = key_of(&pool, "le-0001").await;
    assert_eq!(
        alerts_like(&pool, &copied).await,
        [row(
            &copied,
            "container.gone",
            "warning",
            "firing",
            "kassa-01,kassa-02"
        )]
    );

    // le-0002 turns up on kassa-02 (the flash drive moved along): resolved, and announced.
    report(
        &pool,
        two,
        3,
        &keeping("kassa-02", &["le-0002"]),
        much_later,
    )
    .await;
    alerts::evaluate(&pool, much_later, &settings)
        .await
        .unwrap();
    assert_eq!(alerts_like(&pool, &key).await[0].3, "resolved");
    assert_eq!(
        outbox(&pool, &key).await,
        [
            note(&key, "fired", "warning"),
            note(&key, "resolved", "warning")
        ]
    );

    // Once le-0001's key can no longer sign, its absence is no loss: resolved.
    let lapsed = base() + Duration::days(401) + Duration::minutes(1);
    alerts::evaluate(&pool, lapsed, &settings).await.unwrap();
    assert_eq!(alerts_like(&pool, &copied).await[0].3, "resolved");
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_container_cleared_out_after_its_key_lapsed_raises_nothing(pool: PgPool) {
    let office = office(&pool, "Архив").await;
    let one = agent(&pool, office, "arh-01").await;
    let mut old = keeping("arh-01", &["le-0000"]);
    old.containers[0].private_key_not_after = ts(base() + Duration::days(1));
    report(&pool, one, 1, &old, base()).await;
    report(
        &pool,
        one,
        2,
        &keeping("arh-01", &[]),
        base() + Duration::days(2),
    )
    .await;
    alerts::evaluate(&pool, base() + Duration::days(30), &patient())
        .await
        .unwrap();
    assert_eq!(alerts_like(&pool, "container.gone:").await, []);
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn an_office_waits_as_long_as_its_own_gone_after_days(pool: PgPool) {
    let office = office(&pool, "Сейф").await;
    let one = agent(&pool, office, "seif-01").await;
    let settings = patient();
    alerts::set_office_overrides(
        &pool,
        "Сейф",
        OfficeOverrides {
            gone_after_days: Some(40),
            ..OfficeOverrides::default()
        },
        &settings,
    )
    .await
    .unwrap();
    report(&pool, one, 1, &keeping("seif-01", &["le-0000"]), base()).await;
    report(&pool, one, 2, &keeping("seif-01", &[]), base()).await;

    alerts::evaluate(&pool, base() + Duration::days(39), &settings)
        .await
        .unwrap();
    assert_eq!(alerts_like(&pool, "container.gone:").await, []);
    alerts::evaluate(&pool, base() + Duration::days(41), &settings)
        .await
        .unwrap();
    let key = key_of(&pool, "le-0000").await;
    assert_eq!(
        alerts_like(&pool, "container.gone:").await,
        [row(&key, "container.gone", "warning", "firing", "seif-01")]
    );
}
