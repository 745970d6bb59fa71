//! Storing reports in PostgreSQL: current state, identities and their history, refusals that
//! write nothing, and findings recomputed from stored dates.

// Rows are read as tuples so that one assertion compares a whole row.
#![allow(clippy::type_complexity)]

mod alerts;
mod batch;
mod findings;
mod history;
mod notify_email;
mod store;
mod support;
mod validation;
