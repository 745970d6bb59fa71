//! Evaluation right after a report: the ingest names each host whose report changed, and a task
//! evaluates the problems of that host ([`super::evaluate_host`]), so that a certificate that
//! turned up expired, or a token plugged back in, is alerted on or resolved within a moment
//! rather than at the next periodic evaluation.

use chrono::Utc;
use sqlx::PgPool;
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use super::Settings;

/// Hosts waiting for their evaluation; more than this and the periodic evaluation, which
/// covers every host anyway, is left to catch up.
const BACKLOG: usize = 4096;

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
            for agent in waiting.drain(..) {
                match super::evaluate_host(&pool, agent, Utc::now(), &settings).await {
                    Ok(outcome) if outcome != super::Outcome::default() => tracing::info!(
                        message = "Alerts evaluated after a report.",
                        %agent,
                        fired = outcome.fired,
                        updated = outcome.updated,
                        resolved = outcome.resolved,
                    ),
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(message = "Evaluation after a report failed.", %agent, %error);
                    }
                }
            }
        }
    });
    (ChangedHosts(sender), task)
}
