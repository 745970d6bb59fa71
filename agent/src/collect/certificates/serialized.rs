//! Windows keeps each certificate of a system store as one serialized store element: the
//! `Blob` value of `…\SystemCertificates\<store>\Certificates\<SHA-1>` in the registry, or a
//! file of that name under a profile's `AppData\Roaming\Microsoft\SystemCertificates`.
//!
//! The element is a run of properties, each `u32 id, u32 encoding, u32 length` (little-endian)
//! and `length` bytes; property 32 (`CERT_CERT_PROP_ID`) is the certificate's DER. The other
//! properties (friendly name, key provider link, hashes) are stepped over. Pure and total: any
//! bytes give the DER or a [`SerializedError`].

/// `CERT_CERT_PROP_ID`: the encoded certificate.
const CERTIFICATE_PROPERTY: u32 = 32;
/// Larger than any real element (a certificate with its properties is a few kilobytes).
pub const MAX_SERIALIZED: usize = 1024 * 1024;
/// Bytes before each property's value.
const PROPERTY_HEADER: usize = 12;

/// Why a serialized store element gives no certificate.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SerializedError {
    #[error("empty")]
    Empty,
    #[error("{size} bytes, more than the {MAX_SERIALIZED} a store element can be")]
    TooLarge { size: usize },
    #[error("cut short in property {index}: {needed} bytes needed at offset {offset}, {left} left")]
    Truncated {
        index: usize,
        offset: usize,
        needed: usize,
        left: usize,
    },
    #[error("no certificate among its {0} properties")]
    NoCertificate(usize),
}

/// The certificate's DER from a serialized store element.
pub fn certificate_from_serialized(bytes: &[u8]) -> Result<&[u8], SerializedError> {
    if bytes.is_empty() {
        return Err(SerializedError::Empty);
    }
    if bytes.len() > MAX_SERIALIZED {
        return Err(SerializedError::TooLarge { size: bytes.len() });
    }
    let mut offset = 0;
    let mut index = 0;
    while offset < bytes.len() {
        let left = bytes.len() - offset;
        let truncated = |needed| SerializedError::Truncated {
            index,
            offset,
            needed,
            left,
        };
        if left < PROPERTY_HEADER {
            return Err(truncated(PROPERTY_HEADER));
        }
        let word = |at: usize| {
            let at = offset + at;
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let id = word(0);
        let length = usize::try_from(word(8)).unwrap_or(usize::MAX);
        let value_end = (offset + PROPERTY_HEADER)
            .checked_add(length)
            .filter(|end| *end <= bytes.len())
            .ok_or_else(|| truncated(PROPERTY_HEADER.saturating_add(length)))?;
        if id == CERTIFICATE_PROPERTY {
            return Ok(&bytes[offset + PROPERTY_HEADER..value_end]);
        }
        offset = value_end;
        index += 1;
    }
    Err(SerializedError::NoCertificate(index))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn property(id: u32, value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(id.to_le_bytes());
        out.extend(1_u32.to_le_bytes());
        out.extend(u32::try_from(value.len()).expect("short").to_le_bytes());
        out.extend(value);
        out
    }

    #[test]
    fn the_certificate_property_is_found_among_others() {
        let der = include_bytes!("testdata/person-2012-256.der");
        // SHA-1 hash (3), friendly name (11), then the certificate, as Windows orders them.
        let element = [
            property(3, &[0xab; 20]),
            property(11, "Иванов\0".as_bytes()),
            property(CERTIFICATE_PROPERTY, der),
        ]
        .concat();
        assert_eq!(certificate_from_serialized(&element), Ok(&der[..]));
        assert_eq!(
            certificate_from_serialized(&property(CERTIFICATE_PROPERTY, der)),
            Ok(&der[..])
        );
    }

    #[test]
    fn broken_elements_say_what_is_wrong() {
        let der = include_bytes!("testdata/person-2012-256.der");
        let element = [
            property(3, &[0xab; 20]),
            property(CERTIFICATE_PROPERTY, der),
        ]
        .concat();
        assert_eq!(
            certificate_from_serialized(&[]),
            Err(SerializedError::Empty)
        );
        assert_eq!(
            certificate_from_serialized(&property(3, &[0; 20])),
            Err(SerializedError::NoCertificate(1))
        );
        assert_eq!(
            certificate_from_serialized(&element[..40]),
            Err(SerializedError::Truncated {
                index: 1,
                offset: 32,
                needed: 12,
                left: 8
            })
        );
        let cut = &element[..element.len() - 1];
        assert!(matches!(
            certificate_from_serialized(cut),
            Err(SerializedError::Truncated {
                index: 1,
                offset: 32,
                ..
            })
        ));
        let mut huge_length = property(CERTIFICATE_PROPERTY, b"x");
        huge_length[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            certificate_from_serialized(&huge_length),
            Err(SerializedError::Truncated { index: 0, .. })
        ));
        assert_eq!(
            certificate_from_serialized(&vec![0; MAX_SERIALIZED + 1]),
            Err(SerializedError::TooLarge {
                size: MAX_SERIALIZED + 1
            })
        );
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_give_a_slice_of_them_or_an_error(bytes in proptest::collection::vec(0_u8.., 0..300)) {
            if let Ok(der) = certificate_from_serialized(&bytes) {
                proptest::prop_assert!(der.len() <= bytes.len());
            }
        }
    }
}
