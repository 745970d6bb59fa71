//! `tokenwatch-agent enroll`: obtain an identity from the server.
//!
//! The key pair is generated here and only the request leaves the host. Nothing is written
//! unless the server accepts the secret; then the key, certificate, the CA the server was
//! trusted with, the agent CA and the enrolment record are written into the state directory,
//! the key created with mode 0600 from the start.

use std::path::PathBuf;

use tokenwatch_proto::v1;

use crate::state::{self, AgentFile, StateDir, StateError};
use crate::uplink::{self, UplinkError};

/// What `enroll` needs.
#[derive(Clone)]
pub struct EnrollConfig {
    /// `https://host:port`.
    pub server: String,
    pub secret: String,
    /// PEM of the CA to trust for the server; the system roots when `None`.
    pub ca_pem: Option<Vec<u8>>,
    pub state_dir: PathBuf,
    /// The CN of the request and the hostname reported.
    pub hostname: String,
}

impl std::fmt::Debug for EnrollConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrollConfig")
            .field("server", &self.server)
            .field("secret", &"<redacted>")
            .field("state_dir", &self.state_dir)
            .field("hostname", &self.hostname)
            .finish_non_exhaustive()
    }
}

/// Why enrolment failed.
#[derive(Debug, thiserror::Error)]
pub enum EnrollError {
    #[error(transparent)]
    Uplink(#[from] UplinkError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("the server refused the enrolment ({code:?}): {message}")]
    Refused { code: tonic::Code, message: String },
    #[error("the server's answer is incomplete: {0}")]
    BadAnswer(&'static str),
}

/// Enrol with the server and store the identity. Returns the enrolment record.
pub async fn enroll(config: EnrollConfig) -> Result<AgentFile, EnrollError> {
    let mut client = uplink::enrolment_client(&config.server, config.ca_pem.clone())?;
    let (key_pem, csr_der) = uplink::key_and_request(&config.hostname)?;
    let request = v1::EnrollRequest {
        secret: config.secret.clone(),
        csr_der,
        hostname: config.hostname.clone(),
        agent_version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let answer = client
        .enroll(request)
        .await
        .map_err(|status| EnrollError::Refused {
            code: status.code(),
            message: status.message().to_owned(),
        })?
        .into_inner();
    if answer.agent_id.is_empty() {
        return Err(EnrollError::BadAnswer("no agent id"));
    }
    if answer.certificate_der.is_empty() {
        return Err(EnrollError::BadAnswer("no certificate"));
    }
    let dir = StateDir::create(&config.state_dir)?;
    state::write_atomic(&dir.path(state::KEY_FILE), key_pem.as_bytes(), 0o600)?;
    let cert = state::encode_pem_certificate(&answer.certificate_der);
    state::write_atomic(&dir.path(state::CERT_FILE), cert.as_bytes(), 0o644)?;
    // ca.crt is what the server is trusted with from now on: the CA it was reached with.
    // Without one, the system roots keep serving. The agent CA is kept for the record.
    if let Some(ca_pem) = &config.ca_pem {
        state::write_atomic(&dir.path(state::CA_FILE), ca_pem, 0o644)?;
    }
    if !answer.agent_ca_der.is_empty() {
        let agent_ca = state::encode_pem_certificate(&answer.agent_ca_der);
        state::write_atomic(&dir.path(state::AGENT_CA_FILE), agent_ca.as_bytes(), 0o644)?;
    }
    let agent = AgentFile {
        server: config.server,
        agent_id: answer.agent_id,
        office: answer.office,
    };
    dir.write_agent_file(&agent)?;
    Ok(agent)
}
