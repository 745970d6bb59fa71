//! Extensions x509-parser does not decode (or decodes lossily), decoded from their raw value.
//!
//! All functions are pure and lenient: a malformed optional extension yields `None` or an empty
//! list, and the caller decides whether that is worth a warning. A certificate is never dropped
//! from the inventory because of a damaged non-critical extension.

use chrono::{DateTime, NaiveDate, Utc};

use super::der;
use super::oids;

/// The two optional ends of a PrivateKeyUsagePeriod.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct KeyUsagePeriod {
    pub(crate) not_before: Option<DateTime<Utc>>,
    pub(crate) not_after: Option<DateTime<Utc>>,
}

/// PrivateKeyUsagePeriod (2.5.29.16): `SEQUENCE { [0] GeneralizedTime OPTIONAL,
/// [1] GeneralizedTime OPTIONAL }`. `None` when the structure is malformed.
pub(crate) fn private_key_usage_period(value: &[u8]) -> Option<KeyUsagePeriod> {
    let seq = der::read_all(value).filter(|t| t.tag == der::SEQUENCE)?;
    let mut period = KeyUsagePeriod::default();
    for part in der::children(seq.value)? {
        // Implicitly tagged primitive [0]/[1]; a constructed (0xA0) form is accepted too,
        // since some CAs wrap the time explicitly.
        let text = match part.tag {
            0x80 | 0x81 => part.value,
            0xA0 | 0xA1 => {
                der::read_all(part.value)
                    .filter(|t| t.tag == der::GENERALIZED_TIME)?
                    .value
            }
            _ => return None,
        };
        let time = generalized_time(text)?;
        if part.tag & 0x01 == 0 {
            period.not_before = Some(time);
        } else {
            period.not_after = Some(time);
        }
    }
    Some(period)
}

/// `YYYYMMDDHHMMSS[.fff]Z` as DER requires it; fractions are dropped.
pub(crate) fn generalized_time(text: &[u8]) -> Option<DateTime<Utc>> {
    let text = std::str::from_utf8(text).ok()?;
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

/// subjectSignTool (1.2.643.100.111): a single string naming the owner's signing tool.
pub(crate) fn sign_tool(value: &[u8]) -> Option<String> {
    let tlv = der::read_all(value)?;
    der::string(tlv.tag, tlv.value)
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
    let Some(items) = der::read_all(value)
        .filter(|t| t.tag == der::SEQUENCE)
        .and_then(|seq| der::children(seq.value))
    else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let oid = if nested {
                let first = der::read(item.value)?.0;
                (item.tag == der::SEQUENCE).then_some(first)?
            } else {
                *item
            };
            (oid.tag == der::OID).then(|| der::oid_string(oid.value))?
        })
        .collect()
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
