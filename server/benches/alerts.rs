//! Alert evaluation figures: a full evaluation over a generated fleet, the first one (every
//! problem fires) and a steady one (nothing changed); then the evaluation after one host's
//! report (`evaluate_host`), for a sample of hosts, against the steady full evaluation, and the
//! same hosts evaluated 64 to a transaction (`evaluate_hosts`) against one at a time.
//!
//!     DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres BENCH_SCALE=100 \
//!         cargo bench -p tokenwatch-server --bench alerts
//!
//! The fleet is 100,000 hosts in 100 offices with 10 certificates each (1,000,000 certificate
//! sightings; end dates spread over two years, so about 4 % fall inside the 30-day window), a
//! token and two key containers each (1 % of both gone for ten days), and one agent finding on
//! every tenth host, divided by `BENCH_SCALE` (1: the full size). Rows are generated inside
//! PostgreSQL (`insert … select generate_series`, `support/generated.rs`), the fastest bulk
//! load there is, in a fresh database `tokenwatch_bench_alerts_<pid>` dropped at the end
//! (`BENCH_KEEP_DATABASE` keeps it). Prints figures, asserts nothing about speed.

#![allow(clippy::print_stdout)]

#[path = "support/generated.rs"]
mod generated;
#[path = "support/scratch.rs"]
mod scratch;

use std::time::Instant;

use chrono::Utc;
use tokenwatch_server::alerts::{self, Settings};
use tokenwatch_server::config::AlertsConfig;
use tokenwatch_server::db;

use generated::Content;
use scratch::{Scratch, knob};

fn main() {
    scratch::run(bench());
}

async fn bench() {
    let scale = knob("BENCH_SCALE", 1).max(1);
    let hosts = i64::try_from(100_000 / scale).unwrap();

    let mut scratch = Scratch::create("tokenwatch_bench_alerts").await;
    let version = scratch.server_version().await;
    let pool = db::connect(&scratch.url, 4).await.unwrap();
    db::migrate(&pool).await.unwrap();

    let started = Instant::now();
    generated::generate(&pool, hosts, Content::Alerts).await;
    sqlx::query("analyze").execute(&pool).await.unwrap();
    let (sightings, containers): (i64, i64) = sqlx::query_as(
        "select (select count(*) from certificate_sightings), (select count(*) from containers)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    println!(
        "fleet: {hosts} hosts, {sightings} certificate sightings, {hosts} tokens, {containers} \
         containers, generated in {:.1} s; PostgreSQL {version}",
        started.elapsed().as_secs_f64()
    );

    let settings = Settings::from_config(&AlertsConfig::default());
    let now = Utc::now();
    for (label, at) in [
        ("first evaluation (everything fires)", now),
        ("steady evaluation (nothing changed)", now),
        ("a minute later", now + chrono::Duration::minutes(1)),
    ] {
        let started = Instant::now();
        let outcome = alerts::evaluate(&pool, at, &settings).await.unwrap();
        println!(
            "{label}: {:.3} s, {} fired, {} updated, {} resolved, {} notifications",
            started.elapsed().as_secs_f64(),
            outcome.fired,
            outcome.updated,
            outcome.resolved,
            outcome.notifications
        );
    }
    let firing: i64 = sqlx::query_scalar("select count(*) from alerts where state = 'firing'")
        .fetch_one(&pool)
        .await
        .unwrap();
    println!("firing alerts: {firing}");

    // The baseline, in the same process and state: one more steady full evaluation.
    let at = now + chrono::Duration::minutes(2);
    let started = Instant::now();
    alerts::evaluate(&pool, at, &settings).await.unwrap();
    let full = started.elapsed().as_secs_f64();
    // Every 37th host: some with an alert (an expiring certificate, a finding), most without.
    let sample: Vec<uuid::Uuid> =
        sqlx::query_scalar("select id from agents where hostname ~ '[0-9]' order by hostname")
            .fetch_all(&pool)
            .await
            .unwrap()
            .into_iter()
            .step_by(37)
            .collect();
    // Each pooled connection prepares (and plans) each statement once, a few milliseconds
    // apiece at this size; the figures are of the steady state after that, so the whole
    // sample is evaluated once untimed first.
    for agent in &sample {
        alerts::evaluate_host(&pool, *agent, at, &settings)
            .await
            .unwrap();
    }
    let finding_hosts: std::collections::HashSet<uuid::Uuid> =
        sqlx::query_scalar("select distinct agent_id from host_findings")
            .fetch_all(&pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
    let mut listed = 0;
    let mut timings = Vec::with_capacity(sample.len());
    for agent in &sample {
        let started = Instant::now();
        alerts::evaluate_host(&pool, *agent, at, &settings)
            .await
            .unwrap();
        timings.push(started.elapsed().as_secs_f64() * 1000.0);
        let in_alert: bool =
            sqlx::query_scalar("select exists (select 1 from alert_hosts where agent_id = $1)")
                .bind(agent)
                .fetch_one(&pool)
                .await
                .unwrap();
        listed += usize::from(in_alert);
    }
    timings.sort_by(f64::total_cmp);
    let at_rank = |q: f64| timings[((timings.len() - 1) as f64 * q).round() as usize];
    println!(
        "evaluation after one report, {} hosts ({listed} in an alert): median {:.2} ms, \
         p99 {:.2} ms, max {:.2} ms; full evaluation {:.3} s, {:.0}x the median",
        timings.len(),
        at_rank(0.5),
        at_rank(0.99),
        at_rank(1.0),
        full,
        full * 1000.0 / at_rank(0.5)
    );

    // The same sample as the evaluation that follows reports under load takes it: the hosts
    // named meanwhile, 64 to a transaction.
    let one_at_a_time = timings.iter().sum::<f64>() / timings.len() as f64;
    let started = Instant::now();
    for chunk in sample.chunks(64) {
        alerts::evaluate_hosts(&pool, chunk, at, &settings)
            .await
            .unwrap();
    }
    let together = started.elapsed().as_secs_f64() * 1000.0 / sample.len() as f64;
    println!(
        "evaluation after reports, 64 hosts to a transaction: {together:.3} ms a host against \
         {one_at_a_time:.3} ms one at a time ({:.2}x)",
        one_at_a_time / together
    );

    // The hosts of the office-wide finding alerts again, each after a report that changed its
    // findings list (as far as the evaluation can tell: the stored list hash moved).
    let listed_hosts: Vec<uuid::Uuid> = sample
        .iter()
        .copied()
        .filter(|agent| finding_hosts.contains(agent))
        .collect();
    if listed_hosts.is_empty() {
        println!("no host of the sample is in an office-wide finding alert at this scale");
        pool.close().await;
        scratch.finish().await;
        return;
    }
    let mut timings = Vec::with_capacity(listed_hosts.len());
    for agent in &listed_hosts {
        sqlx::query(
            "update hosts set section_sha256 = jsonb_build_object('findings', \
                 md5(random()::text)) where agent_id = $1",
        )
        .bind(agent)
        .execute(&pool)
        .await
        .unwrap();
        let started = Instant::now();
        alerts::evaluate_host(&pool, *agent, at, &settings)
            .await
            .unwrap();
        timings.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    timings.sort_by(f64::total_cmp);
    let at_rank = |q: f64| timings[((timings.len() - 1) as f64 * q).round() as usize];
    println!(
        "evaluation after a report that changed the findings of a host in an office-wide \
         finding alert, {} hosts: median {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        timings.len(),
        at_rank(0.5),
        at_rank(0.99),
        at_rank(1.0),
    );

    pool.close().await;
    scratch.finish().await;
}
