//! Storing reports in PostgreSQL: current state, identities and their history, refusals that
//! write nothing, and findings recomputed from stored dates.

mod findings;
mod history;
mod store;
mod support;
mod validation;
