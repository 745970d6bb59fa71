//! `header.key`: what the container holds, readable without the password.
//!
//! `SEQUENCE { GostKeyContainerContent, OCTET STRING mac }`. The content's fields are told apart
//! by tag rather than position, so a field CSP adds in a later version does not make a good
//! header look damaged. The MAC is not checked: that needs the GOST primitives and proves
//! nothing an inventory needs.

use chrono::{DateTime, Utc};
use x509_parser::asn1_rs::{Any, Tag};

use super::{FormatError, file_sequence};
use crate::collect::der;

/// Largest `header.key` taken as real: two embedded certificates make it 2–3 KiB.
pub const MAX_HEADER_FILE: usize = 64 * 1024;

/// Container key usage period extensions (`WinCryptEx.h`): whole container, signature key,
/// exchange key.
const KEY_PERIOD_OIDS: [&str; 3] = [
    "1.2.643.2.2.37.3.5",
    "1.2.643.2.2.37.3.9",
    "1.2.643.2.2.37.3.10",
];

/// What `header.key` says about the container.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// Private key algorithm of the primary key (secondary when there is no primary).
    pub key_algorithm_oid: Option<String>,
    /// The key may be copied out of the container (`pkaExportable`).
    pub exportable: Option<bool>,
    /// DER of the certificate in `[5]`.
    pub primary_certificate: Option<Vec<u8>>,
    /// DER of the certificate in `[6]`.
    pub secondary_certificate: Option<Vec<u8>>,
    /// Public key fingerprints `[10]` / `[11]`, lower-case hex.
    pub primary_fingerprint: Option<String>,
    pub secondary_fingerprint: Option<String>,
    /// Latest start of the key usage periods in `[12]`.
    pub private_key_not_before: Option<DateTime<Utc>>,
    /// Earliest end of the key usage periods in `[12]`.
    pub private_key_not_after: Option<DateTime<Utc>>,
}

/// Parse `header.key`.
pub fn parse_header(bytes: &[u8]) -> Result<Header, FormatError> {
    let parts = file_sequence(bytes, MAX_HEADER_FILE, "SEQUENCE { content, mac }")?;
    let Some(content) = parts.first() else {
        return Err(FormatError::Missing("the container content"));
    };
    let fields = der::sequence(content, "GostKeyContainerContent")?;

    let mut header = Header::default();
    let mut primary_params = None;
    let mut secondary_params = None;
    for field in &fields {
        if der::is_universal(field, Tag::Sequence) {
            primary_params.get_or_insert(field);
        } else if der::is_context(field, 4) {
            secondary_params.get_or_insert(field);
        } else if der::is_context(field, 5) {
            header.primary_certificate = Some(certificate(field));
        } else if der::is_context(field, 6) {
            header.secondary_certificate = Some(certificate(field));
        } else if der::is_context(field, 10) {
            header.primary_fingerprint = Some(hex::encode(field.data));
        } else if der::is_context(field, 11) {
            header.secondary_fingerprint = Some(hex::encode(field.data));
        } else if der::is_context(field, 12) {
            extensions(field.data, &mut header)?;
        }
    }
    let Some(params) = primary_params.or(secondary_params) else {
        return Err(FormatError::Missing("private key parameters"));
    };
    let (oid, exportable) = key_parameters(params)?;
    header.key_algorithm_oid = Some(oid);
    header.exportable = Some(exportable);
    Ok(header)
}

/// Human name of a key algorithm OID as found in headers and certificates.
pub fn algorithm_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "1.2.643.7.1.1.1.1" | "1.2.643.7.1.1.6.1" => "GOST R 34.10-2012 256",
        "1.2.643.7.1.1.1.2" | "1.2.643.7.1.1.6.2" => "GOST R 34.10-2012 512",
        "1.2.643.2.2.19" | "1.2.643.2.2.98" => "GOST R 34.10-2001",
        "1.2.643.2.2.20" | "1.2.643.2.2.99" => "GOST R 34.10-94",
        _ => return None,
    })
}

/// `GostPrivateKeyParameters ::= SEQUENCE { BIT STRING attributes, [0] KeyAlgorithm }`:
/// the algorithm OID and the exportable bit.
fn key_parameters(params: &Any<'_>) -> Result<(String, bool), FormatError> {
    let fields = der::elements(params.data)?;
    let [attributes, algorithm, ..] = fields.as_slice() else {
        return Err(FormatError::Missing("key attributes and algorithm"));
    };
    if !der::is_universal(attributes, Tag::BitString) {
        return Err(FormatError::Unexpected {
            expected: "BIT STRING key attributes",
            found: der::describe(attributes),
        });
    }
    // Named bit 0 (pkaExportable) is the top bit of the first byte after the unused-bits count.
    let exportable = match attributes.data {
        [_unused, first, ..] => first & 0x80 != 0,
        _ => false,
    };
    if !der::is_context(algorithm, 0) {
        return Err(FormatError::Unexpected {
            expected: "[0] key algorithm",
            found: der::describe(algorithm),
        });
    }
    let inner = der::elements(algorithm.data)?;
    let Some(oid) = inner.first().filter(|a| der::is_universal(a, Tag::Oid)) else {
        return Err(FormatError::Missing("the key algorithm OID"));
    };
    Ok((der::oid_string(oid.data)?, exportable))
}

/// The certificate DER in `[5]` / `[6]`. CSP stores the whole certificate as the field's
/// content; a writer that tags it implicitly leaves only the certificate's inner fields, which
/// get their SEQUENCE header back. Anything else is passed on as it is, for the certificate
/// parser to reject with its own reason.
fn certificate(field: &Any<'_>) -> Vec<u8> {
    let data = field.data;
    let whole = der::single(data).is_ok_and(|any| der::is_universal(&any, Tag::Sequence));
    if whole || !field.header.is_constructed() || data.is_empty() {
        return data.to_vec();
    }
    let mut der = vec![0x30];
    der.extend(length_octets(data.len()));
    der.extend_from_slice(data);
    der
}

fn length_octets(length: usize) -> Vec<u8> {
    if length < 0x80 {
        return vec![u8::try_from(length).unwrap_or(0)];
    }
    let bytes: Vec<u8> = length
        .to_be_bytes()
        .into_iter()
        .skip_while(|b| *b == 0)
        .collect();
    let mut out = vec![0x80 | u8::try_from(bytes.len()).unwrap_or(0)];
    out.extend(bytes);
    out
}

/// `[12]`: extensions `SEQUENCE { OID, OCTET STRING value }`, either listed directly in the
/// field (as CSP writes them) or wrapped in one more SEQUENCE OF.
fn extensions(content: &[u8], header: &mut Header) -> Result<(), FormatError> {
    for item in der::elements(content)? {
        let fields = der::sequence(&item, "extension SEQUENCE")?;
        match fields.first() {
            Some(first) if der::is_universal(first, Tag::Sequence) => {
                for extension in &fields {
                    let inner = der::sequence(extension, "extension SEQUENCE")?;
                    extension_fields(&inner, header)?;
                }
            }
            _ => extension_fields(&fields, header)?,
        }
    }
    Ok(())
}

fn extension_fields(fields: &[Any<'_>], header: &mut Header) -> Result<(), FormatError> {
    let Some(id) = fields.first().filter(|a| der::is_universal(a, Tag::Oid)) else {
        return Err(FormatError::Missing("the extension OID"));
    };
    let oid = der::oid_string(id.data)?;
    if !KEY_PERIOD_OIDS.contains(&oid.as_str()) {
        return Ok(());
    }
    // An optional BOOLEAN critical flag may stand between the OID and the value, as in X.509.
    let Some(value) = fields
        .iter()
        .skip(1)
        .find(|a| der::is_universal(a, Tag::OctetString))
    else {
        return Err(FormatError::Missing("the key usage period value"));
    };
    let (not_before, not_after) = usage_period(value.data)?;
    if let Some(start) = not_before {
        // The container is usable only once every key in it is.
        header.private_key_not_before = Some(
            header
                .private_key_not_before
                .map_or(start, |s| s.max(start)),
        );
    }
    if let Some(end) = not_after {
        // CSP refuses the container as soon as any of its keys runs out.
        header.private_key_not_after =
            Some(header.private_key_not_after.map_or(end, |e| e.min(end)));
    }
    Ok(())
}

type Period = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// PrivateKeyUsagePeriod: `SEQUENCE { [0] notBefore OPTIONAL, [1] notAfter OPTIONAL }` with
/// GeneralizedTime content.
fn usage_period(value: &[u8]) -> Result<Period, FormatError> {
    let any = der::single(value)?;
    let mut period = (None, None);
    for field in der::sequence(&any, "PrivateKeyUsagePeriod")? {
        if der::is_context(&field, 0) {
            period.0 = Some(generalized_time(field.data)?);
        } else if der::is_context(&field, 1) {
            period.1 = Some(generalized_time(field.data)?);
        }
    }
    Ok(period)
}

/// `YYYYMMDDHHMMSS[.fff]Z`.
fn generalized_time(data: &[u8]) -> Result<DateTime<Utc>, FormatError> {
    der::generalized_time(data)
        .ok_or_else(|| FormatError::BadTime(String::from_utf8_lossy(data).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generalized_times_parse_strictly() {
        let t = generalized_time(b"20200524092359Z").ok();
        assert_eq!(
            t.map(|t| t.to_rfc3339()).as_deref(),
            Some("2020-05-24T09:23:59+00:00")
        );
        assert_eq!(
            generalized_time(b"20201324092359Z"),
            Err(FormatError::BadTime("20201324092359Z".to_owned()))
        );
    }

    #[test]
    fn long_lengths_encode_minimally() {
        assert_eq!(length_octets(5), vec![5]);
        assert_eq!(length_octets(0x80), vec![0x81, 0x80]);
        assert_eq!(length_octets(909), vec![0x82, 0x03, 0x8d]);
    }

    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        out.extend(length_octets(content.len()));
        out.extend_from_slice(content);
        out
    }

    /// OID 1.2.643.2.2.37.3.<last>.
    fn period_oid(last: u8) -> Vec<u8> {
        tlv(0x06, &[0x2a, 0x85, 0x03, 0x02, 0x02, 0x25, 0x03, last])
    }

    fn period(
        last: u8,
        not_before: Option<&str>,
        not_after: Option<&str>,
        critical: bool,
    ) -> Vec<u8> {
        let mut times = Vec::new();
        if let Some(t) = not_before {
            times.extend(tlv(0x80, t.as_bytes()));
        }
        if let Some(t) = not_after {
            times.extend(tlv(0x81, t.as_bytes()));
        }
        let mut body = period_oid(last);
        if critical {
            body.extend(tlv(0x01, &[0xff]));
        }
        body.extend(tlv(0x04, &tlv(0x30, &times)));
        tlv(0x30, &body)
    }

    /// A header with only secondary key parameters, both certificates (the second one tagged
    /// implicitly) and the given `[12]` content.
    fn header(extensions: &[u8]) -> Vec<u8> {
        // 1.2.643.7.1.1.6.2, not exportable.
        let algorithm = tlv(0x06, &[0x2a, 0x85, 0x03, 0x07, 0x01, 0x01, 0x06, 0x02]);
        let params = [tlv(0x03, &[0x05, 0x20]), tlv(0xa0, &algorithm)].concat();
        let cert_body = [tlv(0x30, &[0x02, 0x01, 0x01]), tlv(0x03, &[0x00])].concat();
        let content = [
            tlv(0x03, &[0x06, 0x40]),
            tlv(0xa4, &params),
            tlv(0x85, &tlv(0x30, &cert_body)),
            tlv(0xa6, &cert_body),
            tlv(0x8b, &[1, 2, 3, 4, 5, 6, 7, 8]),
            tlv(0xac, extensions),
        ]
        .concat();
        tlv(0x30, &[tlv(0x30, &content), tlv(0x04, &[0; 4])].concat())
    }

    #[test]
    fn the_earliest_end_and_latest_start_of_all_key_periods_count() {
        let extensions = [
            period(10, Some("20240101000000Z"), Some("20270101000000Z"), false),
            period(9, Some("20250101000000Z"), Some("20260301000000Z"), true),
            period(5, None, Some("20261001000000Z"), false),
            // Not a key period: ignored.
            period(4, None, Some("20000101000000Z"), false),
        ]
        .concat();
        let parsed = parse_header(&header(&extensions)).expect("parses");
        let day = |t: Option<DateTime<Utc>>| t.map(|t| t.format("%Y-%m-%d").to_string());
        assert_eq!(
            day(parsed.private_key_not_before).as_deref(),
            Some("2025-01-01")
        );
        assert_eq!(
            day(parsed.private_key_not_after).as_deref(),
            Some("2026-03-01")
        );
        // The key parameters fall back to the secondary key's.
        assert_eq!(
            parsed.key_algorithm_oid.as_deref(),
            Some("1.2.643.7.1.1.6.2")
        );
        assert_eq!(parsed.exportable, Some(false));
        assert_eq!(
            parsed.secondary_fingerprint.as_deref(),
            Some("0102030405060708")
        );
        assert_eq!(parsed.primary_fingerprint, None);
        // Both certificate encodings give the same DER back.
        assert!(parsed.primary_certificate.is_some());
        assert_eq!(parsed.primary_certificate, parsed.secondary_certificate);
    }

    #[test]
    fn extensions_wrapped_in_a_sequence_of_are_read_too() {
        let wrapped = tlv(0x30, &period(9, None, Some("20260301000000Z"), false));
        let parsed = parse_header(&header(&wrapped)).expect("parses");
        assert_eq!(
            parsed
                .private_key_not_after
                .map(|t| t.to_rfc3339())
                .as_deref(),
            Some("2026-03-01T00:00:00+00:00")
        );
    }

    #[test]
    fn a_bad_key_period_time_is_an_error() {
        let extensions = period(9, None, Some("2026-03-01"), false);
        assert!(matches!(
            parse_header(&header(&extensions)),
            Err(FormatError::BadTime(_))
        ));
    }

    #[test]
    fn algorithm_names() {
        assert_eq!(
            algorithm_name("1.2.643.7.1.1.6.1"),
            Some("GOST R 34.10-2012 256")
        );
        assert_eq!(
            algorithm_name("1.2.643.7.1.1.6.2"),
            Some("GOST R 34.10-2012 512")
        );
        assert_eq!(algorithm_name("1.2.643.2.2.98"), Some("GOST R 34.10-2001"));
        assert_eq!(algorithm_name("1.2.3"), None);
    }
}
