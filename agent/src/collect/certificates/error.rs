//! Why a certificate or a certificate file could not be used.

/// Why a certificate (or a file meant to hold certificates) could not be summarised.
///
/// Messages are shown to helpdesk staff in `file.unparsable` findings: they say what was found
/// rather than which parser gave up.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CertError {
    #[error("empty input")]
    Empty,
    #[error("not a DER X.509 certificate: {0}")]
    Der(String),
    #[error("validity date out of range")]
    Date,
    #[error("{0} unexpected bytes after the certificate")]
    TrailingData(usize),
    #[error("file is {size} bytes, over the {limit}-byte limit for certificate files: not read")]
    TooLarge { size: u64, limit: u64 },
    #[error("holds {0}, not a certificate")]
    NotCertificate(String),
    #[error("PEM block {index} ({label}): {reason}")]
    Pem {
        index: usize,
        label: String,
        reason: String,
    },
    #[error("neither DER, PEM nor Base64 (starts with {0})")]
    UnknownFormat(String),
}
