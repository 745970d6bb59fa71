//! Who is calling: the agent named by the verified client certificate, and whether that
//! certificate still counts.
//!
//! The TLS handshake has already checked the chain to the agent CA, the client-auth usage and
//! the validity period (an expired certificate never gets this far). The agent id is the UUID
//! in the certificate's CN, never anything in the message. A certificate counts when its serial
//! is the agent's current one, or the one replaced by the last renewal while the renewal grace
//! lasts; revoking the agent ends both at once ([`AgentAuth::admits`]). `Renew` checks it
//! here; a report's serial goes to the ingest, which checks the same rule in the statements
//! that apply the report.

use chrono::{DateTime, Utc};
use tonic::Request;
use uuid::Uuid;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::GrpcError;
use crate::registry::{AgentAuth, Standing};

/// The verified client certificate's agent.
#[derive(Clone, Debug)]
pub(super) struct PeerIdentity {
    pub(super) agent: Uuid,
    pub(super) serial: String,
    pub(super) not_before: DateTime<Utc>,
    pub(super) not_after: DateTime<Utc>,
}

impl PeerIdentity {
    /// The identity in `request`'s client certificate, recorded in the request span.
    pub(super) fn of<T>(request: &Request<T>) -> Result<Self, GrpcError> {
        let certs = request.peer_certs().ok_or(GrpcError::NoCertificate)?;
        let leaf = certs.first().ok_or(GrpcError::NoCertificate)?;
        let (_, cert) = X509Certificate::from_der(leaf)
            .map_err(|e| GrpcError::AgentDenied(format!("unreadable client certificate: {e}")))?;
        let cn = cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .ok_or_else(|| GrpcError::AgentDenied("client certificate without a CN".into()))?;
        let agent = Uuid::parse_str(cn).map_err(|_| {
            GrpcError::AgentDenied(format!("client certificate CN {cn:?} is not an agent id"))
        })?;
        tracing::Span::current().record("agent", tracing::field::display(agent));
        let time = |t: x509_parser::time::ASN1Time| {
            DateTime::from_timestamp(t.timestamp(), 0).unwrap_or_default()
        };
        Ok(Self {
            agent,
            serial: hex::encode(cert.raw_serial()),
            not_before: time(cert.validity().not_before),
            not_after: time(cert.validity().not_after),
        })
    }

    /// Whether this certificate lets its agent in at `now`, given the agent's row.
    pub(super) fn authorize(
        &self,
        auth: Option<&AgentAuth>,
        now: DateTime<Utc>,
    ) -> Result<Standing, GrpcError> {
        let auth = auth.ok_or_else(|| GrpcError::AgentDenied("unknown agent".into()))?;
        auth.admits(&self.serial, now)
            .map_err(GrpcError::AgentDenied)
    }

    /// When the agent should renew: once two thirds of the certificate's lifetime have passed.
    pub(super) fn renew_after(&self) -> DateTime<Utc> {
        self.not_before + (self.not_after - self.not_before) * 2 / 3
    }
}
