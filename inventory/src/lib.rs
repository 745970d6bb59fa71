//! The inventory of one host as the agent reports it (`tokenwatch.inventory/v1`), and the
//! findings rules: the catalogue of finding codes with their remediation, and the diagnosis of
//! an inventory at a given time.
//!
//! The agent diagnoses what it has just collected; the server applies the same rules to stored
//! inventories, so a silent agent's certificates still age and both speak with one voice.

pub mod findings;
pub mod inventory;
#[cfg(any(test, feature = "sample"))]
pub mod sample;
