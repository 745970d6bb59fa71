//! Certificates: one identity per SHA-256 across the fleet, one sighting per host.

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use serde_json::json;
use sqlx::PgConnection;
use tokenwatch_proto::v1;
use uuid::Uuid;

use crate::ingest::convert;

pub(super) async fn certificates(
    conn: &mut PgConnection,
    agent: Uuid,
    certificates: &[v1::Certificate],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    // Sorted by key: concurrent reports sharing CA certificates take their locks in one order.
    let mut certs: Vec<&v1::Certificate> = certificates.iter().collect();
    certs.sort_by_key(|c| c.sha256.to_ascii_lowercase());
    let sha256: Vec<String> = certs
        .iter()
        .map(|c| c.sha256.to_ascii_lowercase())
        .collect();
    if !certs.is_empty() {
        insert_identities(conn, &certs, &sha256, now).await?;
    }
    let ids: Vec<i64> = if certs.is_empty() {
        Vec::new()
    } else {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("select id, sha256 from certificates where sha256 = any($1::text[])")
                .bind(&sha256)
                .fetch_all(&mut *conn)
                .await?;
        let by_hash: std::collections::HashMap<String, i64> =
            rows.into_iter().map(|(id, h)| (h, id)).collect();
        // Every hash was inserted above or already known, in this transaction's view.
        sha256
            .iter()
            .map(|h| by_hash.get(h).copied().ok_or(sqlx::Error::RowNotFound))
            .collect::<Result<_, _>>()?
    };

    let sources: Vec<String> = certs
        .iter()
        .map(|c| {
            let list: Vec<serde_json::Value> = c
                .sources
                .iter()
                .map(|s| json!({ "kind": convert::source_kind(s.kind), "location": s.location }))
                .collect();
            serde_json::Value::from(list).to_string()
        })
        .collect();
    let issuer_present: Vec<Option<bool>> = certs.iter().map(|c| c.issuer_present).collect();
    // The rows marked gone and the rows upserted are disjoint: one statement does both.
    sqlx::query(
        "with gone as ( \
             update certificate_sightings set present = false \
             where agent_id = $2 and present and certificate_id <> all($1::bigint[]) \
         ) \
         insert into certificate_sightings (certificate_id, agent_id, first_seen_at, \
             last_seen_at, present, sources, issuer_present) \
         select id, $2, $3, $3, true, s::jsonb, ip \
         from unnest($1::bigint[], $4::text[], $5::bool[]) as u(id, s, ip) \
         on conflict (certificate_id, agent_id) do update set \
             last_seen_at = excluded.last_seen_at, present = true, \
             sources = excluded.sources, issuer_present = excluded.issuer_present",
    )
    .bind(&ids)
    .bind(agent)
    .bind(now)
    .bind(sources)
    .bind(issuer_present)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Insert the certificates not yet known. A known one is left alone (its summary follows from
/// its DER, so it cannot differ) unless this report brings the DER it lacked: touching shared
/// rows only when needed keeps reports from many hosts from queueing on the same CA rows.
async fn insert_identities(
    conn: &mut PgConnection,
    certs: &[&v1::Certificate],
    sha256: &[String],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
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
    sqlx::query(
        "insert into certificates (sha256, sha1, serial, subject, issuer, subject_cn, issuer_cn, \
             organization, email, inn, inn_le, ogrn, ogrnip, snils, not_before, not_after, \
             private_key_not_before, private_key_not_after, key_usage, extended_key_usage, \
             signature_algorithm, public_key_algorithm, qualified, subject_sign_tool, is_ca, \
             self_signed, authority_key_id, subject_key_id, der, first_seen_at) \
         select h, s1, sn, sj, iss, scn, icn, org, em, inn, innle, ogrn, ogrnip, snils, nb, na, \
             knb, kna, array(select jsonb_array_elements_text(ku::jsonb)), \
             array(select jsonb_array_elements_text(eku::jsonb)), sa, pka, q, sst, ca, ss, aki, \
             ski, der, $30 \
         from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
             $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], \
             $13::text[], $14::text[], $15::timestamptz[], $16::timestamptz[], \
             $17::timestamptz[], $18::timestamptz[], $19::text[], $20::text[], $21::text[], \
             $22::text[], $23::bool[], $24::text[], $25::bool[], $26::bool[], $27::text[], \
             $28::text[], $29::bytea[]) \
             as u(h, s1, sn, sj, iss, scn, icn, org, em, inn, innle, ogrn, ogrnip, snils, nb, \
                 na, knb, kna, ku, eku, sa, pka, q, sst, ca, ss, aki, ski, der) \
         order by h \
         on conflict (sha256) do nothing",
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
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if der.iter().any(Option::is_some) {
        sqlx::query(
            "update certificates c set der = u.der \
             from unnest($1::text[], $2::bytea[]) as u(h, der) \
             where c.sha256 = u.h and c.der is null and u.der is not null",
        )
        .bind(sha256)
        .bind(&der)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
