//! End to end with real processes: the real server (`run`, TLS, PostgreSQL), the real agent
//! service loop and enrolment, the server's binary for the operator's commands, and an
//! independent Python client generated from the .proto files.
//!
//! Readers and tokens are skipped here: the cards test is its own binary (`e2e_cards`), since
//! libpcsclite reads its socket name once per process.

// Connections: an agent holds none between its reports.
mod connections;
// Faults: PostgreSQL stopped and restarted, the server killed mid-ingest, the network cut,
// the evaluating server killed mid-evaluation; nothing lost or applied twice.
mod database;
mod faults;
mod killed;
mod leader;
mod network;
// Outages: the spool, delivered exactly once and in order after the server comes back.
mod outage;
// An independent gRPC client in Python.
mod python;
// Wrong secrets and revoked agents, refused through the real agent.
mod refusals;
mod support;

#[path = "../common/launch.rs"]
mod launch;
#[path = "../../benches/support/server_process.rs"]
mod server_process;
// A fleet generated inside PostgreSQL, as the alert and query benchmarks use.
#[path = "../../benches/support/generated.rs"]
mod generated;
