//! The ingest queue: reports wait here while the database is busy and go in together.
//!
//! A dispatcher hands whatever has queued to the next free writer as one batch, so batches
//! grow with load and stay single reports when the server is idle: no timer adds latency.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokenwatch_proto::{ReportEnvelope, v1};
use tokio::sync::{Semaphore, mpsc, oneshot};
use uuid::Uuid;

use super::{Applied, Credential, IngestError, Report, batch};

/// Longest a writer waits for a batch to fill while another writer is busy.
const LINGER: std::time::Duration = std::time::Duration::from_millis(3);

/// How the queue writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IngestOptions {
    /// Transactions in flight at once, each on its own database connection.
    pub writers: usize,
    /// Most reports in one transaction.
    pub max_batch: usize,
    /// Reports that may wait; further callers wait for room.
    pub capacity: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        // Two writers keep the database busy while the next batch gathers; more only add
        // lock waits on a small machine.
        Self {
            writers: 2,
            max_batch: 64,
            capacity: 4_096,
        }
    }
}

/// A handle to the ingest queue; clones share it. The queue stops when every handle is gone,
/// after the reports already taken are written.
#[derive(Clone, Debug)]
pub struct Ingest {
    jobs: mpsc::Sender<Job>,
}

#[derive(Debug)]
struct Job {
    report: Report,
    reply: oneshot::Sender<Result<Applied, IngestError>>,
}

impl Ingest {
    /// Start the queue's dispatcher on the current runtime.
    pub fn start(pool: PgPool, options: IngestOptions) -> Self {
        let options = IngestOptions {
            writers: options.writers.max(1),
            max_batch: options.max_batch.max(1),
            capacity: options.capacity.max(1),
        };
        let (jobs, queue) = mpsc::channel(options.capacity);
        tokio::spawn(dispatch(pool, queue, options));
        Self { jobs }
    }

    /// Store `report` from `agent`, identified by `credential`, received at `now`, with the
    /// next batch.
    pub async fn apply(
        &self,
        agent: Uuid,
        credential: Credential,
        report: ReportEnvelope,
        now: DateTime<Utc>,
    ) -> Result<Applied, IngestError> {
        // The envelope is checked on the caller's task: the dispatcher only gathers.
        let report = Report::received(agent, credential, report, now)?;
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { report, reply })
            .await
            .map_err(|_| IngestError::Stopped)?;
        answer.await.map_err(|_| IngestError::Stopped)?
    }
}

/// Validate `reports` (agent, report, received) of agents the caller has authorised and store
/// the valid ones in as few transactions as their agents allow (one per report of the same
/// agent), in order: what the queue does under load, on demand. The outcome of each, in order.
pub async fn apply_together(
    pool: &PgPool,
    reports: Vec<(Uuid, v1::ReportRequest, DateTime<Utc>)>,
) -> Vec<Result<Applied, IngestError>> {
    let mut answers = Vec::with_capacity(reports.len());
    let mut waiting = VecDeque::new();
    for (agent, report, received) in reports {
        let (reply, answer) = oneshot::channel();
        let envelope = ReportEnvelope::of(&report);
        match Report::received(agent, Credential::Authorised, envelope, received) {
            Ok(report) => waiting.push_back(Job { report, reply }),
            Err(error) => {
                let _ = reply.send(Err(error));
            }
        }
        answers.push(answer);
    }
    while !waiting.is_empty() {
        let batch = take_batch(&mut waiting, usize::MAX);
        write(pool, batch).await;
    }
    let mut outcomes = Vec::with_capacity(answers.len());
    for answer in answers {
        outcomes.push(answer.await.unwrap_or(Err(IngestError::Stopped)));
    }
    outcomes
}

async fn dispatch(pool: PgPool, mut queue: mpsc::Receiver<Job>, options: IngestOptions) {
    let writers = Arc::new(Semaphore::new(options.writers));
    let mut waiting: VecDeque<Job> = VecDeque::new();
    loop {
        let Ok(permit) = writers.clone().acquire_owned().await else {
            break;
        };
        if waiting.is_empty() {
            match queue.recv().await {
                Some(job) => waiting.push_back(job),
                None => break,
            }
        }
        while waiting.len() < options.max_batch {
            match queue.try_recv() {
                Ok(job) => waiting.push_back(job),
                Err(_) => break,
            }
        }
        // Under load, when another writer is busy, gather a little longer: every batch costs
        // a fixed number of statements, and a handful of reports each would spend the
        // database's time planning them. An idle server writes each report at once.
        let others_busy = writers.available_permits() + 1 < options.writers;
        if others_busy && waiting.len() < options.max_batch / 4 {
            let until = tokio::time::Instant::now() + LINGER;
            while waiting.len() < options.max_batch / 4 {
                match tokio::time::timeout_at(until, queue.recv()).await {
                    Ok(Some(job)) => waiting.push_back(job),
                    Ok(None) | Err(_) => break,
                }
            }
        }
        let batch = take_batch(&mut waiting, options.max_batch);
        let pool = pool.clone();
        tokio::spawn(async move {
            write(&pool, batch).await;
            drop(permit);
        });
    }
    // Every handle is gone: wait for the batches still being written.
    let all = u32::try_from(options.writers).unwrap_or(u32::MAX);
    let _ = writers.acquire_many(all).await;
}

/// Up to `max` waiting jobs from distinct agents, oldest first. A second report from an agent
/// already in the batch waits for the next one, so one transaction never sees an agent twice.
fn take_batch(waiting: &mut VecDeque<Job>, max: usize) -> Vec<Job> {
    let mut agents = HashSet::new();
    let mut batch = Vec::new();
    // Only as far as the batch fills: under load thousands may wait behind it, and they stay
    // where they are.
    let mut i = 0;
    while i < waiting.len() && batch.len() < max {
        if agents.insert(waiting[i].report.agent) {
            batch.extend(waiting.remove(i));
        } else {
            i += 1;
        }
    }
    batch
}

/// Store `jobs` together and answer each.
async fn write(pool: &PgPool, jobs: Vec<Job>) {
    let (reports, replies): (Vec<Report>, Vec<_>) =
        jobs.into_iter().map(|j| (j.report, j.reply)).unzip();
    let outcomes = batch::apply(pool, &reports).await;
    tracing::debug!(message = "Batch written.", reports = reports.len());
    for (reply, outcome) in replies.into_iter().zip(outcomes) {
        // A caller that gave up (its connection closed) no longer waits for the answer.
        let _ = reply.send(outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(agent: Uuid, sequence: i64) -> Job {
        Job {
            report: Report {
                agent,
                credential: Credential::Authorised,
                sequence,
                content_hash: Default::default(),
                inventory: Default::default(),
                received: DateTime::UNIX_EPOCH,
            },
            reply: oneshot::channel().0,
        }
    }

    fn keys(jobs: &[Job]) -> Vec<(Uuid, i64)> {
        jobs.iter()
            .map(|j| (j.report.agent, j.report.sequence))
            .collect()
    }

    #[test]
    fn a_batch_holds_each_agent_once_and_keeps_the_order() {
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let mut waiting: VecDeque<Job> =
            [job(a, 1), job(b, 1), job(a, 2), job(c, 1), job(a, 3)].into();
        let batch = take_batch(&mut waiting, 64);
        assert_eq!(keys(&batch), [(a, 1), (b, 1), (c, 1)]);
        let rest: Vec<Job> = waiting.into();
        assert_eq!(keys(&rest), [(a, 2), (a, 3)]);
    }

    #[test]
    fn a_batch_stops_at_its_size() {
        let agents: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
        let mut waiting: VecDeque<Job> = agents.iter().map(|a| job(*a, 1)).collect();
        let batch = take_batch(&mut waiting, 2);
        assert_eq!(keys(&batch), [(agents[0], 1), (agents[1], 1)]);
        assert_eq!(waiting.len(), 3);
        assert_eq!(waiting[0].report.agent, agents[2]);
    }
}
