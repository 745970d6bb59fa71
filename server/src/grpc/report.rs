//! `Report`: apply an inventory from the agent named by the client certificate.
//!
//! Whether that certificate still counts (agent not revoked, serial current or in its renewal
//! grace) is checked by the ingest, in the statement that applies the report: no lookup of its
//! own per report.

use std::time::Instant;

use chrono::Utc;
use tokenwatch_proto::ReportEnvelope;
use tokenwatch_proto::v1::ReportResponse;
use tonic::Request;

use super::identity::PeerIdentity;
use super::{AgentApi, GrpcError, timestamp};
use crate::ingest::Credential;

pub(super) async fn report(
    api: &AgentApi,
    request: Request<ReportEnvelope>,
) -> Result<ReportResponse, GrpcError> {
    let identity = PeerIdentity::of(&request)?;
    let now = Utc::now();
    api.limiter
        .check(identity.agent, Instant::now())
        .map_err(GrpcError::RateLimited)?;
    let credential = Credential::Certificate(identity.serial.clone());
    let applied = api
        .ingest
        .apply(identity.agent, credential, request.into_inner(), now)
        .await;
    let applied = api.metrics.count_report(applied)?;
    if applied.changed {
        api.changed.changed(identity.agent);
    }
    tracing::debug!(
        message = "Report applied.",
        changed = applied.changed,
        duplicate = applied.duplicate
    );
    Ok(ReportResponse {
        changed: applied.changed,
        renew_after: Some(timestamp(identity.renew_after())),
    })
}
