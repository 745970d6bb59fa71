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
use prost::bytes::Bytes;
use sqlx::PgPool;
use tokenwatch_proto::{ReportEnvelope, v1};
use uuid::Uuid;

mod batch;
mod convert;
mod queue;
mod sections;
mod store;
mod validate;

pub use queue::{Ingest, IngestOptions, apply_together};
pub(crate) use sections::hashes as section_hashes;
pub(crate) use store::delete_emptied_office_certificates;
pub(crate) use validate::inventory as check_inventory;

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
    /// A revoked agent, or a certificate that is no longer the agent's.
    #[error("agent refused: {0}")]
    Refused(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the server is shutting down")]
    Stopped,
}

impl From<IngestError> for tonic::Status {
    fn from(error: IngestError) -> Self {
        match error {
            IngestError::Invalid(reason) => Self::invalid_argument(reason),
            // The reason stays in the server's log.
            IngestError::UnknownAgent | IngestError::Refused(_) => {
                Self::permission_denied("this agent is not allowed")
            }
            IngestError::Database(error) => {
                tracing::error!(message = "Storing a report failed.", %error);
                Self::internal("the report could not be stored")
            }
            IngestError::Stopped => Self::unavailable("the server is shutting down"),
        }
    }
}

/// How the sender of a report was identified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// The serial (hex) of the client certificate the agent presented. It is checked against
    /// the agent's row by the statement that applies the report, so a revocation or a renewal
    /// counts from the next report on without a lookup of its own.
    Certificate(String),
    /// The caller has authorised the agent itself; the agent must still exist and not be
    /// revoked.
    Authorised,
}

/// A report as received. Only its envelope is checked on arrival; its inventory is decoded
/// and checked when it is about to be stored. A report whose content hash is the stored one
/// is not looked at further: nothing of its inventory is even decoded.
#[derive(Clone, Debug)]
pub(crate) struct Report {
    pub(crate) agent: Uuid,
    pub(crate) credential: Credential,
    pub(crate) sequence: i64,
    pub(crate) content_hash: Bytes,
    /// The encoded inventory.
    pub(crate) inventory: Bytes,
    /// When the server received it.
    pub(crate) received: DateTime<Utc>,
}

impl Report {
    pub(crate) fn received(
        agent: Uuid,
        credential: Credential,
        report: ReportEnvelope,
        received: DateTime<Utc>,
    ) -> Result<Self, IngestError> {
        let sequence = validate::envelope(&report).map_err(IngestError::Invalid)?;
        Ok(Self {
            agent,
            credential,
            sequence,
            content_hash: report.content_hash,
            inventory: report.inventory.unwrap_or_default(),
            received,
        })
    }

    /// Decode and check the inventory before it is stored. Everything is checked before it
    /// is written: a refused report writes nothing, not even its sequence number.
    /// The error is the reason to give the agent.
    pub(crate) fn inventory(&self) -> Result<v1::Inventory, String> {
        let mut inventory = validate::decode(&self.inventory)?;
        validate::inventory(&inventory)?;
        // The server's own finding, stored with the agent's.
        inventory
            .findings
            .extend(validate::clock_ahead(&inventory, self.received));
        Ok(inventory)
    }

    /// The serial the agent's row must admit, if any.
    pub(crate) fn certificate_serial(&self) -> Option<&str> {
        match &self.credential {
            Credential::Certificate(serial) => Some(serial),
            Credential::Authorised => None,
        }
    }
}

/// Apply `report` from `agent`, whom the caller has authorised, received at `now`, alone in its
/// own transaction.
pub async fn apply_report(
    pool: &PgPool,
    agent: Uuid,
    report: &v1::ReportRequest,
    now: DateTime<Utc>,
) -> Result<Applied, IngestError> {
    let report = Report::received(
        agent,
        Credential::Authorised,
        ReportEnvelope::of(report),
        now,
    )?;
    let mut outcomes = batch::apply(pool, std::slice::from_ref(&report)).await;
    outcomes.pop().unwrap_or(Err(IngestError::UnknownAgent))
}
