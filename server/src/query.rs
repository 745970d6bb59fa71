//! Read-only queries over the stored inventory for the HTTP API and dashboard: the lists
//! ([`lists`], served by [`engine`]), one host with everything its agent saw ([`host`]) and the
//! per-office summary ([`summary`]). Every query takes the reader's offices and sees nothing
//! beyond them.

pub mod engine;
mod host;
pub mod lists;
mod summary;

pub use engine::{ListSpec, Paged};
pub use host::host;
pub use summary::{OfficeSummary, STALE_SERVED, Summaries, summary};

/// Why a query was not answered.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The request's fault: an unknown parameter, a value out of range, a foreign cursor.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}
