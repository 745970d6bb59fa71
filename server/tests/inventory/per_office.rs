//! Which certificates each office holds (`office_certificates`): the ingest and revocation keep
//! it equal to what the sightings say. A reader of some offices, paging office by office
//! through it (and through their hosts' containers, readers and findings), gets exactly the
//! rows the fleet-wide lists would give them.

use chrono::Duration;
use serde_json::Value;
use sqlx::PgPool;
use tokenwatch_proto::v1;
use tokenwatch_server::ingest::{apply_report, apply_together};
use tokenwatch_server::query::engine::ListSpec;
use tokenwatch_server::query::lists;
use tokenwatch_server::registry::revoke_agent;
use uuid::Uuid;

use crate::support::*;

/// `(office, certificate, hosts)` as kept, and as counted from the sightings of agents not
/// revoked.
async fn kept_and_counted(pool: &PgPool) -> (Vec<(i64, i64, i32)>, Vec<(i64, i64, i32)>) {
    let kept = sqlx::query_as("select office_id, id, hosts from office_certificates order by 1, 2")
        .fetch_all(pool)
        .await
        .unwrap();
    let counted = sqlx::query_as(
        "select g.office_id, s.certificate_id, count(*)::int from certificate_sightings s \
         join agents g on g.id = s.agent_id and g.revoked_at is null \
         where s.present group by 1, 2 order by 1, 2",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    (kept, counted)
}

async fn assert_kept(pool: &PgPool, step: &str) {
    let (kept, counted) = kept_and_counted(pool).await;
    assert!(!kept.is_empty(), "{step}: nothing kept");
    assert_eq!(kept, counted, "{step}");
}

/// A workstation's inventory without its certificates `dropped` and with `extra` (the sample
/// certificate `i` under another hash, ending `i` days after `base()`).
fn variant(hostname: &str, dropped: &[usize], extra: &[usize]) -> v1::Inventory {
    let mut inventory = workstation(hostname);
    let template = inventory.certificates[5].clone();
    let mut kept = Vec::new();
    for (i, certificate) in inventory.certificates.into_iter().enumerate() {
        if !dropped.contains(&i) {
            kept.push(certificate);
        }
    }
    for &i in extra {
        let mut certificate = template.clone();
        certificate.sha256 = format!("{i:064x}");
        certificate.sha1 = format!("{i:040x}");
        certificate.subject = format!("CN=Временный {i},O=ООО Ромашка");
        certificate.subject_cn = Some(format!("Временный {i}"));
        certificate.not_after = ts(base() + Duration::days(i as i64));
        kept.push(certificate);
    }
    inventory.certificates = kept;
    inventory
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn office_counts_follow_every_report_and_revocation(pool: PgPool) {
    let north = office(&pool, "Север").await;
    let south = office(&pool, "Юг").await;
    let mut hosts: Vec<(Uuid, String)> = Vec::new();
    for (office, name) in [
        (north, "n-01"),
        (north, "n-02"),
        (north, "n-03"),
        (south, "s-01"),
        (south, "s-02"),
    ] {
        hosts.push((agent(&pool, office, name).await, name.to_owned()));
    }
    // First reports, in one batch: the same 50 certificates everywhere, n-01 and s-01 with a
    // certificate of their own, and one (900) on n-02 and s-02.
    let extra: [&[usize]; 5] = [&[901], &[900], &[], &[902, 900], &[]];
    let first: Vec<_> = hosts
        .iter()
        .zip(extra)
        .map(|((id, name), extra)| (*id, request(1, &variant(name, &[], extra)), base()))
        .collect();
    for outcome in apply_together(&pool, first).await {
        outcome.unwrap();
    }
    assert_kept(&pool, "first reports").await;
    let hosts_of = |sha1: String| {
        let pool = pool.clone();
        async move {
            sqlx::query_as::<_, (String, i32)>(
                "select o.name, oc.hosts from office_certificates oc \
                 join offices o on o.id = oc.office_id \
                 join certificates c on c.id = oc.id where c.sha1 = $1 order by 1",
            )
            .bind(sha1)
            .fetch_all(&pool)
            .await
            .unwrap()
        }
    };
    let shared = cert_hashes(46).0;
    assert_eq!(
        hosts_of(shared.clone()).await,
        [("Север".to_owned(), 3), ("Юг".to_owned(), 2)]
    );
    assert_eq!(
        hosts_of(format!("{:040x}", 900)).await,
        [("Север".to_owned(), 1), ("Юг".to_owned(), 1)]
    );

    // n-02 drops 900 and the shared 46, n-03 gains 900; s-02 reports again as it was.
    let later = base() + Duration::minutes(10);
    let changes = [
        (1, variant("n-02", &[46], &[])),
        (2, variant("n-03", &[], &[900])),
        (4, variant("s-02", &[], &[])),
    ];
    for (i, inventory) in changes {
        apply_report(&pool, hosts[i].0, &request(2, &inventory), later)
            .await
            .unwrap();
    }
    assert_kept(&pool, "changed reports").await;
    assert_eq!(
        hosts_of(shared.clone()).await,
        [("Север".to_owned(), 2), ("Юг".to_owned(), 2)]
    );
    assert_eq!(
        hosts_of(format!("{:040x}", 900)).await,
        [("Север".to_owned(), 1), ("Юг".to_owned(), 1)],
        "n-02 lost it and n-03 gained it; s-01 still holds it"
    );
    assert_eq!(hosts_of(format!("{:040x}", 902)).await.len(), 1);

    // s-01 is revoked: its certificates stop counting, and the one only it held is gone.
    assert!(revoke_agent(&pool, hosts[3].0).await.unwrap());
    assert_kept(&pool, "revocation").await;
    assert!(hosts_of(format!("{:040x}", 902)).await.is_empty());
    assert_eq!(
        hosts_of(format!("{:040x}", 900)).await,
        [("Север".to_owned(), 1)]
    );
    assert_eq!(
        hosts_of(shared).await,
        [("Север".to_owned(), 2), ("Юг".to_owned(), 1)]
    );
    // A second revocation changes nothing.
    assert!(!revoke_agent(&pool, hosts[3].0).await.unwrap());
    assert_kept(&pool, "second revocation").await;
}

/// Every row of `spec` for `pairs` at `base()`, `limit` at a time, following the cursors.
async fn walk(
    pool: &PgPool,
    spec: &ListSpec,
    pairs: &[(&str, &str)],
    seen: Option<&[i64]>,
) -> Vec<Value> {
    crate::queries::walk(pool, spec, pairs, seen, base()).await
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn offices_read_one_by_one_give_the_fleet_wide_list_s_rows(pool: PgPool) {
    let offices = [
        office(&pool, "Север").await,
        office(&pool, "Юг").await,
        office(&pool, "Запад").await,
    ];
    // 24 hosts of the north, 2 of the south, 1 of the west; each with the 50 shared
    // certificates, one of its own and one of five that several hosts hold.
    let mut n = 0;
    for (office, count) in offices.into_iter().zip([24, 2, 1]) {
        for _ in 0..count {
            n += 1;
            let name = format!("host-{n:02}");
            let id = agent(&pool, office, &name).await;
            let inventory = variant(&name, &[], &[200 + n, 100 + n % 5]);
            apply_report(&pool, id, &request(1, &inventory), base())
                .await
                .unwrap();
        }
    }
    let north_and_south = [offices[0], offices[1]];
    let readers: [(&str, Option<&[i64]>); 3] = [
        ("south", Some(&offices[1..2])),
        ("north and south", Some(&north_and_south)),
        ("everyone", None),
    ];
    for (reader, seen) in readers {
        for sort in lists::CERTIFICATES.sorts {
            for order in ["asc", "desc"] {
                for filter in [None, Some(("expiring_within_days", "103"))] {
                    let mut pairs = vec![("sort", sort.name), ("order", order)];
                    pairs.extend(filter);
                    let label = format!("{reader}: {} {order} {filter:?}", sort.name);
                    // An issuer filter every row passes reads the fleet-wide table.
                    let mut fleet_wide = pairs.clone();
                    fleet_wide.extend([("issuer", "УЦ"), ("limit", "500")]);
                    let expected = walk(&pool, &lists::CERTIFICATES, &fleet_wide, seen).await;
                    pairs.push(("limit", "4"));
                    let paged = walk(&pool, &lists::CERTIFICATES, &pairs, seen).await;
                    assert!(!expected.is_empty(), "{label}");
                    assert_eq!(paged, expected, "{label}");
                }
            }
        }
    }
    // Lists of the hosts' own rows: each office's rows, as the fleet-wide list has them.
    for spec in [&lists::CONTAINERS, &lists::READERS, &lists::FINDINGS] {
        for sort in spec.sorts {
            for order in ["asc", "desc"] {
                let label = format!("{} by {} {order}", spec.name, sort.name);
                let pairs = [("sort", sort.name), ("order", order)];
                let everyone =
                    walk(&pool, spec, &[pairs[0], pairs[1], ("limit", "500")], None).await;
                let expected: Vec<Value> = everyone
                    .into_iter()
                    .filter(|row| row["office"] == "Север" || row["office"] == "Юг")
                    .collect();
                let paged = walk(
                    &pool,
                    spec,
                    &[pairs[0], pairs[1], ("limit", "7")],
                    Some(&north_and_south),
                )
                .await;
                assert!(expected.len() > 7, "{label}");
                assert_eq!(paged, expected, "{label}");
                let south = walk(
                    &pool,
                    spec,
                    &[pairs[0], pairs[1], ("office", "Юг"), ("limit", "3")],
                    None,
                )
                .await;
                assert!(!south.is_empty(), "{label}");
                assert!(south.iter().all(|row| row["office"] == "Юг"), "{label}");
            }
        }
    }
    // The shared certificates: counted on every host seen, 20 of them listed.
    let shared = |rows: &[Value]| {
        rows.iter()
            .find(|r| r["sha1"] == cert_hashes(46).0)
            .cloned()
            .unwrap()
    };
    let all = walk(&pool, &lists::CERTIFICATES, &[("limit", "500")], None).await;
    assert_eq!(shared(&all)["host_count"], 27);
    // Always the same 20, whatever order the database meets the sightings in: the first by
    // agent id (the sightings' own index order, so a CA on every host reads 20 rows), shown
    // by name.
    let listed: Vec<String> = shared(&all)["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["hostname"].as_str().unwrap().to_owned())
        .collect();
    let mut first: Vec<String> = sqlx::query_scalar(
        "select g.hostname from certificate_sightings s join agents g on g.id = s.agent_id \
         join certificates c on c.id = s.certificate_id \
         where c.sha1 = $1 and s.present order by s.agent_id limit 20",
    )
    .bind(cert_hashes(46).0)
    .fetch_all(&pool)
    .await
    .unwrap();
    first.sort();
    assert_eq!(listed, first);
    let south = walk(
        &pool,
        &lists::CERTIFICATES,
        &[("limit", "500")],
        Some(&offices[1..2]),
    )
    .await;
    assert_eq!(shared(&south)["host_count"], 2);
    let south_shared = shared(&south);
    let south_hosts: Vec<&str> = south_shared["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["hostname"].as_str().unwrap())
        .collect();
    assert_eq!(south_hosts, ["host-25", "host-26"]);
    // 50 shared, 27 own, and 100..=104 held by several hosts: each once.
    assert_eq!(all.len(), 50 + 27 + 5);
    // Naming an office reads that office alone, also for an administrator of every office.
    let west = walk(
        &pool,
        &lists::CERTIFICATES,
        &[("office", "Запад"), ("limit", "7")],
        None,
    )
    .await;
    assert_eq!(west.len(), 52);
    let own = west.iter().find(|r| r["sha1"] == format!("{:040x}", 227));
    assert_eq!(own.unwrap()["host_count"], 1);
}
