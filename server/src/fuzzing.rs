//! The server's handling of what arrives from outside, without a database or a socket, for
//! the fuzz targets and their corpus replay in `fuzz/`: a report as it comes off the wire, and
//! the CSV and HTML that agents' strings end up in. Not an API: it follows the code it calls.

use chrono::{DateTime, Utc};
use prost::Message;
use tokenwatch_proto::{ReportEnvelope, v1};
use uuid::Uuid;

use crate::ingest::{Credential, Report};

pub use crate::query::engine::Column;

/// A report's bytes as `Report` takes them from an agent at `now`: the envelope checked on
/// arrival, then the inventory decoded and checked as it is about to be stored, and the
/// section hashes that decide what is written. The inventory the server would store, or the
/// reason it gives the agent.
pub fn report(bytes: &[u8], now: DateTime<Utc>) -> Result<v1::Inventory, String> {
    let envelope = ReportEnvelope::decode(bytes).map_err(|error| error.to_string())?;
    let report = Report::received(Uuid::nil(), Credential::Authorised, envelope, now)
        .map_err(|error| error.to_string())?;
    let inventory = report.inventory()?;
    crate::ingest::section_hashes(&inventory);
    Ok(inventory)
}

/// Whether the server stores `inventory` as an agent sent it; the reason when not.
pub fn accepts(inventory: &v1::Inventory) -> Result<(), String> {
    crate::ingest::check_inventory(inventory)
}

/// `rows` as the CSV export writes them, header line first.
pub fn csv(columns: &[Column], rows: &[serde_json::Value], semicolon: bool) -> Vec<u8> {
    crate::http::csv_lines(columns, rows, semicolon)
}

/// The dashboard's page of one host, from the host document the API serves, in Russian or
/// English, as a viewer of every office sees it.
pub fn host_page(host: &serde_json::Value, russian: bool) -> String {
    crate::dashboard::host_page_for_fuzzing(host, russian)
}
