//! The audit log: who changed what, when, from where. Written once the change is made; should
//! that write fail, the caller is told the request failed (and the log says why), so a change
//! nobody is told of as done is not left out silently.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};

use super::Offices;

/// A change to record.
#[derive(Clone, Debug)]
pub struct Change<'a> {
    /// `user:alice`, `token:alice/backup`, `config-token`, `cli:root`.
    pub actor: &'a str,
    /// `alert.acknowledge`, `silence.create`, `user.create`, `login.failed`, …
    pub action: &'a str,
    /// `alert 12`, `office "Бухгалтерия"`, `user alice`.
    pub target: String,
    pub office_id: Option<i64>,
    pub details: serde_json::Value,
    /// The client's address, over HTTP.
    pub source: Option<String>,
}

/// An entry as read back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub office: Option<String>,
    pub details: serde_json::Value,
    pub source: Option<String>,
}

/// Record `change` on `db` (inside the change's transaction, where it has one).
pub async fn record(db: &mut PgConnection, change: &Change<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into audit_log (actor, action, target, office_id, details, source) \
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(change.actor)
    .bind(change.action)
    .bind(&change.target)
    .bind(change.office_id)
    .bind(&change.details)
    .bind(&change.source)
    .execute(db)
    .await?;
    Ok(())
}

/// [`record`] in a statement of its own, for changes that are not in a transaction here.
pub async fn record_now(pool: &PgPool, change: &Change<'_>) -> Result<(), sqlx::Error> {
    let mut db = pool.acquire().await?;
    record(&mut db, change).await
}

/// Up to `limit` entries older than entry `before` (newest first), of the offices `seen`:
/// an office-scoped reader sees its offices' entries only, not fleet-wide ones.
pub async fn list(
    pool: &PgPool,
    seen: &Offices,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEntry>, sqlx::Error> {
    sqlx::query_as(
        "select l.id, l.at, l.actor, l.action, l.target, o.name as office, l.details, l.source \
         from audit_log l left join offices o on o.id = l.office_id \
         where ($1::bigint is null or l.id < $1) \
             and ($2::bigint[] is null or l.office_id = any($2)) \
         order by l.id desc limit $3",
    )
    .bind(before)
    .bind(seen.restriction())
    .bind(limit)
    .fetch_all(pool)
    .await
}
