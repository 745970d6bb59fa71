//! Writing the changed reports of a batch inside its transaction.
//!
//! Every table takes one statement for the whole batch (arrays through `unnest`), never one
//! round trip per report or per row. Rows are written only where they differ: current-state
//! rows are upserted by (agent, ordinal) and left alone when equal, sightings only change when
//! something appears or goes, so a report that changed one field rewrites about one row.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, PgConnection};
use tokenwatch_proto::v1;
use uuid::Uuid;

use super::convert;
use super::sections::Sections;

mod certificates;
mod current;
mod devices;

pub(crate) use certificates::delete_emptied as delete_emptied_office_certificates;

/// A report whose inventory differs from the stored one.
#[derive(Clone)]
pub(crate) struct Changed<'a> {
    pub(crate) agent: Uuid,
    pub(crate) inventory: &'a v1::Inventory,
    pub(crate) received: DateTime<Utc>,
    /// The agent's previous report: the last time what goes missing now was seen.
    pub(crate) previous_seen: Option<DateTime<Utc>>,
    /// The lists that differ from the stored ones: only these are written.
    pub(crate) write: Sections,
    /// The hashes of this report's lists, as stored on the host.
    pub(crate) section_hashes: String,
}

/// Replace the stored inventory of every agent in `changed` with its report's.
pub(crate) async fn replace(
    conn: &mut PgConnection,
    changed: &[Changed<'_>],
) -> Result<(), sqlx::Error> {
    hosts(conn, changed).await?;
    // Tokens before certificates, as everywhere: shared rows are taken in one order.
    let only = |wanted: fn(&Sections) -> bool| -> Vec<Changed<'_>> {
        changed
            .iter()
            .filter(|c| wanted(&c.write))
            .cloned()
            .collect()
    };
    let tokens = only(|s| s.tokens);
    if !tokens.is_empty() {
        devices::tokens(conn, &tokens).await?;
    }
    let containers = only(|s| s.containers);
    if !containers.is_empty() {
        devices::containers(conn, &containers).await?;
    }
    let certificates = only(|s| s.certificates);
    if !certificates.is_empty() {
        certificates::certificates(conn, &certificates).await?;
    }
    current::readers(conn, &only(|s| s.readers)).await?;
    current::findings(conn, &only(|s| s.findings)).await?;
    current::collectors(conn, &only(|s| s.collectors)).await?;
    trim(conn, changed).await?;
    Ok(())
}

/// The rows of one current-state table across a batch: each entry with its agent and its
/// ordinal in that agent's report.
struct Rows<'a, T> {
    agents: Vec<Uuid>,
    ordinals: Vec<i32>,
    items: Vec<&'a T>,
}

impl<'a, T> Rows<'a, T> {
    fn of(changed: &[Changed<'a>], list: impl Fn(&'a v1::Inventory) -> &'a [T]) -> Self {
        let mut rows = Self {
            agents: Vec::new(),
            ordinals: Vec::new(),
            items: Vec::new(),
        };
        for c in changed {
            for (i, item) in list(c.inventory).iter().enumerate() {
                rows.agents.push(c.agent);
                rows.ordinals.push(ordinal(i));
                rows.items.push(item);
            }
        }
        rows
    }

    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// One column's values, in row order.
    fn column<V>(&self, value: impl Fn(&'a T) -> V) -> Vec<V> {
        self.items.iter().map(|item| value(item)).collect()
    }
}

fn ordinal(index: usize) -> i32 {
    i32::try_from(index).unwrap_or(i32::MAX)
}

/// How a column's values travel: as an array of `ty`, or as JSON text for ragged lists and
/// objects (`text[]` and `jsonb` columns); or not at all, copied from the host's agent.
#[derive(Clone, Copy)]
enum Kind {
    Plain(&'static str),
    List,
    Json,
    /// This column of the agent's row (its office, its name), which never changes: copied so
    /// that the inventory lists index their rows by office.
    OfAgent(&'static str),
}

/// `insert … on conflict (agent_id, ordinal) do update` of a current-state table, parameters
/// `$1` agents, `$2` ordinals, then one array per column. The agents' stored rows are read
/// once (a range of the primary key) and rows equal to them are filtered out by hashing: an
/// upsert would lock (and so write) even the rows it then leaves alone.
fn upsert_sql(table: &str, columns: &[(&str, Kind)]) -> String {
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let bound = || {
        columns.iter().filter_map(|(name, kind)| match kind {
            Kind::Plain(ty) => Some((*name, *ty)),
            Kind::List | Kind::Json => Some((*name, "text")),
            Kind::OfAgent(_) => None,
        })
    };
    let params: Vec<String> = bound()
        .enumerate()
        .map(|(i, (_, ty))| format!("${}::{ty}[]", i + 3))
        .collect();
    let bound_names: Vec<&str> = bound().map(|(name, _)| name).collect();
    let values: Vec<String> = columns
        .iter()
        .map(|(name, kind)| match kind {
            Kind::Plain(_) => format!("r.{name}"),
            Kind::List => {
                format!("array(select jsonb_array_elements_text(r.{name}::jsonb)) as {name}")
            }
            Kind::Json => format!("r.{name}::jsonb as {name}"),
            Kind::OfAgent(column) => format!("g.{column} as {name}"),
        })
        .collect();
    let agent = if columns
        .iter()
        .any(|(_, kind)| matches!(kind, Kind::OfAgent(_)))
    {
        " join agents g on g.id = r.agent_id"
    } else {
        ""
    };
    let sets: Vec<String> = names
        .iter()
        .map(|n| format!("{n} = excluded.{n}"))
        .collect();
    let old: Vec<String> = names.iter().map(|n| format!("t.{n}")).collect();
    let new: Vec<String> = names.iter().map(|n| format!("u.{n}")).collect();
    format!(
        "with u as ( \
             select r.agent_id, r.ordinal, {values} \
             from unnest($1::uuid[], $2::int[], {params}) \
                 as r(agent_id, ordinal, {bound_names}){agent} \
         ) \
         , stored as materialized ( \
             select * from {table} where agent_id = any($1::uuid[]) \
         ) \
         insert into {table} as t (agent_id, ordinal, {names}) \
         select u.* from u left join stored t \
             on t.agent_id = u.agent_id and t.ordinal = u.ordinal \
         where t.agent_id is null or ({old}) is distinct from ({new}) \
         on conflict (agent_id, ordinal) do update set {sets}",
        names = names.join(", "),
        bound_names = bound_names.join(", "),
        values = values.join(", "),
        params = params.join(", "),
        sets = sets.join(", "),
        old = old.join(", "),
        new = new.join(", "),
    )
}

/// Delete the current-state rows beyond each report's lists: one statement for all tables.
async fn trim(conn: &mut PgConnection, changed: &[Changed<'_>]) -> Result<(), sqlx::Error> {
    let count = |f: fn(&v1::Inventory) -> usize| -> Vec<i32> {
        changed.iter().map(|c| ordinal(f(c.inventory))).collect()
    };
    let agents: Vec<Uuid> = changed.iter().map(|c| c.agent).collect();
    sqlx::query(
        "with n as ( \
             select * from unnest($1::uuid[], $2::int[], $3::int[], $4::int[], $5::int[], \
                 $6::int[]) as n(agent_id, readers, tokens, containers, findings, collectors) \
         ), r as ( \
             delete from host_readers t using n \
             where t.agent_id = n.agent_id and t.ordinal >= n.readers \
         ), k as ( \
             delete from host_tokens t using n \
             where t.agent_id = n.agent_id and t.ordinal >= n.tokens \
         ), c as ( \
             delete from host_containers t using n \
             where t.agent_id = n.agent_id and t.ordinal >= n.containers \
         ), f as ( \
             delete from host_findings t using n \
             where t.agent_id = n.agent_id and t.ordinal >= n.findings \
         ) \
         delete from host_collectors t using n \
         where t.agent_id = n.agent_id and t.ordinal >= n.collectors",
    )
    .bind(agents)
    .bind(count(|i| i.readers.len()))
    .bind(count(|i| i.tokens.len()))
    .bind(count(|i| i.containers.len()))
    .bind(count(|i| i.findings.len()))
    .bind(count(|i| i.collectors.len()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A further column of a sightings table, bound by the caller after the five standard
/// parameters.
pub(super) struct Extra {
    pub(super) name: &'static str,
    /// The parameter's element type; none for a column computed by `value` alone.
    pub(super) ty: Option<&'static str>,
    /// The stored value, an expression over `s.<name>` (and `s.agent_id`).
    pub(super) value: &'static str,
    /// Whether a present row is rewritten when this column differs. A column that is not
    /// compared is written along with the others, and one compared column (a hash of it)
    /// stands for it: comparing a cheap value saves parsing every listed row's.
    pub(super) compared: bool,
}

/// Mark each agent's present sightings in `table` that its report no longer lists as gone (last
/// seen at the agent's previous report) and record the listed ones as present. `extra` names
/// further columns; a present row is rewritten only when a compared one differs.
///
/// `then`, when given, is the rest of the statement after the sightings are written: further
/// `with` entries (starting with a comma) and a final `select`. They may read `missing` (the
/// sightings lost) and `gained` (those that became present), each `(agent_id, item_id)`.
fn sightings_sql(table: &str, column: &str, extra: &[Extra], then: Option<&str>) -> String {
    let names: String = extra.iter().map(|e| format!(", {}", e.name)).collect();
    let bound = || extra.iter().filter_map(|e| e.ty.map(|ty| (e.name, ty)));
    let params: String = bound()
        .enumerate()
        .map(|(i, (_, ty))| format!(", ${}::{ty}[]", i + 6))
        .collect();
    let bound_names: String = bound().map(|(name, _)| format!(", {name}")).collect();
    let values: String = extra
        .iter()
        .map(|e| format!(", {} as {}", e.value, e.name))
        .collect();
    let sets: String = extra
        .iter()
        .map(|e| format!(", {n} = excluded.{n}", n = e.name))
        .collect();
    let compared = || extra.iter().filter(|e| e.compared);
    let differs: String = compared()
        .map(|e| format!(" or t.{} is distinct from {}", e.name, e.value))
        .collect();
    let stored: String = compared().map(|e| format!(", p.{}", e.name)).collect();
    let upsert = format!(
        "insert into {table} as t ({column}, agent_id, first_seen_at, last_seen_at, present{names}) \
         select s.item_id, s.agent_id, h.received, null, true{values} \
         from s join h on h.agent_id = s.agent_id \
         left join stored t on t.item_id = s.item_id and t.agent_id = s.agent_id \
         where t.agent_id is null{differs} \
         on conflict ({column}, agent_id) do update set present = true, last_seen_at = null{sets}"
    );
    let written = match then {
        None => format!(" {upsert}"),
        Some(rest) => format!(
            ", written as ({upsert}), gained as ( \
                 select s.agent_id, s.item_id from s \
                 left join stored t on t.item_id = s.item_id and t.agent_id = s.agent_id \
                 where t.agent_id is null \
             ){rest}"
        ),
    };
    // The rows marked gone and the rows written are disjoint: one statement does both. The
    // batch's present sightings are read once, through the index on the agent, and compared
    // with the listed ones by hashing: missing ones are marked gone, and listed ones already
    // stored as they are never reach the upsert, which would lock (and so write) each of them.
    // A listed sighting that is not present (new, or back after a while) goes to the upsert.
    format!(
        "with s as ( \
             select * from unnest($1::uuid[], $2::bigint[]{params}) \
                 as s(agent_id, item_id{bound_names}) \
         ), h as ( \
             select * from unnest($3::uuid[], $4::timestamptz[], $5::timestamptz[]) \
                 as h(agent_id, previous_seen, received) \
         ), stored as materialized ( \
             select p.agent_id, p.{column} as item_id{stored} from {table} p \
             where p.agent_id = any($3::uuid[]) and p.present \
         ), missing as ( \
             select agent_id, item_id from stored except select agent_id, item_id from s \
         ), gone as ( \
             update {table} t set present = false, \
                 last_seen_at = coalesce(h.previous_seen, h.received) \
             from missing m join h on h.agent_id = m.agent_id \
             where t.agent_id = m.agent_id and t.{column} = m.item_id \
         ){written}"
    )
}

/// The batch's agents with their previous and current report times: [`sightings_sql`]'s
/// parameters `$3`–`$5`.
struct ReportTimes {
    agents: Vec<Uuid>,
    previous: Vec<Option<DateTime<Utc>>>,
    received: Vec<DateTime<Utc>>,
}

fn report_times(changed: &[Changed<'_>]) -> ReportTimes {
    ReportTimes {
        agents: changed.iter().map(|c| c.agent).collect(),
        previous: changed.iter().map(|c| c.previous_seen).collect(),
        received: changed.iter().map(|c| c.received).collect(),
    }
}

/// The present identities of `table`'s items per agent, written through [`sightings_sql`].
async fn sightings(
    conn: &mut PgConnection,
    table: &str,
    column: &str,
    changed: &[Changed<'_>],
    present: &[(Uuid, i64)],
) -> Result<(), sqlx::Error> {
    let times = report_times(changed);
    sqlx::query(AssertSqlSafe(sightings_sql(table, column, &[], None)))
        .bind(present.iter().map(|(a, _)| *a).collect::<Vec<_>>())
        .bind(present.iter().map(|(_, id)| *id).collect::<Vec<_>>())
        .bind(times.agents)
        .bind(times.previous)
        .bind(times.received)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn hosts(conn: &mut PgConnection, changed: &[Changed<'_>]) -> Result<(), sqlx::Error> {
    let default = v1::Host::default();
    let hosts: Vec<&v1::Host> = changed
        .iter()
        .map(|c| c.inventory.host.as_ref().unwrap_or(&default))
        .collect();
    let text = |f: fn(&v1::Host) -> &str| -> Vec<&str> { hosts.iter().map(|h| f(h)).collect() };
    let opt = |f: fn(&v1::Host) -> Option<&str>| -> Vec<Option<&str>> {
        hosts.iter().map(|h| f(h)).collect()
    };
    let license: Vec<(Option<DateTime<Utc>>, bool)> = changed
        .iter()
        .map(|c| convert::csp_license(c.inventory.components.as_ref()))
        .collect();
    sqlx::query(
        "insert into hosts (agent_id, hostname, os, os_version, arch, agent_version, \
             collected_at, components, csp_license_expires, csp_license_demo, updated_at, \
             section_sha256) \
         select a, hn, os, osv, ar, av, ca, co::jsonb, le, ld, up, sh::jsonb \
         from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
             $7::timestamptz[], $8::text[], $9::timestamptz[], $10::bool[], \
             $11::timestamptz[], $12::text[]) as u(a, hn, os, osv, ar, av, ca, co, le, ld, up, sh) \
         on conflict (agent_id) do update set hostname = excluded.hostname, os = excluded.os, \
             os_version = excluded.os_version, arch = excluded.arch, \
             agent_version = excluded.agent_version, collected_at = excluded.collected_at, \
             components = excluded.components, \
             csp_license_expires = excluded.csp_license_expires, \
             csp_license_demo = excluded.csp_license_demo, updated_at = excluded.updated_at, \
             section_sha256 = excluded.section_sha256",
    )
    .bind(changed.iter().map(|c| c.agent).collect::<Vec<_>>())
    .bind(text(|h| h.hostname.trim()))
    .bind(text(|h| &h.os))
    .bind(opt(|h| h.os_version.as_deref()))
    .bind(text(|h| &h.arch))
    .bind(text(|h| &h.agent_version))
    .bind(
        changed
            .iter()
            .map(|c| convert::time(c.inventory.collected_at.as_ref()))
            .collect::<Vec<_>>(),
    )
    .bind(
        changed
            .iter()
            .map(|c| convert::components(c.inventory.components.as_ref()))
            .collect::<Vec<_>>(),
    )
    .bind(license.iter().map(|l| l.0).collect::<Vec<_>>())
    .bind(license.iter().map(|l| l.1).collect::<Vec<_>>())
    .bind(changed.iter().map(|c| c.received).collect::<Vec<_>>())
    .bind(
        changed
            .iter()
            .map(|c| c.section_hashes.as_str())
            .collect::<Vec<_>>(),
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}
