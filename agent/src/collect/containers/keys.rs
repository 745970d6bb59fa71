//! `primary*.key` and `masks*.key`: encrypted key material, checked for shape only.
//!
//! Their content cannot be verified without the password, but their structure can: a truncated
//! copy from a flash drive or a file overwritten with something else is caught here, before a
//! user finds out at signing time.

use x509_parser::asn1_rs::Tag;

use super::{FormatError, file_sequence};
use crate::collect::der;

/// Largest key file read: the biggest legal form (512-bit, non-exportable) is 134 bytes.
pub const MAX_KEY_FILE: usize = 1024;

/// Private key lengths: GOST R 34.10 256-bit and 512-bit keys.
const KEY_LENGTHS: [usize; 2] = [32, 64];
const SALT_LENGTH: usize = 12;
const MAC_LENGTH: usize = 4;

/// Check `primary.key` / `primary2.key`: `SEQUENCE { OCTET STRING key }` (36 bytes for a
/// 256-bit key), or with a second `[0]` half as passive tokens store it (70 bytes).
pub fn check_primary(bytes: &[u8]) -> Result<(), FormatError> {
    let fields = file_sequence(bytes, MAX_KEY_FILE, "SEQUENCE")?;
    let [key, rest @ ..] = fields.as_slice() else {
        return Err(FormatError::Missing("the encrypted key"));
    };
    let length = octets(key, "OCTET STRING key")?;
    if !KEY_LENGTHS.contains(&length) {
        return Err(FormatError::BadLength {
            field: "encrypted key",
            found: length,
        });
    }
    match rest {
        [] => Ok(()),
        [half] if der::is_context(half, 0) && half.data.len() == length => Ok(()),
        [half] => Err(FormatError::Unexpected {
            expected: "[0] second key half of the same length",
            found: der::describe(half),
        }),
        _ => Err(FormatError::TooManyElements),
    }
}

/// Check `masks.key` / `masks2.key`: `SEQUENCE { OCTET STRING mask, OCTET STRING salt(12),
/// OCTET STRING mac(4) }` (56 bytes for a 256-bit key).
pub fn check_masks(bytes: &[u8]) -> Result<(), FormatError> {
    let fields = file_sequence(bytes, MAX_KEY_FILE, "SEQUENCE")?;
    let [mask, salt, mac] = fields.as_slice() else {
        return Err(FormatError::Unexpected {
            expected: "mask, salt and MAC",
            found: format!("{} elements", fields.len()),
        });
    };
    let mask_length = octets(mask, "OCTET STRING mask")?;
    if !KEY_LENGTHS.contains(&mask_length) {
        return Err(FormatError::BadLength {
            field: "mask",
            found: mask_length,
        });
    }
    for (field, any, expected) in [("salt", salt, SALT_LENGTH), ("MAC", mac, MAC_LENGTH)] {
        let found = octets(any, field)?;
        if found != expected {
            return Err(FormatError::BadLength { field, found });
        }
    }
    Ok(())
}

fn octets(any: &x509_parser::asn1_rs::Any<'_>, what: &'static str) -> Result<usize, FormatError> {
    if der::is_universal(any, Tag::OctetString) && !any.header.is_constructed() {
        Ok(any.data.len())
    } else {
        Err(FormatError::Unexpected {
            expected: what,
            found: der::describe(any),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn primary(key: usize, half: bool) -> Vec<u8> {
        let mut body = vec![0x04, u8::try_from(key).unwrap_or(0)];
        body.extend(std::iter::repeat_n(0x5a, key));
        if half {
            body.extend([0x80, u8::try_from(key).unwrap_or(0)]);
            body.extend(std::iter::repeat_n(0xa5, key));
        }
        let mut out = vec![0x30];
        if body.len() > 127 {
            out.push(0x81);
        }
        out.push(u8::try_from(body.len()).unwrap_or(0));
        out.extend(body);
        out
    }

    fn masks(mask: usize, salt: usize, mac: usize) -> Vec<u8> {
        let mut body = Vec::new();
        for length in [mask, salt, mac] {
            body.extend([0x04, u8::try_from(length).unwrap_or(0)]);
            body.extend(std::iter::repeat_n(0x11, length));
        }
        let mut out = vec![0x30, u8::try_from(body.len()).unwrap_or(0)];
        out.extend(body);
        out
    }

    #[test]
    fn legal_forms_pass() {
        assert_eq!(primary(32, false).len(), 36);
        assert_eq!(primary(32, true).len(), 70);
        for bytes in [
            primary(32, false),
            primary(32, true),
            primary(64, false),
            primary(64, true),
        ] {
            assert!(check_primary(&bytes).is_ok());
        }
        assert_eq!(masks(32, 12, 4).len(), 56);
        assert!(check_masks(&masks(32, 12, 4)).is_ok());
        assert!(check_masks(&masks(64, 12, 4)).is_ok());
    }

    #[test]
    fn wrong_shapes_fail_with_a_reason() {
        assert!(matches!(
            check_primary(&primary(31, false)),
            Err(FormatError::BadLength { .. })
        ));
        assert!(check_masks(&masks(32, 11, 4)).is_err());
        assert!(check_masks(&primary(32, false)).is_err());
        assert!(check_primary(&masks(32, 12, 4)).is_err());
        let full = primary(32, false);
        for cut in 0..full.len() {
            assert!(check_primary(&full[..cut]).is_err(), "cut at {cut}");
        }
        let full = masks(32, 12, 4);
        for cut in 0..full.len() {
            assert!(check_masks(&full[..cut]).is_err(), "cut at {cut}");
        }
        assert!(matches!(
            check_masks(&vec![0; MAX_KEY_FILE + 1]),
            Err(FormatError::TooLarge { .. })
        ));
    }
}
