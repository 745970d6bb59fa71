use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use tokenwatch_server::ingest::apply_report;
use tokenwatch_server::inventory::{Sighting, hosts_of_certificate, hosts_of_token};

use crate::support::*;

fn summary(sightings: &[Sighting]) -> Vec<(&str, &str, DateTime<Utc>, DateTime<Utc>, bool)> {
    sightings
        .iter()
        .map(|s| {
            (
                s.hostname.as_str(),
                s.office.as_str(),
                s.first_seen_at,
                s.last_seen_at,
                s.present,
            )
        })
        .collect()
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_token_moved_between_offices_keeps_its_history(pool: PgPool) {
    let head = office(&pool, "Головной офис").await;
    let branch = office(&pool, "Филиал Тверь").await;
    let a = agent(&pool, head, "buh-01").await;
    let b = agent(&pool, branch, "tver-02").await;
    let t0 = base();
    let t1 = t0 + Duration::days(1);
    let t2 = t0 + Duration::days(2);

    let with_token_a = workstation("buh-01");
    let mut without_token_a = workstation("buh-01");
    without_token_a.tokens.clear();
    let with_token_b = workstation("tver-02");
    let mut without_token_b = workstation("tver-02");
    without_token_b.tokens.clear();

    apply_report(&pool, a, &request(1, &with_token_a), t0)
        .await
        .unwrap();
    apply_report(&pool, b, &request(1, &without_token_b), t0)
        .await
        .unwrap();
    // The token is carried to the branch office.
    apply_report(&pool, a, &request(2, &without_token_a), t1)
        .await
        .unwrap();
    apply_report(&pool, b, &request(2, &with_token_b), t1)
        .await
        .unwrap();

    let sightings = hosts_of_token(&pool, TOKEN_MODEL, TOKEN_SERIAL)
        .await
        .unwrap();
    assert_eq!(
        summary(&sightings),
        [
            ("buh-01", "Головной офис", t0, t0, false),
            ("tver-02", "Филиал Тверь", t1, t1, true),
        ]
    );
    assert_eq!(sightings[0].agent_id, a);
    assert_eq!(count(&pool, "select count(*) from tokens").await, 1);
    // The host's current rows follow the report.
    let on_a: i64 = sqlx::query_scalar("select count(*) from host_tokens where agent_id = $1")
        .bind(a)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(on_a, 0);

    // And back: the first sighting keeps its first_seen_at.
    apply_report(&pool, b, &request(3, &without_token_b), t2)
        .await
        .unwrap();
    apply_report(&pool, a, &request(3, &with_token_a), t2)
        .await
        .unwrap();
    let sightings = hosts_of_token(&pool, " Rutoken ECP", "3a6b0f21 ")
        .await
        .unwrap();
    assert_eq!(
        summary(&sightings),
        [
            ("buh-01", "Головной офис", t0, t2, true),
            ("tver-02", "Филиал Тверь", t1, t1, false),
        ]
    );
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_certificate_on_two_hosts_is_one_identity(pool: PgPool) {
    let head = office(&pool, "Головной офис").await;
    let branch = office(&pool, "Филиал Тверь").await;
    let a = agent(&pool, head, "buh-01").await;
    let b = agent(&pool, branch, "tver-02").await;
    let t0 = base();
    let t1 = t0 + Duration::hours(3);
    apply_report(&pool, a, &request(1, &workstation("buh-01")), t0)
        .await
        .unwrap();
    apply_report(&pool, b, &request(1, &workstation("tver-02")), t1)
        .await
        .unwrap();

    assert_eq!(count(&pool, "select count(*) from certificates").await, 50);
    assert_eq!(
        count(&pool, "select count(*) from certificate_sightings").await,
        100
    );
    let (_, sha256) = cert_hashes(7);
    let sightings = hosts_of_certificate(&pool, &sha256.to_uppercase())
        .await
        .unwrap();
    assert_eq!(
        summary(&sightings),
        [
            ("buh-01", "Головной офис", t0, t0, true),
            ("tver-02", "Филиал Тверь", t1, t1, true),
        ]
    );
    // A certmgr-only entry is its own identity, found by its placeholder.
    let placeholder = format!("sha1:{}", cert_hashes(44).0);
    assert_eq!(
        hosts_of_certificate(&pool, &placeholder)
            .await
            .unwrap()
            .len(),
        2
    );

    // The certificate leaves one host: that sighting goes absent, the other stays.
    let mut fewer = workstation("tver-02");
    fewer.certificates.retain(|c| c.sha256 != sha256);
    apply_report(&pool, b, &request(2, &fewer), t1 + Duration::hours(1))
        .await
        .unwrap();
    let sightings = hosts_of_certificate(&pool, &sha256).await.unwrap();
    assert_eq!(
        summary(&sightings),
        [
            ("buh-01", "Головной офис", t0, t0, true),
            ("tver-02", "Филиал Тверь", t1, t1, false),
        ]
    );
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_container_that_disappears_and_returns_keeps_its_identity(pool: PgPool) {
    let head = office(&pool, "Головной офис").await;
    let a = agent(&pool, head, "buh-01").await;
    let t0 = base();
    let t1 = t0 + Duration::days(1);
    let t2 = t0 + Duration::days(2);
    let full = workstation("buh-01");
    let mut fewer = workstation("buh-01");
    fewer.containers.truncate(8);
    let mut renamed = workstation("buh-01");
    renamed.containers[9].name = Some("le-renamed".into());

    apply_report(&pool, a, &request(1, &full), t0)
        .await
        .unwrap();
    apply_report(&pool, a, &request(2, &fewer), t1)
        .await
        .unwrap();
    let absent: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
        "select c.path, s.last_seen_at from container_sightings s \
         join containers c on c.id = s.container_id where not s.present order by c.path",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        absent,
        [
            ("/var/opt/cprocsp/keys/buh/cont08.000".into(), t0),
            ("/var/opt/cprocsp/keys/buh/cont09.000".into(), t0),
        ]
    );
    assert_eq!(
        count(&pool, "select count(*) from host_containers").await,
        8
    );

    apply_report(&pool, a, &request(3, &renamed), t2)
        .await
        .unwrap();
    let back: (String, DateTime<Utc>, DateTime<Utc>, bool) = sqlx::query_as(
        "select c.name, s.first_seen_at, coalesce(s.last_seen_at, a.last_seen_at), s.present \
         from container_sightings s join containers c on c.id = s.container_id \
         join agents a on a.id = s.agent_id where c.path like '%cont09.000'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(back, ("le-renamed".into(), t0, t2, true));
    assert_eq!(count(&pool, "select count(*) from containers").await, 10);
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_token_seen_through_two_modules_is_one_token(pool: PgPool) {
    let head = office(&pool, "Головной офис").await;
    let a = agent(&pool, head, "buh-01").await;
    let mut inventory = workstation("buh-01");
    let mut via_opensc = rutoken();
    via_opensc.module = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so".into();
    via_opensc.serial = TOKEN_SERIAL.into();
    inventory.tokens.push(via_opensc);
    // A token without a serial is listed on the host but has no identity.
    inventory.tokens.push(tokenwatch_proto::v1::Token {
        module: "/usr/lib/softhsm/libsofthsm2.so".into(),
        label: "test".into(),
        serial: "  ".into(),
        model: "SoftHSM v2".into(),
        ..Default::default()
    });
    apply_report(&pool, a, &request(1, &inventory), base())
        .await
        .unwrap();

    assert_eq!(count(&pool, "select count(*) from tokens").await, 1);
    assert_eq!(
        count(&pool, "select count(*) from token_sightings").await,
        1
    );
    let rows: Vec<(String, Option<i64>)> =
        sqlx::query_as("select module, token_id from host_tokens order by ordinal")
            .fetch_all(&pool)
            .await
            .unwrap();
    let ids: Vec<Option<i64>> = rows.iter().map(|r| r.1).collect();
    assert_eq!(rows.len(), 3);
    assert!(ids[0].is_some());
    assert_eq!(ids[0], ids[1]);
    assert_eq!(ids[2], None);
    assert_eq!(rows[2].0, "/usr/lib/softhsm/libsofthsm2.so");
}
