//! Spooling and delivering reports, and renewing the certificate when the server says so.

use std::time::{Duration, SystemTime};

use prost::Message;
use tokenwatch_proto::v1;
use tonic::Code;

use crate::backoff::{Backoff, jittered};
use crate::inventory::Inventory;
use crate::spool::Spool;
use crate::state::{self, AgentFile, StateDir};
use crate::uplink::{self, Client};

use super::ServiceError;

/// The agent's side of the conversation with the server.
#[derive(Debug)]
pub(super) struct Uplink {
    state: StateDir,
    agent: AgentFile,
    spool: Spool,
    client: Client,
    backoff: Backoff,
    renew_after: Option<SystemTime>,
}

// === impl Uplink ===

impl Uplink {
    /// Load the identity enrolment stored (finishing a renewal a crash interrupted).
    pub(super) fn start(state: StateDir, spool: Spool) -> Result<Self, ServiceError> {
        let agent = state.agent_file()?;
        state.finish_renewal()?;
        let client = uplink::agent_client(&state, &agent.server)?;
        let dropped = spool.dropped()?;
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "reports were dropped earlier because the spool was full"
            );
        }
        tracing::info!(agent_id = %agent.agent_id, server = %agent.server, "agent started");
        Ok(Self {
            state,
            agent,
            spool,
            client,
            backoff: Backoff::delivery(),
            renew_after: None,
        })
    }

    pub(super) fn has_pending(&self) -> bool {
        self.pending_count() > 0
    }

    pub(super) fn pending_count(&self) -> usize {
        self.spool.pending().map(|p| p.len()).unwrap_or(0)
    }

    /// Number and spool one report. A disk failure loses this report only.
    pub(super) fn enqueue(&mut self, inventory: &Inventory) {
        let result = self.state.next_sequence().and_then(|sequence| {
            let report = uplink::report(sequence, inventory);
            let dropped = self.spool.push(sequence, &report.encode_to_vec())?;
            Ok((sequence, dropped))
        });
        match result {
            Ok((sequence, 0)) => tracing::debug!(sequence, "report spooled"),
            Ok((sequence, dropped)) => tracing::warn!(
                sequence,
                dropped,
                dropped_total = self.spool.dropped().unwrap_or(0),
                "the spool is full; the oldest reports were dropped"
            ),
            Err(error) => tracing::error!(%error, "could not spool the report"),
        }
    }

    /// Deliver the spool, oldest first. `None` when it is empty, else how long to wait before
    /// trying again.
    pub(super) async fn deliver(&mut self) -> Option<Duration> {
        loop {
            let (sequence, bytes) = match self.spool.oldest() {
                Ok(Some(next)) => next,
                Ok(None) => {
                    self.hang_up();
                    return None;
                }
                Err(error) => {
                    tracing::error!(%error, "could not read the spool");
                    return Some(self.backoff.next_delay());
                }
            };
            let Ok(report) = v1::ReportRequest::decode(bytes.as_slice()) else {
                self.set_aside(sequence, "it is not a readable report");
                continue;
            };
            match self.client.report(report).await {
                Ok(answer) => {
                    let answer = answer.into_inner();
                    if let Err(error) = self.spool.remove(sequence) {
                        tracing::error!(%error, sequence, "could not remove a delivered report");
                        return Some(self.backoff.next_delay());
                    }
                    self.backoff.reset();
                    tracing::info!(sequence, changed = answer.changed, "report delivered");
                    self.renew_after = answer.renew_after.and_then(to_system_time);
                    self.renew_if_due().await;
                }
                Err(status) => match status.code() {
                    Code::InvalidArgument => self.set_aside(sequence, status.message()),
                    Code::PermissionDenied | Code::Unauthenticated => {
                        tracing::error!(
                            code = ?status.code(),
                            message = status.message(),
                            agent_id = %self.agent.agent_id,
                            "THE SERVER REFUSES THIS AGENT'S CERTIFICATE (revoked?): reports are \
                             kept in the spool; re-enrol if this persists"
                        );
                        return Some(jittered(self.backoff.max_delay()));
                    }
                    code => {
                        let delay = self.backoff.next_delay();
                        tracing::warn!(
                            ?code,
                            message = status.message(),
                            pending = self.pending_count(),
                            retry_in = ?delay,
                            "the server is unreachable; reports stay spooled"
                        );
                        return Some(delay);
                    }
                },
            }
        }
    }

    /// Close the connection once the spool is delivered: the next report is a scan interval
    /// away, and a connection kept open until then holds one of the server's
    /// `grpc.max_connections` for nothing. 100,000 agents reporting every 15 minutes would
    /// keep about 33,000 idle connections open, the 5 minutes the server lets a connection
    /// live, against its default limit of 4,096: new connections would queue behind them. The
    /// new client connects when it is first used.
    fn hang_up(&mut self) {
        match uplink::agent_client(&self.state, &self.agent.server) {
            Ok(client) => self.client = client,
            Err(error) => {
                tracing::warn!(%error, "could not set up the next connection; keeping this one");
            }
        }
    }

    fn set_aside(&self, sequence: u64, reason: &str) {
        match self.spool.reject(sequence) {
            Ok(path) => tracing::error!(
                sequence,
                reason,
                kept = %path.display(),
                "the server rejected a report; it is set aside"
            ),
            Err(error) => {
                tracing::error!(%error, sequence, "could not set a rejected report aside");
                // Never retry a rejected report for ever: drop it rather than block the queue.
                let _ = self.spool.remove(sequence);
            }
        }
    }

    /// Renew the certificate once the server's `renew_after` has passed. A failure is logged;
    /// the next delivered report tries again.
    async fn renew_if_due(&mut self) {
        let due = self.renew_after.is_some_and(|at| at <= SystemTime::now());
        if !due {
            return;
        }
        match self.renew().await {
            Ok(()) => {
                self.renew_after = None;
                tracing::info!("certificate renewed");
            }
            Err(error) => tracing::warn!(error = %error, "certificate renewal failed"),
        }
    }

    async fn renew(&mut self) -> Result<(), RenewError> {
        let (key_pem, csr_der) = uplink::key_and_request(&self.agent.agent_id)?;
        let answer = self
            .client
            .renew(v1::RenewRequest { csr_der })
            .await?
            .into_inner();
        if answer.certificate_der.is_empty() {
            return Err(RenewError::Empty);
        }
        let cert = state::encode_pem_certificate(&answer.certificate_der);
        self.state
            .replace_identity(key_pem.as_bytes(), cert.as_bytes())?;
        self.client = uplink::agent_client(&self.state, &self.agent.server)?;
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
enum RenewError {
    #[error("the server refused: {0}")]
    Refused(#[from] tonic::Status),
    #[error("the server sent no certificate")]
    Empty,
    #[error(transparent)]
    Uplink(#[from] uplink::UplinkError),
    #[error(transparent)]
    State(#[from] state::StateError),
    #[error(transparent)]
    Key(#[from] rcgen::Error),
}

fn to_system_time(at: prost_types::Timestamp) -> Option<SystemTime> {
    SystemTime::try_from(at).ok()
}
