//! The agent CA and the server's TLS identity.
//!
//! The agent CA (ECDSA P-256, 10 years) signs agent client certificates and, unless the operator
//! supplies one, the server's own TLS certificate, so an agent needs one root to trust the server
//! and the server one root to trust agents. Both are created in the data dir on first start, or
//! loaded from operator-supplied PEM files. Processes sharing a data dir agree on them: see
//! [`store`].

mod issue;
mod store;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rcgen::{Issuer, KeyPair};

use crate::config::Config;

pub use issue::IssuedCertificate;
pub use store::ca_cert_path;

/// The keys and certificates the server runs with.
pub struct Pki {
    ca_cert_pem: String,
    ca_cert_der: Vec<u8>,
    issuer: Issuer<'static, KeyPair>,
    server_cert_pem: String,
    server_key_pem: String,
}

/// Why the CA or the server certificate could not be loaded, created or used.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    BadFile { path: PathBuf, reason: String },
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("invalid certificate request: {0}")]
    InvalidCsr(String),
}

// === impl Pki ===

impl Pki {
    /// Load the CA and server certificate named in `config`, creating in the data dir whatever
    /// is not supplied and not there yet. Blocking file I/O: call from `spawn_blocking`.
    pub fn load_or_create(config: &Config) -> Result<Self, PkiError> {
        let (ca_cert_pem, ca_key_pem) = match (&config.agent_ca.cert, &config.agent_ca.key) {
            (Some(cert), Some(key)) => (store::read(cert)?, store::read(key)?),
            _ => store::load_or_create_ca(&config.data_dir)?,
        };
        let ca_key = KeyPair::from_pem(&ca_key_pem).map_err(|e| bad(&config.agent_ca.key, e))?;
        let ca_cert_der = store::pem_to_der(&ca_cert_pem, "CERTIFICATE")
            .ok_or_else(|| bad(&config.agent_ca.cert, "no CERTIFICATE block"))?;
        if !issue::key_matches(&ca_cert_der, &ca_key) {
            return Err(bad(
                &config.agent_ca.key,
                "the agent CA key does not belong to the agent CA certificate",
            ));
        }
        let issuer = Issuer::from_ca_cert_der(&ca_cert_der.clone().into(), ca_key)
            .map_err(|e| bad(&config.agent_ca.cert, e))?;
        let (server_cert_pem, server_key_pem) = match (&config.tls.cert, &config.tls.key) {
            (Some(cert), Some(key)) => (store::read(cert)?, store::read(key)?),
            _ => {
                let names = server_names(&config.tls.names);
                store::load_or_create_server(&config.data_dir, &names, &issuer, &ca_cert_pem)?
            }
        };
        Ok(Self {
            ca_cert_pem,
            ca_cert_der,
            issuer,
            server_cert_pem,
            server_key_pem,
        })
    }

    /// The agent CA certificate, PEM.
    pub fn ca_cert_pem(&self) -> &str {
        &self.ca_cert_pem
    }

    /// The agent CA certificate, DER.
    pub fn ca_cert_der(&self) -> &[u8] {
        &self.ca_cert_der
    }

    /// The server's certificate chain and key, PEM.
    pub fn server_identity_pem(&self) -> (&str, &str) {
        (&self.server_cert_pem, &self.server_key_pem)
    }

    /// TLS for the agent service: the server's identity, and client authentication against
    /// the agent CA offered but not required, because an agent enrols before it has a
    /// certificate; `Report` and `Renew` then require one. How long a handshake may take is the
    /// listener's to set (`grpc.handshake_timeout`).
    pub fn agent_service_tls(&self) -> tonic::transport::ServerTlsConfig {
        use tonic::transport::{Certificate, Identity, ServerTlsConfig};
        ServerTlsConfig::new()
            .identity(Identity::from_pem(
                &self.server_cert_pem,
                &self.server_key_pem,
            ))
            .client_ca_root(Certificate::from_pem(&self.ca_cert_pem))
            .client_auth_optional(true)
    }

    /// Sign the key in `csr_der` (PKCS#10, DER) for `agent`, valid from now for `validity`.
    ///
    /// Only the public key is taken from the request; its signature must verify (rcgen checks
    /// it with x509-parser's `verify`). The certificate names the agent (CN = its UUID, SAN URI
    /// `urn:tokenwatch:agent:<uuid>`) and allows client authentication only.
    pub fn sign_agent_csr(
        &self,
        csr_der: &[u8],
        agent: uuid::Uuid,
        validity: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Result<IssuedCertificate, PkiError> {
        issue::agent_certificate(&self.issuer, csr_der, agent, validity, now)
    }
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki").finish_non_exhaustive()
    }
}

/// The names the server certificate is issued for: the configured ones, or `localhost`,
/// `127.0.0.1` and this host's name.
pub fn server_names(configured: &[String]) -> Vec<String> {
    if !configured.is_empty() {
        return configured.to_vec();
    }
    let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    if let Some(host) = hostname().filter(|h| !names.contains(h)) {
        names.push(host);
    }
    names
}

/// This host's name, when it can be found without a system call wrapper.
fn hostname() -> Option<String> {
    let from_proc = std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
    from_proc
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
}

fn bad(path: &Option<PathBuf>, reason: impl ToString) -> PkiError {
    PkiError::BadFile {
        path: path
            .clone()
            .unwrap_or_else(|| Path::new("agent CA").to_owned()),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_supplied_files_are_used_as_they_are() {
        let made = tempfile::tempdir().expect("tempdir");
        let mut config = Config {
            data_dir: made.path().to_owned(),
            ..Config::default()
        };
        let created = Pki::load_or_create(&config).expect("created");
        // Another data dir, the files named explicitly: nothing is created there.
        let empty = tempfile::tempdir().expect("tempdir");
        config.data_dir = empty.path().to_owned();
        config.agent_ca.cert = Some(made.path().join("agent-ca/ca.crt"));
        config.agent_ca.key = Some(made.path().join("agent-ca/ca.key"));
        config.tls.cert = Some(made.path().join("server-tls/server.crt"));
        config.tls.key = Some(made.path().join("server-tls/server.key"));
        let loaded = Pki::load_or_create(&config).expect("loaded");
        assert_eq!(loaded.ca_cert_der(), created.ca_cert_der());
        assert_eq!(
            loaded.server_identity_pem().1,
            created.server_identity_pem().1
        );
        assert_eq!(std::fs::read_dir(empty.path()).expect("read").count(), 0);
        // A key that is not the CA's is refused.
        config.agent_ca.key = Some(made.path().join("server-tls/server.key"));
        assert!(Pki::load_or_create(&config).is_err());
    }

    #[test]
    fn agent_certificates_need_a_verifying_csr() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config {
            data_dir: dir.path().to_owned(),
            ..Config::default()
        };
        let pki = Pki::load_or_create(&config).expect("pki");
        let key = KeyPair::generate().expect("key");
        let csr = rcgen::CertificateParams::default()
            .serialize_request(&key)
            .expect("csr")
            .der()
            .to_vec();
        let agent = uuid::Uuid::new_v4();
        let validity = std::time::Duration::from_secs(90 * 86_400);
        let issued = pki
            .sign_agent_csr(&csr, agent, validity, Utc::now())
            .expect("issued");
        assert_eq!(issued.serial.len(), 32);
        let mut forged = csr;
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert!(matches!(
            pki.sign_agent_csr(&forged, agent, validity, Utc::now()),
            Err(PkiError::InvalidCsr(_))
        ));
    }
}
