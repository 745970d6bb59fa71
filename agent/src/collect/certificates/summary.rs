//! DER certificate → [`Certificate`] summary, GOST-aware.
//!
//! x509-parser reads the structure; everything it leaves raw for GOST certificates
//! (PrivateKeyUsagePeriod, the sign-tool extensions, algorithm names) is decoded here. Per
//! domain reference §5.5, `SignatureAlgorithm::try_from` is never called: it fails (and prints
//! to stderr in debug builds) on GOST algorithms, so algorithms are named from their OIDs.

use chrono::{DateTime, Utc};
use sha1::Digest;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;
use x509_parser::time::ASN1Time;
use x509_parser::x509::SubjectPublicKeyInfo;

use super::extensions;
use super::names::Name;
use super::oids;
use crate::inventory::{Certificate, CertificateSource};

pub use super::error::CertError;

/// Summarise one DER certificate seen at `source`.
///
/// `der` must be exactly one certificate: trailing bytes are refused, so that the thumbprints
/// always describe the bytes given. Never panics, whatever the input.
pub fn summarize(der: &[u8], source: CertificateSource) -> Result<Certificate, CertError> {
    if der.is_empty() {
        return Err(CertError::Empty);
    }
    let (rest, cert) = X509Certificate::from_der(der).map_err(|e| CertError::Der(e.to_string()))?;
    if !rest.is_empty() {
        return Err(CertError::TrailingData(rest.len()));
    }
    let subject = Name::from_x509(cert.subject());
    let issuer = Name::from_x509(cert.issuer());
    let ext = Extensions::read(&cert);
    let self_signed = cert.subject().as_raw() == cert.issuer().as_raw()
        && match (&ext.authority_key_id, &ext.subject_key_id) {
            (Some(aki), Some(ski)) => aki == ski,
            _ => true,
        };
    let signature_oid = cert.signature_algorithm.algorithm.to_id_string();
    Ok(Certificate {
        sha1: hex::encode(sha1::Sha1::digest(der)),
        sha256: hex::encode(sha2::Sha256::digest(der)),
        serial: serial_hex(cert.raw_serial()),
        subject_cn: subject.first(oids::COMMON_NAME),
        issuer_cn: issuer.first(oids::COMMON_NAME),
        organization: subject.first(oids::ORGANIZATION),
        email: subject.first(oids::EMAIL).or(ext.san_email),
        inn: subject.first(oids::INN),
        inn_le: subject.first(oids::INN_LE),
        ogrn: subject.first(oids::OGRN),
        ogrnip: subject.first(oids::OGRNIP),
        snils: subject.first(oids::SNILS),
        not_before: time(cert.validity().not_before)?,
        not_after: time(cert.validity().not_after)?,
        private_key_not_before: ext.private_key_not_before,
        private_key_not_after: ext.private_key_not_after,
        key_usage: ext.key_usage,
        extended_key_usage: ext.extended_key_usage,
        signature_algorithm: oids::signature_algorithm(&signature_oid)
            .map_or(signature_oid, str::to_owned),
        public_key_algorithm: public_key_name(cert.public_key()),
        qualified: ext.qualified,
        subject_sign_tool: ext.subject_sign_tool,
        is_ca: ext.is_ca,
        self_signed,
        issuer_present: None,
        subject: subject.text,
        issuer: issuer.text,
        sources: vec![source],
        der: der.to_vec(),
        authority_key_id: ext.authority_key_id,
        subject_key_id: ext.subject_key_id,
    })
}

/// What the extensions say, decoded once.
#[derive(Debug, Default)]
struct Extensions {
    private_key_not_before: Option<DateTime<Utc>>,
    private_key_not_after: Option<DateTime<Utc>>,
    key_usage: Vec<String>,
    extended_key_usage: Vec<String>,
    qualified: bool,
    subject_sign_tool: Option<String>,
    is_ca: bool,
    authority_key_id: Option<String>,
    subject_key_id: Option<String>,
    san_email: Option<String>,
}

// === impl Extensions ===

impl Extensions {
    fn read(cert: &X509Certificate<'_>) -> Self {
        let mut out = Self::default();
        for ext in cert.extensions() {
            let oid = ext.oid.to_id_string();
            match oid.as_str() {
                oids::PRIVATE_KEY_USAGE_PERIOD => {
                    match extensions::private_key_usage_period(ext.value) {
                        Some(period) => {
                            out.private_key_not_before = period.not_before;
                            out.private_key_not_after = period.not_after;
                        }
                        None => tracing::warn!(
                            message = "Malformed PrivateKeyUsagePeriod ignored.",
                            serial = %serial_hex(cert.raw_serial())
                        ),
                    }
                }
                oids::SUBJECT_SIGN_TOOL => {
                    out.qualified = true;
                    out.subject_sign_tool = extensions::sign_tool(ext.value);
                }
                oids::ISSUER_SIGN_TOOL => out.qualified = true,
                oids::CERTIFICATE_POLICIES => {
                    if extensions::policies(ext.value)
                        .iter()
                        .any(|p| extensions::is_class_sign_tool(p))
                    {
                        out.qualified = true;
                    }
                }
                oids::EXTENDED_KEY_USAGE => {
                    out.extended_key_usage = extensions::extended_key_usage(ext.value);
                }
                _ => out.read_parsed(ext.parsed_extension()),
            }
        }
        out
    }

    /// The standard extensions x509-parser decodes well.
    fn read_parsed(&mut self, parsed: &ParsedExtension<'_>) {
        match parsed {
            ParsedExtension::KeyUsage(usage) => {
                self.key_usage = extensions::key_usage_names(usage.flags);
            }
            ParsedExtension::BasicConstraints(constraints) => self.is_ca = constraints.ca,
            ParsedExtension::SubjectKeyIdentifier(id) => {
                self.subject_key_id = Some(hex::encode(id.0));
            }
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                self.authority_key_id = aki.key_identifier.as_ref().map(|id| hex::encode(id.0));
            }
            ParsedExtension::SubjectAlternativeName(san) => {
                self.san_email = san.general_names.iter().find_map(|name| match name {
                    x509_parser::extensions::GeneralName::RFC822Name(mail) => {
                        Some((*mail).to_owned())
                    }
                    _ => None,
                });
            }
            _ => {}
        }
    }
}

/// Serial as upper-case hex of its magnitude: the DER sign-padding `00` that OpenSSL and
/// CryptoPro do not show is dropped; other bytes are kept as stored.
fn serial_hex(raw: &[u8]) -> String {
    let trimmed = match raw {
        [0, next, ..] if next & 0x80 != 0 => &raw[1..],
        _ => raw,
    };
    if trimmed.is_empty() {
        return "00".to_owned();
    }
    hex::encode_upper(trimmed)
}

fn time(t: ASN1Time) -> Result<DateTime<Utc>, CertError> {
    DateTime::<Utc>::from_timestamp(t.timestamp(), 0).ok_or(CertError::Date)
}

/// `GOST R 34.10-2012 256`, `RSA 2048`, `EC P-256`, or the dotted OID.
fn public_key_name(spki: &SubjectPublicKeyInfo<'_>) -> String {
    let oid = spki.algorithm.algorithm.to_id_string();
    if let Some(name) = oids::public_key_algorithm(&oid) {
        return name.to_owned();
    }
    match oid.as_str() {
        oids::RSA_ENCRYPTION => match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => format!("RSA {}", significant_bits(rsa.modulus)),
            _ => "RSA".to_owned(),
        },
        oids::EC_PUBLIC_KEY => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|c| c.to_id_string());
            match curve {
                Some(c) => format!("EC {}", oids::curve(&c).map_or(c.as_str(), |n| n)),
                None => "EC".to_owned(),
            }
        }
        _ => oid,
    }
}

/// Bit length of a big-endian unsigned integer.
fn significant_bits(bytes: &[u8]) -> usize {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    match bytes.get(start) {
        Some(&first) => (bytes.len() - start) * 8 - first.leading_zeros() as usize,
        None => 0,
    }
}

#[cfg(test)]
mod tests;
