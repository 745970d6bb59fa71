//! Applying agents' reports: validate each, then store them in batches.
//!
//! Reports carry a per-agent sequence number and a content hash. A report whose sequence was
//! already applied (a re-delivery from the agent's spool) changes nothing; one whose content
//! hash equals the stored one only records that the host was seen.
//!
//! The server takes reports through an [`Ingest`] queue: whatever arrived while the database
//! was busy goes into the next transaction together, with one statement per table for the
//! whole batch. A fleet's reports then cost a few statements and one commit per batch instead
//! of a dozen round trips and a commit each. [`apply_report`] applies one report alone through
//! the same code.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokenwatch_proto::v1;
use uuid::Uuid;

mod batch;
mod convert;
mod queue;
mod sections;
mod store;
mod validate;

pub use queue::{Ingest, IngestOptions, apply_together};

/// What applying a report did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The inventory differed from the stored one and was written.
    pub changed: bool,
    /// The sequence number was already applied: nothing was written.
    pub duplicate: bool,
}

impl Applied {
    /// The inventory was written.
    pub const CHANGED: Self = Self {
        changed: true,
        duplicate: false,
    };
    /// The stored inventory was confirmed: only the host's last-seen time moved.
    pub const UNCHANGED: Self = Self {
        changed: false,
        duplicate: false,
    };
    /// A sequence already applied: nothing was written.
    pub const DUPLICATE: Self = Self {
        changed: false,
        duplicate: true,
    };
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
    #[error("the server is shutting down")]
    Stopped,
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
            IngestError::Stopped => Self::unavailable("the server is shutting down"),
        }
    }
}

/// A report as received. Only its envelope is checked on arrival; its inventory is checked
/// when it is about to be stored. A report whose content hash is the stored one is not
/// looked at further: nothing of its inventory is written.
#[derive(Clone, Debug)]
pub(crate) struct Report {
    pub(crate) agent: Uuid,
    pub(crate) sequence: i64,
    pub(crate) content_hash: Vec<u8>,
    pub(crate) inventory: v1::Inventory,
    /// When the server received it.
    pub(crate) received: DateTime<Utc>,
}

impl Report {
    pub(crate) fn received(
        agent: Uuid,
        report: v1::ReportRequest,
        received: DateTime<Utc>,
    ) -> Result<Self, IngestError> {
        validate::envelope(&report, received).map_err(IngestError::Invalid)?;
        let sequence = i64::try_from(report.sequence)
            .map_err(|_| IngestError::Invalid("sequence out of range".into()))?;
        let Some(inventory) = report.inventory else {
            return Err(IngestError::Invalid("the report has no inventory".into()));
        };
        Ok(Self {
            agent,
            sequence,
            content_hash: report.content_hash,
            inventory,
            received,
        })
    }

    /// Check the inventory before it is stored. Everything is checked before it is written: a
    /// refused report writes nothing, not even its sequence number.
    pub(crate) fn check(&self) -> Result<(), IngestError> {
        validate::inventory(&self.inventory).map_err(IngestError::Invalid)
    }
}

/// Apply `report` from `agent`, received at `now`, alone in its own transaction.
pub async fn apply_report(
    pool: &PgPool,
    agent: Uuid,
    report: &v1::ReportRequest,
    now: DateTime<Utc>,
) -> Result<Applied, IngestError> {
    let report = Report::received(agent, report.clone(), now)?;
    let mut outcomes = batch::apply(pool, std::slice::from_ref(&report)).await;
    outcomes.pop().unwrap_or(Err(IngestError::UnknownAgent))
}
