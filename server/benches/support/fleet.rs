//! What the ingest benchmarks share: the reports a fleet of identical workstations sends and
//! the two ways of sending them (closed-loop and paced).

use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokenwatch_proto::{ReportEnvelope, v1};

use crate::figures::{Cpu, Figures};
use crate::scratch::knob;
use crate::support;

/// Distinct inventories per agent that changed reports cycle through.
pub(crate) const VARIANTS: usize = 4;

fn hex_of(seed: &str) -> String {
    hex::encode(Sha256::digest(seed.as_bytes()))
}

/// Agent `host`'s workstation, variant `variant`: certificates 0–44 and the token are the
/// host's own, the CA certificates 45–49 are shared by the whole fleet. Variants differ in the
/// second reader's card, the token's free memory and one personal certificate.
pub(crate) fn inventory(host: usize, variant: usize) -> v1::Inventory {
    let mut inv = support::workstation(&format!("ws-{host:05}"));
    let own = |i: usize| {
        let seed = if i == 43 {
            format!("{host} {i} {variant}")
        } else {
            format!("{host} {i}")
        };
        (
            hex_of(&format!("sha1 {seed}"))[..40].to_owned(),
            hex_of(&seed),
        )
    };
    for (i, cert) in inv.certificates.iter_mut().enumerate().take(45) {
        let (sha1, sha256) = own(i);
        cert.sha256 = if cert.sha256.starts_with("sha1:") {
            format!("sha1:{sha1}")
        } else {
            sha256
        };
        cert.sha1 = sha1;
    }
    for (i, container) in inv.containers.iter_mut().enumerate() {
        container.certificate_sha1 = Some(own(2 + i).0);
    }
    let token = &mut inv.tokens[0];
    token.serial = format!("{host:08x}");
    token.certificates = vec![own(0).0, own(1).0];
    token.free_memory = Some(40_000 - variant as u64);
    inv.readers[1].card_present = variant % 2 == 1;
    inv
}

/// Where an agent's reports go: the ingest queue, or the agent's own channel to the server.
pub(crate) trait Destination: Clone + Send + Sync + 'static {
    /// Send one report; whether the server found it changed.
    fn send(&self, report: ReportEnvelope) -> impl Future<Output = bool> + Send;
}

/// One agent as a caller holds it: where its reports go, its next sequence and its prepared
/// reports, encoded once (the bytes an agent sends, as its spool keeps them): what the
/// senders spend per report is then next to nothing beside the server's work.
pub(crate) struct Agent<D> {
    pub(crate) to: D,
    pub(crate) sequence: u64,
    pub(crate) variants: Vec<ReportEnvelope>,
}

/// Agent `host`'s prepared reports, one per variant.
pub(crate) fn variants(host: usize) -> Vec<ReportEnvelope> {
    (0..VARIANTS)
        .map(|v| ReportEnvelope::of(&support::request(0, &inventory(host, v))))
        .collect()
}

/// Every caller (group) sends `rounds` reports for each of its agents, one agent's reports in
/// order, each after the previous one's answer; `pick(round)` chooses the variant.
pub(crate) async fn closed_loop<D: Destination>(
    groups: &mut Vec<Vec<Agent<D>>>,
    rounds: usize,
    pick: impl Fn(usize) -> usize + Copy + Send + 'static,
) -> Figures {
    let start = Instant::now();
    let cpu = Cpu::now();
    let mut handles = Vec::new();
    for mut group in std::mem::take(groups) {
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(rounds * group.len());
            let mut changed = 0;
            for round in 0..rounds {
                for agent in &mut group {
                    agent.sequence += 1;
                    let mut report = agent.variants[pick(round)].clone();
                    report.sequence = agent.sequence;
                    let t = Instant::now();
                    changed += usize::from(agent.to.send(report).await);
                    latencies.push(t.elapsed().as_micros() as u64);
                }
            }
            (group, latencies, changed)
        }));
    }
    let mut figures = Figures::empty(0);
    for handle in handles {
        let (group, latencies, changed) = handle.await.expect("task");
        groups.push(group);
        figures.reports += latencies.len();
        figures.latencies.extend(latencies);
        figures.changed += changed;
    }
    figures.elapsed = start.elapsed();
    figures.cpu = Cpu::since(cpu);
    figures
}

/// How long the paced sender sleeps at least when it is ahead.
const TICK: Duration = Duration::from_millis(1);

/// Reports due at `rate` per second whatever the answers, as a fleet's agents send them (not
/// one after another's answer): `rounds` reports for each agent, round-robin. Each agent sends
/// its own reports one at a time and in order, as `tokenwatch-agent` does: a report falling
/// due while the agent's previous one is unanswered waits for it. Latency counts from each
/// report's due time, so a report sent late, because its agent or the bench fell behind,
/// counts the wait.
pub(crate) async fn paced<D: Destination>(
    groups: &mut Vec<Vec<Agent<D>>>,
    rate: f64,
    rounds: usize,
    pick: impl Fn(usize) -> usize,
) -> Figures {
    let tasks = groups.len().max(1);
    let mut agents: Vec<Agent<D>> = std::mem::take(groups).into_iter().flatten().collect();
    let start = tokio::time::Instant::now();
    let cpu = Cpu::now();
    let mut lanes = Vec::with_capacity(agents.len());
    let mut senders = Vec::with_capacity(agents.len());
    for agent in &agents {
        let (lane, mut due_reports) =
            tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, ReportEnvelope)>();
        let to = agent.to.clone();
        senders.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(rounds);
            let mut changed = 0;
            while let Some((due, report)) = due_reports.recv().await {
                changed += usize::from(to.send(report).await);
                latencies.push(due.elapsed().as_micros() as u64);
            }
            (latencies, changed)
        }));
        lanes.push(lane);
    }
    let mut n = 0_u32;
    for round in 0..rounds {
        for (agent, lane) in agents.iter_mut().zip(&lanes) {
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
            let mut report = agent.variants[pick(round)].clone();
            report.sequence = agent.sequence;
            lane.send((due, report)).expect("the agent's sender runs");
        }
    }
    drop(lanes);
    let mut figures = Figures::empty(rounds * agents.len());
    for sender in senders {
        let (latencies, changed) = sender.await.expect("task");
        figures.reports += latencies.len();
        figures.latencies.extend(latencies);
        figures.changed += changed;
    }
    figures.elapsed = start.elapsed();
    figures.cpu = Cpu::since(cpu);
    // Back into as many groups as there were.
    groups.extend((0..tasks).map(|_| Vec::new()));
    for (i, agent) in agents.into_iter().enumerate() {
        groups[i % tasks].push(agent);
    }
    figures
}

/// The runs both benchmarks print: each agent's first report, changed and unchanged reports
/// closed-loop (the most the server takes), then the same kinds paced at the rates to hold
/// (`BENCH_CHANGED_RATE`, 1,000/s, and `BENCH_UNCHANGED_RATE`, 10,000/s): the latency at
/// that load. Returns the closed-loop figures of changed and unchanged reports, for the
/// ceilings they are set against.
pub(crate) async fn every_run<D: Destination>(
    groups: &mut Vec<Vec<Agent<D>>>,
    changed_rounds: usize,
    unchanged_rounds: usize,
) -> (Figures, Figures) {
    closed_loop(groups, 1, |_| 0).await.print("first report");
    let changed = closed_loop(groups, changed_rounds, |round| 1 + round % (VARIANTS - 1)).await;
    changed.print("changed reports");
    // The last changed round's variant, again and again.
    let last = 1 + (changed_rounds.max(1) - 1) % (VARIANTS - 1);
    let unchanged = closed_loop(groups, unchanged_rounds, move |_| last).await;
    unchanged.print("unchanged reports");

    let changed_target = knob("BENCH_CHANGED_RATE", 1_000) as f64;
    let unchanged_target = knob("BENCH_UNCHANGED_RATE", 10_000) as f64;
    paced(groups, changed_target, changed_rounds, |round| {
        1 + (changed_rounds + round) % (VARIANTS - 1)
    })
    .await
    .print(&format!("changed at {changed_target:.0}/s"));
    let last = 1 + (2 * changed_rounds.max(1) - 1) % (VARIANTS - 1);
    paced(groups, unchanged_target, unchanged_rounds, |_| last)
        .await
        .print(&format!("unchanged at {unchanged_target:.0}/s"));
    (changed, unchanged)
}
