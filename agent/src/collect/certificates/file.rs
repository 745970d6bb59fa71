//! Certificate files → DER certificates: DER, PEM (bundles too), Base64 without armour and
//! PKCS#7 (`.p7b`) bundles. Pure: the collector does the reading.
//!
//! Decisions, so that every file ends in exactly one clear outcome:
//! - Non-certificate PEM blocks (keys, CRLs, requests) next to certificates are skipped.
//! - A file holding no certificate at all (only a CRL, only a key) is
//!   [`CertError::NotCertificate`] naming what it holds. The collector reports it for a file
//!   named in the configuration and skips it inside folders (see `files`); `.crl` files are not
//!   picked up from folders in the first place.
//! - A damaged certificate block fails the whole file (with the block's number): half a bundle
//!   read silently would hide the broken one.

use x509_parser::asn1_rs::{Any, Tag};
use x509_parser::prelude::{CertificateRevocationList, FromDer, X509Certificate};

use super::error::CertError;
use super::pem;
use crate::collect::der;

/// Files larger than this are refused unread: certificate files are a few kilobytes, bundles
/// of a whole CA chain well under this.
pub const MAX_FILE_SIZE: u64 = 1024 * 1024;

/// The identifier octet of a SEQUENCE, which every DER certificate file starts with.
const SEQUENCE: u8 = 0x30;

/// PKCS#7 signedData (1.2.840.113549.1.7.2).
const PKCS7_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";

/// The DER of every certificate in a certificate file's contents, in file order.
///
/// Never panics, whatever the input; each returned certificate parses as X.509.
pub fn parse_certificate_file(bytes: &[u8]) -> Result<Vec<Vec<u8>>, CertError> {
    let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if size > MAX_FILE_SIZE {
        return Err(CertError::TooLarge {
            size,
            limit: MAX_FILE_SIZE,
        });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace() && *b != 0)
        .ok_or(CertError::Empty)?;
    if bytes.first() == Some(&SEQUENCE) {
        return from_der(bytes);
    }
    let text = String::from_utf8_lossy(bytes);
    if text.contains("-----BEGIN ") {
        return from_pem(&text);
    }
    if pem::looks_like_base64(bytes) {
        let decoded = pem::decode_base64(&text)
            .map_err(|reason| CertError::Der(format!("Base64 file: {reason}")))?;
        return from_der(&decoded);
    }
    let head: Vec<String> = bytes
        .iter()
        .skip(start)
        .take(8)
        .map(|b| format!("{b:02X}"))
        .collect();
    Err(CertError::UnknownFormat(head.join(" ")))
}

/// A binary file: one certificate, a PKCS#7 bundle, or something else to name.
fn from_der(bytes: &[u8]) -> Result<Vec<Vec<u8>>, CertError> {
    let Ok((outer, rest)) = der::next(bytes) else {
        // Let x509-parser say what is wrong (it names the missing length).
        return Err(certificate(bytes).map_or_else(|e| e, |_| CertError::Der("truncated".into())));
    };
    // Windows tools sometimes pad files with NULs or a newline; anything else is suspect.
    if rest.iter().any(|b| *b != 0 && !b.is_ascii_whitespace()) {
        return Err(CertError::TrailingData(rest.len()));
    }
    if let Some(certs) = pkcs7_certificates(&outer) {
        return non_empty(certs, "a PKCS#7 bundle with no certificates");
    }
    certificate(der::encoded(bytes, rest)).map(|c| vec![c])
}

/// One certificate, checked; a CRL or a non-certificate is named as such.
fn certificate(raw: &[u8]) -> Result<Vec<u8>, CertError> {
    match X509Certificate::from_der(raw) {
        Ok(([], _)) => Ok(raw.to_vec()),
        Ok((rest, _)) => Err(CertError::TrailingData(rest.len())),
        Err(error) => {
            if CertificateRevocationList::from_der(raw).is_ok() {
                Err(CertError::NotCertificate(
                    "a certificate revocation list (CRL)".to_owned(),
                ))
            } else {
                Err(CertError::Der(error.to_string()))
            }
        }
    }
}

/// Certificates of a PKCS#7 signedData; `None` when `outer` is not one.
fn pkcs7_certificates<'a>(outer: &Any<'a>) -> Option<Vec<&'a [u8]>> {
    let content_info = der::elements(outer.data).ok()?;
    let [oid, explicit, ..] = content_info.as_slice() else {
        return None;
    };
    if !der::is_universal(oid, Tag::Oid)
        || der::oid_string(oid.data).ok().as_deref() != Some(PKCS7_SIGNED_DATA)
    {
        return None;
    }
    let signed_data = der::single(explicit.data).ok()?;
    // version, digestAlgorithms, encapContentInfo, then [0] IMPLICIT certificates if present.
    let parts = der::elements(signed_data.data).ok()?;
    let Some(set) = parts
        .iter()
        .find(|p| der::is_context(p, 0) && p.header.is_constructed())
    else {
        return Some(Vec::new());
    };
    // Each SEQUENCE in the set, whole; a bundle may hold any number of them.
    let mut certs = Vec::new();
    let mut rest = set.data;
    while !rest.is_empty() {
        let (any, after) = der::next(rest).ok()?;
        if der::is_universal(&any, Tag::Sequence) && any.header.is_constructed() {
            certs.push(der::encoded(rest, after));
        }
        rest = after;
    }
    Some(certs)
}

fn from_pem(text: &str) -> Result<Vec<Vec<u8>>, CertError> {
    let mut certs = Vec::new();
    let mut skipped = Vec::new();
    for block in pem::blocks(text) {
        let fail = |reason: String| CertError::Pem {
            index: block.index,
            label: block.label.clone(),
            reason,
        };
        match block.label.as_str() {
            "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE" => {
                let der = block.contents.clone().map_err(fail)?;
                // OpenSSL's TRUSTED CERTIFICATE appends trust settings after the certificate.
                let raw = match (block.label.as_str(), der::next(&der)) {
                    ("TRUSTED CERTIFICATE", Ok((_, rest))) => der::encoded(&der, rest),
                    _ => &der,
                };
                certs.push(certificate(raw).map_err(|e| fail(e.to_string()))?);
            }
            "PKCS7" | "PKCS #7 SIGNED DATA" | "CMS" => {
                let der = block.contents.clone().map_err(fail)?;
                for cert in from_der(&der).map_err(|e| fail(e.to_string()))? {
                    certs.push(cert);
                }
            }
            other => skipped.push(other.to_owned()),
        }
    }
    if certs.is_empty() {
        let what = if skipped.is_empty() {
            "a broken PEM header only".to_owned()
        } else {
            format!("only PEM blocks of other kinds ({})", skipped.join(", "))
        };
        return Err(CertError::NotCertificate(what));
    }
    Ok(certs)
}

fn non_empty(certs: Vec<&[u8]>, empty: &str) -> Result<Vec<Vec<u8>>, CertError> {
    if certs.is_empty() {
        return Err(CertError::NotCertificate(empty.to_owned()));
    }
    certs.into_iter().map(certificate).collect()
}

#[cfg(test)]
mod tests;
