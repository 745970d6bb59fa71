//! Ingest figures: changed and unchanged workstation reports per second with their latency,
//! and a plain `COPY` of the same rows as the ceiling.
//!
//!     DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench -p tokenwatch-server --bench ingest
//!
//! Creates a fresh database `tokenwatch_bench_<pid>` beside the one `DATABASE_URL` names and
//! drops it at the end. Reports go through the server's ingest queue ([`Ingest`]) as the gRPC
//! handlers send them, minus TLS and decoding. Knobs: `BENCH_AGENTS` (1000), `BENCH_TASKS`
//! (64 reporters in flight, each waiting for its answer before the next report),
//! `BENCH_CHANGED_ROUNDS` (5), `BENCH_UNCHANGED_ROUNDS` (30), `BENCH_WRITERS` and `BENCH_BATCH`
//! (the queue's defaults); `BENCH_KEEP_DATABASE` keeps the database for a look afterwards.
//! After those closed-loop runs (each reporter waits for its answer: the most the ingest takes),
//! the same reports are sent open-loop at `BENCH_CHANGED_RATE` (1,000/s) and
//! `BENCH_UNCHANGED_RATE` (10,000/s), for the latency at that load. Prints figures, asserts
//! nothing about speed: on a shared machine they are noisy.

#![allow(clippy::print_stdout, clippy::cast_precision_loss)]

#[path = "support/scratch.rs"]
mod scratch;

use std::time::{Duration, Instant};

use chrono::Utc;
use sqlx::AssertSqlSafe;
use sqlx::postgres::{PgPool, PgPoolCopyExt};
use tokenwatch_proto::v1;
use tokenwatch_server::db;
use tokenwatch_server::ingest::{Ingest, IngestOptions};
use uuid::Uuid;

use scratch::{Scratch, knob};

#[allow(dead_code, unreachable_pub)]
#[path = "../tests/inventory/support.rs"]
mod support;

#[path = "support/fleet.rs"]
mod fleet;

use fleet::{Figures, VARIANTS, inventory, process_cpu};

/// The tables one changed report writes rows to (besides `agents` and new identities).
const ROW_TABLES: [&str; 9] = [
    "hosts",
    "host_readers",
    "host_tokens",
    "host_containers",
    "host_findings",
    "host_collectors",
    "token_sightings",
    "certificate_sightings",
    "container_sightings",
];

/// One agent as a task holds it: its id, next sequence and prepared reports.
struct Agent {
    id: Uuid,
    sequence: u64,
    variants: Vec<v1::ReportRequest>,
}

/// Every task sends `rounds` reports for each of its agents, one agent's reports in order;
/// `pick(round)` chooses the variant.
async fn run(
    ingest: &Ingest,
    groups: &mut Vec<Vec<Agent>>,
    rounds: usize,
    pick: impl Fn(usize) -> usize + Copy + Send + 'static,
) -> Figures {
    let start = Instant::now();
    let cpu = process_cpu();
    let mut handles = Vec::new();
    for mut group in std::mem::take(groups) {
        let ingest = ingest.clone();
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(rounds * group.len());
            let mut changed = 0;
            for round in 0..rounds {
                for agent in &mut group {
                    agent.sequence += 1;
                    let report = &mut agent.variants[pick(round)];
                    report.sequence = agent.sequence;
                    let t = Instant::now();
                    // The copy stands for the report the gRPC layer decodes for each call.
                    let applied = ingest
                        .apply(agent.id, report.clone(), Utc::now())
                        .await
                        .expect("apply");
                    latencies.push(t.elapsed().as_micros() as u64);
                    changed += usize::from(applied.changed);
                }
            }
            (group, latencies, changed)
        }));
    }
    let mut figures = Figures {
        reports: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
        changed: 0,
        cpu: Duration::ZERO,
    };
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
/// one after another's answer): `rounds` reports for each agent, round-robin. Latency counts
/// from each report's due time, so a report sent late because the bench fell behind counts
/// the wait.
async fn paced(
    ingest: &Ingest,
    groups: &mut Vec<Vec<Agent>>,
    rate: f64,
    rounds: usize,
    pick: impl Fn(usize) -> usize,
) -> Figures {
    let mut agents: Vec<Agent> = std::mem::take(groups).into_iter().flatten().collect();
    // Shared, so that each report is copied on its own task: one sender copying ten thousand
    // reports a second would measure itself.
    let variants: Vec<Vec<std::sync::Arc<v1::ReportRequest>>> = agents
        .iter()
        .map(|a| {
            a.variants
                .iter()
                .cloned()
                .map(std::sync::Arc::new)
                .collect()
        })
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
            let variant = std::sync::Arc::clone(&variants[pick(round)]);
            let (ingest, id, sequence) = (ingest.clone(), agent.id, agent.sequence);
            handles.push(tokio::spawn(async move {
                let mut report = (*variant).clone();
                report.sequence = sequence;
                let applied = ingest.apply(id, report, Utc::now()).await.expect("apply");
                (due.elapsed().as_micros() as u64, applied.changed)
            }));
        }
    }
    let mut figures = Figures {
        reports: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::with_capacity(handles.len()),
        changed: 0,
        cpu: Duration::ZERO,
    };
    for handle in handles {
        let (latency, changed) = handle.await.expect("task");
        figures.reports += 1;
        figures.latencies.push(latency);
        figures.changed += usize::from(changed);
    }
    figures.elapsed = start.elapsed();
    figures.cpu = process_cpu().saturating_sub(cpu);
    // Back into as many groups as there were.
    let tasks = agents.len().clamp(1, 64);
    groups.extend((0..tasks).map(|_| Vec::new()));
    for (i, agent) in agents.into_iter().enumerate() {
        groups[i % tasks].push(agent);
    }
    figures
}

/// The rows one round of changed reports leaves, per table, as `COPY … TO STDOUT` text.
async fn dump(pool: &PgPool) -> Vec<(&'static str, Vec<u8>, u64)> {
    let mut out = Vec::new();
    for table in ROW_TABLES {
        let mut conn = pool.acquire().await.unwrap();
        let mut stream = conn
            .copy_out_raw(&format!("copy {table} to stdout"))
            .await
            .unwrap();
        let mut data = Vec::new();
        use futures_util::StreamExt as _;
        while let Some(chunk) = stream.next().await {
            data.extend_from_slice(&chunk.unwrap());
        }
        drop(stream);
        let rows = data.iter().filter(|b| **b == b'\n').count() as u64;
        out.push((table, data, rows));
    }
    out
}

/// Write `rounds` copies of `rows` into staging tables of the same shape (no keys, no indexes)
/// with `tasks` concurrent `COPY … FROM STDIN`, one table's round per statement.
async fn copy_ceiling(
    pool: &PgPool,
    rows: &[(&'static str, Vec<u8>, u64)],
    rounds: usize,
    tasks: usize,
) -> (Duration, u64) {
    for (table, _, _) in rows {
        sqlx::query(AssertSqlSafe(format!(
            "create table bench_copy_{table} (like {table} including defaults)"
        )))
        .execute(pool)
        .await
        .unwrap();
    }
    let rows: std::sync::Arc<Vec<_>> = std::sync::Arc::new(rows.to_vec());
    let start = Instant::now();
    let mut handles = Vec::new();
    for task in 0..tasks {
        let pool = pool.clone();
        let rows = rows.clone();
        handles.push(tokio::spawn(async move {
            let mut written = 0;
            for _ in (task..rounds).step_by(tasks) {
                for (table, data, count) in rows.iter() {
                    let mut copy = pool
                        .copy_in_raw(&format!("copy bench_copy_{table} from stdin"))
                        .await
                        .unwrap();
                    copy.send(data.as_slice()).await.unwrap();
                    copy.finish().await.unwrap();
                    written += count;
                }
            }
            written
        }));
    }
    let mut written = 0;
    for handle in handles {
        written += handle.await.unwrap();
    }
    (start.elapsed(), written)
}

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

    let scratch = Scratch::create("tokenwatch_bench").await;

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
    let version: String = sqlx::query_scalar("show server_version")
        .fetch_one(&pool)
        .await
        .unwrap();
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
    let mut groups: Vec<Vec<Agent>> = (0..tasks).map(|_| Vec::new()).collect();
    for (host, id) in ids.into_iter().enumerate() {
        let variants = (0..VARIANTS)
            .map(|v| support::request(0, &inventory(host, v)))
            .collect();
        groups[host % tasks].push(Agent {
            id,
            sequence: 0,
            variants,
        });
    }

    let ingest = Ingest::start(pool.clone(), options);
    let first = run(&ingest, &mut groups, 1, |_| 0).await;
    first.print("first report");
    let changed = run(&ingest, &mut groups, changed_rounds, |round| {
        1 + round % (VARIANTS - 1)
    })
    .await;
    changed.print("changed reports");
    // The last changed round's variant, again and again.
    let unchanged = run(&ingest, &mut groups, unchanged_rounds, move |_| {
        1 + (changed_rounds.max(1) - 1) % (VARIANTS - 1)
    })
    .await;
    unchanged.print("unchanged reports");

    // The same kinds of report at the rates to hold (1,000 changed and 10,000 unchanged a
    // second), sent on time whatever the answers: the latency at that load.
    let changed_target = knob("BENCH_CHANGED_RATE", 1_000) as f64;
    let unchanged_target = knob("BENCH_UNCHANGED_RATE", 10_000) as f64;
    let next = changed_rounds;
    let paced_changed = paced(
        &ingest,
        &mut groups,
        changed_target,
        changed_rounds,
        |round| 1 + (next + round) % (VARIANTS - 1),
    )
    .await;
    paced_changed.print(&format!("changed at {changed_target:.0}/s"));
    let last = 1 + (next + changed_rounds.max(1) - 1) % (VARIANTS - 1);
    let paced_unchanged = paced(
        &ingest,
        &mut groups,
        unchanged_target,
        unchanged_rounds,
        |_| last,
    )
    .await;
    paced_unchanged.print(&format!("unchanged at {unchanged_target:.0}/s"));

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
