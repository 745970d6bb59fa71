//! Ingest figures end to end: workstation reports sent to the real server over mutual TLS, per
//! second and with their latency, to set beside the `ingest` bench, which feeds the ingest
//! queue directly.
//!
//!     DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench -p tokenwatch-server --bench grpc_ingest
//!
//! Creates a fresh database `tokenwatch_grpc_bench_<pid>` beside the one `DATABASE_URL` names
//! and drops it at the end. The server is the `tokenwatch-server serve` binary in a process of
//! its own, with its own config and data dir, and so its own CA and certificates. Agents
//! enrol through `Enroll` with an enrolment secret, as `tokenwatch-agent enroll` does, and
//! each then reports on its own mutual-TLS channel, its first report paying for the handshake.
//! The agents' reports are encoded once beforehand and sent as those bytes, the way a spool
//! holds them: on the wire they are what `tokenwatch-agent` sends, and the agents' side of the
//! CPU figure is only the call itself.
//! The per-agent report rate limit is lifted (`agents.report_interval` 1 s,
//! `agents.report_burst` unbounded): agents send a report every few milliseconds here, not
//! every few minutes, and a refusal would measure the limit rather than the ingest.
//!
//! Knobs: `BENCH_AGENTS` (1,000, enough for the paced rates with one report in flight per
//! agent), `BENCH_TASKS` (64 callers in flight, each waiting for its answer before the next
//! report, one agent's reports in order), `BENCH_CHANGED_ROUNDS` (5),
//! `BENCH_UNCHANGED_ROUNDS` (30), `BENCH_CONNECTIONS` (the server's database connections, its
//! default); `BENCH_KEEP_DATABASE` keeps the database for a look afterwards. After those
//! closed-loop runs the same reports fall due at `BENCH_CHANGED_RATE` (1,000/s) and
//! `BENCH_UNCHANGED_RATE` (10,000/s), for the latency at that load.
//!
//! The agents share the machine's cores with the server and PostgreSQL, so each run also
//! splits its CPU time per report: the agents (this process), the server process, and
//! PostgreSQL with whatever else ran (the machine's busy time less the two). The cores over
//! what the server and PostgreSQL spend per report is what the machine would take with the
//! agents elsewhere. Last, the same unchanged reports go closed-loop to an empty handler in
//! this process (the agent service over the same mutual TLS, answering without looking at the
//! report): the transport's ceiling, with the ingest's share of it. Prints figures, asserts
//! nothing about speed: on a shared machine they are noisy.

#![allow(clippy::print_stdout, clippy::cast_precision_loss)]

#[path = "support/scratch.rs"]
mod scratch;

#[allow(dead_code, unreachable_pub, unused_imports)]
#[path = "../tests/inventory/support.rs"]
mod support;
// The sample reports' helpers seed through it.
#[path = "../tests/common/seed.rs"]
mod seed;

#[path = "support/figures.rs"]
mod figures;

#[path = "support/fleet.rs"]
mod fleet;

#[path = "support/empty_handler.rs"]
mod empty_handler;

#[path = "../tests/common/launch.rs"]
mod launch;

#[path = "support/server_process.rs"]
mod server_process;

use std::time::Instant;

use tokenwatch_agent::enroll::{EnrollConfig, enroll};
use tokenwatch_agent::state::StateDir;
use tokenwatch_agent::uplink;
use tokenwatch_proto::{ReportEnvelope, v1};
use tokenwatch_server::config::{Config, DatabaseUrl, Span};
use tokenwatch_server::{db, pki, registry};
use tonic::Request;
use tonic::client::Grpc;
use tonic::codegen::http::uri::PathAndQuery;
use tonic_prost::ProstCodec;

use fleet::{Agent, Destination, closed_loop, every_run};
use scratch::{Scratch, knob};
use server_process::{ServerProcess, free_address};

/// Enrolments in flight at once: each is a TLS handshake, a key and a certificate to sign.
const ENROLLERS: usize = 8;

/// An agent's own mutual-TLS channel to the server, sending its prepared reports' bytes as
/// `tokenwatch.v1.AgentService/Report` calls: on the wire the same as the agent's client.
#[derive(Clone)]
struct Channel(Grpc<tonic::transport::Channel>);

impl Destination for Channel {
    async fn send(&self, report: ReportEnvelope) -> bool {
        // A clone of a channel shares its connection.
        let mut grpc = self.0.clone();
        grpc.ready().await.expect("channel ready");
        let path = PathAndQuery::from_static("/tokenwatch.v1.AgentService/Report");
        let codec = ProstCodec::<ReportEnvelope, v1::ReportResponse>::default();
        grpc.unary(Request::new(report), path, codec)
            .await
            .expect("report")
            .into_inner()
            .changed
    }
}

/// The server binary's allocator, so that the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    scratch::run(bench());
}

async fn bench() {
    let agents = knob("BENCH_AGENTS", 1000).max(1);
    let tasks = knob("BENCH_TASKS", 64).clamp(1, agents);
    let changed_rounds = knob("BENCH_CHANGED_ROUNDS", 5);
    let unchanged_rounds = knob("BENCH_UNCHANGED_ROUNDS", 30);

    let mut scratch = Scratch::create("tokenwatch_grpc_bench").await;
    let data = tempfile::tempdir().expect("data dir");
    let mut config = Config::default();
    config.database.url = DatabaseUrl::new(scratch.url.clone());
    config.database.max_connections = u32::try_from(knob(
        "BENCH_CONNECTIONS",
        config.database.max_connections as usize,
    ))
    .unwrap();
    config.data_dir = data.path().to_owned();
    config.agents.report_interval = Span::from_secs(1);
    config.agents.report_burst = u32::MAX;
    let connections = config.database.max_connections;
    config.grpc.listen = free_address();
    config.http.listen = free_address();
    let server = ServerProcess::start(&config, data.path()).await;
    figures::SERVER_PROCESS.store(server.pid(), std::sync::atomic::Ordering::Relaxed);
    let url = format!("https://localhost:{}", config.grpc.listen.port());
    let (empty, empty_stop) = empty_handler::serve(&config).await;
    let empty_url = format!("https://localhost:{}", empty.port());

    let pool = db::connect(&scratch.url, 2).await.unwrap();
    let version = scratch.server_version().await;
    println!(
        "grpc ingest bench: PostgreSQL {version}, {agents} agents on their own mutual-TLS channels, {tasks} concurrent callers, {connections} server database connections, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );

    // Enrolment as the agent does it: its key, request, call and state directory.
    let secret = registry::create_secret(&pool, "bench", None)
        .await
        .expect("secret")
        .secret;
    let ca_pem = std::fs::read(pki::ca_cert_path(data.path())).expect("server CA");
    let states = tempfile::tempdir().expect("state dirs");
    let start = Instant::now();
    let mut enrollers = Vec::new();
    for first in 0..ENROLLERS.min(agents) {
        let empty_url = empty_url.clone();
        let config = EnrollConfig {
            server: url.clone(),
            secret: secret.clone(),
            ca_pem: Some(ca_pem.clone()),
            state_dir: states.path().to_owned(),
            hostname: String::new(),
        };
        enrollers.push(tokio::spawn(async move {
            let mut enrolled = Vec::new();
            for host in (first..agents).step_by(ENROLLERS) {
                let hostname = format!("ws-{host:05}");
                let state_dir = config.state_dir.join(&hostname);
                enroll(EnrollConfig {
                    state_dir: state_dir.clone(),
                    hostname,
                    ..config.clone()
                })
                .await
                .expect("enrols");
                let state = StateDir::open_enrolled(state_dir).expect("state");
                let channel = uplink::agent_channel(&state, &config.server).expect("channel");
                let to_empty = uplink::agent_channel(&state, &empty_url).expect("channel");
                enrolled.push((host, Grpc::new(channel), Grpc::new(to_empty)));
            }
            enrolled
        }));
    }
    let mut clients = Vec::with_capacity(agents);
    for enroller in enrollers {
        clients.extend(enroller.await.expect("task"));
    }
    clients.sort_by_key(|(host, _, _)| *host);
    println!(
        "enrolment              {agents:>6} agents  in {:>6.2} s",
        start.elapsed().as_secs_f64()
    );

    let mut groups: Vec<Vec<Agent<Channel>>> = (0..tasks).map(|_| Vec::new()).collect();
    let mut empty_groups: Vec<Vec<Agent<Channel>>> = (0..tasks).map(|_| Vec::new()).collect();
    for (host, client, to_empty) in clients {
        let variants = fleet::variants(host);
        empty_groups[host % tasks].push(Agent {
            to: Channel(to_empty),
            sequence: 0,
            variants: variants.clone(),
        });
        groups[host % tasks].push(Agent {
            to: Channel(client),
            sequence: 0,
            variants,
        });
    }

    let (changed, unchanged) = every_run(&mut groups, changed_rounds, unchanged_rounds).await;

    // The same unchanged reports, closed-loop, to the empty handler: the transport's ceiling.
    // Its CPU is this process's: the agents and the handler.
    closed_loop(&mut empty_groups, 1, |_| 0).await;
    let mut ceiling = closed_loop(&mut empty_groups, unchanged_rounds, |_| 0).await;
    ceiling.cpu = ceiling.cpu.in_this_process();
    ceiling.print("empty handler");
    println!(
        "{:<22} unchanged reports reach {:.1} % and changed ones {:.1} % of the empty handler's rate",
        "",
        100.0 * unchanged.rate() / ceiling.rate(),
        100.0 * changed.rate() / ceiling.rate(),
    );

    // The channels go first: a graceful stop waits for the connections to close.
    drop(groups);
    drop(empty_groups);
    drop(empty_stop);
    server.stop().await;
    pool.close().await;
    scratch.finish().await;
}
