//! Making certificates: the agent CA, the server's certificate and agent certificates.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, PublicKeyData,
    SanType, SerialNumber,
};
use time::OffsetDateTime;
use uuid::Uuid;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::PkiError;

/// A certificate just issued for an agent.
#[derive(Clone, Debug)]
pub struct IssuedCertificate {
    pub der: Vec<u8>,
    /// The serial number, lower-case hex of its DER content octets, as stored in `agents`.
    pub serial: String,
    pub not_after: DateTime<Utc>,
}

/// Lifetime of the agent CA.
const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 86_400);
/// Lifetime of a server certificate the server issues itself.
pub(super) const SERVER_VALIDITY: Duration = Duration::from_secs(2 * 365 * 86_400);
/// Certificates start a little in the past, for clocks that lag behind the server's.
const BACKDATE: Duration = Duration::from_secs(300);

/// A new agent CA: certificate and key, PEM.
pub(super) fn new_ca() -> Result<(String, String), PkiError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::OrganizationName, "tokenwatch");
    params
        .distinguished_name
        .push(DnType::CommonName, "tokenwatch agent CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut params, Utc::now(), CA_VALIDITY);
    params.serial_number = Some(random_serial());
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// A new server certificate for `names`, signed by `issuer`: certificate and key, PEM.
pub(super) fn new_server(
    names: &[String],
    issuer: &Issuer<'static, KeyPair>,
) -> Result<(String, String), PkiError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::new(names.to_vec())?;
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::OrganizationName, "tokenwatch");
    params.distinguished_name.push(
        DnType::CommonName,
        names.first().map_or("tokenwatch-server", String::as_str),
    );
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params, Utc::now(), SERVER_VALIDITY);
    params.serial_number = Some(random_serial());
    let cert = params.signed_by(&key, issuer)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Sign the key of a verified CSR as agent `agent`'s client certificate.
pub(super) fn agent_certificate(
    issuer: &Issuer<'static, KeyPair>,
    csr_der: &[u8],
    agent: Uuid,
    validity: Duration,
    now: DateTime<Utc>,
) -> Result<IssuedCertificate, PkiError> {
    // Parses the request and verifies its signature against its own key (x509-parser `verify`):
    // a request not signed by the key it carries is refused here.
    let request = CertificateSigningRequestParams::from_der(&csr_der.into())
        .map_err(|e| PkiError::InvalidCsr(e.to_string()))?;
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, agent.to_string());
    params.subject_alt_names = vec![SanType::URI(
        format!("urn:tokenwatch:agent:{agent}")
            .try_into()
            .map_err(|e: rcgen::Error| PkiError::Generate(e))?,
    )];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params, now, validity);
    params.serial_number = Some(random_serial());
    let cert = params.signed_by(&request.public_key, issuer)?;
    let der = cert.der().to_vec();
    let (serial, not_after) = serial_and_expiry(&der)
        .ok_or_else(|| PkiError::InvalidCsr("the issued certificate does not parse".into()))?;
    Ok(IssuedCertificate {
        der,
        serial,
        not_after,
    })
}

/// Serial (hex) and end of validity of a DER certificate.
pub(crate) fn serial_and_expiry(der: &[u8]) -> Option<(String, DateTime<Utc>)> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let not_after = DateTime::from_timestamp(cert.validity().not_after.timestamp(), 0)?;
    Some((hex::encode(cert.raw_serial()), not_after))
}

/// Whether `key` is the key certified by the DER certificate `cert`.
pub(super) fn key_matches(cert: &[u8], key: &KeyPair) -> bool {
    X509Certificate::from_der(cert).is_ok_and(|(_, cert)| {
        cert.public_key().subject_public_key.data.as_ref() == key.der_bytes()
    })
}

/// Whether the PEM certificate covers `names` and stays valid for `margin` after now.
pub(super) fn covers(cert_pem: &str, names: &[String], margin: Duration) -> bool {
    let Some(der) = super::store::pem_to_der(cert_pem, "CERTIFICATE") else {
        return false;
    };
    let Ok((_, cert)) = X509Certificate::from_der(&der) else {
        return false;
    };
    let deadline = Utc::now() + margin;
    if cert.validity().not_after.timestamp() < deadline.timestamp() {
        return false;
    }
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return false;
    };
    let present: Vec<String> = san
        .value
        .general_names
        .iter()
        .filter_map(|name| match name {
            x509_parser::extensions::GeneralName::DNSName(dns) => Some(dns.to_string()),
            x509_parser::extensions::GeneralName::IPAddress(ip) => match ip.len() {
                4 => <[u8; 4]>::try_from(*ip)
                    .ok()
                    .map(|a| std::net::IpAddr::from(a).to_string()),
                16 => <[u8; 16]>::try_from(*ip)
                    .ok()
                    .map(|a| std::net::IpAddr::from(a).to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    names.iter().all(|n| present.contains(n))
}

fn set_validity(params: &mut CertificateParams, now: DateTime<Utc>, validity: Duration) {
    let start = OffsetDateTime::from_unix_timestamp(now.timestamp())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        - BACKDATE;
    params.not_before = start;
    params.not_after = start + BACKDATE + validity;
}

/// 16 random bytes, positive and without a leading zero, so the DER INTEGER holds them as is.
fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::from_slice(&bytes)
}
