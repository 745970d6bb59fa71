//! `name.key`: the container name CryptoPro shows, `SEQUENCE { IA5String }`.

use encoding_rs::WINDOWS_1251;
use x509_parser::asn1_rs::Tag;

use super::{FormatError, file_sequence};
use crate::collect::der;

/// Largest `name.key` taken as real: names are tens of bytes, CSP caps them far below this.
pub const MAX_NAME_FILE: usize = 4096;

/// The container name stored in `name.key`.
///
/// The string is tagged IA5 but CSP writes the name in the system code page, so Cyrillic names
/// arrive as CP1251 bytes; newer tools write UTF-8. Valid UTF-8 wins because a CP1251 Cyrillic
/// name is almost never valid UTF-8, while the reverse reading would garble every UTF-8 name.
pub fn parse_name(bytes: &[u8]) -> Result<String, FormatError> {
    let fields = file_sequence(bytes, MAX_NAME_FILE, "SEQUENCE { IA5String }")?;
    let Some(first) = fields.first() else {
        return Err(FormatError::Missing("the name string"));
    };
    // Some writers tag the name as another string type; any primitive universal string will do.
    if first.header.is_constructed()
        || !(der::is_universal(first, Tag::Ia5String)
            || der::is_universal(first, Tag::Utf8String)
            || der::is_universal(first, Tag::PrintableString)
            || der::is_universal(first, Tag::VisibleString))
    {
        return Err(FormatError::Unexpected {
            expected: "IA5String",
            found: der::describe(first),
        });
    }
    let raw = first.data;
    // C writers sometimes count the terminating NUL into the string.
    let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
    let name = match std::str::from_utf8(raw) {
        Ok(text) => text.to_owned(),
        Err(_) => WINDOWS_1251.decode_without_bom_handling(raw).0.into_owned(),
    };
    if name.is_empty() {
        return Err(FormatError::Missing("a non-empty name"));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name_key(raw: &[u8]) -> Vec<u8> {
        let mut inner = vec![0x16, u8::try_from(raw.len()).unwrap_or(0)];
        inner.extend_from_slice(raw);
        let mut out = vec![0x30, u8::try_from(inner.len()).unwrap_or(0)];
        out.extend(inner);
        out
    }

    #[test]
    fn ascii_utf8_and_cp1251_names_decode() {
        assert_eq!(
            parse_name(&name_key(b"le-22951")).ok().as_deref(),
            Some("le-22951")
        );
        let utf8 = "Иванов Иван";
        assert_eq!(
            parse_name(&name_key(utf8.as_bytes())).ok().as_deref(),
            Some(utf8)
        );
        let (cp1251, _, _) = WINDOWS_1251.encode("Ключ Петрова");
        assert_eq!(
            parse_name(&name_key(&cp1251)).ok().as_deref(),
            Some("Ключ Петрова")
        );
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(parse_name(&[]), Err(FormatError::Empty)));
        assert!(parse_name(&[0x30, 0x00]).is_err());
        assert!(parse_name(&[0x30, 0x02, 0x04, 0x00]).is_err());
        assert!(parse_name(&name_key(b"")).is_err());
        assert!(matches!(
            parse_name(&vec![0x30; MAX_NAME_FILE + 1]),
            Err(FormatError::TooLarge { .. })
        ));
    }
}
