//! Applying an agent's report: validate it, then store it in one transaction.
//!
//! Reports carry a per-agent sequence number and a content hash. A report whose sequence was
//! already applied (a re-delivery from the agent's spool) changes nothing; one whose content
//! hash equals the stored one only records that the host was seen.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokenwatch_proto::v1;
use uuid::Uuid;

mod convert;
mod store;
mod validate;

/// What applying a report did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The inventory differed from the stored one and was written.
    pub changed: bool,
    /// The sequence number was already applied: nothing was written.
    pub duplicate: bool,
}

/// Why a report was refused. Database detail never reaches the agent.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("invalid report: {0}")]
    Invalid(String),
    #[error("unknown agent")]
    UnknownAgent,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<IngestError> for tonic::Status {
    fn from(error: IngestError) -> Self {
        match error {
            IngestError::Invalid(reason) => Self::invalid_argument(reason),
            IngestError::UnknownAgent => Self::permission_denied("unknown agent"),
            IngestError::Database(error) => {
                tracing::error!(message = "Storing a report failed.", %error);
                Self::internal("the report could not be stored")
            }
        }
    }
}

/// Apply `report` from `agent`, received at `now`.
pub async fn apply_report(
    pool: &PgPool,
    agent: Uuid,
    report: &v1::ReportRequest,
    now: DateTime<Utc>,
) -> Result<Applied, IngestError> {
    // Everything is checked before the transaction starts: a refused report writes nothing,
    // not even its sequence number.
    validate::validate(report, now).map_err(IngestError::Invalid)?;
    let Some(inventory) = &report.inventory else {
        return Err(IngestError::Invalid("the report has no inventory".into()));
    };
    let sequence = i64::try_from(report.sequence)
        .map_err(|_| IngestError::Invalid("sequence out of range".into()))?;
    // The common case, an unchanged inventory, is one statement: it locks the agent's row and
    // moves last_seen only when the sequence is new and the content hash is the stored one.
    let row: Option<(i64, bool)> = sqlx::query_as(
        "with a as ( \
             select id, last_sequence from agents \
             where id = $1 and revoked_at is null for update \
         ), u as ( \
             update agents g set last_seen_at = $2, last_sequence = $3 \
             from a where g.id = a.id and a.last_sequence < $3 and g.content_sha256 = $4 \
             returning g.id \
         ), t as ( \
             update token_sightings s set last_seen_at = $2 \
             from u where s.agent_id = u.id and s.present \
         ), c as ( \
             update certificate_sightings s set last_seen_at = $2 \
             from u where s.agent_id = u.id and s.present \
         ), k as ( \
             update container_sightings s set last_seen_at = $2 \
             from u where s.agent_id = u.id and s.present \
         ) \
         select last_sequence, exists (select from u) from a",
    )
    .bind(agent)
    .bind(now)
    .bind(sequence)
    .bind(&report.content_hash)
    .fetch_optional(pool)
    .await?;
    match row {
        None => return Err(IngestError::UnknownAgent),
        Some((last_sequence, _)) if sequence <= last_sequence => {
            return Ok(Applied {
                changed: false,
                duplicate: true,
            });
        }
        Some((_, true)) => {
            return Ok(Applied {
                changed: false,
                duplicate: false,
            });
        }
        Some((_, false)) => {}
    }
    // The content differs: replace the inventory in one transaction, checking the agent again
    // under its lock.
    let mut tx = pool.begin().await?;
    // Lock the agent's row: reports from one agent are applied one at a time, in order.
    let row: Option<(i64, Option<Vec<u8>>)> = sqlx::query_as(
        "select last_sequence, content_sha256 from agents where id = $1 and revoked_at is null for update",
    )
    .bind(agent)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((last_sequence, stored_hash)) = row else {
        return Err(IngestError::UnknownAgent);
    };
    if sequence <= last_sequence {
        return Ok(Applied {
            changed: false,
            duplicate: true,
        });
    }
    let changed = stored_hash.as_deref() != Some(report.content_hash.as_slice());
    sqlx::query(
        "update agents set last_seen_at = $2, last_sequence = $3, content_sha256 = $4 where id = $1",
    )
    .bind(agent)
    .bind(now)
    .bind(sequence)
    .bind(&report.content_hash)
    .execute(&mut *tx)
    .await?;
    if changed {
        store::replace(&mut tx, agent, inventory, now).await?;
    } else {
        store::touch(&mut tx, agent, now).await?;
    }
    tx.commit().await?;
    Ok(Applied {
        changed,
        duplicate: false,
    })
}
