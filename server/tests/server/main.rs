//! The server end to end: real PostgreSQL (`#[sqlx::test]`, a fresh database per test), real
//! TLS, the real server started through `run` on ephemeral ports, and the real binary for the
//! operator's commands.

// Slow and idle clients, and the connection caps.
mod abuse;
// Enrolment, reports, renewal and every refusal over mutual TLS.
mod agents;
// The operator's commands through the built binary.
mod cli;
// Reading the exposition back, and promtool.
mod exposition;
// GET /metrics: series, values, the bearer token and the cache.
mod metrics;
// Alerts evaluated right after a changed report.
mod follow;
// The shipped Prometheus alert rules, through promtool.
mod rules;
// /healthz, /readyz, gRPC health, shutdown and several processes.
mod runtime;
mod support;

#[path = "../common/launch.rs"]
mod launch;
