//! Ingest figures end to end: workstation reports sent to the real server over mutual TLS, per
//! second and with their latency, to set beside the `ingest` bench, which feeds the ingest
//! queue directly.
//!
//!     DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench -p tokenwatch-server --bench grpc_ingest
//!
//! Creates a fresh database `tokenwatch_grpc_bench_<pid>` beside the one `DATABASE_URL` names
//! and drops it at the end. The server runs in this process (`tokenwatch_server::run`, as the
//! server tests start it) with its own data dir, and so its own CA and certificates. Agents
//! enrol through `Enroll` with an enrolment secret, as `tokenwatch-agent enroll` does, and
//! each then reports on its own mutual-TLS channel, its first report paying for the handshake.
//! The per-agent report rate limit is lifted (`agents.report_interval` 1 s,
//! `agents.report_burst` unbounded): agents send a report every few milliseconds here, not
//! every few minutes, and a refusal would measure the limit rather than the ingest.
//!
//! Knobs: `BENCH_AGENTS` (200), `BENCH_TASKS` (64 callers in flight, each waiting for its
//! answer before the next report, one agent's reports in order), `BENCH_CHANGED_ROUNDS` (5),
//! `BENCH_UNCHANGED_ROUNDS` (30), `BENCH_CONNECTIONS` (the server's database connections, its
//! default); `BENCH_KEEP_DATABASE` keeps the database for a look afterwards. After those
//! closed-loop runs the same reports are sent open-loop at `BENCH_CHANGED_RATE` (1,000/s) and
//! `BENCH_UNCHANGED_RATE` (10,000/s), for the latency at that load. The CPU figure is this
//! whole process: the server, its TLS and the agents' side of each call. Prints figures,
//! asserts nothing about speed: on a shared machine they are noisy.

#![allow(clippy::print_stdout, clippy::cast_precision_loss)]

#[path = "support/scratch.rs"]
mod scratch;

#[allow(dead_code, unreachable_pub)]
#[path = "../tests/inventory/support.rs"]
mod support;

#[path = "support/fleet.rs"]
mod fleet;

#[path = "../tests/common/launch.rs"]
mod launch;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokenwatch_agent::enroll::{EnrollConfig, enroll};
use tokenwatch_agent::state::StateDir;
use tokenwatch_agent::uplink::{self, Client};
use tokenwatch_proto::v1;
use tokenwatch_server::config::{Config, DatabaseUrl, Span};
use tokenwatch_server::{db, pki, registry};

use fleet::{Figures, VARIANTS, inventory, process_cpu};
use launch::Launched;
use scratch::{Scratch, knob};

/// Enrolments in flight at once: each is a TLS handshake, a key and a certificate to sign.
const ENROLLERS: usize = 8;

/// One agent as a caller holds it: its channel, next sequence and prepared reports.
struct Agent {
    client: Client,
    sequence: u64,
    variants: Vec<v1::ReportRequest>,
}

impl Agent {
    /// Send one report; whether the server found it changed.
    async fn send(client: &mut Client, report: v1::ReportRequest) -> bool {
        client
            .report(report)
            .await
            .expect("report")
            .into_inner()
            .changed
    }
}

fn empty_figures(capacity: usize) -> Figures {
    Figures {
        reports: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::with_capacity(capacity),
        changed: 0,
        cpu: Duration::ZERO,
    }
}

/// Every caller sends `rounds` reports for each of its agents, one agent's reports in order;
/// `pick(round)` chooses the variant.
async fn run(
    groups: &mut Vec<Vec<Agent>>,
    rounds: usize,
    pick: impl Fn(usize) -> usize + Copy + Send + 'static,
) -> Figures {
    let start = Instant::now();
    let cpu = process_cpu();
    let mut handles = Vec::new();
    for mut group in std::mem::take(groups) {
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(rounds * group.len());
            let mut changed = 0;
            for round in 0..rounds {
                for agent in &mut group {
                    agent.sequence += 1;
                    let report = &mut agent.variants[pick(round)];
                    report.sequence = agent.sequence;
                    // The call takes its request by value, as an agent builds a new one each
                    // time; the copy is the agent's side and stays out of the latency.
                    let report = report.clone();
                    let t = Instant::now();
                    let applied = Agent::send(&mut agent.client, report).await;
                    latencies.push(t.elapsed().as_micros() as u64);
                    changed += usize::from(applied);
                }
            }
            (group, latencies, changed)
        }));
    }
    let mut figures = empty_figures(0);
    for handle in handles {
        let (group, latencies, changed) = handle.await.expect("task");
        groups.push(group);
        figures.reports += latencies.len();
        figures.latencies.extend(latencies);
        figures.changed += changed;
    }
    figures.elapsed = start.elapsed();
    figures.cpu = process_cpu().saturating_sub(cpu);
    figures
}

/// How long the paced sender sleeps at least when it is ahead.
const TICK: Duration = Duration::from_millis(1);

/// Reports sent at `rate` per second whatever the answers, as a fleet's agents send them (not
/// one after another's answer): `rounds` reports for each agent, round-robin, each on its
/// agent's channel. Latency counts from each report's due time, so a report sent late because
/// the bench fell behind counts the wait.
async fn paced(
    groups: &mut Vec<Vec<Agent>>,
    rate: f64,
    rounds: usize,
    pick: impl Fn(usize) -> usize,
) -> Figures {
    let tasks = groups.len();
    let mut agents: Vec<Agent> = std::mem::take(groups).into_iter().flatten().collect();
    // Shared, so that each report is copied on its own task: one sender copying ten thousand
    // reports a second would measure itself.
    let variants: Vec<Vec<Arc<v1::ReportRequest>>> = agents
        .iter()
        .map(|a| a.variants.iter().cloned().map(Arc::new).collect())
        .collect();
    let start = tokio::time::Instant::now();
    let cpu = process_cpu();
    let mut handles = Vec::with_capacity(rounds * agents.len());
    let mut n = 0_u32;
    for round in 0..rounds {
        for (agent, variants) in agents.iter_mut().zip(&variants) {
            let due = start + Duration::from_secs_f64(f64::from(n) / rate);
            n += 1;
            // Whatever is due goes at once; a timer per report would cost more than the
            // report at 10,000 a second.
            if due > tokio::time::Instant::now() {
                tokio::time::sleep_until(due.max(tokio::time::Instant::now() + TICK)).await;
            } else {
                // Behind: let the reports already sent run rather than pile more on.
                tokio::task::yield_now().await;
            }
            agent.sequence += 1;
            let variant = Arc::clone(&variants[pick(round)]);
            let (mut client, sequence) = (agent.client.clone(), agent.sequence);
            handles.push(tokio::spawn(async move {
                let mut report = (*variant).clone();
                report.sequence = sequence;
                let changed = Agent::send(&mut client, report).await;
                (due.elapsed().as_micros() as u64, changed)
            }));
        }
    }
    let mut figures = empty_figures(handles.len());
    for handle in handles {
        let (latency, changed) = handle.await.expect("task");
        figures.reports += 1;
        figures.latencies.push(latency);
        figures.changed += usize::from(changed);
    }
    figures.elapsed = start.elapsed();
    figures.cpu = process_cpu().saturating_sub(cpu);
    // Back into as many groups as there were.
    groups.extend((0..tasks).map(|_| Vec::new()));
    for (i, agent) in agents.into_iter().enumerate() {
        groups[i % tasks].push(agent);
    }
    figures
}

fn main() {
    scratch::run(bench());
}

async fn bench() {
    let agents = knob("BENCH_AGENTS", 200).max(1);
    let tasks = knob("BENCH_TASKS", 64).clamp(1, agents);
    let changed_rounds = knob("BENCH_CHANGED_ROUNDS", 5);
    let unchanged_rounds = knob("BENCH_UNCHANGED_ROUNDS", 30);

    let scratch = Scratch::create("tokenwatch_grpc_bench").await;
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
    let grpc = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let server = Launched::start(config, grpc).await;
    let url = format!("https://localhost:{}", server.grpc.port());

    let pool = db::connect(&scratch.url, 2).await.unwrap();
    let version: String = sqlx::query_scalar("show server_version")
        .fetch_one(&pool)
        .await
        .unwrap();
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
                let client = uplink::agent_client(&state, &config.server).expect("client");
                enrolled.push((host, client));
            }
            enrolled
        }));
    }
    let mut clients = Vec::with_capacity(agents);
    for enroller in enrollers {
        clients.extend(enroller.await.expect("task"));
    }
    clients.sort_by_key(|(host, _)| *host);
    println!(
        "enrolment              {agents:>6} agents  in {:>6.2} s",
        start.elapsed().as_secs_f64()
    );

    let mut groups: Vec<Vec<Agent>> = (0..tasks).map(|_| Vec::new()).collect();
    for (host, client) in clients {
        let variants = (0..VARIANTS)
            .map(|v| support::request(0, &inventory(host, v)))
            .collect();
        groups[host % tasks].push(Agent {
            client,
            sequence: 0,
            variants,
        });
    }

    let first = run(&mut groups, 1, |_| 0).await;
    first.print("first report");
    let changed = run(&mut groups, changed_rounds, |round| {
        1 + round % (VARIANTS - 1)
    })
    .await;
    changed.print("changed reports");
    // The last changed round's variant, again and again.
    let unchanged = run(&mut groups, unchanged_rounds, move |_| {
        1 + (changed_rounds.max(1) - 1) % (VARIANTS - 1)
    })
    .await;
    unchanged.print("unchanged reports");

    // The same kinds of report at the rates to hold (1,000 changed and 10,000 unchanged a
    // second), sent on time whatever the answers: the latency at that load.
    let changed_target = knob("BENCH_CHANGED_RATE", 1_000) as f64;
    let unchanged_target = knob("BENCH_UNCHANGED_RATE", 10_000) as f64;
    let next = changed_rounds;
    let paced_changed = paced(&mut groups, changed_target, changed_rounds, |round| {
        1 + (next + round) % (VARIANTS - 1)
    })
    .await;
    paced_changed.print(&format!("changed at {changed_target:.0}/s"));
    let last = 1 + (next + changed_rounds.max(1) - 1) % (VARIANTS - 1);
    let paced_unchanged = paced(&mut groups, unchanged_target, unchanged_rounds, |_| last).await;
    paced_unchanged.print(&format!("unchanged at {unchanged_target:.0}/s"));

    // The channels go first: a graceful stop waits for the connections to close.
    drop(groups);
    server.stop().await.expect("the server stops cleanly");
    pool.close().await;
    scratch.finish().await;
}
