//! Extensions x509-parser does not decode (or decodes lossily), decoded from their raw value.
//!
//! All functions are pure and lenient: a malformed optional extension yields `None` or an empty
//! list, and the caller decides whether that is worth a warning. A certificate is never dropped
//! from the inventory because of a damaged non-critical extension.

use chrono::{DateTime, Utc};
use x509_parser::asn1_rs::{Any, Tag};

use super::oids;
use crate::collect::der;

/// The two optional ends of a PrivateKeyUsagePeriod.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct KeyUsagePeriod {
    pub(crate) not_before: Option<DateTime<Utc>>,
    pub(crate) not_after: Option<DateTime<Utc>>,
}

/// PrivateKeyUsagePeriod (2.5.29.16): `SEQUENCE { [0] GeneralizedTime OPTIONAL,
/// [1] GeneralizedTime OPTIONAL }`. `None` when the structure is malformed.
pub(crate) fn private_key_usage_period(value: &[u8]) -> Option<KeyUsagePeriod> {
    let seq = sequence(value)?;
    let mut period = KeyUsagePeriod::default();
    for part in der::elements(seq.data).ok()? {
        let not_after = if der::is_context(&part, 0) {
            false
        } else if der::is_context(&part, 1) {
            true
        } else {
            return None;
        };
        // Implicitly tagged primitive [0]/[1]; a constructed form is accepted too, since some
        // CAs wrap the time explicitly.
        let text = if part.header.is_constructed() {
            der::single(part.data)
                .ok()
                .filter(|t| der::is_universal(t, Tag::GeneralizedTime))?
                .data
        } else {
            part.data
        };
        let time = der::generalized_time(text)?;
        if not_after {
            period.not_after = Some(time);
        } else {
            period.not_before = Some(time);
        }
    }
    Some(period)
}

/// subjectSignTool (1.2.643.100.111): a single string naming the owner's signing tool.
pub(crate) fn sign_tool(value: &[u8]) -> Option<String> {
    der::single(value)
        .ok()
        .and_then(|any| der::text(&any))
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// Policy OIDs of certificatePolicies (2.5.29.32), in order.
pub(crate) fn policies(value: &[u8]) -> Vec<String> {
    oids_in_sequence(value, true)
}

/// Extended key usages (2.5.29.37) in certificate order: names for the RFC 5280 ones, dotted
/// OIDs for the rest (Russian CAs add many of their own, which only their documentation names).
pub(crate) fn extended_key_usage(value: &[u8]) -> Vec<String> {
    oids_in_sequence(value, false)
        .into_iter()
        .map(|oid| {
            oids::extended_key_usage(&oid)
                .map(str::to_owned)
                .unwrap_or(oid)
        })
        .collect()
}

/// OIDs of a `SEQUENCE OF OID` or, with `nested`, a `SEQUENCE OF SEQUENCE { OID, … }`.
fn oids_in_sequence(value: &[u8], nested: bool) -> Vec<String> {
    let Some(items) = sequence(value).and_then(|seq| der::elements(seq.data).ok()) else {
        return Vec::new();
    };
    let oid = |any: &Any<'_>| {
        der::is_universal(any, Tag::Oid)
            .then(|| der::oid_string(any.data).ok())
            .flatten()
    };
    items
        .iter()
        .filter_map(|item| {
            if !nested {
                return oid(item);
            }
            let first = der::next(item.data).ok()?.0;
            der::is_universal(item, Tag::Sequence)
                .then(|| oid(&first))
                .flatten()
        })
        .collect()
}

/// A value that is exactly one SEQUENCE.
fn sequence(value: &[u8]) -> Option<Any<'_>> {
    der::single(value)
        .ok()
        .filter(|any| der::is_universal(any, Tag::Sequence))
}

/// RFC 5280 names of the bits set in a keyUsage flag word (x509-parser's bit order).
pub(crate) fn key_usage_names(flags: u16) -> Vec<String> {
    const NAMES: [&str; 9] = [
        "digitalSignature",
        "nonRepudiation",
        "keyEncipherment",
        "dataEncipherment",
        "keyAgreement",
        "keyCertSign",
        "cRLSign",
        "encipherOnly",
        "decipherOnly",
    ];
    NAMES
        .iter()
        .enumerate()
        .filter(|(bit, _)| flags & (1 << bit) != 0)
        .map(|(_, name)| (*name).to_owned())
        .collect()
}

/// Whether a policy OID marks a qualified certificate's signing-tool class (KC1…KA1).
pub(crate) fn is_class_sign_tool(policy: &str) -> bool {
    policy.starts_with(oids::CLASS_SIGN_TOOL_ARC)
}

#[cfg(test)]
mod tests;
