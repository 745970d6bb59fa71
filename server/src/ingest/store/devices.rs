//! Tokens and key containers: their identities, sightings and current rows.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, PgConnection};
use tokenwatch_proto::v1;
use uuid::Uuid;

use super::{Changed, Kind, Rows, sightings, upsert_sql};
use crate::ingest::convert;

pub(super) async fn tokens(
    conn: &mut PgConnection,
    changed: &[Changed<'_>],
) -> Result<(), sqlx::Error> {
    // One token may show through two PKCS#11 modules, or on two hosts of the batch: one
    // identity, first seen by the earliest report. Sorted keys make concurrent batches lock
    // shared rows in the same order.
    let mut first_seen: BTreeMap<(String, String), DateTime<Utc>> = BTreeMap::new();
    for c in changed {
        for key in c.inventory.tokens.iter().filter_map(convert::token_key) {
            let at = first_seen.entry(key).or_insert(c.received);
            *at = (*at).min(c.received);
        }
    }
    let ids = token_ids(conn, &first_seen).await?;

    let mut present: Vec<(Uuid, i64)> = Vec::new();
    for c in changed {
        let mut on_host = HashSet::new();
        for key in c.inventory.tokens.iter().filter_map(convert::token_key) {
            if let Some(&id) = ids.get(&key) {
                if on_host.insert(id) {
                    present.push((c.agent, id));
                }
            }
        }
    }
    sightings(conn, "token_sightings", "token_id", changed, &present).await?;

    let rows = Rows::of(changed, |i| &i.tokens);
    if rows.is_empty() {
        return Ok(());
    }
    const COLUMNS: &[(&str, Kind)] = &[
        ("token_id", Kind::Plain("bigint")),
        ("module", Kind::Plain("text")),
        ("slot_id", Kind::Plain("bigint")),
        ("slot_description", Kind::Plain("text")),
        ("label", Kind::Plain("text")),
        ("serial", Kind::Plain("text")),
        ("manufacturer", Kind::Plain("text")),
        ("model", Kind::Plain("text")),
        ("token_family", Kind::Plain("text")),
        ("hardware_version", Kind::Plain("text")),
        ("firmware_version", Kind::Plain("text")),
        ("total_memory", Kind::Plain("bigint")),
        ("free_memory", Kind::Plain("bigint")),
        ("pin_initialized", Kind::Plain("bool")),
        ("pin_user_initialized", Kind::Plain("bool")),
        ("pin_locked", Kind::Plain("bool")),
        ("pin_count_low", Kind::Plain("bool")),
        ("pin_final_try", Kind::Plain("bool")),
        ("pin_must_change", Kind::Plain("bool")),
        ("pin_so_locked", Kind::Plain("bool")),
        ("certificates", Kind::List),
    ];
    let pin = |f: fn(&v1::PinState) -> bool| rows.column(move |t| t.pin.as_ref().is_some_and(f));
    sqlx::query(AssertSqlSafe(upsert_sql("host_tokens", COLUMNS)))
        .bind(&rows.agents)
        .bind(&rows.ordinals)
        .bind(rows.column(|t: &v1::Token| convert::token_key(t).and_then(|k| ids.get(&k).copied())))
        .bind(rows.column(|t| t.module.as_str()))
        .bind(rows.column(|t| convert::int(t.slot_id)))
        .bind(rows.column(|t| t.slot_description.as_deref()))
        .bind(rows.column(|t| t.label.as_str()))
        .bind(rows.column(|t| t.serial.as_str()))
        .bind(rows.column(|t| t.manufacturer.as_str()))
        .bind(rows.column(|t| t.model.as_str()))
        .bind(rows.column(|t| convert::family(t.token_family)))
        .bind(rows.column(|t| t.hardware_version.as_deref()))
        .bind(rows.column(|t| t.firmware_version.as_deref()))
        .bind(rows.column(|t| t.total_memory.map(convert::int)))
        .bind(rows.column(|t| t.free_memory.map(convert::int)))
        .bind(pin(|p| p.initialized))
        .bind(pin(|p| p.user_pin_initialized))
        .bind(pin(|p| p.locked))
        .bind(pin(|p| p.count_low))
        .bind(pin(|p| p.final_try))
        .bind(pin(|p| p.must_change))
        .bind(pin(|p| p.so_locked))
        .bind(rows.column(|t| {
            let lower: Vec<String> = t
                .certificates
                .iter()
                .map(|c| c.to_ascii_lowercase())
                .collect();
            convert::json_list(&lower)
        }))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The identities of `keys` (model, serial), created where new.
async fn token_ids(
    conn: &mut PgConnection,
    keys: &BTreeMap<(String, String), DateTime<Utc>>,
) -> Result<HashMap<(String, String), i64>, sqlx::Error> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let models: Vec<&str> = keys.keys().map(|(m, _)| m.as_str()).collect();
    let serials: Vec<&str> = keys.keys().map(|(_, s)| s.as_str()).collect();
    let first_seen: Vec<DateTime<Utc>> = keys.values().copied().collect();
    // The insert's new rows and the select's existing ones are disjoint in one statement's
    // snapshot.
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "with u as (select * from unnest($1::text[], $2::text[], $3::timestamptz[]) \
             as u(m, s, at)), \
         ins as ( \
             insert into tokens (model, serial, first_seen_at) select m, s, at from u \
             order by m, s on conflict (model, serial) do nothing returning id, model, serial \
         ) \
         select id, model, serial from ins \
         union all select t.id, t.model, t.serial from tokens t \
             join u on t.model = u.m and t.serial = u.s",
    )
    .bind(&models)
    .bind(&serials)
    .bind(&first_seen)
    .fetch_all(&mut *conn)
    .await?;
    let mut ids: HashMap<(String, String), i64> =
        rows.into_iter().map(|(id, m, s)| ((m, s), id)).collect();
    if ids.len() < keys.len() {
        // Another transaction created some of them after this statement's snapshot was taken:
        // they are visible to the next statement.
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "select t.id, t.model, t.serial from tokens t \
             join unnest($1::text[], $2::text[]) as u(m, s) on t.model = u.m and t.serial = u.s",
        )
        .bind(&models)
        .bind(&serials)
        .fetch_all(&mut *conn)
        .await?;
        ids.extend(rows.into_iter().map(|(id, m, s)| ((m, s), id)));
    }
    if ids.len() < keys.len() {
        return Err(sqlx::Error::RowNotFound);
    }
    Ok(ids)
}

/// The batch's containers by (agent, path), with what the report says of each and when first
/// seen.
type ContainerKeys<'a> = BTreeMap<(Uuid, &'a str), (&'a v1::Container, DateTime<Utc>)>;

pub(super) async fn containers(
    conn: &mut PgConnection,
    changed: &[Changed<'_>],
) -> Result<(), sqlx::Error> {
    // The first entry for a path names the container.
    let mut by_path: ContainerKeys<'_> = BTreeMap::new();
    for c in changed {
        for container in &c.inventory.containers {
            by_path
                .entry((c.agent, container.path.as_str()))
                .or_insert((container, c.received));
        }
    }
    let ids = container_ids(conn, &by_path).await?;
    let mut present: Vec<(Uuid, i64)> = ids.iter().map(|((agent, _), &id)| (*agent, id)).collect();
    present.sort_unstable();
    sightings(
        conn,
        "container_sightings",
        "container_id",
        changed,
        &present,
    )
    .await?;

    let rows = Rows::of(changed, |i| &i.containers);
    if rows.is_empty() {
        return Ok(());
    }
    const COLUMNS: &[(&str, Kind)] = &[
        ("container_id", Kind::Plain("bigint")),
        ("name", Kind::Plain("text")),
        ("path", Kind::Plain("text")),
        ("media", Kind::Plain("text")),
        ("owner", Kind::Plain("text")),
        ("complete", Kind::Plain("bool")),
        ("missing_files", Kind::List),
        ("damaged_files", Kind::Json),
        ("key_algorithm", Kind::Plain("text")),
        ("key_algorithm_oid", Kind::Plain("text")),
        ("exportable", Kind::Plain("bool")),
        ("certificate_sha1", Kind::Plain("text")),
        ("private_key_not_before", Kind::Plain("timestamptz")),
        ("private_key_not_after", Kind::Plain("timestamptz")),
        ("office_id", Kind::OfAgent("office_id")),
        ("hostname", Kind::OfAgent("hostname")),
    ];
    let container_id: Vec<Option<i64>> = rows
        .agents
        .iter()
        .zip(&rows.items)
        .map(|(agent, c)| ids.get(&(*agent, c.path.clone())).copied())
        .collect();
    sqlx::query(AssertSqlSafe(upsert_sql("host_containers", COLUMNS)))
        .bind(&rows.agents)
        .bind(&rows.ordinals)
        .bind(container_id)
        .bind(rows.column(|c: &v1::Container| c.name.as_deref()))
        .bind(rows.column(|c| c.path.as_str()))
        .bind(rows.column(|c| convert::media(c.media)))
        .bind(rows.column(|c| c.owner.as_deref()))
        .bind(rows.column(|c| c.complete))
        .bind(rows.column(|c| convert::json_list(&c.missing_files)))
        .bind(rows.column(|c| {
            let files: Vec<serde_json::Value> = c
                .damaged_files
                .iter()
                .map(|d| serde_json::json!({ "file": d.file, "reason": d.reason }))
                .collect();
            serde_json::Value::from(files).to_string()
        }))
        .bind(rows.column(|c| c.key_algorithm.as_deref()))
        .bind(rows.column(|c| c.key_algorithm_oid.as_deref()))
        .bind(rows.column(|c| c.exportable))
        .bind(rows.column(|c| c.certificate_sha1.as_ref().map(|s| s.to_ascii_lowercase())))
        .bind(rows.column(|c| convert::time(c.private_key_not_before.as_ref())))
        .bind(rows.column(|c| convert::time(c.private_key_not_after.as_ref())))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The identities of the batch's containers by (agent, path), created where new and renamed
/// where the report names them differently. Containers belong to one host, whose row the
/// batch holds locked: no other transaction writes them meanwhile.
async fn container_ids(
    conn: &mut PgConnection,
    by_path: &ContainerKeys<'_>,
) -> Result<HashMap<(Uuid, String), i64>, sqlx::Error> {
    if by_path.is_empty() {
        return Ok(HashMap::new());
    }
    let agents: Vec<Uuid> = by_path.keys().map(|(a, _)| *a).collect();
    let paths: Vec<&str> = by_path.keys().map(|(_, p)| *p).collect();
    let first_seen: Vec<DateTime<Utc>> = by_path.values().map(|(_, at)| *at).collect();
    let names: Vec<Option<&str>> = by_path.values().map(|(c, _)| c.name.as_deref()).collect();
    let sha1: Vec<Option<String>> = by_path
        .values()
        .map(|(c, _)| c.certificate_sha1.as_ref().map(|s| s.to_ascii_lowercase()))
        .collect();
    let key_end: Vec<Option<DateTime<Utc>>> = by_path
        .values()
        .map(|(c, _)| convert::time(c.private_key_not_after.as_ref()))
        .collect();
    let media: Vec<Option<String>> = by_path
        .values()
        .map(|(c, _)| convert::media(c.media))
        .collect();
    // What a container last held is kept with its identity for when it is gone; rows change
    // only when it does. A changed container comes back twice (as updated and as it was):
    // same id.
    let rows: Vec<(i64, Uuid, String)> = sqlx::query_as(
        "with u as (select * from unnest($1::uuid[], $2::text[], $3::text[], \
             $4::timestamptz[], $5::text[], $6::timestamptz[], $7::text[]) \
             as u(a, p, n, at, sha1, key_end, media)), \
         ins as ( \
             insert into containers as c (agent_id, path, name, first_seen_at, \
                 certificate_sha1, private_key_not_after, media) \
             select a, p, n, at, sha1, key_end, media from u \
             on conflict (agent_id, path) do update set name = excluded.name, \
                 certificate_sha1 = excluded.certificate_sha1, \
                 private_key_not_after = excluded.private_key_not_after, \
                 media = excluded.media \
             where (c.name, c.certificate_sha1, c.private_key_not_after, c.media) \
                 is distinct from (excluded.name, excluded.certificate_sha1, \
                     excluded.private_key_not_after, excluded.media) \
             returning id, agent_id, path \
         ) \
         select id, agent_id, path from ins \
         union all select c.id, c.agent_id, c.path from containers c \
             join u on c.agent_id = u.a and c.path = u.p",
    )
    .bind(&agents)
    .bind(&paths)
    .bind(&names)
    .bind(&first_seen)
    .bind(&sha1)
    .bind(&key_end)
    .bind(&media)
    .fetch_all(&mut *conn)
    .await?;
    let ids: HashMap<(Uuid, String), i64> = rows
        .into_iter()
        .map(|(id, agent, path)| ((agent, path), id))
        .collect();
    if ids.len() < by_path.len() {
        return Err(sqlx::Error::RowNotFound);
    }
    Ok(ids)
}
