//! Storing a batch of reports from distinct agents.
//!
//! Most reports repeat what their host reported before. One autocommitted statement settles
//! all of those: it moves each such agent's sequence and last-seen time, checking the stored
//! content hash and sequence in the row it updates, and also answers re-deliveries of a
//! sequence already applied, which change nothing. The rest (changed, unknown, refused) go
//! into one transaction that locks their agents' rows in id order, so concurrent batches
//! cannot deadlock on them, checks each, and writes the changed inventories with one
//! statement per table for all of them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use tokenwatch_proto::v1;

use super::store::{self, Changed};
use super::{Applied, IngestError, Report, sections};
use crate::registry::AgentAuth;

const CHANGED: Applied = Applied::CHANGED;
const UNCHANGED: Applied = Applied::UNCHANGED;
const DUPLICATE: Applied = Applied::DUPLICATE;

type Outcome = Result<Applied, IngestError>;

/// Apply `reports` (one per agent at most) and answer each, in order. When the database
/// refuses the transaction of the changed ones, each of them is tried alone, so one report
/// the database cannot take fails by itself and the others are still stored.
pub(super) async fn apply(pool: &PgPool, reports: &[Report]) -> Vec<Outcome> {
    let settled = match retried(|| settle(pool, reports)).await {
        Ok(settled) => settled,
        Err(error) => return failed(reports.len(), &error),
    };
    // Decoded here, outside the transaction and its row locks; only what is stored needs it.
    let rest: Vec<Pending<'_>> = reports
        .iter()
        .filter(|r| !settled.contains_key(&r.agent))
        .map(|report| Pending {
            report,
            inventory: report.inventory(),
        })
        .collect();
    let rest: Vec<&Pending<'_>> = rest.iter().collect();
    let mut rest_outcomes = if rest.is_empty() {
        Vec::new()
    } else {
        match retried(|| apply_in_transaction(pool, &rest)).await {
            Ok(outcomes) => outcomes,
            Err(error) if rest.len() > 1 => {
                tracing::warn!(
                    message = "A batch of reports failed; applying them one by one.",
                    reports = rest.len(),
                    %error
                );
                let mut outcomes = Vec::with_capacity(rest.len());
                for report in &rest {
                    let one = std::slice::from_ref(report);
                    outcomes.push(match retried(|| apply_in_transaction(pool, one)).await {
                        Ok(mut one) => one.pop().unwrap_or(Err(IngestError::UnknownAgent)),
                        Err(error) => Err(IngestError::Database(error)),
                    });
                }
                outcomes
            }
            Err(error) => failed(rest.len(), &error),
        }
    }
    .into_iter();
    reports
        .iter()
        .map(|r| match settled.get(&r.agent) {
            Some(applied) => Ok(*applied),
            None => rest_outcomes
                .next()
                .unwrap_or(Err(IngestError::UnknownAgent)),
        })
        .collect()
}

/// Every report failed with `error` (the database's own words stay in the server's log).
fn failed(count: usize, error: &sqlx::Error) -> Vec<Outcome> {
    (0..count)
        .map(|_| Err(IngestError::Database(clone_error(error))))
        .collect()
}

fn clone_error(error: &sqlx::Error) -> sqlx::Error {
    sqlx::Error::Protocol(error.to_string())
}

/// `attempt`, once more after a deadlock or serialization failure, which only say that a
/// concurrent batch got in the way.
async fn retried<T, F, Fut>(attempt: F) -> Result<T, sqlx::Error>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    match attempt().await {
        Err(sqlx::Error::Database(e)) if matches!(e.code().as_deref(), Some("40P01" | "40001")) => {
            attempt().await
        }
        other => other,
    }
}

/// Settle what needs no transaction, from agents that admit the certificate presented: record
/// the reports whose content is the stored one and whose sequence is new (unchanged), and
/// answer those whose sequence was already applied (duplicate). The update re-checks each row
/// it takes, so it is safe against a concurrent report of the same agent; a sequence seen as
/// applied stays applied.
async fn settle(pool: &PgPool, reports: &[Report]) -> Result<HashMap<Uuid, Applied>, sqlx::Error> {
    let agents: Vec<Uuid> = reports.iter().map(|r| r.agent).collect();
    let sequences: Vec<i64> = reports.iter().map(|r| r.sequence).collect();
    let hashes: Vec<&[u8]> = reports.iter().map(|r| r.content_hash.as_ref()).collect();
    let received: Vec<DateTime<Utc>> = reports.iter().map(|r| r.received).collect();
    let serials: Vec<Option<&str>> = reports.iter().map(Report::certificate_serial).collect();
    // `admitted` is `AgentAuth::admits` (no serial: only not revoked); whatever it refuses is
    // left to the transaction, which gives the reason. The update re-checks revocation, the
    // sequence and the content on the row it takes; a renewal meanwhile keeps the serial it
    // replaced admitted through its grace.
    let settled: Vec<(Uuid, bool)> = sqlx::query_as(
        "with admitted as ( \
             select u.*, g.last_sequence >= u.seq as applied \
             from unnest($1::uuid[], $2::bigint[], $3::bytea[], $4::timestamptz[], $5::text[]) \
                 as u(id, seq, hash, at, serial) \
             join agents g on g.id = u.id \
             where g.revoked_at is null \
                 and (u.serial is null or g.certificate_serial = u.serial \
                     or (g.previous_certificate_serial = u.serial \
                         and u.at < g.previous_certificate_until))), \
         moved as ( \
             update agents g set last_seen_at = a.at, last_sequence = a.seq from admitted a \
             where g.id = a.id and not a.applied and g.revoked_at is null \
                 and g.last_sequence < a.seq and g.content_sha256 = a.hash \
             returning g.id) \
         select id, true from moved \
         union all \
         select id, false from admitted where applied",
    )
    .bind(&agents)
    .bind(&sequences)
    .bind(&hashes)
    .bind(&received)
    .bind(&serials)
    .fetch_all(pool)
    .await?;
    Ok(settled
        .into_iter()
        .map(|(agent, moved)| (agent, if moved { UNCHANGED } else { DUPLICATE }))
        .collect())
}

/// A report [`settle`] did not settle, with its inventory decoded and checked.
struct Pending<'a> {
    report: &'a Report,
    /// The inventory, or why it was refused.
    inventory: Result<v1::Inventory, String>,
}

/// An agent's stored state, read under its row lock.
struct Stored {
    auth: AgentAuth,
    last_sequence: i64,
    same_content: bool,
    last_seen: Option<DateTime<Utc>>,
    /// The hashes of the host's stored lists.
    sections: Option<serde_json::Value>,
}

/// Whether `report`'s credential still lets its agent in.
fn admitted(report: &Report, auth: &AgentAuth) -> Result<(), IngestError> {
    match report.certificate_serial() {
        Some(serial) => auth.admits(serial, report.received).map(drop),
        None => auth.not_revoked(),
    }
    .map_err(IngestError::Refused)
}

/// Apply the reports [`settle`] did not settle, in one transaction.
async fn apply_in_transaction(
    pool: &PgPool,
    pending: &[&Pending<'_>],
) -> Result<Vec<Outcome>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let stored = lock(&mut tx, pending).await?;
    let mut outcomes = Vec::with_capacity(pending.len());
    let mut moved: Vec<&Report> = Vec::new();
    let mut changed: Vec<Changed<'_>> = Vec::new();
    for &&Pending {
        report,
        ref inventory,
    } in pending
    {
        let stored = stored
            .get(&report.agent)
            .ok_or(IngestError::UnknownAgent)
            .and_then(|s| admitted(report, &s.auth).map(|()| s));
        outcomes.push(match stored {
            Err(refused) => Err(refused),
            Ok(s) if report.sequence <= s.last_sequence => Ok(DUPLICATE),
            // Another server process stored this content meanwhile.
            Ok(s) if s.same_content => {
                moved.push(report);
                Ok(UNCHANGED)
            }
            Ok(s) => match inventory {
                Err(reason) => Err(IngestError::Invalid(reason.clone())),
                Ok(inventory) => {
                    moved.push(report);
                    let hashes = sections::hashes(inventory);
                    changed.push(Changed {
                        agent: report.agent,
                        inventory,
                        received: report.received,
                        previous_seen: s.last_seen,
                        write: sections::differing(s.sections.as_ref(), &hashes),
                        section_hashes: sections::to_json(&hashes),
                    });
                    Ok(CHANGED)
                }
            },
        });
    }
    if !moved.is_empty() {
        sqlx::query(
            "update agents g set last_seen_at = u.at, last_sequence = u.seq, \
                 content_sha256 = u.hash \
             from unnest($1::uuid[], $2::bigint[], $3::bytea[], $4::timestamptz[]) \
                 as u(id, seq, hash, at) \
             where g.id = u.id",
        )
        .bind(moved.iter().map(|r| r.agent).collect::<Vec<_>>())
        .bind(moved.iter().map(|r| r.sequence).collect::<Vec<_>>())
        .bind(
            moved
                .iter()
                .map(|r| r.content_hash.as_ref())
                .collect::<Vec<_>>(),
        )
        .bind(moved.iter().map(|r| r.received).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    if !changed.is_empty() {
        store::replace(&mut tx, &changed).await?;
    }
    tx.commit().await?;
    Ok(outcomes)
}

/// An agent's row as [`lock`] reads it.
#[derive(sqlx::FromRow)]
struct StoredRow {
    id: Uuid,
    #[sqlx(flatten)]
    auth: AgentAuth,
    last_sequence: i64,
    /// Whether the report's hash is the stored one.
    same_content: bool,
    last_seen_at: Option<DateTime<Utc>>,
    /// The host's list hashes, as JSON text.
    sections: Option<String>,
}

/// Lock the reporting agents' rows, in id order, and read what is stored for them. Unknown
/// agents are absent from the answer. `no key update`: the alert evaluation holds key-share
/// locks on the agents its alert rows reference, in its own order; a plain `for update` would
/// wait for those and could deadlock with it.
async fn lock(
    conn: &mut PgConnection,
    pending: &[&Pending<'_>],
) -> Result<HashMap<Uuid, Stored>, sqlx::Error> {
    let agents: Vec<Uuid> = pending.iter().map(|p| p.report.agent).collect();
    let hashes: Vec<&[u8]> = pending
        .iter()
        .map(|p| p.report.content_hash.as_ref())
        .collect();
    let rows: Vec<StoredRow> = sqlx::query_as(
        "select g.id, g.revoked_at, g.certificate_serial, g.previous_certificate_serial, \
             g.previous_certificate_until, g.last_sequence, \
             g.content_sha256 is not distinct from u.hash as same_content, \
             g.last_seen_at, h.section_sha256::text as sections \
         from agents g join unnest($1::uuid[], $2::bytea[]) as u(id, hash) on u.id = g.id \
         left join hosts h on h.agent_id = g.id \
         order by g.id for no key update of g",
    )
    .bind(&agents)
    .bind(&hashes)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            (
                row.id,
                Stored {
                    auth: row.auth,
                    last_sequence: row.last_sequence,
                    same_content: row.same_content,
                    last_seen: row.last_seen_at,
                    sections: row.sections.and_then(|s| serde_json::from_str(&s).ok()),
                },
            )
        })
        .collect())
}
