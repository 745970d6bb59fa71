//! The few DER building blocks the container files need, on top of `asn1-rs`.
//!
//! The files are read without their password, so nothing here trusts a length or a tag: every
//! step returns a [`FormatError`] instead of indexing, and nesting is walked only as deep as the
//! schema goes.

use x509_parser::asn1_rs::{Any, Class, FromDer, Tag};

use super::FormatError;

/// Most elements one constructed value may hold; `GostKeyContainerContent` has under twenty, so
/// anything far above that is garbage that happens to parse.
const MAX_ELEMENTS: usize = 256;

/// One TLV from the front of `input` and what follows it.
pub(crate) fn next(input: &[u8]) -> Result<(Any<'_>, &[u8]), FormatError> {
    match Any::from_der(input) {
        Ok((rest, any)) => Ok((any, rest)),
        Err(error) => Err(FormatError::Der(error.to_string())),
    }
}

/// Exactly one TLV filling all of `input`.
pub(crate) fn single(input: &[u8]) -> Result<Any<'_>, FormatError> {
    let (any, rest) = next(input)?;
    if rest.is_empty() {
        Ok(any)
    } else {
        Err(FormatError::TrailingBytes(rest.len()))
    }
}

/// The TLVs that make up the content of a constructed value.
pub(crate) fn elements(mut content: &[u8]) -> Result<Vec<Any<'_>>, FormatError> {
    let mut out = Vec::new();
    while !content.is_empty() {
        if out.len() == MAX_ELEMENTS {
            return Err(FormatError::TooManyElements);
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
pub(crate) fn sequence<'a>(any: &Any<'a>, what: &'static str) -> Result<Vec<Any<'a>>, FormatError> {
    if !is_universal(any, Tag::Sequence) {
        return Err(FormatError::Unexpected {
            expected: what,
            found: describe(any),
        });
    }
    elements(any.data)
}

/// Dotted form of an OBJECT IDENTIFIER's content octets.
///
/// Decoded here rather than through `Oid` so that a malformed arc (a dangling continuation
/// byte, an arc wider than 64 bits) is an error and not a hex rendering that looks like an OID.
pub(crate) fn oid_string(content: &[u8]) -> Result<String, FormatError> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    let mut pending = false;
    for &byte in content {
        if value > (u64::MAX >> 7) {
            return Err(FormatError::BadOid);
        }
        value = (value << 7) | u64::from(byte & 0x7f);
        pending = byte & 0x80 != 0;
        if !pending {
            arcs.push(value);
            value = 0;
        }
    }
    let Some((&first, rest)) = arcs.split_first() else {
        return Err(FormatError::BadOid);
    };
    if pending {
        return Err(FormatError::BadOid);
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
    fn oids_decode_to_dotted_form() {
        // 1.2.643.7.1.1.6.1
        let bytes = [0x2a, 0x85, 0x03, 0x07, 0x01, 0x01, 0x06, 0x01];
        assert_eq!(
            oid_string(&bytes).ok().as_deref(),
            Some("1.2.643.7.1.1.6.1")
        );
        assert!(oid_string(&[]).is_err());
        assert!(oid_string(&[0x2a, 0x85]).is_err());
        assert!(oid_string(&[0xff; 12]).is_err());
    }

    #[test]
    fn truncated_and_trailing_input_is_an_error() {
        assert!(single(&[0x30, 0x03, 0x04, 0x01]).is_err());
        assert!(matches!(
            single(&[0x04, 0x00, 0x00]),
            Err(FormatError::TrailingBytes(1))
        ));
        assert!(next(&[]).is_err());
    }
}
