//! tokenwatch agent: inventories e-signature tokens, CryptoPro key containers, certificates and
//! the software they depend on, and says what stands in the way of signing today.
//!
//! The agent only reads: it never writes to a key store, never presents a PIN and never opens a
//! dialog.

pub mod backoff;
pub mod cli;
pub mod collect;
pub mod config;
pub mod enroll;
pub mod host;
mod memory;
pub mod paths;
pub mod render;
pub mod scan;
pub mod service;
pub mod spool;
pub mod state;
pub mod uplink;

#[cfg(test)]
use tokenwatch_inventory::sample;
pub use tokenwatch_inventory::{findings, inventory};

pub use config::ScanConfig;
pub use inventory::Inventory;
pub use scan::scan;
