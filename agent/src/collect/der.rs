//! The few DER building blocks the collectors need beyond x509-parser, on top of `asn1-rs`:
//! container files, the certificate extensions x509-parser leaves undecoded (PrivateKeyUsagePeriod,
//! the Russian sign-tool extensions) and PKCS#7 bundles.
//!
//! Nothing here trusts a length or a tag: every step returns a [`DerError`] instead of indexing,
//! so truncated or hostile input never panics or reads out of bounds.

use chrono::{DateTime, NaiveDate, Utc};
use x509_parser::asn1_rs::{Any, Class, FromDer, Tag};

/// Most elements one constructed value may hold; the structures read here have under twenty, so
/// anything far above that is garbage that happens to parse.
const MAX_ELEMENTS: usize = 256;

/// Why DER could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DerError {
    #[error("{0}")]
    Malformed(String),
    #[error("{0} bytes follow the DER structure")]
    TrailingBytes(usize),
    #[error("more elements than the format has")]
    TooManyElements,
    #[error("malformed object identifier")]
    BadOid,
    #[error("expected {expected}, found {found}")]
    Unexpected {
        expected: &'static str,
        found: String,
    },
}

/// One TLV from the front of `input` and what follows it.
pub(crate) fn next(input: &[u8]) -> Result<(Any<'_>, &[u8]), DerError> {
    match Any::from_der(input) {
        Ok((rest, any)) => Ok((any, rest)),
        Err(error) => Err(DerError::Malformed(error.to_string())),
    }
}

/// The whole encoding (header included) of the TLV at the front of `input`, given the `rest`
/// that [`next`] left after it.
pub(crate) fn encoded<'a>(input: &'a [u8], rest: &[u8]) -> &'a [u8] {
    input.split_at(input.len().saturating_sub(rest.len())).0
}

/// Exactly one TLV filling all of `input`.
pub(crate) fn single(input: &[u8]) -> Result<Any<'_>, DerError> {
    let (any, rest) = next(input)?;
    if rest.is_empty() {
        Ok(any)
    } else {
        Err(DerError::TrailingBytes(rest.len()))
    }
}

/// The TLVs that make up the content of a constructed value.
pub(crate) fn elements(mut content: &[u8]) -> Result<Vec<Any<'_>>, DerError> {
    let mut out = Vec::new();
    while !content.is_empty() {
        if out.len() == MAX_ELEMENTS {
            return Err(DerError::TooManyElements);
        }
        let (any, rest) = next(content)?;
        out.push(any);
        content = rest;
    }
    Ok(out)
}

/// Whether `any` is the universal type `tag`.
pub(crate) fn is_universal(any: &Any<'_>, tag: Tag) -> bool {
    any.header.class() == Class::Universal && any.header.tag() == tag
}

/// Whether `any` is the context-specific tag `[number]`.
pub(crate) fn is_context(any: &Any<'_>, number: u32) -> bool {
    any.header.class() == Class::ContextSpecific && any.header.tag() == Tag(number)
}

/// A universal SEQUENCE's elements, or an error naming `what` was expected.
pub(crate) fn sequence<'a>(any: &Any<'a>, what: &'static str) -> Result<Vec<Any<'a>>, DerError> {
    if !is_universal(any, Tag::Sequence) {
        return Err(DerError::Unexpected {
            expected: what,
            found: describe(any),
        });
    }
    elements(any.data)
}

/// Dotted form of an OBJECT IDENTIFIER's content octets (`1.2.643.100.111`).
///
/// Decoded here rather than through `Oid` so that a malformed arc (a dangling continuation
/// byte, an arc wider than 64 bits) is an error and not a hex rendering that looks like an OID.
pub(crate) fn oid_string(content: &[u8]) -> Result<String, DerError> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    let mut pending = false;
    for &byte in content {
        if value > (u64::MAX >> 7) {
            return Err(DerError::BadOid);
        }
        value = (value << 7) | u64::from(byte & 0x7f);
        pending = byte & 0x80 != 0;
        if !pending {
            arcs.push(value);
            value = 0;
        }
    }
    let Some((&first, rest)) = arcs.split_first() else {
        return Err(DerError::BadOid);
    };
    if pending {
        return Err(DerError::BadOid);
    }
    let (a, b) = match first {
        0..40 => (0, first),
        40..80 => (1, first - 40),
        _ => (2, first - 80),
    };
    let mut text = format!("{a}.{b}");
    for arc in rest {
        text.push('.');
        text.push_str(&arc.to_string());
    }
    Ok(text)
}

/// Text of a directory string of any ASN.1 string type, by tag number; `None` for other tags or
/// bad encoding.
pub(crate) fn string(tag: Tag, value: &[u8]) -> Option<String> {
    match tag {
        Tag::Utf8String
        | Tag::NumericString
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::VisibleString => std::str::from_utf8(value).ok().map(str::to_owned),
        // T61 in practice carries Latin-1 in old certificates.
        Tag::TeletexString => Some(value.iter().map(|&b| char::from(b)).collect()),
        Tag::BmpString => {
            if value.len() % 2 != 0 {
                return None;
            }
            let units: Vec<u16> = value
                .chunks_exact(2)
                .map(|p| u16::from_be_bytes([p[0], p[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        Tag::UniversalString => {
            if value.len() % 4 != 0 {
                return None;
            }
            value
                .chunks_exact(4)
                .map(|q| char::from_u32(u32::from_be_bytes([q[0], q[1], q[2], q[3]])))
                .collect()
        }
        _ => None,
    }
}

/// Text of `any` when it is a primitive universal string (see [`string`]).
pub(crate) fn text(any: &Any<'_>) -> Option<String> {
    if any.header.class() != Class::Universal || any.header.is_constructed() {
        return None;
    }
    string(any.header.tag(), any.data)
}

/// GeneralizedTime content `YYYYMMDDHHMMSS[.fff]Z`, as DER requires it; fractions are dropped.
pub(crate) fn generalized_time(content: &[u8]) -> Option<DateTime<Utc>> {
    let text = std::str::from_utf8(content).ok()?;
    let body = text.strip_suffix('Z')?;
    let whole = body.split('.').next()?;
    if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number = |range: std::ops::Range<usize>| whole.get(range)?.parse::<u32>().ok();
    let year = i32::try_from(number(0..4)?).ok()?;
    NaiveDate::from_ymd_opt(year, number(4..6)?, number(6..8)?)?
        .and_hms_opt(number(8..10)?, number(10..12)?, number(12..14)?)
        .map(|t| t.and_utc())
}

/// A short description of a TLV's tag, for error messages.
pub(crate) fn describe(any: &Any<'_>) -> String {
    let tag = any.header.tag().0;
    match any.header.class() {
        Class::Universal => format!("universal tag {tag}"),
        Class::ContextSpecific => format!("[{tag}]"),
        Class::Application => format!("application tag {tag}"),
        Class::Private => format!("private tag {tag}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths() {
        let (any, rest) = next(&[0x04, 0x02, 0xAA, 0xBB, 0xFF]).unwrap();
        assert!(is_universal(&any, Tag::OctetString));
        assert_eq!((any.data, rest), (&[0xAA, 0xBB][..], &[0xFF][..]));
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend(std::iter::repeat_n(7, 0x80));
        let (any, rest) = next(&long).unwrap();
        assert_eq!(any.data.len(), 0x80);
        assert!(rest.is_empty());
        long.push(0xFF);
        let (_, rest) = next(&long).unwrap();
        assert_eq!(encoded(&long, rest).len(), 0x83);
    }

    #[test]
    fn truncated_indefinite_and_trailing_input_is_an_error() {
        assert!(next(&[]).is_err());
        assert!(next(&[0x30]).is_err());
        assert!(next(&[0x30, 0x05, 0x01]).is_err());
        assert!(next(&[0x30, 0x80, 0x00, 0x00]).is_err());
        assert!(next(&[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]).is_err());
        assert!(single(&[0x30, 0x03, 0x04, 0x01]).is_err());
        assert_eq!(
            single(&[0x04, 0x00, 0x00]).err(),
            Some(DerError::TrailingBytes(1))
        );
    }

    #[test]
    fn oids_decode_to_dotted_form() {
        // 1.2.643.7.1.1.6.1
        let bytes = [0x2a, 0x85, 0x03, 0x07, 0x01, 0x01, 0x06, 0x01];
        assert_eq!(
            oid_string(&bytes).ok().as_deref(),
            Some("1.2.643.7.1.1.6.1")
        );
        // 1.2.643.100.111 (subjectSignTool), 2.5.29.16
        assert_eq!(
            oid_string(&[0x2A, 0x85, 0x03, 0x64, 0x6F]).ok().as_deref(),
            Some("1.2.643.100.111")
        );
        assert_eq!(
            oid_string(&[0x55, 0x1D, 0x10]).ok().as_deref(),
            Some("2.5.29.16")
        );
        assert!(oid_string(&[]).is_err());
        assert!(oid_string(&[0x2a, 0x85]).is_err());
        assert!(oid_string(&[0xff; 12]).is_err());
    }

    #[test]
    fn strings_of_every_directory_type() {
        assert_eq!(
            string(Tag::Utf8String, "Москва".as_bytes()).as_deref(),
            Some("Москва")
        );
        assert_eq!(
            string(Tag::BmpString, &[0x04, 0x1C, 0x00, 0x41]).as_deref(),
            Some("МA")
        );
        assert_eq!(string(Tag::BmpString, &[0x04]), None);
        assert_eq!(
            string(Tag::UniversalString, &[0, 0, 0x04, 0x1C]).as_deref(),
            Some("М")
        );
        assert_eq!(string(Tag::TeletexString, &[0xE9]).as_deref(), Some("é"));
        assert_eq!(string(Tag::OctetString, b"x"), None);
        // A constructed or non-universal string is not read as text.
        let (any, _) = next(&[0x2C, 0x03, 0x0C, 0x01, b'x']).unwrap();
        assert_eq!(text(&any), None);
        let (any, _) = next(&[0x8C, 0x01, b'x']).unwrap();
        assert_eq!(text(&any), None);
    }

    #[test]
    fn generalized_times_parse_strictly() {
        let t = generalized_time(b"20200524092359Z");
        assert_eq!(
            t.map(|t| t.to_rfc3339()).as_deref(),
            Some("2020-05-24T09:23:59+00:00")
        );
        assert!(generalized_time(b"20200524092359.5Z").is_some());
        assert!(generalized_time(b"20200524092359").is_none());
        assert!(generalized_time(b"2020052409235Z").is_none());
        assert!(generalized_time(b"20201324092359Z").is_none());
        assert!(generalized_time("2020052409235Я".as_bytes()).is_none());
    }
}
