//! Storing reports in PostgreSQL: current state, identities and their history, refusals that
//! write nothing, and findings recomputed from stored dates.

// Rows are read as tuples so that one assertion compares a whole row.
#![allow(clippy::type_complexity)]

mod access;
mod alerts;
mod batch;
mod credentials;
mod findings;
mod gone;
mod history;
mod incremental;
mod notify_alertmanager;
mod notify_email;
mod notify_webhook;
mod offices;
mod per_office;
mod queries;
#[path = "../common/seed.rs"]
mod seed;
mod sink;
mod store;
mod support;
mod validation;
