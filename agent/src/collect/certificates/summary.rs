//! DER certificate → [`Certificate`] summary.

use chrono::{DateTime, Utc};
use sha1::Digest;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::inventory::{Certificate, CertificateSource};

/// Why a certificate could not be summarised.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("empty input")]
    Empty,
    #[error("not a DER X.509 certificate: {0}")]
    Der(String),
    #[error("validity date out of range")]
    Date,
}

/// Summarise one DER certificate seen at `source`.
pub fn summarize(der: &[u8], source: CertificateSource) -> Result<Certificate, CertError> {
    if der.is_empty() {
        return Err(CertError::Empty);
    }
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| CertError::Der(e.to_string()))?;
    let time = |t: x509_parser::time::ASN1Time| {
        DateTime::<Utc>::from_timestamp(t.timestamp(), 0).ok_or(CertError::Date)
    };
    Ok(Certificate {
        sha1: hex::encode(sha1::Sha1::digest(der)),
        sha256: hex::encode(sha2::Sha256::digest(der)),
        serial: cert.raw_serial_as_string().replace(':', "").to_uppercase(),
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_before: time(cert.validity().not_before)?,
        not_after: time(cert.validity().not_after)?,
        self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
        sources: vec![source],
        der: der.to_vec(),
        ..Certificate::default()
    })
}
