//! The load generator: a fleet of simulated agents against the real server over mutual TLS,
//! grown to each size in turn, with the figures an operator sizes a deployment by.
//!
//!     DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench -p tokenwatch-server --bench fleet_load
//!
//! Every simulated agent is a host of its own: it enrols through `Enroll` with its office's
//! secret (its own key, certificate and state directory, as `tokenwatch-agent enroll` makes
//! them) and sends its reports over a mutual-TLS connection of its own, opened for the report:
//! an agent reports every 15 minutes and the server closes a connection 5 minutes after it
//! opened, so each of a real agent's reports pays for a handshake too. Hosts differ as a
//! fleet's do (`support/realistic.rs`: 1–3 readers, 0–3 tokens, 1–20 key containers and their
//! certificates, certificate files, a CA chain, findings) and change `BENCH_CHANGES_PER_HOUR`
//! (2) times an hour each: with reports every 15 minutes, that many of every four reports
//! carry a change (a certificate renewed, a token pulled out or put back, a card put in).
//!
//! For each size of `BENCH_HOSTS` (`1000,10000,100000`; the fleet grows from one to the next)
//! the run prints: enrolment; the new hosts' first reports; `BENCH_SECONDS` (30) of steady
//! reports from the whole fleet, closed-loop from `BENCH_TASKS` (64) agents at once, as
//! reports a second and p50/p99 latency (the handshake included) with the CPU per report of
//! the agents, the server and PostgreSQL; the same reports to an empty handler (the agent
//! service over the same TLS, answering at once) as the transport's ceiling; the server's
//! resident memory; the database's size per host; the rows the fleet left written again with
//! `COPY` into tables without indexes as the storage ceiling; the inventory API's list pages
//! (what the dashboard's lists show) against `/readyz`; and a full alert evaluation, with the
//! server stopped, against a plain count of the rows it reads.
//!
//! The agents run in this process, on the machine's cores beside the server and PostgreSQL.
//! The database is a fresh `tokenwatch_fleet_<pid>` beside the one `DATABASE_URL` names,
//! dropped at the end (`BENCH_KEEP_DATABASE` keeps it). The agents' state directories go to
//! `/dev/shm` when it exists: enrolment writes them with fsync, which here measures the disk.
//! Prints figures, asserts nothing about speed.

#![allow(clippy::print_stdout, clippy::cast_precision_loss)]

#[path = "support/scratch.rs"]
mod scratch;

#[path = "../tests/common/seed.rs"]
mod seed;
#[allow(dead_code, unreachable_pub, unused_imports)]
#[path = "../tests/inventory/support.rs"]
mod support;

#[path = "support/figures.rs"]
mod figures;

#[path = "support/realistic.rs"]
mod realistic;

#[path = "support/empty_handler.rs"]
mod empty_handler;

#[path = "support/copy_ceiling.rs"]
mod copy_ceiling;

#[path = "../tests/common/launch.rs"]
mod launch;

#[path = "support/server_process.rs"]
mod server_process;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokenwatch_agent::enroll::{EnrollConfig, enroll};
use tokenwatch_agent::state::StateDir;
use tokenwatch_agent::uplink;
use tokenwatch_proto::{ReportEnvelope, v1};
use tokenwatch_server::access::Role;
use tokenwatch_server::access::{tokens, users};
use tokenwatch_server::alerts::{self, Settings};
use tokenwatch_server::config::{AlertsConfig, Config, DatabaseUrl, Span};
use tokenwatch_server::{db, pki, registry};
use tokio::sync::Mutex;
use tonic::Request;
use tonic::client::Grpc;
use tonic::codegen::http::uri::PathAndQuery;
use tonic_prost::ProstCodec;

use figures::{Cpu, Figures};
use scratch::{Scratch, knob};
use server_process::{ServerProcess, free_address};

/// The server binary's allocator, so that the empty handler's figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Offices the fleet is spread over, as the query benchmark's.
const OFFICES: usize = 100;
/// Enrolments in flight at once: each is a TLS handshake, a key and a certificate to sign.
const ENROLLERS: usize = 8;
/// How often an agent reports (its default `--interval`).
const AGENT_INTERVAL: Duration = Duration::from_secs(15 * 60);
/// Timed requests per list page.
const LIST_SAMPLES: usize = 20;

fn main() {
    scratch::run(bench());
}

/// One simulated host: its enrolled identity, its next sequence and how many changes it has
/// seen.
struct SimAgent {
    host: usize,
    state: StateDir,
    sequence: u64,
    epoch: u64,
}

/// What every sender shares.
struct Fleet {
    agents: Vec<Mutex<SimAgent>>,
    /// Validity dates of every inventory count from here.
    base: DateTime<Utc>,
    /// Of every 1,000 reports, how many carry a change.
    changed_per_mille: u64,
}

impl Fleet {
    /// Agent `i`'s next report: a change with the fleet's odds, decided by its host and
    /// sequence so that reruns send the same.
    async fn next_report(
        &self,
        i: usize,
    ) -> (tokio::sync::MutexGuard<'_, SimAgent>, ReportEnvelope) {
        let mut agent = self.agents[i].lock().await;
        agent.sequence += 1;
        let roll = Sha256::digest(format!("{} {}", agent.host, agent.sequence).as_bytes());
        // The first report is the inventory as found; later ones change with the odds.
        if agent.sequence > 1
            && u64::from(u16::from_le_bytes([roll[0], roll[1]])) % 1000 < self.changed_per_mille
        {
            agent.epoch += 1;
        }
        let inventory = realistic::inventory(agent.host, agent.epoch, self.base, Utc::now());
        let report = ReportEnvelope::of(&seed::request(agent.sequence, &inventory));
        (agent, report)
    }
}

/// Send `report` as `agent` to `url` on a connection opened for it. `None` when it failed.
async fn send(url: &str, agent: &SimAgent, report: ReportEnvelope) -> Option<bool> {
    let channel = uplink::agent_channel(&agent.state, url).ok()?;
    let mut grpc = Grpc::new(channel);
    grpc.ready().await.ok()?;
    let path = PathAndQuery::from_static("/tokenwatch.v1.AgentService/Report");
    let codec = ProstCodec::<ReportEnvelope, v1::ReportResponse>::default();
    match grpc.unary(Request::new(report), path, codec).await {
        Ok(answer) => Some(answer.into_inner().changed),
        Err(status) => {
            tracing::warn!(host = agent.host, %status, "report refused");
            None
        }
    }
}

/// Which agents a run takes, in turn.
enum Which {
    /// Agents `from..to`, once each.
    Once(usize, usize),
    /// The whole fleet round-robin until the time is up.
    For(Duration),
}

/// `tasks` agents at once, each sending its next report when the last is answered.
async fn closed_loop(fleet: &Arc<Fleet>, url: &str, tasks: usize, span: Which) -> (Figures, usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let (first, count, until) = match span {
        Which::Once(from, to) => (from, to - from, None),
        Which::For(d) => (0, fleet.agents.len(), Some(Instant::now() + d)),
    };
    let start = Instant::now();
    let cpu = Cpu::now();
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let (fleet, next, url) = (fleet.clone(), next.clone(), url.to_owned());
        handles.push(tokio::spawn(async move {
            let (mut latencies, mut changed, mut failed) = (Vec::new(), 0, 0);
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                match until {
                    None if n >= count => break,
                    Some(deadline) if Instant::now() >= deadline => break,
                    _ => {}
                }
                let (agent, report) = fleet.next_report(first + n % count).await;
                let t = Instant::now();
                match send(&url, &agent, report).await {
                    Some(c) => changed += usize::from(c),
                    None => failed += 1,
                }
                latencies.push(t.elapsed().as_micros() as u64);
            }
            (latencies, changed, failed)
        }));
    }
    let mut figures = Figures::empty(0);
    let mut failed = 0;
    for handle in handles {
        let (latencies, changed, f) = handle.await.expect("sender");
        figures.reports += latencies.len();
        figures.latencies.extend(latencies);
        figures.changed += changed;
        failed += f;
    }
    figures.elapsed = start.elapsed();
    figures.cpu = Cpu::since(cpu);
    (figures, failed)
}

/// Enrol hosts `from..to`, each with its office's secret, as `tokenwatch-agent enroll` does.
async fn enrol(
    url: &str,
    secrets: &[String],
    ca_pem: &[u8],
    states: &Path,
    from: usize,
    to: usize,
) -> Vec<SimAgent> {
    let mut enrollers = Vec::new();
    for first in from..(from + ENROLLERS).min(to) {
        let (url, secrets, ca_pem, states) = (
            url.to_owned(),
            secrets.to_vec(),
            ca_pem.to_vec(),
            states.to_owned(),
        );
        enrollers.push(tokio::spawn(async move {
            let mut enrolled = Vec::new();
            for host in (first..to).step_by(ENROLLERS) {
                let hostname = realistic::hostname(host);
                let state_dir = states.join(&hostname);
                enroll(EnrollConfig {
                    server: url.clone(),
                    secret: secrets[host % OFFICES].clone(),
                    ca_pem: Some(ca_pem.clone()),
                    state_dir: state_dir.clone(),
                    hostname,
                })
                .await
                .expect("enrols");
                enrolled.push(SimAgent {
                    host,
                    state: StateDir::open_enrolled(state_dir).expect("state"),
                    sequence: 0,
                    epoch: 0,
                });
            }
            enrolled
        }));
    }
    let mut agents = Vec::new();
    for enroller in enrollers {
        agents.extend(enroller.await.expect("enroller"));
    }
    agents.sort_by_key(|a| a.host);
    agents
}

/// p50, p95 and max of `samples`, in milliseconds.
fn spread(mut samples: Vec<f64>) -> (f64, f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at =
        |p: f64| samples[((samples.len() as f64 * p).ceil() as usize).clamp(1, samples.len()) - 1];
    (at(0.5), at(0.95), at(1.0))
}

/// An authenticated GET `LIST_SAMPLES` times after one untimed; its spread.
async fn time_get(http: SocketAddr, path: &str, token: &str) -> (f64, f64, f64) {
    let bearer = format!("Bearer {token}");
    let headers = [("Authorization", bearer.as_str())];
    let mut samples = Vec::with_capacity(LIST_SAMPLES);
    for i in 0..=LIST_SAMPLES {
        let t = Instant::now();
        let response = launch::http_request(http, path, &headers)
            .await
            .expect("GET");
        assert_eq!(response.status, 200, "GET {path}: {}", response.body);
        if i > 0 {
            samples.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    spread(samples)
}

/// The inventory API's list pages at this size, beside the cheapest request there is.
async fn list_latency(http: SocketAddr, token: &str) {
    let (base50, _, _) = time_get(http, "/readyz", token).await;
    println!("{:<26} p50 {base50:>7.2} ms (the baseline)", "GET /readyz");
    let mut worst: (f64, &str) = (0.0, "");
    for path in [
        "/api/v1/certificates?limit=50",
        "/api/v1/certificates?expiring_within_days=30&limit=50",
        "/api/v1/certificates?sort=not_after&order=desc&limit=50",
        "/api/v1/tokens?limit=50",
        "/api/v1/containers?limit=50",
        "/api/v1/readers?limit=50",
        "/api/v1/hosts?limit=50",
        "/api/v1/hosts?limit=500",
        "/api/v1/findings?limit=50",
        "/api/v1/summary",
    ] {
        let (p50, p95, max) = time_get(http, path, token).await;
        if p95 > worst.0 {
            worst = (p95, path);
        }
        println!(
            "{path:<56} p50 {p50:>7.2} ms  p95 {p95:>7.2} ms  max {max:>7.2} ms  ({:.0}x the baseline)",
            p50 / base50.max(1e-3)
        );
    }
    println!(
        "{:<26} worst p95 {:.2} ms: {}",
        "list pages", worst.0, worst.1
    );
}

/// A full alert evaluation with the server stopped, beside a count of the rows it reads.
async fn alert_evaluation(pool: &PgPool) {
    let settings = Settings::from_config(&AlertsConfig::default());
    for label in ["full alert evaluation", "again, nothing changed"] {
        let t = Instant::now();
        let outcome = alerts::evaluate(pool, Utc::now(), &settings)
            .await
            .expect("evaluate");
        println!(
            "{label:<26} {:>8.3} s  ({} fired, {} updated, {} resolved)",
            t.elapsed().as_secs_f64(),
            outcome.fired,
            outcome.updated,
            outcome.resolved
        );
    }
    let firing: i64 = sqlx::query_scalar("select count(*) from alerts where state = 'firing'")
        .fetch_one(pool)
        .await
        .expect("alerts");
    println!(
        "{:<26} {firing} (the server's own evaluations fired them)",
        "alerts firing"
    );
    let t = Instant::now();
    let rows: i64 = sqlx::query_scalar(
        "select (select count(*) from certificate_sightings) + (select count(*) from container_sightings) \
         + (select count(*) from token_sightings) + (select count(*) from host_findings) + (select count(*) from agents)",
    )
    .fetch_one(pool)
    .await
    .expect("count");
    println!(
        "{:<26} {:>8.3} s  (counting the {rows} rows it reads: the floor)",
        "count(*)",
        t.elapsed().as_secs_f64()
    );
}

/// The database's size, and per host.
async fn database_size(pool: &PgPool, hosts: usize) {
    let bytes: i64 = sqlx::query_scalar("select pg_database_size(current_database())")
        .fetch_one(pool)
        .await
        .expect("size");
    println!(
        "{:<26} {:.1} MB in all, {:.1} KB per host",
        "PostgreSQL size",
        bytes as f64 / 1e6,
        bytes as f64 / 1e3 / hosts as f64
    );
}

/// The rows the fleet left, written again by `COPY`: what storing first reports could come to.
async fn storage_ceiling(pool: &PgPool, hosts: usize, first: &Figures) {
    let rows = copy_ceiling::dump(pool).await;
    let (elapsed, written) = copy_ceiling::copy_ceiling(pool, &rows, 1, 4).await;
    let per_second = hosts as f64 / elapsed.as_secs_f64();
    println!(
        "{:<26} {written} rows in {:.2} s = {per_second:.0} hosts' rows/s; first reports reach {:.1} % of it",
        "COPY ceiling",
        elapsed.as_secs_f64(),
        100.0 * first.rate() / per_second
    );
    copy_ceiling::drop_copies(pool).await;
}

fn state_root() -> tempfile::TempDir {
    let shm = PathBuf::from("/dev/shm");
    if shm.is_dir() {
        tempfile::tempdir_in(shm).expect("state dirs")
    } else {
        tempfile::tempdir().expect("state dirs")
    }
}

async fn bench() {
    let sizes: Vec<usize> = std::env::var("BENCH_HOSTS")
        .unwrap_or_else(|_| "1000,10000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let tasks = knob("BENCH_TASKS", 64).max(1);
    let seconds = knob("BENCH_SECONDS", 30) as u64;
    let changes_per_hour = knob("BENCH_CHANGES_PER_HOUR", 2) as u64;
    let changed_per_mille = (changes_per_hour * 1000 * AGENT_INTERVAL.as_secs() / 3600).min(1000);

    let mut scratch = Scratch::create("tokenwatch_fleet").await;
    let data = tempfile::tempdir().expect("data dir");
    let mut config = Config::default();
    config.database.url = DatabaseUrl::new(scratch.url.clone());
    config.data_dir = data.path().to_owned();
    // Agents report back to back here, not every 15 minutes: the per-agent limit would
    // measure itself.
    config.agents.report_interval = Span::from_secs(1);
    config.agents.report_burst = u32::MAX;
    config.grpc.listen = free_address();
    config.http.listen = free_address();
    let url = format!("https://localhost:{}", config.grpc.listen.port());

    let pool = db::connect(&scratch.url, 4).await.expect("database");
    db::migrate(&pool).await.expect("migrations");
    let mut secrets = Vec::new();
    for office in 0..OFFICES {
        let name = format!("office-{office:03}");
        secrets.push(
            registry::create_secret(&pool, &name, None)
                .await
                .expect("secret")
                .secret,
        );
    }
    users::create(
        &pool,
        &users::NewUser {
            name: "bench".into(),
            password: "bench password long enough".into(),
            role: Role::Admin,
            offices: None,
        },
    )
    .await
    .expect("account");
    let (_, token) = tokens::create(&pool, "bench", "fleet bench", None)
        .await
        .expect("token");
    let version = scratch.server_version().await;
    println!(
        "fleet load: PostgreSQL {version}, {} cores, {tasks} agents reporting at once, {changed_per_mille}/1000 reports changed ({changes_per_hour} changes an hour, reports every {} min), {OFFICES} offices",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        AGENT_INTERVAL.as_secs() / 60,
    );

    let states = state_root();
    let fleet_base = Utc::now();
    let mut agents: Vec<SimAgent> = Vec::new();
    for size in sizes {
        let from = agents.len();
        if size <= from {
            continue;
        }
        println!("\n== {size} hosts ==");
        let server = ServerProcess::start(&config, data.path()).await;
        figures::SERVER_PROCESS.store(server.pid(), Ordering::Relaxed);
        let ca_pem = std::fs::read(pki::ca_cert_path(data.path())).expect("server CA");

        let t = Instant::now();
        agents.extend(enrol(&url, &secrets, &ca_pem, states.path(), from, size).await);
        println!(
            "{:<26} {} hosts in {:.1} s = {:.0}/s",
            "enrolment",
            size - from,
            t.elapsed().as_secs_f64(),
            (size - from) as f64 / t.elapsed().as_secs_f64()
        );
        let fleet = Arc::new(Fleet {
            agents: std::mem::take(&mut agents)
                .into_iter()
                .map(Mutex::new)
                .collect(),
            base: fleet_base,
            changed_per_mille,
        });

        let (first, failed) = closed_loop(&fleet, &url, tasks, Which::Once(from, size)).await;
        first.print("first reports");
        println!("{:<22} {failed} failed", "");
        let (steady, failed) = closed_loop(
            &fleet,
            &url,
            tasks,
            Which::For(Duration::from_secs(seconds)),
        )
        .await;
        steady.print("steady reports");
        let own_rate = size as f64 / AGENT_INTERVAL.as_secs_f64();
        println!(
            "{:<22} {failed} failed; the fleet itself sends {own_rate:.0}/s (one report per host per {} min): {:.0}x headroom",
            "",
            AGENT_INTERVAL.as_secs() / 60,
            steady.rate() / own_rate
        );

        let (empty, stop_empty) = empty_handler::serve(&config).await;
        let empty_url = format!("https://localhost:{}", empty.port());
        let (mut ceiling, failed) = closed_loop(
            &fleet,
            &empty_url,
            tasks,
            Which::For(Duration::from_secs(seconds.min(15))),
        )
        .await;
        drop(stop_empty);
        ceiling.cpu = ceiling.cpu.in_this_process();
        ceiling.print("empty handler");
        println!(
            "{:<22} {failed} failed; steady reports reach {:.1} % of the empty handler's rate",
            "",
            100.0 * steady.rate() / ceiling.rate()
        );
        let (rss, peak) = server.memory_mib();
        println!(
            "{:<26} {rss:.0} MiB resident, {peak:.0} MiB at its peak",
            "server memory"
        );

        database_size(&pool, size).await;
        storage_ceiling(&pool, size, &first).await;
        // Repeatable plans: the statistics as autovacuum brings them up to date within a
        // minute or so of a load like this one, rather than whatever it had reached.
        sqlx::query("analyze")
            .execute(&pool)
            .await
            .expect("analyze");
        list_latency(config.http.listen, &token).await;
        server.stop().await;
        alert_evaluation(&pool).await;

        agents = Arc::into_inner(fleet)
            .expect("the senders are done")
            .agents
            .into_iter()
            .map(Mutex::into_inner)
            .collect();
    }
    pool.close().await;
    scratch.finish().await;
}
