//! `Renew`: a fresh certificate for the agent named by the current client certificate.
//!
//! The certificate presented becomes the "previous" one and keeps working for the renewal
//! grace, so an agent whose answer was lost can renew again. Renewing with that previous
//! certificate does not extend its grace.

use std::time::Instant;

use chrono::Utc;
use tokenwatch_proto::v1::{RenewRequest, RenewResponse};
use tonic::Request;

use super::identity::PeerIdentity;
use super::{AgentApi, GrpcError, timestamp};
use crate::registry;

pub(super) async fn renew(
    api: &AgentApi,
    request: Request<RenewRequest>,
) -> Result<RenewResponse, GrpcError> {
    let identity = PeerIdentity::of(&request)?;
    let now = Utc::now();
    let mut tx = api.pool.begin().await?;
    let auth = registry::agent_auth(&mut *tx, identity.agent, true).await?;
    let standing = identity.authorize(auth.as_ref(), now)?;
    api.limiter
        .check(identity.agent, Instant::now())
        .map_err(GrpcError::RateLimited)?;
    let issued = api.pki.sign_agent_csr(
        &request.get_ref().csr_der,
        identity.agent,
        api.certificate_validity,
        now,
    )?;
    let (previous, until) = match (standing, auth) {
        (registry::Standing::Previous, Some(auth)) => (
            auth.previous_certificate_serial,
            auth.previous_certificate_until,
        ),
        _ => (Some(identity.serial.clone()), Some(now + api.renew_grace)),
    };
    sqlx::query(
        "update agents set certificate_serial = $2, certificate_not_after = $3, \
         previous_certificate_serial = $4, previous_certificate_until = $5 where id = $1",
    )
    .bind(identity.agent)
    .bind(&issued.serial)
    .bind(issued.not_after)
    .bind(previous)
    .bind(until)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(message = "Renewed the agent certificate.", serial = %issued.serial);
    Ok(RenewResponse {
        certificate_der: issued.der,
        not_after: Some(timestamp(issued.not_after)),
    })
}
