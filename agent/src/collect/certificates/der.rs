//! A minimal DER reader for the few structures x509-parser leaves undecoded (PrivateKeyUsagePeriod,
//! the Russian sign-tool extensions, PKCS#7 bundles) and for telling file formats apart.
//!
//! It only splits tag-length-value triples; every length is checked against the input, so a
//! truncated or hostile input gives `None`, never a panic or an out-of-bounds slice.

/// One tag-length-value element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tlv<'a> {
    /// The identifier octet (single-byte tags only: every tag we read is below 31).
    pub(crate) tag: u8,
    /// The contents octets.
    pub(crate) value: &'a [u8],
    /// The whole element, header included.
    pub(crate) raw: &'a [u8],
}

pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const OID: u8 = 0x06;
pub(crate) const UTF8_STRING: u8 = 0x0C;
pub(crate) const NUMERIC_STRING: u8 = 0x12;
pub(crate) const PRINTABLE_STRING: u8 = 0x13;
pub(crate) const TELETEX_STRING: u8 = 0x14;
pub(crate) const IA5_STRING: u8 = 0x16;
pub(crate) const GENERALIZED_TIME: u8 = 0x18;
pub(crate) const VISIBLE_STRING: u8 = 0x1A;
pub(crate) const UNIVERSAL_STRING: u8 = 0x1C;
pub(crate) const BMP_STRING: u8 = 0x1E;

/// Read one element from the front of `input`; returns it and what follows.
pub(crate) fn read(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    // High-tag-number form (low five bits all set) never occurs in what we decode.
    if tag & 0x1F == 0x1F {
        return None;
    }
    let (&first, mut rest) = rest.split_first()?;
    let length = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7F);
        // Indefinite length (BER) and lengths beyond 4 octets are not DER we accept.
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (octets, after) = rest.split_at(count);
        rest = after;
        octets
            .iter()
            .fold(0_usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    if rest.len() < length {
        return None;
    }
    let header = input.len() - rest.len();
    let (value, after) = rest.split_at(length);
    let raw = input.get(..header + length)?;
    Some((Tlv { tag, value, raw }, after))
}

/// Read one element that must fill `input` exactly.
pub(crate) fn read_all(input: &[u8]) -> Option<Tlv<'_>> {
    match read(input)? {
        (tlv, []) => Some(tlv),
        _ => None,
    }
}

/// The elements inside a constructed value, in order; `None` if any is malformed.
pub(crate) fn children(value: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        let (tlv, after) = read(rest)?;
        out.push(tlv);
        rest = after;
    }
    Some(out)
}

/// Dotted form of an OBJECT IDENTIFIER's contents (`1.2.643.100.111`).
pub(crate) fn oid_string(value: &[u8]) -> Option<String> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut current: u64 = 0;
    let mut pending = false;
    for &byte in value {
        // An arc longer than 63 bits is not an OID anyone issues; refuse rather than wrap.
        if current > (u64::MAX >> 7) {
            return None;
        }
        current = (current << 7) | u64::from(byte & 0x7F);
        pending = byte & 0x80 != 0;
        if !pending {
            if arcs.is_empty() {
                let (first, second) = match current {
                    0..=39 => (0, current),
                    40..=79 => (1, current - 40),
                    _ => (2, current - 80),
                };
                arcs.push(first);
                arcs.push(second);
            } else {
                arcs.push(current);
            }
            current = 0;
        }
    }
    if pending || arcs.is_empty() {
        return None;
    }
    let parts: Vec<String> = arcs.iter().map(u64::to_string).collect();
    Some(parts.join("."))
}

/// Text of a directory string of any ASN.1 string type; `None` for other tags or bad encoding.
pub(crate) fn string(tag: u8, value: &[u8]) -> Option<String> {
    match tag {
        UTF8_STRING | NUMERIC_STRING | PRINTABLE_STRING | IA5_STRING | VISIBLE_STRING => {
            std::str::from_utf8(value).ok().map(str::to_owned)
        }
        // T61 in practice carries Latin-1 in old certificates.
        TELETEX_STRING => Some(value.iter().map(|&b| char::from(b)).collect()),
        BMP_STRING => {
            if value.len() % 2 != 0 {
                return None;
            }
            let units: Vec<u16> = value
                .chunks_exact(2)
                .map(|p| u16::from_be_bytes([p[0], p[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        UNIVERSAL_STRING => {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths() {
        let (tlv, rest) = read(&[0x04, 0x02, 0xAA, 0xBB, 0xFF]).unwrap();
        assert_eq!(
            (tlv.tag, tlv.value, rest),
            (0x04, &[0xAA, 0xBB][..], &[0xFF][..])
        );
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend(std::iter::repeat_n(7, 0x80));
        let (tlv, rest) = read(&long).unwrap();
        assert_eq!(tlv.value.len(), 0x80);
        assert_eq!(tlv.raw.len(), 0x83);
        assert!(rest.is_empty());
    }

    #[test]
    fn refuses_truncated_indefinite_and_oversized_lengths() {
        assert_eq!(read(&[]), None);
        assert_eq!(read(&[0x30]), None);
        assert_eq!(read(&[0x30, 0x05, 0x01]), None);
        assert_eq!(read(&[0x30, 0x80, 0x00, 0x00]), None);
        assert_eq!(read(&[0x30, 0x85, 1, 2, 3, 4, 5]), None);
        assert_eq!(read(&[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]), None);
        assert_eq!(read_all(&[0x05, 0x00, 0x00]), None);
    }

    #[test]
    fn oids_are_dotted() {
        // 1.2.643.100.111 (subjectSignTool)
        assert_eq!(
            oid_string(&[0x2A, 0x85, 0x03, 0x64, 0x6F]).as_deref(),
            Some("1.2.643.100.111")
        );
        // 2.5.29.16
        assert_eq!(
            oid_string(&[0x55, 0x1D, 0x10]).as_deref(),
            Some("2.5.29.16")
        );
        assert_eq!(oid_string(&[0x2A, 0x85]), None);
        assert_eq!(oid_string(&[]), None);
        assert_eq!(oid_string(&[0xFF; 12]), None);
    }

    #[test]
    fn strings_of_every_directory_type() {
        assert_eq!(
            string(UTF8_STRING, "Москва".as_bytes()).as_deref(),
            Some("Москва")
        );
        assert_eq!(
            string(BMP_STRING, &[0x04, 0x1C, 0x00, 0x41]).as_deref(),
            Some("МA")
        );
        assert_eq!(string(BMP_STRING, &[0x04]), None);
        assert_eq!(
            string(UNIVERSAL_STRING, &[0, 0, 0x04, 0x1C]).as_deref(),
            Some("М")
        );
        assert_eq!(string(TELETEX_STRING, &[0xE9]).as_deref(), Some("é"));
        assert_eq!(string(0x04, b"x"), None);
    }
}
