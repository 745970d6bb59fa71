//! The connection to the tokenwatch server: TLS channels, the wire form of a report and its
//! content hash.
//!
//! Enrolment uses server-authenticated TLS (the secret authenticates the agent); everything else
//! uses mutual TLS, the agent's identity being its client certificate.

use std::path::Path;
use std::time::Duration;

use prost::Message;
use sha2::{Digest, Sha256};
use tokenwatch_proto::v1::{self, agent_service_client::AgentServiceClient};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::inventory::Inventory;
use crate::state::{self, StateDir, StateError};

pub mod convert;

/// The gRPC client the agent uses.
pub type Client = AgentServiceClient<Channel>;

/// Where the system's trusted roots usually are, tried in order when no CA file is given.
const SYSTEM_ROOTS: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// How long to wait for the TCP and TLS handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one call may take, so a stalled server never wedges the agent.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// A failure to set up the connection.
#[derive(Debug, thiserror::Error)]
pub enum UplinkError {
    #[error("invalid server address {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("no trusted CA: give --ca-file (none of {} exists)", SYSTEM_ROOTS.join(", "))]
    NoRoots,
    #[error("reading {}: {source}", path.display())]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    State(#[from] StateError),
    #[error("TLS setup: {0}")]
    Tls(#[source] tonic::transport::Error),
    #[error("generating the key or request: {0}")]
    Key(#[from] rcgen::Error),
}

/// A client for enrolment: it trusts `ca_pem` (or the system roots) and shows no certificate.
pub fn enrolment_client(server: &str, ca_pem: Option<Vec<u8>>) -> Result<Client, UplinkError> {
    let ca = match ca_pem {
        Some(pem) => pem,
        None => system_roots()?,
    };
    let tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca));
    channel(server, tls).map(AgentServiceClient::new)
}

/// A client for reporting and renewal: mutual TLS with the identity enrolment stored.
pub fn agent_client(state: &StateDir, server: &str) -> Result<Client, UplinkError> {
    agent_channel(state, server).map(AgentServiceClient::new)
}

/// The channel under [`agent_client`], for a caller that frames its own messages.
pub fn agent_channel(state: &StateDir, server: &str) -> Result<Channel, UplinkError> {
    let ca = match state.read_optional(state::CA_FILE)? {
        Some(pem) => pem,
        None => system_roots()?,
    };
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .identity(Identity::from_pem(
            state.read(state::CERT_FILE)?,
            state.read(state::KEY_FILE)?,
        ));
    channel(server, tls)
}

fn channel(server: &str, tls: ClientTlsConfig) -> Result<Channel, UplinkError> {
    let url_error = |reason: String| UplinkError::Url {
        url: server.to_owned(),
        reason,
    };
    if !server.starts_with("https://") {
        return Err(url_error("it must start with https://".to_owned()));
    }
    let endpoint = Endpoint::from_shared(server.to_owned())
        .map_err(|e| url_error(e.to_string()))?
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(CALL_TIMEOUT)
        .tls_config(tls)
        .map_err(UplinkError::Tls)?;
    // Lazy: the channel connects on first use and reconnects by itself after the server
    // comes back, so one client serves the whole life of the service.
    Ok(endpoint.connect_lazy())
}

fn system_roots() -> Result<Vec<u8>, UplinkError> {
    for candidate in SYSTEM_ROOTS {
        let path = Path::new(candidate);
        match std::fs::read(path) {
            Ok(pem) => return Ok(pem),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(UplinkError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        }
    }
    Err(UplinkError::NoRoots)
}

/// A new ECDSA P-256 key and a PKCS#10 request for it with `common_name`: `(key PEM, CSR DER)`.
/// The key never leaves this host.
pub fn key_and_request(common_name: &str) -> Result<(String, Vec<u8>), UplinkError> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, common_name);
    let csr = params.serialize_request(&key)?;
    Ok((key.serialize_pem(), csr.der().to_vec()))
}

/// The report for `inventory`: its wire form, sequence number and content hash.
pub fn report(sequence: u64, inventory: &Inventory) -> v1::ReportRequest {
    let inventory = convert::inventory(inventory);
    v1::ReportRequest {
        sequence,
        content_hash: content_hash(&inventory),
        inventory: Some(inventory),
    }
}

/// SHA-256 of the encoded inventory without what changes on every scan of an unchanged host:
/// the collection time and the collectors' durations.
pub fn content_hash(inventory: &v1::Inventory) -> Vec<u8> {
    let mut stable = inventory.clone();
    stable.collected_at = None;
    for collector in &mut stable.collectors {
        collector.duration_ms = 0;
    }
    Sha256::digest(stable.encode_to_vec()).to_vec()
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn hash_ignores_collection_time_and_durations() {
        let inventory = convert::tests::full();
        let mut later = inventory.clone();
        later.collected_at += Duration::minutes(15);
        later.collectors[0].duration_ms += 1000;
        let a = report(1, &inventory);
        let b = report(2, &later);
        assert_eq!(a.content_hash.len(), 32);
        assert_eq!(a.content_hash, b.content_hash);
        assert_ne!(
            a.inventory, b.inventory,
            "the report itself still carries them"
        );
    }

    #[test]
    fn hash_changes_with_content() {
        let inventory = convert::tests::full();
        let mut changed = inventory.clone();
        changed.readers[0].card_present = false;
        let mut renamed = inventory.clone();
        renamed.collectors[0].status = crate::inventory::CollectorOutcome::Ok;
        let base = report(1, &inventory).content_hash;
        assert_ne!(base, report(1, &changed).content_hash);
        assert_ne!(base, report(1, &renamed).content_hash);
    }

    #[test]
    fn request_names_the_host_and_parses_back() {
        let (key, csr) = key_and_request("ws-01").expect("generates");
        assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"));
        let der = rustls_pki_types::CertificateSigningRequestDer::from(csr);
        let params = rcgen::CertificateSigningRequestParams::from_der(&der).expect("parses");
        let cn = params
            .params
            .distinguished_name
            .get(&rcgen::DnType::CommonName);
        assert_eq!(cn, Some(&rcgen::DnValue::Utf8String("ws-01".into())));
    }

    #[test]
    fn plain_http_is_refused() {
        let error = enrolment_client("http://tw:8443", Some(Vec::new())).expect_err("refused");
        assert!(error.to_string().contains("https://"), "{error}");
    }
}
