//! What each fuzz target checks, as plain functions: the targets in `fuzz_targets/` call them
//! under libFuzzer (`cargo fuzz run <target>`), and `tests/corpus.rs` runs every committed
//! input (the corpus and the regressions, one file per input found to fail once) through them
//! on every `cargo test`. A panic is a finding.
//!
//! Beyond "never panics", each target holds what reaches the user to account: what an agent
//! makes of hostile bytes is a report the server stores (one odd file must not cost a host its
//! whole report), a refusal is a short reason, and agents' strings cannot become markup in the
//! dashboard or a formula in an exported spreadsheet.

mod agent;
mod markup;
mod server;

pub use agent::{certificate, certmgr, container_header, container_name};
pub use server::{csv, html, report};

/// What a target checks: an input, and a panic when it finds something.
pub type Check = fn(&[u8]);

/// The targets by name, as `fuzz/corpus/<name>/` and `fuzz/regressions/<name>/` hold their
/// inputs.
pub const TARGETS: [(&str, Check); 7] = [
    ("container_header", container_header),
    ("container_name", container_name),
    ("certificate", certificate),
    ("certmgr", certmgr),
    ("report", report),
    ("csv", csv),
    ("html", html),
];
