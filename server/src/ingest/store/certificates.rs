//! Certificates: one identity per SHA-256 across the fleet, one sighting per host.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::{AssertSqlSafe, PgConnection};
use tokenwatch_proto::v1;

use super::{Changed, Extra, report_times, sightings_sql};
use crate::ingest::convert;

/// A certificate of the batch: the entry that describes it and the earliest report with it.
struct Entry<'a> {
    certificate: &'a v1::Certificate,
    first_seen: DateTime<Utc>,
}

pub(super) async fn certificates(
    conn: &mut PgConnection,
    changed: &[Changed<'_>],
) -> Result<(), sqlx::Error> {
    // Sorted by key: concurrent batches sharing CA certificates take their locks in one order.
    let mut entries: BTreeMap<String, Entry<'_>> = BTreeMap::new();
    for c in changed {
        for certificate in &c.inventory.certificates {
            let entry = entries
                .entry(certificate.sha256.to_ascii_lowercase())
                .or_insert(Entry {
                    certificate,
                    first_seen: c.received,
                });
            entry.first_seen = entry.first_seen.min(c.received);
            if entry.certificate.der.is_empty() && !certificate.der.is_empty() {
                entry.certificate = certificate;
            }
        }
    }
    let ids = certificate_ids(conn, &entries).await?;

    let mut agents = Vec::new();
    let mut present = Vec::new();
    let mut sources = Vec::new();
    let mut sources_sha256 = Vec::new();
    let mut issuer_present = Vec::new();
    for c in changed {
        let mut on_host = HashSet::new();
        for certificate in &c.inventory.certificates {
            let Some(&id) = ids.get(&certificate.sha256.to_ascii_lowercase()) else {
                continue;
            };
            if !on_host.insert(id) {
                continue;
            }
            agents.push(c.agent);
            present.push(id);
            let list: Vec<serde_json::Value> = certificate
                .sources
                .iter()
                .map(|s| json!({ "kind": convert::source_kind(s.kind), "location": s.location }))
                .collect();
            let text = serde_json::Value::from(list).to_string();
            sources_sha256.push(Sha256::digest(text.as_bytes()).to_vec());
            sources.push(text);
            issuer_present.push(certificate.issuer_present);
        }
    }
    let times = report_times(changed);
    let sql = sightings_sql(
        "certificate_sightings",
        "certificate_id",
        &[
            // Parsing every listed row's sources to compare them cost more than the rest of
            // the statement; their hash, as sent, is compared instead.
            Extra {
                name: "sources",
                ty: Some("text"),
                value: "s.sources::jsonb",
                compared: false,
            },
            Extra {
                name: "sources_sha256",
                ty: Some("bytea"),
                value: "s.sources_sha256",
                compared: true,
            },
            // Which office holds it: a reader of some offices finds the hosts of theirs
            // holding a certificate without reading the sightings of every other office.
            Extra {
                name: "office_id",
                ty: None,
                value: "(select g.office_id from agents g where g.id = s.agent_id)",
                compared: false,
            },
            Extra {
                name: "issuer_present",
                ty: Some("bool"),
                value: "s.issuer_present",
                compared: true,
            },
        ],
        Some(OFFICE_COUNTS),
    );
    let emptied: Vec<(i64, i64)> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(agents)
        .bind(present)
        .bind(times.agents)
        .bind(times.previous)
        .bind(times.received)
        .bind(sources)
        .bind(sources_sha256)
        .bind(issuer_present)
        .fetch_all(&mut *conn)
        .await?;
    delete_emptied(conn, emptied).await
}

/// Delete the offices' certificate rows `emptied` (office, certificate) whose count is 0.
pub(crate) async fn delete_emptied(
    conn: &mut PgConnection,
    emptied: Vec<(i64, i64)>,
) -> Result<(), sqlx::Error> {
    if emptied.is_empty() {
        return Ok(());
    }
    // Checked again under the row's lock: a batch that added a host meanwhile keeps it.
    let (offices, ids): (Vec<i64>, Vec<i64>) = emptied.into_iter().unzip();
    sqlx::query(
        "delete from office_certificates oc using unnest($1::bigint[], $2::bigint[]) \
             as e(office_id, id) \
         where oc.office_id = e.office_id and oc.id = e.id and oc.hosts <= 0",
    )
    .bind(offices)
    .bind(ids)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The rest of the sightings statement: each office's count of hosts with a certificate moves
/// by the sightings its hosts gained and lost, in one upsert sorted by key (concurrent batches
/// lock shared rows in one order), and the rows it leaves at 0 are named for deletion. Revoked
/// agents no longer count (their sightings were taken out when they were revoked).
const OFFICE_COUNTS: &str = "\
    , moved as ( \
        select g.office_id, d.item_id as id, sum(d.n)::int as n \
        from (select agent_id, item_id, -1 as n from missing \
              union all select agent_id, item_id, 1 from gained) d \
        join agents g on g.id = d.agent_id and g.revoked_at is null \
        group by g.office_id, d.item_id having sum(d.n) <> 0 \
    ), counted as ( \
        insert into office_certificates as oc (office_id, id, hosts, not_after, \
            private_key_not_after, subject, subject_cn, first_seen_at, qualified, is_ca) \
        select m.office_id, m.id, m.n, c.not_after, c.private_key_not_after, c.subject, \
            c.subject_cn, c.first_seen_at, c.qualified, c.is_ca \
        from moved m join certificates c on c.id = m.id \
        order by m.office_id, m.id \
        on conflict (office_id, id) do update set hosts = oc.hosts + excluded.hosts \
        returning oc.office_id, oc.id, oc.hosts \
    ) \
    select office_id, id from counted where hosts <= 0";

/// The identities of `entries` by SHA-256. Known certificates are only looked up: their
/// summary follows from their DER, so it cannot differ, and leaving shared rows (CA
/// certificates on every host) untouched keeps reports from many hosts from queueing on them.
/// New ones are inserted, and a known one without DER gets the DER this batch brings.
async fn certificate_ids(
    conn: &mut PgConnection,
    entries: &BTreeMap<String, Entry<'_>>,
) -> Result<HashMap<String, i64>, sqlx::Error> {
    if entries.is_empty() {
        return Ok(HashMap::new());
    }
    let hashes: Vec<&str> = entries.keys().map(String::as_str).collect();
    let known: Vec<(i64, String, bool)> = sqlx::query_as(
        "select id, sha256, der is null from certificates where sha256 = any($1::text[])",
    )
    .bind(&hashes)
    .fetch_all(&mut *conn)
    .await?;
    let mut ids: HashMap<String, i64> = HashMap::new();
    let mut lacking_der: Vec<(&str, &[u8])> = Vec::new();
    for (id, sha256, der_missing) in known {
        if let Some((key, entry)) = entries.get_key_value(&sha256) {
            if der_missing && !entry.certificate.der.is_empty() {
                lacking_der.push((key, &entry.certificate.der));
            }
        }
        ids.insert(sha256, id);
    }

    let new: Vec<(&str, &Entry<'_>)> = entries
        .iter()
        .filter(|(h, _)| !ids.contains_key(h.as_str()))
        .map(|(h, e)| (h.as_str(), e))
        .collect();
    if !new.is_empty() {
        let certs: Vec<&v1::Certificate> = new.iter().map(|(_, e)| e.certificate).collect();
        let sha256: Vec<&str> = new.iter().map(|(h, _)| *h).collect();
        let first_seen: Vec<DateTime<Utc>> = new.iter().map(|(_, e)| e.first_seen).collect();
        let inserted = insert_identities(conn, &certs, &sha256, &first_seen).await?;
        ids.extend(inserted.into_iter().map(|(id, h)| (h, id)));
        if ids.len() < entries.len() {
            // Another transaction inserted some of them meanwhile; they are visible now.
            let rows: Vec<(i64, String)> = sqlx::query_as(
                "select id, sha256 from certificates where sha256 = any($1::text[])",
            )
            .bind(&sha256)
            .fetch_all(&mut *conn)
            .await?;
            ids.extend(rows.into_iter().map(|(id, h)| (h, id)));
        }
    }
    if ids.len() < entries.len() {
        return Err(sqlx::Error::RowNotFound);
    }
    if !lacking_der.is_empty() {
        lacking_der.sort_unstable();
        let (sha256, der): (Vec<&str>, Vec<&[u8]>) = lacking_der.into_iter().unzip();
        sqlx::query(
            "update certificates c set der = u.der \
             from unnest($1::text[], $2::bytea[]) as u(h, der) \
             where c.sha256 = u.h and c.der is null",
        )
        .bind(sha256)
        .bind(der)
        .execute(&mut *conn)
        .await?;
    }
    Ok(ids)
}

/// Insert `certs`, which were not known a moment ago; one inserted meanwhile by another
/// transaction is skipped (and missing from the answer).
async fn insert_identities(
    conn: &mut PgConnection,
    certs: &[&v1::Certificate],
    sha256: &[&str],
    first_seen: &[DateTime<Utc>],
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let text =
        |f: fn(&v1::Certificate) -> &str| -> Vec<&str> { certs.iter().map(|c| f(c)).collect() };
    let opt = |f: fn(&v1::Certificate) -> Option<&str>| -> Vec<Option<&str>> {
        certs.iter().map(|c| f(c)).collect()
    };
    let at = |f: fn(&v1::Certificate) -> Option<&Timestamp>| -> Vec<Option<DateTime<Utc>>> {
        certs.iter().map(|c| convert::time(f(c))).collect()
    };
    let flag =
        |f: fn(&v1::Certificate) -> bool| -> Vec<bool> { certs.iter().map(|c| f(c)).collect() };
    let list = |f: fn(&v1::Certificate) -> &[String]| -> Vec<String> {
        certs.iter().map(|c| convert::json_list(f(c))).collect()
    };
    let sha1: Vec<String> = certs.iter().map(|c| c.sha1.to_ascii_lowercase()).collect();
    let der: Vec<Option<&[u8]>> = certs
        .iter()
        .map(|c| (!c.der.is_empty()).then_some(c.der.as_slice()))
        .collect();
    sqlx::query_as(
        "insert into certificates (sha256, sha1, serial, subject, issuer, subject_cn, issuer_cn, \
             organization, email, inn, inn_le, ogrn, ogrnip, snils, not_before, not_after, \
             private_key_not_before, private_key_not_after, key_usage, extended_key_usage, \
             signature_algorithm, public_key_algorithm, qualified, subject_sign_tool, is_ca, \
             self_signed, authority_key_id, subject_key_id, der, first_seen_at) \
         select h, s1, sn, sj, iss, scn, icn, org, em, inn, innle, ogrn, ogrnip, snils, nb, na, \
             knb, kna, array(select jsonb_array_elements_text(ku::jsonb)), \
             array(select jsonb_array_elements_text(eku::jsonb)), sa, pka, q, sst, ca, ss, aki, \
             ski, der, at \
         from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
             $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], \
             $13::text[], $14::text[], $15::timestamptz[], $16::timestamptz[], \
             $17::timestamptz[], $18::timestamptz[], $19::text[], $20::text[], $21::text[], \
             $22::text[], $23::bool[], $24::text[], $25::bool[], $26::bool[], $27::text[], \
             $28::text[], $29::bytea[], $30::timestamptz[]) \
             as u(h, s1, sn, sj, iss, scn, icn, org, em, inn, innle, ogrn, ogrnip, snils, nb, \
                 na, knb, kna, ku, eku, sa, pka, q, sst, ca, ss, aki, ski, der, at) \
         order by h \
         on conflict (sha256) do nothing \
         returning id, sha256",
    )
    .bind(sha256)
    .bind(&sha1)
    .bind(text(|c| &c.serial))
    .bind(text(|c| &c.subject))
    .bind(text(|c| &c.issuer))
    .bind(opt(|c| c.subject_cn.as_deref()))
    .bind(opt(|c| c.issuer_cn.as_deref()))
    .bind(opt(|c| c.organization.as_deref()))
    .bind(opt(|c| c.email.as_deref()))
    .bind(opt(|c| c.inn.as_deref()))
    .bind(opt(|c| c.inn_le.as_deref()))
    .bind(opt(|c| c.ogrn.as_deref()))
    .bind(opt(|c| c.ogrnip.as_deref()))
    .bind(opt(|c| c.snils.as_deref()))
    .bind(at(|c| c.not_before.as_ref()))
    .bind(at(|c| c.not_after.as_ref()))
    .bind(at(|c| c.private_key_not_before.as_ref()))
    .bind(at(|c| c.private_key_not_after.as_ref()))
    .bind(list(|c| &c.key_usage))
    .bind(list(|c| &c.extended_key_usage))
    .bind(text(|c| &c.signature_algorithm))
    .bind(text(|c| &c.public_key_algorithm))
    .bind(flag(|c| c.qualified))
    .bind(opt(|c| c.subject_sign_tool.as_deref()))
    .bind(flag(|c| c.is_ca))
    .bind(flag(|c| c.self_signed))
    .bind(opt(|c| c.authority_key_id.as_deref()))
    .bind(opt(|c| c.subject_key_id.as_deref()))
    .bind(&der)
    .bind(first_seen)
    .fetch_all(&mut *conn)
    .await
}
