//! Evaluation right after a report: the ingest names each host whose report changed, and a task
//! evaluates the problems of that host ([`super::evaluate_host`]), so that a certificate that
//! turned up expired, or a token plugged back in, is alerted on or resolved within a moment
//! rather than at the next periodic evaluation. Hosts named meanwhile are evaluated together,
//! a chunk to a transaction ([`super::evaluate_hosts`]).

use chrono::Utc;
use sqlx::PgPool;
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use super::{Outcome, Settings};

/// Hosts waiting for their evaluation; more than this and the periodic evaluation, which
/// covers every host anyway, is left to catch up.
const BACKLOG: usize = 4096;

/// Hosts evaluated in one transaction: enough to pay its fixed cost once for many hosts,
/// few enough that the periodic evaluation, which waits for the same lock, is not held up.
const CHUNK: usize = 64;

/// Where the ingest names hosts whose reports changed.
#[derive(Clone, Debug)]
pub struct ChangedHosts(mpsc::Sender<Uuid>);

// === impl ChangedHosts ===

impl ChangedHosts {
    /// Ask for `agent`'s problems to be evaluated. Never waits: with a full backlog the
    /// request is dropped, and the next periodic evaluation covers it.
    pub fn changed(&self, agent: Uuid) {
        if self.0.try_send(agent).is_err() {
            tracing::debug!(message = "Evaluation backlog full; left to the periodic one.", %agent);
        }
    }
}

/// Start the task that evaluates around each host named; it ends when `stopped` turns true.
pub fn follow_reports(
    pool: PgPool,
    settings: Settings,
    mut stopped: watch::Receiver<bool>,
) -> (ChangedHosts, tokio::task::JoinHandle<()>) {
    let (sender, mut receiver) = mpsc::channel::<Uuid>(BACKLOG);
    let task = tokio::spawn(async move {
        let mut waiting = Vec::new();
        loop {
            tokio::select! {
                received = receiver.recv_many(&mut waiting, BACKLOG) => {
                    if received == 0 {
                        break;
                    }
                }
                _ = stopped.wait_for(|stop| *stop) => break,
            }
            // A host that reported twice meanwhile is evaluated once.
            waiting.sort_unstable();
            waiting.dedup();
            for chunk in waiting.chunks(CHUNK) {
                evaluate_chunk(&pool, chunk, &settings).await;
            }
            waiting.clear();
        }
    });
    (ChangedHosts(sender), task)
}

/// Evaluate `agents` in one transaction; should that fail, each on its own, so that one host
/// whose evaluation fails does not hold up the others'.
async fn evaluate_chunk(pool: &PgPool, agents: &[Uuid], settings: &Settings) {
    let together = super::evaluate_hosts(pool, agents, Utc::now(), settings).await;
    let outcome = match together {
        Ok(outcome) => outcome,
        Err(error) if agents.len() > 1 => {
            tracing::debug!(message = "Evaluating hosts together failed; one at a time.", %error);
            let mut total = Outcome::default();
            for &agent in agents {
                match super::evaluate_host(pool, agent, Utc::now(), settings).await {
                    Ok(outcome) => total += outcome,
                    Err(error) => {
                        tracing::warn!(message = "Evaluation after a report failed.", %agent, %error);
                    }
                }
            }
            total
        }
        Err(error) => {
            tracing::warn!(message = "Evaluation after a report failed.", agent = %agents[0], %error);
            return;
        }
    };
    if outcome != Outcome::default() {
        tracing::info!(
            message = "Alerts evaluated after reports.",
            hosts = agents.len(),
            fired = outcome.fired,
            updated = outcome.updated,
            resolved = outcome.resolved,
        );
    }
}
