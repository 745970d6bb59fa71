//! tokenwatch server: enrols agents, takes their inventories over mutual TLS and keeps the
//! organisation's e-signature inventory, with its history, in PostgreSQL.

pub mod db;
pub mod findings;
pub mod ingest;
pub mod inventory;
