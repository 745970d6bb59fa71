//! `Report`: apply an inventory from the agent named by the client certificate.

use std::time::Instant;

use chrono::Utc;
use tokenwatch_proto::v1::{ReportRequest, ReportResponse};
use tonic::Request;

use super::identity::PeerIdentity;
use super::{AgentApi, GrpcError, timestamp};
use crate::registry;

pub(super) async fn report(
    api: &AgentApi,
    request: Request<ReportRequest>,
) -> Result<ReportResponse, GrpcError> {
    let identity = PeerIdentity::of(&request)?;
    let now = Utc::now();
    let auth = registry::agent_auth(&api.pool, identity.agent, false).await?;
    identity.authorize(auth.as_ref(), now)?;
    api.limiter
        .check(identity.agent, Instant::now())
        .map_err(GrpcError::RateLimited)?;
    let applied = api
        .ingest
        .apply(identity.agent, request.into_inner(), now)
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
