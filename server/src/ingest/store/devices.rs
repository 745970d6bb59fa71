//! Tokens and key containers: their identities, sightings and current rows.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tokenwatch_proto::v1;
use uuid::Uuid;

use super::{ordinals, sightings};
use crate::ingest::convert;

pub(super) async fn tokens(
    conn: &mut PgConnection,
    agent: Uuid,
    tokens: &[v1::Token],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    // One token may show through two PKCS#11 modules: one identity, one sighting. Sorted keys
    // make concurrent reports lock shared rows in the same order.
    let keys: BTreeSet<(String, String)> = tokens.iter().filter_map(convert::token_key).collect();
    let (models, serials): (Vec<String>, Vec<String>) = keys.into_iter().unzip();
    let mut ids: HashMap<(String, String), i64> = HashMap::new();
    if !models.is_empty() {
        sqlx::query(
            "insert into tokens (model, serial, first_seen_at) \
             select m, s, $3 from unnest($1::text[], $2::text[]) as u(m, s) \
             on conflict (model, serial) do nothing",
        )
        .bind(&models)
        .bind(&serials)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "select t.id, t.model, t.serial from tokens t \
             join unnest($1::text[], $2::text[]) as u(m, s) on t.model = u.m and t.serial = u.s",
        )
        .bind(&models)
        .bind(&serials)
        .fetch_all(&mut *conn)
        .await?;
        ids = rows.into_iter().map(|(id, m, s)| ((m, s), id)).collect();
    }
    let mut present: Vec<i64> = ids.values().copied().collect();
    present.sort_unstable();
    sightings(conn, "token_sightings", "token_id", agent, &present, now).await?;

    if tokens.is_empty() {
        return Ok(());
    }
    let token_id: Vec<Option<i64>> = tokens
        .iter()
        .map(|t| convert::token_key(t).and_then(|k| ids.get(&k).copied()))
        .collect();
    let text = |f: fn(&v1::Token) -> &str| -> Vec<&str> { tokens.iter().map(f).collect() };
    let opt =
        |f: fn(&v1::Token) -> Option<&str>| -> Vec<Option<&str>> { tokens.iter().map(f).collect() };
    let pin = |f: fn(&v1::PinState) -> bool| -> Vec<bool> {
        tokens
            .iter()
            .map(|t| t.pin.as_ref().is_some_and(f))
            .collect()
    };
    let memory = |f: fn(&v1::Token) -> Option<u64>| -> Vec<Option<i64>> {
        tokens.iter().map(|t| f(t).map(convert::int)).collect()
    };
    let slot: Vec<i64> = tokens.iter().map(|t| convert::int(t.slot_id)).collect();
    let family: Vec<Option<String>> = tokens
        .iter()
        .map(|t| convert::family(t.token_family))
        .collect();
    let certificates: Vec<String> = tokens
        .iter()
        .map(|t| {
            let lower: Vec<String> = t
                .certificates
                .iter()
                .map(|c| c.to_ascii_lowercase())
                .collect();
            convert::json_list(&lower)
        })
        .collect();
    sqlx::query(
        "insert into host_tokens (agent_id, ordinal, token_id, module, slot_id, slot_description, \
             label, serial, manufacturer, model, token_family, hardware_version, \
             firmware_version, total_memory, free_memory, pin_initialized, pin_user_initialized, \
             pin_locked, pin_count_low, pin_final_try, pin_must_change, pin_so_locked, \
             certificates) \
         select $1, o, tid, m, sl, sd, l, s, mf, md, f, hv, fv, tm, fm, pi, pu, pl, pc, pf, pm, \
             ps, array(select jsonb_array_elements_text(c::jsonb)) \
         from unnest($2::int[], $3::bigint[], $4::text[], $5::bigint[], $6::text[], $7::text[], \
             $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], \
             $14::bigint[], $15::bigint[], $16::bool[], $17::bool[], $18::bool[], $19::bool[], \
             $20::bool[], $21::bool[], $22::bool[], $23::text[]) \
             as u(o, tid, m, sl, sd, l, s, mf, md, f, hv, fv, tm, fm, pi, pu, pl, pc, pf, pm, \
                 ps, c)",
    )
    .bind(agent)
    .bind(ordinals(tokens.len()))
    .bind(token_id)
    .bind(text(|t| &t.module))
    .bind(slot)
    .bind(opt(|t| t.slot_description.as_deref()))
    .bind(text(|t| &t.label))
    .bind(text(|t| &t.serial))
    .bind(text(|t| &t.manufacturer))
    .bind(text(|t| &t.model))
    .bind(family)
    .bind(opt(|t| t.hardware_version.as_deref()))
    .bind(opt(|t| t.firmware_version.as_deref()))
    .bind(memory(|t| t.total_memory))
    .bind(memory(|t| t.free_memory))
    .bind(pin(|p| p.initialized))
    .bind(pin(|p| p.user_pin_initialized))
    .bind(pin(|p| p.locked))
    .bind(pin(|p| p.count_low))
    .bind(pin(|p| p.final_try))
    .bind(pin(|p| p.must_change))
    .bind(pin(|p| p.so_locked))
    .bind(certificates)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn containers(
    conn: &mut PgConnection,
    agent: Uuid,
    containers: &[v1::Container],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    // The first entry for a path names the container.
    let mut by_path: BTreeMap<&str, Option<&str>> = BTreeMap::new();
    for c in containers {
        by_path.entry(c.path.as_str()).or_insert(c.name.as_deref());
    }
    let (paths, names): (Vec<&str>, Vec<Option<&str>>) = by_path.into_iter().unzip();
    let mut ids: HashMap<String, i64> = HashMap::new();
    if !paths.is_empty() {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "insert into containers (agent_id, path, name, first_seen_at) \
             select $1, p, n, $4 from unnest($2::text[], $3::text[]) as u(p, n) \
             on conflict (agent_id, path) do update set name = excluded.name \
             returning id, path",
        )
        .bind(agent)
        .bind(&paths)
        .bind(&names)
        .bind(now)
        .fetch_all(&mut *conn)
        .await?;
        ids = rows.into_iter().map(|(id, path)| (path, id)).collect();
    }
    let mut present: Vec<i64> = ids.values().copied().collect();
    present.sort_unstable();
    sightings(
        conn,
        "container_sightings",
        "container_id",
        agent,
        &present,
        now,
    )
    .await?;

    if containers.is_empty() {
        return Ok(());
    }
    let container_id: Vec<Option<i64>> = containers
        .iter()
        .map(|c| ids.get(&c.path).copied())
        .collect();
    let opt = |f: fn(&v1::Container) -> Option<&str>| -> Vec<Option<&str>> {
        containers.iter().map(f).collect()
    };
    let at =
        |f: fn(&v1::Container) -> Option<&prost_types::Timestamp>| -> Vec<Option<DateTime<Utc>>> {
            containers.iter().map(|c| convert::time(f(c))).collect()
        };
    let media: Vec<Option<String>> = containers.iter().map(|c| convert::media(c.media)).collect();
    let complete: Vec<bool> = containers.iter().map(|c| c.complete).collect();
    let missing: Vec<String> = containers
        .iter()
        .map(|c| convert::json_list(&c.missing_files))
        .collect();
    let damaged: Vec<String> = containers
        .iter()
        .map(|c| {
            let files: Vec<serde_json::Value> = c
                .damaged_files
                .iter()
                .map(|d| serde_json::json!({ "file": d.file, "reason": d.reason }))
                .collect();
            serde_json::Value::from(files).to_string()
        })
        .collect();
    let exportable: Vec<Option<bool>> = containers.iter().map(|c| c.exportable).collect();
    let sha1: Vec<Option<String>> = containers
        .iter()
        .map(|c| c.certificate_sha1.as_ref().map(|s| s.to_ascii_lowercase()))
        .collect();
    sqlx::query(
        "insert into host_containers (agent_id, ordinal, container_id, name, path, media, owner, \
             complete, missing_files, damaged_files, key_algorithm, key_algorithm_oid, \
             exportable, certificate_sha1, private_key_not_before, private_key_not_after) \
         select $1, o, cid, n, p, m, ow, c, array(select jsonb_array_elements_text(mf::jsonb)), \
             df::jsonb, ka, ko, e, s, nb, na \
         from unnest($2::int[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], \
             $8::bool[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bool[], \
             $14::text[], $15::timestamptz[], $16::timestamptz[]) \
             as u(o, cid, n, p, m, ow, c, mf, df, ka, ko, e, s, nb, na)",
    )
    .bind(agent)
    .bind(ordinals(containers.len()))
    .bind(container_id)
    .bind(opt(|c| c.name.as_deref()))
    .bind(opt(|c| Some(c.path.as_str())))
    .bind(media)
    .bind(opt(|c| c.owner.as_deref()))
    .bind(complete)
    .bind(missing)
    .bind(damaged)
    .bind(opt(|c| c.key_algorithm.as_deref()))
    .bind(opt(|c| c.key_algorithm_oid.as_deref()))
    .bind(exportable)
    .bind(sha1)
    .bind(at(|c| c.private_key_not_before.as_ref()))
    .bind(at(|c| c.private_key_not_after.as_ref()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}
