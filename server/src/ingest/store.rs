//! Writing a validated inventory inside the report's transaction.
//!
//! Current-state rows are replaced wholesale; identities are upserted and their sightings
//! marked present or absent. Every table takes one batched statement (arrays through `unnest`),
//! never one round-trip per row, so a workstation's report costs a fixed number of statements.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, PgConnection};
use tokenwatch_proto::v1;
use uuid::Uuid;

use super::convert;

mod certificates;
mod devices;

/// Replace `agent`'s stored inventory with `inventory`, seen at `now`.
pub(crate) async fn replace(
    conn: &mut PgConnection,
    agent: Uuid,
    inventory: &v1::Inventory,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    host(conn, agent, inventory, now).await?;
    clear(conn, agent).await?;
    readers(conn, agent, &inventory.readers).await?;
    devices::tokens(conn, agent, &inventory.tokens, now).await?;
    devices::containers(conn, agent, &inventory.containers, now).await?;
    certificates::certificates(conn, agent, &inventory.certificates, now).await?;
    findings(conn, agent, &inventory.findings).await?;
    collectors(conn, agent, &inventory.collectors).await?;
    Ok(())
}

/// An unchanged report: what is present on the host was seen again at `now`.
pub(crate) async fn touch(
    conn: &mut PgConnection,
    agent: Uuid,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    for table in SIGHTINGS {
        sqlx::query(AssertSqlSafe(format!(
            "update {table} set last_seen_at = $2 where agent_id = $1 and present"
        )))
        .bind(agent)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The sighting tables. Table and column names put into SQL text come only from constants in
/// this module, never from a report.
const SIGHTINGS: [&str; 3] = [
    "token_sightings",
    "certificate_sightings",
    "container_sightings",
];

/// Ordinals of `len` entries, in report order.
fn ordinals(len: usize) -> Vec<i32> {
    (0..len)
        .map(|i| i32::try_from(i).unwrap_or(i32::MAX))
        .collect()
}

/// Delete `agent`'s rows of every current-state table before its new rows go in: one statement,
/// not one round trip per table.
async fn clear(conn: &mut PgConnection, agent: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "with r as (delete from host_readers where agent_id = $1), \
             t as (delete from host_tokens where agent_id = $1), \
             c as (delete from host_containers where agent_id = $1), \
             f as (delete from host_findings where agent_id = $1) \
         delete from host_collectors where agent_id = $1",
    )
    .bind(agent)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Mark present sightings of `table` whose `column` is not among `ids` as gone, and record or
/// refresh the sightings of `ids`.
async fn sightings(
    conn: &mut PgConnection,
    table: &str,
    column: &str,
    agent: Uuid,
    ids: &[i64],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    // The rows marked gone and the rows upserted are disjoint: one statement does both.
    sqlx::query(AssertSqlSafe(format!(
        "with gone as ( \
             update {table} set present = false \
             where agent_id = $2 and present and {column} <> all($1::bigint[]) \
         ) \
         insert into {table} ({column}, agent_id, first_seen_at, last_seen_at, present) \
         select id, $2, $3, $3, true from unnest($1::bigint[]) as u(id) order by id \
         on conflict ({column}, agent_id) \
         do update set last_seen_at = excluded.last_seen_at, present = true"
    )))
    .bind(ids)
    .bind(agent)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn host(
    conn: &mut PgConnection,
    agent: Uuid,
    inventory: &v1::Inventory,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let default = v1::Host::default();
    let host = inventory.host.as_ref().unwrap_or(&default);
    let (license_expires, license_demo) = convert::csp_license(inventory.components.as_ref());
    sqlx::query(
        "insert into hosts (agent_id, hostname, os, os_version, arch, agent_version, \
             collected_at, components, csp_license_expires, csp_license_demo, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11) \
         on conflict (agent_id) do update set hostname = excluded.hostname, os = excluded.os, \
             os_version = excluded.os_version, arch = excluded.arch, \
             agent_version = excluded.agent_version, collected_at = excluded.collected_at, \
             components = excluded.components, \
             csp_license_expires = excluded.csp_license_expires, \
             csp_license_demo = excluded.csp_license_demo, updated_at = excluded.updated_at",
    )
    .bind(agent)
    .bind(host.hostname.trim())
    .bind(&host.os)
    .bind(&host.os_version)
    .bind(&host.arch)
    .bind(&host.agent_version)
    .bind(convert::time(inventory.collected_at.as_ref()))
    .bind(convert::components(inventory.components.as_ref()))
    .bind(license_expires)
    .bind(license_demo)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn readers(
    conn: &mut PgConnection,
    agent: Uuid,
    readers: &[v1::Reader],
) -> Result<(), sqlx::Error> {
    if readers.is_empty() {
        return Ok(());
    }
    let name: Vec<&str> = readers.iter().map(|r| r.name.as_str()).collect();
    let card: Vec<bool> = readers.iter().map(|r| r.card_present).collect();
    let atr: Vec<Option<&str>> = readers.iter().map(|r| r.atr.as_deref()).collect();
    let model: Vec<Option<&str>> = readers.iter().map(|r| r.token_model.as_deref()).collect();
    let family: Vec<Option<String>> = readers
        .iter()
        .map(|r| convert::family(r.token_family))
        .collect();
    let exclusive: Vec<bool> = readers.iter().map(|r| r.in_use_exclusively).collect();
    sqlx::query(
        "insert into host_readers (agent_id, ordinal, name, card_present, atr, token_model, \
             token_family, in_use_exclusively) \
         select $1, * from unnest($2::int[], $3::text[], $4::bool[], $5::text[], $6::text[], \
             $7::text[], $8::bool[])",
    )
    .bind(agent)
    .bind(ordinals(readers.len()))
    .bind(name)
    .bind(card)
    .bind(atr)
    .bind(model)
    .bind(family)
    .bind(exclusive)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn findings(
    conn: &mut PgConnection,
    agent: Uuid,
    findings: &[v1::Finding],
) -> Result<(), sqlx::Error> {
    if findings.is_empty() {
        return Ok(());
    }
    let code: Vec<&str> = findings.iter().map(|f| f.code.as_str()).collect();
    let severity: Vec<Option<String>> = findings
        .iter()
        .map(|f| convert::severity(f.severity))
        .collect();
    let subject: Vec<&str> = findings.iter().map(|f| f.subject.as_str()).collect();
    let message: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
    let remediation: Vec<&str> = findings.iter().map(|f| f.remediation.as_str()).collect();
    sqlx::query(
        "insert into host_findings (agent_id, ordinal, code, severity, subject, message, \
             remediation) \
         select $1, * from unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], \
             $7::text[])",
    )
    .bind(agent)
    .bind(ordinals(findings.len()))
    .bind(code)
    .bind(severity)
    .bind(subject)
    .bind(message)
    .bind(remediation)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn collectors(
    conn: &mut PgConnection,
    agent: Uuid,
    collectors: &[v1::CollectorStatus],
) -> Result<(), sqlx::Error> {
    if collectors.is_empty() {
        return Ok(());
    }
    let name: Vec<&str> = collectors.iter().map(|c| c.name.as_str()).collect();
    let status: Vec<Option<String>> = collectors
        .iter()
        .map(|c| convert::outcome(c.status))
        .collect();
    let errors: Vec<String> = collectors
        .iter()
        .map(|c| convert::json_list(&c.errors))
        .collect();
    let duration: Vec<i64> = collectors
        .iter()
        .map(|c| convert::int(c.duration_ms))
        .collect();
    sqlx::query(
        "insert into host_collectors (agent_id, ordinal, name, status, errors, duration_ms) \
         select $1, o, n, s, array(select jsonb_array_elements_text(e::jsonb)), d \
         from unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::bigint[]) \
             as u(o, n, s, e, d)",
    )
    .bind(agent)
    .bind(ordinals(collectors.len()))
    .bind(name)
    .bind(status)
    .bind(errors)
    .bind(duration)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
