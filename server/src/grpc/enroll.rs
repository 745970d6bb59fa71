//! `Enroll`: an enrolment secret and a CSR in, an agent identity and certificate out.
//!
//! The secret is looked up by its SHA-256, so the comparison that decides is an index lookup
//! on a hash, not a byte-by-byte comparison of the secret: its timing tells nothing about the
//! secret. Wrong, expired and revoked secrets get the same answer; the reason is only logged.
//! Nothing is written unless the agent is enrolled.

use chrono::Utc;
use tokenwatch_proto::v1::{EnrollRequest, EnrollResponse};
use uuid::Uuid;

use super::{AgentApi, GrpcError, timestamp};
use crate::registry::secret_hash;

/// Longest host name accepted (DNS names are at most 253 characters).
const MAX_HOSTNAME: usize = 255;

#[derive(sqlx::FromRow)]
struct SecretLookup {
    id: i64,
    office_id: i64,
    office: String,
    expires_at: Option<chrono::DateTime<Utc>>,
    revoked_at: Option<chrono::DateTime<Utc>>,
}

pub(super) async fn enroll(
    api: &AgentApi,
    request: EnrollRequest,
) -> Result<EnrollResponse, GrpcError> {
    let now = Utc::now();
    let mut tx = api.pool.begin().await?;
    // `for share`: a revocation committed while we enrol waits for us, or we see it.
    let secret: Option<SecretLookup> = sqlx::query_as(
        "select s.id, s.office_id, o.name as office, s.expires_at, s.revoked_at \
         from enroll_secrets s join offices o on o.id = s.office_id \
         where s.secret_sha256 = $1 for share of s",
    )
    .bind(secret_hash(&request.secret))
    .fetch_optional(&mut *tx)
    .await?;
    let secret = secret.ok_or_else(|| GrpcError::EnrollDenied("unknown secret".into()))?;
    if let Some(at) = secret.revoked_at {
        return Err(GrpcError::EnrollDenied(format!(
            "secret {} revoked at {at}",
            secret.id
        )));
    }
    if let Some(at) = secret.expires_at.filter(|at| *at <= now) {
        return Err(GrpcError::EnrollDenied(format!(
            "secret {} expired at {at}",
            secret.id
        )));
    }
    let hostname = request.hostname.trim();
    if hostname.is_empty()
        || hostname.len() > MAX_HOSTNAME
        || hostname.chars().any(char::is_control)
    {
        return Err(GrpcError::Invalid(
            "hostname must be 1 to 255 printable characters".into(),
        ));
    }
    let agent = Uuid::new_v4();
    tracing::Span::current().record("agent", tracing::field::display(agent));
    let issued = api
        .pki
        .sign_agent_csr(&request.csr_der, agent, api.certificate_validity, now)?;
    sqlx::query(
        "insert into agents (id, office_id, hostname, enrolled_at, enrolled_with, \
         certificate_serial, certificate_not_after) values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(agent)
    .bind(secret.office_id)
    .bind(hostname)
    .bind(now)
    .bind(secret.id)
    .bind(&issued.serial)
    .bind(issued.not_after)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(
        message = "Enrolled an agent.",
        office = %secret.office,
        hostname,
        agent_version = %request.agent_version,
        secret = secret.id,
    );
    Ok(EnrollResponse {
        agent_id: agent.to_string(),
        certificate_der: issued.der,
        agent_ca_der: api.pki.ca_cert_der().to_vec(),
        not_after: Some(timestamp(issued.not_after)),
        office: secret.office,
    })
}
