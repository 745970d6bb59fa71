use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use tokenwatch_server::ingest::{Applied, IngestError, apply_report};

use crate::support::*;

const CHANGED: Applied = Applied {
    changed: true,
    duplicate: false,
};

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_report_is_stored_with_its_values(pool: PgPool) {
    let office = office(&pool, "Головной офис").await;
    let agent = agent(&pool, office, "buh-01").await;
    let now = base() + Duration::minutes(1);
    let applied = apply_report(&pool, agent, &request(1, &workstation("buh-01")), now)
        .await
        .unwrap();
    assert_eq!(applied, CHANGED);

    let host: (
        String,
        String,
        Option<String>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
    ) = sqlx::query_as(
        "select hostname, os, os_version, collected_at, csp_license_expires from hosts \
             where agent_id = $1",
    )
    .bind(agent)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        host,
        (
            "buh-01".into(),
            "linux".into(),
            Some("Astra Linux 1.7".into()),
            Some(base()),
            Some(base() + Duration::days(500)),
        )
    );
    let csp: String = sqlx::query_scalar(
        "select components->'cryptopro'->'license'->>'serial_prefix' from hosts",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(csp, "5050N");

    let readers: Vec<(String, bool, Option<String>)> = sqlx::query_as(
        "select name, card_present, token_family from host_readers order by ordinal",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        readers,
        [
            (
                "Aktiv Rutoken ECP 00 00".into(),
                true,
                Some("rutoken".into())
            ),
            ("Generic Smart Card Reader 01 00".into(), false, None),
        ]
    );

    let token: (
        String,
        String,
        bool,
        bool,
        Option<i64>,
        Vec<String>,
        String,
        String,
    ) = sqlx::query_as(
        "select ht.label, ht.module, ht.pin_count_low, ht.pin_locked, ht.free_memory, \
                 ht.certificates, t.model, t.serial \
             from host_tokens ht join tokens t on t.id = ht.token_id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        token,
        (
            "Бухгалтерия".into(),
            "/usr/lib/librtpkcs11ecp.so".into(),
            true,
            false,
            Some(40_000),
            vec![cert_hashes(0).0, cert_hashes(1).0],
            TOKEN_MODEL.into(),
            TOKEN_SERIAL.into(),
        )
    );

    assert_eq!(
        count(&pool, "select count(*) from host_containers").await,
        10
    );
    let broken: (
        String,
        Vec<String>,
        String,
        Option<String>,
        Option<DateTime<Utc>>,
    ) = sqlx::query_as(
        "select hc.path, hc.missing_files, hc.damaged_files->0->>'reason', c.name, \
                 hc.private_key_not_after \
             from host_containers hc join containers c on c.id = hc.container_id \
             where not hc.complete",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        broken,
        (
            "/var/opt/cprocsp/keys/buh/cont09.000".into(),
            vec!["masks2.key".into()],
            "truncated".into(),
            Some("le-0009".into()),
            Some(base() + Duration::days(409)),
        )
    );

    assert_eq!(count(&pool, "select count(*) from certificates").await, 50);
    assert_eq!(
        count(
            &pool,
            "select count(*) from certificate_sightings where present"
        )
        .await,
        50
    );
    let (sha1, sha256) = cert_hashes(3);
    let cert: (
        String,
        Vec<String>,
        Option<Vec<u8>>,
        String,
        Option<DateTime<Utc>>,
    ) = sqlx::query_as(
        "select c.subject, c.key_usage, c.der, s.sources->0->>'kind', c.not_after \
             from certificates c join certificate_sightings s on s.certificate_id = c.id \
             where c.sha256 = $1 and c.sha1 = $2",
    )
    .bind(&sha256)
    .bind(&sha1)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        cert,
        (
            "CN=Сотрудник 3,O=ООО Ромашка".into(),
            vec!["digitalSignature".into(), "nonRepudiation".into()],
            Some(vec![0x30, 0x82, 3, 0x01]),
            "container".into(),
            Some(base() + Duration::days(403)),
        )
    );
    let placeholder: Option<Vec<u8>> =
        sqlx::query_scalar("select der from certificates where sha256 = $1")
            .bind(format!("sha1:{}", cert_hashes(44).0))
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(placeholder, None);

    let findings: Vec<(String, Option<String>)> =
        sqlx::query_as("select code, severity from host_findings order by ordinal")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        findings,
        [
            ("token.pin_count_low".into(), Some("warning".into())),
            ("certificate.expiring".into(), Some("critical".into())),
        ]
    );
    let collector: (String, Option<String>, Vec<String>, i64) = sqlx::query_as(
        "select name, status, errors, duration_ms from host_collectors where ordinal = 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        collector,
        (
            "certificates".into(),
            Some("partial".into()),
            vec!["/home/buh/certs: permission denied".into()],
            340,
        )
    );
    let last: (i64, Option<DateTime<Utc>>) =
        sqlx::query_as("select last_sequence, last_seen_at from agents where id = $1")
            .bind(agent)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(last, (1, Some(now)));
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_redelivered_report_changes_nothing(pool: PgPool) {
    let office = office(&pool, "Головной офис").await;
    let agent = agent(&pool, office, "buh-01").await;
    let report = request(5, &workstation("buh-01"));
    apply_report(&pool, agent, &report, base()).await.unwrap();
    let before = snapshot(&pool).await;

    let again = apply_report(&pool, agent, &report, base() + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(
        again,
        Applied {
            changed: false,
            duplicate: true
        }
    );
    // An older sequence with other content is a stale spool entry: ignored too.
    let mut other = workstation("buh-01");
    other.tokens.clear();
    let stale = apply_report(
        &pool,
        agent,
        &request(4, &other),
        base() + Duration::hours(2),
    )
    .await
    .unwrap();
    assert!(stale.duplicate);
    assert_eq!(snapshot(&pool).await, before);
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn unchanged_content_only_moves_last_seen(pool: PgPool) {
    let office = office(&pool, "Головной офис").await;
    let agent = agent(&pool, office, "buh-01").await;
    let t0 = base();
    let t1 = base() + Duration::hours(4);
    apply_report(&pool, agent, &request(1, &workstation("buh-01")), t0)
        .await
        .unwrap();
    let before = snapshot(&pool).await;

    // A later scan of the same content: only its collection time differs.
    let mut later = workstation("buh-01");
    later.collected_at = ts(t1);
    let applied = apply_report(&pool, agent, &request(2, &later), t1)
        .await
        .unwrap();
    assert_eq!(
        applied,
        Applied {
            changed: false,
            duplicate: false
        }
    );
    let after = snapshot(&pool).await;
    let differing: Vec<&str> = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| b != a)
        .map(|(b, _)| b.0.as_str())
        .collect();
    // One row: the host's. Its sightings stay as they were and read as seen at t1 through it.
    assert_eq!(differing, ["agents"]);
    for table in [
        "token_sightings",
        "certificate_sightings",
        "container_sightings",
    ] {
        let seen: Vec<(DateTime<Utc>, Option<DateTime<Utc>>, DateTime<Utc>, bool)> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "select distinct s.first_seen_at, s.last_seen_at, \
                     coalesce(s.last_seen_at, a.last_seen_at), s.present \
                 from {table} s join agents a on a.id = s.agent_id"
            )))
            .fetch_all(&pool)
            .await
            .unwrap();
        assert_eq!(seen, [(t0, None, t1, true)], "{table}");
    }
    let agent_row: (i64, Option<DateTime<Utc>>) =
        sqlx::query_as("select last_sequence, last_seen_at from agents")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(agent_row, (2, Some(t1)));
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn unknown_and_revoked_agents_are_refused(pool: PgPool) {
    let report = request(1, &workstation("buh-01"));
    let unknown = apply_report(&pool, uuid::Uuid::new_v4(), &report, base()).await;
    assert!(
        matches!(unknown, Err(IngestError::UnknownAgent)),
        "{unknown:?}"
    );

    let office = office(&pool, "Филиал").await;
    let agent = agent(&pool, office, "buh-01").await;
    sqlx::query("update agents set revoked_at = $1")
        .bind(base())
        .execute(&pool)
        .await
        .unwrap();
    let before = snapshot(&pool).await;
    let revoked = apply_report(&pool, agent, &report, base()).await;
    assert!(
        matches!(&revoked, Err(IngestError::Refused(reason)) if reason.contains("revoked")),
        "{revoked:?}"
    );
    assert_eq!(snapshot(&pool).await, before);
}
