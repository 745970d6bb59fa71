//! Windows keeps each certificate of a system store as one serialized store element: the
//! `Blob` value of `…\SystemCertificates\<store>\Certificates\<SHA-1>` in the registry, or a
//! file of that name under a profile's `AppData\Roaming\Microsoft\SystemCertificates`.
//!
//! The element is a run of properties, each `u32 id, u32 encoding, u32 length` (little-endian)
//! and `length` bytes; property 32 (`CERT_CERT_PROP_ID`) is the certificate's DER and property 2
//! (`CERT_KEY_PROV_INFO_PROP_ID`) the link to its private key. The other properties (friendly
//! name, hashes) are stepped over. Pure and total: any bytes give the element or a
//! [`SerializedError`].
//!
//! The key link is `CRYPT_KEY_PROV_INFO` with its pointers stored as offsets from the start of
//! the property's value: seven `u32`s (container name, provider name, provider type, flags,
//! parameter count, parameters, key spec), then the names as NUL-terminated UTF-16LE.

/// `CERT_CERT_PROP_ID`: the encoded certificate.
const CERTIFICATE_PROPERTY: u32 = 32;
/// `CERT_KEY_PROV_INFO_PROP_ID`: which provider and container hold the private key.
const KEY_PROVIDER_PROPERTY: u32 = 2;
/// The fixed part of a stored `CRYPT_KEY_PROV_INFO`: seven `u32`s.
const KEY_PROVIDER_FIXED: usize = 28;
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

/// Why a certificate's link to its private key cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyLinkError {
    #[error("{0} bytes, fewer than the {KEY_PROVIDER_FIXED} of its fixed part")]
    Short(usize),
    #[error("its {what} at offset {offset} lies outside its {size} bytes or has no end")]
    BadName {
        what: &'static str,
        offset: usize,
        size: usize,
    },
    #[error("it names no container")]
    NoContainer,
}

/// Where a store certificate's private key is: what CryptoAPI hands to the provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyLink {
    /// As the provider names it: for CryptoPro often a fully qualified name such as
    /// `\\.\REGISTRY\te-1f2e` or `\\.\Aktiv Rutoken ECP 00 00\name`.
    pub container: String,
    pub provider: Option<String>,
    /// `PROV_GOST_2012_256` is 80 (domain reference §2.4).
    pub provider_type: u32,
}

/// One certificate of a store, with its key link when the store has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreElement<'a> {
    pub der: &'a [u8],
    /// `None`: no link property; `Some(Err)`: a link that cannot be read.
    pub key_link: Option<Result<KeyLink, KeyLinkError>>,
}

/// The certificate's DER from a serialized store element.
#[cfg(test)]
pub fn certificate_from_serialized(bytes: &[u8]) -> Result<&[u8], SerializedError> {
    store_element(bytes).map(|element| element.der)
}

/// The certificate and its key link from a serialized store element.
pub fn store_element(bytes: &[u8]) -> Result<StoreElement<'_>, SerializedError> {
    if bytes.is_empty() {
        return Err(SerializedError::Empty);
    }
    if bytes.len() > MAX_SERIALIZED {
        return Err(SerializedError::TooLarge { size: bytes.len() });
    }
    let mut offset = 0;
    let mut index = 0;
    let mut key_link = None;
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
        let value = &bytes[offset + PROPERTY_HEADER..value_end];
        match id {
            // Windows writes the certificate last: every other property is known by then.
            CERTIFICATE_PROPERTY => {
                return Ok(StoreElement {
                    der: value,
                    key_link,
                });
            }
            KEY_PROVIDER_PROPERTY => key_link = Some(parse_key_link(value)),
            _ => {}
        }
        offset = value_end;
        index += 1;
    }
    Err(SerializedError::NoCertificate(index))
}

/// A stored `CRYPT_KEY_PROV_INFO` (see the module documentation).
fn parse_key_link(value: &[u8]) -> Result<KeyLink, KeyLinkError> {
    if value.len() < KEY_PROVIDER_FIXED {
        return Err(KeyLinkError::Short(value.len()));
    }
    let word = |index: usize| {
        let at = index * 4;
        u32::from_le_bytes([value[at], value[at + 1], value[at + 2], value[at + 3]])
    };
    let name = |what, offset: u32| -> Result<Option<String>, KeyLinkError> {
        if offset == 0 {
            return Ok(None);
        }
        let offset = usize::try_from(offset).unwrap_or(usize::MAX);
        let bad = KeyLinkError::BadName {
            what,
            offset,
            size: value.len(),
        };
        let units: Vec<u16> = value
            .get(offset..)
            .ok_or_else(|| bad.clone())?
            .chunks_exact(2)
            .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
            .take_while(|unit| *unit != 0)
            .collect();
        // A name must end with its NUL inside the value.
        if offset + units.len() * 2 + 2 > value.len() {
            return Err(bad);
        }
        Ok(Some(String::from_utf16_lossy(&units)))
    };
    let container = name("container name", word(0))?
        .filter(|c| !c.is_empty())
        .ok_or(KeyLinkError::NoContainer)?;
    Ok(KeyLink {
        container,
        provider: name("provider name", word(1))?.filter(|p| !p.is_empty()),
        provider_type: word(2),
    })
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

    /// A `CRYPT_KEY_PROV_INFO` stored as Windows stores it: offsets, then the names.
    fn key_provider(
        container: Option<&str>,
        provider: Option<&str>,
        provider_type: u32,
    ) -> Vec<u8> {
        let utf16 = |text: &str| -> Vec<u8> {
            text.encode_utf16()
                .chain(Some(0))
                .flat_map(u16::to_le_bytes)
                .collect()
        };
        let mut names = Vec::new();
        let mut offset = |text: Option<&str>| match text {
            Some(text) => {
                let at = u32::try_from(KEY_PROVIDER_FIXED + names.len()).expect("short");
                names.extend(utf16(text));
                at
            }
            None => 0,
        };
        let fixed = [
            offset(container),
            offset(provider),
            provider_type,
            0,
            0,
            0,
            2,
        ];
        fixed
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .chain(names)
            .collect()
    }

    #[test]
    fn the_key_link_is_read_with_the_certificate() {
        let der = include_bytes!("testdata/person-2012-256.der");
        let provider = "Crypto-Pro GOST R 34.10-2012 KC1 CSP";
        let link = key_provider(Some(r"\\.\REGISTRY\te-1f2e"), Some(provider), 80);
        let element = [
            property(KEY_PROVIDER_PROPERTY, &link),
            property(11, "Иванов\0".as_bytes()),
            property(CERTIFICATE_PROPERTY, der),
        ]
        .concat();
        assert_eq!(
            store_element(&element),
            Ok(StoreElement {
                der,
                key_link: Some(Ok(KeyLink {
                    container: r"\\.\REGISTRY\te-1f2e".to_owned(),
                    provider: Some(provider.to_owned()),
                    provider_type: 80,
                })),
            })
        );
        let without = property(CERTIFICATE_PROPERTY, der);
        assert_eq!(store_element(&without).map(|e| e.key_link), Ok(None));
        // A provider left out (CryptoAPI then asks the default one) still links the key.
        let bare = key_provider(Some("le-5a"), None, 75);
        assert_eq!(
            parse_key_link(&bare),
            Ok(KeyLink {
                container: "le-5a".to_owned(),
                provider: None,
                provider_type: 75,
            })
        );
    }

    #[test]
    fn a_broken_key_link_is_an_error_and_keeps_the_certificate() {
        let der = include_bytes!("testdata/person-2012-256.der");
        let good = key_provider(Some("name"), Some("provider"), 80);
        assert_eq!(parse_key_link(&good[..20]), Err(KeyLinkError::Short(20)));
        // The provider's name cut before its NUL.
        let cut = &good[..good.len() - 2];
        assert!(matches!(
            parse_key_link(cut),
            Err(KeyLinkError::BadName {
                what: "provider name",
                ..
            })
        ));
        let mut outside = good.clone();
        outside[0..4].copy_from_slice(&1000_u32.to_le_bytes());
        assert_eq!(
            parse_key_link(&outside),
            Err(KeyLinkError::BadName {
                what: "container name",
                offset: 1000,
                size: good.len()
            })
        );
        assert_eq!(
            parse_key_link(&key_provider(None, Some("provider"), 80)),
            Err(KeyLinkError::NoContainer)
        );
        assert_eq!(
            parse_key_link(&key_provider(Some(""), Some("provider"), 80)),
            Err(KeyLinkError::NoContainer)
        );
        let element = [
            property(KEY_PROVIDER_PROPERTY, &good[..20]),
            property(CERTIFICATE_PROPERTY, der),
        ]
        .concat();
        let read = store_element(&element).expect("the certificate is still read");
        assert_eq!(read.der, &der[..]);
        assert_eq!(read.key_link, Some(Err(KeyLinkError::Short(20))));
    }

    proptest::proptest! {
        #[test]
        fn any_key_link_bytes_give_a_link_or_an_error(bytes in proptest::collection::vec(0_u8.., 0..120)) {
            if let Ok(link) = parse_key_link(&bytes) {
                proptest::prop_assert!(!link.container.is_empty());
            }
        }

        #[test]
        fn any_bytes_give_a_slice_of_them_or_an_error(bytes in proptest::collection::vec(0_u8.., 0..300)) {
            if let Ok(der) = certificate_from_serialized(&bytes) {
                proptest::prop_assert!(der.len() <= bytes.len());
            }
        }
    }
}
