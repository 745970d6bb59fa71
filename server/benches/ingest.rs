//! Ingest figures: changed and unchanged workstation reports per second with their latency,
//! and a plain `COPY` of the same rows as the ceiling.
//!
//!     DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench -p tokenwatch-server --bench ingest
//!
//! Creates a fresh database `tokenwatch_bench_<pid>` beside the one `DATABASE_URL` names and
//! drops it at the end. Reports go through the server's ingest queue ([`Ingest`]) as the gRPC
//! handler hands them over, minus TLS and HTTP/2. Knobs: `BENCH_AGENTS` (1000), `BENCH_TASKS`
//! (64 reporters in flight, each waiting for its answer before the next report),
//! `BENCH_CHANGED_ROUNDS` (5), `BENCH_UNCHANGED_ROUNDS` (30), `BENCH_WRITERS` and `BENCH_BATCH`
//! (the queue's defaults); `BENCH_KEEP_DATABASE` keeps the database for a look afterwards.
//! After those closed-loop runs (each reporter waits for its answer: the most the ingest takes),
//! the same reports fall due at `BENCH_CHANGED_RATE` (1,000/s) and
//! `BENCH_UNCHANGED_RATE` (10,000/s), for the latency at that load. Prints figures, asserts
//! nothing about speed: on a shared machine they are noisy.

#![allow(clippy::print_stdout, clippy::cast_precision_loss)]

#[path = "support/scratch.rs"]
mod scratch;

use chrono::Utc;
use tokenwatch_proto::ReportEnvelope;
use tokenwatch_server::db;
use tokenwatch_server::ingest::{Credential, Ingest, IngestOptions};
use uuid::Uuid;

use scratch::{Scratch, knob};

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

#[path = "support/copy_ceiling.rs"]
mod copy_ceiling;

use copy_ceiling::{copy_ceiling, dump};
use fleet::{Agent, Destination, every_run, inventory};

/// An agent's reports handed to the ingest queue, as the gRPC handler hands them over.
#[derive(Clone)]
struct Queue {
    ingest: Ingest,
    agent: Uuid,
}

impl Destination for Queue {
    async fn send(&self, report: ReportEnvelope) -> bool {
        // The serial every bench agent is registered with, checked as for a gRPC report.
        let credential = Credential::Certificate("01".into());
        self.ingest
            .apply(self.agent, credential, report, Utc::now())
            .await
            .expect("apply")
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
    let agents = knob("BENCH_AGENTS", 1_000);
    let tasks = knob("BENCH_TASKS", 64).clamp(1, agents);
    let changed_rounds = knob("BENCH_CHANGED_ROUNDS", 5);
    let unchanged_rounds = knob("BENCH_UNCHANGED_ROUNDS", 30);
    let options = IngestOptions {
        writers: knob("BENCH_WRITERS", IngestOptions::default().writers),
        max_batch: knob("BENCH_BATCH", IngestOptions::default().max_batch),
        ..IngestOptions::default()
    };

    let mut scratch = Scratch::create("tokenwatch_bench").await;

    let connections = u32::try_from(options.writers.max(4)).unwrap() + 2;
    let pool = db::connect(&scratch.url, connections).await.unwrap();
    db::migrate(&pool).await.unwrap();
    let settings: Vec<(String, String)> = sqlx::query_as(
        "select name, setting from pg_settings where name in \
         ('synchronous_commit', 'fsync', 'shared_buffers', 'wal_level', 'max_wal_size') \
         order by name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let version = scratch.server_version().await;
    println!(
        "ingest bench: PostgreSQL {version}, {agents} agents, {tasks} concurrent reporters, {} writers, batches of at most {}, {} cores; {}",
        options.writers,
        options.max_batch,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        settings
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let sample = inventory(0, 0);
    println!(
        "report: {} readers, {} tokens, {} containers, {} certificates ({} shared by all hosts), {} findings",
        sample.readers.len(),
        sample.tokens.len(),
        sample.containers.len(),
        sample.certificates.len(),
        5,
        sample.findings.len()
    );

    let office = support::office(&pool, "bench").await;
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "insert into agents (id, office_id, hostname, certificate_serial, certificate_not_after) \
         select gen_random_uuid(), $1, 'ws-' || lpad(i::text, 5, '0'), '01', now() + interval '1 year' \
         from generate_series(0, $2 - 1) as i order by i returning id",
    )
    .bind(office)
    .bind(i32::try_from(agents).unwrap())
    .fetch_all(&pool)
    .await
    .unwrap();
    let ingest = Ingest::start(pool.clone(), options);
    let mut groups: Vec<Vec<Agent<Queue>>> = (0..tasks).map(|_| Vec::new()).collect();
    for (host, agent) in ids.into_iter().enumerate() {
        let variants = fleet::variants(host);
        groups[host % tasks].push(Agent {
            to: Queue {
                ingest: ingest.clone(),
                agent,
            },
            sequence: 0,
            variants,
        });
    }

    let (changed, _) = every_run(&mut groups, changed_rounds, unchanged_rounds).await;

    let rows = dump(&pool).await;
    let per_round: u64 = rows.iter().map(|(_, _, n)| n).sum();
    let (elapsed, written) = copy_ceiling(&pool, &rows, changed_rounds, tasks).await;
    let copy_reports = (changed_rounds * agents) as f64 / elapsed.as_secs_f64();
    let changed_rate = changed.reports as f64 / changed.elapsed.as_secs_f64();
    println!(
        "COPY ceiling           {written} rows ({} per report, {} tables) in {:.2} s = {:.0} rows/s = {:.0} reports/s; changed reports reach {:.1}% of it",
        per_round / agents as u64,
        rows.len(),
        elapsed.as_secs_f64(),
        written as f64 / elapsed.as_secs_f64(),
        copy_reports,
        100.0 * changed_rate / copy_reports,
    );

    pool.close().await;
    scratch.finish().await;
}
